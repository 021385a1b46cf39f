"""sockslab: a SOCKS client for the -D / remote dynamic tests, Unix-socket
targets for the streamlocal tests, and the client plumbing both need.

SOCKS (RFC 1928 for version 5; the SOCKS4 and SOCKS4a protocol notes):

  connect()           CONNECT through a SOCKS server, version '4', '4a' or '5'
                      (SOCKS5 with ATYP 1/3/4 picked from the host, or forced);
                      returns the connected socket, or raises SocksReplyError
                      (a well-formed reply with a failure code: .code),
                      SocksClosed (the server closed before a complete reply)
                      or SocksProtocolError (a reply that breaks the protocol)
  socks4_request() / socks4a_request() / socks5_greeting() / socks5_request()
                      the raw request bytes, for malformed-input tests
  read_socks4_reply() / read_socks5_method() / read_socks5_reply()
                      every reply byte checked: SOCKS4 is 8 bytes with VN 0
                      and CD 90..93; the SOCKS5 method selection is 2 bytes,
                      VER 5 and one of the offered methods; a SOCKS5 reply is
                      VER 5, REP, RSV 0, ATYP 1/3/4 and BND.ADDR/BND.PORT of
                      the length ATYP implies (10 bytes for IPv4, 22 for IPv6,
                      7 + n for a name)
  request_outcome()   one request, reported as an Outcome: granted, a failure
                      reply (code, and whether the server then closed), or
                      closed without a complete reply
  wait_closed() / send_raw()   read until EOF/reset (or not, within a time);
                      raw bytes in, what came back and how it ended out

Unix sockets (paths must fit sun_path's 108 bytes, so they live in a short
directory made by short_dir(): /tmp/fsXXXXXXXX):

  short_tmp(lab)      a ShortDir the Lab removes last, after clients and servers
  UnixServer / UnixEcho   ferrylab's TcpServer / EchoServer on a Unix socket
                      (same handlers, same bounds); unix_echo(lab, path)
                      registers one with the Lab
  unix_connect() / accepts()   a connected AF_UNIX socket with a timeout /
                      whether a connect succeeds
  holds_unix_listener(pids, path)   a process (or a descendant) holds a
                      LISTENing Unix socket bound to path (/proc/net/unix)
  server_pids()       the processes of an Sshd (live sessions) or a Ferryd

Clients:

  start_dynamic()     ferry/ssh with -D (or -o DynamicForward): the port
                      ferry announces ("Allocated port N for dynamic
                      forward"), or for ssh a port picked by bind-0-and-close
                      and the ssh pid holding the LISTEN socket
  start_rdynamic()    ferry/ssh with -R [bind:]0 and no destination: the port
                      announced as "Allocated port N for remote forward"
                      (ssh appends " to ..."), checked to be LISTENing

Everything runs on 127.0.0.1 / ::1 / Unix sockets in our own directory, every
socket operation has a timeout and every loop a bound.
"""

import ipaddress
import os
import re
import shutil
import socket
import stat
import struct
import tempfile
import threading
from pathlib import Path

import ferrylab as fl
import remotelab as rl
from ferrylab import Deadline, LOCALHOST

# ---------------------------------------------------------------- SOCKS constants

CMD_CONNECT, CMD_BIND, CMD_UDP_ASSOCIATE = 1, 2, 3

SOCKS4_GRANTED = 0x5A
SOCKS4_REJECTED = 0x5B
SOCKS4_CODES = {0x5A: 'request granted', 0x5B: 'request rejected or failed',
                0x5C: 'rejected: no identd', 0x5D: 'rejected: identd user mismatch'}

