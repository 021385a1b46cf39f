"""A hardened sshd_config, as published guides write it, runs under ferryd
with the same meaning (issue 12).

  guide       ssh-audit's hardening guide for Debian 12 (algorithm lines
              naming sntrup761, aes192-ctr, umac, sk-* keys...,
              RequiredRSASize 3072): ferryd starts, each list ferryd uses
              is sshd -T's list of the same file less what ferryd lacks
              (same order), -d says what was left out; ssh and ferry with
              their defaults connect and carry 1 MiB (SHA-256)
  unknown     a name OpenSSH does not know either is an error naming the
              file and line; a list with nothing ferryd has is one too
  RSA size    RequiredRSASize 3072: a 2048-bit RSA user key is refused
              (sshd's "refusing RSA key: Invalid key length"), the 3072-bit
              one logs in; a 2048-bit RSA HostKey is an error at start
  cert names  PubkeyAcceptedAlgorithms names certificate algorithms as sshd
              reads them: ssh-ed25519 alone refuses a certificate, the
              certificate name alone refuses the plain key;
              server-sig-algs never lists certificate names
"""

import re
import subprocess
import time

import pytest

import ferrydlab as fdl
from ferrydlab import ferryd  # noqa: F401 - fixture
import ferrylab as fl
from ferrylab import USER
from test_ferryd_certs import ca_ferryd, certify, check_tunnel, keygen, make_ca, refused

SSHD = '/usr/sbin/sshd'

# ssh-audit.com's "Debian 12 / OpenSSH 9.2" hardening guide, as published
GUIDE = [
    'KexAlgorithms sntrup761x25519-sha512@openssh.com,curve25519-sha256,'
    'curve25519-sha256@libssh.org,gss-curve25519-sha256-,diffie-hellman-group16-sha512,'
    'gss-group16-sha512-,diffie-hellman-group18-sha512,diffie-hellman-group-exchange-sha256',
    'Ciphers chacha20-poly1305@openssh.com,aes256-gcm@openssh.com,aes128-gcm@openssh.com,'
    'aes256-ctr,aes192-ctr,aes128-ctr',
    'MACs hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,umac-128-etm@openssh.com',
    'HostKeyAlgorithms sk-ssh-ed25519-cert-v01@openssh.com,ssh-ed25519-cert-v01@openssh.com,'
    'rsa-sha2-512-cert-v01@openssh.com,rsa-sha2-256-cert-v01@openssh.com,'
    'sk-ssh-ed25519@openssh.com,ssh-ed25519,rsa-sha2-512,rsa-sha2-256',
    'RequiredRSASize 3072',
    'CASignatureAlgorithms sk-ssh-ed25519@openssh.com,ssh-ed25519,rsa-sha2-512,rsa-sha2-256',
    'GSSAPIKexAlgorithms gss-curve25519-sha256-,gss-group16-sha512-',
    'HostbasedAcceptedAlgorithms sk-ssh-ed25519-cert-v01@openssh.com,'
    'ssh-ed25519-cert-v01@openssh.com,sk-ssh-ed25519@openssh.com,ssh-ed25519,'
    'rsa-sha2-512-cert-v01@openssh.com,rsa-sha2-512,rsa-sha2-256-cert-v01@openssh.com,'
    'rsa-sha2-256',
    'PubkeyAcceptedAlgorithms sk-ssh-ed25519-cert-v01@openssh.com,'
    'ssh-ed25519-cert-v01@openssh.com,sk-ssh-ed25519@openssh.com,ssh-ed25519,'
    'rsa-sha2-512-cert-v01@openssh.com,rsa-sha2-512,rsa-sha2-256-cert-v01@openssh.com,'
    'rsa-sha2-256',
]
LISTS = ['kexalgorithms', 'ciphers', 'macs', 'hostkeyalgorithms', 'casignaturealgorithms',
         'pubkeyacceptedalgorithms']


def dump(argv):
    """keyword -> value of a -T run."""
    r = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, f'{argv}: {r.stderr}'
    return dict(ln.split(' ', 1) for ln in r.stdout.splitlines() if ' ' in ln)


