"""SOCKS through the tunnel: `-D` (the client is a SOCKS server and opens a
direct-tcpip channel per connection) and remote dynamic `-R [bind:]port`
with no destination (the server listens; the client speaks SOCKS on each
forwarded-tcpip channel and connects out itself).

Clients ferry and OpenSSH ssh (the `client` fixture: ssh validates each
test), servers OpenSSH sshd and ferryd. SOCKS is spoken by sockslab's client,
which checks every reply byte. Targets listen on 127.0.0.1 or ::1 (the
family the destination names); payloads are checked by SHA-256.

Destinations per SOCKS version: SOCKS4 carries only an IPv4 address, so it
is tested with 127.0.0.1; SOCKS4a carries a name that the SSH server side
resolves, tested with "127.0.0.1", "localhost" and "::1" (a literal is a
name getaddrinfo resolves, which is how a SOCKS4a client reaches an IPv6
destination); SOCKS5 with each address type: ATYP 1 127.0.0.1, ATYP 3
"localhost", ATYP 4 ::1. Against sshd (LogLevel DEBUG1) the test also
checks that the direct-tcpip request carried the destination exactly as the
SOCKS request named it (names are not resolved by the client).

What OpenSSH ssh 9.2 does on errors (checked by the ssh variants here, so a
newer ssh that changes it shows up): it sends the SOCKS success reply only
once the channel is open, and when the open fails (refused port, PermitOpen
on the server, PermitRemoteOpen on the client) or the command is BIND / UDP
ASSOCIATE it closes the SOCKS connection without any reply byte. ferry
answers instead (its contract): SOCKS5 0x05 for a refused port, SOCKS4
0x5B, 0x07 for BIND / UDP ASSOCIATE, 0x02 for a destination PermitRemoteOpen
denies, then closes.
"""

import hashlib
import os
import re
import socket
import threading

import pytest

import ferrylab as fl
import remotelab as rl
import sockslab as sl
from ferrydlab import ferryd  # noqa: F401 - fixture
from ferrylab import KiB, LOCALHOST, MiB, USER

BULK = 16 * MiB
IPV6 = rl.have_ipv6_loopback()
LOOPBACK = {'127.0.0.1'} | ({'::1'} if IPV6 else set())
SERVERS = ['sshd', 'ferryd']

# (SOCKS version, destination host as sent)
CASES = [('4', '127.0.0.1'), ('4a', '127.0.0.1'), ('4a', 'localhost'), ('4a', '::1'),
         ('5', '127.0.0.1'), ('5', 'localhost'), ('5', '::1')]
CASE_IDS = [f'socks{v}-{h}' for v, h in CASES]


def make_server(lab, ferryd, kind, config=(), log_level='VERBOSE'):
    if kind == 'sshd':
        return lab.sshd(config=list(config), log_level=log_level)
    return ferryd(config=list(config), log_level=log_level)


def targets(lab):
    """An echo server per family: {'v4': on 127.0.0.1, 'v6': on ::1}."""
    return {'v4': lab.echo(), 'v6': lab.echo(host='::1')}


def family_of(host):
    return 'v6' if host == '::1' else 'v4'


def failure_expected(client, version, ferry_code):
    """What a failed request must look like: ssh 9.2 closes without a
    reply byte; ferry sends `ferry_code` (SOCKS5) or 0x5B (SOCKS4/4a)."""
    if client == 'ssh':
        return ('closed', None)
    return ('reply', ferry_code if version == '5' else sl.SOCKS4_REJECTED)


def assert_failure(outcome, client, version, ferry_code, what):
    kind, code = failure_expected(client, version, ferry_code)
    assert outcome.kind == kind, f'{what}: expected {kind} {code}, got {outcome!r}'
    if kind == 'reply':
        assert outcome.code == code, f'{what}: reply code {outcome.code:#04x}, expected ' \
                                     f'{code:#04x}: {outcome!r}'
        assert outcome.after in ('eof', 'reset') and outcome.extra == b'', \
            f'{what}: the connection was not closed after the failure reply: {outcome!r}'
    else:
        assert outcome.received == b'', f'{what}: ssh sent reply bytes: {outcome!r}'


