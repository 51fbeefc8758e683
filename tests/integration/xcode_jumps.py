#!/usr/bin/env python3
"""A publisher's timestamps jump forward to just below 2**32 ms, wrap
past it, then jump back (three 4 s parts, sent tag for tag by librtmp):
the transcoding relay's recording has monotonic, gap-free video at 30 fps
and continuous audio over all 12 s, and they end together."""

import os

import harness
from harness import make_media

PART_S = 4


def check_continuous(t, what, pts, step_max):
    steps = [b - a for a, b in zip(pts, pts[1:])]
    bad = [(round(pts[i], 3), round(s, 3)) for i, s in enumerate(steps)
           if s <= 0 or s > step_max]
    t.check(not bad, f'{what}: monotonic, no step above {step_max * 1000:.0f}'
            ' ms', str(bad[:5]))


def body(t):
    parts = [make_media(os.path.join(t.dir, f'{n}.flv'), seconds=PART_S)
             for n in 'abc']
    # b starts 2 s before the 32-bit wrap; c jumps back to 0 (2 s back)
    media = harness.flv_concat(os.path.join(t.dir, 'src.flv'), parts,
                               starts=[None, 2**32 - 2000, 0])
    key = harness.new_key()
    skey = harness.new_key('sinkkey')
    port = harness.free_port()
    out = os.path.join(t.dir, 'x.flv')
    t.write_config({'studio': f'''key: {key}
relays:
  x: {{ url: "rtmp://127.0.0.1:{port}/live/{skey}", profile: p }}
'''}, extra='''profiles:
  p:
    video: { codec: libx264, fps: 30, bitrate: 500k, preset: ultrafast }
    audio: { codec: aac, bitrate: 96k }
''')
    sink = harness.start_rtmp_sink(t, 'sink', port, skey, out)
    mark = harness.relay_tag_publish(t, key, media, 'x', sink)
    o = harness.probe_av(out)
    vp = [p[0] for p in o['video']]
    ap = [p[0] for p in o['audio']]
    if len(vp) < 30 or len(ap) < 30:
        t.fail(f'too few packets: video {len(vp)} audio {len(ap)}')
    print(f'video {len(vp)} frames {vp[0]:.3f}..{vp[-1]:.3f} s, audio '
          f'{len(ap)} frames {ap[0]:.3f}..{ap[-1]:.3f} s')
    check_continuous(t, 'video', vp, 0.07)
    check_continuous(t, 'audio', ap, 0.05)
    span = vp[-1] - vp[0]
    t.check(abs(span - 3 * PART_S) <= 0.5, f'video spans the 3 parts '
            f'({span:.2f} s of {3 * PART_S})')
    t.check(abs((len(vp) - 1) / span - 30) <= 0.3, 'video at 30 fps')
    t.check(abs(ap[-1] - vp[-1]) <= 0.1 and abs(ap[0] - vp[0]) <= 0.1,
            'audio and video start and end together (within 100 ms)')
    t.check_eq(t.stop(), 0, 'supervisor exit status on SIGTERM')


if __name__ == '__main__':
    harness.run('xcode_jumps', body)
