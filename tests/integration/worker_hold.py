#!/usr/bin/env python3
"""mirroring-worker alone, driven over fd 3 as worker_remux does, with
on_loss hold: 4 s of media, SOURCE LOST, 4 s of nothing, SOURCE NEW and
the same media again on a clock from 0, EOS.  Against one `ffmpeg -listen
1` sink (it ends at the first disconnect, so one recording is one
session) the recording decodes without errors, its video timestamps rise
with no hole over 100 ms, the middle is the slate (as long as the hold;
black, or the slate image's colour; silent, or the slate audio file), the
copied packets on both sides are the source's byte for byte, and STATUS
said holding.  Cases: (a) copy relay, no slate files; (b) transcoding
relay (video libx264, audio copy) with a red PNG and a 0.7 s tone, looped;
(c) copy relay whose slate files do not exist (black and silence, one
warning); (d) no hold, SOURCE NEW and a source of another size at once (a
backup publisher): one session, the new sequence header in-band; (e) the destination drops while holding: the new
session goes on with the slate, then the source; (f) EOS while holding
closes cleanly; (g) as (b) with audio transcoded too; (h) as (a) with a
source that has B-frames; (i) as (d) for a transcoding relay."""

import os
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import SLOW, free_port, make_media  # noqa: E402
from worker_remux import Worker, flv_tags, msg, wstr, WORKER  # noqa: E402

SOURCE = 8
SRC_LOST, SRC_NEW = 0, 1
LOSS_HOLD = 1
ST_LIVE, ST_BACKOFF, ST_HOLDING = 2, 3, 6
HOLD_S = 4.0
PART_S = 4


def source_msg(what, grace_ms, label):
    return msg(SOURCE, struct.pack('<BI', what, grace_ms) + wstr(label))


