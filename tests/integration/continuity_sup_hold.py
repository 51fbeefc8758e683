#!/usr/bin/env python3
"""Supervisor side of a hold (issue #7), to a second mirroring supervisor
as the destination.  With on_publisher_loss: hold and grace: 5s, when the
publisher's ffmpeg ends the relay is held: stream.hold is logged, status
--json shows the stream with no publisher (active none) and the relay
"holding" with hold_left_ms counting down, and the worker keeps its pid.
A second publish on the key re-attaches (stream.resumed, the same worker,
still one session at the sink); after it ends, the grace runs out
(stream.hold_expired), the worker exits 0 and the stream is gone from
status; a relay with on_publisher_loss: end beside it ends with each
publish as before.  Two history rows, one per publish.  This does not
look at what the worker sends while holding (the slate is the worker's)."""

import os
import signal
import sqlite3
import time

import harness
from harness import SLOW

SINK_KEY = 'sinkkey-0123456789'
MEDIA_S = 6
GRACE_S = 6


def body(t):
    harness.with_peer(t, 'continuity_sup_hold_sink', run_case)


def publish(t, name, key, media, offset_s):
    # the second publish's timestamps follow the first's: today's worker
    # passes them on as they come
    return t.spawn(name, ['ffmpeg', '-nostdin', '-hide_banner', '-v',
                          'warning', '-re', '-i', media, '-c', 'copy',
                          '-output_ts_offset', str(offset_s), '-f', 'flv',
                          t.url(key)])


def relay(s, name='sink'):
    return harness.status_relay(s, name) or {}


