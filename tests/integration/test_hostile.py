"""ferryd holds up when one of its users is hostile (issue 10).

One ferryd, a hostile user (`mallory`, driven by tests/tools/ferry-hostile)
and a victim (the test's user with a ferry tunnel): whatever mallory does,
ferryd's memory and descriptors stay bounded, its loop never blocks, the
victim's bytes arrive intact (SHA-256) and logs and terminals never see a
peer's raw control characters. Limits are the ferryd keywords
ForwardConnectTimeout, MaxPendingConnects, MaxUserChannels and
MaxForwardConnections and the descriptor reserve.
"""

import os
import re
import shutil
import socket
import threading
import time
from pathlib import Path


import ferrydlab as fdl
import ferrylab as fl
import hostilelab as hl
import netnslab as nl
from ferrylab import Deadline, LOCALHOST, USER, KiB, MiB
from hostilelab import hferryd  # noqa: F401 - fixture

# ferryd's RSS may grow by less than this while one connection floods it
# (ASan's redzones and shadow make the same queues bigger)
OUTPUT_RSS_BOUND = (64 if hl.SANITIZED else 32) * MiB
INPUT_RSS_BOUND = (32 if hl.SANITIZED else 16) * MiB


def victim_tunnel(lab, srv, echo):
    """The victim: a ferry -L tunnel (user USER) to `echo`, checked once."""
    t = fdl.start_local(lab, 'ferry', srv, [echo.addr])
    hl.echo_once(t.port, 64 * KiB, seed=1)
    return t


def settle_fds(srv):
    return hl.settle_fds(srv.pid)


def assert_fds_back(srv, base, what):
    n = hl.wait_fds(srv.pid, base, 5)
    assert n <= base, (f'ferryd holds {n} descriptors 5 s after {what}, '
                       f'{base} before the attack:\n{fl.tail(srv.log_text())}')


# ---------------------------------------------------------------- output and input

def test_exec_flood_output_bounded(lab, hferryd):
    """A client that never reads sends ~1 MB of exec/shell requests on one
    session channel after filling its forwards listing: ferryd answers the
    first with the listing and the rest with failure, so its RSS grows by
    less than 32 MiB (the old ferryd replayed the listing for every request:
    +200 MiB). Then 1.5 M requests (~70 MB, each answered by a failure
    that is never read): ferryd stops reading once its queued output is over
    8 MiB, so the client cannot send them all and RSS again grows by less
    than 32 MiB. The victim's tunnel carries checked data throughout."""
    srv = hferryd()
    echo = lab.echo()
    t = victim_tunnel(lab, srv, echo)
    base_fds = settle_fds(srv)
    victim = hl.Traffic(t.port, 256 * KiB, seed=2)
    try:
        for n, limit in ((20000, 15), (1500000, 8)):
            rss = hl.RssSampler(srv.pid)
            h = hl.run_hostile(lab, srv, 'exec-flood', n, limit=limit, hold=2)
            rss.stop()
            print(f'exec flood of {n}: ferryd {rss.describe()}; {h.first("sent")}')
            assert h.proc.returncode == 0 and h.first('session') is not None, h.describe()
            assert srv.alive(), f'ferryd died:\n{fl.tail(srv.log_text())}'
            assert rss.growth_kib() * KiB < OUTPUT_RSS_BOUND, \
                (f'ferryd grew by {rss.growth_kib() / 1024:.1f} MiB (bound '
                 f'{OUTPUT_RSS_BOUND // MiB} MiB) under a flood of {n} exec requests that '
                 f'never reads: {rss.describe()}\n{h.describe()}')
        assert h.first('sent')['complete'] == '0', \
            ('ferryd read 1.5 M requests whose answers were never read: it does not '
             'stop reading a connection whose output is backed up\n' + h.describe())
    finally:
        victim.stop()
    assert not victim.errors and victim.ok >= 2, \
        f'victim during the flood: {victim.ok} round trips, errors {victim.errors[:5]}'
    assert_fds_back(srv, base_fds, 'the flooding client left')
    hl.echo_once(t.port, 256 * KiB, seed=3)


