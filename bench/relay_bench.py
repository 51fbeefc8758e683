#!/usr/bin/env python3
"""Relay benchmark of issue #3 (Python 3 stdlib; not a test).

One 1080p30 6 Mbit/s H.264 + AAC stream is published in real time to a
server that relays it to N sinks (bench/rtmp_sink.py), N = 1, 4, 8, for
three servers, interleaved in one run:

  mirroring   the supervisor and one worker per relay (a copy relay to
              rtmp://: mirroring-copy)
  nginx-push  (a) nginx-rtmp with one `push` per destination (in-process)
  nginx-ffmpeg (b) nginx-rtmp with one `exec_push ffmpeg -c copy` per
              destination (how most restreamers do it)

Measured per run: CPU seconds (user + sys of the server's whole process
tree, from /proc/PID/stat of every process in it, children that exited
included through their reaper's cutime/cstime) over a steady window,
normalised to CPU-s per stream-minute; peak RSS and PSS of every worker
(/proc/PID/smaps_rollup, sampled each second); the time from starting the
publisher to the first audio/video message at each sink; and each sink's
bit rate over the window (proof that every relay really delivered).

The table goes to stdout and to --out (markdown); --readme rewrites the
results section of bench/README.md from the same figures.
"""

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, 'tests', 'integration'))
from harness import free_port, stop_proc, tcp_listening  # noqa

RTMP_MODULE = '/usr/lib/nginx/modules/ngx_rtmp_module.so'
CLK_TCK = os.sysconf('SC_CLK_TCK')
SERVERS = ('mirroring', 'nginx-push', 'nginx-ffmpeg')
LABEL = {'mirroring': 'mirroring', 'nginx-push': '(a) nginx push',
         'nginx-ffmpeg': '(b) nginx + ffmpeg'}
KEY = 'benchKEY-0123456789abcdef'
MARK_BEGIN = '<!-- bench results begin (written by relay_bench.py) -->'
MARK_END = '<!-- bench results end -->'


def log(msg):
    print(f'[{time.strftime("%H:%M:%S")}] {msg}', file=sys.stderr,
          flush=True)


# -- tools and media -----------------------------------------------------

def ensure_nginx():
    """nginx and its RTMP module, installed with apt-get when missing."""
    if shutil.which('nginx') and os.path.exists(RTMP_MODULE):
        return
    if os.geteuid() != 0:
        sys.exit('relay_bench: needs nginx and libnginx-mod-rtmp: '
                 'apt-get install nginx libnginx-mod-rtmp')
    log('installing nginx libnginx-mod-rtmp (bench only)')
    env = dict(os.environ, DEBIAN_FRONTEND='noninteractive')
    subprocess.run(['apt-get', 'install', '-y', '--no-install-recommends',
                    'nginx', 'libnginx-mod-rtmp'], check=True, env=env,
                   stdout=subprocess.DEVNULL)


def make_source(cache, seconds):
    """seconds of 1920x1080 30 fps H.264 at 6 Mbit/s (CBR with filler,
    keyframe every 2 s) + 48 kHz stereo AAC 128 kbit/s, in FLV; made once
    and kept in the cache folder."""
    os.makedirs(cache, exist_ok=True)
    path = os.path.join(cache, f'src-1080p30-6M-{seconds}s.flv')
    if os.path.exists(path):
        return path
    log(f'encoding the {seconds} s source (once) into {path}')
    tmp = path + '.part.flv'
    subprocess.run(
        ['ffmpeg', '-nostdin', '-hide_banner', '-v', 'error', '-y',
         '-f', 'lavfi', '-i', 'testsrc2=size=1920x1080:rate=30',
         '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
         '-t', str(seconds), '-c:v', 'libx264', '-preset', 'veryfast',
         '-pix_fmt', 'yuv420p', '-b:v', '6M', '-minrate', '6M',
         '-maxrate', '6M', '-bufsize', '3M', '-x264-params', 'nal-hrd=cbr',
         '-g', '60', '-keyint_min', '60', '-sc_threshold', '0',
         '-c:a', 'aac', '-b:a', '128k', '-ac', '2', '-shortest',
         '-f', 'flv', tmp], check=True)
    os.rename(tmp, path)
    return path


def probe_rates(path):
    """(video kbit/s, messages/s) of the source, by ffprobe."""
    r = subprocess.run(['ffprobe', '-v', 'error', '-show_entries',
                        'packet=codec_type,size,pts_time', '-of', 'csv=p=0',
                        path], capture_output=True, text=True, check=True)
    n, vbytes, last = 0, 0, 0.0
    for line in r.stdout.split():
        kind, pts, size = (line.split(',') + ['', ''])[:3]
        n += 1
        if kind == 'video':
            vbytes += int(size)
        try:
            last = max(last, float(pts))
        except ValueError:
            pass
    return vbytes * 8 / 1000 / last, n / last


