"""ferry and ferryd against independent SSH stacks (issue 17).

The peers are Debian packages started by the tests (peerlab.py): asyncssh
as a server ferry connects to and as a client of ferryd, paramiko likewise
(its server for the late-message case), PuTTY's plink and a small libssh
client (compiled here by cc) as clients of ferryd. Everything is on
127.0.0.1 with kernel-chosen ports; payloads are checked by count and
SHA-256 (ferrylab's pattern).

  ciphers     every cipher ferry negotiates, each peer where it has it
              (paramiko: the aes-ctr ones; plink: aes = aes256-ctr,
              chacha20, aesgcm = aes128-gcm)
  keys        ed25519, ecdsa-p256 and rsa host keys and user keys
  forwards    -L (direct-tcpip), -R with port 0 and with a bound port, -D /
              SOCKS, half-close sizes with exact EOF
  rekeying    started by the peer during a transfer (asyncssh rekey_bytes,
              paramiko's threshold, plink RekeyBytes, libssh REKEY_DATA) and
              by ferry (-o RekeyLimit); asyncssh keeps sending channel data
              after its own KEXINIT, which used to end the connection
              ("unexpected message type 94") in both roles
  late msgs   WINDOW_ADJUST, DATA, EOF and a request for a channel whose
              CLOSE exchange is over (paramiko, raw), which used to end the
              connection ("message 93 for unknown channel") in both roles;
              a message for a channel that never existed still ends it
  port 0      asyncssh's server names port 0 in forwarded-tcpip for a -R 0
              forward; ferry matches it to the only port-0 forward of that
              address (README "Other SSH stacks")
"""

import hashlib
import re

import pytest

import ferrylab as fl
import ferrydlab as fdl
import peerlab as pl
import remotelab as rl
import sockslab as sl
from ferrydlab import ferryd  # noqa: F401 - fixture
from ferrylab import KiB, LOCALHOST, MiB

BULK = 4 * MiB
SMALL = 256 * KiB
REKEY_BULK = 8 * MiB
REKEY_LIMIT = 256 * KiB
HALF_CLOSE_SIZES = [0, 1, 2 * MiB + 1]


@pytest.fixture(scope='module', autouse=True)
def peers_installed():
    pl.require_packages()


@pytest.fixture(scope='module')
def libssh_bin(tmp_path_factory):
    return pl.libssh_binary(tmp_path_factory.mktemp('libssh'))


def echo_ok(port, n, start, host=LOCALHOST, seconds=60):
    count, digest = rl.echo_exchange(port, n, start=start, seconds=seconds, host=host)
    assert count == n, f'got {count} of {n} bytes back before EOF'
    assert digest == fl.pattern_sha256(n, start), 'payload corrupted (SHA-256 differs)'


def kex_count(text, what='Completed key exchange'):
    return text.count(what)


def ferry_ok(cp):
    assert cp.alive(), f'ferry exited ({cp.proc.poll()}):\n{cp.stderr()}'
    assert 'unknown channel' not in cp.stderr() and 'unexpected message' not in cp.stderr()


def ferryd_ok(srv):
    assert srv.alive(), f'ferryd exited:\n{fl.tail(srv.log_text())}'
    bad = re.findall(r'^.*(?:unknown channel|unexpected message).*$', srv.log_text(), re.M)
    assert not bad, bad


# ================================================================ ferry -> asyncssh server

@pytest.mark.parametrize('cipher', pl.FERRY_CIPHERS)
def test_asyncssh_server_cipher(lab, cipher):
    """ferry -c CIPHER -L through an asyncssh server: 4 MiB each way; both
    ends name the cipher."""
    echo = lab.echo()
    srv = pl.asyncssh_server(lab, cipher=cipher)
    cp, [port] = pl.ferry_local(lab, srv, [echo.addr], cipher=cipher)
    echo_ok(port, BULK, 11)
    assert pl.ferry_cipher(cp) == ('SSH-2.0-AsyncSSH_2.10.1', cipher)
    assert srv.proc.wait_out(rf'^AUTH \S+ {re.escape(cipher)}$'), srv.log_text()
    ferry_ok(cp)


