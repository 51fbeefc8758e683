#!/usr/bin/env python3
"""Destinations that come and go, through the supervisor, during one 20 s
publish with three RTMP relays (`ffmpeg -listen 1` sinks):

- late: its sink is down at publish time and comes up 5 s in; the relay
  backs off (network failures, no worker restart) and then records a
  contiguous packet-identical run of the source that starts at a keyframe
  and goes on to the source's end;
- flaky: its sink, a second mirroring recording what it receives with a
  file relay, is SIGKILLed 10 s in and started again at once; the worker
  reconnects within the backoff it announced and the new recording is
  again a keyframe-aligned identical run to the end;
- steady: its sink is up throughout; its recording is the whole source,
  packet-identical, and its worker never failed, reconnected or dropped.

The ingest counters equal ffprobe's all along.

Why flaky's sink is a mirroring and not `ffmpeg -listen 1`: libavformat's
RTMP client (our worker's) closes its socket right after deleteStream;
an ffmpeg sink whose acknowledgement write then meets the RST (its window
falls due on the last bytes) aborts and loses what it had read but not
written out, the stream's last packet or two.  Where that happens depends
only on the byte count, so one geometry of this test hit it nearly every
run."""

import glob
import os
import signal
import time

import harness
from harness import SLOW, free_port

MEDIA_S = 20
RELAYS = ('late', 'flaky', 'steady')
LATE_UP_FRAMES = 150		# the late sink comes up 5 s in
KILL_FRAMES = 300		# the flaky sink dies 10 s in


def body(t):
    harness.with_peer(t, 'relay_sink_outage_flaky', run_case)