def test_guide_lists_as_sshd_reads_them(lab):
    host = lab.keys.host['ed25519']
    cfg = lab.dir / 'guide_config'
    cfg.write_text('\n'.join(GUIDE + [f'HostKey {host}', 'Port 2222']) + '\n')
    sshd = dump([SSHD, '-T', '-f', cfg])
    mine = dump([fdl.require_ferryd(), '-T', '-f', cfg])
    # what ferryd has: its defaults (every name it implements)
    blank = lab.dir / 'blank_config'
    blank.write_text(f'HostKey {host}\nPort 2222\n')
    impl = dump([fdl.require_ferryd(), '-T', '-f', blank])
    for kw in LISTS:
        have = impl[kw].split(',')
        want = [n for n in sshd[kw].split(',') if n in have]
        assert mine[kw].split(',') == want, (kw, mine[kw], sshd[kw])
        assert len(want) < len(sshd[kw].split(',')) or kw == 'pubkeyacceptedalgorithms', kw
    assert mine['requiredrsasize'] == sshd['requiredrsasize'] == '3072'
    r = subprocess.run([fdl.require_ferryd(), '-t', '-d', '-f', cfg], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert re.search(r'^debug1: Ciphers: aes192-ctr: not implemented by ferryd, left out$',
                     r.stderr, re.M), r.stderr
    assert re.search(r'^debug1: MACs: umac-128-etm@openssh\.com: not implemented', r.stderr,
                     re.M), r.stderr


@pytest.mark.parametrize('kind', ['ssh', 'ferry'])
def test_guide_config_serves(lab, ferryd, kind):
    """ferryd under the guide's lines: a client with its defaults connects
    (ssh -v shows what was chosen from the narrowed lists) and -L carries
    1 MiB."""
    srv = ferryd(config=GUIDE)
    echo = lab.echo()
    t = fdl.start_local(lab, kind, srv, [echo.addr], extra=['-v'] if kind == 'ssh' else ())
    n = fl.MiB
    s = fl.connect(t.port)
    try:
        assert fl.exchange(s, n) == (n, fl.pattern_sha256(n)), fl.tail(srv.log_text())
    finally:
        s.close()
    if kind == 'ssh':
        err = t.proc.stderr()
        assert re.search(r'^debug1: kex: algorithm: curve25519-sha256\s', err, re.M), err
        assert re.search(r'^debug1: kex: client->server cipher: chacha20-poly1305@openssh\.com',
                         err, re.M), err
    fdl.terminate(t.proc)


@pytest.mark.parametrize('line,why', [
    ('Ciphers aes128-ctr,aes-ctr', "Ciphers: 'aes-ctr' is no cipher OpenSSH knows"),
    ('KexAlgorithms sntrup761x25519-sha512@openssh.com',
     "KexAlgorithms: 'sntrup761x25519-sha512@openssh.com' leaves no key exchange implemented "
     'here (left out: sntrup761x25519-sha512@openssh.com; implemented: curve25519-sha256,'),
    ('PubkeyAcceptedAlgorithms +ssh-ed448', "PubkeyAcceptedAlgorithms: 'ssh-ed448' is no public "
     'key algorithm OpenSSH knows'),
])
def test_unknown_names_refused(lab, line, why):
    cfg = lab.dir / 'bad_algs'
    cfg.write_text(f'HostKey {lab.keys.host["ed25519"]}\n\n{line}\n')
    r = fdl.run_ferryd(['-t', '-f', cfg])
    assert r.returncode == 1, r.stderr
    assert f'{cfg} line 3: {why}' in r.stderr, r.stderr


def test_required_rsa_size(lab, ferryd, tmp_path):
    small = tmp_path / 'rsa2048'
    keygen('-t', 'rsa', '-b', '2048', '-N', '', '-f', small)
    srv = ferryd(config=['RequiredRSASize 3072'],
                 authorized={USER: [lab.keys.user_pub('rsa'), fl.read_pub(small)]})
    cp = fdl.start_client(lab, 'ssh', srv, identity=str(small))
    assert cp.wait_exit(20) not in (None, 0), cp.stderr()
    assert srv.wait_log(r'^ferryd: refusing RSA key: Invalid key length \(2048 bits, '
                        rf'RequiredRSASize 3072\) for {USER} from 127\.0\.0\.1 port \d+$',
                        1, 10), fl.tail(srv.log_text())
    assert 'Accepted publickey' not in srv.log_text()
    echo = lab.echo()
    t = fdl.start_local(lab, 'ssh', srv, [echo.addr], identity='rsa')
    s = fl.connect(t.port)
    try:
        assert fl.exchange(s, 4096) == (4096, fl.pattern_sha256(4096))
    finally:
        s.close()
    fdl.terminate(t.proc)

    small_host = tmp_path / 'host_rsa2048'
    keygen('-t', 'rsa', '-b', '2048', '-N', '', '-f', small_host)
    cfg = tmp_path / 'rsa_host_config'
    cfg.write_text(f'HostKey {small_host}\nRequiredRSASize 3072\n')
    r = fdl.run_ferryd(['-t', '-f', cfg])
    assert r.returncode == 1, r.stderr
    assert (f'host key {small_host}: RSA key of 2048 bits is smaller than RequiredRSASize '
            '3072') in r.stderr, r.stderr


def test_pubkey_algorithms_certificate_names(lab, ferryd, tmp_path):
    ca = make_ca(tmp_path)
    ident = certify(lab, tmp_path / 'k', ca)
    plain_only = ca_ferryd(ferryd, ca, config=['PubkeyAcceptedAlgorithms ssh-ed25519'])
    refused(lab, 'ssh', plain_only, ident, r'signature algorithm '
            r'ssh-ed25519-cert-v01@openssh\.com not in PubkeyAcceptedAlgorithms')

    certs_only = ca_ferryd(ferryd, ca, config=[
        'PubkeyAcceptedAlgorithms ssh-ed25519-cert-v01@openssh.com'],
        authorized={USER: [lab.keys.user_pub('ed25519')]})
    refused(lab, 'ssh', certs_only, 'ed25519',
            r'signature algorithm ssh-ed25519 not in PubkeyAcceptedAlgorithms')
    t = check_tunnel(lab, 'ssh', certs_only, ident)
    fdl.terminate(t.proc)


def test_server_sig_algs_plain(lab, ferryd):
    """server-sig-algs lists the signature algorithms of
    PubkeyAcceptedAlgorithms, never its certificate names (as sshd)."""
    srv = ferryd()
    echo = lab.echo()
    t = fdl.start_local(lab, 'ssh', srv, [echo.addr], extra=['-vv'])
    m = None
    for _ in range(50):
        m = re.search(r'server-sig-algs=<([^>]*)>', t.proc.stderr())
        if m:
            break
        time.sleep(0.1)
    assert m, t.proc.stderr()
    assert m[1].split(',') == ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'rsa-sha2-512',
                               'rsa-sha2-256'], m[1]
    fdl.terminate(t.proc)