@pytest.mark.parametrize('key', pl.KEY_TYPES)
def test_asyncssh_server_host_key(lab, key):
    """asyncssh with an ed25519 / ecdsa-p256 / rsa host key, pinned in
    ferry's known_hosts (StrictHostKeyChecking=yes)."""
    echo = lab.echo()
    srv = pl.asyncssh_server(lab, host_key=key)
    cp, [port] = pl.ferry_local(lab, srv, [echo.addr])
    echo_ok(port, SMALL, 13)
    want = {'ed25519': 'ED25519', 'ecdsa': 'ECDSA', 'rsa': 'RSA'}[key]   # ssh's words
    assert f'matches the {want} host key' in cp.stderr(), cp.stderr()
    ferry_ok(cp)


@pytest.mark.parametrize('key', pl.KEY_TYPES)
def test_asyncssh_server_user_key(lab, key):
    """ferry -i with an ed25519 / ecdsa-p256 / rsa user key."""
    echo = lab.echo()
    srv = pl.asyncssh_server(lab)
    cp, [port] = pl.ferry_local(lab, srv, [echo.addr], identity=key)
    echo_ok(port, SMALL, 17)
    assert srv.proc.wait_out(r'^AUTH '), srv.log_text()
    ferry_ok(cp)


@pytest.mark.parametrize('bound', [False, True], ids=['port0', 'bound'])
def test_asyncssh_server_remote(lab, bound):
    """ferry -R against asyncssh. With port 0 asyncssh 2.10 opens
    forwarded-tcpip naming port 0 (not the port it allocated): ferry matches
    it to its only port-0 forward of that address."""
    echo = lab.echo()
    srv = pl.asyncssh_server(lab)
    lport = fl.pick_free_port() if bound else 0
    cp = pl.ferry_client(lab, srv, remote=[f'{LOCALHOST}:{lport}:{LOCALHOST}:{echo.port}'])
    if bound:
        assert cp.wait_for(r'remote forward .*listening on the server\'s port'), cp.stderr()
        port = lport
    else:
        [port] = rl.wait_allocated(cp, [echo.addr], server_log=srv.log_text)
    assert fl.wait_until(lambda: fl.listens_on(srv.proc.pid, port), 10), \
        f'asyncssh does not listen on {port}:\n{srv.log_text()}'
    echo_ok(port, BULK, 19)
    echo_ok(port, SMALL, 20)
    assert echo.accepted == 2
    assert 'no such forward' not in cp.stderr()
    ferry_ok(cp)


def test_asyncssh_server_remote_port0_by_address(lab):
    """Two -R port-0 forwards on different addresses (127.0.0.1 and
    127.0.0.2): each forwarded-tcpip naming port 0 goes to the forward of
    its own address."""
    echos = [lab.echo(), lab.echo()]
    srv = pl.asyncssh_server(lab)
    binds = [LOCALHOST, '127.0.0.2']
    cp = pl.ferry_client(lab, srv, remote=[f'{b}:0:{LOCALHOST}:{e.port}'
                                           for b, e in zip(binds, echos)])
    ports = rl.wait_allocated(cp, [e.addr for e in echos], server_log=srv.log_text)
    for i, (b, p) in enumerate(zip(binds, ports)):
        assert fl.wait_until(lambda: fl.listens_on(srv.proc.pid, p), 10), srv.log_text()
        echo_ok(p, SMALL, 23 + i, host=b)
        assert echos[i].accepted == 1, f'forward {i} ({b}) reached the wrong target'
    ferry_ok(cp)


