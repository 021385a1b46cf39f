"""ferrylab: the harness shared by ferry's integration tests and its benchmark.

Everything here runs on 127.0.0.1 with ports chosen by the kernel, uses only the
Python standard library, and is bounded: every socket operation has a timeout,
every loop a count or a deadline, and every process we start is killed (by its
pid, or by the process group we created for it) when its owner is closed.

Pieces:
  KeySet      host and user keys made with ssh-keygen (once per session)
  Sshd        a real OpenSSH sshd in inetd mode: we own the listening socket and
              spawn `sshd -i -e -f CONFIG` for each accepted connection
  Echo/Sink/Source   target services the tunnel forwards to
  ClientProc  a ferry or ssh process with its stderr captured by a reader thread
  Tunnel      a ClientProc whose -L listeners are known to be up
  start_listening()  a client without a readiness line (ssh) on picked ports
  wait_until() / run_together()  a bounded poll / n calls released at once
  Lab         per-test owner of all of the above (closes them in order)

Data is a deterministic pseudo-random pattern (a prime-length random block
repeated, entered at a per-stream offset) so that every stream is checked by
SHA-256 and two streams carrying different offsets cannot be confused.
"""

import getpass
import hashlib
import os
import queue
import random
import re
import selectors
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent.parent

SSHD = os.environ.get('FERRY_TEST_SSHD', '/usr/sbin/sshd')
SSH = os.environ.get('FERRY_TEST_SSH', '/usr/bin/ssh')
SSH_KEYGEN = os.environ.get('FERRY_TEST_SSH_KEYGEN', '/usr/bin/ssh-keygen')
USER = getpass.getuser()
LOCALHOST = '127.0.0.1'
KiB = 1 << 10
MiB = 1 << 20

IO_TIMEOUT = 30.0       # any single socket operation
READY_TIMEOUT = 20.0    # a client reaching "forward listening"
EXIT_TIMEOUT = 20.0     # a client expected to exit by itself
SSHD_LIFETIME = 1800.0  # hard bound on an sshd accept loop

CLIENT_KINDS = ('ferry', 'ssh')

ALLOCATED_RE = re.compile(
    r'Allocated port (\d+) for local forward to (\S+?):(\d+)\s*$', re.M)
SANITIZER_RE = re.compile(
    r'AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|'
    r'ThreadSanitizer|MemorySanitizer|runtime error:|Segmentation fault|'
    r'double free|stack smashing detected|malloc\(\): ')
CRASH_SIGNALS = {signal.SIGSEGV, signal.SIGABRT, signal.SIGBUS, signal.SIGILL,
                 signal.SIGFPE, signal.SIGTRAP}


def _unignore_signals():
    """A signal ignored here stays ignored in every child across exec: under
    `pytest ... &` in a script SIGINT is SIG_IGN, and OpenSSH ssh keeps an
    inherited SIG_IGN, so a SIGINT test would hang. A caught signal is reset to
    SIG_DFL by exec, so catching these with a no-op handler gives children the
    default disposition while this process keeps ignoring them in effect."""
    if threading.current_thread() is not threading.main_thread():
        return
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
        try:
            if signal.getsignal(sig) == signal.SIG_IGN:
                signal.signal(sig, lambda signum, frame: None)
        except (ValueError, OSError):
            pass


_unignore_signals()


def ferry_bin():
    """The ferry binary: $FERRY_BIN, else <repo>/build/ferry."""
    v = os.environ.get('FERRY_BIN')
    return Path(v).resolve() if v else REPO_ROOT / 'build' / 'ferry'


class FerryMissing(Exception):
    pass


def require_ferry():
    b = ferry_bin()
    if not (b.is_file() and os.access(b, os.X_OK)):
        raise FerryMissing(
            f'ferry binary not found or not executable at {b} '
            f'(build it, or set FERRY_BIN); this is a build failure, not a skip')
    return str(b)


class Deadline:
    """A point in time; left() is what remains, raising once it has passed."""

    def __init__(self, seconds, what='operation'):
        self.seconds = seconds
        self.what = what
        self.end = time.monotonic() + seconds

    def remaining(self):
        return self.end - time.monotonic()

    def expired(self):
        return self.remaining() <= 0

    def left(self, cap=None):
        r = self.remaining()
        if r <= 0:
            raise TimeoutError(f'{self.what}: no result within {self.seconds:g}s')
        return min(r, cap) if cap is not None else r


def wait_until(pred, timeout, interval=0.02):
    """Poll pred() until it is true or `timeout` seconds passed; returns its
    last value."""
    d = Deadline(timeout)
    while True:
        v = pred()
        if v or d.expired():
            return v
        time.sleep(min(interval, max(0.0, d.remaining())))


def run_together(n, fn, seconds, what='connections'):
    """fn(i) for i in range(n), each in its own thread, all released at once
    (a barrier that waits 30 s at most for the n threads). Returns the n
    results in order, the exception in place of a call that raised one.
    Fails when a call is still running `seconds` after the start."""
    results = [None] * n
    gate = threading.Barrier(n, timeout=30)

    def one(i):
        try:
            gate.wait()
            results[i] = fn(i)
        except Exception as e:  # noqa: BLE001 - handed to the caller
            results[i] = e

    threads = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(n)]
    for th in threads:
        th.start()
    d = Deadline(seconds, what)
    for th in threads:
        th.join(max(0.0, d.remaining()))
    stuck = sum(th.is_alive() for th in threads)
    assert stuck == 0, f'{stuck} {what} still running after {seconds:g}s'
    return results