def _session_exec(c, rid, name, timeout=5):
    """Send a shell/exec request with want_reply; (reply type, data seen)."""
    c.send(bytes([98]) + fdl.ssh_u32(rid) + fdl.ssh_string(name) + b'\x01' +
           (fdl.ssh_string('true') if name == 'exec' else b''))
    data, reply = b'', None
    d = Deadline(timeout, f'reply to {name}')
    while reply is None:
        m = c.recv_msg(d.left())
        if m[0] == 94:
            r = fdl._Reader(m[1:])
            r.u32()
            data += r.string()
        elif m[0] in (99, 100):
            reply = m[0]
    while True:                          # the listing may follow the reply
        m = c.poll_msg(0.5)
        if m is None:
            break
        if m[0] == 94:
            r = fdl._Reader(m[1:])
            r.u32()
            data += r.string()
    return reply, data


def test_second_exec_on_a_channel_gets_failure(lab, hferryd):
    """The first shell/exec request on a session channel gets success and
    the forwards listing; later ones get CHANNEL_FAILURE and no output."""
    srv = hferryd()
    c = fdl.ssh_login(srv, lab.keys)
    try:
        c.send(bytes([90]) + fdl.ssh_string('session') + fdl.ssh_u32(0) +
               fdl.ssh_u32(1 << 20) + fdl.ssh_u32(32768))
        m = c.recv_msg()
        assert m[0] == 91, f'session channel not confirmed (message {m[0]})'
        r = fdl._Reader(m[1:])
        r.u32()
        rid = r.u32()
        reply, data = _session_exec(c, rid, 'exec')
        assert reply == 99 and b'Your forwards' in data, (reply, data)
        for name in ('exec', 'shell', 'exec'):
            reply, data = _session_exec(c, rid, name)
            assert (reply, data) == (100, b''), \
                f'a repeated {name} request got message {reply} and output {data!r}'
    finally:
        c.close()


def test_ignore_holdback_input_bounded(lab, hferryd):
    """128 MiB of IGNORE packets, every write holding back its last byte so
    that ferryd always has a partial packet: its input buffer is compacted
    and capped, RSS grows by less than 16 MiB (the old one kept everything:
    about +128 MiB)."""
    srv = hferryd()
    echo = lab.echo()
    t = victim_tunnel(lab, srv, echo)
    rss = hl.RssSampler(srv.pid)
    h = hl.run_hostile(lab, srv, 'ignore-holdback', 128 * MiB, limit=30, hold=1)
    rss.stop()
    print(f'ignore holdback: ferryd {rss.describe()}')
    sent = h.first('sent')
    assert sent and sent['complete'] == '1', f'the flood did not complete: {h.describe()}'
    assert srv.alive(), f'ferryd died:\n{fl.tail(srv.log_text())}'
    assert rss.growth_kib() * KiB < INPUT_RSS_BOUND, \
        (f'ferryd grew by {rss.growth_kib() / 1024:.1f} MiB (bound '
         f'{INPUT_RSS_BOUND // MiB} MiB) reading 128 MiB with a partial packet always '
         f'pending: {rss.describe()}')
    hl.echo_once(t.port, 256 * KiB, seed=4)


# ---------------------------------------------------------------- limits

def test_limits_in_config_and_T(lab):
    """The four limits are ferryd keywords: -T shows them lowercase with
    their defaults, and the values a config sets."""
    cfg = lab.dir / 'limits_config'
    cfg.write_text(f'HostKey {lab.keys.host["ed25519"]}\n')
    r = fdl.run_ferryd(['-T', '-f', cfg])
    assert r.returncode == 0, (r.returncode, r.stderr)
    lines = set(r.stdout.splitlines())
    for want in ('forwardconnecttimeout 10', 'maxpendingconnects 64',
                 'maxuserchannels 1024', 'maxforwardconnections 256'):
        assert want in lines, f'-T output lacks {want!r}:\n{r.stdout}'
    cfg.write_text(f'HostKey {lab.keys.host["ed25519"]}\nForwardConnectTimeout 3\n'
                   f'MaxPendingConnects 5\nMaxUserChannels 7\nMaxForwardConnections 9\n')
    r = fdl.run_ferryd(['-T', '-f', cfg])
    assert r.returncode == 0, (r.returncode, r.stderr)
    lines = set(r.stdout.splitlines())
    for want in ('forwardconnecttimeout 3', 'maxpendingconnects 5',
                 'maxuserchannels 7', 'maxforwardconnections 9'):
        assert want in lines, f'-T output lacks {want!r}:\n{r.stdout}'


