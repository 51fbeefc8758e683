#!/usr/bin/env python3
"""The operator's cycle, all from the CLI: `mirroring start` (daemon, pid
file, log file) -> ffmpeg publishes -> `status` -> an invalid `reload` is
refused with file:line:column and changes nothing -> a `reload` that
moves one relay to a new URL and leaves the other alone -> `stop`.  The
unchanged relay's RTMP sink records every packet, identical, across the
reload; the moved relay restarts onto its new sink.  A second publish is
then stopped while live, with one worker hung (SIGSTOP): the other gets
EOS and exits 0, the hung one is killed after the grace period, and the
daemon, its pid file and control socket are gone when `stop` returns."""

import os
import re
import signal
import socket
import stat
import time

import harness
from harness import SLOW, make_media


def config(t, key, sink_port, sink_key, moved):
    return t.write_config({'studio': f'''key: {key}
relays:
  keep: {{ url: "rtmp://127.0.0.1:{sink_port}/live/{sink_key}" }}
  moved: {{ url: "{moved}" }}
'''}, log_file=True)


def pids(t):
    s = harness.status_stream(t)
    return {r['name']: r['pid'] for r in (s or {}).get('relays', [])}


def body(t):
    media = make_media(os.path.join(t.dir, 'src.flv'), seconds=14)
    key = harness.new_key()
    sink_key = harness.new_key('dest')
    sink_port = harness.free_port()
    kept = os.path.join(t.dir, 'keep.flv')
    a, b = os.path.join(t.dir, 'a.flv'), os.path.join(t.dir, 'b.flv')
    config(t, key, sink_port, sink_key, f'file:{a}')
    sink = harness.start_rtmp_sink(t, 'sink', sink_port, sink_key, kept)

    # the daemon's own start-up error comes back to `start`
    busy = socket.socket()
    busy.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    busy.bind(('127.0.0.1', t.port))
    busy.listen(1)
    r = t.cli('start')
    busy.close()
    t.check(r.returncode == 1 and f'127.0.0.1:{t.port}' in r.stderr and
            'in use' in r.stderr, 'start with the port taken: exit 1 with '
            'the daemon\'s error', r.stdout + r.stderr)
    t.check_eq(t.events('supervisor.listening'), [], 'nothing listened')

    pid = t.start_daemon()
    t.check(harness.pid_alive(pid), 'the daemon runs after start returned')
    pidfile = os.path.join(t.state_dir, 'mirroring.pid')
    with open(pidfile) as f:
        t.check_eq(int(f.read()), pid, 'the pid file names the daemon')
    for path in (pidfile, t.log_path):
        t.check_eq(stat.S_IMODE(os.stat(path).st_mode), 0o600,
                   f'{os.path.basename(path)} mode')
    t.wait_log('supervisor.listening', 5, pid=str(pid))
    r = t.cli('start')
    t.check(r.returncode == 1 and 'already running' in r.stderr and
            str(pid) in r.stderr, 'a second start: exit 1, already running '
            '(pid)', r.stdout + r.stderr)

    mark = t.mark()
    pub = t.publish_ffmpeg('ffmpeg', key, media)
    for name in ('keep', 'moved'):
        t.wait_log('relay.state', 15, since=mark, relay=name, state='live')
    # some GOPs first, so the reload lands mid-stream
    harness.wait_status(t, lambda s: s['uptime_s'] >= 4, 10, 'uptime 4 s')
    r = t.cli('status')
    t.check(r.returncode == 0 and re.search(r'relay keep\s+live', r.stdout)
            and re.search(r'relay moved\s+live', r.stdout) and
            f'pid {pid}' in r.stdout, 'status shows the daemon and both '
            'relays live', r.stdout + r.stderr)
    before = pids(t)

    # an invalid reload: the relay's URL has an unknown scheme
    good = open(t.conf).read()
    bad = good.replace(f'file:{a}', 'http://example.invalid/x')
    lines = bad.split('\n')
    ln = next(i for i, l in enumerate(lines) if 'http://' in l)
    where = f'{os.path.realpath(t.conf)}:{ln + 1}:' \
        f'{lines[ln].index(chr(34) + "http") + 1}:'
    with open(t.conf, 'w') as f:
        f.write(bad)
    m = t.mark()
    r = t.cli('reload')
    t.check(r.returncode == 1 and where in r.stderr and 'url' in r.stderr,
            f'an invalid reload is refused naming {where}', r.stderr)
    t.wait_log('config.rejected', 2, since=m)
    t.check_eq(pids(t), before, 'after the refused reload both relays run '
               'on, same workers')
    t.check_eq(t.events('relay.stopping', m), [], 'nothing was stopped')

    # a valid reload: moved goes to b.flv, keep is untouched
    config(t, key, sink_port, sink_key, f'file:{b}')
    m = t.mark()
    r = t.cli('reload')
    t.check(r.returncode == 0 and 'reloaded' in r.stdout,
            'the valid reload is applied', r.stdout + r.stderr)
    st = t.wait_log('relay.stopping', 2, since=m, relay='moved')
    t.check_eq(st.get('reason'), 'changed', 'the moved relay restarts')
    t.wait_log('relay.state', 10, since=m, relay='moved', state='live')
    after = pids(t)
    t.check(after.get('keep') == before.get('keep') and
            after.get('moved') != before.get('moved'),
            'keep kept its worker, moved has a new one', f'{before} {after}')

    t.wait_exit(pub, 30)
    ss = t.events('stream.stats', mark, stream='studio')
    t.check(ss and float(ss[0].get('kbps', 0)) > 100 and
            25 <= float(ss[0].get('fps', 0)) <= 35, 'a stream.stats line '
            'during the 14 s publish, with its rate and fps', str(ss[:1]))
    t.wait_exit(sink, 15)
    ex = t.wait_log('relay.exited', 10, since=mark, relay='keep')
    t.check_eq(ex.get('code'), '0', 'keep ended cleanly with the publish')
    t.check_eq(len(t.events('relay.spawned', mark, relay='keep')), 1,
               'keep never restarted')
    harness.check_relayed(t, 'the unchanged relay across the reload',
                          media, kept)
    harness.check_segment(t, 'moved relay before the reload', media, a)
    harness.check_segment(t, 'moved relay after the reload', media, b)
    na = len([p for p in harness.probe_packet_list(a) if p[0] == 'video'])
    t.check(na >= 90, 'the moved relay recorded a few seconds before the '
            'reload', f'{na} video packets')

    # stop while a publish is live: EOS to every worker, then gone
    sink = harness.start_rtmp_sink(t, 'sink2', sink_port, sink_key,
                                   os.path.join(t.dir, 'keep2.flv'))
    m = t.mark()
    pub = t.publish_ffmpeg('ffmpeg2', key, media)
    for name in ('keep', 'moved'):
        t.wait_log('relay.state', 15, since=m, relay=name, state='live')
    workers = pids(t)
    # a straggler: the moved relay's worker hangs (SIGSTOP) and cannot
    # honour EOS; stop must kill it after the grace period
    os.kill(workers['moved'], signal.SIGSTOP)
    t0 = time.monotonic()
    r = t.cli('stop')
    took = time.monotonic() - t0
    t.check(r.returncode == 0 and f'stopped (pid {pid})' in r.stdout,
            'stop: exit 0, says it stopped', r.stdout + r.stderr)
    print(f'info stop took {took:.2f} s with a hung worker')
    t.check(4 <= took <= 12 * SLOW, 'stop waited the 5 s grace for the '
            'hung worker, then went on', f'{took:.2f} s')
    t.check(not harness.pid_alive(pid), 'the daemon is gone when stop '
            'returns')
    ex = t.events('relay.exited', m, relay='keep')
    t.check(len(ex) == 1 and ex[0].get('code') == '0',
            'keep got EOS and exited 0 at stop', str(ex))
    t.check(len(t.events('relay.kill', m, relay='moved')) == 1,
            'the hung worker was killed (relay.kill)')
    workers = list(workers.values())
    t.check(not any(harness.pid_alive(p) for p in workers),
            'no worker is left', str(workers))
    for name in ('mirroring.pid', 'control.sock'):
        t.check(not os.path.exists(os.path.join(t.state_dir, name)),
                f'{name} removed at stop')
    t.wait_log('supervisor.stopped', 1, since=m)
    t.wait_exit(pub, 10)
    r = t.cli('stop')
    t.check(r.returncode == 1 and 'not running' in r.stderr,
            'stop again: exit 1, not running', r.stderr)
    t.daemon_pid = None
    t.check_no_secret(key, sink_key)
    t.check_sanitizers()


if __name__ == '__main__':
    harness.run('ops_lifecycle', body)
