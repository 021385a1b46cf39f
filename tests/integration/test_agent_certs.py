"""OpenSSH user certificates held by ssh-agent (ssh-add of a key with its
KEY-cert.pub beside it adds the *-cert-v01@openssh.com identity too): ferry
offers them as OpenSSH 9.2's ssh does, in ssh's order, and the agent signs.

The agent is a real ssh-agent the test starts (agentlab.py), the
certificates come from ssh-keygen -s, and the servers trust only the CA:
sshd (TrustedUserCAKeys, principals in the certificate or an
AuthorizedPrincipalsFile; the plain key is not in authorized_keys) and
ferryd. Data goes through -L and is checked by SHA-256. ssh runs with the
same configuration as the reference: ferry's "Offering public key:" lines
are ssh's, word for word (label, ED25519-CERT, fingerprint, explicit,
agent), in the same order, for the agent alone, IdentityFile matching,
IdentitiesOnly, CertificateFile, PubkeyAcceptedAlgorithms and
RequiredRSASize.
"""

import re

import pytest

import agentlab as al
from agentlab import agent  # noqa: F401 - fixture
from ferrydlab import ferryd  # noqa: F401 - fixture
import ferrylab as fl
import remotelab as rl
from ferrylab import USER

CERT = {'ed25519': 'ED25519-CERT', 'ecdsa': 'ECDSA-CERT', 'rsa': 'RSA-CERT'}


def write_config(lab, server, lines):
    """A client config for Host "target" (the server), both clients alike."""
    kh = lab.known_hosts(server)
    p = lab._sub('cfg') / 'config'
    body = ['Host target', '  HostName 127.0.0.1', f'  Port {server.port}', f'  User {USER}',
            f'  UserKnownHostsFile {kh}', '  GlobalKnownHostsFile /dev/null',
            '  StrictHostKeyChecking yes', '  BatchMode yes', '  ExitOnForwardFailure yes']
    p.write_text('\n'.join(body + [f'  {ln}' for ln in lines]) + '\n')
    return p


def offers(cp):
    """What a -v run offered, without the "Offering public key: " prefix."""
    return [ln.split('Offering public key: ', 1)[1]
            for ln in cp.stderr().splitlines() if 'Offering public key: ' in ln]


def run_client(lab, kind, cfg, timeout=fl.EXIT_TIMEOUT):
    """A client run until it is in or refused: ssh runs `true` and exits;
    ferry, which runs no command, is stopped once authenticated (a -L to a
    closed port keeps it busy meanwhile) or exits 255 when refused."""
    if kind == 'ssh':
        argv = [fl.SSH, '-F', cfg, '-v', 'target', 'true']
    else:
        argv = [fl.require_ferry(), '-F', cfg, '-v', '-N',
                '-L', f'{fl.LOCALHOST}:0:{fl.LOCALHOST}:{lab.closed_port()}', 'target']
    cp = rl.start_client(lab, kind, argv)
    if kind == 'ferry':
        assert fl.wait_until(lambda: not cp.alive() or 'Authenticated to' in cp.stderr(),
                             timeout), cp.stderr()
        if cp.alive():
            cp.stop()
        return cp
    rc = cp.wait_exit(timeout)
    assert rc is not None, f'ssh did not exit:\n{cp.stderr()}'
    return cp


def reference(lab, cfg):
    """ssh's and ferry's offers with the same configuration."""
    got = {k: offers(run_client(lab, k, cfg)) for k in ('ssh', 'ferry')}
    assert got['ferry'] == got['ssh'], got
    return got['ferry']


def ferry_tunnel(lab, cfg, server, extra=()):
    """ferry -v -L to an echo server through server; returns the process
    once the data (512 KiB) came back intact."""
    echo = lab.echo()
    argv = [fl.require_ferry(), '-F', cfg, '-v', '-N', *extra, '-L',
            f'{fl.LOCALHOST}:0:{echo.addr[0]}:{echo.addr[1]}', 'target']
    cp = rl.start_client(lab, 'ferry', argv)
    ms = cp.wait_for(fl.ALLOCATED_RE, timeout=fl.READY_TIMEOUT)
    assert ms, f'ferry did not forward:\n{cp.stderr()}\nserver:\n{fl.tail(server.log_text())}'
    n = 512 * fl.KiB
    s = fl.connect(int(ms[0].group(1)))
    try:
        assert fl.exchange(s, n) == (n, fl.pattern_sha256(n))
    finally:
        s.close()
    return cp