SOCKS5_SUCCEEDED = 0x00
SOCKS5_GENERAL_FAILURE = 0x01
SOCKS5_NOT_ALLOWED = 0x02
SOCKS5_NET_UNREACHABLE = 0x03
SOCKS5_HOST_UNREACHABLE = 0x04
SOCKS5_CONN_REFUSED = 0x05
SOCKS5_TTL_EXPIRED = 0x06
SOCKS5_CMD_NOT_SUPPORTED = 0x07
SOCKS5_ATYP_NOT_SUPPORTED = 0x08
SOCKS5_CODES = {0: 'succeeded', 1: 'general SOCKS server failure',
                2: 'connection not allowed by ruleset', 3: 'network unreachable',
                4: 'host unreachable', 5: 'connection refused', 6: 'TTL expired',
                7: 'command not supported', 8: 'address type not supported'}

ATYP_IPV4, ATYP_DOMAIN, ATYP_IPV6 = 1, 3, 4
METHOD_NO_AUTH, METHOD_NONE_ACCEPTABLE = 0x00, 0xFF

REPLY_TIMEOUT = 15.0


class SocksError(Exception):
    """Base: what went wrong, the SOCKS version spoken and the reply bytes
    read so far."""

    def __init__(self, msg, *, version=None, code=None, reply=b''):
        super().__init__(msg)
        self.version, self.code, self.reply = version, code, bytes(reply)


class SocksReplyError(SocksError):
    """A complete, well-formed reply carrying a failure code (.code)."""


class SocksClosed(SocksError):
    """The server closed (EOF or reset) before a complete reply; .reply holds
    what did arrive (usually nothing)."""


class SocksProtocolError(SocksError, AssertionError):
    """A reply that breaks the protocol (wrong version, reserved byte,
    address type, method): always a bug in the server under test."""


# ---------------------------------------------------------------- request bytes

def _ipv4(host):
    return socket.inet_pton(socket.AF_INET, host)


def is_ip(host, family=None):
    try:
        a = ipaddress.ip_address(host)
    except ValueError:
        return False
    return family is None or a.version == family


def socks4_request(port, ip, cmd=CMD_CONNECT, user=b'ferrytest'):
    """SOCKS4: VN 4, CD, DSTPORT, DSTIP (IPv4 only), USERID, NUL."""
    return struct.pack('>BBH', 4, cmd, port) + _ipv4(ip) + user + b'\x00'


def socks4a_request(port, name, cmd=CMD_CONNECT, user=b'ferrytest'):
    """SOCKS4a: DSTIP 0.0.0.x (x != 0) and the name after the USERID's NUL,
    NUL-terminated; the server resolves the name."""
    if isinstance(name, str):
        name = name.encode()
    return struct.pack('>BBH', 4, cmd, port) + b'\x00\x00\x00\x01' + user + b'\x00' + \
        name + b'\x00'


def socks5_greeting(methods=(METHOD_NO_AUTH,)):
    return bytes([5, len(methods)]) + bytes(methods)


def socks5_address(host, atyp=None):
    """ATYP + DST.ADDR for host (an IPv4/IPv6 literal or a name); atyp forces
    the type (a literal sent as ATYP 3 is sent as its text)."""
    if atyp is None:
        atyp = ATYP_IPV4 if is_ip(host, 4) else ATYP_IPV6 if is_ip(host, 6) else ATYP_DOMAIN
    if atyp == ATYP_IPV4:
        return bytes([ATYP_IPV4]) + _ipv4(host)
    if atyp == ATYP_IPV6:
        return bytes([ATYP_IPV6]) + socket.inet_pton(socket.AF_INET6, host)
    name = host.encode() if isinstance(host, str) else host
    if not 0 < len(name) < 256:
        raise ValueError(f'SOCKS5 name of {len(name)} bytes')
    return bytes([ATYP_DOMAIN, len(name)]) + name


def socks5_request(host, port, cmd=CMD_CONNECT, atyp=None):
    """VER 5, CMD, RSV 0, ATYP, DST.ADDR, DST.PORT."""
    return bytes([5, cmd, 0]) + socks5_address(host, atyp) + struct.pack('>H', port)


# ---------------------------------------------------------------- reading replies

