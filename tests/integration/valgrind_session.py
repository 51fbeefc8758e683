#!/usr/bin/env python3
"""A short session with the supervisor and its workers all under valgrind
memcheck: ffmpeg publishes 10 s, a file relay records it (mirroring-worker)
and a copy relay sends it to an RTMP sink (mirroring-copy), the supervisor
is stopped with SIGTERM.  Every valgrind report says 0 errors and nothing
definitely or indirectly lost, every process exits 0, and both recordings
are still packet-identical to the source (valgrind changed only the
speed).
Registered for the normal build only: valgrind cannot run ASan binaries."""

import glob
import os
import re
import stat

import harness
from harness import make_media, probe_counts

MEDIA_S = 10
VG = ['valgrind', '--tool=memcheck', '--error-exitcode=99',
      '--leak-check=full', '--show-leak-kinds=definite,indirect',
      '--errors-for-leak-kinds=definite,indirect', '--track-fds=no',
      '--child-silent-after-fork=yes']


def wrapper(t, name, real):
    """A script that runs real under valgrind, one report per pid."""
    path = os.path.join(t.dir, name)
    log = os.path.join(t.dir, f'vg-{name}-%p.log')
    with open(path, 'w') as f:
        f.write('#!/bin/sh\nexec ' + ' '.join(VG) +
                f' --log-file={log} {real} "$@"\n')
    os.chmod(path, stat.S_IRWXU)
    return path


def check_report(t, path):
    with open(path, encoding='utf-8', errors='replace') as f:
        text = f.read()
    name = os.path.basename(path)
    m = re.search(r'ERROR SUMMARY: (\d+) errors', text)
    t.check(m is not None and m.group(1) == '0',
            f'{name}: ERROR SUMMARY: 0 errors',
            m.group(0) if m else 'no summary (did it exit?)')
    for kind in ('definitely', 'indirectly'):
        m = re.search(kind + r' lost: ([\d,]+) bytes', text)
        t.check(m is None or m.group(1) == '0', f'{name}: {kind} lost 0',
                m.group(0) if m else '')


def body(t):
    harness.need_tools('valgrind')
    real_worker = os.environ.get('MIRRORING_WORKER', '')
    if not os.access(real_worker, os.X_OK):
        t.fail('$MIRRORING_WORKER is not an executable')
    media = make_media(os.path.join(t.dir, 'src.flv'), MEDIA_S)
    counts = probe_counts(media)
    key = harness.new_key()
    rec = os.path.join(t.dir, 'rec.mkv')
    sink_port, sink_key = harness.free_port(), harness.new_key('sinkkey')
    sink_out = os.path.join(t.dir, 'sink.flv')
    sink = harness.start_rtmp_sink(t, 'sink', sink_port, sink_key, sink_out)
    t.write_config({'studio': f'''key: {key}
relays:
  rec: {{ url: "file:{rec}" }}
  sink: {{ url: "rtmp://127.0.0.1:{sink_port}/live/{sink_key}" }}
'''})
    harness.MIRRORING = wrapper(t, 'supervisor', harness.MIRRORING)
    harness.SLOW = 3.0  # deadlines as for a sanitizer build
    # the supervisor finds its worker through $MIRRORING_WORKER
    env = {'MIRRORING_WORKER': wrapper(t, 'worker', real_worker),
           'MIRRORING_COPY_WORKER': wrapper(t, 'copy', os.path.join(
               os.path.dirname(real_worker), 'mirroring-copy'))}
    t.start(env=env)
    mark = t.mark()
    pub = t.publish_ffmpeg('ffmpeg', key, media)
    harness.expect_publish(t, pub, key, counts, since=mark, media_s=MEDIA_S)
    for relay in ('rec', 'sink'):
        ex = t.wait_log('relay.exited', 60, since=mark, proc='supervisor',
                        relay=relay)
        t.check_eq(ex.get('code'), '0', f'{relay}\'s worker under valgrind '
                   'exited 0 (99 would be a valgrind error)')
    t.check_eq(t.wait_exit(sink, 15), 0, 'sink exit status')
    t.check_eq(t.stop(), 0, 'supervisor under valgrind exited 0 on SIGTERM')
    reports = sorted(glob.glob(os.path.join(t.dir, 'vg-*.log')))
    names = [os.path.basename(r) for r in reports]
    t.check(all(any(n.startswith(f'vg-{w}-') for n in names)
                for w in ('supervisor', 'worker', 'copy')),
            'a valgrind report for the supervisor and for each worker',
            str(names))
    for r in reports:
        check_report(t, r)
    harness.check_relayed(t, 'file relay under valgrind', media, rec)
    harness.check_relayed(t, 'copy relay under valgrind', media, sink_out)
    t.check_no_secret(key)


if __name__ == '__main__':
    harness.run('valgrind_session', body)
