"""Host certificates: an OpenSSH sshd presents a HostCertificate signed by a CA
that known_hosts trusts with an @cert-authority line (ssh_config(5),
sshd(8) SSH_KNOWN_HOSTS, PROTOCOL.certkeys). Every test runs with ferry and
with OpenSSH ssh, which shows the expectations are ssh's own."""

import re
import shutil
import subprocess

import ferrylab as fl

ALLOC = 'Allocated port'
MIB = 1024 * 1024


def make_ca(lab, name='ca'):
    d = lab._sub(name)
    ca = d / 'ca'
    p = fl.keygen(ca, 'ed25519')
    out, _ = p.communicate(timeout=60)
    assert p.returncode == 0, out
    return ca


def sign_host(lab, ca, principals, validity=None, key='ed25519'):
    """A host certificate for the lab's host key, made by ssh-keygen -s -h."""
    d = lab._sub('hcert')
    pub = d / f'host_{key}.pub'
    shutil.copy(str(lab.keys.host[key]) + '.pub', pub)
    argv = [fl.SSH_KEYGEN, '-q', '-s', str(ca), '-I', 'test-host', '-h',
            '-n', principals]
    if validity:
        argv += ['-V', validity]
    subprocess.run(argv + [str(pub)], check=True, capture_output=True, timeout=30)
    return d / f'host_{key}-cert.pub'


def cert_sshd(lab, cert):
    return lab.sshd(config=[f'HostCertificate {cert}'], log_level='DEBUG1')


def ca_line(sshd, ca, pattern=None):
    pat = pattern or f'[{fl.LOCALHOST}]:{sshd.port}'
    return f'@cert-authority {pat} {fl.read_pub(ca)}\n'


def write_kh(lab, text):
    p = lab._sub('kh') / 'known_hosts'
    p.write_text(text)
    return p


def assert_refused(cp, sshd, *needles):
    err = cp.stderr()
    assert cp.proc.returncode == 255, f'exit {cp.proc.returncode}, expected 255:\n{err}'
    assert 'Host key verification failed.' in err, err
    assert ALLOC not in err
    for n in needles:
        assert n in err, f'{n!r} not in:\n{err}'
    assert 'Accepted publickey' not in sshd.log_text()


def move_data(t, n=MIB):
    s = fl.connect(t.port)
    try:
        count, digest = fl.exchange(s, n)
    finally:
        s.close()
    assert (count, digest) == (n, fl.pattern_sha256(n))


def negotiated(sshd):
    m = re.findall(r'kex: host key algorithm: (\S+)', sshd.log_text())
    return m[0] if m else None


def test_ca_accepted_strict(lab, client):
    """Only an @cert-authority line: the certificate is accepted under
    StrictHostKeyChecking yes, the data flows, known_hosts stays as it was."""
    ca = make_ca(lab)
    sshd = cert_sshd(lab, sign_host(lab, ca, 'localhost,127.0.0.1'))
    kh = write_kh(lab, ca_line(sshd, ca))
    before = kh.read_text()
    echo = lab.echo()
    t = lab.tunnel(client, sshd, [echo.addr], known_hosts=kh, extra=['-v'])
    move_data(t)
    assert negotiated(sshd) == 'ssh-ed25519-cert-v01@openssh.com'
    assert kh.read_text() == before
    if client == 'ferry':
        err = t.proc.stderr()
        assert 'Host certificate accepted' in err, err
        assert f'{kh}:1' in err, err


def test_wrong_principal_refused_then_plain_fallback(lab, client):
    ca = make_ca(lab)
    sshd = cert_sshd(lab, sign_host(lab, ca, 'other.example'))
    kh = write_kh(lab, ca_line(sshd, ca))
    cp = lab.run(client, sshd, known_hosts=kh)
    assert_refused(cp, sshd, 'Certificate invalid: name is not a listed principal')
    # ssh then checks the plain key inside the certificate: listed, accepted
    kh2 = write_kh(lab, ca_line(sshd, ca) + sshd.known_hosts_line('ed25519'))
    echo = lab.echo()
    t = lab.tunnel(client, sshd, [echo.addr], known_hosts=kh2)
    move_data(t)


