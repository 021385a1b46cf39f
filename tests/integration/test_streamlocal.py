"""Unix-socket forwarding (OpenSSH's streamlocal extensions) in every form:

  L-path-tcp   -L /l.sock:127.0.0.1:PORT   client listens on a Unix socket,
                                           direct-tcpip to the target
  L-tcp-path   -L 127.0.0.1:P:/t.sock      direct-streamlocal@openssh.com: the
                                           server connects to a Unix socket
  L-path-path  -L /l.sock:/t.sock
  R-path-tcp   -R /r.sock:127.0.0.1:PORT   streamlocal-forward@openssh.com: the
                                           server listens on a Unix socket and
                                           opens forwarded-streamlocal channels
  R-tcp-path   -R 127.0.0.1:0:/t.sock      the server listens on TCP, the
                                           client connects to a Unix socket
  R-path-path  -R /r.sock:/t.sock

with clients ferry and OpenSSH ssh (the `client` fixture) against OpenSSH
sshd and ferryd, 16 MiB each way per form, SHA-256 checked. Then: cancelling
a remote Unix forward (ssh -O cancel through a ControlMaster; ferry by
exiting) and the end of the session stop the listener, and ferryd also
removes the socket file it made; StreamLocalBindUnlink and
StreamLocalBindMask on both ends; ferryd's AllowStreamLocalForwarding modes,
DisableForwarding and authorized_keys restrictions (each refusal logged
naming its rule and shown by ssh -v); a symlink or a regular file at the
requested path is never followed, replaced or removed.

Everything on both sides of the tunnel runs here, so "client side" and
"server side" paths are all in one short directory (/tmp/fsXXXXXXXX: sun_path
holds 107 bytes), removed when the test ends; ferryd gets that directory as
its StreamLocalDirectory (test_streamlocal_confine.py tests the directory
rules themselves, with several users). sshd keeps its defaults
(AllowStreamLocalForwarding yes, StreamLocalBindUnlink no, mask 0177) unless
a test says otherwise.

What OpenSSH does that ferryd does differently (so those checks are ferryd
only): sshd 9.2 leaves the socket file behind when a forward is cancelled or
the session ends (the path just stops accepting), and with
StreamLocalBindUnlink yes it unlink()s whatever is at the path before
binding, a regular file or a symlink included (seen here: the file is gone
and sshd listens in its place), so the symlink and regular-file cases with
unlink yes run against ferryd only.
"""

import os
import re
import socket
import subprocess
import time

import pytest

import ferrylab as fl
import remotelab as rl
import sockslab as sl
from ferrydlab import ferryd  # noqa: F401 - fixture
from ferrylab import KiB, LOCALHOST, MiB, USER

BULK = 16 * MiB
SERVERS = ['sshd', 'ferryd']
FORMS = ['L-path-tcp', 'L-tcp-path', 'L-path-path', 'R-path-tcp', 'R-tcp-path', 'R-path-path']


def make_server(lab, ferryd, kind, sdir, config=(), log_level='VERBOSE'):
    """sshd, or ferryd with the test's directory as its StreamLocalDirectory
    (one user, so no %u): every path these tests use lies inside it."""
    if kind == 'sshd':
        return lab.sshd(config=list(config), log_level=log_level)
    return ferryd(config=list(config) + [f'StreamLocalDirectory {sdir.path}'],
                  log_level=log_level)


class Entry:
    """Where the test connects to enter the tunnel: a Unix socket path or a
    TCP port on 127.0.0.1."""

    def __init__(self, path=None, port=None):
        self.path, self.port = path, port

    def connect(self):
        return sl.unix_connect(self.path) if self.path else fl.connect(self.port)

    def __repr__(self):
        return f'Entry({self.path or f"127.0.0.1:{self.port}"})'


def _dest_text(dest):
    return str(dest) if not isinstance(dest, tuple) else f'{fl.fmt_host(dest[0])}:{dest[1]}'


def _failed(cp, server, what):
    return (f'{cp.kind}: {what} (exit {cp.proc.poll()})\nargv: {" ".join(cp.argv)}\n'
            f'stderr:\n{cp.stderr()}\nserver log:\n{fl.tail(server.log_text())}')


