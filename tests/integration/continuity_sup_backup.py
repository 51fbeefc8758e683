#!/usr/bin/env python3
"""Supervisor side of a backup publisher (issue #7), to a second mirroring
supervisor as the destination.  A stream with backup_key: the primary and
the backup publish at once; status --json shows both and the primary
active.  SIGKILL of the primary's ffmpeg: stream.switch to the backup is
logged within 1 s of the kill, the relay's worker keeps its pid and the
destination keeps its one session.  The primary back: relays go back to
it at its first keyframe (prefer: primary).  Reloaded with prefer:
current, the same kill and return leave the relays on the backup until
the backup drops.  A wrong backup key is refused; `key disable` ends
both publishers and the relay.  The backup key never shows in the log
unmasked.  What the worker sends at a switch is not looked at here."""

import os
import signal
import time

import harness
from harness import SLOW

SINK_KEY = 'sinkkey-0123456789'
MEDIA_S = 60


def body(t):
    harness.with_peer(t, 'continuity_sup_backup_sink', run_case)


def config(t, sink, key, backup, prefer):
    t.write_config({'studio': f'''key: {key}
backup_key: {backup}
prefer: {prefer}
relays:
  sink: {{ url: "rtmp://127.0.0.1:{sink.port}/live/{SINK_KEY}" }}
'''})


def relay(s):
    return harness.status_relay(s, 'sink') or {}


def kill(p):
    os.killpg(p.pid, signal.SIGKILL)
    at = time.time()
    p.wait()
    return at


def start_publisher(t, name, key, media, source, since):
    p = t.publish_ffmpeg(name, key, media)
    t.wait_log('publish.started', 10, since=since, stream='studio',
               source=source)
    return p


def switch_after_kill(t, p, to, pid):
    """Kills publisher p; the relays must follow `to` within 1 s."""
    mark = t.mark()
    at = kill(p)
    sw = t.wait_log('stream.switch', 5, since=mark, stream='studio', to=to)
    delay = harness.log_time(sw) - at
    print(f'kill -> stream.switch to {to}: {delay * 1000:.0f} ms')
    t.check(delay <= 1.0 * SLOW, f'stream.switch to {to} within 1 s of the '
            f'kill ({delay:.3f} s)')
    s = harness.wait_status(t, lambda s: s.get('active') == to, 5,
                            f'active {to}')
    t.check_eq(relay(s).get('pid'), pid, f'switched to {to}: same worker')
    return sw


def run_case(t, sink):
    media, counts, key = harness.relay_source(t, MEDIA_S)
    backup = harness.new_key('backup')
    sink.write_config({'studio': SINK_KEY})
    sink.start()
    config(t, sink, key, backup, 'primary')
    t.start()
    mark = t.mark()
    prim = start_publisher(t, 'primary1', key, media, 'primary', mark)
    bk = start_publisher(t, 'backup', backup, media, 'backup', mark)
    s = harness.wait_status(
        t, lambda s: relay(s).get('state') == 'live' and
        s.get('backup') is not None, 15, 'relay live, backup connected')
    t.check_eq(s.get('active'), 'primary', 'both live: primary active')
    t.check(s.get('primary') is not None, 'status shows the primary')
    t.check_eq(s.get('key'), harness.mask(key), 'status key masked')
    pid = relay(s)['pid']
    sink.wait_log('publish.started', 10, stream='studio')

    # a wrong backup key is still refused
    bad = t.publish_ffmpeg('bad', backup + 'x', media)
    rej = t.wait_log('publish.rejected', 10, since=mark,
                     key=harness.mask(backup + 'x'))
    t.check_eq(rej.get('reason'), 'unknown-key', 'wrong backup key refused')
    t.wait_exit(bad, 10)

    # the primary dies: the backup at once
    sw = switch_after_kill(t, prim, 'backup', pid)
    t.check_eq(sw.get('from'), 'primary', 'stream.switch from')
    t.check_eq(sw.get('reason'), 'primary lost', 'stream.switch reason')

    # the primary back: at its first keyframe (GOP of 2 s)
    bmark = t.mark()
    prim = start_publisher(t, 'primary2', key, media, 'primary', bmark)
    started = t.events('publish.started', since=bmark, source='primary')[0]
    sw = t.wait_log('stream.switch', 6, since=bmark, stream='studio',
                    to='primary')
    t.check_eq(sw.get('reason'), 'primary back', 'switch back reason')
    back_s = harness.log_time(sw) - harness.log_time(started)
    t.check(back_s <= 2.5 * SLOW, f'back to the primary at its first '
            f'keyframe ({back_s:.2f} s after its publish)')
    s = harness.wait_status(t, lambda s: s.get('active') == 'primary', 5,
                            'active primary again')
    t.check_eq(relay(s).get('pid'), pid, 'switched back: same worker')

    # prefer: current: the backup stays once it has the relays
    config(t, sink, key, backup, 'current')
    r = t.cli('reload')
    t.check(r.returncode == 0, 'reload with prefer: current', r.stderr)
    switch_after_kill(t, prim, 'backup', pid)
    cmark = t.mark()
    prim = start_publisher(t, 'primary3', key, media, 'primary', cmark)
    # two GOPs of the primary: prefer primary would have switched
    seen = set()
    end = time.monotonic() + 4.5
    while time.monotonic() < end:
        s = harness.status_stream(t)
        seen.add(s.get('active'))
        time.sleep(0.3)
    t.check_eq(seen, {'backup'}, 'prefer current: status showed the '
               'backup active throughout')
    t.check_eq(len(t.events('stream.switch', since=cmark)), 0,
               'prefer current: no switch while the backup is live')
    t.check(s.get('primary') is not None, 'the primary is connected')
    switch_after_kill(t, bk, 'primary', pid)

    # the destination kept one session through four switches
    t.check_eq(len(sink.events('publish.started', stream='studio')), 1,
               'one session at the destination')
    t.check_eq(len(t.events('relay.spawned', since=mark, relay='sink')), 1,
               'one worker for the relay')

    # key disable ends every publisher and the relay
    bk = start_publisher(t, 'backup2', backup, media, 'backup', t.mark())
    dmark = t.mark()
    r = t.cli('key', 'disable', 'studio')
    t.check_eq(r.returncode, 0, 'key disable exit status')
    for src in ('primary', 'backup'):
        t.wait_log('publish.stopped', 5, since=dmark, stream='studio',
                   source=src)
    ex = t.wait_log('relay.exited', 15, since=dmark, relay='sink')
    t.check_eq(ex.get('code'), '0', 'worker exits 0 after EOS')
    t.check(harness.status_stream(t) is None, 'stream gone from status')
    t.check_no_secret(key, backup)
    t.check_eq(t.stop(), 0, 'supervisor exit status')
    t.check_sanitizers()


harness.run('continuity_sup_backup', body)
