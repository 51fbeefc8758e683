#!/usr/bin/env python3
"""Regenerates the FLV test data with the ffmpeg CLI.

flv_bodies.hex holds tag bodies cut from tiny encodes: each sequence
header whole, the first frames cut to 16 bytes (the parsers only read
headers).  flv_small.flv is one whole file that test_flv walks tag by tag.
The facts printed at the end come from ffprobe; they are the expected
values in tests/unit/test_flv.c.

    cd tests/data && ./flv_make.py
"""

import json
import os
import struct
import subprocess
import sys
import tempfile

SINE = 'sine=frequency=440:sample_rate=%d'


class Args:
    """ffmpeg inputs and output options; a + b encodes both streams."""

    def __init__(self, inputs, outputs):
        self.inputs, self.outputs = inputs, outputs

    def __add__(self, other):
        return Args(self.inputs + other.inputs, self.outputs + other.outputs)

    def argv(self):
        return self.inputs + ['-t', '0.2'] + self.outputs


def video(size, *opts):
    return Args(['-f', 'lavfi', '-i', 'testsrc2=size=%s:rate=30' % size],
                ['-c:v', 'libx264'] + list(opts))


def audio(rate, layout, codec, *opts):
    return Args(['-f', 'lavfi', '-i', SINE % rate],
                ['-af', 'aformat=channel_layouts=' + layout,
                 '-c:a', codec] + list(opts))


# name: ffmpeg arguments.  Odd sizes and interlacing exercise cropping.
CASES = {
    'h720': video('1280x720', '-pix_fmt', 'yuv420p') +
    audio(48000, 'stereo', 'aac'),
    'h1080': video('1920x1080', '-pix_fmt', 'yuv420p'),
    'b360': video('640x360', '-profile:v', 'baseline') +
    audio(44100, 'mono', 'aac'),
    'h444': video('320x240', '-vf', 'scale=321:241', '-pix_fmt', 'yuv444p',
                  '-profile:v', 'high444'),
    'h1080i': video('1920x1080', '-pix_fmt', 'yuv420p',
                    '-flags', '+ildct+ilme', '-x264-params', 'interlaced=1'),
    'h422': video('1920x1080', '-pix_fmt', 'yuv422p'),
    'h10': video('320x240', '-pix_fmt', 'yuv420p10le'),
    'aac51': audio(48000, '5.1', 'aac'),
    'aac71': audio(48000, '7.1', 'aac'),
    'aac96': audio(96000, 'stereo', 'aac'),
    'aac8k': audio(8000, 'mono', 'aac'),
    'mp3': audio(44100, 'stereo', 'libmp3lame'),
    'mp3m22': audio(22050, 'mono', 'libmp3lame'),
    'pcm11': audio(11025, 'mono', 'pcm_s16le'),
    'pcmu8': audio(22050, 'stereo', 'pcm_u8'),
    'adpcm': audio(22050, 'mono', 'adpcm_swf'),
    'nelly': audio(44100, 'mono', 'nellymoser'),
    'nelly8': audio(8000, 'mono', 'nellymoser'),
    'speex': audio(16000, 'mono', 'libspeex'),
    'alaw': audio(8000, 'mono', 'pcm_alaw'),
    'mulaw': audio(8000, 'mono', 'pcm_mulaw'),
}

SMALL = video('160x120', '-bf', '2', '-g', '6') + \
    audio(44100, 'stereo', 'aac', '-b:a', '32k')


class BitWriter:
    """H.264 RBSP writer: u(n), ue(v), se(v); nal() adds the stop bit and
    emulation prevention bytes."""

    def __init__(self):
        self.bits = []

    def u(self, n, v):
        self.bits += [(v >> (n - 1 - i)) & 1 for i in range(n)]

    def ue(self, v):
        n = (v + 1).bit_length()
        self.u(n - 1, 0)
        self.u(n, v + 1)

    def se(self, v):
        self.ue(2 * v - 1 if v > 0 else -2 * v)

    def nal(self, header):
        bits = self.bits + [1]
        bits += [0] * (-len(bits) % 8)
        rbsp = bytes(int(''.join(map(str, bits[i:i + 8])), 2)
                     for i in range(0, len(bits), 8))
        out = bytearray([header])
        for b in rbsp:
            if len(out) >= 3 and out[-2:] == b'\0\0' and b <= 3:
                out.append(3)
            out.append(b)
        return bytes(out)


