"""ferry up: many hosts in one supervised process, the control socket, SIGHUP
reload, metrics and systemd readiness.

The contract (src/client/main.c, supervisor.c, status.c):

- `ferry up -F FILE [-S CTL] [host...]` runs every literal Host block of FILE
  that has a forward (or the hosts named), one SSH connection per host, in
  one process; Reconnect defaults to yes; SIGHUP reloads FILE; SIGTERM and
  SIGINT end with status 0 after cancelling the remote forwards.
  `ferry -F FILE h1 h2` runs several hosts too when each has a Host block
  (otherwise: "remote commands are not supported").
- The control socket (-S / ControlPath, mode 0600) answers `ferry status`
  (a table), `ferry status -j` (JSON: per host state, reconnects, forwards
  with state, up, bound, port, open, connections, bytes_in, bytes_out),
  `ferry forward|cancel [-H host] -L|-R|-D SPEC` (exit 0, or 1 with
  "error: ..." on stderr) and `ferry metrics` (Prometheus text).
  bytes_out: bytes that entered the tunnel at this end's sockets; bytes_in:
  bytes that left the tunnel to this end's sockets.
- MetricsListen (loopback literal only; port 0 prints "Metrics on port N")
  serves GET /metrics over HTTP.
- SIGHUP: forwards added to / removed from FILE are applied, unchanged
  forwards and their connections are untouched, new hosts start, removed
  hosts stop.
- NOTIFY_SOCKET: one "READY=1" datagram once every host has had its first
  attempt (an unreachable host or a failed forward does not hold it back),
  "STATUS=" naming what is not up, updated as that changes; "WATCHDOG=1"
  at half of WATCHDOG_USEC; "STOPPING=1" on SIGTERM.

Servers are ferryd (ferrydlab.Ferryd) on 127.0.0.1 with kernel-chosen
ports. Every forward listens on 127.0.0.1 port 0 and is found through its
"Allocated port" line (its target port tells which forward it is) and
cross-checked against `ferry status -j`. Only ferry has these features, so
there is no [ssh-...] twin. Every payload is checked by SHA-256, every wait
is bounded.
"""

import json
import os
import re
import signal
import socket
import stat
import subprocess
import time

import ferrylab as fl
import ferrydlab as fdl
import remotelab as rl
import sockslab as sl
from ferrydlab import ferryd  # noqa: F401 - fixture
from ferrylab import Deadline, KiB, LOCALHOST, MiB, USER

LOCAL_RE = fl.ALLOCATED_RE
REMOTE_RE = rl.ALLOCATED_REMOTE_RE
DYNAMIC_RE = re.compile(r'^(?:\S+: )?Allocated port (\d+) for dynamic forward\s*$', re.M)
METRICS_RE = re.compile(r'^Metrics on port (\d+)\s*$', re.M)
CANCELLED_RE = r'Cancelled forwarding of port {port}\b'
ACCEPTED_RE = fdl.ACCEPTED_RE
CTL_TIMEOUT = 20


# ---------------------------------------------------------------- config files

def known_hosts(lab, *servers):
    """One known_hosts file with a line for every ferryd ([127.0.0.1]:PORT)."""
    p = lab._sub('kh') / 'known_hosts'
    p.write_text(''.join(s.known_hosts_line() for s in servers))
    return p


def host_block(lab, name, srv, kh, local=(), remote=(), dynamic=0, extra=()):
    """A Host block for ferryd `srv`: LocalForward / RemoteForward
    127.0.0.1:0 to each target port, `dynamic` DynamicForward 127.0.0.1:0."""
    lines = [f'Host {name}', f'    HostName {LOCALHOST}', f'    Port {srv.port}',
             f'    User {USER}', f'    IdentityFile {lab.keys.user["ed25519"]}',
             f'    UserKnownHostsFile {kh}', '    StrictHostKeyChecking yes',
             '    BatchMode yes']
    lines += [f'    {x}' for x in extra]
    lines += [f'    LocalForward {LOCALHOST}:0 {LOCALHOST}:{p}' for p in local]
    lines += [f'    RemoteForward {LOCALHOST}:0 {LOCALHOST}:{p}' for p in remote]
    lines += [f'    DynamicForward {LOCALHOST}:0' for _ in range(dynamic)]
    return '\n'.join(lines) + '\n'


def lspec(target):
    """The spec text status shows for LocalForward 127.0.0.1:0 127.0.0.1:target."""
    return f'{LOCALHOST}:0:{LOCALHOST}:{target}'


# ---------------------------------------------------------------- processes

def clean_env(lab, **extra):
    """The lab's client environment without an inherited NOTIFY_SOCKET (a
    test run under systemd must not have ferry talk to the real manager)."""
    env = {k: v for k, v in lab.env.items() if k != 'NOTIFY_SOCKET'}
    env.update(extra)
    return env


def ferry_up(lab, cfg, ctl=None, hosts=(), env=None, up=True, extra=()):
    """`ferry up -F cfg [-S ctl] [hosts]` as a lab-owned ClientProc."""
    try:
        argv = [fl.require_ferry()]
    except fl.FerryMissing as e:
        raise AssertionError(str(e)) from None
    if up:
        argv.append('up')
    argv += ['-F', str(cfg)]
    if ctl is not None:
        argv += ['-S', str(ctl)]
    argv += list(extra) + list(hosts)
    cp = fl.ClientProc('ferry', argv, env if env is not None else clean_env(lab))
    lab.clients.append(cp)
    return cp


def ferry_cmd(lab, *args, timeout=CTL_TIMEOUT):
    """`ferry ARGS...` run to completion (status, forward, cancel, metrics)."""
    try:
        argv = [fl.require_ferry()] + [str(a) for a in args]
    except fl.FerryMissing as e:
        raise AssertionError(str(e)) from None
    try:
        r = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           timeout=timeout, env=clean_env(lab))
    except subprocess.TimeoutExpired as e:
        raise AssertionError(f'ferry {" ".join(argv[1:])} did not answer within '
                             f'{timeout}s') from e
    m = fl.SANITIZER_RE.search(r.stderr)
    assert m is None and not (r.returncode < 0 and -r.returncode in fl.CRASH_SIGNALS), \
        f'ferry {" ".join(argv[1:])} crashed (exit {r.returncode}):\n{r.stderr}'
    return r


def status(lab, ctl):
    r = ferry_cmd(lab, 'status', '-j', '-S', ctl)
    assert r.returncode == 0, f'ferry status -j: exit {r.returncode}\n{r.stderr}'
    try:
        return json.loads(r.stdout)
    except ValueError as e:
        raise AssertionError(f'ferry status -j printed no JSON ({e}):\n{r.stdout!r}') from None


def status_text(lab, ctl):
    r = ferry_cmd(lab, 'status', '-S', ctl)
    assert r.returncode == 0, f'ferry status: exit {r.returncode}\n{r.stderr}'
    return r.stdout


def host_of(st, name):
    hs = [h for h in st['hosts'] if h['host'] == name]
    assert len(hs) <= 1, f'host {name} listed {len(hs)} times: {st}'
    return hs[0] if hs else None


def fwd_of(st, host, kind, spec):
    h = host_of(st, host)
    if h is None:
        return None
    fs = [f for f in h['forwards'] if f['kind'] == kind and f['spec'] == spec]
    assert len(fs) <= 1, f'{kind} {spec} listed {len(fs)} times for {host}: {h}'
    return fs[0] if fs else None


