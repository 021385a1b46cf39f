"""hostilelab: helpers for the tests of "ferryd holds up when one of its
users is hostile" (test_hostile.py, test_soak.py).

Built on ferrylab / ferrydlab. What is here:

  HOSTILE         the ferry-hostile tool (tests/tools/hostile.c): $FERRY_HOSTILE_BIN,
                  else <build dir of FERRY_BIN>/tests/tools/ferry-hostile; a
                  missing tool is a FAILURE, never a skip
  Hostile         one ferry-hostile run (a ClientProc owned by the lab): its
                  stdout "word key=value" lines parsed (result(), refusals())
  HFerryd         ferrydlab.Ferryd with an optional RLIMIT_NOFILE (prlimit
                  execs ferryd: same pid) and, under FERRY_SANITIZED, a small
                  ASan quarantine so that RSS measures ferryd, not ASan
  hferryd         fixture: factory of HFerryd owned by the lab (teardown as
                  ferrydlab's `ferryd` fixture)
  Blackhole       a loopback listener that never accepts: listen(0) with its
                  one-slot backlog filled (connects to it hang: SYNs dropped)
                  or listen(4096) (connects complete, nothing is ever read)
  RssSampler      ferryd's VmRSS sampled in a thread (peak and growth, with
                  VmHWM so that a spike between samples is seen too)
  fd_count()      entries of /proc/PID/fd; wait_fds() waits for a count
  Traffic         a victim: repeated echo round trips through a tunnel port,
                  each SHA-256 checked, in a thread, until stopped

Every wait is bounded; every process is stopped by its pid.
"""

import os
import re
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest

import ferrydlab as fdl
import ferrylab as fl
from ferrylab import Deadline, LOCALHOST, USER, KiB, MiB

SANITIZED = bool(os.environ.get('FERRY_SANITIZED'))
HOSTILE_USER = 'mallory'


def hostile_bin():
    v = os.environ.get('FERRY_HOSTILE_BIN')
    if v:
        return Path(v)
    return fl.ferry_bin().parent / 'tests' / 'tools' / 'ferry-hostile'


def require_hostile():
    b = hostile_bin()
    if not (b.is_file() and os.access(b, os.X_OK)):
        raise AssertionError(f'ferry-hostile not found or not executable at {b} (it is built '
                             f'with ferry: ninja -C BUILDDIR, or set FERRY_HOSTILE_BIN); '
                             f'this is a build failure, not a skip')
    return str(b)


# ---------------------------------------------------------------- the tool

class Hostile(fl.ClientProc):
    """One `ferry-hostile` run. Lines on stdout look like
    `word key=value ...`; parsed() gives [(word, {key: value})]."""

    def __init__(self, argv, env, label='hostile'):
        super().__init__('hostile', argv, env, label)

    def lines(self):
        return self.stdout().splitlines()

    def parsed(self, word=None):
        out = []
        for ln in self.lines():
            head, _, rest = ln.partition(' ')
            if word is not None and head != word:
                continue
            kv = {}
            msg = None
            if ' message=' in ' ' + rest:
                rest, _, msg = (' ' + rest).partition(' message=')
            for tok in rest.split():
                k, eq, v = tok.partition('=')
                if eq:
                    kv[k] = v
            if msg is not None:
                kv['message'] = msg
            out.append((head, kv))
        return out

    def first(self, word):
        p = self.parsed(word)
        return p[0][1] if p else None

    def refusals(self):
        """{(reason code, message): count} of the open-flood refusals."""
        return {(int(kv['reason']), kv.get('message', '')): int(kv['count'])
                for _, kv in self.parsed('refused')}

    def describe(self):
        return (f'ferry-hostile {" ".join(self.argv[1:])} (exit {self.proc.returncode}):\n'
                f'stdout:\n{self.stdout()}\nstderr:\n{self.stderr()}')


