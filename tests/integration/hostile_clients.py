#!/usr/bin/env python3
"""Clients that hold resources without publishing, or publish and vanish:
oversized messages before a publish, a connection that only pings, a peer
that never reads its replies, and a publisher gone silent whose encoder
reconnects.  Each is closed with its reason while a valid ffmpeg publisher
streams on another key and is counted exactly; the supervisor's RSS stays
bounded throughout."""

import os
import socket
import struct
import threading
import time

import harness
from harness import RawRtmp, chunk_basic, chunk_msg, connect_cmd, mask

BG_S = 45               # the background publisher outlasts every scenario
STUDIO_S = 6            # media of the publisher that takes over studio
PREAUTH_LIMIT = 65536   # RTMP_PREAUTH_MSG_LEN
PUBLISH_S = 15          # SESSION_PUBLISH_S (the server's, not scaled)
PUBLISH_CLOSE_S = 25    # deadline for that close (x SLOW)
PING_EVERY_S = 2
FLOOD_MAX = 60 * 1024 * 1024
RSS_MAX_KIB = 100 * 1024
ASAN_QUARANTINE_MB = 16
STALE_S = 3             # SESSION_STALE_MS
REFUSE_S = 5
CLOSE_S = 5


class RssWatch(threading.Thread):
    """Samples the supervisor's VmRSS until stopped; keeps the peak."""

    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid = pid
        self.peak = 0
        self.samples = 0
        self.done = threading.Event()

    def run(self):
        while not self.done.wait(0.02):
            kib = harness.rss_kib(self.pid)
            if kib is None:
                return
            self.peak = max(self.peak, kib)
            self.samples += 1

    def stop(self):
        self.done.set()
        self.join()


def ping(n=0):
    # User Control event 6 (ping request) on csid 2
    return chunk_msg(2, 4, struct.pack('>HI', 6, n & 0xffffffff))


def oversized_header(length):
    # fmt 0 on csid 6, video on stream 1, then one 128-byte chunk
    return chunk_basic(0, 6) + b'\0\0\0' + length.to_bytes(3, 'big') + \
        b'\x09' + struct.pack('<I', 1) + bytes(128)


def preauth_limits(t):
    """Before a publish a message over 64 KiB closes the connection; one
    of exactly 64 KiB (video, dropped before publish) does not."""
    for length in (1024 * 1024, PREAUTH_LIMIT + 1):
        label = f'pre-auth message of {length} bytes'
        since = t.mark()
        c, conn = harness.connected_client(t, since)
        c.send(oversized_header(length))
        harness.expect_closed(t, label, c, conn, since,
                      f'{length} over limit {PREAUTH_LIMIT}')

    label = f'pre-auth message of {PREAUTH_LIMIT} bytes'
    since = t.mark()
    c, conn = harness.connected_client(t, since)
    c.send(chunk_msg(6, 9, b'\x17\x01' + bytes(PREAUTH_LIMIT - 2),
                     stream_id=1))
    t.wait_log('session.media_dropped', 5, since=since, conn=conn,
               len=PREAUTH_LIMIT)
    t.check(not t.events('conn.closed', since, conn=conn),
            f'{label}: read whole and dropped, connection open')
    # our end first (reading the replies, so no reset): an orderly close
    c.sock.shutdown(socket.SHUT_WR)
    c.wait_closed(CLOSE_S)
    c.close()
    ev = t.wait_log('conn.closed', 5, since=since, conn=conn)
    t.check_eq(ev.get('reason'), 'closed by peer',
               f'{label}: conn.closed reason')


