#!/usr/bin/env python3
"""A relay to a second mirroring supervisor; its worker is SIGKILLed
mid-stream: the exit is logged with signal=9 and a restart within 1 s, a
second worker (attempt=2, a new pid) is live again in status --json
within 2 s of the kill and publishes again to the sink with the same
codecs.  The other relay of the stream (a file recording) never notices:
same worker, no restart, and its recording is the whole source packet for
packet (size + MD5).  The ingest of the 20 s publish is never disturbed
(its counters still equal ffprobe's)."""

import os
import signal
import time

import harness
from harness import SLOW

SINK_KEY = 'sinkkey-0123456789'
MEDIA_S = 20


def body(t):
    harness.with_peer(t, 'relay_restart_sink', run_case)


def run_case(t, sink):
    media, counts, key = harness.relay_source(t, MEDIA_S)
    rec = os.path.join(t.dir, 'rec.mkv')
    sink.write_config({'studio': SINK_KEY})
    sink.start()
    t.write_config({'studio': f'''key: {key}
relays:
  sink: {{ url: "rtmp://127.0.0.1:{sink.port}/live/{SINK_KEY}" }}
  rec: {{ url: "file:{rec}" }}
'''})
    t.start()
    mark = t.mark()
    pub = t.publish_ffmpeg('ffmpeg', key, media)
    info = {}

    def on_live(t, started):
        first = sink.wait_log('publish.started', 10, stream='studio')
        sink.wait_log('publish.codecs', 10, stream='studio',
                      conn=first['conn'])
        sp = t.wait_log('relay.spawned', 5, since=mark, proc='supervisor',
                        stream='studio', relay='sink')
        t.check_eq(sp.get('attempt'), '1', 'first relay.spawned attempt')
        pid = int(sp['worker_pid'])
        s = harness.wait_status(
            t, lambda s: all((harness.status_relay(s, n) or {})
                             .get('state') == 'live' for n in ('sink', 'rec')),
            10, 'relays sink and rec live')
        t.check_eq(harness.status_relay(s, 'sink').get('pid'), pid,
                   'status --json pid is relay.spawned\'s', soft=True)
        rec_pid = harness.status_relay(s, 'rec').get('pid')
        # past a few GOPs, so the new worker starts from the cached GOP
        # in the middle of the stream, not from its beginning
        harness.wait_status(t, lambda s: s.get('video_frames', 0) >= 150,
                            15, 'video_frames >= 150')
        sink_mark = sink.mark()
        kmark = t.mark()
        os.kill(pid, signal.SIGKILL)
        killed = time.monotonic()

        def back(s):
            r = harness.status_relay(s, 'sink') or {}
            return r.get('state') == 'live' and r.get('pid') not in \
                (None, 0, -1, pid)
        s = harness.wait_status(t, back, 5, 'relay sink live with a new pid')
        live_s = time.monotonic() - killed
        print(f'SIGKILL -> a new worker (pid {pid} -> '
              f'{harness.status_relay(s, "sink").get("pid")}) live in '
              f'status --json: {live_s:.2f} s')
        t.check(live_s <= 2 * SLOW, f'the relay is back (a new worker, '
                f'state live) {live_s:.2f} s after the SIGKILL (<= '
                f'{2 * SLOW:g} s)')
        r = harness.status_relay(s, 'rec') or {}
        t.check(r.get('pid') == rec_pid and r.get('state') == 'live' and
                r.get('restarts') == 0, 'the rec relay did not notice: same '
                'worker, live, no restart', str(r))
        ex = t.wait_log('relay.exited', 5, since=kmark, proc='supervisor',
                        stream='studio', relay='sink')
        t.check_eq(ex.get('signal'), '9', 'relay.exited signal')
        t.check_eq(ex.get('worker_pid'), str(pid), 'relay.exited worker_pid')
        t.check('code' not in ex, 'relay.exited has no code= for a signal',
                str(ex), soft=True)
        rin = ex.get('restart_in_ms')
        t.check(rin is not None and rin.isdigit() and int(rin) <= 1000,
                f'relay.exited restart_in_ms={rin} <= 1000')
        sp2 = t.wait_log('relay.spawned', 5, since=kmark, proc='supervisor',
                         stream='studio', relay='sink')
        t.check_eq(sp2.get('attempt'), '2', 'second relay.spawned attempt')
        t.check(sp2.get('worker_pid') != str(pid), 'a new worker pid', str(sp2))
        info['after2'] = t.mark()
        second = sink.wait_log('publish.started', 5, since=sink_mark,
                               stream='studio')
        back = time.monotonic() - killed
        t.check(back <= 2 * SLOW, f'the sink has the stream again '
                f'{back:.2f} s after the SIGKILL (<= {2 * SLOW:g})',
                soft=True)
        codecs = sink.wait_log('publish.codecs', 10, since=sink_mark,
                               conn=second['conn'])
        for k, v in (('video', 'h264'), ('width', '640'),
                     ('height', '360'), ('audio', 'aac')):
            t.check_eq(codecs.get(k), v, f'sink second publish.codecs {k}',
                       soft=True)
        s = harness.wait_status(
            t, lambda s: (harness.status_relay(s, 'sink') or {})
            .get('state') == 'live', 10, 'relay sink live again')
        r = harness.status_relay(s, 'sink')
        t.check_eq(r.get('restarts'), 1, 'status --json restarts',
                   soft=True)
        t.check_eq(str(r.get('pid')), sp2.get('worker_pid'),
                   'status --json pid is the new worker\'s', soft=True)
        info['second'] = second

    harness.expect_publish(t, pub, key, counts, since=mark,
                           media_s=MEDIA_S, on_live=on_live)
    ex = t.wait_log('relay.exited', 10, since=info['after2'],
                    proc='supervisor', stream='studio', relay='sink')
    t.check_eq(ex.get('code'), '0', 'the second worker exits 0 after EOS',
               soft=True)
    t.check('restart_in_ms' not in ex, 'and is not restarted', str(ex),
            soft=True)
    st2 = sink.wait_log('publish.stopped', 10,
                        conn=info['second']['conn'])
    vf = int(st2.get('video_frames', '0'))
    t.check(0 < vf < counts['video'][0], f'the sink\'s second publish has '
            f'video_frames={vf} (> 0, from the middle of the stream)')
    # the sink counted the source's last vf frames: they start at a
    # keyframe exactly when frame n - vf of the source is one
    video = [pk for pk in harness.probe_packet_list(media)
             if pk[0] == 'video']
    keys = [i for i, pk in enumerate(video) if pk[3]]
    t.check(counts['video'][0] - vf in keys, 'the second publish starts at '
            f'a source keyframe (frame {counts["video"][0] - vf}; keyframes '
            f'{keys})', soft=True)
    t.check_eq(len(t.events('relay.spawned', mark, relay='sink',
                            proc='supervisor')), 2,
               'two workers spawned in all', soft=True)
    ex = t.wait_log('relay.exited', 10, since=mark, proc='supervisor',
                    stream='studio', relay='rec')
    t.check_eq(ex.get('code'), '0', 'the rec worker exits 0 after EOS',
               soft=True)
    t.check_eq(len(t.events('relay.spawned', mark, relay='rec',
                            proc='supervisor')), 1,
               'one rec worker in all', soft=True)
    t.check_eq([l for l in harness.relay_log(t, 'rec', mark)
                if 'event=relay.failed' in l or 'event=relay.backoff' in l],
               [], 'the rec worker never failed or backed off', soft=True)
    harness.check_relayed(t, 'file rec (through the other worker\'s '
                          'SIGKILL)', media, rec)
    t.check_eq(t.stop(), 0, 'supervisor exit status on SIGTERM')
    t.check_eq(sink.stop(), 0, 'sink supervisor exit status on SIGTERM')
    t.check_no_secret(key, SINK_KEY)


if __name__ == '__main__':
    harness.run('relay_restart', body)
