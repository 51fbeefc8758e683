#!/usr/bin/env python3
"""mirroring-copy alone, driven over its fd-3 socketpair by this script
acting as the supervisor, with worker_remux's cases: packet-exact to a
real RTMP sink with STATUS every second and exit 0 after EOS; a sink down
at first (network errors, backoff, then live from a keyframe); exit 1
within 2 s when the socket closes during a hung connect; error_class
refused with the server's reason when our supervisor rejects the key.
Its own: exit 78 for a transcoding profile or a URL it does not take;
SOURCE NEW: a second source on its own clock (starting 5 000 s later)
continues the destination's timestamps one frame after the last video,
every packet of both sources arriving in order, byte for byte, the
timestamps never going back; SOURCE LOST is logged and ignored.  With
nginx-rtmp there, a new source with other decoder configurations gets its
sequence headers sent in-band, every tag of both arriving in nginx's
recording byte for byte."""

import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import worker_remux as wr  # noqa: E402
from harness import free_port, make_media  # noqa: E402

COPY = os.path.join(os.path.dirname(wr.WORKER), 'mirroring-copy')
SOURCE = 8
SRC_LOST, SRC_NEW = 0, 1
SHIFT_MS = 5_000_000


def source_msg(what, label):
    return wr.msg(SOURCE, struct.pack('<BI', what, 0) + wr.wstr(label))


def case_config(t):
    w = wr.Worker(t, 'worker_x', 'rtmp://127.0.0.1:1/live/sinkkey',
                  profile='720p30', vcodec='libx264', binary=COPY)
    t.check_eq(t.wait_exit(w.proc, 5), 78, 'a transcoding profile exits 78')
    w.reader.join(timeout=5)
    st = w.status_list()[-1:]
    t.check(st and st[0][1]['error_class'] == wr.ERR_CONFIG and
            'transcode' in st[0][1]['last_error'],
            'STATUS says config error', str(st), soft=True)
    w = wr.Worker(t, 'worker_y', 'srt://127.0.0.1:1', binary=COPY)
    t.check_eq(t.wait_exit(w.proc, 5), 78, 'an srt:// url exits 78')


def case_source_new(t, media, tags):
    port = free_port()
    out = os.path.join(t.dir, 'sink_n.flv')
    sink = wr.start_sink(t, 'sink_n', port, out)
    w = wr.Worker(t, 'worker_n', f'rtmp://127.0.0.1:{port}/live/sinkkey',
                  binary=COPY)
    w.send_tags(tags, 4.0)
    w.wait_status(lambda s: s['state'] == wr.ST_LIVE, 5, 'live')
    w.sock.sendall(source_msg(SRC_LOST, 'primary'))     # ignored here
    w.sock.sendall(source_msg(SRC_NEW, 'backup'))
    # the new source: its headers, then its media, on a clock far ahead
    shifted = [(ty, fl, (ts + SHIFT_MS) % 2**32, b) for ty, fl, ts, b in
               tags]
    w.send_tags([(ty, fl, ts - SHIFT_MS, b) for ty, fl, ts, b in shifted],
                4.0)
    w.eos()
    t.check_eq(t.wait_exit(w.proc, 15), 0, 'worker exit code after EOS')
    t.check_eq(t.wait_exit(sink, 15), 0, 'sink exit code')
    log = w.log()
    t.check('event=relay.source_ignored' in log, 'SOURCE LOST is logged '
            'and ignored', soft=True)
    t.check('event=relay.source_joined' in log, 'the new source joined '
            'at its keyframe', soft=True)
    st = w.status_list()[-1][1]
    t.check_eq(st['reconnects'], 0, 'one destination session throughout')
    # both sources' packets, in order, byte for byte
    src = wr.probe_packets(media)
    got = wr.probe_packets(out)
    # the new source joins at its first keyframe: its audio before that
    # has no place on the destination's clock
    key = next(i for i, (ty, fl, _, _) in enumerate(tags)
               if ty == 9 and fl & wr.F_KEYFRAME and not fl & wr.F_SEQHDR)
    early = {'video': 0, 'audio': sum(1 for ty, fl, _, _ in tags[:key]
                                      if ty == 8 and not fl & wr.F_SEQHDR)}
    for kind in ('video', 'audio'):
        sa = [(s, h) for s, h, _ in src.get(kind, [])]
        sb = [(s, h) for s, h, _ in got.get(kind, [])]
        want = sa + sa[early[kind]:]
        t.check(len(sa) > 0 and sb == want, f'{kind}: the sink got both '
                f'sources\' packets in order ({len(sb)} of {len(want)}, '
                f'{early[kind]} before the new keyframe left out)',
                soft=True)
    av = harness.probe_av(out)
    v = [p[0] for p in av['video']]
    src_v = [p[0] for p in harness.probe_av(media)['video']]
    n = len(src_v)
    t.check(len(v) == 2 * n, 'every video packet has a pts', str(len(v)))
    if len(v) == 2 * n:
        step = src_v[-1] - src_v[-2]
        gap = v[n] - v[n - 1]
        print(f'join: last old frame {v[n - 1]:.3f} s, first new '
              f'{v[n]:.3f} s (frame {step:.3f} s)')
        t.check(abs(gap - step) <= 0.002, 'the new source starts one '
                'frame after the last video', f'{gap:.3f} s vs {step:.3f}')
        t.check(v[-1] - v[0] < 2 * (src_v[-1] - src_v[0]) + 0.2,
                'its clock 5 000 s ahead did not leak into the stream',
                f'{v[0]:.3f}..{v[-1]:.3f}')


