"""CheckHostIP (ssh_config(5)): the server's address looked up in
known_hosts next to its name, recorded there, and a key that disagrees
warned about. Every test runs with ferry and with OpenSSH ssh 9.2 on the
same files, which shows the expectations, wording included, are ssh's.

ssh leaves CheckHostIP off for a loopback address, so these tests need a
non-loopback one: the sshd listens on this machine's first global IPv4
address (a machine without one fails the test, saying so), and the
clients reach it by a name that a private /etc/hosts gives them (each
client runs in its own mount namespace, `unshare -m`, with a bind mount
over /etc/hosts; the machine's file is not touched). The port is the
kernel's, so known_hosts names are "[name]:port" and "[addr]:port"."""

import re
import shutil
import subprocess
import sys

import pytest

import ferrylab as fl
from ferrylab import LOCALHOST, USER
from test_hostkeys_ask import PtyClient

NAME = 'ferry-hostip.test'          # resolves to the global address
LOOP_NAME = 'ferry-loop.test'       # resolves to 127.0.0.1
FAILED = 'Host key verification failed.'
MIB = 1 << 20
UNSHARE = shutil.which('unshare') or '/usr/bin/unshare'


def global_ipv4():
    r = subprocess.run(['ip', '-4', '-o', 'addr', 'show', 'scope', 'global'],
                       capture_output=True, text=True, timeout=20)
    m = re.search(r'\binet (\d+\.\d+\.\d+\.\d+)/', r.stdout)
    assert m, ('CheckHostIP needs a non-loopback address (ssh turns it off on '
               f'loopback) and this machine has no global IPv4 one:\n{r.stdout}{r.stderr}')
    return m.group(1)


class HostIP:
    """An sshd on the global address, the private hosts file, and what a
    client is given to use them."""

    def __init__(self, lab, host_keys=('ed25519',)):
        self.lab = lab
        self.addr = global_ipv4()
        self.sshd = lab.sshd(host=self.addr, host_keys=host_keys)
        self.hosts = lab._sub('etc') / 'hosts'
        self.hosts.write_text(f'127.0.0.1 localhost\n{self.addr} {NAME}\n'
                              f'127.0.0.1 {LOOP_NAME}\n')
        self.wrap = [UNSHARE, '-m', '--', 'sh', '-c',
                     'mount --bind "$1" /etc/hosts && shift && exec "$@"', 'sh',
                     str(self.hosts)]
        port = self.sshd.port
        self.host_name = f'[{NAME}]:{port}'
        self.ip_name = f'[{self.addr}]:{port}'

    def line(self, name, key='ed25519'):
        return f'{name} {self.lab.keys.host_pub(key)}\n'

    def kh(self, *lines):
        p = self.lab._sub('kh') / 'known_hosts'
        p.write_text(''.join(lines))
        return p

    def extra(self, hostname=NAME, more=()):
        """more first: the first value obtained wins. ferry reads the
        system's ssh_config (ssh is given -F /dev/null), which may hash."""
        return list(more) + ['-o', 'CheckHostIP=yes', '-o', f'HostName={hostname}',
                             '-o', 'HashKnownHosts=no']

    def run(self, client, kh, strict='yes', hostname=NAME, more=()):
        return self.lab.run(client, self.sshd, known_hosts=kh, strict=strict,
                            extra=self.extra(hostname, more), wrap=self.wrap)

    def tunnel(self, client, kh, strict='yes', hostname=NAME, more=()):
        echo = self.lab.echo()
        t = self.lab.tunnel(client, self.sshd, [echo.addr], known_hosts=kh, strict=strict,
                            extra=self.extra(hostname, more), wrap=self.wrap)
        s = fl.connect(t.port)
        try:
            assert fl.exchange(s, MIB) == (MIB, fl.pattern_sha256(MIB)), \
                'the data came back different'
        finally:
            s.close()
        return t


def stderr(cp):
    """What the client said, with ssh's CR LF made LF."""
    return cp.stderr().replace('\r', '')


def refused(cp, h):
    err = stderr(cp)
    assert cp.proc.returncode == 255, f'exit {cp.proc.returncode}, expected 255:\n{err}'
    assert FAILED in err, err
    assert 'Accepted publickey' not in h.sshd.log_text()
    return err


def added_ip(h):
    return (f"Warning: Permanently added the ED25519 host key for IP address "
            f"'{h.ip_name}' to the list of known hosts.")


