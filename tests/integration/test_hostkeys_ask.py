"""Host keys as ssh checks them: StrictHostKeyChecking ask on a terminal
(driven through a pty that is the client's controlling terminal, so its
/dev/tty), BatchMode and no terminal, GlobalKnownHostsFile, several
UserKnownHostsFile files, HostKeyAlias, and -G for those keywords.

Where a test runs for both clients, OpenSSH's ssh shows that the
expectation (wording included) is ssh's own."""

import fcntl
import os
import re
import subprocess
import termios
import threading
import time

import pytest

import ferrylab as fl

ALLOC = 'Allocated port'
FAILED = 'Host key verification failed.'
QUESTION_END = 'Are you sure you want to continue connecting (yes/no/[fingerprint])? '
AGAIN = "Please type 'yes', 'no' or the fingerprint: "
DATA = 1 << 20


class PtyClient(fl.ClientProc):
    """A client whose controlling terminal is a pty held here: what it
    writes to /dev/tty is read from the master, what we type goes in
    there. stdout and stderr stay pipes, as in ClientProc."""

    def __init__(self, kind, argv, env, label=None):
        self.kind = kind
        self.argv = [str(a) for a in argv]
        self.label = label or kind
        self.master, self.slave = os.openpty()
        name = os.ttyname(self.slave)

        def become_tty_owner():
            os.setsid()
            fd = os.open(name, os.O_RDWR)
            fcntl.ioctl(fd, termios.TIOCSCTTY, 0)
            os.close(fd)

        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     env=env, preexec_fn=become_tty_owner)
        self.pid = self.proc.pid
        self.cond = threading.Condition()
        self._err = fl._Stream(self.proc.stderr, self.cond)
        self._out = fl._Stream(self.proc.stdout, self.cond)
        # the parent keeps the slave open: the master never reads EIO
        # while the child has no descriptor of its own on it
        self._tty = fl._Stream(os.fdopen(os.dup(self.master), 'rb', buffering=0),
                               self.cond)
        self.sent_signal = None

    def tty(self):
        with self.cond:
            return self._tty.data.decode(errors='replace')

    def wait_tty(self, text, count=1, timeout=fl.READY_TIMEOUT):
        """Waits until text appeared count times on the terminal."""
        d = fl.Deadline(timeout)
        with self.cond:
            while self._tty.data.decode(errors='replace').count(text) < count:
                r = d.remaining()
                if r <= 0 or self.proc.poll() is not None:
                    return False
                self.cond.wait(min(r, 0.2))
            return True

    def type(self, line):
        os.write(self.master, line.encode() + b'\n')

    def stop(self, timeout=5):
        rc = super().stop(timeout)
        for fd in (self.slave, self.master):
            try:
                os.close(fd)
            except OSError:
                pass
        self.slave = self.master = -1
        return rc


def fingerprint(lab, name='ed25519'):
    out = subprocess.run([fl.SSH_KEYGEN, '-l', '-f', f'{lab.keys.host[name]}.pub'],
                         capture_output=True, text=True, timeout=20, check=True).stdout
    return out.split()[1]


def host_name(sshd):
    return f'[{fl.LOCALHOST}]:{sshd.port}'


def question(sshd, fp, name=None, other=None):
    """ssh's question for the ed25519 key of sshd, reached directly."""
    other = other or ['This key is not known by any other names.']
    return (f"The authenticity of host '{name or host_name(sshd)} ({host_name(sshd)})' "
            f"can't be established.\r\n"
            f'ED25519 key fingerprint is {fp}.\r\n' + '\r\n'.join(other) + '\r\n'
            + QUESTION_END)


def argv_for(kind, lab, sshd, kh, *, strict='ask', batch='no', forwards=(),
             global_kh='/dev/null', extra=()):
    prog = fl.require_ferry() if kind == 'ferry' else fl.SSH
    argv = [prog, '-F', '/dev/null' if kind == 'ssh' else 'none', '-N',
            '-o', f'StrictHostKeyChecking={strict}', '-o', f'BatchMode={batch}',
            '-o', f'UserKnownHostsFile={kh}', '-o', f'GlobalKnownHostsFile={global_kh}',
            '-o', 'ExitOnForwardFailure=yes', '-o', 'IdentitiesOnly=yes']
    for f in forwards:
        argv += ['-L', f]
    argv += list(extra)
    argv += ['-i', str(lab.keys.user['ed25519']), '-p', str(sshd.port), '-l', fl.USER,
             fl.LOCALHOST]
    return argv


