"""ferry -o Reconnect=yes: a supervised tunnel survives its server.

The contract (ferry(1), Reconnect): when the SSH connection dies (keepalive
timeout, reset, server restart) or the first connect fails, ferry tries
again after ReconnectDelay, doubling up to ReconnectMaxDelay, each delay
drawn from [d/2, d]; it logs `Connection to HOST lost: ...; reconnecting in
X s (attempt N)`, `Reconnect to HOST failed: ...; next attempt in X s
(attempt N)` and `Reconnected to HOST after N attempt(s), down X s`. -L
listeners stay bound throughout (a connection made while the tunnel is down
is reset at once), connections open through the dead tunnel are reset, -R
forwards are requested again (port 0: a new "Allocated port" line), a
refused -R is retried on its own backoff, SIGTERM/SIGINT end with status 0
and cancel the -R forwards, a host key failure is never retried.

Servers: ferryd (killed with SIGKILL and started again on the same port,
same host key) and OpenSSH sshd (supervise.RestartableSshd: the `sshd -i`
processes are SIGKILLed and the listener refuses until it re-opens on the
same port). Only ferry has Reconnect, so these tests run ferry alone (no
[ssh-...] twin). Recovery times are printed and appended to
$FERRY_RECOVERY_LOG (JSON lines) when set.
"""

import re
import signal
import time

import pytest

import ferrylab as fl
import remotelab as rl
import ferrydlab as fdl
import supervise as sv
from ferrydlab import ferryd  # noqa: F401 - fixture
from ferrylab import LOCALHOST, MiB

ALIVE = (1, 2)                                  # ServerAliveInterval, CountMax
NOTICE_BOUND = ALIVE[0] * ALIVE[1] + 2          # seconds from the kill to "lost"
RECOVER_BOUND = 10                              # seconds from the restart to data
MAX_DELAY = 2                                   # ReconnectMaxDelay (default of _start)
TRANSFER = 64 * MiB
KILL_AT = 16 * MiB


def _spec(port, target):
    return f'{LOCALHOST}:{port}:{LOCALHOST}:{target.port}'


def _start(lab, server, **kw):
    kh = kw.pop('known_hosts', None) or lab.known_hosts(server)
    kw.setdefault('max_delay', str(MAX_DELAY))
    return rl.start_client(lab, 'ferry', sv.reconnect_argv(lab, server.port, known_hosts=kh,
                                                            **kw))


def _local_port(cp, timeout=fl.READY_TIMEOUT):
    ms = cp.wait_for(sv.LOCAL_RE, 1, timeout)
    assert ms, f'ferry did not announce its -L port (alive: {cp.alive()}):\n{cp.stderr()}'
    port = int(ms[0].group(1))
    assert fl.listens_on(cp.pid, port), f'ferry announced -L port {port} but does not hold it'
    return port


def _remote_ports(cp, count, timeout):
    """The ports of the first `count` "Allocated port N for remote forward"
    lines (None if they did not all come within `timeout`)."""
    ms = cp.wait_for(sv.REMOTE_RE, count, timeout)
    return [int(m.group(1)) for m in ms] if ms else None


def _down(server, srv):
    """Kill the server: ferryd gets SIGKILL; sshd's listener stops accepting
    (refused) and every `sshd -i` process gets SIGKILL."""
    if server == 'ferryd':
        sv.kill_ferryd(srv)
    else:
        srv.refuse()
        assert srv.kill_sessions(), 'no sshd process was serving the connection'


def _up(server, srv, ferryd):
    if server == 'ferryd':
        return sv.restart_ferryd(ferryd, srv)
    srv.resume()
    return srv


def _server(server, lab, ferryd):
    if server == 'ferryd':
        return sv.start_ferryd(ferryd)
    return sv.new_restartable_sshd(lab)


