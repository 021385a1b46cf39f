"""remotelab: helpers for the -R, keepalive, dropbear and config tests.

Built on ferrylab (which owns the generic pieces: sshd, targets, client
processes, Deadline, the data pattern); what is here is what those tests need
beyond it:

  client_argv()     a ferry/ssh command line with -L and -R forwards and any -o
  start_client()    a ClientProc registered with the Lab (killed at teardown)
  start_remote()    a client whose -R 0 forwards were announced ("Allocated
                    port N for remote forward to H:P"); returns the ports
  listen_addrs()    the addresses the kernel has LISTEN sockets for on a port
  process_listens() LISTEN (addr, port) pairs held by a process
  Dropbear          a dropbear server on 127.0.0.1 (port picked, start retried)
  authorized_key()  root's ~/.ssh/authorized_keys with a key added, restored after
  upload/download   bulk transfers checked by SHA-256

Everything is on 127.0.0.1 (or ::1) with kernel-chosen ports, every wait is
bounded, and every process started here is stopped by its pid or by the
process group created for it.
"""

import os
import pwd
import re
import signal
import socket
import stat
import subprocess
from contextlib import contextmanager
from pathlib import Path

import ferrylab as fl
from ferrylab import Deadline, LOCALHOST, USER, wait_until

ALLOCATED_REMOTE_RE = re.compile(
    r'^(?:\S+: )?Allocated port (\d+) for remote forward to (\S+?):(\d+)\s*$', re.M)
ALLOCATED_LOCAL_RE = fl.ALLOCATED_RE

DROPBEAR = os.environ.get('FERRY_TEST_DROPBEAR', '/usr/sbin/dropbear')
DROPBEARKEY = os.environ.get('FERRY_TEST_DROPBEARKEY', '/usr/bin/dropbearkey')


# ---------------------------------------------------------------- socket table

def _proc_addr(hexaddr):
    """'0100007F' / 32 hex digits from /proc/net/tcp{,6} -> printable address."""
    raw = bytes.fromhex(hexaddr)
    # the kernel prints each 32-bit word in host (little-endian) order
    words = b''.join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
    fam = socket.AF_INET if len(words) == 4 else socket.AF_INET6
    return socket.inet_ntop(fam, words)


def listen_sockets(pid=None):
    """[(addr, port, inode)] of every LISTEN TCP socket (v4 and v6) in our
    network namespace, or with `pid` in that process's (/proc/PID/net)."""
    out = []
    for f in ('tcp', 'tcp6'):
        try:
            lines = Path(f'/proc/{pid or "self"}/net/{f}').read_text().splitlines()[1:]
        except OSError:
            continue
        for ln in lines:
            parts = ln.split()
            if len(parts) < 10 or parts[3] != '0A':
                continue
            addr, port = parts[1].rsplit(':', 1)
            out.append((_proc_addr(addr), int(port, 16), parts[9]))
    return out


def listen_addrs(port):
    """Set of local addresses with a LISTEN socket on `port`."""
    return {a for a, p, _ in listen_sockets() if p == port}


def process_listens(pid):
    """Set of (addr, port) LISTEN sockets held by process `pid`, read from
    its own network namespace's table (so also right for a process in
    another namespace)."""
    mine = fl.pid_socket_inodes(pid)
    return {(a, p) for a, p, ino in listen_sockets(pid) if ino in mine}


def have_ipv6_loopback():
    try:
        s = socket.socket(socket.AF_INET6)
        try:
            s.bind(('::1', 0))
        finally:
            s.close()
        return True
    except OSError:
        return False


# ---------------------------------------------------------------- clients

