"""ProxyCommand and ProxyJump / -J (issue 11): the connection carried by a
command's stdio, and jump hosts reached as ssh reaches them (ferry -W
through each hop, every hop's host key checked). Real OpenSSH sshds on
127.0.0.1 as bastions and targets; payloads checked by SHA-256."""

import subprocess

import pytest

import ferrylab as fl
from ferrylab import LOCALHOST, MiB, USER
from remotelab import upload, download, assert_upload_ok

BULK = 4 * MiB


def ssh_w(lab, bastion, kh):
    """OpenSSH's ssh -W as a ProxyCommand reaching %h:%p through bastion."""
    return (f'{fl.SSH} -F /dev/null -i {lab.keys.user["ed25519"]} -o BatchMode=yes '
            f'-o IdentitiesOnly=yes -o GlobalKnownHostsFile=/dev/null '
            f'-o UserKnownHostsFile={kh} -o StrictHostKeyChecking=yes '
            f'-p {bastion.port} -l {USER} -W %h:%p {LOCALHOST}')


def known_hosts(lab, *sshds, name='kh'):
    p = lab.dir / name
    p.write_text(''.join(s.known_hosts_line(k) for s in sshds for k in s.host_keys))
    return p


def jump_config(lab, kh, name='jump.conf'):
    """What each hop's ferry reads (-F is passed down the chain, as ssh
    does; -o options are not)."""
    p = lab.dir / name
    p.write_text(f'Host {LOCALHOST}\n'
                 f'  IdentityFile {lab.keys.user["ed25519"]}\n'
                 f'  IdentitiesOnly yes\n'
                 f'  UserKnownHostsFile {kh}\n'
                 f'  GlobalKnownHostsFile /dev/null\n'
                 f'  StrictHostKeyChecking yes\n'
                 f'  BatchMode yes\n')
    return p


def both_ways(lab, client, target, extra, kh):
    sink = lab.sink()
    source = lab.source(BULK, start=5)
    t = lab.tunnel(client, target, [sink.addr, source.addr], extra=extra, known_hosts=kh)
    assert_upload_ok(upload(t.ports[0], sink, BULK, start=3), BULK, start=3)
    count, digest = download(t.ports[1])
    assert count == BULK and digest == fl.pattern_sha256(BULK, 5), 'download corrupted'
    return t


def test_proxycommand_ssh_w(lab):
    """ferry -o ProxyCommand='ssh -W %h:%p bastion': data both ways, and the
    target sees the connection come from the bastion's side."""
    bastion, target = lab.sshd(), lab.sshd()
    kh = known_hosts(lab, bastion, target)
    t = both_ways(lab, 'ferry', target, ['-o', f'ProxyCommand={ssh_w(lab, bastion, kh)}'], kh)
    assert 'Accepted publickey' in bastion.log_text(), 'the bastion was not used'
    assert t.alive()


RELAY = """
import os, select, socket, sys, time
s = socket.create_connection((sys.argv[1], int(sys.argv[2])))
end = time.monotonic() + 60
ins = [s, 0]
while ins and time.monotonic() < end:
    for x in select.select(ins, [], [], 1)[0]:
        if x is s:
            b = s.recv(65536)
            if not b:
                sys.exit(0)
            os.write(1, b)
        else:
            b = os.read(0, 65536)
            if b:
                s.sendall(b)
            else:
                s.shutdown(socket.SHUT_WR)
                ins.remove(0)
"""


def test_proxycommand_config_quotes_and_tokens(lab):
    """A ProxyCommand line is kept as written (the quotes are the shell's)
    and its %h %p %r %n tokens are expanded."""
    target = lab.sshd()
    kh = known_hosts(lab, target)
    log, relay, cfg = lab.dir / 'pc.log', lab.dir / 'relay.py', lab.dir / 'pc.conf'
    relay.write_text(RELAY)
    cfg.write_text(f'Host alias\n  HostName {LOCALHOST}\n  Port {target.port}\n'
                   f'  User {USER}\n  IdentityFile {lab.keys.user["ed25519"]}\n'
                   f'  UserKnownHostsFile {kh}\n  BatchMode yes\n'
                   f'  ProxyCommand sh -c "echo \'%n %h %p %r\' > {log}; '
                   f'exec /usr/bin/python3 {relay} %h %p"\n')
    sink = lab.sink()
    cp = fl.ClientProc('ferry', [fl.require_ferry(), '-F', str(cfg), '-N', '-L',
                                 f'{LOCALHOST}:0:{sink.addr[0]}:{sink.addr[1]}', 'alias'],
                       lab.env)
    lab.clients.append(cp)
    ms = cp.wait_for(fl.ALLOCATED_RE, timeout=30)
    assert ms, cp.stderr()
    port = int(ms[0].group(1))
    assert_upload_ok(upload(port, sink, MiB, start=1), MiB, start=1)
    assert log.read_text().split() == ['alias', LOCALHOST, str(target.port), USER]


def test_proxycommand_fails(lab):
    """A command that exits at once: exit 255 with a message, no hang."""
    target = lab.sshd()
    cp = lab.run('ferry', target, extra=['-o', 'ProxyCommand=false'])
    assert cp.proc.returncode == 255, cp.stderr()
    assert f'Connection closed by {LOCALHOST}' in cp.stderr(), cp.stderr()
    cp = lab.run('ferry', target, extra=['-o', 'ProxyCommand=/nonexistent/cmd'])
    assert cp.proc.returncode == 255, cp.stderr()
    assert '/nonexistent/cmd' in cp.stderr(), cp.stderr()


