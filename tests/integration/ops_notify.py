#!/usr/bin/env python3
"""systemd's readiness protocol, as contrib/mirroring.service (Type=notify)
relies on: `mirroring run` sends READY=1 on $NOTIFY_SOCKET once it
listens, RELOADING=1 then READY=1 around a reload (a
refused one too), and STOPPING=1 on SIGTERM.  The socket here is a real
AF_UNIX datagram socket, as systemd's; the abstract form (@name) too.
Then `mirroring start` without log.file logs to state_dir/mirroring.log."""

import os
import socket
import stat

import harness


def recv(t, s, want, what):
    s.settimeout(5 * harness.SLOW)
    try:
        got = s.recv(4096).decode()
    except socket.timeout:
        t.fail(f'no notification for {what}')
    t.check_eq(got, want, what)


def body(t):
    key = harness.new_key()
    t.write_config({'studio': key})
    for abstract in (False, True):
        name = f'@mirroring-test-{os.getpid()}' if abstract else \
            os.path.join(t.dir, 'notify.sock')
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        s.bind('\0' + name[1:] if abstract else name)
        t.start(env={'NOTIFY_SOCKET': name})
        # start() returned after supervisor.listening: READY=1 is there
        recv(t, s, 'READY=1', f'READY=1 once listening ({name})')
        r = t.cli('reload')
        t.check_eq(r.returncode, 0, 'reload', r.stderr)
        recv(t, s, 'RELOADING=1', 'RELOADING=1 at a reload')
        recv(t, s, 'READY=1', 'READY=1 after it')
        with open(t.conf, 'a') as f:
            f.write('nonsense: 1\n')
        r = t.cli('reload')
        t.check_eq(r.returncode, 1, 'an invalid reload is refused')
        recv(t, s, 'RELOADING=1', 'RELOADING=1 at a refused reload')
        recv(t, s, 'READY=1', 'READY=1 after it too')
        t.write_config({'studio': key})
        t.check_eq(t.stop(), 0, 'exit status on SIGTERM')
        recv(t, s, 'STOPPING=1', 'STOPPING=1 on SIGTERM')
        s.close()
    default_log(t, key)


def default_log(t, key):
    """`mirroring start` without log.file logs to state_dir/mirroring.log,
    and a reload does not take that for a change of log.file."""
    t.write_config({'studio': key})
    t.log_path = os.path.join(t.state_dir, 'mirroring.log')
    t.start_daemon()
    t.check_eq(stat.S_IMODE(os.stat(t.log_path).st_mode), 0o600,
               'the default log file, 0600')
    t.wait_log('supervisor.listening', 2)
    r = t.cli('reload')
    t.check_eq(r.returncode, 0, 'reload', r.stderr)
    t.wait_log('config.reloaded', 2)
    t.check_eq(t.events('config.restart_needed'), [], 'no restart_needed '
               'for an unchanged config')
    r = t.cli('stop')
    t.check_eq(r.returncode, 0, 'stop', r.stderr)
    t.daemon_pid = None
    t.check_sanitizers()


if __name__ == '__main__':
    harness.run('ops_notify', body, tools=())