def client_argv(kind, port, *, identity, known_hosts=None, local=(), remote=(),
                options=None, cipher=None, extra=(), user=USER, host=LOCALHOST,
                config=None):
    """Command line for 'ferry' or 'ssh' with -L `local` and -R `remote` specs.

    `options` are -o Key=Value pairs on top of the defaults
    (StrictHostKeyChecking=yes, UserKnownHostsFile, BatchMode=yes,
    ExitOnForwardFailure=yes); a value of None drops that option. ssh also gets
    -F /dev/null (unless `config`), IdentitiesOnly=yes and
    GlobalKnownHostsFile=/dev/null. With `config` the client gets -F config
    and only what the caller passes in `extra`/`options` (and host = the alias).
    """
    if kind == 'ferry':
        try:
            argv = [fl.require_ferry()]
        except fl.FerryMissing as e:
            raise AssertionError(str(e)) from None
    elif kind == 'ssh':
        argv = [fl.SSH]
    else:
        raise ValueError(kind)
    if config is not None:
        argv += ['-F', str(config), '-N']
        if kind == 'ssh':
            argv += ['-o', 'GlobalKnownHostsFile=/dev/null']
        for k, v in (options or {}).items():
            if v is not None:
                argv += ['-o', f'{k}={v}']
        return argv + list(extra) + [host]
    if kind == 'ssh':
        argv += ['-F', '/dev/null', '-o', 'IdentitiesOnly=yes',
                 '-o', 'GlobalKnownHostsFile=/dev/null']
    argv += ['-N']
    opts = {'StrictHostKeyChecking': 'yes', 'UserKnownHostsFile': known_hosts,
            'BatchMode': 'yes', 'ExitOnForwardFailure': 'yes'}
    opts.update(options or {})
    for k, v in opts.items():
        if v is not None:
            argv += ['-o', f'{k}={v}']
    for spec in local:
        argv += ['-L', spec]
    for spec in remote:
        argv += ['-R', spec]
    if identity is not None:
        argv += ['-i', str(identity)]
    argv += ['-p', str(port), '-l', user]
    if cipher:
        argv += ['-c', cipher]
    return argv + list(extra) + [host]


def start_client(lab, kind, argv, label=None):
    """Start a client process owned by the Lab (stopped at teardown, checked
    for crashes and sanitizer reports)."""
    cp = fl.ClientProc(kind, argv, lab.env, label)
    lab.clients.append(cp)
    return cp


def norm_host(h):
    """'[::1]' -> '::1' (as the clients print hosts in their messages)."""
    return h[1:-1] if h.startswith('[') and h.endswith(']') else h


def remote_spec(bind, port, host, hostport):
    """-R spec text; bind None = no bind field, '' = empty bind field."""
    target = f'{fl.fmt_host(host)}:{hostport}'
    if bind is None:
        return f'{port}:{target}'
    return f'{fl.fmt_host(bind) if bind else ""}:{port}:{target}'


class RemoteTunnel:
    def __init__(self, proc, ports, targets):
        self.proc, self.ports, self.targets = proc, ports, targets
        self.pid = proc.pid

    @property
    def port(self):
        return self.ports[0]

    def alive(self):
        return self.proc.alive()


def wait_allocated(cp, targets, timeout=fl.READY_TIMEOUT, server_log=None):
    """Wait for one 'Allocated port N for remote forward to H:P' line per
    target; returns the server-side ports in `targets` order."""
    targets = [(norm_host(h), int(p)) for h, p in targets]
    ms = cp.wait_for(ALLOCATED_REMOTE_RE, count=len(targets), timeout=timeout)
    if ms is None:
        rc = cp.stop()
        raise AssertionError(
            f'{cp.kind} did not report {len(targets)} "Allocated port ... for remote '
            f'forward" line(s) within {timeout:g}s (exit status {rc}).\n'
            f'argv: {" ".join(cp.argv)}\nstderr:\n{cp.stderr()}' +
            (f'\nserver log tail:\n{fl.tail(server_log())}' if server_log else ''))
    ports = [None] * len(targets)
    for m in ms:
        key = (norm_host(m.group(2)), int(m.group(3)))
        free = [i for i, t in enumerate(targets) if t == key and ports[i] is None]
        assert free, (f'{cp.kind} announced a remote forward to {key} that was not '
                      f'asked for ({targets}):\n{cp.stderr()}')
        ports[free[0]] = int(m.group(1))
    return ports


def start_remote(lab, kind, server, targets, *, bind=LOCALHOST, known_hosts=None,
                 identity=None, options=None, cipher=None, extra=(), local=(),
                 timeout=fl.READY_TIMEOUT, label=None):
    """A client with one `-R bind:0:host:port` per target; returns a
    RemoteTunnel once every forward was announced and the server really
    listens on each announced port."""
    kh = known_hosts if known_hosts is not None else lab.known_hosts(server)
    ident = identity if identity is not None else lab.keys.user['ed25519']
    specs = [remote_spec(bind, 0, h, p) for h, p in targets]
    argv = client_argv(kind, server.port, identity=ident, known_hosts=kh,
                       remote=specs, local=local, options=options, cipher=cipher,
                       extra=extra)
    cp = start_client(lab, kind, argv, label)
    ports = wait_allocated(cp, targets, timeout, server.log_text)
    for p in ports:
        assert wait_until(lambda: listen_addrs(p), 5), \
            f'{kind} announced remote port {p} but nothing listens there'
    return RemoteTunnel(cp, ports, targets)