def wait_status(lab, ctl, pred, timeout=10, what='status'):
    """Poll `ferry status -j` until pred(status) is true; returns it, or
    fails with the last status seen."""
    d = Deadline(timeout)
    while True:
        st = status(lab, ctl)
        if pred(st):
            return st
        if d.expired():
            raise AssertionError(f'{what}: not reached within {timeout}s; last status:\n'
                                 f'{json.dumps(st, indent=1)}')
        time.sleep(0.05)


def all_up(st, hosts):
    names = sorted(h['host'] for h in st['hosts'])
    return names == sorted(hosts) and all(
        h['state'] == 'up' and h['forwards'] and all(f['up'] for f in h['forwards'])
        for h in st['hosts'])


def allocated(cp, rx, count, timeout=fl.READY_TIMEOUT):
    ms = cp.wait_for(rx, count=count, timeout=timeout)
    assert ms is not None, (f'ferry did not print {count} line(s) matching {rx.pattern!r} '
                            f'within {timeout}s (exit {cp.proc.poll()}):\n{cp.stderr()}')
    return ms


def local_ports(cp, targets, timeout=fl.READY_TIMEOUT, skip=0):
    """{target port: listen port} from the first skip+len(targets) "Allocated
    port N for local forward" lines (each target once)."""
    ms = allocated(cp, LOCAL_RE, skip + len(targets), timeout)[skip:]
    got = {int(m.group(3)): int(m.group(1)) for m in ms}
    assert sorted(got) == sorted(targets), \
        f'local forwards announced for {sorted(got)}, expected {sorted(targets)}:\n{cp.stderr()}'
    for p in got.values():
        assert fl.listens_on(cp.pid, p), f'ferry announced port {p} but does not listen on it'
    return got


def remote_ports(cp, targets, timeout=fl.READY_TIMEOUT, skip=0):
    ms = allocated(cp, REMOTE_RE, skip + len(targets), timeout)[skip:]
    got = {int(m.group(3)): int(m.group(1)) for m in ms}
    assert sorted(got) == sorted(targets), \
        f'remote forwards announced for {sorted(got)}, expected {sorted(targets)}:\n{cp.stderr()}'
    return got


def server_listens(srv, port, timeout=5):
    return rl.wait_until(lambda: any(p == port for _, p in srv.listens()), timeout)


def server_stopped_listening(srv, port, timeout=5):
    return rl.wait_until(lambda: not any(p == port for _, p in srv.listens()), timeout)


def logins(srv):
    return len(ACCEPTED_RE.findall(srv.log_text()))


def refused(port):
    """True if a connection to 127.0.0.1:port is refused (nothing listens)."""
    try:
        s = fl.connect(port, timeout=5)
    except ConnectionRefusedError:
        return True
    s.close()
    return False


def echo_ok(port, n, start=0, host=LOCALHOST):
    count, digest = rl.echo_exchange(port, n, start, host=host)
    assert count == n, f'echo through port {port}: {count} bytes back, expected {n}'
    assert digest == fl.pattern_sha256(n, start), f'echo through port {port}: SHA-256 differs'


def socks_echo_ok(proxy_port, target_port, n, start=0):
    s = sl.connect(proxy_port, '5', LOCALHOST, target_port)
    sl.assert_echo_ok(sl.echo_exchange_sock(s, n, start), n, start)


def terminate(cp, timeout=10):
    cp.signal(signal.SIGTERM)
    return cp.wait_exit(timeout)


def settled(lab, ctl, host, kind, spec, **want):
    """Wait until the forward's counters equal `want` (bounded), return it."""
    def ok(st):
        f = fwd_of(st, host, kind, spec)
        return f is not None and all(f[k] == v for k, v in want.items())
    st = wait_status(lab, ctl, ok, 10, f'{host} {kind} {spec} counters {want}')
    return fwd_of(st, host, kind, spec)


# ---------------------------------------------------------------- 1. two hosts

def test_up_two_hosts_status(lab, ferryd):
    """`ferry up` with two Host blocks on two ferryds: one process, one SSH
    connection per host; -L, -R 0 and -D all carry data; `status -j` shows
    both hosts and every forward up with the announced ports, and exact
    per-forward byte counts in the right direction (echo: in = out = N; sink
    upload: out = N, in = 0; source behind -R: out = N, in = 0); the table
    shows the same states, ports and byte counts."""
    s1, s2 = ferryd(), ferryd()
    kh = known_hosts(lab, s1, s2)
    echo_a, source, sink, echo_b, echo_d = (lab.echo(), lab.source(2 * MiB, start=5),
                                             lab.sink(), lab.echo(), lab.echo())
    cfg = lab.dir / 'ferry_config'
    cfg.write_text(host_block(lab, 'alpha', s1, kh, local=[echo_a.port], remote=[source.port]) +
                   host_block(lab, 'beta', s2, kh, local=[sink.port, echo_b.port], dynamic=1) +
                   # a Host block without forwards is not started
                   host_block(lab, 'idle', s2, kh))
    ctl = sl.short_tmp(lab) / 'ctl'
    cp = ferry_up(lab, cfg, ctl)
    lp = local_ports(cp, [echo_a.port, sink.port, echo_b.port])
    rp = remote_ports(cp, [source.port])
    (dm,) = allocated(cp, DYNAMIC_RE, 1)
    dp = int(dm.group(1))
    assert fl.listens_on(cp.pid, dp)
    assert server_listens(s1, rp[source.port]), 'ferryd #1 does not listen on the -R port'
    st = wait_status(lab, ctl, lambda s: all_up(s, ['alpha', 'beta']), 10, 'both hosts up')
    assert logins(s1) == 1 and logins(s2) == 1, \
        f'expected one login on each ferryd, got {logins(s1)} and {logins(s2)}'

    a, b = host_of(st, 'alpha'), host_of(st, 'beta')
    assert (a['hostname'], a['user'], a['port']) == (LOCALHOST, USER, s1.port), a
    assert (b['hostname'], b['user'], b['port']) == (LOCALHOST, USER, s2.port), b
    assert a['reconnects'] == 0 and b['reconnects'] == 0
    assert len(a['forwards']) == 2 and len(b['forwards']) == 3, st
    expect_ports = {('alpha', 'local', lspec(echo_a.port)): lp[echo_a.port],
                    ('alpha', 'remote', lspec(source.port)): rp[source.port],
                    ('beta', 'local', lspec(sink.port)): lp[sink.port],
                    ('beta', 'local', lspec(echo_b.port)): lp[echo_b.port],
                    ('beta', 'dynamic', f'{LOCALHOST}:0'): dp}
    for (h, kind, spec), port in expect_ports.items():
        f = fwd_of(st, h, kind, spec)
        assert f is not None, f'{h} {kind} {spec} missing from status: {st}'
        assert f['up'] is True and f['port'] == port and f['bound'] == LOCALHOST, \
            f'{h} {kind} {spec}: {f}, expected up on {LOCALHOST} port {port}'
        assert f['state'] == ('active' if kind == 'remote' else 'listening'), f
        assert (f['open'], f['connections'], f['bytes_in'], f['bytes_out']) == (0, 0, 0, 0), f

    # traffic: every forward, each payload checked by SHA-256
    n = 3 * MiB
    echo_ok(lp[echo_a.port], n, start=1)
    rl.assert_download_ok(rl.download(rp[source.port]), 2 * MiB, start=5)
    rl.assert_upload_ok(rl.upload(lp[sink.port], sink, MiB, start=2), MiB, start=2)
    echo_ok(lp[echo_b.port], 256 * KiB, start=3)
    socks_echo_ok(dp, echo_d.port, 512 * KiB, start=4)

    fa = settled(lab, ctl, 'alpha', 'local', lspec(echo_a.port), open=0, connections=1,
                 bytes_out=n, bytes_in=n)
    fr = settled(lab, ctl, 'alpha', 'remote', lspec(source.port), open=0, connections=1,
                 bytes_out=2 * MiB, bytes_in=0)
    fs = settled(lab, ctl, 'beta', 'local', lspec(sink.port), open=0, connections=1,
                 bytes_out=MiB, bytes_in=0)
    settled(lab, ctl, 'beta', 'local', lspec(echo_b.port), open=0, connections=1,
            bytes_out=256 * KiB, bytes_in=256 * KiB)
    # -D: the SOCKS handshake is not tunnel traffic, the payload is
    settled(lab, ctl, 'beta', 'dynamic', f'{LOCALHOST}:0', open=0, connections=1,
            bytes_out=512 * KiB, bytes_in=512 * KiB)

    # the table: a host line per host, a row per forward with state, port, counts
    text = status_text(lab, ctl)
    for name, srv in (('alpha', s1), ('beta', s2)):
        assert re.search(rf'^{name} \({re.escape(USER)}@{re.escape(LOCALHOST)} port '
                         rf'{srv.port}\): up for [\d.]+ s, 0 reconnects', text, re.M), \
            f'no "{name} (...): up" line in the table:\n{text}'
    assert not re.search(r'^idle ', text, re.M), \
        f'a Host block without forwards was started:\n{text}'
    rows = {
        ('-L', lspec(echo_a.port)): ('listening', lp[echo_a.port], '1', '3.0 MiB', '3.0 MiB'),
        ('-R', lspec(source.port)): ('active', rp[source.port], '1', '0 B', '2.0 MiB'),
        ('-L', lspec(sink.port)): ('listening', lp[sink.port], '1', '0 B', '1.0 MiB'),
        ('-D', f'{LOCALHOST}:0'): ('listening', dp, '1', '512.0 KiB', '512.0 KiB'),
    }
    for (flag, spec), (state, port, conns, b_in, b_out) in rows.items():
        m = re.search(rf'^\s+{flag} {re.escape(spec)}\s+(\S+)\s+{re.escape(LOCALHOST)} port '
                      rf'(\d+)\s+(\d+)\s+(\d+)\s+(\d+(?:\.\d)? \S+)\s+(\d+(?:\.\d)? \S+)\s*$',
                      text, re.M)
        assert m, f'no table row for {flag} {spec}:\n{text}'
        assert (m.group(1), int(m.group(2)), m.group(3), m.group(4)) == \
            (state, port, '0', conns), f'row for {flag} {spec}: {m.group(0)!r}'
        assert (m.group(5), m.group(6)) == (b_in, b_out), \
            f'row for {flag} {spec} shows IN/OUT {m.group(5)}/{m.group(6)}, ' \
            f'expected {b_in}/{b_out}: {m.group(0)!r}'
    assert (fa['bytes_in'], fr['bytes_out'], fs['bytes_out']) == (n, 2 * MiB, MiB)
    assert cp.alive(), cp.stderr()
    assert logins(s1) == 1 and logins(s2) == 1, 'a host reconnected during the test'


