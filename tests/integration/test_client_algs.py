"""ferry's algorithm keywords read as ssh 9.2 reads them and really used on
the wire (issue: a real ~/.ssh/config works with ferry unchanged).

  -G          for many option combinations (+, -, ^, patterns, -c, -m, a
              Host block of a file) every algorithm line of `ferry -G` is
              `ssh -G`'s less the names ferry does not implement, in ssh's
              order; requiredrsasize is ssh's; -v names what was left out
  errors      a name OpenSSH does not know, a pattern where ssh takes none,
              a list leaving ferry nothing: refused naming the file and line
              (in a Host block that does not apply too), where ssh fails too
  on the wire against OpenSSH sshd (LogLevel DEBUG2 names what was
              negotiated): Ciphers +, -, ^ and a list, MACs ^, KexAlgorithms,
              HostKeyAlgorithms used as given (not reordered by known_hosts),
              each picking what the list puts first; 1 MiB through -L
              (SHA-256); a list with nothing in common fails with sshd's
              offer named
  keys        PubkeyAcceptedAlgorithms: a key it leaves out is not offered,
              RSA signed with the algorithm it puts first
  RSA size    RequiredRSASize 2048: a 1024-bit RSA user key (ssh-keygen -b
              1024) is not loaded, in ssh's words, the 2048-bit one logs in;
              a 1024-bit RSA host key is refused ("Bad server host key:
              Invalid key length"), a 2048-bit one accepted
Every connection test runs with ferry and, as a check of the harness, ssh.
"""

import re
import subprocess

import pytest

import ferrylab as fl
from ferrylab import LOCALHOST, MiB

LISTS = ['ciphers', 'macs', 'kexalgorithms', 'hostkeyalgorithms', 'pubkeyacceptedalgorithms',
         'casignaturealgorithms']


def dash_g(prog, args, ok=True):
    r = subprocess.run([prog, '-G'] + args + ['example.invalid'], stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=30)
    if ok:
        assert r.returncode == 0, f'{prog} -G {args}: {r.stderr}'
    return r, dict(ln.split(' ', 1) for ln in r.stdout.splitlines() if ' ' in ln)


def assert_as_ssh(args):
    """ferry -G prints ssh -G's lists less what ferry lacks, same order."""
    _, have = dash_g(fl.require_ferry(), ['-F', '/dev/null'])     # its defaults
    rf, ferry = dash_g(fl.require_ferry(), args)
    _, ssh = dash_g(fl.SSH, args)
    for k in LISTS:
        assert ferry[k] == fl.algs_as_ferry(ssh[k], have[k]), (args, k, ferry[k], ssh[k])
    assert ferry['requiredrsasize'] == ssh['requiredrsasize'], args
    return rf


COMBOS = [
    [],
    ['-o', 'Ciphers=+aes128-cbc', '-o', 'MACs=-*etm*', '-o', 'KexAlgorithms=^ecdh-sha2-nistp256'],
    ['-o', 'Ciphers=-chacha20-poly1305@openssh.com', '-o', 'HostKeyAlgorithms=*cert*',
     '-o', 'PubkeyAcceptedAlgorithms=rsa*'],
    ['-o', 'Ciphers=^aes256-gcm@openssh.com', '-o', 'HostKeyAlgorithms=-ssh-ed25519*',
     '-o', 'PubkeyAcceptedKeyTypes=+ssh-rsa', '-o', 'CASignatureAlgorithms=^rsa-sha2-256',
     '-o', 'RequiredRSASize=3072'],
    ['-c', 'aes256-ctr,aes192-ctr', '-m', 'hmac-sha2-512,umac-64@openssh.com',
     '-o', 'KexAlgorithms=curve25519-sha256@libssh.org,diffie-hellman-group16-sha512'],
    ['-o', 'Ciphers=aes128-ctr', '-c', '^aes128-gcm@openssh.com', '-o', 'MACs=^hmac-sha2-512',
     '-o', 'HostKeyAlgorithms=^rsa-sha2-256,ssh-rsa', '-o', 'KexAlgorithms=-*libssh.org,ecdh*'],
]


