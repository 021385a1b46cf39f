"""ferryd's forwarding policy, key options and pre-authentication defences.

  GatewayPorts   every mode x requested bind address, port 0: ferryd must
                 listen where OpenSSH's channel_fwd_bind_addr() would
                 (checked in /proc/net/tcp{,6} and against ferryd's own
                 sockets); a listener failing in one family fails the request
  rules          AllowTcpForwarding x PermitOpen (-L) and x PermitListen
                 (-R): allowed cases carry a 1-byte echo, refused ones are
                 refused and the log names the rule
  keys           restrict, port-forwarding, no-port-forwarding, permitopen=,
                 permitlisten=, from=, unknown options
  pre-auth       cleartext connection-protocol messages before KEX end the
                 connection; stalled connections neither block a login nor
                 outlive LoginGraceTime; MaxStartups drops past `full`

Clients: OpenSSH ssh (and dbclient where only it can send a request: a
literal "*" bind address). Everything on 127.0.0.1 / ::1.
"""

import re
import socket
import time

import pytest

import ferrylab as fl
import remotelab as rl
import ferrydlab as fdl
from ferrydlab import ferryd  # noqa: F401 - fixture
from ferrylab import LOCALHOST, USER

IPV6 = fdl.IPV6
LOOPBACK = {'127.0.0.1'} | ({'::1'} if IPV6 else set())
WILDCARD = {'0.0.0.0'} | ({'::'} if IPV6 else set())
FORWARDING_RE = re.compile(
    r'^ferryd: (\S+): Forwarding (.+) port (\d+) to the client \(asked "(.*)":(\d+); (.*)\)$',
    re.M)


def refusal(srv, text, timeout=5):
    """The first 'refused for USER from 127.0.0.1 port P: ...' line whose
    reason contains `text` (waited for), or None."""
    ms = srv.wait_log(re.compile(rf'^ferryd: refused for {re.escape(USER)} from 127\.0\.0\.1 '
                                 rf'port \d+: .*{re.escape(text)}.*$', re.M), 1, timeout)
    return ms[0].group(0) if ms else None


# ---------------------------------------------------------------- GatewayPorts

# requested bind address -> (client, -R bind field that makes it send exactly that)
REQUESTS = {
    '': ('ssh', '*'),              # ssh sends "" for "*" (and for an empty field)
    '*': ('dbclient', '*'),        # dbclient sends "*" literally
    '0.0.0.0': ('ssh', '0.0.0.0'),
    'localhost': ('ssh', 'localhost'),
    '127.0.0.1': ('ssh', '127.0.0.1'),
    '::1': ('ssh', '::1'),
}


def expected_binds(mode, req):
    """OpenSSH channel_fwd_bind_addr() on the server side."""
    if mode == 'yes':
        return WILDCARD
    if mode == 'no':
        return {req} if req in ('127.0.0.1', '::1') else LOOPBACK
    if req in ('', '*'):
        return WILDCARD
    if req == 'localhost':
        return LOOPBACK
    return {req}


@pytest.mark.parametrize('req', list(REQUESTS), ids=['empty', 'star', '0.0.0.0', 'localhost',
                                                    '127.0.0.1', '::1'])
@pytest.mark.parametrize('mode', ['no', 'yes', 'clientspecified'])
def test_gateway_ports(lab, ferryd, mode, req):
    client, bind = REQUESTS[req]
    srv = ferryd(config=[f'GatewayPorts {mode}'])
    echo = lab.echo()
    t = fdl.start_remote(lab, client, srv, [echo.addr], bind=bind)
    want = expected_binds(mode, req)
    [m] = [m for m in FORWARDING_RE.finditer(srv.log_text())]
    assert m.group(1) == USER
    assert m.group(4) == req, f'the client sent {m.group(4)!r}, the test meant {req!r}'
    assert (int(m.group(3)), m.group(5)) == (t.port, '0'), m.group(0)
    assert set(m.group(2).split(', ')) == want, m.group(0)
    assert rl.wait_until(lambda: rl.listen_addrs(t.port) == want, 2), \
        (f'GatewayPorts {mode}, asked {req!r}: listening on {rl.listen_addrs(t.port)}, '
         f'OpenSSH would use {want}')
    assert {a for a, p in srv.listens() if p == t.port} == want, srv.listens()
    host = '127.0.0.1' if want & {'127.0.0.1', '0.0.0.0'} else '::1'
    assert fl.echo_roundtrip(t.port, b'g', host=host) == b'g'
    assert t.alive()