def make_sps(profile, w_mbs, h_units, crop=(0, 0, 0, 0), chroma=1, sep=0,
             scaling=None, poc=0, poc1=None, fmo=1):
    """An SPS NAL (H.264 7.3.2.1.1) with the fields the parser reads;
    returns it and what ffmpeg's trace_headers must read back."""
    w = BitWriter()
    w.u(8, profile)
    w.u(8, 0)                           # constraint flags
    w.u(8, 40)                          # level_idc
    w.ue(0)                             # seq_parameter_set_id
    if profile in (100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139,
                   134, 135):
        w.ue(chroma)
        if chroma == 3:
            w.u(1, sep)
        w.ue(2)                         # bit_depth_luma_minus8
        w.ue(2)                         # bit_depth_chroma_minus8
        w.u(1, 0)                       # qpprime_y_zero_transform_bypass
        w.u(1, scaling is not None)
        for deltas in scaling or []:
            w.u(1, deltas is not None)
            for d in deltas or []:
                w.se(d)
    w.ue(0)                             # log2_max_frame_num_minus4
    w.ue(poc)
    if poc == 0:
        w.ue(2)                         # log2_max_pic_order_cnt_lsb_minus4
    elif poc == 1:
        w.u(1, 0)                       # delta_pic_order_always_zero_flag
        w.se(poc1[0])                   # offset_for_non_ref_pic
        w.se(poc1[1])                   # offset_for_top_to_bottom_field
        w.ue(len(poc1[2]))
        for o in poc1[2]:
            w.se(o)
    w.ue(4)                             # max_num_ref_frames
    w.u(1, 0)                           # gaps_in_frame_num_allowed
    w.ue(w_mbs - 1)
    w.ue(h_units - 1)
    w.u(1, fmo)
    if not fmo:
        w.u(1, 1)                       # mb_adaptive_frame_field_flag
    w.u(1, 1)                           # direct_8x8_inference_flag
    w.u(1, any(crop))
    if any(crop):
        for c in crop:
            w.ue(c)
    w.u(1, 0)                           # vui_parameters_present_flag
    want = {'pic_width_in_mbs_minus1': w_mbs - 1,
            'pic_height_in_map_units_minus1': h_units - 1,
            'frame_mbs_only_flag': fmo}
    if any(crop):
        want['frame_crop_bottom_offset'] = crop[3]
    return w.nal(0x67), want


def scaling_deltas(n, seed):
    """Deltas that keep every scale in 1..255 and vary their lengths."""
    out, last = [], 8
    for i in range(n):
        nxt = (seed * (i + 3) * 37) % 255 + 1
        d = (nxt - last + 128) % 256 - 128
        out.append(d)
        last = (last + d + 256) % 256
    return out


# Hand-made SPSs for what x264 never writes (x264 puts its scaling
# matrices in the PPS and never uses pic_order_cnt_type 1).  The C test
# states the size each one must give (H.264 7.4.2.1.1 cropping).
HAND_SPS = {
    'hpoc1': make_sps(77, 120, 68, crop=(0, 0, 0, 4), poc=1,
                      poc1=(-1, 2, [1, -2, 300])),
    'hepb': next(s for s in (make_sps(77, 40, 23, crop=(0, 0, 0, 4), poc=1,
                                      poc1=(-(1 << e), 0, [0] * 3))
                             for e in range(16, 28)) if b'\0\0\3' in s[0]),
    'hscal': make_sps(100, 40, 30, scaling=[scaling_deltas(16, 1), [-8],
                      None, None, None, None, scaling_deltas(64, 2), None]),
    'hscal444': make_sps(244, 7, 4, crop=(1, 2, 0, 14), chroma=3,
                         scaling=[scaling_deltas(16 if i < 6 else 64, i + 3)
                                  for i in range(12)]),
    'hsep': make_sps(244, 10, 5, crop=(0, 5, 0, 3), chroma=3, sep=1, fmo=0),
    'h422i': make_sps(122, 120, 34, crop=(2, 0, 0, 4), chroma=2, fmo=0),
    'hmono': make_sps(100, 20, 15, crop=(1, 1, 1, 1), chroma=0),
}


def avc_body(sps):
    """An AVC sequence header tag body around one SPS and a dummy PPS."""
    pps = bytes([0x68, 0xce, 0x38, 0x80])
    return bytes([0x17, 0, 0, 0, 0, 1, sps[1], sps[2], sps[3], 0xff, 0xe1]) + \
        len(sps).to_bytes(2, 'big') + sps + b'\x01' + \
        len(pps).to_bytes(2, 'big') + pps


def check_sps(name, sps, want, tmp):
    """ffmpeg must read back the fields the writer meant to write."""
    path = os.path.join(tmp, name + '.264')
    with open(path, 'wb') as f:
        f.write(b'\0\0\0\1' + sps)
    r = subprocess.run(['ffmpeg', '-hide_banner', '-f', 'h264', '-i', path,
                        '-c', 'copy', '-bsf:v', 'trace_headers', '-f',
                        'null', '-'], capture_output=True, text=True)
    got = {}
    for line in r.stderr.splitlines():
        f = line.split()
        if len(f) >= 6 and f[-2] == '=' and f[4] in want:
            got[f[4]] = int(f[-1])
    if got != want:
        sys.exit('%s: ffmpeg read %s, want %s' % (name, got, want))


