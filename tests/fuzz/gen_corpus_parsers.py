#!/usr/bin/env python3
"""Writes the AMF0 and chunk-stream golden pairs (tests/data/amf0_*,
tests/data/chunk_*) and the seed corpora of fuzz_amf0, fuzz_rtmp_hs and
fuzz_rtmp_chunk.  Run once from anywhere; the outputs are committed.

The expected dumps are written from the structures below, following the
AMF0 and RTMP specifications, not by running the C parsers.  Their format
is the one tests/unit/test_amf0.c and test_rtmp_chunk.c print."""

import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, '..', 'data')
CORPUS = os.path.join(HERE, 'corpus')


def write(path, data):
    if isinstance(data, str):
        data = data.encode()
    with open(path, 'wb') as f:
        f.write(data)


def fnv(b):
    h = 0x811c9dc5
    for c in b:
        h = ((h ^ c) * 0x01000193) & 0xffffffff
    return h


# ---------------------------------------------------------------- AMF0
# A value is a tuple: (kind, ...).  enc() gives the bytes, dump() the lines
# test_amf0.c prints for it.

def quote(b):
    if isinstance(b, str):
        b = b.encode()
    if len(b) > 64:
        return '<%d bytes fnv=%08x>' % (len(b), fnv(b))
    s = ''
    for c in b:
        if 0x20 <= c < 0x7f and c not in (0x22, 0x5c):
            s += chr(c)
        else:
            s += '\\x%02x' % c
    return '"' + s + '"'


def u16(n):
    return struct.pack('>H', n)


def u32(n):
    return struct.pack('>I', n)


def bstr(s):
    return s.encode() if isinstance(s, str) else s


def enc(v):
    k = v[0]
    if k == 'number':
        return b'\x00' + struct.pack('>d', v[1])
    if k == 'boolean':
        return b'\x01' + bytes([1 if v[1] else 0])
    if k == 'string':
        return b'\x02' + u16(len(bstr(v[1]))) + bstr(v[1])
    if k == 'null':
        return b'\x05'
    if k == 'undefined':
        return b'\x06'
    if k == 'unsupported':
        return b'\x0d'
    if k == 'reference':
        return b'\x07' + u16(v[1])
    if k == 'date':
        return b'\x0b' + struct.pack('>dh', v[1], v[2])
    if k == 'longstring':
        return b'\x0c' + u32(len(bstr(v[1]))) + bstr(v[1])
    if k == 'xml':
        return b'\x0f' + u32(len(bstr(v[1]))) + bstr(v[1])
    if k == 'object':
        return b'\x03' + props(v[1])
    if k == 'ecma':
        return b'\x08' + u32(v[1]) + props(v[2])
    if k == 'typed':
        return b'\x10' + u16(len(v[1])) + v[1].encode() + props(v[2])
    if k == 'strict':
        return b'\x0a' + u32(len(v[1])) + b''.join(enc(x) for x in v[1])
    raise ValueError(k)


def props(ps):
    out = b''
    for key, val in ps:
        out += u16(len(bstr(key))) + bstr(key) + enc(val)
    return out + b'\x00\x00\x09'


def num(x):
    return '%.17g' % x


def dump(v, depth=0, key=None):
    pre = '%d %s ' % (depth, '-' if key is None else quote(key))
    k = v[0]
    if k == 'number':
        return [pre + 'number ' + num(v[1])]
    if k == 'boolean':
        return [pre + 'boolean ' + ('true' if v[1] else 'false')]
    if k in ('string', 'longstring', 'xml'):
        return [pre + k + ' ' + quote(v[1])]
    if k in ('null', 'undefined', 'unsupported'):
        return [pre + k]
    if k == 'reference':
        return [pre + 'reference %d' % v[1]]
    if k == 'date':
        return [pre + 'date ' + num(v[1])]
    if k == 'object':
        lines = [pre + 'object']
        ps = v[1]
    elif k == 'ecma':
        lines = [pre + 'ecma %d' % v[1]]
        ps = v[2]
    elif k == 'typed':
        lines = [pre + 'typed ' + quote(v[1])]
        ps = v[2]
    elif k == 'strict':
        lines = [pre + 'strict %d' % len(v[1])]
        ps = [(None, x) for x in v[1]]
    for pk, pv in ps:
        lines += dump(pv, depth + 1, pk)
    return lines + ['%d - end' % depth]


