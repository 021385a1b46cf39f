"""Remote forwarding (-R) against a real OpenSSH sshd.

The test connects to the port sshd listens on (127.0.0.1:N, usually allocated
by the server for a port-0 request), sshd opens a forwarded-tcpip channel, and
the client connects out to a local service. Every test that drives a client
runs for 'ferry' (the point) and 'ssh' (OpenSSH, which validates the test
itself); ferry-only expectations are marked as such. Payloads are checked by
byte count and SHA-256.
"""

import re
import signal
import socket

import pytest

import ferrylab as fl
import remotelab as rl
from ferrylab import KiB, LOCALHOST, MiB

BULK = 64 * MiB
CIPHERS = ['chacha20-poly1305@openssh.com', 'aes128-gcm@openssh.com',
           'aes256-gcm@openssh.com', 'aes128-ctr', 'aes256-ctr']
IPV6 = rl.have_ipv6_loopback()


def _cipher_id(c):
    return c.replace('@openssh.com', '')


def assert_cipher(log, cipher):
    """sshd (LogLevel DEBUG1) logs the negotiated cipher per direction."""
    for direction in ('client->server', 'server->client'):
        want = f'kex: {direction} cipher: {cipher} MAC: '
        assert want in log, f'sshd log lacks {want!r}'


def forward_requests(log):
    """The listen addresses of the tcpip-forward requests sshd received
    (DEBUG1: 'server_input_global_request: tcpip-forward listen ADDR port N')."""
    return re.findall(r'tcpip-forward listen (.*) port (\d+)$', log, re.M)


# ---------------------------------------------------------------- bulk data

@pytest.mark.parametrize('direction', ['up', 'down'])
@pytest.mark.parametrize('cipher', CIPHERS, ids=_cipher_id)
def test_bulk_cipher(lab, client, cipher, direction):
    """64 MiB through -R in one direction per test, for each cipher the
    server is restricted to."""
    sshd = lab.sshd(config=[f'Ciphers {cipher}'], log_level='DEBUG1')
    if direction == 'up':
        sink = lab.sink()
        t = rl.start_remote(lab, client, sshd, [sink.addr], cipher=cipher)
        rl.assert_upload_ok(rl.upload(t.port, sink, BULK, start=17), BULK, start=17)
    else:
        source = lab.source(BULK, start=19)
        t = rl.start_remote(lab, client, sshd, [source.addr], cipher=cipher)
        rl.assert_download_ok(rl.download(t.port), BULK, start=19)
    assert t.alive(), 'client exited after the transfer'
    assert_cipher(sshd.log_text(), cipher)


# ---------------------------------------------------------------- half-close

HALF_CLOSE_SIZES = [0, 1, 32767, 32768, 2 * MiB - 1, 2 * MiB, 2 * MiB + 1]


@pytest.mark.parametrize('n', HALF_CLOSE_SIZES)
def test_half_close(lab, client, n):
    """We send n bytes into the server's port then SHUT_WR; the echo server
    behind the client returns all n bytes and only then closes: EOF must
    travel server -> client -> echo while data still flows back."""
    sshd = lab.sshd()
    echo = lab.echo()
    t = rl.start_remote(lab, client, sshd, [echo.addr])
    count, digest = rl.echo_exchange(t.port, n, start=n + 5)
    assert count == n, f'got {count} of {n} bytes back before EOF'
    assert digest == fl.pattern_sha256(n, n + 5)
    assert not echo.errors, echo.errors
    assert t.alive()


# ---------------------------------------------------------------- concurrency

def test_concurrent_connections(lab, client):
    """100 connections at once into one remote forward, 256 KiB each, each
    with distinct data."""
    conns, size = 100, 256 * KiB
    sshd = lab.sshd()
    echo = lab.echo()
    t = rl.start_remote(lab, client, sshd, [echo.addr])
    rl.check_concurrent_echo(t.port, echo, t, conns, size, 120)