def probe(path):
    """[(kind, dts_s, size, md5, key)] in file order."""
    import json
    r = subprocess.run(['ffprobe', '-v', 'error', '-show_entries',
                        'packet=codec_type,dts_time,size,flags,data_hash',
                        '-show_data_hash', 'MD5', '-of', 'json', path],
                       capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise harness.Failure(f'ffprobe {path}: {r.stderr}')
    return [(p['codec_type'], float(p['dts_time']), int(p['size']),
             p.get('data_hash'), 'K' in p.get('flags', ''))
            for p in json.loads(r.stdout).get('packets', [])]


def mean_rgb(path, at_s):
    """The mean R, G, B of the picture at at_s s of path, decoded from
    the start (an input seek would skip the in-band sequence headers)."""
    r = subprocess.run(['ffmpeg', '-v', 'error', '-i', path, '-ss',
                        f'{at_s:.3f}', '-frames:v', '1', '-s', '64x36',
                        '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'],
                       capture_output=True, timeout=60)
    px = r.stdout
    if r.returncode != 0 or len(px) < 3:
        return None
    n = len(px) // 3
    return tuple(sum(px[c::3]) / n for c in range(3))


def run_hold(t, tag, media, tags, **kw):
    port = free_port()
    out = os.path.join(t.dir, f'rec_{tag}.flv')
    sink = harness.start_rtmp_sink(t, f'sink_{tag}', port, 'sinkkey', out)
    w = Worker(t, f'worker_{tag}', f'rtmp://127.0.0.1:{port}/live/sinkkey',
               on_loss=LOSS_HOLD, grace_ms=60000, **kw)
    w.send_tags(tags, 1.0)
    w.wait_status(lambda s: s['state'] == ST_LIVE, 5, 'live')
    w.sock.sendall(source_msg(SRC_LOST, 60000, ''))
    lost = time.monotonic()
    w.wait_status(lambda s: s['state'] == ST_HOLDING, 3, 'holding')
    time.sleep(max(0.0, HOLD_S - (time.monotonic() - lost)))
    w.sock.sendall(source_msg(SRC_NEW, 0, 'primary'))
    w.send_tags(tags, 1.0)
    w.eos()
    t.check_eq(t.wait_exit(w.proc, 20), 0, f'({tag}) worker exit code '
               'after EOS')
    t.check_eq(t.wait_exit(sink, 20), 0, f'({tag}) sink exit code (one '
               'session, ended cleanly)')
    return w, out


def check_decodes(t, tag, out):
    r = subprocess.run(['ffmpeg', '-v', 'error', '-i', out, '-f', 'null',
                        '-'], capture_output=True, text=True, timeout=120)
    t.check(r.returncode == 0 and r.stderr.strip() == '',
            f'({tag}) the recording decodes without errors',
            r.stderr[-500:], soft=True)


def check_clock(t, tag, pk):
    v = [p[1] for p in pk if p[0] == 'video']
    steps = [b - a for a, b in zip(v, v[1:])]
    bad = [(round(v[i], 3), round(s, 3)) for i, s in enumerate(steps)
           if s <= 0 or s > 0.1]
    t.check(len(v) > 100 and not bad, f'({tag}) video dts strictly rise '
            f'with no step over 100 ms ({len(v)} frames, '
            f'{v[0]:.3f}..{v[-1]:.3f} s)', str(bad[:5]), soft=True)
    a = [p[1] for p in pk if p[0] == 'audio']
    asteps = [b - a for a, b in zip(a, a[1:])]
    abad = [(round(a[i], 3), round(s, 3)) for i, s in enumerate(asteps)
            if s <= 0 or s > 0.1]
    t.check(len(a) > 100 and not abad, f'({tag}) audio dts rise with no '
            'hole over 100 ms', str(abad[:5]), soft=True)
    t.check(abs(a[-1] - v[-1]) < 0.2, f'({tag}) audio and video end '
            f'together (within 200 ms: {a[-1]:.3f}, {v[-1]:.3f})', soft=True)
    span = v[-1] - v[0]
    t.check(2 * PART_S + HOLD_S - 1 <= span <= 2 * PART_S + HOLD_S + 2.5 *
            SLOW, f'({tag}) the recording spans both parts and the hold '
            f'({span:.2f} s)', soft=True)


def split(t, tag, kind, pk, src, src2=None):
    """rec's packets of kind as (head, middle, tail): head the source's
    first packets, tail a run of the last ones of the new source (src2,
    or src again), by size + MD5.  Checks both are the sources', in full
    for the head."""
    s = [(p[2], p[3]) for p in src if p[0] == kind]
    s2 = [(p[2], p[3]) for p in (src2 or src) if p[0] == kind]
    r = [p for p in pk if p[0] == kind]
    rs = [(p[2], p[3]) for p in r]
    head = 0
    while head < len(rs) and head < len(s) and rs[head] == s[head]:
        head += 1
    # the tail ends at one of the source's last packets: `ffmpeg -listen`
    # may lose the very last tags when the publisher closes
    tail, end = 0, len(s2)
    if rs:
        end = next((j + 1 for j in range(len(s2) - 1, len(s2) - 5, -1)
                    if j >= 0 and s2[j] == rs[-1]), len(s2))
    while tail < len(rs) - head and tail < end and \
            rs[len(rs) - 1 - tail] == s2[end - 1 - tail]:
        tail += 1
    t.check(head == len(s), f'({tag}) {kind}: the first part is the '
            f'source\'s packets byte for byte ({head} of {len(s)})',
            soft=True)
    # the new source's audio from before its keyframe is left out
    need = end if kind == 'video' else end - 10
    t.check(tail >= need and end >= len(s2) - 3, f'({tag}) {kind}: the part '
            f'after the switch is the new source\'s packets byte for byte '
            f'({tail} of {len(s2)}, to its packet {end})', soft=True)
    return r[:head], r[head:len(r) - tail], r[len(r) - tail:]


def check_slate(t, tag, out, mid, want_rgb, copy):
    if len(mid) < 2:
        t.fail(f'({tag}) no slate video between the parts')
    dur = mid[-1][1] - mid[0][1]
    t.check(HOLD_S - 0.7 <= dur <= HOLD_S + 1.5 * SLOW, f'({tag}) the slate '
            f'lasts as long as the hold ({dur:.2f} s for {HOLD_S} s)',
            soft=True)
    fps = (len(mid) - 1) / dur if dur > 0 else 0
    t.check(27 <= fps <= 33, f'({tag}) slate at the source\'s 30 fps '
            f'({fps:.1f})', soft=True)
    keys = [p[1] for p in mid if p[4]]
    if copy:
        # a transcoding relay's keyframes are its profile's
        t.check(len(keys) >= 3 and mid[0][4], f'({tag}) the slate starts '
                f'on a keyframe and has one every second or so '
                f'({len(keys)})', soft=True)
    rgb = mean_rgb(out, (mid[0][1] + mid[-1][1]) / 2)
    ok = rgb is not None and all(abs(a - b) < 40 for a, b in
                                 zip(rgb, want_rgb))
    t.check(ok, f'({tag}) the slate picture is {want_rgb}', str(rgb),
            soft=True)


def audio_rms(path, start_s, dur_s):
    """The RMS (0..1) of path's audio from start_s for dur_s, decoded
    from the start."""
    r = subprocess.run(['ffmpeg', '-v', 'error', '-i', path, '-ss',
                        f'{start_s:.3f}', '-t', f'{dur_s:.3f}', '-vn', '-ac',
                        '1', '-f', 's16le', '-'], capture_output=True,
                       timeout=60)
    n = len(r.stdout) // 2
    if r.returncode != 0 or n == 0:
        return None
    v = struct.unpack(f'<{n}h', r.stdout[:2 * n])
    return (sum(x * x for x in v) / n) ** 0.5 / 32768


def check_sound(t, tag, out, mid, loud):
    rms = audio_rms(out, mid[0][1] + 0.5, mid[-1][1] - mid[0][1] - 1.0)
    if loud:
        t.check(rms is not None and rms > 0.05, f'({tag}) the slate plays '
                f'the slate audio file (rms {rms})', soft=True)
    else:
        t.check(rms is not None and rms < 0.001, f'({tag}) the slate is '
                f'silent (rms {rms})', soft=True)


def switch_times(w):
    """The at_ms of the worker's relay.switch lines."""
    return [int(f['at_ms']) for f in map(harness.parse_logfmt,
                                         w.log().splitlines())
            if f.get('event') == 'relay.switch']


def check_log(t, tag, w, warn):
    log = w.log()
    t.check(log.count('event=relay.live') == 1 and 'relay.reopen' not in log
            and 'relay.failed' not in log, f'({tag}) one destination '
            'session: no reopen, no failure', soft=True)
    t.check('event=relay.hold ' in log and 'grace_ms=60000' in log,
            f'({tag}) relay.hold logged with grace_ms', soft=True)
    t.check('from=primary to=slate' in log and 'from=slate to=primary' in
            log, f'({tag}) both switches logged', soft=True)
    t.check('event=relay.hold_end' in log, f'({tag}) the hold end logged',
            soft=True)
    t.check(('event=relay.slate_fallback' in log) == warn,
            f'({tag}) slate fallback warning {"" if warn else "not "}'
            'logged', soft=True)
    seen = [st['state'] for _, st in w.status_list()]
    i = seen.index(ST_HOLDING) if ST_HOLDING in seen else len(seen)
    t.check(ST_HOLDING in seen and ST_LIVE in seen[i:],
            f'({tag}) STATUS said holding, then live again', str(seen),
            soft=True)


def case(t, tag, media, tags, want_rgb, warn=False, copy_video=True,
         copy_audio=True, loud=False, **kw):
    w, out = run_hold(t, tag, media, tags, **kw)
    check_decodes(t, tag, out)
    pk = probe(out)
    src = probe(media)
    check_clock(t, tag, pk)
    if copy_audio:
        split(t, tag, 'audio', pk, src)
    if copy_video:
        _, mid, _ = split(t, tag, 'video', pk, src)
    else:
        # re-encoded: the slate is the frames between the switches, at
        # the destination times the worker logged
        at = switch_times(w)
        v = [p for p in pk if p[0] == 'video']
        t.check(len(at) == 2, f'({tag}) two switches with at_ms', str(at))
        mid = [p for p in v if at[0] < p[1] * 1000 <= at[1]]
    check_slate(t, tag, out, mid, want_rgb, copy_video)
    check_sound(t, tag, out, mid, loud)
    check_log(t, tag, w, warn)


def case_grace(t, tags):
    """(f) EOS while holding (the supervisor's grace ran out): the
    destination is closed cleanly, on the slate."""
    port = free_port()
    out = os.path.join(t.dir, 'rec_f.flv')
    sink = harness.start_rtmp_sink(t, 'sink_f', port, 'sinkkey', out)
    w = Worker(t, 'worker_f', f'rtmp://127.0.0.1:{port}/live/sinkkey',
               on_loss=LOSS_HOLD, grace_ms=2000)
    w.send_tags(tags[:len(tags) // 2], 1.0)
    w.wait_status(lambda s: s['state'] == ST_LIVE, 5, 'live')
    w.sock.sendall(source_msg(SRC_LOST, 2000, ''))
    w.wait_status(lambda s: s['state'] == ST_HOLDING, 3, 'holding')
    time.sleep(2.0)
    w.eos()
    t.check_eq(t.wait_exit(w.proc, 20), 0, '(f) worker exit code after EOS '
               'while holding')
    t.check_eq(t.wait_exit(sink, 20), 0, '(f) sink exit code (a clean end)')
    check_decodes(t, 'f', out)
    v = [p for p in probe(out) if p[0] == 'video']
    t.check(v and v[-1][1] - v[0][1] >= PART_S / 2 + 1.5,
            '(f) the recording goes on with the slate to the end',
            f'{v[-1][1] - v[0][1]:.2f} s' if v else 'no video', soft=True)
    log = w.log()
    t.check('event=relay.hold_end' in log and 'reason=eos' in log,
            '(f) the hold ends with the EOS', soft=True)


def case_backup(t, media, tags, tag='d', **kw):
    """(d) no hold (on_loss end): SOURCE NEW and a source of another size
    right after the first, as a switch to a backup publisher: one session,
    the new sequence header in-band (a transcoding relay: its output keeps
    its size), timestamps continuing."""
    copy = 'vcodec' not in kw
    other = os.path.join(t.dir, 'backup.flv')
    if not os.path.exists(other):
        make_media(other, seconds=PART_S, size='480x270')
    port = free_port()
    out = os.path.join(t.dir, f'rec_{tag}.flv')
    sink = harness.start_rtmp_sink(t, f'sink_{tag}', port, 'sinkkey', out)
    w = Worker(t, f'worker_{tag}', f'rtmp://127.0.0.1:{port}/live/sinkkey',
               **kw)
    w.send_tags(tags, 1.0)
    w.wait_status(lambda s: s['state'] == ST_LIVE, 5, 'live')
    w.sock.sendall(source_msg(SRC_NEW, 0, 'backup'))
    w.send_tags(flv_tags(other), 1.0)
    w.eos()
    t.check_eq(t.wait_exit(w.proc, 20), 0, f'({tag}) worker exit code after EOS')
    t.check_eq(t.wait_exit(sink, 20), 0, f'({tag}) sink exit code (one session)')
    check_decodes(t, tag, out)
    pk = probe(out)
    v = [p[1] for p in pk if p[0] == 'video']
    steps = [b - a for a, b in zip(v, v[1:])]
    t.check(v and min(steps) > 0 and max(steps) <= 0.1, f'({tag}) video dts '
            'rise with no step over 100 ms across the switch',
            f'min {min(steps):.3f} max {max(steps):.3f}', soft=True)
    t.check(abs(v[-1] - v[0] - (2 * PART_S - 0.033)) < 0.2,
            f'({tag}) the two sources back to back ({v[-1] - v[0]:.2f} s)',
            soft=True)
    src, src2 = probe(media), probe(other)
    for kind in ('video', 'audio') if copy else ('audio',):
        _, mid, _ = split(t, tag, kind, pk, src, src2)
        t.check(not mid, f'({tag}) {kind}: nothing but the two sources',
                str(len(mid)), soft=True)
    r = subprocess.run(['ffprobe', '-v', 'error', '-select_streams', 'v',
                        '-show_entries', 'frame=width', '-of', 'csv=p=0',
                        out], capture_output=True, text=True, timeout=60)
    widths = [int(x.strip(',')) for x in r.stdout.split() if x.strip(',')]
    if copy:
        t.check(widths[:1] == [640] and widths[-1:] == [480],
                f'({tag}) the pictures are 640 wide, then 480 (the new '
                'sequence header reached the sink)',
                str(sorted(set(widths))), soft=True)
    else:
        t.check(set(widths) == {640}, f'({tag}) the transcoded pictures '
                'stay 640 wide', str(sorted(set(widths))), soft=True)
    log = w.log()
    t.check(log.count('event=relay.live') == 1 and 'relay.reopen' not in log,
            f'({tag}) one destination session: no reopen', soft=True)
    t.check('from=primary to=backup' in log, f'({tag}) relay.switch logged',
            soft=True)
    t.check('event=relay.hold ' not in log, f'({tag}) no hold', soft=True)


def case_reconnect(t, media, tags):
    """(e) the destination drops while holding: the worker reconnects and
    the new session carries on with the slate, then the source."""
    port = free_port()
    out1 = os.path.join(t.dir, 'rec_e1.flv')
    out2 = os.path.join(t.dir, 'rec_e2.flv')
    sink = harness.start_rtmp_sink(t, 'sink_e1', port, 'sinkkey', out1)
    w = Worker(t, 'worker_e', f'rtmp://127.0.0.1:{port}/live/sinkkey',
               on_loss=LOSS_HOLD, grace_ms=60000)
    w.send_tags(tags[:len(tags) // 2], 1.0)
    w.wait_status(lambda s: s['state'] == ST_LIVE, 5, 'live')
    w.sock.sendall(source_msg(SRC_LOST, 60000, ''))
    w.wait_status(lambda s: s['state'] == ST_HOLDING, 3, 'holding')
    time.sleep(1.0)
    sink.kill()
    t.wait_exit(sink, 5)
    w.wait_status(lambda s: s['state'] == ST_BACKOFF, 10, 'backoff')
    n = len(w.status_list())
    sink2 = harness.start_rtmp_sink(t, 'sink_e2', port, 'sinkkey', out2)
    end = time.monotonic() + 10 * SLOW
    while time.monotonic() < end and not any(
            st['state'] == ST_HOLDING for _, st in w.status_list()[n:]):
        time.sleep(0.05)
    t.check(any(st['state'] == ST_HOLDING for _, st in w.status_list()[n:]),
            '(e) holding again after the reconnect',
            str([st['state'] for _, st in w.status_list()[n:]]))
    time.sleep(2.0)
    w.sock.sendall(source_msg(SRC_NEW, 0, 'primary'))
    w.send_tags(tags, 1.0)
    w.eos()
    t.check_eq(t.wait_exit(w.proc, 20), 0, '(e) worker exit code after EOS')
    t.check_eq(t.wait_exit(sink2, 20), 0, '(e) second sink exit code')
    check_decodes(t, 'e', out2)
    pk = probe(out2)
    src = probe(media)
    v = [p for p in pk if p[0] == 'video']
    sv = {(p[2], p[3]) for p in src if p[0] == 'video'}
    lead = 0
    while lead < len(v) and (v[lead][2], v[lead][3]) not in sv:
        lead += 1
    t.check(lead > 30 and v[0][4], f'(e) the new session opens on a slate '
            f'keyframe and carries the slate ({lead} frames)', soft=True)
    tailv = [(p[2], p[3]) for p in v[lead:]]
    t.check(tailv == [(p[2], p[3]) for p in src if p[0] == 'video'],
            '(e) then the source, byte for byte', soft=True)
    steps = [b[1] - a[1] for a, b in zip(v, v[1:])]
    t.check(min(steps) > 0 and max(steps) <= 0.1, '(e) video dts rise with '
            'no step over 100 ms', f'max {max(steps):.3f}', soft=True)
    log = w.log()
    t.check(log.count('event=relay.live') == 2 and
            log.count('event=relay.hold ') == 1, '(e) two sessions, one '
            'hold', soft=True)


def body(t):
    if not WORKER or not os.access(WORKER, os.X_OK):
        t.fail('$MIRRORING_WORKER is not an executable')
    media = make_media(os.path.join(t.dir, 'source.flv'), seconds=PART_S)
    tags = flv_tags(media)
    red = os.path.join(t.dir, 'red.png')
    subprocess.run(['ffmpeg', '-v', 'error', '-f', 'lavfi', '-i',
                    'color=c=red:s=320x240', '-frames:v', '1', '-y', red],
                   check=True, timeout=60)
    tone = os.path.join(t.dir, 'tone.wav')
    subprocess.run(['ffmpeg', '-v', 'error', '-f', 'lavfi', '-i',
                    'sine=frequency=1000:sample_rate=48000:duration=0.7',
                    '-ac', '1', '-y', tone], check=True, timeout=60)
    black, redrgb = (0, 0, 0), (255, 0, 0)
    case(t, 'a', media, tags, black)
    case(t, 'b', media, tags, redrgb, copy_video=False, profile='x264',
         vcodec='libx264', slate_image=red, slate_audio=tone, loud=True)
    case(t, 'c', media, tags, black, warn=True,
         slate_image=os.path.join(t.dir, 'missing.png'),
         slate_audio=os.path.join(t.dir, 'missing.wav'))
    case_backup(t, media, tags)
    case_reconnect(t, media, tags)
    case_grace(t, tags)
    # B-frames: the slate starts after the last picture shown
    bmedia = make_media(os.path.join(t.dir, 'bframes.flv'), seconds=PART_S,
                        video=['-bf', '2'])
    case(t, 'h', bmedia, flv_tags(bmedia), black)
    case_backup(t, media, tags, tag='i', profile='x264', vcodec='libx264')
    case(t, 'g', media, tags, redrgb, copy_video=False, copy_audio=False,
         profile='x264aac', vcodec='libx264', acodec='aac',
         slate_image=red, slate_audio=tone, loud=True)


if __name__ == '__main__':
    harness.run('worker_hold', body)