def hostile_argv(server, mode, *args, user=HOSTILE_USER, key='ed25519', keys=None,
                 limit=30, hold=0, port=None):
    argv = [require_hostile(), '-p', str(port or server.port), '-l', user,
            '-i', str(keys.user[key]), '-t', str(limit)]
    if hold:
        argv += ['-H', str(hold)]
    return argv + [mode] + [str(a) for a in args]


def start_hostile(lab, server, mode, *args, wrap=None, **kw):
    """A ferry-hostile process owned by the lab (stopped at teardown).
    wrap: a function turning the argv into another (e.g. ip netns exec)."""
    argv = hostile_argv(server, mode, *args, keys=lab.keys, **kw)
    if wrap is not None:
        argv = wrap(argv)
    h = Hostile(argv, lab.env)
    lab.clients.append(h)
    return h


def run_hostile(lab, server, mode, *args, timeout=None, **kw):
    """ferry-hostile run to completion; the Hostile after it exited."""
    limit = kw.get('limit', 30)
    h = start_hostile(lab, server, mode, *args, **kw)
    rc = h.wait_exit(timeout or limit + kw.get('hold', 0) + 15)
    if rc is None:
        h.stop()
        raise AssertionError('ferry-hostile did not exit in time: ' + h.describe())
    return h


# ---------------------------------------------------------------- ferryd

class HFerryd(fdl.Ferryd):
    """A Ferryd; nofile=(soft, hard) starts it under that RLIMIT_NOFILE."""

    def __init__(self, workdir, keys, *, nofile=None, **kw):
        self.nofile = nofile
        super().__init__(workdir, keys, **kw)

    def command(self, argv):
        pre = []
        if self.nofile is not None:
            prlimit = shutil.which('prlimit') or '/usr/bin/prlimit'
            pre += [prlimit, f'--nofile={self.nofile[0]}:{self.nofile[1]}', '--']
        if SANITIZED:
            # freed blocks in ASan's quarantine (256 MiB by default) count in
            # RSS; keep it small so the bounds measure ferryd's own queues
            opts = os.environ.get('ASAN_OPTIONS', '')
            opts = (opts + ':' if opts else '') + \
                'quarantine_size_mb=16:thread_local_quarantine_size_kb=256'
            pre += ['/usr/bin/env', f'ASAN_OPTIONS={opts}']
        return pre + argv

    def rss_kib(self):
        return fl.proc_status(self.pid, 'VmRSS')

    def fds(self):
        return fd_count(self.pid)

    def nofile_limits(self):
        """(soft, hard) 'Max open files' of the running ferryd."""
        for ln in Path(f'/proc/{self.pid}/limits').read_text().splitlines():
            if ln.startswith('Max open files'):
                f = ln.split()
                return int(f[3]), int(f[4])
        return None


def default_authorized(keys):
    return {USER: [keys.user_pub('ed25519')], HOSTILE_USER: [keys.user_pub('ed25519')]}


@pytest.fixture
def hferryd(lab):
    """Factory: hferryd(**HFerryd kwargs) -> a started HFerryd owned by the
    lab (USER and HOSTILE_USER authorized with the ed25519 user key unless
    `authorized` says otherwise). Teardown: clients stopped, then SIGTERM;
    a crash, a sanitizer report or a hang fails the test."""
    servers = []

    def make(**kw):
        kw.setdefault('authorized', default_authorized(lab.keys))
        s = HFerryd(lab._sub('ferryd'), lab.keys, **kw)
        servers.append(s)
        lab.sshds.append(s)
        return s

    yield make
    lab.stop_clients()
    problems = []
    for s in servers:
        problems += s.close()
    if problems:
        pytest.fail('ferryd teardown found problems:\n' + '\n'.join(problems),
                    pytrace=False)


# ---------------------------------------------------------------- clients as any user

