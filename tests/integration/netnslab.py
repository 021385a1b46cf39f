"""netnslab: network namespaces the test creates, for partition tests.

Built on ferrylab / remotelab / ferrydlab. Needs root, iproute2
(`ip`) and nftables (`nft`); a missing tool or a failing `ip netns add` is a
test FAILURE with the reason, never a skip.

  Netns         one namespace (`ip netns add NAME`): argv prefix for
                `ip netns exec`, the pids left inside, kill and delete
  in_netns()    run a Python callable in a fresh thread that joined the
                namespace with setns(2) (ctypes; Python 3.11 has no
                os.setns). Sockets created there belong to that namespace
                for their whole life, whichever thread uses them later
  NsPair        two namespaces (client, server) joined by a veth pair,
                10.233.N.1/24 and 10.233.N.2/24, `lo` up in both;
                partition() = an nft table in the server namespace dropping
                everything in and out of the veth (silent: no RST, no ICMP),
                heal() deletes it; close() stops every process and socket
                registered, SIGKILLs what `ip netns pids` still lists and
                deletes both namespaces (and so the veth), always
  NsFerryd      ferrydlab.Ferryd (`ferryd -D -e -f CONFIG`) inside a
                namespace, listening on one address with a kernel-chosen port
  LineWatch     a thread polling text sources (ferry's stderr, ferryd's log)
                that notes the monotonic time each pattern first appears
  probe(), echo_check(), wait_echo()  socket helpers meant to run in_netns
                (and ferrylab.pick_free_port for a port there)
  listens_in()  LISTEN sockets a process holds, seen from its namespace
  record()      print measured figures, append them as JSON to
                $FERRY_RECOVERY_LOG

Every wait is bounded; every process started here is stopped by its pid
(each has its own process group) and, as a backstop, by the pids the
namespace still contains, which can only be ours.
"""

import ctypes
import itertools
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import ferrylab as fl
import ferrydlab as fdl
import remotelab as rl
from ferrylab import Deadline, LOCALHOST

IP = shutil.which('ip') or '/usr/sbin/ip'
NFT = shutil.which('nft') or '/usr/sbin/nft'
NETNS_RUN_DIR = Path('/run/netns')
CLONE_NEWNET = 0x40000000
CMD_TIMEOUT = 15.0

_libc = ctypes.CDLL(None, use_errno=True)
_counter = itertools.count()


class NetnsError(AssertionError):
    """The test environment could not be built (a failure, not a skip)."""


def run(argv, timeout=CMD_TIMEOUT, check=True, what=None, input=None):
    """Run a short command; a non-zero exit (when `check`) or a hang is a
    NetnsError naming the command and its output."""
    argv = [str(a) for a in argv]
    try:
        r = subprocess.run(argv, stdin=None if input is not None else subprocess.DEVNULL,
                           input=input, capture_output=True, text=True, timeout=timeout)
    except FileNotFoundError as e:
        raise NetnsError(f'{what or argv[0]}: {e} (install iproute2 and nftables: '
                         f'scripts/setup.sh)') from None
    except subprocess.TimeoutExpired:
        raise NetnsError(f'{what or "command"} did not finish within {timeout:g}s: '
                         f'{" ".join(argv)}') from None
    if check and r.returncode != 0:
        raise NetnsError(f'{what or "command"} failed (exit status {r.returncode}): '
                         f'{" ".join(argv)}\n{r.stderr.strip()}{r.stdout.strip()}')
    return r


# ---------------------------------------------------------------- setns

def _join_netns(name):
    fd = os.open(NETNS_RUN_DIR / name, os.O_RDONLY | os.O_CLOEXEC)
    try:
        if _libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f'setns({name}): {os.strerror(err)}')
    finally:
        os.close(fd)


