"""ferryd reads sshd_config as real deployments write it (issue 12, first
increment), checked with real clients (OpenSSH ssh, Dropbear's dbclient)
against ferryd on 127.0.0.1 with a kernel-chosen port.

  algorithms  Ciphers, MACs, KexAlgorithms, HostKeyAlgorithms are enforced:
              a client offering its defaults negotiates the configured
              algorithm (ssh -v) and carries 1 MiB (SHA-256); one offering
              only others is refused and ferryd logs sshd's "Unable to
              negotiate with ADDR port PORT: no matching ... found. Their
              offer: ..."
  user keys   PubkeyAcceptedAlgorithms refuses a key of another type (logged)
  keys files  several AuthorizedKeysFile paths tried in order (%u, %h),
              "none" entries skipped, "none" alone lets nobody in
  -t / -T     change nothing on disk: a fresh StateDirectory stays absent,
              the host key that would be generated is reported
  keywords    every keyword of OpenSSH 9.2's sshd_config(5) is accepted
              (without effect, said once with -d) or refused with its reason
"""

import gzip
import re
import shutil
import subprocess
from pathlib import Path

import pytest

import ferrylab as fl
import remotelab as rl
import ferrydlab as fdl
from ferrydlab import ferryd  # noqa: F401 - fixture
from ferrylab import LOCALHOST, MiB, USER

NEGOTIATE_RE = (r'^ferryd: Unable to negotiate with 127\.0\.0\.1 port \d+: '
                r'no matching {what} found\. Their offer: {offer}')

# keyword -> (server config, host key, ssh -v line for the configured
# algorithm, ssh options offering only other algorithms, what, their offer)
ALGS = {
    'Ciphers': (['Ciphers aes256-ctr'], 'ed25519',
                r'kex: client->server cipher: aes256-ctr MAC: ',
                {'Ciphers': 'aes128-ctr,chacha20-poly1305@openssh.com'},
                'cipher', re.escape('aes128-ctr,chacha20-poly1305@openssh.com')),
    'MACs': (['Ciphers aes128-ctr', 'MACs hmac-sha2-512'], 'ed25519',
             r'kex: client->server cipher: aes128-ctr MAC: hmac-sha2-512 ',
             {'MACs': 'hmac-sha2-256-etm@openssh.com,hmac-sha2-256'},
             'MAC', re.escape('hmac-sha2-256-etm@openssh.com,hmac-sha2-256')),
    'KexAlgorithms': (['KexAlgorithms curve25519-sha256@libssh.org'], 'ed25519',
                      r'kex: algorithm: curve25519-sha256@libssh\.org\s',
                      {'KexAlgorithms': 'curve25519-sha256'},
                      'key exchange method', r'curve25519-sha256,'),
    'HostKeyAlgorithms': (['HostKeyAlgorithms rsa-sha2-256'], 'rsa',
                          r'kex: host key algorithm: rsa-sha2-256\s',
                          {'HostKeyAlgorithms': 'rsa-sha2-512'},
                          'host key type', r'rsa-sha2-512\s'),
}


def _transfer(t, n=MiB):
    count, digest = rl.echo_exchange(t.port, n, start=5)
    assert (count, digest) == (n, fl.pattern_sha256(n, 5)), 'data through the tunnel'


def _refused(lab, kind, srv, **kw):
    """A client that must fail before authentication; returns its stderr."""
    cp = fdl.start_client(lab, kind, srv, **kw)
    rc = cp.wait_exit(20)
    assert rc not in (None, 0), f'{kind} was not refused (exit {rc}):\n{cp.stderr()}'
    return cp.stderr()


@pytest.mark.parametrize('keyword', sorted(ALGS))
def test_algorithms_enforced_ssh(lab, ferryd, keyword):
    config, host_key, negotiated, other, what, offer = ALGS[keyword]
    srv = ferryd(config=config, host_key=host_key)
    echo = lab.echo()
    t = fdl.start_local(lab, 'ssh', srv, [echo.addr], extra=['-v'])
    _transfer(t)
    assert re.search(r'^debug1: ' + negotiated, t.proc.stderr(), re.M), \
        f'ssh -v does not show the configured algorithm:\n{t.proc.stderr()}'
    fdl.terminate(t.proc)

    err = _refused(lab, 'ssh', srv, options=other)
    assert f'no matching {what} found' in err, err
    rx = NEGOTIATE_RE.format(what=re.escape(what), offer=offer)
    assert srv.wait_log(rx, timeout=10), \
        f'ferryd did not log {rx!r}:\n{srv.log_text()}'


