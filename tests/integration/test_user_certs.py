"""User certificates (issue 11): a key certified by a CA that sshd trusts
(TrustedUserCAKeys, with an empty authorized_keys) logs in when its
certificate lies beside the identity as IDENTITY-cert.pub or is named by
CertificateFile; a certificate for another principal, or an expired one,
is refused by sshd. ssh runs the same cases as a check of the test."""

import re
import shutil
import subprocess

import pytest

import ferrylab as fl
from ferrylab import LOCALHOST, USER

ALGS = ['ed25519', 'ecdsa', 'rsa']
CERT_NAME = {'ed25519': 'ED25519-CERT', 'ecdsa': 'ECDSA-CERT', 'rsa': 'RSA-CERT'}


def keygen(*args):
    r = subprocess.run([fl.SSH_KEYGEN, '-q', *args], stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, f'ssh-keygen {args}: {r.stderr}'


def make_ca(d):
    ca = d / 'ca'
    keygen('-t', 'ed25519', '-N', '', '-C', 'ferry-test-ca', '-f', str(ca))
    return ca


def certified_key(lab, d, alg, ca, principal=USER, validity='+1h', beside=True):
    """A copy of the lab's user key of alg in d (so the shared key directory
    gets no certificate), with a certificate signed by ca; returns (identity,
    certificate path). Not beside: the certificate is made elsewhere."""
    d.mkdir(parents=True, exist_ok=True)
    ident = d / f'id_{alg}'
    shutil.copy(lab.keys.user[alg], ident)
    shutil.copy(str(lab.keys.user[alg]) + '.pub', str(ident) + '.pub')
    ident.chmod(0o600)
    keygen('-s', str(ca), '-I', f'ferry-test-{alg}', '-n', principal, '-V', validity,
           str(ident) + '.pub')
    cert = d / f'id_{alg}-cert.pub'
    if not beside:
        away = d / 'elsewhere'
        away.mkdir()
        cert = cert.rename(away / f'my-{alg}.cert')
    return ident, cert


def ca_sshd(lab, ca):
    return lab.sshd(config=[f'TrustedUserCAKeys {ca}.pub'], authorized=())


def check_data(t):
    n = 512 * fl.KiB
    s = fl.connect(t.port)
    try:
        count, digest = fl.exchange(s, n)
    finally:
        s.close()
    assert (count, digest) == (n, fl.pattern_sha256(n))


def accepted_cert(sshd, alg):
    return re.search(rf'Accepted publickey for {USER} .* {CERT_NAME[alg]} .*'
                     rf'ID ferry-test-{alg}', sshd.log_text())


@pytest.mark.parametrize('alg', ALGS)
def test_cert_beside_identity(lab, client, tmp_path, alg):
    ca = make_ca(tmp_path)
    ident, _ = certified_key(lab, tmp_path / 'k', alg, ca)
    sshd = ca_sshd(lab, ca)
    echo = lab.echo()
    t = lab.tunnel(client, sshd, [echo.addr], identity=str(ident))
    check_data(t)
    assert accepted_cert(sshd, alg), fl.tail(sshd.log_text())


@pytest.mark.parametrize('alg', ALGS)
def test_certificate_file(lab, client, tmp_path, alg):
    ca = make_ca(tmp_path)
    ident, cert = certified_key(lab, tmp_path / 'k', alg, ca, beside=False)
    sshd = ca_sshd(lab, ca)
    echo = lab.echo()
    t = lab.tunnel(client, sshd, [echo.addr], identity=str(ident),
                   extra=['-o', f'CertificateFile={cert}'])
    check_data(t)
    assert accepted_cert(sshd, alg), fl.tail(sshd.log_text())


def test_without_certificate_refused(lab, client, tmp_path):
    """The same key without its certificate: the empty authorized_keys
    refuses it, so the successes above are the certificate's."""
    ca = make_ca(tmp_path)
    ident, cert = certified_key(lab, tmp_path / 'k', 'ed25519', ca)
    cert.unlink()
    sshd = ca_sshd(lab, ca)
    cp = lab.run(client, sshd, identity=str(ident))
    assert cp.proc.returncode == 255
    assert 'Permission denied' in cp.stderr()


@pytest.mark.parametrize('alg', ALGS)
@pytest.mark.parametrize('case', ['principal', 'expired'])
def test_bad_certificate_refused(lab, client, tmp_path, alg, case):
    ca = make_ca(tmp_path)
    kw = ({'principal': 'somebody-else'} if case == 'principal'
          else {'validity': '20200101:20200102'})
    ident, _ = certified_key(lab, tmp_path / 'k', alg, ca, **kw)
    sshd = ca_sshd(lab, ca)
    cp = lab.run(client, sshd, identity=str(ident))
    assert cp.proc.returncode == 255, f'exit {cp.proc.returncode}:\n{cp.stderr()}'
    assert 'Permission denied' in cp.stderr()
    assert 'Accepted publickey' not in sshd.log_text()
    if client == 'ferry':
        # the certificate was offered, and sshd said why it refused
        assert re.search(r'principal|expired|not yet valid', sshd.log_text()), \
            fl.tail(sshd.log_text())


def test_dash_G_certificatefile(tmp_path):
    cfg = tmp_path / 'config'
    cfg.write_text('Host h\n  CertificateFile ~/.ssh/a-%h-cert.pub\n'
                   '  CertificateFile /etc/b-cert.pub\n'
                   'Host *\n  CertificateFile /etc/b-cert.pub\n'
                   '  CertificateFile %d/c\n')

    def lines(prog):
        r = subprocess.run([prog, '-G', '-F', str(cfg), 'h'], capture_output=True,
                           text=True, timeout=30, stdin=subprocess.DEVNULL)
        assert r.returncode == 0, r.stderr
        return [ln for ln in r.stdout.splitlines() if ln.startswith('certificatefile ')]

    want = lines(fl.SSH)
    assert len(want) == 3
    assert lines(fl.require_ferry()) == want


def offers(cp):
    """The "Offering public key:" lines of a -v run, without the prefix."""
    return [ln.split('Offering public key: ', 1)[1]
            for ln in cp.stderr().splitlines() if 'Offering public key: ' in ln]


@pytest.mark.parametrize('where', ['beside', 'certificatefile'])
def test_offer_order(lab, tmp_path, where):
    """ssh's order (OpenSSH 9.2 -v): a CertificateFile certificate before
    the IdentityFile keys, a -cert.pub right after its own key. Both are
    refused here (another principal), so both are offered; ferry's -v
    lines are ssh's, word for word."""
    ca = make_ca(tmp_path)
    ident, cert = certified_key(lab, tmp_path / 'k', 'ed25519', ca,
                                principal='somebody-else', beside=where == 'beside')
    sshd = ca_sshd(lab, ca)
    extra = ['-v'] + ([] if where == 'beside' else ['-o', f'CertificateFile={cert}'])
    got = {}
    for kind in ('ssh', 'ferry'):
        cp = lab.run(kind, sshd, identity=str(ident), extra=extra)
        assert cp.proc.returncode == 255
        got[kind] = offers(cp)
    kinds = ['cert' if ' ED25519-CERT ' in ln else 'key' for ln in got['ferry']]
    assert kinds == (['key', 'cert'] if where == 'beside' else ['cert', 'key']), got
    assert got['ferry'] == got['ssh'], got
