"""ferryd's sshd_config Match blocks with real clients (OpenSSH ssh and
ferry), and ferryd -T -C against OpenSSH's sshd -T -C.

  User       Match User alice: AllowTcpForwarding no for alice while the
             other user's -L carries a payload checked by SHA-256
  Address    Match Address 127.0.0.2: another PermitOpen for a client bound
             to 127.0.0.2 (ssh -b, ferry -b); also its Banner
  LocalPort  two Port lines; Match LocalPort (the second): PermitListen none
  -T -C      what a connection would get, for several connections, equal to
             sshd -T -C's lines for the keywords both have
  errors     Match Group, a keyword not allowed in a block, bad criteria:
             each named with file and line
"""

import re
import socket
import subprocess
import time
from pathlib import Path

import pytest

import ferrydlab as fdl
from ferrydlab import ferryd  # noqa: F401 - fixture
import ferrylab as fl
from ferrylab import LOCALHOST, USER

SSHD = '/usr/sbin/sshd'
OTHER_ADDR = '127.0.0.2'
KINDS = ['ssh', 'ferry']
PAYLOAD = 256 * 1024


def _local(lab, kind, srv, targets, user=USER, source=None):
    """A -L client as `user` (from `source`) with one tunnel per target:
    (client, [local ports])."""
    extra = ['-b', source] if source else []
    if kind == 'ferry':
        specs = [f'{LOCALHOST}:0:{h}:{p}' for h, p in targets]
        cp = fdl.start_client(lab, kind, srv, user=user, local=specs, extra=extra)
        ms = cp.wait_for(fl.ALLOCATED_RE, count=len(targets), timeout=fl.READY_TIMEOUT)
        assert ms, f'ferry -L did not come up:\n{cp.stderr()}\n{fl.tail(srv.log_text())}'
        by_target = {int(m.group(3)): int(m.group(1)) for m in ms}
        return cp, [by_target[p] for _, p in targets]

    def start(ports):
        specs = [f'{LOCALHOST}:{lp}:{h}:{p}' for lp, (h, p) in zip(ports, targets)]
        return fdl.start_client(lab, kind, srv, user=user, local=specs, extra=extra)

    return fl.start_listening(start, len(targets), what=f'{kind} -L', server=srv,
                              log_label='ferryd log')


def _blocks(lab, lines):
    """An Include line for a file holding the Match blocks `lines`: the
    lab appends global lines after the caller's, and a block ends with its
    file (sshd's rule), so they stay global."""
    path = lab.dir / f'match{len(list(lab.dir.glob("match*.conf")))}.conf'
    path.write_text(''.join(ln + '\n' for ln in lines))
    return f'Include {path}'


def _sha_through(port):
    """PAYLOAD pattern bytes echoed through a -L port: (count, sha256)."""
    s = socket.create_connection((LOCALHOST, port), timeout=10)
    try:
        return fl.exchange(s, PAYLOAD, deadline=fl.Deadline(60, 'match echo'))
    finally:
        s.close()


def _refused(srv, user, ip, text, timeout=10):
    return srv.wait_log(re.compile(rf'^ferryd: refused for {re.escape(user)} from '
                                   rf'{re.escape(ip)} port \d+: .*{re.escape(text)}.*$',
                                   re.M), 1, timeout)


@pytest.mark.parametrize('kind', KINDS)
def test_match_user_forwarding(lab, ferryd, kind):
    """Match User alice / AllowTcpForwarding no: alice's -L is refused with
    the rule named; USER's carries the payload intact."""
    key = lab.keys.user_pub('ed25519')
    srv = ferryd(config=['AllowTcpForwarding yes',
                         _blocks(lab, ['Match User alice', '  AllowTcpForwarding no'])],
                 authorized={USER: [key], 'alice': [key]})
    echo = lab.echo()
    cp, [port] = _local(lab, kind, srv, [echo.addr])
    assert _sha_through(port) == (PAYLOAD, fl.pattern_sha256(PAYLOAD))
    fdl.terminate(cp)
    cp, [port] = _local(lab, kind, srv, [echo.addr], user='alice')
    assert fdl.try_echo(port, b'A') == b'', 'alice forwarded despite her Match block'
    assert _refused(srv, 'alice', LOCALHOST, f'connection to 127.0.0.1 port {echo.port}: '
                    'AllowTcpForwarding no forbids local (-L) forwarding'), \
        fl.tail(srv.log_text())
    assert cp.alive()
    assert srv.count(r'^ferryd: refused for ') == 1, srv.refusals()
    # the log names the block that applied
    assert srv.wait_log(r'^debug1: Match for alice from 127\.0\.0\.1 port \d+: '
                        r'\S+/match0\.conf line 1$', 1, 5), fl.tail(srv.log_text())
    assert not re.search(rf'Match for {re.escape(USER)} ', srv.log_text())