# -- the process tree ----------------------------------------------------

def read_stat(pid):
    """(ppid, comm, ticks of itself, ticks of its waited-for children)
    or None."""
    try:
        with open(f'/proc/{pid}/stat') as f:
            s = f.read()
    except OSError:
        return None
    comm = s[s.index('(') + 1:s.rindex(')')]
    rest = s[s.rindex(')') + 2:].split()
    # fields 4 (ppid), 14-17 (utime stime cutime cstime)
    return (int(rest[1]), comm, int(rest[11]) + int(rest[12]),
            int(rest[13]) + int(rest[14]))


def tree(root):
    """{pid: (comm, own ticks, reaped children's ticks)} of root and all
    its descendants."""
    procs = {}
    for d in os.listdir('/proc'):
        if d.isdigit():
            st = read_stat(int(d))
            if st is not None:
                procs[int(d)] = st
    kids = {}
    for pid, st in procs.items():
        kids.setdefault(st[0], []).append(pid)
    out, todo = {}, [root]
    while todo:
        pid = todo.pop()
        if pid in procs:
            out[pid] = procs[pid][1:]
            todo.extend(kids.get(pid, ()))
    return out


def per_thread(pid, name, value):
    """The sum of value(text of /proc/pid/task/TID/name) over pid's
    threads (0 for a thread gone meanwhile)."""
    n = 0
    try:
        tids = os.listdir(f'/proc/{pid}/task')
    except OSError:
        return 0
    for tid in tids:
        try:
            with open(f'/proc/{pid}/task/{tid}/{name}') as f:
                n += value(f.read())
        except (OSError, ValueError, IndexError):
            pass
    return n


def ctx_switches(pid):
    """Voluntary + involuntary context switches of all pid's threads."""
    return per_thread(pid, 'status', lambda text: sum(
        int(line.split()[1]) for line in text.splitlines()
        if line.startswith(('voluntary_ctxt_switches:',
                            'nonvoluntary_ctxt_switches:'))))


def run_ns(pid):
    """Time on a CPU of all pid's threads, in ns, from schedstat: exact,
    where utime + stime are whole clock ticks charged to whichever task
    the tick finds running."""
    return per_thread(pid, 'schedstat', lambda text: int(text.split()[0]))


def cpu_reading(root):
    """(ticks of the whole tree, ticks of root itself, context switches,
    {pid: run ns}).  A live process counts its own time plus that of the
    children it reaped, so an exited process stays counted once (in its
    reaper) and the difference of two readings is the CPU the tree used in
    between.  Run time has no reaped share: it is exact for the processes
    alive at both readings."""
    procs = tree(root)
    total = sum(own + reaped for _, own, reaped in procs.values())
    own_root = procs[root][1] if root in procs else 0
    return (total, own_root, sum(ctx_switches(pid) for pid in procs),
            {pid: run_ns(pid) for pid in procs})


def mem_kib(pid):
    """(Rss, Pss, private = Private_Clean + Private_Dirty) in KiB from
    smaps_rollup, or None."""
    m = {}
    try:
        with open(f'/proc/{pid}/smaps_rollup') as f:
            for line in f:
                k, _, v = line.partition(':')
                if k in ('Rss', 'Pss', 'Private_Clean', 'Private_Dirty'):
                    m[k] = int(v.split()[0])
    except (OSError, ValueError, IndexError):
        return None
    if len(m) != 4:
        return None
    return m['Rss'], m['Pss'], m['Private_Clean'] + m['Private_Dirty']


def cmdline(pid):
    try:
        with open(f'/proc/{pid}/cmdline', 'rb') as f:
            return f.read().replace(b'\0', b' ').decode('utf-8', 'replace')
    except OSError:
        return ''


def is_worker(server, pid, comm):
    if server == 'mirroring':
        return comm.startswith(('mirroring-worke', 'mirroring-copy'))
    if server == 'nginx-ffmpeg':
        return comm == 'ffmpeg'
    return cmdline(pid).startswith('nginx: worker')


# -- servers -------------------------------------------------------------

def start_mirroring(args, d, port, sink_port, n):
    conf = os.path.join(d, 'mirroring.yaml')
    relays = ''.join(f'      r{i}: {{ url: "rtmp://127.0.0.1:{sink_port}'
                     f'/sink/m{i}" }}\n' for i in range(1, n + 1))
    with open(conf, 'w') as f:
        f.write(f'listen: 127.0.0.1:{port}\napp: live\n'
                f'state_dir: {d}/var\nlog: {{ level: info, format: logfmt }}\n'
                + (f'relay_batch: {args.relay_batch}\n' if args.relay_batch
                   else '') +
                f'streams:\n  studio:\n    key: {KEY}\n    relays:\n'
                + relays)
    env = dict(os.environ, MIRRORING_WORKER=args.worker)
    logf = open(os.path.join(d, 'server.log'), 'wb')
    p = subprocess.Popen([args.mirroring, 'run', '-c', conf],
                         stdin=subprocess.DEVNULL, stdout=logf, stderr=logf,
                         env=env)
    return p, f'rtmp://127.0.0.1:{port}/live/{KEY}'