def start_forward(lab, kind, srv, what, user, target=None, timeout=fl.READY_TIMEOUT):
    """A `kind` client logged in as `user` with one forward: what='L' (to
    target), 'R' (bind 127.0.0.1:0 on ferryd, to target) or 'D' (SOCKS).
    Returns the port to connect to once it is up (ferry: its "Allocated
    port" line; ssh: it holds the LISTEN socket on a picked port; -R: ferryd
    listens on the announced port)."""
    import remotelab as rl
    import sockslab as sl

    def spec(port):
        if what == 'L':
            return ['-L', f'{LOCALHOST}:{port}:{target[0]}:{target[1]}']
        return ['-D', f'{LOCALHOST}:{port}']

    if what == 'R':
        cp = fdl.start_client(lab, kind, srv, remote=[rl.remote_spec(LOCALHOST, 0, *target)],
                              user=user)
        [port] = fdl.wait_allocated(cp, 1, timeout, server=srv)
        assert fl.wait_until(lambda: any(p == port for _, p in srv.listens()), 5), \
            f'{kind} announced remote port {port} but ferryd does not listen there'
        return port
    if kind == 'ferry':
        cp = fdl.start_client(lab, kind, srv, extra=spec(0), user=user)
        rx = fl.ALLOCATED_RE if what == 'L' else sl.DYNAMIC_ALLOCATED_RE
        ms = cp.wait_for(rx, timeout=timeout)
        assert ms is not None, (f'ferry -{what} as {user} did not come up:\n{cp.stderr()}\n'
                                f'{fl.tail(srv.log_text())}')
        return int(ms[0].group(1))
    cp, [port] = fl.start_listening(
        lambda ports: fdl.start_client(lab, kind, srv, extra=spec(ports[0]), user=user), 1,
        what=f'{kind} -{what} as {user}', server=srv, log_label='ferryd log',
        timeout=timeout, poll=0.02)
    return port


# ---------------------------------------------------------------- /proc

def fd_count(pid):
    try:
        return len(os.listdir(f'/proc/{pid}/fd'))
    except OSError:
        return -1


def wait_fds(pid, want, timeout=5.0):
    """Wait until process `pid` holds at most `want` descriptors; the last
    count seen."""
    d = Deadline(timeout)
    while True:
        n = fd_count(pid)
        if n <= want or d.expired():
            return n
        time.sleep(0.05)


def settle_fds(pid, timeout=3.0):
    """The descriptor count of `pid` once it stopped changing for 0.2 s
    (bounded)."""
    last, d = fd_count(pid), Deadline(timeout)
    while not d.expired():
        time.sleep(0.2)
        n = fd_count(pid)
        if n == last:
            return n
        last = n
    return last


class RssSampler:
    """VmRSS of `pid` every `interval` s in a thread (bounded by
    `lifetime`). growth_kib() is the peak over the samples (and VmHWM when
    it rose past its value at start) minus VmRSS at start."""

    def __init__(self, pid, interval=0.05, lifetime=600.0):
        self.pid = pid
        self.interval = interval
        self.start_rss = fl.proc_status(pid, 'VmRSS') or 0
        self.start_hwm = fl.proc_status(pid, 'VmHWM') or 0
        self.peak = self.start_rss
        self.samples = 0
        self._stop = threading.Event()
        self._end = time.monotonic() + lifetime
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _sample(self):
        v = fl.proc_status(self.pid, 'VmRSS')
        if v is not None:
            self.peak = max(self.peak, v)
            self.samples += 1
        return v

    def _run(self):
        while not self._stop.is_set() and time.monotonic() < self._end:
            self._sample()
            self._stop.wait(self.interval)

    def stop(self):
        self._stop.set()
        self.t.join(5)
        self._sample()
        hwm = fl.proc_status(self.pid, 'VmHWM') or 0
        if hwm > self.start_hwm:
            self.peak = max(self.peak, hwm)
        return self

    def growth_kib(self):
        return self.peak - self.start_rss

    def describe(self):
        return (f'VmRSS {self.start_rss} KiB at start, peak {self.peak} KiB '
                f'(+{self.growth_kib() / 1024:.1f} MiB, {self.samples} samples)')


