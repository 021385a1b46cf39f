"""ferryd's operator view: `ferryd status [-j]`, `ferryd metrics`, the
control socket, MetricsListen, and the status page in a real browser.

The contract (src/server/ctl.c, report.c, stats.c, src/util/statuspage.c):

- ControlSocket PATH (default StateDirectory/ferryd.sock; "none": none) is
  a Unix socket of mode 0600 owned by ferryd's user; a stale socket file
  is replaced, a live one (another ferryd) refused at start (exit 1).
- `ferryd status [-j] [-S path] [-f config]`: every session (user, key
  fingerprint, peer address and port, since, authenticated) with its
  forwards (remote: the bound address and port; direct: the destination)
  and their open/total connections and bytes each way ("in" leaves the
  tunnel at ferryd's socket, "out" enters it), then the recent refusals
  with their rule. -j: the same as JSON (also GET /status.json).
- `ferryd metrics` and GET /metrics on MetricsListen (loopback literals
  only; anything else refused at start): Prometheus text whose counters
  match the JSON.
- GET / on MetricsListen (ferryd's and ferry's): a self-contained page
  that renders the JSON every second; checked here in headless chromium
  through the DOM, with a screenshot kept under the test's directory.

Two users log in to one ferryd: alice with ssh (-R to a source), bob with
ferry (-L to an echo server and a sink, and -L to a port PermitOpen
refuses). Every payload is checked by SHA-256, every wait is bounded.
"""

import json
import os
import re
import socket
import stat
import subprocess
import time

import ferrylab as fl
import ferrydlab as fdl
import remotelab as rl
import sockslab as sl
import test_supervise as ts
from ferrydlab import ferryd  # noqa: F401 - fixture
from ferrylab import Deadline, KiB, LOCALHOST, MiB, USER

CHROMIUM = os.environ.get('FERRY_TEST_CHROMIUM', '/usr/bin/chromium')
METRICS_RE = re.compile(r'^ferryd: Metrics on port (\d+)$', re.M)
CTL_TIMEOUT = 20


def ferryd_cmd(*args, timeout=CTL_TIMEOUT):
    """`ferryd ARGS...` run to completion."""
    r = fdl.run_ferryd(list(args), timeout=timeout)
    assert fl.SANITIZER_RE.search(r.stderr) is None and r.returncode >= 0, \
        f'ferryd {" ".join(map(str, args))} crashed (exit {r.returncode}):\n{r.stderr}'
    return r


def status_json(ctl):
    r = ferryd_cmd('status', '-j', '-S', ctl)
    assert r.returncode == 0, f'ferryd status -j: exit {r.returncode}\n{r.stderr}'
    return json.loads(r.stdout)


def session_of(st, user):
    ss = [s for s in st['sessions'] if s['user'] == user]
    assert len(ss) == 1, f'expected one session of {user}: {st}'
    return ss[0]


def flow_of(sess, kind, port):
    fs = [f for f in sess['forwards'] if f['kind'] == kind and f['port'] == port]
    return fs[0] if len(fs) == 1 else None


def wait_json(ctl, pred, what, timeout=15):
    d = Deadline(timeout, what)
    st = None
    while not d.expired():
        st = status_json(ctl)
        try:
            if pred(st):
                return st
        except (AssertionError, KeyError, IndexError):
            pass
        time.sleep(0.1)
    raise AssertionError(f'{what}: not within {timeout}s; last status:\n'
                         f'{json.dumps(st, indent=1)}')


SAMPLE_RE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$')
LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_exposition(text):
    """Prometheus text format 0.0.4: {(name, frozenset(labels)): value};
    every sample belongs to a family announced by # TYPE."""
    types, out = {}, {}
    for ln in text.splitlines():
        if not ln:
            continue
        if ln.startswith('# TYPE '):
            _, _, name, typ = ln.split(' ', 3)
            assert typ in ('counter', 'gauge'), ln
            types[name] = typ
            continue
        if ln.startswith('# HELP '):
            continue
        assert not ln.startswith('#'), f'stray comment line {ln!r}'
        m = SAMPLE_RE.match(ln)
        assert m, f'not a sample line: {ln!r}'
        assert m.group(1) in types, f'sample {ln!r} has no # TYPE'
        labels = frozenset(LABEL_RE.findall(m.group(2) or ''))
        float(m.group(3))
        out[(m.group(1), labels)] = float(m.group(3))
    return out


