"""What the user learns about forwards at the default log level (issue 11):
ferryd's reason for where it bound a -R, an address family that could not
be bound, a -L that failed to bind and is retried under Reconnect,
`ferry reconnect`, and `ferry up` naming each line's Host alias."""

import socket
import subprocess
import threading

import ferrylab as fl
from ferrylab import LOCALHOST, USER
from ferrydlab import ferryd, start_client  # noqa: F401 - ferryd is a fixture


def test_ferryd_says_where_it_bound(lab, ferryd):
    """The seed's question: -R 0.0.0.0:0 under GatewayPorts no lands on
    loopback; ferry shows ferryd's reason without -v."""
    srv = ferryd(config=['GatewayPorts no'])
    cp = start_client(lab, 'ferry', srv, remote=[f'0.0.0.0:0:{LOCALHOST}:9'])
    m = cp.wait_for(r'Remote: Forwarding (.+?) port (\d+) to the client \(asked "0\.0\.0\.0":0; '
                    r'([^)]*)\)', timeout=20)
    assert m, cp.stderr()
    assert '127.0.0.1' in m[0].group(1) and '0.0.0.0' not in m[0].group(1), m[0].group(0)
    assert 'GatewayPorts' in m[0].group(3), m[0].group(0)
    assert 'debug1' not in cp.stderr()          # no -v given


def test_local_one_family_fails(lab):
    """-L localhost:P with P taken on ::1 only: bound on 127.0.0.1, and the
    user is told at the default level why [::1] is missing."""
    sshd = lab.sshd()
    echo = lab.echo()
    s6 = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s6.bind(('::1', 0))
    s6.listen(1)
    port = s6.getsockname()[1]
    try:
        cp = fl.ClientProc('ferry', fl.client_argv(
            'ferry', sshd, forwards=[f'localhost:{port}:{LOCALHOST}:{echo.addr[1]}'],
            identity=lab.keys.user['ed25519'], known_hosts=lab.known_hosts(sshd)), lab.env)
        lab.clients.append(cp)
        assert fl.wait_until(lambda: fl.listens_on(cp.pid, port), 20), cp.stderr()
        assert fl.echo_roundtrip(port, b'v4') == b'v4'
        assert f'cannot listen on [::1]:{port}' in cp.stderr(), cp.stderr()
        assert 'listening on 127.0.0.1 only' in cp.stderr(), cp.stderr()
    finally:
        s6.close()


def reconnect_opts(delay='0.3'):
    return ['-o', 'Reconnect=yes', '-o', f'ReconnectDelay={delay}',
            '-o', 'ReconnectMaxDelay=1']


def test_local_bind_retried_under_reconnect(lab):
    """-L on a port in use: under Reconnect the forward is retried on its
    own schedule and comes up once the port is free, the others unharmed."""
    sshd = lab.sshd()
    echo = lab.echo()
    busy, port = fl.closed_port()
    try:
        cp = fl.ClientProc('ferry', fl.client_argv(
            'ferry', sshd, forwards=[f'{LOCALHOST}:{port}:{LOCALHOST}:{echo.addr[1]}',
                                     f'{LOCALHOST}:0:{LOCALHOST}:{echo.addr[1]}'],
            identity=lab.keys.user['ed25519'], known_hosts=lab.known_hosts(sshd),
            extra=reconnect_opts()), lab.env)
        lab.clients.append(cp)
        other = cp.wait_for(fl.ALLOCATED_RE, timeout=20)
        assert other, cp.stderr()
        assert cp.wait_for(r'Retrying 1 local forward in', timeout=20), cp.stderr()
        assert fl.echo_roundtrip(int(other[0].group(1)), b'other') == b'other'
    finally:
        busy.close()
    assert fl.wait_until(lambda: fl.listens_on(cp.pid, port), 20), cp.stderr()
    assert fl.echo_roundtrip(port, b'late') == b'late'


def test_ferry_reconnect_skips_the_backoff(lab):
    """A host that was unreachable, with a 60 s backoff: `ferry reconnect`
    makes the next attempt now."""
    sshd = lab.sshd()
    echo = lab.echo()
    busy, port = fl.closed_port()      # refused until a relay takes it
    ctl = lab.dir / 'ctl.sock'
    cfg = lab.dir / 'up.conf'
    kh = lab.dir / 'kh'                # the relay's port is what ferry sees
    kh.write_text(f'[{LOCALHOST}]:{port} {lab.keys.host_pub("ed25519")}\n')
    cfg.write_text(f'Host web\n  HostName {LOCALHOST}\n  Port {port}\n  User {USER}\n'
                   f'  IdentityFile {lab.keys.user["ed25519"]}\n  UserKnownHostsFile {kh}\n'
                   f'  BatchMode yes\n  ReconnectDelay 60\n  ReconnectMaxDelay 60\n'
                   f'  LocalForward {LOCALHOST}:0 {LOCALHOST}:{echo.addr[1]}\n')
    cp = fl.ClientProc('ferry', [fl.require_ferry(), 'up', '-F', str(cfg), '-S', str(ctl),
                                 'web'], lab.env)
    lab.clients.append(cp)
    assert cp.wait_for(r'web: Reconnect to 127\.0\.0\.1 failed: .*next attempt in \d\d', timeout=20), \
        cp.stderr()
    busy.close()
    relay = Relay(port, sshd.port)
    try:
        r = subprocess.run([fl.require_ferry(), 'reconnect', '-S', str(ctl), 'web'],
                           capture_output=True, text=True, timeout=20)
        assert r.returncode == 0 and '1 host retrying now' in r.stdout, (r.stdout, r.stderr)
        m = cp.wait_for(fl.ALLOCATED_RE, timeout=15)
        assert m, cp.stderr()
        assert fl.echo_roundtrip(int(m[0].group(1)), b'now') == b'now'
        assert 'web: connected to 127.0.0.1 port' in cp.stderr(), cp.stderr()
        assert 'web: Allocated port' in cp.stderr(), cp.stderr()
        r = subprocess.run([fl.require_ferry(), 'reconnect', '-S', str(ctl), 'nosuch'],
                           capture_output=True, text=True, timeout=20)
        assert r.returncode == 1 and 'no host nosuch' in r.stderr, (r.stdout, r.stderr)
    finally:
        relay.close()


class Relay(fl.TcpServer):
    """127.0.0.1:port (a fixed port) -> 127.0.0.1:target, both ways;
    bounded like every TcpServer."""

    def __init__(self, port, target):
        self.name, self.host, self.target = 'relay', LOCALHOST, target
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind((LOCALHOST, port))
        self.listener.listen(16)
        self.port = port
        self._serve_listener(100, fl.SSHD_LIFETIME)

    def handle(self, conn):
        up = socket.create_connection((LOCALHOST, self.target), timeout=10)
        up.settimeout(None)
        conn.settimeout(None)
        t = threading.Thread(target=pipe, args=(up, conn), daemon=True)
        t.start()
        pipe(conn, up)
        t.join(60)
        up.close()


def pipe(a, b):
    try:
        while True:
            d = a.recv(65536)
            if not d:
                break
            b.sendall(d)
        b.shutdown(socket.SHUT_WR)
    except OSError:
        pass
