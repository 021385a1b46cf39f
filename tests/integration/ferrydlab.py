"""ferrydlab: the harness for ferryd's integration tests.

Built on ferrylab (keys, targets, client processes, Deadline, the data
pattern) and remotelab (-R helpers, /proc/net/tcp{,6} listener tables,
dropbear helpers). What is here is what testing the *server* needs:

  Ferryd          a real `ferryd -D -e -f CONFIG` on 127.0.0.1 port 0; ready
                  when it logs "Server listening on 127.0.0.1 port N."; its
                  stderr goes to ferryd.log (attached to failure reports via
                  lab.sshds); close() turns a crash, a sanitizer report or a
                  hang after SIGTERM into a test failure (fixture `ferryd`)
  run_ferryd()    ferryd run to completion (-t, -T, bad configs)
  client_argv()   ssh / ferry / dbclient command lines with -L and -R
  start_local()   a client whose -L listeners are up
  start_remote()  a client whose -R 0 forwards were announced and that ferryd
                  really listens on
  RawSsh          a raw TCP client speaking the cleartext start of SSH (version
                  exchange, unencrypted packets) for the pre-auth tests
  stall()         connections that send a banner and then nothing

Everything is on 127.0.0.1 / ::1 with kernel-chosen ports; every wait is
bounded; every process started here is stopped by its pid or the process
group created for it.
"""

import base64
import hashlib
import os
import re
import selectors
import signal
import socket
import struct
import subprocess
import threading
import time
from pathlib import Path

import pytest

import ferrylab as fl
import remotelab as rl
from ferrylab import Deadline, LOCALHOST, USER, KiB, MiB

# $FERRYD_BIN, else the ferryd beside $FERRY_BIN (so the sanitized run of
# scripts/test.sh, FERRY_BIN=build-asan/ferry, tests build-asan/ferryd too),
# else build/ferryd
FERRYD = os.environ.get('FERRYD_BIN') or (
    str(Path(os.environ['FERRY_BIN']).resolve().parent / 'ferryd')
    if os.environ.get('FERRY_BIN') else str(fl.REPO_ROOT / 'build' / 'ferryd'))
DBCLIENT = os.environ.get('FERRY_TEST_DBCLIENT', '/usr/bin/dbclient')
DROPBEARCONVERT = os.environ.get('FERRY_TEST_DROPBEARCONVERT', '/usr/bin/dropbearconvert')

CLIENT_KINDS = ('ssh', 'ferry', 'dbclient')

LISTENING_RE = re.compile(r'^ferryd: Server listening on (\S+) port (\d+)\.$', re.M)
GENERATED_RE = re.compile(
    r'^ferryd: generated host key (\S+): ssh-ed25519 (SHA256:[A-Za-z0-9+/]+)$', re.M)
# sshd's "Accepted publickey ... ssh2: ED25519 SHA256:..." with, from the
# "Accepted key ... found at FILE:LINE" line just before it (LogLevel
# VERBOSE), where the key was: (user, ip, port, type, fp, file, line)
ACCEPTED_RE = re.compile(
    r'^(?=.*\nferryd: Accepted publickey for (\S+) from (\S+) port (\d+) ssh2: (\S+) '
    r'(SHA256:\S+)$)(?:ferryd|debug1): Accepted key \S+ SHA256:\S+ found at (.+):(\d+)$', re.M)
# the sshd line alone (any LogLevel)
ACCEPTED_LINE_RE = re.compile(
    r'^ferryd: Accepted publickey for (\S+) from (\S+) port (\d+) ssh2: (\S+) (SHA256:\S+)$',
    re.M)
REFUSED_RE = re.compile(r'^ferryd: refused for (\S+) from (\S+) port (\d+): (.*)$', re.M)
# ssh prints the first form, dbclient prefixes its name
ALLOCATED_REMOTE_RE = re.compile(
    r'^(?:\S*dbclient: )?Allocated port (\d+) for remote forward to (\S+?):(\d+)\s*$', re.M)
IPV6 = rl.have_ipv6_loopback()


def require_ferryd():
    if not (os.path.isfile(FERRYD) and os.access(FERRYD, os.X_OK)):
        raise AssertionError(f'ferryd binary not found or not executable at {FERRYD} '
                             f'(build it with ninja -C build, or set FERRYD_BIN); '
                             f'this is a build failure, not a skip')
    return FERRYD


def run_ferryd(args, timeout=20):
    """ferryd run to completion (it must exit by itself): CompletedProcess
    with text stdout/stderr."""
    argv = [require_ferryd()] + [str(a) for a in args]
    try:
        return subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        raise AssertionError(f'ferryd {" ".join(argv[1:])} still running after '
                             f'{timeout}s') from e


