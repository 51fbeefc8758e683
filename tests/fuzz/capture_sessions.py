#!/usr/bin/env python3
"""Records what real publishers send, as seeds for fuzz_rtmp_hs and
fuzz_rtmp_chunk: ffmpeg, GStreamer rtmp2sink and rtmpsink (librtmp) each
publish about a second of tiny media through a recording TCP proxy to a
running mirroring.  The client's first 1 + 2 * 1536 bytes (C0 C1 C2) seed
the handshake target; what follows (its chunk stream: connect, publish,
metadata, audio and video) seeds the chunk target, cut to MAX_SEED bytes.
Each seed starts with the targets' piece-size byte (0: all at once).

Run by hand from a build tree; the outputs are committed:
  MIRRORING=build/supervisor/mirroring python3 tests/fuzz/capture_sessions.py
"""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, 'corpus')
HS_LEN = 1 + 2 * 1536
MAX_SEED = 60000        # under the fuzz runs' -max_len
KEY = 'capture-0123456789'


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


class Recorder(threading.Thread):
    """Accepts one client, forwards both ways, keeps what the client
    sent."""

    def __init__(self, port, backend):
        super().__init__(daemon=True)
        self.ls = socket.create_server(('127.0.0.1', port))
        self.backend = backend
        self.sent = bytearray()

    def run(self):
        c, _ = self.ls.accept()
        b = socket.create_connection(('127.0.0.1', self.backend))

        def back():
            try:
                while (d := b.recv(65536)):
                    c.sendall(d)
            except OSError:
                pass
            c.close()
        threading.Thread(target=back, daemon=True).start()
        try:
            while (d := c.recv(65536)):
                self.sent += d
                b.sendall(d)
        except OSError:
            pass
        b.close()


def make_media(path):
    subprocess.run([
        'ffmpeg', '-nostdin', '-v', 'error', '-y', '-f', 'lavfi', '-i',
        'testsrc2=size=160x90:rate=15', '-f', 'lavfi', '-i',
        'sine=sample_rate=22050', '-t', '1', '-c:v', 'libx264', '-preset',
        'ultrafast', '-g', '15', '-b:v', '60k', '-c:a', 'aac', '-b:a', '24k',
        '-ac', '1', '-f', 'flv', path], check=True, timeout=60)


def gst(media, url, sink):
    # flvdemux ! flvmux passes each coded frame unchanged
    return ['gst-launch-1.0', '-q', 'filesrc', f'location={media}', '!',
            'flvdemux', 'name=d', 'd.video', '!', 'queue', '!', 'm.video',
            'd.audio', '!', 'queue', '!', 'm.audio', 'flvmux', 'name=m',
            'streamable=true', '!', sink, f'location={url}', 'sync=true']


PUBLISHERS = {
    'ffmpeg': lambda media, url: [
        'ffmpeg', '-nostdin', '-v', 'error', '-re', '-i', media, '-c',
        'copy', '-f', 'flv', url],
    'rtmp2sink': lambda media, url: gst(media, url, 'rtmp2sink'),
    'rtmpsink': lambda media, url: gst(media, url, 'rtmpsink'),
}


def main():
    exe = os.environ.get('MIRRORING', 'build/supervisor/mirroring')
    tmp = tempfile.mkdtemp(prefix='mirroring-capture-')
    port = free_port()
    with open(os.path.join(tmp, 'm.yaml'), 'w') as f:
        f.write(f'listen: 127.0.0.1:{port}\nstate_dir: var\n'
                f'streams:\n  cap: {{ key: {KEY} }}\n')
    sup = subprocess.Popen([exe, 'run', '-c', os.path.join(tmp, 'm.yaml')],
                           stderr=subprocess.DEVNULL)
    media = os.path.join(tmp, 'src.flv')
    make_media(media)
    time.sleep(1)
    try:
        for name, argv in PUBLISHERS.items():
            if shutil.which(argv(media, 'x')[0]) is None:
                print(f'{name}: not installed, skipped')
                continue
            pport = free_port()
            rec = Recorder(pport, port)
            rec.start()
            url = f'rtmp://127.0.0.1:{pport}/live/{KEY}'
            r = subprocess.run(argv(media, url), timeout=60,
                               stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
            rec.join(5)
            data = bytes(rec.sent)
            print(f'{name}: exit {r.returncode}, {len(data)} bytes sent '
                  f'{r.stderr.strip()[:200]}')
            if len(data) <= HS_LEN:
                sys.exit(f'{name}: no session recorded')
            with open(os.path.join(CORPUS, 'rtmp_hs', f'real_{name}'),
                      'wb') as f:
                f.write(b'\0' + data[:HS_LEN])
            with open(os.path.join(CORPUS, 'rtmp_chunk', f'real_{name}'),
                      'wb') as f:
                f.write(b'\0' + data[HS_LEN:HS_LEN + MAX_SEED])
            time.sleep(3.5)     # the next publisher would be "already live"
    finally:
        sup.terminate()
        sup.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == '__main__':
    main()
