"""Shared helpers of the integration tests (Python 3 stdlib only).

Each scenario gets a Test: its own temp dir, free port, config file and
supervisor (`$MIRRORING run -c CONF`, stderr to supervisor.log).  Waiting is
always on a condition with a deadline (wait_log, wait_exit), never a bare
sleep.  Test media is made with ffmpeg and counted with ffprobe; RawRtmp is
a minimal hand-made RTMP client for hostile-input cases.
"""

import os
import random
import shutil
import signal
import socket
import sqlite3
import struct
import subprocess
import sys
import tempfile
import time
import traceback

SKIP = 77


def _sanitized(path):
    """True when path was built with ASan/UBSan: everything is slower."""
    try:
        with open(path, 'rb') as f:
            data = f.read()
    except OSError:
        return False
    return b'libasan.so' in data or b'__asan_init' in data or \
        b'libubsan.so' in data


MIRRORING = os.environ.get('MIRRORING', '')
RTMP_PUBLISH = os.environ.get('RTMP_PUBLISH', '')
# Deadlines for synchronisation and the contract's time limits are scaled
# by SLOW for sanitizer builds (typically 2-3x slower).
SLOW = 3.0 if _sanitized(MIRRORING) else 1.0


class Failure(Exception):
    pass


class Skip(Exception):
    pass


def parse_logfmt(line):
    """key=value pairs of one logfmt line; values may be "quoted" with
    \\" \\\\ \\n \\t \\xNN escapes.  A bare key maps to ''."""
    out = {}
    i, n = 0, len(line)
    while i < n:
        while i < n and line[i] in ' \t\r\n':
            i += 1
        if i >= n:
            break
        j = i
        while j < n and line[j] not in '= \t':
            j += 1
        key = line[i:j]
        if j >= n or line[j] != '=':
            out[key] = ''
            i = j
            continue
        j += 1
        if j < n and line[j] == '"':
            j += 1
            buf = []
            while j < n and line[j] != '"':
                c = line[j]
                if c == '\\' and j + 1 < n:
                    j += 1
                    c = line[j]
                    if c == 'n':
                        c = '\n'
                    elif c == 't':
                        c = '\t'
                    elif c == 'x' and j + 2 < n:
                        c = chr(int(line[j + 1:j + 3], 16))
                        j += 2
                buf.append(c)
                j += 1
            value = ''.join(buf)
            j += 1
        else:
            k = j
            while j < n and line[j] not in ' \t':
                j += 1
            value = line[k:j]
        out[key] = value
        i = j
    return out


def mask(key):
    """The contract's display form of a secret (log_mask)."""
    return key[:2] + '\u2026' + key[-2:] if len(key) >= 12 else '\u2026'


_ports_given = set()


def free_port():
    """A free TCP port on 127.0.0.1, below the kernel's ephemeral range
    (ip_local_port_range, 32768 and up by default): a port taken from that
    range can be given to another test's outgoing connection before our
    server listens on it (ops_http failed so once).  Never one this
    process was given before."""
    rnd = random.Random()
    while True:
        port = rnd.randrange(20000, 32768)
        if port in _ports_given:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(('127.0.0.1', port))
            except OSError:
                continue
        _ports_given.add(port)
        return port


def need_tools(*names):
    for name in names:
        if shutil.which(name) is None:
            raise Skip(f'{name} not found in PATH')


