#!/usr/bin/env python3
"""Operations on a held stream (issue #7, supervisor side), with file
relays: a relay added with `mirroring relay add` takes its stream's
on_publisher_loss: hold (no CLI flag), so both relays hold when the
publisher ends; `relay disable` of the CLI relay ends its hold at once
(EOS, its worker exits 0) while the YAML relay holds on; a reload that
removes the YAML relay ends that hold and the stream with it.  With the
relay back and a second publish held again, `key disable` ends
everything: the held worker exits 0 and the stream is gone.  The grace
(60 s) never runs out here: each end is the operation's.  A slate file
that is not there is a warning of `mirroring check` and the log."""

import os

import harness

MEDIA_S = 4


def yaml(t, key, rec, with_relay):
    # a slate that is not there: a warning, not an error
    body = (f'key: {key}\non_publisher_loss: hold\ngrace: 60s\n'
            'slate: { image: missing.png }\n')
    if with_relay:
        body += f'relays:\n  y: {{ url: "file:{rec}" }}\n'
    t.write_config({'studio': body})


def relay(s, name):
    return harness.status_relay(s, name) or {}


def held(t, since, n):
    h = t.wait_log('stream.hold', 15, since=since, stream='studio')
    t.check_eq(h.get('relays'), str(n), f'stream.hold relays={n}')
    return harness.wait_status(
        t, lambda s: s.get('active') == 'none' and len(s['relays']) == n and
        all(r.get('holding') for r in s['relays']), 5, f'{n} relays held')


def exited_0(t, since, name):
    ex = t.wait_log('relay.exited', 15, since=since, relay=name)
    t.check_eq(ex.get('code'), '0', f'relay {name} worker exits 0')


def body(t):
    media, counts, key = harness.relay_source(t, MEDIA_S)
    rec_y = os.path.join(t.dir, 'y.flv')
    rec_c = os.path.join(t.dir, 'c.flv')
    yaml(t, key, rec_y, True)
    r = t.cli('check')
    t.check_eq(r.returncode, 0, 'mirroring check: a missing slate is no '
               'error')
    want = (f'warning: {t.conf}:10:21: streams.studio.slate.image: cannot '
            f'read "{t.dir}/missing.png"')
    t.check(want in r.stderr, 'check warns with file:line:col', r.stderr)
    t.start()
    t.wait_log('config.warning', 5, msg=lambda m: 'slate.image' in m)
    r = t.cli('relay', 'add', 'studio', 'c', f'file:{rec_c}')
    t.check_eq(r.returncode, 0, 'relay add', r.stderr)

    mark = t.mark()
    pub = t.publish_ffmpeg('ffmpeg1', key, media)
    harness.wait_status(t, lambda s: relay(s, 'y').get('state') == 'live'
                        and relay(s, 'c').get('state') == 'live', 15,
                        'relays y and c live')
    t.check_eq(t.wait_exit(pub, MEDIA_S + 30), 0, 'ffmpeg1 exit status')
    s = held(t, mark, 2)
    t.check(relay(s, 'c').get('hold_left_ms', 0) > 50000,
            'the CLI relay holds with the stream\'s grace (60 s)',
            str(relay(s, 'c')))

    dmark = t.mark()
    r = t.cli('relay', 'disable', 'studio', 'c')
    t.check_eq(r.returncode, 0, 'relay disable c', r.stderr)
    stop = t.wait_log('relay.stopping', 5, since=dmark, relay='c')
    t.check_eq(stop.get('reason'), 'disabled', 'relay.stopping reason')
    exited_0(t, dmark, 'c')
    s = harness.wait_status(t, lambda s: relay(s, 'c') == {}, 5,
                            'relay c gone, the stream still held')
    t.check(relay(s, 'y').get('holding') is True, 'relay y still holds')

    rmark = t.mark()
    yaml(t, key, rec_y, False)
    r = t.cli('reload')
    t.check_eq(r.returncode, 0, 'reload without relay y', r.stderr)
    stop = t.wait_log('relay.stopping', 5, since=rmark, relay='y')
    t.check_eq(stop.get('reason'), 'removed', 'relay.stopping reason')
    t.wait_log('stream.ended', 5, since=rmark, stream='studio')
    exited_0(t, rmark, 'y')
    t.check(harness.status_stream(t) is None, 'stream gone from status')

    kmark = t.mark()
    yaml(t, key, rec_y, True)
    r = t.cli('reload')
    t.check_eq(r.returncode, 0, 'reload with relay y', r.stderr)
    pub = t.publish_ffmpeg('ffmpeg2', key, media)
    harness.wait_status(t, lambda s: relay(s, 'y').get('state') == 'live',
                        15, 'relay y live again')
    t.check_eq(t.wait_exit(pub, MEDIA_S + 30), 0, 'ffmpeg2 exit status')
    held(t, kmark, 1)
    emark = t.mark()
    r = t.cli('key', 'disable', 'studio')
    t.check_eq(r.returncode, 0, 'key disable', r.stderr)
    end = t.wait_log('stream.ended', 5, since=emark, stream='studio')
    t.check_eq(end.get('reason'), 'key disabled', 'stream.ended reason')
    exited_0(t, emark, 'y')
    t.check(harness.status_stream(t) is None, 'stream gone from status')
    for path in (rec_y, rec_c):
        t.check(os.path.getsize(path) > 0, f'{os.path.basename(path)} '
                'was written')
    t.check_eq(t.stop(), 0, 'supervisor exit status')
    t.check_sanitizers()


harness.run('continuity_sup_ops', body)
