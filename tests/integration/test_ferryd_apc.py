"""ferryd's AuthorizedPrincipalsCommand with OpenSSH ssh and ferry as clients.

The CA and certificates are made by ssh-keygen -s (test_ferryd_certs.py's
helpers). ferryd trusts the CA by TrustedUserCAKeys; the command (a shell
script here, run without a shell by ferryd, as the user running the
tests) prints AuthorizedPrincipalsFile lines. It runs on ferryd's event
loop while the login waits, so other users keep logging in meanwhile. It
records its argv in a file the test compares with what ssh-keygen says of
the certificate. No user has an authorized_keys file: with the command,
any user name may log in with a certificate it lets in.
"""

import os
import pwd
import re
import time
from pathlib import Path

import pytest

import ferrydlab as fdl
from ferrydlab import ferryd  # noqa: F401 - fixture
import ferrylab as fl
import remotelab as rl
from ferrylab import LOCALHOST, USER
from test_ferryd_certs import certify, make_ca

RUN_AS = pwd.getpwuid(os.getuid()).pw_name
ARGS = '%u %U %f %F %i %s %t %T %k %K %h'
CLIENTS = ['ssh', 'ferry']


def _script(lab, name, body):
    p = lab.dir / f'apc_{name}.sh'
    p.write_text('#!/bin/sh\n' + body)
    p.chmod(0o755)
    return p


def _printing(lab, name, output, before=''):
    """A command that writes its arguments to apc_NAME.args, runs the shell
    text before, then prints apc_NAME.out (output, rewritable by the
    test). Returns (script, args file, output file)."""
    args = lab.dir / f'apc_{name}.args'
    out = lab.dir / f'apc_{name}.out'
    out.write_text(output)
    script = _script(lab, name, f'printf "%s\\n" "$@" > {args}\n{before}cat {out}\n')
    return script, args, out


def _server(ferryd, ca, script, args=ARGS, extra=()):
    return ferryd(config=[f'TrustedUserCAKeys {ca}.pub',
                          f'AuthorizedPrincipalsCommand {script} {args}',
                          f'AuthorizedPrincipalsCommandUser {RUN_AS}', *extra],
                  authorized={})


def _refused(lab, kind, srv, ident, reason, user=USER):
    """The client is refused and ferryd logs reason (a regex)."""
    cp = fdl.start_client(lab, kind, srv, identity=ident, user=user)
    rc = cp.wait_exit(60)
    assert rc not in (None, 0), (rc, cp.stderr())
    assert 'Permission denied' in cp.stderr(), cp.stderr()
    assert srv.wait_log(reason, 1, 10), fl.tail(srv.log_text())
    assert 'Accepted publickey' not in srv.log_text(), fl.tail(srv.log_text())


def _logged_in(srv, user, timeout=20):
    return srv.wait_log(rf'^ferryd: Accepted publickey for {re.escape(user)} from '
                        rf'{re.escape(LOCALHOST)} port \d+ ssh2: ED25519-CERT ', 1, timeout)


@pytest.mark.parametrize('kind', CLIENTS)
def test_printed_principal_logs_in_and_tunnels(lab, ferryd, tmp_path, kind):
    """The command prints a principal of the certificate: the client logs
    in and its -L carries 1 MiB both ways intact; the command got every
    token as ssh-keygen sees the certificate and its CA; sshd's Accepted
    line names the certificate."""
    ca = make_ca(tmp_path)
    ident = certify(lab, tmp_path / 'k', ca, principals='tunnel-ops,other',
                    key_id='alice@example', serial=4242)
    script, args, _ = _printing(lab, 'ok', '# from the directory\nnobody\ntunnel-ops\n')
    srv = _server(ferryd, ca, script)
    echo = lab.echo()
    t = fdl.start_local(lab, kind, srv, [echo.addr], identity=ident)
    n = fl.MiB
    assert rl.echo_exchange(t.port, n, start=3) == (n, fl.pattern_sha256(n, 3))
    cert_pub = Path(f'{ident}-cert.pub').read_text().split()
    ca_pub = Path(f'{ca}.pub').read_text().split()
    assert cert_pub[0] == 'ssh-ed25519-cert-v01@openssh.com'
    want = [USER, str(os.getuid()), fdl.fingerprint_of(ident),
            fdl.fingerprint_of(f'{ca}.pub'), 'alice@example', '4242', cert_pub[0],
            'ssh-ed25519', cert_pub[1], ca_pub[1], str(srv.state_dir), '']
    assert args.read_text().split('\n') == want
    assert srv.wait_log(r'^(?:ferryd|debug1): Accepted certificate ED25519-CERT .* via '
                        r'AuthorizedPrincipalsCommand:3$', 1, 10), fl.tail(srv.log_text())
    want = (rf'^ferryd: Accepted publickey for {re.escape(USER)} from 127\.0\.0\.1 port \d+ '
            rf'ssh2: ED25519-CERT {re.escape(fdl.fingerprint_of(ident))} ID alice@example '
            rf'\(serial 4242\) CA ED25519 {re.escape(fdl.fingerprint_of(str(ca) + ".pub"))}$')
    assert srv.wait_log(want, 1, 10), fl.tail(srv.log_text())


