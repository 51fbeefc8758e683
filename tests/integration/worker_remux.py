"""mirroring-worker alone, driven over its fd-3 socketpair by this script
acting as the supervisor (HELLO, CONFIG, MEDIA paced from an FLV file,
EOS), against (a) a real RTMP sink, (b) a file: URL with a strftime
pattern, (c) an RTMP sink that is down at first.  (a) and (b) must be
packet-exact (per-stream size + MD5 of every packet, by ffprobe).  Also:
STATUS at least once a second, exit 0 after EOS, exit 1 within 2 s when
the socket closes during a hung connect, exit 78 on an unknown profile,
and (f) error_class refused when our supervisor rejects the key.
"""

import glob
import json
import os
import socket
import struct
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import SLOW, free_port, make_media  # noqa: E402

WORKER = os.environ.get('MIRRORING_WORKER', '')

HELLO, CONFIG, MEDIA, EOS, STATUS = 1, 2, 3, 4, 5
IPC_VERSION = 3
ST_STARTING, ST_CONNECTING, ST_LIVE, ST_BACKOFF, ST_STOPPED = range(5)
ERR_NONE, ERR_NETWORK, ERR_REFUSED, ERR_CONFIG = range(4)
F_KEYFRAME, F_SEQHDR = 0x01, 0x02


def wstr(s):
    b = s.encode()
    return struct.pack('<H', len(b)) + b


def profile_settings(vcodec, acodec):
    """A profile's settings in CONFIG (common/ipc_msg.h): a track whose
    codec is None is copied; the rest are defaults."""
    def track(codec, nums, nstr):
        return (bytes([codec is None]) + wstr(codec or '') +
                b'\0' * (4 * nums) + wstr('') * nstr)
    return track(vcodec, 9, 5) + track(acodec, 3, 0)


def msg(mtype, payload=b''):
    return struct.pack('<HHII', mtype, 0, len(payload), 0) + payload


def flv_tags(path):
    """[(type, flags, ts_ms, body)] of an FLV file."""
    with open(path, 'rb') as f:
        data = f.read()
    off = struct.unpack('>I', data[5:9])[0] + 4
    tags = []
    while off + 11 <= len(data):
        ttype = data[off] & 0x1f
        size = int.from_bytes(data[off + 1:off + 4], 'big')
        ts = int.from_bytes(data[off + 4:off + 7], 'big') | \
            (data[off + 7] << 24)
        body = data[off + 11:off + 11 + size]
        off += 11 + size + 4
        flags = 0
        if ttype == 9 and body:
            if body[0] >> 4 == 1:
                flags |= F_KEYFRAME
            if (body[0] & 0x0f) == 7 and len(body) > 1 and body[1] == 0:
                flags |= F_SEQHDR
        elif ttype == 8 and len(body) > 1:
            if body[0] >> 4 == 10 and body[1] == 0:
                flags |= F_SEQHDR
        tags.append((ttype, flags, ts, body))
    return tags


