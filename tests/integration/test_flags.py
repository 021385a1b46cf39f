"""ssh's command-line flags that ferry takes as ssh does (issue 11): -f
(background once every forward is up), -n, -b/-B (the source address),
ConnectionAttempts, and the session-only flags, accepted and noted.
Real OpenSSH sshd on 127.0.0.1; data checked end to end."""

import os
import subprocess
import time
from pathlib import Path

import ferrylab as fl
from ferrylab import LOCALHOST, USER


def base_argv(lab, sshd, *extra):
    kh = lab.known_hosts(sshd)
    return [fl.require_ferry(), '-i', str(lab.keys.user['ed25519']), '-o', 'BatchMode=yes',
            '-o', f'UserKnownHostsFile={kh}', '-p', str(sshd.port), '-l', USER,
            *extra, LOCALHOST]


def listener_pids(port):
    """The processes holding a listening socket on port."""
    want = fl.listening_inodes(port)
    out = []
    for d in Path('/proc').iterdir():
        if d.name.isdigit() and want & fl.pid_socket_inodes(int(d.name)):
            out.append(int(d.name))
    return out


def test_background_once_forwards_are_up(lab):
    """ferry -f returns 0 only once the listener is up (a connect right
    after works), and goes on serving in the background in its own
    session."""
    sshd = lab.sshd()
    echo = lab.echo()
    cp = fl.ClientProc('ferry', base_argv(lab, sshd, '-f', '-N', '-L',
                                          f'{LOCALHOST}:0:{LOCALHOST}:{echo.addr[1]}'),
                       lab.env)
    lab.clients.append(cp)
    assert cp.wait_exit(30) == 0, cp.stderr()
    m = fl.ALLOCATED_RE.search(cp.stderr())
    assert m, cp.stderr()
    port = int(m.group(1))
    pids = listener_pids(port)
    try:
        assert len(pids) == 1 and pids[0] != cp.pid, pids
        assert os.getsid(pids[0]) == pids[0], 'the background ferry has no session of its own'
        assert fl.echo_roundtrip(port, b'after -f' * 1000) == b'after -f' * 1000
    finally:
        for p in pids:
            os.kill(p, 15)
    fl.wait_until(lambda: not listener_pids(port), 10)
    assert not listener_pids(port)


def test_background_forward_failure_stays_in_front(lab):
    """A forward that cannot be set up: the foreground process exits 255
    with the reason, and nothing is left in the background."""
    sshd = lab.sshd()
    busy, port = fl.closed_port()        # bound by us: ferry's bind fails
    try:
        cp = fl.ClientProc('ferry', base_argv(lab, sshd, '-f', '-N', '-L',
                                              f'{LOCALHOST}:{port}:{LOCALHOST}:9'), lab.env)
        lab.clients.append(cp)
        assert cp.wait_exit(30) == 255, cp.stderr()
        assert 'Address already in use' in cp.stderr() or 'in use' in cp.stderr(), cp.stderr()
        time.sleep(0.3)
        assert listener_pids(port) == [], 'something still holds the port'
        assert not [p for p in fl.process_tree(cp.pid) if p != cp.pid]
    finally:
        busy.close()


def sshd_saw_from(sshd, addr):
    return f'Connection from {addr} port' in sshd.log_text()


def test_bind_address(lab):
    """-b 127.0.0.2: sshd sees the connection come from there."""
    sshd = lab.sshd()
    t = lab.tunnel('ferry', sshd, [lab.echo().addr], extra=['-b', '127.0.0.2'])
    assert fl.echo_roundtrip(t.port, b'b') == b'b'
    assert sshd_saw_from(sshd, '127.0.0.2'), sshd.log_text()[-2000:]