@pytest.mark.parametrize('busy', ['::1', '127.0.0.1'])
def test_listener_failing_in_one_family_fails_request(lab, ferryd, busy):
    """-R localhost:P (loopback in both families) while P is taken in one
    family: the whole request fails (ssh: "remote port forwarding failed")
    and ferryd leaves no listener behind in the other family."""
    srv = ferryd()
    echo = lab.echo()
    port = fdl.free_port_pair()
    hold = socket.socket(socket.AF_INET6 if ':' in busy else socket.AF_INET)
    lab.sockets.append(hold)
    hold.bind((busy, port))
    hold.listen(1)
    cp = fdl.start_client(lab, 'ssh', srv, remote=[f'localhost:{port}:{LOCALHOST}:{echo.port}'])
    rc = cp.wait_exit(15)
    assert rc == 255, (rc, cp.stderr())
    assert f'remote port forwarding failed for listen port {port}' in cp.stderr(), cp.stderr()
    assert refusal(srv, f'remote forward "localhost":{port}: '), fl.tail(srv.log_text())
    time.sleep(0.2)
    assert rl.listen_addrs(port) == {busy}, \
        f'a listener was left on {rl.listen_addrs(port) - {busy}} port {port}'


def test_privileged_port_refused(lab, ferryd):
    """-R 127.0.0.1:80: refused, logged, and told to the client as
    SSH_MSG_DEBUG ("debug1: Remote: ..." with ssh -v)."""
    srv = ferryd()
    echo = lab.echo()
    cp = fdl.start_client(lab, 'ssh', srv, remote=[f'{LOCALHOST}:80:{LOCALHOST}:{echo.port}'],
                          extra=['-v'])
    assert cp.wait_exit(15) == 255, cp.stderr()
    assert 'remote port forwarding failed for listen port 80' in cp.stderr()
    line = refusal(srv, 'remote forward "127.0.0.1":80: privileged ports')
    assert line, fl.tail(srv.log_text())
    reason = line.split(': ', 2)[2]
    assert f'debug1: Remote: {reason}' in cp.stderr(), cp.stderr()


def test_max_listeners(lab, ferryd):
    """MaxListeners 2: the third -R of one connection is refused with the
    limit named; the first two work."""
    srv = ferryd(config=['MaxListeners 2'])
    echos = [lab.echo() for _ in range(3)]
    cp = fdl.start_client(lab, 'ssh', srv, options={'ExitOnForwardFailure': 'no'},
                          remote=[f'{LOCALHOST}:0:{LOCALHOST}:{e.port}' for e in echos])
    ports = fdl.wait_allocated(cp, 2, server=srv)
    assert cp.wait_for('remote port forwarding failed', 1, 10), cp.stderr()
    assert refusal(srv, 'this session has 2 listeners'), fl.tail(srv.log_text())
    for p in ports:
        assert fl.echo_roundtrip(p, b'm') == b'm'
    assert len(fdl.ALLOCATED_REMOTE_RE.findall(cp.stderr())) == 2


# ---------------------------------------------------------------- AllowTcpForwarding x lists

ATF = ['yes', 'all', 'no', 'local', 'remote']
OPEN_LISTS = ['any', 'none', 'target', 'target-anyport', 'other']


def _permit_open(kind, port, other):
    return {'any': 'any', 'none': 'none', 'target': f'127.0.0.1:{port}',
            'target-anyport': '127.0.0.1:*', 'other': f'127.0.0.1:{other}'}[kind]