def pubkey_of_private(path):
    """'alg base64' of an OpenSSH private key file (ssh-keygen -y)."""
    r = subprocess.run([fl.SSH_KEYGEN, '-y', '-f', str(path)], stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        raise AssertionError(f'ssh-keygen -y -f {path} failed: {r.stderr}')
    f = r.stdout.split()
    return f'{f[0]} {f[1]}'


def fingerprint_of(path):
    """'SHA256:...' of a key file (ssh-keygen -l)."""
    r = subprocess.run([fl.SSH_KEYGEN, '-l', '-E', 'sha256', '-f', str(path)],
                       stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        raise AssertionError(f'ssh-keygen -l -f {path} failed: {r.stderr}')
    return r.stdout.split()[1]


# ---------------------------------------------------------------- the server

class Ferryd:
    """`ferryd -D -e -f CONFIG` on 127.0.0.1, port chosen by the kernel.

    config      lines put first in the file (ferryd keeps the first value of
                a keyword, as sshd does); Port 0 / ListenAddress 127.0.0.1 are
                added unless the lines give Port / ListenAddress
    authorized  {user: [authorized_keys lines]} (default: USER with the
                session's ed25519, ecdsa and rsa user keys); the file for a
                user is authorized_keys/<user> (AuthorizedKeysFile .../%u)
    host_key    a KeySet host key name, or None to let ferryd generate one in
                StateDirectory
    """

    def __init__(self, workdir, keys, *, config=(), authorized=None, host_key='ed25519',
                 state_dir=None, log_level='VERBOSE', args=(), listen=LOCALHOST,
                 timeout=fl.READY_TIMEOUT, expect_listeners=1):
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.keys = keys
        self.host_key = host_key
        self.host = LOCALHOST
        self.state_dir = Path(state_dir) if state_dir else self.dir / 'state'
        self.ak_dir = self.dir / 'authorized_keys'
        self.ak_dir.mkdir(exist_ok=True)
        if authorized is None:
            authorized = {USER: [keys.user_pub(n) for n in ('ed25519', 'ecdsa', 'rsa')]}
        for user, lines in authorized.items():
            self.set_authorized(user, lines)
        lines = list(config)
        words = {ln.split()[0].lower() for ln in lines if ln.split()}
        if host_key is not None:
            lines.append(f'HostKey {keys.host[host_key]}')
        if 'port' not in words:
            lines.append('Port 0')
        if 'listenaddress' not in words:
            lines.append(f'ListenAddress {listen}')
        lines += [f'StateDirectory {self.state_dir}',
                  f'AuthorizedKeysFile {self.ak_dir}/%u',
                  f'LogLevel {log_level}']
        self.config_path = self.dir / 'ferryd_config'
        self.config_path.write_text('\n'.join(lines) + '\n')
        self.log_path = self.dir / 'ferryd.log'
        self.argv = self.command([require_ferryd(), '-D', '-e', '-f', str(self.config_path)] +
                                 [str(a) for a in args])
        self.problems = []
        self.closed = False
        self._sent = None
        with open(self.log_path, 'ab') as log:
            log.write(f'ferrydlab: starting {" ".join(self.argv)}\n'.encode())
            log.flush()
            self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=log, close_fds=True, start_new_session=True)
        self.pid = self.proc.pid
        ms = self.wait_log(LISTENING_RE, count=expect_listeners, timeout=timeout)
        if ms is None:
            rc = self.proc.poll()
            self.close()
            raise AssertionError(
                f'{self.title} did not log {expect_listeners} "Server listening" line(s) within '
                f'{timeout:g}s (exit status {rc}).\nconfig:\n{self.config_path.read_text()}'
                f'\nlog:\n{fl.tail(self.log_text())}')
        self.listening = [(m.group(1), int(m.group(2))) for m in ms]
        self.port = self.listening[0][1]

    def command(self, argv):
        """The command line that runs ferryd's `argv` (a subclass may wrap it)."""
        return argv

    @property
    def title(self):
        """ferryd as failure messages name it."""
        return 'ferryd'

    # --- authorized_keys
    def ak_path(self, user=USER):
        return self.ak_dir / user

    def set_authorized(self, user, lines):
        p = self.ak_path(user)
        if isinstance(lines, str):
            lines = [lines]
        fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, 'w') as f:
            f.write(''.join(ln + '\n' for ln in lines))
        return p

    # --- host key / known_hosts
    def host_pub(self):
        if self.host_key is not None:
            return self.keys.host_pub(self.host_key)
        return pubkey_of_private(self.state_dir / 'ssh_host_ed25519_key')

    def known_hosts_line(self, key_name=None):
        return f'[{self.host}]:{self.port} {self.host_pub()}\n'

    def write_known_hosts(self, path, key_names=None):
        path = Path(path)
        path.write_text(self.known_hosts_line())
        return path

    # --- log
    def log_text(self):
        try:
            return self.log_path.read_text(errors='replace')
        except OSError:
            return ''

    def wait_log(self, regex, count=1, timeout=10.0):
        """Poll the log until `regex` matched `count` times; the matches, or
        None when time ran out (or ferryd exited without them)."""
        rx = re.compile(regex, re.M) if isinstance(regex, str) else regex
        d = Deadline(timeout)
        while True:
            ms = list(rx.finditer(self.log_text()))
            if len(ms) >= count:
                return ms[:count]
            if self.proc.poll() is not None:
                ms = list(rx.finditer(self.log_text()))
                return ms[:count] if len(ms) >= count else None
            if d.expired():
                return None
            time.sleep(0.02)

    def count(self, regex):
        return len(re.findall(regex, self.log_text(), re.M))

    def refusals(self):
        """[(user, ip, port, reason)] of every 'refused for' line."""
        return [(m.group(1), m.group(2), int(m.group(3)), m.group(4))
                for m in REFUSED_RE.finditer(self.log_text())]

    def listens(self):
        """(addr, port) LISTEN sockets ferryd holds."""
        return rl.process_listens(self.pid)

    def alive(self):
        return self.proc.poll() is None

    # --- teardown
    def close(self, timeout=5):
        """SIGTERM (ferryd ends every session and exits 0), SIGKILL if it
        hangs. Records problems: a hang, a crash signal, a non-zero status, a
        sanitizer report. Idempotent; returns the problems."""
        if self.closed:
            return self.problems
        self.closed = True
        p = self.proc
        if p.poll() is None:
            self._sent = signal.SIGTERM
            try:
                p.send_signal(signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                self.problems.append(f'ferryd (pid {self.pid}) still running {timeout}s '
                                     f'after SIGTERM')
                self._sent = signal.SIGKILL
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            p.wait(5)
        except subprocess.TimeoutExpired:
            self.problems.append(f'ferryd (pid {self.pid}) survived SIGKILL for 5 s')
        rc = p.returncode
        if rc is not None and rc < 0 and -rc in fl.CRASH_SIGNALS:
            self.problems.append(f'ferryd (pid {self.pid}) died of signal '
                                 f'{signal.Signals(-rc).name}')
        elif rc is not None and rc > 0 and self._sent == signal.SIGTERM:
            self.problems.append(f'ferryd (pid {self.pid}) exited with status {rc} '
                                 f'after SIGTERM')
        m = fl.SANITIZER_RE.search(self.log_text())
        if m:
            self.problems.append(f'ferryd log reports: {m.group(0)!r}')
        return self.problems


@pytest.fixture
def ferryd(lab):
    """Factory: ferryd(**Ferryd kwargs) -> a started Ferryd owned by the lab
    (its log goes into failure reports). At teardown the clients are stopped,
    then each ferryd gets SIGTERM; a crash, a sanitizer report or a hang
    fails the test."""
    servers = []

    def make(**kw):
        s = Ferryd(lab._sub('ferryd'), lab.keys, **kw)
        servers.append(s)
        lab.sshds.append(s)
        return s

    yield make
    # OpenSSH ssh sometimes misses a SIGTERM that arrives while it is between
    # its signal check and poll() (seen with sshd too), then sleeps; a second
    # SIGTERM wakes it. So: TERM everyone, wait a little, TERM again, then
    # ferrylab's stop() (TERM, then KILL after 5 s).
    live = [c for c in lab.clients if c.alive()]
    for c in live:
        c.signal(signal.SIGTERM)
    d = Deadline(1)
    for c in live:
        if c.wait_exit(max(0.01, d.remaining())) is None:
            c.signal(signal.SIGTERM)
    lab.stop_clients()
    problems = []
    for s in servers:
        problems += s.close()
    if problems:
        pytest.fail('ferryd teardown found problems:\n' + '\n'.join(problems),
                    pytrace=False)


# ---------------------------------------------------------------- clients

_convert_lock = threading.Lock()


def dropbear_identity(keys, name='ed25519'):
    """The user key converted to dropbear's format (dbclient 2022.83 cannot
    read OpenSSH private keys); made once per key set."""
    path = keys.dir / f'user_{name}.dropbear'
    with _convert_lock:
        if not path.exists():
            r = subprocess.run([DROPBEARCONVERT, 'openssh', 'dropbear', str(keys.user[name]),
                                str(path)], stdin=subprocess.DEVNULL, capture_output=True,
                               text=True, timeout=60)
            if r.returncode != 0:
                raise AssertionError(f'dropbearconvert failed: {r.stderr}')
    return path


def dbclient_known_hosts(lab, server):
    """dbclient reads $HOME/.ssh/known_hosts and looks the host up by name
    alone (no [host]:port); HOME is the lab's."""
    d = lab.home / '.ssh'
    d.mkdir(mode=0o700, exist_ok=True)
    p = d / 'known_hosts'
    p.write_text(f'{LOCALHOST} {server.host_pub()}\n')
    return p


def client_argv(lab, kind, server, *, identity='ed25519', local=(), remote=(), options=None,
                extra=(), user=USER, known_hosts=None, no_command=True):
    """ssh / ferry / dbclient command line to `server` (a Ferryd) with -L
    `local` and -R `remote` specs. ssh and ferry: remotelab.client_argv
    (StrictHostKeyChecking=yes, BatchMode, ExitOnForwardFailure=yes unless
    `options` says otherwise). dbclient: the key in dropbear's format, the
    host key in $HOME/.ssh/known_hosts, -o ExitOnForwardFailure=yes."""
    if kind in ('ssh', 'ferry'):
        ident = lab.keys.user[identity] if identity in lab.keys.user else identity
        kh = known_hosts if known_hosts is not None else lab.known_hosts(server)
        argv = rl.client_argv(kind, server.port, identity=ident, known_hosts=kh,
                              local=local, remote=remote, options=options, extra=extra,
                              user=user)
        if not no_command:
            argv.remove('-N')
        return argv
    if kind != 'dbclient':
        raise ValueError(kind)
    dbclient_known_hosts(lab, server)
    ident = dropbear_identity(lab.keys, identity)
    exit_on = (options or {}).get('ExitOnForwardFailure', 'yes')
    argv = [DBCLIENT, '-T', '-W', str(2 * MiB), '-i', str(ident), '-p', str(server.port),
            '-l', user]
    if no_command:
        argv.insert(1, '-N')
    if exit_on is not None:
        argv += ['-o', f'ExitOnForwardFailure={exit_on}']
    for spec in local:
        argv += ['-L', spec]
    for spec in remote:
        argv += ['-R', spec]
    return argv + list(extra) + [LOCALHOST]


def start_client(lab, kind, server, **kw):
    """A client process (owned by the lab) with client_argv(**kw)."""
    return rl.start_client(lab, kind, client_argv(lab, kind, server, **kw))


class Tunnel:
    def __init__(self, proc, ports):
        self.proc, self.ports = proc, ports
        self.pid = proc.pid

    @property
    def port(self):
        return self.ports[0]

    def alive(self):
        return self.proc.alive()


def start_local(lab, kind, server, targets, *, identity='ed25519', options=None, extra=(),
                known_hosts=None, timeout=fl.READY_TIMEOUT):
    """A client with one -L per (host, port) target; returns a Tunnel once
    its listeners are up. ferry: -L 127.0.0.1:0:... and its "Allocated port"
    lines; ssh and dbclient: a port picked by bind-0-and-close (retried on a
    race) and the client holding a LISTEN socket on it."""
    targets = [(rl.norm_host(h), int(p)) for h, p in targets]
    if kind == 'ferry':
        specs = [f'{LOCALHOST}:0:{fl.fmt_host(h)}:{p}' for h, p in targets]
        cp = start_client(lab, kind, server, identity=identity, local=specs,
                          options=options, extra=extra, known_hosts=known_hosts)
        ms = cp.wait_for(fl.ALLOCATED_RE, count=len(targets), timeout=timeout)
        assert ms is not None, (f'ferry did not announce its -L ports (exit '
                                f'{cp.proc.poll()}):\n{cp.stderr()}\nferryd log:\n'
                                f'{fl.tail(server.log_text())}')
        ports = [None] * len(targets)
        for m in ms:
            key = (rl.norm_host(m.group(2)), int(m.group(3)))
            i = next(i for i, t in enumerate(targets) if t == key and ports[i] is None)
            ports[i] = int(m.group(1))
        return Tunnel(cp, ports)

    def start(ports):
        specs = [f'{LOCALHOST}:{lp}:{fl.fmt_host(h)}:{p}' for lp, (h, p) in zip(ports, targets)]
        return start_client(lab, kind, server, identity=identity, local=specs,
                            options=options, extra=extra, known_hosts=known_hosts)

    cp, ports = fl.start_listening(start, len(targets), what=f'{kind} -L tunnel',
                                   server=server, log_label='ferryd log', timeout=timeout,
                                   poll=0.02)
    return Tunnel(cp, ports)


def wait_allocated(cp, n, timeout=fl.READY_TIMEOUT, server=None):
    """Ports of the first n 'Allocated port N for remote forward' lines (in
    order), or an AssertionError with the client's stderr and ferryd's log."""
    ms = cp.wait_for(ALLOCATED_REMOTE_RE, count=n, timeout=timeout)
    if ms is None:
        rc = cp.proc.poll()
        raise AssertionError(
            f'{cp.kind} did not report {n} "Allocated port" line(s) within {timeout:g}s '
            f'(exit status {rc}).\nargv: {" ".join(cp.argv)}\nstderr:\n{cp.stderr()}' +
            (f'\nferryd log:\n{fl.tail(server.log_text())}' if server else ''))
    return [int(m.group(1)) for m in ms]


def start_remote(lab, kind, server, targets, *, bind=LOCALHOST, identity='ed25519',
                 options=None, extra=(), timeout=fl.READY_TIMEOUT):
    """A client with one `-R bind:0:host:port` per target; returns a Tunnel
    once every forward was announced and ferryd holds a LISTEN socket on
    each announced port."""
    specs = [rl.remote_spec(bind, 0, h, p) for h, p in targets]
    cp = start_client(lab, kind, server, identity=identity, remote=specs, options=options,
                      extra=extra)
    ports = wait_allocated(cp, len(targets), timeout, server)
    for p in ports:
        assert rl.wait_until(lambda: any(pp == p for _, pp in server.listens()), 5), \
            f'{kind} announced remote port {p} but ferryd does not listen there'
    return Tunnel(cp, ports)


class PipedClient(fl.ClientProc):
    """A client whose stdin is a pipe we write to (ssh -tt sessions: Ctrl-C,
    end of input); stdout and stderr captured like ferrylab.ClientProc."""

    def __init__(self, kind, argv, env=None, label=None):
        self.kind = kind
        self.argv = [str(a) for a in argv]
        self.label = label or kind
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     env=env, start_new_session=True)
        self.pid = self.proc.pid
        self.cond = threading.Condition()
        self._err = fl._Stream(self.proc.stderr, self.cond)
        self._out = fl._Stream(self.proc.stdout, self.cond)
        self.sent_signal = None

    def write(self, data):
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def close_stdin(self):
        try:
            self.proc.stdin.close()
        except (OSError, ValueError):
            pass

    def stop(self, timeout=5):
        self.close_stdin()
        return super().stop(timeout)


