#!/usr/bin/env python3
"""A 1080p30 H.264 + AAC publish relayed at once through a transcoding
profile (libx264 640x360 30 fps 800 kbit/s, keyint 2 s; AAC 48 kHz mono)
to one RTMP sink and with profile copy to another.  ffprobe of the
transcoded recording: H.264 640x360, 30 fps +-1 %, a keyframe every 2 s,
AAC at the profile's rate and channels, duration within 5 % of the
source's, audio and video starting within 100 ms, video bitrate within
20 % of the target; status shows the encode speed.  The copy sink gets
every packet byte for byte."""

import os

import harness
from harness import SLOW, free_port, make_media, probe_counts

TARGET_BPS = 800000


def check_xcoded(t, src, out):
    s = harness.probe_av(src)
    o = harness.probe_av(out)
    v = o['streams'].get('video', {})
    a = o['streams'].get('audio', {})
    t.check_eq((v.get('codec_name'), v.get('width'), v.get('height')),
               ('h264', 640, 360), 'video: H.264 640x360')
    t.check_eq((a.get('codec_name'), a.get('sample_rate'), a.get('channels')),
               ('aac', '48000', 1), 'audio: AAC 48000 Hz mono (the profile)')
    vp, ap = o['video'], o['audio']
    if len(vp) < 30 or not ap:
        t.fail(f'too few packets: video {len(vp)} audio {len(ap)}')
    span = vp[-1][0] - vp[0][0]
    fps = (len(vp) - 1) / span
    print(f'video: {len(vp)} frames over {span:.3f} s = {fps:.3f} fps')
    t.check(abs(fps - 30) <= 0.3, f'video frame rate {fps:.3f} within 1 % '
            'of 30')
    keys = [p[0] for p in vp if p[2]]
    gaps = [round(b - a, 3) for a, b in zip(keys, keys[1:])]
    print(f'keyframes at {keys}; intervals {gaps}')
    t.check(len(gaps) >= 3 and all(abs(g - 2.0) <= 0.034 for g in gaps),
            'a keyframe every 2 s', str(gaps))
    t.check(vp[0][2], 'the first video packet is a keyframe')
    sv = s['video']
    sspan = sv[-1][0] - sv[0][0]
    print(f'video span: source {sspan:.3f} s, relayed {span:.3f} s')
    t.check(abs(span - sspan) <= 0.05 * sspan, f'the video spans the '
            f'source\'s ({span:.3f} s of {sspan:.3f})')
    sdur = float(s['format']['duration'])
    odur = float(o['format']['duration'])
    print(f'duration: source {sdur:.3f} s, relayed {odur:.3f} s')
    t.check(abs(odur - sdur) <= 0.05 * sdur, f'duration {odur:.3f} s within '
            f'5 % of the source\'s {sdur:.3f} s')
    off = vp[0][0] - ap[0][0]
    print(f'A/V start: video {vp[0][0]:.3f} s, audio {ap[0][0]:.3f} s, '
          f'offset {off * 1000:.0f} ms')
    t.check(abs(off) <= 0.100, f'audio and video start within 100 ms '
            f'({off * 1000:.0f} ms)')
    vbits = sum(p[1] for p in vp) * 8
    bps = vbits / (span + 1 / 30)
    print(f'video bitrate {bps / 1000:.0f} kbit/s, target '
          f'{TARGET_BPS / 1000:.0f}')
    t.check(abs(bps - TARGET_BPS) <= 0.2 * TARGET_BPS, f'video bitrate '
            f'{bps / 1000:.0f} kbit/s within 20 % of 800')


def body(t):
    media = make_media(os.path.join(t.dir, 'src.flv'), seconds=12,
                       size='1920x1080')
    counts = probe_counts(media)
    key = harness.new_key()
    keys = {n: harness.new_key(f'{n}key') for n in ('x', 'c')}
    ports = {n: free_port() for n in keys}
    outs = {n: os.path.join(t.dir, f'{n}.flv') for n in keys}
    t.write_config({'studio': f'''key: {key}
relays:
  x: {{ url: "rtmp://127.0.0.1:{ports['x']}/live/{keys['x']}", profile: low }}
  c: {{ url: "rtmp://127.0.0.1:{ports['c']}/live/{keys['c']}" }}
'''}, extra='''profiles:
  low:
    video: { codec: libx264, width: 640, height: 360, fps: 30,
             bitrate: 800k, maxrate: 1M, bufsize: 1600k, preset: veryfast,
             keyint: 2s }
    audio: { codec: aac, bitrate: 96k, sample_rate: 48000, channels: 1 }
''')
    sinks = {n: harness.start_rtmp_sink(t, f'sink-{n}', ports[n], keys[n],
                                        outs[n]) for n in keys}
    t.start()
    mark = t.mark()
    pub = t.publish_ffmpeg('ffmpeg', key, media)

    def on_live(t, started):
        def xcoding(s):
            r = harness.status_relay(s, 'x')
            return r is not None and r.get('state') == 'live' and \
                r.get('speed', 0) > 0
        s = harness.wait_status(t, xcoding, 15, 'relay x live with an '
                                'encode speed')
        r = harness.status_relay(s, 'x')
        print(f'status relay x: speed {r.get("speed")}x frames_dropped '
              f'{r.get("frames_dropped")} frames_duped '
              f'{r.get("frames_duped")} profile {r.get("profile")}')
        t.check_eq(r.get('profile'), 'low', 'status: relay x profile')
        out = t.cli('status')
        t.check('profile low  speed' in out.stdout, 'mirroring status shows '
                'the profile and encode speed', out.stdout, soft=True)

    harness.expect_publish(t, pub, key, counts, since=mark, on_live=on_live,
                           media_s=12, size='1920x1080')
    for n in keys:
        ex = t.wait_log('relay.exited', 30, since=mark, proc='supervisor',
                        stream='studio', relay=n)
        t.check_eq(ex.get('code'), '0', f'relay {n} worker exit code')
        t.check_eq(t.wait_exit(sinks[n], 15), 0, f'sink {n} exit status')
    t.check_eq(t.events('relay.reopen', mark, relay='x'), [],
               'the transcoding relay never reopened its destination')
    done = t.events('relay.xcode_done', mark, relay='x')
    print(f'relay.xcode_done: {done[-1] if done else None}')
    check_xcoded(t, media, outs['x'])
    harness.check_relayed(t, 'copy sink', media, outs['c'])
    t.check_eq(t.stop(), 0, 'supervisor exit status on SIGTERM')
    t.check_no_secret(key, *keys.values())


if __name__ == '__main__':
    harness.run('xcode_profile', body)