@pytest.mark.parametrize('plist', OPEN_LISTS)
@pytest.mark.parametrize('atf', ATF)
def test_local_forward_rules(lab, ferryd, atf, plist):
    """-L to an echo server under AllowTcpForwarding x PermitOpen."""
    echo = lab.echo()
    other = lab.closed_port()
    srv = ferryd(config=[f'AllowTcpForwarding {atf}',
                         f'PermitOpen {_permit_open(plist, echo.port, other)}'])
    t = fdl.start_local(lab, 'ssh', srv, [echo.addr], extra=['-v'])
    got = fdl.try_echo(t.port, b'L')
    if atf in ('no', 'remote'):
        rule = f'AllowTcpForwarding {atf} forbids local (-L) forwarding'
    elif plist in ('none', 'other'):
        rule = 'not allowed by PermitOpen'
    else:
        rule = None
    if rule is None:
        assert got == b'L', f'allowed forward did not echo:\n{t.proc.stderr()}'
        assert not srv.refusals(), srv.refusals()
        return
    assert got == b'', 'a refused forward carried data'
    assert echo.accepted == 0
    line = refusal(srv, f'connection to 127.0.0.1 port {echo.port}: {rule}')
    assert line, f'no refusal naming {rule!r}:\n{fl.tail(srv.log_text())}'
    assert t.proc.wait_for(rf'debug1: Remote: connection to 127\.0\.0\.1 port {echo.port}: '
                           rf'{re.escape(rule)}', 1, 5), t.proc.stderr()
    assert re.search(r'channel \d+: open failed: administratively prohibited',
                     t.proc.stderr()), t.proc.stderr()
    assert t.alive(), 'a refused channel ended the connection'


LISTEN_LISTS = ['any', 'none', '127.0.0.1:*', 'localhost:*']


@pytest.mark.parametrize('plist', LISTEN_LISTS)
@pytest.mark.parametrize('atf', ATF)
def test_remote_forward_rules(lab, ferryd, atf, plist):
    """-R 127.0.0.1:0 under AllowTcpForwarding x PermitListen ("localhost:*"
    does not cover a request for "127.0.0.1")."""
    echo = lab.echo()
    srv = ferryd(config=[f'AllowTcpForwarding {atf}', f'PermitListen {plist}'])
    if atf in ('no', 'local'):
        rule = f'AllowTcpForwarding {atf} forbids remote (-R) forwarding'
    elif plist in ('none', 'localhost:*'):
        rule = 'not allowed by PermitListen'
    else:
        rule = None
    if rule is None:
        t = fdl.start_remote(lab, 'ssh', srv, [echo.addr])
        assert fl.echo_roundtrip(t.port, b'R') == b'R'
        assert not srv.refusals(), srv.refusals()
        return
    cp = fdl.start_client(lab, 'ssh', srv, remote=[f'{LOCALHOST}:0:{LOCALHOST}:{echo.port}'],
                          extra=['-v'])
    assert cp.wait_exit(15) == 255, cp.stderr()
    assert 'remote port forwarding failed for listen port 0' in cp.stderr(), cp.stderr()
    line = refusal(srv, f'remote forward "127.0.0.1":0: {rule}')
    assert line, f'no refusal naming {rule!r}:\n{fl.tail(srv.log_text())}'
    assert f'debug1: Remote: remote forward "127.0.0.1":0: {rule}' in cp.stderr(), cp.stderr()
    assert srv.listens() == {(LOCALHOST, srv.port)}, srv.listens()


# PermitListen entry (P = the port) x -R bind field: allowed as with sshd, where
# a bare port and "*" match any requested address (match_pattern), and ssh
# sends "localhost" when the spec has no bind address
PERMIT_LISTEN_CASES = [
    ('{p}', None, True), ('{p}', '127.0.0.1', True),
    ('*:{p}', None, True), ('*:{p}', '127.0.0.1', True),
    ('localhost:{p}', None, True), ('localhost:{p}', '127.0.0.1', False),
    ('127.0.0.1:{p}', None, False), ('127.0.0.1:{p}', '127.0.0.1', True),
]


@pytest.mark.parametrize('where', ['config', 'key'])
@pytest.mark.parametrize('entry,bind,allowed', PERMIT_LISTEN_CASES,
                         ids=[f'{e.replace("{p}", "P")}-{b or "nobind"}'
                              for e, b, _ in PERMIT_LISTEN_CASES])