def start_forward(lab, kind, server, direction, listen, dest, *, options=None, extra=(),
                  timeout=fl.READY_TIMEOUT):
    """A client with one forward: direction 'L' or 'R'; listen is a path, or
    None for TCP on 127.0.0.1 (-L: ferry port 0 and its listener looked up
    in /proc, ssh a picked port; -R: port 0 and the "Allocated port" line);
    dest a path or (host, port). Returns (ClientProc, Entry) once the
    listener is up: the client (-L) or the server (-R) holds a LISTEN
    socket there."""
    d = _dest_text(dest)
    flag = '-L' if direction == 'L' else '-R'

    def run(spec):
        argv = sl.client_argv(lab, kind, server, options=options,
                              extra=[flag, spec] + list(extra))
        return rl.start_client(lab, kind, argv)

    if listen is not None:
        cp = run(f'{listen}:{d}')
        pids = (lambda: [cp.pid]) if direction == 'L' else (lambda: sl.server_pids(server))
        ok = rl.wait_until(lambda: not cp.alive() or sl.holds_unix_listener(pids(), listen),
                           timeout)
        assert ok and cp.alive(), _failed(cp, server, f'{flag} {listen}:{d} not listening')
        return cp, Entry(path=str(listen))
    if direction == 'R':
        cp = run(f'{LOCALHOST}:0:{d}')
        [port] = sl.wait_remote_port(cp, server, timeout)
        assert rl.listen_addrs(port) == {LOCALHOST}
        return cp, Entry(port=port)
    if kind == 'ferry':
        cp = run(f'{LOCALHOST}:0:{d}')
        ok = rl.wait_until(lambda: not cp.alive() or rl.process_listens(cp.pid), timeout)
        assert ok and cp.alive(), _failed(cp, server, f'-L {LOCALHOST}:0:{d} not listening')
        [(addr, port)] = rl.process_listens(cp.pid)
        assert addr == LOCALHOST
        return cp, Entry(port=port)
    last = None
    for attempt in range(5):
        port = fl.pick_free_port()
        cp = run(f'{LOCALHOST}:{port}:{d}')
        if rl.wait_until(lambda: not cp.alive() or fl.listens_on(cp.pid, port), timeout) \
                and cp.alive():
            return cp, Entry(port=port)
        cp.stop()
        last = cp
        if 'in use' not in cp.stderr():
            break
    raise AssertionError(_failed(last, server, f'-L {LOCALHOST}:P:{d} not listening'))


def start_form(lab, kind, server, sdir, form, echo_tcp, echo_unix):
    """The forward for `form`; returns (cp, Entry, the target it reaches)."""
    direction, lside, dside = form.split('-')
    listen = sdir / ('l.sock' if direction == 'L' else 'r.sock') if lside == 'path' else None
    if dside == 'path':
        dest, target = echo_unix.path, echo_unix
    else:
        dest, target = echo_tcp.addr, echo_tcp
    cp, entry = start_forward(lab, kind, server, direction, listen, dest)
    return cp, entry, target


def echo_through(entry, n, start, seconds=90):
    sl.assert_echo_ok(sl.echo_exchange_sock(entry.connect(), n, start, seconds), n, start)


def refusal(srv, *words, timeout=5):
    """ferryd's first 'refused for USER from 127.0.0.1 port N: ...' line
    containing every one of `words` (each a plain string, or a compiled
    regex), or None."""
    rx = re.compile(rf'^ferryd: refused for {re.escape(USER)} from 127\.0\.0\.1 port \d+: (.*)$',
                    re.M)
    d = fl.Deadline(timeout)
    while True:
        for m in rx.finditer(srv.log_text()):
            if all((w.search(m.group(1)) if hasattr(w, 'search') else w in m.group(1))
                   for w in words):
                return m
        if d.expired():
            return None
        time.sleep(min(0.05, max(0.0, d.remaining())))


