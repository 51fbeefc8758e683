#!/usr/bin/env python3
"""`mirroring check`: valid configs print "FILE: ok" and exit 0; each
broken config exits 1 with "FILE:LINE:COL: path: message" on stderr,
pointing at the offending key (unknown keys) or value (bad values)."""

import os

import harness

ENV_SET = 'MIRRORING_TEST_STUDIO_KEY'
ENV_UNSET = 'MIRRORING_TEST_SURELY_UNSET_VAR'
KEY = 'studio-key-0123456789'

# (label, stream body, extra top-level lines, expected line:col, path)
# The base file puts `streams:` on line 5, `studio:` on 6 and the stream
# body from line 7; extra lines go before `streams:` (top = line 1..).
VALID = [
    ('inline key', f'key: {KEY}', None),
    ('${ENV} key', f'key: ${{{ENV_SET}}}', None),
    ('key_file 0600', 'key_file: {keyfile}', None),
    ('relay with copy profile',
     f'key: {KEY}\nrelays:\n  youtube:\n'
     '    url: rtmp://a.rtmp.youtube.com/live2/abcd-efgh-ijkl-mnop\n'
     '    profile: copy', None),
]

BROKEN = [
    ('unknown key in a stream', f'key: {KEY}\ncolour: blue', None,
     (8, 5), 'streams.studio'),
    ('unknown top-level key', f'key: {KEY}', 'bogus: 1', (5, 1), ''),
    ('bad port', f'key: {KEY}', None, (1, 9), 'listen'),
    ('unknown profile on a relay',
     f'key: {KEY}\nrelays:\n  youtube:\n'
     '    url: rtmp://a.rtmp.youtube.com/live2/abcd-efgh-ijkl-mnop\n'
     '    profile: 720p-nonexistent', None,
     (11, 18), 'streams.studio.relays.youtube.profile'),
    ('unset ${ENV}', f'key: ${{{ENV_UNSET}}}', None, (7, 10),
     'streams.studio.key'),
    ('short key', 'key: abc', None, (7, 10), 'streams.studio.key'),
    ('key with a space', 'key: "studio key 0123456789"', None, (7, 10),
     'streams.studio.key'),
    ('key_file mode 0644', 'key_file: {keyfile644}', None, (7, 15),
     'streams.studio.key_file'),
    ('YAML syntax error', f'key: {KEY}', 'app2: @live', (5, 7), ''),
]


def write(t, name, body, extra, port=None):
    port = t.port if port is None else port
    lines = [f'listen: 127.0.0.1:{port}', 'app: live',
             f'state_dir: {t.state_dir}',
             'log: { level: debug, format: logfmt }']
    if extra:
        lines.append(extra)
    lines += ['streams:', '  studio:']
    body = body.replace('{keyfile}', t.keyfile).replace('{keyfile644}',
                                                        t.keyfile644)
    lines += ['    ' + l for l in body.split('\n')]
    path = os.path.join(t.dir, name.replace(' ', '_').replace('$', '')
                        .replace('{', '').replace('}', '') + '.yaml')
    with open(path, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    return path


def body(t):
    t.keyfile = os.path.join(t.dir, 'studio.key')
    t.keyfile644 = os.path.join(t.dir, 'studio644.key')
    for path, mode in ((t.keyfile, 0o600), (t.keyfile644, 0o644)):
        with open(path, 'w') as f:
            f.write(KEY + '\n')
        os.chmod(path, mode)
    env = {ENV_SET: KEY}
    os.environ.pop(ENV_UNSET, None)

    for label, stream, extra in VALID:
        path = write(t, label, stream, extra)
        r = t.cli('check', '-c', path, env=env)
        t.check(r.returncode == 0 and r.stdout.strip() == f'{path}: ok',
                f'valid ({label}): exit 0 and "FILE: ok"',
                f'exit {r.returncode} stdout={r.stdout!r} '
                f'stderr={r.stderr!r}', soft=True)

    for label, stream, extra, (line, col), where in BROKEN:
        if label == 'bad port':
            path = write(t, label, stream, extra, port=99999)
        else:
            path = write(t, label, stream, extra)
        r = t.cli('check', '-c', path, env=env)
        prefix = f'{path}:{line}:{col}: '
        err = r.stderr.strip().split('\n')[0] if r.stderr.strip() else ''
        ok = r.returncode == 1 and err.startswith(prefix) and \
            (not where or err[len(prefix):].startswith(where))
        t.check(ok, f'broken ({label}): exit 1, '
                f'"{os.path.basename(path)}:{line}:{col}: {where}..."',
                f'exit {r.returncode} stderr={r.stderr!r}', soft=True)
        print(f'     {err[len(path):]}')
        t.check(KEY not in r.stderr + r.stdout,
                f'broken ({label}): no raw key in the output', soft=True)

    r = t.cli('check', '-c', os.path.join(t.dir, 'missing.yaml'))
    t.check_eq(r.returncode, 1, 'missing file: exit status', soft=True)


harness.run('config_check', body, tools=())