# ---------------------------------------------------------------- data pattern

PATTERN_BLOCK = 1048573          # largest prime below 2**20: never packet-aligned
_BLOCK = random.Random(0x6665727279).randbytes(PATTERN_BLOCK)
_DOUBLE = memoryview(_BLOCK + _BLOCK)
_sha_cache = {}
_sha_lock = threading.Lock()


def pattern_chunks(n, start=0, chunk=MiB):
    """Yield memoryviews covering n bytes of the pattern entered at `start`."""
    chunk = min(chunk, PATTERN_BLOCK)
    off = start % PATTERN_BLOCK
    left = n
    while left > 0:
        k = min(chunk, left)
        yield _DOUBLE[off:off + k]
        off = (off + k) % PATTERN_BLOCK
        left -= k


def pattern_bytes(n, start=0):
    return b''.join(pattern_chunks(n, start))


def pattern_sha256(n, start=0):
    key = (n, start % PATTERN_BLOCK)
    with _sha_lock:
        if key in _sha_cache:
            return _sha_cache[key]
    h = hashlib.sha256()
    for c in pattern_chunks(n, start):
        h.update(c)
    d = h.hexdigest()
    with _sha_lock:
        _sha_cache[key] = d
    return d


def stream_start(i):
    """A distinct pattern offset for stream number i."""
    return (i * 7919 + 1) % PATTERN_BLOCK


# ---------------------------------------------------------------- socket I/O

def connect(port, host=LOCALHOST, timeout=IO_TIMEOUT):
    fam = socket.AF_INET6 if ':' in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect((host, port))
    except BaseException:
        s.close()
        raise
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def send_pattern(sock, n, start=0, deadline=None, chunk=MiB, progress=None):
    """Blocking send of n pattern bytes (bounded by deadline)."""
    deadline = deadline or Deadline(120, 'send')
    sent = 0
    for c in pattern_chunks(n, start, chunk):
        sock.settimeout(deadline.left(IO_TIMEOUT))
        sock.sendall(c)
        sent += len(c)
        if progress is not None:
            progress(sent)
    return sent


def recv_to_eof(sock, deadline=None, hash=True, limit=None, bufsize=MiB):
    """Read until EOF. Returns (count, sha256 hex or None)."""
    deadline = deadline or Deadline(120, 'receive')
    h = hashlib.sha256() if hash else None
    buf = bytearray(bufsize)
    mv = memoryview(buf)
    count = 0
    while True:
        sock.settimeout(deadline.left(IO_TIMEOUT))
        k = sock.recv_into(buf)
        if k == 0:
            break
        count += k
        if h is not None:
            h.update(mv[:k])
        if limit is not None and count > limit:
            raise AssertionError(f'received {count} bytes, more than the {limit} expected')
    return count, (h.hexdigest() if h is not None else None)


def exchange(sock, n, start=0, deadline=None, chunk=256 * KiB):
    """Echo round trip: send n pattern bytes while reading, shut down the write
    side after the last byte, keep reading until EOF.

    Returns (count, sha256 hex) of what came back. Never deadlocks on full
    buffers because sending and receiving are interleaved with a selector.
    """
    deadline = deadline or Deadline(120, 'echo exchange')
    sel = selectors.DefaultSelector()
    sock.setblocking(False)
    chunks = pattern_chunks(n, start, chunk)
    pending = None
    pos = 0
    write_done = False
    h = hashlib.sha256()
    buf = bytearray(MiB)
    mv = memoryview(buf)
    count = 0
    try:
        if n == 0:
            sock.shutdown(socket.SHUT_WR)
            write_done = True
        sel.register(sock, selectors.EVENT_READ |
                     (0 if write_done else selectors.EVENT_WRITE))
        while True:
            events = sel.select(timeout=deadline.left(IO_TIMEOUT))
            if not events:
                raise TimeoutError(
                    f'echo exchange stalled for {IO_TIMEOUT:g}s: sent '
                    f'{"all" if write_done else "part"} of {n}, got {count} back')
            mask = events[0][1]
            if mask & selectors.EVENT_READ:
                try:
                    k = sock.recv_into(buf)
                except BlockingIOError:
                    k = None
                if k == 0:
                    break           # EOF (possibly early: caller compares)
                if k:
                    count += k
                    h.update(mv[:k])
            if (mask & selectors.EVENT_WRITE) and not write_done:
                if pending is None:
                    pending = next(chunks, None)
                    pos = 0
                if pending is not None:
                    try:
                        pos += sock.send(pending[pos:])
                    except BlockingIOError:
                        pass
                    if pos >= len(pending):
                        pending = None
                if pending is None and not write_done:
                    # Look ahead: are we out of chunks?
                    nxt = next(chunks, None)
                    if nxt is None:
                        sock.shutdown(socket.SHUT_WR)
                        write_done = True
                        sel.modify(sock, selectors.EVENT_READ)
                    else:
                        pending, pos = nxt, 0
    finally:
        sel.close()
        sock.setblocking(True)
    return count, h.hexdigest()