def need_gst_element(name):
    need_tools('gst-launch-1.0', 'gst-inspect-1.0')
    r = subprocess.run(['gst-inspect-1.0', name], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
    if r.returncode != 0:
        raise Skip(f'GStreamer element {name} not installed')


def make_media(path, seconds=10, size='640x360', video=(), rate=44100,
               channels=2):
    """seconds of <size>@30 H.264 + <rate> Hz <channels> AAC in FLV
    (640x360, 44.1 kHz stereo unless told); video: more ffmpeg options for
    the picture (filters, quality)."""
    cmd = ['ffmpeg', '-nostdin', '-hide_banner', '-v', 'error', '-y',
           '-f', 'lavfi', '-i', f'testsrc2=size={size}:rate=30',
           '-f', 'lavfi', '-i', f'sine=frequency=440:sample_rate={rate}',
           '-t', str(seconds), *video, '-c:v', 'libx264',
           '-preset', 'ultrafast',
           '-g', '60', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-b:a', '96k',
           '-ac', str(channels), '-shortest', '-f', 'flv', path]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise Failure(f'ffmpeg could not make test media: {r.stderr}')
    return path


def probe_counts(path):
    """{'video': (packets, bytes), 'audio': (packets, bytes)} by ffprobe."""
    r = subprocess.run(['ffprobe', '-v', 'error', '-show_entries',
                        'packet=codec_type,size', '-of', 'csv=p=0', path],
                       capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise Failure(f'ffprobe {path}: {r.stderr}')
    counts = {'video': [0, 0], 'audio': [0, 0]}
    for line in r.stdout.split():
        kind, size = line.split(',')[:2]
        if kind in counts:
            counts[kind][0] += 1
            counts[kind][1] += int(size)
    return {k: tuple(v) for k, v in counts.items()}


class Test:
    """One scenario: temp dir, port, supervisor, child processes."""

    def __init__(self, name):
        self.name = name
        self.dir = tempfile.mkdtemp(prefix=f'mirroring-{name}-')
        self.port = free_port()
        self.state_dir = os.path.join(self.dir, 'var')
        self.conf = os.path.join(self.dir, 'mirroring.yaml')
        self.log_path = os.path.join(self.dir, 'supervisor.log')
        self.sup = None
        self.daemon_pid = None      # a `mirroring start` supervisor
        self.procs = []
        self.checks = 0
        self.failures = []

    # -- assertions -------------------------------------------------------

    def check(self, cond, what, detail='', soft=False):
        """Asserts cond; a soft failure is recorded and the test goes on
        (rows of a table), a hard one ends it."""
        self.checks += 1
        if not cond:
            print(f'FAIL {what}' + (f': {detail}' if detail else ''),
                  flush=True)
            self.failures.append(what)
            if not soft:
                raise Failure(what)
            return False
        print(f'ok   {what}', flush=True)
        return True

    def check_eq(self, got, want, what, soft=False):
        return self.check(got == want, f'{what} == {want!r}',
                          f'got {got!r}', soft)

    def fail(self, what):
        print(f'FAIL {what}', flush=True)
        raise Failure(what)

    # -- configuration and supervisor -------------------------------------

    def url(self, key, app='live'):
        return f'rtmp://127.0.0.1:{self.port}/{app}/{key}'

    def write_config(self, streams, extra='', log_file=False):
        """streams: {name: key} or {name: 'raw yaml lines'} (a str value
        that contains ':' is pasted as the stream's body).  log_file:
        the supervisor itself writes its log to self.log_path (for
        `mirroring start`, whose output is not ours to redirect)."""
        log = 'log: { level: debug, format: logfmt' + \
            (f', file: {self.log_path} }}' if log_file else ' }')
        lines = [f'listen: 127.0.0.1:{self.port}', 'app: live',
                 f'state_dir: {self.state_dir}', log]
        if extra:
            lines.append(extra.rstrip('\n'))
        lines.append('streams:')
        for name, body in streams.items():
            lines.append(f'  {name}:')
            if ':' in body:
                lines.extend('    ' + l for l in body.strip('\n').split('\n'))
            else:
                lines.append(f'    key: {body}')
        with open(self.conf, 'w') as f:
            f.write('\n'.join(lines) + '\n')
        return self.conf

    def start(self, env=None):
        """Starts the supervisor and waits until it listens (this one: a
        restarted supervisor appends to the same log)."""
        since = self.mark()
        self.log_file = open(self.log_path, 'ab')
        self.sup = subprocess.Popen([MIRRORING, 'run', '-c', self.conf],
                                    stdin=subprocess.DEVNULL,
                                    stdout=self.log_file,
                                    stderr=self.log_file,
                                    env=self._env(env))
        self.wait_log('supervisor.listening', 10, since=since,
                      addr=f'127.0.0.1:{self.port}')

    def start_daemon(self, env=None):
        """`mirroring start`: returns once it says it serves (the config
        must have log_file=True); remembers the daemon's pid."""
        import re
        r = self.cli('start', env=env)
        self.check(r.returncode == 0, 'mirroring start exits 0',
                   r.stdout + r.stderr)
        m = re.search(r'started \(pid (\d+)\)', r.stdout)
        self.check(m is not None, 'mirroring start names the daemon pid',
                   r.stdout + r.stderr)
        self.daemon_pid = int(m.group(1))
        return self.daemon_pid

    def _env(self, extra):
        env = dict(os.environ)
        env.update(extra or {})
        return env

    def stop(self):
        """SIGTERM the supervisor; returns its exit status."""
        if self.sup is None:
            return None
        rc = stop_proc(self.sup, 10 * SLOW)
        self.sup = None
        return rc

    def cli(self, *args, env=None, timeout=20):
        """Runs `$MIRRORING args... -c CONF`; returns CompletedProcess."""
        argv = [MIRRORING] + list(args)
        if '-c' not in args:
            argv += ['-c', self.conf]
        return subprocess.run(argv, capture_output=True, text=True,
                              stdin=subprocess.DEVNULL, env=self._env(env),
                              timeout=timeout * SLOW)

    # -- the log ----------------------------------------------------------

    def log_lines(self):
        try:
            with open(self.log_path, 'rb') as f:
                data = f.read().decode('utf-8', 'replace')
        except FileNotFoundError:
            return []
        # a line still being written has no newline yet
        return data.split('\n')[:-1]

    def mark(self):
        """Position in the log: pass as since= to look only after it."""
        return len(self.log_lines())

    def events(self, event, since=0, **fields):
        out = []
        for line in self.log_lines()[since:]:
            f = parse_logfmt(line)
            if f.get('event') == event and _match(f, fields):
                out.append(f)
        return out

    def wait_log(self, event, deadline, since=0, **fields):
        """Waits up to deadline s (x SLOW) for a log line with event=event
        and the given field values (str, or a predicate); returns its
        fields.  Fails the test on timeout or if the supervisor died."""
        end = time.monotonic() + deadline * SLOW
        while True:
            found = self.events(event, since, **fields)
            if found:
                return found[0]
            if self.sup is not None and self.sup.poll() is not None:
                found = self.events(event, since, **fields)
                if found:
                    return found[0]
                self.fail(f'supervisor exited ({self.sup.returncode}) '
                          f'while waiting for {event} {_desc(fields)}')
            if time.monotonic() > end:
                self.fail(f'no {event} {_desc(fields)} within '
                          f'{deadline * SLOW:g} s')
            time.sleep(0.02)

    def check_no_secret(self, *secrets):
        with open(self.log_path, 'rb') as f:
            data = f.read()
        for s in secrets:
            self.check(s.encode() not in data,
                       f'raw key {mask(s)} never appears in the log')

    def check_sanitizers(self):
        """A daemon's exit status is nobody's to see: its sanitizer
        reports (ASan builds) land in the log file instead."""
        with open(self.log_path, 'rb') as f:
            data = f.read()
        for word in (b'AddressSanitizer', b'LeakSanitizer', b'runtime error:'):
            self.check(word not in data, f'no {word.decode()} report in the '
                       'log')

    # -- child processes --------------------------------------------------

    def spawn(self, name, argv, env=None):
        """Starts a child with output to NAME.log in the temp dir."""
        out = open(os.path.join(self.dir, name + '.log'), 'wb')
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                             stderr=subprocess.STDOUT, env=self._env(env),
                             start_new_session=True)
        p.name = name
        p.started = time.monotonic()
        self.procs.append(p)
        return p

    def proc_output(self, p):
        with open(os.path.join(self.dir, p.name + '.log'), 'rb') as f:
            return f.read().decode('utf-8', 'replace')

    def wait_exit(self, p, deadline):
        """Waits up to deadline s (x SLOW); returns the exit code or fails."""
        try:
            return p.wait(timeout=deadline * SLOW)
        except subprocess.TimeoutExpired:
            self.fail(f'{p.name} still running after {deadline * SLOW:g} s')

    def publish_ffmpeg(self, name, key, media, realtime=True):
        argv = ['ffmpeg', '-nostdin', '-hide_banner', '-v', 'warning']
        if realtime:
            argv.append('-re')
        argv += ['-i', media, '-c', 'copy', '-f', 'flv', self.url(key)]
        return self.spawn(name, argv)

    # -- end --------------------------------------------------------------

    def finish(self, failed):
        for p in self.procs:
            if p.poll() is None:
                stop_proc(p, 5, group=True)
        if self.sup is not None:
            stop_proc(self.sup, 10 * SLOW)
        if self.daemon_pid is not None and pid_alive(self.daemon_pid):
            kill_pid(self.daemon_pid, 10 * SLOW)
        if failed:
            print(f'kept {self.dir}')
            tail = self.log_lines()[-40:]
            if tail:
                print('--- supervisor log tail ---')
                print('\n'.join(tail))
        else:
            shutil.rmtree(self.dir, ignore_errors=True)


def _match(fields, want):
    for k, v in want.items():
        got = fields.get(k)
        if callable(v):
            if got is None or not v(got):
                return False
        elif got != str(v):
            return False
    return True


def _desc(fields):
    return ' '.join(f'{k}={v if not callable(v) else "<pred>"}'
                    for k, v in fields.items())


def stop_proc(p, grace, group=False):
    """SIGTERM, wait up to grace s, then SIGKILL; returns the exit code."""
    if p.poll() is not None:
        return p.returncode
    try:
        if group:
            os.killpg(p.pid, signal.SIGTERM)
        else:
            p.send_signal(signal.SIGTERM)
    except ProcessLookupError:
        pass
    try:
        return p.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        try:
            if group:
                os.killpg(p.pid, signal.SIGKILL)
            else:
                p.kill()
        except ProcessLookupError:
            pass
        return p.wait()


def pid_alive(pid):
    """True while pid exists and is not a zombie."""
    try:
        with open(f'/proc/{pid}/stat') as f:
            return f.read().rsplit(')', 1)[1].split()[0] != 'Z'
    except (OSError, IndexError):
        return False


def kill_pid(pid, grace):
    """SIGTERM a process that is not our child, then SIGKILL after grace
    s; returns once it is gone."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        end = time.monotonic() + grace
        while pid_alive(pid) and time.monotonic() < end:
            time.sleep(0.05)
        if not pid_alive(pid):
            return


def relay_source(t, seconds=10):
    """The start of a relay scenario: the worker binary is there, and the
    source media (make_media) with its ffprobe counts and a publish key:
    (media, counts, key)."""
    if not os.access(os.environ.get('MIRRORING_WORKER', ''), os.X_OK):
        t.fail('$MIRRORING_WORKER is not an executable')
    media = make_media(os.path.join(t.dir, 'src.flv'), seconds)
    return media, probe_counts(media), new_key()


def with_peer(t, name, case):
    """Runs case(t, peer) with a second scenario peer (its own supervisor,
    temp dir and port, e.g. a mirroring used as an RTMP sink), finished
    with t: kept when anything failed."""
    peer = Test(name)
    ok = False
    try:
        case(t, peer)
        ok = not t.failures
    finally:
        peer.finish(not ok)


def run(name, body, tools=('ffmpeg', 'ffprobe')):
    """Runs body(t) as test name; exits 0 pass, 1 fail, 77 skip."""
    try:
        if not MIRRORING or not os.access(MIRRORING, os.X_OK):
            raise Failure('$MIRRORING is not an executable')
        need_tools(*tools)
    except Skip as e:
        print(f'SKIP {name}: {e}')
        sys.exit(SKIP)
    except Failure as e:
        print(f'FAIL {name}: {e}')
        sys.exit(1)
    if SLOW > 1:
        print(f'sanitizer build: deadlines x{SLOW:g}')
    t = Test(name)
    failed, skipped = True, None
    # meson ends a test that overruns its timeout with SIGTERM: still stop
    # the supervisor and the publishers
    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        body(t)
        failed = bool(t.failures)
    except Skip as e:
        failed, skipped = False, e
    except Failure:
        pass
    except Exception:
        traceback.print_exc()
    finally:
        t.finish(failed)
    if skipped is not None:
        print(f'SKIP {name}: {skipped}')
        sys.exit(SKIP)
    print(f'{"FAIL" if failed else "PASS"} {name} ({t.checks} checks, '
          f'{len(t.failures)} failed)')
    sys.exit(1 if failed else 0)


def _on_sigterm(signum, frame):
    print('FAIL terminated by SIGTERM (timeout?)', flush=True)
    raise Failure('terminated by SIGTERM')


# -- a minimal RTMP client for hostile input --------------------------------

def amf_num(x):
    return b'\x00' + struct.pack('>d', x)


def amf_str(s):
    b = s.encode() if isinstance(s, str) else s
    return b'\x02' + struct.pack('>H', len(b)) + b


def amf_null():
    return b'\x05'


def amf_obj(pairs):
    """pairs: [(name, encoded value)]."""
    out = b'\x03'
    for k, v in pairs:
        out += struct.pack('>H', len(k)) + k.encode() + v
    return out + b'\x00\x00\x09'


def chunk_basic(fmt, csid):
    if csid < 64:
        return bytes([fmt << 6 | csid])
    if csid < 320:
        return bytes([fmt << 6, csid - 64])
    return bytes([fmt << 6 | 1]) + struct.pack('<H', csid - 64)


def chunk_msg(csid, mtype, payload, ts=0, stream_id=0, chunk_size=128):
    """One message as a fmt-0 chunk plus fmt-3 continuations."""
    out = chunk_basic(0, csid) + ts.to_bytes(3, 'big') + \
        len(payload).to_bytes(3, 'big') + bytes([mtype]) + \
        struct.pack('<I', stream_id)
    out += payload[:chunk_size]
    for i in range(chunk_size, len(payload), chunk_size):
        out += chunk_basic(3, csid) + payload[i:i + chunk_size]
    return out


def connect_cmd(app='live', tc_url='rtmp://127.0.0.1/live'):
    return amf_str('connect') + amf_num(1) + amf_obj([
        ('app', amf_str(app)), ('type', amf_str('nonprivate')),
        ('flashVer', amf_str('FMLE/3.0 (compatible; test)')),
        ('tcUrl', amf_str(tc_url))])


class RawRtmp:
    """A socket speaking just enough RTMP to misbehave on purpose."""

    def __init__(self, port, timeout=5):
        self.sock = socket.create_connection(('127.0.0.1', port),
                                             timeout=timeout)
        self.addr = '%s:%d' % self.sock.getsockname()

    def send(self, data):
        """Sends; False when the server has already closed."""
        try:
            self.sock.sendall(data)
            return True
        except (BrokenPipeError, ConnectionResetError):
            return False

    def recv_exact(self, n, deadline=5):
        buf = b''
        end = time.monotonic() + deadline * SLOW
        while len(buf) < n:
            self.sock.settimeout(max(0.01, end - time.monotonic()))
            got = self.sock.recv(n - len(buf))
            if not got:
                raise ConnectionError('closed during handshake')
            buf += got
        return buf

    def handshake(self):
        """Simple handshake: C0 C1, read S0 S1 S2, send C2 = S1."""
        c1 = struct.pack('>II', 0, 0) + random.randbytes(1528)
        self.send(b'\x03' + c1)
        s = self.recv_exact(1 + 2 * 1536)
        if s[0] != 3:
            raise ConnectionError(f'S0 version {s[0]}')
        self.send(s[1:1537])

    def wait_closed(self, deadline):
        """True when the server closes (EOF or reset) within deadline s
        (x SLOW); what it sends before (replies) is read and dropped."""
        end = time.monotonic() + deadline * SLOW
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return False
            self.sock.settimeout(left)
            try:
                if not self.sock.recv(65536):
                    return True
            except (ConnectionResetError, BrokenPipeError):
                return True
            except socket.timeout:
                return False

    def close(self):
        self.sock.close()


# -- the publish scenario shared by the publisher tests ----------------------

def new_key(prefix='studio'):
    """A fresh valid key per run, so the raw-key log check means something."""
    return f'{prefix}-{random.randbytes(8).hex()}'


def expect_publish(t, proc, key, counts, stream='studio', since=0,
                   media_s=10, on_live=None, size='640x360'):
    """Follows one publish by proc from publish.started to conn.closed and
    checks the codecs and that publish.stopped's counters equal counts
    (ffprobe's per stream).  on_live(t, started) runs while it is live.
    Returns the publish.stopped fields."""
    started = t.wait_log('publish.started', 10, since=since, stream=stream)
    conn = started['conn']
    t.check_eq(started.get('key'), mask(key), 'publish.started key masked')
    t.check(started.get('client', '').startswith('127.0.0.1:'),
            'publish.started client is 127.0.0.1:PORT',
            started.get('client'))
    codecs = t.wait_log('publish.codecs', 10, since=since, stream=stream)
    width, height = size.split('x')
    for k, v in (('video', 'h264'), ('width', width), ('height', height),
                 ('audio', 'aac'), ('rate', '44100'), ('channels', '2')):
        t.check_eq(codecs.get(k), v, f'publish.codecs {k}', soft=True)
    if on_live is not None:
        on_live(t, started)
    rc = t.wait_exit(proc, media_s + 30)
    t.check_eq(rc, 0, f'{proc.name} exit status')
    stopped = t.wait_log('publish.stopped', 10, since=since, conn=conn)
    t.check_eq(stopped.get('stream'), stream, 'publish.stopped stream')
    check_counts(t, stopped, counts)
    dur = int(stopped.get('duration_ms', '0'))
    t.check(dur >= (media_s - 1) * 1000,
            f'published in real time (duration_ms={dur})')
    closed = t.wait_log('conn.closed', 10, since=since, conn=conn)
    t.check(int(closed.get('bytes_in', '0')) > counts['video'][1],
            f'conn.closed bytes_in={closed.get("bytes_in")} covers the media')
    return stopped


def check_counts(t, stopped, counts):
    for kind in ('video', 'audio'):
        n, size = counts[kind]
        t.check_eq(stopped.get(f'{kind}_frames'), str(n),
                   f'publish.stopped {kind}_frames (ffprobe)')
        t.check_eq(stopped.get(f'{kind}_bytes'), str(size),
                   f'publish.stopped {kind}_bytes (ffprobe)')


def check_history(t, stopped, stream='studio'):
    """The database has one finished history row for the publish, with the
    bytes publish.stopped counted, and the key's last_active_at is set."""
    db = sqlite3.connect(os.path.join(t.state_dir, 'mirroring.db'))
    try:
        rows = db.execute('SELECT started_at, ended_at, client_addr, '
                          'bytes_in, end_reason FROM sessions '
                          'WHERE key_name = ?', (stream,)).fetchall()
        active = db.execute('SELECT last_active_at FROM keys WHERE name = ?',
                            (stream,)).fetchone()
    finally:
        db.close()
    t.check_eq(len(rows), 1, 'one history row for the publish')
    if not rows:
        return
    start, end, client, nbytes, reason = rows[0]
    t.check(end is not None and end >= start, 'history row has an end',
            f'{start}..{end}')
    t.check(client.startswith('127.0.0.1:'), 'history client address', client)
    t.check_eq(str(nbytes), stopped.get('bytes_in'), 'history bytes_in')
    t.check_eq(reason, stopped.get('reason'), 'history end reason')
    t.check(active is not None and active[0] is not None and
            active[0] >= start, 'key last_active_at set', str(active))


def publish_test(name, publisher, tools=('ffmpeg', 'ffprobe'), prepare=None,
                 on_live=None):
    """A whole publisher test: media, supervisor, publish with
    publisher(t, key, media) -> Popen, counters, clean stop, no raw key."""
    def body(t):
        if prepare is not None:
            prepare()
        media = make_media(os.path.join(t.dir, 'src.flv'))
        counts = probe_counts(media)
        print(f'source: video {counts["video"]} audio {counts["audio"]} '
              '(packets, bytes)')
        key = new_key()
        t.write_config({'studio': key})
        t.start()
        p = publisher(t, key, media)
        stopped = expect_publish(t, p, key, counts, on_live=on_live)
        t.check_eq(t.stop(), 0, 'supervisor exit status on SIGTERM')
        t.check_no_secret(key)
        check_history(t, stopped)
    run(name, body, tools)


# -- a raw publisher and the supervisor's memory -----------------------------

def create_stream_cmd(txn=2):
    return amf_str('createStream') + amf_num(txn) + amf_null()


def publish_cmd(key, txn=3):
    return amf_str('publish') + amf_num(txn) + amf_null() + amf_str(key) + \
        amf_str('live')


def connected_client(t, since, chunk_size=None):
    """A raw client past the handshake and connect (sent in chunk_size
    chunks when given); returns (client, conn id)."""
    c = RawRtmp(t.port)
    conn = t.wait_log('conn.accepted', 5, since=since, addr=c.addr)['conn']
    c.handshake()
    if chunk_size is None:
        c.send(chunk_msg(3, 20, connect_cmd()))
    else:
        c.send(chunk_msg(2, 1, struct.pack('>I', chunk_size)) +
               chunk_msg(3, 20, connect_cmd(), chunk_size=chunk_size))
    t.wait_log('session.connect', 5, since=since, conn=conn)
    return c, conn


def expect_closed(t, label, c, conn, since, reason, deadline=5):
    """The server closes c within deadline s (x SLOW), logging conn.closed
    at warn with a reason that mentions reason; returns its fields."""
    closed = c.wait_closed(deadline)
    c.close()
    t.check(closed, f'{label}: server closed the socket', soft=True)
    ev = t.wait_log('conn.closed', 5, since=since, conn=conn)
    why = ev.get('reason', '')
    t.check(reason in why, f'{label}: conn.closed reason mentions '
            f'"{reason}"', why, soft=True)
    t.check_eq(ev.get('level'), 'warn', f'{label}: conn.closed level',
               soft=True)
    return ev


def raw_publish(c, key, app='live'):
    """Sends connect, createStream and publish(key) on stream 1, without
    reading the replies: wait for publish.started in the log."""
    return c.send(chunk_msg(3, 20, connect_cmd(app)) +
                  chunk_msg(3, 20, create_stream_cmd()) +
                  chunk_msg(8, 20, publish_cmd(key), stream_id=1))


def asan_env(quarantine_mb):
    """For a sanitizer build, an env that bounds ASan's quarantine of
    freed memory (256 MiB by default, all of it resident once churned),
    so a test that watches RSS sees ours; None otherwise."""
    if SLOW == 1.0:
        return None
    opts = os.environ.get('ASAN_OPTIONS', '')
    return {'ASAN_OPTIONS': (opts + ':' if opts else '') +
            f'quarantine_size_mb={quarantine_mb}'}


def rss_kib(pid):
    """VmRSS of pid in KiB, or None when it is gone."""
    try:
        with open(f'/proc/{pid}/status') as f:
            for line in f:
                if line.startswith('VmRSS:'):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


# -- relays: status --json, log times, RTMP sinks, packet comparison ---------

def status_stream(t, stream='studio'):
    """The stream's object of `status --json`, or None when not live."""
    import json
    r = t.cli('status', '--json')
    if r.returncode != 0:
        t.fail(f'status --json exit status {r.returncode}: {r.stderr}')
    try:
        doc = json.loads(r.stdout)
    except ValueError:
        t.fail(f'status --json is not JSON: {r.stdout!r}')
    for s in doc.get('streams', []):
        if s.get('name') == stream:
            return s
    return None


def status_relay(s, name):
    """The relay called name in a status --json stream object, or None."""
    for r in (s or {}).get('relays', []) or []:
        if r.get('name') == name:
            return r
    return None


def wait_status(t, pred, deadline, what, stream='studio'):
    """Polls status --json until pred(stream object) holds (deadline s x
    SLOW); returns the stream object."""
    end = time.monotonic() + deadline * SLOW
    while True:
        s = status_stream(t, stream)
        if s is not None and pred(s):
            return s
        if time.monotonic() > end:
            t.fail(f'status --json never showed {what} within '
                   f'{deadline * SLOW:g} s: last {s}')
        time.sleep(0.2)


def log_time(fields):
    """A log line's ts= as seconds since the epoch (float)."""
    import calendar
    ts = fields.get('ts', '')
    try:
        whole, frac = ts.rstrip('Z').split('.')
        tm = time.strptime(whole, '%Y-%m-%dT%H:%M:%S')
        return calendar.timegm(tm) + int(frac) / 1000.0
    except ValueError:
        return None


def tcp_listening(port):
    """True when something listens on 127.0.0.1:port, seen in /proc so
    that ffmpeg -listen's single connection is not used up.  A connection
    it accepted on port counts too: ffmpeg -listen closes its listening
    socket on the first accept, which a reconnecting relay can make within
    one poll of ours."""
    want = f':{port:04X}'
    for name in ('/proc/net/tcp', '/proc/net/tcp6'):
        try:
            with open(name) as f:
                for line in f.readlines()[1:]:
                    cols = line.split()
                    # 0A: listening, 01: established
                    if cols[1].endswith(want) and cols[3] in ('0A', '01'):
                        return True
        except OSError:
            pass
    return False


def wait_listening(t, name, p, port):
    """Waits until process p listens on TCP port; returns p."""
    end = time.monotonic() + 10 * SLOW
    while not tcp_listening(port):
        if p.poll() is not None or time.monotonic() > end:
            t.fail(f'{name} does not listen on {port}: {t.proc_output(p)}')
        time.sleep(0.02)
    return p


def start_rtmp_sink(t, name, port, key, out):
    """`ffmpeg -listen 1` receiving rtmp://127.0.0.1:port/live/key into the
    FLV out; returns once it listens."""
    p = t.spawn(name, ['ffmpeg', '-nostdin', '-hide_banner', '-v', 'warning',
                       '-listen', '1', '-i',
                       f'rtmp://127.0.0.1:{port}/live/{key}', '-c', 'copy',
                       '-f', 'flv', '-y', out])
    return wait_listening(t, name, p, port)


def probe_packet_list(path):
    """[(codec_type, size, md5, keyframe)] of every packet in file order.
    data_hash must be named in -show_entries, or ffprobe leaves it out."""
    import json
    r = subprocess.run(['ffprobe', '-v', 'error', '-show_entries',
                        'packet=codec_type,size,flags,data_hash',
                        '-show_data_hash', 'MD5', '-of', 'json', path],
                       capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise Failure(f'ffprobe {path}: {r.stderr}')
    return [(p['codec_type'], int(p['size']), p.get('data_hash'),
             'K' in p.get('flags', ''))
            for p in json.loads(r.stdout).get('packets', [])]


def flv_concat(out, parts, starts=None):
    """Writes the FLV files parts one after the other as one FLV, each
    part's tags (sequence headers included, onMetaData only from the
    first) shifted to follow the previous part: a stream whose codec
    configuration changes mid-way, as a publisher switching scenes.
    starts[n], when given and not None, is part n's first timestamp
    instead (ms, modulo 2**32: a jump, or a wrap)."""
    data, base, last = bytearray(), 0, 0
    for n, path in enumerate(parts):
        if starts is not None and starts[n] is not None:
            base = starts[n]
        with open(path, 'rb') as f:
            b = f.read()
        if n == 0:
            data += b[:13]          # header + PreviousTagSize0
        off = 13
        while off + 11 <= len(b):
            ttype = b[off]
            size = int.from_bytes(b[off + 1:off + 4], 'big')
            ts = int.from_bytes(b[off + 4:off + 7], 'big') | b[off + 7] << 24
            tag = bytearray(b[off:off + 11 + size + 4])
            off += 11 + size + 4
            if ttype == 18 and n > 0:
                continue
            ts = (ts + base) % 2**32
            last = ts
            tag[4:7] = (ts & 0xffffff).to_bytes(3, 'big')
            tag[7] = ts >> 24 & 0xff
            data += tag
        base = last + 33
    with open(out, 'wb') as f:
        f.write(data)
    return out


def relay_tag_publish(t, key, media, relay, sink):
    """Starts the supervisor, publishes media tag for tag (rtmp_publish,
    librtmp) and follows the relay's worker to its end: one destination
    session, worker and sink gone.  Returns the log mark of the start."""
    if not os.access(RTMP_PUBLISH, os.X_OK):
        t.fail('$RTMP_PUBLISH is not an executable')
    t.start()
    mark = t.mark()
    pub = t.spawn('rtmp_publish', [RTMP_PUBLISH, t.url(key), media])
    t.wait_log('relay.live', 15, since=mark, proc='worker', relay=relay)
    t.check_eq(t.wait_exit(pub, 40), 0, 'rtmp_publish exit status')
    t.wait_log('relay.exited', 30, since=mark, proc='supervisor',
               relay=relay)
    t.check_eq(t.wait_exit(sink, 15), 0, 'sink exit status')
    t.check_eq(len(t.events('relay.live', mark, proc='worker', relay=relay)),
               1, f'relay {relay}: one destination session for the publish')
    return mark


def probe_av(path):
    """ffprobe's streams and format of path, and per track the packets
    (pts s, size, keyframe) in pts order: {'streams': {...}, 'format': {},
    'video': [...], 'audio': [...]}."""
    import json
    r = subprocess.run(['ffprobe', '-v', 'error', '-show_streams',
                        '-show_format', '-show_entries',
                        'packet=codec_type,pts_time,size,flags', '-of',
                        'json', path], capture_output=True, text=True,
                       timeout=120)
    if r.returncode != 0:
        raise Failure(f'ffprobe {path}: {r.stderr}')
    j = json.loads(r.stdout)
    out = {'streams': {s['codec_type']: s for s in j.get('streams', [])},
           'format': j.get('format', {}), 'video': [], 'audio': []}
    for p in j.get('packets', []):
        if p['codec_type'] in ('video', 'audio') and 'pts_time' in p:
            out[p['codec_type']].append((float(p['pts_time']),
                                         int(p['size']),
                                         'K' in p.get('flags', '')))
    for k in ('video', 'audio'):
        out[k].sort()
    return out


def check_relayed(t, what, src, dst, kinds=('video', 'audio')):
    """dst's audio and video packets (or only those of kinds) (size + MD5) are the source's from
    its first video keyframe to its end; packets before that keyframe may
    be there too, but nothing is missing, added or changed."""
    a, b = probe_packet_list(src), probe_packet_list(dst)
    t.check(all(p[2] for p in a + b), f'{what}: ffprobe hashed every packet')
    first_key = next((i for i, p in enumerate(a)
                      if p[0] == 'video' and p[3]), 0)
    for kind in kinds:
        sa = [(s, h) for k, s, h, _ in a if k == kind]
        need = len([1 for k, _, _, _ in a[first_key:] if k == kind])
        sb = [(s, h) for k, s, h, _ in b if k == kind]
        ok = need > 0 and need <= len(sb) <= len(sa) and \
            sa[len(sa) - len(sb):] == sb
        diff = ''
        if not ok:
            tail = sa[len(sa) - min(len(sa), len(sb)):]
            i = next((i for i, (x, y) in enumerate(zip(tail, sb))
                      if x != y), None)
            diff = f'first difference at destination packet {i}'
        t.check(ok, f'{what}: {kind} packets identical to the source '
                f'({len(sb)} of {len(sa)}, {need} from the first keyframe)',
                diff, soft=True)
    vb = [p for p in b if p[0] == 'video']
    t.check(bool(vb) and vb[0][3], f'{what}: the first video packet is a '
            'keyframe', str(vb[:1]), soft=True)


def check_segment(t, what, src, dst, to_end=False):
    """dst (a relay that ran for part of the publish) holds a contiguous
    run of the source's audio and video packets, byte for byte, starting
    with a video keyframe; with to_end, a run that goes on to the source's
    last packet (nothing lost once it joined).  Returns {kind: (index of
    the run in the source's packets of that kind, its length)}."""
    a, b = probe_packet_list(src), probe_packet_list(dst)
    t.check(all(p[2] for p in a + b), f'{what}: ffprobe hashed every packet')
    runs = {}
    for kind in ('video', 'audio'):
        sa = [(s, h) for k, s, h, _ in a if k == kind]
        sb = [(s, h) for k, s, h, _ in b if k == kind]
        at = next((i for i in range(len(sa) - len(sb) + 1)
                   if sa[i:i + len(sb)] == sb), None) if sb else None
        t.check(at is not None, f'{what}: its {len(sb)} {kind} packets are '
                f'a contiguous run of the source\'s {len(sa)}'
                + (f' (from {at})' if at is not None else ''),
                'no match' if sb else 'no packets', soft=True)
        if to_end and at is not None:
            t.check_eq(at + len(sb), len(sa), f'{what}: the {kind} run '
                       'ends with the source\'s last packet', soft=True)
        runs[kind] = (at, len(sb))
    vb = [p for p in b if p[0] == 'video']
    t.check(bool(vb) and vb[0][3], f'{what}: the first video packet is a '
            'keyframe', str(vb[:1]), soft=True)
    return runs


def check_gapped(t, what, src, dst):
    """dst (a relay that dropped to keyframes) holds the source's packets
    in order, byte for byte, with gaps only: each video run after a gap,
    and the first, starts with a keyframe.  Returns (video packets,
    video runs)."""
    a, b = probe_packet_list(src), probe_packet_list(dst)
    t.check(all(p[2] for p in a + b), f'{what}: ffprobe hashed every packet')
    out = {}
    for kind in ('video', 'audio'):
        sa = [p for p in a if p[0] == kind]
        sb = [p for p in b if p[0] == kind]
        i, runs, bad = 0, 0, None
        for n, p in enumerate(sb):
            j = next((j for j in range(i, len(sa)) if sa[j][1:3] == p[1:3]),
                     None)
            if j is None:
                bad = f'packet {n} is not in the source after {i}'
                break
            if j != i or n == 0:
                runs += 1
                if kind == 'video' and not sa[j][3]:
                    bad = f'packet {n} resumes at source {j}, no keyframe'
                    break
            i = j + 1
        t.check(bad is None, f'{what}: its {len(sb)} {kind} packets are '
                f'the source\'s in order, {runs} runs'
                + (' each from a keyframe' if kind == 'video' else ''),
                bad or '', soft=True)
        out[kind] = (len(sb), runs)
    return out['video']


# -- packet hashes, TLS and SRT sinks ------------------------------------------

def make_cert(t):
    """A self-signed certificate for 127.0.0.1 in t.dir: (cert, key)."""
    need_tools('openssl')
    cert = os.path.join(t.dir, 'cert.pem')
    key = os.path.join(t.dir, 'key.pem')
    r = subprocess.run(['openssl', 'req', '-x509', '-newkey', 'rsa:2048',
                        '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
                        '-keyout', key, '-out', cert],
                       capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise Failure(f'openssl req: {r.stderr}')
    return cert, key


_PROXY = r'''
import socket, ssl, sys, threading, time
port, backend, delay, cert, key = int(sys.argv[1]), int(sys.argv[2]), \
    float(sys.argv[3]), sys.argv[4], sys.argv[5]
ctx = None
if cert != '-':
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(('127.0.0.1', port))
ls.listen(4)
print('listening', flush=True)
def pipe(a, b):
    try:
        while True:
            d = a.recv(65536)
            if not d:
                break
            b.sendall(d)
    except OSError as e:
        print(f'pipe: {e}', flush=True)
    for s in (a, b):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
def serve(c, addr):
    if ctx is not None:
        try:
            c = ctx.wrap_socket(c, server_side=True)
        except (OSError, ssl.SSLError) as e:
            print(f'handshake from {addr}: {e}', flush=True)
            c.close()
            return
        print(f'TLS from {addr}: {c.version()} {c.cipher()[0]}', flush=True)
    # what the client sends meanwhile waits in the socket buffers
    time.sleep(delay)
    print(f'forwarding {addr} after {delay:g} s', flush=True)
    bc = socket.create_connection(('127.0.0.1', backend))
    threading.Thread(target=pipe, args=(c, bc), daemon=True).start()
    threading.Thread(target=pipe, args=(bc, c), daemon=True).start()
while True:
    c, addr = ls.accept()
    threading.Thread(target=serve, args=(c, addr), daemon=True).start()
'''


def start_tls_terminator(t, name, port, backend, cert, key):
    """A TLS terminator on 127.0.0.1:port (Python ssl, the certificate
    cert) that forwards each connection in plain text to
    127.0.0.1:backend: ffmpeg 5.1 cannot listen on rtmps:// ("rtmp_listen
    not available for rtmps"), so an RTMPS sink is this in front of an
    `ffmpeg -listen 1` RTMP sink.  Its log says which TLS version a client
    negotiated."""
    p = t.spawn(name, [sys.executable, '-c', _PROXY, str(port),
                       str(backend), '0', cert, key])
    return wait_listening(t, name, p, port)


def start_slow_proxy(t, name, port, backend, delay_s):
    """A TCP proxy on 127.0.0.1:port that accepts at once but connects
    each client to 127.0.0.1:backend only delay_s later: a destination
    whose RTMP handshake takes that long (a far or busy ingest)."""
    p = t.spawn(name, [sys.executable, '-c', _PROXY, str(port),
                       str(backend), str(delay_s), '-', '-'])
    return wait_listening(t, name, p, port)


def udp_bound(port):
    """True when a UDP socket is bound to 127.0.0.1:port (or any)."""
    want = f':{port:04X}'
    for name in ('/proc/net/udp', '/proc/net/udp6'):
        try:
            with open(name) as f:
                for line in f.readlines()[1:]:
                    if line.split()[1].endswith(want):
                        return True
        except OSError:
            pass
    return False


def start_srt_sink(t, name, port, out):
    """`ffmpeg -i srt://127.0.0.1:port?mode=listener` copying into the
    MPEG-TS out; returns once its UDP socket is bound."""
    p = t.spawn(name, ['ffmpeg', '-nostdin', '-hide_banner', '-v', 'warning',
                       '-i', f'srt://127.0.0.1:{port}?mode=listener',
                       '-c', 'copy', '-f', 'mpegts', '-y', out])
    end = time.monotonic() + 10 * SLOW
    while not udp_bound(port):
        if p.poll() is not None or time.monotonic() > end:
            t.fail(f'{name} does not listen on {port}: {t.proc_output(p)}')
        time.sleep(0.02)
    return p


def as_mpegts(src, out):
    """src remuxed by ffmpeg (-c copy) into MPEG-TS: the same libavformat
    muxer as a relay's SRT session, so AAC gets the same ADTS headers and
    H.264 the same Annex B form (h264_mp4toannexb, AUDs, SPS/PPS before
    keyframes) and the packets can be compared byte for byte."""
    r = subprocess.run(['ffmpeg', '-nostdin', '-v', 'error', '-y', '-i', src,
                        '-c', 'copy', '-f', 'mpegts', out],
                       capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise Failure(f'ffmpeg -f mpegts {src}: {r.stderr}')
    return out


def relay_log(t, relay, since=0):
    """Every log line (supervisor's and workers') about relay."""
    return [l for l in t.log_lines()[since:]
            if parse_logfmt(l).get('relay') == relay]


def gst_publish_test(name, sink):
    """publish_test with GStreamer: the source FLV through flvdemux !
    flvmux (which pass each coded frame unchanged) into sink, paced in
    real time by the sink's clock sync."""
    def publisher(t, key, media):
        # flvmux's pads are named: gst-launch cannot link a bare "m." to
        # the second queue ("could not link queue1 to m").
        return t.spawn('gst', [
            'gst-launch-1.0', '-q', 'filesrc', f'location={media}', '!',
            'flvdemux', 'name=d',
            'd.video', '!', 'queue', '!', 'm.video',
            'd.audio', '!', 'queue', '!', 'm.audio',
            'flvmux', 'name=m', 'streamable=true', '!',
            sink, f'location={t.url(key)}', 'sync=true'])
    publish_test(name, publisher, prepare=lambda: need_gst_element(sink))


# -- operations: counting proxy, HTTP, Prometheus text ----------------------

class CountingProxy:
    """A TCP proxy on 127.0.0.1:port in front of 127.0.0.1:backend (in
    this process, on threads) counting the bytes each way, so a test
    knows what a sink really received."""

    def __init__(self, port, backend):
        import threading
        self.up = 0                 # client -> backend
        self.down = 0
        self.lock = threading.Lock()
        self.ls = socket.socket()
        self.ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.ls.bind(('127.0.0.1', port))
        self.ls.listen(4)
        self.backend = backend
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        import threading
        while True:
            try:
                c, _ = self.ls.accept()
            except OSError:
                return
            try:
                b = socket.create_connection(('127.0.0.1', self.backend))
            except OSError:
                c.close()
                continue
            threading.Thread(target=self._pipe, args=(c, b, True),
                             daemon=True).start()
            threading.Thread(target=self._pipe, args=(b, c, False),
                             daemon=True).start()

    def _pipe(self, a, b, up):
        try:
            while True:
                d = a.recv(65536)
                if not d:
                    break
                with self.lock:
                    if up:
                        self.up += len(d)
                    else:
                        self.down += len(d)
                b.sendall(d)
        except OSError:
            pass
        for x in (a, b):
            try:
                x.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def sent(self):
        with self.lock:
            return self.up

    def close(self):
        self.ls.close()


def http_get(port, path, token=None, timeout=5):
    """(status, headers, body bytes) of GET http://127.0.0.1:port/path."""
    import http.client
    c = http.client.HTTPConnection('127.0.0.1', port, timeout=timeout * SLOW)
    try:
        hdrs = {'Authorization': f'Bearer {token}'} if token else {}
        c.request('GET', path, headers=hdrs)
        r = c.getresponse()
        return r.status, dict(r.getheaders()), r.read()
    finally:
        c.close()


def parse_prometheus(text):
    """Parses the Prometheus text exposition format (0.0.4) strictly and
    returns {family: {'type': t, 'help': h, 'samples': [(name, {label:
    value}, float)]}}; raises ValueError naming the first bad line.
    Checked: the text ends in a newline and has no blank lines; HELP and
    TYPE at most once per family and TYPE before its samples; metric and
    label names; label values with only \\\\, \\" and \\n escapes;
    float values (Go ParseFloat forms, NaN, +Inf, -Inf) and optional
    integer timestamps; every sample belongs to a family with a TYPE;
    families are contiguous; no series twice; counters are >= 0."""
    import re
    name_re = re.compile(r'[a-zA-Z_:][a-zA-Z0-9_:]*')
    label_re = re.compile(r'[a-zA-Z_][a-zA-Z0-9_]*')
    float_re = re.compile(r'[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$|'
                          r'[+-]?Inf$|NaN$')
    types = ('counter', 'gauge', 'histogram', 'summary', 'untyped')
    if not text.endswith('\n'):
        raise ValueError('the text does not end with a newline')
    fams, done, series, cur = {}, set(), set(), None

    def family_of(name):
        if name in fams:
            return name
        for suf in ('_total', '_bucket', '_sum', '_count'):
            if name.endswith(suf) and name[:-len(suf)] in fams:
                return name[:-len(suf)]
        return None

    for no, line in enumerate(text[:-1].split('\n'), 1):
        where = f'line {no}: {line!r}'
        if line == '':
            raise ValueError(f'{where}: blank line')
        if line.startswith('#'):
            parts = line.split(' ', 3)
            if len(parts) >= 3 and parts[1] in ('HELP', 'TYPE'):
                name = parts[2]
                if not name_re.fullmatch(name):
                    raise ValueError(f'{where}: bad metric name')
                f = fams.setdefault(name, {'type': None, 'help': None,
                                           'samples': []})
                key = parts[1].lower()
                if f[key] is not None:
                    raise ValueError(f'{where}: second {parts[1]}')
                if name in done:
                    raise ValueError(f'{where}: family not contiguous')
                if key == 'type':
                    if len(parts) != 4 or parts[3] not in types:
                        raise ValueError(f'{where}: bad type')
                    if f['samples']:
                        raise ValueError(f'{where}: TYPE after samples')
                    f['type'] = parts[3]
                else:
                    f['help'] = parts[3] if len(parts) == 4 else ''
                if cur is not None and cur != name:
                    done.add(cur)
                cur = name
            continue
        m = name_re.match(line)
        if not m:
            raise ValueError(f'{where}: bad metric name')
        name, i, labels = m.group(0), m.end(), {}
        if i < len(line) and line[i] == '{':
            i += 1
            while line[i] != '}':
                lm = label_re.match(line, i)
                if not lm or line[lm.end():lm.end() + 2] != '="':
                    raise ValueError(f'{where}: bad label at {i}')
                lname, i, val = lm.group(0), lm.end() + 2, []
                while line[i] != '"':
                    if line[i] == '\\':
                        esc = line[i + 1]
                        if esc not in '\\"n':
                            raise ValueError(f'{where}: bad escape')
                        val.append('\n' if esc == 'n' else esc)
                        i += 2
                    elif line[i] == '\n':
                        raise ValueError(f'{where}: newline in a value')
                    else:
                        val.append(line[i])
                        i += 1
                i += 1
                if lname in labels:
                    raise ValueError(f'{where}: label {lname} twice')
                labels[lname] = ''.join(val)
                if line[i] == ',':
                    i += 1
                elif line[i] != '}':
                    raise ValueError(f'{where}: expected , or }}')
            i += 1
        rest = line[i:]
        if not rest.startswith(' '):
            raise ValueError(f'{where}: no space before the value')
        fields = rest[1:].split(' ')
        if len(fields) not in (1, 2) or not float_re.match(fields[0]):
            raise ValueError(f'{where}: bad value')
        if len(fields) == 2 and not re.fullmatch(r'-?\d+', fields[1]):
            raise ValueError(f'{where}: bad timestamp')
        fam = family_of(name)
        if fam is None or fams[fam]['type'] is None:
            raise ValueError(f'{where}: no TYPE for {name}')
        if fam != cur:
            raise ValueError(f'{where}: outside its family {fam}')
        key = (name, tuple(sorted(labels.items())))
        if key in series:
            raise ValueError(f'{where}: series twice')
        series.add(key)
        value = float(fields[0])
        if fams[fam]['type'] == 'counter' and not value >= 0:
            raise ValueError(f'{where}: negative counter')
        fams[fam]['samples'].append((name, labels, value))
    return fams


def metric(fams, name, **labels):
    """The value of the one sample of name with (at least) labels, or
    None."""
    for fam in fams.values():
        for n, ls, v in fam['samples']:
            if n == name and all(ls.get(k) == str(x)
                                 for k, x in labels.items()):
                return v
    return None