def test_ciphers_and_macs_dbclient(lab, ferryd):
    """dbclient: the allowed cipher connects and carries data, others
    (which ferryd implements, but the file leaves out) are refused."""
    srv = ferryd(config=['Ciphers aes256-ctr'])
    echo = lab.echo()
    t = fdl.start_local(lab, 'dbclient', srv, [echo.addr], extra=['-c', 'aes256-ctr'])
    _transfer(t)
    fdl.terminate(t.proc)
    _refused(lab, 'dbclient', srv, extra=['-c', 'aes128-ctr,chacha20-poly1305@openssh.com'])
    assert srv.wait_log(NEGOTIATE_RE.format(what='cipher', offer='aes128-ctr'), timeout=10), \
        srv.log_text()

    srv2 = ferryd(config=['MACs hmac-sha2-512'])
    _refused(lab, 'dbclient', srv2, extra=['-c', 'aes128-ctr', '-m', 'hmac-sha2-256'])
    assert srv2.wait_log(NEGOTIATE_RE.format(what='MAC', offer='hmac-sha2-256'),
                         timeout=10), srv2.log_text()


@pytest.mark.parametrize('kind', ['ssh', 'dbclient'])
def test_pubkey_accepted_algorithms(lab, ferryd, kind):
    """PubkeyAcceptedAlgorithms ssh-ed25519: the ECDSA key (authorized) is
    refused at authentication and the refusal logged (ssh; dbclient does
    not even ask); the RSA key is not
    even tried (server-sig-algs no longer lists rsa-sha2-*); the ed25519
    key logs in."""
    srv = ferryd(config=['PubkeyAcceptedAlgorithms ssh-ed25519'])
    _refused(lab, kind, srv, identity='ecdsa')
    # (dbclient, which reads server-sig-algs for every key, never asks)
    assert kind == 'dbclient' or srv.wait_log(r'refused publickey for \S+ from 127\.0\.0\.1 port \d+: '
                        r'ecdsa-sha2-nistp256 SHA256:\S+: signature algorithm '
                        r'ecdsa-sha2-nistp256 not in PubkeyAcceptedAlgorithms',
                        timeout=10), srv.log_text()
    _refused(lab, kind, srv, identity='rsa')
    assert not fdl.ACCEPTED_LINE_RE.search(srv.log_text()), srv.log_text()
    echo = lab.echo()
    t = fdl.start_local(lab, kind, srv, [echo.addr])
    _transfer(t, 64 * 1024)


def test_authorized_keys_files_in_order(lab, ferryd):
    """AuthorizedKeysFile none FIRST/%u %h/second/%u: "none" is skipped, the
    first file (missing the key) is tried, then the second (%h is
    StateDirectory) lets the key in."""
    state = lab.dir / 'akstate'
    first = lab.dir / 'first'
    first.mkdir()
    (state / 'second').mkdir(parents=True)
    (first / USER).write_text(lab.keys.user_pub('ecdsa') + '\n')
    (state / 'second' / USER).write_text(lab.keys.user_pub('ed25519') + '\n')
    srv = ferryd(state_dir=state,
                 config=[f'AuthorizedKeysFile none {first}/%u %h/second/%u'])
    echo = lab.echo()
    t = fdl.start_local(lab, 'ssh', srv, [echo.addr])
    _transfer(t, 64 * 1024)
    m = fdl.ACCEPTED_RE.search(srv.log_text())
    assert m and m[6] == str(state / 'second' / USER), srv.log_text()
    fdl.terminate(t.proc)
    # the key of the first file works too
    t = fdl.start_local(lab, 'ssh', srv, [echo.addr], identity='ecdsa')
    _transfer(t, 1024)


def test_authorized_keys_none(lab, ferryd):
    """AuthorizedKeysFile none: no file, nobody logs in (the old code read
    StateDirectory/none)."""
    state = lab.dir / 'nonestate'
    state.mkdir()
    (state / 'none').write_text(lab.keys.user_pub('ed25519') + '\n')
    srv = ferryd(state_dir=state, config=['AuthorizedKeysFile none'])
    err = _refused(lab, 'ssh', srv)
    assert 'Permission denied (publickey)' in err, err
    assert not fdl.ACCEPTED_LINE_RE.search(srv.log_text()), srv.log_text()


