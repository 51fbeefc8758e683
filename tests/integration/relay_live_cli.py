#!/usr/bin/env python3
"""Relays changed with the CLI while a publish is live: `relay add` starts
a worker at once and its recording starts at a keyframe and is
packet-identical from there; `relay disable` stops only that worker; the
YAML relay keeps its one worker throughout and records every packet; a
relay added to a key that is not live starts nothing until it publishes;
`key disable` ends the publish and all its relays."""

import glob
import os

import harness
from harness import SLOW, make_media, probe_counts


def body(t):
    media = make_media(os.path.join(t.dir, 'src.flv'), seconds=12)
    counts = probe_counts(media)
    key = harness.new_key()
    rec = os.path.join(t.dir, 'yaml.flv')
    added = os.path.join(t.dir, 'added.flv')
    t.write_config({'studio': f'''key: {key}
relays:
  yaml: {{ url: "file:{rec}" }}
'''})
    t.start()
    mark = t.mark()
    pub = t.publish_ffmpeg('ffmpeg', key, media)

    def on_live(t, started):
        t.wait_log('relay.state', 10, since=mark, relay='yaml', state='live')
        # let a few GOPs pass so the added relay starts mid-stream
        t.wait_log('relay.stats', 15, since=mark, relay='yaml')
        m = t.mark()
        r = t.cli('relay', 'add', 'studio', 'added', f'file:{added}')
        t.check_eq(r.returncode, 0, 'relay add during the publish',
                   r.stderr)
        sp = t.wait_log('relay.spawned', 1 * SLOW, since=m, relay='added')
        t.check_eq(sp.get('attempt'), '1', 'the added relay started at once')
        t.wait_log('relay.state', 10, since=m, relay='added', state='live')
        m = t.mark()
        r = t.cli('relay', 'disable', 'studio', 'added')
        t.check_eq(r.returncode, 0, 'relay disable during the publish',
                   r.stderr)
        st = t.wait_log('relay.stopping', 1 * SLOW, since=m, relay='added')
        t.check_eq(st.get('reason'), 'disabled', 'relay.stopping reason')
        ex = t.wait_log('relay.exited', 10 * SLOW, since=m, relay='added')
        t.check_eq(ex.get('code'), '0', 'the disabled relay exits cleanly')
        s = harness.status_stream(t)
        t.check(s is not None and harness.status_relay(s, 'added') is None,
                'status no longer lists the disabled relay', str(s))

    harness.expect_publish(t, pub, key, counts, since=mark, on_live=on_live)
    ex = t.wait_log('relay.exited', 10 * SLOW, since=mark, relay='yaml')
    t.check_eq(ex.get('code'), '0', 'the YAML relay exits 0 at the end')
    t.check_eq(len(t.events('relay.spawned', mark, relay='yaml')), 1,
               'the YAML relay was never restarted by the CLI changes')
    harness.check_relayed(t, 'yaml relay', media, rec)
    harness.check_segment(t, 'added relay (mid-stream)', media, added)

    # a relay of a stream that is not live waits for its publish
    m = t.mark()
    r = t.cli('relay', 'enable', 'studio', 'added')
    t.check_eq(r.returncode, 0, 'relay enable while offline', r.stderr)
    t.wait_log('keys.loaded', 5 * SLOW, since=m)
    t.check_eq(t.events('relay.spawned', m), [],
               'no worker for a stream that is not live')

    # key disable ends the publish and every relay of it
    os.remove(added)
    m = t.mark()
    pub = t.publish_ffmpeg('ffmpeg2', key, media)
    t.wait_log('relay.state', 15 * SLOW, since=m, relay='added', state='live')
    t.wait_log('relay.state', 15 * SLOW, since=m, relay='yaml', state='live')
    r = t.cli('key', 'disable', 'studio')
    t.check_eq(r.returncode, 0, 'key disable', r.stderr)
    stopped = t.wait_log('publish.stopped', 1 * SLOW, since=m)
    t.check_eq(stopped.get('reason'), 'key disabled', 'publish ended')
    for name in ('yaml', 'added'):
        ex = t.wait_log('relay.exited', 10 * SLOW, since=m, relay=name)
        t.check_eq(ex.get('code'), '0', f'relay {name} ended with the key')
    t.wait_exit(pub, 10 * SLOW)
    t.check(len(glob.glob(added)) == 1, 'the re-enabled relay recorded')
    t.check_eq(t.stop(), 0, 'supervisor exit status on SIGTERM')
    t.check_no_secret(key)


if __name__ == '__main__':
    harness.run('relay_live_cli', body)
