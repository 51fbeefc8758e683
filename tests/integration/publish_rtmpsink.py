#!/usr/bin/env python3
"""GStreamer rtmpsink (librtmp, as OBS) publishes 10 s of H.264 + AAC
remuxed by flvdemux ! flvmux: publish.stopped must count exactly
ffprobe's packets and bytes of the source file."""

import harness

harness.gst_publish_test('publish_rtmpsink', 'rtmpsink')