# ---------------------------------------------------------------- port 0 and fixed ports

@pytest.mark.parametrize('spelling', ['flag', 'option'])
def test_allocated_port(lab, client, spelling):
    """-R 127.0.0.1:0:H:P (or -o RemoteForward="127.0.0.1:0 H:P"): the client
    prints 'Allocated port N for remote forward to H:P' exactly once, sshd
    listens on N, and N carries data to H:P."""
    sshd = lab.sshd()
    echo = lab.echo()
    if spelling == 'flag':
        extra = ['-R', f'{LOCALHOST}:0:{LOCALHOST}:{echo.port}']
    else:
        extra = ['-o', f'RemoteForward={LOCALHOST}:0 {LOCALHOST}:{echo.port}']
    argv = rl.client_argv(client, sshd.port, identity=lab.keys.user['ed25519'],
                          known_hosts=lab.known_hosts(sshd), extra=extra)
    cp = rl.start_client(lab, client, argv)
    [port] = rl.wait_allocated(cp, [echo.addr], server_log=sshd.log_text)
    assert 0 < port < 65536
    assert fl.listens_on(sshd.procs[-1].pid, port), 'sshd does not hold the allocated port'
    assert rl.listen_addrs(port) == {LOCALHOST}
    count, digest = rl.echo_exchange(port, 300000, 23)
    assert (count, digest) == (300000, fl.pattern_sha256(300000, 23))
    assert len(rl.ALLOCATED_REMOTE_RE.findall(cp.stderr())) == 1, cp.stderr()
    assert cp.alive()


@pytest.mark.parametrize('verbose', [False, True], ids=['quiet', 'v'])
def test_fixed_port(lab, client, verbose):
    """A non-zero listen port (chosen by the kernel a moment before, retried
    if someone took it meanwhile): no 'Allocated port' line; with -v the
    acceptance is logged; the port carries data."""
    sshd = lab.sshd()
    echo = lab.echo()
    ok_re = {'ferry': r'^debug1: remote forward {spec}: listening on the server\'s port {port}\s*$',
             'ssh': r'^debug1: remote forward success for: listen {bind}:{port}, '
                    r'connect {host}:{hport}\s*$'}[client]
    for attempt in range(5):
        port = fl.pick_free_port()
        spec = f'{LOCALHOST}:{port}:{LOCALHOST}:{echo.port}'
        argv = rl.client_argv(client, sshd.port, identity=lab.keys.user['ed25519'],
                              known_hosts=lab.known_hosts(sshd), remote=[spec],
                              extra=['-v'] if verbose else [])
        cp = rl.start_client(lab, client, argv)
        if verbose:
            rx = ok_re.format(spec=re.escape(spec), port=port, bind=re.escape(LOCALHOST),
                              host=re.escape(LOCALHOST), hport=echo.port)
            ready = cp.wait_for(rx, timeout=fl.READY_TIMEOUT) is not None
        else:
            ready = rl.wait_until(lambda: not cp.alive() or rl.listen_addrs(port),
                                  fl.READY_TIMEOUT) and cp.alive()
        if ready:
            break
        cp.stop()
        if 'remote port forwarding failed' not in cp.stderr():
            break                           # not a port race
    assert ready, (f'forward to fixed port {port} not up; exit {cp.proc.returncode}\n'
                   f'stderr:\n{cp.stderr()}\nsshd log:\n{fl.tail(sshd.log_text())}')
    assert rl.listen_addrs(port) == {LOCALHOST}
    assert fl.echo_roundtrip(port, b'fixed port') == b'fixed port'
    assert 'Allocated port' not in cp.stderr(), cp.stderr()
    if client == 'ferry' and not verbose:
        assert cp.stderr() == '', f'ferry printed at default verbosity:\n{cp.stderr()}'
    assert cp.alive()


# ---------------------------------------------------------------- refused forwards