def test_expired_refused(lab, client):
    ca = make_ca(lab)
    sshd = cert_sshd(lab, sign_host(lab, ca, 'localhost,127.0.0.1',
                                    validity='20200101:20200201'))
    kh = write_kh(lab, ca_line(sshd, ca))
    cp = lab.run(client, sshd, known_hosts=kh)
    assert_refused(cp, sshd, 'Certificate invalid: expired')


def test_ca_pattern_not_matching_refused(lab, client):
    ca = make_ca(lab)
    sshd = cert_sshd(lab, sign_host(lab, ca, 'localhost,127.0.0.1'))
    kh = write_kh(lab, ca_line(sshd, ca, pattern='*.example.org'))
    cp = lab.run(client, sshd, known_hosts=kh)
    assert_refused(cp, sshd)


def test_other_ca_refused(lab, client):
    ca, other = make_ca(lab), make_ca(lab, 'other')
    sshd = cert_sshd(lab, sign_host(lab, ca, 'localhost,127.0.0.1'))
    kh = write_kh(lab, ca_line(sshd, other))
    cp = lab.run(client, sshd, known_hosts=kh)
    assert_refused(cp, sshd)


def test_revoked_ca_refused(lab, client):
    """@revoked on the CA refuses, even with a plain line for the host key."""
    ca = make_ca(lab)
    sshd = cert_sshd(lab, sign_host(lab, ca, 'localhost,127.0.0.1'))
    kh = write_kh(lab, ca_line(sshd, ca) + sshd.known_hosts_line('ed25519') +
                  f'@revoked * {fl.read_pub(ca)}\n')
    cp = lab.run(client, sshd, known_hosts=kh)
    assert_refused(cp, sshd, 'REVOKED HOST KEY DETECTED')


def test_revoked_host_key_refused(lab, client):
    ca = make_ca(lab)
    sshd = cert_sshd(lab, sign_host(lab, ca, 'localhost,127.0.0.1'))
    kh = write_kh(lab, ca_line(sshd, ca) +
                  f'@revoked * {lab.keys.host_pub("ed25519")}\n')
    cp = lab.run(client, sshd, known_hosts=kh)
    assert_refused(cp, sshd, 'REVOKED HOST KEY DETECTED')


def test_host_key_alias_is_the_principal(lab, client):
    ca = make_ca(lab)
    sshd = cert_sshd(lab, sign_host(lab, ca, 'gateway.alias'))
    kh = write_kh(lab, ca_line(sshd, ca, pattern='gateway.alias'))
    echo = lab.echo()
    t = lab.tunnel(client, sshd, [echo.addr], known_hosts=kh,
                   extra=['-o', 'HostKeyAlias=gateway.alias'])
    move_data(t)
    # without the alias, 127.0.0.1 is not a principal (a fresh sshd: its
    # log must show no login)
    sshd = cert_sshd(lab, sign_host(lab, ca, 'gateway.alias'))
    cp = lab.run(client, sshd, known_hosts=write_kh(lab, ca_line(sshd, ca)))
    assert_refused(cp, sshd, 'Certificate invalid: name is not a listed principal')


def test_plain_order_without_ca_line(lab, client):
    """No @cert-authority line for the host: ferry asks for the plain key,
    as before. (ssh asks for the certificate of a type known_hosts lists,
    finds no CA and falls back to the plain key: the same verdict.)"""
    ca = make_ca(lab)
    sshd = cert_sshd(lab, sign_host(lab, ca, 'localhost,127.0.0.1'))
    kh = write_kh(lab, sshd.known_hosts_line('ed25519'))
    echo = lab.echo()
    t = lab.tunnel(client, sshd, [echo.addr], known_hosts=kh)
    assert fl.echo_roundtrip(t.port, b'ping') == b'ping'
    if client == 'ferry':
        assert negotiated(sshd) == 'ssh-ed25519'