class Worker:
    """One mirroring-worker with this object as its supervisor."""

    def __init__(self, t, name, url, profile='copy', backoff=(200, 1000),
                 connect_timeout_ms=3000, io_timeout_ms=3000, vcodec=None,
                 on_loss=0, grace_ms=0, slate_image='', slate_audio='',
                 acodec=None, binary=None):
        self.t, self.name = t, name
        self.sock, child = socket.socketpair()
        cfd = child.fileno()
        self.log_path = os.path.join(t.dir, name + '.log')
        log = open(self.log_path, 'wb')

        def to_fd3():
            if cfd == 3:
                os.set_inheritable(3, True)
            else:
                os.dup2(cfd, 3)       # the copy is inheritable

        # close_fds=False: Python's own fds are close-on-exec anyway, and
        # closing would happen after preexec_fn and take fd 3 with it
        self.proc = subprocess.Popen([binary or WORKER],
                                     stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                     close_fds=False, preexec_fn=to_fd3,
                                     start_new_session=True)
        self.proc.name = name
        t.procs.append(self.proc)
        child.close()
        log.close()
        self.statuses = []          # (monotonic time, dict)
        self.hello = None
        self.lock = threading.Lock()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self.sock.sendall(msg(HELLO, struct.pack('<I', IPC_VERSION) +
                              wstr('supervisor')))
        prof = profile_settings(vcodec, acodec)
        cfg = (wstr('studio') + wstr(name) + wstr(url) + wstr(profile) +
               struct.pack('<IIIIBB', connect_timeout_ms, io_timeout_ms,
                           backoff[0], backoff[1], 1, 0) + prof +
               struct.pack('<BI', on_loss, grace_ms) + wstr(slate_image) +
               wstr(slate_audio))
        self.sock.sendall(msg(CONFIG, cfg))

    def _recv(self, n):
        buf = b''
        while len(buf) < n:
            try:
                b = self.sock.recv(n - len(buf))
            except OSError:
                return None
            if not b:
                return None
            buf += b
        return buf

    def _read(self):
        while True:
            h = self._recv(12)
            if h is None:
                return
            mtype, _, n, _ = struct.unpack('<HHII', h)
            p = self._recv(n) if n else b''
            if p is None:
                return
            if mtype == HELLO:
                self.hello = p
            elif mtype == STATUS:
                f = struct.unpack('<BQIIQQIIB', p[:42])
                elen = struct.unpack('<H', p[42:44])[0]
                st = dict(zip(('state', 'bytes_out', 'kbps', 'fps_x100',
                               'packets_out', 'packets_dropped',
                               'reconnects', 'state_ms', 'error_class'), f))
                st['last_error'] = p[44:44 + elen].decode('utf-8', 'replace')
                with self.lock:
                    self.statuses.append((time.monotonic(), st))

    def send_tags(self, tags, speed, stop=None):
        start = time.monotonic()
        for ttype, flags, ts, body in tags:
            if stop is not None and stop.is_set():
                return
            due = start + ts / 1000.0 / speed
            now = time.monotonic()
            if due > now:
                time.sleep(due - now)
            self.sock.sendall(msg(MEDIA, struct.pack('<BBI', ttype, flags,
                                                     ts) + body))

    def eos(self):
        self.sock.sendall(msg(EOS))

    def status_list(self):
        with self.lock:
            return list(self.statuses)

    def wait_status(self, pred, deadline, what):
        end = time.monotonic() + deadline * SLOW
        while time.monotonic() < end:
            for _, st in self.status_list():
                if pred(st):
                    return st
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        last = self.status_list()[-1:] or None
        self.t.fail(f'{self.name}: no STATUS {what} within '
                    f'{deadline * SLOW:g} s (last {last}, exit '
                    f'{self.proc.poll()})')

    def log(self):
        with open(self.log_path, 'rb') as f:
            return f.read().decode('utf-8', 'replace')


def probe_packets(path):
    """{codec_type: [(size, md5, keyframe)]} of every packet, by ffprobe."""
    out = {}
    for kind, size, md5, key in harness.probe_packet_list(path):
        out.setdefault(kind, []).append((size, md5, key))
    return out


def start_sink(t, name, port, out):
    p = t.spawn(name, ['ffmpeg', '-nostdin', '-hide_banner', '-v', 'warning',
                       '-listen', '1', '-i',
                       f'rtmp://127.0.0.1:{port}/live/sinkkey', '-c', 'copy',
                       '-f', 'flv', '-y', out])
    end = time.monotonic() + 10 * SLOW
    while not harness.tcp_listening(port):
        if p.poll() is not None or time.monotonic() > end:
            t.fail(f'{name} does not listen on {port}: {t.proc_output(p)}')
        time.sleep(0.02)
    return p


def check_exact(t, what, src, dst):
    a, b = probe_packets(src), probe_packets(dst)
    for kind in ('video', 'audio'):
        sa = [(s, h) for s, h, _ in a.get(kind, [])]
        sb = [(s, h) for s, h, _ in b.get(kind, [])]
        t.check(all(h for _, h in sa + sb), f'{what}: ffprobe hashed '
                f'every {kind} packet')
        t.check(len(sa) > 0 and sa == sb,
                f'{what}: {kind} packets identical ({len(sb)} of '
                f'{len(sa)})', f'first difference at '
                f'{next((i for i, (x, y) in enumerate(zip(sa, sb)) if x != y), min(len(sa), len(sb)))}',
                soft=True)


