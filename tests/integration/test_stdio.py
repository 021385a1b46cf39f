"""ferry -W host:port: stdin and stdout forwarded over one direct-tcpip
channel, as ssh -W, so that ferry can be ssh's ProxyCommand.

  - OpenSSH ssh reaches a second sshd through `ProxyCommand=ferry -W %h:%p
    bastion`; a -L of that ssh carries MiBs both ways (SHA-256 checked);
  - ferry -W driven with pipes (and with one socket as stdin and stdout):
    bytes in = bytes out, EOF on stdin ends ferry with 0 once the far end
    closed;
  - a closed port: exit 255 with ssh's "open failed" wording;
  - bad -W arguments: a clear error naming the argument;
  - the same against dropbear;
  - ferry -J (ProxyJump), which runs ferry -W for each hop.

Nothing but channel data may appear on ferry's stdout.
"""

import hashlib
import os
import pty
import shutil
import signal
import socket
import subprocess
import threading

import pytest

import ferrylab as fl
import remotelab as rl
from ferrylab import Deadline, LOCALHOST, USER, MiB

BULK = 4 * MiB


def ferry_w_argv(server, dest, known_hosts, identity, extra=(), config='/dev/null'):
    """ferry -W dest to server (an Sshd or a Dropbear), no config file."""
    return [fl.require_ferry(), '-W', dest, '-F', str(config),
            '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=yes',
            '-o', f'UserKnownHostsFile={known_hosts}', '-i', str(identity),
            '-p', str(server.port), '-l', USER] + list(extra) + [LOCALHOST]


def sanitizer_free(stderr, who='ferry'):
    m = fl.SANITIZER_RE.search(stderr)
    assert m is None, f'{who} stderr reports {m.group(0)!r}:\n{stderr}'


class WProc:
    """ferry -W with its stdin, stdout and stderr as given (pipes by
    default); stderr is collected by a thread. Killed by close()."""

    def __init__(self, argv, env, stdin=subprocess.PIPE, stdout=subprocess.PIPE):
        self.argv = argv
        self.proc = subprocess.Popen(argv, stdin=stdin, stdout=stdout,
                                     stderr=subprocess.PIPE, env=env,
                                     start_new_session=True)
        self._err = bytearray()
        self._t = threading.Thread(target=self._read_err, daemon=True)
        self._t.start()

    def _read_err(self):
        while True:
            b = self.proc.stderr.read1(65536)
            if not b:
                return
            self._err += b

    def stderr(self):
        return self._err.decode(errors='replace')

    def wait(self, timeout=fl.EXIT_TIMEOUT):
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
        self._t.join(2)
        return rc

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        self._t.join(2)
        for f in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if f is not None:
                try:
                    f.close()
                except OSError:
                    pass


@pytest.fixture
def wprocs():
    ps = []
    yield ps
    for p in ps:
        p.close()