def bulk_case(proxy_port, version, host, echos, start):
    """BULK bytes each way through one SOCKS connection to the echo server
    of host's family; checks the count, the SHA-256 and which target got
    the connection."""
    echo = echos[family_of(host)]
    before = {k: e.accepted for k, e in echos.items()}
    s = sl.connect(proxy_port, version, host, echo.port)
    sl.assert_echo_ok(sl.echo_exchange_sock(s, BULK, start, seconds=90), BULK, start)
    after = {k: e.accepted for k, e in echos.items()}
    want = {k: before[k] + (1 if k == family_of(host) else 0) for k in echos}
    assert after == want, f'connections per target {after}, expected {want}'
    for e in echos.values():
        assert not e.errors, e.errors


# ---------------------------------------------------------------- bulk data

@pytest.mark.parametrize('version,host', CASES, ids=CASE_IDS)
@pytest.mark.parametrize('server', SERVERS)
def test_dynamic_bulk(lab, ferryd, client, server, version, host):
    """-D: 16 MiB each way through SOCKS to the destination; against sshd
    (DEBUG1) the direct-tcpip request names the destination as the SOCKS
    request gave it (a name is resolved by the server side)."""
    srv = make_server(lab, ferryd, server, log_level='DEBUG1' if server == 'sshd' else 'VERBOSE')
    echos = targets(lab)
    dyn = sl.start_dynamic(lab, client, srv)
    bulk_case(dyn.port, version, host, echos, fl.stream_start(CASES.index((version, host))))
    if server == 'sshd':
        port = echos[family_of(host)].port
        assert re.search(rf'server_request_direct_tcpip: originator 127\.0\.0\.1 port \d+, '
                         rf'target {re.escape(host)} port {port}$', srv.log_text(), re.M), \
            f'sshd never got a direct-tcpip request for {host!r} port {port}'
    assert dyn.alive()


@pytest.mark.parametrize('version,host', CASES, ids=CASE_IDS)
@pytest.mark.parametrize('server', SERVERS)
def test_remote_dynamic_bulk(lab, ferryd, client, server, version, host):
    """-R 127.0.0.1:0 with no destination: the server's port speaks SOCKS
    (answered by the client), 16 MiB each way to the destination."""
    srv = make_server(lab, ferryd, server)
    echos = targets(lab)
    cp, port = sl.start_rdynamic(lab, client, srv)
    # the test's own ::1 echo may have drawn the same port number
    mine = fl.pid_socket_inodes(os.getpid())
    assert {a for a, p, ino in rl.listen_sockets() if p == port and ino not in mine} \
        == {LOCALHOST}
    bulk_case(port, version, host, echos, fl.stream_start(10 + CASES.index((version, host))))
    assert cp.alive()