def test_ca_signature_algorithms(lab, client):
    """CASignatureAlgorithms without the CA's algorithm: the certificate is
    not accepted (and with no plain line, the connection is refused)."""
    ca = make_ca(lab)
    sshd = cert_sshd(lab, sign_host(lab, ca, 'localhost,127.0.0.1'))
    kh = write_kh(lab, ca_line(sshd, ca))
    cp = lab.run(client, sshd, known_hosts=kh,
                 extra=['-o', 'CASignatureAlgorithms=rsa-sha2-512,rsa-sha2-256'])
    assert_refused(cp, sshd)
    if client == 'ferry':
        assert 'CASignatureAlgorithms' in cp.stderr(), cp.stderr()
    # '-' that leaves ssh-ed25519 in: accepted
    echo = lab.echo()
    t = lab.tunnel(client, sshd, [echo.addr], known_hosts=kh,
                   extra=['-o', 'CASignatureAlgorithms=-rsa*,ecdsa*'])
    move_data(t)


def dash_g(argv):
    r = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                       timeout=30)
    return r.returncode, [ln for ln in r.stdout.splitlines()
                          if ln.startswith('casignaturealgorithms ')], r.stderr


def test_ca_signature_algorithms_dash_g(client):
    """ferry -G prints CASignatureAlgorithms as ssh -G does (+, -, ^,
    default), less the algorithms ferry does not verify."""
    if client != 'ferry':
        return
    default = dash_g([fl.require_ferry(), '-G', '-F', '/dev/null',
                      'example.invalid'])[1][0].split(' ')[1]
    for value in (None, '+ssh-rsa', '-rsa*', '^rsa-sha2-256', 'ssh-ed25519',
                  'ssh-ed25519,rsa-sha2-512'):
        opt = [] if value is None else ['-o', f'CASignatureAlgorithms={value}']
        f = dash_g([fl.require_ferry(), '-G', '-F', '/dev/null'] + opt + ['example.invalid'])
        s = dash_g([fl.SSH, '-G', '-F', '/dev/null'] + opt + ['example.invalid'])
        assert f[0] == s[0] == 0, (value, f, s)
        want = fl.algs_as_ferry(s[1][0].split(' ')[1], default)
        assert f[1] == [f'casignaturealgorithms {want}'], (value, f, s)
    f = dash_g([fl.require_ferry(), '-G', '-F', '/dev/null', '-o',
                'CASignatureAlgorithms=no-such-alg', 'example.invalid'])
    assert f[0] != 0 and 'no-such-alg' in f[2], f


def test_empty_principals_refused(lab, client):
    """A certificate listing no principal would name every host: current
    OpenSSH refuses it ("Certificate lacks principal list"), and so does
    ferry. (Debian 12's ssh 9.2 still accepts it: only ferry is checked.)"""
    if client != 'ferry':
        return
    ca = make_ca(lab)
    d = lab._sub('hcert')
    pub = d / 'host_ed25519.pub'
    shutil.copy(str(lab.keys.host['ed25519']) + '.pub', pub)
    subprocess.run([fl.SSH_KEYGEN, '-q', '-s', str(ca), '-I', 'anyhost', '-h', str(pub)],
                   check=True, capture_output=True, timeout=30)
    sshd = cert_sshd(lab, d / 'host_ed25519-cert.pub')
    cp = lab.run(client, sshd, known_hosts=write_kh(lab, ca_line(sshd, ca)))
    assert_refused(cp, sshd, 'Certificate lacks principal list')


def test_rekey_keeps_the_certificate(lab, client):
    """Rekeying under a certificate: the same blob again, data intact."""
    ca = make_ca(lab)
    sshd = cert_sshd(lab, sign_host(lab, ca, 'localhost,127.0.0.1'))
    kh = write_kh(lab, ca_line(sshd, ca))
    echo = lab.echo()
    t = lab.tunnel(client, sshd, [echo.addr], known_hosts=kh,
                   extra=['-o', 'RekeyLimit=256K'])
    move_data(t, 4 * MIB)
    algs = re.findall(r'kex: host key algorithm: (\S+)', sshd.log_text())
    assert len(algs) >= 2 and set(algs) == {'ssh-ed25519-cert-v01@openssh.com'}, algs


