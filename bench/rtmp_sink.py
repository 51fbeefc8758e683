#!/usr/bin/env python3
"""A cheap RTMP sink for the relay benchmark (Python 3 stdlib).

Listens on 127.0.0.1:PORT and accepts any number of publishing clients
(libavformat's rtmp muxer, nginx-rtmp `push`): simple handshake, the reply
sequence of shared/rtmp-interop-notes.md for connect / createStream /
publish, then it stops parsing and only counts bytes, acknowledging them
so a client that waits for acknowledgements keeps sending.

One JSON line per event on stdout, times from CLOCK_MONOTONIC (the same
clock as the benchmark's time.monotonic()):
  {"ev": "media", "name": N, "t": T}    first audio/video message of N
  {"ev": "bytes", "t": T, "sinks": {N: bytes, ...}}   on SIGUSR1
  {"ev": "closed", "name": N, "bytes": B, "t": T}     connection closed
SIGTERM ends it after a last "bytes" line.
"""

import argparse
import json
import os
import selectors
import signal
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                '..', 'tests', 'integration'))
from harness import amf_null, amf_num, amf_obj, amf_str, chunk_msg  # noqa

HS_SIZE = 1536
ACK_EVERY = 1 << 20


def emit(obj):
    sys.stdout.write(json.dumps(obj) + '\n')
    sys.stdout.flush()


def amf_read(buf, pos):
    """(value, next pos) of one AMF0 string, number, boolean or null;
    (None, -1) for anything else (objects are not needed here)."""
    if pos >= len(buf):
        return None, -1
    m = buf[pos]
    if m == 0x00 and pos + 9 <= len(buf):
        return struct.unpack('>d', buf[pos + 1:pos + 9])[0], pos + 9
    if m == 0x01 and pos + 2 <= len(buf):
        return bool(buf[pos + 1]), pos + 2
    if m == 0x02 and pos + 3 <= len(buf):
        n = struct.unpack('>H', buf[pos + 1:pos + 3])[0]
        return buf[pos + 3:pos + 3 + n].decode('utf-8', 'replace'), \
            pos + 3 + n
    if m in (0x05, 0x06):
        return None, pos + 1
    return None, -1


