"""The client's two clocks (issue 11): ConnectTimeout and RekeyLimit's time.

ConnectTimeout bounds connect, banner exchange and the first key exchange:
a server that accepts and never speaks, or sends its banner and then
nothing, makes ferry give up with ssh's words ("Connection timed out during
banner exchange" / "... during key exchange") within a bounded time, and
under Reconnect the attempt is retried. RekeyLimit's second argument makes
the client rekey on time alone: counted in a real sshd's DEBUG1 log while a
-L transfer's SHA-256 still matches, and `ferry -G` prints the line as
`ssh -G` does.
"""

import re
import socket
import subprocess
import time

import pytest

import ferrylab as fl
from ferrylab import MiB, KiB

BANNER = b'SSH-2.0-OpenSSH_9.2p1 Mute\r\n'


class MuteServer(fl.TcpServer):
    """Accepts, optionally sends an SSH banner, then never sends another
    byte; reads (and counts) what the client sends until it goes away."""

    def __init__(self, banner=None, **kw):
        self.banner = banner
        self.received = 0
        super().__init__('mute', **kw)

    def handle(self, conn):
        if self.banner:
            conn.sendall(self.banner)
        conn.settimeout(60)
        try:
            while True:
                b = conn.recv(65536)
                if not b:
                    return
                self.received += len(b)
        except OSError:
            return


def mute(lab, banner=None):
    s = MuteServer(banner)
    lab.servers.append(s)
    return s


def run_timed(lab, kind, srv, extra, timeout=20):
    """Runs the client against srv (no known host key needed: it never
    gets that far); returns (ClientProc, seconds it took)."""
    kh = lab.known_hosts(srv, key_names=[])
    t0 = time.monotonic()
    cp = lab.run(kind, srv, known_hosts=kh, extra=extra, timeout=timeout)
    return cp, time.monotonic() - t0


def test_silent_server_times_out_in_banner_exchange(lab, client):
    srv = mute(lab)
    cp, took = run_timed(lab, client, srv, ['-o', 'ConnectTimeout=2'])
    assert cp.proc.returncode != 0, cp.stderr()
    assert 'Connection timed out during banner exchange' in cp.stderr(), cp.stderr()
    assert 1.5 <= took < 10, f'gave up after {took:.1f}s, ConnectTimeout is 2s'
    assert srv.accepted == 1


def test_banner_then_silence_times_out_in_key_exchange(lab):
    """ssh's ConnectTimeout stops at the banner; ferry's covers the first
    key exchange too (so only ferry runs here)."""
    srv = mute(lab, BANNER)
    cp, took = run_timed(lab, 'ferry', srv, ['-o', 'ConnectTimeout=2'])
    assert cp.proc.returncode != 0, cp.stderr()
    assert 'Connection timed out during key exchange' in cp.stderr(), cp.stderr()
    assert 1.5 <= took < 10, f'gave up after {took:.1f}s, ConnectTimeout is 2s'
    # ferry did speak: its banner and KEXINIT reached the server
    assert srv.received > len('SSH-2.0-x\r\n'), srv.received


def test_timeout_is_retried_under_reconnect(lab):
    srv = mute(lab, BANNER)
    kh = lab.known_hosts(srv, key_names=[])
    argv = fl.client_argv('ferry', srv, forwards=[f'{fl.LOCALHOST}:0:{fl.LOCALHOST}:9'],
                          identity=lab.keys.user['ed25519'], known_hosts=kh,
                          extra=['-o', 'ConnectTimeout=1', '-o', 'Reconnect=yes',
                                 '-o', 'ReconnectDelay=0.2', '-o', 'ReconnectMaxDelay=0.5'])
    cp = fl.ClientProc('ferry', argv, lab.env)
    lab.clients.append(cp)
    ms = cp.wait_for(r'Reconnect to \S+ failed: Connection timed out during key exchange',
                     count=2, timeout=15)
    assert ms is not None, cp.stderr()
    assert cp.alive(), cp.stderr()
    assert srv.accepted >= 2