# ---------------------------------------------------------------- 2. SIGHUP

class HeldUpload:
    """One connection through a forward to a sink, written in steps: the
    connection stays open between steps (across reloads)."""

    def __init__(self, port, sink, start):
        self.sock = fl.connect(port)
        self.sink, self.start, self.sent = sink, start, 0
        self.deadline = Deadline(120, 'held upload')

    def send(self, n):
        chunks = fl.pattern_chunks(n, self.start + self.sent)
        for c in chunks:
            self.sock.settimeout(self.deadline.left(fl.IO_TIMEOUT))
            self.sock.sendall(c)
        self.sent += n

    def finish(self):
        try:
            self.sock.shutdown(socket.SHUT_WR)
            res = self.sink.result(timeout=self.deadline.left())
            back, _ = fl.recv_to_eof(self.sock, self.deadline, limit=0)
            assert back == 0
        finally:
            self.sock.close()
        return res


def test_sighup_reload(lab, ferryd):
    """SIGHUP applies the file's changes and nothing else.

    Reload 1 (alpha: -L B and -R R1 removed, -L C and -R R2 added): a 64 MiB
    upload held open on alpha's unchanged -L A (written before, between and
    after the reloads) arrives complete with the right SHA-256; alpha is not
    reconnected (one login on its ferryd, 0 reconnects); B stops listening,
    ferryd stops listening on R1; C and R2 come up and carry data; status
    lists A, C, R2 and neither B nor R1. An echo connection held open on
    beta (untouched) completes. Reload 2 (host beta removed, host gamma
    added): gamma starts and carries data, beta cancels its -R and its
    listener and SSH connection go, status lists alpha and gamma. Reload 3
    (a bad keyword in the file): an error naming the line is logged and
    nothing changes."""
    s1, s2 = ferryd(), ferryd()
    kh = known_hosts(lab, s1, s2)
    sink, echo_b, echo_r1, echo_c, echo_r2, echo_beta, echo_g = (
        lab.sink(), lab.echo(), lab.echo(), lab.echo(), lab.echo(), lab.echo(), lab.echo())
    cfg = lab.dir / 'ferry_config'
    alpha1 = host_block(lab, 'alpha', s1, kh, local=[sink.port, echo_b.port],
                        remote=[echo_r1.port])
    beta = host_block(lab, 'beta', s2, kh, local=[echo_beta.port], remote=[echo_beta.port])
    cfg.write_text(alpha1 + beta)
    ctl = sl.short_tmp(lab) / 'ctl'
    cp = ferry_up(lab, cfg, ctl)
    lp = local_ports(cp, [sink.port, echo_b.port, echo_beta.port])
    rp = remote_ports(cp, [echo_r1.port, echo_beta.port])
    assert server_listens(s1, rp[echo_r1.port])
    assert server_listens(s2, rp[echo_beta.port])
    wait_status(lab, ctl, lambda s: all_up(s, ['alpha', 'beta']), 10, 'both hosts up')
    echo_ok(lp[echo_b.port], 64 * KiB)
    echo_ok(rp[echo_r1.port], 64 * KiB)

    total = 64 * MiB
    up = HeldUpload(lp[sink.port], sink, start=11)
    held = fl.connect(lp[echo_beta.port])           # echo through beta, held open
    held_in = fl.pattern_bytes(100 * KiB, 13)
    try:
        up.send(16 * MiB)
        held.sendall(held_in[:50 * KiB])

        # reload 1: alpha loses B and R1, gains C and R2
        alpha2 = host_block(lab, 'alpha', s1, kh, local=[sink.port, echo_c.port],
                            remote=[echo_r2.port])
        cfg.write_text(alpha2 + beta)
        cp.signal(signal.SIGHUP)
        lc = local_ports(cp, [echo_c.port], skip=3)
        rc2 = remote_ports(cp, [echo_r2.port], skip=2)
        assert server_listens(s1, rc2[echo_r2.port]), 'ferryd does not listen on the new -R'
        st = wait_status(lab, ctl, lambda s: all_up(s, ['alpha', 'beta']) and
                         len(host_of(s, 'alpha')['forwards']) == 3, 10, 'reload 1 applied')
        specs = {(f['kind'], f['spec']) for f in host_of(st, 'alpha')['forwards']}
        assert specs == {('local', lspec(sink.port)), ('local', lspec(echo_c.port)),
                         ('remote', lspec(echo_r2.port))}, specs
        assert fd_port_closed(cp, lp[echo_b.port]), \
            f'removed forward B still listens on {lp[echo_b.port]}'
        assert refused(lp[echo_b.port])
        assert server_stopped_listening(s1, rp[echo_r1.port]), \
            f'ferryd still listens on removed -R port {rp[echo_r1.port]}'
        assert s1.wait_log(CANCELLED_RE.format(port=rp[echo_r1.port]), timeout=5), \
            'ferryd did not log the cancel of the removed -R'
        echo_ok(lc[echo_c.port], 2 * MiB, start=17)
        echo_ok(rc2[echo_r2.port], 2 * MiB, start=19)
        a = host_of(st, 'alpha')
        assert a['reconnects'] == 0 and logins(s1) == 1, \
            f'reload 1 reconnected alpha (reconnects {a["reconnects"]}, logins {logins(s1)})'
        fa = fwd_of(st, 'alpha', 'local', lspec(sink.port))
        assert fa['open'] == 1 and fa['connections'] == 1, f'the held upload is not open: {fa}'

        up.send(16 * MiB)
        held.sendall(held_in[50 * KiB:])
        held.shutdown(socket.SHUT_WR)
        back, digest = fl.recv_to_eof(held, Deadline(30, 'held echo'))
        assert (back, digest) == (len(held_in), fl.pattern_sha256(len(held_in), 13)), \
            f'held echo through beta across reload 1: {back} bytes, SHA-256 ' \
            f'{"ok" if digest == fl.pattern_sha256(len(held_in), 13) else "differs"}'

        # reload 2: beta goes, gamma (on ferryd #1, its own connection) comes
        gamma = host_block(lab, 'gamma', s1, kh, local=[echo_g.port])
        cfg.write_text(alpha2 + gamma)
        cp.signal(signal.SIGHUP)
        lg = local_ports(cp, [echo_g.port], skip=4)
        st = wait_status(lab, ctl, lambda s: all_up(s, ['alpha', 'gamma']), 10,
                         'reload 2 applied')
        echo_ok(lg[echo_g.port], MiB, start=23)
        assert logins(s1) == 2, f'gamma should be a second login on ferryd #1: {logins(s1)}'
        assert fd_port_closed(cp, lp[echo_beta.port]), \
            f'removed host beta still listens on {lp[echo_beta.port]}'
        assert s2.wait_log(r'Connection from \S+ port \d+ closed', timeout=5), \
            'the removed host beta did not close its SSH connection'
        assert re.search(CANCELLED_RE.format(port=rp[echo_beta.port]), s2.log_text()), \
            'the removed host beta did not cancel its -R before it disconnected'
        assert server_stopped_listening(s2, rp[echo_beta.port])
        assert host_of(st, 'beta') is None

        up.send(8 * MiB)
        # reload 3: a broken file changes nothing (an error is logged)
        cfg.write_text(alpha2.replace('    BatchMode yes\n', '    BatchMode yes\n'
                                      '    NoSuchKeyword 1\n') + gamma)
        before = status(lab, ctl)
        cp.signal(signal.SIGHUP)
        assert cp.wait_for(r'reload: .*line \d+.*NoSuchKeyword.*nothing changed',
                           timeout=10) is not None, \
            f'no reload error naming the bad line:\n{cp.stderr()}'
        after = status(lab, ctl)
        shape = [(h['host'], h['state'], [(f['kind'], f['spec'], f['port'], f['up'])
                                          for f in h['forwards']]) for h in before['hosts']]
        assert shape == [(h['host'], h['state'], [(f['kind'], f['spec'], f['port'], f['up'])
                                                  for f in h['forwards']])
                         for h in after['hosts']], \
            f'a broken file changed the running set:\n{before}\n{after}'
        echo_ok(lg[echo_g.port], 64 * KiB, start=29)

        up.send(total - up.sent)
        res = up.finish()
    finally:
        held.close()
        up.sock.close()
    rl.assert_upload_ok(res, total, start=11)
    st = status(lab, ctl)
    fa = fwd_of(st, 'alpha', 'local', lspec(sink.port))
    assert fa['connections'] == 1, f'the upload was not one connection: {fa}'
    assert host_of(st, 'alpha')['reconnects'] == 0 and logins(s1) == 2
    assert cp.alive(), cp.stderr()


