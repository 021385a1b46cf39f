"""ferry's control socket speaks OpenSSH's multiplexing protocol (issue 11):
`ssh -S path -O check|forward|cancel|stop|exit` against a running ferry,
sessions refused with a clear message, `ferry status` on the same socket.
Real OpenSSH ssh as the mux client; a real sshd behind the forwards."""

import socket
import struct
import subprocess

import ferrylab as fl
from ferrylab import LOCALHOST


def start(lab, sshd):
    ctl = lab.dir / 'ctl.sock'
    argv = fl.client_argv('ferry', sshd, forwards=[], identity=lab.keys.user['ed25519'],
                          known_hosts=lab.known_hosts(sshd),
                          extra=['-o', f'ControlPath={ctl}', '-o', 'Reconnect=yes'])
    cp = fl.ClientProc('ferry', argv, lab.env)
    lab.clients.append(cp)
    assert fl.wait_until(lambda: ctl.exists(), 20), cp.stderr()
    return cp, ctl


def ssh_O(ctl, *args):
    return subprocess.run([fl.SSH, '-F', '/dev/null', '-S', str(ctl), *args, 'anyhost'],
                          stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=30)


def test_check_forward_cancel(lab):
    sshd = lab.sshd()
    echo = lab.echo()
    cp, ctl = start(lab, sshd)
    r = ssh_O(ctl, '-O', 'check')
    assert r.returncode == 0 and f'Master running (pid={cp.pid})' in r.stderr, r
    port = fl.pick_free_port()
    spec = f'{LOCALHOST}:{port}:{LOCALHOST}:{echo.addr[1]}'
    r = ssh_O(ctl, '-O', 'forward', '-L', spec)
    assert r.returncode == 0, r
    assert fl.wait_until(lambda: fl.listens_on(cp.pid, port), 20), cp.stderr()
    assert fl.echo_roundtrip(port, b'mux' * 1000) == b'mux' * 1000
    st = subprocess.run([fl.require_ferry(), 'status', '-S', str(ctl)], capture_output=True,
                        text=True, timeout=20)
    assert st.returncode == 0 and f'-L {spec}' in st.stdout, st
    r = ssh_O(ctl, '-O', 'cancel', '-L', spec)
    assert r.returncode == 0, r
    assert fl.wait_until(lambda: not fl.listens_on(cp.pid, port), 20)
    r = ssh_O(ctl, '-O', 'forward', '-L', f'{LOCALHOST}:{port}:no such host')
    assert r.returncode != 0


def test_sessions_refused(lab):
    sshd = lab.sshd()
    cp, ctl = start(lab, sshd)
    r = subprocess.run([fl.SSH, '-F', '/dev/null', '-S', str(ctl), 'anyhost', 'true'],
                       stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30)
    assert r.returncode == 255 and 'ferry only forwards: it opens no sessions' in r.stderr, r
    assert cp.alive()


def test_garbage_then_status(lab):
    """A packet with an absurd length, and one cut short: the connection
    ends, ferry goes on."""
    sshd = lab.sshd()
    cp, ctl = start(lab, sshd)
    for payload in (struct.pack('>II', 0x7fffffff, 1), struct.pack('>III', 12, 1, 4)):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(10)
        s.connect(str(ctl))
        s.sendall(payload)
        s.shutdown(socket.SHUT_WR)
        while s.recv(4096):
            pass
        s.close()
    r = ssh_O(ctl, '-O', 'check')
    assert r.returncode == 0, r
    assert cp.alive()


def test_stop_and_exit(lab):
    sshd = lab.sshd()
    cp, ctl = start(lab, sshd)
    r = ssh_O(ctl, '-O', 'stop')
    assert r.returncode == 0 and 'Stop listening request sent' in r.stderr, r
    assert fl.wait_until(lambda: not ctl.exists(), 10)
    assert cp.alive()
    cp2, ctl2 = start(lab, sshd)
    r = ssh_O(ctl2, '-O', 'exit')
    assert r.returncode == 0 and 'Exit request sent' in r.stderr, r
    assert cp2.wait_exit(20) == 0, cp2.stderr()


def ferry_O(ctl, *args):
    return subprocess.run([fl.require_ferry(), '-S', str(ctl), *args, 'anyhost'],
                          stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=30)


def test_ferry_O_against_ferry(lab):
    sshd = lab.sshd()
    echo = lab.echo()
    cp, ctl = start(lab, sshd)
    r = ferry_O(ctl, '-O', 'check')
    assert r.returncode == 0 and f'Master running (pid={cp.pid})' in r.stderr, r
    port = fl.pick_free_port()
    spec = f'{LOCALHOST}:{port}:{LOCALHOST}:{echo.addr[1]}'
    r = ferry_O(ctl, '-O', 'forward', '-L', spec)
    assert r.returncode == 0, r
    assert fl.wait_until(lambda: fl.listens_on(cp.pid, port), 20), cp.stderr()
    assert fl.echo_roundtrip(port, b'O') == b'O'
    r = ferry_O(ctl, '-O', 'cancel', '-L', spec)
    assert r.returncode == 0, r
    assert fl.wait_until(lambda: not fl.listens_on(cp.pid, port), 20)
    r = ferry_O(ctl, '-O', 'bogus')
    assert r.returncode == 255 and 'Invalid multiplex command.' in r.stderr, r
    r = ferry_O(ctl, '-O', 'exit')
    assert r.returncode == 0 and 'Exit request sent.' in r.stderr, r
    assert cp.wait_exit(20) == 0


def test_ferry_O_against_openssh_master(lab):
    """ferry -O speaks the protocol as ssh does: an OpenSSH ControlMaster
    answers it, and opens the forward it asks for."""
    sshd = lab.sshd()
    echo = lab.echo()
    ctl = lab.dir / 'ssh-master.sock'
    master = fl.ClientProc('ssh', [fl.SSH, '-F', '/dev/null', '-M', '-S', str(ctl), '-N',
                                   '-i', str(lab.keys.user['ed25519']), '-o', 'BatchMode=yes',
                                   '-o', f'UserKnownHostsFile={lab.known_hosts(sshd)}',
                                   '-p', str(sshd.port), '-l', fl.USER, LOCALHOST], lab.env)
    lab.clients.append(master)
    assert fl.wait_until(lambda: ctl.exists(), 20), master.stderr()
    r = ferry_O(ctl, '-O', 'check')
    assert r.returncode == 0 and f'Master running (pid={master.pid})' in r.stderr, r
    port = fl.pick_free_port()
    r = ferry_O(ctl, '-O', 'forward', '-L', f'{LOCALHOST}:{port}:{LOCALHOST}:{echo.addr[1]}')
    assert r.returncode == 0, r
    assert fl.wait_until(lambda: fl.listens_on(master.pid, port), 20)
    assert fl.echo_roundtrip(port, b'via ssh') == b'via ssh'
    r = ferry_O(ctl, '-O', 'exit')
    assert r.returncode == 0, r
    assert master.wait_exit(20) is not None
