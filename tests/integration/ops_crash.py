#!/usr/bin/env python3
"""kill -9 of a daemonized supervisor with a live publish and two relays
(an RTMP sink, whose worker also has PDEATHSIG, and a file): within a few
seconds no worker is left and the RTMP sink's connection is closed (so
nothing pushes on).  The crash leaves mirroring.pid and control.sock
behind; the next `mirroring start` takes both over and serves, and the
recording of the file relay is readable (its worker closed it on EOF).
A moved log file is replaced by a new one at the next reload."""

import json
import os
import signal
import stat
import time

import harness
from harness import SLOW, make_media


def body(t):
    media = make_media(os.path.join(t.dir, 'src.flv'), seconds=20)
    key, sink_key = harness.new_key(), harness.new_key('dest')
    sink_port = harness.free_port()
    rec = os.path.join(t.dir, 'rec.flv')
    t.write_config({'studio': f'''key: {key}
relays:
  rtmp: {{ url: "rtmp://127.0.0.1:{sink_port}/live/{sink_key}" }}
  file: {{ url: "file:{rec}" }}
'''}, log_file=True)
    sink = harness.start_rtmp_sink(t, 'sink', sink_port, sink_key,
                                   os.path.join(t.dir, 'sink.flv'))
    pid = t.start_daemon()
    mark = t.mark()
    pub = t.publish_ffmpeg('ffmpeg', key, media)
    for name in ('rtmp', 'file'):
        t.wait_log('relay.state', 15, since=mark, relay=name, state='live')
    harness.wait_status(t, lambda s: s['uptime_s'] >= 3, 10, 'uptime 3 s')
    workers = {r['name']: r['pid'] for r in
               harness.status_stream(t)['relays']}
    t.check(len(workers) == 2 and all(p > 0 for p in workers.values()),
            'two workers run', str(workers))

    os.kill(pid, signal.SIGKILL)
    t0 = time.monotonic()
    end = t0 + 3 * SLOW
    while any(harness.pid_alive(p) for p in workers.values()) and \
            time.monotonic() < end:
        time.sleep(0.02)
    gone = time.monotonic() - t0
    left = [n for n, p in workers.items() if harness.pid_alive(p)]
    print(f'info workers gone {gone:.2f} s after kill -9 of the supervisor')
    t.check(not left, f'no worker left within {3 * SLOW:g} s of kill -9',
            str(left))
    t.wait_exit(sink, 5)        # its connection closed: nothing pushes
    t.wait_exit(pub, 10)
    stopped = [f for f in t.events('relay.stopped', mark)
               if f.get('proc') == 'worker']
    t.check('file' in [f.get('relay') for f in stopped],
            'the file worker closed its recording on EOF', str(stopped))
    counts = harness.probe_counts(rec)
    t.check(counts['video'][0] > 60, 'the recording is readable',
            str(counts))

    for name in ('mirroring.pid', 'control.sock'):
        t.check(os.path.exists(os.path.join(t.state_dir, name)),
                f'kill -9 left {name} behind')
    t.daemon_pid = None
    pid2 = t.start_daemon()
    t.check(pid2 != pid, 'start after the crash serves (a new daemon)')
    with open(os.path.join(t.state_dir, 'mirroring.pid')) as f:
        t.check_eq(int(f.read()), pid2, 'the pid file names the new daemon')
    r = t.cli('status')
    t.check(r.returncode == 0 and f'pid {pid2}' in r.stdout,
            'status reaches the new daemon', r.stdout + r.stderr)
    r = t.cli('history', 'studio', '--json')
    t.check_eq(r.returncode, 0, 'history --json', r.stderr)
    h = json.loads(r.stdout)['sessions']
    t.check(len(h) == 1 and h[0]['ended_at'] is not None and
            h[0]['end_reason'], 'history: the crashed publish, closed by '
            'the next start', r.stdout)
    print(f'info history after the crash: {h[0]["end_reason"]!r}')
    r = t.cli('history')
    t.check(r.returncode == 0 and 'studio' in r.stdout and
            h[0]['end_reason'] in r.stdout and h[0]['client'] in r.stdout,
            'history (text) shows the publish, its client and end',
            r.stdout + r.stderr)
    r = t.cli('history', 'other')
    t.check(r.returncode == 0 and 'no publishes recorded' in r.stdout,
            'history of another stream is empty', r.stdout + r.stderr)
    # logrotate's create mode: move the file, reload, a new one appears
    os.rename(t.log_path, t.log_path + '.1')
    r = t.cli('reload')
    t.check_eq(r.returncode, 0, 'reload after moving the log', r.stderr)
    t.wait_log('config.reloaded', 2)
    t.check_eq(stat.S_IMODE(os.stat(t.log_path).st_mode), 0o600,
               'the reopened log file mode')
    r = t.cli('stop')
    t.check_eq(r.returncode, 0, 'stop', r.stderr)
    t.wait_log('supervisor.stopped', 1)
    t.daemon_pid = None
    t.check_no_secret(key, sink_key)
    t.check_sanitizers()
    with open(t.log_path + '.1', 'rb') as f:
        old = f.read()
    t.check(key.encode() not in old and sink_key.encode() not in old,
            'no raw key in the rotated log either')


if __name__ == '__main__':
    harness.run('ops_crash', body)