# ---------------------------------------------------------------- destinations

class Blackhole:
    """A loopback listener that never accepts.

    hang=True: listen(0) and the one-slot accept queue filled by us, so
    every later SYN is dropped and a connect to it hangs (until the kernel
    gives up after about two minutes).
    hang=False: listen(4096): connects complete at once and sit in the
    accept queue; nothing is ever read."""

    def __init__(self, hang=True, host=LOCALHOST):
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.bind((host, 0))
        self.listener.listen(0 if hang else 4096)
        self.port = self.listener.getsockname()[1]
        self.fillers = []
        if hang:
            self._fill(host)

    def _fill(self, host):
        d = Deadline(5, 'filling the blackhole backlog')
        while not d.expired():
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            s.connect_ex((host, self.port))
            self.fillers.append(s)
            # a connect that does not complete within 0.3 s: the queue is full
            w = _wait_writable(s, 0.3)
            if not w:
                return
            if len(self.fillers) > 16:
                break
        raise AssertionError('could not fill the backlog of a listen(0) socket: '
                             'connects to it keep completing')

    def close(self):
        for s in self.fillers:
            s.close()
        self.listener.close()


def _wait_writable(s, timeout):
    import selectors
    sel = selectors.DefaultSelector()
    sel.register(s, selectors.EVENT_WRITE)
    try:
        return bool(sel.select(timeout))
    finally:
        sel.close()


# ---------------------------------------------------------------- victim traffic

class Traffic:
    """Echo round trips of `size` bytes through 127.0.0.1:`port` (a tunnel
    to an echo server), one after another in a thread until stop(); each
    checked by SHA-256. ok / errors count them."""

    def __init__(self, port, size=256 * KiB, seed=0, lifetime=300.0, pause=0.0):
        self.port, self.size, self.seed = port, size, seed
        self.pause = pause
        self.ok = 0
        self.bytes = 0
        self.errors = []
        self._stop = threading.Event()
        self._end = time.monotonic() + lifetime
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _run(self):
        i = 0
        while not self._stop.is_set() and time.monotonic() < self._end:
            start = fl.stream_start(self.seed * 1000 + i)
            try:
                s = fl.connect(self.port, timeout=20)
                try:
                    n, sha = fl.exchange(s, self.size, start, Deadline(30, 'victim echo'))
                finally:
                    s.close()
                if (n, sha) != (self.size, fl.pattern_sha256(self.size, start)):
                    self.errors.append(f'round trip {i}: got {n} bytes, sha {sha}')
                else:
                    self.ok += 1
                    self.bytes += n
            except Exception as e:  # noqa: BLE001 - counted for the test
                self.errors.append(f'round trip {i}: {type(e).__name__}: {e}')
            i += 1
            if self.pause:
                self._stop.wait(self.pause)

    def stop(self, timeout=40):
        self._stop.set()
        self.t.join(timeout)
        if self.t.is_alive():
            self.errors.append(f'victim round trip still running {timeout}s after stop')
        return self


def echo_once(port, size, seed=0, timeout=30):
    """One checked echo round trip of `size` bytes; raises on a mismatch."""
    start = fl.stream_start(seed)
    s = fl.connect(port, timeout=timeout)
    try:
        n, sha = fl.exchange(s, size, start, Deadline(timeout, 'echo'))
    finally:
        s.close()
    assert (n, sha) == (size, fl.pattern_sha256(size, start)), \
        f'echo through port {port}: {n} of {size} bytes back, sha {sha}'
    return n


__all__ = ['HOSTILE_USER', 'SANITIZED', 'Hostile', 'HFerryd', 'hferryd', 'RssSampler',
           'Blackhole', 'Traffic', 'fd_count', 'wait_fds', 'settle_fds', 'start_hostile', 'run_hostile',
           'require_hostile', 'echo_once', 'MiB', 'KiB']