def recv_exact(sock, n, deadline, *, version=None, so_far=b'', what='reply'):
    """n bytes from sock; SocksClosed (carrying so_far + what came) on EOF or
    reset, TimeoutError when the deadline passes."""
    got = bytearray()
    while len(got) < n:
        sock.settimeout(deadline.left(fl.IO_TIMEOUT))
        try:
            b = sock.recv(n - len(got))
        except ConnectionResetError:
            b = None
        except socket.timeout:
            raise TimeoutError(f'SOCKS{version or ""} {what}: {len(got)} of {n} bytes '
                               f'after {deadline.seconds:g}s') from None
        if not b:
            seen = bytes(so_far) + bytes(got)
            raise SocksClosed(f'SOCKS{version or ""} server closed the connection '
                              f'({"reset" if b is None else "EOF"}) during the {what} '
                              f'after {len(seen)} byte(s): {seen!r}',
                              version=version, reply=seen)
        got += b
    return bytes(got)


class Socks5Reply:
    def __init__(self, code, atyp, addr, port, raw):
        self.code, self.atyp, self.addr, self.port, self.raw = code, atyp, addr, port, raw

    def __repr__(self):
        return (f'Socks5Reply(code={self.code:#04x} ({SOCKS5_CODES.get(self.code, "?")}), '
                f'atyp={self.atyp}, bnd={self.addr}:{self.port}, raw={self.raw!r})')


def read_socks4_reply(sock, deadline):
    """The 8-byte SOCKS4 reply: VN 0, CD 90..93, DSTPORT, DSTIP. Returns
    (code, port, ip, raw)."""
    raw = recv_exact(sock, 8, deadline, version='4', what='reply')
    if raw[0] != 0:
        raise SocksProtocolError(f'SOCKS4 reply version byte {raw[0]:#04x}, must be 0: {raw!r}',
                                 version='4', code=raw[1], reply=raw)
    if raw[1] not in SOCKS4_CODES:
        raise SocksProtocolError(f'SOCKS4 reply code {raw[1]:#04x} is not one of 90..93: '
                                 f'{raw!r}', version='4', code=raw[1], reply=raw)
    port = struct.unpack('>H', raw[2:4])[0]
    return raw[1], port, socket.inet_ntop(socket.AF_INET, raw[4:8]), raw


def read_socks5_method(sock, deadline, offered=(METHOD_NO_AUTH,)):
    """The 2-byte method selection: VER 5 and one of the offered methods (or
    0xFF, no acceptable method, raised as SocksReplyError with code 0xFF)."""
    raw = recv_exact(sock, 2, deadline, version='5', what='method selection')
    if raw[0] != 5:
        raise SocksProtocolError(f'SOCKS5 method selection version {raw[0]:#04x}, must be 5: '
                                 f'{raw!r}', version='5', reply=raw)
    if raw[1] == METHOD_NONE_ACCEPTABLE:
        raise SocksReplyError('SOCKS5 server accepts none of the offered methods',
                              version='5', code=raw[1], reply=raw)
    if raw[1] not in offered:
        raise SocksProtocolError(f'SOCKS5 server chose method {raw[1]:#04x}, which was not '
                                 f'offered ({list(offered)})', version='5', reply=raw)
    return raw[1]