def check_status_rate(t, w, what):
    live = [ts for ts, st in w.status_list() if st['state'] == ST_LIVE]
    gaps = [b - a for a, b in zip(live, live[1:])]
    t.check(len(live) >= 2 and max(gaps) <= 1.5 * SLOW,
            f'{what}: STATUS at least once a second while live',
            f'{len(live)} live STATUS, largest gap '
            f'{max(gaps) if gaps else None}', soft=True)


def check_worker_log(t, w, what):
    log = w.log()
    t.check('sinkkey' not in log, f'{what}: the stream key is masked in '
            'the worker log', soft=True)
    t.check('event=relay.live' in log and 'event=relay.stopped' in log,
            f'{what}: relay.live and relay.stopped logged', soft=True)


def case_rtmp(t, media, tags, binary=None):
    port = free_port()
    out = os.path.join(t.dir, 'sink_a.flv')
    sink = start_sink(t, 'sink_a', port, out)
    w = Worker(t, 'worker_a', f'rtmp://127.0.0.1:{port}/live/sinkkey',
               binary=binary)
    w.send_tags(tags, 4.0)
    w.wait_status(lambda s: s['state'] == ST_LIVE, 5, 'live')
    w.eos()
    t.check_eq(t.wait_exit(w.proc, 15), 0, '(a) worker exit code after EOS')
    t.check_eq(t.wait_exit(sink, 15), 0, '(a) sink exit code')
    st = w.status_list()[-1][1]
    t.check(st['state'] == ST_STOPPED and st['packets_out'] > 0 and
            st['bytes_out'] > 0, '(a) last STATUS is stopped with '
            'packets and bytes', str(st), soft=True)
    t.check(w.hello is not None and w.hello[4:] == b'\x06\x00worker',
            '(a) worker said HELLO', soft=True)
    check_exact(t, '(a) rtmp', media, out)
    check_status_rate(t, w, '(a)')
    check_worker_log(t, w, '(a)')


def case_file(t, media, tags):
    pattern = os.path.join(t.dir, 'rec-%Y%m%d-%H%M%S.mkv')
    w = Worker(t, 'worker_b', 'file:' + pattern)
    w.send_tags(tags, 8.0)
    w.eos()
    t.check_eq(t.wait_exit(w.proc, 15), 0, '(b) worker exit code after EOS')
    files = glob.glob(os.path.join(t.dir, 'rec-*.mkv'))
    t.check(len(files) == 1 and '%' not in files[0],
            '(b) one recording named by strftime', str(files))
    check_exact(t, '(b) file', media, files[0])


def case_down_first(t, media, tags, binary=None):
    port = free_port()
    out = os.path.join(t.dir, 'sink_c.flv')
    w = Worker(t, 'worker_c', f'rtmp://127.0.0.1:{port}/live/sinkkey',
               backoff=(200, 800), binary=binary)
    stop = threading.Event()
    sender = threading.Thread(target=w.send_tags, args=(tags, 1.0, stop),
                              daemon=True)
    sender.start()
    try:
        w.wait_status(lambda s: s['state'] == ST_BACKOFF and
                      s['reconnects'] >= 3, 10, 'backoff, reconnects >= 3')
        seen = {st['state'] for _, st in w.status_list()}
        t.check({ST_CONNECTING, ST_BACKOFF} <= seen,
                '(c) STATUS says connecting and backoff', str(seen))
        recs = [st['reconnects'] for _, st in w.status_list()
                if st['state'] == ST_BACKOFF]
        t.check(recs == sorted(recs) and len(set(recs)) >= 3,
                '(c) reconnects increase', str(recs))
        errs = {st['error_class'] for _, st in w.status_list()
                if st['state'] == ST_BACKOFF}
        t.check_eq(errs, {ERR_NETWORK}, '(c) error_class while down')
        sink = start_sink(t, 'sink_c', port, out)
        live = w.wait_status(lambda s: s['state'] == ST_LIVE, 5, 'live')
        t.check(live['error_class'] == ERR_NONE, '(c) live clears '
                'error_class', str(live), soft=True)
        sender.join(timeout=30)
    finally:
        stop.set()
    w.eos()
    t.check_eq(t.wait_exit(w.proc, 15), 0, '(c) worker exit code after EOS')
    t.check_eq(t.wait_exit(sink, 15), 0, '(c) sink exit code')
    got = probe_packets(out)
    video = got.get('video', [])
    t.check(len(video) > 30 and video[0][2],
            '(c) the sink got video starting with a keyframe',
            f'{len(video)} packets, first key {video[:1]}')
    t.check(len(got.get('audio', [])) > 30, '(c) the sink got audio')
    st = w.status_list()[-1][1]
    t.check(st['packets_dropped'] > 0, '(c) drops counted while down',
            str(st), soft=True)
    check_status_rate(t, w, '(c)')