def test_sighup_host_replaced(lab, ferryd):
    """SIGHUP after a host's connection settings changed (Port now names
    another ferryd): the host is replaced, its old connection cancels its -R
    and closes, the new one logs in to the other server, and the forwards
    (announced again) carry data there."""
    s1, s2 = ferryd(), ferryd()
    kh = known_hosts(lab, s1, s2)
    e1, e2 = lab.echo(), lab.echo()
    cfg = lab.dir / 'ferry_config'
    cfg.write_text(host_block(lab, 'alpha', s1, kh, local=[e1.port], remote=[e2.port]))
    ctl = sl.short_tmp(lab) / 'ctl'
    cp = ferry_up(lab, cfg, ctl)
    lp1 = local_ports(cp, [e1.port])[e1.port]
    rp1 = remote_ports(cp, [e2.port])[e2.port]
    assert server_listens(s1, rp1)
    wait_status(lab, ctl, lambda s: all_up(s, ['alpha']), 10, 'alpha up')
    echo_ok(rp1, 64 * KiB)

    cfg.write_text(host_block(lab, 'alpha', s2, kh, local=[e1.port], remote=[e2.port]))
    cp.signal(signal.SIGHUP)
    lp2 = local_ports(cp, [e1.port], skip=1)[e1.port]
    rp2 = remote_ports(cp, [e2.port], skip=1)[e2.port]
    assert server_listens(s2, rp2), 'the replaced host\'s -R is not on the new server'
    st = wait_status(lab, ctl, lambda s: all_up(s, ['alpha']) and
                     host_of(s, 'alpha')['port'] == s2.port, 10, 'alpha moved to ferryd #2')
    assert len(host_of(st, 'alpha')['forwards']) == 2, st
    assert s1.wait_log(r'Connection from \S+ port \d+ closed', timeout=5), \
        'the old connection to ferryd #1 was not closed'
    assert re.search(CANCELLED_RE.format(port=rp1), s1.log_text()), \
        'the old connection did not cancel its -R'
    assert logins(s1) == 1 and logins(s2) == 1
    echo_ok(lp2, MiB, start=73)
    echo_ok(rp2, MiB, start=79)
    if lp2 != lp1:
        assert fd_port_closed(cp, lp1), f'the old -L port {lp1} still listens'
    assert cp.alive(), cp.stderr()


def fd_port_closed(cp, port, timeout=5):
    """True once ferry holds no LISTEN socket on `port`."""
    return rl.wait_until(lambda: not fl.listens_on(cp.pid, port), timeout)


# ---------------------------------------------------------------- 3. forward / cancel