def test_permit_listen_entries(lab, ferryd, where, entry, bind, allowed):
    """PermitListen (config) / permitlisten= (key) entries with a fixed port:
    a bare port and "*:P" allow any listen address, as in sshd."""
    echo = lab.echo()
    spec = ('' if bind is None else f'{bind}:') + '{p}:127.0.0.1:{e}'
    for attempt in range(5):
        port = fdl.free_port_pair()
        e = entry.format(p=port)
        if where == 'config':
            srv = ferryd(config=[f'PermitListen {e}'])
        else:
            srv = ferryd(authorized={USER: [f'permitlisten="{e}" '
                                            f'{lab.keys.user_pub("ed25519")}']})
        cp = fdl.start_client(lab, 'ssh', srv, remote=[spec.format(p=port, e=echo.port)])
        up = rl.wait_until(lambda: not cp.alive() or
                           any(p == port for _, p in srv.listens()), 10)
        if 'cannot listen on' in srv.log_text():
            cp.stop()                         # someone took the port: try another
            srv.close()
            continue
        break
    rule = 'not allowed by PermitListen' if where == 'config' else \
        f'not allowed by permitlisten in {srv.ak_path()} line 1'
    asked = 'localhost' if bind is None else bind
    if allowed:
        assert up and cp.alive(), (f'{"PermitListen" if where == "config" else "permitlisten"}'
                                   f' {e!r} refused -R {spec.format(p=port, e=echo.port)} '
                                   f'(sshd allows it):\n{fl.tail(srv.log_text(), 5)}')
        assert fl.echo_roundtrip(port, b'P') == b'P'
    else:
        assert cp.wait_exit(15) == 255, cp.stderr()
        assert refusal(srv, f'remote forward "{asked}":{port}: {rule}'), \
            fl.tail(srv.log_text())


# ---------------------------------------------------------------- authorized_keys options

def _key_line(lab, options, name='ed25519'):
    pub = lab.keys.user_pub(name)
    return f'{options} {pub}' if options else pub


@pytest.mark.parametrize('options,allowed,words', [
    ('restrict', False, 'has restrict'),
    ('no-port-forwarding', False, 'has no-port-forwarding'),
    ('restrict,port-forwarding', True, None),
    ('', True, None),
], ids=['restrict', 'no-port-forwarding', 'restrict+port-forwarding', 'none'])
def test_key_forwarding_flags(lab, ferryd, options, allowed, words):
    """restrict / no-port-forwarding forbid -L and -R (the refusal names the
    key's file and line); restrict,port-forwarding allows them again."""
    srv = ferryd(authorized={USER: ['# a comment line', _key_line(lab, options)]})
    echo = lab.echo()
    t = fdl.start_local(lab, 'ssh', srv, [echo.addr])
    got = fdl.try_echo(t.port, b'k')
    rcp = fdl.start_client(lab, 'ssh', srv, remote=[f'{LOCALHOST}:0:{LOCALHOST}:{echo.port}'])
    if allowed:
        assert got == b'k'
        [port] = fdl.wait_allocated(rcp, 1, server=srv)
        assert fl.echo_roundtrip(port, b'r') == b'r'
        assert not srv.refusals()
        return
    assert got == b''
    assert rcp.wait_exit(15) == 255, rcp.stderr()
    why = f"the key's authorized_keys line ({srv.ak_path()} line 2) {words}"
    assert refusal(srv, f'connection to 127.0.0.1 port {echo.port}: {why}'), \
        fl.tail(srv.log_text())
    assert refusal(srv, f'remote forward "127.0.0.1":0: {why}'), fl.tail(srv.log_text())
    assert echo.accepted == 0


@pytest.mark.parametrize('entry,b_allowed', [('127.0.0.1:{a}', False), ('*:{a}', False),
                                             ('127.0.0.1:*', True)],
                         ids=['exact', 'anyhost', 'anyport'])
def test_key_permitopen(lab, ferryd, entry, b_allowed):
    """permitopen="127.0.0.1:A" (or "*:A"): -L to A works, -L to B (another
    port) is refused naming the key's file and line; "127.0.0.1:*" allows
    both."""
    a, b = lab.echo(), lab.echo()
    opt = f'permitopen="{entry.format(a=a.port)}"'
    srv = ferryd(authorized={USER: [_key_line(lab, opt)]})
    t = fdl.start_local(lab, 'ssh', srv, [a.addr, b.addr])
    assert fl.echo_roundtrip(t.ports[0], b'a') == b'a'
    if b_allowed:
        assert fl.echo_roundtrip(t.ports[1], b'b') == b'b'
        assert not srv.refusals()
        return
    assert fdl.try_echo(t.ports[1], b'b') == b''
    assert refusal(srv, f'connection to 127.0.0.1 port {b.port}: not allowed by permitopen '
                        f'in {srv.ak_path()} line 1'), fl.tail(srv.log_text())
    assert b.accepted == 0


