#!/usr/bin/env python3
"""Issue #7, slate hold: a publisher streams 10 s, is gone for 15 s, comes
back for 10 s.  A copy relay and a transcoding relay with
`on_publisher_loss: hold` each keep one single connection to their sink
(`ffmpeg -listen 1`, which takes one connection and ends with it) for the
whole time, and one worker each.  Both recordings decode without an
error, their video timestamps only go forward with no hole over 100 ms,
audio never goes back and ends with the video; the middle part is the
slate (a magenta picture: uniform frames of its colour) for about the
15 s of the gap, and the copy relay's source packets on both sides of it
are the publisher's, byte for byte.  While it lasts, status shows the
relays `holding` with the time left."""

import os
import time

import avcheck
import harness

PART_S = 10
GAP_S = 15
RELAYS = ('copy', 'xcode')


def body(t):
    a, b, slate, key, skeys, ports = avcheck.two_parts(t, PART_S, RELAYS)
    outs = {n: os.path.join(t.dir, f'{n}.flv') for n in RELAYS}
    t.write_config({'studio': f'''key: {key}
on_publisher_loss: hold
grace: 60s
slate: {{ image: "{slate}" }}
relays:
  copy: {{ url: "rtmp://127.0.0.1:{ports['copy']}/live/{skeys['copy']}" }}
  xcode: {{ url: "rtmp://127.0.0.1:{ports['xcode']}/live/{skeys['xcode']}",
           profile: small }}
'''}, extra='''profiles:
  small:
    video: { codec: libx264, width: 320, height: 180, fps: 30,
             bitrate: 300k, preset: ultrafast, keyint: 1s }
    audio: { codec: aac, bitrate: 64k }
''')
    sinks = {n: harness.start_rtmp_sink(t, f'sink_{n}', ports[n], skeys[n],
                                        outs[n]) for n in RELAYS}
    t.start()
    mark = t.mark()
    pub = t.publish_ffmpeg('pub_a', key, a)
    for n in RELAYS:
        t.wait_log('relay.live', 15, since=mark, proc='worker', relay=n)
    s = harness.status_stream(t)
    pids = {n: harness.status_relay(s, n).get('pid') for n in RELAYS}
    t.check_eq(t.wait_exit(pub, PART_S + 20), 0, 'first publish exit status')
    gone = time.monotonic()

    # the hold: status says so, with the time left going down
    s1 = harness.wait_status(
        t, lambda s: all((harness.status_relay(s, n) or {}).get('state') ==
                         'holding' for n in RELAYS), 5,
        'both relays holding')
    left1 = harness.status_relay(s1, 'copy').get('hold_left_ms')
    t.check(isinstance(left1, int) and 0 < left1 <= 60000,
            f'status shows the time left of the hold ({left1} ms)')
    time.sleep(2)
    s2 = harness.status_stream(t)
    left2 = (harness.status_relay(s2, 'copy') or {}).get('hold_left_ms')
    t.check(isinstance(left2, int) and left2 < left1,
            f'the time left goes down ({left1} -> {left2} ms)')
    t.wait_log('stream.hold', 5, since=mark, stream='studio')
    for n in RELAYS:
        t.wait_log('relay.hold', 5, since=mark, proc='worker', relay=n)

    time.sleep(max(0.0, GAP_S - (time.monotonic() - gone)))
    back = t.mark()
    pub = t.publish_ffmpeg('pub_b', key, b)
    t.wait_log('stream.resumed', 10, since=back, stream='studio')
    t.check_eq(t.wait_exit(pub, PART_S + 20), 0, 'second publish exit status')
    s = harness.wait_status(
        t, lambda s: all((harness.status_relay(s, n) or {}).get('state') ==
                         'holding' for n in RELAYS), 5,
        'both relays holding again')
    for n in RELAYS:
        t.check_eq(harness.status_relay(s, n).get('pid'), pids[n],
                   f'{n}: the same worker throughout')
        t.check(sinks[n].poll() is None, f'{n}: its sink still has its one '
                'connection after 35 s')
        t.check_eq(len(t.events('relay.live', mark, proc='worker',
                                relay=n)), 1,
                   f'{n}: one destination session')
        t.check_eq(len(t.events('relay.failed', mark, proc='worker',
                                relay=n)), 0, f'{n}: no failure')
        switches = t.events('relay.switch', mark, proc='worker', relay=n)
        t.check(len(switches) >= 3, f'{n}: relay.switch logged at each '
                f'switch ({len(switches)})')
    t.check_eq(t.stop(), 0, 'supervisor exit status')
    for n in RELAYS:
        t.check_eq(t.wait_exit(sinks[n], 20), 0, f'{n}: sink exit status')

    for n in RELAYS:
        check_recording(t, n, outs[n], a, b)


def check_recording(t, n, rec, a, b):
    t.check_eq(avcheck.decode_errors(rec), '', f'{n}: ffmpeg -v error '
               'decodes the recording silently', soft=True)
    v, au = avcheck.check_timeline(t, n, rec)
    t.check(bool(v) and bool(au) and abs(v[-1] - au[-1]) < 0.5,
            f'{n}: audio ends with the video', f'{v[-1:]} {au[-1:]}',
            soft=True)
    frames = avcheck.slate_frames(rec)
    r = avcheck.runs([s for _, s in frames])
    t.check(len(r) >= 3 and [x[0] for x in r[:3]] == [False, True, False],
            f'{n}: source, slate, source ({len(frames)} frames)',
            str(r[:5]), soft=True)
    if len(r) < 3:
        return

    def dur(i):
        end = frames[r[i][1] + r[i][2]][0] if r[i][1] + r[i][2] < \
            len(frames) else frames[-1][0]
        return end - frames[r[i][1]][0]
    d = [dur(i) for i in range(3)]
    t.check(PART_S - 1.5 <= d[0] <= PART_S + 0.5, f'{n}: the first part '
            f'lasts {d[0]:.2f} s', soft=True)
    t.check(GAP_S - 2.5 <= d[1] <= GAP_S + 3, f'{n}: the slate fills the '
            f'{GAP_S} s gap ({d[1]:.2f} s)', soft=True)
    t.check(PART_S - 1.5 <= d[2] <= PART_S + 0.5, f'{n}: the second part '
            f'lasts {d[2]:.2f} s', soft=True)
    if n == 'copy':
        check_source_packets(t, n, rec, a, b)


def check_source_packets(t, n, rec, a, b):
    """The first part is a's packets from its first keyframe to its end,
    the second b's: contiguous, byte for byte (audio may lose a packet or
    three at the switches, where it waits for the video keyframe)."""
    got = harness.probe_packet_list(rec)
    for kind, slack in (('video', 0), ('audio', 3)):
        g = [(s, h) for k, s, h, _ in got if k == kind]
        for part, name in ((a, 'first'), (b, 'second')):
            src = [(s, h) for k, s, h, _ in harness.probe_packet_list(part)
                   if k == kind]
            found = None
            for cut in range(slack + 1):
                for lead in range(slack + 1 - cut):
                    want = src[lead:len(src) - cut]
                    at = next((i for i in range(len(g) - len(want) + 1)
                               if g[i:i + len(want)] == want), None)
                    if at is not None:
                        found = (at, lead, cut)
                        break
                if found:
                    break
            t.check(found is not None, f'{n}: the {name} part\'s {len(src)} '
                    f'{kind} packets are in the recording, contiguous and '
                    f'identical' + (f' (less {found[1]} + {found[2]} at the '
                                    'edges)' if found and sum(found[1:])
                                    else ''), soft=True)


if __name__ == '__main__':
    harness.run('continuity_hold', body)