def metric(samples, name, **labels):
    return samples[(name, frozenset(labels.items()))]


def stale_socket(path):
    """A socket file nobody listens on (its process is gone)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(str(path))
    s.close()
    assert stat.S_ISSOCK(os.lstat(path).st_mode)


# ---------------------------------------------------------------- the browser

def require_chromium():
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        raise AssertionError(f'{CHROMIUM} not found: scripts/setup.sh installs chromium; '
                             f'a missing browser is an install bug, not a skip')
    return CHROMIUM


def chromium(lab, url, *extra, timeout=90):
    """Headless chromium on a 127.0.0.1 URL, kept off every other host
    (no resolver, no proxy, no background services); its own profile."""
    assert url.startswith(f'http://{LOCALHOST}:'), url
    prof = lab._sub('chromium-profile')
    argv = [require_chromium(), '--headless=new', '--no-sandbox', '--disable-gpu',
            '--no-first-run', '--no-default-browser-check', '--disable-extensions',
            '--disable-background-networking', '--disable-component-update',
            '--disable-sync', '--disable-default-apps', '--disable-domain-reliability',
            '--disable-client-side-phishing-detection', '--no-pings', '--mute-audio',
            '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1', '--no-proxy-server',
            f'--user-data-dir={prof}', '--virtual-time-budget=4000'] + list(extra) + [url]
    env = dict(os.environ, HOME=str(prof))
    try:
        r = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           timeout=timeout, env=env, start_new_session=True)
    except subprocess.TimeoutExpired as e:
        raise AssertionError(f'chromium on {url} still running after {timeout}s') from e
    assert r.returncode == 0, f'chromium {url}: exit {r.returncode}\n{r.stderr[-3000:]}'
    return r


ROW_RE = re.compile(r'<tr class="fwd" data-user="([^"]*)">(.*?)</tr>', re.S)
CELL_RE = re.compile(r'<td class="num ([a-z-]+)" data-v="(\d+)">')


def dom_rows(dom):
    """[(user, {cell: value})] of the forward rows the page rendered."""
    return [(m.group(1), {c: int(v) for c, v in CELL_RE.findall(m.group(2))})
            for m in ROW_RE.finditer(dom)]


def screenshot(lab, url, name):
    path = lab.dir / name
    chromium(lab, url, f'--screenshot={path}', '--window-size=1200,800')
    assert path.is_file() and path.stat().st_size > 1000, f'no screenshot at {path}'
    print(f'status page screenshot: {path}')
    return path


# ---------------------------------------------------------------- the tests

def start_two_users(lab, ferryd, extra_config=()):
    """ferryd with alice (ssh, -R to a 2 MiB source) and bob (ferry, -L to an
    echo server, a sink, and a port PermitOpen refuses). Returns a dict."""
    echo, sink, source = lab.echo(), lab.sink(), lab.source(2 * MiB, start=7)
    refused = lab.echo()
    ctl = sl.short_tmp(lab) / 'ferryd.sock'
    srv = ferryd(config=[f'ControlSocket {ctl}', f'MetricsListen {LOCALHOST}:0',
                         f'PermitOpen {LOCALHOST}:{echo.port} {LOCALHOST}:{sink.port}'] +
                 list(extra_config),
                 authorized={'alice': [lab.keys.user_pub('ed25519')],
                             'bob': [lab.keys.user_pub('ecdsa')],
                             USER: [lab.keys.user_pub('ed25519')]})
    (mm,) = srv.wait_log(METRICS_RE, timeout=5)
    mport = int(mm.group(1))
    alice = fdl.start_client(lab, 'ssh', srv, identity='ed25519', user='alice',
                             remote=[rl.remote_spec(LOCALHOST, 0, LOCALHOST, source.port)])
    (rport,) = fdl.wait_allocated(alice, 1, server=srv)
    bob = fdl.start_client(lab, 'ferry', srv, identity='ecdsa', user='bob',
                           local=[f'{LOCALHOST}:0:{LOCALHOST}:{p}'
                                  for p in (echo.port, sink.port, refused.port)])
    ms = bob.wait_for(fl.ALLOCATED_RE, count=3, timeout=fl.READY_TIMEOUT)
    assert ms is not None, f'ferry did not announce its -L ports:\n{bob.stderr()}'
    lp = {int(m.group(3)): int(m.group(1)) for m in ms}
    return dict(srv=srv, ctl=ctl, mport=mport, echo=echo, sink=sink, source=source,
                refused=refused, rport=rport, lp=lp, alice=alice, bob=bob)


def traffic(t, n_echo=3 * MiB + 11, n_up=MiB + 5):
    ts.echo_ok(t['lp'][t['echo'].port], n_echo, start=3)
    rl.assert_upload_ok(rl.upload(t['lp'][t['sink'].port], t['sink'], n_up, start=4),
                        n_up, start=4)
    rl.assert_download_ok(rl.download(t['rport']), 2 * MiB, start=7)
    # the refused destination: ferry's listener accepts, ferryd refuses the
    # channel, ferry closes the connection
    s = fl.connect(t['lp'][t['refused'].port])
    try:
        s.settimeout(10)
        assert s.recv(1) == b''
    except OSError:
        pass
    finally:
        s.close()
    return n_echo, n_up


def test_status_table_json_metrics(lab, ferryd):
    """Two users with live -L and -R traffic: `ferryd status -j` shows both
    sessions (user, key fingerprint, peer, authenticated) with exact byte
    counts per forward; the table shows the same rows; the PermitOpen
    refusal is listed with its rule and user; `ferryd metrics` and GET
    /metrics parse as Prometheus text and their counters match the JSON."""
    t = start_two_users(lab, ferryd)
    srv, ctl = t['srv'], t['ctl']
    n_echo, n_up = traffic(t)
    echo_p, sink_p = t['echo'].port, t['sink'].port

    def settled(st):
        a, b = session_of(st, 'alice'), session_of(st, 'bob')
        r = flow_of(a, 'remote', t['rport'])
        e, k = flow_of(b, 'direct', echo_p), flow_of(b, 'direct', sink_p)
        return (r['open'], r['connections'], r['bytes_in'], r['bytes_out']) == \
            (0, 1, 2 * MiB, 0) and \
            (e['open'], e['connections'], e['bytes_in'], e['bytes_out']) == \
            (0, 1, n_echo, n_echo) and \
            (k['open'], k['connections'], k['bytes_in'], k['bytes_out']) == (0, 1, n_up, 0) \
            and len(st['refusals']) >= 1

    st = wait_json(ctl, settled, 'exact byte counts in ferryd status -j')
    a, b = session_of(st, 'alice'), session_of(st, 'bob')
    assert a['authenticated'] is True and b['authenticated'] is True
    assert a['key'] == fdl.fingerprint_of(lab.keys.user['ed25519']), a
    assert b['key'] == fdl.fingerprint_of(lab.keys.user['ecdsa']), b
    assert a['peer'] == LOCALHOST and b['peer'] == LOCALHOST
    assert a['peer_port'] > 0 and b['peer_port'] > 0 and a['since'] <= st['now']
    assert flow_of(a, 'remote', t['rport'])['bound'] == LOCALHOST
    assert flow_of(b, 'direct', t['refused'].port) is None, \
        f'a refused destination was counted as a forward: {b}'
    ref = st['refusals'][0]
    assert (ref['rule'], ref['user'], ref['peer'], ref['peer_port']) == \
        ('PermitOpen', 'bob', LOCALHOST, b['peer_port']), ref
    assert f'port {t["refused"].port}' in ref['message'], ref
    tot = st['totals']
    assert tot['sessions_authenticated'] == 2 and tot['sessions_preauth'] == 0, tot
    assert (tot['bytes_in'], tot['bytes_out']) == (2 * MiB + n_echo + n_up, n_echo), tot

    # the table
    r = ferryd_cmd('status', '-S', ctl)
    assert r.returncode == 0, r.stderr
    text = r.stdout
    for user, sess in (('alice', a), ('bob', b)):
        assert re.search(rf'^{user} from {re.escape(LOCALHOST)} port {sess["peer_port"]}: '
                         rf'authenticated since \S+ \(\d+ s\), key {re.escape(sess["key"])}$',
                         text, re.M), f'no session line for {user}:\n{text}'
    rows = [('remote', t['rport'], 2 * MiB, 0), ('direct', echo_p, n_echo, n_echo),
            ('direct', sink_p, n_up, 0)]
    for kind, port, b_in, b_out in rows:
        assert re.search(rf'^  {kind}\s+{re.escape(LOCALHOST)} port {port}\s+0\s+1\s+'
                         rf'{b_in}\s+{b_out}$', text, re.M), \
            f'no row {kind} port {port} {b_in}/{b_out}:\n{text}'
    assert re.search(rf'^  \S+ PermitOpen\s+bob from {re.escape(LOCALHOST)} port '
                     rf'{b["peer_port"]}: connection to {re.escape(LOCALHOST)} port '
                     rf'{t["refused"].port}: not allowed by PermitOpen$', text, re.M), text

    # metrics, over the socket and over HTTP
    r = ferryd_cmd('metrics', '-S', ctl)
    assert r.returncode == 0, r.stderr
    code, headers, body = ts.http_get(t['mport'], '/metrics')
    assert code == 200 and headers['content-type'].startswith('text/plain'), (code, headers)
    for text in (r.stdout, body):
        m = parse_exposition(text)
        assert metric(m, 'ferryd_sessions', state='authenticated') == 2
        assert metric(m, 'ferryd_sessions', state='preauth') == 0
        assert metric(m, 'ferryd_handshakes_total', result='ok') == 2
        assert metric(m, 'ferryd_bytes_total', direction='in') == tot['bytes_in']
        assert metric(m, 'ferryd_bytes_total', direction='out') == tot['bytes_out']
        assert metric(m, 'ferryd_connections_total') == tot['connections'] == 3
        assert metric(m, 'ferryd_connections_open') == 0
        assert metric(m, 'ferryd_forwards', kind='remote') == 1
        assert metric(m, 'ferryd_forwards', kind='direct') == 2
        assert metric(m, 'ferryd_refusals_total', reason='PermitOpen') == 1
        assert metric(m, 'ferryd_refusals_total', reason='PermitListen') == 0
        assert ('ferryd_limits_hit_total', frozenset({('limit', 'MaxStartups')})) in m
    code, headers, js = ts.http_get(t['mport'], '/status.json')
    assert code == 200 and headers['content-type'] == 'application/json'
    assert [s['user'] for s in json.loads(js)['sessions']] == \
        [s['user'] for s in st['sessions']]
    # a page whose name was re-pointed at 127.0.0.1 gets nothing
    s = fl.connect(t['mport'])
    try:
        s.sendall(b'GET /status.json HTTP/1.1\r\nHost: evil.example\r\n\r\n')
        s.settimeout(10)
        head = s.recv(100)
    finally:
        s.close()
    assert head.startswith(b'HTTP/1.0 403 '), head
    # the control socket answers status, not forwards
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        c.settimeout(10)
        c.connect(str(ctl))
        c.sendall(b'forward - -L 1:h:2\n')
        ans = c.recv(4096)
    finally:
        c.close()
    assert ans.startswith(b'error: '), ans
    assert t['alice'].alive() and t['bob'].alive()
    assert [x[0] for x in srv.refusals()] == ['bob'], srv.refusals()


def test_forward_connection_refusals_counted(lab, ferryd):
    """Connections a remote forward's listener refuses for a bound
    (MaxForwardConnections) count as refusals of the forward's user, with
    that rule, in `ferryd metrics` and `ferryd status -j`."""
    ctl = sl.short_tmp(lab) / 'ctl'
    srv = ferryd(config=[f'ControlSocket {ctl}', 'MaxForwardConnections 2'])
    echo = lab.echo()
    t = fdl.start_remote(lab, 'ssh', srv, [echo.addr])
    held = []
    try:
        for i in range(2):
            c = socket.create_connection((LOCALHOST, t.port), timeout=10)
            c.sendall(b'x')
            assert c.recv(1) == b'x', 'a connection within the bound was not served'
            held.append(c)
        for i in range(3):
            c = socket.create_connection((LOCALHOST, t.port), timeout=10)
            try:
                assert c.recv(1) == b'', 'a connection past MaxForwardConnections 2 was served'
            except ConnectionResetError:
                pass
            finally:
                c.close()
        st = wait_json(ctl, lambda st: sum(r['rule'] == 'MaxForwardConnections'
                                           for r in st['refusals']) == 3,
                       'three MaxForwardConnections refusals listed')
        assert all(r['user'] == USER for r in st['refusals']
                   if r['rule'] == 'MaxForwardConnections'), st['refusals']
        r = ferryd_cmd('metrics', '-S', ctl)
        assert r.returncode == 0, r.stderr
        m = parse_exposition(r.stdout.split('\n', 1)[1] if r.stdout.startswith('ok\n')
                             else r.stdout)
        assert metric(m, 'ferryd_refusals_total', reason='MaxForwardConnections') == 3
    finally:
        for c in held:
            c.close()


def test_control_socket_rules(lab, ferryd):
    """ControlSocket: mode 0600, owned by ferryd's user; a second ferryd on
    the same path is refused (exit 1, "in use"); a stale socket file is
    replaced; the default path is StateDirectory/ferryd.sock; MetricsListen
    on a non-loopback address is refused at start."""
    d = sl.short_tmp(lab)
    ctl = d / 'ctl.sock'
    srv = ferryd(config=[f'ControlSocket {ctl}'])
    st = os.lstat(ctl)
    assert stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600, oct(st.st_mode)
    assert st.st_uid == os.getuid()
    assert status_json(ctl)['sessions'] == []

    # a second ferryd on the same socket
    cfg2 = d / 'cfg2'
    cfg2.write_text(srv.config_path.read_text())
    r = fdl.run_ferryd(['-D', '-e', '-f', cfg2])
    assert r.returncode == 1 and f'ControlSocket {ctl} is in use by another ferryd' \
        in r.stderr, f'exit {r.returncode}\n{r.stderr}'
    assert stat.S_ISSOCK(os.lstat(ctl).st_mode) and status_json(ctl)['sessions'] == []

    # a stale socket file is replaced
    stale = d / 'stale.sock'
    stale_socket(stale)
    srv2 = ferryd(config=[f'ControlSocket {stale}'])
    assert srv2.wait_log(re.compile(r'removed the stale control socket'), timeout=5)
    assert status_json(stale)['sessions'] == []
    # a file that is not a socket is never removed
    plain = d / 'plain'
    plain.write_text('keep')
    r = fdl.run_ferryd(['-D', '-e', '-f', srv.config_path, '-o', f'ControlSocket {plain}'])
    assert r.returncode == 1 and 'exists and is not a socket' in r.stderr, r.stderr
    assert plain.read_text() == 'keep'

    # the default: StateDirectory/ferryd.sock (-T shows it)
    r = fdl.run_ferryd(['-T', '-f', srv.config_path, '-o', 'ControlSocket none'])
    assert re.search(r'^controlsocket none$', r.stdout, re.M), r.stdout
    short_state = d / 'st'
    cfg3 = d / 'cfg3'
    cfg3.write_text(re.sub(r'^ControlSocket .*\n', '', re.sub(
        r'^StateDirectory .*$', f'StateDirectory {short_state}',
        srv.config_path.read_text(), flags=re.M), flags=re.M))
    r = fdl.run_ferryd(['-T', '-f', cfg3])
    assert re.search(rf'^controlsocket {re.escape(str(short_state))}/ferryd.sock$', r.stdout,
                     re.M), r.stdout

    # MetricsListen refuses what is not loopback
    for addr in ('0.0.0.0:0', '[::]:0', 'localhost:0'):
        r = fdl.run_ferryd(['-D', '-e', '-f', srv.config_path, '-o', 'ControlSocket none',
                            '-o', f'MetricsListen {addr}'])
        assert r.returncode == 1 and 'loopback' in r.stderr, \
            f'MetricsListen {addr}: exit {r.returncode}\n{r.stderr}'
    # ferryd status without a ferryd
    r = ferryd_cmd('status', '-S', d / 'nothing.sock')
    assert r.returncode == 1 and 'cannot reach ferryd' in r.stderr, r.stderr
    r = ferryd_cmd('status', '-x')
    assert r.returncode == 2 and 'usage' in r.stderr


def test_status_page_in_browser(lab, ferryd):
    """The status page in headless chromium: ferryd's (two users, live
    traffic) and ferry's (ferry up with MetricsListen) render their rows
    through the DOM from /status.json: the session user, the forward's port
    and non-zero byte counters; a screenshot of each is kept."""
    require_chromium()
    t = start_two_users(lab, ferryd)
    n_echo, n_up = traffic(t)
    wait_json(t['ctl'], lambda st: flow_of(session_of(st, 'bob'), 'direct',
                                           t['echo'].port)['bytes_in'] == n_echo,
              'echo bytes counted')
    url = f'http://{LOCALHOST}:{t["mport"]}/'
    code, headers, page = ts.http_get(t['mport'], '/')
    assert code == 200 and headers['content-type'].startswith('text/html')
    assert "default-src 'none'" in headers['content-security-policy']
    r = chromium(lab, url, '--dump-dom')
    rows = dom_rows(r.stdout)
    assert rows, f'no forward rows rendered:\n{r.stdout[-3000:]}'
    by = {(u, c.get('port')): c for u, c in rows}
    e = by.get(('bob', t['echo'].port))
    assert e and e['bytes-in'] == n_echo and e['bytes-out'] == n_echo, (e, rows)
    rr = by.get(('alice', t['rport']))
    assert rr and rr['bytes-in'] == 2 * MiB and rr['conns'] == 1, (rr, rows)
    assert re.search(r'<td class="user">alice</td>', r.stdout), r.stdout[-3000:]
    assert '<div id="meta" class="down"' not in r.stdout
    screenshot(lab, url, 'ferryd-status.png')

    # ferry's page: ferry up with MetricsListen, against the same ferryd
    srv = t['srv']
    kh = ts.known_hosts(lab, srv)
    cfg = lab.dir / 'ferry_config'
    cfg.write_text(f'MetricsListen {LOCALHOST}:0\n' +
                   ts.host_block(lab, 'alpha', srv, kh, local=[t['echo'].port]))
    cp = ts.ferry_up(lab, cfg, sl.short_tmp(lab) / 'ctl')
    (mm,) = ts.allocated(cp, ts.METRICS_RE, 1)
    (lm,) = ts.allocated(cp, fl.ALLOCATED_RE, 1)
    ts.echo_ok(int(lm.group(1)), 64 * KiB + 1, start=9)
    furl = f'http://{LOCALHOST}:{int(mm.group(1))}/'
    d = Deadline(20, 'ferry page shows the echo bytes')
    while True:
        r = chromium(lab, furl, '--dump-dom')
        rows = dom_rows(r.stdout)
        mine = [c for u, c in rows if u == USER and c.get('port') == int(lm.group(1))]
        if mine and mine[0].get('bytes-out') == 64 * KiB + 1:
            break
        assert not d.expired(), f'ferry page rows {rows}:\n{r.stdout[-3000:]}'
        time.sleep(0.5)
    assert re.search(r'<td class="user">alpha</td>', r.stdout)
    screenshot(lab, furl, 'ferry-status.png')
    assert cp.alive(), cp.stderr()