@pytest.mark.parametrize('config_allows', ['A', 'AB'])
def test_permitopen_and_config_both_apply(lab, ferryd, config_allows):
    """PermitOpen (config) and permitopen= (key) must both allow a target:
    config {A} or {A, B} with key {B}: A is refused by the key, B by the
    config ({A}) or allowed ({A, B})."""
    a, b = lab.echo(), lab.echo()
    cfg = ' '.join(f'127.0.0.1:{e.port}' for e in ([a] if config_allows == 'A' else [a, b]))
    srv = ferryd(config=[f'PermitOpen {cfg}'],
                 authorized={USER: [_key_line(lab, f'permitopen="127.0.0.1:{b.port}"')]})
    t = fdl.start_local(lab, 'ssh', srv, [a.addr, b.addr])
    assert fdl.try_echo(t.ports[0], b'a') == b''
    assert refusal(srv, f'connection to 127.0.0.1 port {a.port}: not allowed by permitopen'), \
        fl.tail(srv.log_text())
    if config_allows == 'A':
        assert fdl.try_echo(t.ports[1], b'b') == b''
        assert refusal(srv, f'connection to 127.0.0.1 port {b.port}: not allowed by '
                            f'PermitOpen'), fl.tail(srv.log_text())
        assert (a.accepted, b.accepted) == (0, 0)
    else:
        assert fl.echo_roundtrip(t.ports[1], b'b') == b'b'
        assert (a.accepted, b.accepted) == (0, 1)


def test_key_permitlisten_port_zero_refused(lab, ferryd):
    """permitlisten="127.0.0.1:P": a request for port 0 is not P, refused."""
    echo = lab.echo()
    srv = ferryd(authorized={USER: [_key_line(lab, 'permitlisten="127.0.0.1:40000"')]})
    cp = fdl.start_client(lab, 'ssh', srv, remote=[f'{LOCALHOST}:0:{LOCALHOST}:{echo.port}'])
    assert cp.wait_exit(15) == 255, cp.stderr()
    assert refusal(srv, f'remote forward "127.0.0.1":0: not allowed by permitlisten in '
                        f'{srv.ak_path()} line 1'), fl.tail(srv.log_text())


@pytest.mark.parametrize('pattern,allowed', [
    ('127.0.0.1', True), ('127.0.0.0/8', True), ('10.0.0.0/8', False),
    ('!127.0.0.1,*', False)])
def test_key_from(lab, ferryd, pattern, allowed):
    """from="...": the client (127.0.0.1) logs in only where the pattern
    list allows it; otherwise Permission denied, and the log names file and
    line."""
    srv = ferryd(authorized={USER: [_key_line(lab, f'from="{pattern}"')]})
    echo = lab.echo()
    if allowed:
        t = fdl.start_local(lab, 'ssh', srv, [echo.addr])
        assert fl.echo_roundtrip(t.port, b'f') == b'f'
        return
    cp = fdl.start_client(lab, 'ssh', srv,
                          local=[f'{LOCALHOST}:{fl.pick_free_port()}:{LOCALHOST}:{echo.port}'])
    assert cp.wait_exit(15) == 255, cp.stderr()
    assert 'Permission denied (publickey)' in cp.stderr(), cp.stderr()
    assert srv.wait_log(rf'{re.escape(str(srv.ak_path()))} line 1: from=', 1, 5), \
        fl.tail(srv.log_text())
    assert not fdl.ACCEPTED_LINE_RE.search(srv.log_text())


def test_key_expired(lab, ferryd):
    """expiry-time in the past: the line no longer lets the key in."""
    srv = ferryd(authorized={USER: [_key_line(lab, 'expiry-time="20000101"')]})
    cp = fdl.start_client(lab, 'ssh', srv,
                          local=[f'{LOCALHOST}:{fl.pick_free_port()}:{LOCALHOST}:9'])
    assert cp.wait_exit(15) == 255, cp.stderr()
    assert 'Permission denied (publickey)' in cp.stderr(), cp.stderr()
    assert srv.wait_log(rf'{re.escape(str(srv.ak_path()))} line 1: key expired', 1, 5), \
        fl.tail(srv.log_text())