def start_nginx(server, d, port, sink_port, n):
    if server == 'nginx-push':
        lines = [f'push rtmp://127.0.0.1:{sink_port}/sink/a{i};'
                 for i in range(1, n + 1)]
    else:
        ff = shutil.which('ffmpeg')
        lines = [f'exec_push {ff} -nostdin -loglevel error '
                 f'-i rtmp://127.0.0.1:{port}/live/$name -c copy -f flv '
                 f'rtmp://127.0.0.1:{sink_port}/sink/b{i};'
                 for i in range(1, n + 1)]
    user = 'user nobody nogroup;\n' if os.geteuid() == 0 else ''
    conf = os.path.join(d, 'nginx.conf')
    with open(conf, 'w') as f:
        f.write(f'''load_module {RTMP_MODULE};
{user}worker_processes 1;
error_log {d}/error.log warn;
pid {d}/nginx.pid;
events {{ worker_connections 1024; }}
rtmp {{
    server {{
        listen 127.0.0.1:{port};
        chunk_size 4096;
        application live {{
            live on;
            {(chr(10) + ' ' * 12).join(lines)}
        }}
    }}
}}
''')
    logf = open(os.path.join(d, 'server.log'), 'wb')
    p = subprocess.Popen(['nginx', '-p', d, '-c', conf, '-g', 'daemon off;'],
                         stdin=subprocess.DEVNULL, stdout=logf, stderr=logf)
    return p, f'rtmp://127.0.0.1:{port}/live/studio'


def stop_tree(p, grace):
    """SIGTERM the server, then SIGKILL whatever of its tree is left
    (each by pid: only processes this run started)."""
    left = [pid for pid in tree(p.pid) if pid != p.pid]
    stop_proc(p, grace)
    for pid in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


# -- one run -------------------------------------------------------------

def run_one(args, src, server, n, hook=None):
    d = tempfile.mkdtemp(prefix=f'relay-bench-{server}-{n}-')
    sink_port, port = free_port(), free_port()
    sink = subprocess.Popen([sys.executable, os.path.join(HERE,
                                                          'rtmp_sink.py'),
                             '--port', str(sink_port)],
                            stdout=subprocess.PIPE, text=True,
                            stderr=open(os.path.join(d, 'sink.err'), 'w'))
    sink.stdout.readline()                      # "listening"
    if server == 'mirroring':
        srv, url = start_mirroring(args, d, port, sink_port, n)
    else:
        srv, url = start_nginx(server, d, port, sink_port, n)
    end = time.monotonic() + 10
    while not tcp_listening(port):
        if srv.poll() is not None or time.monotonic() > end:
            sys.exit(f'relay_bench: {server} did not start; see {d}')
        time.sleep(0.02)
    time.sleep(0.5)                             # let it settle
    dur = args.warmup + args.window + 3
    t0 = time.monotonic()
    pub = subprocess.Popen(['ffmpeg', '-nostdin', '-v', 'error', '-re',
                            '-stream_loop', '-1', '-i', src, '-c', 'copy',
                            '-t', str(dur), '-f', 'flv', url],
                           stdin=subprocess.DEVNULL,
                           stderr=open(os.path.join(d, 'pub.err'), 'w'))
    peak = {}           # pid -> [comm, rss, pss, private, worker]
    tree_pss = 0
    cpu = {}
    next_mem = t0
    marks = (('begin', t0 + args.warmup),
             ('end', t0 + args.warmup + args.window))
    for name, at in marks:
        while True:
            now = time.monotonic()
            if now >= next_mem:
                procs = tree(srv.pid)
                total = 0
                for pid, (comm, _, _) in procs.items():
                    m = mem_kib(pid)
                    if m is None:
                        continue
                    total += m[1]
                    e = peak.setdefault(pid, [comm, 0, 0, 0,
                                              is_worker(server, pid, comm)])
                    e[1:4] = [max(a, b) for a, b in zip(e[1:4], m)]
                tree_pss = max(tree_pss, total)
                next_mem = now + 1.0
            if now >= at:
                break
            time.sleep(min(0.1, at - now, max(0.0, next_mem - now)))
        # the sink's byte counts and the tree's CPU, read back to back
        sink.send_signal(signal.SIGUSR1)
        cpu[name] = (time.monotonic(), cpu_reading(srv.pid))
        if hook is not None and name == 'begin':
            hook(d, srv.pid)
    alive = pub.poll() is None and srv.poll() is None
    stop_proc(pub, 5)
    stop_tree(srv, 10)
    sink.send_signal(signal.SIGTERM)
    out, _ = sink.communicate(timeout=10)
    events = [json.loads(line) for line in out.splitlines() if line]
    first = {e['name']: e['t'] - t0 for e in events if e['ev'] == 'media'}
    counts = [e for e in events if e['ev'] == 'bytes']
    (tb, (cb, rb, xb, nb)), (te, (ce, re, xe, ne)) = cpu['begin'], \
        cpu['end']
    minutes = (te - tb) / 60
    # run time of what lived through the window (a process started in it
    # counts from 0; one that ended in it is missing: run_whole says so)
    run = sum(v - nb.get(pid, 0) for pid, v in ne.items())
    kbps = []
    if len(counts) >= 2:
        b0, b1 = counts[0], counts[1]
        for name in first:
            kbps.append((b1['sinks'].get(name, 0) -
                         b0['sinks'].get(name, 0)) * 8 / 1000 /
                        (b1['t'] - b0['t']))
    workers = [e for e in peak.values() if e[4]]
    root = peak.get(srv.pid, ['', 0, 0, 0])
    r = {
        'server': server, 'relays': n, 'dir': d, 'ok': alive,
        'cpu_per_min': (ce - cb) / CLK_TCK / minutes,
        'root_cpu_per_min': (re - rb) / CLK_TCK / minutes,
        'run_per_min': run / 1e9 / minutes,
        'root_run_per_min': (ne.get(srv.pid, 0) - nb.get(srv.pid, 0)) /
        1e9 / minutes,
        'run_whole': set(nb) <= set(ne),
        'ctxsw_per_s': (xe - xb) / (te - tb),
        'window_s': te - tb,
        'sinks_live': len(first), 'workers': len(workers),
        'worker_rss_kib': max((e[1] for e in workers), default=0),
        'worker_pss_kib': max((e[2] for e in workers), default=0),
        'worker_priv_kib': max((e[3] for e in workers), default=0),
        'root_pss_kib': root[2], 'tree_pss_kib': tree_pss,
        'first_med': statistics.median(first.values()) if first else None,
        'first_max': max(first.values()) if first else None,
        'sink_kbps_min': min(kbps) if kbps else 0,
        'load1': os.getloadavg()[0],
    }
    log(f'{server} x{n}: {r["cpu_per_min"]:.2f} CPU-s/min '
        f'(run time {r["run_per_min"]:.3f}), '
        f'{len(first)}/{n} sinks, first byte max {r["first_max"]}, '
        f'min sink {r["sink_kbps_min"]:.0f} kbit/s, load {r["load1"]:.2f}')
    if not alive or len(first) != n:
        log(f'  warning: the run was not healthy; kept {d}')
    elif not args.keep:
        shutil.rmtree(d, ignore_errors=True)
    return r