def start_piped(lab, kind, server, **kw):
    cp = PipedClient(kind, client_argv(lab, kind, server, **kw), lab.env)
    lab.clients.append(cp)
    return cp


def terminate(cp, timeout=10):
    """SIGTERM a client and wait for it; a second SIGTERM after 1 s, because
    OpenSSH ssh can miss one that lands just before it sleeps in poll()
    (reproducible against sshd too). Returns the exit status or None."""
    cp.signal(signal.SIGTERM)
    rc = cp.wait_exit(1)
    if rc is None:
        cp.signal(signal.SIGTERM)
        rc = cp.wait_exit(max(0.1, timeout - 1))
    return rc


def port_closed_within(port, seconds):
    """True once nothing LISTENs on `port` (any address), within `seconds`."""
    return rl.wait_until(lambda: not rl.listen_addrs(port), seconds)


def try_echo(port, payload=b'x', host=LOCALHOST, timeout=10):
    """Like ferrylab.echo_roundtrip but a reset counts as 'nothing came back'."""
    try:
        return fl.echo_roundtrip(port, payload, host, timeout)
    except (ConnectionResetError, BrokenPipeError, ConnectionRefusedError):
        return b''


def free_port_pair():
    """A port free on both 127.0.0.1 and ::1 at this moment (bind and close)."""
    for _ in range(50):
        p = fl.pick_free_port()
        if not IPV6:
            return p
        s = socket.socket(socket.AF_INET6)
        try:
            s.bind(('::1', p))
            return p
        except OSError:
            continue
        finally:
            s.close()
    raise AssertionError('no port free on both 127.0.0.1 and ::1')


