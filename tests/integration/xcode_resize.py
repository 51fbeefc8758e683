#!/usr/bin/env python3
"""A publish whose video size (640x360 -> 320x240) and audio format
(44.1 kHz stereo -> 48 kHz mono) change mid-stream, sent tag for tag by
librtmp (rtmp_publish), relayed through a transcoding profile: the worker
rebuilds its decoder, scaler and resampler without reopening the
destination (a copy relay of the same publish does reopen: the change
reached the workers), and the recording is one 640x360 H.264 + 48 kHz stereo AAC
stream covering both halves at 30 fps, with audio and video together at
the end as at the start."""

import os

import harness
from harness import make_media


def body(t):
    a = make_media(os.path.join(t.dir, 'a.flv'), seconds=5)
    b = make_media(os.path.join(t.dir, 'b.flv'), seconds=5, size='320x240',
                   rate=48000, channels=1)
    media = harness.flv_concat(os.path.join(t.dir, 'src.flv'), [a, b])
    key = harness.new_key()
    skey = harness.new_key('sinkkey')
    port = harness.free_port()
    out = os.path.join(t.dir, 'x.flv')
    t.write_config({'studio': f'''key: {key}
relays:
  x: {{ url: "rtmp://127.0.0.1:{port}/live/{skey}", profile: fixed }}
  c: {{ url: "file:{t.dir}/copy-%H%M%S.flv" }}
'''}, extra='''profiles:
  fixed:
    video: { codec: libx264, height: 360, fps: 30, bitrate: 500k,
             preset: ultrafast, keyint: 1s }
    audio: { codec: aac, bitrate: 96k, sample_rate: 48000, channels: 2 }
''')
    sink = harness.start_rtmp_sink(t, 'sink', port, skey, out)
    mark = harness.relay_tag_publish(t, key, media, 'x', sink)
    t.check(t.events('relay.reopen', mark, relay='c'),
            'the copy relay saw the new sequence headers (and reopened)')
    t.check_eq(t.events('relay.reopen', mark, relay='x'), [],
               'the transcoding relay did not reopen at the format change')
    t.check_eq(t.events('relay.xcode_failed', mark, relay='x'), [],
               'no decode or encode failure')
    o = harness.probe_av(out)
    v, au = o['streams'].get('video', {}), o['streams'].get('audio', {})
    t.check_eq((v.get('codec_name'), v.get('width'), v.get('height')),
               ('h264', 640, 360), 'video: H.264 640x360 throughout')
    t.check_eq((au.get('codec_name'), au.get('sample_rate'),
                au.get('channels')), ('aac', '48000', 2),
               'audio: AAC 48 kHz stereo (the profile)')
    vp, ap = o['video'], o['audio']
    span = vp[-1][0] - vp[0][0] if len(vp) > 1 else 0
    print(f'video {len(vp)} frames over {span:.3f} s; audio '
          f'{ap[0][0] if ap else -1:.3f}..{ap[-1][0] if ap else -1:.3f} s')
    t.check(span >= 9.5, f'video covers both halves ({span:.2f} s of 10)')
    t.check(abs((len(vp) - 1) / max(span, 1) - 30) <= 0.3,
            'video at 30 fps across the change')
    t.check(ap and abs(ap[-1][0] - vp[-1][0]) <= 0.1 and
            abs(ap[0][0] - vp[0][0]) <= 0.1,
            'audio and video start and end together (within 100 ms)',
            f'video {vp[0][0]:.3f}..{vp[-1][0]:.3f} audio '
            f'{ap[0][0]:.3f}..{ap[-1][0]:.3f}')
    t.check_eq(t.stop(), 0, 'supervisor exit status on SIGTERM')
    t.check_no_secret(key, skey)


if __name__ == '__main__':
    harness.run('xcode_resize', body)