@pytest.mark.parametrize('good_line', [False, True], ids=['alone', 'then-good-line'])
def test_key_unknown_option(lab, ferryd, good_line):
    """A key line with an unknown option is ignored (Permission denied) and
    the log names file and line; the same key on a later clean line logs
    in, reported as that line."""
    lines = [_key_line(lab, 'frobnicate,permitopen="127.0.0.1:1"')]
    if good_line:
        lines.append(_key_line(lab, ''))
    srv = ferryd(authorized={USER: lines})
    echo = lab.echo()
    if good_line:
        t = fdl.start_local(lab, 'ssh', srv, [echo.addr])
        assert fl.echo_roundtrip(t.port, b'u') == b'u'
        [m] = fdl.ACCEPTED_RE.findall(srv.log_text())
        assert m[6] == '2', m
    else:
        cp = fdl.start_client(lab, 'ssh', srv,
                              local=[f'{LOCALHOST}:{fl.pick_free_port()}:{LOCALHOST}:9'])
        assert cp.wait_exit(15) == 255, cp.stderr()
        assert 'Permission denied (publickey)' in cp.stderr(), cp.stderr()
    assert srv.wait_log(rf'{re.escape(str(srv.ak_path()))} line 1: unknown option', 1, 5), \
        fl.tail(srv.log_text())


def test_per_user_authorized_keys(lab, ferryd):
    """AuthorizedKeysFile .../%u: each user name (a label, no account) has
    its own file; a key logs in only as the user whose file lists it."""
    srv = ferryd(authorized={'alice': [lab.keys.user_pub('ed25519')],
                             'bob': [lab.keys.user_pub('ecdsa')]})
    echo = lab.echo()
    cp = fdl.start_client(lab, 'ssh', srv, user='alice',
                          local=[f'{LOCALHOST}:{fl.pick_free_port()}:{LOCALHOST}:{echo.port}'])
    assert srv.wait_log(r'^ferryd: Accepted publickey for alice ', 1, 10), \
        fl.tail(srv.log_text())
    assert f'found at {srv.ak_path("alice")}:1\n' in srv.log_text()
    assert cp.alive()
    for user, key in [('bob', 'ed25519'), ('alice', 'ecdsa'), ('carol', 'ed25519')]:
        bad = fdl.start_client(lab, 'ssh', srv, user=user, identity=key,
                               local=[f'{LOCALHOST}:{fl.pick_free_port()}:{LOCALHOST}:9'])
        assert bad.wait_exit(15) == 255, (user, key, bad.stderr())
        assert 'Permission denied (publickey)' in bad.stderr()
    assert fdl.ACCEPTED_RE.findall(srv.log_text())[0][0] == 'alice'
    assert len(fdl.ACCEPTED_RE.findall(srv.log_text())) == 1


@pytest.mark.parametrize('user', ['../authorized_keys/alice', '..', '.alice', 'a/../alice'])
def test_user_name_cannot_name_another_file(lab, ferryd, user):
    """A user name is substituted for %u: one that would walk to another
    user's file (alice's, which lists the key) is refused."""
    srv = ferryd(authorized={'alice': [lab.keys.user_pub('ed25519')]})
    cp = fdl.start_client(lab, 'ssh', srv, user=user,
                          local=[f'{LOCALHOST}:{fl.pick_free_port()}:{LOCALHOST}:9'])
    assert cp.wait_exit(15) == 255, cp.stderr()
    assert 'Permission denied (publickey)' in cp.stderr(), cp.stderr()
    assert not fdl.ACCEPTED_LINE_RE.search(srv.log_text()), fl.tail(srv.log_text())


@pytest.mark.parametrize('tries', [2, 3])
def test_max_auth_tries(lab, ferryd, tries):
    """ssh offers two unlisted keys, then the listed one: with MaxAuthTries 2
    the connection ends with "Too many authentication failures" (exit 255),
    with 3 the third key logs in, as with sshd."""
    srv = ferryd(config=[f'MaxAuthTries {tries}'],
                 authorized={USER: [lab.keys.user_pub('ed25519')]})
    echo = lab.echo()
    port = fl.pick_free_port()
    cp = fdl.start_client(lab, 'ssh', srv, identity='unauthorized',
                          extra=['-i', str(lab.keys.user['rsa']),
                                 '-i', str(lab.keys.user['ed25519'])],
                          local=[f'{LOCALHOST}:{port}:{LOCALHOST}:{echo.port}'])
    if tries == 2:
        assert cp.wait_exit(15) == 255, cp.stderr()
        assert 'Too many authentication failures' in cp.stderr(), cp.stderr()
        assert not fdl.ACCEPTED_LINE_RE.search(srv.log_text())
    else:
        assert srv.wait_log(fdl.ACCEPTED_RE, 1, 10), fl.tail(srv.log_text())
        assert rl.wait_until(lambda: fl.listens_on(cp.pid, port), 10), cp.stderr()
        assert fl.echo_roundtrip(port, b't') == b't'