# ---------------------------------------------------------------- transfers

def upload(port, sink, n, start=0, seconds=120, host=LOCALHOST):
    """Send n pattern bytes to 127.0.0.1:port (a forward ending at `sink`);
    returns the sink's result. Also checks that our socket is closed once the
    sink closed its side (EOF travelled back)."""
    d = Deadline(seconds, f'upload of {n} bytes')
    s = fl.connect(port, host)
    try:
        fl.send_pattern(s, n, start, d)
        s.shutdown(socket.SHUT_WR)
        res = sink.result(timeout=d.left())
        back, _ = fl.recv_to_eof(s, d, limit=0)
        assert back == 0
        return res
    finally:
        s.close()


def download(port, seconds=120, host=LOCALHOST):
    d = Deadline(seconds, 'download')
    s = fl.connect(port, host)
    try:
        return fl.recv_to_eof(s, d)
    finally:
        s.close()


def assert_upload_ok(res, n, start=0):
    assert res.error is None, res.error
    assert res.count == n, f'sink got {res.count} bytes, expected {n}'
    assert res.sha256 == fl.pattern_sha256(n, start), 'payload corrupted (SHA-256 differs)'


def assert_download_ok(result, n, start=0):
    count, digest = result
    assert count == n, f'got {count} bytes, expected {n}'
    assert digest == fl.pattern_sha256(n, start), 'payload corrupted (SHA-256 differs)'


def echo_exchange(port, n, start=0, seconds=60, host=LOCALHOST):
    """Send n bytes, SHUT_WR, read the echo to EOF; returns (count, sha256)."""
    s = fl.connect(port, host)
    try:
        return fl.exchange(s, n, start, Deadline(seconds, f'echo exchange of {n}'))
    finally:
        s.close()


# ---------------------------------------------------------------- sshd processes

def sshd_session_pids(sshd):
    """PIDs of the sshd processes serving the server's connections (each
    `sshd -i` and its descendants: monitor and privilege-separated child)."""
    out = []
    procs = [p for p in list(getattr(sshd, 'procs', ())) if p.poll() is None]
    for p in procs:
        out += fl.process_tree(p.pid)
    return out


def signal_pids(pids, sig):
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


# ---------------------------------------------------------------- dropbear

def dropbear_keygen(path, alg='ed25519'):
    r = subprocess.run([DROPBEARKEY, '-t', alg, '-f', str(path)], stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=60)
    if r.returncode != 0:
        raise RuntimeError(f'dropbearkey failed: {r.stderr.decode(errors="replace")}')
    return dropbear_pubkey(path)


def dropbear_pubkey(path):
    """'alg base64' of a dropbear private key (dropbearkey -y)."""
    r = subprocess.run([DROPBEARKEY, '-y', '-f', str(path)], stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=60)
    if r.returncode != 0:
        raise RuntimeError(f'dropbearkey -y failed: {r.stderr.decode(errors="replace")}')
    for ln in r.stdout.decode().splitlines():
        f = ln.split()
        if len(f) >= 2 and f[0].startswith(('ssh-', 'ecdsa-')):
            return f'{f[0]} {f[1]}'
    raise RuntimeError(f'no public key line in dropbearkey -y output:\n{r.stdout!r}')


