"""ferryd's log read as operators' tools read sshd's: syslog and fail2ban.

Without -e ferryd logs to syslog. Each test runs it in a mount namespace
(unshare -m) whose /dev is a directory of the test's: null, zero, urandom
and a datagram socket the test bound as /dev/log, so every line ferryd
sends arrives here with its "<PRI>" (facility and priority) and the
"ferryd[PID]:" prefix glibc writes.

The lines are written out as rsyslog writes /var/log/auth.log ("Mmm dd
hh:mm:ss HOST ferryd[PID]: message") and read by Debian's fail2ban-regex
with the stock /etc/fail2ban/filter.d/sshd.conf and the one-line jail
override ferryd(8) (LOGGING) gives: `filter = sshd[_daemon=ferryd]` (and
`mode=aggressive`). Real clients (ssh) log in,
offer a wrong key, name an unknown user, run out of MaxAuthTries and meet
DenyUsers/AllowUsers, and a password guesser (paramiko) tries a known and
an unknown user, each from its own loopback address (127.0.0.N), so
the addresses fail2ban reports tell the attempts apart: every failing
attempt's address is reported, the successful login's is not, and
fail2ban reports for ferryd the addresses it reports for OpenSSH sshd's
own log of the same attempts (as often or more: see the test). Peers
that never speak SSH get sshd's banner-exchange lines.
"""

import os
import re
import shlex
import shutil
import signal
import socket
import stat
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

import ferrydlab as fdl
import ferrylab as fl
from ferrylab import LOCALHOST, USER

FAIL2BAN_REGEX = shutil.which('fail2ban-regex') or '/usr/bin/fail2ban-regex'
SSHD_FILTER = '/etc/fail2ban/filter.d/sshd.conf'
UNSHARE = shutil.which('unshare') or '/usr/bin/unshare'

# syslog(3)'s facilities and priorities
FACILITY = {'AUTH': 4, 'AUTHPRIV': 10, 'DAEMON': 3, 'USER': 1, 'LOCAL5': 21}
LOG_ERR, LOG_INFO = 3, 6
DATAGRAM_RE = re.compile(r'^<(\d+)>(\w{3} [ \d]\d \d\d:\d\d:\d\d) (\S+?)\[(\d+)\]: (.*)$', re.S)

# one loopback address per attempt
ADDR = {'ok': '127.0.0.2', 'wrong_key': '127.0.0.3', 'unknown_user': '127.0.0.4',
        'too_many': '127.0.0.5', 'denied': '127.0.0.6', 'not_allowed': '127.0.0.7',
        'guess_user': '127.0.0.10', 'guess_nouser': '127.0.0.11'}
# raw TCP clients that never speak SSH
NOT_SSH, SILENT = '127.0.0.8', '127.0.0.9'
# system accounts sshd needs for its AllowUsers/DenyUsers lines (ferryd
# has none: for it these are users with a key file)
DENIED_USER, NOT_ALLOWED_USER = 'daemon', 'bin'
ACCESS_CONFIG = ['MaxAuthTries 3', f'DenyUsers {DENIED_USER}',
                 f'AllowUsers {USER} {DENIED_USER} root']


def require_fail2ban():
    if not (os.path.isfile(FAIL2BAN_REGEX) and os.path.isfile(SSHD_FILTER)):
        raise AssertionError(f'{FAIL2BAN_REGEX} or {SSHD_FILTER} missing: scripts/setup.sh '
                             f'installs Debian\'s fail2ban package')


