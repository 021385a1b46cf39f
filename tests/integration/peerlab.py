"""peerlab: independent SSH stacks as real peers of ferry and ferryd.

Built on ferrylab (keys, targets, client processes, Deadline, the data
pattern), remotelab and ferrydlab. The peers are Debian packages
(scripts/setup.sh installs them; a missing one fails the tests):

  python3-asyncssh  peers/asyncssh_peer.py: server (ferry connects to it) and
                    client (of ferryd) with -L / -R / SOCKS, a cipher and a
                    rekey_bytes limit
  python3-paramiko  peers/paramiko_peer.py: client with -L / -R and a rekey
                    threshold; 'late' client and '--late' server that send
                    WINDOW_ADJUST, DATA, EOF and a request for a channel
                    whose CLOSE exchange is over
  putty-tools       plink as a client of ferryd (-N -L -R, -hostkey pinned,
                    the user key converted by puttygen, cipher and rekey
                    limit from a saved session under $HOME/.putty)
  libssh-dev        peers/libssh_client.c, compiled once per session by cc
                    into a temporary dir: -L style direct-tcpip over
                    stdin/stdout and -R style tcpip-forward port 0

Every peer runs on 127.0.0.1 with kernel-chosen ports, as a process owned
by the Lab (stopped at teardown: stdin closed, SIGTERM, SIGKILL); servers
sit in lab.sshds so their output goes into failure reports. Readiness is a
line the peer prints (LISTENING / READY / REMOTE) or a LISTEN socket seen in
/proc, never a sleep.
"""

import os
import re
import subprocess
import threading
from pathlib import Path

import ferrylab as fl
import ferrydlab as fdl
import remotelab as rl
from ferrylab import Deadline, LOCALHOST, USER, MiB

PY = os.environ.get('FERRY_TEST_PEER_PYTHON', '/usr/bin/python3')
PEERS = fl.HERE / 'peers'
ASYNCSSH = PEERS / 'asyncssh_peer.py'
PARAMIKO = PEERS / 'paramiko_peer.py'
LIBSSH_SRC = PEERS / 'libssh_client.c'
PLINK = os.environ.get('FERRY_TEST_PLINK', '/usr/bin/plink')
PUTTYGEN = os.environ.get('FERRY_TEST_PUTTYGEN', '/usr/bin/puttygen')
CC = os.environ.get('CC', 'cc')

# What ferry and ferryd negotiate (src/ssh/cipher.c); aes192-ctr is not one.
FERRY_CIPHERS = ('chacha20-poly1305@openssh.com', 'aes128-gcm@openssh.com',
                 'aes256-gcm@openssh.com', 'aes128-ctr', 'aes256-ctr')
KEY_TYPES = ('ed25519', 'ecdsa', 'rsa')

ERROR_RE = re.compile(r'^(?:LOST|ERROR)\b.*$', re.M)


def require_packages():
    """Each peer is a Debian package scripts/setup.sh installs: a missing
    one is an install bug, so it fails (never skips)."""
    missing = []
    for what, ok in (('python3-asyncssh', _imports('asyncssh')),
                     ('python3-paramiko', _imports('paramiko')),
                     ('putty-tools (plink, puttygen)',
                      os.access(PLINK, os.X_OK) and os.access(PUTTYGEN, os.X_OK)),
                     ('libssh-dev (pkg-config libssh)', _pkg_config_ok())):
        if not ok:
            missing.append(what)
    assert not missing, (f'missing peer packages: {", ".join(missing)} '
                         f'(scripts/setup.sh installs them)')


_import_cache = {}


def _imports(mod):
    if mod not in _import_cache:
        r = subprocess.run([PY, '-c', f'import {mod}'], stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=60)
        _import_cache[mod] = r.returncode == 0
    return _import_cache[mod]


def _pkg_config_ok():
    return subprocess.run(['pkg-config', '--exists', 'libssh'],
                          stdin=subprocess.DEVNULL, timeout=30).returncode == 0


# ---------------------------------------------------------------- processes