@pytest.mark.parametrize('kind', KINDS)
def test_match_user_authorized_keys(lab, ferryd, kind):
    """Match User alice / AuthorizedKeysFile elsewhere: alice's key is
    looked up there (the block applies before the account check), while
    another user's file stays the global one."""
    key = lab.keys.user_pub('ed25519')
    other = lab.dir / 'other_keys'
    other.mkdir()
    (other / 'alice').write_text(key + '\n')
    srv = ferryd(config=[_blocks(lab, ['Match User alice',
                                       f'  AuthorizedKeysFile {other}/%u'])],
                 authorized={USER: [key]})
    echo = lab.echo()
    cp, [port] = _local(lab, kind, srv, [echo.addr], user='alice')
    assert srv.wait_log(r'^ferryd: Accepted publickey for alice from ', 1, 10), \
        fl.tail(srv.log_text())
    assert _sha_through(port) == (PAYLOAD, fl.pattern_sha256(PAYLOAD))
    fdl.terminate(cp)
    cp, [port] = _local(lab, kind, srv, [echo.addr])
    assert _sha_through(port) == (PAYLOAD, fl.pattern_sha256(PAYLOAD))
    assert f'{other}/alice' in srv.log_text()


def test_match_user_max_auth_tries(lab, ferryd):
    """Match User alice / MaxAuthTries 1: alice's one wrong key ends her
    connection with sshd's "maximum authentication attempts exceeded"
    (the engine takes the block's limit once the user is named); another
    user's wrong key is only refused (MaxAuthTries 6)."""
    wrong = lab.keys.user_pub('ecdsa')
    srv = ferryd(config=[_blocks(lab, ['Match User alice', '  MaxAuthTries 1'])],
                 authorized={USER: [wrong], 'alice': [wrong]})
    for user in ('alice', USER):
        cp = fdl.start_client(lab, 'ssh', srv, user=user,
                              local=[f'{LOCALHOST}:{fl.pick_free_port()}:{LOCALHOST}:9'])
        assert cp.wait_exit(20) == 255, cp.stderr()
    assert srv.wait_log(r'^ferryd: maximum authentication attempts exceeded for alice from ',
                        1, 10), fl.tail(srv.log_text())
    time.sleep(0.2)
    assert srv.count(r'maximum authentication attempts exceeded for ') == 1, \
        fl.tail(srv.log_text())


@pytest.mark.parametrize('kind', KINDS)
def test_match_address_permit_open(lab, ferryd, kind):
    """PermitOpen allows the first echo server; Match Address 127.0.0.2
    allows only the second. A client from 127.0.0.1 reaches the first, one
    bound to 127.0.0.2 the second; each is refused the other."""
    one, two = lab.echo(), lab.echo()
    srv = ferryd(config=[f'PermitOpen 127.0.0.1:{one.port}',
                         _blocks(lab, [f'Match Address {OTHER_ADDR},10.0.0.0/8',
                                       f'  PermitOpen 127.0.0.1:{two.port}'])])
    cp, ports = _local(lab, kind, srv, [one.addr, two.addr])
    assert _sha_through(ports[0]) == (PAYLOAD, fl.pattern_sha256(PAYLOAD))
    assert fdl.try_echo(ports[1], b'x') == b''
    assert _refused(srv, USER, LOCALHOST, f'port {two.port}: not allowed by PermitOpen'), \
        fl.tail(srv.log_text())
    fdl.terminate(cp)
    cp, ports = _local(lab, kind, srv, [one.addr, two.addr], source=OTHER_ADDR)
    assert _sha_through(ports[1]) == (PAYLOAD, fl.pattern_sha256(PAYLOAD))
    assert fdl.try_echo(ports[0], b'x') == b''
    assert _refused(srv, USER, OTHER_ADDR, f'port {one.port}: not allowed by PermitOpen'), \
        fl.tail(srv.log_text())
    assert two.accepted == 1 and one.accepted == 1, (one.accepted, two.accepted)