def in_netns(ns, fn, *args, timeout=60.0, **kw):
    """fn(*args, **kw) in a new thread that first joined namespace `ns` (a
    Netns or a name). Returns its result or re-raises its exception; a call
    still running after `timeout` is a TimeoutError (fn must itself be
    bounded: the thread is a daemon and is left behind)."""
    return NsThread(ns, fn, *args, **kw).result(timeout)


class NsThread:
    """fn(*args) in a thread inside namespace `ns`, started now; result()
    waits (bounded) and returns or re-raises."""

    def __init__(self, ns, fn, *args, **kw):
        self.name = ns.name if isinstance(ns, Netns) else ns
        self.box = {}

        def body():
            try:
                _join_netns(self.name)
                self.box['result'] = fn(*args, **kw)
            except BaseException as e:  # noqa: BLE001 - handed to the caller
                self.box['error'] = e

        self.t = threading.Thread(target=body, name=f'in-{self.name}', daemon=True)
        self.t.start()

    def result(self, timeout):
        self.t.join(timeout)
        if self.t.is_alive():
            raise TimeoutError(f'worker in namespace {self.name} still running after '
                               f'{timeout:g}s')
        if 'error' in self.box:
            raise self.box['error']
        return self.box.get('result')


# ---------------------------------------------------------------- namespaces

class Netns:
    """One network namespace made with `ip netns add`."""

    def __init__(self, name):
        self.name = name
        self.deleted = False
        r = run([IP, 'netns', 'add', name], check=False, what='ip netns add')
        if r.returncode != 0:
            raise NetnsError(
                f'`ip netns add {name}` failed (exit status {r.returncode}): '
                f'{r.stderr.strip()}. This test needs root and a kernel with network '
                f'namespaces (CI installs iproute2 and nftables); it is a failure, '
                f'not a skip.')

    def exec_argv(self, argv):
        """argv run inside the namespace (ip execs it: same pid)."""
        return [IP, 'netns', 'exec', self.name] + [str(a) for a in argv]

    def run(self, argv, **kw):
        return run(self.exec_argv(argv), **kw)

    def ip(self, *args, **kw):
        return run([IP, '-n', self.name] + [str(a) for a in args], what='ip', **kw)

    def pids(self):
        if self.deleted or not (NETNS_RUN_DIR / self.name).exists():
            return []
        r = run([IP, 'netns', 'pids', self.name], check=False, what='ip netns pids')
        return [int(p) for p in r.stdout.split() if p.isdigit()]

    def kill_all(self, timeout=5.0):
        """SIGKILL every process still in the namespace (all started by this
        test: nothing else runs in a namespace it made); bounded. Returns
        the pids that had to be killed."""
        killed = []
        d = Deadline(timeout, f'emptying namespace {self.name}')
        for _ in range(100):
            left = self.pids()
            if not left:
                return killed
            for p in left:
                if p == os.getpid():
                    continue
                try:
                    os.kill(p, signal.SIGKILL)
                    killed.append(p)
                except ProcessLookupError:
                    pass
            if d.expired():
                break
            time.sleep(0.05)
        left = self.pids()
        if left:
            raise NetnsError(f'processes {left} still in namespace {self.name} after '
                             f'SIGKILL')
        return killed

    def delete(self):
        if self.deleted:
            return
        if (NETNS_RUN_DIR / self.name).exists():
            run([IP, 'netns', 'del', self.name], what='ip netns del')
        self.deleted = True


def listens_in(pid, port, addr=LOCALHOST):
    """Process `pid` holds a LISTEN socket on addr:port (in its namespace)."""
    return (addr, port) in rl.process_listens(pid)


