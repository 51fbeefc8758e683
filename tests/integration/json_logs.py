#!/usr/bin/env python3
"""`log: { format: json }` writes one JSON object per line, valid UTF-8,
even when a client sends invalid UTF-8 and control characters; secrets
(stream keys, a token in the app name) never reach the log."""

import json
import os
import types

import harness
from harness import RawRtmp, amf_num, amf_obj, amf_str, chunk_msg

MEDIA_S = 5
TOKEN = 'SECRETTOKEN123'
FIELDS = ('ts', 'level', 'proc', 'pid', 'event')


def json_events(t, event, since=0, **fields):
    """Test.events for a JSON log (lines that do not parse are skipped
    here; the end of the test checks them all)."""
    out = []
    for line in t.log_lines()[since:]:
        try:
            f = json.loads(line)
        except ValueError:
            continue
        if isinstance(f, dict) and f.get('event') == event and \
                harness._match(f, fields):
            out.append(f)
    return out


def hostile_connect(t):
    flash = b'FMLE/3.0 \xff\xfe \x01\x1b[31m\x7f\ttab"q\\'
    app = f'live?token={TOKEN}'
    cmd = amf_str('connect') + amf_num(1) + amf_obj([
        ('app', amf_str(app)), ('type', amf_str('nonprivate')),
        ('flashVer', amf_str(flash)),
        ('tcUrl', amf_str(f'rtmp://127.0.0.1:{t.port}/{app}'))])
    since = t.mark()
    c = RawRtmp(t.port)
    conn = t.wait_log('conn.accepted', 5, since=since, addr=c.addr)['conn']
    c.handshake()
    c.send(chunk_msg(3, 20, cmd))
    ev = t.wait_log('session.connect', 5, since=since, conn=conn)
    shown = ev.get('flashver', '')
    t.check(shown.startswith('FMLE/3.0 '), 'session.connect flashver logged',
            repr(shown))
    # \t and \n are JSON escapes of the client's own; the rest show as \xNN
    t.check(all(ch >= ' ' and ch != '\x7f' or ch in '\t\n' for ch in shown),
            'flashver has no other control characters once decoded',
            repr(shown))
    t.check('\\xff\\xfe' in shown and '\\x1b' in shown,
            'invalid UTF-8 and ESC shown as \\xNN', repr(shown))
    t.check(ev.get('app', '').startswith('live?'),
            'session.connect app keeps its name', repr(ev.get('app')))
    c.close()
    t.wait_log('conn.closed', 5, since=since, conn=conn)


def body(t):
    t.events = types.MethodType(json_events, t)
    media = harness.make_media(os.path.join(t.dir, 'src.flv'), MEDIA_S)
    counts = harness.probe_counts(media)
    key = harness.new_key()
    t.write_config({'studio': key})
    with open(t.conf) as f:
        conf = f.read()
    with open(t.conf, 'w') as f:
        f.write(conf.replace('format: logfmt', 'format: json'))
    t.start()

    hostile_connect(t)
    since = t.mark()
    p = t.publish_ffmpeg('ffmpeg', key, media)
    started = t.wait_log('publish.started', 10, since=since)
    t.check_eq(started.get('stream'), 'studio', 'publish.started stream')
    harness.expect_publish(t, p, key, counts, since=since, media_s=MEDIA_S)
    t.check_eq(t.stop(), 0, 'supervisor exit status on SIGTERM')

    with open(t.log_path, 'rb') as f:
        data = f.read()
    try:
        text = data.decode('utf-8')
    except UnicodeDecodeError as e:
        t.fail(f'the log is not valid UTF-8: {e}')
    t.check(text.endswith('\n'), 'the log ends with a newline')
    lines = text.split('\n')[:-1]
    bad, missing = [], []
    for line in lines:
        try:
            obj = json.loads(line)
        except ValueError:
            bad.append(line)
            continue
        if not isinstance(obj, dict) or any(k not in obj for k in FIELDS):
            missing.append(line)
    t.check(not bad, f'all {len(lines)} lines parse as JSON',
            f'{len(bad)} do not, first: {bad[:1]!r}')
    t.check(not missing, f'every line has {"/".join(FIELDS)}',
            f'first without: {missing[:1]!r}')
    t.check(TOKEN.encode() not in data, 'the app token never appears in '
            'the log')
    t.check_no_secret(key)


harness.run('json_logs', body)