def test_command_alone_gets_the_user(lab, ferryd, tmp_path):
    """A command without arguments is given the user name (sshd_config(5));
    a user with no file at all logs in."""
    ca = make_ca(tmp_path)
    ident = certify(lab, tmp_path / 'k', ca, principals='ops')
    script, args, _ = _printing(lab, 'alone', 'ops\n')
    srv = _server(ferryd, ca, script, args='')
    cp = fdl.start_client(lab, 'ssh', srv, identity=ident, user='nofile')
    assert _logged_in(srv, 'nofile'), fl.tail(srv.log_text())
    assert args.read_text() == 'nofile\n'
    assert cp.alive()


@pytest.mark.parametrize('principals,output,before,reason', [
    ('tunnel-ops', 'nobody\nother-ops\ntunnel-ops-2\n', '',
     r'^ferryd: Refusing certificate for \S+ from 127\.0\.0\.1 port \d+: ED25519-CERT .*: '
     r'no principal of it in the output of AuthorizedPrincipalsCommand$'),
    # the command replaces the user-name rule
    (USER, 'tunnel-ops\n', '',
     r'no principal of it in the output of AuthorizedPrincipalsCommand$'),
    ('tunnel-ops', 'tunnel-ops\n', 'echo tunnel-ops; exit 1\n',
     r'^ferryd: Refusing certificate for \S+ from 127\.0\.0\.1 port \d+: ED25519-CERT .*: '
     r'AuthorizedPrincipalsCommand failed: exit status 1$'),
    ('tunnel-ops', 'tunnel-ops\n', 'head -c 2000000 /dev/zero | tr "\\0" "#"\n',
     r'AuthorizedPrincipalsCommand failed: output larger than 1 MiB$'),
], ids=['other-principals', 'user-name-only', 'exit-1', 'too-much-output'])
def test_refused(lab, ferryd, tmp_path, principals, output, before, reason):
    """Other principals printed, the user name alone, a failed exit, output
    past 1 MiB: refused, the reason logged."""
    ca = make_ca(tmp_path)
    ident = certify(lab, tmp_path / 'k', ca, principals=principals)
    script, _, _ = _printing(lab, 'r', output, before)
    srv = _server(ferryd, ca, script)
    _refused(lab, 'ssh', srv, ident, reason)
    assert srv.wait_log(r'^(?:ferryd|debug1): Failed publickey for \S+ from 127\.0\.0\.1 port '
                        r'\d+ ssh2: ED25519-CERT ', 1, 5), fl.tail(srv.log_text())


def test_command_missing(lab, ferryd, tmp_path):
    """A command that cannot be run: refused, the reason logged, ferryd goes
    on."""
    ca = make_ca(tmp_path)
    ident = certify(lab, tmp_path / 'k', ca, principals='ops')
    srv = _server(ferryd, ca, lab.dir / 'no-such-command')
    _refused(lab, 'ssh', srv, ident, r'^ferryd: AuthorizedPrincipalsCommand for \S+ from '
             r'127\.0\.0\.1 port \d+ not run: cannot run \S+no-such-command: ')
    assert srv.alive()