def test_no_connect_timeout_keeps_waiting(lab):
    """Without ConnectTimeout (and without Reconnect, whose default is 5s)
    nothing changed: ferry waits for the server as ssh does."""
    srv = mute(lab)
    kh = lab.known_hosts(srv, key_names=[])
    argv = fl.client_argv('ferry', srv, forwards=[f'{fl.LOCALHOST}:0:{fl.LOCALHOST}:9'],
                          identity=lab.keys.user['ed25519'], known_hosts=kh)
    cp = fl.ClientProc('ferry', argv, lab.env)
    lab.clients.append(cp)
    assert cp.wait_exit(3) is None, f'ferry exited: {cp.stderr()}'
    assert 'timed out' not in cp.stderr()


REKEY_RE = re.compile(r'ssh_set_newkeys: rekeying in,')


def paced_upload(port, n, start, seconds):
    """Sends n pattern bytes spread over about `seconds`, then EOF."""
    chunk = 128 * KiB
    pause = seconds / (n // chunk)
    s = fl.connect(port)
    try:
        for c in fl.pattern_chunks(n, start, chunk):
            s.sendall(c)
            time.sleep(pause)
        s.shutdown(socket.SHUT_WR)
        s.settimeout(fl.IO_TIMEOUT)
        s.recv(1)
    finally:
        s.close()


def test_rekey_by_time(lab, client):
    """RekeyLimit default 2s: a paced 8 MiB upload (far below any volume
    limit) over ~7 s sees the client rekey on time alone; sshd (DEBUG1)
    logs each re-exchange, and the data arrives intact."""
    n = 8 * MiB
    sshd = lab.sshd(log_level='DEBUG1')
    sink = lab.sink()
    echo = lab.echo()
    extra = ['-o', 'RekeyLimit=default 2s']
    if client == 'ferry':
        extra.append('-v')
    t = lab.tunnel(client, sshd, [sink.addr, echo.addr], extra=extra)
    paced_upload(t.port, n, 11, seconds=7)
    r = sink.result()
    assert (r.count, r.sha256) == (n, fl.pattern_sha256(n, 11)), r
    assert fl.echo_roundtrip(t.ports[1], b'after rekeys') == b'after rekeys'
    assert t.alive()
    rekeys = len(REKEY_RE.findall(sshd.log_text()))
    assert rekeys >= 2, f'sshd logged {rekeys} rekeys in ~7s at RekeyLimit default 2s'
    if client == 'ferry':
        err = t.proc.stderr()
        assert err.count('SSH2_MSG_NEWKEYS received') >= rekeys, err
        assert 'rekeying after 2 s (RekeyLimit)' in err, err


def test_no_time_limit_no_rekey(lab):
    """The control: the same traffic with RekeyLimit's data part only
    rekeys nothing (so the test above measures the time part)."""
    n = 2 * MiB
    sshd = lab.sshd(log_level='DEBUG1')
    sink = lab.sink()
    t = lab.tunnel('ferry', sshd, [sink.addr], extra=['-o', 'RekeyLimit=1G'])
    paced_upload(t.port, n, 3, seconds=3)
    r = sink.result()
    assert (r.count, r.sha256) == (n, fl.pattern_sha256(n, 3)), r
    assert not REKEY_RE.findall(sshd.log_text())


def dash_G(prog, value):
    out = subprocess.run([prog, '-G', '-F', '/dev/null', '-o', f'RekeyLimit {value}',
                          'example.org'], stdin=subprocess.DEVNULL, capture_output=True,
                         timeout=20, text=True)
    assert out.returncode == 0, out.stderr
    return [ln for ln in out.stdout.splitlines() if ln.startswith('rekeylimit ')]


@pytest.mark.parametrize('value', ['1G 30s', 'default none', 'default 5m', '500M',
                                   '64K 1h30m', 'default 0'])
def test_dash_G_rekeylimit_matches_ssh(value):
    want = dash_G(fl.SSH, value)
    assert len(want) == 1, want
    assert dash_G(fl.require_ferry(), value) == want