def test_proxycommand_bad_token(lab):
    target = lab.sshd()
    cp = lab.run('ferry', target, extra=['-o', 'ProxyCommand=nc %h %Q'])
    assert cp.proc.returncode == 255
    assert 'ProxyCommand nc %h %Q' in cp.stderr(), cp.stderr()


def test_proxycommand_ended_with_ferry(lab):
    """The command does not outlive ferry."""
    bastion, target = lab.sshd(), lab.sshd()
    kh = known_hosts(lab, bastion, target)
    echo = lab.echo()
    t = lab.tunnel('ferry', target, [echo.addr], known_hosts=kh,
                   extra=['-o', f'ProxyCommand={ssh_w(lab, bastion, kh)}'])
    assert fl.echo_roundtrip(t.port, b'ping') == b'ping'
    kids = [p for p in fl.process_tree(t.proc.pid) if p != t.proc.pid]
    assert kids, 'no proxy command process under ferry'
    t.proc.stop()

    def gone(k):
        try:
            stat = open(f'/proc/{k}/stat').read()
        except OSError:
            return True
        return stat.rsplit(')', 1)[1].split()[0] == 'Z'      # a zombie
    fl.wait_until(lambda: all(gone(k) for k in kids), 10)
    alive = [k for k in kids if not gone(k)]
    assert not alive, f'proxy command processes left: {alive}'


# ---------------------------------------------------------------- ProxyJump

def test_jump_two_hops_from_config(lab):
    """ProxyJump a,b in the file for a Host alias: a first, then b through
    a, then the target through b (the -J flag and -W are test_stdio's)."""
    b1, b2, target = lab.sshd(), lab.sshd(), lab.sshd()
    kh = known_hosts(lab, b1, b2, target)
    cfg = jump_config(lab, kh)
    cfg.write_text(f'Host target\n  HostName {LOCALHOST}\n  Port {target.port}\n'
                   f'  User {USER}\n'
                   f'  ProxyJump {USER}@{LOCALHOST}:{b1.port},'
                   f'ssh://{USER}@{LOCALHOST}:{b2.port}\n' +
                   cfg.read_text().replace(f'Host {LOCALHOST}\n', f'Host {LOCALHOST} target\n'))
    sink = lab.sink()
    cp = fl.ClientProc('ferry', [fl.require_ferry(), '-F', str(cfg), '-N', '-L',
                                 f'{LOCALHOST}:0:{sink.addr[0]}:{sink.addr[1]}', 'target'],
                       lab.env)
    lab.clients.append(cp)
    ms = cp.wait_for(fl.ALLOCATED_RE, timeout=30)
    assert ms, cp.stderr()
    assert_upload_ok(upload(int(ms[0].group(1)), sink, BULK, start=2), BULK, start=2)
    for s in (b1, b2, target):
        assert 'Accepted publickey' in s.log_text()


def test_jump_hop_host_key_checked(lab):
    """A hop whose key is not known stops the chain: ferry fails, the
    target is never reached."""
    bastion = lab.sshd(host_keys=('ed25519-other',))
    target = lab.sshd()
    kh = known_hosts(lab, target)            # the bastion's key is missing
    cfg = jump_config(lab, kh)
    cp = lab.run('ferry', target, known_hosts=kh,
                 extra=['-F', str(cfg), '-J', f'{USER}@{LOCALHOST}:{bastion.port}'])
    assert cp.proc.returncode == 255, cp.stderr()
    assert 'Host key verification failed' in cp.stderr() or \
        'No ED25519 host key is known' in cp.stderr(), cp.stderr()
    assert 'Accepted publickey' not in target.log_text()


# ---------------------------------------------------------------- reading

def g(argv):
    r = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                       timeout=30)
    return r.returncode, [l for l in r.stdout.splitlines() if l.startswith('proxy')], r.stderr


@pytest.mark.parametrize('body,host', [
    ('Host t\n  ProxyCommand  nc "%h" %p # kept\n  ProxyJump j\n', 't'),
    ('Host t\n  ProxyJump a@b:22,ssh://c,[::1]:5\n  ProxyCommand nc %h %p\n', 't'),
    ('Host t\n  ProxyJump none\n  ProxyCommand nc %h %p\n', 't'),
    ('Host t\n  ProxyCommand none\n  ProxyJump j\n', 't'),
    ('Host "t"\n  ProxyCommand=ssh -W \'[%h]:%p\' gw\n', 't'),
], ids=['command-first', 'jump-first', 'jump-none', 'command-none', 'equals-quotes'])
def test_dash_G_matches_ssh(tmp_path, body, host):
    cfg = tmp_path / 'c.conf'
    cfg.write_text(body)
    def g2(argv):
        rc, lines, err = g(argv)
        return rc, [ln for ln in lines if not ln.startswith('proxyusefdpass')], err
    f = g2([fl.require_ferry(), '-G', '-F', str(cfg), host])
    s = g2([fl.SSH, '-G', '-F', str(cfg), host])
    assert f[0] == 0 == s[0], (f, s)
    assert f[1] == s[1]


def test_bad_jump_refused_in_any_block(tmp_path):
    cfg = tmp_path / 'c.conf'
    cfg.write_text('Host other\n  ProxyJump gw:99999\n')
    rc, _, err = g([fl.require_ferry(), '-G', '-F', str(cfg), 'x'])
    assert rc == 255 and f'{cfg} line 2: Invalid ProxyJump "gw:99999"' in err, err
    rc, _, err = g([fl.require_ferry(), '-G', '-J', 'a@', 'x'])
    assert rc == 255 and 'Invalid ProxyJump "a@"' in err, err
