"""ferryd's boundary between users for Unix sockets (issue 10, items 3, 4).

Every ferryd user is the same OS user, so the path rules are the boundary.
Two users, alice (ed25519 key) and bob (ecdsa key), log in to one ferryd;
each key is in its own authorized_keys file. By default each user's socket
paths live in <StateDirectory>/sockets/<user> (StreamLocalDirectory): a
relative path resolves there, an absolute one must lie inside it, ".." and
symlinks are refused, and the directory is made 0700 when missing.

  item 3  a socket's identity is its file, not its spelling: with
          StreamLocalBindUnlink yes, bob asking for alice's live socket as
          DIR//app.sock, DIR/./app.sock or through a symlinked directory is
          refused and alice keeps her traffic (per-user directories, one
          shared directory, and StreamLocalDirectory none); alice's own key
          takes her socket over under any spelling (ReclaimForwards).
  item 4  bob's direct-streamlocal never reaches alice's forwarded socket,
          a socket outside his directory (a "system" socket, one in
          StateDirectory), nor one behind "..", a symlink or a symlinked
          directory; with a misconfigured shared directory (or none) the
          live-forward rule still refuses; relative paths land in his
          directory; a key with permitopen= gets no direct-streamlocal and
          one with permitlisten= no streamlocal-forward unless
          KeyPermitsCoverStreamLocal no; a group-writable directory is
          refused; ferryd -T prints the keywords.

Each refusal must be logged ("refused for USER ...: reason") and shown to
ssh -v as "debug1: Remote: reason". Traffic is checked by SHA-256; which
target a connection reached is checked by the targets' accept counts.
StateDirectory is a short directory here, so the sockets fit sun_path.
"""

import os
import re
import stat
import time

import pytest

import ferrydlab as fdl
import ferrylab as fl
import remotelab as rl
import sockslab as sl
from ferrydlab import ferryd  # noqa: F401 - fixture
from ferrylab import KiB, LOCALHOST, MiB

ALICE, BOB = 'alice', 'bob'
KEYS = {ALICE: 'ed25519', BOB: 'ecdsa'}
CONFIGS = ['default', 'shared', 'none']


class Site:
    """A ferryd with alice and bob, and where their sockets live."""

    def __init__(self, lab, ferryd, mode='default', config=(), options=None):
        self.sdir = sl.short_tmp(lab)
        self.state = self.sdir / 'st'
        self.mode = mode
        lines = list(config)
        if mode == 'shared':             # a misconfiguration: no %u
            lines.append(f'StreamLocalDirectory {self.sdir / "shared"}')
        elif mode == 'none':
            lines.append('StreamLocalDirectory none')
        options = options or {}
        self.srv = ferryd(state_dir=self.state, config=lines, authorized={
            u: [f'{options[u]} {lab.keys.user_pub(k)}' if options.get(u) else
                lab.keys.user_pub(k)] for u, k in KEYS.items()})

    def dir(self, user):
        """The directory user's sockets go to (made here 0700, so that the
        same test runs against a ferryd that would not make it)."""
        if self.mode == 'default':
            d = self.state / 'sockets' / user
        elif self.mode == 'shared':
            d = self.sdir / 'shared'
        else:
            d = self.sdir / 'any' / user
        os.makedirs(d, mode=0o700, exist_ok=True)
        return d


def argv(lab, kind, site, user, *, local=(), remote=(), extra=()):
    return fdl.client_argv(lab, kind, site.srv, identity=KEYS[user], user=user, local=local,
                           remote=remote, extra=(['-v'] if kind == 'ssh' else []) + list(extra))


def failed(cp, site, what):
    return (f'{cp.kind}: {what} (exit {cp.proc.poll()})\nargv: {" ".join(cp.argv)}\n'
            f'stderr:\n{fl.tail(cp.stderr())}\nferryd log:\n{fl.tail(site.srv.log_text())}')


def start_remote(lab, kind, site, user, path, dest, listens_at=None):
    """-R path:dest for user, once ferryd listens at listens_at (default:
    path itself)."""
    cp = rl.start_client(lab, kind, argv(lab, kind, site, user, remote=[f'{path}:{dest}']))
    at = str(listens_at or path)
    ok = rl.wait_until(lambda: not cp.alive() or
                       sl.holds_unix_listener(sl.server_pids(site.srv), at), fl.READY_TIMEOUT)
    assert ok and cp.alive(), failed(cp, site, f'-R {path} not listening at {at}')
    return cp


