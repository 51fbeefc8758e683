"""What a viewer of a destination would notice, checked on a sink's
recording (issue #7): decoding errors, timestamps that step back or leave
holes, which frames are the slate and which the source, and a live tap on
an RTMP sink that tells when each tag arrived.
"""

import hashlib
import json
import os
import subprocess
import threading
import time

import harness
from harness import Failure, wait_listening

SLATE_RGB = 'ff00ff'		# magenta: nothing in testsrc2 is uniformly so


def make_slate(t, name='slate.png', size='640x360', rgb=SLATE_RGB):
    """A solid-colour PNG the slate shows."""
    path = os.path.join(t.dir, name)
    r = subprocess.run(['ffmpeg', '-nostdin', '-v', 'error', '-y', '-f',
                        'lavfi', '-i', f'color=c=0x{rgb}:s={size}',
                        '-frames:v', '1', path], capture_output=True,
                       text=True, timeout=60)
    if r.returncode != 0:
        raise Failure(f'ffmpeg could not make the slate: {r.stderr}')
    return path


def two_parts(t, seconds, relays):
    """What a drop-and-return scenario starts with: two publishes' media
    (a, and b with another picture), the slate, the publish key, and per
    relay a sink key and port: (a, b, slate, key, sink keys, ports)."""
    a = harness.make_media(os.path.join(t.dir, 'a.flv'), seconds)
    b = harness.make_media(os.path.join(t.dir, 'b.flv'), seconds,
                           video=('-vf', 'hue=h=120'))
    skeys = {n: harness.new_key(f'{n}key') for n in relays}
    ports = {n: harness.free_port() for n in relays}
    return a, b, make_slate(t), harness.new_key(), skeys, ports


def decode_errors(path):
    """What `ffmpeg -v error` says decoding path to the end ('' = none)."""
    r = subprocess.run(['ffmpeg', '-nostdin', '-v', 'error', '-i', path,
                        '-f', 'null', '-'], capture_output=True, text=True,
                       timeout=300)
    out = r.stderr.strip()
    if r.returncode != 0 and not out:
        out = f'exit status {r.returncode}'
    return out