def run_case(t, fsink):
    media, counts, key = harness.relay_source(t, MEDIA_S)
    keys = {n: harness.new_key(f'{n}key') for n in RELAYS}
    ports = {n: free_port() for n in RELAYS}
    ports['flaky'] = fsink.port
    out = {n: os.path.join(t.dir, f'{n}.flv') for n in RELAYS}
    # one recording per publish the sink receives (they are > 1 s apart)
    fsink.write_config({'studio': f'''key: {keys["flaky"]}
relays:
  rec: {{ url: "file:{fsink.dir}/flaky-%H%M%S.flv" }}
'''})
    fsink.start()
    lines = ''.join(f'  {n}: {{ url: "rtmp://127.0.0.1:{ports[n]}/live/'
                    f'{keys[n]}" }}\n' for n in RELAYS)
    t.write_config({'studio': f'key: {key}\nrelays:\n{lines}'})
    sinks = {n: harness.start_rtmp_sink(t, f'sink_{n}', ports[n], keys[n],
                                        out[n]) for n in ('steady',)}
    t.start()
    mark = t.mark()
    pub = t.publish_ffmpeg('ffmpeg', key, media)
    info = {}

    def frames_at_least(n):
        harness.wait_status(t, lambda s: s.get('video_frames', 0) >= n,
                            MEDIA_S, f'video_frames >= {n}')

    def on_live(t, started):
        t0 = harness.log_time(started)
        # late: down at publish time
        frames_at_least(LATE_UP_FRAMES)
        fails = t.events('relay.failed', mark, proc='worker', relay='late')
        t.check(len(fails) >= 1 and all(f.get('class') == 'network'
                                        for f in fails),
                f'late: {len(fails)} relay.failed class=network while its '
                'sink is down', str(fails[:1]))
        up = time.time()
        sinks['late'] = harness.start_rtmp_sink(t, 'sink_late', ports['late'],
                                                keys['late'], out['late'])
        print(f'late sink up {up - t0:.2f} s after publish.started')
        backoffs = t.events('relay.backoff', mark, proc='worker',
                            relay='late')
        wait = int(backoffs[-1]['delay_ms']) / 1000 if backoffs else 0
        live = t.wait_log('relay.live', wait + 5, since=mark, proc='worker',
                          relay='late')
        took = harness.log_time(live) - up
        print(f'late: relay.live {took:.2f} s after its sink came up (last '
              f'announced backoff {wait:.2f} s)')
        t.check(took <= wait + 2 * SLOW, f'late: live {took:.2f} s after '
                f'its sink came up, within the last backoff ({wait:.2f} s) '
                f'+ {2 * SLOW:g} s')
        # flaky: killed mid-stream, started again at once
        frames_at_least(KILL_FRAMES)
        kmark = t.mark()
        os.kill(fsink.sup.pid, signal.SIGKILL)
        killed = time.time()
        fsink.sup.wait()
        fsink.sup = None
        fmark = fsink.mark()
        fsink.start()
        info['fmark'] = fmark
        print(f'flaky sink killed {killed - t0:.2f} s after publish.started,'
              f' back up {time.time() - killed:.2f} s later')
        fail = t.wait_log('relay.failed', 5, since=kmark, proc='worker',
                          relay='flaky')
        t.check_eq(fail.get('class'), 'network', 'flaky: the lost sink is '
                   'a network failure')
        live = t.wait_log('relay.live', 10, since=kmark, proc='worker',
                          relay='flaky')
        back = harness.log_time(live) - killed
        delays = [int(b['delay_ms']) / 1000 for b in
                  t.events('relay.backoff', kmark, proc='worker',
                           relay='flaky')]
        print(f'flaky: live again {back:.2f} s after the SIGKILL '
              f'(backoffs announced {delays})')
        t.check(back <= sum(delays) + 1.5 * SLOW, f'flaky: live again '
                f'{back:.2f} s after the SIGKILL, within its backoffs '
                f'{delays} + {1.5 * SLOW:g} s')
        info['flaky_live_wall'] = harness.log_time(live)

    harness.expect_publish(t, pub, key, counts, since=mark, media_s=MEDIA_S,
                           on_live=on_live)
    for n in RELAYS:
        ex = t.wait_log('relay.exited', 15, since=mark, proc='supervisor',
                        stream='studio', relay=n)
        t.check_eq(ex.get('code'), '0', f'relay.exited {n} code', soft=True)
        t.check_eq(len(t.events('relay.spawned', mark, proc='supervisor',
                                relay=n)), 1, f'relay {n}: one worker, '
                   'reconnecting by itself', soft=True)
    for n in ('late', 'steady'):
        t.check_eq(t.wait_exit(sinks[n], 15), 0, f'sink {n} exit status',
                   soft=True)
    fsink.wait_log('relay.exited', 15, since=info['fmark'], relay='rec',
                   proc='supervisor')
    recs = sorted(glob.glob(os.path.join(fsink.dir, 'flaky-*.flv')))
    t.check(len(recs) == 2, f'the flaky sink recorded two publishes',
            str(recs))
    out['flaky2'] = recs[-1]
    late = harness.check_segment(t, 'late sink', media, out['late'],
                                 to_end=True)
    print(f'late sink: video packets {late["video"]} (source index, count)')
    flaky = harness.check_segment(t, 'flaky sink after its restart', media,
                                  out['flaky2'], to_end=True)
    print(f'flaky sink after restart: video packets {flaky["video"]}')
    vf = late['video'][0]
    t.check(vf is not None and vf >= LATE_UP_FRAMES - 30,
            f'late: its recording starts after its sink came up (source '
            f'frame {vf})', soft=True)
    harness.check_relayed(t, 'steady sink', media, out['steady'])
    steady = harness.relay_log(t, 'steady', mark)
    t.check(not [l for l in steady if 'event=relay.failed' in l or
                 'event=relay.backoff' in l],
            'steady: its worker never failed or backed off', soft=True)
    st = t.events('relay.stopped', mark, proc='worker', relay='steady')
    t.check(st and st[-1].get('dropped') == '0' and
            st[-1].get('reconnects') == '0',
            'steady: relay.stopped dropped=0 reconnects=0', str(st[-1:]),
            soft=True)
    t.check_eq(t.stop(), 0, 'supervisor exit status on SIGTERM')
    t.check_eq(fsink.stop(), 0, 'flaky sink supervisor exit status')
    t.check_no_secret(key, *keys.values())


if __name__ == '__main__':
    harness.run('relay_sink_outage', body)