def test_asyncssh_server_remote_port0_ambiguous(lab):
    """Two -R port-0 forwards on the same address: a forwarded-tcpip naming
    port 0 could be either, so ferry refuses it (no guessing) and stays up."""
    echos = [lab.echo(), lab.echo()]
    srv = pl.asyncssh_server(lab)
    cp = pl.ferry_client(lab, srv, remote=[f'{LOCALHOST}:0:{LOCALHOST}:{e.port}'
                                           for e in echos])
    ports = rl.wait_allocated(cp, [e.addr for e in echos], server_log=srv.log_text)
    for p in ports:
        assert fl.wait_until(lambda: fl.listens_on(srv.proc.pid, p), 10), srv.log_text()
        try:
            count, _ = rl.echo_exchange(p, SMALL, 25)
        except (ConnectionResetError, BrokenPipeError):
            count = 0                    # asyncssh resets a refused one
        assert count == 0, f'{count} bytes came back through an ambiguous forward'
    assert cp.wait_for(r'refused a forwarded-tcpip channel for 127\.0\.0\.1 port 0',
                       count=2, timeout=10), cp.stderr()
    assert [e.accepted for e in echos] == [0, 0]
    ferry_ok(cp)


def test_asyncssh_server_socks(lab):
    """ferry -D (SOCKS5) through asyncssh's direct-tcpip: 4 MiB each way."""
    echo = lab.echo()
    srv = pl.asyncssh_server(lab)
    dyn = sl.start_dynamic(lab, 'ferry', srv)
    s = sl.connect(dyn.port, '5', LOCALHOST, echo.port)
    try:
        count, digest = fl.exchange(s, BULK, 29, fl.Deadline(60, 'SOCKS exchange'))
    finally:
        s.close()
    assert (count, digest) == (BULK, fl.pattern_sha256(BULK, 29))
    assert dyn.alive()


@pytest.mark.parametrize('n', HALF_CLOSE_SIZES)
@pytest.mark.parametrize('fwd', ['L', 'R'])
def test_asyncssh_server_half_close(lab, fwd, n):
    """n bytes then SHUT_WR through ferry and asyncssh to an echo server:
    all n come back before EOF."""
    echo = lab.echo()
    srv = pl.asyncssh_server(lab)
    if fwd == 'L':
        cp, [port] = pl.ferry_local(lab, srv, [echo.addr])
    else:
        cp = pl.ferry_client(lab, srv, remote=[f'{LOCALHOST}:0:{LOCALHOST}:{echo.port}'])
        [port] = rl.wait_allocated(cp, [echo.addr], server_log=srv.log_text)
        assert fl.wait_until(lambda: fl.listens_on(srv.proc.pid, port), 10)
    echo_ok(port, n, n + 31)
    ferry_ok(cp)


@pytest.mark.parametrize('by', ['peer', 'ferry'])
def test_asyncssh_server_rekey(lab, by):
    """8 MiB each way through -L while asyncssh (rekey_bytes 256 KiB) or
    ferry (-o RekeyLimit=256K) re-keys over and over. asyncssh keeps
    sending channel data after its own KEXINIT; ferry must take it."""
    echo = lab.echo()
    srv = pl.asyncssh_server(lab, rekey_bytes=REKEY_LIMIT if by == 'peer' else None)
    opts = {'RekeyLimit': '256K'} if by == 'ferry' else None
    cp, [port] = pl.ferry_local(lab, srv, [echo.addr], options=opts)
    echo_ok(port, REKEY_BULK, 37)
    ferry_ok(cp)
    log = srv.proc.stderr()
    assert kex_count(log) >= 4, f'only {kex_count(log)} key exchanges'
    # by ferry: asyncssh's own limit is 1 GB, so every re-exchange was ferry's
    assert not srv.errors(), srv.errors()


# ================================================================ ferry -> paramiko server

def test_paramiko_server_late_messages(lab):
    """A paramiko server sends WINDOW_ADJUST, DATA, EOF and a request for a
    channel after the CLOSE exchange (as the ssh2 server does with
    WINDOW_ADJUST): ferry drops them, keeps the connection and the next
    channel works."""
    echo = lab.echo()
    srv = pl.paramiko_server(lab, late=True)
    cp, [port] = pl.ferry_local(lab, srv, [echo.addr])
    echo_ok(port, MiB, 41)
    srv.proc.expect(r'^LATE \d+$', 'late messages after the first channel')
    echo_ok(port, MiB, 42)
    srv.proc.expect(r'^LATE \d+$', 'late messages after the second channel', count=2)
    echo_ok(port, SMALL, 43)
    ferry_ok(cp)
    assert echo.accepted == 3


