"""ferryd ReclaimForwards: a client that comes back gets its -R port at once.

ReclaimForwards yes (the default): a session asking for a remote forward
(same bind address string, same non-zero port) that an older session still
holds takes the listener over if both logged in as the same user with the
same key; ferryd logs `...: taken over from the older session from IP port
N (same key SHA256:...; ReclaimForwards yes)`. Another key or another user
is refused (`held by a session from IP port N that logged in with another
user or key`), and so is everyone with ReclaimForwards no (`held by another
session from IP port N (ReclaimForwards no)`); refusals are logged and sent
to the client as SSH_MSG_DEBUG ("Remote: ..." at -v).

The old session is made stale with SIGSTOP (its TCP connection stays open,
nothing answers), or killed with SIGKILL. Fixed ports are chosen by the
kernel beforehand. Clients: ferry and, validating the harness, OpenSSH ssh
(the `client` fixture). The last test runs against OpenSSH sshd, which has
no reclaim: ferry -o Reconnect=yes retries the refused forward until sshd's
ClientAlive timeout clears the stale session. Times are printed and
appended to $FERRY_RECOVERY_LOG (JSON lines) when set.
"""

import os
import re
import signal
import time
import types

import pytest

import ferrylab as fl
import remotelab as rl
import ferrydlab as fdl
import supervise as sv
from ferrydlab import ferryd  # noqa: F401 - fixture
from ferrylab import LOCALHOST, USER

AT_ONCE = 5.0        # seconds: "at once" (a login plus one request, ASan included)


def _spec(port, echo):
    return f'{LOCALHOST}:{port}:{LOCALHOST}:{echo.port}'


def _forwarding_re(port):
    return re.compile(rf'^ferryd: \S+: Forwarding \S+ port {port} to the client '
                      rf'\(asked "127\.0\.0\.1":{port}; .*\)$', re.M)


def _taken_re(port):
    return re.compile(rf'^ferryd: (\S+): remote forward "127\.0\.0\.1":{port}: taken over '
                      rf'from the older session from 127\.0\.0\.1 port (\d+) \(same key '
                      rf'(SHA256:\S+); ReclaimForwards yes\)$', re.M)


def _refused_re(port, why):
    return re.compile(rf'^ferryd: refused for (\S+) from 127\.0\.0\.1 port (\d+): '
                      rf'(remote forward "127\.0\.0\.1":{port}: {why})$', re.M)


def _reaches(port, echo, start):
    """An echo exchange through `port` (SHA-256 checked) that `echo` served."""
    before = echo.accepted
    return sv.echo_ok(port, start=start) and echo.accepted == before + 1


def _first(lab, srv, client, port, echo, log_of=None, **kw):
    """Client #1 holding -R 127.0.0.1:port (ferryd logged the forward and it
    carries data to `echo`); returns (ClientProc, its source port as ferryd
    logged it). `srv` is what the client connects to (ferryd, or a relay
    in front of `log_of`, the ferryd)."""
    cp = fdl.start_client(lab, client, srv, remote=[_spec(port, echo)], **kw)
    srv = log_of or srv
    assert srv.wait_log(_forwarding_re(port), 1, fl.READY_TIMEOUT), \
        f'{client} #1: no forward on port {port}:\n{cp.stderr()}\n{fl.tail(srv.log_text())}'
    assert _reaches(port, echo, start=1), f'port {port} does not reach echo #1'
    accepted = fdl.ACCEPTED_RE.findall(srv.log_text())
    assert len(accepted) == 1, accepted
    return cp, int(accepted[0][2])


class Stopped:
    """SIGSTOP a client for the duration of a with block (SIGCONT after)."""

    def __init__(self, cp):
        self.cp = cp

    def __enter__(self):
        os.kill(self.cp.pid, signal.SIGSTOP)
        return self

    def __exit__(self, *exc):
        try:
            os.kill(self.cp.pid, signal.SIGCONT)
        except ProcessLookupError:
            pass