# ---------------------------------------------------------------- raw SSH

MSG_DISCONNECT = 1
MSG_KEXINIT = 20
MSG_USERAUTH_REQUEST = 50
MSG_USERAUTH_SUCCESS = 52
MSG_GLOBAL_REQUEST = 80
MSG_CHANNEL_OPEN = 90
DISCONNECT_PROTOCOL_ERROR = 2


def ssh_string(v):
    if isinstance(v, str):
        v = v.encode()
    return struct.pack('>I', len(v)) + v


def ssh_u32(v):
    return struct.pack('>I', v)


def cleartext_packet(payload, block=8):
    """RFC 4253 §6 packet without encryption or MAC (as before NEWKEYS)."""
    padlen = block - ((5 + len(payload)) % block)
    if padlen < 4:
        padlen += block
    return struct.pack('>IB', 1 + len(payload) + padlen, padlen) + payload + bytes(padlen)


def kexinit_payload():
    lists = ['curve25519-sha256,kex-strict-c-v00@openssh.com', 'ssh-ed25519',
             'chacha20-poly1305@openssh.com', 'chacha20-poly1305@openssh.com',
             'hmac-sha2-256', 'hmac-sha2-256', 'none', 'none', '', '']
    return (bytes([MSG_KEXINIT]) + os.urandom(16) + b''.join(ssh_string(x) for x in lists) +
            b'\x00' + ssh_u32(0))