@pytest.mark.parametrize('mode', ['D', 'R'])
@pytest.mark.parametrize('version', ['4a', '5'])
def test_pipelined_request_and_data(lab, ferryd, client, mode, version):
    """A client that does not wait: greeting, request and the first 64 KiB
    of data in one write (then the rest), and EOF. Nothing of it may be
    lost or taken for SOCKS: the echo returns every byte (SHA-256), after
    exactly one SOCKS reply. Against ferryd, through -D (the request is
    read from the socket) and remote dynamic -R (read from the channel,
    the data arriving before the client's connect is done)."""
    srv = ferryd()
    echo = lab.echo()
    if mode == 'D':
        port = sl.start_dynamic(lab, client, srv).port
    else:
        _, port = sl.start_rdynamic(lab, client, srv)
    n, start = 1 * MiB, fl.stream_start(40 + (mode == 'R') * 2 + (version == '5'))
    payload = fl.pattern_bytes(n, start)
    if version == '5':
        head = sl.socks5_greeting() + sl.socks5_request(LOCALHOST, echo.port)
        reply_len = 2 + 10
    else:
        head = sl.socks4a_request(echo.port, 'localhost')
        reply_len = 8
    d = fl.Deadline(60, 'pipelined SOCKS')
    s = sl.open_proxy(port)
    try:
        got = bytearray()

        def reader():
            while not d.expired() and len(got) <= reply_len + n:
                s.settimeout(d.left(10))
                try:
                    b = s.recv(1 << 20)
                except OSError:
                    return
                if not b:
                    return
                got.extend(b)

        t = threading.Thread(target=reader, daemon=True)
        t.start()
        s.sendall(head + payload[:64 * KiB])
        s.sendall(payload[64 * KiB:])
        s.shutdown(socket.SHUT_WR)
        t.join(d.left())
        assert not t.is_alive(), 'no EOF after the echo'
    finally:
        s.close()
    reply, body = bytes(got[:reply_len]), bytes(got[reply_len:])
    if version == '5':
        assert reply[:2] == b'\x05\x00' and reply[2:4] == b'\x05\x00', reply
    else:
        assert reply[:2] == b'\x00\x5a', reply
    assert len(body) == n and hashlib.sha256(body).hexdigest() == \
        hashlib.sha256(payload).hexdigest()


# ---------------------------------------------------------------- listeners and spellings

@pytest.mark.parametrize('spelling,bind', [('flag', None), ('option', '127.0.0.1'),
                                           ('flag', '::1')],
                         ids=['D-port', 'o-DynamicForward-127.0.0.1', 'D-[::1]'])
def test_dynamic_listener(lab, client, spelling, bind):
    """-D port (loopback only), -o DynamicForward=127.0.0.1:port and
    -D [::1]:port listen where asked (never on a wildcard address) and carry
    a SOCKS5 request made through each address they listen on."""
    sshd = lab.sshd()
    echo = lab.echo()
    dyn = sl.start_dynamic(lab, client, sshd, bind=bind, spelling=spelling)
    addrs = rl.listen_addrs(dyn.port)
    if bind is None:
        assert addrs and addrs <= LOOPBACK, f'-D {dyn.port} listens on {addrs}'
    else:
        assert addrs == {bind}, f'listening on {addrs}, asked {bind}'
    for i, a in enumerate(sorted(addrs)):
        s = sl.connect(dyn.port, '5', LOCALHOST, echo.port, proxy_host=a)
        sl.assert_echo_ok(sl.echo_exchange_sock(s, 64 * KiB, i), 64 * KiB, i)
    assert echo.accepted == len(addrs)
    if client == 'ferry':
        assert len(sl.DYNAMIC_ALLOCATED_RE.findall(dyn.proc.stderr())) == 1, dyn.proc.stderr()


def test_remote_dynamic_allocated_line(lab, client):
    """ferry announces a remote dynamic port 0 as "Allocated port N for
    remote forward" (ssh 9.2: "... to socks:0"), once, and sshd listens on
    N on 127.0.0.1 only."""
    sshd = lab.sshd()
    echo = lab.echo()
    cp, port = sl.start_rdynamic(lab, client, sshd)
    assert fl.listens_on(sshd.procs[-1].pid, port), 'sshd does not hold the allocated port'
    assert rl.listen_addrs(port) == {LOCALHOST}
    lines = re.findall(r'^.*Allocated port.*$', cp.stderr(), re.M)
    assert len(lines) == 1, cp.stderr()
    if client == 'ssh':
        assert lines[0].strip() == f'Allocated port {port} for remote forward to socks:0'
    s = sl.connect(port, '5', LOCALHOST, echo.port)
    sl.assert_echo_ok(sl.echo_exchange_sock(s, 64 * KiB, 3), 64 * KiB, 3)


# ---------------------------------------------------------------- failures