def setup_keys(tmp_path, alg='ed25519', principal=USER, validity='+1h'):
    """A CA, key A (alg) with A-cert.pub beside it, key B (ed25519) without."""
    ca = al.keygen(tmp_path / 'ca' / 'ca', comment='ferry-test-ca')
    a = al.keygen(tmp_path / 'keys' / f'a_{alg}', alg)
    al.certify(a, ca, principal=principal, validity=validity, key_id=f'ferry-agent-{alg}')
    b = al.keygen(tmp_path / 'keys' / 'b_ed25519')
    return ca, a, b


def accepted(log):
    return re.findall(r'Accepted publickey for \S+ from \S+ port \d+ ssh2: (\S+) ', log)


@pytest.mark.parametrize('alg,principals', [('ed25519', 'cert'), ('ecdsa', 'file'),
                                            ('rsa', 'cert')])
def test_agent_cert_sshd(lab, agent, tmp_path, alg, principals):
    """The agent holds A and A's certificate; sshd takes only the
    certificate (empty authorized_keys). ferry offers A, then the
    certificate, which logs in; ssh offers the same, in the same order."""
    name = 'ferry-deploy' if principals == 'file' else USER
    ca, a, _ = setup_keys(tmp_path, alg, principal=name)
    config = [f'TrustedUserCAKeys {ca}.pub']
    if principals == 'file':
        pf = tmp_path / 'principals'
        pf.write_text('ferry-deploy\n')
        config.append(f'AuthorizedPrincipalsFile {pf}')
    sshd = lab.sshd(config=config, authorized=())
    ag = agent()
    ag.add(a)
    assert ag.types() == [alg.upper(), CERT[alg]]
    cfg = write_config(lab, sshd, [])
    got = reference(lab, cfg)
    assert [ln.split()[1] for ln in got] == [alg.upper(), CERT[alg]], got
    assert all(ln.endswith(' agent') and ln.startswith(f'{a.name} ') for ln in got), got
    cp = ferry_tunnel(lab, cfg, sshd)
    assert accepted(sshd.log_text()).count(CERT[alg]) == 3, fl.tail(sshd.log_text())
    assert f'ID ferry-agent-{alg}' in sshd.log_text()
    assert re.search(rf'Offering public key: {a.name} {CERT[alg]} SHA256:\S+ agent$',
                     cp.stderr(), re.M), cp.stderr()


def test_agent_cert_identity_agent(lab, agent, tmp_path):
    """IdentityAgent names the socket (SSH_AUTH_SOCK unset)."""
    ca, a, _ = setup_keys(tmp_path)
    sshd = lab.sshd(config=[f'TrustedUserCAKeys {ca}.pub'], authorized=())
    ag = agent(env=False)
    ag.add(a)
    cfg = write_config(lab, sshd, [f'IdentityAgent {ag.sock}'])
    ferry_tunnel(lab, cfg, sshd)
    assert accepted(sshd.log_text()) == ['ED25519-CERT'], fl.tail(sshd.log_text())


@pytest.mark.parametrize('option,want', [
    (None, 'rsa-sha2-512-cert-v01@openssh.com'),
    ('rsa-sha2-256-cert-v01@openssh.com', 'rsa-sha2-256-cert-v01@openssh.com'),
])
def test_agent_rsa_cert_algorithm(lab, agent, tmp_path, option, want):
    """An RSA certificate goes out under rsa-sha2-512 (or what
    PubkeyAcceptedAlgorithms allows), and the agent signs with that hash
    (sshd checks the signature's algorithm); the plain RSA key is skipped
    when the list leaves it out."""
    ca, a, _ = setup_keys(tmp_path, 'rsa')
    sshd = lab.sshd(config=[f'TrustedUserCAKeys {ca}.pub'], authorized=(), log_level='DEBUG2')
    ag = agent()
    ag.add(a)
    cfg = write_config(lab, sshd, [f'PubkeyAcceptedAlgorithms {option}'] if option else [])
    cp = ferry_tunnel(lab, cfg, sshd)
    algs = re.findall(r'userauth_pubkey: valid user \S+ attempting public key (\S+)',
                      sshd.log_text())
    assert algs[-1] == want, algs
    assert accepted(sshd.log_text()) == ['RSA-CERT'], fl.tail(sshd.log_text())
    if option:
        assert re.search(r'Skipping ssh-rsa key \S+ - corresponding algorithm not in '
                         r'PubkeyAcceptedAlgorithms', cp.stderr()), cp.stderr()
        assert algs == [want], algs