def echo_roundtrip(port, payload=b'x', host=LOCALHOST, timeout=IO_TIMEOUT):
    """Connect, send payload, read it back, close. Returns the bytes read."""
    s = connect(port, host, timeout)
    try:
        s.sendall(payload)
        got = b''
        d = Deadline(timeout, 'echo roundtrip')
        while len(got) < len(payload):
            s.settimeout(d.left())
            b = s.recv(len(payload) - len(got))
            if not b:
                break
            got += b
        return got
    finally:
        s.close()


# ---------------------------------------------------------------- target services

class AcceptThread:
    """What TcpServer and Sshd share: `self.listener` served by a daemon
    thread running self._accept_loop(), which ends once `self._closing` is
    set (or the listener is shut down)."""

    def _start_accepting(self, name):
        self._closing = False
        self._thread = threading.Thread(target=self._accept_loop, name=name, daemon=True)
        self._thread.start()

    def _stop_accepting(self, timeout=5):
        """Wake the accept loop (shutdown of the listener), wait for it
        (bounded), close the listener."""
        self._closing = True
        try:
            self.listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._thread.join(timeout)
        self.listener.close()


class TcpServer(AcceptThread):
    """Listener on 127.0.0.1:0 (or ::1) with one handler thread per connection.

    Bounded: stops after max_conns connections or `lifetime` seconds, and on
    close(); handler sockets carry IO_TIMEOUT. A subclass with another kind
    of listener makes it and calls _serve_listener() instead.
    """

    ACCEPT_POLL = None   # None: accept() sleeps until a connection or the end
    #                      of `lifetime`; else it wakes this often to check _closing

    def __init__(self, name, host=LOCALHOST, max_conns=10000, lifetime=SSHD_LIFETIME,
                 backlog=1024):
        self.name = name
        self.host = host
        fam = socket.AF_INET6 if ':' in host else socket.AF_INET
        self.listener = socket.socket(fam, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind((host, 0))
        self.listener.listen(backlog)
        self.port = self.listener.getsockname()[1]
        self._serve_listener(max_conns, lifetime)

    def _serve_listener(self, max_conns, lifetime):
        """Accept on self.listener from now on, one handler thread per
        connection."""
        self.max_conns = max_conns
        self.lifetime = lifetime
        self.accepted = 0
        self.errors = []
        self._live = {}
        self._lock = threading.Lock()
        self._start_accepting(f'{self.name}-accept')

    @property
    def addr(self):
        return (self.host, self.port)

    def _accept_loop(self):
        end = time.monotonic() + self.lifetime
        while not self._closing and self.accepted < self.max_conns:
            left = end - time.monotonic()
            if left <= 0:
                break
            try:
                self.listener.settimeout(left if self.ACCEPT_POLL is None
                                         else min(self.ACCEPT_POLL, max(0.01, left)))
                conn, _ = self.listener.accept()
            except socket.timeout:
                if self.ACCEPT_POLL is None:
                    break
                continue
            except OSError:
                break
            self.accepted += 1
            conn.settimeout(IO_TIMEOUT)
            t = threading.Thread(target=self._serve, args=(conn,),
                                 name=f'{self.name}-conn', daemon=True)
            with self._lock:
                self._live[t] = conn
            t.start()

    def _serve(self, conn):
        try:
            self.handle(conn)
        except Exception as e:  # noqa: BLE001 - recorded for the test
            self.errors.append(f'{type(e).__name__}: {e}')
        finally:
            try:
                conn.close()
            finally:
                with self._lock:
                    self._live.pop(threading.current_thread(), None)

    def handle(self, conn):
        raise NotImplementedError

    def close(self):
        self._stop_accepting()
        with self._lock:
            live = list(self._live.items())
        for _, c in live:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        d = Deadline(5, 'server threads')
        for t, _ in live:
            t.join(max(0.0, d.remaining()))


class EchoServer(TcpServer):
    """Echoes everything; on EOF shuts down its write side after the last byte."""

    def __init__(self, host=LOCALHOST, **kw):
        super().__init__('echo', host, **kw)
        self.bytes_echoed = 0
        self._count_lock = threading.Lock()

    def handle(self, conn):
        buf = bytearray(256 * KiB)
        mv = memoryview(buf)
        total = 0
        try:
            while True:
                k = conn.recv_into(buf)
                if k == 0:
                    break
                conn.sendall(mv[:k])
                total += k
            conn.shutdown(socket.SHUT_WR)
        finally:
            with self._count_lock:
                self.bytes_echoed += total


class SinkResult:
    def __init__(self, count, sha256, error=None):
        self.count, self.sha256, self.error = count, sha256, error

    def __repr__(self):
        return f'SinkResult(count={self.count}, sha256={self.sha256}, error={self.error})'


class SinkServer(TcpServer):
    """Reads each connection to EOF; reports (count, SHA-256) per connection."""

    def __init__(self, host=LOCALHOST, hash=True, **kw):
        super().__init__('sink', host, **kw)
        self.hash = hash
        self.results = queue.Queue()

    def handle(self, conn):
        try:
            count, digest = recv_to_eof(conn, Deadline(SSHD_LIFETIME, 'sink'),
                                        hash=self.hash)
        except Exception as e:
            self.results.put(SinkResult(-1, None, f'{type(e).__name__}: {e}'))
            raise
        self.results.put(SinkResult(count, digest))

    def result(self, timeout=IO_TIMEOUT):
        try:
            return self.results.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError(f'sink reported nothing within {timeout:g}s') from None


class SourceServer(TcpServer):
    """Sends `nbytes` of the pattern (from `start`) to each connection, then closes."""

    def __init__(self, nbytes, start=0, host=LOCALHOST, **kw):
        super().__init__('source', host, **kw)
        self.nbytes = nbytes
        self.start_off = start
        self.sent = queue.Queue()

    def handle(self, conn):
        n = send_pattern(conn, self.nbytes, self.start_off,
                         Deadline(SSHD_LIFETIME, 'source'))
        conn.shutdown(socket.SHUT_WR)
        self.sent.put(n)


def closed_port(host=LOCALHOST):
    """A socket bound but not listening: connects to its port are refused,
    and nobody else can take the port while we hold it."""
    fam = socket.AF_INET6 if ':' in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.bind((host, 0))
    return s, s.getsockname()[1]


# ---------------------------------------------------------------- keys

def keygen(path, alg, passphrase='', comment=None):
    args = [SSH_KEYGEN, '-q', '-t', alg, '-N', passphrase, '-f', str(path),
            '-C', comment or f'ferry-test-{path.name}']
    if alg == 'ecdsa':
        args += ['-b', '256']
    return subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)