@pytest.mark.parametrize('server', ['ferryd', 'sshd'])
def test_server_killed_during_transfer(lab, ferryd, server):
    """kill -9 the server while 64 MiB go through -L: the transfer's socket
    is reset (never a clean EOF), ferry logs the loss within Interval x
    CountMax + 2 s, and once the server is back on the same port (after ~1
    s) the -L listener (same port) and the -R (new allocated port) carry a
    fresh echo exchange within 10 s."""
    srv = _server(server, lab, ferryd)
    echo_l, echo_r = lab.echo(), lab.echo()
    cp = _start(lab, srv, local=[_spec(0, echo_l)], remote=[_spec(0, echo_r)], alive=ALIVE)
    lport = _local_port(cp)
    rports = _remote_ports(cp, 1, fl.READY_TIMEOUT)
    assert rports, f'no "Allocated port" line for the -R forward:\n{cp.stderr()}'
    assert sv.echo_ok(lport, start=1) and sv.echo_ok(rports[0], start=2), cp.stderr()

    killed = {}

    def kill():
        killed['t'] = time.monotonic()
        _down(server, srv)

    res = sv.interrupted_exchange(lport, TRANSFER, KILL_AT, kill, start=3)
    assert 't' in killed, f'the transfer ended before {KILL_AT} bytes were sent: {res}'
    assert res['prefix_ok'], f'the data that came back is corrupted (SHA-256): {res}'
    assert res['outcome'] == 'reset', (
        f'the transfer through the dead tunnel ended with {res["outcome"]!r} instead of a '
        f'reset ({res}):\n{cp.stderr()}')
    assert res['sent'] < TRANSFER

    ms = cp.wait_for(sv.LOST_RE, 1, NOTICE_BOUND + 2)
    noticed = time.monotonic() - killed['t']
    assert ms, f'ferry did not log the loss within {NOTICE_BOUND + 2} s:\n{cp.stderr()}'
    assert noticed <= NOTICE_BOUND, f'took {noticed:.1f} s to notice, bound {NOTICE_BOUND} s'
    assert ms[0].group(1) == LOCALHOST, ms[0].group(0)
    reset_after = res['ended_at'] - killed['t']
    assert reset_after <= NOTICE_BOUND, f'the open connection was reset only after ' \
                                        f'{reset_after:.1f} s'
    assert cp.alive(), f'ferry exited instead of reconnecting:\n{cp.stderr()}'
    assert fl.listens_on(cp.pid, lport), 'the -L listener was closed while the server was down'

    time.sleep(max(0.0, killed['t'] + 1.0 - time.monotonic()))
    restarted = time.monotonic()                # the server is being started
    srv = _up(server, srv, ferryd)
    d = fl.Deadline(RECOVER_BOUND, 'forwards back after the restart')
    rports = _remote_ports(cp, 2, d.left())
    assert rports, (f'no new "Allocated port" line for the -R within {RECOVER_BOUND} s of '
                    f'the restart:\n{cp.stderr()}\nserver log:\n{fl.tail(srv.log_text())}')
    l_took = sv.wait_echo(lport, max(0.1, d.remaining()), start=4)
    r_took = sv.wait_echo(rports[1], max(0.1, d.remaining()), start=5)
    recovered = time.monotonic() - restarted
    assert l_took is not None, f'the -L forward did not carry data again:\n{cp.stderr()}'
    assert r_took is not None, f'the new -R port {rports[1]} did not carry data:\n{cp.stderr()}'
    assert recovered <= RECOVER_BOUND

    err = cp.stderr()
    [m] = sv.matches(sv.RECONNECTED_RE, err)
    assert m.group(1) == LOCALHOST
    down = float(m.group(3))
    assert 0.8 <= down <= time.monotonic() - killed['t'] + 0.2, m.group(0)
    assert {int(m.group(1)) for m in sv.matches(sv.LOCAL_RE, err)} == {lport}, \
        'the -L port changed across the reconnect'
    assert fl.listens_on(cp.pid, lport)
    assert cp.alive()
    sv.record(f'kill9_during_transfer[{server}]', noticed_s=noticed, reset_s=reset_after,
              restart_to_data_s=recovered, down_reported_s=down,
              attempts=int(m.group(2)), transferred_before_kill=res['sent'])