def stale_socket(path):
    """A socket file nobody listens on (bound, then closed)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(sl.check_sun_path(path))
    s.close()
    assert sl.is_socket(path) and not sl.accepts(path)
    return os.lstat(path).st_ino


def _remote_refused(cp, path):
    """ssh and ferry with ExitOnForwardFailure=yes: exit 255 and
    "remote port forwarding failed for listen path PATH"."""
    rc = cp.wait_exit(15)
    assert rc == 255, f'exit {rc}, expected 255:\n{cp.stderr()}'
    assert f'remote port forwarding failed for listen path {path}' in cp.stderr(), cp.stderr()


# ---------------------------------------------------------------- data

@pytest.mark.parametrize('form', FORMS)
@pytest.mark.parametrize('server', SERVERS)
def test_bulk(lab, ferryd, client, server, form):
    """16 MiB each way through each Unix-socket form."""
    sdir = sl.short_tmp(lab)
    srv = make_server(lab, ferryd, server, sdir)
    echo_tcp = lab.echo()
    echo_unix = sl.unix_echo(lab, sdir / 't.sock')
    cp, entry, target = start_form(lab, client, srv, sdir, form, echo_tcp, echo_unix)
    echo_through(entry, BULK, start=FORMS.index(form) * 101 + 7)
    assert target.accepted == 1
    assert echo_tcp.accepted + echo_unix.accepted == 1, 'the other target was reached'
    assert not target.errors, target.errors
    assert cp.alive()


def test_concurrent_unix_connections(lab, client):
    """32 connections at once into -L /l.sock:/t.sock, 256 KiB each, each
    with distinct data (a Unix listener accepting in a loop, a Unix target
    serving many channels)."""
    sdir = sl.short_tmp(lab)
    sshd = lab.sshd()
    echo_unix = sl.unix_echo(lab, sdir / 't.sock')
    cp, entry = start_forward(lab, client, sshd, 'L', sdir / 'l.sock', echo_unix.path)
    n, size = 32, 256 * KiB
    results = fl.run_together(
        n, lambda i: sl.echo_exchange_sock(entry.connect(), size, fl.stream_start(i)), 90,
        'concurrent Unix connections')
    bad = [(i, r) for i, r in enumerate(results)
           if r != (size, fl.pattern_sha256(size, fl.stream_start(i)))]
    assert not bad, bad[:10]
    assert echo_unix.accepted == n
    assert cp.alive()


# ---------------------------------------------------------------- cancel / session end

def _stops_accepting(path, seconds=5):
    return rl.wait_until(lambda: not sl.accepts(path, 1), seconds)


@pytest.mark.parametrize('server', SERVERS)
def test_remote_cancel_and_session_end(lab, ferryd, client, server):
    """Two -R /rN.sock:127.0.0.1:P forwards. ssh: `ssh -O cancel -R` of the
    first through the ControlMaster stops that path accepting while the
    other keeps working; then the session ends (SIGTERM). ferry: it exits
    (SIGTERM), cancelling its forwards (sshd sees
    cancel-streamlocal-forward). Afterwards no path accepts connections,
    and ferryd has removed both socket files."""
    sdir = sl.short_tmp(lab)
    srv = make_server(lab, ferryd, server, sdir,
                      log_level='DEBUG1' if server == 'sshd' else 'VERBOSE')
    echo = lab.echo()
    r1, r2 = sdir / 'r1.sock', sdir / 'r2.sock'
    specs = [f'{r}:{LOCALHOST}:{echo.port}' for r in (r1, r2)]
    extra = ['-M', '-S', str(sdir / 'ctl')] if client == 'ssh' else []
    argv = sl.client_argv(lab, client, srv, remote=specs, extra=extra)
    cp = rl.start_client(lab, client, argv)
    assert rl.wait_until(lambda: not cp.alive() or all(
        sl.holds_unix_listener(sl.server_pids(srv), r) for r in (r1, r2)), fl.READY_TIMEOUT) \
        and cp.alive(), _failed(cp, srv, 'remote Unix forwards not up')
    for i, r in enumerate((r1, r2)):
        echo_through(Entry(path=str(r)), 64 * KiB, i)
    if client == 'ssh':
        res = subprocess.run([fl.SSH, '-F', '/dev/null', '-S', str(sdir / 'ctl'), '-O', 'cancel',
                              '-R', specs[0], LOCALHOST], stdin=subprocess.DEVNULL,
                             capture_output=True, text=True, timeout=20, env=lab.env)
        assert res.returncode == 0, f'ssh -O cancel failed ({res.returncode}): {res.stderr}'
        assert _stops_accepting(r1), f'{r1} still accepts 5 s after the cancel'
        if server == 'ferryd':
            assert rl.wait_until(lambda: not os.path.lexists(r1), 5), \
                f'ferryd left {r1} behind after the cancel'
        echo_through(Entry(path=str(r2)), 64 * KiB, 5)
        assert sl.holds_unix_listener(sl.server_pids(srv), r2)
    held = sl.unix_connect(r2)                 # a live channel when the session ends
    try:
        rc = cp.stop()
        assert rc is not None
    finally:
        held.close()
    for r in (r1, r2):
        assert _stops_accepting(r), f'{r} still accepts 5 s after the client exited'
        if server == 'ferryd':
            assert rl.wait_until(lambda: not os.path.lexists(r), 5), \
                f'ferryd left {r} behind after the session ended'
    if client == 'ferry' and server == 'sshd':
        for r in (r1, r2):
            assert rl.wait_until(lambda: f'cancel-streamlocal-forward path {r}' in
                                 srv.log_text(), 5), f'sshd never saw the cancel of {r}'


def test_local_listener_gone_after_exit(lab, client):
    """-L /l.sock:...: once the client exited, the path accepts no more
    connections."""
    sdir = sl.short_tmp(lab)
    sshd = lab.sshd()
    echo = lab.echo()
    cp, entry = start_forward(lab, client, sshd, 'L', sdir / 'l.sock', echo.addr)
    echo_through(entry, 64 * KiB, 1)
    cp.stop()
    assert _stops_accepting(entry.path), f'{entry.path} still accepts after the client exited'


# ---------------------------------------------------------------- StreamLocalBindUnlink

@pytest.mark.parametrize('unlink', ['yes', 'no'])
def test_client_bind_unlink(lab, client, unlink):
    """A stale socket file at the -L path: with -o StreamLocalBindUnlink=yes
    the client replaces it and forwards; with =no the forward fails
    (ExitOnForwardFailure=yes: exit 255) with an error naming the path, and
    the stale file is left as it was."""
    sdir = sl.short_tmp(lab)
    sshd = lab.sshd()
    echo = lab.echo()
    path = sdir / 'l.sock'
    ino = stale_socket(path)
    opts = {'StreamLocalBindUnlink': unlink}
    if unlink == 'yes':
        cp, entry = start_forward(lab, client, sshd, 'L', path, echo.addr, options=opts)
        echo_through(entry, MiB, 3)            # (the inode number may be reused)
        return
    argv = sl.client_argv(lab, client, sshd, local=[f'{path}:{LOCALHOST}:{echo.port}'],
                          options=opts)
    cp = rl.start_client(lab, client, argv)
    rc = cp.wait_exit(15)
    assert rc == 255, f'exit {rc}, expected 255:\n{cp.stderr()}'
    assert str(path) in cp.stderr(), f'the error does not name {path}:\n{cp.stderr()}'
    assert re.search(r'in use|exists', cp.stderr()), \
        f'the error does not say the path is taken:\n{cp.stderr()}'
    assert sl.is_socket(path) and os.lstat(path).st_ino == ino and not sl.accepts(path), \
        'the stale file was touched'
    assert echo.accepted == 0


@pytest.mark.parametrize('unlink', ['yes', 'no'])
@pytest.mark.parametrize('server', SERVERS)
def test_server_bind_unlink(lab, ferryd, server, unlink):
    """A stale socket file at the -R path: StreamLocalBindUnlink yes in the
    server's config replaces it; no (the default) refuses the request
    (ferryd logs it naming the path and StreamLocalBindUnlink) and leaves the
    file."""
    sdir = sl.short_tmp(lab)
    srv = make_server(lab, ferryd, server, sdir, config=[f'StreamLocalBindUnlink {unlink}'])
    echo = lab.echo()
    path = sdir / 'r.sock'
    ino = stale_socket(path)
    if unlink == 'yes':
        cp, entry = start_forward(lab, 'ssh', srv, 'R', path, echo.addr)
        echo_through(entry, MiB, 4)            # (the inode number may be reused)
        return
    argv = sl.client_argv(lab, 'ssh', srv, remote=[f'{path}:{LOCALHOST}:{echo.port}'])
    _remote_refused(rl.start_client(lab, 'ssh', argv), path)
    assert sl.is_socket(path) and os.lstat(path).st_ino == ino and not sl.accepts(path), \
        'the stale file was touched'
    if server == 'ferryd':
        assert refusal(srv, str(path), 'StreamLocalBindUnlink'), fl.tail(srv.log_text())


# ---------------------------------------------------------------- StreamLocalBindMask

MASKS = [(None, 0o600), ('0022', 0o755), ('0077', 0o700)]
MASK_IDS = ['default', '0022', '0077']


@pytest.mark.parametrize('mask,mode', MASKS, ids=MASK_IDS)
def test_client_bind_mask(lab, client, mask, mode):
    """The -L socket file's mode: 0600 by default (mask 0177), else
    0777 & ~StreamLocalBindMask."""
    sdir = sl.short_tmp(lab)
    sshd = lab.sshd()
    echo = lab.echo()
    opts = {'StreamLocalBindMask': mask} if mask else None
    cp, entry = start_forward(lab, client, sshd, 'L', sdir / 'l.sock', echo.addr, options=opts)
    assert sl.file_mode(entry.path) == mode, \
        f'mode {sl.file_mode(entry.path):04o}, expected {mode:04o}'
    echo_through(entry, 64 * KiB, 2)


@pytest.mark.parametrize('mask,mode', MASKS, ids=MASK_IDS)
@pytest.mark.parametrize('server', SERVERS)
def test_server_bind_mask(lab, ferryd, server, mask, mode):
    """The -R socket file the server makes: 0600 by default, else
    0777 & ~StreamLocalBindMask from the server's config."""
    sdir = sl.short_tmp(lab)
    srv = make_server(lab, ferryd, server, sdir,
                      config=[f'StreamLocalBindMask {mask}'] if mask else [])
    echo = lab.echo()
    cp, entry = start_forward(lab, 'ssh', srv, 'R', sdir / 'r.sock', echo.addr)
    assert sl.file_mode(entry.path) == mode, \
        f'mode {sl.file_mode(entry.path):04o}, expected {mode:04o}'
    echo_through(entry, 64 * KiB, 6)