@pytest.mark.parametrize('cipher', ['aes128-ctr', 'aes256-ctr'])
def test_paramiko_server_cipher(lab, cipher):
    """ferry -c aes*-ctr -L through a paramiko server (paramiko has neither
    chacha20-poly1305 nor AES-GCM): 2 MiB each way."""
    echo = lab.echo()
    srv = pl.paramiko_server(lab)
    cp, [port] = pl.ferry_local(lab, srv, [echo.addr], cipher=cipher)
    echo_ok(port, 2 * MiB, 47)
    assert pl.ferry_cipher(cp)[1] == cipher
    ferry_ok(cp)


# ================================================================ asyncssh client -> ferryd

@pytest.mark.parametrize('cipher', pl.FERRY_CIPHERS)
def test_asyncssh_client_cipher(lab, ferryd, cipher):
    """asyncssh -L through ferryd with each cipher: 4 MiB each way."""
    echo = lab.echo()
    srv = ferryd()
    c = pl.asyncssh_client(lab, srv, cipher=cipher, local=[echo.addr])
    assert c.cipher == (cipher, cipher)
    echo_ok(c.local[0], BULK, 53)
    assert c.alive() and not c.lost()
    ferryd_ok(srv)


@pytest.mark.parametrize('key', pl.KEY_TYPES)
def test_asyncssh_client_host_key(lab, ferryd, key):
    """ferryd with an ed25519 / ecdsa-p256 / rsa host key; asyncssh trusts
    only that key."""
    echo = lab.echo()
    srv = ferryd(host_key=key)
    c = pl.asyncssh_client(lab, srv, local=[echo.addr])
    echo_ok(c.local[0], SMALL, 59)
    ferryd_ok(srv)


@pytest.mark.parametrize('key', pl.KEY_TYPES)
def test_asyncssh_client_user_key(lab, ferryd, key):
    """asyncssh logs in to ferryd with an ed25519 / ecdsa-p256 / rsa key."""
    echo = lab.echo()
    srv = ferryd()
    c = pl.asyncssh_client(lab, srv, identity=key, local=[echo.addr])
    echo_ok(c.local[0], SMALL, 61)
    m = srv.wait_log(fdl.ACCEPTED_RE)
    assert m and m[0].group(5) == fdl.fingerprint_of(lab.keys.user[key])
    ferryd_ok(srv)


@pytest.mark.parametrize('bound', [False, True], ids=['port0', 'bound'])
def test_asyncssh_client_remote(lab, ferryd, bound):
    """asyncssh forward_remote_port through ferryd, port 0 (ferryd allocates
    and says which) and a bound port: 4 MiB each way."""
    echo = lab.echo()
    srv = ferryd()
    lport = fl.pick_free_port() if bound else 0
    c = pl.asyncssh_client(lab, srv, remote=[(LOCALHOST, lport, LOCALHOST, echo.port)])
    port = c.remote[0]
    assert port != 0 and (not bound or port == lport)
    assert any(p == port for _, p in srv.listens()), srv.listens()
    echo_ok(port, BULK, 67)
    assert c.alive() and not c.lost()
    ferryd_ok(srv)


def test_asyncssh_client_socks(lab, ferryd):
    """asyncssh's SOCKS listener opening direct-tcpip channels on ferryd."""
    echo = lab.echo()
    srv = ferryd()
    c = pl.asyncssh_client(lab, srv, socks=True)
    s = sl.connect(c.socks, '5', LOCALHOST, echo.port)
    try:
        count, digest = fl.exchange(s, BULK, 71, fl.Deadline(60, 'SOCKS exchange'))
    finally:
        s.close()
    assert (count, digest) == (BULK, fl.pattern_sha256(BULK, 71))
    ferryd_ok(srv)


