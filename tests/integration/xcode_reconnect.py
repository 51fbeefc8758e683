#!/usr/bin/env python3
"""The destination of a transcoding relay drops mid-publish (its sink is
killed) and comes back on the same port: the same worker reconnects (no
restart), keeps its encoders, and the second recording opens on a fresh
keyframe, 320x180 at 30 fps without a burst of repeated frames for the
gap (of more than a second), audio with it from start to end, and runs to
the end of the publish."""

import os
import signal
import time

import harness
from harness import SLOW, make_media, probe_counts

MEDIA_S = 12


def body(t):
    media = make_media(os.path.join(t.dir, 'src.flv'), seconds=MEDIA_S)
    counts = probe_counts(media)
    key = harness.new_key()
    skey = harness.new_key('sinkkey')
    port = harness.free_port()
    outs = [os.path.join(t.dir, f's{n}.flv') for n in (1, 2)]
    t.write_config({'studio': f'''key: {key}
relays:
  x: {{ url: "rtmp://127.0.0.1:{port}/live/{skey}", profile: small }}
'''}, extra='''profiles:
  small:
    video: { codec: libx264, width: 320, height: 180, fps: 30,
             bitrate: 300k, preset: ultrafast, keyint: 1s }
    audio: { codec: aac, bitrate: 64k }
''')
    sink = harness.start_rtmp_sink(t, 'sink1', port, skey, outs[0])
    t.start()
    mark = t.mark()
    pub = t.publish_ffmpeg('ffmpeg', key, media)
    sinks = []

    def on_live(t, started):
        t.wait_log('relay.live', 15, since=mark, proc='worker', relay='x')
        time.sleep(3)       # let the first session run a while
        m = t.mark()
        harness.stop_proc(sink, 5)      # the destination goes away
        t.wait_log('relay.failed', 10 * SLOW, since=m, relay='x')
        # down for longer than a source jump (1 s): the gap is ours, not
        # the publisher's, and both tracks must keep it alike
        time.sleep(1.5)
        sinks.append(harness.start_rtmp_sink(t, 'sink2', port, skey,
                                             outs[1]))
        back = t.wait_log('relay.live', 10, since=m, proc='worker',
                          relay='x')
        t.check(int(back.get('attempt', '0')) >= 2, 'reconnected (attempt '
                f'{back.get("attempt")})')

    harness.expect_publish(t, pub, key, counts, since=mark, on_live=on_live,
                           media_s=MEDIA_S)
    t.wait_log('relay.exited', 30, since=mark, proc='supervisor', relay='x')
    t.check_eq(t.wait_exit(sinks[0], 15), 0, 'second sink exit status')
    t.check_eq(len(t.events('relay.spawned', mark, relay='x')), 1,
               'one worker: the reconnect happened inside it')
    o = harness.probe_av(outs[1])
    v = o['streams'].get('video', {})
    t.check_eq((v.get('codec_name'), v.get('width'), v.get('height')),
               ('h264', 320, 180), 'second session: H.264 320x180')
    vp, ap = o['video'], o['audio']
    if len(vp) < 30 or not ap:
        t.fail(f'second session: too few packets ({len(vp)}, {len(ap)})')
    t.check(vp[0][2], 'second session opens on a keyframe')
    span = vp[-1][0] - vp[0][0]
    print(f'second session: {len(vp)} frames over {span:.3f} s, audio '
          f'{ap[0][0]:.3f}..{ap[-1][0]:.3f}, video '
          f'{vp[0][0]:.3f}..{vp[-1][0]:.3f}')
    t.check(abs((len(vp) - 1) / span - 30) <= 0.5,
            f'second session at 30 fps ({(len(vp) - 1) / span:.2f})')
    live2 = t.events('relay.live', mark, proc='worker', relay='x')[-1]
    stopped = t.events('publish.stopped', mark, stream='studio')[-1]
    want = harness.log_time(stopped) - harness.log_time(live2)
    # the decoder starts again at the source's next keyframe (-g 60: 2 s)
    t.check(span >= want - 2.3, f'second session runs to the end '
            f'({span:.2f} s of the {want:.2f} s from its start to the '
            'publish\'s end, less up to a 2 s GOP)')
    t.check(abs(ap[0][0] - vp[0][0]) <= 0.1 and
            abs(ap[-1][0] - vp[-1][0]) <= 0.1,
            'second session: audio with the video (within 100 ms)')
    t.check_eq(t.stop(), 0, 'supervisor exit status on SIGTERM')
    t.check_no_secret(key, skey)


if __name__ == '__main__':
    harness.run('xcode_reconnect', body)