# ---------------------------------------------------------------- what is at the path

# server x symlink target kind x StreamLocalBindUnlink; sshd 9.2 with
# unlink yes removes the link and binds in its place, so those combinations
# run against ferryd only
SYMLINK_CASES = [(srv, target, unlink)
                 for srv in SERVERS for target in ('file', 'socket', 'dangling')
                 for unlink in ('no', 'yes')
                 if not (srv == 'sshd' and unlink == 'yes')]
# (server, StreamLocalBindUnlink) for a regular file at the path: likewise
REGULAR_CASES = [('sshd', 'no'), ('ferryd', 'no'), ('ferryd', 'yes')]


@pytest.mark.parametrize('server,target,unlink', SYMLINK_CASES,
                         ids=[f'{s}-{t}-unlink-{u}' for s, t, u in SYMLINK_CASES])
def test_symlink_at_remote_path(lab, ferryd, server, target, unlink):
    """-R LINK:127.0.0.1:P where LINK is a symlink (to a regular file, to a
    live socket, or dangling): refused (exit 255), the link still points
    where it did and its target is untouched (same inode and content; a
    socket still serves; a dangling target still absent). ferryd logs the
    refusal naming the path and the symlink."""
    sdir = sl.short_tmp(lab)
    srv = make_server(lab, ferryd, server, sdir, config=[f'StreamLocalBindUnlink {unlink}'])
    echo = lab.echo()
    link, dest = sdir / 'link.sock', sdir / 'dest'
    live = None
    if target == 'file':
        dest.write_bytes(b'do not touch\n')
    elif target == 'socket':
        live = sl.unix_echo(lab, dest)
    os.symlink(dest, link)
    before = os.lstat(dest) if target != 'dangling' else None
    argv = sl.client_argv(lab, 'ssh', srv, remote=[f'{link}:{LOCALHOST}:{echo.port}'])
    _remote_refused(rl.start_client(lab, 'ssh', argv), link)
    assert os.path.islink(link) and os.readlink(link) == str(dest), 'the symlink was replaced'
    if target == 'dangling':
        assert not os.path.lexists(dest), 'something was created at the symlink\'s target'
    else:
        after = os.lstat(dest)
        assert (after.st_ino, after.st_mode) == (before.st_ino, before.st_mode), \
            'the symlink\'s target was replaced'
    if target == 'file':
        assert dest.read_bytes() == b'do not touch\n'
    if target == 'socket':
        assert live.accepted == 0, 'the server connected to the symlink\'s target'
        echo_through(Entry(path=str(dest)), 4 * KiB, 8)
    assert echo.accepted == 0
    if server == 'ferryd':
        assert refusal(srv, str(link), re.compile(r'symbolic link|symlink')), \
            fl.tail(srv.log_text())