def ffmpeg(args, out):
    subprocess.run(['ffmpeg', '-hide_banner', '-loglevel', 'error', '-y'] +
                   args.argv() + ['-f', 'flv', out], check=True)


def tags(path):
    """(type, ts_ms, body) for each tag of an FLV file."""
    with open(path, 'rb') as f:
        data = f.read()
    off = struct.unpack('>I', data[5:9])[0] + 4
    while off + 11 <= len(data):
        size = int.from_bytes(data[off + 1:off + 4], 'big')
        ts = int.from_bytes(data[off + 4:off + 7], 'big') | \
            data[off + 7] << 24
        yield data[off], ts, data[off + 11:off + 11 + size]
        off += 11 + size + 4


def bodies(name, path):
    """The bodies a test needs, named <case>.<what>."""
    out = {}
    for typ, _, body in tags(path):
        if typ == 9:
            what = {0x17: 'vkey', 0x27: 'vinter'}.get(body[0])
            if body[1] == 0:
                what = 'vseq'
            elif body[1] == 2:
                what = 'vend'
        elif typ == 8:
            what = 'aseq' if body[0] >> 4 == 10 and body[1] == 0 else 'araw'
        else:
            continue
        if what and what not in out:
            out[what] = body if what in ('vseq', 'aseq') else body[:16]
    return {'%s.%s' % (name, k): v for k, v in out.items()}


def probe(path):
    r = subprocess.run(['ffprobe', '-v', 'error', '-show_streams',
                        '-show_packets', '-of', 'json', path],
                       check=True, capture_output=True, text=True)
    return json.loads(r.stdout)


def facts(name, path):
    j = probe(path)
    for s in j['streams']:
        keys = ('codec_name', 'profile', 'level', 'width', 'height',
                'sample_rate', 'channels')
        print(name, ' '.join('%s=%s' % (k, s[k]) for k in keys if k in s))
    # The first video packets' composition offsets (pts - dts).
    cts = [int(p['pts']) - int(p['dts']) for p in j['packets']
           if p['codec_type'] == 'video'][:4]
    if cts:
        print(name, 'cts', cts)


def small_facts(path):
    j = probe(path)
    pk = j['packets']
    v = [p for p in pk if p['codec_type'] == 'video']
    a = [p for p in pk if p['codec_type'] == 'audio']
    print('small video', len(v), 'key', sum('K' in p['flags'] for p in v),
          'cts', [int(p['pts']) - int(p['dts']) for p in v])
    print('small audio', len(a))


# Fuzz seeds beyond the bodies: Enhanced RTMP video headers (HEVC
# SequenceStart, CodedFrames with cts, CodedFramesX, AV1, VP9, command
# frame, Multitrack) and AudioSpecificConfigs (escape, explicit rate,
# HE-AAC, HE-AACv2).
SEEDS = {
    'ex_hevc_seq': '9068766331010160',
    'ex_hevc_coded': '9168766331ffffdf0000',
    'ex_hevc_x': 'a36876633100',
    'ex_av1_ts': '956176303180',
    'ex_vp9': 'a176703039aa',
    'ex_cmd': 'd101',
    'ex_multitrack': '966876633100',
    'asc_aot42': 'f94640',
    'asc_explicit': '1780562208',
    'asc_he': '2b1188',
    'asc_hev2': 'eb0988',
}


def write_corpus(here, lines):
    corpus = os.path.join(here, '..', 'fuzz', 'corpus', 'flv')
    os.makedirs(corpus, exist_ok=True)
    seeds = dict(SEEDS)
    seeds.update(l.split() for l in lines if not l.startswith('#'))
    for name, hx in seeds.items():
        with open(os.path.join(corpus, name), 'wb') as f:
            f.write(bytes.fromhex(hx))


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    lines = ['# FLV tag bodies from flv_make.py (ffmpeg %s): sequence'
             % subprocess.run(['ffmpeg', '-version'], capture_output=True,
                              text=True).stdout.split()[2],
             '# headers whole, frames cut to 16 bytes.  name hex']
    with tempfile.TemporaryDirectory() as tmp:
        for name, args in CASES.items():
            path = os.path.join(tmp, name + '.flv')
            ffmpeg(args, path)
            for k, v in sorted(bodies(name, path).items()):
                lines.append('%s %s' % (k, v.hex()))
            facts(name, path)
        for name, (sps, want) in HAND_SPS.items():
            check_sps(name, sps, want, tmp)
            lines.append('%s.vseq %s' % (name, avc_body(sps).hex()))
        small = os.path.join(here, 'flv_small.flv')
        ffmpeg(SMALL, small)
        small_facts(small)
    with open(os.path.join(here, 'flv_bodies.hex'), 'w') as f:
        f.write('\n'.join(lines) + '\n')
    write_corpus(here, lines)
    return 0


if __name__ == '__main__':
    sys.exit(main())