# ---------------------------------------------------------------- pre-authentication

def _channel_open(port):
    return (bytes([fdl.MSG_CHANNEL_OPEN]) + fdl.ssh_string('direct-tcpip') + fdl.ssh_u32(0) +
            fdl.ssh_u32(1 << 20) + fdl.ssh_u32(32768) + fdl.ssh_string(LOCALHOST) +
            fdl.ssh_u32(port) + fdl.ssh_string(LOCALHOST) + fdl.ssh_u32(4242))


def _tcpip_forward():
    return (bytes([fdl.MSG_GLOBAL_REQUEST]) + fdl.ssh_string('tcpip-forward') + b'\x01' +
            fdl.ssh_string(LOCALHOST) + fdl.ssh_u32(0))


def _userauth_request():
    return (bytes([fdl.MSG_USERAUTH_REQUEST]) + fdl.ssh_string(USER) +
            fdl.ssh_string('ssh-connection') + fdl.ssh_string('none'))


PREAUTH = {
    'channel-open': (fdl.MSG_CHANNEL_OPEN, _channel_open),
    'tcpip-forward': (fdl.MSG_GLOBAL_REQUEST, lambda port: _tcpip_forward()),
    'userauth-success': (fdl.MSG_USERAUTH_SUCCESS, lambda port: bytes([52])),
    'userauth-request': (fdl.MSG_USERAUTH_REQUEST, lambda port: _userauth_request()),
}


@pytest.mark.parametrize('when', ['before-kexinit', 'after-kexinit'])
@pytest.mark.parametrize('msg', list(PREAUTH))
def test_cleartext_message_before_kex(lab, ferryd, msg, when):
    """After the version exchange (and, in one variant, our KEXINIT) a
    cleartext connection-protocol message: ferryd closes the connection,
    logs the protocol error, opens no listener and connects nowhere."""
    srv = ferryd()
    echo = lab.echo()
    mtype, build = PREAUTH[msg]
    raw = fdl.RawSsh(srv.port)
    try:
        myport = raw.sock.getsockname()[1]
        assert raw.read_version().startswith('SSH-2.0-'), raw.server_version
        raw.send_version()
        if when == 'after-kexinit':
            raw.send_packet(fdl.kexinit_payload())
        raw.send_packet(build(echo.port))
        data, how = raw.read_until_closed(10)
    finally:
        raw.close()
    assert how in ('eof', 'reset'), 'ferryd kept the connection open'
    types = [t for t, _ in fdl.parse_packets(data)]
    assert fdl.MSG_USERAUTH_SUCCESS not in types and 81 not in types and 91 not in types, types
    line = srv.wait_log(rf'^ferryd: Connection from 127\.0\.0\.1 port {myport} closed: (.*)$',
                        1, 5)
    assert line, fl.tail(srv.log_text())
    assert re.search(rf'unexpected message type {mtype}\b|protocol error', line[0].group(1),
                     re.I), line[0].group(0)
    assert srv.listens() == {(LOCALHOST, srv.port)}, srv.listens()
    assert echo.accepted == 0
    assert not fdl.ACCEPTED_LINE_RE.search(srv.log_text())


@pytest.mark.parametrize('msg', ['channel-open', 'tcpip-forward', 'userauth-success'])
def test_encrypted_message_before_auth(lab, ferryd, msg):
    """The same messages after a complete key exchange and the ssh-userauth
    service request, encrypted, but before authentication (the libssh
    CVE-2018-10933 shape): ferryd ends the connection with a protocol error
    and opens nothing."""
    srv = ferryd()
    echo = lab.echo()
    mtype, build = PREAUTH[msg]
    c = fdl.SshClient(srv.port)
    try:
        myport = c.sock.getsockname()[1]
        c.handshake()
        c.send(build(echo.port))
        how = c.wait_closed(10)
    finally:
        c.close()
    assert how in ('eof', 'reset'), 'ferryd kept the connection open'
    if c.disconnect is not None:
        assert c.disconnect[0] == fdl.DISCONNECT_PROTOCOL_ERROR, c.disconnect
    line = srv.wait_log(rf'^ferryd: Connection from 127\.0\.0\.1 port {myport} closed: (.*)$',
                        1, 5)
    assert line, fl.tail(srv.log_text())
    assert re.search(rf'unexpected message type {mtype}\b|protocol error', line[0].group(1),
                     re.I), line[0].group(0)
    assert srv.listens() == {(LOCALHOST, srv.port)}, srv.listens()
    assert echo.accepted == 0
    assert not fdl.ACCEPTED_LINE_RE.search(srv.log_text())