@pytest.mark.parametrize('server,unlink', REGULAR_CASES,
                         ids=[f'{s}-unlink-{u}' for s, u in REGULAR_CASES])
def test_regular_file_at_remote_path(lab, ferryd, server, unlink):
    """-R FILE:... where FILE is a regular file: refused even with
    StreamLocalBindUnlink yes, and the file keeps its inode, mode and
    content. ferryd logs the refusal naming the path."""
    sdir = sl.short_tmp(lab)
    srv = make_server(lab, ferryd, server, sdir, config=[f'StreamLocalBindUnlink {unlink}'])
    echo = lab.echo()
    path = sdir / 'file.sock'
    path.write_bytes(b'a regular file\n')
    os.chmod(path, 0o640)
    before = os.lstat(path)
    argv = sl.client_argv(lab, 'ssh', srv, remote=[f'{path}:{LOCALHOST}:{echo.port}'])
    _remote_refused(rl.start_client(lab, 'ssh', argv), path)
    after = os.lstat(path)
    assert (after.st_ino, after.st_mode, path.read_bytes()) == \
        (before.st_ino, before.st_mode, b'a regular file\n'), 'the regular file was touched'
    if server == 'ferryd':
        assert refusal(srv, str(path)), fl.tail(srv.log_text())


# ---------------------------------------------------------------- ferryd policy