def test_match_address_banner(lab, ferryd):
    """A Banner in Match Address 127.0.0.2 goes only to clients from
    there (the block is decided at accept, before the banner is sent)."""
    banner = lab.dir / 'banner.txt'
    banner.write_text('Match banner for 127.0.0.2.\n')
    srv = ferryd(config=[_blocks(lab, [f'Match Address {OTHER_ADDR}', f'  Banner {banner}'])])
    echo = lab.echo()
    plain, _ = _local(lab, 'ssh', srv, [echo.addr])
    other, _ = _local(lab, 'ssh', srv, [echo.addr], source=OTHER_ADDR)
    d = fl.Deadline(10)
    while 'Match banner' not in other.stderr() and not d.expired():
        time.sleep(0.05)
    assert 'Match banner for 127.0.0.2.' in other.stderr(), other.stderr()
    assert 'Match banner' not in plain.stderr(), plain.stderr()


def test_match_local_port(lab, ferryd):
    """Two Port lines; Match LocalPort (the second) / PermitListen none:
    -R through the first port works, through the second it is refused."""
    echo = lab.echo()
    for _ in range(5):
        p1, p2 = fl.pick_free_port(), fl.pick_free_port()
        if p1 == p2:
            continue
        try:
            blocks = _blocks(lab, [f'Match LocalPort {p2}', '  PermitListen none'])
            srv = ferryd(config=[f'Port {p1}', f'Port {p2}', blocks], expect_listeners=2)
            break
        except AssertionError:
            continue                          # a port was taken meanwhile
    srv.port = p1                             # the clients connect to srv.port
    t = fdl.start_remote(lab, 'ssh', srv, [echo.addr])
    assert fl.echo_roundtrip(t.port, b'R') == b'R'
    fdl.terminate(t.proc)
    srv.port = p2
    cp = fdl.start_client(lab, 'ssh', srv, remote=[f'{LOCALHOST}:0:{LOCALHOST}:{echo.port}'])
    assert cp.wait_exit(15) == 255, cp.stderr()
    assert 'remote port forwarding failed' in cp.stderr(), cp.stderr()
    assert _refused(srv, USER, LOCALHOST, 'remote forward "127.0.0.1":0: not allowed by '
                    'PermitListen'), fl.tail(srv.log_text())


# ---------------------------------------------------------------- -T -C

# keywords ferryd and sshd -T both print the same way
COMPARED = ['allowtcpforwarding', 'allowstreamlocalforwarding', 'gatewayports', 'permitopen',
            'permitlisten', 'clientaliveinterval', 'clientalivecountmax', 'maxauthtries',
            'maxsessions', 'authorizedkeysfile', 'streamlocalbindunlink', 'banner',
            'unusedconnectiontimeout', 'channeltimeout', 'pubkeyacceptedalgorithms']

SPECS = [
    'user=alice,addr=127.0.0.2,laddr=127.0.0.1,lport=2222,host=example.org',
    'user=bob,addr=10.1.1.1,laddr=127.0.0.1,lport=2222,host=10.1.1.1',
    'user=bob,addr=10.1.1.1,laddr=127.0.0.1,lport=22,host=10.1.1.1',
    'user=carol,addr=192.168.1.9,laddr=10.0.0.1,lport=22,host=gw.example.org',
    'user=alice,addr=10.9.0.1,laddr=10.0.0.1,lport=2222,host=x',
]


def _match_config(lab, path, banner):
    path.write_text(f"""HostKey {lab.keys.host['ed25519']}
AuthorizedKeysFile .ssh/authorized_keys
AllowTcpForwarding yes
PermitOpen 127.0.0.1:1
Match User alice,!mallory
  AllowTcpForwarding no
  PermitOpen 127.0.0.1:80 [::1]:22
  AuthorizedKeysFile /k/%u .ssh/other
  ChannelTimeout direct-tcpip=5m session=1h
  UnusedConnectionTimeout 10m
  ClientAliveInterval 1m
Match Address 127.0.0.2,10.0.0.0/8,!10.9.0.0/16 LocalPort 2222
  GatewayPorts clientspecified
  AllowTcpForwarding local
  AllowStreamLocalForwarding remote
  ClientAliveCountMax 7
  MaxSessions 3
  StreamLocalBindUnlink yes
  PermitListen 8080 127.0.0.1:9000
  Banner {banner}
Match Host *.example.org LocalAddress 10.0.0.0/24
  MaxAuthTries 2
  PermitListen none
Match All
  PubkeyAcceptedAlgorithms ssh-ed25519
""")


