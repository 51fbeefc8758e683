#!/usr/bin/env python3
"""Issue #7, the other two endings of a publisher drop, one publish of
10 s, a pause, and another of 10 s, with two copy relays:

- ends (`on_publisher_loss: end`, today's behaviour): its destination
  session ends with the publish (the sink, `ffmpeg -listen 1`, ends) and a
  new one starts with the second publish, from a keyframe;
- grace (`hold` with `grace: 3s`): the sink goes on receiving the slate
  for the grace period, then the destination is closed cleanly (the sink
  ends with exit status 0 and its recording decodes without an error,
  its last ~3 s the slate); the second publish opens a new session.
"""

import os
import time

import avcheck
import harness
from harness import SLOW

PART_S = 10
GRACE_S = 3
RELAYS = ('ends', 'grace')


def body(t):
    a, b, slate, key, skeys, ports = avcheck.two_parts(t, PART_S, RELAYS)

    def out(n, i):
        return os.path.join(t.dir, f'{n}{i}.flv')
    t.write_config({'studio': f'''key: {key}
slate: {{ image: "{slate}" }}
relays:
  ends: {{ url: "rtmp://127.0.0.1:{ports['ends']}/live/{skeys['ends']}" }}
  grace: {{ url: "rtmp://127.0.0.1:{ports['grace']}/live/{skeys['grace']}",
           on_publisher_loss: hold, grace: {GRACE_S}s }}
'''})
    for i, media in ((1, a), (2, b)):
        sinks = {n: harness.start_rtmp_sink(t, f'sink_{n}{i}', ports[n],
                                            skeys[n], out(n, i))
                 for n in RELAYS}
        if i == 1:
            t.start()
        mark = t.mark()
        pub = t.publish_ffmpeg(f'pub{i}', key, media)
        for n in RELAYS:
            t.wait_log('relay.live', 15, since=mark, proc='worker', relay=n)
        t.check_eq(t.wait_exit(pub, PART_S + 20), 0,
                   f'publish {i} exit status')
        gone = time.monotonic()
        t.check_eq(t.wait_exit(sinks['ends'], 10), 0,
                   f'ends: the session of publish {i} ended with it')
        ended = time.monotonic() - gone
        t.check(sinks['grace'].poll() is None and ended < GRACE_S,
                f'grace: still connected {ended:.1f} s after the publisher '
                'left')
        t.check_eq(t.wait_exit(sinks['grace'], GRACE_S + 10), 0,
                   f'grace: the destination closed cleanly after the grace '
                   f'(publish {i})')
        held = time.monotonic() - gone
        t.check(GRACE_S - 0.5 <= held <= GRACE_S + 4 * SLOW,
                f'grace: closed {held:.1f} s after the publisher left '
                f'(grace {GRACE_S} s)')
        t.wait_log('stream.hold_expired', 5, since=mark, stream='studio')
        for n in RELAYS:
            t.check_eq(len(t.events('relay.live', mark, proc='worker',
                                    relay=n)), 1,
                       f'{n}: one destination session for publish {i}')
        harness.check_segment(t, f'ends {i}', media, out('ends', i))
        check_grace(t, i, media, out('grace', i))


def check_grace(t, i, media, rec):
    what = f'grace {i}'
    t.check_eq(avcheck.decode_errors(rec), '', f'{what}: ffmpeg -v error '
               'decodes the recording silently', soft=True)
    avcheck.check_timeline(t, what, rec)
    frames = avcheck.slate_frames(rec)
    r = avcheck.runs([s for _, s in frames])
    t.check([x[0] for x in r] == [False, True], f'{what}: the source, then '
            'the slate to the end', str(r), soft=True)
    if len(r) == 2:
        d = frames[-1][0] - frames[r[1][1]][0]
        t.check(GRACE_S - 1 <= d <= GRACE_S + 2, f'{what}: {d:.2f} s of '
                f'slate for a grace of {GRACE_S} s', soft=True)
    # the source's packets are there, from the first keyframe
    got = [p for p in harness.probe_packet_list(rec) if p[0] == 'video']
    src = [p for p in harness.probe_packet_list(media) if p[0] == 'video']
    t.check(got[:len(src)] == src, f'{what}: the source\'s {len(src)} video '
            'packets come first, identical', soft=True)


if __name__ == '__main__':
    harness.run('continuity_end', body)
