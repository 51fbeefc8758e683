#!/usr/bin/env python3
"""mirroring-copy against a real ingest server: nginx-rtmp (Debian's
libnginx-mod-rtmp) with `record all`.  One copy relay publishes to its
`live` application: nginx accepts the publish and its recording is
packet-identical (size + MD5 of every audio and video packet) to the
source from its first keyframe to its end, a player pulling from nginx
gets the onMetaData the worker made from the sequence headers, and the
worker closes the
session cleanly (FCUnpublish, deleteStream: nginx logs no error for it)
and exits 0.  A second relay names an application nginx does not have:
nginx drops the connection during connect, which the worker classes as
`refused` (not `network`) and backs off the longest (backoff_max, 30 s
+-25 %) instead of retrying fast; the first relay is not disturbed."""

import os
import json
import shutil
import subprocess
import time

import harness
from harness import free_port

RTMP_MODULE = '/usr/lib/nginx/modules/ngx_rtmp_module.so'


def start_nginx(t, port, rec_dir):
    nginx = shutil.which('nginx') or '/usr/sbin/nginx'
    if not os.access(nginx, os.X_OK) or not os.path.exists(RTMP_MODULE):
        raise harness.Skip('needs nginx and libnginx-mod-rtmp '
                           '(scripts/setup --test)')
    d = os.path.join(t.dir, 'nginx')
    os.makedirs(d)
    # as root, nginx's worker would be nobody, who cannot enter t.dir
    user = 'user root root;\n' if os.geteuid() == 0 else ''
    conf = os.path.join(d, 'nginx.conf')
    with open(conf, 'w') as f:
        f.write(f'''load_module {RTMP_MODULE};
{user}worker_processes 1;
error_log {d}/error.log info;
pid {d}/nginx.pid;
events {{ worker_connections 64; }}
rtmp {{
    server {{
        listen 127.0.0.1:{port};
        application live {{
            live on;
            meta copy;
            record all;
            record_path {rec_dir};
            record_unique off;
        }}
    }}
}}
''')
    p = t.spawn('nginx', [nginx, '-p', d, '-c', conf, '-g', 'daemon off;'])
    harness.wait_listening(t, 'nginx', p, port)
    return p, os.path.join(d, 'error.log')


def settled(path, deadline=10):
    """The size of nginx's recording once it stopped growing (-1: none)."""
    size, end = -1, time.monotonic() + deadline * harness.SLOW
    while time.monotonic() < end:
        now = os.path.getsize(path) if os.path.exists(path) else -1
        if now > 0 and now == size:
            break
        size = now
        time.sleep(0.5)
    return size


def body(t):
    media, counts, key = harness.relay_source(t)
    port = free_port()
    rec_dir = os.path.join(t.dir, 'rec')
    os.makedirs(rec_dir)
    sink_key = harness.new_key('nginxkey')
    bad_key = harness.new_key('badkey')
    nginx, errlog = start_nginx(t, port, rec_dir)
    t.write_config({'studio': f'''key: {key}
relays:
  nginx: {{ url: "rtmp://127.0.0.1:{port}/live/{sink_key}" }}
  wrongapp: {{ url: "rtmp://127.0.0.1:{port}/nosuchapp/{bad_key}" }}
'''})
    t.start()
    mark = t.mark()
    pub = t.publish_ffmpeg('ffmpeg', key, media)

    def on_live(t, started):
        live = t.wait_log('relay.live', 10, since=mark, proc='worker',
                          relay='nginx')
        t.check_eq(live.get('writer'), 'copy', 'the relay to nginx runs '
                   'in mirroring-copy')
        failed = t.wait_log('relay.failed', 10, since=mark, proc='worker',
                            relay='wrongapp')
        print(f'relay.failed: {failed}')
        t.check_eq(failed.get('class'), 'refused', 'a wrong application '
                   'is a refusal, not a network failure')
        back = t.wait_log('relay.backoff', 5, since=mark, proc='worker',
                          relay='wrongapp')
        t.check(int(back.get('delay_ms', '0')) >= 22500, 'a refusal backs '
                'off the longest (30 s +-25 %)', back.get('delay_ms'))
        # nginx passes the relay's onMetaData on to a player (meta copy)
        r = subprocess.run(['ffprobe', '-v', 'error', '-show_format', '-of',
                            'json', f'rtmp://127.0.0.1:{port}/live/'
                            f'{sink_key}'], capture_output=True, text=True,
                           timeout=30)
        tags = json.loads(r.stdout or '{}').get('format', {}).get('tags', {})
        # (ffmpeg keeps width, height, codec ids for itself, not as tags)
        t.check(tags.get('encoder') == 'mirroring-copy', 'a player pulling from nginx '
                'gets the onMetaData mirroring-copy made from the sequence '
                'headers', str(tags) + r.stderr[-200:], soft=True)
        s = harness.wait_status(
            t, lambda s: (harness.status_relay(s, 'wrongapp') or {})
            .get('state') == 'backoff', 10, 'relay wrongapp in backoff')
        t.check('closed' in (harness.status_relay(s, 'wrongapp') or {})
                .get('last_error', ''), 'status --json last_error says the '
                'server closed the connection',
                str(harness.status_relay(s, 'wrongapp')))

    harness.expect_publish(t, pub, key, counts, since=mark, on_live=on_live)
    ex = t.wait_log('relay.exited', 20, since=mark, proc='supervisor',
                    relay='nginx')
    t.check_eq(ex.get('code'), '0', 'the nginx relay\'s worker exited 0 '
               'after EOS')
    t.check_eq(len(t.events('relay.live', mark, proc='worker',
                            relay='nginx')), 1,
               'one destination session for the publish')
    rec = os.path.join(rec_dir, sink_key + '.flv')
    # the worker has closed its socket: nginx finishes the file soon after
    t.check(settled(rec) > 0, 'nginx recorded the relay', rec)
    harness.check_relayed(t, 'nginx-rtmp recording', media, rec)

    with open(errlog) as f:
        errs = [ln for ln in f if '[error]' in ln or '[crit]' in ln or
                '[alert]' in ln]
    t.check(not errs, 'nginx logged no error', ''.join(errs[:3]))
    t.check_no_secret(key, sink_key, bad_key)


if __name__ == '__main__':
    harness.run('relay_nginx', body)
