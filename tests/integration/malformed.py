#!/usr/bin/env python3
"""Hostile RTMP input closes only the offending connection: while a valid
ffmpeg publisher streams, raw-socket clients send broken chunks, commands
and handshakes.  Each gets conn.closed with a reason at level=warn and its
socket closed by the server; the publisher's counts still match."""

import os
import random
import struct

import harness
from harness import (RawRtmp, amf_num, amf_obj, amf_str, chunk_basic,
                     chunk_msg, connect_cmd)

CLOSE_S = 5
MEDIA_S = 20


def set_chunk_size(n):
    return chunk_msg(2, 1, struct.pack('>I', n))


def header_16mib():
    # fmt 0 on csid 6, video, length 0xffffff (16 MiB - 1), then a chunk
    return chunk_basic(0, 6) + b'\0\0\0' + b'\xff\xff\xff' + b'\x09' + \
        struct.pack('<I', 1) + bytes(128)


def nested_connect(depth):
    inner = amf_str('deep')
    for _ in range(depth):
        inner = amf_obj([('o', inner)])
    return chunk_msg(3, 20, amf_str('connect') + amf_num(1) + inner)


def string_past_end():
    # the string claims 0x4000 bytes; the message holds only 8 of them
    cmd = amf_str('connect') + amf_num(1) + b'\x03' + \
        struct.pack('>H', 3) + b'app' + b'\x02' + struct.pack('>H', 0x4000) + \
        b'live?abc'
    return chunk_msg(3, 20, cmd)


# (label, handshake?, bytes after, reason fragment or None = any reason)
CASES = [
    ('set chunk size 0', True, set_chunk_size(0), 'chunk size'),
    ('set chunk size 0x80000000', True, set_chunk_size(0x80000000),
     'chunk size'),
    ('message length 16 MiB', True, header_16mib(), 'message length'),
    ('fmt-1 chunk on a new csid', True,
     chunk_basic(1, 9) + b'\0\0\0' + b'\0\0\x10' + b'\x14' + bytes(16),
     'without a previous'),
    ('fmt-2 chunk on a new csid', True,
     chunk_basic(2, 10) + b'\0\0\0' + bytes(16), 'without a previous'),
    ('fmt-3 chunk on a new csid', True,
     chunk_basic(3, 11) + bytes(16), 'without a previous'),
    ('fmt-3 chunk on a new csid after connect', True,
     set_chunk_size(4096) + chunk_msg(3, 20, connect_cmd()) +
     chunk_basic(3, 12) + bytes(16), 'without a previous'),
    ('AMF0 object nested 40 levels', True, nested_connect(40), 'nesting'),
    ('AMF0 string past the message end', True, string_past_end(),
     'past end'),
    ('bad C0 version', False, b'\x42' + bytes(1536), None),
    ('garbage', False,
     b'GET / HTTP/1.1\r\nHost: x\r\n\r\n' + random.randbytes(4096), None),
]


def run_case(t, label, handshake, payload, reason):
    since = t.mark()
    c = RawRtmp(t.port)
    acc = t.wait_log('conn.accepted', 5, since=since, addr=c.addr)
    conn = acc['conn']
    if handshake:
        c.handshake()
    c.send(payload)
    closed = c.wait_closed(CLOSE_S)
    c.close()
    t.check(closed, f'{label}: server closed the socket', soft=True)
    ev = t.wait_log('conn.closed', 5, since=since, conn=conn)
    why = ev.get('reason', '')
    t.check(bool(why), f'{label}: conn.closed conn={conn} reason="{why}"',
            soft=True)
    t.check_eq(ev.get('level'), 'warn', f'{label}: conn.closed level',
               soft=True)
    if reason is not None:
        t.check(reason in why, f'{label}: reason mentions "{reason}"', why,
                soft=True)


def body(t):
    media = harness.make_media(os.path.join(t.dir, 'src.flv'), MEDIA_S)
    counts = harness.probe_counts(media)
    key = harness.new_key()
    t.write_config({'studio': key})
    t.start()
    since = t.mark()
    p = t.publish_ffmpeg('ffmpeg', key, media)
    t.wait_log('publish.started', 10, since=since, stream='studio')
    t.wait_log('publish.codecs', 10, since=since, stream='studio')
    for case in CASES:
        run_case(t, *case)
        t.check(p.poll() is None, 'the valid publisher is still streaming')
    harness.expect_publish(t, p, key, counts, since=since, media_s=MEDIA_S)
    t.check_eq(len(t.events('publish.started')), 1,
               'no publish.started but the valid one')
    t.check_eq(t.stop(), 0, 'supervisor exit status on SIGTERM')
    t.check_no_secret(key)


harness.run('malformed', body)