def parse_packets(data):
    """[(type, payload)] of the cleartext packets in `data` (stops at the
    first incomplete or implausible one)."""
    out, i = [], 0
    while i + 5 <= len(data):
        length, padlen = struct.unpack('>IB', data[i:i + 5])
        if length < 5 or length > 256 * KiB or i + 4 + length > len(data):
            break
        payload = data[i + 5:i + 4 + length - padlen]
        if payload:
            out.append((payload[0], payload))
        i += 4 + length
    return out


class RawSsh:
    """A TCP connection to ferryd that speaks the cleartext start of SSH."""

    def __init__(self, port, host=LOCALHOST, timeout=10):
        self.sock = fl.connect(port, host, timeout)
        self.buf = b''
        self.server_version = None

    def read_version(self, timeout=10):
        d = Deadline(timeout, 'server version line')
        while b'\n' not in self.buf:
            self.sock.settimeout(d.left())
            b = self.sock.recv(4096)
            if not b:
                raise AssertionError(f'connection closed before the version line: '
                                     f'{self.buf!r}')
            self.buf += b
        line, self.buf = self.buf.split(b'\n', 1)
        self.server_version = line.rstrip(b'\r').decode(errors='replace')
        return self.server_version

    def send_version(self, text='SSH-2.0-ferrydlab_raw'):
        self.sock.sendall(text.encode() + b'\r\n')

    def send_packet(self, payload):
        self.sock.sendall(cleartext_packet(payload))

    def read_until_closed(self, timeout=10):
        """Read until EOF or reset; returns (bytes after the version line,
        'eof' | 'reset' | 'open' when still open after `timeout`)."""
        d = Deadline(timeout)
        while True:
            r = d.remaining()
            if r <= 0:
                return self.buf, 'open'
            self.sock.settimeout(r)
            try:
                b = self.sock.recv(65536)
            except socket.timeout:
                return self.buf, 'open'
            except ConnectionResetError:
                return self.buf, 'reset'
            if not b:
                return self.buf, 'eof'
            self.buf += b

    def close(self):
        self.sock.close()


def stall(port, n, banner=b'SSH-2.0-ferrydlab_stall\r\n', host=LOCALHOST):
    """n connections that send a version line and then nothing."""
    socks = []
    try:
        for _ in range(n):
            s = fl.connect(port, host, 10)
            if banner:
                s.sendall(banner)
            socks.append(s)
    except BaseException:
        for s in socks:
            s.close()
        raise
    return socks


def drain(socks, timeout):
    """Read from every socket without blocking longer than `timeout` in
    total; returns the set of indexes that reached EOF (or a reset)."""
    closed = set()
    sel = selectors.DefaultSelector()
    for i, s in enumerate(socks):
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ, i)
    d = Deadline(max(timeout, 0.001))
    try:
        while len(closed) < len(socks):
            r = d.remaining()
            if r <= 0:
                break
            for key, _ in sel.select(timeout=r):
                i = key.data
                try:
                    b = socks[i].recv(65536)
                except BlockingIOError:
                    continue
                except (ConnectionResetError, OSError):
                    b = b''
                if not b:
                    closed.add(i)
                    sel.unregister(socks[i])
    finally:
        sel.close()
    return closed


# ---------------------------------------------------------------- a minimal SSH client
#
# Just enough SSH in pure Python (standard library only) to send requests no
# stock client sends: curve25519-sha256 key exchange (RFC 8731; the host key
# signature is not checked: this client tests the server, not the other way
# round), chacha20-poly1305@openssh.com packets (OpenSSH PROTOCOL.chacha20poly1305),
# ed25519 public key authentication (RFC 8032 signing), then global requests.
# Slow (pure Python big integers) but only a handful of packets are sent.