@pytest.mark.parametrize('alg', ['ed25519', 'rsa'])
def test_agent_cert_without_plain_key(lab, agent, tmp_path, alg):
    """The agent holds the certificate but not the plain key: the agent
    gets the certificate's blob to sign with (the plain one would be
    refused: "key not found")."""
    ca, a, _ = setup_keys(tmp_path, alg)
    sshd = lab.sshd(config=[f'TrustedUserCAKeys {ca}.pub'], authorized=())
    ag = agent()
    ag.add(a)
    ag.delete_key_only(f'{a}.pub')
    assert ag.types() == [CERT[alg]]
    cfg = write_config(lab, sshd, [])
    assert [ln.split()[1] for ln in reference(lab, cfg)] == [CERT[alg]]
    ferry_tunnel(lab, cfg, sshd)
    assert accepted(sshd.log_text()).count(CERT[alg]) == 3, fl.tail(sshd.log_text())


def test_agent_cert_ferryd(lab, agent, ferryd, tmp_path):
    """ferryd with TrustedUserCAKeys and no authorized key: the agent's
    certificate logs in, the plain key is refused first."""
    ca, a, _ = setup_keys(tmp_path)
    srv = ferryd(config=[f'TrustedUserCAKeys {ca}.pub'], authorized={USER: []})
    ag = agent()
    ag.add(a)
    cfg = write_config(lab, srv, [])
    cp = ferry_tunnel(lab, cfg, srv)
    assert [ln.split()[1] for ln in offers(cp)] == ['ED25519', 'ED25519-CERT'], cp.stderr()
    ms = srv.wait_log(r'^ferryd: Accepted publickey for .*$', 1, 10)
    assert ms and ' ED25519-CERT ' in ms[0].group(0), fl.tail(srv.log_text())
    assert 'ID ferry-agent-ed25519' in ms[0].group(0)


@pytest.mark.parametrize('plain_allowed', [True, False])
def test_expired_agent_cert(lab, agent, tmp_path, plain_allowed):
    """The agent lists an expired certificate before its key: sshd refuses
    the certificate ("expired") and takes the plain key when
    authorized_keys lists it; otherwise permission is denied."""
    ca, a, _ = setup_keys(tmp_path, validity='20200101:20200102')
    sshd = lab.sshd(config=[f'TrustedUserCAKeys {ca}.pub'], authorized=())
    if plain_allowed:
        sshd.authorized_keys.write_text(fl.read_pub(a) + '\n')
    ag = agent()
    ag.add(a)
    ag.delete_key_only(f'{a}.pub')
    ag.add_key_only(a)
    assert ag.types() == ['ED25519-CERT', 'ED25519']
    cfg = write_config(lab, sshd, [])
    got = reference(lab, cfg)
    assert [ln.split()[1] for ln in got] == ['ED25519-CERT', 'ED25519'], got
    assert 'Certificate invalid: expired' in sshd.log_text(), fl.tail(sshd.log_text())
    if plain_allowed:
        ferry_tunnel(lab, cfg, sshd)
        assert accepted(sshd.log_text()) == ['ED25519'] * 3, fl.tail(sshd.log_text())
    else:
        cp = run_client(lab, 'ferry', cfg)
        assert cp.proc.returncode == 255, cp.stderr()
        assert 'Permission denied (publickey)' in cp.stderr()
        assert accepted(sshd.log_text()) == []


