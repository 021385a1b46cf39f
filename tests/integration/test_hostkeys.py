"""Host key verification: known_hosts, StrictHostKeyChecking, key types."""

import re
import subprocess

import pytest

import ferrylab as fl

ALLOC = 'Allocated port'

# sshd (LogLevel DEBUG1) logs "kex: host key algorithm: NAME"
HOSTKEY_ALGS = {
    'ed25519': {'ssh-ed25519'},
    'ecdsa': {'ecdsa-sha2-nistp256'},
    'rsa': {'rsa-sha2-512', 'rsa-sha2-256'},
}


def negotiated_hostkey_alg(sshd):
    m = re.findall(r'kex: host key algorithm: (\S+)', sshd.log_text())
    return m[0] if m else None


def assert_never_authenticated(sshd):
    log = sshd.log_text()
    assert 'Accepted publickey' not in log, \
        'the client authenticated although host key verification must have failed'


def test_changed_host_key_refused(lab, client):
    sshd = lab.sshd()
    kh = lab.known_hosts(sshd, ['ed25519-other'])       # a different ed25519 key
    cp = lab.run(client, sshd, known_hosts=kh)
    err = cp.stderr()
    assert cp.proc.returncode == 255, f'exit status {cp.proc.returncode}, expected 255'
    assert 'REMOTE HOST IDENTIFICATION HAS CHANGED' in err
    assert 'Host key verification failed.' in err
    assert ALLOC not in err, 'the forward was set up despite the changed host key'
    assert_never_authenticated(sshd)
    # the known_hosts file is left alone
    assert kh.read_text() == sshd.known_hosts_line('ed25519-other')


@pytest.mark.parametrize('known', ['changed', 'revoked'])
def test_changed_host_key_strict_no(lab, client, known):
    """StrictHostKeyChecking no with a changed (or @revoked) key: ssh warns,
    disables port forwarding ("to avoid man-in-the-middle attacks") and,
    with ExitOnForwardFailure (which the lab gives ssh), exits 255 before
    authenticating. ferry, which only forwards, says the same and exits the
    same way; nothing is forwarded and known_hosts is left alone."""
    sshd = lab.sshd()
    kh = lab.known_hosts(sshd, ['ed25519-other'] if known == 'changed' else [])
    if known == 'revoked':
        kh.write_text('@revoked ' + sshd.known_hosts_line('ed25519'))
    before = kh.read_text()
    cp = lab.run(client, sshd, known_hosts=kh, strict='no')
    err = cp.stderr()
    assert cp.proc.returncode == 255, f'exit status {cp.proc.returncode}, expected 255:\n{err}'
    banner = ('REMOTE HOST IDENTIFICATION HAS CHANGED' if known == 'changed'
              else 'REVOKED HOST KEY DETECTED')
    assert banner in err, err
    assert 'Port forwarding is disabled to avoid man-in-the-middle attacks.' in err, err
    assert 'Error: forwarding disabled due to host key check failure' in err, err
    assert 'requested strict checking' not in err, err
    assert 'Host key verification failed.' not in err, err
    assert ALLOC not in err, 'the forward was set up despite the changed host key'
    assert_never_authenticated(sshd)
    assert kh.read_text() == before


def test_unknown_host_strict_refused(lab, client):
    sshd = lab.sshd()
    kh = lab.known_hosts(sshd, [])                       # empty file
    cp = lab.run(client, sshd, known_hosts=kh, strict='yes')
    assert cp.proc.returncode == 255, f'exit status {cp.proc.returncode}, expected 255'
    assert ALLOC not in cp.stderr()
    assert_never_authenticated(sshd)
    assert kh.read_text() == '', 'strict checking must not add keys to known_hosts'


def known_hosts_lookup(path, port):
    """Keys ssh-keygen finds for [127.0.0.1]:port in path (handles hashed entries)."""
    r = subprocess.run([fl.SSH_KEYGEN, '-F', f'[{fl.LOCALHOST}]:{port}', '-f', str(path)],
                       capture_output=True, text=True, timeout=20)
    keys = set()
    for ln in r.stdout.splitlines():
        if ln.startswith('#') or not ln.strip():
            continue
        f = ln.split()
        if len(f) >= 3:
            keys.add(f'{f[1]} {f[2]}')
    return keys


def test_unknown_host_accept_new(lab, client):
    sshd = lab.sshd()
    echo = lab.echo()
    kh = lab.known_hosts(sshd, [])
    t = lab.tunnel(client, sshd, [echo.addr], known_hosts=kh, strict='accept-new')
    assert fl.echo_roundtrip(t.port, b'ping') == b'ping'
    found = known_hosts_lookup(kh, sshd.port)
    assert found == {fl.read_pub(lab.keys.host['ed25519'])}, \
        f'known_hosts after accept-new:\n{kh.read_text()!r}'
    t.close()
    # The entry written is usable with strict checking, by this client and by OpenSSH.
    for kind in dict.fromkeys([client, 'ssh']):
        t2 = lab.tunnel(kind, sshd, [echo.addr], known_hosts=kh, strict='yes')
        assert fl.echo_roundtrip(t2.port, b'again') == b'again'
        t2.close()
    assert len(known_hosts_lookup(kh, sshd.port)) == 1


@pytest.mark.parametrize('alg', ['ed25519', 'ecdsa', 'rsa'])
def test_host_key_type(lab, client, alg):
    """Server has only an `alg` host key; the signature must verify."""
    sshd = lab.sshd(host_keys=(alg,), log_level='DEBUG1')
    echo = lab.echo()
    t = lab.tunnel(client, sshd, [echo.addr])
    assert fl.echo_roundtrip(t.port, b'hostkey') == b'hostkey'
    assert negotiated_hostkey_alg(sshd) in HOSTKEY_ALGS[alg]


@pytest.mark.parametrize('alg', ['ed25519', 'ecdsa', 'rsa'])
def test_host_key_alg_follows_known_hosts(lab, client, alg):
    """Server offers all three host key types but known_hosts only lists
    `alg`: like OpenSSH, the client must prefer the type it can verify."""
    sshd = lab.sshd(host_keys=('ed25519', 'ecdsa', 'rsa'), log_level='DEBUG1')
    echo = lab.echo()
    kh = lab.known_hosts(sshd, [alg])
    t = lab.tunnel(client, sshd, [echo.addr], known_hosts=kh)
    assert fl.echo_roundtrip(t.port, b'hostkey') == b'hostkey'
    assert negotiated_hostkey_alg(sshd) in HOSTKEY_ALGS[alg]