@pytest.mark.parametrize('flag', ['-t', '-T'])
def test_check_changes_nothing(lab, flag):
    """-t and -T on a fresh StateDirectory: it stays absent, no key is
    written, and the key that would be generated is reported."""
    state = lab.dir / 'fresh-state'
    r = fdl.run_ferryd([flag, '-f', '/dev/null', '-o', f'StateDirectory {state}',
                        '-o', 'Port 0'])
    assert r.returncode == 0, r.stderr
    assert not state.exists(), f'ferryd {flag} created {state}'
    assert f'would generate {state}/ssh_host_ed25519_key' in r.stderr, r.stderr
    if flag == '-T':
        assert f'statedirectory {state}' in r.stdout.splitlines()


def test_print_algorithm_lists(lab):
    cfg = lab.dir / 'algs_config'
    cfg.write_text(f'HostKey {lab.keys.host["ed25519"]}\n'
                   'Ciphers -chacha*\nMACs ^hmac-sha2-512\n'
                   'KexAlgorithms curve25519-sha256\nHostKeyAlgorithms ssh-ed25519,rsa*\n'
                   'PubkeyAcceptedAlgorithms ssh-ed25519\n')
    r = fdl.run_ferryd(['-T', '-f', cfg])
    assert r.returncode == 0, r.stderr
    lines = set(r.stdout.splitlines())
    for want in ['ciphers aes128-ctr,aes256-ctr,aes128-gcm@openssh.com,aes256-gcm@openssh.com',
                 'macs hmac-sha2-512,hmac-sha2-256-etm@openssh.com,'
                 'hmac-sha2-512-etm@openssh.com,hmac-sha2-256',
                 'kexalgorithms curve25519-sha256',
                 # a pattern expands in sshd's order (sshd -T)
                 'hostkeyalgorithms ssh-ed25519,rsa-sha2-256,rsa-sha2-256-cert-v01@openssh.com,'
                 'rsa-sha2-512,rsa-sha2-512-cert-v01@openssh.com',
                 'pubkeyacceptedalgorithms ssh-ed25519']:
        assert want in lines, f'{want!r} not in:\n{r.stdout}'
    bad = lab.dir / 'bad_algs'
    bad.write_text(f'HostKey {lab.keys.host["ed25519"]}\n\nCiphers aes128-ctr,aes-ctr\n')
    r = fdl.run_ferryd(['-t', '-f', bad])
    assert r.returncode == 1
    assert f"{bad} line 3: Ciphers: 'aes-ctr' is no cipher OpenSSH knows" in r.stderr, r.stderr
    # a host key no allowed algorithm can use is an error, not a silent refusal
    r = fdl.run_ferryd(['-t', '-f', cfg, '-o', 'HostKeyAlgorithms rsa-sha2-256'])
    assert r.returncode == 1 and 'allows no algorithm of the host keys' in r.stderr, r.stderr


# ---------------------------------------------------------------- every keyword