def start_pty(lab, kind, argv):
    try:
        cp = PtyClient(kind, argv, lab.env)
    except fl.FerryMissing as e:
        raise AssertionError(str(e)) from None
    lab.clients.append(cp)
    return cp


def forward_port(cp):
    ms = cp.wait_for(fl.ALLOCATED_RE)
    assert ms, f'the forward did not come up:\n{cp.stderr()}\ntty:\n{cp.tty()!r}'
    return int(ms[0].group(1))


def check_data(port):
    s = fl.connect(port)
    try:
        count, digest = fl.exchange(s, DATA)
    finally:
        s.close()
    assert (count, digest) == (DATA, fl.pattern_sha256(DATA)), \
        'the data through the forward came back different'


def listed(path, name):
    """The keys ssh-keygen finds for name in path ("type base64")."""
    r = subprocess.run([fl.SSH_KEYGEN, '-F', name, '-f', str(path)],
                       capture_output=True, text=True, timeout=20)
    return {' '.join(ln.split()[1:3]) for ln in r.stdout.splitlines()
            if ln.strip() and not ln.startswith('#')}


def assert_never_authenticated(sshd):
    assert 'Accepted publickey' not in sshd.log_text(), \
        'the client authenticated although the host key was refused'


def ed_key(lab):
    return lab.keys.host_pub('ed25519')


# --- the question on the terminal

def test_ask_yes_records_and_forwards(lab):
    sshd = lab.sshd()
    echo = lab.echo()
    kh = lab.known_hosts(sshd, [])
    fp = fingerprint(lab)
    cp = start_pty(lab, 'ferry', argv_for('ferry', lab, sshd, kh,
                                          forwards=[f'127.0.0.1:0:127.0.0.1:{echo.port}']))
    assert cp.wait_tty(QUESTION_END), f'no question on the terminal:\n{cp.stderr()}'
    assert cp.tty() == '\r' + question(sshd, fp)
    assert ALLOC not in cp.stderr()
    assert_never_authenticated(sshd)
    cp.type('yes')
    check_data(forward_port(cp))
    assert (f"Warning: Permanently added '{host_name(sshd)}' (ED25519) to the list of "
            f'known hosts.') in cp.stderr()
    assert listed(kh, host_name(sshd)) == {ed_key(lab)}
    cp.stop()
    # the recorded key is trusted from now on, without a question
    cp2 = start_pty(lab, 'ferry', argv_for('ferry', lab, sshd, kh, strict='yes',
                                           forwards=[f'127.0.0.1:0:127.0.0.1:{echo.port}']))
    check_data(forward_port(cp2))
    assert cp2.tty() == ''


@pytest.mark.parametrize('kind', ['ferry', 'ssh'])
def test_ask_no_refuses(lab, kind):
    sshd = lab.sshd()
    kh = lab.known_hosts(sshd, [])
    fp = fingerprint(lab)
    cp = start_pty(lab, kind, argv_for(kind, lab, sshd, kh))
    assert cp.wait_tty(QUESTION_END), f'no question on the terminal:\n{cp.stderr()}'
    assert cp.tty() == '\r' + question(sshd, fp)
    cp.type('no')
    assert cp.wait_exit() == 255
    assert FAILED in cp.stderr()
    assert 'Permanently added' not in cp.stderr()
    assert kh.read_text() == ''
    assert_never_authenticated(sshd)