class SyslogFerryd(fdl.Ferryd):
    """ferryd -D (no -e) in a mount namespace whose /dev/log is the test's
    socket. datagrams() are the raw lines; log_text() gives them as -e
    would ("ferryd: message") after what ferryd wrote to stderr, so the
    harness's waits work unchanged."""

    def __init__(self, workdir, keys, **kw):
        self.dev = Path(workdir) / 'dev'
        self.dev.mkdir(parents=True, exist_ok=True)
        for name, minor in (('null', 3), ('zero', 5), ('urandom', 9)):
            os.mknod(self.dev / name, 0o666 | stat.S_IFCHR, os.makedev(1, minor))
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(self.dev / 'log'))
        self.sock.settimeout(0.1)
        self._grams = []
        self._lock = threading.Lock()
        self._stop = False
        self._thread = threading.Thread(target=self._receive, name='syslog', daemon=True)
        self._thread.start()
        super().__init__(workdir, keys, **kw)

    def _receive(self):
        while not self._stop:
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            with self._lock:
                self._grams.append(data.decode(errors='replace'))

    def command(self, argv):
        argv = [a for a in argv if a != '-e']
        return [UNSHARE, '-m', 'sh', '-c',
                f'mount --bind {shlex.quote(str(self.dev))} /dev && exec {shlex.join(argv)}']

    @property
    def title(self):
        return 'ferryd (syslog)'

    def datagrams(self):
        with self._lock:
            return list(self._grams)

    def parsed(self):
        """[(facility, priority, ident, pid, message)] of every line."""
        out = []
        for g in self.datagrams():
            m = DATAGRAM_RE.match(g)
            assert m, f'not a syslog line: {g!r}'
            pri = int(m.group(1))
            out.append((pri >> 3, pri & 7, m.group(3), int(m.group(4)), m.group(5)))
        return out

    def log_text(self):
        return super().log_text() + ''.join(f'ferryd: {p[4]}\n' for p in self.parsed())

    def auth_log(self, host='bastion'):
        """The lines as rsyslog writes them to /var/log/auth.log."""
        out = []
        for g in self.datagrams():
            m = DATAGRAM_RE.match(g)
            out.append(f'{m.group(2)} {host} {m.group(3)}[{m.group(4)}]: {m.group(5)}\n')
        return ''.join(out)

    def close(self, timeout=5):
        problems = super().close(timeout)
        self._stop = True
        self._thread.join(2)
        self.sock.close()
        return problems


@pytest.fixture
def syslog_ferryd(lab):
    servers = []

    def make(**kw):
        kw['config'] = list(kw.get('config', ())) + ['ControlSocket none']
        s = SyslogFerryd(lab._sub('ferryd'), lab.keys, **kw)
        servers.append(s)
        lab.sshds.append(s)
        return s

    yield make
    lab.stop_clients()
    problems = []
    for s in servers:
        problems += s.close()
    if problems:
        pytest.fail('ferryd teardown found problems:\n' + '\n'.join(problems), pytrace=False)


def wait_for(fn, what, timeout=15):
    d = fl.Deadline(timeout)
    while not fn():
        if d.expired():
            raise AssertionError(f'timed out waiting for {what}')
        time.sleep(0.05)


# ---------------------------------------------------------------- the attempts

def attempt(lab, server, name, *, user=USER, identity='ed25519', more_keys=()):
    """One ssh login from ADDR[name]: the client's exit status and stderr.
    A login that succeeds holds -N with a forward until its Accepted line
    is logged, then is told to end."""
    extra = []
    for k in more_keys:
        extra += ['-i', str(k)]
    argv = fdl.client_argv(lab, 'ssh', server, identity=identity, user=user,
                           local=[f'{LOCALHOST}:{fl.pick_free_port()}:{LOCALHOST}:9'],
                           options={'BindAddress': ADDR[name], 'ConnectTimeout': '10'},
                           extra=extra)
    cp = fl.ClientProc(f'ssh-{name}', argv, lab.env)
    lab.clients.append(cp)
    if name == 'ok':
        wait_for(lambda: re.search(rf'Accepted publickey for {USER} from '
                                   rf'{re.escape(ADDR[name])} ', server.log_text()),
                 f'the login from {ADDR[name]}')
        cp.signal(signal.SIGTERM)
        cp.wait_exit(10)
        return cp
    rc = cp.wait_exit(20)
    assert rc == 255, f'{name}: exit {rc}\n{cp.stderr()}'
    assert 'Permission denied (publickey)' in cp.stderr() or \
        'Too many authentication failures' in cp.stderr(), f'{name}: {cp.stderr()}'
    return cp


def password_guesses(server, src, user, n=4):
    """A password guesser (paramiko) from src: password requests on one
    connection, as bots send them to a server that offers only publickey,
    until the server gives up on it."""
    import paramiko
    sock = socket.create_connection((LOCALHOST, server.port), timeout=10,
                                    source_address=(src, 0))
    t = paramiko.Transport(sock)
    try:
        t.start_client(timeout=10)
        for _ in range(n):
            try:
                t.auth_password(user, 'hunter2')
            except paramiko.BadAuthenticationType:
                pass
            except (paramiko.SSHException, EOFError, OSError):
                break
    finally:
        t.close()


