"""supervise: helpers for the Reconnect (ferry) and ReclaimForwards (ferryd)
tests: servers that die and come back on the same port, and clients that
must notice, reset what was open and re-establish every forward.

Built on ferrylab / remotelab / ferrydlab:

  RestartableSshd   ferrylab.Sshd whose listener can be closed (connections
                    refused) and re-opened on the same port; kill_sessions()
                    SIGKILLs every `sshd -i` serving a connection
  new_restartable_sshd()  one owned by the Lab (closed at teardown, log in
                    failure reports)
  start_ferryd() / restart_ferryd()   a ferryd (fixture factory) and a new
                    one with the same config and host key on the old port
  kill_ferryd()     SIGKILL to ferryd's process group
  reconnect_argv()  a ferry command line with Reconnect=yes and backoff options
  require_reconnect()   fails (not skips) when ferry lacks -o Reconnect
  reconnect_delay() '0.5' when ReconnectDelay takes fractions, else '1'
  LOST_RE / FAILED_RE / RECONNECTED_RE   the contract's log lines
  backoff_fits()    do the announced delays follow doubling + jitter?
  interrupted_exchange()  an echo exchange with an action fired mid-way;
                    reports how the socket ended (reset / eof / complete)
  probe()           connect and read: 'reset' / 'eof' / 'data' / 'open' / 'refused'
  wait_echo()       retry a small SHA-256-checked echo exchange until it works
  SilentRelay       a TCP relay to a server that, when its client side goes
                    away, keeps the server side open and silent (a client
                    whose network vanished: the server is not told)
  record()          print measured figures and append them as a JSON line to
                    $FERRY_RECOVERY_LOG

Everything is on 127.0.0.1 with kernel-chosen ports (a server that comes
back re-binds the port the kernel gave the first one); every loop is bounded
in count and time; every process is stopped by its pid or its own process
group.
"""

import hashlib
import json
import os
import re
import selectors
import signal
import socket
import subprocess
import threading
import time

import ferrylab as fl
import remotelab as rl
from ferrylab import Deadline, LOCALHOST, MiB

# ---------------------------------------------------------------- log lines

_NUM = r'(\d+(?:\.\d+)?)'
LOST_RE = re.compile(
    rf'^(?:ferry: )?Connection to (\S+) lost: (.*); reconnecting in {_NUM} s '
    rf'\(attempt (\d+)\)\s*$', re.M)
FAILED_RE = re.compile(
    rf'^(?:ferry: )?Reconnect to (\S+) failed: (.*); next attempt in {_NUM} s '
    rf'\(attempt (\d+)\)\s*$', re.M)
RECONNECTED_RE = re.compile(
    rf'^(?:ferry: )?Reconnected to (\S+) after (\d+) attempt(?:s|\(s\))?, down {_NUM} s\s*$',
    re.M)
LOCAL_RE = fl.ALLOCATED_RE
REMOTE_RE = rl.ALLOCATED_REMOTE_RE
FWD_FAILED_RE = r'remote port forwarding failed for listen port {port}\b'


def matches(rx, text):
    return list(rx.finditer(text))


# ---------------------------------------------------------------- figures

def record(test, **figures):
    """Print the measured figures (seconds) and append them as one JSON line
    to the file named by $FERRY_RECOVERY_LOG (if set)."""
    figs = {k: (round(v, 3) if isinstance(v, float) else v) for k, v in figures.items()}
    print(f'RECOVERY {test}: ' + ', '.join(f'{k}={v}' for k, v in figs.items()))
    path = os.environ.get('FERRY_RECOVERY_LOG')
    if path:
        line = {'test': test, 'ferry': str(fl.ferry_bin()),
                'time': time.strftime('%Y-%m-%dT%H:%M:%S'), **figs}
        with open(path, 'a') as f:
            f.write(json.dumps(line, sort_keys=True) + '\n')


# ---------------------------------------------------------------- ferry options

_probe_cache = {}