def algs_as_ferry(ssh_list, ferry_default):
    """What ferry -G prints for an algorithm list that ssh -G prints as
    ssh_list: its names less those ferry does not implement (all of which
    ferry's default lists), in ssh's order."""
    have = set(ferry_default.split(','))
    return ','.join(n for n in ssh_list.split(',') if n in have)


def read_pub(path):
    """'alg base64' of a .pub file (comment dropped)."""
    fields = Path(str(path) + '.pub').read_text().split()
    return f'{fields[0]} {fields[1]}'


class KeySet:
    """Host keys (ed25519, ecdsa, rsa, plus a second ed25519 'ed25519-other')
    and user keys (ed25519, ecdsa, rsa, 'unauthorized', 'encrypted')."""

    HOST = {'ed25519': 'ed25519', 'ecdsa': 'ecdsa', 'rsa': 'rsa', 'ed25519-other': 'ed25519'}
    USER = {'ed25519': 'ed25519', 'ecdsa': 'ecdsa', 'rsa': 'rsa',
            'unauthorized': 'ed25519', 'encrypted': 'ed25519'}
    PASSPHRASE = 'correct horse battery staple'

    def __init__(self, directory, host=None, user=None):
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.dir, 0o700)
        host = host or list(self.HOST)
        user = user or list(self.USER)
        self.host = {n: self.dir / f'host_{n}' for n in host}
        self.user = {n: self.dir / f'user_{n}' for n in user}
        jobs = []
        for n, p in self.host.items():
            jobs.append((p, keygen(p, self.HOST[n])))
        for n, p in self.user.items():
            jobs.append((p, keygen(p, self.USER[n],
                                   self.PASSPHRASE if n == 'encrypted' else '')))
        for p, j in jobs:
            out, _ = j.communicate(timeout=60)
            if j.returncode != 0:
                raise RuntimeError(f'ssh-keygen for {p} failed: {out.decode(errors="replace")}')

    def host_pub(self, name):
        return read_pub(self.host[name])

    def user_pub(self, name):
        return read_pub(self.user[name])


# ---------------------------------------------------------------- sshd

class Sshd(AcceptThread):
    """OpenSSH sshd in inetd mode behind a listener we own on 127.0.0.1:0
    (or `host`:0, an IPv4 address of this machine).

    `config` lines come first in sshd_config, so they win over the defaults
    (sshd keeps the first value it reads for a keyword). No Match blocks.
    """

    def __init__(self, workdir, keys, *, host_keys=('ed25519',), config=(),
                 log_level='VERBOSE', authorized=('ed25519', 'ecdsa', 'rsa', 'encrypted'),
                 max_conns=500, lifetime=SSHD_LIFETIME, host=LOCALHOST):
        os.makedirs('/run/sshd', mode=0o755, exist_ok=True)   # privsep dir
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.keys = keys
        self.host_keys = tuple(host_keys)
        self.authorized_keys = self.dir / 'authorized_keys'
        self.authorized_keys.write_text(''.join(keys.user_pub(n) + '\n' for n in authorized))
        self.config_path = self.dir / 'sshd_config'
        lines = list(config) + [f'HostKey {keys.host[k]}' for k in self.host_keys] + [
            f'AuthorizedKeysFile {self.authorized_keys}',
            'PidFile none',
            'UsePAM no',
            'StrictModes no',
            'PermitRootLogin prohibit-password',
            'AllowTcpForwarding yes',
            'PubkeyAuthentication yes',
            'PasswordAuthentication no',
            'KbdInteractiveAuthentication no',
            'PrintMotd no',
            'UseDNS no',
            f'LogLevel {log_level}',
        ]
        self.config_path.write_text('\n'.join(lines) + '\n')
        t = subprocess.run([SSHD, '-t', '-f', str(self.config_path)],
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=20)
        if t.returncode != 0:
            raise RuntimeError(f'sshd rejected its config {self.config_path}:\n'
                               f'{t.stderr.decode(errors="replace")}')
        self.log_path = self.dir / 'sshd.log'
        self._log = open(self.log_path, 'ab', buffering=0)
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.bind((host, 0))
        self.listener.listen(128)
        self.host = host
        self.port = self.listener.getsockname()[1]
        self.max_conns = max_conns
        self.lifetime = lifetime
        self.connections = 0
        self.procs = []
        self._lock = threading.Lock()
        self._start_accepting('sshd-accept')

    def _accept_loop(self):
        end = time.monotonic() + self.lifetime
        while not self._closing and self.connections < self.max_conns:
            left = end - time.monotonic()
            if left <= 0:
                break
            try:
                self.listener.settimeout(left)
                conn, _ = self.listener.accept()
            except (OSError, socket.timeout):
                break
            try:
                conn.settimeout(None)
                p = subprocess.Popen([SSHD, '-i', '-e', '-f', str(self.config_path)],
                                     stdin=conn.fileno(), stdout=conn.fileno(),
                                     stderr=self._log, close_fds=True,
                                     start_new_session=True)
            except OSError as e:
                self._log.write(f'ferrylab: cannot spawn sshd: {e}\n'.encode())
                conn.close()
                continue
            conn.close()
            self.connections += 1
            with self._lock:
                # forget the finished ones (bounded list)
                self.procs = [q for q in self.procs if q.poll() is None] + [p]

    def known_hosts_line(self, key_name='ed25519'):
        return f'[{LOCALHOST}]:{self.port} {self.keys.host_pub(key_name)}\n'

    def write_known_hosts(self, path, key_names=None):
        path = Path(path)
        path.write_text(''.join(self.known_hosts_line(k)
                                for k in (key_names or self.host_keys)))
        return path

    def log_text(self):
        try:
            return self.log_path.read_text(errors='replace')
        except OSError:
            return ''

    def close(self):
        self._stop_accepting()
        with self._lock:
            procs = list(self.procs)
        d = Deadline(5, 'sshd exit')
        for p in procs:
            try:
                p.wait(max(0.05, d.remaining()))
            except subprocess.TimeoutExpired:
                pass
        for p in procs:
            # The session we created holds sshd's monitor and its privsep child.
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            try:
                p.wait(2)
            except subprocess.TimeoutExpired:
                pass
        self._log.close()


