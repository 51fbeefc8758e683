#!/usr/bin/env python3
"""Destinations named by host name, with a resolver that never answers.

The test runs in user, network and mount namespaces of its own (unshare
-r -n -m: no root needed, nothing of the machine's touched), where
/etc/hosts names the sinks and /etc/resolv.conf points at a UDP socket of
this test on 127.0.0.2:53 that reads queries and answers none.  A copy relay
(mirroring-copy) and an SRT relay (mirroring-worker) to names in
/etc/hosts deliver the stream (the copy relay's name has ::1 first, where
nothing listens: mirroring-copy goes on to 127.0.0.1 within the same
attempt); a copy relay and an SRT relay to a name the
resolver is asked for hang in the lookup.  Those must fail their attempt
at the 10 s connect deadline with an error that says so ("name lookup of
... timed out"), as network errors, and keep reporting all along: no kill
for silence (5 s without STATUS), no restart, status --json showing them
connecting past those 5 s.  Before the lookups ran off the workers'
loops, a hung resolver silenced a worker until the supervisor killed it.
"""

import fcntl
import os
import socket
import struct
import subprocess
import sys
import threading
import time

import harness

MEDIA_S = 16
HUNG = ('hung', 'hungw')
NAMED_HOST, HUNG_HOST = 'sink.mirroring.test', 'hangs.mirroring.test'
SRT_HOST = 'srt-sink.mirroring.test'


NS_ENV = 'MIRRORING_TEST_IN_NS'
UNSHARE = ['unshare', '-r', '-n', '-m', '--propagation', 'private']


def enter_namespaces():
    """Runs this test again (same pid: unshare execs) in new user, network
    and mount namespaces; returns when already in them."""
    if os.environ.get(NS_ENV) == '1':
        return
    r = subprocess.run([*UNSHARE, 'true'], capture_output=True, text=True)
    if r.returncode != 0:
        print(f'SKIP relay_dns: cannot create namespaces (unshare -r -n '
              f'-m): {r.stderr.strip()}')
        sys.exit(harness.SKIP)
    os.environ[NS_ENV] = '1'
    os.execvp(UNSHARE[0], [*UNSHARE, sys.executable, *sys.argv])


def loopback_up():
    """A new network namespace has lo down: SIOCGIFFLAGS, then SIOCSIFFLAGS
    with IFF_UP."""
    with socket.socket() as s:
        ifr = struct.pack('16sH', b'lo', 0)
        flags = struct.unpack('16sH', fcntl.ioctl(s, 0x8913, ifr))[1]
        fcntl.ioctl(s, 0x8914, struct.pack('16sH', b'lo', flags | 1))


def bind_over(path, text, t):
    """path (/etc/...) shows text in this mount namespace."""
    mine = os.path.join(t.dir, os.path.basename(path))
    with open(mine, 'w') as f:
        f.write(text)
    r = subprocess.run(['mount', '--bind', mine, path], capture_output=True,
                       text=True)
    if r.returncode != 0:
        t.fail(f'mount --bind {mine} {path}: {r.stderr.strip()}')