def run_attempts(lab, server):
    """Every attempt, one after the other; waits until the server logged the
    end of each refused connection (the login's client is killed: how its
    end reads depends on when the signal lands, for sshd as for ferryd)."""
    wrong = [lab.keys.host['ed25519'], lab.keys.host['ecdsa'], lab.keys.host['rsa']]
    attempt(lab, server, 'ok')
    attempt(lab, server, 'wrong_key', identity='unauthorized')
    attempt(lab, server, 'unknown_user', user='nosuchuser')
    attempt(lab, server, 'too_many', identity='unauthorized', more_keys=wrong)
    attempt(lab, server, 'denied', user=DENIED_USER)
    attempt(lab, server, 'not_allowed', user=NOT_ALLOWED_USER)
    password_guesses(server, ADDR['guess_user'], USER)
    password_guesses(server, ADDR['guess_nouser'], 'nosuchuser')
    for name, ip in ADDR.items():
        if name == 'ok':
            continue
        wait_for(lambda ip=ip: re.search(rf'^(?:ferryd: )?(?:Disconnected from|Connection '
                                         rf'closed by|Disconnecting) .*{re.escape(ip)} port',
                                         server.log_text(), re.M),
                 f'the end of the connection from {ip} ({name}) in the log')


def raw_peers(server):
    """From NOT_SSH an HTTP request instead of a version line; from SILENT
    a connection closed once the server's version line came (a reset when
    its KEXINIT was left unread)."""
    for src, data in ((NOT_SSH, b'GET / HTTP/1.0\r\n\r\n'), (SILENT, None)):
        s = socket.create_connection((LOCALHOST, server.port), timeout=10,
                                     source_address=(src, 0))
        try:
            s.recv(256)
            if data:
                s.sendall(data)
                s.recv(256)
        except OSError:
            pass
        finally:
            s.close()
    ends = {NOT_SSH: rf'Connection from {re.escape(NOT_SSH)} port \d+: invalid format$',
            SILENT: rf'Connection (?:closed|reset) by {re.escape(SILENT)} port \d+$'}
    for src, end in ends.items():
        wait_for(lambda end=end: re.search(end, server.log_text(), re.M),
                 f'the end of the connection from {src}')


