#!/usr/bin/env python3
"""The destinations of two transcoding relays drop mid-publish (their sinks
are killed) and come back on the same ports: each worker reconnects (no
restart), keeps its encoders, and its second recording opens on a fresh
keyframe, 320x180 at 30 fps without a burst of repeated frames for the
gap (of more than a second) and without a freeze, audio with it from start
to end, and runs to the end of the publish.

Relay x has a 1 s GOP.  Relay k makes every frame a keyframe, so the frames
its encoder still held when the first destination went away would open
the second session (then a jump over the outage) unless they are dropped:
with a GOP, one of them is a keyframe only now and then."""

import os
import time

import harness
from harness import SLOW, make_media, probe_counts

MEDIA_S = 12
RELAYS = {'x': 'small', 'k': 'allkey'}


def check_session(t, name, out, want):
    o = harness.probe_av(out)
    v = o['streams'].get('video', {})
    t.check_eq((v.get('codec_name'), v.get('width'), v.get('height')),
               ('h264', 320, 180), f'{name}: second session H.264 320x180')
    vp, ap = o['video'], o['audio']
    if len(vp) < 30 or not ap:
        t.fail(f'{name}: second session: too few packets ({len(vp)}, '
               f'{len(ap)})')
    t.check(vp[0][2], f'{name}: second session opens on a keyframe')
    span = vp[-1][0] - vp[0][0]
    gap = max(b[0] - a[0] for a, b in zip(vp, vp[1:]))
    print(f'{name}: second session: {len(vp)} frames over {span:.3f} s, '
          f'audio {ap[0][0]:.3f}..{ap[-1][0]:.3f}, video '
          f'{vp[0][0]:.3f}..{vp[-1][0]:.3f}, widest gap {gap:.3f} s')
    t.check(gap <= 0.1, f'{name}: second session has no frozen picture '
            f'(widest gap between frames {gap:.3f} s)')
    t.check(abs((len(vp) - 1) / span - 30) <= 0.5,
            f'{name}: second session at 30 fps ({(len(vp) - 1) / span:.2f})')
    # the decoder starts again at the source's next keyframe (-g 60: 2 s)
    t.check(span >= want - 2.3, f'{name}: second session runs to the end '
            f'({span:.2f} s of the {want:.2f} s from its start to the '
            'publish\'s end, less up to a 2 s GOP)')
    t.check(abs(ap[0][0] - vp[0][0]) <= 0.1 and
            abs(ap[-1][0] - vp[-1][0]) <= 0.1,
            f'{name}: second session: audio with the video (within 100 ms)')


def body(t):
    media = make_media(os.path.join(t.dir, 'src.flv'), seconds=MEDIA_S)
    counts = probe_counts(media)
    key = harness.new_key()
    skey = harness.new_key('sinkkey')
    ports = {r: harness.free_port() for r in RELAYS}
    outs = {r: [os.path.join(t.dir, f'{r}{n}.flv') for n in (1, 2)]
            for r in RELAYS}
    relays = ''.join(f'  {r}: {{ url: "rtmp://127.0.0.1:{ports[r]}/live/'
                     f'{skey}", profile: {p} }}\n' for r, p in RELAYS.items())
    t.write_config({'studio': f'key: {key}\nrelays:\n{relays}'},
                   extra='''profiles:
  small:
    video: { codec: libx264, width: 320, height: 180, fps: 30,
             bitrate: 300k, preset: ultrafast, keyint: 1s }
    audio: { codec: aac, bitrate: 64k }
  allkey:
    video: { codec: libx264, width: 320, height: 180, fps: 30,
             bitrate: 300k, preset: ultrafast, keyint: 1 }
    audio: { codec: aac, bitrate: 64k }
''')
    sinks = {r: harness.start_rtmp_sink(t, f'{r}-sink1', ports[r], skey,
                                        outs[r][0]) for r in RELAYS}
    t.start()
    mark = t.mark()
    pub = t.publish_ffmpeg('ffmpeg', key, media)
    sinks2 = {}

    def on_live(t, started):
        for r in RELAYS:
            t.wait_log('relay.live', 15, since=mark, proc='worker', relay=r)
        time.sleep(3)       # let the first sessions run a while
        m = t.mark()
        for r in RELAYS:
            harness.stop_proc(sinks[r], 5)  # the destinations go away
        for r in RELAYS:
            t.wait_log('relay.failed', 10 * SLOW, since=m, relay=r)
        # down for longer than a source jump (1 s): the gap is ours, not
        # the publisher's, and both tracks must keep it alike
        time.sleep(1.5)
        for r in RELAYS:
            sinks2[r] = harness.start_rtmp_sink(t, f'{r}-sink2', ports[r],
                                                skey, outs[r][1])
        for r in RELAYS:
            back = t.wait_log('relay.live', 10, since=m, proc='worker',
                              relay=r)
            t.check(int(back.get('attempt', '0')) >= 2, f'{r}: reconnected '
                    f'(attempt {back.get("attempt")})')

    harness.expect_publish(t, pub, key, counts, since=mark, on_live=on_live,
                           media_s=MEDIA_S)
    stopped = t.events('publish.stopped', mark, stream='studio')[-1]
    for r in RELAYS:
        t.wait_log('relay.exited', 30, since=mark, proc='supervisor',
                   relay=r)
        t.check_eq(t.wait_exit(sinks2[r], 15), 0, f'{r}: second sink exit '
                   'status')
        t.check_eq(len(t.events('relay.spawned', mark, relay=r)), 1,
                   f'{r}: one worker: the reconnect happened inside it')
        live2 = t.events('relay.live', mark, proc='worker', relay=r)[-1]
        check_session(t, r, outs[r][1], harness.log_time(stopped) -
                      harness.log_time(live2))
    t.check_eq(t.stop(), 0, 'supervisor exit status on SIGTERM')
    t.check_no_secret(key, skey)


if __name__ == '__main__':
    harness.run('xcode_reconnect', body)
