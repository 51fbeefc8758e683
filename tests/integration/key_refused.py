#!/usr/bin/env python3
"""Refused publishers: an unknown key, a key disabled with the CLI, and a
second publisher on a key already live.  Each gets its ffmpeg to fail in
under 5 s with publish.rejected and no publish.started; the first
publisher of the live key streams on and is counted exactly."""

import os
import time

import harness

REFUSE_S = 5


def expect_refused(t, name, key, reason, since):
    p = t.publish_ffmpeg(name, key, t.media)
    rc = t.wait_exit(p, 15)
    took = time.monotonic() - p.started
    t.check(rc != 0, f'{name}: ffmpeg exits non-zero ({rc})')
    t.check(took < REFUSE_S * harness.SLOW,
            f'{name}: ffmpeg gave up within {REFUSE_S * harness.SLOW:g} s '
            f'({took:.2f} s)')
    rej = t.wait_log('publish.rejected', 5, since=since, reason=reason)
    t.check_eq(rej.get('key'), harness.mask(key),
               f'{name}: publish.rejected key masked')
    conn = rej.get('conn')
    t.check(not t.events('publish.started', since, conn=conn),
            f'{name}: no publish.started for conn {conn}')
    t.wait_log('conn.closed', 5, since=since, conn=conn)
    print(f'ok   {name}: conn.closed for conn {conn}')


def body(t):
    t.media = harness.make_media(os.path.join(t.dir, 'src.flv'))
    counts = harness.probe_counts(t.media)
    key, spare = harness.new_key(), harness.new_key('spare')
    wrong = harness.new_key('wrong')
    t.write_config({'studio': key, 'spare': spare})
    t.start()

    expect_refused(t, 'unknown-key', wrong, 'unknown-key', t.mark())

    r = t.cli('key', 'disable', 'spare')
    t.check_eq(r.returncode, 0, 'key disable spare exit status')
    expect_refused(t, 'key-disabled', spare, 'key-disabled', t.mark())

    since = t.mark()
    first = t.publish_ffmpeg('first', key, t.media)
    started = t.wait_log('publish.started', 10, since=since, stream='studio')
    t.wait_log('publish.codecs', 10, since=since, stream='studio')
    expect_refused(t, 'already-live', key, 'already-live', t.mark())
    t.check(first.poll() is None, 'first publisher still streaming')
    harness.expect_publish(t, first, key, counts, since=since)
    t.check_eq(len(t.events('publish.started', since, stream='studio')), 1,
               'one publish.started for studio')
    t.check_eq(started['conn'], t.events('publish.stopped', since)[0]['conn'],
               'the first publisher is the one counted')
    t.check_eq(t.stop(), 0, 'supervisor exit status on SIGTERM')
    t.check_no_secret(key, spare, wrong)


harness.run('key_refused', body)