def remote_refused(lab, kind, site, user, path, dest):
    """-R path:dest for user must fail (ExitOnForwardFailure: exit 255)."""
    cp = rl.start_client(lab, kind, argv(lab, kind, site, user, remote=[f'{path}:{dest}']))
    rc = cp.wait_exit(15)
    assert rc == 255, failed(cp, site, f'-R {path}: exit {rc}, expected 255')
    assert 'remote port forwarding failed' in cp.stderr(), failed(cp, site, 'no warning')
    return cp


def start_local(lab, kind, site, user, target):
    """-L 127.0.0.1:P:target for user; (cp, port) once the client listens."""
    if kind == 'ferry':
        cp = rl.start_client(lab, kind, argv(lab, kind, site, user,
                                              local=[f'{LOCALHOST}:0:{target}']))
        ok = rl.wait_until(lambda: not cp.alive() or rl.process_listens(cp.pid),
                           fl.READY_TIMEOUT)
        assert ok and cp.alive(), failed(cp, site, f'-L ...:{target} not listening')
        [(_, port)] = rl.process_listens(cp.pid)
        return cp, port
    for _ in range(5):
        port = fl.pick_free_port()
        cp = rl.start_client(lab, kind, argv(lab, kind, site, user,
                                              local=[f'{LOCALHOST}:{port}:{target}']))
        if rl.wait_until(lambda: not cp.alive() or fl.listens_on(cp.pid, port),
                         fl.READY_TIMEOUT) and cp.alive():
            return cp, port
        cp.stop()
        if 'in use' not in cp.stderr():
            break
    raise AssertionError(failed(cp, site, f'-L {port}:{target} not listening'))


def echo_ok(sock, n, start):
    sl.assert_echo_ok(sl.echo_exchange_sock(sock, n, start), n, start)


def nothing_through(port):
    """A connection into a refused -L carries nothing back."""
    s = fl.connect(port)
    try:
        s.sendall(b'x')
        got, how = sl.wait_closed(s, 10)
    except (BrokenPipeError, ConnectionResetError):
        got, how = b'', 'reset'
    finally:
        s.close()
    assert (got, how) in ((b'', 'eof'), (b'', 'reset')), (got, how)


def refusal(site, user, *words, timeout=5):
    """The reason of ferryd's first refusal for user holding every word."""
    d = fl.Deadline(timeout)
    while True:
        for u, _, _, why in site.srv.refusals():
            if u == user and all(w in why for w in words):
                return why
        if d.expired():
            return None
        time.sleep(0.05)


def check_refused(site, cp, user, *words):
    """Logged naming every word, and (ssh -v) told to the client."""
    why = refusal(site, user, *words)
    assert why, f'no refusal for {user} with {words}:\n{fl.tail(site.srv.log_text())}'
    if cp.kind == 'ssh':
        assert cp.wait_for(rf'debug1: Remote: {re.escape(why)}', 1, 5), cp.stderr()
    return why


def inode(path):
    return os.lstat(path).st_ino


# ---------------------------------------------------------------- item 3

SPELLINGS = ['double-slash', 'dot', 'symlinked-dir']


def respell(site, d, how):
    if how == 'double-slash':
        return f'{d}//app.sock'
    if how == 'dot':
        return f'{d}/./app.sock'
    alias = site.sdir / 'alias'
    if not os.path.lexists(alias):
        os.symlink(d, alias)
    return f'{alias}/app.sock'


@pytest.mark.parametrize('how', SPELLINGS)
@pytest.mark.parametrize('mode', CONFIGS)
def test_other_user_cannot_take_socket_by_spelling(lab, ferryd, client, mode, how):
    """StreamLocalBindUnlink yes: alice forwards DIR/app.sock; bob asks for
    the same socket spelled differently. Refused (logged for bob, told to
    him); the socket keeps its inode and alice's traffic (1 MiB SHA-256)
    still reaches alice's target, never bob's."""
    site = Site(lab, ferryd, mode, config=['StreamLocalBindUnlink yes'])
    echo_a, echo_b = lab.echo(), lab.echo()
    d = site.dir(ALICE)
    path = d / 'app.sock'
    start_remote(lab, 'ssh', site, ALICE, path, f'{LOCALHOST}:{echo_a.port}')
    before = inode(path)
    spelled = respell(site, d, how)
    cp = remote_refused(lab, client, site, BOB, spelled, f'{LOCALHOST}:{echo_b.port}')
    # outside bob's directory, else the same file as alice's live forward
    held = mode == 'none' or (mode == 'shared' and how != 'symlinked-dir')
    check_refused(site, cp, BOB, spelled, 'held by a session' if held else 'outside')
    assert sl.is_socket(path) and inode(path) == before, 'alice\'s socket was replaced'
    echo_ok(sl.unix_connect(path), MiB, 31)
    assert (echo_a.accepted, echo_b.accepted) == (1, 0), (echo_a.accepted, echo_b.accepted)