def _ferry_G(*opts):
    argv = [fl.require_ferry(), '-G'] + [a for o in opts for a in ('-o', o)] + [LOCALHOST]
    key = tuple(argv)
    if key not in _probe_cache:
        r = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           timeout=20)
        _probe_cache[key] = r
    return _probe_cache[key]


def require_reconnect():
    """Fail (never skip) with a clear message if ferry does not know
    -o Reconnect=yes: that is the feature under test missing."""
    try:
        r = _ferry_G('Reconnect=yes')
    except fl.FerryMissing as e:
        raise AssertionError(str(e)) from None
    assert r.returncode == 0, (f'ferry does not accept -o Reconnect=yes (exit '
                               f'{r.returncode}): {r.stderr.strip()}')


def reconnect_delay(want='0.5'):
    """`want` if ReconnectDelay accepts it (fractions of a second), else '1'."""
    r = _ferry_G('Reconnect=yes', f'ReconnectDelay={want}')
    return want if r.returncode == 0 else '1'


def reconnect_argv(lab, port, *, known_hosts, local=(), remote=(), delay=None,
                   max_delay='2', alive=(1, 2), options=None, identity='ed25519',
                   extra=()):
    """ferry -N with Reconnect=yes, ReconnectDelay / ReconnectMaxDelay,
    ServerAliveInterval / CountMax = `alive` (None: leave the defaults),
    ExitOnForwardFailure not given (a refused forward is retried)."""
    require_reconnect()
    opts = {'ExitOnForwardFailure': None, 'Reconnect': 'yes',
            'ReconnectDelay': delay or reconnect_delay(),
            'ReconnectMaxDelay': max_delay}
    if alive is not None:
        opts['ServerAliveInterval'] = str(alive[0])
        opts['ServerAliveCountMax'] = str(alive[1])
    opts.update(options or {})
    ident = lab.keys.user[identity] if identity in lab.keys.user else identity
    return rl.client_argv('ferry', port, identity=ident, known_hosts=known_hosts,
                          local=local, remote=remote, options=opts, extra=extra)


def backoff_fits(delays, base, cap, slack=0.06):
    """True if the announced delays (seconds, printed to 0.1 s) are the
    contract's backoff: the k-th is drawn from [d/2, d] with
    d = min(base * 2**(k + k0), cap), for k0 = 0 (the first delay is
    ReconnectDelay) or k0 = 1 (the first shown line was already the
    second attempt). Returns the k0 that fits, or None."""
    for k0 in (0, 1):
        ok = True
        for k, x in enumerate(delays):
            d = min(base * 2 ** (k + k0), cap)
            if not (d / 2 - slack <= x <= d + slack):
                ok = False
                break
        if ok:
            return k0
    return None


# ---------------------------------------------------------------- servers

class RestartableSshd(fl.Sshd):
    """ferrylab.Sshd (inetd style: a Python listener spawning `sshd -i` per
    connection) that can go away and come back on the same port:

      refuse()         close the listener: connects get ECONNREFUSED
      resume()         listen again on the same port
      kill_sessions()  SIGKILL every sshd process serving a connection

    The listener is re-made with SO_REUSEADDR right after the base class made
    it (before any connection), so that the TIME_WAIT connections a killed
    sshd leaves on the port (they inherit the flag) do not keep resume()
    from binding it again."""

    def __init__(self, workdir, keys, **kw):
        super().__init__(workdir, keys, **kw)
        self.refusals = 0
        self._swap_listener()

    def _stop_listening(self):
        self._stop_accepting()
        assert not self._thread.is_alive(), 'sshd accept thread did not stop'

    def _listen(self, deadline=5.0):
        d = Deadline(deadline, f'listening again on 127.0.0.1 port {self.port}')
        last = None
        for _ in range(200):                     # bounded: EADDRINUSE retried
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind((LOCALHOST, self.port))
                s.listen(128)
            except OSError as e:
                s.close()
                last = e
                if d.expired():
                    break
                time.sleep(0.025)
                continue
            self.listener = s
            self._start_accepting('sshd-accept')
            return
        raise AssertionError(f'cannot listen on 127.0.0.1 port {self.port} again: {last}')

    def _swap_listener(self):
        self._stop_listening()
        self._listen()

    def refuse(self):
        """Close the listener (connections to the port are refused)."""
        self._stop_listening()
        self.refusals += 1

    def resume(self):
        """Listen on the same port again."""
        self._listen()

    def session_pids(self):
        return rl.sshd_session_pids(self)

    def kill_sessions(self):
        """SIGKILL every sshd process serving a connection; returns their pids."""
        pids = self.session_pids()
        rl.signal_pids(pids, signal.SIGKILL)
        with self._lock:
            procs = list(self.procs)
        for p in procs:
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                pass
        return pids