@pytest.mark.parametrize('version', ['4', '4a', '5'])
def test_dynamic_refused_port(lab, client, version):
    """-D to a closed port: sshd's connect is refused, the channel open
    fails with "Connection refused"; ssh closes the SOCKS connection without
    a reply, ferry answers 0x05 (SOCKS5) / 0x5B (SOCKS4, 4a) and closes.
    The proxy keeps serving: a request right after works."""
    sshd = lab.sshd()
    echo = lab.echo()
    closed = lab.closed_port()
    dyn = sl.start_dynamic(lab, client, sshd)
    host = 'localhost' if version == '4a' else LOCALHOST
    o = sl.request_outcome(dyn.port, version, host, closed)
    assert_failure(o, client, version, sl.SOCKS5_CONN_REFUSED, f'SOCKS{version} to a closed port')
    s = sl.connect(dyn.port, version, host, echo.port)
    sl.assert_echo_ok(sl.echo_exchange_sock(s, 256 * KiB, 5), 256 * KiB, 5)
    assert dyn.alive()
    if client == 'ssh':
        assert re.search(r'open failed: connect failed: Connection refused', dyn.proc.stderr()), \
            dyn.proc.stderr()


@pytest.mark.parametrize('mode', ['D', 'R'])
@pytest.mark.parametrize('version,cmd', [('5', sl.CMD_BIND), ('5', sl.CMD_UDP_ASSOCIATE),
                                         ('4', sl.CMD_BIND)],
                         ids=['socks5-bind', 'socks5-udp-associate', 'socks4-bind'])
def test_unsupported_command(lab, client, mode, version, cmd):
    """BIND and UDP ASSOCIATE are not supported: ferry replies 0x07 (SOCKS5;
    SOCKS4 has no such code, so 0x5B, the only generic failure) and closes;
    ssh closes without a reply. Nothing connects to the target, and a
    CONNECT afterwards works."""
    sshd = lab.sshd()
    echo = lab.echo()
    if mode == 'D':
        proc = sl.start_dynamic(lab, client, sshd)
        port = proc.port
    else:
        proc, port = sl.start_rdynamic(lab, client, sshd)
    o = sl.request_outcome(port, version, LOCALHOST, echo.port, cmd=cmd)
    assert_failure(o, client, version, sl.SOCKS5_CMD_NOT_SUPPORTED,
                   f'SOCKS{version} command {cmd}')
    assert echo.accepted == 0, 'an unsupported command reached the target'
    s = sl.connect(port, version, LOCALHOST, echo.port)
    sl.assert_echo_ok(sl.echo_exchange_sock(s, 64 * KiB, 7), 64 * KiB, 7)
    assert proc.alive()


@pytest.mark.parametrize('version', ['4a', '5'])
def test_remote_dynamic_refused_port(lab, client, version):
    """Remote dynamic to a closed port: the client's own connect is
    refused. ssh closes the SOCKS connection without a reply; ferry sends a
    failure reply (any SOCKS failure code) before closing. Later requests
    work."""
    sshd = lab.sshd()
    echo = lab.echo()
    closed = lab.closed_port()
    cp, port = sl.start_rdynamic(lab, client, sshd)
    o = sl.request_outcome(port, version, LOCALHOST, closed)
    if client == 'ssh':
        assert o.kind == 'closed' and o.received == b'', o
    else:
        assert o.kind == 'reply' and o.code not in (sl.SOCKS5_SUCCEEDED, sl.SOCKS4_GRANTED), o
        assert o.after in ('eof', 'reset'), f'not closed after the failure reply: {o!r}'
    s = sl.connect(port, version, LOCALHOST, echo.port)
    sl.assert_echo_ok(sl.echo_exchange_sock(s, 64 * KiB, 9), 64 * KiB, 9)
    assert cp.alive()


# ---------------------------------------------------------------- malformed input

GREETING = sl.socks5_greeting()