@pytest.mark.parametrize('kind', CLIENTS)
def test_options_in_output(lab, ferryd, tmp_path, kind):
    """The output's options apply as a principals file's: from= not
    matching refuses (logged with the line); from= matching with
    permitopen= lets in, -L to the permitted target carries data, to
    another target is refused and nothing reaches it."""
    ca = make_ca(tmp_path)
    ident = certify(lab, tmp_path / 'k', ca, principals='ops')
    script, _, out = _printing(lab, 'opts', 'from="10.0.0.0/8" ops\n')
    srv = _server(ferryd, ca, script)
    _refused(lab, kind, srv, ident, r'^ferryd: AuthorizedPrincipalsCommand output line 1: '
             r'.*from="10\.0\.0\.0/8".*127\.0\.0\.1')
    echo, other = lab.echo(), lab.echo()
    out.write_text(f'from="127.0.0.0/8",permitopen="{LOCALHOST}:{echo.port}" ops\n')
    t = fdl.start_local(lab, kind, srv, [echo.addr, other.addr], identity=ident)
    n = 256 * fl.KiB
    assert rl.echo_exchange(t.ports[0], n, start=1) == (n, fl.pattern_sha256(n, 1))
    assert fdl.try_echo(t.ports[1], b'k') == b''
    assert srv.wait_log(rf'^ferryd: refused for .* connection to 127\.0\.0\.1 port '
                        rf'{other.port}: ', 1, 10), fl.tail(srv.log_text())
    assert other.accepted == 0


def test_principals_file_first(lab, ferryd, tmp_path):
    """AuthorizedPrincipalsFile is read first: when it lists a principal
    the command does not run; when it does not, the command decides."""
    ca = make_ca(tmp_path)
    ident = certify(lab, tmp_path / 'k', ca, principals='ops')
    ran = lab.dir / 'apc_ran'
    script, _, _ = _printing(lab, 'first', 'ops\n', before=f'touch {ran}\n')
    pfile = tmp_path / 'principals'
    pfile.write_text('ops\n')
    srv = _server(ferryd, ca, script, extra=[f'AuthorizedPrincipalsFile {pfile}'])
    cp = fdl.start_client(lab, 'ssh', srv, identity=ident)
    assert _logged_in(srv, USER), fl.tail(srv.log_text())
    assert srv.wait_log(rf'Accepted certificate .* via {re.escape(str(pfile))}:1$', 1, 5)
    assert not ran.exists()
    assert 'AuthorizedPrincipalsCommand running' not in srv.log_text()
    fdl.terminate(cp)
    pfile.write_text('nobody\n')
    cp = fdl.start_client(lab, 'ssh', srv, identity=ident)
    assert srv.wait_log(r'Accepted certificate .* via AuthorizedPrincipalsCommand:1$', 1, 20), \
        fl.tail(srv.log_text())
    assert srv.wait_log(r'^ferryd: Accepted publickey for ', 2, 20), fl.tail(srv.log_text())
    assert ran.exists()


def test_slow_command_does_not_block(lab, ferryd, tmp_path):
    """The command sleeps 3 s for user slow: meanwhile USER logs in and
    moves 4 MiB through -L; slow logs in afterwards."""
    ca = make_ca(tmp_path)
    ident = certify(lab, tmp_path / 'k', ca, principals='ops')
    started = lab.dir / 'slow_started'
    script = _script(lab, 'slow', f'if [ "$1" = slow ]; then touch {started}; sleep 3; fi\n'
                     'echo ops\n')
    srv = _server(ferryd, ca, script, args='%u')
    slow = fdl.start_client(lab, 'ssh', srv, identity=ident, user='slow')
    d = fl.Deadline(10, 'the slow command to start')
    while not started.exists() and not d.expired():
        time.sleep(0.02)
    assert started.exists(), fl.tail(srv.log_text())
    t0 = time.monotonic()
    echo = lab.echo()
    t = fdl.start_local(lab, 'ssh', srv, [echo.addr], identity=ident)
    n = 4 * fl.MiB
    assert rl.echo_exchange(t.port, n, start=9) == (n, fl.pattern_sha256(n, 9))
    fast_done = time.monotonic() - t0
    assert 'Accepted publickey for slow ' not in srv.log_text(), \
        f'the slow login finished before the other one ({fast_done:.2f} s)'
    assert _logged_in(srv, 'slow', 20), fl.tail(srv.log_text())
    log = srv.log_text()
    assert log.index(f'Accepted publickey for {USER} ') < log.index('Accepted publickey for slow ')
    assert slow.alive()


def test_client_gone_while_command_runs(lab, ferryd, tmp_path):
    """The client disconnects while the command runs: nothing is left
    behind and ferryd keeps serving (the ASan run checks for leaks)."""
    ca = make_ca(tmp_path)
    ident = certify(lab, tmp_path / 'k', ca, principals='ops')
    started = lab.dir / 'started'
    script = _script(lab, 'gone', f'touch {started}\nsleep 2\necho ops\n')
    srv = _server(ferryd, ca, script)
    cp = fdl.start_client(lab, 'ssh', srv, identity=ident)
    d = fl.Deadline(10, 'the command to start')
    while not started.exists() and not d.expired():
        time.sleep(0.02)
    assert started.exists(), fl.tail(srv.log_text())
    fdl.terminate(cp)
    assert srv.wait_log(r'Connection from \S+ port \d+ closed', 1, 10), fl.tail(srv.log_text())
    time.sleep(2.5)
    started.unlink()
    cp = fdl.start_client(lab, 'ssh', srv, identity=ident)
    assert _logged_in(srv, USER), fl.tail(srv.log_text())
    assert srv.count(r'^ferryd: Accepted publickey for ') == 1
    assert srv.alive()