@pytest.mark.parametrize('n', HALF_CLOSE_SIZES)
@pytest.mark.parametrize('fwd', ['L', 'R'])
def test_asyncssh_client_half_close(lab, ferryd, fwd, n):
    echo = lab.echo()
    srv = ferryd()
    if fwd == 'L':
        c = pl.asyncssh_client(lab, srv, local=[echo.addr])
        port = c.local[0]
    else:
        c = pl.asyncssh_client(lab, srv, remote=[(LOCALHOST, 0, LOCALHOST, echo.port)])
        port = c.remote[0]
    echo_ok(port, n, n + 73)
    ferryd_ok(srv)


@pytest.mark.parametrize('fwd', ['L', 'R'])
def test_asyncssh_client_rekey(lab, ferryd, fwd):
    """asyncssh (rekey_bytes 256 KiB) re-keys over and over during 8 MiB
    each way through ferryd, sending channel data after its own KEXINIT;
    ferryd (which has no rekey limit of its own) must take it."""
    echo = lab.echo()
    srv = ferryd()
    if fwd == 'L':
        c = pl.asyncssh_client(lab, srv, rekey_bytes=REKEY_LIMIT, local=[echo.addr])
        port = c.local[0]
    else:
        c = pl.asyncssh_client(lab, srv, rekey_bytes=REKEY_LIMIT,
                               remote=[(LOCALHOST, 0, LOCALHOST, echo.port)])
        port = c.remote[0]
    echo_ok(port, REKEY_BULK, 79)
    log = c.proc.stderr()
    assert kex_count(log, 'Requesting key exchange') >= 5, \
        f'asyncssh started only {kex_count(log, "Requesting key exchange")} exchanges'
    # the last exchange may still be finishing when the data is back
    assert c.proc.wait_for('Completed key exchange', 5, 10) is not None, \
        f'asyncssh completed only {kex_count(c.proc.stderr())} exchanges'
    assert c.alive() and not c.lost(), c.lost()
    ferryd_ok(srv)


# ================================================================ paramiko client -> ferryd

def test_paramiko_client_late_messages(lab, ferryd):
    """paramiko sends WINDOW_ADJUST, DATA, EOF and a request for a channel
    whose CLOSE exchange is over: ferryd drops them and the next channel
    works; a WINDOW_ADJUST for a channel that never existed still ends the
    connection (protocol error)."""
    echo = lab.echo()
    srv = ferryd()
    cp = pl.paramiko_late(lab, srv, echo.addr)
    cp.expect(r'^UNKNOWN \w+$', 'the late-message run', timeout=40, server=srv)
    out = cp.stdout()
    assert re.search(r'^FIRST ok$', out, re.M), out
    assert re.search(r'^LATE \d+$', out, re.M), out
    assert re.search(r'^SECOND ok$', out, re.M), f'{out}\nferryd:\n{fl.tail(srv.log_text())}'
    assert re.search(r'^UNKNOWN closed$', out, re.M), \
        f'ferryd kept a connection that named a channel it never had:\n{out}'
    assert srv.alive()
    assert echo.accepted == 2


@pytest.mark.parametrize('cipher', ['aes128-ctr', 'aes256-ctr'])
def test_paramiko_client_forwards(lab, ferryd, cipher):
    """paramiko -L and -R 0 through ferryd with each cipher both have:
    2 MiB each way on each."""
    echo = lab.echo()
    srv = ferryd()
    c = pl.paramiko_client(lab, srv, cipher=cipher, local=[echo.addr],
                           remote=[(LOCALHOST, 0, LOCALHOST, echo.port)])
    assert c.cipher == (cipher, cipher)
    assert any(p == c.remote[0] for _, p in srv.listens())
    echo_ok(c.local[0], 2 * MiB, 83)
    echo_ok(c.remote[0], 2 * MiB, 84)
    assert c.alive() and not c.lost()
    ferryd_ok(srv)


def test_paramiko_client_rekey(lab, ferryd):
    """paramiko re-keys every 256 KiB during 4 MiB each way through ferryd."""
    echo = lab.echo()
    srv = ferryd()
    c = pl.paramiko_client(lab, srv, rekey_bytes=REKEY_LIMIT, local=[echo.addr])
    echo_ok(c.local[0], BULK, 89)
    n = c.proc.stderr().count('Rekeying (hit')
    assert n >= 4, f'paramiko re-keyed {n} times'
    assert c.alive() and not c.lost()
    ferryd_ok(srv)


