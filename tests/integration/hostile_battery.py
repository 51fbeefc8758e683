#!/usr/bin/env python3
"""The rest of the hostile-client battery (malformed.py and
hostile_clients.py have the others), run while a valid ffmpeg publisher
streams on 'studio' with a file relay: a slowloris handshake, chunk size
1, extended-timestamp abuse, an unknown AMF0 marker, publish before
connect, media before publish, wrong, disabled and already-live keys, a
createStream flood, 300 idle connections from ten addresses, and random
bytes after an accepted publish.  Each misbehaving connection is closed
(or refused) with its reason and costs nothing else: the valid publish is
counted exactly and its relay's recording is packet-identical."""

import os
import random
import socket
import struct
import threading
import time

import harness
from harness import (RawRtmp, SLOW, amf_num, amf_str, chunk_basic,
                     chunk_msg, create_stream_cmd, publish_cmd)

MEDIA_S = 40
CLOSE_S = 5
HANDSHAKE_S = 10        # SESSION_HANDSHAKE_S
MAX_CONNS = 256         # the server's total connection limit
IDLE_ADDRS = 10
IDLE_PER_ADDR = 30      # under the 32 per address, 300 in all


class Slowloris(threading.Thread):
    """C0 and then C1 one byte every 0.5 s, never finishing."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.c = RawRtmp(port)
        self.closed_after = None
        self.start_time = time.monotonic()

    def run(self):
        data = b'\x03' + bytes(1536)
        for b in data:
            if not self.c.send(bytes([b])):
                break
            self.c.sock.settimeout(0.5)
            try:
                if not self.c.sock.recv(4096):
                    break
            except socket.timeout:
                continue
            except OSError:
                break
        self.closed_after = time.monotonic() - self.start_time
        self.c.close()


def ext_ts_abuse():
    # fmt 0 with the 0xFFFFFF marker and an extended timestamp, a 300-byte
    # message in 128-byte chunks whose fmt-3 continuations carry other
    # extended timestamps, then a second message with ts going backwards
    payload = random.randbytes(300)
    out = chunk_basic(0, 6) + b'\xff\xff\xff' + (300).to_bytes(3, 'big') + \
        b'\x09' + struct.pack('<I', 1) + struct.pack('>I', 0xfffffff0) + \
        payload[:128]
    for i, ts in ((128, 0x7fffffff), (256, 0)):
        out += chunk_basic(3, 6) + struct.pack('>I', ts) + \
            payload[i:i + 128]
    out += chunk_msg(6, 9, b'\x27\x01' + bytes(30), ts=1, stream_id=1)
    return out


def unknown_marker():
    # connect's command object holds a value with marker 0x42
    cmd = amf_str('connect') + amf_num(1) + b'\x03' + \
        struct.pack('>H', 3) + b'app' + b'\x42' + bytes(8) + b'\x00\x00\x09'
    return chunk_msg(3, 20, cmd)


def raw_refused(t, label, key, reason):
    since = t.mark()
    c, conn = harness.connected_client(t, since)
    c.send(chunk_msg(3, 20, create_stream_cmd()) +
           chunk_msg(8, 20, publish_cmd(key), stream_id=1))
    ev = t.wait_log('publish.rejected', 5, since=since, conn=conn)
    t.check_eq(ev.get('reason'), reason, f'{label}: publish.rejected reason',
               soft=True)
    closed = c.wait_closed(CLOSE_S)
    c.close()
    t.check(closed, f'{label}: the connection is closed', soft=True)


def idle_flood(t):
    """300 connections that never say a word, 30 from each of ten
    addresses: the server takes at most its limit, refuses the rest with
    a reason, and takes a new client once they are gone."""
    since = t.mark()
    socks = []
    for a in range(IDLE_ADDRS):
        for _ in range(IDLE_PER_ADDR):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((f'127.0.0.{a + 2}', 0))
            s.settimeout(5)
            try:
                s.connect(('127.0.0.1', t.port))
            except OSError:
                s.close()
                continue
            socks.append(s)
    # the valid publisher holds one of the server's places
    want_closed = len(socks) - (MAX_CONNS - 1)
    deadline = time.monotonic() + 5 * SLOW
    open_socks = list(socks)
    while time.monotonic() < deadline and \
            len(socks) - len(open_socks) < want_closed:
        still = []
        for s in open_socks:
            s.settimeout(0.001)
            try:
                if s.recv(1) == b'':
                    continue
            except socket.timeout:
                pass
            except OSError:
                continue
            still.append(s)
        open_socks = still
        time.sleep(0.2)
    n_open = len(open_socks)
    t.check(n_open <= MAX_CONNS - 1, f'idle flood: at most {MAX_CONNS} '
            f'connections in all ({n_open} of {len(socks)} idle ones kept)')
    refused = t.events('conn.refused', since)
    reasons = {e.get('reason') for e in refused}
    t.check('too-many-connections' in reasons, 'idle flood: conn.refused '
            'reason=too-many-connections logged', str(reasons))
    for s in socks:
        s.close()
    # the server frees them; a new client gets in again
    end = time.monotonic() + 10 * SLOW
    ok = False
    while time.monotonic() < end and not ok:
        since = t.mark()
        try:
            c, conn = harness.connected_client(t, since)
            c.close()
            ok = True
        except (harness.Failure, OSError):
            time.sleep(0.5)
    t.check(ok, 'idle flood: a new client connects once the idle ones '
            'are gone')


def random_after_publish(t, key):
    since = t.mark()
    c, conn = harness.connected_client(t, since)
    c.send(chunk_msg(3, 20, create_stream_cmd()) +
           chunk_msg(8, 20, publish_cmd(key), stream_id=1))
    t.wait_log('publish.started', 5, since=since, conn=conn)
    rnd = random.Random(7)
    c.send(bytes(rnd.getrandbits(8) for _ in range(65536)))
    closed = c.wait_closed(CLOSE_S)
    c.close()
    t.check(closed, 'random bytes after a publish: server closed the socket')
    ev = t.wait_log('conn.closed', 5, since=since, conn=conn)
    t.check(ev.get('level') == 'warn' and
            ev.get('reason') not in (None, '', 'closed by peer'),
            'random bytes after a publish: closed for a protocol error, '
            'at warn', f'level={ev.get("level")} reason={ev.get("reason")}')
    st = t.wait_log('publish.stopped', 5, since=since, conn=conn)
    t.check_eq(st.get('stream'), 'spare', 'random bytes after a publish: '
               'only its own stream stopped')


def body(t):
    if not os.access(os.environ.get('MIRRORING_WORKER', ''), os.X_OK):
        t.fail('$MIRRORING_WORKER is not an executable')
    media = harness.make_media(os.path.join(t.dir, 'src.flv'), MEDIA_S)
    counts = harness.probe_counts(media)
    key, spare, off = (harness.new_key(), harness.new_key('spare'),
                       harness.new_key('off'))
    rec = os.path.join(t.dir, 'rec.mkv')
    t.write_config({'studio': f'''key: {key}
relays:
  rec: {{ url: "file:{rec}" }}''', 'spare': spare,
                    'off': f'key: {off}\nenabled: false'})
    t.start()
    since = t.mark()
    pub = t.publish_ffmpeg('ffmpeg', key, media)
    t.wait_log('publish.started', 10, since=since, stream='studio')
    t.wait_log('relay.state', 10, since=since, proc='supervisor',
               relay='rec', state='live')

    slow = Slowloris(t.port)
    slow.start()

    def check_valid(label):
        t.check(t.sup.poll() is None and pub.poll() is None,
                f'after {label}: the supervisor runs and the valid '
                'publisher is still streaming', soft=True)

    s = t.mark()
    c, conn = harness.connected_client(t, s, chunk_size=1)
    t.check(not t.events('conn.closed', s, conn=conn),
            'chunk size 1: connect in 1-byte chunks accepted')
    c.close()
    check_valid('chunk size 1')

    s = t.mark()
    c, conn = harness.connected_client(t, s)
    c.send(ext_ts_abuse())
    time.sleep(0.5)
    c.close()
    ev = t.wait_log('conn.closed', 5, since=s, conn=conn)
    print(f'extended-timestamp abuse: conn.closed reason={ev.get("reason")}')
    check_valid('extended-timestamp abuse')

    s = t.mark()
    c = RawRtmp(t.port)
    conn = t.wait_log('conn.accepted', 5, since=s, addr=c.addr)['conn']
    c.handshake()
    c.send(unknown_marker())
    harness.expect_closed(t, 'unknown AMF0 marker', c, conn, s, 'marker')
    check_valid('unknown AMF0 marker')

    s = t.mark()
    c = RawRtmp(t.port)
    conn = t.wait_log('conn.accepted', 5, since=s, addr=c.addr)['conn']
    c.handshake()
    c.send(chunk_msg(3, 20, create_stream_cmd()) +
           chunk_msg(8, 20, publish_cmd(spare), stream_id=1))
    harness.expect_closed(t, 'publish before connect', c, conn, s,
                  'publish before connect')
    check_valid('publish before connect')

    s = t.mark()
    c, conn = harness.connected_client(t, s)
    c.send(chunk_msg(3, 20, create_stream_cmd()) +
           b''.join(chunk_msg(6, 9, b'\x17\x01' + bytes(200), ts=i * 33,
                              stream_id=1) for i in range(30)))
    t.wait_log('session.media_dropped', 5, since=s, conn=conn)
    t.check(not t.events('publish.started', s, conn=conn),
            'media before publish: dropped, no publish for it')
    c.close()
    check_valid('media before publish')

    raw_refused(t, 'wrong key', 'nosuchkey-0123456789', 'unknown-key')
    raw_refused(t, 'disabled key', off, 'key-disabled')
    raw_refused(t, 'second publisher on a live key', key, 'already-live')
    check_valid('refused publishes')

    s = t.mark()
    c, conn = harness.connected_client(t, s)
    c.send(b''.join(chunk_msg(3, 20, create_stream_cmd(i + 2))
                    for i in range(200)))
    harness.expect_closed(t, 'createStream flood', c, conn, s, 'createStream')
    check_valid('createStream flood')

    idle_flood(t)
    check_valid('idle flood')

    random_after_publish(t, spare)
    check_valid('random bytes after a publish')

    slow.join(HANDSHAKE_S * SLOW + 10)
    t.check(slow.closed_after is not None and
            slow.closed_after <= HANDSHAKE_S * SLOW + 3,
            'slowloris handshake closed by the handshake timeout',
            f'after {slow.closed_after} s')
    stopped = harness.expect_publish(t, pub, key, counts, since=since,
                                     media_s=MEDIA_S)
    t.check_eq(stopped.get('stream'), 'studio', 'the valid publish ended '
               'normally')
    t.wait_log('relay.exited', 10 * SLOW, since=since, proc='supervisor',
               relay='rec')
    harness.check_relayed(t, 'relay of the valid publish', media, rec)
    t.check_eq(t.stop(), 0, 'supervisor exit status on SIGTERM')
    t.check_no_secret(key, spare, off)


if __name__ == '__main__':
    harness.run('hostile_battery', body)