_P = 2 ** 255 - 19
_L = 2 ** 252 + 27742317777372353535851937790883648493
_D = -121665 * pow(121666, _P - 2, _P) % _P
_SQRT_M1 = pow(2, (_P - 1) // 4, _P)


def x25519(k, u):
    """RFC 7748 scalar multiplication on Curve25519 (bytes in, bytes out)."""
    k = bytearray(k)
    k[0] &= 248
    k[31] &= 127
    k[31] |= 64
    n = int.from_bytes(k, 'little')
    x1 = int.from_bytes(u, 'little') & ((1 << 255) - 1)
    x2, z2, x3, z3, swap = 1, 0, x1, 1, 0
    for t in reversed(range(255)):
        bit = (n >> t) & 1
        swap ^= bit
        if swap:
            x2, x3, z2, z3 = x3, x2, z3, z2
        swap = bit
        a, b = x2 + z2, x2 - z2
        aa, bb = a * a % _P, b * b % _P
        e = (aa - bb) % _P
        c, d = x3 + z3, x3 - z3
        da, cb = d * a % _P, c * b % _P
        x3 = (da + cb) ** 2 % _P
        z3 = x1 * (da - cb) ** 2 % _P
        x2 = aa * bb % _P
        z2 = e * (aa + 121665 * e) % _P
    if swap:
        x2, z2 = x3, z3
    return (x2 * pow(z2, _P - 2, _P) % _P).to_bytes(32, 'little')


def _ed_add(p, q):
    a = (p[1] - p[0]) * (q[1] - q[0]) % _P
    b = (p[1] + p[0]) * (q[1] + q[0]) % _P
    c = 2 * p[3] * q[3] * _D % _P
    d = 2 * p[2] * q[2] % _P
    e, f, g, h = b - a, d - c, d + c, b + a
    return (e * f % _P, g * h % _P, f * g % _P, e * h % _P)


def _ed_mul(s, p):
    q = (0, 1, 1, 0)
    while s > 0:
        if s & 1:
            q = _ed_add(q, p)
        p = _ed_add(p, p)
        s >>= 1
    return q


def _ed_base():
    y = 4 * pow(5, _P - 2, _P) % _P
    x2 = (y * y - 1) * pow(_D * y * y + 1, _P - 2, _P) % _P
    x = pow(x2, (_P + 3) // 8, _P)
    if (x * x - x2) % _P:
        x = x * _SQRT_M1 % _P
    if x & 1:
        x = _P - x
    return (x, y, 1, x * y % _P)


_ED_B = _ed_base()


def _ed_encode(p):
    zi = pow(p[2], _P - 2, _P)
    x, y = p[0] * zi % _P, p[1] * zi % _P
    return (y | ((x & 1) << 255)).to_bytes(32, 'little')


def ed25519_public(seed):
    h = hashlib.sha512(seed).digest()
    a = (int.from_bytes(h[:32], 'little') & ((1 << 254) - 8)) | (1 << 254)
    return _ed_encode(_ed_mul(a, _ED_B))


def ed25519_sign(seed, msg):
    """RFC 8032 §5.1.6."""
    h = hashlib.sha512(seed).digest()
    a = (int.from_bytes(h[:32], 'little') & ((1 << 254) - 8)) | (1 << 254)
    pub = _ed_encode(_ed_mul(a, _ED_B))
    r = int.from_bytes(hashlib.sha512(h[32:] + msg).digest(), 'little') % _L
    big_r = _ed_encode(_ed_mul(r, _ED_B))
    k = int.from_bytes(hashlib.sha512(big_r + pub + msg).digest(), 'little') % _L
    return big_r + ((r + k * a) % _L).to_bytes(32, 'little')


def _rotl(v, c):
    return ((v << c) & 0xffffffff) | (v >> (32 - c))


def _chacha_block(key, counter, nonce8):
    """The original (64-bit nonce, 64-bit counter) ChaCha20 block, as OpenSSH
    uses it."""
    st = [0x61707865, 0x3320646e, 0x79622d32, 0x6b206574] + list(struct.unpack('<8I', key)) + \
        [counter & 0xffffffff, counter >> 32] + list(struct.unpack('<2I', nonce8))
    x = st[:]
    for _ in range(10):
        for a, b, c, d in ((0, 4, 8, 12), (1, 5, 9, 13), (2, 6, 10, 14), (3, 7, 11, 15),
                           (0, 5, 10, 15), (1, 6, 11, 12), (2, 7, 8, 13), (3, 4, 9, 14)):
            x[a] = (x[a] + x[b]) & 0xffffffff
            x[d] = _rotl(x[d] ^ x[a], 16)
            x[c] = (x[c] + x[d]) & 0xffffffff
            x[b] = _rotl(x[b] ^ x[c], 12)
            x[a] = (x[a] + x[b]) & 0xffffffff
            x[d] = _rotl(x[d] ^ x[a], 8)
            x[c] = (x[c] + x[d]) & 0xffffffff
            x[b] = _rotl(x[b] ^ x[c], 7)
    return struct.pack('<16I', *((x[i] + st[i]) & 0xffffffff for i in range(16)))


def _chacha_xor(key, nonce8, counter, data):
    out = bytearray()
    for i in range(0, len(data), 64):
        ks = _chacha_block(key, counter + i // 64, nonce8)
        chunk = data[i:i + 64]
        out += bytes(x ^ y for x, y in zip(chunk, ks))
    return bytes(out)


def _poly1305(key, msg):
    r = int.from_bytes(key[:16], 'little') & 0x0ffffffc0ffffffc0ffffffc0fffffff
    s = int.from_bytes(key[16:32], 'little')
    p = (1 << 130) - 5
    acc = 0
    for i in range(0, len(msg), 16):
        acc = (acc + int.from_bytes(msg[i:i + 16] + b'\x01', 'little')) * r % p
    return ((acc + s) & ((1 << 128) - 1)).to_bytes(16, 'little')


def _mpint(n):
    b = n.to_bytes((n.bit_length() + 8) // 8, 'big') if n else b''
    return ssh_string(b)


def read_openssh_ed25519(path):
    """(seed, public) of an unencrypted OpenSSH ed25519 private key file."""
    text = Path(path).read_text()
    body = ''.join(ln for ln in text.splitlines() if ln and not ln.startswith('-----'))
    blob = base64.b64decode(body)
    magic = b'openssh-key-v1\x00'
    assert blob.startswith(magic), 'not an OpenSSH private key'
    r = _Reader(blob[len(magic):])
    cipher, kdf, _, nkeys = r.string(), r.string(), r.string(), r.u32()
    assert (cipher, kdf, nkeys) == (b'none', b'none', 1), 'encrypted or multi-key file'
    r.string()                                   # public key blob
    priv = _Reader(r.string())
    priv.u32(), priv.u32()
    assert priv.string() == b'ssh-ed25519'
    pub = priv.string()
    sk = priv.string()
    return sk[:32], pub


class _Reader:
    def __init__(self, b):
        self.b, self.i = b, 0

    def take(self, n):
        if self.i + n > len(self.b):
            raise ValueError('truncated SSH message')
        v = self.b[self.i:self.i + n]
        self.i += n
        return v

    def byte(self):
        return self.take(1)[0]

    def u32(self):
        return struct.unpack('>I', self.take(4))[0]

    def string(self):
        return self.take(self.u32())

    def bool(self):
        return self.byte() != 0


class SshError(AssertionError):
    pass


class SshClient:
    """A minimal SSH client (see above). connect() does version exchange,
    key exchange and public key authentication; then request() sends global
    requests and returns the replies. Messages the server sends meanwhile:
    DEBUG texts are kept in .debug, its global requests are answered with
    failure, IGNORE and the rest are skipped."""

    VERSION = 'SSH-2.0-ferrydlab_1.0'

    def __init__(self, port, host=LOCALHOST, timeout=15):
        self.sock = fl.connect(port, host, timeout)
        self.deadline_s = timeout
        self.buf = b''
        self.tx_seq = self.rx_seq = 0
        self.tx_keys = self.rx_keys = None
        self.debug = []
        self.disconnect = None
        self.expect_host_key = None       # K_S blob the server must offer, if set

    # --- raw I/O
    def _recv_exact(self, n, d):
        while len(self.buf) < n:
            self.sock.settimeout(d.left())
            b = self.sock.recv(65536)
            if not b:
                raise SshError(f'connection closed by ferryd (disconnect: {self.disconnect})')
            self.buf += b
        v, self.buf = self.buf[:n], self.buf[n:]
        return v

    def _send(self, payload):
        if self.tx_keys is None:
            self.sock.sendall(cleartext_packet(payload))
        else:
            k2, k1 = self.tx_keys
            pad = 8 - ((1 + len(payload)) % 8)
            if pad < 4:
                pad += 8
            body = bytes([pad]) + payload + os.urandom(pad)
            nonce = struct.pack('>Q', self.tx_seq)
            elen = _chacha_xor(k1, nonce, 0, struct.pack('>I', len(body)))
            ebody = _chacha_xor(k2, nonce, 1, body)
            tag = _poly1305(_chacha_block(k2, 0, nonce)[:32], elen + ebody)
            self.sock.sendall(elen + ebody + tag)
        self.tx_seq = (self.tx_seq + 1) & 0xffffffff

    def _recv(self, timeout=None):
        d = Deadline(timeout or self.deadline_s, 'SSH packet from ferryd')
        if self.rx_keys is None:
            length = struct.unpack('>I', self._recv_exact(4, d))[0]
            if length > 256 * KiB:
                raise SshError(f'implausible packet length {length}')
            body = self._recv_exact(length, d)
        else:
            k2, k1 = self.rx_keys
            nonce = struct.pack('>Q', self.rx_seq)
            elen = self._recv_exact(4, d)
            length = struct.unpack('>I', _chacha_xor(k1, nonce, 0, elen))[0]
            if length > 256 * KiB:
                raise SshError(f'implausible packet length {length}')
            ebody = self._recv_exact(length, d)
            tag = self._recv_exact(16, d)
            if _poly1305(_chacha_block(k2, 0, nonce)[:32], elen + ebody) != tag:
                raise SshError('bad MAC from ferryd')
            body = _chacha_xor(k2, nonce, 1, ebody)
        self.rx_seq = (self.rx_seq + 1) & 0xffffffff
        return body[1:len(body) - body[0]]

    def recv_msg(self, timeout=None):
        """The next message that is not IGNORE/DEBUG/a server request."""
        while True:
            m = self._recv(timeout)
            t = m[0]
            if t == 2:                                    # IGNORE
                continue
            if t == 4:                                    # DEBUG
                r = _Reader(m[1:])
                r.bool()
                self.debug.append(r.string().decode(errors='replace'))
                continue
            if t == MSG_DISCONNECT:
                r = _Reader(m[1:])
                self.disconnect = (r.u32(), r.string().decode(errors='replace'))
                raise SshError(f'ferryd disconnected: {self.disconnect}')
            if t == MSG_GLOBAL_REQUEST:                   # e.g. its keepalive
                r = _Reader(m[1:])
                r.string()
                if r.bool():
                    self._send(bytes([82]))
                continue
            return m

    # --- the protocol
    def connect(self, user, seed, pub):
        self.handshake()
        return self.authenticate(user, seed, pub)

    def handshake(self, service=True):
        """Version exchange, key exchange, NEWKEYS, and (service) the
        ssh-userauth service request: everything before authentication."""
        d = Deadline(self.deadline_s, 'SSH version line')
        self.sock.sendall(self.VERSION.encode() + b'\r\n')
        while True:
            line = b''
            while not line.endswith(b'\n'):
                line += self._recv_exact(1, d)
            if line.startswith(b'SSH-'):
                server_version = line.rstrip(b'\r\n')
                break
        ic = bytes([MSG_KEXINIT]) + os.urandom(16) + b''.join(ssh_string(x) for x in [
            'curve25519-sha256', 'ssh-ed25519', 'chacha20-poly1305@openssh.com',
            'chacha20-poly1305@openssh.com', 'hmac-sha2-256', 'hmac-sha2-256', 'none', 'none',
            '', '']) + b'\x00' + ssh_u32(0)
        self._send(ic)
        is_ = self.recv_msg()
        if is_[0] != MSG_KEXINIT:
            raise SshError(f'expected KEXINIT, got {is_[0]}')
        priv = os.urandom(32)
        qc = x25519(priv, (9).to_bytes(32, 'little'))
        self._send(bytes([30]) + ssh_string(qc))
        rep = self.recv_msg()
        if rep[0] != 31:
            raise SshError(f'expected KEX_ECDH_REPLY, got {rep[0]}')
        r = _Reader(rep[1:])
        ks, qs = r.string(), r.string()
        r.string()                       # the signature: not checked (see above)
        if self.expect_host_key is not None and ks != self.expect_host_key:
            raise SshError('ferryd offered another host key than the configured one')
        shared = x25519(priv, qs)
        k = _mpint(int.from_bytes(shared, 'big'))
        h = hashlib.sha256(ssh_string(self.VERSION) + ssh_string(server_version) +
                           ssh_string(ic) + ssh_string(is_) + ssh_string(ks) +
                           ssh_string(qc) + ssh_string(qs) + k).digest()
        self.session_id = h

        def derive(letter):
            k1 = hashlib.sha256(k + h + letter + h).digest()
            k2 = hashlib.sha256(k + h + k1).digest()
            key = k1 + k2
            return key[:32], key[32:]                # (K_2 main, K_1 length)

        self._send(bytes([21]))
        m = self.recv_msg()
        if m[0] != 21:
            raise SshError(f'expected NEWKEYS, got {m[0]}')
        self.tx_keys, self.rx_keys = derive(b'C'), derive(b'D')
        if service:
            self._send(bytes([5]) + ssh_string('ssh-userauth'))
            m = self.recv_msg()
            if m[0] != 6:
                raise SshError(f'expected SERVICE_ACCEPT, got {m[0]}')
        return self

    def send(self, payload):
        """Send any message (encrypted once keys are in use)."""
        self._send(payload)

    def authenticate(self, user, seed, pub):
        blob = ssh_string('ssh-ed25519') + ssh_string(pub)
        head = (bytes([MSG_USERAUTH_REQUEST]) + ssh_string(user) + ssh_string('ssh-connection') +
                ssh_string('publickey') + b'\x01' + ssh_string('ssh-ed25519') + ssh_string(blob))
        sig = ed25519_sign(seed, ssh_string(self.session_id) + head)
        self._send(head + ssh_string(ssh_string('ssh-ed25519') + ssh_string(sig)))
        m = self.recv_msg()
        if m[0] != MSG_USERAUTH_SUCCESS:
            raise SshError(f'authentication failed (message {m[0]})')
        return self

    def request(self, name, want_reply=True, extra=b'', timeout=None):
        """Send a global request; (81 or 82, reply payload) when want_reply."""
        self._send(bytes([MSG_GLOBAL_REQUEST]) + ssh_string(name) +
                   (b'\x01' if want_reply else b'\x00') + extra)
        if not want_reply:
            return None
        m = self.recv_msg(timeout)
        while 93 <= m[0] <= 100:                # channel traffic: not ours to judge here
            m = self.recv_msg(timeout)
        if m[0] not in (81, 82):
            raise SshError(f'expected a reply to {name!r}, got message {m[0]}')
        return m[0], m[1:]

    def open_direct_tcpip(self, host, port, chan=0, window=1 << 20, maxpkt=32768):
        """Send CHANNEL_OPEN direct-tcpip (the reply comes via poll_msg)."""
        self._send(bytes([MSG_CHANNEL_OPEN]) + ssh_string('direct-tcpip') + ssh_u32(chan) +
                   ssh_u32(window) + ssh_u32(maxpkt) + ssh_string(host) + ssh_u32(port) +
                   ssh_string(LOCALHOST) + ssh_u32(4242))

    def poll_msg(self, timeout):
        """The next message if one starts arriving within `timeout`, else
        None (never leaves a half-read packet behind)."""
        if not self.buf:
            sel = selectors.DefaultSelector()
            sel.register(self.sock, selectors.EVENT_READ)
            try:
                if not sel.select(timeout):
                    return None
            finally:
                sel.close()
        return self.recv_msg()

    def wait_closed(self, timeout=10):
        """Read (and decode what we can) until ferryd closes the connection:
        'eof'/'reset', or 'open' if it did not within `timeout`."""
        d = Deadline(timeout)
        while True:
            try:
                self.recv_msg(d.left())
            except TimeoutError:
                return 'open'
            except socket.timeout:
                return 'open'
            except ConnectionResetError:
                return 'reset'
            except SshError:
                return 'eof'

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def ssh_login(server, keys, user=USER, key='ed25519'):
    """An authenticated SshClient to `server`."""
    seed, pub = read_openssh_ed25519(keys.user[key])
    assert ed25519_public(seed) == pub, 'ed25519 implementation broken'
    c = SshClient(server.port)
    alg, b64 = server.host_pub().split()[:2]
    c.expect_host_key = base64.b64decode(b64)
    try:
        return c.connect(user, seed, pub)
    except BaseException:
        c.close()
        raise


def forward_request(host, port):
    return ssh_string(host) + ssh_u32(port)