def read_socks5_reply(sock, deadline):
    """VER 5, REP, RSV 0, ATYP, BND.ADDR (4, 16 or 1+n bytes), BND.PORT."""
    head = recv_exact(sock, 4, deadline, version='5', what='reply')
    ver, code, rsv, atyp = head
    if ver != 5:
        raise SocksProtocolError(f'SOCKS5 reply version {ver:#04x}, must be 5: {head!r}',
                                 version='5', code=code, reply=head)
    if rsv != 0:
        raise SocksProtocolError(f'SOCKS5 reply reserved byte {rsv:#04x}, must be 0: {head!r}',
                                 version='5', code=code, reply=head)
    if code not in SOCKS5_CODES:
        raise SocksProtocolError(f'SOCKS5 reply code {code:#04x} is not defined by RFC 1928',
                                 version='5', code=code, reply=head)
    if atyp == ATYP_IPV4:
        body = recv_exact(sock, 4 + 2, deadline, version='5', so_far=head, what='reply')
        addr = socket.inet_ntop(socket.AF_INET, body[:4])
    elif atyp == ATYP_IPV6:
        body = recv_exact(sock, 16 + 2, deadline, version='5', so_far=head, what='reply')
        addr = socket.inet_ntop(socket.AF_INET6, body[:16])
    elif atyp == ATYP_DOMAIN:
        ln = recv_exact(sock, 1, deadline, version='5', so_far=head, what='reply')
        body = ln + recv_exact(sock, ln[0] + 2, deadline, version='5', so_far=head + ln,
                               what='reply')
        addr = body[1:-2].decode(errors='replace')
        body = body[1:]
    else:
        raise SocksProtocolError(f'SOCKS5 reply address type {atyp}, must be 1, 3 or 4: '
                                 f'{head!r}', version='5', code=code, reply=head)
    port = struct.unpack('>H', body[-2:])[0]
    raw = head + (bytes([len(body) - 2]) if atyp == ATYP_DOMAIN else b'') + body
    return Socks5Reply(code, atyp, addr, port, raw)


# ---------------------------------------------------------------- the client

def open_proxy(proxy_port, proxy_host=LOCALHOST, timeout=fl.IO_TIMEOUT):
    """A plain TCP connection to the SOCKS listener."""
    return fl.connect(proxy_port, proxy_host, timeout)


def handshake(sock, version, host, port, *, cmd=CMD_CONNECT, atyp=None, user=b'ferrytest',
              timeout=REPLY_TIMEOUT):
    """Speak SOCKS `version` on a connected socket; returns the reply
    ((code, port, ip) for SOCKS4, a Socks5Reply for SOCKS5) when it grants
    the request, else raises (see the module doc)."""
    d = Deadline(timeout, f'SOCKS{version} handshake')
    sock.settimeout(d.left())
    if version == '4':
        if not is_ip(host, 4):
            raise ValueError(f'SOCKS4 carries IPv4 addresses only, not {host!r}')
        sock.sendall(socks4_request(port, host, cmd, user))
    elif version == '4a':
        sock.sendall(socks4a_request(port, host, cmd, user))
    elif version == '5':
        sock.sendall(socks5_greeting())
        read_socks5_method(sock, d)
        sock.settimeout(d.left())
        sock.sendall(socks5_request(host, port, cmd, atyp))
    else:
        raise ValueError(version)
    if version in ('4', '4a'):
        code, bport, bip, raw = read_socks4_reply(sock, d)
        if code != SOCKS4_GRANTED:
            raise SocksReplyError(f'SOCKS{version} request for {host}:{port} refused with '
                                  f'{code:#04x} ({SOCKS4_CODES[code]}): {raw!r}',
                                  version=version, code=code, reply=raw)
        return code, bport, bip
    rep = read_socks5_reply(sock, d)
    if rep.code != SOCKS5_SUCCEEDED:
        raise SocksReplyError(f'SOCKS5 request for {host}:{port} refused with '
                              f'{rep.code:#04x} ({SOCKS5_CODES[rep.code]}): {rep!r}',
                              version='5', code=rep.code, reply=rep.raw)
    return rep


def connect(proxy_port, version, host, port, *, proxy_host=LOCALHOST, cmd=CMD_CONNECT,
            atyp=None, timeout=REPLY_TIMEOUT):
    """A socket connected to host:port through the SOCKS server on
    proxy_host:proxy_port (closed again if the request fails)."""
    s = open_proxy(proxy_port, proxy_host)
    try:
        handshake(s, version, host, port, cmd=cmd, atyp=atyp, timeout=timeout)
    except BaseException:
        s.close()
        raise
    s.settimeout(fl.IO_TIMEOUT)
    return s