def case_eof(t, tags, binary=None):
    # a TCP peer that accepts and never answers the RTMP handshake
    hang = socket.socket()
    hang.bind(('127.0.0.1', 0))
    hang.listen(1)
    port = hang.getsockname()[1]
    w = Worker(t, 'worker_d', f'rtmp://127.0.0.1:{port}/live/sinkkey',
               connect_timeout_ms=60000, binary=binary)
    w.send_tags(tags[:20], 100.0)
    w.wait_status(lambda s: s['state'] == ST_CONNECTING, 5, 'connecting')
    time.sleep(0.3)
    closed = time.monotonic()
    w.sock.shutdown(socket.SHUT_RDWR)
    w.sock.close()
    rc = t.wait_exit(w.proc, 5)
    took = time.monotonic() - closed
    t.check_eq(rc, 1, '(d) worker exit code when the socket closes')
    t.check(took < 2.0 * SLOW, '(d) worker exits within 2 s of EOF',
            f'{took:.2f} s')
    hang.close()


def case_bad_profile(t):
    w = Worker(t, 'worker_e', 'rtmp://127.0.0.1:1/live/sinkkey',
               profile='720p30', vcodec='libnothing')
    t.check_eq(t.wait_exit(w.proc, 5), 78, '(e) an unknown encoder exits 78')
    w.reader.join(timeout=5)
    st = w.status_list()[-1:]
    t.check(st and st[0][1]['error_class'] == ERR_CONFIG,
            '(e) STATUS says config error', str(st), soft=True)


def case_refused(t, tags, binary=None):
    # our own supervisor answers an unknown key with an onStatus error
    t.write_config({'studio': harness.new_key()})
    t.start()
    w = Worker(t, 'worker_f', t.url(harness.new_key()), backoff=(100, 300),
               binary=binary)
    stop = threading.Event()
    sender = threading.Thread(target=w.send_tags, args=(tags, 4.0, stop),
                              daemon=True)
    sender.start()
    try:
        st = w.wait_status(lambda s: s['state'] == ST_BACKOFF and
                           s['reconnects'] >= 2, 10, 'backoff, refused')
    finally:
        stop.set()
        sender.join(timeout=10)
    t.check_eq(st['error_class'], ERR_REFUSED,
               '(f) a refused publish is error_class refused')
    t.check('unknown stream key' in st['last_error'],
            '(f) last_error carries the server\'s reason',
            st['last_error'], soft=True)
    w.eos()
    t.check_eq(t.wait_exit(w.proc, 10), 0, '(f) worker exit code after EOS')


def body(t):
    if not WORKER or not os.access(WORKER, os.X_OK):
        t.fail('$MIRRORING_WORKER is not an executable')
    media = make_media(os.path.join(t.dir, 'source.flv'))
    tags = flv_tags(media)
    t.check(len(tags) > 500, 'source tags read', str(len(tags)))
    case_rtmp(t, media, tags)
    case_file(t, media, tags)
    case_down_first(t, media, tags)
    case_eof(t, tags)
    case_bad_profile(t)
    case_refused(t, tags)


if __name__ == '__main__':
    harness.run('worker_remux', body)