@pytest.mark.parametrize('args', COMBOS, ids=[str(i) for i in range(len(COMBOS))])
def test_dash_g_as_ssh(args):
    r = assert_as_ssh(['-F', '/dev/null'] + args)
    if args == COMBOS[1]:
        r = subprocess.run([fl.require_ferry(), '-v', '-G', '-F', '/dev/null'] + args +
                           ['example.invalid'], capture_output=True, text=True, timeout=30)
        assert re.search(r'^debug1: Ciphers: aes128-cbc: not implemented by ferry, left out$',
                         r.stderr, re.M), r.stderr
        assert re.search(r'^debug1: KexAlgorithms: ecdh-sha2-nistp256: not implemented',
                         r.stderr, re.M), r.stderr


def test_dash_g_from_a_file(tmp_path):
    """The lists of a config file's blocks (the first value wins)."""
    cfg = tmp_path / 'config'
    cfg.write_text('Host example.invalid\n'
                   '  Ciphers aes128-ctr,aes192-ctr,aes256-gcm@openssh.com\n'
                   '  HostKeyAlgorithms ssh-ed25519,ecdsa-sha2-nistp256-cert-v01@openssh.com,'
                   'ecdsa-sha2-nistp384\n'
                   'Match all\n'
                   '  Ciphers aes256-ctr\n'
                   '  MACs umac-128-etm@openssh.com,hmac-sha2-256-etm@openssh.com\n'
                   '  PubkeyAcceptedAlgorithms -ecdsa*\n')
    assert_as_ssh(['-F', str(cfg)])


def refused_like_ssh(tmp_path, text, why):
    cfg = tmp_path / 'bad_config'
    cfg.write_text(text)
    r, _ = dash_g(fl.require_ferry(), ['-F', str(cfg)], ok=False)
    assert r.returncode == 255 and why.format(cfg=cfg) in r.stderr, r.stderr
    s, _ = dash_g(fl.SSH, ['-F', str(cfg)], ok=False)
    # ssh refuses the file too (9.2's -G only complains of a CA list)
    assert s.returncode == 255 or 'invalid argument' in s.stderr, s.stderr


@pytest.mark.parametrize('text,why', [
    ('Port 22\nCiphers aes128-ctr,aes-ctr\n',
     "{cfg} line 2: Ciphers: 'aes-ctr' is no cipher OpenSSH knows"),
    ('Ciphers aes*\n', "{cfg} line 1: Ciphers: 'aes*': OpenSSH takes no pattern"),
    ('KexAlgorithms +curve25519-sha256,ecdh-sha2-nistp999\n',
     "{cfg} line 1: KexAlgorithms: 'ecdh-sha2-nistp999' is no key exchange OpenSSH knows"),
    ('Host nowhere\n  HostKeyAlgorithms ssh-ed448\nHost *\n  Port 22\n',
     "{cfg} line 2: HostKeyAlgorithms: 'ssh-ed448' is no host key algorithm OpenSSH knows"),
    ('PubkeyAcceptedAlgorithms ssh-ed25519,nosuch*\n',
     "{cfg} line 1: PubkeyAcceptedAlgorithms: 'nosuch*' is no public key algorithm"),
    ('\n\nCASignatureAlgorithms ssh-ed25519-cert-v01@openssh.com\n',
     "{cfg} line 3: CASignatureAlgorithms: 'ssh-ed25519-cert-v01@openssh.com' is no "
     'signature algorithm OpenSSH knows'),
    ('RequiredRSASize lots\n', "{cfg} line 1: Bad RequiredRSASize 'lots'"),
], ids=['unknown', 'pattern', 'kex', 'other-block', 'key-pattern', 'ca-cert', 'rsa-size'])
def test_unknown_names_refused(tmp_path, text, why):
    refused_like_ssh(tmp_path, text, why)


def test_nothing_implemented_refused(tmp_path):
    """OpenSSH's names only, none of them ferry's: no list is left."""
    cfg = tmp_path / 'config'
    cfg.write_text('Ciphers aes192-ctr,3des-cbc\n')
    r, _ = dash_g(fl.require_ferry(), ['-F', str(cfg)], ok=False)
    assert r.returncode == 255, r.stderr
    assert (f"{cfg} line 1: Ciphers: 'aes192-ctr,3des-cbc' leaves no cipher implemented here "
            '(left out: aes192-ctr,3des-cbc; implemented: ') in r.stderr, r.stderr
    r, _ = dash_g(fl.require_ferry(), ['-c', 'aes128-ctr,blowfish-cbc'], ok=False)
    assert r.returncode == 255 and "Unknown cipher type 'aes128-ctr,blowfish-cbc'" in r.stderr


