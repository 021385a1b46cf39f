"""The systemd units in contrib/systemd: they parse (systemd-analyze
verify, with ExecStart pointing at the binaries under test), and the
command lines they run are ones ferry and ferryd accept. The readiness
protocol itself (READY=1 over NOTIFY_SOCKET) is tested for ferry in
test_supervise.py and for ferryd here."""

import os
import re
import shutil
import socket
import subprocess
from pathlib import Path

import ferrylab as fl
from ferrydlab import FERRYD, ferryd  # noqa: F401 - fixture
from ferrylab import Deadline

UNITS = fl.REPO_ROOT / 'contrib' / 'systemd'
ANALYZE = shutil.which('systemd-analyze') or '/usr/bin/systemd-analyze'


def installed_copy(tmp_path):
    """The units as meson installs them (contrib/systemd/*.service.in with
    @sbindir@ and @bindir@ filled in), pointing at the binaries under test."""
    out = tmp_path / 'units'
    out.mkdir()
    ferry = str(fl.ferry_bin())
    for unit in sorted(UNITS.glob('*.service.in')):
        text = unit.read_text()
        text = text.replace('@sbindir@/ferryd', FERRYD)
        text = text.replace('@bindir@/ferry', ferry)
        assert '@' not in text.replace('ferry@', ''), unit
        (out / unit.name[:-len('.in')]).write_text(text)
    return out


def unit_text(name):
    """A unit's template in contrib/systemd."""
    return (UNITS / (name + '.in')).read_text()


def exec_lines(text, key):
    return [l.split('=', 1)[1] for l in text.splitlines() if l.startswith(key + '=')]


def test_units_parse(tmp_path):
    units = installed_copy(tmp_path)
    names = sorted(p.name for p in units.glob('*.service'))
    assert {'ferryd.service', 'ferry-tunnels.service', 'ferry@.service'} <= set(names)
    # a template is verified through an instance
    shutil.copy(units / 'ferry@.service', units / 'ferry@example.service')
    targets = [str(units / n) for n in ('ferryd.service', 'ferry-tunnels.service',
                                        'ferry@example.service')]
    r = subprocess.run([ANALYZE, 'verify', '--man=no'] + targets, capture_output=True, text=True,
                       timeout=60, env={**os.environ, 'SYSTEMD_LOG_LEVEL': 'warning'})
    # systemd-analyze names the file and line of every setting it could
    # not use ("Unknown key name", "Invalid ...", "... ignoring")
    problems = [l for l in (r.stdout + r.stderr).splitlines()
                if '.service:' in l and any(w in l for w in (
                    'Unknown', 'Invalid', 'ignoring', 'bad', 'Failed'))]
    assert r.returncode == 0 and not problems, r.stdout + r.stderr
    for n in ('ferryd.service', 'ferry-tunnels.service', 'ferry@.service'):
        text = unit_text(n)
        assert 'Type=notify' in text, n
        assert exec_lines(text, 'ExecReload') == ['/bin/kill -HUP $MAINPID'], n


def test_ferryd_unit_command_lines(tmp_path, keys):
    """ExecStartPre's -t accepts a good config and rejects a bad one; the
    ExecStart flags are -D -f (the fixture adds -e; the unit logs to syslog,
    which the journal collects, as sshd's unit does)."""
    text = unit_text('ferryd.service')
    pre = exec_lines(text, 'ExecStartPre')[0].split()
    start = exec_lines(text, 'ExecStart')[0].split()
    assert pre[1:3] == ['-t', '-f'] and start[1:3] == ['-D', '-f'] and '-e' not in start
    good = tmp_path / 'ferryd_config'
    good.write_text(f'Port 0\nListenAddress 127.0.0.1\nHostKey {keys.host["ed25519"]}\n'
                    f'StateDirectory {tmp_path}\n')
    r = subprocess.run([FERRYD, '-t', '-f', str(good)], capture_output=True, text=True,
                       timeout=20)
    assert r.returncode == 0, r.stderr
    bad = tmp_path / 'bad_config'
    bad.write_text('Port 0\nGatewayPorts sometimes\n')
    r = subprocess.run([FERRYD, '-t', '-f', str(bad)], capture_output=True, text=True,
                       timeout=20)
    assert r.returncode != 0 and 'GatewayPorts' in r.stderr


def test_ferryd_notifies_ready_and_stopping(tmp_path, keys):
    """Type=notify: READY=1 arrives once ferryd listens (a connection
    right after it gets the SSH banner), STOPPING=1 on SIGTERM."""
    sock_path = str(tmp_path / 'notify.sock')
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(sock_path)
    notify.settimeout(20)
    conf = tmp_path / 'ferryd_config'
    conf.write_text(f'Port 0\nListenAddress 127.0.0.1\nHostKey {keys.host["ed25519"]}\n'
                    f'StateDirectory {tmp_path}\n')
    env = {**os.environ, 'NOTIFY_SOCKET': sock_path}
    p = subprocess.Popen([FERRYD, '-D', '-e', '-f', str(conf)], env=env,
                         stderr=subprocess.PIPE, text=True)
    try:
        msg = notify.recv(4096).decode()
        assert 'READY=1' in msg.split('\n'), msg
        port = None
        d = Deadline(10, 'ferryd listening line')
        while port is None and not d.expired():
            line = p.stderr.readline()
            m = re.search(r'Server listening on 127\.0\.0\.1 port (\d+)\.', line)
            if m:
                port = int(m.group(1))
        assert port, 'no listening line'
        with socket.create_connection(('127.0.0.1', port), timeout=10) as c:
            assert c.recv(64).startswith(b'SSH-2.0-')
        p.terminate()
        msg = notify.recv(4096).decode()
        assert 'STOPPING=1' in msg.split('\n'), msg
        assert p.wait(timeout=20) == 0
    finally:
        if p.poll() is None:
            p.kill()
            p.wait(timeout=10)
        notify.close()