class PeerProc(fdl.PipedClient):
    """A peer process (stdin a pipe: closing it ends the Python peers) whose
    stdout carries its readiness and result lines."""

    def wait_out(self, regex, count=1, timeout=fl.READY_TIMEOUT):
        """The first `count` matches of `regex` in stdout, or None when
        stdout reached EOF (the peer is gone) or time ran out."""
        rx = re.compile(regex, re.M) if isinstance(regex, str) else regex
        d = Deadline(timeout)
        with self.cond:
            while True:
                ms = list(rx.finditer(self._out.data.decode(errors='replace')))
                if len(ms) >= count:
                    return ms[:count]
                if self._out.eof:
                    return None
                r = d.remaining()
                if r <= 0:
                    return None
                self.cond.wait(r)

    def expect(self, regex, what, count=1, timeout=fl.READY_TIMEOUT, server=None):
        """Like wait_out, but an AssertionError naming `what` (with the
        peer's output and the server's log) when the lines do not come."""
        ms = self.wait_out(regex, count, timeout)
        if ms is None:
            raise AssertionError(
                f'{self.label}: {what} did not happen within {timeout:g}s (exit status '
                f'{self.proc.poll()})\nargv: {" ".join(self.argv)}\nstdout:\n'
                f'{fl.tail(self.stdout())}\nstderr:\n{fl.tail(self.stderr())}' +
                (f'\nserver log:\n{fl.tail(server.log_text())}' if server else ''))
        return ms

    def output(self):
        return self.stdout() + self.stderr()


def start_peer(lab, kind, argv, label=None):
    cp = PeerProc(kind, argv, lab.env, label or kind)
    lab.clients.append(cp)
    return cp


# ---------------------------------------------------------------- peer servers

class PeerServer:
    """An asyncssh or paramiko server process on 127.0.0.1:0; in lab.sshds,
    so lab.close() stops it and its output goes into failure reports."""

    def __init__(self, lab, kind, argv, host_key):
        self.kind = kind
        self.keys = lab.keys
        self.host_key = host_key
        self.host = LOCALHOST
        self.proc = PeerProc(kind, argv, lab.env, f'{kind}-server')
        self.log_path = f'{kind} server stdout+stderr'
        lab.sshds.append(self)
        m = self.proc.expect(r'^LISTENING (\d+)$', f'{kind} server start')
        self.port = int(m[0].group(1))

    def log_text(self):
        return self.proc.stdout() + '\n--- stderr ---\n' + self.proc.stderr()

    def host_pub(self):
        return self.keys.host_pub(self.host_key)

    def known_hosts_line(self, key_name=None):
        return f'[{LOCALHOST}]:{self.port} {self.host_pub()}\n'

    def write_known_hosts(self, path, key_names=None):
        path = Path(path)
        path.write_text(self.known_hosts_line())
        return path

    def lines(self, word):
        """Stdout lines starting with `word`."""
        return [ln for ln in self.proc.stdout().splitlines() if ln.split()[:1] == [word]]

    def errors(self):
        """LOST lines that are not a clean end, and ERROR lines."""
        return [m.group(0) for m in ERROR_RE.finditer(self.proc.stdout())
                if m.group(0) not in ('LOST clean', 'LOST None')]

    def close(self):
        self.proc.stop()


def authorized_file(lab, names=KEY_TYPES):
    p = lab._sub('peer-ak') / 'authorized_keys'
    p.write_text(''.join(lab.keys.user_pub(n) + '\n' for n in names))
    return p


def asyncssh_server(lab, *, host_key='ed25519', cipher=None, rekey_bytes=None):
    argv = [PY, ASYNCSSH, 'server', '--host-key', lab.keys.host[host_key],
            '--authorized', authorized_file(lab)]
    if cipher:
        argv += ['--cipher', cipher]
    if rekey_bytes:
        argv += ['--rekey-bytes', rekey_bytes]
    return PeerServer(lab, 'asyncssh', [str(a) for a in argv], host_key)


