#!/usr/bin/env python3
"""A soak: three publishers, each with an RTMP relay to a steady sink, an
RTMP relay to a flapping sink (down a few seconds every FLAP_S) and a file
relay, for SOAK_S seconds (60 in the suite; SOAK_S=600 for the issue's
10-minute run), while a random worker is SIGKILLed every KILL_S and one
publisher drops and comes back.  At the end every relay is live again,
the supervisor's memory has not grown past its caches, and once the
publishers stop no worker process and no file descriptor is left over."""

import os
import random
import subprocess
import threading
import time

import harness
from harness import SLOW, free_port

SOAK_S = int(os.environ.get('SOAK_S', '60'))
STREAMS = ('studio', 'cam2', 'cam3')
FLAP_S = 20             # the flapping sink goes down this often...
FLAP_DOWN_S = 4         # ...for this long
KILL_S = 7              # a random worker is killed this often
SAMPLE_S = 2
RSS_GROWTH_KIB = 8 * 1024   # beyond the warmed-up caches
ASAN_QUARANTINE_MB = 16     # sanitizer builds: freed memory held back
LIVE_AGAIN_S = 45       # the backoff cap (30 s) plus a reconnect


class Sink:
    """An `ffmpeg -listen 1` RTMP sink kept listening: restarted when its
    publisher leaves (a killed worker), except while it is held down."""

    def __init__(self, t, name, key):
        self.t, self.name, self.key = t, name, key
        self.port = free_port()
        self.down = False
        self.p = None
        self.starts = 0

    def url(self):
        return f'rtmp://127.0.0.1:{self.port}/live/{self.key}'

    def keep(self):
        if self.down:
            if self.p is not None and self.p.poll() is None:
                harness.stop_proc(self.p, 2, group=True)
            return
        if self.p is None or self.p.poll() is not None:
            self.starts += 1
            self.p = self.t.spawn(f'{self.name}-{self.starts}', [
                'ffmpeg', '-nostdin', '-hide_banner', '-v', 'error',
                '-listen', '1', '-i', self.url(), '-c', 'copy', '-f', 'null',
                '-'])


def children(pid):
    try:
        with open(f'/proc/{pid}/task/{pid}/children') as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def nfds(pid):
    try:
        return len(os.listdir(f'/proc/{pid}/fd'))
    except OSError:
        return None


def write_config(t, keys, sinks):
    lines = [f'listen: 127.0.0.1:{t.port}', 'app: live',
             f'state_dir: {t.state_dir}', 'log: { level: info }',
             'streams:']
    for s in STREAMS:
        steady, flappy = sinks[s]
        lines += [f'  {s}:', f'    key: {keys[s]}', '    relays:',
                  f'      steady: {{ url: "{steady.url()}" }}',
                  f'      flappy: {{ url: "{flappy.url()}" }}',
                  f'      rec: {{ url: "file:{t.dir}/{s}-%H%M%S.flv" }}']
    with open(t.conf, 'w') as f:
        f.write('\n'.join(lines) + '\n')


def publisher(t, key, media, seconds, tag):
    return t.spawn(f'pub-{tag}', [
        'ffmpeg', '-nostdin', '-hide_banner', '-v', 'error', '-re',
        '-stream_loop', '-1', '-i', media, '-t', str(seconds), '-c', 'copy',
        '-f', 'flv', t.url(key)])


def relay_states(t):
    out = {}
    for s in STREAMS:
        st = harness.status_stream(t, s)
        for r in (st or {}).get('relays', []) or []:
            out[(s, r.get('name'))] = (r.get('state'), r.get('pid'))
    return out