class Outcome:
    """How one SOCKS request ended: kind 'ok' | 'reply' (a failure reply,
    .code) | 'closed' (no complete reply; .received holds what came); for a
    failure reply, .extra and .after tell what followed it (bytes, then
    'eof' | 'reset' | 'open')."""

    def __init__(self, kind, code=None, received=b'', extra=b'', after=None):
        self.kind, self.code, self.received = kind, code, received
        self.extra, self.after = extra, after

    def __repr__(self):
        code = f', code={self.code:#04x}' if self.code is not None else ''
        return (f'Outcome({self.kind}{code}, received={self.received!r}, '
                f'then {self.extra!r} and {self.after})')


def request_outcome(proxy_port, version, host, port, *, proxy_host=LOCALHOST,
                    cmd=CMD_CONNECT, atyp=None, timeout=REPLY_TIMEOUT, close_wait=5.0):
    """Make one request and report how it ended (an Outcome); the socket is
    closed afterwards. After a failure reply we wait up to close_wait
    seconds for the server to close the connection."""
    s = open_proxy(proxy_port, proxy_host)
    try:
        try:
            handshake(s, version, host, port, cmd=cmd, atyp=atyp, timeout=timeout)
        except SocksReplyError as e:
            extra, after = wait_closed(s, close_wait)
            return Outcome('reply', e.code, e.reply, extra, after)
        except SocksClosed as e:
            return Outcome('closed', None, e.reply)
        return Outcome('ok')
    finally:
        s.close()


def wait_closed(sock, timeout=10.0):
    """Read until the peer closes: (bytes read, 'eof' | 'reset' | 'open' if
    still open after `timeout`)."""
    d = Deadline(timeout)
    got = bytearray()
    while len(got) < 1 << 20:
        r = d.remaining()
        if r <= 0:
            return bytes(got), 'open'
        sock.settimeout(r)
        try:
            b = sock.recv(65536)
        except socket.timeout:
            return bytes(got), 'open'
        except ConnectionResetError:
            return bytes(got), 'reset'
        if not b:
            return bytes(got), 'eof'
        got += b
    return bytes(got), 'open'


def send_raw(proxy_port, data, *, close_write=False, timeout=10.0, proxy_host=LOCALHOST):
    """Connect, send raw bytes (optionally SHUT_WR after them), and read until
    the server closes: (bytes read, 'eof' | 'reset' | 'open')."""
    s = open_proxy(proxy_port, proxy_host)
    try:
        try:
            if data:
                s.sendall(data)
            if close_write:
                s.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            return b'', 'reset'
        return wait_closed(s, timeout)
    finally:
        s.close()


# ---------------------------------------------------------------- Unix sockets

def short_dir(prefix='fs'):
    """A fresh 0700 directory /tmp/fsXXXXXXXX (short: sun_path holds 107
    bytes); the caller removes it with remove_dir()."""
    d = tempfile.mkdtemp(prefix=prefix, dir='/tmp')
    os.chmod(d, 0o700)
    return Path(d)


def remove_dir(d):
    shutil.rmtree(d, ignore_errors=True)


def check_sun_path(path):
    if len(os.fsencode(str(path))) > 107:
        raise ValueError(f'Unix socket path longer than 107 bytes: {path}')
    return str(path)


def unix_connect(path, timeout=fl.IO_TIMEOUT):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(check_sun_path(path))
    except BaseException:
        s.close()
        raise
    return s


def is_socket(path):
    try:
        return stat.S_ISSOCK(os.lstat(path).st_mode)
    except FileNotFoundError:
        return False