# ================================================================ plink -> ferryd

PLINK_CIPHERS = {'aes': 'AES-256 SDCTR', 'chacha20': 'ChaCha20',
                 'aesgcm': 'AES-128 GCM'}


@pytest.mark.parametrize('cipher', list(PLINK_CIPHERS))
def test_plink_forwards(lab, ferryd, cipher):
    """plink -N -L and -R (bound ports; plink has no -R 0) through ferryd
    with its cipher preference set to aes (aes256-ctr), chacha20 or aesgcm
    (aes128-gcm, plink's first GCM choice): 2 MiB each way on each."""
    echo = lab.echo()
    srv = ferryd()
    sess = pl.plink_session(lab, f'c-{cipher}',
                            {'Cipher': f'{cipher},aes,chacha20,aesgcm,WARN'})
    cp, [lp], [rp] = pl.start_plink(lab, srv, [echo.addr], [echo.addr], session=sess)
    echo_ok(lp, 2 * MiB, 97)
    echo_ok(rp, 2 * MiB, 98)
    got = pl.PLINK_CIPHER_RE.findall(cp.stderr())
    assert got and all(PLINK_CIPHERS[cipher] in g for g in got), (got, cp.stderr())
    assert cp.alive(), cp.output()
    ferryd_ok(srv)


@pytest.mark.parametrize('key', pl.KEY_TYPES)
def test_plink_user_key(lab, ferryd, key):
    """plink with a puttygen-converted ed25519 / ecdsa-p256 / rsa user key."""
    echo = lab.echo()
    srv = ferryd()
    cp, [lp], _ = pl.start_plink(lab, srv, [echo.addr], identity=key)
    echo_ok(lp, SMALL, 101)
    m = srv.wait_log(fdl.ACCEPTED_RE)
    assert m and m[0].group(5) == fdl.fingerprint_of(lab.keys.user[key])
    ferryd_ok(srv)


@pytest.mark.parametrize('key', pl.KEY_TYPES)
def test_plink_host_key(lab, ferryd, key):
    """ferryd's ed25519 / ecdsa-p256 / rsa host key pinned by plink -hostkey."""
    echo = lab.echo()
    srv = ferryd(host_key=key)
    cp, [lp], _ = pl.start_plink(lab, srv, [echo.addr])
    echo_ok(lp, SMALL, 103)
    ferryd_ok(srv)


def test_plink_rekey(lab, ferryd):
    """plink with RekeyBytes 256K re-keys during 8 MiB each way."""
    echo = lab.echo()
    srv = ferryd()
    sess = pl.plink_session(lab, 'rekey', {'RekeyBytes': '256K'})
    cp, [lp], _ = pl.start_plink(lab, srv, [echo.addr], session=sess)
    echo_ok(lp, REKEY_BULK, 107)
    n = len(re.findall(r'Initiating key re-exchange', cp.stderr()))
    assert n >= 4, f'plink re-keyed {n} times:\n{fl.tail(cp.stderr())}'
    assert cp.alive()
    ferryd_ok(srv)


@pytest.mark.parametrize('n', HALF_CLOSE_SIZES)
def test_plink_half_close(lab, ferryd, n):
    echo = lab.echo()
    srv = ferryd()
    cp, [lp], _ = pl.start_plink(lab, srv, [echo.addr])
    echo_ok(lp, n, n + 109)
    ferryd_ok(srv)


# ================================================================ libssh -> ferryd

def run_libssh_local(lab, binary, srv, target, n, start, **kw):
    cp = pl.start_peer(lab, 'libssh', pl.libssh_argv(binary, lab, srv,
                                                      ['L', target[0], target[1]], **kw),
                       'libssh-client')
    err = pl.feed_and_collect(cp, n, start)
    rc = cp.wait_exit(20)
    data = bytes(cp._out.data)
    assert rc == 0, f'libssh client exit {rc} ({err}):\n{cp.stderr()}\nferryd:\n' \
                    f'{fl.tail(srv.log_text())}'
    assert len(data) == n, f'got {len(data)} of {n} bytes back'
    assert hashlib.sha256(data).hexdigest() == fl.pattern_sha256(n, start)
    assert re.search(rf'^DONE {n} {n}$', cp.stderr(), re.M), cp.stderr()
    return cp