# ---------------------------------------------------------------- client processes

def listening_inodes(port):
    """Inodes of sockets in LISTEN state on `port` (any address, v4 and v6)."""
    inodes = set()
    for f in ('/proc/net/tcp', '/proc/net/tcp6'):
        try:
            lines = Path(f).read_text().splitlines()[1:]
        except OSError:
            continue
        for ln in lines:
            parts = ln.split()
            if len(parts) < 10:
                continue
            local, st, inode = parts[1], parts[3], parts[9]
            if st == '0A' and int(local.rsplit(':', 1)[1], 16) == port:
                inodes.add(inode)
    return inodes


def pid_socket_inodes(pid):
    out = set()
    fd_dir = Path(f'/proc/{pid}/fd')
    try:
        entries = list(fd_dir.iterdir())
    except OSError:
        return out
    for e in entries:
        try:
            t = os.readlink(e)
        except OSError:
            continue
        if t.startswith('socket:['):
            out.add(t[8:-1])
    return out


def process_tree(pid, limit=64):
    """pid and its descendants (bounded), from /proc/PID/task/*/children."""
    out, todo = [], [pid]
    while todo and len(out) < limit:
        p = todo.pop()
        out.append(p)
        try:
            tasks = list(Path(f'/proc/{p}/task').iterdir())
        except OSError:
            continue
        for t in tasks:
            try:
                todo += [int(c) for c in (t / 'children').read_text().split()]
            except (OSError, ValueError):
                pass
    return out


def listens_on(pid, port):
    """True if process `pid` (or a descendant, e.g. under a wrapper) holds a
    socket listening on `port`."""
    want = listening_inodes(port)
    return bool(want) and any(want & pid_socket_inodes(p) for p in process_tree(pid))