def differs(h, kh, ip_line, host_line=None):
    text = (f"Warning: the ED25519 host key for '{h.host_name}' differs from the key "
            f"for the IP address '{h.ip_name}'\nOffending key for IP in {kh}:{ip_line}")
    if host_line is not None:
        text += f'\nMatching host key in {kh}:{host_line}'
    return text


def test_known_host_gets_its_address(lab, client):
    """The host is known, its address is not: recorded under the address
    (ssh's line), the data flows; the next time nothing more is added."""
    h = HostIP(lab)
    kh = h.kh(h.line(h.host_name))
    t = h.tunnel(client, kh)
    assert added_ip(h) in stderr(t.proc), stderr(t.proc)
    assert kh.read_text() == h.line(h.host_name) + h.line(h.ip_name)
    t.close()
    t = h.tunnel(client, kh)
    assert 'IP address' not in stderr(t.proc), stderr(t.proc)
    assert kh.read_text() == h.line(h.host_name) + h.line(h.ip_name)


@pytest.mark.parametrize('hashed', [False, True])
def test_new_host_recorded_with_address(lab, client, hashed):
    """accept-new: one line "name,addr", or one hashed line each (a hash
    stands for one name); both names are then found by ssh-keygen -F."""
    h = HostIP(lab)
    kh = h.kh()
    t = h.tunnel(client, kh, strict='accept-new',
                 more=['-o', f'HashKnownHosts={"yes" if hashed else "no"}'])
    assert (f"Warning: Permanently added '{h.host_name},{h.ip_name}' (ED25519) to the list "
            f'of known hosts.') in stderr(t.proc), stderr(t.proc)
    lines = kh.read_text().splitlines()
    if not hashed:
        assert kh.read_text() == h.line(f'{h.host_name},{h.ip_name}')
        return
    assert len(lines) == 2 and all(ln.startswith('|1|') for ln in lines), lines
    for name in (h.host_name, h.ip_name):
        r = subprocess.run([fl.SSH_KEYGEN, '-F', name, '-f', str(kh)], capture_output=True,
                           text=True, timeout=20)
        assert lab.keys.host_pub('ed25519').split()[1] in r.stdout, (name, r.stdout)


def test_address_already_known(lab, client):
    """A new host whose address lists the same key: only the name is added."""
    h = HostIP(lab)
    kh = h.kh(h.line(h.ip_name))
    t = h.tunnel(client, kh, strict='accept-new')
    assert (f"Warning: Permanently added '{h.host_name}' (ED25519) to the list of known "
            f'hosts.') in stderr(t.proc), stderr(t.proc)
    assert kh.read_text() == h.line(h.ip_name) + h.line(h.host_name)


@pytest.mark.parametrize('strict', ['yes', 'accept-new'])
def test_address_key_differs_strict(lab, client, strict):
    """The host's key matches, the address lists another: ssh's warning,
    then "Exiting, you have requested strict checking."; nothing written."""
    h = HostIP(lab)
    before = h.line(h.host_name) + h.line(h.ip_name, 'ed25519-other')
    kh = h.kh(before)
    err = refused(h.run(client, kh, strict=strict), h)
    assert differs(h, kh, 2, 1) + '\nExiting, you have requested strict checking.' in err, err
    assert kh.read_text() == before


def test_address_key_differs_strict_no(lab, client):
    """StrictHostKeyChecking no: the warning, and the connection goes on."""
    h = HostIP(lab)
    before = h.line(h.host_name) + h.line(h.ip_name, 'ed25519-other')
    kh = h.kh(before)
    t = h.tunnel(client, kh, strict='no')
    err = stderr(t.proc)
    assert differs(h, kh, 2, 1) in err and 'Exiting' not in err, err
    assert kh.read_text() == before


def test_new_host_address_differs(lab, client):
    """accept-new with the address listing another key: ssh records the
    host first, then warns and exits (no "Matching host key" line)."""
    h = HostIP(lab)
    kh = h.kh(h.line(h.ip_name, 'ed25519-other'))
    err = refused(h.run(client, kh, strict='accept-new'), h)
    assert differs(h, kh, 1) + '\nExiting, you have requested strict checking.' in err, err
    assert kh.read_text() == h.line(h.ip_name, 'ed25519-other') + h.line(h.host_name)