@pytest.mark.parametrize('kind', ['ferry', 'ssh'])
def test_ask_fingerprint_after_a_wrong_answer(lab, kind):
    """Anything but yes, no or the fingerprint asks again; the
    fingerprint typed is a yes."""
    sshd = lab.sshd()
    echo = lab.echo()
    kh = lab.known_hosts(sshd, [])
    fp = fingerprint(lab)
    fwd = [f'127.0.0.1:{0 if kind == "ferry" else fl.pick_free_port()}:127.0.0.1:{echo.port}']
    cp = start_pty(lab, kind, argv_for(kind, lab, sshd, kh, forwards=fwd))
    assert cp.wait_tty(QUESTION_END), f'no question on the terminal:\n{cp.stderr()}'
    cp.type('maybe')
    assert cp.wait_tty(AGAIN), f'not asked again:\n{cp.tty()!r}'
    assert cp.tty().endswith('maybe\r\n\r' + AGAIN)
    cp.type(fp)
    if kind == 'ferry':
        check_data(forward_port(cp))
    else:
        assert fl.wait_until(lambda: fl.listens_on(cp.pid, int(fwd[0].split(':')[1])), 20)
    assert listed(kh, host_name(sshd)) == {ed_key(lab)}
    assert (f"Permanently added '{host_name(sshd)}' (ED25519)") in cp.stderr()


@pytest.mark.parametrize('kind', ['ferry', 'ssh'])
def test_ask_lists_other_names(lab, kind):
    """A key known under other names says so, as ssh does."""
    sshd = lab.sshd()
    kh = lab.known_hosts(sshd, [])
    other = kh.parent / 'other'
    other.write_text(f'gateway.example {ed_key(lab)}\n'
                     f'# old: {ed_key(lab)}\n'
                     f'[h3]:99,192.0.2.1 {ed_key(lab)}\n')
    fp = fingerprint(lab)
    cp = start_pty(lab, kind, argv_for(kind, lab, sshd, f'{kh} {other}'))
    assert cp.wait_tty(QUESTION_END), f'no question on the terminal:\n{cp.stderr()}'
    assert cp.tty() == '\r' + question(sshd, fp, other=[
        'This host key is known by the following other names/addresses:',
        f'    {other}:1: gateway.example', f'    {other}:3: [h3]:99,192.0.2.1'])
    cp.type('no')
    assert cp.wait_exit() == 255


@pytest.mark.parametrize('kind', ['ferry', 'ssh'])
def test_batch_mode_or_no_terminal_refuses(lab, kind):
    sshd = lab.sshd()
    kh = lab.known_hosts(sshd, [])
    # BatchMode on a terminal: nothing asked
    cp = start_pty(lab, kind, argv_for(kind, lab, sshd, kh, batch='yes'))
    assert cp.wait_exit() == 255
    assert cp.tty() == ''
    assert cp.stderr().splitlines()[-1].endswith(FAILED)
    # no terminal at all (a new session without one)
    try:
        cp2 = fl.ClientProc(kind, argv_for(kind, lab, sshd, kh), lab.env)
    except fl.FerryMissing as e:
        raise AssertionError(str(e)) from None
    lab.clients.append(cp2)
    assert cp2.wait_exit() == 255
    assert cp2.stderr().splitlines()[-1].endswith(FAILED)
    for c in (cp, cp2):
        assert 'you have requested strict checking' not in c.stderr(), \
            'ssh says only that verification failed here'
    assert kh.read_text() == ''
    assert_never_authenticated(sshd)


def test_connect_timeout_leaves_out_the_question(lab):
    """ConnectTimeout is the server's time: the user may take longer."""
    sshd = lab.sshd()
    echo = lab.echo()
    kh = lab.known_hosts(sshd, [])
    cp = start_pty(lab, 'ferry', argv_for('ferry', lab, sshd, kh,
                                          forwards=[f'127.0.0.1:0:127.0.0.1:{echo.port}'],
                                          extra=['-o', 'ConnectTimeout=1']))
    assert cp.wait_tty(QUESTION_END), f'no question on the terminal:\n{cp.stderr()}'
    time.sleep(2.5)                 # the user thinks it over
    assert cp.alive(), f'ferry gave up while the user was asked:\n{cp.stderr()}'
    cp.type('yes')
    check_data(forward_port(cp))


