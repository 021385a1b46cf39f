"""ferryd's AuthorizedKeysCommand with OpenSSH ssh as the client.

The command (a shell script here, run without a shell by ferryd) prints
authorized_keys lines; ferryd runs it on its event loop while the login
waits, so other users keep logging in and moving data meanwhile. Bounds:
30 s (then the command's process group is killed and the key refused),
1 MiB of output, a clean exit. Tokens %u %f %t %k are expanded per word.
"""

import os
import pwd
import re
import stat
import time

import pytest

import ferrydlab as fdl
from ferrydlab import ferryd  # noqa: F401 - fixture
import ferrylab as fl
import remotelab as rl
from ferrylab import LOCALHOST, USER

RUN_AS = pwd.getpwuid(os.getuid()).pw_name


def _script(lab, name, body):
    p = lab.dir / f'akc_{name}.sh'
    p.write_text('#!/bin/sh\n' + body)
    p.chmod(0o755)
    return p


def _server(ferryd, script, args='%u %f %t %k', extra=()):
    return ferryd(config=[f'AuthorizedKeysCommand {script} {args}',
                          f'AuthorizedKeysCommandUser {RUN_AS}', *extra],
                  authorized={})


def _refused(cp):
    rc = cp.wait_exit(60)
    assert rc not in (None, 0), (rc, cp.stderr())
    assert 'Permission denied (publickey)' in cp.stderr(), cp.stderr()


def _logged_in(srv, user, timeout=20):
    return srv.wait_log(rf'^ferryd: Accepted publickey for {re.escape(user)} from '
                        rf'{re.escape(LOCALHOST)} port \d+ ssh2: ', 1, timeout)


def _client(lab, srv, user, local=None):
    local = local or [f'{LOCALHOST}:{fl.pick_free_port()}:{LOCALHOST}:9']
    return fdl.start_client(lab, 'ssh', srv, user=user, local=local)


def test_key_printed_logs_in_and_tunnels(lab, ferryd):
    """The command prints the key with options: ssh logs in, its -L carries
    1 MiB both ways intact; the command got %u %f %t %k as its arguments."""
    echo = lab.echo()
    args = lab.dir / 'akc_args'
    key = lab.keys.user_pub('ed25519')
    script = _script(lab, 'print', f'printf "%s\\n" "$@" > {args}\n'
                     f'echo \'permitopen="{LOCALHOST}:{echo.port}" {key}\'\n')
    srv = _server(ferryd, script)
    t = fdl.start_local(lab, 'ssh', srv, [echo.addr])
    n = 1024 * 1024
    count, digest = rl.echo_exchange(t.port, n, start=5)
    assert (count, digest) == (n, fl.pattern_sha256(n, 5))
    ktype, b64 = key.split()[:2]
    assert args.read_text().split('\n')[:4] == [
        USER, fdl.fingerprint_of(lab.keys.user['ed25519']), ktype, b64]
    assert srv.wait_log(r'^(?:ferryd|debug1): Accepted key ED25519 SHA256:\S+ found at '
                        r'AuthorizedKeysCommand:1$', 1, 10), fl.tail(srv.log_text())
    assert _logged_in(srv, USER)


def test_command_alone_gets_the_user(lab, ferryd):
    """A command without arguments is given the user name (sshd's rule);
    %% is a percent."""
    args = lab.dir / 'akc_args'
    key = lab.keys.user_pub('ed25519')
    script = _script(lab, 'alone', f'printf "%s\\n" "$@" > {args}\necho "{key}"\n')
    srv = _server(ferryd, script, args='')
    cp = _client(lab, srv, USER)
    assert _logged_in(srv, USER), fl.tail(srv.log_text())
    assert args.read_text() == f'{USER}\n'
    fdl.terminate(cp)
    srv2 = _server(ferryd, script, args='100%% %u')
    cp = _client(lab, srv2, USER)
    assert _logged_in(srv2, USER), fl.tail(srv2.log_text())
    assert args.read_text() == f'100%\n{USER}\n'


@pytest.mark.parametrize('body,why', [
    ('exit 0\n', r'not in the output of AuthorizedKeysCommand'),
    ('echo "{key}"\nexit 3\n',
     r'AuthorizedKeysCommand for \S+ \(ED25519 SHA256:\S+\): exit status 3; key refused$'),
    ('head -c 2000000 /dev/zero | tr "\\0" "#"\necho "{key}"\n',
     r'AuthorizedKeysCommand for \S+ \(ED25519 SHA256:\S+\): output larger than 1 MiB; '
     r'key refused$'),
])
def test_refused(lab, ferryd, body, why):
    """Nothing printed, a failed exit, or output past 1 MiB: refused,
    logged."""
    key = lab.keys.user_pub('ed25519')
    script = _script(lab, 'r', body.replace('{key}', key))
    srv = _server(ferryd, script)
    _refused(_client(lab, srv, USER))
    assert re.search(why, srv.log_text(), re.M), fl.tail(srv.log_text())
    assert 'Accepted publickey' not in srv.log_text()