def fail2ban(log_path, filt):
    """fail2ban-regex over the file with the filter: Counter of the
    addresses of its failures (one per failure it reports)."""
    r = subprocess.run([FAIL2BAN_REGEX, '-o', 'ip', str(log_path), filt],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, f'fail2ban-regex {filt}: exit {r.returncode}\n{r.stderr}'
    return Counter(ln.strip() for ln in r.stdout.splitlines() if ln.strip())


def sshd_auth_log(sshd, host='bastion'):
    """sshd -e's lines (one sshd per connection: its pid is in the log only
    through its own lines' order, so each connection gets a pid of its own,
    counted at each "Connection from") as auth.log lines."""
    stamp = time.strftime('%b %e %H:%M:%S')
    out, pid = [], 1000
    for ln in sshd.log_text().splitlines():
        if ln.startswith('Connection from '):
            pid += 1
        if ln.startswith('ferrylab:') or not ln.strip():
            continue
        out.append(f'{stamp} {host} sshd[{pid}]: {ln}\n')
    return ''.join(out)


# ---------------------------------------------------------------- the tests

def test_syslog_facility_and_priority(lab, syslog_ferryd):
    """Without -e every line goes to syslog as "ferryd[PID]: ...", nothing
    to stderr; SyslogFacility sets the facility (AUTH by default, as sshd),
    info lines (VERBOSE ones too, as sshd) are LOG_INFO, errors LOG_ERR."""
    srv = syslog_ferryd()
    attempt(lab, srv, 'ok')
    lines = srv.parsed()
    assert lines, 'nothing arrived at /dev/log'
    assert all(p[2] == 'ferryd' and p[3] == srv.pid for p in lines), lines[:3]
    [acc] = [p for p in lines if p[4].startswith('Accepted publickey for ')]
    assert acc[:2] == (FACILITY['AUTH'], LOG_INFO), acc
    conn = [p for p in lines if p[4].startswith('Connection from ') and ' on ' in p[4]]
    assert conn and conn[0][:2] == (FACILITY['AUTH'], LOG_INFO), lines
    assert 'Server listening' not in srv.log_path.read_text(errors='replace')

    other = syslog_ferryd(config=['SyslogFacility LOCAL5', 'Ciphers aes256-ctr'])
    bad = fdl.start_client(lab, 'ssh', other, options={'Ciphers': 'aes128-ctr'},
                           local=[f'{LOCALHOST}:{fl.pick_free_port()}:{LOCALHOST}:9'])
    assert bad.wait_exit(20) == 255, bad.stderr()
    wait_for(lambda: any(p[4].startswith('Unable to negotiate') for p in other.parsed()),
             'the negotiation failure')
    lines = other.parsed()
    assert {p[0] for p in lines} == {FACILITY['LOCAL5']}, lines
    [neg] = [p for p in lines if p[4].startswith('Unable to negotiate')]
    assert neg[1] == LOG_ERR, neg
    assert re.fullmatch(r'Unable to negotiate with 127\.0\.0\.1 port \d+: no matching cipher '
                        r'found\. Their offer: aes128-ctr \[preauth\]', neg[4]), neg


def test_sshd_wording(lab, syslog_ferryd):
    """The attempts log sshd's lines (checked against OpenSSH 9.2's output
    for the same events)."""
    ak = {USER: [lab.keys.user_pub('ed25519')], DENIED_USER: [lab.keys.user_pub('ed25519')],
          NOT_ALLOWED_USER: [lab.keys.user_pub('ed25519')]}
    srv = syslog_ferryd(config=ACCESS_CONFIG, authorized=ak)
    run_attempts(lab, srv)
    raw_peers(srv)
    text = '\n'.join(p[4] for p in srv.parsed())
    fp = fdl.fingerprint_of(str(lab.keys.user['ed25519']) + '.pub')
    bad = fdl.fingerprint_of(str(lab.keys.user['unauthorized']) + '.pub')
    ip = ADDR
    want = [
        rf'Connection from {ip["ok"]} port (\d+) on {LOCALHOST} port {srv.port}',
        rf'Postponed publickey for {USER} from {ip["ok"]} port \d+ ssh2 \[preauth\]',
        rf'Accepted key ED25519 {re.escape(fp)} found at {re.escape(str(srv.ak_path()))}:1',
        rf'Accepted publickey for {USER} from {ip["ok"]} port \d+ ssh2: ED25519 {re.escape(fp)}',
        # the login's client is killed: a DISCONNECT or not, as the signal lands
        rf'(?:Disconnected from|Connection (?:closed|reset) by) user {USER} {ip["ok"]} '
        rf'port \d+',
        rf'Failed publickey for {USER} from {ip["wrong_key"]} port \d+ ssh2: ED25519 '
        rf'{re.escape(bad)}',
        rf'Connection closed by authenticating user {USER} {ip["wrong_key"]} port \d+ '
        rf'\[preauth\]',
        rf'Invalid user nosuchuser from {ip["unknown_user"]} port \d+',
        rf'Connection closed by invalid user nosuchuser {ip["unknown_user"]} port \d+ '
        rf'\[preauth\]',
        rf'maximum authentication attempts exceeded for {USER} from {ip["too_many"]} '
        rf'port \d+ ssh2 \[preauth\]',
        rf'Disconnecting authenticating user {USER} {ip["too_many"]} port \d+: Too many '
        rf'authentication failures \[preauth\]',
        rf'User {DENIED_USER} from {ip["denied"]} not allowed because listed in DenyUsers',
        rf'User {NOT_ALLOWED_USER} from {ip["not_allowed"]} not allowed because not listed '
        rf'in AllowUsers',
        rf'Connection closed by invalid user {NOT_ALLOWED_USER} {ip["not_allowed"]} port \d+ '
        rf'\[preauth\]',
        rf'maximum authentication attempts exceeded for {USER} from {ip["guess_user"]} '
        rf'port \d+ ssh2 \[preauth\]',
        rf'Invalid user nosuchuser from {ip["guess_nouser"]} port \d+',
        rf'maximum authentication attempts exceeded for invalid user nosuchuser from '
        rf'{ip["guess_nouser"]} port \d+ ssh2 \[preauth\]',
        rf'banner exchange: Connection from {NOT_SSH} port \d+: invalid format',
        rf'Connection (?:closed|reset) by {SILENT} port \d+',
    ]
    missing = [w for w in want if not re.search(rf'^{w}$', text, re.M)]
    assert not missing, 'missing lines:\n' + '\n'.join(missing) + '\nlog:\n' + text
    # the login's own lines are not failures, and no other address logged in
    assert len(re.findall(r'^Accepted publickey', text, re.M)) == 1, text
    # a line naming no address would be pinned on another connection
    assert 'kex_exchange_identification' not in text, text
    log = lab.dir / 'auth.log'
    log.write_text(srv.auth_log())
    got = fail2ban(log, 'sshd[_daemon=ferryd, mode=aggressive]')
    assert got[NOT_SSH] >= 1 and got[SILENT] == 0, got


@pytest.mark.parametrize('mode', ['normal', 'aggressive'])
def test_fail2ban_sshd_filter(lab, syslog_ferryd, mode):
    """fail2ban's stock sshd filter with `_daemon=ferryd` reports the
    address of every failing attempt and not the one that logged in; it
    reports the same addresses as it does for OpenSSH sshd's log of the
    same attempts. Without the override it reports nothing (the
    lines are "ferryd[PID]:", the filter's daemon is sshd)."""
    require_fail2ban()
    ak = {USER: [lab.keys.user_pub('ed25519')], DENIED_USER: [lab.keys.user_pub('ed25519')],
          NOT_ALLOWED_USER: [lab.keys.user_pub('ed25519')]}
    srv = syslog_ferryd(config=ACCESS_CONFIG, authorized=ak)
    run_attempts(lab, srv)
    log = lab.dir / 'auth.log'
    log.write_text(srv.auth_log())
    opts = '_daemon=ferryd' + (', mode=aggressive' if mode == 'aggressive' else '')
    got = fail2ban(log, f'sshd[{opts}]')     # as the jail names it

    failing = {'unknown_user', 'too_many', 'denied', 'not_allowed', 'guess_user',
               'guess_nouser'}
    if mode == 'aggressive':
        failing.add('wrong_key')   # publickey=nofail: only aggressive counts it
    for name in failing:
        assert got[ADDR[name]] >= 1, f'{name} ({ADDR[name]}) not reported: {got}\n{log.read_text()}'
    assert got[ADDR['ok']] == 0, f'the login was reported: {got}'
    assert set(got) <= set(ADDR.values()), got

    sshd = lab.sshd(config=ACCESS_CONFIG + ['MaxStartups 100'])
    run_attempts(lab, sshd)
    slog = lab.dir / 'sshd-auth.log'
    slog.write_text(sshd_auth_log(sshd))
    want = fail2ban(slog, 'sshd' + ('[mode=aggressive]' if mode == 'aggressive' else ''))
    # the same addresses, each at least as often: one ferryd process logs
    # every connection under one pid, and fail2ban keeps what it learnt of
    # a pid (the user names tried) until a closing line, so a failure may
    # count the names of the connection before it too
    assert set(got) == set(want) and all(got[a] >= want[a] for a in want), \
        f'ferryd: {got}\nsshd: {want}\nferryd log:\n{log.read_text()}\n' \
        f'sshd log:\n{slog.read_text()}'

    assert fail2ban(log, SSHD_FILTER) == Counter(), 'the stock filter matched ferryd[PID] lines'


def test_failed_publickey_level(lab, syslog_ferryd):
    """As sshd: "Failed publickey" is VERBOSE until half of MaxAuthTries
    were used, INFO after. At LogLevel INFO, four wrong keys (MaxAuthTries
    6) show only the fourth."""
    srv = syslog_ferryd(log_level='INFO')
    wrong = [lab.keys.host['ed25519'], lab.keys.host['ecdsa'], lab.keys.host['rsa']]
    attempt(lab, srv, 'wrong_key', identity='unauthorized', more_keys=wrong)
    wait_for(lambda: re.search(r'Connection closed by authenticating user', srv.log_text()),
             'the end of the connection')
    failed = [p for p in srv.parsed() if p[4].startswith('Failed publickey for ')]
    fp = fdl.fingerprint_of(str(lab.keys.host['rsa']))
    assert len(failed) == 1 and failed[0][4].endswith(f'ssh2: RSA {fp}'), failed
    assert not any(p[4].startswith('Connection from ') and ' on ' in p[4]
                   for p in srv.parsed()), 'a VERBOSE line at LogLevel INFO'
