"""Command line, config spellings, signals, IPv6 listeners."""

import select
import signal
import socket
import types

import pytest

import ferrylab as fl

BAD_COMMAND_LINES = [
    (['-L', 'nonsense'], 'nonsense'),
    (['-L', '70000:h:1'], '70000'),
    (['-o', 'NoSuchOption=1'], 'nosuchoption'),
    (['-c', 'nosuchcipher'], 'nosuchcipher'),
]


@pytest.mark.parametrize('bad,needle', BAD_COMMAND_LINES,
                         ids=[' '.join(b) for b, _ in BAD_COMMAND_LINES])
def test_bad_command_line(lab, client, bad, needle):
    """Rejected before any connection: exit 255 and a message naming the culprit.
    The 'server' is a canary listener that is never accepted from; a pending
    connection on it after the client exited means the client went ahead."""
    canary = socket.socket()
    canary.bind((fl.LOCALHOST, 0))
    canary.listen(8)
    lab.sockets.append(canary)
    fake = types.SimpleNamespace(port=canary.getsockname()[1])
    kh = lab.dir / 'known_hosts_empty'
    kh.write_text('')
    try:
        argv = fl.client_argv(client, fake, forwards=[], identity=lab.keys.user['ed25519'],
                              known_hosts=kh, extra=bad)
    except fl.FerryMissing as e:
        pytest.fail(str(e), pytrace=False)
    cp = lab.run(client, None, argv=argv, timeout=10)
    err = cp.stderr()
    assert cp.proc.returncode == 255, f'exit status {cp.proc.returncode}, expected 255'
    assert needle in err.lower(), f'message does not name {needle!r}:\n{err}'
    readable, _, _ = select.select([canary], [], [], 0)
    assert not readable, 'the client connected to the server despite a bad command line'


@pytest.mark.parametrize('sig', [signal.SIGTERM, signal.SIGINT], ids=['TERM', 'INT'])
def test_signal_exits(lab, client, sig):
    sshd = lab.sshd()
    echo = lab.echo()
    t = lab.tunnel(client, sshd, [echo.addr])
    held = fl.connect(t.port)                     # an open channel at the time
    try:
        assert fl.echo_roundtrip(t.port, b'up') == b'up'
        t.proc.signal(sig)
        rc = t.proc.wait_exit(5)
        assert rc is not None, f'client still running 5s after {sig.name}'
    finally:
        held.close()
    assert not fl.listening_inodes(t.port), 'listener still present after exit'


@pytest.mark.parametrize('spelling', ['option', 'config', 'user@host'])
def test_forward_spelling(lab, client, spelling):
    """-o LocalForward=..., a -F file Host block, and user@host instead of -l."""
    sshd = lab.sshd()
    echo = lab.echo()
    t = lab.tunnel(client, sshd, [echo.addr], spelling=spelling)
    assert fl.echo_roundtrip(t.port, b'spelled') == b'spelled'


def _have_ipv6_loopback():
    try:
        s = socket.socket(socket.AF_INET6)
        s.bind(('::1', 0))
        s.close()
        return True
    except OSError:
        return False


@pytest.mark.skipif(not _have_ipv6_loopback(), reason='no ::1 on this host')
def test_ipv6_bracket_literals(lab, client):
    """-L [::1]:0:[::1]:PORT: bracketed IPv6 literals for listener and target."""
    sshd = lab.sshd()
    echo = lab.echo(host='::1')
    t = lab.tunnel(client, sshd, [echo.addr], listen='::1')
    s = fl.connect(t.port, host='::1')
    try:
        count, digest = fl.exchange(s, 100000, 3)
    finally:
        s.close()
    assert (count, digest) == (100000, fl.pattern_sha256(100000, 3))