# -- profile -----------------------------------------------------------

class Tee:
    """stdout to the terminal and to a file."""

    def __init__(self, *outs):
        self.outs = outs

    def write(self, text):
        for o in self.outs:
            o.write(text)

    def flush(self):
        for o in self.outs:
            o.flush()


def private_by_mapping(pid):
    """Prints where a process's private memory is (smaps), the number of
    shared objects it maps and the dynamic loader's statistics of one
    mirroring-worker start."""
    per, cur = {}, '[anon]'
    with open(f'/proc/{pid}/smaps') as f:
        for line in f:
            k = line.split()
            if not k[0].endswith(':'):
                cur = k[5] if len(k) > 5 else '[anon]'
            elif k[0] in ('Private_Clean:', 'Private_Dirty:'):
                per[cur] = per.get(cur, 0) + int(k[1])
    libs = [m for m in per if '.so' in m]
    print(f'## private memory of worker {pid}: {sum(per.values())} KiB, '
          f'{len(libs)} shared objects mapped; largest:')
    for m, kib in sorted(per.items(), key=lambda x: -x[1])[:10]:
        print(f'{kib:8d} KiB  {m}')
    exe = os.readlink(f'/proc/{pid}/exe')
    r = subprocess.run([exe, '--version'], capture_output=True, text=True,
                       env=dict(os.environ, LD_DEBUG='statistics'))
    print('## LD_DEBUG=statistics of mirroring-worker --version')
    print('\n'.join(l.split(':', 1)[-1].strip() for l in
                    r.stderr.splitlines() if 'relocations' in l or
                    'startup' in l) + '\n')