@pytest.mark.parametrize('cipher', pl.FERRY_CIPHERS)
def test_libssh_local(lab, ferryd, libssh_bin, cipher):
    """libssh direct-tcpip (ssh_channel_open_forward) through ferryd with
    each cipher: 4 MiB each way, EOF sent after the last byte and received
    after the last echoed one."""
    echo = lab.echo()
    srv = ferryd()
    cp = run_libssh_local(lab, libssh_bin, srv, echo.addr, BULK, 113, cipher=cipher)
    assert re.search(rf'^CIPHER {re.escape(cipher)} {re.escape(cipher)}$', cp.stderr(),
                     re.M), cp.stderr()
    ferryd_ok(srv)


def test_libssh_remote(lab, ferryd, libssh_bin):
    """libssh tcpip-forward port 0 (ssh_channel_listen_forward): ferryd
    allocates the port, a connection to it reaches the echo server through
    the forwarded-tcpip channel libssh accepts; 4 MiB each way; then
    cancel-tcpip-forward closes the port."""
    echo = lab.echo()
    srv = ferryd()
    cp = pl.start_peer(lab, 'libssh', pl.libssh_argv(libssh_bin, lab, srv,
                                                      ['R', echo.port]), 'libssh-client')
    m = cp.wait_for(r'^REMOTE (\d+)$')
    assert m, f'libssh: no REMOTE line (exit {cp.proc.poll()}):\n{cp.stderr()}'
    port = int(m[0].group(1))
    assert port != 0 and any(p == port for _, p in srv.listens())
    echo_ok(port, BULK, 127)
    assert cp.wait_exit(20) == 0, cp.stderr()
    assert re.search(rf'^DONE {BULK} {BULK}$', cp.stderr(), re.M), cp.stderr()
    assert fdl.port_closed_within(port, 10), f'ferryd still listens on {port}'
    ferryd_ok(srv)


@pytest.mark.parametrize('key', pl.KEY_TYPES)
def test_libssh_host_key(lab, ferryd, libssh_bin, key):
    """ferryd's ed25519 / ecdsa-p256 / rsa host key, checked by libssh
    against its SHA256 fingerprint (host key algorithms restricted to it)."""
    algs = {'ed25519': 'ssh-ed25519', 'ecdsa': 'ecdsa-sha2-nistp256',
            'rsa': 'rsa-sha2-512,rsa-sha2-256'}[key]
    echo = lab.echo()
    srv = ferryd(host_key=key)
    run_libssh_local(lab, libssh_bin, srv, echo.addr, SMALL, 131, hostkeys=algs)
    ferryd_ok(srv)


@pytest.mark.parametrize('key', pl.KEY_TYPES)
def test_libssh_user_key(lab, ferryd, libssh_bin, key):
    echo = lab.echo()
    srv = ferryd()
    run_libssh_local(lab, libssh_bin, srv, echo.addr, SMALL, 137, identity=key)
    m = srv.wait_log(fdl.ACCEPTED_RE)
    assert m and m[0].group(5) == fdl.fingerprint_of(lab.keys.user[key])
    ferryd_ok(srv)


def test_libssh_rekey(lab, ferryd, libssh_bin):
    """libssh with REKEY_DATA 256 KiB re-keys during 8 MiB each way."""
    echo = lab.echo()
    srv = ferryd()
    cp = run_libssh_local(lab, libssh_bin, srv, echo.addr, REKEY_BULK, 139,
                          rekey=REKEY_LIMIT, verbose=3)
    n = cp.stderr().count('SSH_MSG_KEXINIT sent')
    assert n >= 5, f'libssh sent {n} KEXINITs (1 is the first exchange)'
    ferryd_ok(srv)