def proc_status(pid, field):
    """A field of /proc/PID/status in KiB (VmRSS, VmHWM, ...), or None."""
    try:
        for ln in Path(f'/proc/{pid}/status').read_text().splitlines():
            if ln.startswith(field + ':'):
                return int(ln.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


def pick_free_port(host=LOCALHOST):
    fam = socket.AF_INET6 if ':' in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    try:
        s.bind((host, 0))
        return s.getsockname()[1]
    finally:
        s.close()


def fmt_host(h):
    return f'[{h}]' if ':' in h else h


class _Stream:
    """Reader thread for one pipe; waiters are woken on every chunk and at EOF."""

    def __init__(self, f, cond):
        self.f, self.cond, self.data, self.eof = f, cond, bytearray(), False
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _run(self):
        fd = self.f.fileno()
        while True:
            try:
                b = os.read(fd, 65536)
            except OSError:
                b = b''
            with self.cond:
                if b and len(self.data) < 64 * MiB:   # bounded capture
                    self.data += b
                if not b:
                    self.eof = True
                self.cond.notify_all()
            if not b:
                return


class ClientProc:
    """A ferry or ssh process with stdout and stderr captured."""

    def __init__(self, kind, argv, env=None, label=None):
        self.kind = kind
        self.argv = [str(a) for a in argv]
        self.label = label or kind
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     env=env, start_new_session=True)
        self.pid = self.proc.pid
        self.cond = threading.Condition()
        self._err = _Stream(self.proc.stderr, self.cond)
        self._out = _Stream(self.proc.stdout, self.cond)
        self.sent_signal = None

    def stderr(self):
        with self.cond:
            return self._err.data.decode(errors='replace')

    def stdout(self):
        with self.cond:
            return self._out.data.decode(errors='replace')

    def wait_stdout(self, regex, timeout=READY_TIMEOUT):
        """The first match of `regex` in stdout, or None (EOF or time out)."""
        rx = re.compile(regex, re.M) if isinstance(regex, str) else regex
        d = Deadline(timeout)
        with self.cond:
            while True:
                m = rx.search(self._out.data.decode(errors='replace'))
                if m or self._out.eof:
                    return m
                r = d.remaining()
                if r <= 0:
                    return None
                self.cond.wait(r)

    def wait_for(self, regex, count=1, timeout=READY_TIMEOUT):
        """Wait until `regex` matched `count` times in stderr. Returns the
        matches, or None if stderr reached EOF (process gone) or time ran out."""
        rx = re.compile(regex, re.M) if isinstance(regex, str) else regex
        d = Deadline(timeout)
        with self.cond:
            while True:
                ms = list(rx.finditer(self._err.data.decode(errors='replace')))
                if len(ms) >= count:
                    return ms[:count]
                if self._err.eof:
                    return None
                r = d.remaining()
                if r <= 0:
                    return None
                self.cond.wait(r)

    def alive(self):
        return self.proc.poll() is None

    def wait_exit(self, timeout=EXIT_TIMEOUT):
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
        self._err.t.join(2)
        self._out.t.join(2)
        return rc

    def signal(self, sig):
        if self.proc.poll() is None:
            self.sent_signal = sig
            try:
                self.proc.send_signal(sig)
            except ProcessLookupError:
                pass

    def stop(self, timeout=5):
        """SIGTERM, then SIGKILL; returns the exit status."""
        if self.proc.poll() is None:
            self.signal(signal.SIGTERM)
            if self.wait_exit(timeout) is None:
                self.signal(signal.SIGKILL)
                self.wait_exit(5)
        self._err.t.join(2)
        self._out.t.join(2)
        for f in (self.proc.stdout, self.proc.stderr):
            try:
                f.close()
            except OSError:
                pass
        return self.proc.returncode

    def crash_report(self):
        """A description of a crash or sanitizer report, or None."""
        rc = self.proc.returncode
        problems = []
        if rc is not None and rc < 0 and -rc in CRASH_SIGNALS and -rc != self.sent_signal:
            problems.append(f'{self.label} (pid {self.pid}) died of signal '
                            f'{signal.Signals(-rc).name}')
        m = SANITIZER_RE.search(self.stderr())
        if m:
            problems.append(f'{self.label} (pid {self.pid}) stderr reports: {m.group(0)!r}')
        return '; '.join(problems) or None


class TunnelError(AssertionError):
    pass


class Tunnel:
    def __init__(self, proc, ports, forwards, sshd):
        self.proc, self.ports, self.forwards, self.sshd = proc, ports, forwards, sshd
        self.kind = proc.kind
        self.pid = proc.pid

    @property
    def port(self):
        return self.ports[0]

    def alive(self):
        return self.proc.alive()

    def rss_kib(self):
        return proc_status(self.pid, 'VmRSS')

    def hwm_kib(self):
        return proc_status(self.pid, 'VmHWM')

    def close(self):
        return self.proc.stop()


def client_env(home):
    env = {k: v for k, v in os.environ.items()
           if k not in ('SSH_AUTH_SOCK', 'SSH_AGENT_PID', 'SSH_ASKPASS', 'DISPLAY')}
    env['HOME'] = str(home)
    return env


def client_argv(kind, sshd, *, forwards=(), identity, known_hosts, strict='yes',
                cipher=None, extra=(), spelling='flag', config_dir=None, user=USER,
                wrap=()):
    """Command line for `kind` ('ferry' or 'ssh') with formatted -L specs.

    spelling: 'flag' (-L ... -l user), 'option' (-o LocalForward=...),
    'config' (everything in a -F file Host block), 'user@host' (no -l).
    wrap: argv the client's command line is given to (it execs it).
    """
    return list(wrap) + _client_argv(kind, sshd, forwards=forwards, identity=identity,
                                     known_hosts=known_hosts, strict=strict,
                                     cipher=cipher, extra=extra, spelling=spelling,
                                     config_dir=config_dir, user=user)


def _client_argv(kind, sshd, *, forwards, identity, known_hosts, strict, cipher, extra,
                 spelling, config_dir, user):
    if kind == 'ferry':
        prog = require_ferry()
        fixed = []                               # ferry never opens a shell
    elif kind == 'ssh':
        prog = SSH
        fixed = ['ExitOnForwardFailure=yes', 'IdentitiesOnly=yes',
                 'GlobalKnownHostsFile=/dev/null']
    else:
        raise ValueError(kind)
    opts = {'StrictHostKeyChecking': strict, 'UserKnownHostsFile': str(known_hosts),
            'BatchMode': 'yes'}
    if spelling == 'config':
        cfg = Path(config_dir) / f'{kind}_config'
        body = [f'Host {LOCALHOST}', f'  Port {sshd.port}', f'  User {user}',
                f'  IdentityFile {identity}']
        body += [f'  {k} {v}' for k, v in opts.items()]
        body += ['  ' + f.replace('=', ' ', 1) for f in fixed]
        body += [f'  LocalForward {_split_listen(f)}' for f in forwards]
        cfg.write_text('\n'.join(body) + '\n')
        argv = [prog, '-F', str(cfg), '-N']
        if cipher:
            argv += ['-c', cipher]
        return argv + list(extra) + [LOCALHOST]
    argv = [prog]
    if kind == 'ssh':
        argv += ['-F', '/dev/null']
    argv += ['-N']
    for f in fixed:
        argv += ['-o', f]
    if spelling == 'option':
        for f in forwards:
            argv += ['-o', f'LocalForward={_split_listen(f)}']
    else:
        for f in forwards:
            argv += ['-L', f]
    for k, v in opts.items():
        argv += ['-o', f'{k}={v}']
    argv += ['-i', str(identity), '-p', str(sshd.port)]
    if cipher:
        argv += ['-c', cipher]
    argv += list(extra)
    if spelling == 'user@host':
        argv += [f'{user}@{LOCALHOST}']
    else:
        argv += ['-l', user, LOCALHOST]
    return argv