def profile_hook(seconds):
    """perf record -g of the whole tree, then strace -c of one worker and
    of the supervisor; the summaries are printed and kept in the run's
    folder."""
    def hook(d, root):
        procs = tree(root)
        pids = ','.join(str(p) for p in procs)
        worker = next(p for p, st in procs.items()
                      if st[0].startswith(('mirroring-copy', 'mirroring-worke')))
        data = os.path.join(d, 'perf.data')
        log(f'perf record -g of {pids} for {seconds} s')
        subprocess.run(['perf', 'record', '-q', '-g', '-F', '999', '-o', data,
                        '-p', pids, '--', 'sleep', str(seconds)],
                       stderr=subprocess.DEVNULL)
        print('## from publish to live relays (the supervisor\'s log)')
        with open(os.path.join(d, 'server.log')) as f:
            for line in f:
                if any(f'event={e} ' in line for e in (
                        'publish.started', 'relay.spawned', 'relay.started',
                        'relay.connecting', 'relay.live')):
                    k = dict(x.split('=', 1) for x in line.split()
                             if '=' in x)
                    print(k.get('ts'), k.get('event'), k.get('relay', ''))
        print()
        private_by_mapping(worker)
        out = os.path.join(d, 'strace-tt-worker.txt')
        subprocess.run(['timeout', '-s', 'INT', '1', 'strace', '-tt', '-f',
                        '-e', 'trace=read,sendto,poll,futex', '-o', out,
                        '-p', str(worker)], stderr=subprocess.DEVNULL)
        with open(out) as f:
            lines = f.read().splitlines()
        start = next((i for i, l in enumerate(lines)
                      if 'read(3' in l and l.endswith(tuple(
                          f'= {k}' for k in range(10000, 100000)))), 0)
        print(f'## one video frame through the worker (strace -tt; '
              f'{len(lines)} calls in 1 s)')
        print('\n'.join(l[:110] for l in lines[start:start + 36]) + '\n')
        for what, pid in (('worker', worker), ('supervisor', root)):
            out = os.path.join(d, f'strace-{what}.txt')
            log(f'strace -c -f of the {what} ({pid}) for 10 s')
            subprocess.run(['timeout', '-s', 'INT', '10', 'strace', '-c',
                            '-f', '-o', out, '-p', str(pid)],
                           stderr=subprocess.DEVNULL)
            with open(out) as f:
                print(f'## syscalls of the {what} in 10 s\n{f.read()}')
        for sort in ('comm,dso', 'comm,sym'):
            r = subprocess.run(['perf', 'report', '-i', data, '--stdio',
                                '--no-children', '-g', 'none', '--sort',
                                sort], capture_output=True, text=True)
            rows = [l for l in r.stdout.splitlines()
                    if l.strip() and not l.startswith('#')]
            print(f'## perf report --sort {sort} (top 30)')
            print('\n'.join(rows[:30]) + '\n')
        calls = ('ksys_read', '__x64_sys_futex', '__x64_sys_sendto',
                 '__x64_sys_poll', '__x64_sys_readv', '__x64_sys_writev',
                 '__x64_sys_epoll_wait', '__x64_sys_epoll_ctl',
                 '__x64_sys_ioctl', 'finish_task_switch.isra.0')
        for comm in ('mirroring-worke', 'mirroring'):
            r = subprocess.run(['perf', 'report', '-i', data, '--stdio',
                                '--children', '-g', 'none', '--comm', comm,
                                '--percentage', 'relative', '--sort', 'sym'],
                               capture_output=True, text=True)
            rows = [l for l in r.stdout.splitlines()
                    if l.split()[-1:] and l.split()[-1] in calls]
            print(f'## {comm}: share of its own samples spent in each system '
                  'call, callees included (perf report --children)')
            print('\n'.join(rows) + '\n')
        log(f'profile kept in {d}')
    return hook


def nodelay_check(src):
    """libavformat's RTMP client with and without TCP_NODELAY: time from
    starting `ffmpeg -c copy -f flv rtmp://…` to its first media message at
    the sink, and the CPU of a 20 s real-time copy of the source."""
    port = free_port()
    sink = subprocess.Popen([sys.executable, os.path.join(HERE,
                                                          'rtmp_sink.py'),
                             '--port', str(port)],
                            stdout=subprocess.PIPE, text=True)
    sink.stdout.readline()
    starts, cpu = {}, {}
    for i, opt in enumerate(([], ['-tcp_nodelay', '1']) * 3):
        name = f'{"nodelay" if opt else "nagle"}-{i}'
        starts[name] = time.monotonic()
        subprocess.run(['ffmpeg', '-nostdin', '-v', 'error', '-i', src,
                        '-t', '1', '-c', 'copy'] + opt +
                       ['-f', 'flv', f'rtmp://127.0.0.1:{port}/sink/{name}'])
    for opt in ([], ['-tcp_nodelay', '1']):
        p = subprocess.Popen(['ffmpeg', '-nostdin', '-v', 'error', '-re',
                              '-i', src, '-t', '20', '-c', 'copy'] + opt +
                             ['-f', 'flv', f'rtmp://127.0.0.1:{port}/sink/'
                              f'cpu{len(opt)}'])
        _, _, ru = os.wait4(p.pid, 0)
        p.returncode = 0
        cpu[bool(opt)] = ru.ru_utime + ru.ru_stime
    sink.send_signal(signal.SIGTERM)
    out, _ = sink.communicate(timeout=10)
    first = {}
    for e in (json.loads(line) for line in out.splitlines() if line):
        if e['ev'] == 'media' and e['name'] in starts:
            kind = e['name'].split('-')[0]
            first.setdefault(kind, []).append(e['t'] - starts[e['name']])
    print('## libavformat RTMP client, Nagle on (its default) vs '
          '-tcp_nodelay 1')
    for kind, nodelay in (('nagle', False), ('nodelay', True)):
        ts = first.get(kind, [])
        print(f'{kind:8s} first media after start: '
              + ' '.join(f'{t:.3f}' for t in ts) + ' s; CPU of a 20 s '
              f'real-time copy: {cpu[nodelay]:.2f} s')
    print()