@pytest.mark.parametrize('how', ['double-slash', 'relative'])
def test_same_key_takes_over_under_any_spelling(lab, ferryd, client, how):
    """ReclaimForwards (default yes), StreamLocalBindUnlink no: a second
    client of alice's with the same key asks for her live socket spelled
    DIR//app.sock or ./app.sock; it is the same socket, so it is taken
    over (not refused as "already exists"), and traffic goes to the new
    client's target."""
    site = Site(lab, ferryd)
    echo_1, echo_2 = lab.echo(), lab.echo()
    d = site.dir(ALICE)
    path = d / 'app.sock'
    cp1 = start_remote(lab, 'ssh', site, ALICE, path, f'{LOCALHOST}:{echo_1.port}')
    spelled = f'{d}//app.sock' if how == 'double-slash' else './app.sock'
    cp2 = rl.start_client(lab, client, argv(lab, client, site, ALICE,
                                            remote=[f'{spelled}:{LOCALHOST}:{echo_2.port}']))
    assert site.srv.wait_log(r'taken over from the older session', 1, 15), \
        failed(cp2, site, 'no take-over')
    assert site.srv.wait_log(rf'^ferryd: {ALICE}: Forwarding socket ', 2, 10) and cp2.alive(), \
        failed(cp2, site, 'the new forward is not up')
    echo_ok(sl.unix_connect(path), MiB, 32)
    assert (echo_1.accepted, echo_2.accepted) == (0, 1)
    assert cp1.alive()


# ---------------------------------------------------------------- item 4

@pytest.mark.parametrize('mode', CONFIGS)
def test_local_never_reaches_other_users_forward(lab, ferryd, client, mode):
    """alice forwards DIR/app.sock; bob's -L to it carries nothing and
    alice's target sees no connection (default: outside his directory;
    shared directory or none: it is another user's live forward). alice
    herself reaches it (a user's own sockets stay usable)."""
    site = Site(lab, ferryd, mode)
    echo_a = lab.echo()
    path = site.dir(ALICE) / 'app.sock'
    start_remote(lab, 'ssh', site, ALICE, path, f'{LOCALHOST}:{echo_a.port}')
    cp, port = start_local(lab, client, site, BOB, path)
    nothing_through(port)
    assert echo_a.accepted == 0, 'bob reached alice\'s forward'
    word = 'outside' if mode == 'default' else 'another user\'s remote forward'
    check_refused(site, cp, BOB, str(path), word)
    _, mine = start_local(lab, client, site, ALICE, path)
    echo_ok(fl.connect(mine), 256 * KiB, 33)
    assert echo_a.accepted == 1


OUTSIDE = ['system-socket', 'state-directory', 'dotdot', 'symlink', 'symlinked-dir']


@pytest.mark.parametrize('what', OUTSIDE)
def test_local_confined_to_user_directory(lab, ferryd, client, what):
    """Default config: bob's -L to a socket outside his directory (a
    "system" socket; one in StateDirectory, like the daemon's own), or
    reached through "..", a symlink in his directory, or a symlinked
    directory in it: refused naming the rule, the target untouched."""
    site = Site(lab, ferryd)
    bdir = site.dir(BOB)
    adir = site.dir(ALICE)
    if what == 'system-socket':
        target = sl.unix_echo(lab, site.sdir / 'system.sock')
        path, word = target.path, 'outside'
    elif what == 'state-directory':
        target = sl.unix_echo(lab, site.state / 'own.sock')
        path, word = target.path, 'outside'
    elif what == 'dotdot':
        target = sl.unix_echo(lab, adir / 'app.sock')
        path, word = f'{bdir}/../{ALICE}/app.sock', '".."'
    elif what == 'symlink':
        target = sl.unix_echo(lab, site.sdir / 'system.sock')
        os.symlink(target.path, bdir / 'link.sock')
        path, word = bdir / 'link.sock', 'symbolic link'
    else:
        target = sl.unix_echo(lab, adir / 'app.sock')
        os.symlink(adir, bdir / 'sub')
        path, word = bdir / 'sub' / 'app.sock', 'symbolic link'
    cp, port = start_local(lab, client, site, BOB, path)
    nothing_through(port)
    assert target.accepted == 0, f'bob reached {target.path}'
    check_refused(site, cp, BOB, str(path), word)


