#!/usr/bin/env python3
"""tests/tools/rtmp_publish (librtmp, as OBS uses it: no Set Chunk Size,
audio and video interleaved on one chunk stream) publishes the source FLV
tag by tag in real time; publish.stopped counts every packet."""

import os

import harness


def publisher(t, key, media):
    if not os.access(harness.RTMP_PUBLISH, os.X_OK):
        t.fail('$RTMP_PUBLISH is not an executable')
    return t.spawn('rtmp_publish', [harness.RTMP_PUBLISH, t.url(key), media])


harness.publish_test('publish_librtmp', publisher)