def nginx_strace_hook(d, root):
    """strace -c of the nginx worker (it does all the relaying of (a))."""
    worker = next(p for p in tree(root) if p != root)
    out = os.path.join(d, 'strace-nginx.txt')
    log(f'strace -c of the nginx worker ({worker}) for 10 s')
    subprocess.run(['timeout', '-s', 'INT', '10', 'strace', '-c', '-f',
                    '-o', out, '-p', str(worker)], stderr=subprocess.DEVNULL)
    with open(out) as f:
        print(f'## for comparison, syscalls of the nginx worker of (a) '
              f'(ingest and every push) in 10 s\n{f.read()}')


# -- report --------------------------------------------------------------

def marginal(rs, server, counts, field='cpu_per_min'):
    """CPU-s per stream-minute each relay beyond the first adds: the
    slope between the smallest and the largest relay count."""
    lo, hi = min(counts), max(counts)
    a, b = rs[(server, lo)], rs[(server, hi)]
    return (b[field] - a[field]) / (hi - lo)


def fmt_s(x):
    return '–' if x is None else f'{x:.2f}'


def median_runs(passes):
    """One result per (server, relays): the median of each figure over
    the passes, with the CPU's lowest and highest kept."""
    out = {}
    for key in passes[0]:
        rows = [p[key] for p in passes]
        r = dict(rows[0])
        for f, v in rows[0].items():
            vals = [x[f] for x in rows if x[f] is not None]
            if isinstance(v, (int, float)) and not isinstance(v, bool) \
                    and vals:
                r[f] = statistics.median(vals)
        r['ok'] = all(x['ok'] for x in rows)
        r['run_whole'] = all(x['run_whole'] for x in rows)
        r['sinks_live'] = min(x['sinks_live'] for x in rows)
        r['cpu_lo'] = min(x['cpu_per_min'] for x in rows)
        r['cpu_hi'] = max(x['cpu_per_min'] for x in rows)
        out[key] = r
    return out


