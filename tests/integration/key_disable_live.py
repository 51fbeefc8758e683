#!/usr/bin/env python3
"""`mirroring key disable` of a live key ends that publish within 1 s and
the encoder stops; after `key enable` it publishes again.  A key added
with `key add` while the supervisor runs can publish at once."""

import os
import stat
import time

import harness

STOP_S = 1
EXIT_S = 5


def body(t):
    media = harness.make_media(os.path.join(t.dir, 'src.flv'))
    counts = harness.probe_counts(media)
    key = harness.new_key()
    t.write_config({'studio': key})
    t.start()
    sock = os.path.join(t.state_dir, 'control.sock')
    t.check_eq(oct(stat.S_IMODE(os.stat(sock).st_mode)), '0o600',
               'control.sock mode', soft=True)

    since = t.mark()
    p = t.publish_ffmpeg('ffmpeg1', key, media)
    started = t.wait_log('publish.started', 10, since=since, stream='studio')
    t.wait_log('publish.codecs', 10, since=since, stream='studio')
    r = t.cli('key', 'disable', 'studio')
    returned = time.monotonic()
    t.check_eq(r.returncode, 0, 'key disable studio exit status')
    stopped = t.wait_log('publish.stopped', 10, since=since,
                         conn=started['conn'])
    took = time.monotonic() - returned
    t.check(took <= STOP_S * harness.SLOW,
            f'publish.stopped {took:.2f} s after the CLI returned '
            f'(limit {STOP_S * harness.SLOW:g} s)')
    t.check('disabled' in stopped.get('reason', ''),
            'publish.stopped reason mentions disabled',
            stopped.get('reason'))
    rc = t.wait_exit(p, 15)
    ended = time.monotonic()
    t.check(ended - returned < EXIT_S * harness.SLOW,
            f'ffmpeg1 ended (exit {rc}) {ended - returned:.2f} s after the '
            f'CLI returned (limit {EXIT_S * harness.SLOW:g} s)')
    t.check(ended - p.started < 9,
            f'ffmpeg1 stopped before its 10 s of media ran out '
            f'({ended - p.started:.1f} s)')

    r = t.cli('key', 'enable', 'studio')
    t.check_eq(r.returncode, 0, 'key enable studio exit status')
    r = t.cli('key', 'add', 'guest')
    t.check_eq(r.returncode, 0, 'key add guest (supervisor running)')
    guest = r.stdout.split('\n')[0].strip()
    t.check(len(guest) >= 24, f'key add printed a key ({harness.mask(guest)})')

    since = t.mark()
    p2 = t.publish_ffmpeg('ffmpeg2', key, media)
    pg = t.publish_ffmpeg('guest', guest, media)
    harness.expect_publish(t, p2, key, counts, since=since)
    harness.expect_publish(t, pg, guest, counts, stream='guest', since=since)
    t.check_eq(t.stop(), 0, 'supervisor exit status on SIGTERM')
    t.check_no_secret(key, guest)


harness.run('key_disable_live', body)
