#!/usr/bin/env python3
"""Issue #7, backup publisher: a primary (key:) and a backup (backup_key:)
publish at once, different pictures (the same tone).  The relay's sink
is a live tap (`ffmpeg -listen 1` writing FLV to a pipe we read as it
comes), so each tag's arrival time and, for video, its origin (its coded
bytes hashed against both sources) are known.

- While both are live the sink gets the primary.
- SIGKILL the primary: the sink carries the backup's content within 1 s
  of the drop, starting on a keyframe.
- Start the primary again: the sink is back on it (prefer: primary, the
  default) within 3 s (an ffmpeg start-up and an RTMP handshake), from a
  keyframe, and stays on it.
- One destination connection and one worker throughout; the recording
  decodes without an error and its video timestamps only go forward, with
  no hole over 100 ms.
"""

import os
import signal
import time

import avcheck
import harness
from harness import SLOW, free_port, make_media

MEDIA_S = 40


def body(t):
    prim = make_media(os.path.join(t.dir, 'primary.flv'), MEDIA_S)
    back = make_media(os.path.join(t.dir, 'backup.flv'), MEDIA_S,
                      video=('-vf', 'hue=h=120'))
    hp = avcheck.media_hashes(prim, (9,))
    hb = avcheck.media_hashes(back, (9,))
    t.check(not set(hp) & set(hb), 'the two sources share no coded picture')
    key, bkey = harness.new_key(), harness.new_key('backupkey')
    skey = harness.new_key('sinkkey')
    port = free_port()
    rec = os.path.join(t.dir, 'sink.flv')
    t.write_config({'studio': f'''key: {key}
backup_key: {bkey}
relays:
  out: {{ url: "rtmp://127.0.0.1:{port}/live/{skey}" }}
'''})
    tap = avcheck.FlvTap(t, 'sink', port, skey, rec)
    t.start()
    mark = t.mark()
    p1 = t.publish_ffmpeg('primary1', key, prim)
    t.wait_log('relay.live', 15, since=mark, proc='worker', relay='out')
    bmark = t.mark()
    pb = t.publish_ffmpeg('backup', bkey, back)
    t.wait_log('publish.started', 10, since=bmark, stream='studio')
    # the backup's cache holds a keyframe once it has run a GOP (2 s)
    time.sleep(3 * SLOW)
    s = harness.status_stream(t)
    pid = harness.status_relay(s, 'out').get('pid')
    recent = [x for x in tap.snapshot() if x[0] > time.monotonic() - 2 and
              x[1] == 9]
    t.check(recent and all(x[4] in hp for x in recent),
            f'with both live the sink gets the primary ({len(recent)} tags '
            'in the last 2 s)')

    killed = time.monotonic()
    os.killpg(p1.pid, signal.SIGKILL)
    first_b = tap.wait_tag(lambda x: x[0] >= killed and x[4] in hb, 5,
                           'backup content after the primary drop')
    lag = first_b[0] - killed
    t.check(lag <= 1.0, f'the sink carries the backup {lag:.2f} s after the '
            'primary dropped (at most 1 s)')
    t.check(first_b[3], 'the backup starts on a keyframe')
    t.wait_log('stream.switch', 5, since=mark, stream='studio',
               to='backup')

    time.sleep(4)
    restarted = time.monotonic()
    p2 = t.publish_ffmpeg('primary2', key, prim)
    first_p = tap.wait_tag(lambda x: x[0] >= restarted and x[4] in hp, 10,
                           'primary content after its return')
    lag = first_p[0] - restarted
    t.check(lag <= 3.0 * SLOW, f'back on the primary {lag:.2f} s after it '
            'started again')
    t.check(first_p[3], 'the primary resumes on a keyframe')
    time.sleep(3)
    after = [x for x in tap.snapshot() if x[0] > first_p[0] and x[1] == 9]
    t.check(after and all(x[4] in hp for x in after),
            f'it stays on the primary ({len(after)} tags since)',
            str([x[1:4] for x in after if x[4] not in hp][:3]))

    # one connection, one worker, all along
    t.check(tap.proc.poll() is None, 'the sink kept its one connection')
    s = harness.status_stream(t)
    t.check_eq(harness.status_relay(s, 'out').get('pid'), pid,
               'the same worker throughout')
    t.check_eq(len(t.events('relay.live', mark, proc='worker', relay='out')),
               1, 'one destination session')
    t.check_eq(len(t.events('relay.failed', mark, proc='worker',
                            relay='out')), 0, 'no relay failure')
    sw = t.events('stream.switch', mark, stream='studio')
    t.check_eq([x.get('to') for x in sw], ['backup', 'primary'],
               'stream.switch logged for both switches')

    # the backup first, so the last switch is the stream's end
    for p in (pb, p2):
        os.killpg(p.pid, signal.SIGTERM)
        t.wait_exit(p, 10)
    t.check_eq(tap.close_wait(20), 0, 'the sink ends with the stream')
    t.check_eq(avcheck.decode_errors(rec), '', 'ffmpeg -v error decodes the '
               'recording silently', soft=True)
    avcheck.check_timeline(t, 'sink', rec)
    # origins in arrival order: primary, backup, primary
    seq = [x[4] in hp for x in tap.snapshot() if x[4] in hp or x[4] in hb]
    t.check_eq([v for v, _, _ in avcheck.runs(seq)], [True, False, True],
               'the sink got primary, backup, primary', soft=True)


if __name__ == '__main__':
    harness.run('continuity_backup', body)