def case_new_headers(t, media, tags):
    """A new source with other decoder configurations (320x180, 48 kHz):
    its sequence headers go out in-band before its first keyframe, on the
    same session, into nginx-rtmp's recording, tag for tag."""
    try:
        import relay_nginx
        port = free_port()
        rec_dir = os.path.join(t.dir, 'rec_n')
        os.makedirs(rec_dir)
        relay_nginx.start_nginx(t, port, rec_dir)
    except harness.Skip as e:
        print(f'skip (new headers): {e}')
        return
    other = make_media(os.path.join(t.dir, 'other.flv'), 4, size='320x180',
                       rate=48000)
    tags_b = wr.flv_tags(other)
    w = wr.Worker(t, 'worker_h', f'rtmp://127.0.0.1:{port}/live/hdrkey',
                  binary=COPY)
    w.send_tags(tags, 4.0)
    w.wait_status(lambda s: s['state'] == wr.ST_LIVE, 5, 'live')
    w.sock.sendall(source_msg(SRC_NEW, 'backup'))
    w.send_tags(tags_b, 4.0)
    w.eos()
    t.check_eq(t.wait_exit(w.proc, 15), 0, '(h) worker exit code after EOS')
    rec = os.path.join(rec_dir, 'hdrkey.flv')
    t.check(relay_nginx.settled(rec) > 0, '(h) nginx recorded it', rec)
    got = wr.flv_tags(rec)

    def seqs(tt, ty):
        """The sequence headers of type ty, a repeat of the one before
        counted once (nginx's record writes the first audio one twice)."""
        out = []
        for ty2, fl, _, b in tt:
            if ty2 == ty and fl & wr.F_SEQHDR and out[-1:] != [b]:
                out.append(b)
        return out
    for ty, kind in ((9, 'video'), (8, 'audio')):
        want = seqs(tags, ty)[:1] + seqs(tags_b, ty)[:1]
        t.check(seqs(got, ty) == want, f'(h) the recording has the first '
                f'source\'s {kind} sequence header, then the new one\'s',
                f'{len(seqs(got, ty))} headers', soft=True)
        media_a = [b for ty2, fl, _, b in tags if ty2 == ty and
                   not fl & wr.F_SEQHDR]
        media_b = [b for ty2, fl, _, b in tags_b if ty2 == ty and
                   not fl & wr.F_SEQHDR]
        media_g = [b for ty2, fl, _, b in got if ty2 == ty and
                   not fl & wr.F_SEQHDR]
        n = len(media_a)
        t.check(media_g[:n] == media_a and media_g[n:] ==
                media_b[len(media_b) - len(media_g[n:]):] and
                len(media_g) >= n + len(media_b) - 2,
                f'(h) {kind}: every tag of both sources, byte for byte',
                f'{len(media_g)} of {n} + {len(media_b)}', soft=True)
        ts = [ts for ty2, fl, ts, _ in got if ty2 == ty]
        t.check(all(a <= b for a, b in zip(ts, ts[1:])),
                f'(h) {kind} timestamps never go back', soft=True)


def body(t):
    if not os.access(COPY, os.X_OK):
        t.fail(f'{COPY} is not an executable')
    media = make_media(os.path.join(t.dir, 'source.flv'))
    tags = wr.flv_tags(media)
    t.check(len(tags) > 500, 'source tags read', str(len(tags)))
    wr.case_rtmp(t, media, tags, binary=COPY)
    case_source_new(t, media, tags)
    case_new_headers(t, media, tags)
    case_config(t)
    wr.case_down_first(t, media, tags, binary=COPY)
    wr.case_eof(t, tags, binary=COPY)
    wr.case_refused(t, tags, binary=COPY)


if __name__ == '__main__':
    harness.run('copy_worker', body)