def new_restartable_sshd(lab, **kw):
    s = RestartableSshd(lab._sub('sshd'), lab.keys, **kw)
    lab.sshds.append(s)
    return s


def start_ferryd(ferryd, config=(), **kw):
    """A ferryd from the fixture factory; remembers how it was made so that
    restart_ferryd() can start the same one again."""
    srv = ferryd(config=list(config), **kw)
    srv.supervise_args = (list(config), dict(kw))
    return srv


def kill_ferryd(srv):
    """SIGKILL to ferryd's process group (it was started in its own
    session); waits for it. Returns the time of the kill (monotonic)."""
    t = time.monotonic()
    try:
        os.killpg(srv.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    try:
        srv.proc.wait(5)
    except subprocess.TimeoutExpired:
        raise AssertionError(f'ferryd pid {srv.pid} still running 5 s after SIGKILL')
    return t


def restart_ferryd(ferryd, old, port=None, tries=5):
    """A new ferryd with `old`'s config and host key, listening on `old`'s
    port (or `port`). ferryd binds with SO_REUSEADDR; a start that loses a
    race for the port is retried (bounded)."""
    config, kw = getattr(old, 'supervise_args', ([], {}))
    port = port or old.port
    last = None
    for _ in range(tries):
        try:
            srv = ferryd(config=[f'Port {port}'] + list(config), **kw)
        except AssertionError as e:
            last = e
            time.sleep(0.1)
            continue
        assert srv.port == port, (srv.port, port)
        srv.supervise_args = (list(config), dict(kw))
        return srv
    raise AssertionError(f'ferryd did not start again on port {port}: {last}')


def known_hosts_for(lab, port, host_key='ed25519'):
    """A known_hosts file for a server (ferryd or sshd) with KeySet host key
    `host_key` on 127.0.0.1:port, written before that server runs."""
    p = lab._sub('kh') / 'known_hosts'
    p.write_text(f'[{LOCALHOST}]:{port} {lab.keys.host_pub(host_key)}\n')
    return p


# ---------------------------------------------------------------- sockets

def interrupted_exchange(port, n, at, action, seconds=60, start=0, chunk=256 * 1024):
    """Echo exchange of up to n pattern bytes through 127.0.0.1:port that
    calls action() once `at` bytes were sent (the tunnel is killed there),
    then keeps sending and reading until the socket ends.

    Returns a dict: outcome 'reset' (ECONNRESET or EPIPE), 'eof' (a clean
    EOF before everything came back), 'complete' (all n bytes echoed, then
    EOF) or 'stalled' (no progress for 15 s after the action); sent,
    received, prefix_ok (what came back is an intact prefix of what was sent,
    by SHA-256), acted_at and ended_at (monotonic), error text."""
    d = Deadline(seconds, 'interrupted exchange')
    s = fl.connect(port)
    s.setblocking(False)
    sel = selectors.DefaultSelector()
    sel.register(s, selectors.EVENT_READ | selectors.EVENT_WRITE)
    chunks = fl.pattern_chunks(n, start, chunk)
    pending, pos = None, 0
    sent = received = 0
    h = hashlib.sha256()
    buf = bytearray(MiB)
    mv = memoryview(buf)
    acted_at = None
    write_done = False
    res = {'outcome': None, 'error': None}
    last_progress = time.monotonic()
    try:
        while True:
            if d.expired():
                res['outcome'] = 'stalled'
                break
            if acted_at is not None and time.monotonic() - last_progress > 15:
                res['outcome'] = 'stalled'
                break
            events = sel.select(timeout=min(1.0, max(0.01, d.remaining())))
            for _, mask in events:
                if mask & selectors.EVENT_READ:
                    try:
                        k = s.recv_into(buf)
                    except BlockingIOError:
                        k = None
                    except (ConnectionResetError, BrokenPipeError) as e:
                        res['outcome'], res['error'] = 'reset', f'recv: {e!r}'
                        break
                    if k == 0:
                        res['outcome'] = 'complete' if received == n else 'eof'
                        break
                    if k:
                        received += k
                        h.update(mv[:k])
                        last_progress = time.monotonic()
                if (mask & selectors.EVENT_WRITE) and not write_done:
                    if pending is None:
                        pending, pos = next(chunks, None), 0
                    if pending is None:
                        s.shutdown(socket.SHUT_WR)
                        write_done = True
                        sel.modify(s, selectors.EVENT_READ)
                        continue
                    try:
                        k = s.send(pending[pos:])
                    except BlockingIOError:
                        k = 0
                    except (ConnectionResetError, BrokenPipeError) as e:
                        res['outcome'], res['error'] = 'reset', f'send: {e!r}'
                        break
                    pos += k
                    sent += k
                    if k:
                        last_progress = time.monotonic()
                    if pos >= len(pending):
                        pending = None
                    if acted_at is None and sent >= at:
                        action()
                        acted_at = time.monotonic()
                        last_progress = acted_at
            if res['outcome']:
                break
    finally:
        sel.close()
        s.close()
    res.update(sent=sent, received=received, acted_at=acted_at, ended_at=time.monotonic(),
               prefix_ok=h.hexdigest() == fl.pattern_sha256(received, start))
    return res


def probe(port, seconds=5.0, payload=b'probe'):
    """Connect to 127.0.0.1:port, send a few bytes, read. Returns (what,
    elapsed): 'refused' (connect refused), 'reset' (ECONNRESET), 'eof'
    (clean EOF), 'data' (bytes came back) or 'open' (nothing within
    `seconds`)."""
    t0 = time.monotonic()
    try:
        s = fl.connect(port, timeout=seconds)
    except ConnectionRefusedError:
        return 'refused', time.monotonic() - t0
    except ConnectionResetError:
        return 'reset', time.monotonic() - t0
    try:
        try:
            s.sendall(payload)
        except (ConnectionResetError, BrokenPipeError):
            return 'reset', time.monotonic() - t0
        s.settimeout(max(0.01, seconds - (time.monotonic() - t0)))
        try:
            b = s.recv(4096)
        except ConnectionResetError:
            return 'reset', time.monotonic() - t0
        except socket.timeout:
            return 'open', time.monotonic() - t0
        return ('data' if b else 'eof'), time.monotonic() - t0
    finally:
        s.close()


def echo_ok(port, size=64 * 1024, start=0, seconds=5.0):
    """One echo exchange of `size` pattern bytes; True if all came back with
    the right SHA-256, False on refusal/reset/early EOF/timeout."""
    try:
        s = fl.connect(port, timeout=seconds)
    except OSError:
        return False
    try:
        count, digest = fl.exchange(s, size, start, Deadline(seconds, 'echo probe'))
    except (OSError, TimeoutError):
        return False
    finally:
        s.close()
    return count == size and digest == fl.pattern_sha256(size, start)


def wait_echo(port, seconds, size=64 * 1024, start=0, attempt_seconds=3.0, before=None):
    """Retry echo_ok() until it succeeds or `seconds` pass (at most 400
    attempts). `before()` (optional) must be true before an attempt is made
    (e.g. the listener belongs to the right process). Returns the elapsed
    time, or None."""
    t0 = time.monotonic()
    d = Deadline(seconds)
    for _ in range(400):
        if d.expired():
            return None
        if before is None or before():
            if echo_ok(port, size, start, min(attempt_seconds, max(0.2, d.remaining()))):
                return time.monotonic() - t0
        time.sleep(min(0.05, max(0.0, d.remaining())))
    return None


def hold_port(port=0, host=LOCALHOST):
    """A plain listening socket on host:port (no SO_REUSEADDR): nobody else
    can listen there while it is open. Returns (socket, port)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((host, port))
    s.listen(8)
    return s, s.getsockname()[1]


class SilentRelay:
    """127.0.0.1:0 -> target relay, one pair of pump threads per connection.

    When the client side of a connection ends (EOF, reset, its process
    killed), the server side is NOT closed: it stays open and nothing more
    is sent, as when a client's network vanishes without a FIN or RST
    reaching the server. (The server closing is passed on to the client.)
    blackhole() does the same to every connection open at that moment, in
    both directions: bytes are read and dropped, nothing is closed. New
    connections are relayed normally. Everything is closed by close().
    Bounded: at most `max_conns` connections; socket operations time out
    after `lifetime` seconds."""

    def __init__(self, target_port, max_conns=32, lifetime=120.0):
        self.name = 'relay'
        self.errors = []                      # (the Lab's diagnostics read these)
        self.target = (LOCALHOST, target_port)
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.bind((LOCALHOST, 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self.max_conns = max_conns
        self.lifetime = lifetime
        self.pairs = []
        self.client_gone = []                 # monotonic times a client side ended
        self._lock = threading.Lock()
        self._closing = False
        self._threads = []
        t = threading.Thread(target=self._accept, name='relay-accept', daemon=True)
        t.start()
        self._threads.append(t)

    def _accept(self):
        d = Deadline(self.lifetime)
        for _ in range(self.max_conns):
            try:
                self.listener.settimeout(max(0.01, d.remaining()))
                c, _ = self.listener.accept()
            except OSError:
                return
            try:
                u = socket.create_connection(self.target, timeout=10)
            except OSError:
                c.close()
                continue
            pair = {'c': c, 'u': u, 'frozen': False}
            with self._lock:
                if self._closing:
                    c.close()
                    u.close()
                    return
                self.pairs.append(pair)
            for src, dst, up in ((c, u, True), (u, c, False)):
                t = threading.Thread(target=self._pump, args=(pair, src, dst, up),
                                     name='relay-pump', daemon=True)
                t.start()
                self._threads.append(t)

    def _pump(self, pair, src, dst, upstream):
        src.settimeout(self.lifetime)
        dst.settimeout(self.lifetime)
        while not self._closing:
            try:
                b = src.recv(65536)
            except OSError:
                b = b''
            if not b:
                break
            if pair['frozen']:
                continue                      # dropped on the floor
            try:
                dst.sendall(b)
            except OSError:
                break
        if self._closing:
            return
        if upstream:
            with self._lock:
                self.client_gone.append(time.monotonic())
            # the server side is left open and silent on purpose
        elif not pair['frozen']:
            try:
                dst.shutdown(socket.SHUT_WR)  # the server closed: tell the client
            except OSError:
                pass

    def blackhole(self):
        """Every connection open now goes silent both ways (not closed)."""
        with self._lock:
            for p in self.pairs:
                p['frozen'] = True
            return len(self.pairs)

    def close(self):
        self._closing = True
        try:
            self.listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.listener.close()
        with self._lock:
            pairs = list(self.pairs)
        for p in pairs:
            for s in (p['c'], p['u']):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()
        d = Deadline(5)
        for t in self._threads:
            t.join(max(0.01, d.remaining()))
