"""Local forwarding (-L) data integrity against a real OpenSSH sshd.

Every test runs once per client kind: 'ferry' (the point) and 'ssh' (OpenSSH,
which validates the harness). Payloads are checked by byte count and SHA-256.
"""

import re
import socket
import threading

import pytest

import ferrylab as fl
from remotelab import upload, download, assert_upload_ok  # noqa: F401
from ferrylab import MiB, KiB, Deadline

BULK = 64 * MiB

# (cipher, mac): the server allows only these, so negotiation must pick them.
AEAD = ['chacha20-poly1305@openssh.com', 'aes128-gcm@openssh.com', 'aes256-gcm@openssh.com']
CTR = ['aes128-ctr', 'aes256-ctr']
MACS = ['hmac-sha2-256', 'hmac-sha2-512',
        'hmac-sha2-256-etm@openssh.com', 'hmac-sha2-512-etm@openssh.com']
CIPHER_CASES = [(c, None) for c in AEAD] + [(c, m) for c in CTR for m in MACS]


def _case_id(case):
    c, m = case
    c = c.replace('@openssh.com', '')
    return c if m is None else f'{c}+{m.replace("@openssh.com", "")}'


def assert_kex(log, cipher, mac):
    """sshd (LogLevel DEBUG1) logs the negotiated algorithms per direction."""
    mac_s = '<implicit>' if mac is None else mac
    for direction in ('client->server', 'server->client'):
        want = f'kex: {direction} cipher: {cipher} MAC: {mac_s}'
        assert want in log, f'sshd log lacks {want!r}'


@pytest.mark.parametrize('direction', ['up', 'down'])
@pytest.mark.parametrize('case', CIPHER_CASES, ids=_case_id)
def test_bulk_cipher(lab, client, case, direction):
    cipher, mac = case
    config = [f'Ciphers {cipher}'] + ([f'MACs {mac}'] if mac else [])
    sshd = lab.sshd(config=config, log_level='DEBUG1')
    if direction == 'up':
        sink = lab.sink()
        t = lab.tunnel(client, sshd, [sink.addr], cipher=cipher)
        assert_upload_ok(upload(t.port, sink, BULK, start=11), BULK, start=11)
    else:
        source = lab.source(BULK, start=13)
        t = lab.tunnel(client, sshd, [source.addr], cipher=cipher)
        count, digest = download(t.port)
        assert count == BULK, f'got {count} bytes, expected {BULK}'
        assert digest == fl.pattern_sha256(BULK, 13), 'payload corrupted (SHA-256 differs)'
    assert t.alive(), 'client exited after the transfer'
    assert_kex(sshd.log_text(), cipher, mac)


HALF_CLOSE_SIZES = [0, 1, 32767, 32768, 2 * MiB - 1, 2 * MiB, 2 * MiB + 1]


@pytest.mark.parametrize('n', HALF_CLOSE_SIZES)
def test_half_close(lab, client, n):
    """Client sends n bytes then SHUT_WR; the echo server returns all n bytes
    and only then closes: the tunnel must carry EOF one way while data still
    flows the other way."""
    sshd = lab.sshd()
    echo = lab.echo()
    t = lab.tunnel(client, sshd, [echo.addr])
    s = fl.connect(t.port)
    try:
        count, digest = fl.exchange(s, n, start=n, deadline=Deadline(60, 'half-close'))
    finally:
        s.close()
    assert count == n, f'got {count} of {n} bytes back before EOF'
    assert digest == fl.pattern_sha256(n, n)
    assert not echo.errors, echo.errors
    assert t.alive()


def test_concurrent_connections(lab, client):
    """100 connections at once through one tunnel, 256 KiB each, distinct data."""
    conns, size = 100, 256 * KiB
    # DEBUG1: sshd logs each direct-tcpip open with the originator port, which
    # lets a failure below be matched with its channel.
    sshd = lab.sshd(log_level='DEBUG1')
    echo = lab.echo()
    t = lab.tunnel(client, sshd, [echo.addr])
    results = [None] * conns
    gate = threading.Barrier(conns, timeout=30)

    def one(i):
        port = None
        try:
            gate.wait()
            s = fl.connect(t.port)
            port = s.getsockname()[1]
            try:
                results[i] = fl.exchange(s, size, fl.stream_start(i), Deadline(90, f'conn {i}'))
            finally:
                s.close()
        except Exception as e:  # noqa: BLE001
            results[i] = RuntimeError(f'client port {port}: {type(e).__name__}: {e}')

    threads = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(conns)]
    for th in threads:
        th.start()
    d = Deadline(120, 'concurrent connections')
    for th in threads:
        th.join(max(0.0, d.remaining()))
    stuck = sum(th.is_alive() for th in threads)
    assert stuck == 0, f'{stuck} connections still running after 120s'
    bad = []
    for i, r in enumerate(results):
        if isinstance(r, Exception) or r is None:
            bad.append(f'conn {i}: {r!r}')
        elif r != (size, fl.pattern_sha256(size, fl.stream_start(i))):
            bad.append(f'conn {i}: got {r[0]} bytes, sha {r[1][:16]}')
    assert not bad, (f'{len(bad)} of {conns} connections failed (echo server accepted '
                     f'{echo.accepted}, echoed {echo.bytes_echoed} bytes):\n' +
                     '\n'.join(bad[:20]))
    assert t.alive()