def no_publish(t):
    """Connected, pinging every 2 s, never publishing: closed after the
    server's 15 s, not before."""
    label = 'no publish'
    since = t.mark()
    c = RawRtmp(t.port)
    conn = t.wait_log('conn.accepted', 5, since=since, addr=c.addr)['conn']
    c.handshake()
    shaken = time.monotonic()
    c.send(chunk_msg(3, 20, connect_cmd()))
    end = shaken + PUBLISH_CLOSE_S * harness.SLOW
    next_ping, n, closed_at = shaken, 0, None
    while closed_at is None:
        now = time.monotonic()
        if now >= end:
            break
        if now >= next_ping:
            if not c.send(ping(n)):
                closed_at = time.monotonic()
                break
            n += 1
            next_ping += PING_EVERY_S
        # read (and drop) the replies until EOF or the next ping is due
        c.sock.settimeout(max(0.01, min(next_ping, end) - now))
        try:
            if not c.sock.recv(65536):
                closed_at = time.monotonic()
        except (ConnectionResetError, BrokenPipeError):
            closed_at = time.monotonic()
        except socket.timeout:
            pass
    c.close()
    t.check(closed_at is not None, f'{label}: server closed the socket '
            f'within {PUBLISH_CLOSE_S * harness.SLOW:g} s ({n} pings sent)')
    took = closed_at - shaken
    t.check(took >= PUBLISH_S - 1, f'{label}: closed {took:.1f} s after the '
            f'handshake, not before {PUBLISH_S - 1} s')
    ev = t.wait_log('conn.closed', 5, since=since, conn=conn)
    t.check_eq(ev.get('reason'), f'no publish within {PUBLISH_S * 1000} ms',
               f'{label}: conn.closed reason', soft=True)
    t.check_eq(ev.get('level'), 'warn', f'{label}: conn.closed level',
               soft=True)


class DeafRtmp(RawRtmp):
    """A RawRtmp with a small receive buffer, set before connecting."""

    def __init__(self, port, rcvbuf, timeout=5):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout)
        self.sock.connect(('127.0.0.1', port))
        self.addr = '%s:%d' % self.sock.getsockname()


def unread_replies(t):
    """Pings as fast as the socket takes them, replies never read: the
    server closes once its queued replies pass its bound."""
    label = 'unread replies'
    since = t.mark()
    c = DeafRtmp(t.port, 4096)
    conn = t.wait_log('conn.accepted', 5, since=since, addr=c.addr)['conn']
    c.handshake()
    block = b''.join(ping(i) for i in range(4096))
    sent = 0
    c.sock.settimeout(CLOSE_S * harness.SLOW)
    while sent < FLOOD_MAX:
        try:
            c.sock.sendall(block)
        except (BrokenPipeError, ConnectionResetError):
            break
        except socket.timeout:
            t.fail(f'{label}: server stopped reading without closing '
                   f'({sent} bytes sent)')
        sent += len(block)
    print(f'     {label}: {sent / 1e6:.1f} MB of pings sent')
    harness.expect_closed(t, label, c, conn, since, 'peer does not read our replies')
    t.check(sent < FLOOD_MAX, f'{label}: closed before {FLOOD_MAX >> 20} MiB '
            f'of pings')


