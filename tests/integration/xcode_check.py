#!/usr/bin/env python3
"""Profiles that cannot work are refused before anything runs:
`mirroring check` exits 1 naming FILE:LINE:COL and the setting for an
unknown encoder, an audio encoder given as video codec, a pixel format
the encoder lacks, an odd size, maxrate below bitrate, and naming the
relay's profile: key for a codec its container cannot carry (Opus into
FLV over rtmp://); the same profile over srt:// (MPEG-TS) passes.  A
reload of such a file is rejected with the same message and the running
configuration stays.  `relay add --profile` takes copy, a config profile
or a preset only if the URL's container carries it; `profile list` shows
them all."""

import json
import os
import signal

import harness

GOOD = '''profiles:
  low:
    video: { codec: libx264, width: 640, height: 360, fps: 30,
             bitrate: 800k, keyint: 2s, pix_fmt: yuv420p }
    audio: { codec: libopus, bitrate: 96k, sample_rate: 48000 }
'''
RELAY = '''key: {key}
relays:
  yt:
    url: "{url}"
    profile: low'''

# (label, replace this in GOOD, with that, url, line:col, path, message)
BROKEN = [
    ('unknown encoder', 'libx264', 'libx999', 'srt://127.0.0.1:9000',
     (7, 21), 'profiles.low.video.codec', 'unknown encoder "libx999"'),
    ('audio encoder as video', 'codec: libx264', 'codec: aac',
     'srt://127.0.0.1:9000', (7, 21), 'profiles.low.video.codec',
     '"aac" is not a video encoder'),
    ('pixel format', 'yuv420p', 'pal8', 'srt://127.0.0.1:9000', (8, 50),
     'profiles.low.video.pix_fmt', 'libx264 cannot encode pixel format '
     'pal8'),
    ('odd width', 'width: 640', 'width: 641', 'srt://127.0.0.1:9000',
     (7, 37), 'profiles.low.video.width', 'must be even'),
    ('maxrate below bitrate', 'keyint: 2s', 'keyint: 2s, maxrate: 500k',
     'srt://127.0.0.1:9000', (8, 50), 'profiles.low.video.maxrate',
     'maxrate (500000 bit/s) is below bitrate (800000 bit/s)'),
    ('opus into flv', None, None, 'rtmp://127.0.0.1:1935/live/abcdefgh',
     (16, 18), 'streams.studio.relays.yt.profile',
     'profile "low": the flv container of this relay cannot carry opus'),
]


def write(t, key, profiles, url):
    t.write_config({'studio': RELAY.format(key=key, url=url)},
                   extra=profiles)


def body(t):
    key = harness.new_key()
    write(t, key, GOOD, 'srt://127.0.0.1:9000')
    r = t.cli('check')
    t.check_eq(r.returncode, 0, 'check: opus over srt (mpegts) is fine',
               r.stderr)
    for label, a, b, url, (line, col), path, msg in BROKEN:
        write(t, key, GOOD.replace(a, b) if a else GOOD, url)
        r = t.cli('check')
        want = f'{t.conf}:{line}:{col}: {path}: '
        print(f'{label}: {r.stderr.strip()}')
        t.check(r.returncode == 1 and r.stderr.startswith(want) and
                msg in r.stderr, f'check refuses {label} at {line}:{col}',
                r.stderr, soft=True)
    # relay add --profile: copy, a config profile or a preset, that the
    # URL's container can carry
    write(t, key, GOOD, 'srt://127.0.0.1:9000')
    for prof, url, ok, what in (
            ('twitch', 'rtmp://127.0.0.1:1935/live/abcdefgh', True, 'a preset'),
            ('low', 'srt://127.0.0.1:9001', True, 'a config profile'),
            ('low', 'rtmp://127.0.0.1:1935/live/abcdefgh', False,
             'opus into flv'),
            ('nosuch', 'rtmp://127.0.0.1:1935/live/abcdefgh', False,
             'an unknown profile')):
        r = t.cli('relay', 'add', 'studio', f'r-{prof}-{ok}', url,
                  '--profile', prof)
        print(f'relay add --profile {prof}: rc {r.returncode} '
              f'{r.stderr.strip()}')
        t.check_eq(r.returncode == 0, ok, f'relay add --profile {prof} '
                   f'({what})', r.stderr)
    r = t.cli('profile', 'list', '--json')
    names = [p['name'] for p in json.loads(r.stdout)] if r.returncode == 0 \
        else []
    t.check_eq(names, ['copy', 'low', 'youtube', 'twitch', 'facebook',
                       'kick'], 'profile list: copy, the file\'s, presets')
    # reload: rejected whole, the running config stays
    write(t, key, GOOD, 'srt://127.0.0.1:9000')
    t.start()
    mark = t.mark()
    write(t, key, GOOD.replace('libx264', 'libx999'), 'srt://127.0.0.1:9000')
    os.kill(t.sup.pid, signal.SIGHUP)
    rej = t.wait_log('config.rejected', 10, since=mark)
    t.check(f'{t.conf}:7:21: profiles.low.video.codec: unknown encoder'
            in rej.get('err', ''), 'reload rejected naming the line',
            str(rej))
    t.check_eq(t.events('config.reloaded', mark), [],
               'the running configuration stays')
    t.check_eq(t.stop(), 0, 'supervisor exit status on SIGTERM')


if __name__ == '__main__':
    harness.run('xcode_check', body)
