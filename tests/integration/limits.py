#!/usr/bin/env python3
"""The limits: section is enforced, each hit closing only that connection
with its reason: connections_per_host, handshake_timeout, publish_timeout,
max_chunk_size, max_message (once publishing) and streams; a SIGHUP reload
that raises streams lets the refused key publish."""

import signal
import struct
import time

import harness
from harness import (RawRtmp, SLOW, chunk_basic, chunk_msg,
                     create_stream_cmd, publish_cmd)

LIMITS = '''limits:
  connections_per_host: 3
  handshake_timeout: 2s
  publish_timeout: 2s
  max_chunk_size: 4096
  max_message: 64KiB
  streams: {streams}'''


def closed_for(t, label, c, conn, since, reason, within):
    start = time.monotonic()
    gone = c.wait_closed(within + 3)
    took = time.monotonic() - start
    c.close()
    t.check(gone, f'{label}: server closed the socket ({took:.1f} s)')
    ev = t.wait_log('conn.closed', 5, since=since, conn=conn)
    t.check(reason in ev.get('reason', ''), f'{label}: conn.closed '
            f'reason mentions "{reason}"', ev.get('reason'))
    return took


def raw_publish(t, key, since):
    c, conn = harness.connected_client(t, since)
    c.send(chunk_msg(3, 20, create_stream_cmd()) +
           chunk_msg(8, 20, publish_cmd(key), stream_id=1))
    return c, conn


def write(t, keys, streams):
    t.write_config(keys, extra=LIMITS.format(streams=streams))


def body(t):
    keys = {'studio': harness.new_key(), 'second': harness.new_key('second')}
    write(t, keys, 1)
    t.start()

    # handshake_timeout: half a C0C1, then nothing
    s = t.mark()
    c = RawRtmp(t.port)
    conn = t.wait_log('conn.accepted', 5, since=s, addr=c.addr)['conn']
    c.send(b'\x03' + bytes(700))
    took = closed_for(t, 'handshake_timeout 2s', c, conn, s,
                      'handshake timeout', 2 * SLOW)
    t.check(1.5 <= took <= 2 * SLOW + 1.5, 'handshake_timeout: closed '
            f'after about 2 s ({took:.1f} s)')

    # publish_timeout: connected, never publishing
    s = t.mark()
    c, conn = harness.connected_client(t, s)
    took = closed_for(t, 'publish_timeout 2s', c, conn, s,
                      'no publish within 2000 ms', 2 * SLOW)
    t.check(took <= 2 * SLOW + 1.5, 'publish_timeout: closed within about '
            f'2 s ({took:.1f} s)')

    # max_chunk_size: a Set Chunk Size over it
    s = t.mark()
    c, conn = harness.connected_client(t, s)
    c.send(chunk_msg(2, 1, struct.pack('>I', 8192)))
    closed_for(t, 'max_chunk_size 4096', c, conn, s,
               'set chunk size: 8192 over limit 4096', 2)

    # connections_per_host: the fourth from 127.0.0.1 is refused
    s = t.mark()
    held = [RawRtmp(t.port) for _ in range(3)]
    for h in held:
        t.wait_log('conn.accepted', 5, since=s, addr=h.addr)
    extra = RawRtmp(t.port)
    t.check(extra.wait_closed(3), 'connections_per_host 3: a fourth '
            'connection is closed at once')
    ev = t.wait_log('conn.refused', 5, since=s)
    t.check_eq(ev.get('reason'), 'too-many-from-host',
               'connections_per_host: conn.refused reason')
    t.check_eq(ev.get('limit_host'), '3', 'conn.refused limit_host')
    for h in held + [extra]:
        h.close()
    time.sleep(0.5)

    # streams: 1 live, a second key is refused; max_message on the first
    s = t.mark()
    pub, pconn = raw_publish(t, keys['studio'], s)
    t.wait_log('publish.started', 5, since=s, conn=pconn)
    c2, conn2 = raw_publish(t, keys['second'], s)
    ev = t.wait_log('publish.rejected', 5, since=s, conn=conn2)
    t.check_eq(ev.get('reason'), 'too-many-streams', 'streams 1: the '
               'second stream is refused')
    c2.close()
    big = 64 * 1024 + 1
    pub.send(chunk_msg(2, 1, struct.pack('>I', 4096)) +
             chunk_basic(0, 6) + b'\0\0\0' + big.to_bytes(3, 'big') +
             b'\x09' + struct.pack('<I', 1) + bytes(4096))
    closed_for(t, 'max_message 64KiB', pub, pconn, s,
               f'{big} over limit 65536', 2)
    t.wait_log('publish.stopped', 5, since=s, conn=pconn)

    # a reload raising streams to 2: both keys publish at once
    write(t, keys, 2)
    s = t.mark()
    t.sup.send_signal(signal.SIGHUP)
    t.wait_log('config.reloaded', 10, since=s)
    a, aconn = raw_publish(t, keys['studio'], s)
    b, bconn = raw_publish(t, keys['second'], s)
    t.wait_log('publish.started', 5, since=s, conn=aconn)
    t.wait_log('publish.started', 5, since=s, conn=bconn)
    t.check(not t.events('publish.rejected', s), 'after the reload '
            '(streams: 2) both keys are live, none refused')
    a.close()
    b.close()
    t.check_eq(t.stop(), 0, 'supervisor exit status on SIGTERM')
    t.check_no_secret(*keys.values())


if __name__ == '__main__':
    harness.run('limits', body, tools=())
