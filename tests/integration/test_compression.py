"""Compression (zlib@openssh.com) against real peers.

ferry -C against OpenSSH sshd, ssh -C and ferry -C against ferryd, and both
against dropbear: 8 MiB of compressible text and 8 MiB of incompressible
bytes go up and come back through an echo target over -L, checked by
SHA-256, in the middle of rekeys where asked. That compression really ran
is read from the peers: sshd's DEBUG1 log ("kex: ... compression:
zlib@openssh.com", and "compress incoming: raw data N, compressed M" when
the connection ends), ssh -v, and ferry's and ferryd's own VERBOSE line of
the same form.
"""

import hashlib
import random
import re
import shutil
import socket
import threading
import time

import pytest

import ferrylab as fl
import ferrydlab as fdl
import remotelab as rl
from ferrydlab import ferryd  # noqa: F401 - fixture
from ferrylab import MiB, KiB, Deadline

SIZE = 8 * MiB
ZLIB = 'zlib@openssh.com'
KEX_RE = r'kex: {d} cipher: \S+ MAC: \S+ compression: (\S+)'
STATS_RE = re.compile(r'compress (outgoing|incoming): raw data (\d+), compressed (\d+), '
                      r'factor ([\d.]+)')
SSHD_REKEY_RE = re.compile(r'ssh_set_newkeys: rekeying in,')


def _text(n):
    """Log-like lines: compress several times over, but not trivially."""
    rnd = random.Random(7)
    verbs = ['GET', 'POST', 'PUT', 'DELETE']
    paths = ['/index.html', '/api/v1/items', '/static/app.js', '/login', '/metrics']
    out, size, i = [], 0, 0
    while size < n:
        line = (f'{i:09d} 127.0.0.{rnd.randrange(1, 255)} {rnd.choice(verbs)} '
                f'{rnd.choice(paths)}?id={rnd.randrange(100000)} {rnd.choice([200, 404])} '
                f'{rnd.randrange(20000)}\n').encode()
        out.append(line)
        size += len(line)
        i += 1
    return b''.join(out)[:n]