def paramiko_server(lab, *, host_key='ed25519', late=False):
    argv = [PY, PARAMIKO, 'server', '--host-key', lab.keys.host[host_key],
            '--authorized', authorized_file(lab)]
    if late:
        argv.append('--late')
    return PeerServer(lab, 'paramiko', [str(a) for a in argv], host_key)


# ---------------------------------------------------------------- ferry as the client

def ferry_client(lab, server, *, local=(), remote=(), identity='ed25519', cipher=None,
                 options=None, extra=()):
    """ferry -v with -L / -R specs against a peer server (host key pinned in
    a known_hosts file, StrictHostKeyChecking=yes)."""
    argv = rl.client_argv('ferry', server.port, identity=lab.keys.user[identity],
                          known_hosts=lab.known_hosts(server), local=local, remote=remote,
                          options=options, cipher=cipher, extra=['-v'] + list(extra))
    return rl.start_client(lab, 'ferry', argv)


def ferry_local(lab, server, targets, **kw):
    """ferry with one -L 127.0.0.1:0:H:P per target; (cp, ports) once each
    'Allocated port' line came."""
    targets = [(h, int(p)) for h, p in targets]
    cp = ferry_client(lab, server, local=[f'{LOCALHOST}:0:{h}:{p}' for h, p in targets],
                      **kw)
    ms = cp.wait_for(fl.ALLOCATED_RE, count=len(targets))
    assert ms is not None, (f'ferry did not announce its -L ports (exit {cp.proc.poll()}):'
                            f'\n{cp.stderr()}\n{server.kind} log:\n'
                            f'{fl.tail(server.log_text())}')
    ports = [None] * len(targets)
    for m in ms:
        key = (m.group(2), int(m.group(3)))
        ports[next(i for i, t in enumerate(targets) if t == key and ports[i] is None)] = \
            int(m.group(1))
    return cp, ports


CIPHER_LINE_RE = re.compile(r'Remote protocol version (\S+); cipher (\S+)')


def ferry_cipher(cp):
    """(peer version, cipher) from ferry -v's line."""
    m = CIPHER_LINE_RE.search(cp.stderr())
    assert m, f'ferry -v printed no cipher line:\n{cp.stderr()}'
    return m.group(1), m.group(2)


# ---------------------------------------------------------------- peers as clients of ferryd

class PeerClient:
    """A peer client process and what it printed: cipher, -L / -R / SOCKS
    ports."""

    def __init__(self, proc, server):
        self.proc, self.server = proc, server
        self.pid = proc.pid
        m = proc.expect(r'^(READY|LOST.*|ERROR.*)$', f'{proc.kind} client setup',
                        server=server)
        if m[0].group(1) != 'READY':
            raise AssertionError(f'{proc.kind} client failed: {m[0].group(1)}\nstderr:\n'
                                 f'{fl.tail(proc.stderr())}\nserver log:\n'
                                 f'{fl.tail(server.log_text())}')
        out = proc.stdout()
        self.cipher = tuple(re.search(r'^CIPHER (\S+) (\S+)$', out, re.M).groups())
        self.local = [int(p) for _, p in sorted(
            (int(i), p) for i, p in re.findall(r'^LOCAL (\d+) (\d+)$', out, re.M))]
        self.remote = [int(p) for _, p in sorted(
            (int(i), p) for i, p in re.findall(r'^REMOTE (\d+) (\d+)$', out, re.M))]
        m = re.search(r'^SOCKS (\d+)$', out, re.M)
        self.socks = int(m.group(1)) if m else None

    def alive(self):
        return self.proc.alive()

    def lost(self):
        return re.findall(r'^(?:LOST|ERROR).*$', self.proc.stdout(), re.M)