class NsPair:
    """Client and server namespaces joined by a veth pair.

    Names: fy<pid>x<k>c / fy<pid>x<k>s (k counts pairs in this process;
    a name left over by a crashed run with a recycled pid is skipped);
    veth ends `vc<k>` (client) and `vs<k>` (server). Addresses 10.233.N.1/24
    and .2/24 with N from the pid (the namespaces are private, so N only
    keeps logs distinguishable)."""

    TABLE = 'ferry_partition'

    def __init__(self):
        self.procs = []          # objects with stop() or close()
        self.closers = []        # callables (echo servers, sockets)
        self.namespaces = []
        self.partitioned = False
        for _ in range(20):
            k = next(_counter)
            base = f'fy{os.getpid()}x{k}'
            if not (NETNS_RUN_DIR / f'{base}c').exists() and \
                    not (NETNS_RUN_DIR / f'{base}s').exists():
                break
        else:
            raise NetnsError('no free namespace name')
        net = os.getpid() % 250 + 1
        self.client_ip = f'10.233.{net}.1'
        self.server_ip = f'10.233.{net}.2'
        self.client_if, self.server_if = f'vc{k}', f'vs{k}'
        try:
            self.client = Netns(f'{base}c')
            self.namespaces.append(self.client)
            self.server = Netns(f'{base}s')
            self.namespaces.append(self.server)
            # both ends made inside the namespaces: nothing appears in ours
            self.client.ip('link', 'add', self.client_if, 'type', 'veth', 'peer', 'name',
                           self.server_if, 'netns', self.server.name)
            self.client.ip('addr', 'add', f'{self.client_ip}/24', 'dev', self.client_if)
            self.server.ip('addr', 'add', f'{self.server_ip}/24', 'dev', self.server_if)
            for ns, ifname in ((self.client, self.client_if), (self.server, self.server_if)):
                ns.ip('link', 'set', 'lo', 'up')
                ns.ip('link', 'set', ifname, 'up')
            self._wait_link()
        except BaseException:
            self.close()
            raise

    def _wait_link(self, timeout=10.0):
        """Both veth ends report carrier (LOWER_UP) and the server address
        answers a TCP connect from the client namespace (refused is fine:
        it proves the path)."""
        d = Deadline(timeout, 'veth link up')
        while True:
            ok = all('LOWER_UP' in ns.ip('link', 'show', ifn).stdout
                     for ns, ifn in ((self.client, self.client_if),
                                     (self.server, self.server_if)))
            if ok:
                break
            if d.expired():
                raise NetnsError('the veth pair did not come up within '
                                 f'{timeout:g}s')
            time.sleep(0.05)

        def refused_probe():
            s = socket.socket()
            s.settimeout(min(3.0, max(0.1, d.remaining())))
            try:
                s.connect((self.server_ip, 9))
            except ConnectionRefusedError:
                return True
            except OSError:
                return False
            finally:
                s.close()
            return True

        while not in_netns(self.client, refused_probe, timeout=5):
            if d.expired():
                raise NetnsError(f'{self.server_ip} unreachable from the client namespace')
            time.sleep(0.1)

    # --- partition
    def partition(self):
        """Silently drop everything in and out of the server's veth end."""
        rules = (f'table inet {self.TABLE} {{\n'
                 f'  chain input {{ type filter hook input priority 0; policy accept;\n'
                 f'    iifname "{self.server_if}" drop\n  }}\n'
                 f'  chain output {{ type filter hook output priority 0; policy accept;\n'
                 f'    oifname "{self.server_if}" drop\n  }}\n'
                 f'}}\n')
        self.server.run([NFT, '-f', '-'], input=rules, what='nft (partition)')
        self.partitioned = True

    def heal(self):
        self.server.run([NFT, 'delete', 'table', 'inet', self.TABLE], what='nft (heal)')
        self.partitioned = False

    def ruleset(self):
        return self.server.run([NFT, 'list', 'ruleset'], check=False).stdout

    # --- ownership
    def own(self, obj):
        self.procs.append(obj)
        return obj

    def on_close(self, fn):
        self.closers.append(fn)

    def close(self):
        """Stop what was registered, kill what is left in the namespaces,
        delete them. Always tries every step; returns the problems seen."""
        problems = []
        for p in reversed(self.procs):
            try:
                r = p.close() if hasattr(p, 'close') else p.stop()
                if isinstance(r, list):
                    problems += r
            except Exception as e:  # noqa: BLE001
                problems.append(f'stopping {p!r}: {e}')
        for fn in reversed(self.closers):
            try:
                fn()
            except Exception as e:  # noqa: BLE001
                problems.append(f'closing: {e}')
        for ns in self.namespaces:
            try:
                left = ns.kill_all()
                if left:
                    problems.append(f'had to SIGKILL pids {left} left in {ns.name}')
            except Exception as e:  # noqa: BLE001
                problems.append(str(e))
        for ns in self.namespaces:
            try:
                ns.delete()
            except Exception as e:  # noqa: BLE001
                problems.append(str(e))
        return problems