class SilentDNS:
    """A UDP socket on 127.0.0.2:53 that reads DNS queries and answers
    none; names holds the QNAMEs asked."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(('127.0.0.2', 53))
        self.names = []
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        while True:
            try:
                q, _ = self.sock.recvfrom(2048)
            except OSError:
                return
            labels, i = [], 12
            while i < len(q) and q[i] != 0:
                labels.append(q[i + 1:i + 1 + q[i]].decode('ascii', 'replace'))
                i += 1 + q[i]
            self.names.append('.'.join(labels))


def body(t):
    loopback_up()
    bind_over('/etc/resolv.conf', 'nameserver 127.0.0.2\n'
              'options timeout:30 attempts:1\n', t)
    bind_over('/etc/hosts', f'::1 {NAMED_HOST}\n127.0.0.1 localhost '
              f'{NAMED_HOST} {SRT_HOST}\n', t)
    dns = SilentDNS()
    media, counts, key = harness.relay_source(t, MEDIA_S)
    skey = harness.new_key('sinkkey')
    rtmp_port, srt_port = harness.free_port(), harness.free_port()
    out = {'named': os.path.join(t.dir, 'named.flv'),
           'namedw': os.path.join(t.dir, 'namedw.ts')}
    t.write_config({'studio': f'''key: {key}
relays:
  named: {{ url: "rtmp://{NAMED_HOST}:{rtmp_port}/live/{skey}" }}
  namedw: {{ url: "srt://{SRT_HOST}:{srt_port}" }}
  hung: {{ url: "rtmp://{HUNG_HOST}:{harness.free_port()}/live/{skey}" }}
  hungw: {{ url: "srt://{HUNG_HOST}:{harness.free_port()}" }}
'''})
    sinks = [harness.start_rtmp_sink(t, 'rtmp_sink', rtmp_port, skey,
                                     out['named']),
             harness.start_srt_sink(t, 'srt_sink', srt_port, out['namedw'])]
    order = subprocess.run(['getent', 'ahosts', NAMED_HOST],
                           capture_output=True, text=True).stdout.split()
    print(f'{NAMED_HOST} in the namespace: {order}')
    t.check(order[:1] == ['::1'], f'{NAMED_HOST} resolves to ::1 first '
            '(so the copy relay must try the next address)')
    t.start()
    mark = t.mark()
    pub = t.publish_ffmpeg('ffmpeg', key, media)
    seen = {}

    def on_live(t, started):
        for r in ('named', 'namedw'):
            t.wait_log('relay.live', 10, since=mark, proc='worker', relay=r)
        conn = {r: t.wait_log('relay.connecting', 10, since=mark,
                              proc='worker', relay=r) for r in HUNG}
        # past the supervisor's 5 s of silence, still looking the name up
        time.sleep(6.5)
        s = harness.status_stream(t)
        for r in HUNG:
            st = harness.status_relay(s, r) or {}
            # restarts: a worker killed for silence (at 5 s) comes back
            # connecting too, but as a second worker
            t.check_eq((st.get('state'), st.get('restarts')),
                       ('connecting', 0), f'{r}: status --json (state, '
                       'restarts) 6.5 s into a hung name lookup')
        for r in HUNG:
            f = t.wait_log('relay.failed', 8 * harness.SLOW, since=mark,
                           proc='worker', relay=r)
            seen[r] = f
            took = harness.log_time(f) - harness.log_time(conn[r])
            print(f'{r}: {f.get("err")!r} after {took:.2f} s')
            t.check(f'name lookup of {HUNG_HOST} timed out after 10000 ms'
                    in f.get('err', ''), f'{r}: the error says the name '
                    f'lookup timed out ({f.get("err")!r})')
            t.check_eq(f.get('class'), 'network', f'{r}: a network error')
            t.check(9.5 <= took <= 12 * harness.SLOW, f'{r}: failed at the '
                    f'10 s connect deadline ({took:.2f} s)')

    harness.expect_publish(t, pub, key, counts, since=mark, on_live=on_live,
                           media_s=MEDIA_S)
    for r in ('named', 'namedw', *HUNG):
        t.wait_log('relay.exited', 20, since=mark, proc='supervisor',
                   relay=r)
    for p in sinks:
        harness.stop_proc(p, 10)
    for r in HUNG:
        t.check_eq(t.events('relay.kill', mark, relay=r), [], f'{r}: never '
                   'killed for silence')
        t.check_eq(len(t.events('relay.spawned', mark, relay=r)), 1,
                   f'{r}: one worker all along (no restart)')
        ex = t.events('relay.exited', mark, relay=r)
        t.check(ex and ex[-1].get('code') == '0', f'{r}: its worker exited '
                f'0 at the end of the publish ({ex[-1:] or None})')
    asked = [n for n in dns.names if n == HUNG_HOST]
    print(f'DNS queries: {dns.names}')
    t.check(len(asked) >= 2, f'the resolver was asked for {HUNG_HOST} '
            f'({len(asked)} queries)')
    t.check(NAMED_HOST not in dns.names and SRT_HOST not in dns.names,
            'the sinks\' names came from /etc/hosts')
    live = t.events('relay.live', mark, proc='worker', relay='named')
    t.check(live and live[0].get('attempt') == '1', 'named: live on its '
            'first attempt (::1 refused, 127.0.0.1 taken in the same '
            f'attempt): {live[:1]}')
    harness.check_relayed(t, 'named (copy, /etc/hosts)', media, out['named'])
    ref = harness.as_mpegts(media, os.path.join(t.dir, 'ref.ts'))
    n_ref = len([p for p in harness.probe_packet_list(ref)
                 if p[0] == 'video'])
    n_w = len([p for p in harness.probe_packet_list(out['namedw'])
               if p[0] == 'video'])
    t.check(n_w >= n_ref - 90, f'namedw (SRT, /etc/hosts): {n_w} of the '
            f'source\'s {n_ref} video frames (less up to a 3 s start)')
    t.check_eq(t.stop(), 0, 'supervisor exit status on SIGTERM')
    t.check_no_secret(key, skey)


if __name__ == '__main__':
    enter_namespaces()
    harness.run('relay_dns', body)