REKEY_RE = re.compile(r'ssh_set_newkeys: rekeying in,')


@pytest.mark.parametrize('direction', ['up', 'down'])
@pytest.mark.parametrize('who', ['server-limit', 'client-limit'])
def test_rekey(lab, client, who, direction):
    """64 MiB across many rekeys (RekeyLimit 1M on one side).

    sshd 9.2 logs nothing about rekeying at VERBOSE; at DEBUG1 every completed
    re-exchange (not the first one) logs "ssh_set_newkeys: rekeying in, ..."
    and "... rekeying out, ...", which is what we count."""
    config, extra = [], []
    if who == 'server-limit':
        config = ['RekeyLimit 1M']
    else:
        extra = ['-o', 'RekeyLimit=1M']
    sshd = lab.sshd(config=config, log_level='DEBUG1')
    echo = lab.echo()
    if direction == 'up':
        sink = lab.sink()
        t = lab.tunnel(client, sshd, [sink.addr, echo.addr], extra=extra)
        assert_upload_ok(upload(t.port, sink, BULK, start=3), BULK, start=3)
    else:
        source = lab.source(BULK, start=5)
        t = lab.tunnel(client, sshd, [source.addr, echo.addr], extra=extra)
        count, digest = download(t.port)
        assert count == BULK, f'got {count} bytes, expected {BULK}'
        assert digest == fl.pattern_sha256(BULK, 5), 'payload corrupted (SHA-256 differs)'
    assert t.alive()
    # A fresh channel still works after all those key changes.
    assert fl.echo_roundtrip(t.ports[1], b'after rekeys') == b'after rekeys'
    rekeys = len(REKEY_RE.findall(sshd.log_text()))
    # 64 MiB at a 1 MiB limit: OpenSSH does ~30-64; demand a clear signal.
    assert rekeys >= 8, f'sshd logged only {rekeys} rekeys for 64 MiB at RekeyLimit 1M'


def test_connect_failure_is_isolated(lab, client):
    """Forward #2 points at a closed port: each connection to it is closed
    promptly, while a transfer held mid-flight (backpressured) on forward #1
    through the same SSH connection is undisturbed and completes intact."""
    n = 16 * MiB
    sshd = lab.sshd()
    echo = lab.echo()
    dead = lab.closed_port()
    t = lab.tunnel(client, sshd, [echo.addr, (fl.LOCALHOST, dead)])
    live_port, dead_port = t.ports

    s = fl.connect(live_port)
    sent = [0]
    progressed = threading.Event()
    go_read = threading.Event()
    out = {}

    def on_progress(k):
        sent[0] = k
        if k >= 512 * KiB:
            progressed.set()

    def sender():
        try:
            fl.send_pattern(s, n, 7, Deadline(90, 'sender'), chunk=64 * KiB,
                            progress=on_progress)
            s.shutdown(socket.SHUT_WR)
        except Exception as e:  # noqa: BLE001
            out['send_error'] = e
            progressed.set()

    def reader():
        go_read.wait(60)
        try:
            out['result'] = fl.recv_to_eof(s, Deadline(90, 'reader'))
        except Exception as e:  # noqa: BLE001
            out['recv_error'] = e

    ts = threading.Thread(target=sender, daemon=True)
    tr = threading.Thread(target=reader, daemon=True)
    ts.start()
    tr.start()
    finished = False
    try:
        assert progressed.wait(30), f'only {sent[0]} bytes accepted by the tunnel in 30s'
        assert 'send_error' not in out, out
        # Nobody reads the echo yet: windows and buffers are full, data in flight.
        refused = 0
        for i in range(20):
            c = fl.connect(dead_port, timeout=10)
            try:
                c.settimeout(10)
                try:
                    c.sendall(b'hello?')
                    got = c.recv(100)
                except (ConnectionResetError, BrokenPipeError):
                    got = b''
                except socket.timeout:
                    pytest.fail(f'connection {i} to the dead forward not closed within 10s')
                assert got == b'', f'dead forward returned data {got!r}'
                refused += 1
            finally:
                c.close()
        assert refused == 20
        assert t.alive(), 'client exited after failed channel opens'
        finished = True
    finally:
        if not finished:                 # failing: unblock the helper threads now
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        go_read.set()
        ts.join(90)
        tr.join(90)
        s.close()
    assert 'send_error' not in out and 'recv_error' not in out, out
    assert out.get('result') == (n, fl.pattern_sha256(n, 7)), \
        f'parallel transfer damaged: {out.get("result")!r}'
    # and the tunnel still serves new connections
    assert fl.echo_roundtrip(live_port, b'still here') == b'still here'
    assert t.alive()
