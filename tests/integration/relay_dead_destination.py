#!/usr/bin/env python3
"""A relay to a port nobody listens on: the publish is not disturbed (its
counters equal ffprobe's and it runs in real time), status --json shows
the relay connecting or in backoff with reconnects and the last error,
and relay.stats lines tell the story in the log.  The media lasts 15 s so
that at least one 10 s relay.stats interval ends while it is live."""

import os

import harness
from harness import free_port

MEDIA_S = 15
WAITING = ('connecting', 'backoff')


def body(t):
    media, counts, key = harness.relay_source(t, MEDIA_S)
    dead_key = harness.new_key('deadkey')
    t.write_config({'studio': f'''key: {key}
relays:
  dead: {{ url: "rtmp://127.0.0.1:{free_port()}/live/{dead_key}" }}
'''})
    t.start()
    mark = t.mark()
    pub = t.publish_ffmpeg('ffmpeg', key, media)

    def on_live(t, started):
        t.wait_log('relay.spawned', 10, since=mark, proc='supervisor',
                   stream='studio', relay='dead', attempt='1')

        def waiting(s):
            r = harness.status_relay(s, 'dead') or {}
            return r.get('state') in WAITING and \
                r.get('reconnects', 0) > 0 and r.get('last_error')
        s = harness.wait_status(t, waiting, 10, 'relay dead connecting or '
                                'in backoff with reconnects and last_error')
        r = harness.status_relay(s, 'dead')
        print(f'status --json relay: {r}')
        t.check(True, f'status --json: relay {r["state"]}, reconnects='
                f'{r["reconnects"]}, last_error={r["last_error"]!r}')
        t.check_eq(r.get('bytes_out'), 0, 'status relay bytes_out',
                   soft=True)
        t.check_eq(r.get('restarts'), 0, 'status relay restarts (the '
                   'worker retries, it does not die)', soft=True)
        t.check(s.get('video_frames', 0) > 0, 'the stream is live in '
                'status --json', soft=True)
        st = t.wait_log('relay.stats', 12, since=mark, proc='supervisor',
                        stream='studio', relay='dead')
        print(f'relay.stats: {st}')
        for f in ('state', 'kbps', 'fps', 'bytes_out', 'dropped',
                  'reconnects'):
            t.check(f in st, f'relay.stats has {f}=', soft=True)
        t.check(st.get('state') in WAITING, f'relay.stats state='
                f'{st.get("state")} is connecting or backoff', soft=True)
        t.check(st.get('reconnects', '0').isdigit() and
                int(st['reconnects']) > 0,
                f'relay.stats reconnects={st.get("reconnects")} > 0',
                soft=True)
        states = {e.get('state') for e in t.events(
            'relay.state', mark, proc='supervisor', relay='dead')}
        t.check(set(WAITING) <= states, 'relay.state connecting and '
                'backoff logged', str(states), soft=True)
        t.check('live' not in states, 'relay.state never live', str(states),
                soft=True)

    harness.expect_publish(t, pub, key, counts, since=mark,
                           media_s=MEDIA_S, on_live=on_live)
    ex = t.wait_log('relay.exited', 10, since=mark, proc='supervisor',
                    stream='studio', relay='dead')
    t.check_eq(ex.get('code'), '0', 'relay.exited code after EOS',
               soft=True)
    t.check('restart_in_ms' not in ex, 'relay.exited without restart_in_ms',
            str(ex), soft=True)
    t.check_eq(len(t.events('relay.spawned', mark, relay='dead',
                            proc='supervisor')), 1,
               'one worker for the whole publish', soft=True)
    t.check_eq(t.stop(), 0, 'supervisor exit status on SIGTERM')
    t.check_no_secret(key, dead_key)


if __name__ == '__main__':
    harness.run('relay_dead_destination', body)
