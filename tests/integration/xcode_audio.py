#!/usr/bin/env python3
"""Video copied, audio re-encoded (AAC 44.1 kHz -> 48 kHz 64 kbit/s):
the video packets reach the sink byte for byte, the audio is AAC at the
profile's rate over the whole publish, starting with the video.  Another
relay encodes libx265 + libopus (44.1 kHz source) into a Matroska file.  Then a
reload that changes one profile's settings restarts only the relay using
it: the relay on an unchanged profile and the copy relay keep streaming
(the copy recording stays packet-identical)."""

import glob
import os
import signal

import harness
from harness import make_media, probe_counts

PROFILES = '''profiles:
  aonly:
    video: copy
    audio: { codec: aac, bitrate: 64k, sample_rate: 48000 }
  other:
    video: copy
    audio: { codec: aac, bitrate: BITRATE }
  hevc:
    video: { codec: libx265, height: 180, fps: 30, bitrate: 200k,
             preset: ultrafast }
    audio: { codec: libopus, bitrate: 64k }
'''


def body(t):
    media = make_media(os.path.join(t.dir, 'src.flv'), seconds=10)
    counts = probe_counts(media)
    key = harness.new_key()
    skey = harness.new_key('sinkkey')
    port = harness.free_port()
    out = os.path.join(t.dir, 'a.flv')
    copy = os.path.join(t.dir, 'c-%H%M%S.mkv')
    streams = {'studio': f'''key: {key}
relays:
  a: {{ url: "rtmp://127.0.0.1:{port}/live/{skey}", profile: aonly }}
  b: {{ url: "file:{t.dir}/b-%H%M%S-%s.mkv", profile: other }}
  c: {{ url: "file:{copy}" }}
  h: {{ url: "file:{t.dir}/h.mkv", profile: hevc }}
'''}
    t.write_config(streams, extra=PROFILES.replace('BITRATE', '96k'))
    sink = harness.start_rtmp_sink(t, 'sink', port, skey, out)
    t.start()
    mark = t.mark()
    pub = t.publish_ffmpeg('ffmpeg', key, media)

    def on_live(t, started):
        for n in 'abch':
            t.wait_log('relay.live', 15, since=mark, proc='worker', relay=n)
        t.write_config(streams, extra=PROFILES.replace('BITRATE', '128k'))
        m2 = t.mark()
        os.kill(t.sup.pid, signal.SIGHUP)     # reload
        t.wait_log('config.reloaded', 10, since=mark)
        st = t.wait_log('relay.stopping', 10, since=mark, relay='b')
        t.check_eq(st.get('reason'), 'changed', 'relay b (profile other '
                   'changed) restarts')
        t.wait_log('relay.live', 15, since=m2, proc='worker', relay='b')

    harness.expect_publish(t, pub, key, counts, since=mark, on_live=on_live)
    for n in 'abch':
        t.wait_log('relay.exited', 30, since=mark, proc='supervisor',
                   relay=n)
    for n in 'ach':
        t.check_eq(t.events('relay.stopping', mark, relay=n), [],
                   f'relay {n} (profile unchanged) kept streaming')
        t.check_eq(len(t.events('relay.spawned', mark, relay=n)), 1,
                   f'relay {n} spawned once')
    t.check_eq(len(t.events('relay.spawned', mark, relay='b')), 2,
               'relay b spawned twice')
    t.check_eq(t.wait_exit(sink, 15), 0, 'sink exit status')
    harness.check_relayed(t, 'audio-only profile', media, out,
                          kinds=('video',))
    o = harness.probe_av(out)
    au = o['streams'].get('audio', {})
    t.check_eq((au.get('codec_name'), au.get('sample_rate'),
                au.get('channels')), ('aac', '48000', 2),
               'audio: AAC 48 kHz stereo')
    vp, ap = o['video'], o['audio']
    print(f'video {vp[0][0]:.3f}..{vp[-1][0]:.3f} s, audio '
          f'{ap[0][0]:.3f}..{ap[-1][0]:.3f} s, {len(ap)} audio frames')
    t.check(abs(ap[0][0] - vp[0][0]) <= 0.1 and
            abs(ap[-1][0] - vp[-1][0]) <= 0.1,
            'audio starts and ends with the video (within 100 ms)')
    t.check(abs(len(ap) * 1024 / 48000 - (ap[-1][0] - ap[0][0])) <= 0.05,
            'audio frames are continuous (no gap, no overlap)')
    files = glob.glob(os.path.join(t.dir, 'c-*.mkv'))
    t.check_eq(len(files), 1, 'one copy recording')
    harness.check_relayed(t, 'copy relay across the reload', media, files[0])
    live = t.events('relay.live', mark, proc='worker', relay='h')
    t.check(live and live[0].get('video') == 'hevc' and
            live[0].get('audio') == 'opus', 'relay.live names the encoded '
            'codecs (hevc, opus)', str(live[:1]))
    h = harness.probe_av(os.path.join(t.dir, 'h.mkv'))
    hv, ha = h['streams'].get('video', {}), h['streams'].get('audio', {})
    print(f'h.mkv: {hv.get("codec_name")} {hv.get("width")}x'
          f'{hv.get("height")}, {ha.get("codec_name")} '
          f'{ha.get("sample_rate")} Hz, {len(h["video"])} frames')
    t.check_eq((hv.get('codec_name'), hv.get('width'), hv.get('height'),
                ha.get('codec_name'), ha.get('sample_rate')),
               ('hevc', 320, 180, 'opus', '48000'),
               'libx265 + libopus into Matroska (height alone keeps 16:9)')
    t.check(len(h['video']) >= 280, f'h.mkv has the whole publish '
            f'({len(h["video"])} frames)')
    t.check_eq(t.stop(), 0, 'supervisor exit status on SIGTERM')
    t.check_no_secret(key, skey)


if __name__ == '__main__':
    harness.run('xcode_audio', body)