def test_same_key_takes_over(lab, ferryd, client):
    """Client #1 holds -R P (to echo #1) and is frozen; client #2, same user
    and key, asks for -R P (to echo #2): the forward comes up at once, P now
    reaches echo #2, ferryd logs the take-over naming #1's session and the
    key; thawing #1 does not take it back."""
    srv = ferryd()
    e1, e2 = lab.echo(), lab.echo()
    port = fl.pick_free_port()
    c1, c1_port = _first(lab, srv, client, port, e1)
    fp = fdl.fingerprint_of(lab.keys.user['ed25519'])
    with Stopped(c1):
        t0 = time.monotonic()
        c2 = fdl.start_client(lab, client, srv, remote=[_spec(port, e2)])
        ms = srv.wait_log(_taken_re(port), 1, AT_ONCE)
        taken = time.monotonic() - t0
        assert ms, (f'no take-over within {AT_ONCE} s:\n{c2.stderr()}\n'
                    f'{fl.tail(srv.log_text())}')
        user, old_port, key = ms[0].groups()
        assert (user, int(old_port), key) == (USER, c1_port, fp), ms[0].group(0)
        assert srv.wait_log(_forwarding_re(port), 2, AT_ONCE), fl.tail(srv.log_text())
        d = fl.Deadline(AT_ONCE, 'data to echo #2')
        ok = False
        for i in range(50):
            if _reaches(port, e2, start=10 + i):
                ok = True
                break
            if d.expired():
                break
            time.sleep(0.05)
        flowing = time.monotonic() - t0
        assert ok, f'port {port} does not reach echo #2 within {AT_ONCE} s'
        assert c2.alive(), c2.stderr()
        assert e1.accepted == 1, 'a connection went to the frozen client'
        assert not srv.refusals(), srv.refusals()
    time.sleep(0.3)
    assert _reaches(port, e2, start=100), 'after #1 thawed, port no longer reaches echo #2'
    assert e1.accepted == 1
    assert c2.alive()
    sv.record(f'reclaim_same_key[{client}]', start_to_takeover_s=taken,
              start_to_data_s=flowing)


@pytest.mark.parametrize('who', ['key', 'user'])
def test_other_key_or_user_refused(lab, ferryd, client, who):
    """As above, but client #2 logs in with another key (or as another user
    with the same key): its forward is refused (ExitOnForwardFailure: exit
    255), ferryd logs why and tells the client, P still reaches echo #1."""
    srv = ferryd(authorized={USER: [lab.keys.user_pub(n) for n in ('ed25519', 'ecdsa')],
                             'alice': [lab.keys.user_pub('ed25519')]})
    e1, e2 = lab.echo(), lab.echo()
    port = fl.pick_free_port()
    c1, c1_port = _first(lab, srv, client, port, e1)
    kw = {'identity': 'ecdsa'} if who == 'key' else {'user': 'alice'}
    with Stopped(c1):
        c2 = fdl.start_client(lab, client, srv, remote=[_spec(port, e2)], extra=['-v'], **kw)
        rc = c2.wait_exit(15)
        assert rc == 255, f'exit status {rc}:\n{c2.stderr()}'
    err = c2.stderr()
    assert re.search(sv.FWD_FAILED_RE.format(port=port), err), err
    why = (rf'held by a session from 127\.0\.0\.1 port {c1_port} that logged in with '
           rf'another user or key.*')
    ms = srv.wait_log(_refused_re(port, why), 1, 5)
    assert ms, fl.tail(srv.log_text())
    assert ms[0].group(1) == (USER if who == 'key' else 'alice')
    assert f'Remote: {ms[0].group(3)}' in err, 'the refusal was not sent to the client'
    assert not _taken_re(port).search(srv.log_text()), fl.tail(srv.log_text())
    time.sleep(0.2)
    assert _reaches(port, e1, start=200), 'port no longer reaches echo #1'
    assert e2.accepted == 0
    assert c1.alive()


def test_reclaim_forwards_no(lab, ferryd, client):
    """ReclaimForwards no: the same key is refused too, with the reason
    "(ReclaimForwards no)"; P still reaches echo #1."""
    srv = ferryd(config=['ReclaimForwards no'])
    e1, e2 = lab.echo(), lab.echo()
    port = fl.pick_free_port()
    c1, c1_port = _first(lab, srv, client, port, e1)
    with Stopped(c1):
        c2 = fdl.start_client(lab, client, srv, remote=[_spec(port, e2)], extra=['-v'])
        rc = c2.wait_exit(15)
        assert rc == 255, f'exit status {rc}:\n{c2.stderr()}'
    err = c2.stderr()
    assert re.search(sv.FWD_FAILED_RE.format(port=port), err), err
    why = rf'held by another session from 127\.0\.0\.1 port {c1_port} \(ReclaimForwards no\)'
    ms = srv.wait_log(_refused_re(port, why), 1, 5)
    assert ms, fl.tail(srv.log_text())
    assert f'Remote: {ms[0].group(3)}' in err, 'the refusal was not sent to the client'
    assert not _taken_re(port).search(srv.log_text())
    time.sleep(0.2)
    assert _reaches(port, e1, start=300)
    assert e2.accepted == 0