S = lambda s: ('string', s)
N = lambda x: ('number', float(x))

CONNECT_FFMPEG = [
    S('connect'), N(1), ('object', [
        ('app', S('live')),
        ('type', S('nonprivate')),
        ('flashVer', S('FMLE/3.0 (compatible; Lavf59.27.100)')),
        ('tcUrl', S('rtmp://127.0.0.1:1935/live')),
    ]),
]

META_PROPS = [
    ('duration', N(0)), ('width', N(1280)), ('height', N(720)),
    ('videodatarate', N(2500)), ('framerate', N(29.97)),
    ('videocodecid', N(7)), ('audiodatarate', N(128)),
    ('audiosamplerate', N(48000)), ('audiosamplesize', N(16)),
    ('stereo', ('boolean', True)), ('audiocodecid', N(10)),
    ('encoder', S('Lavf59.27.100')), ('filesize', N(0)),
]

AMF0_GOLDEN = {
    'connect_ffmpeg': CONNECT_FFMPEG,
    'metadata': [S('@setDataFrame'), S('onMetaData'),
                 ('ecma', len(META_PROPS), META_PROPS)],
    # the count is a hint: the end marker decides
    'metadata_count0': [S('onMetaData'), ('ecma', 0, META_PROPS[:3])],
    'publish': [S('publish'), N(5), ('null',), S('key?x=y'), S('live')],
    'strict_array': [('strict', [N(1), S('a'), ('null',),
                                 ('object', [('x', N(1))]),
                                 ('strict', []), ('boolean', False)])],
    'nested': [('object', [
        ('a', ('object', [('b', ('ecma', 1, [
            ('c', ('object', [('d', ('undefined',))])),
            ('', ('reference', 3))]))])),
        ('e', ('unsupported',)),
        ('nul\x00l', S('embedded\x00nul')),
        ('f', ('object', [])),
    ])],
    'typed': [('typed', 'com.example.Point', [('x', N(1)), ('y', N(-2.5))])],
    'date': [('date', 1700000000000.0, 0), ('date', -1.5, 60)],
    'long_string': [('longstring', 'x' * 70000), ('longstring', 'short'),
                    ('xml', '<a b="c"/>'), S('')],
}


AMF0_SEEDS = ('connect_ffmpeg', 'metadata', 'strict_array', 'nested', 'typed')


def nest(n):
    v = ('object', [('k', N(n))])
    for _ in range(n - 1):
        v = ('object', [('o', v)])
    return v


def write_amf0():
    for name, vals in AMF0_GOLDEN.items():
        data = b''.join(enc(v) for v in vals)
        lines = []
        for v in vals:
            lines += dump(v)
        write(os.path.join(DATA, 'amf0_%s.in' % name), data)
        write(os.path.join(DATA, 'amf0_%s.out' % name),
              '\n'.join(lines + ['done']) + '\n')
        if name in AMF0_SEEDS:
            write(os.path.join(CORPUS, 'amf0', name), data)
    bad = {
        'nest16': enc(nest(16)),
        'nest17': enc(nest(17)),
        'string_past_end': b'\x02\x00\x10abc',
        'long_string_past_end': b'\x0c\xff\xff\xff\xf0abc',
        'strict_count_past_end': b'\x0a\x00\x00\x03\xe8\x05\x05',
        'movieclip': b'\x03\x00\x01a\x04',
        'avmplus': b'\x11\x0a\x0b\x01',
        'unterminated': enc(CONNECT_FFMPEG[2])[:-3],
        'key_past_end': b'\x08\x00\x00\x00\x01\x00\x09ab',
    }
    for name, data in bad.items():
        write(os.path.join(CORPUS, 'amf0', name), data)


# ---------------------------------------------------------- chunk stream