def kex_lines(sshd):
    log = sshd.log_text()
    return {
        'kex': re.findall(r'kex: algorithm: (\S+)', log),
        'hostkey': re.findall(r'kex: host key algorithm: (\S+)', log),
        'cipher': re.findall(r'kex: client->server cipher: (\S+) MAC: (\S+)', log),
    }


def check_data(t, n=4096):
    s = fl.connect(t.port)
    try:
        assert fl.exchange(s, n) == (n, fl.pattern_sha256(n))
    finally:
        s.close()


@pytest.mark.parametrize('spec,server,want', [
    ('-chacha20-poly1305@openssh.com', None, 'aes128-ctr'),
    ('^aes256-gcm@openssh.com', None, 'aes256-gcm@openssh.com'),
    ('+aes128-ctr', 'aes256-ctr,aes128-ctr', 'aes128-ctr'),
    ('aes256-ctr,aes192-ctr,aes128-gcm@openssh.com', 'aes128-gcm@openssh.com,aes256-ctr',
     'aes256-ctr'),
], ids=['minus', 'caret', 'plus', 'list'])
def test_ciphers_used(lab, client, spec, server, want):
    sshd = lab.sshd(config=[f'Ciphers {server}'] if server else [], log_level='DEBUG2')
    echo = lab.echo()
    t = lab.tunnel(client, sshd, [echo.addr], extra=['-o', f'Ciphers={spec}'])
    check_data(t, MiB)
    got = kex_lines(sshd)['cipher']
    assert got and got[0][0] == want, got


def test_macs_kex_hostkey_used(lab, client):
    """Each list picks what it puts first: MACs ^, KexAlgorithms, and
    HostKeyAlgorithms as given though known_hosts lists ed25519 too."""
    sshd = lab.sshd(config=['Ciphers aes128-ctr', 'MACs hmac-sha2-256,hmac-sha2-512'],
                    host_keys=('ed25519', 'rsa'), log_level='DEBUG2')
    kh = lab.known_hosts(sshd, ['ed25519', 'rsa'])
    echo = lab.echo()
    t = lab.tunnel(client, sshd, [echo.addr], known_hosts=kh)
    check_data(t)
    t.close()
    got = kex_lines(sshd)
    assert got['cipher'][0] == ('aes128-ctr', 'hmac-sha2-256'), got
    assert got['hostkey'][0] == 'ssh-ed25519', got
    if client == 'ferry':                   # (ssh's first is sntrup761)
        assert got['kex'][0] == 'curve25519-sha256', got
    t = lab.tunnel(client, sshd, [echo.addr], known_hosts=kh, extra=[
        '-o', 'MACs=^hmac-sha2-512', '-o', 'KexAlgorithms=curve25519-sha256@libssh.org',
        '-o', 'HostKeyAlgorithms=rsa-sha2-256,ssh-ed25519'])
    check_data(t)
    got = kex_lines(sshd)
    assert got['cipher'][-1] == ('aes128-ctr', 'hmac-sha2-512'), got
    assert got['kex'][-1] == 'curve25519-sha256@libssh.org', got
    assert got['hostkey'][-1] == 'rsa-sha2-256', got


@pytest.mark.parametrize('server,option,what', [
    ('Ciphers aes128-ctr', 'Ciphers=aes256-ctr,aes192-ctr', 'cipher'),
    ('MACs hmac-sha2-512', 'MACs=-hmac-sha2-512*', 'MAC'),
    ('KexAlgorithms curve25519-sha256', 'KexAlgorithms=curve25519-sha256@libssh.org',
     'key exchange method'),
    ('HostKeyAlgorithms ssh-ed25519', 'HostKeyAlgorithms=ecdsa-sha2-nistp256,rsa-sha2-512',
     'host key type'),
], ids=['cipher', 'mac', 'kex', 'hostkey'])
def test_nothing_in_common(lab, client, server, option, what):
    extra = ['-c', 'aes128-ctr'] if what == 'MAC' else []
    sshd = lab.sshd(config=[server], log_level='DEBUG2')
    cp = lab.run(client, sshd, extra=['-o', option] + extra)
    assert cp.proc.returncode == 255, cp.stderr()
    offer = server.split(' ', 1)[1]
    assert f'no matching {what} found. Their offer: {offer}' in cp.stderr(), cp.stderr()
    assert 'Accepted publickey' not in sshd.log_text()


