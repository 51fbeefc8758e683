#!/usr/bin/env python3
"""MIRRORING_COPY_WORKER=off: a copy relay to rtmp:// runs in
mirroring-worker (relay.spawned worker=full, relay.live writer=libav)
and its sink still gets every audio and video packet byte for byte."""

import os

import harness
from harness import free_port


def body(t):
    media, counts, key = harness.relay_source(t)
    sink_key = harness.new_key('sinkkey')
    sink_port = free_port()
    sink_out = os.path.join(t.dir, 'sink.flv')
    t.write_config({'studio': f'''key: {key}
relays:
  sink: {{ url: "rtmp://127.0.0.1:{sink_port}/live/{sink_key}" }}
'''})
    sink = harness.start_rtmp_sink(t, 'sink', sink_port, sink_key, sink_out)
    t.start(env={'MIRRORING_COPY_WORKER': 'off'})
    mark = t.mark()
    pub = t.publish_ffmpeg('ffmpeg', key, media)

    def on_live(t, started):
        sp = t.wait_log('relay.spawned', 10, since=mark, proc='supervisor',
                        relay='sink')
        t.check_eq(sp.get('worker'), 'full', 'the relay runs in '
                   'mirroring-worker')
        live = t.wait_log('relay.live', 10, since=mark, proc='worker',
                          relay='sink')
        t.check_eq(live.get('writer'), 'libav', 'through libavformat')

    harness.expect_publish(t, pub, key, counts, since=mark, on_live=on_live)
    ex = t.wait_log('relay.exited', 15, since=mark, proc='supervisor',
                    relay='sink')
    t.check_eq(ex.get('code'), '0', 'relay.exited code')
    t.check_eq(t.wait_exit(sink, 15), 0, 'RTMP sink exit status')
    harness.check_relayed(t, 'rtmp sink', media, sink_out)
    t.check_no_secret(key, sink_key)


if __name__ == '__main__':
    harness.run('relay_copy_off', body)