def test_runtime_forward_cancel(lab, ferryd):
    """`ferry forward` adds a -L (listening when the command returns), a -R
    and a -D at runtime, `ferry cancel` removes them (listeners gone, ferryd
    stops listening); errors exit 1 with "error: ..." on stderr: a duplicate,
    an unknown host, no -H with two hosts, a bad spec, cancelling what is
    not there; without -S reachable: exit 1."""
    s1, s2 = ferryd(), ferryd()
    kh = known_hosts(lab, s1, s2)
    e1, e2, e3, e4 = lab.echo(), lab.echo(), lab.echo(), lab.echo()
    cfg = lab.dir / 'ferry_config'
    cfg.write_text(host_block(lab, 'alpha', s1, kh, local=[e1.port]) +
                   host_block(lab, 'beta', s2, kh, local=[e2.port]))
    ctl = sl.short_tmp(lab) / 'ctl'
    cp = ferry_up(lab, cfg, ctl)
    local_ports(cp, [e1.port, e2.port])
    wait_status(lab, ctl, lambda s: all_up(s, ['alpha', 'beta']), 10, 'both hosts up')

    def cmd(*args):
        return ferry_cmd(lab, *args[:1], '-S', ctl, *args[1:])

    spec = lspec(e3.port)
    r = cmd('forward', '-H', 'alpha', '-L', spec)
    assert r.returncode == 0, f'ferry forward -L: exit {r.returncode}\n{r.stderr}'
    st = status(lab, ctl)
    f = fwd_of(st, 'alpha', 'local', spec)
    assert f is not None and f['up'] and f['port'] > 0, f'added -L not up in status: {st}'
    assert fwd_of(st, 'beta', 'local', spec) is None, 'the forward went to the wrong host'
    port = f['port']
    assert fl.listens_on(cp.pid, port), 'ferry forward returned before the -L listened'
    assert local_ports(cp, [e1.port, e2.port, e3.port])[e3.port] == port, \
        'the "Allocated port" line and status disagree'
    echo_ok(port, MiB, start=31)
    settled(lab, ctl, 'alpha', 'local', spec, connections=1, open=0,
            bytes_in=MiB, bytes_out=MiB)

    # errors, each exit 1 with "error: ..." and nothing changed
    taken = socket.socket()
    taken.bind((LOCALHOST, 0))
    taken.listen(1)
    lab.sockets.append(taken)
    tport = taken.getsockname()[1]
    errors = [
        (('forward', '-H', 'alpha', '-L', f'{LOCALHOST}:{tport}:{LOCALHOST}:{e4.port}'),
         'in use'),
        (('forward', '-H', 'alpha', '-L', lspec(e1.port)), 'already has that forward'),
        (('forward', '-H', 'alpha', '-L', spec), 'already has that forward'),
        (('forward', '-H', 'nosuchhost', '-L', lspec(e4.port)), 'no host nosuchhost'),
        (('forward', '-L', lspec(e4.port)), '2 hosts'),
        (('cancel', '-L', spec), '2 hosts'),
        (('forward', '-H', 'alpha', '-L', 'nonsense'), 'nonsense'),
        (('forward', '-H', 'alpha', '-L', '70000:127.0.0.1:1'), '70000'),
        (('cancel', '-H', 'beta', '-L', spec), 'has no forward'),
        (('cancel', '-H', 'nosuchhost', '-L', spec), 'no host nosuchhost'),
    ]
    for args, needle in errors:
        r = cmd(*args)
        assert r.returncode == 1, f'ferry {" ".join(args)}: exit {r.returncode}, expected 1\n' \
                                  f'stdout: {r.stdout}\nstderr: {r.stderr}'
        assert 'error: ' in r.stderr and needle in r.stderr, \
            f'ferry {" ".join(args)}: stderr does not say "error: ...{needle}...":\n{r.stderr}'
    st = status(lab, ctl)
    assert [len(h['forwards']) for h in sorted(st['hosts'], key=lambda h: h['host'])] == [2, 1], \
        f'a failed command changed the forwards: {st}'

    # -R and -D at runtime on beta
    r = cmd('forward', '-H', 'beta', '-R', lspec(e4.port))
    assert r.returncode == 0, f'ferry forward -R: exit {r.returncode}\n{r.stderr}'
    (rport,) = remote_ports(cp, [e4.port]).values()
    assert server_listens(s2, rport), 'ferryd #2 does not listen on the runtime -R'
    st = wait_status(lab, ctl, lambda s: (fwd_of(s, 'beta', 'remote', lspec(e4.port)) or {})
                     .get('up'), 10, 'runtime -R active')
    assert fwd_of(st, 'beta', 'remote', lspec(e4.port))['port'] == rport
    echo_ok(rport, MiB, start=37)
    r = cmd('forward', '-H', 'beta', '-D', f'{LOCALHOST}:0')
    assert r.returncode == 0, f'ferry forward -D: exit {r.returncode}\n{r.stderr}'
    (dm,) = allocated(cp, DYNAMIC_RE, 1)
    dport = int(dm.group(1))
    socks_echo_ok(dport, e1.port, 256 * KiB, start=41)

    # cancel all three: gone from status, nothing listens any more; a
    # connection open through the -L at the time goes on (as with ssh's
    # ~C -KL) and completes intact
    held = fl.connect(port)
    lab.sockets.append(held)
    n_held, first = 2 * MiB, 64 * KiB
    held.sendall(fl.pattern_bytes(first, 71))
    assert settled(lab, ctl, 'alpha', 'local', spec, open=1)['connections'] == 2
    for args in (('-H', 'alpha', '-L', spec), ('-H', 'beta', '-R', lspec(e4.port)),
                 ('-H', 'beta', '-D', f'{LOCALHOST}:0')):
        r = cmd('cancel', *args)
        assert r.returncode == 0, f'ferry cancel {" ".join(args)}: exit {r.returncode}\n' \
                                  f'{r.stderr}'
    assert refused(port), f'cancelled -L port {port} still accepts'
    count, digest = fl.exchange(held, n_held - first, 71 + first, Deadline(30, 'held echo'))
    assert (count, digest) == (n_held, fl.pattern_sha256(n_held, 71)), \
        f'the connection open through the cancelled -L: {count} of {n_held} bytes back, ' \
        f'SHA-256 {"ok" if digest == fl.pattern_sha256(n_held, 71) else "differs"}'
    assert fd_port_closed(cp, dport), f'cancelled -D port {dport} still listens'
    assert server_stopped_listening(s2, rport), f'ferryd still listens on cancelled -R {rport}'
    st = status(lab, ctl)
    assert [len(h['forwards']) for h in sorted(st['hosts'], key=lambda h: h['host'])] == [1, 1], \
        f'cancelled forwards still listed: {st}'
    r = cmd('cancel', '-H', 'alpha', '-L', spec)
    assert r.returncode == 1 and 'has no forward' in r.stderr, (r.returncode, r.stderr)
    # the original forwards are untouched
    lp = local_ports(cp, [e1.port, e2.port])
    echo_ok(lp[e1.port], 64 * KiB)
    echo_ok(lp[e2.port], 64 * KiB)

    r = ferry_cmd(lab, 'status', '-S', sl.short_tmp(lab) / 'nothing-here')
    assert r.returncode == 1 and 'cannot reach' in r.stderr, (r.returncode, r.stderr)
    assert cp.alive(), cp.stderr()
    assert logins(s1) == 1 and logins(s2) == 1


# ---------------------------------------------------------------- 4. metrics

def http_get(port, path, timeout=10, host=LOCALHOST):
    """(status code, headers dict, body) of GET path over HTTP/1.0."""
    s = fl.connect(port, host, timeout=timeout)
    try:
        s.sendall(f'GET {path} HTTP/1.0\r\nHost: {fl.fmt_host(host)}\r\n\r\n'.encode())
        data = b''
        d = Deadline(timeout, 'HTTP answer')
        while len(data) < MiB:
            s.settimeout(d.left())
            b = s.recv(65536)
            if not b:
                break
            data += b
    finally:
        s.close()
    head, sep, body = data.partition(b'\r\n\r\n')
    assert sep, f'no end of headers in the answer: {data[:300]!r}'
    lines = head.decode().split('\r\n')
    code = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, v in
               (ln.split(':', 1) for ln in lines[1:] if ':' in ln)}
    return code, headers, body.decode()


SAMPLE_RE = re.compile(r'^ferry_forward_bytes_total\{host="([^"]*)",forward="([^"]*)",'
                       r'direction="(in|out)"\} (\d+)$', re.M)