def test_question_does_not_stop_other_hosts(lab):
    """Two destinations in one ferry: while one waits for the user, the
    other comes up and carries data; then the first does too."""
    s1, s2 = lab.sshd(), lab.sshd()
    echo = lab.echo()
    kh1 = lab.known_hosts(s1, [])
    kh2 = lab.known_hosts(s2)
    cfg = lab.dir / 'two.conf'
    common = [f'  User {fl.USER}', f'  IdentityFile {lab.keys.user["ed25519"]}',
              '  IdentitiesOnly yes', '  BatchMode no', '  GlobalKnownHostsFile /dev/null']
    cfg.write_text('\n'.join(
        ['Host asked', '  HostName 127.0.0.1', f'  Port {s1.port}',
         '  StrictHostKeyChecking ask', f'  UserKnownHostsFile {kh1}',
         f'  LocalForward 127.0.0.1:0 127.0.0.1:{echo.port}'] + common +
        ['Host known', '  HostName 127.0.0.1', f'  Port {s2.port}',
         '  StrictHostKeyChecking yes', f'  UserKnownHostsFile {kh2}',
         f'  LocalForward 127.0.0.1:0 127.0.0.1:{echo.port}'] + common) + '\n')
    cp = start_pty(lab, 'ferry', [fl.require_ferry(), '-F', cfg, '-N', 'asked', 'known'])
    assert cp.wait_tty(QUESTION_END), f'no question on the terminal:\n{cp.stderr()}'
    check_data(forward_port(cp))                # "known", meanwhile
    assert len(fl.ALLOCATED_RE.findall(cp.stderr())) == 1
    cp.type('yes')
    ms = cp.wait_for(fl.ALLOCATED_RE, count=2)
    assert ms, f'the asked host did not come up:\n{cp.stderr()}'
    check_data(int(ms[1].group(1)))
    assert listed(kh1, host_name(s1)) == {ed_key(lab)}


# --- the files, and the alias

@pytest.mark.parametrize('kind', ['ferry', 'ssh'])
def test_global_known_hosts_trusted(lab, kind):
    sshd = lab.sshd()
    echo = lab.echo()
    kh = lab.known_hosts(sshd, [])
    glob_a = lab.known_hosts(sshd, [], name='global_a')
    glob_b = lab.known_hosts(sshd, name='global_b')     # lists the key
    fwd = [f'127.0.0.1:{0 if kind == "ferry" else fl.pick_free_port()}:127.0.0.1:{echo.port}']
    for strict in ('yes', 'accept-new'):
        cp = start_pty(lab, kind, argv_for(kind, lab, sshd, kh, strict=strict, forwards=fwd,
                                           global_kh=f'{glob_a} {glob_b}'))
        if kind == 'ferry':
            check_data(forward_port(cp))
        else:
            assert fl.wait_until(lambda: fl.listens_on(cp.pid, int(fwd[0].split(':')[1])),
                                 20), cp.stderr()
        cp.stop()
        assert cp.tty() == ''
        assert kh.read_text() == '', 'a key known globally is not recorded again'
    # a different key in the global file is a changed key
    glob_b.write_text(sshd.known_hosts_line('ed25519-other'))
    cp = start_pty(lab, kind, argv_for(kind, lab, sshd, kh, strict='ask',
                                       global_kh=f'{glob_a} {glob_b}'))
    assert cp.wait_exit() == 255
    assert 'REMOTE HOST IDENTIFICATION HAS CHANGED' in cp.stderr()
    assert FAILED in cp.stderr()


@pytest.mark.parametrize('kind', ['ferry', 'ssh'])
def test_several_user_files(lab, kind):
    """Every user file is read; a new key goes to the first one only."""
    sshd = lab.sshd()
    kh1 = lab.known_hosts(sshd, [], name='first')
    kh2 = lab.known_hosts(sshd, [], name='second')
    cp = start_pty(lab, kind, argv_for(kind, lab, sshd, f'{kh1} {kh2}', strict='accept-new'))
    assert fl.wait_until(lambda: 'Permanently added' in cp.stderr() or not cp.alive(), 20)
    cp.stop()
    assert listed(kh1, host_name(sshd)) == {ed_key(lab)}
    assert kh2.read_text() == ''
    # known in the second file only: trusted
    kh1.write_text('')
    kh2.write_text(sshd.known_hosts_line())
    cp = start_pty(lab, kind, argv_for(kind, lab, sshd, f'{kh1} {kh2}', strict='yes'))
    assert fl.wait_until(lambda: 'Accepted publickey' in sshd.log_text(), 20), cp.stderr()
    assert kh1.read_text() == ''


