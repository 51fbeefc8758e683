#!/usr/bin/env python3
"""Keyframes larger than a relay's queue: a 10 s publish whose keyframes
are about 540 KB (static noise at 960x540, QP 20) to a file relay with
`queue: 256KiB`.  A queue under its budget takes any one tag, so the
relay still records: the source's packets, byte for byte and in order,
each run after a gap from a keyframe, and most of them (tags that come
right behind a keyframe, before the worker took it, may cost a GOP); a
queue that refused every tag past its budget would drop each keyframe
and record nothing."""

import os

import harness


def body(t):
    if not os.access(os.environ.get('MIRRORING_WORKER', ''), os.X_OK):
        t.fail('$MIRRORING_WORKER is not an executable')
    media = harness.make_media(os.path.join(t.dir, 'src.flv'),
                               size='960x540',
                               video=('-vf', 'noise=alls=50', '-qp', '20'))
    counts = harness.probe_counts(media)
    video = [p for p in harness.probe_packet_list(media) if p[0] == 'video']
    kf = min(p[1] for p in video if p[3])
    print(f'source: smallest keyframe {kf} bytes, {len(video)} frames')
    t.check(kf > 256 * 1024, f'every source keyframe ({kf} bytes or more) '
            'is larger than the 256 KiB queue')
    key = harness.new_key()
    rec = os.path.join(t.dir, 'rec.mkv')
    t.write_config({'studio': f'''key: {key}
relays:
  rec: {{ url: "file:{rec}", queue: 256KiB }}
'''})
    t.start()
    mark = t.mark()
    pub = t.publish_ffmpeg('ffmpeg', key, media)
    harness.expect_publish(t, pub, key, counts, since=mark, size='960x540')
    ex = t.wait_log('relay.exited', 15, since=mark, proc='supervisor',
                    relay='rec')
    t.check_eq(ex.get('code'), '0', 'relay.exited rec code', soft=True)
    n, runs = harness.check_gapped(t, 'rec (256 KiB queue)', media, rec)
    t.check(n >= len(video) // 2, f'rec recorded {n} of {len(video)} video '
            f'packets in {runs} runs (at least half)')
    stopped = t.events('relay.stopped', mark, proc='worker', relay='rec')
    print(f'rec worker: {stopped[-1:]}')
    t.check_eq(t.stop(), 0, 'supervisor exit status on SIGTERM')
    t.check_no_secret(key)


if __name__ == '__main__':
    harness.run('relay_queue_keyframe', body)
