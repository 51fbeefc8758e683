#!/usr/bin/env python3
"""ffmpeg publishes 10 s of H.264 + AAC with -c copy: status --json shows
the stream while live, and publish.stopped counts every packet ffprobe
sees in the source."""

import json
import time

import harness


def check_status(t, started):
    deadline = time.monotonic() + 10 * harness.SLOW
    polls = 0
    while True:
        r = t.cli('status', '--json')
        polls += 1
        if r.returncode != 0:
            t.fail(f'status --json exit status {r.returncode}: {r.stderr}')
        try:
            doc = json.loads(r.stdout)
        except ValueError:
            t.fail(f'status --json is not JSON: {r.stdout!r}')
        streams = [s for s in doc.get('streams', [])
                   if s.get('name') == 'studio']
        if streams and streams[0].get('video', {}).get('fps') and \
                streams[0].get('video_frames', 0) > 0:
            break
        if time.monotonic() > deadline:
            t.fail(f'status --json never showed studio live: {r.stdout}')
        time.sleep(0.2)
    s = streams[0]
    print(f'status --json ({polls} polls): {json.dumps(s)}')
    t.check_eq(s.get('key'), harness.mask(t.key), 'status key masked')
    t.check_eq(s.get('client'), started['client'], 'status client')
    v, a = s.get('video', {}), s.get('audio', {})
    t.check_eq(v.get('codec'), 'h264', 'status video.codec')
    t.check_eq(v.get('width'), 640, 'status video.width')
    t.check_eq(v.get('height'), 360, 'status video.height')
    t.check(29 <= v.get("fps", 0) <= 31,
            f'status video.fps ~30 ({v.get("fps")})')
    t.check_eq(a.get('codec'), 'aac', 'status audio.codec')
    t.check_eq(a.get('rate'), 44100, 'status audio.rate')
    t.check_eq(a.get('channels'), 2, 'status audio.channels')
    t.check(isinstance(s.get('uptime_s'), (int, float)), 'status uptime_s')
    t.check(s.get('ingest_kbps', 0) > 0,
            f'status ingest_kbps > 0 ({s.get("ingest_kbps")})')
    t.check(s.get('audio_frames', 0) > 0, 'status audio_frames > 0')


def publisher(t, key, media):
    t.key = key
    return t.publish_ffmpeg('ffmpeg', key, media)


harness.publish_test('publish_ffmpeg', publisher, on_live=check_status)