def test_accept_new_records_the_plain_key(lab, client):
    """A certificate not accepted under accept-new: as ssh, the plain key
    inside is new, so it is recorded and the connection goes on."""
    ca = make_ca(lab)
    sshd = cert_sshd(lab, sign_host(lab, ca, 'other.example'))
    kh = write_kh(lab, ca_line(sshd, ca))
    echo = lab.echo()
    t = lab.tunnel(client, sshd, [echo.addr], known_hosts=kh, strict='accept-new')
    move_data(t)
    lines = kh.read_text().splitlines()
    assert lines[0] == ca_line(sshd, ca).strip()
    assert len(lines) == 2 and lines[1].split()[1:3] == \
        lab.keys.host_pub('ed25519').split()[:2], lines


def test_host_key_algorithms_without_certs(lab, client):
    """HostKeyAlgorithms naming no certificate algorithm: the plain key is
    negotiated even with a CA line (and, unknown, refused)."""
    ca = make_ca(lab)
    sshd = cert_sshd(lab, sign_host(lab, ca, 'localhost,127.0.0.1'))
    kh = write_kh(lab, ca_line(sshd, ca))
    cp = lab.run(client, sshd, known_hosts=kh, extra=[
        '-o', 'HostKeyAlgorithms=ssh-ed25519,ecdsa-sha2-nistp256,rsa-sha2-512,rsa-sha2-256'])
    assert_refused(cp, sshd)
    assert negotiated(sshd) == 'ssh-ed25519'


def test_ask_about_the_plain_key(lab, client):
    """StrictHostKeyChecking ask and a certificate not accepted: ssh's
    question is about the plain key inside; yes records it, data flows."""
    import test_hostkeys_ask as ask
    ca = make_ca(lab)
    sshd = cert_sshd(lab, sign_host(lab, ca, 'other.example'))
    kh = write_kh(lab, ca_line(sshd, ca))
    echo = lab.echo()
    cp = ask.start_pty(lab, client, ask.argv_for(
        client, lab, sshd, kh, forwards=[f'127.0.0.1:{fl.pick_free_port()}:127.0.0.1:'
                                         f'{echo.port}' if client == 'ssh' else
                                         f'127.0.0.1:0:127.0.0.1:{echo.port}']))
    assert cp.wait_tty(ask.QUESTION_END), f'no question:\n{cp.stderr()}'
    assert cp.tty() == '\r' + ask.question(sshd, ask.fingerprint(lab))
    assert 'Certificate invalid: name is not a listed principal' in cp.stderr()
    cp.type('yes')
    if client == 'ferry':
        ask.check_data(ask.forward_port(cp))
    else:
        port = int(cp.argv[cp.argv.index('-L') + 1].split(':')[1])
        assert fl.wait_until(lambda: fl.listens_on(cp.pid, port), fl.READY_TIMEOUT)
        ask.check_data(port)
    assert ask.ed_key(lab) in ask.listed(kh, ask.host_name(sshd))  # (and the CA line)


def test_not_yet_valid_refused(lab, client):
    ca = make_ca(lab)
    sshd = cert_sshd(lab, sign_host(lab, ca, 'localhost,127.0.0.1',
                                    validity='+1d:+2d'))
    cp = lab.run(client, sshd, known_hosts=write_kh(lab, ca_line(sshd, ca)))
    assert_refused(cp, sshd, 'Certificate invalid: not yet valid')


def test_user_certificate_as_host_refused(lab, client):
    """A user certificate (ssh-keygen -s without -h) is no host certificate."""
    ca = make_ca(lab)
    d = lab._sub('hcert')
    pub = d / 'host_ed25519.pub'
    shutil.copy(str(lab.keys.host['ed25519']) + '.pub', pub)
    subprocess.run([fl.SSH_KEYGEN, '-q', '-s', str(ca), '-I', 'user', '-n',
                    'localhost,127.0.0.1', str(pub)],
                   check=True, capture_output=True, timeout=30)
    sshd = cert_sshd(lab, d / 'host_ed25519-cert.pub')
    cp = lab.run(client, sshd, known_hosts=write_kh(lab, ca_line(sshd, ca)))
    assert_refused(cp, sshd, 'Certificate invalid: not a host certificate')