@pytest.mark.parametrize('kind', ['ferry', 'ssh'])
def test_host_key_alias(lab, kind):
    sshd = lab.sshd()
    echo = lab.echo()
    kh = lab.known_hosts(sshd, [])
    fp = fingerprint(lab)
    alias = ['-o', 'HostKeyAlias=Gateway.Example']
    fwd = [f'127.0.0.1:{0 if kind == "ferry" else fl.pick_free_port()}:127.0.0.1:{echo.port}']
    # asked about, and recorded, under the alias (lower case)
    cp = start_pty(lab, kind, argv_for(kind, lab, sshd, kh, forwards=fwd, extra=alias))
    assert cp.wait_tty(QUESTION_END), f'no question on the terminal:\n{cp.stderr()}'
    assert cp.tty() == '\r' + question(sshd, fp, name='gateway.example')
    cp.type('yes')
    if kind == 'ferry':
        check_data(forward_port(cp))
    else:
        assert fl.wait_until(lambda: fl.listens_on(cp.pid, int(fwd[0].split(':')[1])), 20)
    cp.stop()
    assert "Permanently added 'gateway.example' (ED25519)" in cp.stderr()
    assert listed(kh, 'gateway.example') == {ed_key(lab)}
    assert listed(kh, host_name(sshd)) == set()
    # looked up under the alias: trusted with it, unknown without it
    cp = start_pty(lab, kind, argv_for(kind, lab, sshd, kh, strict='yes', forwards=fwd,
                                       extra=alias))
    if kind == 'ferry':
        check_data(forward_port(cp))
    else:
        assert fl.wait_until(lambda: fl.listens_on(cp.pid, int(fwd[0].split(':')[1])), 20)
    cp.stop()
    cp = start_pty(lab, kind, argv_for(kind, lab, sshd, kh, strict='yes'))
    assert cp.wait_exit() == 255
    assert (f'No ED25519 host key is known for {host_name(sshd)} and you have requested '
            f'strict checking.') in cp.stderr()
    # a line for the host's own name does not count under the alias
    kh.write_text(sshd.known_hosts_line())
    cp = start_pty(lab, kind, argv_for(kind, lab, sshd, kh, strict='yes', extra=alias))
    assert cp.wait_exit() == 255
    assert ('No ED25519 host key is known for gateway.example and you have requested '
            'strict checking.') in cp.stderr()


G_KEYS = ('hostkeyalias', 'globalknownhostsfile', 'userknownhostsfile',
          'stricthostkeychecking')


def dump_g(argv):
    r = subprocess.run(argv, capture_output=True, text=True, timeout=20,
                       stdin=subprocess.DEVNULL)
    assert r.returncode == 0, f'{argv}: {r.stderr}'
    out = {}
    for ln in r.stdout.splitlines():
        k, _, v = ln.partition(' ')
        if k in G_KEYS:
            out[k] = v
    return out


@pytest.mark.parametrize('opts', [
    [],
    ['HostKeyAlias=Gateway', 'GlobalKnownHostsFile=/etc/a /etc/b'],
    ['GlobalKnownHostsFile=~/g %h', 'UserKnownHostsFile=/k1 /k2 /k3'],
    ['UserKnownHostsFile=none', 'GlobalKnownHostsFile=none'],
    ['StrictHostKeyChecking=ask', 'HostKeyAlias=x'],
])
def test_print_config_as_ssh(lab, opts):
    args = [a for o in opts for a in ('-o', o)]
    ferry = dump_g([fl.require_ferry(), '-G', '-F', 'none'] + args + ['h.example'])
    ssh = dump_g([fl.SSH, '-G', '-F', 'none'] + args + ['h.example'])
    assert ferry == ssh