def _try_local(lab, srv, sdir, target_unix, echo_tcp):
    """ssh -v with -L 127.0.0.1:P:/t.sock (direct-streamlocal) and a TCP
    -L to echo_tcp; returns (cp, unix entry, tcp entry)."""
    for attempt in range(5):
        pu, pt = fl.pick_free_port(), fl.pick_free_port()
        if pu == pt:
            continue
        argv = sl.client_argv(lab, 'ssh', srv, extra=[
            '-v', '-L', f'{LOCALHOST}:{pu}:{target_unix.path}',
            '-L', f'{LOCALHOST}:{pt}:{LOCALHOST}:{echo_tcp.port}'])
        cp = rl.start_client(lab, 'ssh', argv)
        if rl.wait_until(lambda: not cp.alive() or (fl.listens_on(cp.pid, pu) and
                                                    fl.listens_on(cp.pid, pt)), 10) \
                and cp.alive():
            return cp, Entry(port=pu), Entry(port=pt)
        cp.stop()
        if 'in use' not in cp.stderr():
            break
    raise AssertionError(_failed(cp, srv, 'ssh -L not listening'))


def _nothing_through(entry):
    """A connection through a refused forward carries nothing back."""
    s = entry.connect()
    try:
        s.sendall(b'x')
        got, how = sl.wait_closed(s, 10)
    except (BrokenPipeError, ConnectionResetError):
        got, how = b'', 'reset'
    finally:
        s.close()
    assert (got, how) in ((b'', 'eof'), (b'', 'reset')), (got, how)


