"""ServerAliveInterval / ServerAliveCountMax against a real OpenSSH sshd.

A frozen server (every process of the `sshd -i` session serving the client's
connection SIGSTOPped: the TCP connection stays up, nothing answers) must be
declared dead within Interval x CountMax + 2 s; a live server must keep the
client up, idle or busy. Runs for ferry and, to validate the test, OpenSSH ssh.
"""

import hashlib
import re
import signal
import time

import pytest

import ferrylab as fl
import remotelab as rl
from ferrylab import Deadline, KiB, LOCALHOST

INTERVAL, COUNT_MAX = 1, 3
BOUND = INTERVAL * COUNT_MAX + 2          # seconds from the freeze to the exit
KEEPALIVE_RE = re.compile(r'rtype keepalive@openssh\.com want_reply 1')


def _alive_options(count_max=COUNT_MAX):
    return ['-o', f'ServerAliveInterval={INTERVAL}',
            '-o', f'ServerAliveCountMax={count_max}']


def test_frozen_server_times_out(lab, client):
    sshd = lab.sshd()
    echo = lab.echo()
    t = lab.tunnel(client, sshd, [echo.addr], extra=_alive_options())
    assert fl.echo_roundtrip(t.port, b'before') == b'before'
    pids = rl.sshd_session_pids(sshd)
    assert pids, 'no sshd process serving the connection'
    frozen_at = time.monotonic()
    rl.signal_pids(pids, signal.SIGSTOP)
    try:
        rc = t.proc.wait_exit(BOUND + 10)       # measured below against BOUND
        took = time.monotonic() - frozen_at
    finally:
        rl.signal_pids(pids, signal.SIGCONT)
        rl.signal_pids(pids, signal.SIGKILL)
    err = t.proc.stderr()
    assert rc is not None, f'client still running {BOUND + 10}s after the server froze:\n{err}'
    assert rc == 255, f'exit status {rc}, expected 255:\n{err}'
    assert f'Timeout, server {LOCALHOST} not responding.' in err, err
    assert took <= BOUND, f'took {took:.1f}s to notice a frozen server, bound {BOUND}s'
    # not a premature exit either: CountMax unanswered keepalives take
    # (CountMax - 1) x Interval at the very least
    assert took >= (COUNT_MAX - 1) * INTERVAL, f'gave up after only {took:.1f}s'


@pytest.mark.parametrize('count_max', [1, COUNT_MAX])
def test_idle_live_server_keeps_client_up(lab, client, count_max):
    """Idle for 6 s with Interval 1: the client sends keepalives (sshd logs
    them) and gets them answered, so it stays up. CountMax 1 is the sharp
    case: each keepalive must go out when its interval expires and its answer
    must count before the next one is due (OpenSSH ssh stays up)."""
    sshd = lab.sshd(log_level='DEBUG1')
    echo = lab.echo()
    t = lab.tunnel(client, sshd, [echo.addr], extra=_alive_options(count_max))
    started = time.monotonic()
    rc = t.proc.wait_exit(6)
    assert rc is None, f'client exited ({rc}) after {time.monotonic() - started:.1f}s ' \
                       f'with a live, idle server:\n{t.proc.stderr()}'
    sent = len(KEEPALIVE_RE.findall(sshd.log_text()))
    assert sent >= 4, f'sshd saw only {sent} keepalive requests in 6 s at ServerAliveInterval=1'
    assert fl.echo_roundtrip(t.port, b'after idle') == b'after idle'
    assert 'Timeout' not in t.proc.stderr()


def test_busy_live_server_keeps_client_up(lab, client):
    """Data flows for 6 s (paced echo exchange, every byte checked) with
    Interval 1 and CountMax 1: the client stays up throughout."""
    sshd = lab.sshd()
    echo = lab.echo()
    t = lab.tunnel(client, sshd, [echo.addr], extra=_alive_options(count_max=1))
    s = fl.connect(t.port)
    chunk, total, off = 64 * KiB, 0, 31
    end = time.monotonic() + 6
    d = Deadline(30, 'paced echo')
    h = hashlib.sha256()
    try:
        while time.monotonic() < end:
            data = fl.pattern_bytes(chunk, off + total)
            s.settimeout(d.left(fl.IO_TIMEOUT))
            s.sendall(data)
            got = bytearray()
            while len(got) < chunk:
                s.settimeout(d.left(fl.IO_TIMEOUT))
                b = s.recv(chunk - len(got))
                assert b, 'tunnel closed during the paced exchange'
                got += b
            h.update(got)
            total += chunk
            assert t.alive(), f'client exited while data flowed:\n{t.proc.stderr()}'
            time.sleep(0.05)
    finally:
        s.close()
    assert total >= 20 * chunk
    assert h.hexdigest() == fl.pattern_sha256(total, off), 'echo corrupted (SHA-256 differs)'
    assert t.alive(), t.proc.stderr()
    assert 'Timeout' not in t.proc.stderr()