def _busy_port():
    """A socket LISTENing on 127.0.0.1:P (never accepted from): sshd cannot
    bind P there."""
    s = socket.socket()
    s.bind((LOCALHOST, 0))
    s.listen(1)
    return s, s.getsockname()[1]


def test_port_in_use_exit_on_failure(lab, client):
    """-R 127.0.0.1:P:... where P is taken on the server, ExitOnForwardFailure=yes:
    warning (ferry) / error message and exit 255."""
    sshd = lab.sshd()
    echo = lab.echo()
    busy, port = _busy_port()
    lab.sockets.append(busy)
    spec = f'{LOCALHOST}:{port}:{LOCALHOST}:{echo.port}'
    argv = rl.client_argv(client, sshd.port, identity=lab.keys.user['ed25519'],
                          known_hosts=lab.known_hosts(sshd), remote=[spec],
                          options={'ExitOnForwardFailure': 'yes'})
    cp = rl.start_client(lab, client, argv)
    rc = cp.wait_exit(fl.EXIT_TIMEOUT)
    err = cp.stderr()
    assert rc == 255, f'exit status {rc}, expected 255\nstderr:\n{err}'
    assert f'Error: remote port forwarding failed for listen port {port}' in err, err
    if client == 'ferry':
        assert (f'Warning: remote port forwarding failed for listen port {port} '
                f'(forward -R {spec}: the server refused it)') in err, err
    assert echo.accepted == 0


def test_port_in_use_others_keep_working(lab, client):
    """Without ExitOnForwardFailure a refused -R is a warning and the other
    forward of the same client carries data."""
    sshd = lab.sshd()
    echo = lab.echo()
    busy, port = _busy_port()
    lab.sockets.append(busy)
    bad = f'{LOCALHOST}:{port}:{LOCALHOST}:{echo.port}'
    good = f'{LOCALHOST}:0:{LOCALHOST}:{echo.port}'
    argv = rl.client_argv(client, sshd.port, identity=lab.keys.user['ed25519'],
                          known_hosts=lab.known_hosts(sshd), remote=[bad, good],
                          options={'ExitOnForwardFailure': 'no'})
    cp = rl.start_client(lab, client, argv)
    warn = f'Warning: remote port forwarding failed for listen port {port}'
    if client == 'ferry':
        warn += f' (forward -R {bad}: the server refused it)'
    assert cp.wait_for(re.escape(warn)), f'no {warn!r}:\n{cp.stderr()}'
    [good_port] = rl.wait_allocated(cp, [echo.addr], server_log=sshd.log_text)
    count, digest = rl.echo_exchange(good_port, 1 * MiB, 29)
    assert (count, digest) == (MiB, fl.pattern_sha256(MiB, 29))
    assert cp.alive(), f'client exited after a refused forward:\n{cp.stderr()}'
    assert 'Error:' not in cp.stderr()


def test_refused_forward_names_its_spec(lab, client):
    """sshd allows listening on 127.0.0.1 only (PermitListen): of two -R 0
    requests the first ('localhost') is refused and the second allowed. The
    refusal is reported with the refused forward's own spec and the allowed
    one is announced for, and carries data to, its own target (replies are
    matched to requests in order)."""
    sshd = lab.sshd(config=[f'PermitListen {LOCALHOST}:*'])
    echo_a, echo_b = lab.echo(), lab.echo()
    refused = f'localhost:0:{LOCALHOST}:{echo_a.port}'
    allowed = f'{LOCALHOST}:0:{LOCALHOST}:{echo_b.port}'
    argv = rl.client_argv(client, sshd.port, identity=lab.keys.user['ed25519'],
                          known_hosts=lab.known_hosts(sshd), remote=[refused, allowed],
                          options={'ExitOnForwardFailure': 'no'})
    cp = rl.start_client(lab, client, argv)
    warn = 'Warning: remote port forwarding failed for listen port 0'
    if client == 'ferry':
        warn += f' (forward -R {refused}: the server refused it)'
    assert cp.wait_for(re.escape(warn)), f'no {warn!r}:\n{cp.stderr()}'
    [port] = rl.wait_allocated(cp, [echo_b.addr], server_log=sshd.log_text)
    assert fl.echo_roundtrip(port, b'to b') == b'to b'
    assert (echo_a.accepted, echo_b.accepted) == (0, 1)
    assert len(re.findall('remote port forwarding failed', cp.stderr())) == 1, cp.stderr()
    assert cp.alive()