def test_pending_connects_and_connect_timeout(lab, hferryd):
    """With the defaults: 100 direct-tcpip opens to a destination that never
    answers. 64 connects may be in progress for one user (MaxPendingConnects):
    the other 36 wait for them, none is refused at once; the 64 are refused
    after 10 s (ForwardConnectTimeout) with reason 2 "connect timed out",
    then the 36 that took their places after 10 s more. Meanwhile a second
    session of the same user, with no connect of its own to wait for, is
    refused at once (the bound counts the user's connects over all
    sessions); the victim's tunnel carries checked data and a new login
    works; when mallory leaves, ferryd's descriptors are back where they
    were."""
    srv = hferryd()
    echo = lab.echo()
    hole = hl.Blackhole(hang=True)
    lab.sockets.append(hole.listener)
    try:
        t = victim_tunnel(lab, srv, echo)
        base_fds = settle_fds(srv)
        # paced: the echo server takes at most 10,000 connections
        victim = hl.Traffic(t.port, 256 * KiB, seed=5, pause=0.01)
        h = hl.start_hostile(lab, srv, 'open-flood', 100, LOCALHOST, hole.port, limit=40)
        # the flood is sent right after the login; the 64 connects hang
        # for 10 s, the second session comes meanwhile
        assert srv.wait_log(r'Accepted publickey for mallory', 1, 10), fl.tail(srv.log_text())
        time.sleep(1.5)
        other = hl.run_hostile(lab, srv, 'open-flood', 5, LOCALHOST, hole.port, limit=15)
        login = hl.run_hostile(lab, srv, 'login', user=USER, limit=10)
        assert h.wait_exit(50) is not None, 'ferry-hostile still running: ' + h.describe()
        victim.stop()
    finally:
        hole.close()
    res = h.first('result')
    assert res is not None, h.describe()
    refusals = h.refusals()
    print(f'pending connects: {res} {refusals}')
    timed_out = refusals.get((2, 'connect timed out'), 0)
    assert int(res['pending']) == 0, \
        f'opens still unanswered after {res["seconds"]} s: {h.describe()}'
    assert timed_out == 100 and int(res['refused']) == 100, \
        f'expected 100 "connect timed out" refusals, none at once: {h.describe()}'
    assert 19 <= float(res['seconds']) <= 30, \
        f'the waiting connects were refused after {res["seconds"]} s, not ~20: {h.describe()}'
    o = other.first('result')
    assert o is not None and int(o['refused']) == 5, other.describe()
    assert float(o['seconds']) < 5, f'the second session waited: {other.describe()}'
    assert srv.count(r'MaxPendingConnects 64 reached for this user') >= 5, \
        fl.tail(srv.log_text())
    assert srv.count(r'connect timed out') >= 100, fl.tail(srv.log_text())
    assert login.first('authenticated') is not None, \
        'a login during the attack failed: ' + login.describe()
    assert not victim.errors and victim.ok >= 2, \
        f'victim during the attack: {victim.ok} round trips, errors {victim.errors[:5]}'
    assert_fds_back(srv, base_fds, 'the hostile client left')


def test_user_channels_limit_across_sessions(lab, hferryd):
    """MaxUserChannels 40 counts one user's channels over all its sessions:
    30 + 30 opens from two connections give 40 channels and 20 refusals,
    logged with the keyword's name; the victim (another user) still opens
    channels and carries data."""
    srv = hferryd(config=['MaxUserChannels 40'])
    echo = lab.echo()
    hole = hl.Blackhole(hang=False)
    lab.sockets.append(hole.listener)
    try:
        t = victim_tunnel(lab, srv, echo)
        base_fds = settle_fds(srv)
        first = hl.start_hostile(lab, srv, 'open-flood', 30, LOCALHOST, hole.port, limit=15,
                                 hold=30)
        assert first.wait_stdout(r'^holding ', 20), first.describe()
        second = hl.run_hostile(lab, srv, 'open-flood', 30, LOCALHOST, hole.port, limit=15)
        hl.echo_once(t.port, 1 * MiB, seed=6)
        first.stop()
    finally:
        hole.close()
    a, b = first.first('result'), second.first('result')
    assert a and b, first.describe() + second.describe()
    confirmed = int(a['confirmed']) + int(b['confirmed'])
    refused = int(a['refused']) + int(b['refused'])
    assert 30 <= confirmed <= 40 and refused >= 20, \
        f'MaxUserChannels 40: {confirmed} confirmed, {refused} refused\n' + \
        first.describe() + second.describe()
    assert srv.count(r'MaxUserChannels') >= 1, fl.tail(srv.log_text())
    assert_fds_back(srv, base_fds, 'the hostile clients left')