def stale_takeover(t, key, media, counts):
    """A publisher that goes silent holds its key for 3 s: an encoder
    reconnecting before is refused, after it takes the key over."""
    label = 'stale publisher'
    since = t.mark()
    c = RawRtmp(t.port)
    conn = t.wait_log('conn.accepted', 5, since=since, addr=c.addr)['conn']
    c.handshake()
    harness.raw_publish(c, key)
    t.wait_log('publish.started', 5, since=since, conn=conn, stream='studio')
    # an AVC keyframe (NALU) and an AAC frame, then silence
    c.send(chunk_msg(6, 9, b'\x17\x01\0\0\0' + b'\0\0\0\x05\x65' +
                     bytes(4), stream_id=1) +
           chunk_msg(4, 8, b'\xaf\x01' + bytes(16), stream_id=1))
    silent_from = time.monotonic()

    refused_since = t.mark()
    p = t.publish_ffmpeg('refused', key, media)
    rc = t.wait_exit(p, 15)
    took = time.monotonic() - p.started
    into = time.monotonic() - silent_from
    t.check(rc != 0, f'{label}: ffmpeg on the live key exits non-zero ({rc})')
    t.check(took < REFUSE_S * harness.SLOW, f'{label}: refused ffmpeg gave '
            f'up within {REFUSE_S * harness.SLOW:g} s ({took:.2f} s)')
    rej = t.wait_log('publish.rejected', 5, since=refused_since,
                     key=mask(key))
    t.check_eq(rej.get('reason'), 'already-live',
               f'{label}: publish.rejected (ffmpeg done {into:.2f} s '
               f'into the silence) reason')
    t.check(not t.events('publish.stopped', since, conn=conn),
            f'{label}: conn {conn} still publishing')

    # the server's rule is about elapsed time: let the silence pass 3 s
    time.sleep(max(0.0, silent_from + STALE_S + 0.5 * harness.SLOW -
                   time.monotonic()))
    since2 = t.mark()
    p2 = t.publish_ffmpeg('takeover', key, media)
    stopped = t.wait_log('publish.stopped', 10, since=since2, conn=conn)
    why = stopped.get('reason', '')
    t.check(why.startswith('replaced by conn'),
            f'{label}: publish.stopped reason "{why}"')
    t.check_eq((stopped.get('video_frames'), stopped.get('audio_frames'),
                stopped.get('bad_tags')), ('1', '1', '0'),
               f'{label}: publish.stopped (video, audio, bad) frames',
               soft=True)
    closed = t.wait_log('conn.closed', 5, since=since2, conn=conn)
    t.check(closed.get('reason', '').startswith('replaced by conn'),
            f'{label}: conn.closed reason "{closed.get("reason")}"')
    t.check(c.wait_closed(CLOSE_S), f'{label}: old socket closed by server',
            soft=True)
    c.close()
    new = harness.expect_publish(t, p2, key, counts, stream='studio',
                                 since=since2, media_s=STUDIO_S)
    t.check(why.startswith(f'replaced by conn {new["conn"]} '),
            f'{label}: the reason names the new conn {new["conn"]}', why,
            soft=True)


def body(t):
    bg_media = harness.make_media(os.path.join(t.dir, 'bg.flv'), BG_S)
    bg_counts = harness.probe_counts(bg_media)
    media = harness.make_media(os.path.join(t.dir, 'studio.flv'), STUDIO_S)
    counts = harness.probe_counts(media)
    key, bg_key = harness.new_key(), harness.new_key('bg')
    t.write_config({'studio': key, 'bg': bg_key})
    t.start(harness.asan_env(ASAN_QUARANTINE_MB))
    rss = RssWatch(t.sup.pid)
    rss.start()
    bg_since = t.mark()
    bg = t.publish_ffmpeg('bg', bg_key, bg_media)
    t.wait_log('publish.started', 10, since=bg_since, stream='bg')
    t.wait_log('publish.codecs', 10, since=bg_since, stream='bg')
    try:
        for scenario in (preauth_limits, no_publish, unread_replies,
                         lambda t: stale_takeover(t, key, media, counts)):
            scenario(t)
            t.check(bg.poll() is None, 'the bg publisher is still streaming')
        harness.expect_publish(t, bg, bg_key, bg_counts, stream='bg',
                               since=bg_since, media_s=BG_S)
    finally:
        rss.stop()
        t.check(rss.peak < RSS_MAX_KIB, f'supervisor VmRSS peak '
                f'{rss.peak / 1024:.1f} MiB < {RSS_MAX_KIB >> 10} MiB '
                f'({rss.samples} samples)', soft=True)
    t.check_eq(len(t.events('publish.started', bg_since)), 3,
               'publish.started: bg, the stale one, the takeover')
    t.check_eq(t.stop(), 0, 'supervisor exit status on SIGTERM')
    t.check_no_secret(key, bg_key)


harness.run('hostile_clients', body)