def pipe_roundtrip(w, n, start, seconds=60):
    """Writes n pattern bytes to w's stdin and closes it while reading its
    stdout to EOF. Returns (count, sha256) of what came out."""
    d = Deadline(seconds, 'ferry -W pipe round trip')
    res = {}

    def write():
        try:
            for c in fl.pattern_chunks(n, start):
                w.proc.stdin.write(c)
            w.proc.stdin.close()
        except (BrokenPipeError, ValueError) as e:
            res['write_error'] = repr(e)

    def read():
        h, count = hashlib.sha256(), 0
        while True:
            b = w.proc.stdout.read1(MiB)
            if not b:
                break
            count += len(b)
            h.update(b)
        res['out'] = (count, h.hexdigest())

    ts = [threading.Thread(target=f, daemon=True) for f in (write, read)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(d.left())
    assert not any(t.is_alive() for t in ts), \
        f'ferry -W stalled (got {res}):\n{w.stderr()}'
    assert 'write_error' not in res, f'{res["write_error"]}:\n{w.stderr()}'
    return res['out']


def assert_clean_exit(w):
    rc = w.wait()
    assert rc == 0, f'ferry -W exit status {rc}, expected 0:\n{w.stderr()}'
    sanitizer_free(w.stderr())


# ------------------------------------------------------------ OpenSSH


def test_proxycommand(lab, keys):
    """ssh -o ProxyCommand='ferry -W %h:%p bastion' target, with a -L of
    that ssh carrying BULK both ways."""
    bastion, target = lab.sshd(), lab.sshd()
    echo = lab.echo()
    bastion_kh = lab.known_hosts(bastion, name='bastion_kh')
    w = ferry_w_argv(bastion, '%h:%p', bastion_kh, keys.user['ed25519'])
    proxy = ' '.join(w)
    t = lab.tunnel('ssh', target, [echo.addr], extra=['-o', f'ProxyCommand={proxy}'])
    count, digest = fl.exchange(fl.connect(t.port), BULK, start=7)
    assert (count, digest) == (BULK, fl.pattern_sha256(BULK, 7)), t.proc.stderr()
    # the second connection rides the same ProxyCommand
    count, digest = fl.exchange(fl.connect(t.port), 1 * MiB, start=9)
    assert (count, digest) == (MiB, fl.pattern_sha256(MiB, 9))
    assert 'Accepted publickey' in bastion.log_text()
    assert 'Accepted publickey' in target.log_text()
    assert t.alive()
    t.proc.stop()
    sanitizer_free(t.proc.stderr(), 'ssh (with ferry as its ProxyCommand)')


def jump_config(lab, keys, sshds, path):
    """A -F file for the hops of ferry -J: every sshd's host key known."""
    kh = path.parent / 'jump_known_hosts'
    kh.write_text(''.join(s.known_hosts_line() for s in sshds))
    path.write_text(f'Host *\n  User {USER}\n  IdentityFile {keys.user["ed25519"]}\n'
                    f'  UserKnownHostsFile {kh}\n  StrictHostKeyChecking yes\n'
                    f'  BatchMode yes\n')
    return path


@pytest.mark.parametrize('hops', [1, 2])
def test_proxyjump(lab, keys, tmp_path, hops):
    """ferry -J runs ferry -W for each hop (as ssh runs ssh -W): one and two
    bastions, a -L through them carrying BULK both ways."""
    bastions = [lab.sshd() for _ in range(hops)]
    target, echo = lab.sshd(), lab.echo()
    cfg = jump_config(lab, keys, bastions + [target], tmp_path / 'jump_config')
    spec = ','.join(f'{LOCALHOST}:{b.port}' for b in bastions)
    t = lab.tunnel('ferry', target, [echo.addr], extra=['-F', str(cfg), '-J', spec])
    count, digest = fl.exchange(fl.connect(t.port), BULK, start=19)
    assert (count, digest) == (BULK, fl.pattern_sha256(BULK, 19)), t.proc.stderr()
    for s in bastions + [target]:
        assert 'Accepted publickey' in s.log_text()
    assert t.alive()
    t.proc.stop()
    sanitizer_free(t.proc.stderr(), 'ferry -J and its ferry -W hops')


def test_pipes_echo(lab, keys, wprocs):
    """Bytes in = bytes out through an echo server; EOF on stdin reaches the
    echo server, which closes, and ferry exits 0."""
    sshd, echo = lab.sshd(), lab.echo()
    argv = ferry_w_argv(sshd, f'{LOCALHOST}:{echo.port}', lab.known_hosts(sshd),
                        keys.user['ed25519'])
    w = WProc(argv, lab.env)
    wprocs.append(w)
    assert pipe_roundtrip(w, BULK, 3) == (BULK, fl.pattern_sha256(BULK, 3))
    assert_clean_exit(w)


def test_pipes_source(lab, keys, wprocs):
    """Remote data first, then the far end closes: stdout gets every byte
    and EOF, and ferry exits 0 once stdin ends too."""
    sshd, src = lab.sshd(), lab.source(BULK, start=5)
    argv = ferry_w_argv(sshd, f'[{LOCALHOST}]:{src.port}', lab.known_hosts(sshd),
                        keys.user['ed25519'])
    w = WProc(argv, lab.env)
    wprocs.append(w)
    assert pipe_roundtrip(w, 0, 0) == (BULK, fl.pattern_sha256(BULK, 5))
    assert_clean_exit(w)


def read_to_eof(f, seconds=60):
    """(count, sha256) of f read to EOF, on a thread bounded in time."""
    res = {}

    def run():
        h, count = hashlib.sha256(), 0
        while True:
            b = f.read1(MiB)
            if not b:
                break
            count += len(b)
            h.update(b)
        res['out'] = (count, h.hexdigest())

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(seconds)
    assert not t.is_alive(), 'no EOF on ferry -W stdout'
    return res['out']


def test_far_end_closes_first(lab, keys, wprocs):
    """The far end sends and closes while stdin is still open: stdout gets
    every byte then EOF (a pipe is closed: it has no shutdown), ferry
    stays up for the other direction, and exits 0 when stdin ends."""
    sshd, src = lab.sshd(), lab.source(BULK, start=17)
    argv = ferry_w_argv(sshd, f'{LOCALHOST}:{src.port}', lab.known_hosts(sshd),
                        keys.user['ed25519'])
    w = WProc(argv, lab.env)
    wprocs.append(w)
    assert read_to_eof(w.proc.stdout) == (BULK, fl.pattern_sha256(BULK, 17)), w.stderr()
    assert w.wait(0.3) is None, f'ferry -W ended before stdin did:\n{w.stderr()}'
    w.proc.stdin.close()
    assert_clean_exit(w)


def socket_pair(kind):
    if kind == 'unix':
        return socket.socketpair()
    with socket.create_server((LOCALHOST, 0)) as lis:
        ours = socket.create_connection(lis.getsockname(), timeout=fl.IO_TIMEOUT)
        theirs, _ = lis.accept()
    return ours, theirs


@pytest.mark.parametrize('kind', ['unix', 'tcp'])
def test_socket_stdio(lab, keys, wprocs, kind):
    """One socket (a Unix socketpair, as ferry's own ProxyCommand gives, or
    TCP, as inetd would) as both stdin and stdout: half-closes go through
    shutdown, and the round trip is exact."""
    sshd, echo = lab.sshd(), lab.echo()
    argv = ferry_w_argv(sshd, f'{LOCALHOST}:{echo.port}', lab.known_hosts(sshd),
                        keys.user['ed25519'])
    ours, theirs = socket_pair(kind)
    try:
        w = WProc(argv, lab.env, stdin=theirs.fileno(), stdout=theirs.fileno())
        wprocs.append(w)
        theirs.close()
        count, digest = fl.exchange(ours, BULK, start=11)
        assert (count, digest) == (BULK, fl.pattern_sha256(BULK, 11)), w.stderr()
        assert_clean_exit(w)
    finally:
        ours.close()


def test_closed_port(lab, keys, wprocs):
    """The far port refuses: ssh's messages, exit 255, nothing on stdout."""
    sshd = lab.sshd()
    port = lab.closed_port()
    argv = ferry_w_argv(sshd, f'{LOCALHOST}:{port}', lab.known_hosts(sshd),
                        keys.user['ed25519'])
    w = WProc(argv, lab.env)
    wprocs.append(w)
    out = w.proc.stdout.read()
    rc = w.wait()
    err = w.stderr()
    assert rc == 255, f'exit status {rc}:\n{err}'
    assert out == b'', f'ferry -W wrote to stdout: {out[:200]!r}'
    assert 'channel 0: open failed: connect failed: ' in err, err
    assert 'stdio forwarding failed' in err, err
    sanitizer_free(err)


def test_connection_lost(lab, keys, wprocs):
    """The SSH connection dies under a running -W: exit 255 with the
    reason, stdout ended without a byte more."""
    sshd, echo = lab.sshd(), lab.echo()
    argv = ferry_w_argv(sshd, f'{LOCALHOST}:{echo.port}', lab.known_hosts(sshd),
                        keys.user['ed25519'])
    w = WProc(argv, lab.env)
    wprocs.append(w)
    w.proc.stdin.write(b'ping')
    w.proc.stdin.flush()
    assert w.proc.stdout.read(4) == b'ping', w.stderr()
    with sshd._lock:
        procs = list(sshd.procs)
    for q in procs:
        os.killpg(q.pid, signal.SIGKILL)
    assert read_to_eof(w.proc.stdout) == (0, hashlib.sha256().hexdigest())
    rc = w.wait()
    assert rc == 255, f'exit status {rc}:\n{w.stderr()}'
    assert 'closed by remote host' in w.stderr(), w.stderr()
    sanitizer_free(w.stderr())


@pytest.mark.parametrize('arg', ['nocolon', 'host:', ':22', 'host:0', 'host:65536',
                                 'host:22x', 'host:-1', '[::1:22', '[::1]22',
                                 '::1:22', '[]:22'])
def test_bad_argument(lab, arg, wprocs):
    """A bad -W is refused before connecting, naming the argument."""
    w = WProc([fl.require_ferry(), '-W', arg, '-F', '/dev/null', LOCALHOST], lab.env,
              stdin=subprocess.DEVNULL)
    wprocs.append(w)
    out = w.proc.stdout.read()
    rc = w.wait()
    err = w.stderr()
    assert rc == 255, f'exit status {rc}:\n{err}'
    assert out == b''
    assert f"Bad stdio forwarding specification '{arg}'" in err, err


def test_twice_and_not_with_up(lab, wprocs):
    for argv, want in (
            (['-W', 'a:1', '-W', 'b:2', LOCALHOST], 'stdio forward already specified'),
            (['up', '-W', 'a:1', LOCALHOST], 'not with ferry up'),
            (['-f', '-W', 'a:1', LOCALHOST], 'not with -f'),
            (['-W', 'a:1', '-n', LOCALHOST], 'not with -n')):
        w = WProc([fl.require_ferry(), '-F', '/dev/null'] + argv if argv[0] != 'up'
                  else [fl.require_ferry(), 'up', '-F', '/dev/null'] + argv[1:],
                  lab.env, stdin=subprocess.DEVNULL)
        wprocs.append(w)
        rc = w.wait()
        assert rc == 255 and want in w.stderr(), (rc, w.stderr())


@pytest.mark.parametrize('kind', ['file', 'tty', 'stdout-file'])
def test_not_a_stream_refused(lab, keys, wprocs, tmp_path, kind):
    """A regular file or a terminal is no stream -W can forward: a clear
    error before connecting, exit 255."""
    sshd = lab.sshd()
    f = tmp_path / 'in'
    f.write_bytes(b'data')
    argv = ferry_w_argv(sshd, f'{LOCALHOST}:1', lab.known_hosts(sshd),
                        keys.user['ed25519'])
    fin = open(f, 'rb')
    stdout, out = subprocess.PIPE, b''
    master = slave = None
    try:
        if kind == 'tty':
            master, slave = pty.openpty()
            stdin, want = slave, 'stdin is a terminal'
        elif kind == 'file':
            stdin, want = fin, 'stdin is a file'
        else:
            stdin, want = subprocess.PIPE, 'stdout is a file'
            stdout = open(tmp_path / 'out', 'wb')
        w = WProc(argv, lab.env, stdin=stdin, stdout=stdout)
        wprocs.append(w)
        if stdout is subprocess.PIPE:
            out = w.proc.stdout.read()
        rc = w.wait()
    finally:
        fin.close()
        for fd in (master, slave):
            if fd is not None:
                os.close(fd)
        if stdout is not subprocess.PIPE:
            stdout.close()
    assert rc == 255, w.stderr()
    assert out == b''
    assert want in w.stderr(), w.stderr()
    assert 'Accepted publickey' not in sshd.log_text(), 'ferry connected first'


def test_forwards_cleared(lab, keys, wprocs, tmp_path):
    """-W implies ClearAllForwardings: forwards of the command line and of
    the file are not bound; the file's ControlPath (ssh's multiplexing
    socket) is left alone."""
    sshd, echo = lab.sshd(), lab.echo()
    ctl = tmp_path / 'ctl'
    cfg = tmp_path / 'config'
    cfg.write_text(f'Host *\n  ControlPath {ctl}\n'
                   f'  LocalForward {LOCALHOST}:0 {LOCALHOST}:1\n'
                   f'  RemoteForward {LOCALHOST}:0 {LOCALHOST}:1\n')
    argv = ferry_w_argv(sshd, f'{LOCALHOST}:{echo.port}', lab.known_hosts(sshd),
                        keys.user['ed25519'], config=cfg,
                        extra=['-L', f'{LOCALHOST}:0:{LOCALHOST}:1'])
    w = WProc(argv, lab.env)
    wprocs.append(w)
    # while it runs (ferry would remove a control socket at exit)
    w.proc.stdin.write(b'ping')
    w.proc.stdin.flush()
    got = b''
    d = Deadline(fl.IO_TIMEOUT, 'first echo through ferry -W')
    while len(got) < 4 and not d.expired():
        b = w.proc.stdout.read1(4 - len(got))
        if not b:
            break
        got += b
    assert got == b'ping', w.stderr()
    assert not ctl.exists(), 'ferry -W opened the ControlPath'
    assert pipe_roundtrip(w, 1000, 1) == (1000, fl.pattern_sha256(1000, 1))
    assert_clean_exit(w)
    assert 'Allocated port' not in w.stderr()
    assert 'forward' not in w.stderr().lower(), w.stderr()


# ------------------------------------------------------------ dropbear


@pytest.fixture(scope='module')
def root_key(keys):
    if not (shutil.which(rl.DROPBEAR) and shutil.which(rl.DROPBEARKEY)):
        pytest.fail('dropbear-bin is not installed (scripts/setup.sh)')
    if USER != 'root' and os.geteuid() != 0:
        pytest.skip('the dropbear test writes ~/.ssh/authorized_keys of the user '
                    'running it and is meant for the root test machine')
    with rl.authorized_key(keys.user_pub('ed25519')):
        yield


def test_dropbear(lab, keys, root_key, wprocs):
    d = rl.Dropbear(lab.dir / 'dropbear')
    lab.sshds.append(d)
    kh = d.write_known_hosts(lab.dir / 'known_hosts_dropbear')
    echo = lab.echo()
    argv = ferry_w_argv(d, f'{LOCALHOST}:{echo.port}', kh, keys.user['ed25519'])
    w = WProc(argv, lab.env)
    wprocs.append(w)
    assert pipe_roundtrip(w, BULK, 13) == (BULK, fl.pattern_sha256(BULK, 13))
    assert_clean_exit(w)
    closed = lab.closed_port()
    argv = ferry_w_argv(d, f'{LOCALHOST}:{closed}', kh, keys.user['ed25519'])
    w = WProc(argv, lab.env)
    wprocs.append(w)
    assert w.proc.stdout.read() == b''
    rc = w.wait()
    assert rc == 255 and 'open failed: connect failed' in w.stderr(), w.stderr()