def _split_listen(spec):
    """'127.0.0.1:0:h:p' -> '127.0.0.1:0 h:p' (LocalForward's two arguments)."""
    if spec.startswith('['):
        close = spec.index(']')
        head, rest = spec[:close + 1], spec[close + 2:]
        port, target = rest.split(':', 1)
        return f'{head}:{port} {target}'
    bind, port, target = spec.split(':', 2)
    return f'{bind}:{port} {target}'


def _norm_host(h):
    return h[1:-1] if h.startswith('[') and h.endswith(']') else h


def start_tunnel(kind, sshd, targets, *, identity, known_hosts, env, cipher=None,
                 extra=(), spelling='flag', config_dir=None, listen=LOCALHOST,
                 strict='yes', timeout=READY_TIMEOUT, label=None, user=USER, wrap=()):
    """Start `kind` with one -L per (host, port) target; return a Tunnel once
    every listener is up. ferry: -L listen:0:... and its 'Allocated port' lines.
    ssh: ports picked by bind-0-and-close (retried), readiness = the port shows
    up in LISTEN state owned by the ssh pid (/proc/net/tcp; no probe connection,
    so targets never see spurious connections)."""
    targets = [(_norm_host(h), int(p)) for h, p in targets]
    if kind == 'ferry':
        specs = [f'{fmt_host(listen)}:0:{fmt_host(h)}:{p}' for h, p in targets]
        argv = client_argv(kind, sshd, forwards=specs, identity=identity,
                           known_hosts=known_hosts, cipher=cipher, extra=extra,
                           spelling=spelling, config_dir=config_dir, strict=strict,
                           user=user, wrap=wrap)
        cp = ClientProc(kind, argv, env, label)
        ms = cp.wait_for(ALLOCATED_RE, count=len(targets), timeout=timeout)
        if ms is None:
            rc = cp.stop()
            raise TunnelError(
                f'ferry did not report {len(targets)} "Allocated port" line(s) within '
                f'{timeout:g}s (exit status {rc}).\nargv: {" ".join(argv)}\n'
                f'stderr:\n{cp.stderr()}\nsshd log tail:\n{tail(sshd.log_text())}')
        remaining = list(targets)
        ports = [None] * len(targets)
        for m in ms:
            key = (_norm_host(m.group(2)), int(m.group(3)))
            try:
                i = next(i for i, t in enumerate(targets) if t == key and ports[i] is None)
            except StopIteration:
                cp.stop()
                raise TunnelError(f'ferry announced a forward to {key} that was not '
                                  f'asked for ({targets}):\n{cp.stderr()}') from None
            ports[i] = int(m.group(1))
            remaining.remove(key)
        for p in ports:
            if not listens_on(cp.pid, p):
                cp.stop()
                raise TunnelError(f'ferry printed "Allocated port {p}" but does not hold '
                                  f'a listening socket on that port:\n{cp.stderr()}')
        return Tunnel(cp, ports, targets, sshd)

    def start(ports):
        specs = [f'{fmt_host(listen)}:{lp}:{fmt_host(h)}:{p}'
                 for lp, (h, p) in zip(ports, targets)]
        argv = client_argv(kind, sshd, forwards=specs, identity=identity,
                           known_hosts=known_hosts, cipher=cipher, extra=extra,
                           spelling=spelling, config_dir=config_dir, strict=strict,
                           user=user, wrap=wrap)
        return ClientProc(kind, argv, env, label)

    cp, ports = start_listening(start, len(targets), what=f'{kind} tunnel', server=sshd,
                                host=listen, timeout=timeout)
    return Tunnel(cp, ports, targets, sshd)


def start_listening(start, nports, *, what, server, log_label='sshd log tail',
                    host=LOCALHOST, timeout=READY_TIMEOUT, poll=0.01, tries=5):
    """A client with no readiness line (OpenSSH ssh, dbclient) listening on
    `nports` ports picked by bind-0-and-close: cp = start(ports) is ready
    once it (or a descendant) holds a LISTEN socket on each (bounded poll,
    every `poll` s). A client that gave up because another process took a
    port meanwhile ('in use' or 'forwarding' in its stderr) is started again
    on new ports, `tries` times at most. Returns (cp, ports); else raises a
    TunnelError naming `what`, with the last attempt's exit status, argv and
    stderr and the tail of server.log_text() under `log_label`."""
    last = ''
    for _ in range(tries):
        ports = [pick_free_port(host) for _ in range(nports)]
        if len(set(ports)) != len(ports):
            continue
        cp = start(ports)
        try:
            d = Deadline(timeout)
            while cp.alive() and not d.expired():
                if all(listens_on(cp.pid, p) for p in ports):
                    return cp, ports
                cp.wait_exit(poll)
        except BaseException:
            cp.stop()
            raise
        rc = cp.stop()
        last = f'exit status {rc}\nargv: {" ".join(cp.argv)}\nstderr:\n{cp.stderr()}'
        if 'in use' not in cp.stderr() and 'forwarding' not in cp.stderr():
            break                            # not a port race: don't retry
    raise TunnelError(f'{what} did not come up within {timeout:g}s: {last}\n'
                      f'{log_label}:\n{tail(server.log_text())}')


