#!/usr/bin/env python3
"""GStreamer rtmp2sink publishes 10 s of H.264 + AAC remuxed by
flvdemux ! flvmux, paced in real time by the sink's clock sync.

flvdemux ! flvmux passes each coded frame unchanged (only timestamps may
be rebased), so publish.stopped must count exactly ffprobe's packets and
bytes of the source file."""

import harness


def publisher(t, key, media):
    # flvmux's pads are named: gst-launch cannot link a bare "m." to the
    # second queue ("could not link queue1 to m"), so both are explicit.
    return t.spawn('gst', [
        'gst-launch-1.0', '-q', 'filesrc', f'location={media}', '!',
        'flvdemux', 'name=d',
        'd.video', '!', 'queue', '!', 'm.video',
        'd.audio', '!', 'queue', '!', 'm.audio',
        'flvmux', 'name=m', 'streamable=true', '!',
        'rtmp2sink', f'location={t.url(key)}', 'sync=true'])


harness.publish_test('publish_rtmp2', publisher,
                     prepare=lambda: harness.need_gst_element('rtmp2sink'))