def basic(fmt, csid):
    if csid <= 63:
        return bytes([fmt << 6 | csid])
    if csid <= 319:
        return bytes([fmt << 6, csid - 64])
    return bytes([fmt << 6 | 1, (csid - 64) & 0xff, (csid - 64) >> 8])


def be24(n):
    return struct.pack('>I', n)[1:]


def hdr(fmt, csid, ts=0, length=0, mtype=0, msid=0, ext=None):
    """One chunk header; ts is the absolute (fmt 0) or delta (1, 2) value;
    ext forces a repeated extended timestamp on fmt 3."""
    out = basic(fmt, csid)
    if fmt == 3:
        return out + (u32(ext) if ext is not None else b'')
    out += be24(min(ts, 0xffffff))
    if fmt <= 1:
        out += be24(length) + bytes([mtype])
    if fmt == 0:
        out += struct.pack('<I', msid)
    if ts >= 0xffffff:
        out += u32(ts)
    return out


def payload(n, seed=0):
    return bytes((i * 7 + seed * 13 + 1) & 0xff for i in range(n))


def chunks(first, csid, data, size=128, ext=None, cut=None):
    """first header + data cut into chunks of size; continuation fmt-3
    headers repeat ext when given.  cut stops after that many bytes."""
    end = len(data) if cut is None else cut
    out = first + data[:min(size, end)]
    for i in range(size, end, size):
        out += hdr(3, csid, ext=ext) + data[i:min(i + size, end)]
    return out


def line(csid, mtype, msid, ts, data):
    return 'csid=%d type=%d msid=%d ts=%d len=%d fnv=%08x' % (
        csid, mtype, msid, ts & 0xffffffff, len(data), fnv(data))


def case_fmt0_basic():
    d = payload(100)
    return hdr(0, 3, 0, 100, 20, 0) + d, [line(3, 20, 0, 0, d)]


def case_fmt_all():
    v, a1, a2, a3 = payload(300, 1), payload(50, 2), payload(50, 3), \
        payload(50, 4)
    s = chunks(hdr(0, 4, 1000, 300, 9, 1), 4, v)
    s += hdr(1, 4, 33, 50, 8) + a1
    s += hdr(2, 4, 20) + a2
    s += hdr(3, 4) + a3		# new message: delta 20 again
    return s, [line(4, 9, 1, 1000, v), line(4, 8, 1, 1033, a1),
               line(4, 8, 1, 1053, a2), line(4, 8, 1, 1073, a3)]


def case_basic_hdr():
    s, out = b'', []
    for i, csid in enumerate((63, 64, 319, 320, 65599)):
        d = payload(200, i)
        s += chunks(hdr(0, csid, i, 200, 8, 1), csid, d)
        out.append(line(csid, 8, 1, i, d))
    return s, out


def case_ext_ts():
    d1, d2, d3, d4 = payload(300, 1), payload(200, 2), payload(200, 3), \
        payload(10, 4)
    t0 = 0x1000000
    s = chunks(hdr(0, 5, t0, 300, 9, 1), 5, d1, ext=t0)
    # delta exactly 0xFFFFFF also needs the extended field
    s += chunks(hdr(1, 5, 0xffffff, 200, 9), 5, d2, ext=0xffffff)
    # new message: length and delta repeated
    s += chunks(hdr(3, 5, ext=0xffffff), 5, d3, ext=0xffffff)
    s += hdr(0, 6, 0xfffffe, 10, 8, 1) + d4	# just below: no ext
    return s, [line(5, 9, 1, t0, d1), line(5, 9, 1, t0 + 0xffffff, d2),
               line(5, 9, 1, t0 + 2 * 0xffffff, d3),
               line(6, 8, 1, 0xfffffe, d4)]


