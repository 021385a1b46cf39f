"""ferryd's admission per source (issue 12): PerSourceMaxStartups over
blocks of PerSourceNetBlockSize, sshd's semantics: unauthenticated
connections from one block past the bound are dropped at once, other
blocks and authenticated sessions are not affected. Connections come from
127.0.0.1 and 127.0.0.2."""

import socket
import time

import ferrylab as fl
import ferrydlab as fdl
from ferrydlab import ferryd  # noqa: F401 - fixture
from ferrylab import LOCALHOST


def silent(port, src):
    """A TCP connection from src that sends its banner and then nothing:
    unauthenticated until LoginGraceTime."""
    s = socket.create_connection((LOCALHOST, port), timeout=10, source_address=(src, 0))
    s.sendall(b'SSH-2.0-silent\r\n')
    return s


def dropped(s, wait=3.0):
    """Whether the server closed s (EOF or reset) within wait seconds;
    its banner may come first."""
    s.settimeout(0.2)
    end = time.monotonic() + wait
    while time.monotonic() < end:
        try:
            if s.recv(4096) == b'':
                return True
        except socket.timeout:
            continue
        except OSError:
            return True
    return False


def test_per_source_max_startups(lab, ferryd):
    srv = ferryd(config=['PerSourceMaxStartups 2', 'LoginGraceTime 60'])
    a = [silent(srv.port, '127.0.0.1') for _ in range(2)]
    third = silent(srv.port, '127.0.0.1')
    other = silent(srv.port, '127.0.0.2')
    try:
        assert dropped(third), 'a third unauthenticated connection from the block stayed'
        assert srv.wait_log(r'drop connection from \[127\.0\.0\.1\]:\d+: past '
                            r'PerSourceMaxStartups', timeout=10), srv.log_text()[-2000:]
        assert not dropped(a[0], 0.5) and not dropped(a[1], 0.5)
        assert not dropped(other, 0.5), '127.0.0.2 is another /32 block'
        # a client that logs in from another block is served meanwhile
        echo = lab.echo()
        t = fdl.start_local(lab, 'ssh', srv, [echo.addr], extra=['-b', '127.0.0.2'])
        assert fl.echo_roundtrip(t.port, b'served') == b'served'

    finally:
        for s in a + [third, other]:
            s.close()
    # the block's unauthenticated ones gone (once ferryd saw them close),
    # a new one is let in
    def let_in():
        late = silent(srv.port, '127.0.0.1')
        try:
            return not dropped(late, 1.0)
        finally:
            late.close()
    assert fl.wait_until(let_in, 10)


def test_netblock_size_groups_sources(lab, ferryd):
    srv = ferryd(config=['PerSourceMaxStartups 1', 'PerSourceNetBlockSize 8:64',
                         'LoginGraceTime 60'])
    first = silent(srv.port, '127.0.0.1')
    second = silent(srv.port, '127.0.0.2')     # same /8
    try:
        assert dropped(second), '127.0.0.2 is in 127.0.0.1\'s /8 block'
        assert not dropped(first, 0.5)
    finally:
        first.close()
        second.close()
    r = fdl.run_ferryd(['-T', '-f', srv.config_path])
    assert 'persourcemaxstartups 1' in r.stdout and 'persourcenetblocksize 8:64' in r.stdout


def recv_eof(s, wait):
    s.settimeout(wait)
    try:
        while True:
            if s.recv(4096) == b'':
                return True
    except socket.timeout:
        return False
    except OSError:
        return True


def test_channel_timeout(lab, ferryd):
    """ChannelTimeout direct-tcpip=2s: an idle forwarded connection is
    closed, a busy one is not; other types are not affected."""
    srv = ferryd(config=['ChannelTimeout forwarded-*=1h direct-tcpip=2s'])
    echo = lab.echo()
    t = fdl.start_local(lab, 'ssh', srv, [echo.addr])
    idle = fl.connect(t.port)
    busy = fl.connect(t.port)
    try:
        assert fl.echo_roundtrip(t.port, b'warm') == b'warm'
        idle.sendall(b'x')
        assert idle.recv(1) == b'x'
        end = time.monotonic() + 5
        while time.monotonic() < end:           # bounded: 5 s, 10 rounds
            busy.sendall(b'y')
            assert busy.recv(1) == b'y'
            time.sleep(0.5)
        assert recv_eof(idle, 3), 'the idle connection is still open'
        busy.sendall(b'z')
        assert busy.recv(1) == b'z', 'the busy connection was closed'
        assert srv.wait_log(r'closing after \d+ seconds of inactivity \(ChannelTimeout\)',
                            timeout=5)
        assert t.alive()
    finally:
        idle.close()
        busy.close()


def test_unused_connection_timeout(lab, ferryd):
    """UnusedConnectionTimeout 2: a login with no channel is ended; one
    with a forwarded connection open is kept while it is."""
    srv = ferryd(config=['UnusedConnectionTimeout 2'])
    cp = fdl.start_client(lab, 'ssh', srv)            # -N, no forwards
    assert cp.wait_exit(20) is not None, 'the unused connection was kept'
    assert srv.wait_log(r'has had no channel for \d+ s: closing \(UnusedConnectionTimeout\)',
                        timeout=5)
    echo = lab.echo()
    t = fdl.start_local(lab, 'ssh', srv, [echo.addr])
    c = fl.connect(t.port)
    try:
        end = time.monotonic() + 4
        while time.monotonic() < end:             # bounded: 4 s
            c.sendall(b'k')
            assert c.recv(1) == b'k'
            time.sleep(0.5)
        assert t.alive(), 'a connection with a channel open was ended'
    finally:
        c.close()
    assert t.proc.wait_exit(20) is not None, 'not ended once its channel closed'
