#!/usr/bin/env python3
"""The HTTP status server: `check` refuses a non-loopback http: bind
without a token (file:line:column); with a token every request needs
"Authorization: Bearer TOKEN" (401 otherwise, also after a reload changed
it); /metrics passes a strict Prometheus text parser, and with the
publisher paused (SIGSTOP) so nothing is in flight, the relay's
bytes_out_total matches what its RTMP sink received, counted by a TCP
proxy in front of it.  /api/v1/streams and /api/v1/relays are JSON, and
no response (nor the log) holds the stream key, the destination key or
the token.  A reload moving http: onto a taken port is refused and the old
port serves on; onto a free port it moves.

The relay is a copy relay to rtmp://, so mirroring-copy runs it, and it
counts every byte it writes to the destination's socket (handshake,
commands, chunk headers, media): with nothing in flight the sink's TCP
proxy counted exactly as many."""

import json
import os
import signal
import socket
import time

import harness
from harness import SLOW, make_media


def get(t, port, path, token, what):
    status, hdrs, body = harness.http_get(port, path, token)
    t.responses.append(json.dumps(hdrs).encode() + body)
    t.check_eq(status, 200, f'GET {path} {what}')
    return hdrs, body


def wait_idle(t, port, token):
    """Polls /api/v1/relays until the relay's bytes_out has not moved for
    2.5 s (STATUS comes every second); returns that relay object."""
    last, since, end = None, time.monotonic(), time.monotonic() + 20 * SLOW
    while time.monotonic() < end:
        _, body = get(t, port, '/api/v1/relays', token, 'while paused')
        rl = json.loads(body)['relays'][0]
        if last is None or rl['bytes_out'] != last['bytes_out']:
            last, since = rl, time.monotonic()
        elif time.monotonic() - since >= 2.5:
            return rl
        time.sleep(0.25)
    t.fail('the relay never went idle with the publisher stopped')


def check_refusals(t):
    """A non-loopback bind needs a token: check and start refuse it."""
    conf = t.write_config({'studio': harness.new_key()},
                          extra='http: 0.0.0.0:9')
    lines = open(conf).read().split('\n')
    ln = next(i for i, l in enumerate(lines) if l.startswith('http:'))
    where = f'{conf}:{ln + 1}:7: http: '
    for cmd in ('check', 'start'):
        r = t.cli(cmd)
        t.check(r.returncode == 1 and where in r.stderr and
                'not a loopback address' in r.stderr,
                f'{cmd} refuses http: 0.0.0.0 without a token ({where})',
                r.stdout + r.stderr)
    t.write_config({'studio': harness.new_key()},
                   extra='http: 0.0.0.0:9\nhttp_token: '
                   + harness.new_key('tok'))
    r = t.cli('check')
    t.check_eq(r.returncode, 0, 'check accepts it with a token')


def check_metrics(t, fams, rl, sent, counts_in):
    for fam, f in fams.items():
        t.check(f['help'], f'{fam} has a HELP line', soft=True)
    m = harness.metric
    t.check_eq(m(fams, 'mirroring_streams_live'), 1.0, 'streams_live')
    t.check_eq(m(fams, 'mirroring_stream_publishes_total', stream='studio'),
               1.0, 'publishes_total')
    t.check_eq(m(fams, 'mirroring_stream_ingest_bytes_total',
                 stream='studio'), float(counts_in),
               'ingest bytes == bytes_in of /api/v1/streams')
    t.check_eq(m(fams, 'mirroring_relay_state', stream='studio',
                 relay='out', state='live'), 1.0, 'relay_state live')
    t.check_eq(sum(v for _, ls, v in fams['mirroring_relay_state']['samples']
                   if ls['relay'] == 'out'), 1.0, 'exactly one state is 1')
    for name in ('restarts', 'reconnects'):
        t.check_eq(m(fams, f'mirroring_relay_{name}_total', relay='out'),
                   0.0, f'relay {name}')
    out = m(fams, 'mirroring_relay_bytes_out_total', relay='out')
    t.check_eq(out, float(rl['bytes_out']), 'bytes_out_total == the '
               'relay JSON\'s bytes_out')
    print(f'info relay bytes_out {out:.0f}, sink received {sent} over TCP, '
          f'{rl["packets_out"]} packets')
    t.check(out > 100000 and out == sent, 'bytes_out_total is what the '
            'sink received over TCP', f'{out} vs {sent}')
    for proc, labels in (('supervisor', {}), ('worker', {'relay': 'out'})):
        cpu = m(fams, 'mirroring_process_cpu_seconds_total', process=proc,
                **labels)
        rss = m(fams, 'mirroring_process_resident_memory_bytes',
                process=proc, **labels)
        # mirroring-copy can stay under one 10 ms clock tick here: the
        # worker's CPU must be there, not above zero
        low = 0 if proc == 'worker' else 1e-9
        t.check(cpu is not None and cpu >= low and rss is not None and
                rss > 1e6, f'{proc} CPU and RSS are there', f'{cpu} {rss}')