# ---------------------------------------------------------------- ferryd

class NsFerryd(fdl.Ferryd):
    """ferrydlab.Ferryd run with `ip netns exec` in namespace `ns` (ip execs
    ferryd: same pid), listening on `listen` port 0 (the kernel's choice,
    read from "Server listening on ADDR port N."); only the session's
    ed25519 user key is authorized, and known_hosts lines name `listen`.

    A Ferryd where Lab.diagnostics() looks (port, log_path, log_text), so
    its log goes into failure reports; close() as Ferryd's."""

    def __init__(self, workdir, keys, ns, listen, *, config=(), host_key='ed25519',
                 log_level='VERBOSE', timeout=fl.READY_TIMEOUT):
        self.ns = ns
        super().__init__(workdir, keys, config=config, host_key=host_key,
                         log_level=log_level, listen=listen, timeout=timeout,
                         authorized={fl.USER: [keys.user_pub('ed25519')]})
        self.host = listen
        if self.listening[0][0] != listen:
            self.close()
            raise AssertionError(f'ferryd listens on {self.listening[0][0]}, not {listen}')

    def command(self, argv):
        return self.ns.exec_argv(argv)

    @property
    def title(self):
        return f'ferryd in namespace {self.ns.name}'

    def __repr__(self):
        return f'NsFerryd(pid {self.pid}, {self.host}:{getattr(self, "port", "?")})'


class NsClient(fl.ClientProc):
    """A ClientProc (ferry) run with `ip netns exec` (ip execs ferry, so the
    pid, the exit status and a crash signal are ferry's own)."""

    def __init__(self, ns, argv, env, label='ferry'):
        super().__init__('ferry', ns.exec_argv(argv), env, label)
        self.ns = ns

    def close(self):
        self.stop()
        r = self.crash_report()
        return [r] if r else []

    def __repr__(self):
        return f'NsClient({self.label} pid {self.pid})'


# ---------------------------------------------------------------- watching logs

class LineWatch:
    """Polls text sources every `interval` seconds in a thread and notes the
    time.monotonic() at which each named pattern first matched text that
    appeared after arm() (so earlier lines do not count). Bounded by
    `lifetime` and by stop()."""

    def __init__(self, interval=0.01, lifetime=300.0):
        self.interval, self.lifetime = interval, lifetime
        self.patterns = {}       # name -> (source name, regex)
        self.sources = {}        # source name -> callable returning text
        self.offsets = {}
        self.hits = {}           # name -> (monotonic time, match)
        self.cond = threading.Condition()
        self._stop = False
        self.t = None

    def source(self, name, fn):
        self.sources[name] = fn

    def watch(self, name, source, regex):
        self.patterns[name] = (source, re.compile(regex, re.M)
                               if isinstance(regex, str) else regex)

    def arm(self):
        """Start now: only text written from here on counts."""
        self.offsets = {n: len(fn()) for n, fn in self.sources.items()}
        self.t0 = time.monotonic()
        self.t = threading.Thread(target=self._run, name='linewatch', daemon=True)
        self.t.start()
        return self.t0

    def _scan(self):
        now = time.monotonic()
        texts = {n: fn()[self.offsets[n]:] for n, fn in self.sources.items()}
        with self.cond:
            for name, (src, rx) in self.patterns.items():
                if name in self.hits:
                    continue
                m = rx.search(texts[src])
                if m:
                    self.hits[name] = (now, m)
            self.cond.notify_all()

    def _run(self):
        end = time.monotonic() + self.lifetime
        while not self._stop and time.monotonic() < end:
            self._scan()
            time.sleep(self.interval)

    def wait(self, name, timeout):
        """(time.monotonic() when `name` was first seen, match), else None."""
        d = Deadline(timeout)
        with self.cond:
            while name not in self.hits:
                r = d.remaining()
                if r <= 0:
                    return None
                self.cond.wait(min(r, 0.1))
            return self.hits[name]

    def stop(self):
        self._stop = True
        if self.t is not None:
            self.t.join(2)