@pytest.mark.parametrize('path', ['direct', 'silent'])
def test_killed_client_comes_back(lab, ferryd, client, path):
    """kill -9 the client holding -R P and start it again with the same
    spec: the forward is back at once. direct: ferryd sees the old
    connection close. silent: the old client reached ferryd through a relay
    that keeps ferryd's side open (a client whose network vanished), so the
    old session is stale and the new one must take the listener over."""
    srv = ferryd()
    e1 = lab.echo()
    port = fl.pick_free_port()
    via = srv
    if path == 'silent':
        relay = sv.SilentRelay(srv.port)
        lab.servers.append(relay)
        via = types.SimpleNamespace(port=relay.port)
        kh = sv.known_hosts_for(lab, relay.port)
        c1, c1_port = _first(lab, via, client, port, e1, known_hosts=kh, log_of=srv)
    else:
        kh = None
        c1, c1_port = _first(lab, srv, client, port, e1)
    c1.signal(signal.SIGKILL)
    assert c1.wait_exit(5) is not None
    if path == 'silent':
        assert rl.wait_until(lambda: relay.client_gone, 5), 'the relay did not see #1 go'
        time.sleep(0.2)
        assert not re.search(rf'Connection from 127\.0\.0\.1 port {c1_port} closed',
                             srv.log_text()), 'ferryd was told that #1 went away'
    t0 = time.monotonic()
    c2 = fdl.start_client(lab, client, srv, remote=[_spec(port, e1)])
    assert srv.wait_log(_forwarding_re(port), 2, AT_ONCE), \
        f'the forward was not back within {AT_ONCE} s:\n{c2.stderr()}\n' \
        f'{fl.tail(srv.log_text())}'
    announced = time.monotonic() - t0
    assert _reaches(port, e1, start=400)
    flowing = time.monotonic() - t0
    assert not srv.refusals(), srv.refusals()
    assert c2.alive()
    taken = _taken_re(port).search(srv.log_text())
    if path == 'silent':
        assert taken and int(taken.group(2)) == c1_port, fl.tail(srv.log_text())
    sv.record(f'reclaim_after_kill9[{client}-{path}]', start_to_forward_s=announced,
              start_to_data_s=flowing,
              how='taken over' if taken else 'old session closed first')


def test_sshd_stale_session_forward_retried(lab):
    """OpenSSH sshd (no reclaim), ClientAliveInterval 1, ClientAliveCountMax
    2: ferry #1 holds -R P and is frozen; ferry #2 with Reconnect=yes asks
    for -R P: first refused (sshd's stale session still holds P), then up
    once sshd dropped the stale session, within one ReconnectMaxDelay (plus
    a margin) of P coming free. (sshd 9.2 takes about 2 x Interval x
    (CountMax + 1) to drop a frozen client, ~6 s here, not Interval x
    CountMax: that part is sshd's and only bounded loosely.)"""
    alive, count_max = 1, 2
    max_delay = 2
    sshd = sv.new_restartable_sshd(lab, config=[f'ClientAliveInterval {alive}',
                                                f'ClientAliveCountMax {count_max}'])
    e1, e2 = lab.echo(), lab.echo()
    port = fl.pick_free_port()
    kh = lab.known_hosts(sshd)
    c1 = rl.start_client(lab, 'ferry', rl.client_argv(
        'ferry', sshd.port, identity=lab.keys.user['ed25519'], known_hosts=kh,
        remote=[_spec(port, e1)]))
    assert rl.wait_until(lambda: rl.listen_addrs(port), fl.READY_TIMEOUT), \
        f'sshd does not listen on {port}:\n{c1.stderr()}\n{fl.tail(sshd.log_text())}'
    assert _reaches(port, e1, start=500)
    old = set(sshd.session_pids())
    assert old
    freed = {}

    def holds(pid):
        return any(pp == port for _, pp in rl.process_listens(pid))

    def held_by_new_session():
        now = time.monotonic()
        pids = sshd.session_pids()
        if 'at' not in freed and not any(holds(p) for p in pids if p in old):
            freed['at'] = now
        return any(holds(p) for p in pids if p not in old)

    bound = 2 * alive * (count_max + 1) + max_delay + 3
    with Stopped(c1):
        t0 = time.monotonic()
        c2 = rl.start_client(lab, 'ferry', sv.reconnect_argv(
            lab, sshd.port, known_hosts=kh, remote=[_spec(port, e2)],
            max_delay=str(max_delay)))
        warned = c2.wait_for(sv.FWD_FAILED_RE.format(port=port), 1, 5)
        assert warned, f'the forward was not refused first:\n{c2.stderr()}'
        took = sv.wait_echo(port, bound, start=510, before=held_by_new_session)
        assert took is not None, (
            f'the -R on port {port} was not up within {bound} s:\n{c2.stderr()}\n'
            f'{fl.tail(sshd.log_text())}')
        up = time.monotonic()
    assert 'at' in freed
    lag = up - freed['at']
    assert lag <= max_delay + 1.5, (f'the forward came up {lag:.1f} s after sshd freed the '
                                    f'port; retries are capped at {max_delay} s')
    assert e2.accepted >= 1 and e1.accepted == 1
    assert re.search(r'Timeout, client not responding', sshd.log_text()), \
        'sshd did not time the stale session out (the port came free some other way?)'
    retries = len(re.findall(sv.FWD_FAILED_RE.format(port=port), c2.stderr()))
    assert retries >= 2, f'only {retries} refusal(s) seen before the forward came up'
    assert c2.alive()
    sv.record('sshd_stale_session_retry', start_to_data_s=up - t0,
              sshd_freed_after_s=freed['at'] - t0, freed_to_data_s=lag, refusals=retries)