def test_slow_command_does_not_block(lab, ferryd):
    """The command sleeps 3 s for user slow: meanwhile USER logs in and
    moves 4 MiB through -L; slow logs in afterwards."""
    echo = lab.echo()
    key = lab.keys.user_pub('ed25519')
    started = lab.dir / 'slow_started'
    script = _script(lab, 'slow', f'if [ "$1" = slow ]; then touch {started}; sleep 3; fi\n'
                     f'echo "{key}"\n')
    srv = _server(ferryd, script)
    slow = _client(lab, srv, 'slow')
    d = fl.Deadline(10, 'the slow command to start')
    while not started.exists() and not d.expired():
        time.sleep(0.02)
    assert started.exists(), fl.tail(srv.log_text())
    t0 = time.monotonic()
    t = fdl.start_local(lab, 'ssh', srv, [echo.addr])
    n = 4 * 1024 * 1024
    assert rl.echo_exchange(t.port, n, start=9) == (n, fl.pattern_sha256(n, 9))
    fast_done = time.monotonic() - t0
    assert 'Accepted publickey for slow ' not in srv.log_text(), \
        f'the slow login finished before the other one ({fast_done:.2f} s)'
    assert _logged_in(srv, 'slow', 15), fl.tail(srv.log_text())
    log = srv.log_text()
    assert log.index(f'Accepted publickey for {USER} ') < log.index('Accepted publickey for slow ')
    assert slow.alive()


def test_command_never_exits_is_killed(lab, ferryd):
    """A command that never ends is killed (its process group) after 30 s
    and the key refused; the loop serves other logins meanwhile."""
    marker = f'{os.getpid() % 1000 + 10000}'
    key = lab.keys.user_pub('ed25519')
    script = _script(lab, 'hang', f'[ "$1" = hang ] && sleep {marker}\necho "{key}"\n')
    srv = _server(ferryd, script)
    t0 = time.monotonic()
    cp = _client(lab, srv, 'hang')
    d = fl.Deadline(10, 'the command to start')
    while not _sleepers(marker) and not d.expired():
        time.sleep(0.05)
    assert _sleepers(marker), fl.tail(srv.log_text())
    other = _client(lab, srv, USER)
    assert _logged_in(srv, USER), fl.tail(srv.log_text())
    assert time.monotonic() - t0 < 25
    _refused(cp)
    took = time.monotonic() - t0
    assert 29 <= took <= 50, took
    assert srv.wait_log(r'^ferryd: AuthorizedKeysCommand for hang \(ED25519 SHA256:\S+\): '
                        r'timed out after 30 s, killed; key refused$', 1, 5)
    d = fl.Deadline(5, 'the sleep to go')
    while _sleepers(marker) and not d.expired():
        time.sleep(0.05)
    assert not _sleepers(marker), 'the command\'s child survived'
    assert other.alive()


def _sleepers(marker):
    found = []
    for pid in os.listdir('/proc'):
        if not pid.isdigit():
            continue
        try:
            with open(f'/proc/{pid}/cmdline', 'rb') as f:
                if f.read().split(b'\0')[:2] == [b'sleep', marker.encode()]:
                    found.append(int(pid))
        except OSError:
            pass
    return found


def test_client_gone_while_command_runs(lab, ferryd):
    """The client disconnects while the command runs: nothing is left
    behind and ferryd keeps serving (the ASan run checks for leaks)."""
    key = lab.keys.user_pub('ed25519')
    started = lab.dir / 'started'
    script = _script(lab, 'gone', f'touch {started}\nsleep 2\necho "{key}"\n')
    srv = _server(ferryd, script)
    cp = _client(lab, srv, USER)
    d = fl.Deadline(10, 'the command to start')
    while not started.exists() and not d.expired():
        time.sleep(0.02)
    fdl.terminate(cp)
    assert srv.wait_log(r'Connection from \S+ port \d+ closed', 1, 10), fl.tail(srv.log_text())
    time.sleep(2.5)
    started.unlink()
    cp = _client(lab, srv, USER)
    assert _logged_in(srv, USER), fl.tail(srv.log_text())
    assert srv.alive()