def test_stalled_connections_and_login_grace(lab, ferryd):
    """LoginGraceTime 5, MaxStartups 300:30:400: 200 connections send a
    version line and stall. A real ssh login and -L still work meanwhile;
    after the grace time every stalled connection is closed with "Timeout
    before authentication" logged for its port, while the authenticated
    tunnel keeps working."""
    grace, n = 5, 200
    srv = ferryd(config=[f'LoginGraceTime {grace}', 'MaxStartups 300:30:400'])
    echo = lab.echo()
    started = time.monotonic()
    socks = fdl.stall(srv.port, n)
    try:
        ports = [s.getsockname()[1] for s in socks]
        t = fdl.start_local(lab, 'ssh', srv, [echo.addr])
        assert fl.echo_roundtrip(t.port, b'through the crowd') == b'through the crowd'
        early = fdl.drain(socks, 0)
        elapsed = time.monotonic() - started
        assert not early or elapsed >= grace - 0.5, \
            f'{len(early)} stalled connections closed after only {elapsed:.1f}s'
        assert srv.count(r'^ferryd: Accepted publickey') == 1
        closed = fdl.drain(socks, grace + 8 - (time.monotonic() - started))
        took = time.monotonic() - started
        assert len(closed) == n, (f'{n - len(closed)} of {n} stalled connections still open '
                                  f'{took:.1f}s after they started (LoginGraceTime {grace})')
        assert took >= grace - 0.5, f'closed after {took:.1f}s, before LoginGraceTime'
    finally:
        for s in socks:
            s.close()
    log = srv.log_text()
    timed_out = set(int(p) for p in re.findall(
        r'^ferryd: Timeout before authentication for 127\.0\.0\.1 port (\d+)$', log, re.M))
    missing = set(ports) - timed_out
    assert not missing, f'{len(missing)} ports without a "Timeout before authentication" line'
    assert fl.echo_roundtrip(t.port, b'after grace') == b'after grace'
    assert t.alive()


@pytest.mark.parametrize('startups,held', [('2:100:3', 2), ('3:30:3', 3)])
def test_max_startups_drops(lab, ferryd, startups, held):
    """Three connections stall before authenticating, then a 4th comes. As
    in sshd, past `start` a connection is dropped with probability rising
    from `rate` % (so always with rate 100) and always at `full`: with
    2:100:3 two are served and the rest dropped, with 3:30:3 three are
    served. The 4th is closed without even a version line, each drop is
    logged, and once the stalled ones are gone ssh logs in again."""
    srv = ferryd(config=[f'MaxStartups {startups}', 'LoginGraceTime 60'])
    echo = lab.echo()
    socks = fdl.stall(srv.port, 3)
    try:
        conn_re = r"^debug1: Connection from 127\.0\.0\.1 port \d+ on 127\.0\.0\.1 port \d+$"
        assert srv.wait_log(conn_re, held, 5), fl.tail(srv.log_text())
        if held < 3:
            assert srv.wait_log(r'drop connection #1: past MaxStartups', 1, 5), \
                fl.tail(srv.log_text())
        raw = fdl.RawSsh(srv.port)
        try:
            data, how = raw.read_until_closed(5)
        finally:
            raw.close()
        assert how in ('eof', 'reset') and not data.startswith(b'SSH-'), \
            f'the 4th connection was served ({how}, {data[:40]!r})'
        drops = 3 - held + 1
        assert srv.wait_log(rf'drop connection #{drops}: past MaxStartups \({held} '
                            rf'unauthenticated\)', 1, 5), fl.tail(srv.log_text())
        assert srv.count(conn_re) == held, fl.tail(srv.log_text())
        assert len(fdl.drain(socks, 0.5)) == 3 - held, 'served connections were closed'
        for s in socks:
            s.close()
        assert srv.wait_log(r'^ferryd: Connection from 127\.0\.0\.1 port \d+ closed', held,
                            5), fl.tail(srv.log_text())
        t = fdl.start_local(lab, 'ssh', srv, [echo.addr])
        assert fl.echo_roundtrip(t.port, b'in again') == b'in again'
    finally:
        for s in socks:
            s.close()
