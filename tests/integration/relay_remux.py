#!/usr/bin/env python3
"""One publish relayed to an RTMP sink (ffmpeg -listen) and to a file with
a strftime name, with a third relay disabled: both destinations get every
audio and video packet byte for byte, status --json shows both relays
live, the workers exit 0 without a restart once the publisher ends, the
disabled relay is never spawned and the sink key never appears raw.  It
runs with relay_batch: 0 (every message written to the workers at once),
the path the other relay tests, on the default 100 ms batches, skip."""

import glob
import os

import harness
from harness import SLOW, free_port

RELAYS = ('sink', 'rec')


def body(t):
    media, counts, key = harness.relay_source(t)
    sink_key = harness.new_key('sinkkey')
    spare_key = harness.new_key('sparekey')
    sink_port = free_port()
    sink_out = os.path.join(t.dir, 'sink.flv')
    rec = os.path.join(t.dir, 'rec-%Y%m%d-%H%M%S.mkv')
    t.write_config({'studio': f'''key: {key}
relays:
  sink: {{ url: "rtmp://127.0.0.1:{sink_port}/live/{sink_key}", enabled: true }}
  rec: {{ url: "file:{rec}" }}
  spare: {{ url: "rtmp://127.0.0.1:{free_port()}/live/{spare_key}", enabled: false }}
'''}, extra='relay_batch: 0')
    sink = harness.start_rtmp_sink(t, 'sink', sink_port, sink_key, sink_out)
    t.start()
    mark = t.mark()
    pub = t.publish_ffmpeg('ffmpeg', key, media)

    def on_live(t, started):
        for name in RELAYS:
            sp = t.wait_log('relay.spawned', 10, since=mark,
                            proc='supervisor', stream='studio', relay=name)
            t.check_eq(sp.get('attempt'), '1', f'relay.spawned {name} attempt')
            t.check_eq(sp.get('worker'), 'copy' if name == 'sink' else
                       'full', f'relay {name}\'s worker (mirroring-copy for '
                       'a copy relay to rtmp://)', soft=True)
            t.wait_log('relay.state', 10, since=mark, proc='supervisor',
                       stream='studio', relay=name, state='live')

        def both_live(s):
            rs = [harness.status_relay(s, n) for n in RELAYS]
            return all(r is not None and r.get('state') == 'live' and
                       r.get('bytes_out', 0) > 0 and
                       r.get('packets_out', 0) > 0 for r in rs)
        s = harness.wait_status(t, both_live, 10, 'sink and rec live with '
                                'bytes_out and packets_out > 0')
        print(f'status --json relays: {s.get("relays")}')
        t.check(True, 'status --json: sink and rec live, bytes_out > 0')
        for name in RELAYS:
            r = harness.status_relay(s, name)
            for f in ('kbps', 'bytes_out', 'packets_out', 'dropped',
                      'reconnects', 'restarts', 'pid'):
                t.check(isinstance(r.get(f), int), f'status relay {name} '
                        f'{f} is a number ({r.get(f)!r})', soft=True)
            t.check('last_error' in r, f'status relay {name} last_error',
                    soft=True)
        spare = harness.status_relay(s, 'spare')
        t.check(spare is None or (spare.get('state') != 'live' and
                                    not spare.get('pid')),
                'status: the disabled relay has no worker', str(spare),
                soft=True)

    harness.expect_publish(t, pub, key, counts, since=mark, on_live=on_live)
    stopped = t.events('publish.stopped', mark, stream='studio')[-1]
    t_stop = harness.log_time(stopped)
    for name in RELAYS:
        ex = t.wait_log('relay.exited', 10, since=mark, proc='supervisor',
                        stream='studio', relay=name)
        t.check_eq(ex.get('code'), '0', f'relay.exited {name} code')
        t.check('restart_in_ms' not in ex and 'signal' not in ex,
                f'relay.exited {name} without restart_in_ms or signal',
                str(ex))
        took = harness.log_time(ex) - t_stop
        t.check(took <= 10 * SLOW, f'relay {name} exited {took:.2f} s '
                'after publish.stopped')
        t.check(t.events('relay.state', mark, proc='supervisor',
                         stream='studio', relay=name, state='stopped'),
                f'relay.state {name} state=stopped logged', soft=True)
        t.check(t.events('relay.live', mark, proc='worker', stream='studio',
                         relay=name),
                f'the {name} worker\'s own lines are in the log', soft=True)
        spawned = t.events('relay.spawned', mark, proc='supervisor',
                           stream='studio', relay=name)
        t.check_eq(len(spawned), 1, f'relay {name} spawned once', soft=True)
    t.check_eq(t.events('relay.spawned', mark, relay='spare'), [],
               'the disabled relay is never spawned')
    t.check_eq(t.wait_exit(sink, 15), 0, 'RTMP sink exit status (the '
               'worker closed it cleanly)')
    files = glob.glob(os.path.join(t.dir, 'rec-*.mkv'))
    t.check(len(files) == 1 and '%' not in files[0],
            'one recording named by strftime', str(files))
    harness.check_relayed(t, 'rtmp sink', media, sink_out)
    harness.check_relayed(t, 'file', media, files[0])
    t.check_eq(t.stop(), 0, 'supervisor exit status on SIGTERM')
    check_relay_history(t, counts)
    t.check_no_secret(key, sink_key, spare_key)


def check_relay_history(t, counts):
    """history --json: the publish lists what each relay sent."""
    import json
    r = t.cli('history', 'studio', '--json')
    t.check_eq(r.returncode, 0, 'history --json exit status', r.stderr)
    sessions = json.loads(r.stdout).get('sessions', [])
    t.check_eq(len(sessions), 1, 'history: one publish')
    relays = {x['relay']: x for x in (sessions or [{}])[0].get('relays', [])}
    t.check_eq(sorted(relays), sorted(RELAYS), 'history: a row per relay '
               '(none for the disabled one)')
    total = counts['video'][0] + counts['audio'][0]
    for name in RELAYS:
        x = relays.get(name, {})
        t.check_eq(x.get('packets_out'), total, f'history {name}: '
                   'packets_out is every packet of the source')
        t.check(x.get('bytes_out', 0) > counts['video'][1],
                f'history {name}: bytes_out covers the video',
                str(x.get('bytes_out')))
        t.check(x.get('reconnects') == 0 and x.get('restarts') == 0 and
                x.get('last_error') == '', f'history {name}: no reconnect, '
                'restart or error', str(x))
        t.check(x.get('ended_at', 0) >= x.get('started_at', 1) > 0,
                f'history {name}: start and end times', str(x))
    r = t.cli('history', 'studio')
    t.check(all(f'relay {n}' in r.stdout for n in RELAYS),
            'history (text) shows the relay lines', r.stdout)


if __name__ == '__main__':
    harness.run('relay_remux', body)