def test_reconnect_after_blackhole_takes_over(lab, ferryd):
    """ferry (Reconnect=yes, ServerAliveInterval 1, CountMax 2) holds
    -R 127.0.0.1:P through a relay that then goes silent both ways (the
    network vanished; ferryd is told nothing, its session is stale): ferry
    declares the connection lost within Interval x CountMax + 2 s,
    reconnects (the relay passes new connections), asks for -R P again, and
    ferryd hands it the stale session's listener at once: P carries data
    again within a few seconds of the loss."""
    srv = ferryd()
    relay = sv.SilentRelay(srv.port)
    lab.servers.append(relay)
    kh = sv.known_hosts_for(lab, relay.port)
    e1 = lab.echo()
    port = fl.pick_free_port()
    cp = rl.start_client(lab, 'ferry', sv.reconnect_argv(
        lab, relay.port, known_hosts=kh, remote=[_spec(port, e1)], alive=(1, 2),
        max_delay='2'))
    assert srv.wait_log(_forwarding_re(port), 1, fl.READY_TIMEOUT), \
        f'no forward on port {port}:\n{cp.stderr()}\n{fl.tail(srv.log_text())}'
    assert _reaches(port, e1, start=600)
    [(_, _, first_port, *_)] = fdl.ACCEPTED_RE.findall(srv.log_text())
    assert relay.blackhole() == 1
    t0 = time.monotonic()
    lost = cp.wait_for(sv.LOST_RE, 1, 1 * 2 + 2 + 2)
    noticed = time.monotonic() - t0
    assert lost, f'ferry did not notice the dead connection:\n{cp.stderr()}'
    assert noticed <= 1 * 2 + 2, f'noticed after {noticed:.1f} s'
    ms = srv.wait_log(_taken_re(port), 1, 10)
    assert ms, f'no take-over:\n{cp.stderr()}\n{fl.tail(srv.log_text())}'
    assert int(ms[0].group(2)) == int(first_port), ms[0].group(0)
    assert srv.wait_log(_forwarding_re(port), 2, 5), fl.tail(srv.log_text())
    took = sv.wait_echo(port, 5, start=601)
    assert took is not None, f'port {port} does not carry data after the take-over'
    back = time.monotonic() - t0
    assert cp.wait_for(sv.RECONNECTED_RE, 1, 2), cp.stderr()
    assert not srv.refusals(), srv.refusals()
    assert e1.accepted >= 2
    assert back - noticed <= 2 + 3, f'{back - noticed:.1f} s from the loss to data'
    sv.record('blackhole_reconnect_takeover', noticed_s=noticed, loss_to_data_s=back - noticed,
              blackhole_to_data_s=back)