SPOOF = ('@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\n'
         '@       WARNING: POSSIBLE DNS SPOOFING DETECTED!          @\n'
         '@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\n'
         'The ED25519 host key for {host} has changed,\n'
         'and the key for the corresponding IP address {ip}\n'
         '{how}. This could either mean that\n'
         'DNS SPOOFING is happening or the IP address for the host\n'
         'and its host key have changed at the same time.\n')


@pytest.mark.parametrize('ip', ['unchanged', 'unknown', 'different', 'same-change'])
def test_changed_host_key_dns_spoofing(lab, client, ip):
    """The host's key changed: ssh's DNS spoofing banner comes first unless
    the address changed to the same key ("same-change"), then the usual
    changed-key warning; refused."""
    h = HostIP(lab)
    third = lab._sub('third') / 'key'
    subprocess.run([fl.SSH_KEYGEN, '-q', '-t', 'ed25519', '-N', '', '-f', str(third)],
                   check=True, capture_output=True, timeout=60)
    lines = [h.line(h.host_name, 'ed25519-other')]
    if ip == 'unchanged':
        lines.append(h.line(h.ip_name))
    elif ip == 'different':
        lines.append(f'{h.ip_name} {fl.read_pub(third)}\n')
    elif ip == 'same-change':
        lines.append(h.line(h.ip_name, 'ed25519-other'))
    kh = h.kh(*lines)
    err = refused(h.run(client, kh), h)
    assert 'REMOTE HOST IDENTIFICATION HAS CHANGED' in err, err
    if ip == 'same-change':
        assert 'DNS SPOOFING' not in err, err
        return
    how = {'unchanged': 'is unchanged', 'unknown': 'is unknown',
           'different': 'has a different value'}[ip]
    banner = SPOOF.format(host=h.host_name, ip=h.ip_name, how=how)
    if ip != 'unknown':
        banner += (f'Offending key for IP in {kh}:2\n  remove with:\n'
                   f'  ssh-keygen -f "{kh}" -R "{h.ip_name}"\n')
    banner += '@@@@'
    assert banner in err.replace('\r', ''), err
    assert err.index('DNS SPOOFING') < err.index('REMOTE HOST IDENTIFICATION'), err


# A ProxyCommand that connects from the client's side (its /etc/hosts),
# stdin and stdout to the socket.
RELAY = r'''
import os, socket, sys, threading
s = socket.create_connection((sys.argv[1], int(sys.argv[2])))
def up():
    while True:
        b = os.read(0, 65536)
        if not b:
            break
        s.sendall(b)
    s.shutdown(socket.SHUT_WR)
threading.Thread(target=up, daemon=True).start()
while True:
    b = s.recv(65536)
    if not b:
        break
    os.write(1, b)
'''


def test_host_key_alias(lab, client):
    """HostKeyAlias names the host; the address keeps its port."""
    h = HostIP(lab)
    kh = h.kh()
    h.tunnel(client, kh, strict='accept-new', more=['-o', 'HostKeyAlias=Gateway.Alias'])
    assert kh.read_text() == h.line(f'gateway.alias,{h.ip_name}')


@pytest.mark.parametrize('how', ['loopback', 'address', 'off', 'proxy'])
def test_where_ssh_leaves_it_off(lab, client, how):
    """A loopback address, a destination written as the address,
    CheckHostIP no (ssh 9.x's default), a ProxyCommand (ssh makes a
    ProxyJump one too): only the host's name is recorded and nothing is
    said of an address."""
    h = HostIP(lab)
    kh = h.kh()
    if how == 'loopback':
        sshd = lab.sshd()
        t = lab.tunnel(client, sshd, [lab.echo().addr], known_hosts=kh, strict='accept-new',
                       extra=['-o', 'CheckHostIP=yes', '-o', f'HostName={LOOP_NAME}',
                              '-o', 'HashKnownHosts=no'],
                       wrap=h.wrap)
        assert kh.read_text() == f'[{LOOP_NAME}]:{sshd.port} {lab.keys.host_pub("ed25519")}\n'
    elif how == 'proxy':
        relay = lab._sub('relay') / 'relay.py'
        relay.write_text(RELAY)
        t = h.tunnel(client, kh, strict='accept-new',
                     more=['-o', f'ProxyCommand={sys.executable} {relay} %h %p'])
        assert kh.read_text() == h.line(h.host_name)
    else:
        t = h.tunnel(client, kh, strict='accept-new',
                     hostname=h.addr if how == 'address' else NAME,
                     more=['-o', 'CheckHostIP=no'] if how == 'off' else [])
        name = h.ip_name if how == 'address' else h.host_name
        assert kh.read_text() == h.line(name)
    assert 'IP address' not in stderr(t.proc), stderr(t.proc)