def run_case(t, sink):
    media, counts, key = harness.relay_source(t, MEDIA_S)
    rec = os.path.join(t.dir, 'rec.flv')
    sink.write_config({'studio': SINK_KEY})
    sink.start()
    t.write_config({'studio': f'''key: {key}
on_publisher_loss: hold
grace: {GRACE_S}s
relays:
  sink: {{ url: "rtmp://127.0.0.1:{sink.port}/live/{SINK_KEY}" }}
  rec: {{ url: "file:{rec}", on_publisher_loss: end }}
'''})
    t.start()
    mark = t.mark()
    pub = publish(t, 'ffmpeg1', key, media, 0)
    s = harness.wait_status(t, lambda s: relay(s).get('state') == 'live',
                            15, 'relay sink live')
    pid = relay(s)['pid']
    t.check_eq(s.get('active'), 'primary', 'status active source')
    sink.wait_log('publish.started', 10, stream='studio')
    t.check_eq(t.wait_exit(pub, MEDIA_S + 30), 0, 'ffmpeg1 exit status')

    hold = t.wait_log('stream.hold', 10, since=mark, stream='studio')
    t.check_eq(hold.get('relays'), '1', 'stream.hold relays (sink only)')
    t.check_eq(hold.get('grace_ms'), str(GRACE_S * 1000),
               'stream.hold grace_ms')
    s1 = harness.wait_status(t, lambda s: relay(s).get('state') ==
                             'holding', 5, 'relay sink holding')
    t.check_eq(s1.get('active'), 'none', 'held stream: active none')
    t.check(s1.get('primary') is None and s1.get('backup') is None,
            'held stream: no publisher', str(s1))
    t.check(harness.status_relay(s1, 'rec') is None,
            'the end relay left the stream', str(s1))
    left1 = relay(s1).get('hold_left_ms', 0)
    t.check(0 < left1 <= GRACE_S * 1000, f'hold_left_ms {left1} within '
            'the grace')
    time.sleep(0.6)
    s2 = harness.status_stream(t)
    left2 = relay(s2).get('hold_left_ms', 0)
    t.check(left2 < left1, f'hold_left_ms decreases ({left1} -> {left2})')
    t.check_eq(relay(s2).get('pid'), pid, 'held worker keeps its pid')
    r = t.cli('status')
    t.check('holding' in r.stdout and 'hold_left' in r.stdout,
            'status text shows the hold', r.stdout)

    # a publisher back within the grace: the held worker takes it
    rmark = t.mark()
    pub2 = publish(t, 'ffmpeg2', key, media, MEDIA_S + 1)
    res = t.wait_log('stream.resumed', 10, since=rmark, stream='studio')
    t.check_eq(res.get('relays'), '1', 'stream.resumed relays')
    s = harness.wait_status(t, lambda s: s.get('active') == 'primary' and
                            relay(s).get('state') == 'live', 10,
                            'relay sink live again')
    t.check_eq(relay(s).get('pid'), pid, 're-attached: the same worker')
    t.check_eq(relay(s).get('hold_left_ms'), 0, 'no hold left once live')
    rec2 = harness.wait_status(
        t, lambda s: relay(s, 'rec').get('state') == 'live', 15,
        'a new worker for the end relay')
    t.check(relay(rec2, 'rec').get('pid') not in (None, pid),
            'the end relay got a new worker')
    t.check_eq(len(t.events('relay.spawned', since=rmark, relay='sink')), 0,
               'no new worker for the held relay')
    emark = t.mark()
    t.check_eq(t.wait_exit(pub2, MEDIA_S + 30), 0, 'ffmpeg2 exit status')

    # the destination saw one session through publish, hold and publish
    t.check_eq(len(sink.events('publish.started', stream='studio')), 1,
               'one session at the destination')

    # a held relay's worker that dies is restarted, still held, and the
    # grace goes on (not reset); its end: EOS, exit 0, the stream ends
    hold = t.wait_log('stream.hold', 10, since=emark, stream='studio')
    s = harness.wait_status(t, lambda s: relay(s).get('state') ==
                            'holding', 5, 'relay sink holding again')
    left = relay(s).get('hold_left_ms', 0)
    os.kill(pid, signal.SIGKILL)
    sp = t.wait_log('relay.spawned', 5, since=emark, relay='sink')
    pid = int(sp['worker_pid'])
    s = harness.wait_status(t, lambda s: relay(s).get('pid') == pid, 5,
                            'the new worker in status')
    t.check(relay(s).get('holding') is True, 'the new worker is held',
            str(relay(s)))
    t.check(0 < relay(s).get('hold_left_ms', 0) < left,
            f'the grace goes on ({left} -> {relay(s).get("hold_left_ms")} '
            'ms)')
    exp = t.wait_log('stream.hold_expired', GRACE_S + 10, since=emark,
                     stream='studio', relay='sink')
    waited = harness.log_time(exp) - harness.log_time(hold)
    t.check(GRACE_S - 0.1 <= waited <= GRACE_S + 1 * SLOW,
            f'the hold lasted the grace ({waited:.2f} s, grace {GRACE_S} s)')
    ex = t.wait_log('relay.exited', 10, since=emark, relay='sink',
                    worker_pid=str(pid))
    t.check_eq(ex.get('code'), '0', 'held worker exits 0 at grace expiry')
    t.check_eq(len(t.events('relay.spawned', since=emark, relay='sink')), 1,
               'no further worker after the hold')
    t.wait_log('stream.ended', 5, since=emark, stream='studio')
    t.check(harness.status_stream(t) is None, 'stream gone from status')

    db = sqlite3.connect(os.path.join(t.state_dir, 'mirroring.db'))
    try:
        rows = db.execute('SELECT ended_at FROM sessions WHERE '
                          'key_name = ?', ('studio',)).fetchall()
    finally:
        db.close()
    t.check_eq(len(rows), 2, 'two history rows, one per publish')
    t.check(all(r[0] is not None for r in rows), 'both rows ended')
    r = t.cli('history', 'studio')
    t.check(r.returncode == 0, 'mirroring history works', r.stderr)
    t.check_no_secret(key)

    # a stop while a relay holds ends it too: EOS, the worker exits 0
    smark = t.mark()
    pub3 = publish(t, 'ffmpeg3', key, media, 0)
    harness.wait_status(t, lambda s: relay(s).get('state') == 'live', 15,
                        'relay sink live for the third publish')
    t.check_eq(t.wait_exit(pub3, MEDIA_S + 30), 0, 'ffmpeg3 exit status')
    t.wait_log('stream.hold', 10, since=smark, stream='studio')
    t.check_eq(t.stop(), 0, 'supervisor exit status (stopped while holding)')
    ex = t.events('relay.exited', since=smark, relay='sink')
    t.check(len(ex) == 1 and ex[0].get('code') == '0',
            'the held worker exited 0 at the stop', str(ex))
    t.check_sanitizers()


harness.run('continuity_sup_hold', body)