def check_parser(t):
    """The parser is strict: each of these must be refused."""
    bad = {
        'no TYPE': 'x 1\n',
        'bad value': '# TYPE x gauge\nx one\n',
        'bad label': '# TYPE x gauge\nx{1a="v"} 1\n',
        'bad escape': '# TYPE x gauge\nx{a="\\q"} 1\n',
        'no final newline': '# TYPE x gauge\nx 1',
        'split family': '# TYPE x gauge\nx 1\n# TYPE y gauge\ny 1\n'
                        'x{a="b"} 2\n',
        'negative counter': '# TYPE x_total counter\nx_total -1\n',
        'series twice': '# TYPE x gauge\nx 1\nx 2\n',
    }
    for what, text in bad.items():
        try:
            harness.parse_prometheus(text)
            ok = False
        except ValueError:
            ok = True
        t.check(ok, f'the strict parser refuses: {what}', soft=True)
    harness.parse_prometheus('# HELP x h\n# TYPE x gauge\nx{a="\\"q\\n"}'
                             ' -1.5e3 123\n')


def check_rebind(t, hport, token):
    """A reload that moves http: to a port in use is refused and the old
    port serves on; to a free one, the new port serves and the old is
    closed.  Returns the port in use afterwards."""
    busy = socket.socket()
    busy.bind(('127.0.0.1', 0))
    busy.listen(1)
    with open(t.conf) as f:
        text = f.read()
    taken = busy.getsockname()[1]
    with open(t.conf, 'w') as f:
        f.write(text.replace(f':{hport}', f':{taken}'))
    r = t.cli('reload')
    busy.close()
    t.check(r.returncode == 1 and 'cannot listen' in r.stderr,
            'a reload onto a taken http port is refused', r.stderr)
    get(t, hport, '/metrics', token, 'on the old port after it')
    new = harness.free_port()
    with open(t.conf, 'w') as f:
        f.write(text.replace(f':{hport}', f':{new}'))
    r = t.cli('reload')
    t.check_eq(r.returncode, 0, 'a reload onto a free http port', r.stderr)
    get(t, new, '/metrics', token, 'on the new port')
    try:
        harness.http_get(hport, '/metrics', token, timeout=2)
        closed = False
    except OSError:
        closed = True
    t.check(closed, 'the old http port is closed')
    return new