def test_relative_paths_land_in_user_directory(lab, ferryd, client):
    """bob's -R ./app.sock listens in <StateDirectory>/sockets/bob (made
    0700 by ferryd) and carries 1 MiB to his target; his -L to ./t.sock
    reaches the socket of that name in his directory."""
    site = Site(lab, ferryd)
    echo_b = lab.echo()
    bdir = site.state / 'sockets' / BOB
    start_remote(lab, client, site, BOB, './app.sock', f'{LOCALHOST}:{echo_b.port}',
                 listens_at=bdir / 'app.sock')
    st = os.stat(bdir)
    assert stat.S_IMODE(st.st_mode) == 0o700 and st.st_uid == os.geteuid(), oct(st.st_mode)
    echo_ok(sl.unix_connect(bdir / 'app.sock'), MiB, 34)
    assert echo_b.accepted == 1
    target = sl.unix_echo(lab, bdir / 't.sock')
    _, port = start_local(lab, client, site, BOB, './t.sock')
    echo_ok(fl.connect(port), 256 * KiB, 35)
    assert target.accepted == 1


@pytest.mark.parametrize('option', ['permitopen', 'permitlisten'])
@pytest.mark.parametrize('cover', ['default', 'no'])
def test_key_permits_cover_streamlocal(lab, ferryd, client, option, cover):
    """bob's key has permitopen="127.0.0.1:1" (or permitlisten="1"): by
    default (KeyPermitsCoverStreamLocal yes) it gets no local (or remote)
    Unix-socket forwarding, refused naming the option and the keyword,
    while the other direction works; KeyPermitsCoverStreamLocal no gives
    sshd's rule and both work."""
    opt = 'permitopen="127.0.0.1:1"' if option == 'permitopen' else 'permitlisten="1"'
    site = Site(lab, ferryd, config=['KeyPermitsCoverStreamLocal no'] if cover == 'no' else [],
                options={BOB: opt})
    bdir = site.dir(BOB)
    target = sl.unix_echo(lab, bdir / 't.sock')
    echo_b = lab.echo()
    local_ok = cover == 'no' or option == 'permitlisten'
    remote_ok = cover == 'no' or option == 'permitopen'
    cp, port = start_local(lab, client, site, BOB, target.path)
    if local_ok:
        echo_ok(fl.connect(port), 256 * KiB, 36)
        assert target.accepted == 1
    else:
        nothing_through(port)
        assert target.accepted == 0
        check_refused(site, cp, BOB, str(target.path), 'permitopen=',
                      'KeyPermitsCoverStreamLocal yes')
    rpath = bdir / 'r.sock'
    if remote_ok:
        start_remote(lab, client, site, BOB, rpath, f'{LOCALHOST}:{echo_b.port}')
        echo_ok(sl.unix_connect(rpath), 256 * KiB, 37)
        assert echo_b.accepted == 1
    else:
        rcp = remote_refused(lab, client, site, BOB, rpath, f'{LOCALHOST}:{echo_b.port}')
        assert not os.path.lexists(rpath)
        check_refused(site, rcp, BOB, str(rpath), 'permitlisten=',
                      'KeyPermitsCoverStreamLocal yes')


def test_unsafe_directory_refused(lab, ferryd):
    """A StreamLocalDirectory writable by group or others is refused (the
    request is, not the server), naming the directory and its mode."""
    site = Site(lab, ferryd)
    bdir = site.dir(BOB)
    os.chmod(bdir, 0o770)
    echo_b = lab.echo()
    cp = remote_refused(lab, 'ssh', site, BOB, bdir / 'r.sock', f'{LOCALHOST}:{echo_b.port}')
    check_refused(site, cp, BOB, str(bdir), 'writable by group or others', '0770')
    assert not os.path.lexists(bdir / 'r.sock')


def test_config_keywords(tmp_path):
    """ferryd -T: StreamLocalDirectory defaults to <StateDirectory>/sockets/%u,
    a relative value is under StateDirectory, none and %% are kept, and an
    unknown token is an error naming it; KeyPermitsCoverStreamLocal yes by
    default."""
    def t(*opts):
        args = ['-T', '-f', '/dev/null', '-o', f'StateDirectory={tmp_path}']
        for o in opts:
            args += ['-o', o]
        return fdl.run_ferryd(args)

    r = t()
    assert r.returncode == 0, r.stderr
    assert f'streamlocaldirectory {tmp_path}/sockets/%u\n' in r.stdout, r.stdout
    assert 'keypermitscoverstreamlocal yes\n' in r.stdout, r.stdout
    r = t('StreamLocalDirectory=run/%u%%x', 'KeyPermitsCoverStreamLocal=no')
    assert f'streamlocaldirectory {tmp_path}/run/%u%%x\n' in r.stdout, r.stdout + r.stderr
    assert 'keypermitscoverstreamlocal no\n' in r.stdout
    r = t('StreamLocalDirectory=none')
    assert 'streamlocaldirectory none\n' in r.stdout, r.stdout + r.stderr
    r = t('StreamLocalDirectory=/run/%h')
    assert r.returncode != 0 and 'unknown token %h' in r.stderr, r.stderr
