"""ferryd's HostCertificate: the host key certified by a CA (ssh-keygen -s
-h), offered first as ssh-ed25519-cert-v01@openssh.com, so that clients whose
known_hosts holds only an @cert-authority line connect under
StrictHostKeyChecking yes. OpenSSH ssh and ferry alike; without the
certificate the same clients are refused, which shows the keyword acts."""

import shutil
import signal
import subprocess

import pytest

import ferrydlab as fdl
from ferrydlab import ferryd  # noqa: F401 - fixture
import ferrylab as fl
from ferrylab import LOCALHOST

MIB = 1024 * 1024


@pytest.fixture(params=['ssh', 'ferry'])
def client(request):
    return request.param


def _ca(lab):
    ca = lab._sub('ca') / 'ca'
    r = subprocess.run([fl.SSH_KEYGEN, '-q', '-t', 'ed25519', '-N', '', '-f', str(ca)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return ca


def _sign(lab, ca, principals='127.0.0.1', key='ed25519', d=None):
    """ssh-keygen -s CA -h -n PRINCIPALS on a copy of the host key's .pub
    (in d, a new directory unless given)."""
    d = d or lab._sub('hcert')
    pub = d / f'ferryd_host_{key}.pub'
    shutil.copy(str(lab.keys.host[key]) + '.pub', pub)
    r = subprocess.run([fl.SSH_KEYGEN, '-q', '-s', str(ca), '-I', 'ferryd-host', '-h',
                        '-n', principals, str(pub)], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 0, r.stderr
    return d / f'ferryd_host_{key}-cert.pub'


def _ca_known_hosts(lab, srv, ca):
    p = lab._sub('kh') / 'known_hosts'
    p.write_text(f'@cert-authority [{LOCALHOST}]:{srv.port} {fl.read_pub(ca)}\n')
    return p


def test_certificate_accepted_by_ca_line(lab, ferryd, client):
    """known_hosts holds only @cert-authority: StrictHostKeyChecking yes
    connects and 1 MiB goes through -L, SHA-256 equal; the client says it
    checked a certificate."""
    ca = _ca(lab)
    cert = _sign(lab, ca)
    srv = ferryd(config=[f'HostCertificate {cert}'], log_level='DEBUG')
    kh = _ca_known_hosts(lab, srv, ca)
    echo = lab.echo()
    t = fdl.start_local(lab, client, srv, [echo.addr], known_hosts=kh, extra=['-v'])
    s = fl.connect(t.port)
    try:
        assert fl.exchange(s, MIB) == (MIB, fl.pattern_sha256(MIB))
    finally:
        s.close()
    err = t.proc.stderr()
    want = ('Server host certificate: ssh-ed25519-cert-v01@openssh.com' if client == 'ssh'
            else 'Host certificate accepted')
    assert want in err, err


def test_without_certificate_refused(lab, ferryd, client):
    """The same client and known_hosts against ferryd without
    HostCertificate: the plain key is not trusted, the client refuses."""
    ca = _ca(lab)
    srv = ferryd()
    kh = _ca_known_hosts(lab, srv, ca)
    cp = fdl.start_client(lab, client, srv, known_hosts=kh,
                          local=[f'{LOCALHOST}:{fl.pick_free_port()}:{LOCALHOST}:9'])
    rc = cp.wait_exit(20)
    assert rc == 255, (rc, cp.stderr())
    assert 'Host key verification failed.' in cp.stderr(), cp.stderr()
    assert 'Accepted publickey' not in srv.log_text()


def _conf(lab, name, lines):
    p = lab.dir / name
    p.write_text('\n'.join(lines) + '\n')
    return p


def test_certificate_without_its_hostkey(lab):
    """A certificate for a key that no HostKey holds: ferryd -t fails naming
    the file; with its key it passes and -T prints it; HostKeyAlgorithms
    leaving its algorithm out is said."""
    ca = _ca(lab)
    cert = _sign(lab, ca, key='ecdsa')
    bad = _conf(lab, 'bad.conf', [f'HostKey {lab.keys.host["ed25519"]}',
                                  f'HostCertificate {cert}'])
    r = fdl.run_ferryd(['-t', '-f', bad])
    assert r.returncode != 0, r.stderr
    assert f'HostCertificate {cert}: No matching private key for certificate' in r.stderr, \
        r.stderr
    good = _conf(lab, 'good.conf', [f'HostKey {lab.keys.host["ed25519"]}',
                                    f'HostKey {lab.keys.host["ecdsa"]}',
                                    f'HostCertificate {cert}'])
    r = fdl.run_ferryd(['-t', '-f', good])
    assert r.returncode == 0, r.stderr
    r = fdl.run_ferryd(['-T', '-f', good])
    assert r.returncode == 0, r.stderr
    assert f'hostcertificate {cert}\n' in r.stdout, r.stdout
    # HostKeyAlgorithms without its algorithm: accepted, said not offered
    r = fdl.run_ferryd(['-t', '-f', good, '-o', 'HostKeyAlgorithms ssh-ed25519'])
    assert r.returncode == 0, r.stderr
    assert f'HostCertificate {cert}: HostKeyAlgorithms allows no algorithm' in r.stderr, \
        r.stderr


def test_bad_certificate_files(lab):
    """A missing file, a plain public key, a user certificate: each named."""
    ca = _ca(lab)
    hk = f'HostKey {lab.keys.host["ed25519"]}'
    missing = lab.dir / 'absent-cert.pub'
    plain = str(lab.keys.host['ed25519']) + '.pub'
    user_pub = lab._sub('u') / 'host.pub'
    shutil.copy(plain, user_pub)
    subprocess.run([fl.SSH_KEYGEN, '-q', '-s', str(ca), '-I', 'u', '-n', 'x', str(user_pub)],
                   check=True, capture_output=True, timeout=30)
    user_cert = user_pub.parent / 'host-cert.pub'
    for path, needle in ((missing, 'Could not load host certificate'),
                         (plain, 'Could not load host certificate'),
                         (user_cert, 'not a host certificate')):
        r = fdl.run_ferryd(['-t', '-f', _conf(lab, 'c.conf', [hk, f'HostCertificate {path}'])])
        assert r.returncode != 0 and needle in r.stderr and str(path) in r.stderr, \
            (path, r.stderr)


def test_sighup_reloads_certificate(lab, ferryd):
    """A certificate replaced on disk is read again on SIGHUP: a principal
    the client needs appears only in the new one."""
    ca = _ca(lab)
    cert = _sign(lab, ca, principals='other.example')
    srv = ferryd(config=[f'HostCertificate {cert}'])
    kh = _ca_known_hosts(lab, srv, ca)
    fwd = [f'{LOCALHOST}:{fl.pick_free_port()}:{LOCALHOST}:9']
    cp = fdl.start_client(lab, 'ssh', srv, known_hosts=kh, local=fwd)
    assert cp.wait_exit(20) == 255, cp.stderr()
    assert _sign(lab, ca, d=cert.parent) == cert
    srv.proc.send_signal(signal.SIGHUP)
    assert srv.wait_log(r'^ferryd: Received SIGHUP; configuration reloaded\.$', 1, 10), \
        fl.tail(srv.log_text())
    echo = lab.echo()
    t = fdl.start_local(lab, 'ssh', srv, [echo.addr], known_hosts=kh)
    s = fl.connect(t.port)
    try:
        assert fl.exchange(s, 4096) == (4096, fl.pattern_sha256(4096))
    finally:
        s.close()