def body(t):
    t.responses = []
    check_parser(t)
    check_refusals(t)
    media = make_media(os.path.join(t.dir, 'src.flv'), seconds=12)
    key, dest_key = harness.new_key(), harness.new_key('dest')
    token = harness.new_key('tok')
    hport, sink_port, proxy_port = (harness.free_port() for _ in range(3))
    out = os.path.join(t.dir, 'out.flv')
    extra = f'http: 127.0.0.1:{hport}\nhttp_token: ${{OPS_HTTP_TOKEN}}'
    t.write_config({'studio': f'''key: {key}
relays:
  out: {{ url: "rtmp://127.0.0.1:{proxy_port}/live/{dest_key}" }}
'''}, extra=extra)
    sink = harness.start_rtmp_sink(t, 'sink', sink_port, dest_key, out)
    proxy = harness.CountingProxy(proxy_port, sink_port)
    t.start(env={'OPS_HTTP_TOKEN': token})
    t.wait_log('http.listening', 2, addr=f'127.0.0.1:{hport}')

    for tok, what in ((None, 'no token'), ('x' * len(token), 'a wrong '
                                             'token')):
        st, hdrs, b = harness.http_get(hport, '/metrics', tok)
        t.responses.append(json.dumps(hdrs).encode() + b)
        t.check(st == 401 and 'Bearer' in hdrs.get('WWW-Authenticate', ''),
                f'/metrics with {what}: 401 with WWW-Authenticate', str(st))
    st, _, _ = harness.http_get(hport, '/nothing', token)
    t.check_eq(st, 404, 'an unknown path')

    mark = t.mark()
    pub = t.publish_ffmpeg('ffmpeg', key, media)
    t.wait_log('relay.state', 15, since=mark, relay='out', state='live')
    harness.wait_status(t, lambda s: s['uptime_s'] >= 5, 15, 'uptime 5 s')
    os.kill(pub.pid, signal.SIGSTOP)    # nothing in flight from here
    try:
        rl = wait_idle(t, hport, token)
        sent = proxy.sent()
        hdrs, text = get(t, hport, '/metrics', token, 'with the token')
        t.check(hdrs.get('Content-Type', '').startswith(
            'text/plain; version=0.0.4'), 'the exposition content type')
        try:
            fams = harness.parse_prometheus(text.decode())
        except ValueError as e:
            t.fail(f'/metrics is not Prometheus text: {e}')
        t.check(True, f'/metrics parses strictly ({len(fams)} families)')
        _, sj = get(t, hport, '/api/v1/streams', token, 'with the token')
        streams = json.loads(sj)['streams']
        t.check(len(streams) == 1 and streams[0]['name'] == 'studio' and
                streams[0]['key'] == harness.mask(key),
                '/api/v1/streams: the stream, key masked', sj.decode())
        check_metrics(t, fams, rl, sent, streams[0]['bytes_in'])
        t.check(rl['stream'] == 'studio' and rl['name'] == 'out' and
                rl['state'] == 'live' and rl['url'].endswith(
                    harness.mask(dest_key)), '/api/v1/relays: the relay, '
                'URL masked', str(rl))
    finally:
        os.kill(pub.pid, signal.SIGCONT)

    # a reload that changes the token applies at once
    new_token = harness.new_key('tok2')
    with open(t.conf) as f:
        text = f.read().replace('${OPS_HTTP_TOKEN}', new_token)
    with open(t.conf, 'w') as f:
        f.write(text)
    r = t.cli('reload')
    t.check_eq(r.returncode, 0, 'reload with a new token', r.stderr)
    st, _, _ = harness.http_get(hport, '/api/v1/streams', token)
    t.check_eq(st, 401, 'the old token after the reload')
    get(t, hport, '/api/v1/relays', new_token, 'with the new token')
    hport = check_rebind(t, hport, new_token)

    t.wait_exit(pub, 30)
    t.wait_exit(sink, 15)
    t.wait_log('relay.exited', 10, since=mark, relay='out')
    _, text = get(t, hport, '/metrics', new_token, 'after the publish')
    fams = harness.parse_prometheus(text.decode())
    t.check_eq(harness.metric(fams, 'mirroring_stream_publishes_total',
                              stream='studio'), 1.0,
               'publishes_total outlives the publish')
    t.check_eq(harness.metric(fams, 'mirroring_streams_live'), 0.0,
               'no stream live')
    proxy.close()
    for secret in (key, dest_key, token, new_token):
        t.check(not any(secret.encode() in r for r in t.responses),
                f'{harness.mask(secret)} is in none of the '
                f'{len(t.responses)} responses')
    t.check_eq(t.stop(), 0, 'supervisor exit status on SIGTERM')
    t.check_no_secret(key, dest_key, token, new_token)


if __name__ == '__main__':
    harness.run('ops_http', body)