# ---------------------------------------------------------------- sockets (run these in_netns)

def probe(port, host=LOCALHOST, timeout=3.0):
    """Connect and wait for the first byte or the end without sending:
    ('reset' | 'eof' | 'data' | 'open' (nothing within timeout) |
    'refused' | 'connect-timeout', seconds taken)."""
    t0 = time.monotonic()
    s = socket.socket()
    s.settimeout(timeout)
    try:
        try:
            s.connect((host, port))
        except ConnectionRefusedError:
            return 'refused', time.monotonic() - t0
        except ConnectionResetError:
            # accepted and reset before connect() (poll + SO_ERROR with a
            # timeout set) came back: on loopback the RST can win the race
            return 'reset', time.monotonic() - t0
        except socket.timeout:
            return 'connect-timeout', time.monotonic() - t0
        try:
            b = s.recv(1)
            what = 'data' if b else 'eof'
        except ConnectionResetError:
            what = 'reset'
        except socket.timeout:
            what = 'open'
        return what, time.monotonic() - t0
    finally:
        s.close()


def echo_check(port, n, start, host=LOCALHOST, timeout=10.0):
    """One echo exchange of n pattern bytes; raises unless all n came back
    with the right SHA-256."""
    d = Deadline(timeout, f'echo exchange via port {port}')
    s = socket.socket()
    s.settimeout(d.left(3.0))
    try:
        s.connect((host, port))
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        count, digest = fl.exchange(s, n, start, d)
    finally:
        s.close()
    want = fl.pattern_sha256(n, start)
    if count != n or digest != want:
        raise AssertionError(f'echo via port {port}: got {count} of {n} bytes back, '
                             f'sha256 {digest} (want {want})')
    return count


def wait_echo(port, n, start, timeout, t_ref=None, host=LOCALHOST, attempt_timeout=5.0,
              pause=0.05):
    """Retry echo_check until one passes or `timeout` runs out. Returns
    (seconds from t_ref (monotonic; default: now) to the end of the passing
    exchange, attempts, last failure text) or (None, attempts, last
    failure) when none passed."""
    t_ref = time.monotonic() if t_ref is None else t_ref
    d = Deadline(timeout)
    last, attempts = '', 0
    while not d.expired():
        attempts += 1
        try:
            echo_check(port, n, start, host, timeout=min(attempt_timeout,
                                                         max(0.1, d.remaining())))
            return time.monotonic() - t_ref, attempts, last
        except (OSError, AssertionError, TimeoutError) as e:
            last = f'{type(e).__name__}: {e}'
        time.sleep(min(pause, max(0.0, d.remaining())))
    return None, attempts, last


def record(name, figures):
    """Print the figures and append {"test": name, ...} to
    $FERRY_RECOVERY_LOG when set."""
    row = {'test': name, **figures}
    print(f'\n{name}: ' + ', '.join(f'{k}={v}' for k, v in figures.items()))
    path = os.environ.get('FERRY_RECOVERY_LOG')
    if path:
        with open(path, 'a') as f:
            f.write(json.dumps(row, sort_keys=True) + '\n')
    return row