DATA = {
    'text': _text(SIZE),
    'random': random.Random(11).randbytes(SIZE),
}
# both kinds in 64 KiB pieces: a rekey lands in either
MIXED = b''.join(DATA['text' if (i // (64 * KiB)) % 2 else 'random'][i:i + 64 * KiB]
                 for i in range(0, SIZE, 64 * KiB))


def echo_through(port, data, seconds=120):
    """Sends data to the echo target behind port while reading the echo;
    asserts that every byte came back in order (count and SHA-256)."""
    d = Deadline(seconds, f'echo of {len(data)} bytes')
    s = fl.connect(port)
    err = []

    def writer():
        try:
            mv = memoryview(data)
            for off in range(0, len(mv), 256 * KiB):
                s.sendall(mv[off:off + 256 * KiB])
            s.shutdown(socket.SHUT_WR)
        except OSError as e:
            err.append(e)

    th = threading.Thread(target=writer, daemon=True)
    s.settimeout(fl.IO_TIMEOUT)
    th.start()
    try:
        count, digest = fl.recv_to_eof(s, d)
    finally:
        th.join(d.left(10))
        s.close()
    assert not err, f'sending failed: {err[0]!r}'
    assert count == len(data), f'got {count} bytes back, sent {len(data)}'
    assert digest == hashlib.sha256(data).hexdigest(), 'payload corrupted (SHA-256 differs)'


def stats(text):
    """{'outgoing': (raw, wire), 'incoming': (raw, wire)} from the last
    compression report lines in a log."""
    out = {}
    for m in STATS_RE.finditer(text):
        out[m.group(1)] = (int(m.group(2)), int(m.group(3)))
    return out


def wait_stats(get_text, what, seconds=10):
    ok = fl.wait_until(lambda: len(stats(get_text())) == 2, seconds)
    assert ok, f'{what} did not report what compression did:\n{fl.tail(get_text(), 30)}'
    return stats(get_text())


def assert_ratio(st, direction, kind, at_least):
    """raw/wire of one direction's report fit the data that went through."""
    raw, wire = st[direction]
    assert raw >= at_least, f'{direction}: only {raw} raw bytes went through zlib'
    if kind == 'text':
        assert wire < raw / 3, f'{direction}: text did not compress: {raw} -> {wire}'
    elif kind == 'random':
        assert wire > raw * 0.95, f'{direction}: random bytes shrank: {raw} -> {wire}'


def negotiated(log, who_c2s='client->server', who_s2c='server->client'):
    got = []
    for d in (who_c2s, who_s2c):
        m = re.search(KEX_RE.format(d=d), log)
        assert m, f'no "kex: {d}" line in the log:\n{fl.tail(log, 30)}'
        got.append(m.group(1))
    return got


# ---------------------------------------------------------------- ferry -> sshd

@pytest.mark.parametrize('kind', ['text', 'random'])
def test_ferry_c_against_sshd(lab, kind):
    """ferry -C: sshd (DEBUG1) negotiates zlib@openssh.com both ways and
    starts its streams after authentication ("Enabling compression"), the
    data comes back intact, and ferry's report at the end shows the text
    shrank and the random bytes did not (sshd 9.2 reports nothing)."""
    sshd = lab.sshd(log_level='DEBUG1')
    echo = lab.echo()
    t = lab.tunnel('ferry', sshd, [echo.addr], extra=['-C', '-v'])
    echo_through(t.port, DATA[kind])
    log = sshd.log_text()
    assert negotiated(log) == [ZLIB, ZLIB]
    assert 'debug1: Enabling compression at level 6.' in log
    t.proc.stop()
    st = wait_stats(t.proc.stderr, 'ferry -v')
    assert_ratio(st, 'incoming', kind, SIZE)
    assert_ratio(st, 'outgoing', kind, SIZE)


def test_ferry_without_c_sends_uncompressed(lab):
    """Without -C ferry offers none first (as ssh): sshd, which offers
    zlib@openssh.com too, agrees on none; and ferry -C against a server with
    Compression no still works, uncompressed."""
    sshd = lab.sshd(log_level='DEBUG1')
    echo = lab.echo()
    t = lab.tunnel('ferry', sshd, [echo.addr], extra=['-v'])
    echo_through(t.port, DATA['text'][:MiB])
    assert negotiated(sshd.log_text()) == ['none', 'none']
    t.proc.stop()
    assert not STATS_RE.search(t.proc.stderr())

    sshd = lab.sshd(log_level='DEBUG1', config=['Compression no'])
    t = lab.tunnel('ferry', sshd, [echo.addr], extra=['-C'])
    echo_through(t.port, DATA['text'][:MiB])
    assert negotiated(sshd.log_text()) == ['none', 'none']


@pytest.mark.parametrize('who', ['server-limit', 'client-limit'])
def test_ferry_c_rekeys(lab, who):
    """Key exchanges in the middle of a compressed transfer (RekeyLimit
    256K on one side): each NEWKEYS starts both zlib streams afresh on both
    ends, and the data stays intact."""
    config, extra = [], ['-C', '-v']
    if who == 'server-limit':
        config = ['RekeyLimit 256K']
    else:
        extra += ['-o', 'RekeyLimit=256K']
    sshd = lab.sshd(config=config, log_level='DEBUG1')
    echo = lab.echo()
    t = lab.tunnel('ferry', sshd, [echo.addr], extra=extra)
    echo_through(t.port, MIXED)
    assert negotiated(sshd.log_text()) == [ZLIB, ZLIB]
    rekeys = len(SSHD_REKEY_RE.findall(sshd.log_text()))
    assert rekeys >= 8, f'sshd logged only {rekeys} rekeys for 8 MiB at RekeyLimit 256K'
    # a fresh channel after all those key changes
    assert fl.echo_roundtrip(t.port, b'after rekeys') == b'after rekeys'
    assert t.alive()


# ---------------------------------------------------------------- ssh / ferry -> ferryd

@pytest.mark.parametrize('kind', ['text', 'random'])
def test_ssh_c_against_ferryd(lab, ferryd, kind):  # noqa: F811
    """ssh -C against ferryd (Compression yes by default, as sshd): ssh -v
    shows zlib@openssh.com both ways; ferryd's report at the end shows what
    went through zlib."""
    srv = ferryd()
    echo = lab.echo()
    t = fdl.start_local(lab, 'ssh', srv, [echo.addr], extra=['-C', '-v'])
    echo_through(t.port, DATA[kind])
    assert negotiated(t.proc.stderr()) == [ZLIB, ZLIB]
    t.proc.stop()
    st = wait_stats(srv.log_text, 'ferryd')
    assert_ratio(st, 'incoming', kind, SIZE)
    assert_ratio(st, 'outgoing', kind, SIZE)


def test_ferryd_compression_no(lab, ferryd):  # noqa: F811
    """Compression no in ferryd_config: ssh -C gets none."""
    srv = ferryd(config=['Compression no'])
    echo = lab.echo()
    t = fdl.start_local(lab, 'ssh', srv, [echo.addr], extra=['-C', '-v'])
    echo_through(t.port, DATA['text'][:MiB])
    assert negotiated(t.proc.stderr()) == ['none', 'none']


def test_ferryd_max_compressed_sessions(lab, ferryd):  # noqa: F811
    """MaxCompressedSessions 1 bounds the sessions that may compress (each
    holds zlib's state and an inflate store): a client that declines
    compression (ssh without -C) takes no slot, the first ssh -C takes the
    only one, a second ssh -C is offered none and says so in its kex line
    while its data still flows, and once the first ends the slot is free."""
    srv = ferryd(config=['MaxCompressedSessions 1'])
    echo = lab.echo()
    plain = fdl.start_local(lab, 'ssh', srv, [echo.addr], extra=['-v'])
    echo_through(plain.port, DATA['text'][:MiB])
    assert negotiated(plain.proc.stderr()) == ['none', 'none']
    first = fdl.start_local(lab, 'ssh', srv, [echo.addr], extra=['-C', '-v'])
    echo_through(first.port, DATA['text'][:MiB])
    assert negotiated(first.proc.stderr()) == [ZLIB, ZLIB]
    second = fdl.start_local(lab, 'ssh', srv, [echo.addr], extra=['-C', '-v'])
    echo_through(second.port, DATA['text'][:MiB])
    assert negotiated(second.proc.stderr()) == ['none', 'none']
    assert srv.wait_log(r'Compression not offered to 127\.0\.0\.1 port \d+: '
                        r'MaxCompressedSessions \(1\) reached', timeout=10), \
        fl.tail(srv.log_text())
    first.proc.stop()
    deadline = Deadline(20, 'the slot of the first session')
    while True:
        third = fdl.start_local(lab, 'ssh', srv, [echo.addr], extra=['-C', '-v'])
        echo_through(third.port, DATA['text'][:64 * KiB])
        if negotiated(third.proc.stderr()) == [ZLIB, ZLIB]:
            break
        third.proc.stop()
        assert not deadline.expired(), 'the slot was never given back'
        time.sleep(0.2)


@pytest.mark.parametrize('rekey', [False, True], ids=['plain', 'rekey'])
def test_ferry_c_against_ferryd(lab, ferryd, rekey):  # noqa: F811
    """ferry -C against ferryd, text then random bytes through one
    connection (with RekeyLimit 256K in the rekey case); both ends report
    the same streams."""
    srv = ferryd()
    echo = lab.echo()
    extra = ['-C', '-v'] + (['-o', 'RekeyLimit=256K'] if rekey else [])
    t = fdl.start_local(lab, 'ferry', srv, [echo.addr], extra=extra)
    echo_through(t.port, DATA['text'])
    echo_through(t.port, DATA['random'])
    t.proc.stop()
    st = wait_stats(srv.log_text, 'ferryd')
    mine = wait_stats(t.proc.stderr, 'ferry -v')
    assert mine['outgoing'] == st['incoming'], (mine, st)
    assert mine['incoming'] == st['outgoing'], (mine, st)
    raw, wire = st['incoming']
    assert raw >= 2 * SIZE
    assert SIZE < wire < 1.5 * SIZE, f'text + random: {raw} -> {wire}'


# ---------------------------------------------------------------- dropbear

needs_dropbear = pytest.mark.skipif(
    not (shutil.which(rl.DROPBEAR) and shutil.which(rl.DROPBEARKEY)),
    reason='dropbear-bin is not installed')


@pytest.fixture
def root_key(keys):
    import os
    if fl.USER != 'root' and os.geteuid() != 0:
        pytest.skip('dropbear tests write ~/.ssh/authorized_keys of the user running them')
    with rl.authorized_key(keys.user_pub('ed25519')):
        yield


@needs_dropbear
def test_ferry_c_against_dropbear(lab, root_key):
    """dropbear (2022.83) offers zlib@openssh.com: ferry -C uses it; the
    data comes back intact and ferry's report shows the text shrank."""
    d = rl.Dropbear(lab.dir / 'dropbear')
    lab.sshds.append(d)
    kh = d.write_known_hosts(lab.dir / 'known_hosts_dropbear')
    echo = lab.echo()
    t = lab.tunnel('ferry', d, [echo.addr], known_hosts=kh, extra=['-C', '-v'])
    echo_through(t.port, DATA['text'])
    echo_through(t.port, DATA['random'][:MiB])
    t.proc.stop()
    st = wait_stats(t.proc.stderr, 'ferry -v')
    raw, wire = st['incoming']
    assert raw >= SIZE and wire < raw / 2, st
    raw, wire = st['outgoing']
    assert raw >= SIZE and wire < raw / 2, st


@needs_dropbear
def test_dbclient_against_ferryd(lab, ferryd):  # noqa: F811
    """dbclient (2022.83) compresses by default: with ferryd that is
    zlib@openssh.com; 8 MiB of text both ways intact, and ferryd's report
    shows it shrank."""
    srv = ferryd()
    echo = lab.echo()
    t = fdl.start_local(lab, 'dbclient', srv, [echo.addr])
    echo_through(t.port, DATA['text'])
    t.proc.stop()
    st = wait_stats(srv.log_text, 'ferryd')
    assert_ratio(st, 'incoming', 'text', SIZE)
    assert_ratio(st, 'outgoing', 'text', SIZE)