def check_policy(lab, srv, sdir, local_ok, remote_ok, words):
    """-L to a Unix socket and -R on a Unix socket against ferryd: each
    works when allowed; when refused nothing gets through, the refusal is
    logged with the path and all of `words`, ssh -v shows it as
    "debug1: Remote: ...", and a -R leaves no file. A TCP -L of the same
    client always works (these rules are about Unix sockets only, unless
    local_ok is None: TCP is refused too)."""
    target = sl.unix_echo(lab, sdir / 't.sock')
    echo = lab.echo()
    cp, unix_entry, tcp_entry = _try_local(lab, srv, sdir, target, echo)
    if local_ok:
        echo_through(unix_entry, 64 * KiB, 1)
        assert target.accepted == 1
    else:
        _nothing_through(unix_entry)
        assert target.accepted == 0, 'a refused direct-streamlocal reached the socket'
        m = refusal(srv, str(target.path), *words)
        assert m, f'no refusal naming {target.path} and {words}:\n{fl.tail(srv.log_text())}'
        assert cp.wait_for(rf'debug1: Remote: {re.escape(m.group(1))}', 1, 5), cp.stderr()
    if local_ok is None:
        _nothing_through(tcp_entry)
    else:
        echo_through(tcp_entry, 64 * KiB, 2)
    rpath = sdir / 'r.sock'
    if remote_ok:
        rcp, entry = start_forward(lab, 'ssh', srv, 'R', rpath, echo.addr)
        echo_through(entry, 64 * KiB, 3)
    else:
        argv = sl.client_argv(lab, 'ssh', srv, remote=[f'{rpath}:{LOCALHOST}:{echo.port}'],
                              extra=['-v'])
        rcp = rl.start_client(lab, 'ssh', argv)
        _remote_refused(rcp, rpath)
        assert not os.path.lexists(rpath), f'{rpath} exists after a refused request'
        m = refusal(srv, str(rpath), *words)
        assert m, f'no refusal naming {rpath} and {words}:\n{fl.tail(srv.log_text())}'
        assert f'debug1: Remote: {m.group(1)}' in rcp.stderr(), rcp.stderr()


@pytest.mark.parametrize('mode', ['yes', 'all', 'local', 'remote', 'no'])
def test_allow_streamlocal_forwarding(lab, ferryd, mode):
    """AllowStreamLocalForwarding: local allows direct-streamlocal only,
    remote streamlocal-forward only; refusals name the keyword and mode."""
    sdir = sl.short_tmp(lab)
    srv = ferryd(config=[f'AllowStreamLocalForwarding {mode}', f'StreamLocalDirectory {sdir.path}'])
    check_policy(lab, srv, sdir, local_ok=mode in ('yes', 'all', 'local'),
                 remote_ok=mode in ('yes', 'all', 'remote'),
                 words=[f'AllowStreamLocalForwarding {mode}'])


def test_disable_forwarding(lab, ferryd):
    """DisableForwarding yes forbids Unix-socket forwarding both ways (and
    TCP, so the TCP -L is refused too)."""
    sdir = sl.short_tmp(lab)
    srv = ferryd(config=['DisableForwarding yes', f'StreamLocalDirectory {sdir.path}'])
    check_policy(lab, srv, sdir, local_ok=None, remote_ok=False,
                 words=['DisableForwarding yes forbids'])


@pytest.mark.parametrize('options,allowed', [('restrict', False), ('no-port-forwarding', False),
                                             ('restrict,port-forwarding', True)],
                         ids=['restrict', 'no-port-forwarding', 'restrict+port-forwarding'])
def test_key_options(lab, ferryd, options, allowed):
    """authorized_keys restrict / no-port-forwarding forbid Unix-socket
    forwarding both ways (refusal names the option); port-forwarding after
    restrict allows it again, as in sshd."""
    sdir = sl.short_tmp(lab)
    srv = ferryd(authorized={USER: [f'{options} {lab.keys.user_pub("ed25519")}']},
                 config=[f'StreamLocalDirectory {sdir.path}'])
    word = 'restrict' if options == 'restrict' else 'no-port-forwarding'
    check_policy(lab, srv, sdir, local_ok=allowed if allowed else None, remote_ok=allowed,
                 words=[word, str(srv.ak_path())])