def bytes_samples(text):
    return {(h, f, d): int(v) for h, f, d, v in SAMPLE_RE.findall(text)}


def test_metrics_listen(lab, ferryd):
    """MetricsListen 127.0.0.1:0: "Metrics on port N"; GET /metrics answers
    200 with Prometheus text whose ferry_forward_bytes_total samples equal
    the JSON counters (after an upload and an echo exchange); `ferry
    metrics` prints the same samples; another path is 404."""
    s1 = ferryd()
    kh = known_hosts(lab, s1)
    echo, sink = lab.echo(), lab.sink()
    cfg = lab.dir / 'ferry_config'
    cfg.write_text(f'MetricsListen {LOCALHOST}:0\n' +
                   host_block(lab, 'alpha', s1, kh, local=[echo.port, sink.port]))
    ctl = sl.short_tmp(lab) / 'ctl'
    cp = ferry_up(lab, cfg, ctl)
    lp = local_ports(cp, [echo.port, sink.port])
    (mm,) = allocated(cp, METRICS_RE, 1)
    mport = int(mm.group(1))
    # ferry's own listeners on that port (another process may hold the
    # same number in the other family)
    mine = {a for a, p in rl.process_listens(cp.pid) if p == mport}
    assert mine == {LOCALHOST}, \
        f'metrics port {mport}: ferry listens on {mine}, expected {LOCALHOST} only'
    wait_status(lab, ctl, lambda s: all_up(s, ['alpha']), 10, 'alpha up')

    echo_ok(lp[echo.port], 3 * MiB + 7, start=43)
    rl.assert_upload_ok(rl.upload(lp[sink.port], sink, 2 * MiB + 3, start=47), 2 * MiB + 3,
                        start=47)
    settled(lab, ctl, 'alpha', 'local', lspec(echo.port), open=0, bytes_in=3 * MiB + 7,
            bytes_out=3 * MiB + 7)
    settled(lab, ctl, 'alpha', 'local', lspec(sink.port), open=0, bytes_in=0,
            bytes_out=2 * MiB + 3)

    # idle connections to the metrics port and the control socket (nothing
    # sent) do not hold up other requests
    idle_http = fl.connect(mport)
    idle_ctl = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    lab.sockets += [idle_http, idle_ctl]
    idle_ctl.connect(str(ctl))

    code, headers, body = http_get(mport, '/metrics')
    assert code == 200, f'GET /metrics: {code}\n{body}'
    assert headers.get('content-type', '').startswith('text/plain'), headers
    assert int(headers.get('content-length', -1)) == len(body.encode()), headers
    assert '# TYPE ferry_forward_bytes_total counter' in body, body
    samples = bytes_samples(body)
    st = status(lab, ctl)
    want = {}
    for f in host_of(st, 'alpha')['forwards']:
        flag = {'local': '-L', 'remote': '-R', 'dynamic': '-D'}[f['kind']]
        want[('alpha', f'{flag} {f["spec"]}', 'in')] = f['bytes_in']
        want[('alpha', f'{flag} {f["spec"]}', 'out')] = f['bytes_out']
    assert samples == want, f'metrics samples {samples}\n!= status -j {want}'
    assert samples[('alpha', f'-L {lspec(echo.port)}', 'out')] == 3 * MiB + 7
    assert samples[('alpha', f'-L {lspec(sink.port)}', 'in')] == 0
    assert re.search(r'^ferry_host_up\{host="alpha"\} 1$', body, re.M), body
    assert re.search(rf'^ferry_forward_connections_total\{{host="alpha",forward="-L '
                     rf'{re.escape(lspec(sink.port))}"\}} 1$', body, re.M), body

    r = ferry_cmd(lab, 'metrics', '-S', ctl)
    assert r.returncode == 0, r.stderr
    assert bytes_samples(r.stdout) == want, f'ferry metrics:\n{r.stdout}'
    code, _, _ = http_get(mport, '/nothing')
    assert code == 404, f'GET /nothing: {code}'
    assert cp.alive(), cp.stderr()


def test_metrics_listen_addresses(lab, ferryd):
    """MetricsListen on a non-loopback address (0.0.0.0, ::) is
    refused at start: exit 255, a message about loopback, no control socket
    left behind. [::1]:0 (when the host has IPv6 loopback) listens on ::1
    alone and answers."""
    s1 = ferryd()
    kh = known_hosts(lab, s1)
    echo = lab.echo()
    d = sl.short_tmp(lab)
    if fdl.IPV6:
        cfg = lab.dir / 'ferry_config_v6'
        cfg.write_text('MetricsListen [::1]:0\n' +
                       host_block(lab, 'alpha', s1, kh, local=[echo.port]))
        cp = ferry_up(lab, cfg, d / 'ctl6')
        (mm,) = allocated(cp, METRICS_RE, 1)
        mport = int(mm.group(1))
        mine = {a for a, p in rl.process_listens(cp.pid) if p == mport}
        assert mine == {'::1'}, mine
        code, _, body = http_get(mport, '/metrics', host='::1')
        assert code == 200 and 'ferry_host_up{host="alpha"}' in body, (code, body)
        assert terminate(cp) == 0, cp.stderr()
    for i, addr in enumerate(('0.0.0.0:0', '[::]:0')):
        cfg = lab.dir / f'ferry_config{i}'
        cfg.write_text(f'MetricsListen {addr}\n' +
                       host_block(lab, 'alpha', s1, kh, local=[echo.port]))
        ctl = d / f'ctl{i}'
        cp = ferry_up(lab, cfg, ctl)
        rc = cp.wait_exit(15)
        err = cp.stderr()
        assert rc == 255, f'MetricsListen {addr}: exit {rc}, expected 255\n{err}'
        assert 'MetricsListen' in err and 'loopback' in err, \
            f'MetricsListen {addr}: no clear error:\n{err}'
        assert 'Metrics on port' not in err, err
        assert not os.path.exists(ctl), f'control socket {ctl} left behind'
    assert echo.accepted == 0


# ---------------------------------------------------------------- 5. NOTIFY_SOCKET