def case_interleave_librtmp():
    """librtmp: audio and video on csid 4, type and length switched with
    fmt 1; and a message on another chunk stream cutting in between the
    chunks of one (RTMP 5.3.2.2)."""
    v1, a1, v2, a2 = payload(300, 1), payload(20, 2), payload(260, 3), \
        payload(21, 4)
    c = payload(40, 5)
    s = chunks(hdr(0, 4, 0, 300, 9, 1), 4, v1)
    s += hdr(1, 4, 0, 20, 8) + a1
    s += hdr(1, 4, 40, 260, 9) + v2[:128]
    s += hdr(0, 3, 0, 40, 20, 1) + c
    s += hdr(3, 4) + v2[128:256] + hdr(3, 4) + v2[256:]
    s += hdr(1, 4, 3, 21, 8) + a2
    return s, [line(4, 9, 1, 0, v1), line(4, 8, 1, 0, a1),
               line(3, 20, 1, 0, c), line(4, 9, 1, 40, v2),
               line(4, 8, 1, 43, a2)]


def case_fmt3_after_fmt0():
    """rtmp2 sends its second @setDataFrame as fmt 3 right after fmt 0."""
    m = payload(40, 1)
    s = hdr(0, 3, 1000, 40, 18, 1) + m + hdr(3, 3) + m
    s += hdr(0, 3, 0, 40, 18, 1) + m + hdr(3, 3) + m
    return s, [line(3, 18, 1, 1000, m), line(3, 18, 1, 1000, m),
               line(3, 18, 1, 0, m), line(3, 18, 1, 0, m)]


def case_set_chunk_size():
    d = payload(4500, 1)
    scs = u32(4096)
    s = hdr(0, 2, 0, 4, 1, 0) + scs
    s += chunks(hdr(0, 6, 40, 4500, 9, 1), 6, d, size=4096)
    return s, [line(2, 1, 0, 0, scs), line(6, 9, 1, 40, d)]


def case_abort():
    d, e = payload(300, 1), payload(30, 2)
    ab = u32(6)
    s = chunks(hdr(0, 6, 0, 300, 9, 1), 6, d, cut=256)
    s += hdr(0, 2, 0, 4, 2, 0) + ab
    s += hdr(0, 6, 80, 30, 9, 1) + e		# fmt 0 is legal again
    ab9 = u32(9)
    s += hdr(1, 2, 0, 4, 2) + ab9		# nothing to abort there
    return s, [line(2, 2, 0, 0, ab), line(6, 9, 1, 80, e),
               line(2, 2, 0, 0, ab9)]


def case_zero_len():
    s = hdr(0, 3, 5, 0, 20, 0) + hdr(3, 3) + hdr(2, 3, 1)
    return s, [line(3, 20, 0, 5, b''), line(3, 20, 0, 5, b''),
               line(3, 20, 0, 6, b'')]


def case_ts_wrap():
    a, b = payload(5, 1), payload(5, 2)
    s = hdr(0, 4, 0xfffffff0 & 0xffffffff, 5, 8, 1) + a
    s += hdr(2, 4, 0x20) + b
    return s, [line(4, 8, 1, 0xfffffff0, a), line(4, 8, 1, 0x10, b)]


def case_err_size0():
    return hdr(0, 2, 0, 4, 1, 0) + u32(0), \
        ['error: set chunk size: invalid size 0']


def case_err_size_top():
    return hdr(0, 2, 0, 4, 1, 0) + u32(0x80000000), \
        ['error: set chunk size: invalid size 2147483648']


def case_err_size_max():
    return hdr(0, 2, 0, 4, 1, 0) + u32(0xffffffff), \
        ['error: set chunk size: invalid size 4294967295']


def case_err_size_short():
    return hdr(0, 2, 0, 2, 1, 0) + b'\x10\x00', \
        ['error: set chunk size: message of 2 bytes too short']


def case_err_msg_len():
    return hdr(0, 4, 0, 9000000, 9, 1) + payload(128), \
        ['error: message length 9000000 over limit 8388608']


def case_err_fmt1_unknown():
    d = payload(10)
    return hdr(0, 3, 0, 10, 20, 0) + d + hdr(1, 7, 0, 10, 9) + d, \
        [line(3, 20, 0, 0, d),
         'error: chunk stream 7: fmt 1 header without a previous fmt 0']