@pytest.mark.skipif(os.getuid() != 0, reason='switching users needs root')
def test_runs_as_command_user(lab, ferryd, tmp_path_factory):
    """As root, the command runs as AuthorizedKeysCommandUser."""
    import tempfile
    d = tempfile.mkdtemp(prefix='ferry-akc-')
    try:
        os.chmod(d, 0o777)
        script = os.path.join(d, 'akc.sh')
        out = os.path.join(d, 'uid')
        with open(script, 'w') as f:
            f.write(f'#!/bin/sh\nid -u > {out}\necho "{lab.keys.user_pub("ed25519")}"\n')
        os.chmod(script, 0o755)
        srv = ferryd(config=[f'AuthorizedKeysCommand {script} %u',
                             'AuthorizedKeysCommandUser nobody'], authorized={})
        cp = _client(lab, srv, USER)
        assert _logged_in(srv, USER), fl.tail(srv.log_text())
        with open(out) as f:
            assert int(f.read()) == pwd.getpwnam('nobody').pw_uid
        fdl.terminate(cp)
    finally:
        for n in ('akc.sh', 'uid'):
            try:
                os.unlink(os.path.join(d, n))
            except OSError:
                pass
        os.rmdir(d)


def test_config_errors(tmp_path):
    """A relative command, an unknown token, a missing user as root: ferryd
    -t says what is wrong."""
    base = ['-t', '-f', '/dev/null', '-o', f'StateDirectory {tmp_path}']
    r = fdl.run_ferryd(base + ['-o', 'AuthorizedKeysCommand bin/akc %u'])
    assert r.returncode == 1 and "'bin/akc' is not an absolute path" in r.stderr, r.stderr
    r = fdl.run_ferryd(base + ['-o', 'AuthorizedKeysCommand /bin/akc %x'])
    assert r.returncode == 1 and "unknown key %x" in r.stderr, r.stderr
    r = fdl.run_ferryd(base + ['-o', 'AuthorizedKeysCommand /bin/akc %u',
                               '-o', 'AuthorizedKeysCommandUser no-such-user-here'])
    assert r.returncode == 1 and 'no-such-user-here: no such user' in r.stderr, r.stderr
    if os.getuid() == 0:
        r = fdl.run_ferryd(base + ['-o', 'AuthorizedKeysCommand /bin/akc %u'])
        assert r.returncode == 1 and 'needs AuthorizedKeysCommandUser' in r.stderr, r.stderr
        # RunAsUser: ferryd will not be root when the command runs
        r = fdl.run_ferryd(base + ['-o', 'RunAsUser nobody',
                                   '-o', 'AuthorizedKeysCommand /bin/akc %u',
                                   '-o', 'AuthorizedKeysCommandUser root'])
        assert r.returncode == 1 and 'can only run as nobody' in r.stderr, r.stderr
        r = fdl.run_ferryd(base + ['-o', 'RunAsUser nobody',
                                   '-o', 'AuthorizedKeysCommand /bin/akc %u'])
        assert r.returncode == 0, r.stderr
    else:
        r = fdl.run_ferryd(base + ['-o', 'AuthorizedKeysCommand /bin/akc %u',
                                   '-o', 'AuthorizedKeysCommandUser root'])
        assert r.returncode == 1 and 'does not run as root' in r.stderr, r.stderr


def test_per_source_bound(lab, ferryd):
    """At most 4 commands run for one client address: a fifth login from
    127.0.0.1 while four wait is refused at once, with the reason logged;
    the four log in once their commands end."""
    key = lab.keys.user_pub('ed25519')
    marks = lab.dir / 'marks'
    marks.mkdir()
    script = _script(lab, 'bound', f'touch {marks}/$1\nsleep 3\necho "{key}"\n')
    srv = _server(ferryd, script)
    waiting = [_client(lab, srv, f'u{i}') for i in range(4)]
    d = fl.Deadline(15, 'four commands to start')
    while len(list(marks.iterdir())) < 4 and not d.expired():
        time.sleep(0.02)
    assert len(list(marks.iterdir())) == 4, fl.tail(srv.log_text())
    _refused(_client(lab, srv, 'fifth'))
    assert srv.wait_log(r'AuthorizedKeysCommand for fifth from 127\.0\.0\.1 port \d+ not run: '
                        r'4 commands already running for 127\.0\.0\.1$', 1, 5)
    for i, cp in enumerate(waiting):
        assert _logged_in(srv, f'u{i}', 20), fl.tail(srv.log_text())
        assert cp.alive()


def test_command_missing(lab, ferryd):
    """A command that cannot be run: the key is refused, the reason logged,
    and ferryd goes on."""
    srv = _server(ferryd, lab.dir / 'no-such-command')
    _refused(_client(lab, srv, USER))
    assert srv.wait_log(r'^ferryd: AuthorizedKeysCommand for \S+ from 127\.0\.0\.1 port \d+ '
                        r'not run: cannot run \S+no-such-command: ', 1, 5), \
        fl.tail(srv.log_text())
    assert srv.alive()