def test_forward_connections_limit(lab, hferryd):
    """MaxForwardConnections 4: four connections through one -R port carry
    data at once; a fifth, sixth and seventh are accepted and closed at
    once (logged with the keyword's name); once the four close, a new one
    works."""
    srv = hferryd(config=['MaxForwardConnections 4'])
    echo = lab.echo()
    t = fdl.start_remote(lab, 'ferry', srv, [echo.addr])
    held = []
    try:
        for i in range(4):
            s = fl.connect(t.port, timeout=10)
            held.append(s)
            s.sendall(b'held %d' % i)
            got = b''
            d = Deadline(10, 'echo through -R')
            while len(got) < len(b'held %d' % i):
                s.settimeout(d.left())
                b = s.recv(100)
                assert b, f'held connection {i} closed by ferryd'
                got += b
            assert got == b'held %d' % i
        for i in range(3):
            s = fl.connect(t.port, timeout=10)
            try:
                try:
                    s.sendall(b'over')
                except (BrokenPipeError, ConnectionResetError):
                    pass
                s.settimeout(5)
                try:
                    b = s.recv(100)
                except ConnectionResetError:
                    b = b''
                except socket.timeout:
                    b = None
                assert b == b'', \
                    (f'connection {5 + i} through the -R port was not closed at once '
                     f'(got {b!r}) with MaxForwardConnections 4')
            finally:
                s.close()
        assert srv.count(r'MaxForwardConnections') >= 1, fl.tail(srv.log_text())
    finally:
        for s in held:
            s.close()
    assert fl.wait_until(lambda: fdl.try_echo(t.port, b'again') == b'again', 5), \
        'no connection through the -R port after the four closed'


def _hold_roundtrip(sock, n, seed):
    """n checked bytes there and back on an open echo connection."""
    data = fl.pattern_bytes(n, fl.stream_start(seed))
    sock.settimeout(20)
    got = bytearray()
    for i in range(0, n, 64 * KiB):
        chunk = data[i:i + 64 * KiB]
        sock.sendall(chunk)
        want = len(got) + len(chunk)
        while len(got) < want:
            b = sock.recv(want - len(got))
            assert b, 'the victim\'s open connection was closed'
            got += b
    assert bytes(got) == data, 'the victim\'s bytes came back changed'


def test_descriptor_reserve(lab, hferryd):
    """ferryd started with RLIMIT_NOFILE 128/256 raises its soft limit to
    256 and keeps max(64, 256/8) descriptors from tunnel sockets: mallory
    opening 400 channels to a destination that accepts gets refusals logged
    as "descriptor reserve"; meanwhile the victim logs in again and its open
    connection carries checked data; when mallory leaves, ferryd's
    descriptors are back where they were."""
    srv = hferryd(nofile=(128, 256))
    echo = lab.echo()
    hole = hl.Blackhole(hang=False)
    lab.sockets.append(hole.listener)
    try:
        t = victim_tunnel(lab, srv, echo)
        held = fl.connect(t.port, timeout=10)
        _hold_roundtrip(held, 64 * KiB, 7)
        base_fds = settle_fds(srv)
        h = hl.start_hostile(lab, srv, 'open-flood', 400, LOCALHOST, hole.port, 32,
                             limit=20, hold=30)
        attacked = h.wait_stdout(r'^holding ', 30)
        t0 = time.monotonic()
        login = hl.run_hostile(lab, srv, 'login', user=USER, limit=10)
        login_s = time.monotonic() - t0
        try:
            _hold_roundtrip(held, 1 * MiB, 8)
            held_ok = None
        except (AssertionError, OSError) as e:
            held_ok = f'{type(e).__name__}: {e}'
        h.stop()
        held.close()
    finally:
        hole.close()
    print(f'descriptor reserve: {h.first("result")} {h.refusals()}; login {login_s:.2f} s; '
          f'ferryd limits {srv.nofile_limits()}, {base_fds} descriptors before')
    assert attacked, 'the flood did not finish: ' + h.describe()
    assert login.first('authenticated') is not None, \
        (f'a login during descriptor exhaustion failed ({login_s:.1f} s): '
         + login.describe() + f'\nferryd log:\n{fl.tail(srv.log_text())}')
    assert held_ok is None, f'victim\'s open connection during the attack: {held_ok}'
    res = h.first('result')
    assert res and int(res['refused']) > 0 and int(res['confirmed']) < 256, h.describe()
    assert srv.count(r'descriptor reserve') >= 1, fl.tail(srv.log_text())
    assert srv.nofile_limits() == (256, 256), \
        f'ferryd did not raise its soft RLIMIT_NOFILE to the hard limit: {srv.nofile_limits()}'
    assert_fds_back(srv, base_fds, 'the hostile client left')
    hl.echo_once(t.port, 256 * KiB, seed=9)