def pty_client(h, client, kh, echo, port):
    """client under StrictHostKeyChecking ask on a pty, -L to echo (ssh on
    port, ferry on a port of its own)."""
    prog = fl.require_ferry() if client == 'ferry' else fl.SSH
    argv = h.wrap + [prog, '-F', '/dev/null', '-N', '-o', 'StrictHostKeyChecking=ask',
                     '-o', f'UserKnownHostsFile={kh}', '-o', 'GlobalKnownHostsFile=/dev/null',
                     '-o', 'ExitOnForwardFailure=yes', '-o', 'IdentitiesOnly=yes',
                     '-L', f'{LOCALHOST}:{0 if client == "ferry" else port}:'
                           f'{LOCALHOST}:{echo.port}',
                     '-i', str(h.lab.keys.user['ed25519']), '-p', str(h.sshd.port),
                     '-l', USER] + h.extra() + [LOCALHOST]
    cp = PtyClient(client, argv, h.lab.env)
    h.lab.clients.append(cp)
    return cp


def check_forward(cp, client, port):
    if client == 'ferry':
        ms = cp.wait_for(fl.ALLOCATED_RE)
        assert ms, cp.stderr()
        port = int(ms[0].group(1))
    else:
        assert fl.wait_until(lambda: fl.listens_on(cp.pid, port), 20), cp.stderr()
    s = fl.connect(port)
    try:
        assert fl.exchange(s, MIB) == (MIB, fl.pattern_sha256(MIB))
    finally:
        s.close()


ASK_END = 'Are you sure you want to continue connecting (yes/no)? '


@pytest.mark.parametrize('answer', ['yes', 'no'])
def test_ask_on_the_terminal(lab, client, answer):
    """StrictHostKeyChecking ask: ssh's yes/no question on the terminal;
    yes goes on (data checked), no refuses. BatchMode refuses silently."""
    h = HostIP(lab)
    before = h.line(h.host_name) + h.line(h.ip_name, 'ed25519-other')
    kh = h.kh(before)
    port = fl.pick_free_port()
    cp = pty_client(h, client, kh, lab.echo(), port)
    assert cp.wait_tty(ASK_END), f'no question:\n{cp.stderr()}\n{cp.tty()!r}'
    assert differs(h, kh, 2, 1).replace('\n', '\r\n') + '\r\n' + ASK_END in cp.tty(), \
        cp.tty()
    assert 'Accepted publickey' not in h.sshd.log_text()
    cp.type(answer)
    if answer == 'no':
        assert cp.wait_exit() == 255 and FAILED in cp.stderr(), cp.stderr()
    else:
        check_forward(cp, client, port)
    assert kh.read_text() == before
    cp = h.run(client, kh, strict='ask')             # BatchMode: refused, no question
    assert cp.proc.returncode == 255 and FAILED in cp.stderr(), cp.stderr()
    assert 'differs' not in cp.stderr(), cp.stderr()


def test_ask_new_host_then_address(lab, client):
    """A new host whose address lists another key: ssh's first question
    (the host), the host recorded on yes, then the yes/no question about
    the address; yes again goes on."""
    h = HostIP(lab)
    kh = h.kh(h.line(h.ip_name, 'ed25519-other'))
    port = fl.pick_free_port()
    cp = pty_client(h, client, kh, lab.echo(), port)
    first = 'Are you sure you want to continue connecting (yes/no/[fingerprint])? '
    assert cp.wait_tty(first), f'no question:\n{cp.stderr()}\n{cp.tty()!r}'
    assert f"The authenticity of host '{h.host_name} ({h.ip_name})'" in cp.tty(), cp.tty()
    assert ASK_END not in cp.tty()
    cp.type('yes')
    assert cp.wait_tty(ASK_END), f'no second question:\n{cp.stderr()}\n{cp.tty()!r}'
    assert differs(h, kh, 1).replace('\n', '\r\n') + '\r\n' + ASK_END in cp.tty(), cp.tty()
    assert kh.read_text() == h.line(h.ip_name, 'ed25519-other') + h.line(h.host_name)
    cp.type('yes')
    check_forward(cp, client, port)
