#!/usr/bin/env python3
"""One publish relayed to three RTMP sinks at once (three `ffmpeg -listen
1` servers), one of them behind a proxy that holds its RTMP handshake for
SLOW_S seconds: every sink's recording is packet-identical (size + MD5 of
every audio and video packet) to the source from its first keyframe to
its end, the slow one included, so nothing was lost while its worker was
still connecting.  All three workers are spawned once, go live, and exit
0 after EOS; the ingest counters equal ffprobe's."""

import os

import harness
from harness import free_port

RELAYS = ('a', 'b', 'slow')
SLOW_S = 2.0		# the slow sink's handshake waits this long


def body(t):
    media, counts, key = harness.relay_source(t)
    keys = {n: harness.new_key(f'sink{n}key') for n in RELAYS}
    ports = {n: free_port() for n in RELAYS}
    backend = free_port()
    out = {n: os.path.join(t.dir, f'{n}.flv') for n in RELAYS}
    lines = ''.join(f'  {n}: {{ url: "rtmp://127.0.0.1:{ports[n]}/live/'
                    f'{keys[n]}" }}\n' for n in RELAYS)
    t.write_config({'studio': f'key: {key}\nrelays:\n{lines}'})
    sinks = {}
    for n in ('a', 'b'):
        sinks[n] = harness.start_rtmp_sink(t, f'sink_{n}', ports[n],
                                           keys[n], out[n])
    sinks['slow'] = harness.start_rtmp_sink(t, 'sink_slow', backend,
                                            keys['slow'], out['slow'])
    harness.start_slow_proxy(t, 'slow_proxy', ports['slow'], backend,
                             SLOW_S)
    # the three relays are copy relays to rtmp://: mirroring-copy
    t.start()
    mark = t.mark()
    pub = t.publish_ffmpeg('ffmpeg', key, media)
    seen = {}

    def on_live(t, started):
        t0 = harness.log_time(started)
        for n in RELAYS:
            live = t.wait_log('relay.live', 10 + SLOW_S, since=mark,
                              proc='worker', stream='studio', relay=n)
            seen[n] = harness.log_time(live) - t0
            t.check_eq(live.get('writer'), 'copy', f'relay {n} publishes '
                       'through mirroring-copy')
        print('publish.started -> relay.live (s): ' +
              ', '.join(f'{n} {seen[n]:.2f}' for n in RELAYS))
        t.check(seen['slow'] >= SLOW_S - 0.1, f'the slow sink\'s worker '
                f'connected only after {seen["slow"]:.2f} s (>= {SLOW_S:g}: '
                'media queued meanwhile)')
        s = harness.wait_status(
            t, lambda s: all((harness.status_relay(s, n) or {})
                             .get('state') == 'live' for n in RELAYS),
            10, 'all three relays live')
        print(f'status --json relays: {s.get("relays")}')

    harness.expect_publish(t, pub, key, counts, since=mark, on_live=on_live)
    for n in RELAYS:
        ex = t.wait_log('relay.exited', 15, since=mark, proc='supervisor',
                        stream='studio', relay=n)
        t.check_eq(ex.get('code'), '0', f'relay.exited {n} code')
        t.check_eq(len(t.events('relay.spawned', mark, proc='supervisor',
                                relay=n)), 1, f'relay {n} spawned once',
                   soft=True)
        t.check_eq(t.events('relay.failed', mark, relay=n), [],
                   f'relay {n} never failed', soft=True)
        t.check_eq(t.wait_exit(sinks[n], 15), 0, f'sink {n} exit status '
                   '(the worker closed it cleanly)', soft=True)
    for n in RELAYS:
        harness.check_relayed(t, f'sink {n}', media, out[n])
        dropped = t.events('relay.stopped', mark, proc='worker', relay=n)
        t.check(dropped and dropped[-1].get('dropped') == '0',
                f'worker {n} dropped nothing',
                str(dropped[-1:]), soft=True)
    t.check_eq(t.stop(), 0, 'supervisor exit status on SIGTERM')
    t.check_no_secret(key, *keys.values())


if __name__ == '__main__':
    harness.run('relay_fanout', body)
