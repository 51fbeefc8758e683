#!/usr/bin/env python3
"""The per-relay queue budget (relay_queue: and a relay's queue:).  Two
file relays of one 20 s publish: big inherits `relay_queue: 16MiB`, small
has `queue: 256KiB`.  Both workers are SIGSTOPped at once for STOP_S
seconds (a worker that reads nothing: only the supervisor's queue holds
the media meanwhile, about 250 kB/s):

- while they are stopped small drops (status --json dropped > 0, from the
  supervisor's side) and big does not;
- afterwards big's recording is the whole source packet for packet, and
  small's is shorter, resumed at a keyframe;
- each worker was given its budget (relay.spawned queue_bytes=, the
  worker's own queue gets the same on its command line);
- a reload that only changes small's queue: applies it (relay.queue) to
  the live relay without stopping or restarting its worker."""

import os
import signal
import time

import harness

MEDIA_S = 20
STOP_S = 3.5		# < the 5 s after which a silent worker is killed
SMALL = 256 * 1024
BIG = 16 * 1024 * 1024


def config(t, key, small_queue):
    return t.write_config({'studio': f'''key: {key}
relays:
  big: {{ url: "file:{t.dir}/big.mkv" }}
  small: {{ url: "file:{t.dir}/small.mkv", queue: {small_queue} }}
'''}, extra='relay_queue: 16MiB')


def body(t):
    media, counts, key = harness.relay_source(t, MEDIA_S)
    config(t, key, '256KiB')
    t.start()
    mark = t.mark()
    pub = t.publish_ffmpeg('ffmpeg', key, media)
    seen = {'samples': []}

    def on_live(t, started):
        pids = {}
        for n, want in (('big', BIG), ('small', SMALL)):
            sp = t.wait_log('relay.spawned', 10, since=mark,
                            proc='supervisor', relay=n)
            t.check_eq(sp.get('queue_bytes'), str(want),
                       f'relay.spawned {n} queue_bytes')
            pids[n] = int(sp['worker_pid'])
            with open(f'/proc/{pids[n]}/cmdline', 'rb') as f:
                argv = f.read().split(b'\0')
            t.check(b'--queue-bytes' in argv and
                    argv[argv.index(b'--queue-bytes') + 1] ==
                    str(want).encode(), f'the {n} worker was given '
                    f'--queue-bytes {want}', str(argv))
        harness.wait_status(
            t, lambda s: all((harness.status_relay(s, n) or {})
                             .get('state') == 'live' for n in pids),
            10, 'both relays live')
        harness.wait_status(t, lambda s: s.get('video_frames', 0) >= 150,
                            15, 'video_frames >= 150')
        for pid in pids.values():
            os.kill(pid, signal.SIGSTOP)
        t0 = time.monotonic()
        try:
            while time.monotonic() - t0 < STOP_S:
                s = harness.status_stream(t) or {}
                seen['samples'].append(
                    (round(time.monotonic() - t0, 1),
                     (harness.status_relay(s, 'small') or {}).get('dropped'),
                     (harness.status_relay(s, 'big') or {}).get('dropped')))
                time.sleep(0.25)
        finally:
            for pid in pids.values():
                os.kill(pid, signal.SIGCONT)
        print('while stopped (s, small dropped, big dropped): '
              f'{seen["samples"]}')
        first = next((x[0] for x in seen['samples'] if (x[1] or 0) > 0),
                     None)
        t.check(first is not None, f'small (256 KiB) drops while its worker '
                f'is stopped (first seen {first} s in)')
        t.check(all((x[2] or 0) == 0 for x in seen['samples']),
                'big (16 MiB) drops nothing meanwhile')
        # a reload that changes only small's budget
        rmark = t.mark()
        config(t, key, '512KiB')
        t.sup.send_signal(signal.SIGHUP)
        q = t.wait_log('relay.queue', 5, since=rmark, proc='supervisor',
                       relay='small')
        t.check_eq(q.get('queue_bytes'), '524288', 'relay.queue small '
                   'queue_bytes after the reload')
        t.check_eq(q.get('was'), str(SMALL), 'relay.queue small was')
        t.wait_log('config.reloaded', 5, since=rmark)
        t.check_eq([e for e in t.events('relay.stopping', rmark) +
                    t.events('relay.spawned', rmark)], [],
                   'the reload stopped and started no worker')
        s = harness.status_stream(t) or {}
        t.check_eq((harness.status_relay(s, 'small') or {}).get('pid'),
                   pids['small'], 'small keeps its worker')
        t.check_eq(t.events('relay.queue', rmark, relay='big'), [],
                   'big\'s budget is unchanged')

    harness.expect_publish(t, pub, key, counts, since=mark, media_s=MEDIA_S,
                           on_live=on_live)
    for n in ('big', 'small'):
        ex = t.wait_log('relay.exited', 15, since=mark, proc='supervisor',
                        relay=n)
        t.check_eq(ex.get('code'), '0', f'relay.exited {n} code', soft=True)
    harness.check_relayed(t, 'big (16 MiB)', media,
                          os.path.join(t.dir, 'big.mkv'))
    # small: the source up to the stall, then from a keyframe to the end
    src = [p[1:] for p in harness.probe_packet_list(media) if p[0] == 'video']
    got = [p[1:] for p in harness.probe_packet_list(
        os.path.join(t.dir, 'small.mkv')) if p[0] == 'video']
    a = next((i for i, (x, y) in enumerate(zip(src, got)) if x != y),
             min(len(src), len(got)))
    b = len(src) - (len(got) - a)
    t.check(0 < a < b < len(src) and got[a:] == src[b:] and src[b][2],
            f'small (256 KiB) recorded video 0..{a - 1} and {b}.. (a '
            f'keyframe) of the source\'s {len(src)}: the stall cost '
            f'{b - a} packets', f'{len(got)} packets')
    t.check_eq(t.stop(), 0, 'supervisor exit status on SIGTERM')
    t.check_no_secret(key)


if __name__ == '__main__':
    harness.run('relay_queue', body)