def report(args, passes, counts, rates, started):
    rs = median_runs(passes)
    many = len(passes) > 1
    L = []
    L.append(f'Source: 1920x1080 30 fps H.264 {rates[0]:.0f} kbit/s + AAC '
             f'128 kbit/s, {rates[1]:.1f} messages/s; steady window '
             f'{args.window} s after {args.warmup} s; '
             f'{os.cpu_count()} CPUs; run {started} UTC' +
             (f'; every figure is the median of {len(passes)} interleaved '
              'passes, CPU with its lowest–highest.' if many else '.'))
    L.append('')
    L.append('| server | relays | CPU-s / stream-min | per relay | '
             'of it the root process | run time s / stream-min | '
             'context switches/s | '
             'worker peak RSS MiB | PSS MiB | private MiB | '
             'tree peak PSS MiB | first byte s (median / max) | '
             'slowest sink kbit/s | load avg |')
    L.append('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|'
             '---:|---:|')
    for n in counts:
        for s in SERVERS:
            r = rs[(s, n)]
            sinks = '' if r['sinks_live'] == n else \
                f' ({r["sinks_live"]}/{n} sinks)'
            L.append(
                f'| {LABEL[s]} | {n} | {r["cpu_per_min"]:.2f}'
                + (f' ({r["cpu_lo"]:.2f}–{r["cpu_hi"]:.2f})' if many else '')
                + ' | '
                f'{r["cpu_per_min"] / n:.3f} | '
                f'{r["root_cpu_per_min"]:.2f} | '
                f'{r["run_per_min"]:.3f}'
                + ('' if r['run_whole'] else ' (a process ended)') + ' | '
                f'{r["ctxsw_per_s"]:.0f} | '
                f'{r["worker_rss_kib"] / 1024:.1f} | '
                f'{r["worker_pss_kib"] / 1024:.1f} | '
                f'{r["worker_priv_kib"] / 1024:.1f} | '
                f'{r["tree_pss_kib"] / 1024:.1f} | '
                f'{fmt_s(r["first_med"])} / {fmt_s(r["first_max"])} | '
                f'{r["sink_kbps_min"]:.0f}{sinks} | {r["load1"]:.2f} |')
    L.append('')
    L.append('CPU is user + sys of the server\'s whole process tree over the '
             'window; "the root process" is the supervisor (mirroring) or '
             'the nginx master (which does no relaying). Run time is the '
             'same tree\'s time on a CPU from /proc/PID/task/TID/schedstat, '
             'in ns: user + sys are whole clock ticks charged to whatever '
             'runs when the tick comes, run time is exact. Context switches '
             'are those of every thread in the tree. "worker" is a '
             'mirroring-copy (the worker of a copy relay to rtmp://), the one nginx worker process that relays '
             'in-process (a), or an ffmpeg (b); its peak RSS, PSS and '
             'private memory (Private_Clean + Private_Dirty: what one more '
             'worker really costs) are the largest of any one worker over '
             'the run. PSS shares library pages among every process on the '
             'machine that maps them (the publisher\'s ffmpeg included), so '
             'it falls as workers are added.')
    L.append('')
    m = {s: marginal(rs, s, counts) for s in SERVERS}
    mr = {s: marginal(rs, s, counts, 'run_per_min') for s in SERVERS}
    lo, hi = min(counts), max(counts)
    L.append(f'Each extra relay (slope from {lo} to {hi} relays), '
             'CPU-s per stream-minute, from user + sys and from run time:')
    L.append('')
    L.append('| server | extra relay (user + sys) | mirroring / this | '
             'extra relay (run time) | mirroring / this |' +
             (' each pass (user + sys; run time) |' if many else ''))
    L.append('|---|---:|---:|---:|---:|' + ('---|' if many else ''))

    def ratio(a, b):
        return f'{a / b:.2f}x' if b > 0 else 'n/a'
    for s in SERVERS:
        each = ', '.join(f'{marginal(p, s, counts):.3f}' for p in passes)
        each_r = ', '.join(f'{marginal(p, s, counts, "run_per_min"):.3f}'
                           for p in passes)
        L.append(f'| {LABEL[s]} | {m[s]:.3f} | '
                 f'{ratio(m["mirroring"], m[s])} | {mr[s]:.3f} | '
                 f'{ratio(mr["mirroring"], mr[s])} |' +
                 (f' {each}; {each_r} |' if many else ''))
    L.append('')
    pss = {n: rs[('mirroring', n)]['worker_pss_kib'] / 1024 for n in counts}
    ra = m['mirroring'] / m['nginx-ffmpeg'] if m['nginx-ffmpeg'] > 0 else None
    late = [n for n in counts
            if rs[('mirroring', n)]['first_max'] is None or
            rs[('nginx-push', n)]['first_max'] is None or
            rs[('mirroring', n)]['first_max'] >
            rs[('nginx-push', n)]['first_max']]
    healthy = all(r['ok'] and r['sinks_live'] == r['relays']
                  for r in rs.values())
    rra = mr['mirroring'] / mr['nginx-ffmpeg'] \
        if mr['nginx-ffmpeg'] > 0 else None

    def yn(ok):
        return 'yes' if ok else 'no'
    targets = [
        ('each extra mirroring relay <= 0.2x of (b)',
         ra is not None and ra <= 0.2,
         f'{m["mirroring"]:.3f} vs {m["nginx-ffmpeg"]:.3f} = '
         + (f'{ra:.2f}x' if ra is not None else 'n/a')
         + f'; by run time {mr["mirroring"]:.3f} vs '
         f'{mr["nginx-ffmpeg"]:.3f} = '
         + (f'{rra:.2f}x' if rra is not None else 'n/a')
         + f' ({yn(rra is not None and rra <= 0.2)})'),
        ('each extra mirroring relay within 3x of (a)',
         m['mirroring'] <= 3 * max(m['nginx-push'], 0),
         f'{m["mirroring"]:.3f} vs 3 x {m["nginx-push"]:.3f} = '
         f'{3 * m["nginx-push"]:.3f}; by run time {mr["mirroring"]:.3f} '
         f'vs 3 x {mr["nginx-push"]:.3f} = {3 * mr["nginx-push"]:.3f} '
         f'({yn(mr["mirroring"] <= 3 * max(mr["nginx-push"], 0))})'),
        ('PSS per remux worker < 8 MiB', all(v < 8 for v in pss.values()),
         'largest worker at ' + ', '.join(f'{n} relays: {v:.1f} MiB'
                                          for n, v in pss.items())),
        ('first byte at a sink no later than (a)', not late,
         'slowest sink, mirroring vs (a): ' + ', '.join(
             f'{n}: {fmt_s(rs[("mirroring", n)]["first_max"])} vs '
             f'{fmt_s(rs[("nginx-push", n)]["first_max"])} s'
             for n in counts)),
    ]
    L.append('| target | met | figures |')
    L.append('|---|---|---|')
    for what, ok, detail in targets:
        L.append(f'| {what} | {"yes" if ok else "**no**"} | {detail} |')
    if not healthy:
        L.append('')
        L.append('**Warning: some runs were not healthy (a server or the '
                 'publisher died, or a sink got nothing); their figures '
                 'mean little.**')
    return '\n'.join(L) + '\n'