def _socks5_tail_ok(rest):
    """After the method selection: nothing, or one well-formed failure
    reply (ferry may answer 0x08/0x01 before closing)."""
    if rest == b'':
        return True
    return (len(rest) in (10, 22) and rest[0] == 5 and rest[1] not in (0,) and rest[2] == 0
            and rest[3] in (1, 4))


# name -> (bytes, send EOF after them, check(received) -> bool, what is accepted)
MALFORMED = {
    'junk-first-byte': (b'GET / HTTP/1.0\r\nHost: x\r\n\r\n', False,
                        lambda r: r == b'', 'no reply'),
    'truncated-greeting': (b'\x05', True, lambda r: r == b'', 'no reply'),
    'no-acceptable-method': (b'\x05\x01\x02', False, lambda r: r in (b'', b'\x05\xff'),
                             'nothing or 05 FF'),
    'truncated-socks5-request': (GREETING + b'\x05\x01\x00\x01\x7f\x00', True,
                                 lambda r: r == b'\x05\x00', 'the method selection only'),
    'socks5-bad-atyp': (GREETING + b'\x05\x01\x00\x09' + bytes(6), False,
                        lambda r: r[:2] == b'\x05\x00' and _socks5_tail_ok(r[2:]),
                        'the method selection, then nothing or a failure reply'),
    'truncated-socks4': (b'\x04\x01\x00\x50\x7f\x00', True, lambda r: r == b'', 'no reply'),
    'socks4a-name-without-nul': (b'\x04\x01\x00\x50\x00\x00\x00\x01ferrytest\x00localhost',
                                 True, lambda r: r == b'', 'no reply'),
}


def _partial_echo(sock, n, start):
    """Send n pattern bytes and read n back (an echo target), checking them."""
    d = fl.Deadline(30, 'partial echo')
    fl.send_pattern(sock, n, start, d)
    got = bytearray()
    while len(got) < n:
        sock.settimeout(d.left(fl.IO_TIMEOUT))
        b = sock.recv(n - len(got))
        assert b, f'EOF after {len(got)} of {n} echoed bytes'
        got += b
    assert hashlib.sha256(got).hexdigest() == fl.pattern_sha256(n, start)


@pytest.mark.parametrize('case', list(MALFORMED))
def test_malformed_input_isolated(lab, client, case):
    """-D: a malformed or truncated request closes that connection (after at
    most the bytes listed), while a tunnelled connection opened before keeps
    carrying data and a new one afterwards works."""
    data, eof, check, what = MALFORMED[case]
    sshd = lab.sshd()
    echo = lab.echo()
    dyn = sl.start_dynamic(lab, client, sshd)
    held = sl.connect(dyn.port, '5', LOCALHOST, echo.port)
    try:
        _partial_echo(held, 64 * KiB, 11)
        got, how = sl.send_raw(dyn.port, data, close_write=eof, timeout=5)
        assert how in ('eof', 'reset'), \
            f'{case}: the proxy kept the connection open (got {got!r} so far)'
        assert check(got), f'{case}: got {got!r}, expected {what}'
        n = 512 * KiB
        res = fl.exchange(held, n, 13, fl.Deadline(30, 'held connection'))
        assert res == (n, fl.pattern_sha256(n, 13)), \
            'the connection opened before stopped carrying data'
    finally:
        held.close()
    s = sl.connect(dyn.port, '4', LOCALHOST, echo.port)
    sl.assert_echo_ok(sl.echo_exchange_sock(s, 256 * KiB, 15), 256 * KiB, 15)
    assert echo.accepted == 2, f'{echo.accepted} connections reached the target, expected 2'
    assert dyn.alive()


# ---------------------------------------------------------------- policy