def file_mode(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


def accepts(path, timeout=5.0):
    """True if a connect() to the Unix socket at path succeeds."""
    try:
        s = unix_connect(path, timeout)
    except OSError:
        return False
    s.close()
    return True


def _unix_listener(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.bind(check_sun_path(path))
        s.listen(128)
    except BaseException:
        s.close()
        raise
    return s


def unix_listener_inodes(path):
    """Inodes of LISTENing Unix sockets bound to `path` (/proc/net/unix;
    flag 0x10000 is __SO_ACCEPTCON)."""
    out = set()
    try:
        lines = Path('/proc/net/unix').read_text().splitlines()[1:]
    except OSError:
        return out
    for ln in lines:
        parts = ln.split()
        if len(parts) >= 8 and parts[7] == str(path) and int(parts[3], 16) & 0x10000:
            out.add(parts[6])
    return out


def holds_unix_listener(pids, path):
    """True if one of `pids` (or a descendant) holds a LISTENing Unix socket
    bound to `path`."""
    want = unix_listener_inodes(path)
    if not want:
        return False
    for pid in pids:
        for p in fl.process_tree(pid):
            if want & fl.pid_socket_inodes(p):
                return True
    return False


def server_pids(server):
    """The processes of an Sshd (its live sessions) or a Ferryd."""
    if hasattr(server, 'procs'):
        return rl.sshd_session_pids(server)
    return [server.pid]


class ShortDir:
    """short_dir() owned by a Lab: put it in lab.sockets and Lab.close()
    removes it last, after every client and server is gone."""

    def __init__(self, prefix='fs'):
        self.path = short_dir(prefix)

    def __truediv__(self, name):
        return self.path / name

    def close(self):
        remove_dir(self.path)


class UnixServer(fl.TcpServer):
    """ferrylab.TcpServer's accept loop and handler threads on a Unix socket
    at `path` (bounded the same way: max_conns, lifetime, IO_TIMEOUT per
    connection). The accept loop wakes every 0.2 s to notice close()."""

    ACCEPT_POLL = 0.2

    def __init__(self, name, path, max_conns=10000, lifetime=fl.SSHD_LIFETIME):
        self.name = name
        self.path = Path(check_sun_path(path))
        self.host = None
        self.port = None
        self.listener = _unix_listener(self.path)
        self._serve_listener(max_conns, lifetime)

    @property
    def addr(self):
        return str(self.path)

    def close(self):
        super().close()
        try:
            if is_socket(self.path):
                self.path.unlink()
        except OSError:
            pass


class UnixEcho(UnixServer):
    """ferrylab.EchoServer on a Unix socket."""

    def __init__(self, path, **kw):
        self.bytes_echoed = 0
        self._count_lock = threading.Lock()
        super().__init__('unix-echo', path, **kw)

    handle = fl.EchoServer.handle


def unix_echo(lab, path):
    s = UnixEcho(path)
    lab.servers.append(s)
    return s


def short_tmp(lab):
    """A ShortDir removed when the lab closes (after clients and servers)."""
    d = ShortDir()
    lab.sockets.append(d)
    return d


# ---------------------------------------------------------------- transfers over any socket

def echo_exchange_sock(sock, n, start=0, seconds=60):
    """ferrylab.exchange on an already connected socket, which is closed
    afterwards; returns (count, sha256)."""
    try:
        return fl.exchange(sock, n, start, Deadline(seconds, f'echo exchange of {n}'))
    finally:
        sock.close()


def assert_echo_ok(result, n, start=0):
    count, digest = result
    assert count == n, f'{count} of {n} bytes came back before EOF'
    assert digest == fl.pattern_sha256(n, start), 'payload corrupted (SHA-256 differs)'


# ---------------------------------------------------------------- clients

DYNAMIC_ALLOCATED_RE = re.compile(r'Allocated port (\d+) for dynamic forward')
REMOTE_ALLOCATED_RE = re.compile(r'Allocated port (\d+) for remote forward')


def client_argv(lab, kind, server, *, local=(), remote=(), options=None, extra=(),
                identity='ed25519', known_hosts=None):
    """remotelab.client_argv for an Sshd or a Ferryd (both have .port and
    write_known_hosts)."""
    ident = lab.keys.user[identity] if identity in lab.keys.user else identity
    kh = known_hosts if known_hosts is not None else lab.known_hosts(server)
    return rl.client_argv(kind, server.port, identity=ident, known_hosts=kh, local=local,
                          remote=remote, options=options, extra=extra)


def server_log(server):
    return fl.tail(server.log_text())


class Dynamic:
    def __init__(self, proc, port):
        self.proc, self.port = proc, port
        self.pid = proc.pid

    def alive(self):
        return self.proc.alive()


def start_dynamic(lab, kind, server, *, bind=LOCALHOST, spelling='flag', options=None,
                  extra=(), timeout=fl.READY_TIMEOUT):
    """A client with one SOCKS listener on bind:port. ferry: port 0 and its
    "Allocated port N for dynamic forward" line, then ferry must hold the
    LISTEN socket; ssh: a port picked by bind-0-and-close (retried when
    another process took it) and the ssh pid holding the LISTEN socket."""
    def argv_for(port):
        spec = f'{fl.fmt_host(bind)}:{port}' if bind is not None else str(port)
        more = ['-o', f'DynamicForward={spec}'] if spelling == 'option' else ['-D', spec]
        return client_argv(lab, kind, server, options=options, extra=more + list(extra))

    if kind == 'ferry':
        cp = rl.start_client(lab, kind, argv_for(0))
        ms = cp.wait_for(DYNAMIC_ALLOCATED_RE, timeout=timeout)
        assert ms is not None, (f'ferry did not announce its -D port within {timeout:g}s '
                                f'(exit {cp.proc.poll()})\nargv: {" ".join(cp.argv)}\n'
                                f'stderr:\n{cp.stderr()}\nserver log:\n{server_log(server)}')
        port = int(ms[0].group(1))
        assert rl.wait_until(lambda: fl.listens_on(cp.pid, port), 5), \
            f'ferry announced -D port {port} but does not listen there:\n{cp.stderr()}'
        return Dynamic(cp, port)
    cp, [port] = fl.start_listening(
        lambda ports: rl.start_client(lab, kind, argv_for(ports[0])), 1,
        what=f'{kind} -D listener', server=server, log_label='server log',
        host=bind if bind and bind != 'localhost' else LOCALHOST, timeout=timeout, poll=0.02)
    return Dynamic(cp, port)


def wait_remote_port(cp, server, timeout=fl.READY_TIMEOUT, count=1):
    """The ports of the first `count` "Allocated port N for remote forward"
    lines; each must be LISTENing (on the server, which runs here too)."""
    ms = cp.wait_for(REMOTE_ALLOCATED_RE, count=count, timeout=timeout)
    assert ms is not None, (f'{cp.kind} did not announce {count} remote port(s) within '
                            f'{timeout:g}s (exit {cp.proc.poll()})\nargv: {" ".join(cp.argv)}'
                            f'\nstderr:\n{cp.stderr()}\nserver log:\n{server_log(server)}')
    ports = [int(m.group(1)) for m in ms]
    for p in ports:
        assert rl.wait_until(lambda: rl.listen_addrs(p), 5), \
            f'{cp.kind} announced remote port {p} but nothing listens there'
    return ports


def start_rdynamic(lab, kind, server, *, bind=LOCALHOST, options=None, extra=(),
                   timeout=fl.READY_TIMEOUT):
    """A client with `-R bind:0` (no destination: remote dynamic); returns
    (ClientProc, server-side port)."""
    spec = f'{fl.fmt_host(bind)}:0' if bind is not None else '0'
    cp = rl.start_client(lab, kind, client_argv(lab, kind, server, remote=[spec],
                                                options=options, extra=extra))
    [port] = wait_remote_port(cp, server, timeout)
    return cp, port