def _lines(text):
    return sorted(ln for ln in text.splitlines() if ln.split(' ', 1)[0] in COMPARED)


@pytest.mark.parametrize('spec', SPECS)
def test_print_conn_matches_sshd(lab, spec):
    """ferryd -T -C prints, for the keywords both have, what sshd -T -C
    prints for the same file and connection."""
    if not Path(SSHD).exists():
        pytest.fail(f'{SSHD} is missing: the test needs OpenSSH sshd')
    banner = lab.dir / 'banner.txt'
    banner.write_text('hello\n')
    cfg = lab.dir / 'match.conf'
    _match_config(lab, cfg, banner)
    ours = fdl.run_ferryd(['-T', '-f', cfg, '-C', spec])
    assert ours.returncode == 0, ours.stderr
    theirs = subprocess.run([SSHD, '-T', '-f', str(cfg), '-h', str(lab.keys.host['ed25519']),
                             '-C', spec], capture_output=True, text=True, timeout=20,
                            stdin=subprocess.DEVNULL)
    assert theirs.returncode == 0, theirs.stderr
    want = _lines(theirs.stdout)
    assert len(want) >= len(COMPARED) - 1, want
    assert _lines(ours.stdout) == want


def test_print_without_conn(lab, tmp_path):
    """-T without -C: the global values and Match All's (no criterion on a
    connection matches), and nothing is written (no host key generated)."""
    cfg = tmp_path / 'match.conf'
    state = tmp_path / 'state'
    cfg.write_text(f'StateDirectory {state}\nGatewayPorts no\nMatch User alice\n'
                   '  GatewayPorts yes\nMatch All\n  ClientAliveCountMax 9\n')
    r = fdl.run_ferryd(['-T', '-f', cfg])
    assert r.returncode == 0, r.stderr
    assert '\ngatewayports no\n' in r.stdout and '\nclientalivecountmax 9\n' in r.stdout
    r = fdl.run_ferryd(['-T', '-f', cfg, '-C', 'user=alice'])
    assert r.returncode == 0, r.stderr
    assert '\ngatewayports yes\n' in r.stdout, r.stdout
    assert not state.exists(), 'ferryd -T wrote to its state directory'


@pytest.mark.parametrize('args,msg', [
    (['-C', 'user=alice'], '-C is used with -T'),
    (['-T', '-C', 'user=alice,colour=blue'], "-C: invalid test mode specification 'colour'"),
    (['-T', '-C', 'lport=http'], "-C: invalid lport 'http'"),
])
def test_conn_spec_errors(lab, tmp_path, args, msg):
    cfg = tmp_path / 'c.conf'
    cfg.write_text(f"HostKey {lab.keys.host['ed25519']}\n")
    r = fdl.run_ferryd(['-f', cfg] + args)
    assert r.returncode == 1 and msg in r.stderr, r.stderr


# ---------------------------------------------------------------- errors

ERRORS = [
    ('Match Group wheel\n', 1, 'Match Group: ferryd has no system accounts'),
    ('Match User bob\n  AllowTcpForwarding no\n  MaxStartups 3\n', 3,
     "Directive 'MaxStartups' is not allowed within a Match block"),
    ('Match Colour blue\n', 1, "Match: unsupported attribute 'Colour'"),
    ('Match Address 10.0.0.1/8\n', 1, "Match Address: invalid address list '10.0.0.1/8'"),
    ('Match User\n', 1, 'Match: missing criteria for User'),
    ('Match LocalPort 0\n', 1, "Match LocalPort: invalid port '0'"),
    ('Match User bob\n  ForceCommand /bin/true\n', 2,
     'ForceCommand within a Match block is not supported: ferryd runs no commands'),
    ('Match All\n  GatewayPorts sometimes\n', 2, "GatewayPorts: bad value 'sometimes'"),
]


@pytest.mark.parametrize('text,line,msg', ERRORS, ids=[e[2].split(':')[0] for e in ERRORS])
def test_match_errors(lab, tmp_path, text, line, msg):
    """ferryd -t refuses the file, naming it, the line and the reason."""
    cfg = tmp_path / 'bad.conf'
    cfg.write_text(f"HostKey {lab.keys.host['ed25519']}\n{text}")
    r = fdl.run_ferryd(['-t', '-f', cfg])
    assert r.returncode == 1, r.stderr
    assert f'{cfg} line {line + 1}: {msg}' in r.stderr, r.stderr