@pytest.mark.parametrize('named', ['key', 'pub'])
def test_identities_only_certificate_file(lab, agent, tmp_path, named):
    """IdentitiesOnly with IdentityFile A (only its public half on disk:
    the private key is in the agent) and CertificateFile A's certificate
    kept elsewhere: the certificate goes first, signed by the agent; the
    agent's other key B is never offered."""
    ca, a, b = setup_keys(tmp_path)
    ag = agent()
    ag.add_key_only(a, b)
    away = tmp_path / 'away'
    away.mkdir()
    cert = (tmp_path / 'keys' / f'{a.name}-cert.pub').rename(away / 'a.cert')
    pub = tmp_path / 'pubonly' / a.name
    pub.parent.mkdir()
    (pub.parent / f'{a.name}.pub').write_text(fl.read_pub(a) + '\n')
    ident = pub if named == 'key' else f'{pub}.pub'
    sshd = lab.sshd(config=[f'TrustedUserCAKeys {ca}.pub'], authorized=())
    cfg = write_config(lab, sshd, ['IdentitiesOnly yes', f'IdentityFile {ident}',
                                   f'CertificateFile {cert}'])
    got = reference(lab, cfg)
    assert got and got[0].startswith(f'{cert} ED25519-CERT ') and got[0].endswith(' explicit'), got
    cp = ferry_tunnel(lab, cfg, sshd)
    assert len(offers(cp)) == 1, cp.stderr()
    assert accepted(sshd.log_text()) == ['ED25519-CERT'] * 3, fl.tail(sshd.log_text())
    assert 'b_ed25519' not in cp.stderr()


ORDER_CASES = {
    # config lines, agent load ('a': A and its certificate, 'b': B), the
    # offers as TYPE and flags
    'agent': ([], 'ab', ['ED25519 agent', 'ED25519-CERT agent', 'ED25519 agent']),
    'identityfile': (['IdentityFile {b}'], 'ab',
                     ['ED25519 explicit agent', 'ED25519 agent', 'ED25519-CERT agent']),
    'identitiesonly': (['IdentitiesOnly yes', 'IdentityFile {a}'], 'ab',
                       ['ED25519 explicit agent', 'ED25519-CERT explicit agent']),
    'certfile': (['IdentitiesOnly yes', 'IdentityFile {a}', 'CertificateFile {cert}'], 'ab',
                 ['ED25519-CERT explicit', 'ED25519 explicit agent']),
    'certfile-twice': (['IdentityFile {a}', 'CertificateFile {cert}'], 'ab',
                       ['ED25519-CERT explicit', 'ED25519 explicit agent',
                        'ED25519-CERT agent', 'ED25519 agent']),
    'accepted-algs': (['PubkeyAcceptedAlgorithms ssh-ed25519-cert-v01@openssh.com'], 'ab',
                      ['ED25519-CERT agent']),
    'rsa-size': (['RequiredRSASize 2048'], 'rab', ['ED25519 agent', 'ED25519-CERT agent',
                                                   'ED25519 agent']),
}


@pytest.mark.parametrize('case', list(ORDER_CASES))
def test_offer_order_like_ssh(lab, agent, tmp_path, case):
    """sshd refuses everything (the certificates name another principal),
    so every identity is offered: ferry's offers are ssh's."""
    lines, load, want = ORDER_CASES[case]
    ca, a, b = setup_keys(tmp_path, principal='somebody-else')
    cert = a.parent / f'{a.name}-cert.pub'
    ag = agent()
    if 'r' in load:
        r = al.keygen(tmp_path / 'keys' / 'r_rsa1024', 'rsa1024')
        al.certify(r, ca, principal='somebody-else')
        ag.add(r)
    ag.add(a)
    ag.add(b)
    sshd = lab.sshd(config=[f'TrustedUserCAKeys {ca}.pub'], authorized=())
    cfg = write_config(lab, sshd, [ln.format(a=a, b=b, cert=cert) for ln in lines])
    got = reference(lab, cfg)
    assert [re.sub(r'^\S+ (\S+) SHA256:\S+', r'\1', ln) for ln in got] == want, got
    assert accepted(sshd.log_text()) == []


def test_certificate_file_without_private_key(lab, agent, tmp_path):
    """A CertificateFile whose key neither an IdentityFile nor the agent
    holds is not offered, and ferry says why; the agent's other key is."""
    ca, a, b = setup_keys(tmp_path)
    ag = agent()
    ag.add_key_only(b)
    cert = a.parent / f'{a.name}-cert.pub'
    sshd = lab.sshd(config=[f'TrustedUserCAKeys {ca}.pub'], authorized=())
    cfg = write_config(lab, sshd, [f'CertificateFile {cert}'])
    cp = run_client(lab, 'ferry', cfg)
    assert cp.proc.returncode == 255, cp.stderr()
    assert (f'Certificate "{cert}": neither an IdentityFile nor the agent holds its '
            f'private key; not offered') in cp.stderr(), cp.stderr()
    assert [ln.split()[0] for ln in offers(cp)] == ['b_ed25519'], cp.stderr()