def dts_list(path, kind):
    """The dts (s) of path's packets of kind ('video'/'audio'), file
    order."""
    sel = 'v:0' if kind == 'video' else 'a:0'
    r = subprocess.run(['ffprobe', '-v', 'error', '-select_streams', sel,
                        '-show_entries', 'packet=dts_time', '-of', 'csv=p=0',
                        path], capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise Failure(f'ffprobe {path}: {r.stderr}')
    # a packet with side data (a new sequence header) gets a trailing ','
    vals = (line.split(',')[0] for line in r.stdout.split())
    return [float(x) for x in vals if x not in ('', 'N/A')]


def check_timeline(t, what, path, max_hole=0.1):
    """Video dts strictly increase with no hole over max_hole s; audio dts
    never go back.  Returns (video dts, audio dts)."""
    v, a = dts_list(path, 'video'), dts_list(path, 'audio')
    back = next((i for i in range(1, len(v)) if v[i] <= v[i - 1]), None)
    t.check(len(v) > 0 and back is None, f'{what}: {len(v)} video '
            'timestamps, each later than the one before',
            f'at {back}: {v[back - 1:back + 1]}' if back else 'no video',
            soft=True)
    holes = [(v[i - 1], v[i]) for i in range(1, len(v))
             if v[i] - v[i - 1] > max_hole]
    t.check(not holes, f'{what}: no hole over {max_hole * 1000:.0f} ms '
            'between video frames', str(holes[:3]), soft=True)
    aback = next((i for i in range(1, len(a)) if a[i] < a[i - 1]), None)
    t.check(len(a) > 0 and aback is None, f'{what}: {len(a)} audio '
            'timestamps never go back',
            f'at {aback}: {a[aback - 1:aback + 1]}' if aback else 'no audio',
            soft=True)
    return v, a


def slate_frames(path, rgb=SLATE_RGB):
    """[(pts s, is_slate)] per decoded video frame: a slate frame is one
    colour (luma spread <= 6) close to rgb's chroma (or black when rgb is
    '000000')."""
    src = path.replace('\\', '/').replace(':', '\\:')
    r = subprocess.run(['ffprobe', '-v', 'error', '-f', 'lavfi',
                        f'movie={src},signalstats', '-show_entries',
                        'frame=pts_time:frame_tags=lavfi.signalstats.YLOW,'
                        'lavfi.signalstats.YHIGH,lavfi.signalstats.UAVG,'
                        'lavfi.signalstats.VAVG', '-of', 'json'],
                       capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        raise Failure(f'ffprobe signalstats {path}: {r.stderr}')
    want = _chroma(rgb)
    out = []
    for f in json.loads(r.stdout).get('frames', []):
        tags = f.get('tags', {})
        try:
            ylo = float(tags['lavfi.signalstats.YLOW'])
            yhi = float(tags['lavfi.signalstats.YHIGH'])
            u = float(tags['lavfi.signalstats.UAVG'])
            v = float(tags['lavfi.signalstats.VAVG'])
            pts = float(f['pts_time'])
        except (KeyError, ValueError):
            continue
        out.append((pts, yhi - ylo <= 6 and abs(u - want[0]) < 20 and
                    abs(v - want[1]) < 20))
    return out


def _chroma(rgb):
    """BT.601 limited-range U, V of an RRGGBB colour."""
    r, g, b = (int(rgb[i:i + 2], 16) for i in (0, 2, 4))
    u = 128 + (-0.148 * r - 0.291 * g + 0.439 * b)
    v = 128 + (0.439 * r - 0.368 * g - 0.071 * b)
    return u, v


def runs(flags):
    """[(value, start index, length)] of consecutive equal values."""
    out = []
    for i, f in enumerate(flags):
        if out and out[-1][0] == f:
            out[-1][2] += 1
        else:
            out.append([f, i, 1])
    return [tuple(x) for x in out]


# -- FLV tags, hashed as a sink sees them --------------------------------------

def tag_hash(ttype, body):
    """MD5 of a tag's coded data: the body without the FLV video (5 bytes:
    frame type and codec, AVC packet type, composition time) or AAC (2)
    header, which a remuxing sink writes anew."""
    skip = 5 if ttype == 9 else 2
    return hashlib.md5(body[skip:]).hexdigest()


def flv_parse(data, off):
    """Complete tags in data from off: ([(type, ts, keyframe, not coded,
    body)], next off)."""
    tags = []
    while off + 15 <= len(data):
        ttype = data[off] & 0x1f
        size = int.from_bytes(data[off + 1:off + 4], 'big')
        if off + 11 + size + 4 > len(data):
            break
        ts = int.from_bytes(data[off + 4:off + 7], 'big') | \
            data[off + 7] << 24
        body = bytes(data[off + 11:off + 11 + size])
        key = ttype == 9 and len(body) > 0 and body[0] >> 4 == 1
        # not coded media: AVC/AAC sequence headers, AVC end of sequence
        seq = len(body) > 1 and ((ttype == 9 and body[1] != 1) or
                                 (ttype == 8 and body[0] >> 4 == 10 and
                                  body[1] == 0))
        tags.append((ttype, ts, key, seq, body))
        off += 11 + size + 4
    return tags, off


def media_hashes(path, types=(8, 9)):
    """{hash: (type, ts)} of an FLV file's coded tags of types (audio 8,
    video 9)."""
    with open(path, 'rb') as f:
        data = f.read()
    tags, _ = flv_parse(data, 13)
    return {tag_hash(tt, b): (tt, ts) for tt, ts, _, seq, b in tags
            if tt in types and not seq}


class FlvTap:
    """`ffmpeg -listen 1` receiving rtmp://127.0.0.1:port/live/key and
    writing FLV to a pipe that this object reads as it comes: every
    coded tag with its arrival time (monotonic), and the bytes saved to
    out for the decoding checks."""

    def __init__(self, t, name, port, key, out):
        self.t, self.name, self.out = t, name, out
        self.tags = []          # (arrival, type, ts, keyframe, hash)
        self.lock = threading.Lock()
        log = open(os.path.join(t.dir, name + '.log'), 'wb')
        self.proc = subprocess.Popen(
            ['ffmpeg', '-nostdin', '-hide_banner', '-v', 'warning',
             '-listen', '1', '-i', f'rtmp://127.0.0.1:{port}/live/{key}',
             '-c', 'copy', '-flush_packets', '1', '-f', 'flv', 'pipe:1'],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log,
            start_new_session=True)
        log.close()
        self.proc.name = name
        t.procs.append(self.proc)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        wait_listening(t, name, self.proc, port)

    def _read(self):
        data, off = bytearray(), 13
        with open(self.out, 'wb') as f:
            while True:
                b = self.proc.stdout.read1(65536)
                if not b:
                    break
                now = time.monotonic()
                f.write(b)
                data += b
                tags, off = flv_parse(data, off)
                with self.lock:
                    for tt, ts, key, seq, body in tags:
                        if tt in (8, 9) and not seq:
                            self.tags.append((now, tt, ts, key,
                                              tag_hash(tt, body)))
                # keep memory flat: drop what is parsed
                if off > 1 << 20:
                    del data[:off]
                    off = 0

    def snapshot(self):
        with self.lock:
            return list(self.tags)

    def wait_tag(self, pred, deadline, what):
        """The first tag (arrival, type, ts, keyframe, hash) for which
        pred holds, waiting up to deadline s."""
        end = time.monotonic() + deadline
        seen = 0
        while True:
            tags = self.snapshot()
            for tag in tags[seen:]:
                if pred(tag):
                    return tag
            seen = len(tags)
            if time.monotonic() > end or self.proc.poll() is not None:
                self.t.fail(f'{self.name}: no {what} within {deadline:g} s '
                            f'({len(tags)} tags, sink '
                            f'{"running" if self.proc.poll() is None else "gone"})')
            time.sleep(0.01)

    def close_wait(self, deadline):
        """Waits for the sink to end (its publisher closed) and for the
        reader to see the last bytes; returns the exit status."""
        rc = self.t.wait_exit(self.proc, deadline)
        self.reader.join(10)
        return rc
