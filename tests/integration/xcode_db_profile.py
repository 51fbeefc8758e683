#!/usr/bin/env python3
"""Profiles kept in the database: `mirroring profile add` checks the
settings like a profiles: entry (an unknown encoder, an odd size, a name
the presets use are refused with the setting's column), `profile list`
shows them beside the YAML's and the presets, `relay add --profile` takes
them only where the URL's container can carry them, `profile rm` is
refused while a relay uses one, and a CLI relay on a database profile
really transcodes a publish to it."""

import json
import os

import harness
from harness import make_media, probe_counts

LOW = ('{ video: { codec: libx264, width: 320, height: 180, fps: 30, '
       'bitrate: 300k, preset: ultrafast, keyint: 1s }, '
       'audio: { codec: aac, bitrate: 64k, sample_rate: 48000 } }')


def body(t):
    media = make_media(os.path.join(t.dir, 'src.flv'), seconds=8)
    counts = probe_counts(media)
    key = harness.new_key()
    skey = harness.new_key('sinkkey')
    port = harness.free_port()
    out = os.path.join(t.dir, 'x.flv')
    url = f'rtmp://127.0.0.1:{port}/live/{skey}'
    t.write_config({'studio': key})
    r = t.cli('profile', 'add', 'low', LOW)
    t.check_eq(r.returncode, 0, 'profile add low', r.stderr)
    for name, spec, want in (
            ('bad', '{ video: { codec: libx999 } }',
             'profiles.bad: unknown encoder "libx999"'),
            ('odd', '{ video: { codec: libx264, width: 641 } }',
             'settings:1:35: profiles.odd.video.width: impossible size '
             '"641": must be even'),
            ('twitch', '{ video: copy }', 'name taken "twitch"'),
            ('low', '{ video: copy }', 'profile exists')):
        r = t.cli('profile', 'add', name, spec)
        t.check(r.returncode == 1 and want in r.stderr,
                f'profile add {name} refused: {want}', r.stderr, soft=True)
    r = t.cli('profile', 'add', 'op', '{ audio: { codec: libopus } }')
    t.check_eq(r.returncode, 0, 'profile add op (opus)', r.stderr)
    r = t.cli('profile', 'list', '--json')
    rows = {p['name']: p for p in json.loads(r.stdout)} \
        if r.returncode == 0 else {}
    t.check_eq((rows.get('low', {}).get('source'),
                rows.get('low', {}).get('video')),
               ('cli', 'libx264 320x180 30fps 300k keyint 1000ms ultrafast'),
               'profile list shows low from the database')
    t.check('youtube' in rows and rows['youtube']['source'] == 'preset',
            'profile list shows the presets')
    r = t.cli('relay', 'add', 'studio', 'o', url, '--profile', 'op')
    t.check(r.returncode == 1 and 'cannot carry opus' in r.stderr,
            'relay add: a database profile with Opus refused over rtmp://',
            r.stderr)
    r = t.cli('relay', 'add', 'studio', 'x', url, '--profile', 'low')
    t.check_eq(r.returncode, 0, 'relay add --profile low', r.stderr)
    r = t.cli('profile', 'rm', 'low')
    t.check(r.returncode == 1 and 'used by relay studio/x' in r.stderr,
            'profile rm refused while relay studio/x uses it', r.stderr)

    sink = harness.start_rtmp_sink(t, 'sink', port, skey, out)
    t.start()
    mark = t.mark()
    pub = t.publish_ffmpeg('ffmpeg', key, media)
    harness.expect_publish(t, pub, key, counts, since=mark, media_s=8)
    t.wait_log('relay.exited', 30, since=mark, proc='supervisor', relay='x')
    t.check_eq(t.wait_exit(sink, 15), 0, 'sink exit status')
    o = harness.probe_av(out)
    v, a = o['streams'].get('video', {}), o['streams'].get('audio', {})
    print(f'x.flv: {v.get("codec_name")} {v.get("width")}x{v.get("height")}'
          f' {len(o["video"])} frames, {a.get("codec_name")} '
          f'{a.get("sample_rate")}')
    t.check_eq((v.get('codec_name'), v.get('width'), v.get('height'),
                a.get('codec_name'), a.get('sample_rate')),
               ('h264', 320, 180, 'aac', '48000'),
               'the CLI relay transcoded to the database profile')
    t.check(len(o['video']) >= 230, f'the whole publish '
            f'({len(o["video"])} frames of 240)')
    t.check_eq(t.stop(), 0, 'supervisor exit status on SIGTERM')
    r = t.cli('relay', 'rm', 'studio', 'x')
    r = t.cli('profile', 'rm', 'low')
    t.check_eq(r.returncode, 0, 'profile rm once unused', r.stderr)
    t.check_no_secret(key, skey)


if __name__ == '__main__':
    harness.run('xcode_db_profile', body)