def test_first_connect_fails_then_server_appears(lab, ferryd):
    """Started while nothing listens on the port: at least two "Reconnect
    ... failed" lines whose delays follow the doubling (with jitter); once
    ferryd starts on that port the forwards carry data within
    ReconnectMaxDelay + 5 s."""
    base, cap = 1.0, 4.0
    port = fl.pick_free_port()
    kh = sv.known_hosts_for(lab, port)
    echo = lab.echo()
    argv = sv.reconnect_argv(lab, port, known_hosts=kh, local=[_spec(0, echo)],
                             remote=[_spec(0, echo)], delay='1', max_delay='4')
    cp = rl.start_client(lab, 'ferry', argv)
    ms = cp.wait_for(sv.FAILED_RE, 2, 8)
    assert ms, f'fewer than two "Reconnect ... failed" lines within 8 s:\n{cp.stderr()}'
    started = time.monotonic()
    srv = sv.start_ferryd(ferryd, config=[f'Port {port}'])
    fails = sv.matches(sv.FAILED_RE, cp.stderr())
    delays = [float(m.group(3)) for m in fails]
    attempts = [int(m.group(4)) for m in fails]
    assert all(m.group(1) == LOCALHOST for m in fails), [m.group(0) for m in fails]
    assert attempts == list(range(attempts[0], attempts[0] + len(attempts))), attempts
    assert sv.backoff_fits(delays, base, cap) is not None, \
        f'delays {delays} do not follow ReconnectDelay {base} doubling to {cap} with jitter'
    assert delays[1] >= delays[0], f'the delay did not grow: {delays}'
    assert not sv.matches(sv.LOST_RE, cp.stderr()), 'a "lost" line without a connection'

    d = fl.Deadline(cap + 5, 'forwards up after the server appeared')
    lport = _local_port(cp, d.left())
    rports = _remote_ports(cp, 1, d.left())
    assert rports, f'no "Allocated port" for the -R:\n{cp.stderr()}'
    assert sv.wait_echo(lport, max(0.1, d.remaining()), start=6) is not None, cp.stderr()
    assert sv.wait_echo(rports[0], max(0.1, d.remaining()), start=7) is not None, cp.stderr()
    took = time.monotonic() - started
    assert took <= cap + 5
    assert srv.alive() and cp.alive()
    sv.record('first_connect_fails', failed_lines=len(fails), delays_s=delays,
              server_start_to_data_s=took)


def test_local_connection_while_down_is_reset(lab, ferryd):
    """While the server is away (stopped with SIGTERM, an orderly shutdown)
    the -L port stays bound by ferry and a connection to it is reset within
    2 s (not left hanging, not a clean EOF); once the server is back on the
    same port the forward works again."""
    srv = sv.start_ferryd(ferryd)
    echo = lab.echo()
    cp = _start(lab, srv, local=[_spec(0, echo)])
    lport = _local_port(cp)
    assert sv.echo_ok(lport, start=8)
    problems = srv.close()
    assert not problems, problems
    assert cp.wait_for(sv.LOST_RE, 1, NOTICE_BOUND), f'no "lost" line:\n{cp.stderr()}'
    outcomes = []
    for i in range(3):
        what, took = sv.probe(lport, 5)
        outcomes.append((what, round(took, 3)))
        assert fl.listens_on(cp.pid, lport), f'ferry no longer listens on -L port {lport}'
        time.sleep(0.2)
    assert all(w == 'reset' for w, _ in outcomes), \
        f'connections to the -L port while down: {outcomes} (want a reset each)'
    assert all(t <= 2 for _, t in outcomes), f'reset too slowly: {outcomes}'
    assert not sv.matches(sv.RECONNECTED_RE, cp.stderr()), 'reconnected to a stopped server?'
    restarted = time.monotonic()
    srv = sv.restart_ferryd(ferryd, srv)
    took = sv.wait_echo(lport, RECOVER_BOUND, start=9)
    assert took is not None, f'the -L forward did not work again:\n{cp.stderr()}'
    assert cp.wait_for(sv.RECONNECTED_RE, 1, 2), cp.stderr()
    sv.record('reset_while_down', reset_s=max(t for _, t in outcomes),
              restart_to_data_s=time.monotonic() - restarted)