# ---------------------------------------------------------------- blocking DNS

def test_forward_on_a_name_never_blocks_logins(lab):
    """GatewayPorts clientspecified and a tcpip-forward whose bind address
    is a name, with DNS that never answers (ferryd in a network namespace
    whose resolv.conf points at a UDP socket that reads and never replies):
    refused at once ("not an address literal"), and a second login
    meanwhile completes in under 2 s (the old ferryd resolved the name on
    its loop: several seconds for everyone)."""
    name = f'fyh{os.getpid() % 100000}x{int(time.monotonic() * 1000) % 100000}'
    etc = Path('/etc/netns') / name
    ns = udp = srv = None
    try:
        ns = nl.Netns(name)
        ns.ip('link', 'set', 'lo', 'up')
        etc.mkdir(parents=True, exist_ok=True)
        (etc / 'resolv.conf').write_text('nameserver 127.0.0.1\noptions timeout:4 attempts:1\n')

        def mute_dns():
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind((LOCALHOST, 53))
            return s
        udp = nl.in_netns(ns, mute_dns, timeout=10)
        srv = nl.NsFerryd(lab._sub('ferryd'), lab.keys, ns, LOCALHOST,
                          config=['GatewayPorts clientspecified'])
        lab.sshds.append(srv)
        qname = 'unanswered-name.example'
        resolve = {}

        def getent():
            t0 = time.monotonic()
            ns.run(['getent', 'ahosts', qname], check=False, timeout=20)
            resolve['s'] = time.monotonic() - t0
        fwd = hl.start_hostile(lab, srv, 'forward', qname, 0, user=USER, limit=15,
                               wrap=ns.exec_argv)
        assert fwd.wait_stdout(r'^authenticated ', 10), fwd.describe()
        gt = threading.Thread(target=getent, daemon=True)
        gt.start()
        time.sleep(0.3)
        t0 = time.monotonic()
        login = hl.run_hostile(lab, srv, 'login', user=USER, limit=15, wrap=ns.exec_argv)
        login_s = time.monotonic() - t0
        assert fwd.wait_exit(20) is not None, fwd.describe()
        gt.join(25)
        assert resolve.get('s', 0) >= 3, \
            f'harness: the name resolved in {resolve.get("s")} s: DNS is not mute'
        a = login.first('authenticated')
        assert a is not None, login.describe()
        assert login_s < 2.0 and float(a['seconds']) < 2.0, \
            (f'a login took {login_s:.2f} s (tool: {a["seconds"]} s) while a forward on '
             f'a name was being resolved:\n{fl.tail(srv.log_text())}')
        rep = fwd.first('forward')
        assert rep and rep['reply'] == 'failure' and float(rep['seconds']) < 1.0, \
            fwd.describe()
        assert 'not an address literal' in srv.log_text() + fwd.stdout(), \
            fwd.describe() + fl.tail(srv.log_text())
    finally:
        for c in lab.clients:
            c.stop()
        if srv is not None:
            srv.close()
        if udp is not None:
            udp.close()
        if ns is not None:
            ns.kill_all()
            ns.delete()
        shutil.rmtree(etc, ignore_errors=True)


# ---------------------------------------------------------------- peer strings

def test_log_escapes_user_name(lab, hferryd):
    """A user name with a newline and a fake log line, an escape sequence
    and an invalid UTF-8 byte: no ferryd log line starts with the fake
    text; the name appears escaped (\\n, \\x1b, \\xff)."""
    srv = hferryd()
    raw = b'bob\nFAKE Accepted publickey for root\x1b[31m\xff'
    h = hl.run_hostile(lab, srv, 'user', os.fsdecode(raw), limit=10)
    assert h.first('auth') is not None, h.describe()
    assert srv.wait_log(r'bob', timeout=5), fl.tail(srv.log_text())
    log = srv.log_path.read_bytes()
    fake = [ln for ln in log.split(b'\n') if ln.startswith(b'FAKE')]
    assert not fake, f'a peer forged a log line: {fake!r}'
    assert b'\x1b' not in log and b'\xff' not in log, 'raw control bytes in the log'
    assert b'bob\\nFAKE Accepted publickey for root\\x1b[31m\\xff' in log, \
        f'the escaped user name is not in the log:\n{fl.tail(srv.log_text())}'