class Notify:
    """An AF_UNIX SOCK_DGRAM socket standing in for the service manager."""

    def __init__(self, path):
        self.path = str(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.msgs = []

    def recv(self, timeout):
        """The next datagram (text), or None within `timeout`."""
        self.sock.settimeout(max(0.001, timeout))
        try:
            m = self.sock.recv(4096).decode(errors='replace')
        except (socket.timeout, BlockingIOError):
            return None
        self.msgs.append(m)
        return m

    def wait(self, word, timeout):
        d = Deadline(timeout)
        while not d.expired():
            m = self.recv(d.remaining())
            if m is not None and word in m.split('\n'):
                return m
        return None

    def close(self):
        self.sock.close()


def test_notify_ready_stopping(lab, ferryd):
    """NOTIFY_SOCKET: READY=1 comes once, after every host authenticated and
    every forward is up: -L, -D and -R (ferryd listening) all carry data
    right away. SIGTERM: STOPPING=1, exit status 0, the -R cancelled on
    ferryd before the connection closed, the control socket file removed."""
    s1, s2 = ferryd(), ferryd()
    kh = known_hosts(lab, s1, s2)
    e1, e2, e3 = lab.echo(), lab.echo(), lab.echo()
    cfg = lab.dir / 'ferry_config'
    cfg.write_text(host_block(lab, 'alpha', s1, kh, local=[e1.port], remote=[e2.port]) +
                   host_block(lab, 'beta', s2, kh, dynamic=1, local=[e3.port]))
    d = sl.short_tmp(lab)
    ctl = d / 'ctl'
    nt = Notify(d / 'notify')
    lab.sockets.append(nt)
    cp = ferry_up(lab, cfg, ctl, env=clean_env(lab, NOTIFY_SOCKET=nt.path))
    msg = nt.wait('READY=1', fl.READY_TIMEOUT)
    assert msg is not None, f'no READY=1 within {fl.READY_TIMEOUT}s (got {nt.msgs}):\n' \
                            f'{cp.stderr()}'
    # right away: everything must already work (no waiting for lines or status)
    st = status(lab, ctl)
    assert all_up(st, ['alpha', 'beta']), f'READY=1 sent before everything was up: {st}'
    ports = {(h['host'], f['kind']): f['port'] for h in st['hosts'] for f in h['forwards']}
    assert any(p == ports[('alpha', 'remote')] for _, p in s1.listens()), \
        'READY=1 sent before ferryd listened on the -R port'
    echo_ok(ports[('alpha', 'local')], 256 * KiB, start=51)
    echo_ok(ports[('alpha', 'remote')], 256 * KiB, start=53)
    echo_ok(ports[('beta', 'local')], 256 * KiB, start=55)
    socks_echo_ok(ports[('beta', 'dynamic')], e3.port, 256 * KiB, start=57)
    # the announced ports are the ones status shows
    lp = local_ports(cp, [e1.port, e3.port])
    assert (lp[e1.port], lp[e3.port]) == (ports[('alpha', 'local')], ports[('beta', 'local')])
    assert remote_ports(cp, [e2.port])[e2.port] == ports[('alpha', 'remote')]
    extra = nt.recv(0.3)
    assert extra is None, f'a second datagram after READY=1: {extra!r}'
    assert os.path.exists(ctl)

    rport = ports[('alpha', 'remote')]
    rc = terminate(cp)
    assert rc == 0, f'exit status {rc} after SIGTERM, expected 0:\n{cp.stderr()}'
    stop = nt.wait('STOPPING=1', 5)
    assert stop is not None, f'no STOPPING=1 after SIGTERM (got {nt.msgs})'
    assert sum('READY=1' in m.split('\n') for m in nt.msgs) == 1, nt.msgs
    assert not os.path.exists(ctl), 'control socket file left behind after SIGTERM'
    assert s1.wait_log(CANCELLED_RE.format(port=rport), timeout=5), \
        'ferryd did not see the -R cancelled on SIGTERM'
    assert s1.wait_log(r'Connection from \S+ port \d+ closed', timeout=5)
    log = s1.log_text()
    assert re.search(CANCELLED_RE.format(port=rport) + r'.*\n(?:.*\n)*?.*Connection from \S+ '
                     r'port \d+ closed', log), \
        f'the -R was not cancelled before the connection closed:\n{fl.tail(log)}'
    assert server_stopped_listening(s1, rport)
    for p in (ports[('alpha', 'local')], ports[('beta', 'local')], ports[('beta', 'dynamic')]):
        assert refused(p), f'port {p} still accepts after SIGTERM'


def status_of(msg):
    """The STATUS= value of a notify datagram, or None."""
    for line in msg.split('\n'):
        if line.startswith('STATUS='):
            return line[len('STATUS='):]
    return None


def test_notify_ready_after_first_attempt_with_failed_forward(lab, ferryd):
    """A -L whose port is taken fails. READY=1 still comes once the host's
    first attempt is over (one broken forward must not keep a service
    "activating" until systemd restarts every tunnel), with a STATUS= that
    names the host and the failure; `ferry cancel` of the failed forward
    leaves every forward up: a new STATUS= says so, and no second READY."""
    s1 = ferryd()
    kh = known_hosts(lab, s1)
    e1, e2 = lab.echo(), lab.echo()
    taken = socket.socket()
    taken.bind((LOCALHOST, 0))
    taken.listen(1)
    lab.sockets.append(taken)
    tport = taken.getsockname()[1]
    cfg = lab.dir / 'ferry_config'
    cfg.write_text(host_block(lab, 'alpha', s1, kh, local=[e1.port],
                              extra=[f'LocalForward {LOCALHOST}:{tport} {LOCALHOST}:{e2.port}']))
    d = sl.short_tmp(lab)
    ctl = d / 'ctl'
    nt = Notify(d / 'notify')
    lab.sockets.append(nt)
    cp = ferry_up(lab, cfg, ctl, env=clean_env(lab, NOTIFY_SOCKET=nt.path))
    lp = local_ports(cp, [e1.port])
    bad = f'{LOCALHOST}:{tport}:{LOCALHOST}:{e2.port}'
    msg = nt.wait('READY=1', fl.READY_TIMEOUT)
    assert msg is not None, f'no READY=1 after the first attempt (got {nt.msgs}):\n{cp.stderr()}'
    st = status_of(msg)
    assert st is not None and st.startswith('0 of 1 hosts ready; alpha has a forward down'), \
        f'STATUS= does not name the failed forward: {msg!r}'
    f = fwd_of(status(lab, ctl), 'alpha', 'local', bad)
    assert f is not None and not f['up'] and f['state'] == 'failed' and f['last_error'], \
        f'the -L on a taken port is not shown failed: {f}'
    echo_ok(lp[e1.port], 64 * KiB)
    r = ferry_cmd(lab, 'cancel', '-S', ctl, '-L', bad)
    assert r.returncode == 0, f'cancel of the failed -L: exit {r.returncode}\n{r.stderr}'
    d2 = Deadline(5)
    up = None
    while up is None and not d2.expired():
        m = nt.recv(d2.remaining())
        if m is not None and status_of(m) == '1 host up, every forward established':
            up = m
    assert up is not None, f'no STATUS= once every remaining forward was up (got {nt.msgs})'
    assert sum('READY=1' in m.split('\n') for m in nt.msgs) == 1, nt.msgs
    echo_ok(lp[e1.port], 64 * KiB, start=3)
    assert cp.alive()


def test_notify_ready_with_unreachable_host(lab, ferryd):
    """One host is up, the other refuses connections: READY=1 comes after
    the unreachable host's first attempt, while the good host's tunnel
    works, and STATUS= names the host that is not up and why."""
    s1 = ferryd()
    kh = known_hosts(lab, s1)
    e1 = lab.echo()
    dead = socket.socket()
    dead.bind((LOCALHOST, 0))
    dport = dead.getsockname()[1]
    dead.close()            # nothing listens there: connections are refused
    cfg = lab.dir / 'ferry_config'
    good = host_block(lab, 'alpha', s1, kh, local=[e1.port])
    gone = host_block(lab, 'zeta', s1, kh, local=[e1.port]).replace(
        f'Port {s1.port}', f'Port {dport}')
    cfg.write_text(good + gone)
    d = sl.short_tmp(lab)
    nt = Notify(d / 'notify')
    lab.sockets.append(nt)
    cp = ferry_up(lab, cfg, d / 'ctl', env=clean_env(lab, NOTIFY_SOCKET=nt.path))
    msg = nt.wait('READY=1', fl.READY_TIMEOUT)
    assert msg is not None, f'no READY=1 with one host unreachable (got {nt.msgs}):\n' \
                            f'{cp.stderr()}'
    st = status_of(msg)
    assert st is not None and re.match(r'1 of 2 hosts ready; zeta is not up: .*refused', st), \
        f'STATUS= does not say which host is down and why: {msg!r}'
    lp = local_ports(cp, [e1.port])
    echo_ok(lp[e1.port], 64 * KiB)
    assert cp.alive()


def test_notify_watchdog(lab, ferryd):
    """WatchdogSec=: with WATCHDOG_USEC set (and WATCHDOG_PID unset, or
    ours) ferry sends WATCHDOG=1 at half the interval from its loop; with
    WATCHDOG_PID naming another process it sends none."""
    s1 = ferryd()
    kh = known_hosts(lab, s1)
    e1 = lab.echo()
    cfg = lab.dir / 'ferry_config'
    cfg.write_text(host_block(lab, 'alpha', s1, kh, local=[e1.port]))
    d = sl.short_tmp(lab)
    nt = Notify(d / 'notify')
    lab.sockets.append(nt)
    cp = ferry_up(lab, cfg, d / 'ctl', env=clean_env(lab, NOTIFY_SOCKET=nt.path,
                                                       WATCHDOG_USEC='200000'))
    d1 = Deadline(3)
    pings = 0
    while pings < 4 and not d1.expired():
        m = nt.recv(d1.remaining())
        if m is not None and 'WATCHDOG=1' in m.split('\n'):
            pings += 1
    assert pings >= 4, f'{pings} WATCHDOG=1 in 3 s with WatchdogSec=0.2s (got {nt.msgs})'
    terminate(cp)
    nt2 = Notify(d / 'notify2')
    lab.sockets.append(nt2)
    cp2 = ferry_up(lab, cfg, d / 'ctl2', env=clean_env(lab, NOTIFY_SOCKET=nt2.path,
                                                         WATCHDOG_USEC='200000',
                                                         WATCHDOG_PID='1'))
    assert nt2.wait('READY=1', fl.READY_TIMEOUT) is not None, nt2.msgs
    d2 = Deadline(1)
    while not d2.expired():
        nt2.recv(d2.remaining())
    assert not any('WATCHDOG=1' in m.split('\n') for m in nt2.msgs), \
        f'WATCHDOG=1 sent although WATCHDOG_PID is another process: {nt2.msgs}'
    assert cp2.alive()


# ---------------------------------------------------------------- 6. control socket

def test_control_socket(lab, ferryd):
    """The control socket is a 0600 socket; a second `ferry up` on the same
    path fails ("in use by another ferry", exit 255) and leaves the first
    one's socket working (and never connects to the server); a stale socket
    file is replaced; a regular file at the path is refused; ControlPath in
    the file works like -S; a single host needs no -H; SIGINT ends with
    status 0 and removes the socket."""
    s1 = ferryd()
    kh = known_hosts(lab, s1)
    echo = lab.echo()
    d = sl.short_tmp(lab)
    ctl = d / 'ctl'
    cfg = lab.dir / 'ferry_config'
    cfg.write_text(f'ControlPath {ctl}\n' + host_block(lab, 'alpha', s1, kh, local=[echo.port]))
    first = ferry_up(lab, cfg)
    lp = local_ports(first, [echo.port])
    wait_status(lab, ctl, lambda s: all_up(s, ['alpha']), 10, 'alpha up')
    st_ = os.lstat(ctl)
    assert stat.S_ISSOCK(st_.st_mode), f'{ctl} is not a socket'
    assert stat.S_IMODE(st_.st_mode) == 0o600, f'{ctl} has mode {oct(stat.S_IMODE(st_.st_mode))}'

    conns = s1.count(r'Connection from \S+ port \d+ on \S+ port \d+$')
    assert conns == 1, f'ferryd logged {conns} connections, expected 1'
    second = ferry_up(lab, cfg, ctl)
    rc = second.wait_exit(15)
    err = second.stderr()
    assert rc == 255, f'second ferry up on the same socket: exit {rc}\n{err}'
    assert 'in use by another ferry' in err, err
    assert s1.count(r'Connection from \S+ port \d+ on \S+ port \d+$') == conns, \
        'the second ferry connected to the server before giving up'
    assert 'Allocated port' not in err, f'the second ferry bound forwards:\n{err}'
    assert os.path.exists(ctl), 'the second ferry removed the first one\'s socket'
    assert host_of(status(lab, ctl), 'alpha') is not None
    echo_ok(lp[echo.port], 64 * KiB)

    # a single host: forward without -H
    e2 = lab.echo()
    r = ferry_cmd(lab, 'forward', '-S', ctl, '-L', lspec(e2.port))
    assert r.returncode == 0, r.stderr
    port = fwd_of(status(lab, ctl), 'alpha', 'local', lspec(e2.port))['port']
    echo_ok(port, 64 * KiB, start=5)

    first.signal(signal.SIGINT)
    rc = first.wait_exit(10)
    assert rc == 0, f'exit status {rc} after SIGINT, expected 0:\n{first.stderr()}'
    assert not os.path.exists(ctl), 'control socket left behind after SIGINT'

    # stale socket file (nobody listens): taken over
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(ctl))
    stale.close()
    assert stat.S_ISSOCK(os.lstat(ctl).st_mode)
    third = ferry_up(lab, cfg, ctl)
    local_ports(third, [echo.port])
    wait_status(lab, ctl, lambda s: all_up(s, ['alpha']), 10, 'alpha up over a stale socket')
    assert stat.S_IMODE(os.lstat(ctl).st_mode) == 0o600
    assert terminate(third) == 0, third.stderr()

    # a regular file: refused, left alone
    reg = d / 'regular'
    reg.write_text('keep me\n')
    fourth = ferry_up(lab, cfg, reg)
    rc = fourth.wait_exit(15)
    assert rc == 255 and 'not a socket' in fourth.stderr(), (rc, fourth.stderr())
    assert reg.read_text() == 'keep me\n'