def test_refused_remote_forward_retried(lab, ferryd):
    """-R 127.0.0.1:P while a plain listener holds P: the refusal is reported,
    the -L keeps working, the -R is retried on a backoff (neither given up
    nor hammered); once P is free the -R comes up."""
    srv = sv.start_ferryd(ferryd)
    hold, port = sv.hold_port()
    lab.sockets.append(hold)
    echo_l, echo_r = lab.echo(), lab.echo()
    cp = _start(lab, srv, local=[_spec(0, echo_l)], remote=[_spec(port, echo_r)])
    lport = _local_port(cp)
    warned = cp.wait_for(sv.FWD_FAILED_RE.format(port=port), 1, 10)
    assert warned, f'no "remote port forwarding failed" warning:\n{cp.stderr()}'
    t_warn = time.monotonic()
    for i in range(6):                           # the -L works meanwhile, for 3 s
        assert sv.echo_ok(lport, start=10 + i), f'-L failed while the -R was refused:\n' \
                                                f'{cp.stderr()}'
        time.sleep(max(0.0, t_warn + (i + 1) * 0.5 - time.monotonic()))
    refused = [r for r in srv.refusals() if f'remote forward "127.0.0.1":{port}:' in r[3]]
    assert 2 <= len(refused) <= 8, (f'{len(refused)} refused requests for port {port} in 3 s '
                                    f'(want a retry on a backoff):\n{fl.tail(srv.log_text())}')
    assert cp.alive(), cp.stderr()
    hold.close()
    freed = time.monotonic()
    took = sv.wait_echo(port, 10, start=20,
                        before=lambda: any(p == port for _, p in srv.listens()))
    assert took is not None, (f'the -R on port {port} did not come up within 10 s of the port '
                              f'being freed:\n{cp.stderr()}\n{fl.tail(srv.log_text())}')
    lag = time.monotonic() - freed
    assert lag <= MAX_DELAY + 1.5, (f'up {lag:.1f} s after the port came free; the retries '
                                    f'are capped at ReconnectMaxDelay {MAX_DELAY} s')
    assert echo_r.accepted >= 1
    assert sv.echo_ok(lport, start=30)
    sv.record('refused_remote_retried', refusals_in_3s=len(refused), freed_to_data_s=lag)


@pytest.mark.parametrize('sig', [signal.SIGTERM, signal.SIGINT], ids=['TERM', 'INT'])
def test_signal_exits_zero_and_cancels(lab, ferryd, sig):
    """SIGTERM / SIGINT with Reconnect=yes: exit status 0, the -R forward
    cancelled (ferryd logs the cancel and no longer listens on its port)."""
    srv = sv.start_ferryd(ferryd)
    echo = lab.echo()
    cp = _start(lab, srv, remote=[_spec(0, echo)])
    rports = _remote_ports(cp, 1, fl.READY_TIMEOUT)
    assert rports, cp.stderr()
    [rport] = rports
    assert rl.wait_until(lambda: any(p == rport for _, p in srv.listens()), 5)
    assert sv.echo_ok(rport, start=40)
    cp.signal(sig)
    rc = cp.wait_exit(10)
    assert rc == 0, f'exit status {rc} after {sig.name}, expected 0:\n{cp.stderr()}'
    assert srv.wait_log(rf'^ferryd: \S+: Cancelled forwarding of port {rport}$', 1, 5), \
        f'ferryd did not log the cancel of port {rport}:\n{fl.tail(srv.log_text())}'
    assert fdl.port_closed_within(rport, 5), f'ferryd still listens on {rport}'