def test_none_must_stand_alone(lab):
    r = subprocess.run([fl.require_ferry(), '-G', '-F', 'none', '-o',
                        'UserKnownHostsFile=none /a', 'h'], capture_output=True, text=True,
                       timeout=20, stdin=subprocess.DEVNULL)
    assert r.returncode == 255
    assert re.search(r'"none" argument must appear alone', r.stderr), r.stderr


def refusal_lines(lab, kind, sshd, kh, strict):
    cp = start_pty(lab, kind, argv_for(kind, lab, sshd, kh, strict=strict, batch='yes'))
    assert cp.wait_exit() == 255
    return [re.sub(r'^ferry: ', '', ln.rstrip('\r'))
            for ln in cp.stderr().splitlines()]


@pytest.mark.parametrize('strict', ['yes', 'ask', 'accept-new'])
def test_changed_and_revoked_say_what_ssh_says(lab, strict):
    """A changed key and a revoked one: ferry's words are ssh's, line for
    line."""
    sshd = lab.sshd()
    first = lab.known_hosts(sshd, [], name='first')
    changed = lab.known_hosts(sshd, ['ed25519-other'], name='changed')
    revoked = lab.known_hosts(sshd, [], name='revoked')
    revoked.write_text(f'@revoked * {ed_key(lab)}\n')
    for files in (f'{first} {changed}', f'{first} {revoked}'):
        ssh = refusal_lines(lab, 'ssh', sshd, files, strict)
        ferry = refusal_lines(lab, 'ferry', sshd, files, strict)
        assert ferry == ssh
    assert_never_authenticated(sshd)


def test_two_questions_one_at_a_time(lab):
    """Two unknown hosts in one ferry: one question at a time on the one
    terminal; the second comes once the first is answered."""
    s1, s2 = lab.sshd(log_level='DEBUG1'), lab.sshd(log_level='DEBUG1')
    echo = lab.echo()
    kh = lab.known_hosts(s1, [])
    cfg = lab.dir / 'two.conf'
    lines = []
    for name, s in (('one', s1), ('two', s2)):
        lines += [f'Host {name}', '  HostName 127.0.0.1', f'  Port {s.port}',
                  f'  User {fl.USER}', f'  IdentityFile {lab.keys.user["ed25519"]}',
                  '  IdentitiesOnly yes', '  BatchMode no', '  StrictHostKeyChecking ask',
                  '  GlobalKnownHostsFile /dev/null', f'  UserKnownHostsFile {kh}',
                  f'  LocalForward 127.0.0.1:0 127.0.0.1:{echo.port}']
    cfg.write_text('\n'.join(lines) + '\n')
    cp = start_pty(lab, 'ferry', [fl.require_ferry(), '-F', cfg, '-N', 'one', 'two'])
    assert cp.wait_tty(QUESTION_END), f'no question on the terminal:\n{cp.stderr()}'
    # both servers sent their key exchange reply: both hosts have a key
    # to ask about by now
    assert fl.wait_until(lambda: all('expecting SSH2_MSG_NEWKEYS' in s.log_text()
                                     for s in (s1, s2)), 20)
    time.sleep(0.5)
    assert cp.tty().count(QUESTION_END) == 1, cp.tty()
    first = s1 if f':{s1.port} (' in cp.tty() else s2
    second = s2 if first is s1 else s1
    cp.type('yes')
    assert cp.wait_tty(QUESTION_END, count=2), f'no second question:\n{cp.tty()!r}'
    assert f"host '{host_name(second)} (" in cp.tty().rsplit('The authenticity', 1)[1]
    cp.type('yes')
    ms = cp.wait_for(fl.ALLOCATED_RE, count=2)
    assert ms, f'the forwards did not come up:\n{cp.stderr()}'
    for m in ms:
        check_data(int(m.group(1)))
    assert listed(kh, host_name(first)) == listed(kh, host_name(second)) == {ed_key(lab)}