def test_banner_control_characters_escaped(lab):
    """ferry shows an sshd Banner with its lines and tabs but every other
    control character escaped: no ESC or BEL reaches the terminal."""
    banner = lab.dir / 'banner'
    banner.write_bytes(b'Welcome\x1b]0;pwned\x07 here\n\tindented\x1b[2J line\n'
                       b'bell\x07 c1\xc2\x9b bad\xff end\n')
    sshd = lab.sshd(config=[f'Banner {banner}'])
    echo = lab.echo()
    t = lab.tunnel('ferry', sshd, [echo.addr])
    assert t.proc.wait_for(re.escape(r'\x1b[2J'), timeout=5), t.proc.stderr()
    with t.proc.cond:
        err = bytes(t.proc._err.data)
    for bad in (b'\x1b', b'\x07', b'\xc2\x9b', b'\xff'):
        assert bad not in err, f'ferry printed the raw byte(s) {bad!r}:\n{err!r}'
    text = err.decode()
    assert r'Welcome\x1b]0;pwned\x07 here' in text, text
    assert '\n\tindented\\x1b[2J line\n' in text, text


def test_strict_kex_ignore_in_first_exchange(lab, hferryd):
    """kex-strict-c-v00@openssh.com offered, then IGNORE after KEXINIT in
    the first key exchange: ferryd disconnects and logs "strict KEX"."""
    srv = hferryd()
    c = fdl.RawSsh(srv.port)
    try:
        c.read_version()
        c.send_version()
        c.send_packet(fdl.kexinit_payload())
        c.send_packet(bytes([2]) + fdl.ssh_string(b'hello'))
        _, state = c.read_until_closed(5)
    finally:
        c.close()
    assert state in ('eof', 'reset'), 'ferryd kept the connection after an IGNORE in strict KEX'
    assert srv.wait_log(r'strict KEX', timeout=5), fl.tail(srv.log_text())


class _FakeServer:
    """One connection: our version line, then cleartext DEBUG and DISCONNECT
    packets carrying control characters (allowed before the first KEXINIT
    is answered: generic messages)."""

    def __init__(self, debug, reason):
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.bind((LOCALHOST, 0))
        self.listener.listen(4)
        self.port = self.listener.getsockname()[1]
        self.debug, self.reason = debug, reason
        self.t = threading.Thread(target=self._serve, daemon=True)
        self.t.start()

    def _serve(self):
        self.listener.settimeout(30)
        try:
            conn, _ = self.listener.accept()
        except OSError:
            return
        with conn:
            conn.settimeout(10)
            try:
                conn.sendall(b'SSH-2.0-fake_1.0\r\n')
                conn.sendall(fdl.cleartext_packet(bytes([4, 1]) + fdl.ssh_string(self.debug) +
                                                  fdl.ssh_string(b'')))
                conn.sendall(fdl.cleartext_packet(bytes([1]) + fdl.ssh_u32(11) +
                                                  fdl.ssh_string(self.reason) +
                                                  fdl.ssh_string(b'')))
                d = Deadline(10)
                while not d.expired() and conn.recv(4096):
                    pass
            except OSError:
                pass

    def close(self):
        self.listener.close()
        self.t.join(5)


def test_ferry_escapes_debug_and_disconnect_reason(lab):
    """A server's DEBUG text and DISCONNECT reason with escape sequences,
    BEL and a newline followed by a fake line: ferry -v prints both
    escaped, never a raw ESC/BEL nor a line starting with the fake text."""
    fake = _FakeServer(b'dbg\x1b[31m\x07\nFAKE debug line', b'bye\x1b]0;x\x07\nFAKE reason line')
    try:
        kh = lab.dir / 'known_hosts_empty'
        kh.write_text('')
        cp = lab.run('ferry', fake, known_hosts=kh, extra=['-v'], timeout=20)
    finally:
        fake.close()
    with cp.cond:
        err = bytes(cp._err.data)
    for bad in (b'\x1b', b'\x07'):
        assert bad not in err, f'ferry printed the raw byte {bad!r}:\n{err!r}'
    fakes = [ln for ln in err.split(b'\n') if ln.lstrip().startswith(b'FAKE')]
    assert not fakes, f'a server forged a line in ferry\'s output: {fakes!r}\n{err!r}'
    text = err.decode(errors='replace')
    assert r'dbg\x1b[31m\x07\nFAKE debug line' in text, text
    assert r'bye\x1b]0;x\x07\nFAKE reason line' in text, text