# Refused while ferryd cannot honour them (a config relying on them must not
# run with less protection); "none" (sshd's default) is fine where allowed.
REFUSED = {
    'AllowGroups': 'wheel', 'DenyGroups': 'nogroup',
    'ChrootDirectory': '/srv/%u', 'HostKeyAgent': '/run/agent.sock',
    'AddressFamily': 'inet',
    'AuthenticationMethods': 'publickey,keyboard-interactive',
}
NONE_OK = {'ChrootDirectory', 'HostKeyAgent'}
# an accepted value for keywords whose values are checked
VALUES = {
    'AddressFamily': 'any', 'AllowStreamLocalForwarding': 'yes', 'AllowTcpForwarding': 'yes',
    'AuthenticationMethods': 'publickey', 'AuthorizedKeysFile': '.ssh/authorized_keys',
    'CASignatureAlgorithms': 'ssh-ed25519', 'Ciphers': 'aes128-ctr', 'ClientAliveCountMax': '3',
    'ClientAliveInterval': '0', 'GatewayPorts': 'no', 'HostKeyAlgorithms': 'ssh-ed25519',
    'KexAlgorithms': 'curve25519-sha256', 'ListenAddress': '127.0.0.1', 'LogLevel': 'INFO',
    'LoginGraceTime': '2m', 'MACs': 'hmac-sha2-256', 'MaxAuthTries': '6', 'MaxSessions': '10',
    'MaxStartups': '10:30:100', 'PermitListen': 'any', 'PermitOpen': 'any',
    'PidFile': '/run/x.pid', 'Port': '0', 'PubkeyAcceptedAlgorithms': 'ssh-ed25519',
    'RequiredRSASize': '1024', 'StreamLocalBindMask': '0177', 'StreamLocalBindUnlink': 'no',
    'Subsystem': 'sftp /usr/lib/openssh/sftp-server', 'AcceptEnv': 'LANG LC_*',
    'SetEnv': 'A=1', 'ForceCommand': '/bin/false', 'IPQoS': 'lowdelay throughput',
    'RekeyLimit': '1G 1h', 'ChannelTimeout': 'session=5m', 'LogVerbose': 'kex.c:*',
    'VersionAddendum': 'none', 'PermitRootLogin': 'prohibit-password',
    'DisableForwarding': 'no', 'AllowUsers': 'alice ops-*@10.0.0.0/8',
    'DenyUsers': 'mallory', 'SyslogFacility': 'AUTHPRIV', 'Banner': 'none',
    'Include': '/nonexistent/sshd_config.d/*.conf',
    'PerSourceMaxStartups': '10', 'PerSourceNetBlockSize': '24:56',
    'UnusedConnectionTimeout': '2m', 'Match': 'User alice',
    # (test_ferryd_akc.py, test_ferryd_apc.py and test_ferryd_revoked.py
    # run them)
    'AuthorizedKeysCommand': 'none', 'AuthorizedKeysCommandUser': 'nobody',
    'AuthorizedPrincipalsCommand': 'none', 'AuthorizedPrincipalsCommandUser': 'nobody',
    'RevokedKeys': '/etc/ssh/revoked_keys',
    'TrustedUserCAKeys': '/etc/ssh/ca.pub',
    'AuthorizedPrincipalsFile': '/etc/ssh/principals/%u',
}
# OpenSSH 9.2 sshd_config(5) (Debian's, with its own DebianBanner and GSSAPI
# key exchange); compared with the installed page when there is one
SSHD_92_KEYWORDS = """
AcceptEnv AddressFamily AllowAgentForwarding AllowGroups AllowStreamLocalForwarding
AllowTcpForwarding AllowUsers AuthenticationMethods AuthorizedKeysCommand
AuthorizedKeysCommandUser AuthorizedKeysFile AuthorizedPrincipalsCommand
AuthorizedPrincipalsCommandUser AuthorizedPrincipalsFile Banner CASignatureAlgorithms
ChannelTimeout ChrootDirectory Ciphers ClientAliveCountMax ClientAliveInterval Compression
DebianBanner DenyGroups DenyUsers DisableForwarding ExposeAuthInfo FingerprintHash
ForceCommand GSSAPIAuthentication GSSAPICleanupCredentials GSSAPIKexAlgorithms
GSSAPIKeyExchange GSSAPIStoreCredentialsOnRekey GSSAPIStrictAcceptorCheck GatewayPorts
HostCertificate HostKey HostKeyAgent HostKeyAlgorithms HostbasedAcceptedAlgorithms
HostbasedAuthentication HostbasedUsesNameFromPacketOnly IPQoS IgnoreRhosts
IgnoreUserKnownHosts Include KbdInteractiveAuthentication KerberosAuthentication
KerberosGetAFSToken KerberosOrLocalPasswd KerberosTicketCleanup KexAlgorithms ListenAddress
LogLevel LogVerbose LoginGraceTime MACs Match MaxAuthTries MaxSessions MaxStartups
ModuliFile PasswordAuthentication PerSourceMaxStartups PerSourceNetBlockSize
PermitEmptyPasswords PermitListen PermitOpen PermitRootLogin PermitTTY PermitTunnel
PermitUserEnvironment PermitUserRC PidFile Port PrintLastLog PrintMotd
PubkeyAcceptedAlgorithms PubkeyAuthOptions PubkeyAuthentication RekeyLimit RequiredRSASize
RevokedKeys SecurityKeyProvider SetEnv StreamLocalBindMask StreamLocalBindUnlink StrictModes
Subsystem SyslogFacility TCPKeepAlive TrustedUserCAKeys UnusedConnectionTimeout UseDNS UsePAM
VersionAddendum X11DisplayOffset X11Forwarding X11UseLocalhost XAuthLocation
""".split()
SSHD_CONFIG_MAN = Path('/usr/share/man/man5/sshd_config.5.gz')


def test_keyword_list_matches_installed_page():
    if not SSHD_CONFIG_MAN.exists():
        pytest.skip('no sshd_config(5) installed to compare with')
    text = gzip.decompress(SSHD_CONFIG_MAN.read_bytes()).decode(errors='replace')
    page = set(re.findall(r'^\.It Cm ([A-Z]\w+)\s*$', text, re.M))
    assert page <= set(SSHD_92_KEYWORDS), sorted(page - set(SSHD_92_KEYWORDS))


def _check(lab, name, line, extra=()):
    p = lab.dir / name
    p.write_text(f'HostKey {lab.keys.host["ed25519"]}\n{line}\n')
    return fdl.run_ferryd(['-t', '-f', p] + list(extra)), p