# ---------------------------------------------------------------- GatewayPorts

LOOPBACK = {'127.0.0.1'} | ({'::1'} if IPV6 else set())
WILDCARD = {'0.0.0.0'} | ({'::'} if IPV6 else set())
# bind field of the -R spec -> (address the client must send, listeners for
# GatewayPorts no, listeners for GatewayPorts clientspecified)
GATEWAY_CASES = {
    None: ('localhost', LOOPBACK, LOOPBACK),
    '': ('', LOOPBACK, WILDCARD),
    '*': ('', LOOPBACK, WILDCARD),
    'localhost': ('localhost', LOOPBACK, LOOPBACK),
    '127.0.0.1': ('127.0.0.1', {'127.0.0.1'}, {'127.0.0.1'}),
}


@pytest.mark.parametrize('bind', list(GATEWAY_CASES),
                         ids=['none', 'empty', 'star', 'localhost', '127.0.0.1'])
@pytest.mark.parametrize('gateway', ['no', 'clientspecified'])
def test_gateway_ports(lab, client, gateway, bind):
    """The bind address is sent as OpenSSH does (none -> "localhost", "" or
    "*" -> "", else as given) and the server-side listener is where sshd's
    GatewayPorts rules put it (checked in /proc/net/tcp{,6}). Traffic only
    goes to 127.0.0.1."""
    sent, expect_no, expect_cs = GATEWAY_CASES[bind]
    expect = expect_no if gateway == 'no' else expect_cs
    sshd = lab.sshd(config=[f'GatewayPorts {gateway}'], log_level='DEBUG1')
    echo = lab.echo()
    t = rl.start_remote(lab, client, sshd, [echo.addr], bind=bind)
    assert forward_requests(sshd.log_text()) == [(sent, '0')], \
        f'expected one tcpip-forward for {sent!r} port 0'
    assert rl.listen_addrs(t.port) == expect
    assert fl.echo_roundtrip(t.port, b'gateway') == b'gateway'


# ---------------------------------------------------------------- shutdown

def test_cancel_on_shutdown(lab, client):
    """SIGTERM: the client exits and the server-side port stops listening
    (ferry also cancels the forward explicitly before disconnecting)."""
    sshd = lab.sshd(log_level='DEBUG1')
    echos = [lab.echo(), lab.echo()]     # (ssh drops a duplicate -R)
    t = rl.start_remote(lab, client, sshd, [e.addr for e in echos])
    for p in t.ports:
        assert fl.echo_roundtrip(p, b'up') == b'up'
    held = fl.connect(t.ports[0])               # a live channel at the time
    try:
        t.proc.signal(signal.SIGTERM)
        rc = t.proc.wait_exit(5)
        assert rc is not None, 'client still running 5s after SIGTERM'
    finally:
        held.close()
    for p in t.ports:
        assert rl.wait_until(lambda: not rl.listen_addrs(p), 5), \
            f'server port {p} still listening 5s after the client exited'
    if client == 'ferry':
        # sshd's session child hands its log lines to the monitor process,
        # which writes them: a line can land after the port closed.
        for p in t.ports:
            want = f'cancel-tcpip-forward addr {LOCALHOST} port {p}'
            assert rl.wait_until(lambda: want in sshd.log_text(), 5), \
                f'sshd never saw {want!r}'