class Conn:
    def __init__(self, sock):
        self.sock = sock
        self.buf = bytearray()
        self.state = 'c0c1'
        self.chunk_in = 128
        self.streams = {}       # csid -> [ts, len, type, sid, ext, body]
        self.name = None
        self.bytes = 0
        self.acked = 0
        self.counting = False

    def send(self, data):
        self.sock.setblocking(True)
        self.sock.sendall(data)
        self.sock.setblocking(False)

    def on_data(self, data):
        self.bytes += len(data)
        if self.bytes - self.acked >= ACK_EVERY:
            self.acked = self.bytes
            self.send(chunk_msg(2, 3, struct.pack('>I',
                                                  self.bytes & 0xffffffff)))
        if self.counting:
            return
        self.buf += data
        if self.state == 'c0c1' and len(self.buf) >= 1 + HS_SIZE:
            c1 = bytes(self.buf[1:1 + HS_SIZE])
            s1 = struct.pack('>II', 0, 0) + os.urandom(HS_SIZE - 8)
            self.send(b'\x03' + s1 + c1)
            del self.buf[:1 + HS_SIZE]
            self.state = 'c2'
        if self.state == 'c2' and len(self.buf) >= HS_SIZE:
            del self.buf[:HS_SIZE]
            self.state = 'chunks'
        if self.state == 'chunks':
            self.parse_chunks()

    def parse_chunks(self):
        b = self.buf
        pos = 0
        while not self.counting:
            start = pos
            if pos >= len(b):
                break
            fmt, csid = b[pos] >> 6, b[pos] & 0x3f
            pos += 1
            if csid == 0:
                if pos + 1 > len(b):
                    pos = start
                    break
                csid = 64 + b[pos]
                pos += 1
            elif csid == 1:
                if pos + 2 > len(b):
                    pos = start
                    break
                csid = 64 + b[pos] + 256 * b[pos + 1]
                pos += 2
            hlen = (11, 7, 3, 0)[fmt]
            if pos + hlen > len(b):
                pos = start
                break
            st = self.streams.get(csid)
            if st is None:
                if fmt != 0:
                    raise ConnectionError(f'fmt {fmt} on new csid {csid}')
                st = self.streams[csid] = [0, 0, 0, 0, False, None]
            h = b[pos:pos + hlen]
            pos += hlen
            if fmt <= 2:
                st[4] = int.from_bytes(h[0:3], 'big') == 0xffffff
            if fmt <= 1:
                st[1] = int.from_bytes(h[3:6], 'big')
                st[2] = h[6]
            if fmt == 0:
                st[3] = struct.unpack('<I', h[7:11])[0]
            if st[4]:
                if pos + 4 > len(b):
                    pos = start
                    break
                pos += 4
            new_msg = st[5] is None
            if new_msg and st[2] in (8, 9):
                emit({'ev': 'media', 'name': self.name, 't': time.monotonic()})
                self.counting = True
                break
            body = st[5] if st[5] is not None else bytearray()
            take = min(self.chunk_in, st[1] - len(body))
            if pos + take > len(b):
                pos = start
                break
            body += b[pos:pos + take]
            pos += take
            if len(body) < st[1]:
                st[5] = body
                continue
            st[5] = None
            self.on_message(st[2], bytes(body))
        del b[:pos]
        if self.counting:
            self.buf = bytearray()

    def on_message(self, mtype, body):
        if mtype == 1 and len(body) >= 4:
            self.chunk_in = struct.unpack('>I', body[:4])[0] & 0x7fffffff
        elif mtype in (17, 20):
            if mtype == 17:
                body = body[1:]
            cmd, pos = amf_read(body, 0)
            txn, pos = amf_read(body, pos) if pos >= 0 else (None, -1)
            self.on_command(cmd, txn or 0, body, pos)

    def on_command(self, cmd, txn, body, pos):
        if cmd == 'connect':
            out = chunk_msg(2, 5, struct.pack('>I', 5000000))
            out += chunk_msg(2, 6, struct.pack('>IB', 5000000, 2))
            out += chunk_msg(2, 1, struct.pack('>I', 4096))
            out += chunk_msg(3, 20, amf_str('_result') + amf_num(txn) +
                             amf_obj([('fmsVer', amf_str('FMS/3,0,1,123')),
                                      ('capabilities', amf_num(31))]) +
                             amf_obj([('level', amf_str('status')),
                                      ('code', amf_str(
                                          'NetConnection.Connect.Success')),
                                      ('description',
                                       amf_str('Connection succeeded.'))]),
                             chunk_size=4096)
            self.send(out)
        elif cmd == 'createStream':
            self.send(chunk_msg(3, 20, amf_str('_result') + amf_num(txn) +
                                amf_null() + amf_num(1), chunk_size=4096))
        elif cmd == 'publish':
            _, pos = amf_read(body, pos)         # the null
            name, _ = amf_read(body, pos) if pos >= 0 else (None, -1)
            self.name = name
            self.send(chunk_msg(5, 20, amf_str('onStatus') + amf_num(0) +
                                amf_null() +
                                amf_obj([('level', amf_str('status')),
                                         ('code', amf_str(
                                             'NetStream.Publish.Start')),
                                         ('description',
                                          amf_str('Publishing.'))]),
                                stream_id=1, chunk_size=4096))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--port', type=int, required=True)
    args = ap.parse_args()
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(('127.0.0.1', args.port))
    lsock.listen(64)
    lsock.setblocking(False)
    sel = selectors.DefaultSelector()
    sel.register(lsock, selectors.EVENT_READ, None)
    conns = {}
    closed = {}
    done = []

    def totals():
        out = dict(closed)
        out.update({c.name or f'conn{fd}': c.bytes
                    for fd, c in conns.items()})
        return out

    signal.signal(signal.SIGUSR1, lambda s, f: emit(
        {'ev': 'bytes', 't': time.monotonic(), 'sinks': totals()}))
    signal.signal(signal.SIGTERM, lambda s, f: done.append(1))
    emit({'ev': 'listening', 'port': args.port})
    while not done:
        for key, _ in sel.select(timeout=0.5):
            if key.data is None:
                try:
                    s, _ = lsock.accept()
                except BlockingIOError:
                    continue
                s.setblocking(False)
                conns[s.fileno()] = Conn(s)
                sel.register(s, selectors.EVENT_READ, conns[s.fileno()])
                continue
            c = key.data
            try:
                data = c.sock.recv(262144)
                if data:
                    c.on_data(data)
            except BlockingIOError:
                continue
            except (ConnectionError, OSError) as e:
                sys.stderr.write(f'rtmp_sink: {c.name}: {e}\n')
                data = b''
            if not data:
                emit({'ev': 'closed', 'name': c.name, 'bytes': c.bytes,
                      't': time.monotonic()})
                closed[c.name or f'conn{c.sock.fileno()}'] = c.bytes
                sel.unregister(c.sock)
                del conns[c.sock.fileno()]
                c.sock.close()
    emit({'ev': 'bytes', 't': time.monotonic(), 'sinks': totals()})


if __name__ == '__main__':
    main()