def update_readme(path, text):
    with open(path) as f:
        doc = f.read()
    i, j = doc.find(MARK_BEGIN), doc.find(MARK_END)
    if i < 0 or j < i:
        sys.exit(f'relay_bench: {path} has no results markers')
    doc = doc[:i + len(MARK_BEGIN)] + '\n' + text + doc[j:]
    with open(path, 'w') as f:
        f.write(doc)


def main():
    ap = argparse.ArgumentParser(
        description='mirroring vs nginx-rtmp push vs nginx + ffmpeg: CPU, '
        'memory and first-byte time of 1, 4 and 8 relays.')
    ap.add_argument('--build', default=os.path.join(ROOT, 'build'),
                    help='meson build folder (default: build)')
    ap.add_argument('--relays', default='1,4,8')
    ap.add_argument('--relay-batch', help='mirroring\'s relay_batch (e.g. '
                    '0, 200ms; default: mirroring\'s own)')
    ap.add_argument('--warmup', type=int, default=10)
    ap.add_argument('--window', type=int, default=40)
    ap.add_argument('--repeat', type=int, default=2,
                    help='interleaved passes; figures are their medians')
    ap.add_argument('--source-seconds', type=int, default=60)
    ap.add_argument('--cache', default=os.path.join(HERE, '.media'))
    ap.add_argument('--only', help='comma-separated subset of ' +
                    ','.join(SERVERS))
    ap.add_argument('--out', default=os.path.join(HERE, 'results.md'))
    ap.add_argument('--readme', action='store_true',
                    help='also write the results into bench/README.md')
    ap.add_argument('--profile', type=int, metavar='N',
                    help='instead: profile mirroring with N relays (perf '
                    'record -g of the tree, strace -c of a worker and of the '
                    'supervisor)')
    ap.add_argument('--keep', action='store_true',
                    help='keep every run\'s temp folder (logs, configs)')
    args = ap.parse_args()
    args.mirroring = os.path.join(args.build, 'supervisor', 'mirroring')
    args.worker = os.path.join(args.build, 'worker', 'mirroring-worker')
    for exe in (args.mirroring, args.worker):
        if not os.access(exe, os.X_OK):
            sys.exit(f'relay_bench: {exe} not built (ninja -C {args.build})')
    for tool in ('ffmpeg', 'ffprobe'):
        if shutil.which(tool) is None:
            sys.exit(f'relay_bench: {tool} not found')
    ensure_nginx()
    counts = [int(x) for x in args.relays.split(',')]
    servers = args.only.split(',') if args.only else list(SERVERS)
    started = time.strftime('%Y-%m-%d %H:%M', time.gmtime())
    src = make_source(args.cache, args.source_seconds)
    rates = probe_rates(src)
    log(f'source {rates[0]:.0f} kbit/s video, {rates[1]:.1f} messages/s')
    if args.profile:
        for tool in ('perf', 'strace'):
            if shutil.which(tool) is None:
                sys.exit(f'relay_bench: --profile needs {tool}')
        args.keep = True
        out = os.path.join(HERE, 'profile.txt')
        with open(out, 'w') as f:
            real = sys.stdout
            sys.stdout = Tee(real, f)
            try:
                print(f'# bench/relay_bench.py --profile {args.profile}, '
                      f'{started} UTC\n')
                print(json.dumps(run_one(args, src, 'mirroring',
                                         args.profile, profile_hook(20))))
                print(json.dumps(run_one(args, src, 'nginx-push',
                                         args.profile, nginx_strace_hook)))
                nodelay_check(src)
            finally:
                sys.stdout = real
        log(f'profile written to {out}')
        return
    passes = []
    # interleaved: every server at one relay count before the next count,
    # the order rotating so none always runs right after the encoder; the
    # whole cycle once per --repeat
    for rep in range(args.repeat):
        rs = {}
        for k, n in enumerate(counts):
            for i in range(len(servers)):
                s = servers[(i + k + rep) % len(servers)]
                rs[(s, n)] = run_one(args, src, s, n)
        passes.append(rs)
    if set(servers) != set(SERVERS):
        for rs in passes:
            for key, r in sorted(rs.items()):
                print(json.dumps(r))
        return
    text = report(args, passes, counts, rates, started)
    print(text)
    with open(args.out, 'w') as f:
        f.write('# Relay benchmark results\n\nWritten by '
                '`bench/relay_bench.py ' + ' '.join(sys.argv[1:]) +
                '`.\n\n' + text)
    if args.readme:
        update_readme(os.path.join(HERE, 'README.md'), text)


if __name__ == '__main__':
    main()
