"""ferryd accepts OpenSSH user certificates (issue 12), as sshd does.

The CA and certificates are made by ssh-keygen -s; the clients are OpenSSH
ssh (its key with key-cert.pub beside it, or CertificateFile) and ferry.
ferryd trusts a CA through TrustedUserCAKeys or a cert-authority line of
authorized_keys (principals="..."); AuthorizedPrincipalsFile names the
principals a certificate may log in under; CASignatureAlgorithms limits
the CA's algorithm; the critical options source-address (honoured) and
force-command (refused: ferryd runs no commands) and the extension
permit-port-forwarding (absent: no forwarding) are read. Data through a
-L tunnel is checked by SHA-256. A refusal is logged with its reason,
an acceptance with sshd's "Accepted publickey ... ED25519-CERT ... ID ...
(serial N) CA ED25519 ..." line.
"""

import re
import shutil
import subprocess

import pytest

import ferrydlab as fdl
from ferrydlab import ferryd  # noqa: F401 - fixture
import ferrylab as fl
from ferrylab import USER

CLIENTS = ['ssh', 'ferry']


def keygen(*args):
    r = subprocess.run([fl.SSH_KEYGEN, '-q', *[str(a) for a in args]],
                       stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, f'ssh-keygen {args}: {r.stderr}'


def make_ca(d, name='ca', alg='ed25519'):
    d.mkdir(parents=True, exist_ok=True)
    ca = d / name
    keygen('-t', alg, '-N', '', '-C', f'ferry-test-{name}', '-f', ca)
    return ca


def certify(lab, d, ca, *, principals=USER, validity='+1h', opts=(), key_id='ferry-test-id',
            serial=7, alg='ed25519'):
    """A copy of the lab's user key of alg in d with id-cert.pub beside it,
    signed by ca; returns the identity path."""
    d.mkdir(parents=True, exist_ok=True)
    ident = d / f'id_{alg}'
    shutil.copy(lab.keys.user[alg], ident)
    shutil.copy(str(lab.keys.user[alg]) + '.pub', str(ident) + '.pub')
    ident.chmod(0o600)
    args = ['-s', ca, '-I', key_id, '-z', str(serial), '-n', principals, '-V', validity]
    for o in opts:
        args += ['-O', o]
    keygen(*args, str(ident) + '.pub')
    return ident


def ca_ferryd(ferryd, ca, config=(), authorized=None):
    """ferryd trusting ca by TrustedUserCAKeys; the user's authorized_keys
    exists but lists no key (ferryd's account check)."""
    return ferryd(config=[f'TrustedUserCAKeys {ca}.pub', *config],
                  authorized={USER: []} if authorized is None else authorized)


def check_tunnel(lab, kind, srv, ident):
    echo = lab.echo()
    t = fdl.start_local(lab, kind, srv, [echo.addr], identity=ident)
    n = 256 * fl.KiB
    s = fl.connect(t.port)
    try:
        got = fl.exchange(s, n)
    finally:
        s.close()
    assert got == (n, fl.pattern_sha256(n)), fl.tail(srv.log_text())
    return t


def refused(lab, kind, srv, ident, reason):
    """The client is refused and ferryd logs reason (a regex)."""
    cp = fdl.start_client(lab, kind, srv, identity=ident)
    rc = cp.wait_exit(20)
    assert rc not in (None, 0), (rc, cp.stderr())
    assert 'Permission denied' in cp.stderr(), cp.stderr()
    assert srv.wait_log(reason, 1, 10), fl.tail(srv.log_text())
    assert 'Accepted publickey' not in srv.log_text(), fl.tail(srv.log_text())


def accepted_line(srv):
    ms = srv.wait_log(r'^ferryd: Accepted publickey for .*$', 1, 15)
    assert ms, fl.tail(srv.log_text())
    return ms[0].group(0)


@pytest.mark.parametrize('kind', CLIENTS)
def test_trusted_ca_tunnel(lab, ferryd, tmp_path, kind):
    """A certificate of a CA in TrustedUserCAKeys logs in and -L carries
    data; the Accepted line is sshd's, with the key id and serial."""
    ca = make_ca(tmp_path)
    ident = certify(lab, tmp_path / 'k', ca, key_id='alice@example', serial=42)
    srv = ca_ferryd(ferryd, ca)
    check_tunnel(lab, kind, srv, ident)
    assert srv.wait_log(rf'^(?:ferryd|debug1): Accepted certificate ED25519-CERT .* via '
                        rf'{re.escape(str(ca))}\.pub:1$', 1, 10), fl.tail(srv.log_text())
    line = accepted_line(srv)
    want = (rf'^ferryd: Accepted publickey for {re.escape(USER)} from 127\.0\.0\.1 port \d+ '
            rf'ssh2: ED25519-CERT {re.escape(fdl.fingerprint_of(ident))} ID alice@example '
            rf'\(serial 42\) CA ED25519 {re.escape(fdl.fingerprint_of(str(ca) + ".pub"))}$')
    assert re.match(want, line), line


def test_certificate_file(lab, ferryd, tmp_path):
    """ssh's CertificateFile names the certificate kept elsewhere."""
    ca = make_ca(tmp_path)
    ident = certify(lab, tmp_path / 'k', ca)
    away = tmp_path / 'away'
    away.mkdir()
    cert = (tmp_path / 'k' / 'id_ed25519-cert.pub').rename(away / 'my.cert')
    srv = ca_ferryd(ferryd, ca)
    echo = lab.echo()
    t = fdl.start_local(lab, 'ssh', srv, [echo.addr], identity=ident,
                        extra=['-o', f'CertificateFile={cert}'])
    assert fl.echo_roundtrip(t.port, b'c') == b'c'
    assert 'ED25519-CERT' in accepted_line(srv)


def test_plain_key_not_enough(lab, ferryd, tmp_path):
    """The same key without its certificate is refused: the successes are
    the certificate's."""
    ca = make_ca(tmp_path)
    ident = certify(lab, tmp_path / 'k', ca)
    (tmp_path / 'k' / 'id_ed25519-cert.pub').unlink()
    srv = ca_ferryd(ferryd, ca)
    refused(lab, 'ssh', srv, ident, r'^(?:ferryd|debug1): Failed publickey for .* ED25519 SHA256:')


@pytest.mark.parametrize('kind', CLIENTS)
def test_untrusted_ca(lab, ferryd, tmp_path, kind):
    ca = make_ca(tmp_path)
    other = make_ca(tmp_path, 'other')
    ident = certify(lab, tmp_path / 'k', other)
    srv = ca_ferryd(ferryd, ca)
    refused(lab, kind, srv, ident, r'^ferryd: Refusing certificate for .* ID ferry-test-id '
            r'\(serial 7\) CA ED25519 SHA256:\S+: CA not trusted')


@pytest.mark.parametrize('kind', CLIENTS)
def test_expired(lab, ferryd, tmp_path, kind):
    ca = make_ca(tmp_path)
    ident = certify(lab, tmp_path / 'k', ca, validity='20200101:20200102')
    srv = ca_ferryd(ferryd, ca)
    refused(lab, kind, srv, ident, r'^ferryd: Refusing certificate for .*: certificate has '
            r'expired$')


@pytest.mark.parametrize('kind', CLIENTS)
def test_wrong_principal(lab, ferryd, tmp_path, kind):
    ca = make_ca(tmp_path)
    ident = certify(lab, tmp_path / 'k', ca, principals='somebody-else')
    srv = ca_ferryd(ferryd, ca)
    refused(lab, kind, srv, ident, r'^ferryd: Refusing certificate for .*: certificate does '
            r'not list the principal asked for$')


def test_principals_file(lab, ferryd, tmp_path):
    """AuthorizedPrincipalsFile (relative: under StateDirectory, %u): a
    certificate for "tunnel-ops" logs in as USER when the user's file
    lists it; without the line it is refused, and a certificate naming
    only USER is refused too (the file replaces the user-name rule)."""
    ca = make_ca(tmp_path)
    ops = certify(lab, tmp_path / 'ops', ca, principals='tunnel-ops,other')
    srv = ca_ferryd(ferryd, ca, config=['AuthorizedPrincipalsFile principals/%u'])
    pdir = srv.state_dir / 'principals'
    pdir.mkdir(parents=True, exist_ok=True)
    (pdir / USER).write_text('# who may log in\nnobody\n  tunnel-ops  \n')
    check_tunnel(lab, 'ssh', srv, ops)
    assert 'ID ferry-test-id' in accepted_line(srv)
    (pdir / USER).write_text('nobody\n')
    me = certify(lab, tmp_path / 'me', ca, principals=USER)
    for ident in (ops, me):
        cp = fdl.start_client(lab, 'ssh', srv, identity=ident)
        assert cp.wait_exit(20) not in (None, 0), cp.stderr()
        assert 'Permission denied' in cp.stderr()
    assert srv.count(r'^ferryd: Refusing certificate for .*: no principal of it in '
                     rf'{re.escape(str(pdir / USER))}$') == 2, fl.tail(srv.log_text())


def test_principals_file_options(lab, ferryd, tmp_path):
    """A principals line's options apply: from= not matching refuses it,
    no-port-forwarding lets in but forbids -L."""
    ca = make_ca(tmp_path)
    ident = certify(lab, tmp_path / 'k', ca, principals='ops')
    pfile = tmp_path / 'principals'
    pfile.write_text('from="10.0.0.0/8" ops\n')
    srv = ca_ferryd(ferryd, ca, config=[f'AuthorizedPrincipalsFile {pfile}'])
    refused(lab, 'ssh', srv, ident, r'line 1: from="10\.0\.0\.0/8" does not allow 127\.0\.0\.1')
    pfile.write_text('restrict ops\n')
    echo = lab.echo()
    t = fdl.start_local(lab, 'ssh', srv, [echo.addr], identity=ident)
    assert fdl.try_echo(t.port, b'k') == b''
    assert srv.wait_log(r'^ferryd: refused for .*has restrict', 1, 10), fl.tail(srv.log_text())
    assert echo.accepted == 0


@pytest.mark.parametrize('kind', CLIENTS)
def test_cert_authority_line(lab, ferryd, tmp_path, kind):
    """cert-authority,principals="ops,admin" in authorized_keys: a
    certificate of that CA naming ops logs in; one naming only USER does
    not (principals= replaces the user-name rule); another CA's does not."""
    ca = make_ca(tmp_path)
    ca_pub = (tmp_path / 'ca.pub').read_text().split()
    line = f'cert-authority,principals="ops,admin" {ca_pub[0]} {ca_pub[1]}'
    srv = ferryd(authorized={USER: [line]})
    ops = certify(lab, tmp_path / 'ops', ca, principals='ops')
    check_tunnel(lab, kind, srv, ops)
    assert 'ED25519-CERT' in accepted_line(srv)
    me = certify(lab, tmp_path / 'me', ca, principals=USER)
    cp = fdl.start_client(lab, kind, srv, identity=me)
    assert cp.wait_exit(20) not in (None, 0), cp.stderr()
    assert srv.wait_log(r'line 1: certificate principals do not match principals="ops,admin"',
                        1, 10), fl.tail(srv.log_text())


def test_cert_authority_without_principals(lab, ferryd, tmp_path):
    """A cert-authority line without principals=: the user name must be a
    principal; the CA's key on the line does not log in as a plain key."""
    ca = make_ca(tmp_path)
    ca_pub = (tmp_path / 'ca.pub').read_text().split()
    srv = ferryd(authorized={USER: [f'cert-authority {ca_pub[0]} {ca_pub[1]}']})
    ident = certify(lab, tmp_path / 'k', ca, principals=USER)
    check_tunnel(lab, 'ssh', srv, ident)
    other = certify(lab, tmp_path / 'o', ca, principals='ops')
    cp = fdl.start_client(lab, 'ssh', srv, identity=other)
    assert cp.wait_exit(20) not in (None, 0), cp.stderr()
    assert srv.wait_log(rf'certificate principals do not match user {re.escape(USER)}', 1, 10)


@pytest.mark.parametrize('kind', CLIENTS)
def test_source_address(lab, ferryd, tmp_path, kind):
    """source-address=10.0.0.0/8 refuses a client on 127.0.0.1;
    source-address=10.0.0.0/8,127.0.0.0/8 lets it in."""
    ca = make_ca(tmp_path)
    bad = certify(lab, tmp_path / 'bad', ca, opts=['source-address=10.0.0.0/8'])
    srv = ca_ferryd(ferryd, ca)
    refused(lab, kind, srv, bad, r'^ferryd: Refusing certificate for .*: not from a permitted '
            r'source address \(10\.0\.0\.0/8\)$')
    good = certify(lab, tmp_path / 'good', ca, opts=['source-address=10.0.0.0/8,127.0.0.0/8'])
    check_tunnel(lab, kind, srv, good)


@pytest.mark.parametrize('opt,reason', [
    ('force-command=/bin/true', r'certificate has a force-command critical option and ferryd '
                                r'runs no commands'),
    ('verify-required', r'certificate requires user verification \(verify-required\), which '
                        r'only FIDO keys give'),
], ids=['force-command', 'verify-required'])
def test_critical_option_refused(lab, ferryd, tmp_path, opt, reason):
    """force-command (ferryd runs no commands) and verify-required (no
    FIDO keys) refuse the certificate, with the reason logged."""
    ca = make_ca(tmp_path)
    ident = certify(lab, tmp_path / 'k', ca, opts=[opt])
    srv = ca_ferryd(ferryd, ca)
    refused(lab, 'ssh', srv, ident, rf'^ferryd: Refusing certificate for .*: {reason}$')


@pytest.mark.parametrize('kind', CLIENTS)
def test_no_port_forwarding(lab, ferryd, tmp_path, kind):
    """A certificate without permit-port-forwarding logs in, but -L is
    refused and nothing reaches the target."""
    ca = make_ca(tmp_path)
    ident = certify(lab, tmp_path / 'k', ca, opts=['no-port-forwarding'])
    srv = ca_ferryd(ferryd, ca)
    echo = lab.echo()
    t = fdl.start_local(lab, kind, srv, [echo.addr], identity=ident)
    assert 'ED25519-CERT' in accepted_line(srv)
    assert fdl.try_echo(t.port, b'k') == b''
    assert srv.wait_log(rf'^ferryd: refused for .* connection to 127\.0\.0\.1 port {echo.port}'
                        r': .*no-port-forwarding', 1, 10), fl.tail(srv.log_text())
    assert echo.accepted == 0


def test_ca_signature_algorithms(lab, ferryd, tmp_path):
    """CASignatureAlgorithms without the CA's algorithm refuses its
    certificates; an ECDSA CA is accepted when listed."""
    ca = make_ca(tmp_path, 'ca', 'ed25519')
    ident = certify(lab, tmp_path / 'k', ca)
    srv = ca_ferryd(ferryd, ca, config=['CASignatureAlgorithms ecdsa-sha2-nistp256'])
    refused(lab, 'ssh', srv, ident, r'^ferryd: Refusing certificate for .*: CA signature '
            r'algorithm ssh-ed25519 not in CASignatureAlgorithms$')
    eca = make_ca(tmp_path / 'e', 'ca', 'ecdsa')
    eident = certify(lab, tmp_path / 'ek', eca)
    srv2 = ca_ferryd(ferryd, eca, config=['CASignatureAlgorithms ecdsa-sha2-nistp256'])
    check_tunnel(lab, 'ssh', srv2, eident)
    assert ' CA ECDSA SHA256:' in accepted_line(srv2)


def test_key_id_escaped(lab, ferryd, tmp_path):
    """A key id with a control character is escaped in the log."""
    ca = make_ca(tmp_path)
    ident = certify(lab, tmp_path / 'k', ca, key_id='evil\x1b[31m\nferryd: fake')
    srv = ca_ferryd(ferryd, ca)
    check_tunnel(lab, 'ssh', srv, ident)
    line = accepted_line(srv)
    assert 'ID evil\\x1b[31m\\nferryd: fake (serial 7)' in line, line
    assert not re.search(r'^ferryd: fake', srv.log_text(), re.M)


@pytest.mark.parametrize('kind', ['ssh', 'ferry'])
def test_rsa_and_ecdsa_keys(lab, ferryd, tmp_path, kind):
    """RSA (rsa-sha2-512-cert) and ECDSA certified keys log in."""
    ca = make_ca(tmp_path)
    srv = ca_ferryd(ferryd, ca)
    for alg, label in (('rsa', 'RSA-CERT'), ('ecdsa', 'ECDSA-CERT')):
        ident = certify(lab, tmp_path / alg, ca, alg=alg, key_id=f'id-{alg}')
        t = check_tunnel(lab, kind, srv, ident)
        assert srv.wait_log(rf'^ferryd: Accepted publickey .* {label} SHA256:\S+ ID id-{alg} ',
                            1, 15), fl.tail(srv.log_text())
        fdl.terminate(t.proc)


def test_config_print(lab, tmp_path):
    """ferryd -T prints the three keywords; -t writes nothing."""
    state = tmp_path / 'state'
    conf = tmp_path / 'c'
    conf.write_text(f'TrustedUserCAKeys /etc/ssh/user_ca.pub\n'
                    f'AuthorizedPrincipalsFile /etc/ferryd/principals/%u\n'
                    f'CASignatureAlgorithms ssh-ed25519,rsa-sha2-512\n'
                    f'StateDirectory {state}\nHostKey {lab.keys.host["ed25519"]}\n')
    r = fdl.run_ferryd(['-T', '-f', conf])
    assert r.returncode == 0, r.stderr
    assert 'trustedusercakeys /etc/ssh/user_ca.pub\n' in r.stdout
    assert 'authorizedprincipalsfile /etc/ferryd/principals/%u\n' in r.stdout
    assert 'casignaturealgorithms ssh-ed25519,rsa-sha2-512\n' in r.stdout
    r = fdl.run_ferryd(['-t', '-f', conf])
    assert r.returncode == 0, r.stderr
    assert not state.exists()