def test_bind_interface(lab):
    """-B lo: the source is lo's address; an unknown interface is an error
    that names it."""
    sshd = lab.sshd()
    t = lab.tunnel('ferry', sshd, [lab.echo().addr], extra=['-B', 'lo'])
    assert fl.echo_roundtrip(t.port, b'B') == b'B'
    assert sshd_saw_from(sshd, LOCALHOST)
    cp = lab.run('ferry', sshd, extra=['-B', 'nosuch0'])
    assert cp.proc.returncode == 255
    assert 'BindInterface nosuch0: no address on that interface' in cp.stderr(), cp.stderr()
    cp = lab.run('ferry', sshd, extra=['-b', 'not-an-address'])
    assert cp.proc.returncode == 255
    assert 'BindAddress not-an-address' in cp.stderr(), cp.stderr()


def test_connection_attempts(lab):
    """ConnectionAttempts=3 to a closed port: three connects a second
    apart, then ssh's error; the default is one."""
    sshd = lab.sshd()
    port = lab.closed_port()
    def argv(*extra):
        a = base_argv(lab, sshd, '-v', '-N', *extra)
        a[a.index(str(sshd.port))] = str(port)
        return a
    t0 = time.monotonic()
    cp = fl.ClientProc('ferry', argv('-o', 'ConnectionAttempts=3'), lab.env)
    lab.clients.append(cp)
    assert cp.wait_exit(30) == 255
    took = time.monotonic() - t0
    assert cp.stderr().count(f'Connecting to {LOCALHOST} port {port}') == 3, cp.stderr()
    assert 'connection refused' in cp.stderr().lower()
    assert 1.8 <= took < 20, took
    cp = fl.ClientProc('ferry', argv(), lab.env)
    lab.clients.append(cp)
    assert cp.wait_exit(30) == 255
    assert cp.stderr().count('Connecting to') == 1, cp.stderr()


def test_session_flags_accepted_and_noted(lab):
    """-a -A -k -K -t -x -X -Y change nothing for ferry: accepted, -v says
    so, -G shows their keywords as ssh -G does."""
    sshd = lab.sshd()
    t = lab.tunnel('ferry', sshd, [lab.echo().addr], extra=['-v', '-A', '-X', '-t', '-n'])
    assert fl.echo_roundtrip(t.port, b'x') == b'x'
    assert '-AXt: ferry opens no session' in t.proc.stderr(), t.proc.stderr()
    g = subprocess.run([fl.require_ferry(), '-G', '-F', '/dev/null', '-A', '-x', 'h'],
                       capture_output=True, text=True, timeout=30).stdout.splitlines()
    assert 'forwardagent yes' in g and 'forwardx11 no' in g, g


def test_syslog(lab):
    """-y: log lines go to syslog (/dev/log), not stderr. ferry runs in a
    mount namespace whose /dev holds the test's own datagram socket."""
    import socket
    import stat
    sshd = lab.sshd()
    dev = lab.dir / 'dev'
    dev.mkdir()
    for name, minor in (('null', 3), ('zero', 5), ('urandom', 9)):
        os.mknod(dev / name, 0o666 | stat.S_IFCHR, os.makedev(1, minor))
    log = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    log.bind(str(dev / 'log'))
    log.settimeout(0.2)
    inner = ' '.join(base_argv(lab, sshd, '-y', '-N', '-L', f'{LOCALHOST}:0:{LOCALHOST}:9'))
    cp = fl.ClientProc('ferry', ['unshare', '-m', 'sh', '-c',
                                 f'mount --bind {dev} /dev && exec {inner}'], lab.env)
    lab.clients.append(cp)
    lines, end = [], time.monotonic() + 30
    try:
        while time.monotonic() < end and not any('Allocated port' in x for x in lines):
            try:
                lines.append(log.recv(4096).decode(errors='replace'))
            except socket.timeout:
                pass
    finally:
        cp.stop()
        log.close()
    assert any('Allocated port' in x and 'ferry[' in x for x in lines), (lines, cp.stderr())
    assert 'Allocated port' not in cp.stderr(), cp.stderr()