def _client_argv(script, server, *, identity, cipher, rekey_bytes, local, remote):
    argv = [PY, script, 'client', '--port', server.port, '--host-pub', server.host_pub(),
            '--key', server.keys.user[identity], '--user', USER]
    if cipher:
        argv += ['--cipher', cipher]
    if rekey_bytes:
        argv += ['--rekey-bytes', rekey_bytes]
    for h, p in local:
        argv += ['-L', f'{h}:{p}']
    for b, lp, h, p in remote:
        argv += ['-R', f'{b}:{lp}:{h}:{p}']
    return [str(a) for a in argv]


def asyncssh_client(lab, server, *, identity='ed25519', cipher=None, rekey_bytes=None,
                    local=(), remote=(), socks=False):
    """asyncssh connected to `server` (a Ferryd) with forwards: local
    [(host, port)] -> listeners on 127.0.0.1:0; remote [(bind, port, host,
    port)]; socks -> a SOCKS listener on 127.0.0.1:0."""
    argv = _client_argv(ASYNCSSH, server, identity=identity, cipher=cipher,
                        rekey_bytes=rekey_bytes, local=local, remote=remote)
    if socks:
        argv.append('--socks')
    return PeerClient(start_peer(lab, 'asyncssh', argv, 'asyncssh-client'), server)


def paramiko_client(lab, server, *, identity='ed25519', cipher=None, rekey_bytes=None,
                    local=(), remote=()):
    argv = _client_argv(PARAMIKO, server, identity=identity, cipher=cipher,
                        rekey_bytes=rekey_bytes, local=local, remote=remote)
    return PeerClient(start_peer(lab, 'paramiko', argv, 'paramiko-client'), server)


def paramiko_late(lab, server, target, size=MiB):
    argv = [PY, PARAMIKO, 'late', '--port', server.port, '--host-pub', server.host_pub(),
            '--key', server.keys.user['ed25519'], '--user', USER,
            '--target', f'{target[0]}:{target[1]}', '--size', size]
    return start_peer(lab, 'paramiko', [str(a) for a in argv], 'paramiko-late')


# ---------------------------------------------------------------- plink

_ppk_lock = threading.Lock()


def ppk(keys, name):
    """The user key converted to PuTTY's format by puttygen (once per key set)."""
    path = keys.dir / f'user_{name}.ppk'
    with _ppk_lock:
        if not path.exists():
            r = subprocess.run([PUTTYGEN, str(keys.user[name]), '-O', 'private', '-o',
                                str(path)], stdin=subprocess.DEVNULL, capture_output=True,
                               text=True, timeout=60)
            assert r.returncode == 0, f'puttygen failed: {r.stdout}{r.stderr}'
    return path


def plink_session(lab, name, settings):
    """A saved PuTTY session in $HOME/.putty/sessions (plink -load NAME)."""
    d = lab.home / '.putty' / 'sessions'
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_text(''.join(f'{k}={v}\n' for k, v in settings.items()))
    return name


def plink_argv(lab, server, *, identity='ed25519', local=(), remote=(), session=None):
    """plink -batch -N -v with -L / -R specs, the host key pinned by its
    SHA256 fingerprint (-hostkey) and the key from puttygen."""
    fp = fdl.fingerprint_of(lab.keys.host[server.host_key])
    argv = [PLINK, '-ssh', '-batch', '-N', '-v', '-noagent', '-noshare']
    if session:
        argv += ['-load', session]
    argv += ['-P', str(server.port), '-l', USER, '-i', str(ppk(lab.keys, identity)),
             '-hostkey', fp]
    for spec in local:
        argv += ['-L', spec]
    for spec in remote:
        argv += ['-R', spec]
    return argv + [LOCALHOST]