def tail(text, lines=60):
    ls = text.splitlines()
    return '\n'.join(ls[-lines:])


# ---------------------------------------------------------------- Lab

class Lab:
    """Owns the sshds, targets and clients of one test and closes them in order
    (clients, then sshd, then targets). diagnostics() collects logs for a
    failure report; close() raises if a ferry process crashed or a sanitizer
    complained."""

    def __init__(self, workdir, keys):
        self.dir = Path(workdir)
        self.keys = keys
        self.home = self.dir / 'home'
        self.home.mkdir(exist_ok=True)
        self.env = client_env(self.home)
        self.sshds, self.servers, self.clients, self.sockets = [], [], [], []
        self._n = 0

    def _sub(self, name):
        self._n += 1
        d = self.dir / f'{name}{self._n}'
        d.mkdir()
        return d

    # --- services
    def sshd(self, **kw):
        s = Sshd(self._sub('sshd'), self.keys, **kw)
        self.sshds.append(s)
        return s

    def echo(self, **kw):
        s = EchoServer(**kw)
        self.servers.append(s)
        return s

    def sink(self, **kw):
        s = SinkServer(**kw)
        self.servers.append(s)
        return s

    def source(self, nbytes, **kw):
        s = SourceServer(nbytes, **kw)
        self.servers.append(s)
        return s

    def closed_port(self, host=LOCALHOST):
        s, port = closed_port(host)
        self.sockets.append(s)
        return port

    def known_hosts(self, sshd, key_names=None, name='known_hosts'):
        p = self._sub('kh') / name
        if key_names == []:
            p.write_text('')
            return p
        return sshd.write_known_hosts(p, key_names)

    # --- clients
    def tunnel(self, kind, sshd, targets, *, identity='ed25519', known_hosts=None, **kw):
        kh = known_hosts if known_hosts is not None else self.known_hosts(sshd)
        ident = self.keys.user[identity] if identity in self.keys.user else identity
        try:
            # (on failure start_tunnel stops the process and puts its stderr
            # in the exception message)
            t = start_tunnel(kind, sshd, targets, identity=ident, known_hosts=kh,
                             env=self.env, config_dir=self._sub('cfg'), **kw)
        except FerryMissing as e:
            raise AssertionError(str(e)) from None
        self.clients.append(t.proc)
        return t

    def run(self, kind, sshd, *, forwards=None, identity='ed25519', known_hosts=None,
            timeout=EXIT_TIMEOUT, extra=(), strict="yes", cipher=None,
            argv=None, wrap=()):
        """Run a client that is expected to exit by itself; returns the ClientProc
        after it exited (fails the test if it does not exit within `timeout`)."""
        if argv is None:
            kh = known_hosts if known_hosts is not None else self.known_hosts(sshd)
            ident = self.keys.user[identity] if identity in self.keys.user else identity
            if forwards is None:
                forwards = [f'{LOCALHOST}:{0 if kind == "ferry" else pick_free_port()}:'
                            f'{LOCALHOST}:{self.closed_port()}']
            try:
                argv = client_argv(kind, sshd, forwards=forwards, identity=ident,
                                   known_hosts=kh, strict=strict, cipher=cipher,
                                   extra=extra, wrap=wrap)
            except FerryMissing as e:
                raise AssertionError(str(e)) from None
        cp = ClientProc(kind, argv, self.env)
        self.clients.append(cp)
        rc = cp.wait_exit(timeout)
        if rc is None:
            cp.stop()
            raise AssertionError(f'{kind} did not exit within {timeout:g}s\n'
                                 f'argv: {" ".join(argv)}\nstderr:\n{cp.stderr()}')
        return cp

    # --- teardown and reporting
    def stop_clients(self):
        """Stops every client now (a fixture's servers go after them);
        close() reports what went wrong."""
        for c in self.clients:
            try:
                c.stop()
            except Exception:  # noqa: BLE001 - close() reports it
                pass

    def diagnostics(self):
        out = []
        for c in self.clients:
            out.append((f'{c.label} pid {c.pid} rc={c.proc.returncode} argv',
                        ' '.join(c.argv)))
            out.append((f'{c.label} pid {c.pid} stderr', tail(c.stderr(), 200)))
        for i, s in enumerate(self.sshds):
            out.append((f'sshd#{i} port {s.port} log ({s.log_path})', tail(s.log_text(), 200)))
        for s in self.servers:
            if s.errors:
                out.append((f'{s.name} server errors', '\n'.join(s.errors[:50])))
        return out

    def close(self):
        problems = []
        for c in self.clients:
            try:
                c.stop()
            except Exception as e:  # noqa: BLE001
                problems.append(f'stopping {c.label}: {e}')
            if c.kind == 'ferry':
                r = c.crash_report()
                if r:
                    problems.append(r)
        for s in self.sshds:
            s.close()
        for s in self.servers:
            s.close()
        for s in self.sockets:
            s.close()
        return problems