def body(t):
    if not os.access(os.environ.get('MIRRORING_WORKER', ''), os.X_OK):
        t.fail('$MIRRORING_WORKER is not an executable')
    media = harness.make_media(os.path.join(t.dir, 'src.flv'), 10)
    keys = {s: harness.new_key(s) for s in STREAMS}
    sinks = {s: (Sink(t, f'steady-{s}', harness.new_key('sa')),
                 Sink(t, f'flappy-{s}', harness.new_key('sb')))
             for s in STREAMS}
    all_sinks = [x for pair in sinks.values() for x in pair]
    for k in all_sinks:
        k.keep()
    for k in all_sinks:
        harness.wait_listening(t, k.name, k.p, k.port)
    write_config(t, keys, sinks)
    t.start(harness.asan_env(ASAN_QUARANTINE_MB))
    growth_kib = RSS_GROWTH_KIB + (ASAN_QUARANTINE_MB * 1024 if SLOW > 1
                                   else 0)
    sup = t.sup.pid
    fds_idle = nfds(sup)
    since = t.mark()
    pubs = {s: publisher(t, keys[s], media, SOAK_S + LIVE_AGAIN_S + 30, s)
            for s in STREAMS}
    for s in STREAMS:
        t.wait_log('publish.started', 10, since=since, stream=s)

    stop = threading.Event()

    def keeper():
        while not stop.is_set():
            for k in all_sinks:
                k.keep()
            stop.wait(0.2)
    th = threading.Thread(target=keeper, daemon=True)
    th.start()

    rng = random.Random(1)
    start = time.monotonic()
    next_kill = start + KILL_S
    next_sample = start
    drop_at = start + SOAK_S / 2
    dropped = False
    warm_rss = None
    rss, kills, samples = [], 0, 0
    try:
        while time.monotonic() - start < SOAK_S:
            now = time.monotonic()
            phase = (now - start) % FLAP_S
            for s in STREAMS:
                sinks[s][1].down = FLAP_S - FLAP_DOWN_S <= phase
            if now >= next_kill:
                next_kill += KILL_S
                live = [pid for (st, pid) in relay_states(t).values()
                        if pid]
                if live:
                    os.kill(rng.choice(live), 9)
                    kills += 1
            if not dropped and now >= drop_at:
                # the encoder of cam2 drops and reconnects 2 s later
                dropped = True
                harness.stop_proc(pubs['cam2'], 2, group=True)
                time.sleep(2)
                pubs['cam2'] = publisher(t, keys['cam2'], media,
                                         SOAK_S + LIVE_AGAIN_S, 'cam2b')
            if now >= next_sample:
                next_sample += SAMPLE_S
                kib = harness.rss_kib(sup)
                if kib is not None:
                    rss.append(kib)
                    samples += 1
                    if warm_rss is None and now - start >= 10:
                        warm_rss = max(rss)
            if t.sup.poll() is not None:
                t.fail(f'the supervisor exited ({t.sup.returncode}) '
                       f'{now - start:.0f} s into the soak')
            time.sleep(0.2)
        for k in all_sinks:
            k.down = False
        t.check(t.sup.poll() is None, f'the supervisor ran {SOAK_S} s')
        for s in STREAMS:
            t.check(pubs[s].poll() is None, f'publisher {s} still '
                    'streaming at the end', soft=True)
        print(f'soak: {SOAK_S} s, {kills} workers killed, sinks started '
              f'{sum(k.starts for k in all_sinks)} times, cam2 dropped '
              f'once, RSS samples {samples}')

        end = time.monotonic() + LIVE_AGAIN_S * SLOW
        while True:
            st = relay_states(t)
            bad = {k: v for k, v in st.items() if v[0] != 'live'}
            if len(st) == 3 * len(STREAMS) and not bad:
                break
            if time.monotonic() > end:
                break
            time.sleep(0.5)
        t.check(len(st) == 3 * len(STREAMS) and not bad,
                f'every relay is live again within {LIVE_AGAIN_S * SLOW:g} s'
                ' after the soak', f'not live: {bad}')
        kib = harness.rss_kib(sup)
        warm = warm_rss or rss[0]
        print(f'supervisor RSS: warmed up {warm} KiB, peak {max(rss)} KiB, '
              f'end {kib} KiB')
        t.check(kib is not None and kib - warm <= growth_kib,
                f'supervisor RSS grew at most {growth_kib} KiB after '
                f'warm-up ({warm} -> {kib} KiB)')
        restarts = t.events('relay.exited', since, signal='9')
        t.check(len(restarts) >= kills * 0.8, 'killed workers were '
                f'reported (relay.exited signal=9: {len(restarts)} of '
                f'{kills})', soft=True)
    finally:
        stop.set()
        th.join(5)

    # the publishers stop: every worker exits, nothing is left open
    for p in pubs.values():
        harness.stop_proc(p, 5, group=True)
    end = time.monotonic() + 20 * SLOW
    while children(sup) and time.monotonic() < end:
        time.sleep(0.2)
    left = children(sup)
    t.check(not left, 'no worker process left once the publishers are '
            'gone', str(left))
    fds_end = nfds(sup)
    t.check(fds_end is not None and fds_end <= fds_idle,
            f'no file descriptor leaked (idle {fds_idle}, end {fds_end})')
    zombies = subprocess.run(['ps', '-eo', 'ppid=,stat='], text=True,
                             capture_output=True).stdout.split('\n')
    t.check(not [z for z in zombies if z.split()[:1] == [str(sup)] and
                 'Z' in z], 'no zombie worker')
    for k in all_sinks:
        if k.p is not None and k.p.poll() is None:
            harness.stop_proc(k.p, 2, group=True)
    t.check_eq(t.stop(), 0, 'supervisor exit status on SIGTERM')
    t.check_no_secret(*keys.values(), *[k.key for k in all_sinks])


if __name__ == '__main__':
    harness.run('soak', body)