def start_plink(lab, server, local_targets=(), remote_targets=(), *, identity='ed25519',
                session=None):
    """plink with one -L 127.0.0.1:P:H:P per local target and one -R
    127.0.0.1:P:H:P per remote target, ports picked by bind-0-and-close
    (plink has no port 0); ready when plink holds each -L listener and
    ferryd each -R one. Returns (cp, local ports, remote ports)."""
    nl, nr = len(local_targets), len(remote_targets)

    def start(ports):
        lp, rp = ports[:nl], ports[nl:]
        local = [f'{LOCALHOST}:{p}:{h}:{tp}' for p, (h, tp) in zip(lp, local_targets)]
        remote = [f'{LOCALHOST}:{p}:{h}:{tp}' for p, (h, tp) in zip(rp, remote_targets)]
        return start_peer(lab, 'plink', plink_argv(lab, server, identity=identity,
                                                   local=local, remote=remote,
                                                   session=session))

    last = ''
    for _ in range(5):
        ports = [fl.pick_free_port() for _ in range(nl + nr)]
        if len(set(ports)) != len(ports):
            continue
        cp = start(ports)
        d = Deadline(fl.READY_TIMEOUT, 'plink forwards')
        ok = False
        while cp.alive() and not d.expired():
            held = server.listens()
            if all(fl.listens_on(cp.pid, p) for p in ports[:nl]) and \
                    all(any(hp == p for _, hp in held) for p in ports[nl:]):
                ok = True
                break
            cp.wait_exit(0.02)
        if ok:
            return cp, ports[:nl], ports[nl:]
        cp.stop()
        last = f'exit {cp.proc.returncode}\nargv: {" ".join(cp.argv)}\n{cp.output()}'
        if 'in use' not in last and 'refused' not in last.lower():
            break
    raise AssertionError(f'plink forwards did not come up: {last}\nferryd log:\n'
                         f'{fl.tail(server.log_text())}')


PLINK_CIPHER_RE = re.compile(r'Initialised (.+?) (?:outbound|client->server) encryption')


# ---------------------------------------------------------------- libssh

_libssh_lock = threading.Lock()
_libssh_bin = {}


def libssh_binary(tmpdir):
    """peers/libssh_client.c compiled by cc against libssh (pkg-config),
    once per session into `tmpdir`."""
    with _libssh_lock:
        if 'bin' not in _libssh_bin:
            out = Path(tmpdir) / 'libssh_client'
            flags = subprocess.run(['pkg-config', '--cflags', '--libs', 'libssh'],
                                   stdin=subprocess.DEVNULL, capture_output=True,
                                   text=True, timeout=30)
            assert flags.returncode == 0, f'pkg-config libssh: {flags.stderr}'
            r = subprocess.run([CC, '-std=c11', '-D_POSIX_C_SOURCE=200809L', '-Wall',
                                '-Werror', '-O1', '-o', str(out), str(LIBSSH_SRC)] +
                               flags.stdout.split(), stdin=subprocess.DEVNULL,
                               capture_output=True, text=True, timeout=120)
            assert r.returncode == 0, f'cc libssh_client.c failed:\n{r.stdout}{r.stderr}'
            _libssh_bin['bin'] = str(out)
        return _libssh_bin['bin']


def libssh_argv(binary, lab, server, mode, *, identity='ed25519', cipher=None,
                hostkeys=None, rekey=None, verbose=None):
    opts = ','.join(f'{k}={v}' for k, v in (('cipher', cipher), ('hostkeys', hostkeys),
                                            ('rekey', rekey), ('verbose', verbose))
                    if v) or '-'
    return [binary, str(server.port), USER, str(lab.keys.user[identity]),
            fdl.fingerprint_of(lab.keys.host[server.host_key]), opts] + \
        [str(m) for m in mode]


def feed_and_collect(cp, n, start, seconds=60):
    """Write n pattern bytes into a PeerProc's stdin (then close it) while
    its stdout is captured; returns once stdout reached EOF or time ran out."""
    d = Deadline(seconds, 'libssh transfer')
    err = []

    def writer():
        try:
            for c in fl.pattern_chunks(n, start, 256 * 1024):
                cp.proc.stdin.write(c)
            cp.proc.stdin.flush()
        except (BrokenPipeError, OSError) as e:
            err.append(e)
        finally:
            cp.close_stdin()
    t = threading.Thread(target=writer, daemon=True)
    t.start()
    t.join(d.left())
    with cp.cond:
        while not cp._out.eof and d.remaining() > 0:
            cp.cond.wait(d.remaining())
    return err