class Dropbear:
    """A real dropbear server on 127.0.0.1: `dropbear -F -E -s -p 127.0.0.1:PORT
    -P PIDFILE -r HOSTKEY -W WINDOW`, its stderr in dropbear.log.

    Debian's dropbear refuses -E (log to stderr) in inetd mode ("inetd mode is
    incompatible with debug -v or non-syslog") and there is no syslog here, so
    unlike ferrylab.Sshd it listens itself: the port is picked by
    bind-0-and-close and the start is retried if another process took it
    meanwhile. Ready = the dropbear pid holds the LISTEN socket. Same shape as
    ferrylab.Sshd (port, log_text(), known_hosts_line(), close()), so a Lab
    can own it via lab.sshds and attach its log to a failure report."""

    def __init__(self, workdir, *, window=4 * fl.MiB, extra_args=(),
                 timeout=fl.READY_TIMEOUT):
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.hostkey = self.dir / 'dropbear_ed25519_host_key'
        self.host_pub = dropbear_keygen(self.hostkey)
        self.pidfile = self.dir / 'dropbear.pid'
        self.log_path = self.dir / 'dropbear.log'
        self.host = LOCALHOST
        self.proc = None
        last = ''
        for attempt in range(5):
            self.port = fl.pick_free_port(LOCALHOST)
            self.argv = [DROPBEAR, '-F', '-E', '-s', '-p', f'{LOCALHOST}:{self.port}',
                         '-P', str(self.pidfile), '-r', str(self.hostkey),
                         '-W', str(window)] + list(extra_args)
            with open(self.log_path, 'ab') as log:
                log.write(f'remotelab: starting {" ".join(self.argv)}\n'.encode())
                log.flush()
                self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL,
                                             stdout=log, stderr=log, close_fds=True,
                                             start_new_session=True)
            if wait_until(lambda: self.proc.poll() is not None or
                          fl.listens_on(self.proc.pid, self.port), timeout) and \
                    self.proc.poll() is None:
                return
            self.close()
            last = fl.tail(self.log_text(), 20)
            if 'in use' not in last:
                break
        raise RuntimeError(f'dropbear did not start listening within {timeout:g}s:\n{last}')

    def known_hosts_line(self):
        return f'[{LOCALHOST}]:{self.port} {self.host_pub}\n'

    def write_known_hosts(self, path, key_names=None):
        path = Path(path)
        path.write_text(self.known_hosts_line())
        return path

    def log_text(self):
        try:
            return self.log_path.read_text(errors='replace')
        except OSError:
            return ''

    def close(self):
        p = self.proc
        if p is None:
            return
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except (ProcessLookupError, PermissionError):
                pass
            try:
                p.wait(3)
            except subprocess.TimeoutExpired:
                pass
        # the session we created also holds the per-connection children
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            p.wait(5)
        except subprocess.TimeoutExpired:
            pass


@contextmanager
def authorized_key(publine, user=USER, comment='ferry-integration-test'):
    """Add `publine` to USER's ~/.ssh/authorized_keys (dropbear has no option
    for another file) and restore the file exactly afterwards: same bytes and
    mode, or removed (with ~/.ssh if we created it)."""
    home = Path(pwd.getpwnam(user).pw_dir)
    ssh_dir = home / '.ssh'
    ak = ssh_dir / 'authorized_keys'
    made_dir = not ssh_dir.exists()
    if made_dir:
        ssh_dir.mkdir(mode=0o700)
        os.chmod(ssh_dir, 0o700)
    old = old_mode = None
    if ak.exists():
        old = ak.read_bytes()
        old_mode = stat.S_IMODE(ak.stat().st_mode)
    try:
        body = old or b''
        if body and not body.endswith(b'\n'):
            body += b'\n'
        body += f'{publine} {comment}\n'.encode()
        tmp = ssh_dir / f'.authorized_keys.ferrytest.{os.getpid()}'
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, 'wb') as f:
            f.write(body)
        os.replace(tmp, ak)
        yield ak
    finally:
        if old is None:
            try:
                ak.unlink()
            except FileNotFoundError:
                pass
            if made_dir:
                try:
                    ssh_dir.rmdir()
                except OSError:
                    pass
        else:
            tmp = ssh_dir / f'.authorized_keys.ferrytest.{os.getpid()}'
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, 'wb') as f:
                f.write(old)
            os.chmod(tmp, old_mode)
            os.replace(tmp, ak)


def check_concurrent_echo(port, echo, t, conns, size, seconds):
    """conns connections at once to 127.0.0.1:port (a forward ending at the
    `echo` server through tunnel `t`), each exchanging `size` distinct
    pattern bytes; asserts every one came back intact and the tunnel lives."""
    results = fl.run_together(
        conns, lambda i: echo_exchange(port, size, fl.stream_start(i), seconds=90), seconds)
    bad = [f'conn {i}: {r!r}' for i, r in enumerate(results)
           if r != (size, fl.pattern_sha256(size, fl.stream_start(i)))]
    assert not bad, (f'{len(bad)} of {conns} connections failed (echo server accepted '
                     f'{echo.accepted}):\n' + '\n'.join(bad[:20]))
    assert echo.accepted == conns
    assert t.alive()