def pubkey_alg(sshd):
    m = re.findall(r'userauth_pubkey: valid user \S+ attempting public key (\S+)',
                   sshd.log_text())
    return m


def test_pubkey_accepted_algorithms(lab, client):
    sshd = lab.sshd(log_level='DEBUG2')
    echo = lab.echo()
    t = lab.tunnel(client, sshd, [echo.addr], identity='rsa',
                   extra=['-o', 'PubkeyAcceptedAlgorithms=rsa-sha2-256,ssh-ed25519'])
    check_data(t)
    t.close()
    assert pubkey_alg(sshd) == ['rsa-sha2-256'], pubkey_alg(sshd)
    cp = lab.run(client, sshd, identity='rsa', extra=[
        '-v', '-o', 'PubkeyAcceptedAlgorithms=ssh-ed25519,ecdsa-sha2-nistp256'])
    assert cp.proc.returncode == 255, cp.stderr()
    assert 'Permission denied (publickey' in cp.stderr(), cp.stderr()
    assert re.search(r'Skipping (ssh-rsa|RSA) key .*not in PubkeyAcceptedAlgorithms',
                     cp.stderr()), cp.stderr()
    assert pubkey_alg(sshd) == ['rsa-sha2-256'], pubkey_alg(sshd)   # nothing more offered


def rsa_key(lab, name, bits):
    p = lab.dir / name
    subprocess.run([fl.SSH_KEYGEN, '-q', '-t', 'rsa', '-b', str(bits), '-N', '', '-f', str(p)],
                   check=True, capture_output=True, timeout=60)
    return p


def test_required_rsa_size_user_key(lab, client):
    small, big = rsa_key(lab, 'user_rsa1024', 1024), rsa_key(lab, 'user_rsa2048', 2048)
    sshd = lab.sshd(log_level='DEBUG2')
    sshd.authorized_keys.write_text(fl.read_pub(small) + '\n' + fl.read_pub(big) + '\n')
    cp = lab.run(client, sshd, identity=str(small), extra=['-o', 'RequiredRSASize=2048'])
    assert cp.proc.returncode == 255, cp.stderr()
    assert f'load pubkey "{small}": Invalid key length' in cp.stderr(), cp.stderr()
    assert 'Accepted publickey' not in sshd.log_text()
    echo = lab.echo()
    t = lab.tunnel(client, sshd, [echo.addr], identity=str(small))   # ssh's 1024 by default
    check_data(t)
    t.close()
    t = lab.tunnel(client, sshd, [echo.addr], identity=str(big),
                   extra=['-o', 'RequiredRSASize=2048'])
    check_data(t)
    assert len(re.findall(r'Accepted publickey for \S+ from .* RSA ', sshd.log_text())) == 2


def test_required_rsa_size_host_key(lab, client):
    for bits, ok in ((1024, False), (2048, True)):
        host = rsa_key(lab, f'host_rsa{bits}', bits)
        sshd = lab.sshd(config=[f'HostKey {host}'], log_level='DEBUG2')
        kh = lab.dir / f'kh{bits}'
        kh.write_text(f'[{LOCALHOST}]:{sshd.port} {fl.read_pub(host)}\n')
        extra = ['-o', 'RequiredRSASize=2048', '-o', 'HostKeyAlgorithms=rsa-sha2-512']
        if ok:
            echo = lab.echo()
            t = lab.tunnel(client, sshd, [echo.addr], known_hosts=kh, extra=extra)
            check_data(t)
            continue
        cp = lab.run(client, sshd, known_hosts=kh, extra=extra)
        assert cp.proc.returncode == 255, cp.stderr()
        assert 'Bad server host key: Invalid key length' in cp.stderr(), cp.stderr()
        assert 'Accepted publickey' not in sshd.log_text()