def test_config(lab, tmp_path):
    """ferryd -T and -T -C print both keywords; -t refuses an unknown token,
    a relative path and the keywords in a Match block naming file and
    line, and (as root) a command without its user."""
    conf = tmp_path / 'c'
    host = f'HostKey {lab.keys.host["ed25519"]}\nStateDirectory {tmp_path / "state"}\n'
    conf.write_text(host + 'TrustedUserCAKeys /etc/ssh/user_ca.pub\n'
                    'AuthorizedPrincipalsCommand /usr/lib/ferry/principals "%u %i" %F\n'
                    'AuthorizedPrincipalsCommandUser nobody\n')
    want = ('authorizedprincipalscommand /usr/lib/ferry/principals "%u %i" %F\n'
            'authorizedprincipalscommanduser nobody\n')
    r = fdl.run_ferryd(['-T', '-f', conf])
    assert r.returncode == 0 and want in r.stdout, (r.stdout, r.stderr)
    r = fdl.run_ferryd(['-T', '-C', 'user=alice,addr=10.0.0.1,laddr=127.0.0.1,lport=22,host=h',
                        '-f', conf])
    assert r.returncode == 0 and want in r.stdout, (r.stdout, r.stderr)
    r = fdl.run_ferryd(['-t', '-f', conf])
    assert r.returncode == 0, r.stderr
    assert not (tmp_path / 'state').exists()
    plain = tmp_path / 'plain'
    plain.write_text(host)
    r = fdl.run_ferryd(['-T', '-f', plain])
    assert 'authorizedprincipalscommand none\nauthorizedprincipalscommanduser none\n' \
        in r.stdout, r.stdout
    for line, why in [
        ('AuthorizedPrincipalsCommand /p %u %x',
         "AuthorizedPrincipalsCommand: '%x': unknown key %x (AuthorizedPrincipalsCommand "
         "takes %f, %F, %h, %i, %k, %K, %s, %t, %T, %u, %U and %%)"),
        ('AuthorizedPrincipalsCommand /p %C',
         "AuthorizedPrincipalsCommand: '%C': unknown key %C"),
        ('AuthorizedPrincipalsCommand p %u',
         "AuthorizedPrincipalsCommand: 'p' is not an absolute path"),
        ('Match User bob\n  AuthorizedPrincipalsCommand /p %u',
         'AuthorizedPrincipalsCommand within a Match block is not supported: ferryd reads it '
         'for the whole server only'),
        ('Match All\n  AuthorizedPrincipalsCommandUser nobody',
         'AuthorizedPrincipalsCommandUser within a Match block is not supported'),
    ]:
        bad = tmp_path / 'bad'
        bad.write_text(host + line + '\n')
        r = fdl.run_ferryd(['-t', '-f', bad])
        n = 3 + line.count('\n')
        assert r.returncode == 1 and f'{bad} line {n}: {why}' in r.stderr, (line, r.stderr)
    base = ['-t', '-f', plain]
    r = fdl.run_ferryd(base + ['-o', 'AuthorizedPrincipalsCommand /p %u',
                               '-o', 'AuthorizedPrincipalsCommandUser no-such-user-here'])
    assert r.returncode == 1 and 'AuthorizedPrincipalsCommandUser no-such-user-here: no such ' \
        'user' in r.stderr, r.stderr
    if os.getuid() == 0:
        r = fdl.run_ferryd(base + ['-o', 'AuthorizedPrincipalsCommand /p %u'])
        assert r.returncode == 1 and 'AuthorizedPrincipalsCommand needs ' \
            'AuthorizedPrincipalsCommandUser when ferryd runs as root' in r.stderr, r.stderr
    else:
        r = fdl.run_ferryd(base + ['-o', 'AuthorizedPrincipalsCommand /p %u',
                                   '-o', 'AuthorizedPrincipalsCommandUser root'])
        assert r.returncode == 1 and 'does not run as root' in r.stderr, r.stderr