# ---------------------------------------------------------------- 7. destinations

def test_several_destinations(lab, ferryd):
    """`ferry -F FILE alpha beta` runs both Host blocks in one process (one
    login each, SIGTERM exits 0); a destination without a Host block is
    refused as a remote command (exit 255, nothing connects); `ferry up -F
    FILE beta` runs beta alone."""
    s1, s2 = ferryd(), ferryd()
    kh = known_hosts(lab, s1, s2)
    e1, e2 = lab.echo(), lab.echo()
    cfg = lab.dir / 'ferry_config'
    cfg.write_text(host_block(lab, 'alpha', s1, kh, local=[e1.port]) +
                   host_block(lab, 'beta', s2, kh, local=[e2.port]))
    d = sl.short_tmp(lab)

    bad = ferry_up(lab, cfg, up=False, hosts=['alpha', 'uptime'])
    rc = bad.wait_exit(15)
    assert rc == 255, f'exit {rc}\n{bad.stderr()}'
    assert 'remote commands are not supported' in bad.stderr(), bad.stderr()
    assert logins(s1) == 0 and 'Connection from' not in s1.log_text(), \
        'ferry connected despite the refused destination'

    cp = ferry_up(lab, cfg, d / 'ctl', up=False, hosts=['alpha', 'beta'])
    lp = local_ports(cp, [e1.port, e2.port])
    st = wait_status(lab, d / 'ctl', lambda s: all_up(s, ['alpha', 'beta']), 10,
                     'both hosts up')
    assert len(st['hosts']) == 2
    echo_ok(lp[e1.port], MiB, start=61)
    echo_ok(lp[e2.port], MiB, start=63)
    assert logins(s1) == 1 and logins(s2) == 1
    rc = terminate(cp)
    assert rc == 0, f'exit {rc} after SIGTERM\n{cp.stderr()}'

    only = ferry_up(lab, cfg, d / 'ctl2', hosts=['beta'])
    lp = local_ports(only, [e2.port])
    st = wait_status(lab, d / 'ctl2', lambda s: all_up(s, ['beta']), 10, 'beta alone up')
    echo_ok(lp[e2.port], 64 * KiB)
    assert logins(s1) == 1 and logins(s2) == 2, 'ferry up beta connected to alpha too'
    assert terminate(only) == 0