def test_sigterm_while_reconnecting(lab, ferryd):
    """SIGTERM while the server is away and ferry waits for its next
    attempt: exit status 0 at once."""
    srv = sv.start_ferryd(ferryd)
    echo = lab.echo()
    cp = _start(lab, srv, local=[_spec(0, echo)], delay='1', max_delay='30')
    _local_port(cp)
    sv.kill_ferryd(srv)
    assert cp.wait_for(sv.LOST_RE, 1, NOTICE_BOUND), cp.stderr()
    t = time.monotonic()
    cp.signal(signal.SIGTERM)
    rc = cp.wait_exit(5)
    assert rc == 0, f'exit status {rc}:\n{cp.stderr()}'
    assert time.monotonic() - t < 2


@pytest.mark.parametrize('known', ['changed', 'unknown'])
def test_host_key_failure_not_retried(lab, ferryd, known):
    """A host key that does not match known_hosts (or is not in it, with
    StrictHostKeyChecking=yes) is final: exit 255, no retry, one connection."""
    srv = sv.start_ferryd(ferryd)
    echo = lab.echo()
    kh = lab._sub('kh') / 'known_hosts'
    kh.write_text(f'[{LOCALHOST}]:{srv.port} {lab.keys.host_pub("ed25519-other")}\n'
                  if known == 'changed' else '')
    cp = _start(lab, srv, known_hosts=kh, local=[_spec(0, echo)], delay='1')
    rc = cp.wait_exit(10)
    err = cp.stderr()
    assert rc == 255, f'exit status {rc} (expected 255, no retry):\n{err}'
    assert not sv.matches(sv.FAILED_RE, err) and not sv.matches(sv.LOST_RE, err), err
    assert re.search(r'Host key verification failed|HOST IDENTIFICATION HAS CHANGED|'
                     r'No \S+ host key is known', err), err
    time.sleep(0.3)
    n = srv.count(r'^(?:ferryd|debug1): Connection from 127\.0\.0\.1 port \d+ on ')
    assert n == 1, f'ferryd saw {n} connections, expected 1:\n{fl.tail(srv.log_text())}'


def test_keepalive_defaults_when_reconnecting():
    """ferry -G: with Reconnect=yes and no ServerAliveInterval the interval
    defaults to 10 (CountMax 3) so a dead server is noticed by itself; an
    explicit value wins; without Reconnect the interval stays 0 (off);
    ReconnectDelay defaults to 1 s and takes fractions."""
    def conf(*opts):
        r = sv._ferry_G(*opts)
        assert r.returncode == 0, (opts, r.stderr)
        return dict(ln.split(' ', 1) for ln in r.stdout.splitlines() if ' ' in ln)

    on = conf('Reconnect=yes')
    assert on['reconnect'] == 'yes'
    assert (on['serveraliveinterval'], on['serveralivecountmax']) == ('10', '3'), on
    assert float(on['reconnectdelay']) == 1.0, on['reconnectdelay']
    assert float(on['reconnectmaxdelay']) >= float(on['reconnectdelay'])
    assert conf('Reconnect=yes', 'ServerAliveInterval=4')['serveraliveinterval'] == '4'
    assert conf('Reconnect=yes', 'ServerAliveInterval=0')['serveraliveinterval'] == '0'
    off = conf()
    assert off['reconnect'] == 'no' and off['serveraliveinterval'] == '0', off
    assert float(conf('Reconnect=yes', 'ReconnectDelay=0.5')['reconnectdelay']) == 0.5