def case_err_fmt2_unknown():
    return hdr(2, 64, 0), \
        ['error: chunk stream 64: fmt 2 header without a previous fmt 0']


def case_err_fmt3_unknown():
    return hdr(3, 65599), \
        ['error: chunk stream 65599: fmt 3 header without a previous fmt 0']


def case_err_csids():
    s, out = b'', []
    for csid in range(3, 3 + 33):
        s += hdr(0, csid, 0, 0, 20, 0)
        out.append(line(csid, 20, 0, 0, b''))
    return s, out[:32] + ['error: too many chunk streams (over 32)']


def case_err_mid_msg():
    return chunks(hdr(0, 4, 0, 300, 9, 1), 4, payload(300), cut=128) + \
        hdr(1, 4, 0, 20, 8) + payload(20), \
        ['error: chunk stream 4: fmt 1 header in the middle of a message']


def case_err_pending():
    # chunk size 1 keeps the input short: each split costs 16 MiB
    n = 8 * 1024 * 1024
    s = hdr(0, 2, 0, 4, 1, 0) + u32(1)
    for csid in (3, 4, 5):
        s += hdr(0, csid, 0, n, 9, 1) + payload(1)
    return s, [line(2, 1, 0, 0, u32(1)),
               'error: chunk stream 5: 8388608 more bytes put partial '
               'messages over limit 16777216']


CHUNK_CASES = [
    'fmt0_basic', 'fmt_all', 'basic_hdr', 'ext_ts', 'interleave_librtmp',
    'fmt3_after_fmt0', 'set_chunk_size', 'abort', 'zero_len', 'ts_wrap',
    'err_size0', 'err_size_top', 'err_size_max', 'err_size_short',
    'err_msg_len', 'err_fmt1_unknown', 'err_fmt2_unknown',
    'err_fmt3_unknown', 'err_csids', 'err_mid_msg', 'err_pending',
]

# fuzz seeds: first byte = split size
CHUNK_SEEDS = {
    'fmt_all': 1, 'ext_ts': 7, 'interleave_librtmp': 13,
    'fmt3_after_fmt0': 0, 'set_chunk_size': 200, 'abort': 3,
    'basic_hdr': 2, 'zero_len': 1, 'err_size0': 0, 'err_size_top': 5,
    'err_msg_len': 0, 'err_fmt1_unknown': 4, 'err_csids': 9,
    'err_pending': 100,
}


def write_chunk():
    for name in CHUNK_CASES:
        s, out = globals()['case_' + name]()
        write(os.path.join(DATA, 'chunk_%s.in' % name), s)
        write(os.path.join(DATA, 'chunk_%s.out' % name),
              '\n'.join(out) + '\n')
        if name in CHUNK_SEEDS:
            write(os.path.join(CORPUS, 'rtmp_chunk', name),
                  bytes([CHUNK_SEEDS[name]]) + s)


# ------------------------------------------------------------- handshake

def write_hs():
    c1 = u32(1234) + bytes([9, 0, 124, 2]) + payload(1528, 1)
    c2 = payload(1536, 2)
    seeds = {
        'whole': (0, b'\x03' + c1 + c2),
        'bytewise_leftover': (1, b'\x03' + c1 + c2 + b'\x02\x00\x00'),
        'split_100': (100, b'\x03' + c1 + c2),
        'rtmpe': (0, b'\x06' + c1),
        'version9': (3, b'\x09' + c1),
        'truncated_c1': (17, b'\x03' + c1[:1000]),
        'truncated_c2': (0, b'\x03' + c1 + c2[:5]),
    }
    for name, (split, data) in seeds.items():
        write(os.path.join(CORPUS, 'rtmp_hs', name), bytes([split]) + data)


def main():
    for d in (DATA, os.path.join(CORPUS, 'amf0'),
              os.path.join(CORPUS, 'rtmp_chunk'),
              os.path.join(CORPUS, 'rtmp_hs')):
        os.makedirs(d, exist_ok=True)
    write_amf0()
    write_chunk()
    write_hs()


if __name__ == '__main__':
    main()