@pytest.mark.parametrize('entries', ['exact', 'list'])
def test_permit_remote_open(lab, client, entries):
    """-R 127.0.0.1:0 (remote dynamic) with -o PermitRemoteOpen: an allowed
    destination carries data; another port of the same host is denied
    (ferry: SOCKS5 0x02 / SOCKS4 0x5B; ssh: closed without a reply) and is
    never connected to."""
    sshd = lab.sshd()
    allowed, denied = lab.echo(), lab.echo()
    other = lab.closed_port()
    permit = {'exact': f'{LOCALHOST}:{allowed.port}',
              'list': f'{LOCALHOST}:{other} {LOCALHOST}:{allowed.port}'}[entries]
    cp, port = sl.start_rdynamic(lab, client, sshd, options={'PermitRemoteOpen': permit})
    s = sl.connect(port, '5', LOCALHOST, allowed.port)
    sl.assert_echo_ok(sl.echo_exchange_sock(s, MiB, 17), MiB, 17)
    for version in ('5', '4'):
        o = sl.request_outcome(port, version, LOCALHOST, denied.port)
        assert_failure(o, client, version, sl.SOCKS5_NOT_ALLOWED,
                       f'SOCKS{version} to a port PermitRemoteOpen does not list')
    assert denied.accepted == 0, 'a denied destination was connected to'
    assert allowed.accepted == 1
    assert cp.alive()


def test_ferryd_permit_open_applies_to_dynamic(lab, ferryd, client):
    """ferryd PermitOpen 127.0.0.1:A: a SOCKS request through -D for A works,
    one for B is refused (ssh: closed without a reply; ferry: a SOCKS5
    failure reply, 0x02 or 0x01) and ferryd logs the PermitOpen refusal
    (which ssh -v shows as "debug1: Remote: ...")."""
    a, b = lab.echo(), lab.echo()
    srv = ferryd(config=[f'PermitOpen {LOCALHOST}:{a.port}'])
    dyn = sl.start_dynamic(lab, client, srv, extra=['-v'] if client == 'ssh' else [])
    s = sl.connect(dyn.port, '5', LOCALHOST, a.port)
    sl.assert_echo_ok(sl.echo_exchange_sock(s, MiB, 19), MiB, 19)
    o = sl.request_outcome(dyn.port, '5', LOCALHOST, b.port)
    if client == 'ssh':
        assert o.kind == 'closed' and o.received == b'', o
    else:
        assert o.kind == 'reply' and o.code in (sl.SOCKS5_NOT_ALLOWED,
                                                sl.SOCKS5_GENERAL_FAILURE), o
        assert o.after in ('eof', 'reset'), o
    rule = f'connection to 127.0.0.1 port {b.port}: not allowed by PermitOpen'
    assert srv.wait_log(rf'^ferryd: refused for {re.escape(USER)} from 127\.0\.0\.1 port \d+: '
                        rf'{re.escape(rule)}$', 1, 5), fl.tail(srv.log_text())
    if client == 'ssh':
        assert dyn.proc.wait_for(rf'debug1: Remote: {re.escape(rule)}', 1, 5), dyn.proc.stderr()
    assert b.accepted == 0
    assert a.accepted == 1
    assert dyn.alive()


# ---------------------------------------------------------------- concurrency

def test_dynamic_concurrent_mixed(lab, client):
    """24 SOCKS connections at once through one -D, every version and
    address type mixed, 256 KiB each with distinct data."""
    sshd = lab.sshd()
    echos = targets(lab)
    dyn = sl.start_dynamic(lab, client, sshd)
    n, size = 24, 256 * KiB

    def one(i):
        version, host = CASES[i % len(CASES)]
        s = sl.connect(dyn.port, version, host, echos[family_of(host)].port)
        return sl.echo_exchange_sock(s, size, fl.stream_start(i), seconds=60)

    results = fl.run_together(n, one, 90, 'concurrent SOCKS connections')
    bad = [(i, CASES[i % len(CASES)], r) for i, r in enumerate(results)
           if r != (size, fl.pattern_sha256(size, fl.stream_start(i)))]
    assert not bad, bad[:10]
    v6 = sum(1 for i in range(n) if CASES[i % len(CASES)][1] == '::1')
    assert (echos['v4'].accepted, echos['v6'].accepted) == (n - v6, v6)
    assert dyn.alive()