def _host_cert(lab):
    """A certificate of the ed25519 host key (test_ferryd_hostcert.py
    checks the keyword itself)."""
    d = lab.dir / 'hostcert'
    d.mkdir(exist_ok=True)
    subprocess.run([fl.SSH_KEYGEN, '-q', '-t', 'ed25519', '-N', '', '-f', str(d / 'ca')],
                   check=True, capture_output=True, timeout=60)
    shutil.copy(str(lab.keys.host['ed25519']) + '.pub', d / 'host.pub')
    subprocess.run([fl.SSH_KEYGEN, '-q', '-s', str(d / 'ca'), '-I', 'h', '-h', '-n', 'x',
                    str(d / 'host.pub')], check=True, capture_output=True, timeout=30)
    return d / 'host-cert.pub'


def test_every_sshd_keyword_known(lab):
    """Each keyword of sshd_config(5) with a typical value: accepted by
    `ferryd -t`, or (REFUSED) an error naming file, line and keyword with
    the reason; never "Bad configuration option"."""
    wrong = []
    for kw in SSHD_92_KEYWORDS:
        if kw in REFUSED:
            r, p = _check(lab, f'kw_{kw}', f'{kw} {REFUSED[kw]}')
            if r.returncode != 1 or f'{p} line 2: ' not in r.stderr or \
                    kw not in r.stderr or 'not supported' not in r.stderr:
                wrong.append(f'{kw}: expected a refusal with its reason: {r.stderr.strip()}')
            if kw in NONE_OK:
                r, p = _check(lab, f'kw_{kw}_none', f'{kw} none')
                if r.returncode != 0:
                    wrong.append(f'{kw} none: {r.stderr.strip()}')
            continue
        value = lab.keys.host['ed25519'] if kw == 'HostKey' else VALUES.get(kw, 'yes')
        if kw == 'HostCertificate':
            value = _host_cert(lab)
        r, p = _check(lab, f'kw_{kw}', f'{kw} {value}')
        if r.returncode != 0:
            wrong.append(f'{kw}: {r.stderr.strip()}')
    assert not wrong, '\n'.join(wrong)


def test_no_effect_said_once_with_d(lab):
    r, p = _check(lab, 'noeffect', 'PasswordAuthentication no\nX11Forwarding yes\n'
                  'passwordauthentication yes\nUsePAM yes', extra=['-d'])
    assert r.returncode == 0, r.stderr
    for kw in ('PasswordAuthentication', 'X11Forwarding', 'UsePAM'):
        assert r.stderr.count(f'{kw} has no effect in ferryd') == 1, r.stderr
    r, p = _check(lab, 'noeffect_quiet', 'PasswordAuthentication no')
    assert 'has no effect' not in r.stderr, r.stderr


def test_include(lab):
    """Include: globs read in order where the line stands (so the first
    value still wins across files), nested files, a pattern matching
    nothing, and a loop stopped with file and line."""
    d = lab.dir / 'conf.d'
    d.mkdir()
    (d / '20-fwd.conf').write_text('AllowTcpForwarding local\nGatewayPorts yes\n')
    (d / '10-gw.conf').write_text(f'GatewayPorts clientspecified\nInclude {d}/nested/*\n')
    (d / 'nested').mkdir()
    (d / 'nested' / 'n.conf').write_text('ClientAliveInterval 7\n')
    main = lab.dir / 'main.conf'
    main.write_text(f'HostKey {lab.keys.host["ed25519"]}\nInclude {d}/*.conf '
                    f'{lab.dir}/absent/*.conf\nGatewayPorts no\nClientAliveInterval 9\n')
    r = fdl.run_ferryd(['-T', '-f', main])
    assert r.returncode == 0, r.stderr
    out = r.stdout.splitlines()
    for want in ('gatewayports clientspecified', 'allowtcpforwarding local',
                 'clientaliveinterval 7'):
        assert want in out, (want, r.stdout)
    loop = lab.dir / 'loop.conf'
    loop.write_text(f'Include {loop}\n')
    r = fdl.run_ferryd(['-t', '-f', loop])
    assert r.returncode == 1 and f'{loop} line 1: Include: too many recursive' in r.stderr, \
        r.stderr
    bad = d / 'nested' / 'n.conf'
    bad.write_text('ClientAliveInterval 7\nNoSuchKeyword 1\n')
    r = fdl.run_ferryd(['-t', '-f', main])
    assert r.returncode == 1 and f'{bad} line 2: Bad configuration option: NoSuchKeyword' \
        in r.stderr, r.stderr
