"""A real network partition between ferry and ferryd, made with network
namespaces the test creates (netnslab): silent packet loss (an nft drop on
the veth in the server namespace: no RST, no ICMP) for FERRY_PARTITION_SECONDS
(default 30), then the heal.

    client namespace                         server namespace
    ferry -N -o Reconnect=yes ...  ==veth==  ferryd (10.233.N.2, port 0)
      -L 127.0.0.1:0 -> echo (server ns)       echo on 127.0.0.1
      -R 127.0.0.1:RPORT -> echo2 (client ns)  RPORT: picked there beforehand
    echo2 on 127.0.0.1

Asserted:
  (a) ferry logs `Connection to 10.233.N.2 lost: ...; reconnecting in X s
      (attempt 1)` within ServerAliveInterval*CountMax + 2 s of the drop
  (b) ferryd logs `Timeout, client 10.233.N.1 port P not responding` for that
      session within ClientAliveInterval*CountMax + 2 s
  (c) while down, a connection to the -L port (which stays bound) is reset
      at once, never left hanging; RPORT is not left hanging either
  (d) after the heal both tunnels carry a 1 MiB SHA-256-checked echo within
      10 s (-L from the client namespace, -R from the server namespace); the
      reconnect log lines follow the contract (attempt numbering, backoff
      within ReconnectMaxDelay, `Reconnected ... after N attempt(s), down X s`)
Measured figures are printed and appended as a JSON line to
$FERRY_RECOVERY_LOG when set.
"""

import os
import re
import time

import pytest

import ferrylab as fl
import ferrydlab as fdl
import netnslab as nl
from ferrylab import Deadline, LOCALHOST, MiB, USER

PARTITION_S = float(os.environ.get('FERRY_PARTITION_SECONDS', '30'))
ALIVE_INTERVAL, ALIVE_COUNT = 1, 3                 # both sides
RECONNECT_MAX_DELAY = 4.0
RECONNECT_DELAY = 1.0                              # ferry's default ReconnectDelay
NOTICE_LIMIT = ALIVE_INTERVAL * ALIVE_COUNT + 2    # (a), (b)
RESET_LIMIT = 2.0                                  # (c)
RECOVERY_LIMIT = 10.0                              # (d)
PROBE_EVERY = 5.0
N = MiB

_NUM = r'(\d+(?:\.\d+)?)'


def lost_re(host):
    return re.compile(rf'^Connection to {re.escape(host)} lost: (.+); reconnecting in '
                      rf'{_NUM} s \(attempt (\d+)\)$', re.M)


def failed_re(host):
    return re.compile(rf'^Reconnect to {re.escape(host)} failed: (.+); next attempt in '
                      rf'{_NUM} s \(attempt (\d+)\)$', re.M)


def reconnected_re(host):
    return re.compile(rf'^Reconnected to {re.escape(host)} after (\d+) attempts?, down '
                      rf'{_NUM} s$', re.M)


def backoff_bounds(attempt):
    d = min(RECONNECT_DELAY * 2 ** (attempt - 1), RECONNECT_MAX_DELAY)
    return d / 2, d


def test_partition_ferry_ferryd(lab, keys):
    assert PARTITION_S >= NOTICE_LIMIT + 1, (
        f'FERRY_PARTITION_SECONDS={PARTITION_S:g} is too short: both sides need up to '
        f'{NOTICE_LIMIT} s to notice (use {NOTICE_LIMIT + 1} or more)')
    t_begin = time.monotonic()
    pair = None
    ok = False
    try:
        pair = nl.NsPair()
        figures = _scenario(lab, keys, pair)
        ok = True
    finally:
        problems = pair.close() if pair is not None else []
        if pair is not None:
            left = [ns.name for ns in pair.namespaces
                    if (nl.NETNS_RUN_DIR / ns.name).exists()]
            if left:
                problems.append(f'namespaces {left} still exist after teardown')
        if problems and ok:
            pytest.fail('teardown found problems:\n' + '\n'.join(problems), pytrace=False)
        if problems:
            print('teardown found problems:\n' + '\n'.join(problems))
    figures['test_seconds'] = round(time.monotonic() - t_begin, 2)
    nl.record('partition', figures)
    assert figures['test_seconds'] < PARTITION_S + 55, \
        f'the test took {figures["test_seconds"]} s'


def _scenario(lab, keys, pair):
    cns, sns = pair.client, pair.server
    host, client_ip = pair.server_ip, pair.client_ip

    # --- targets, server, client
    echo_s = nl.in_netns(sns, fl.EchoServer, host=LOCALHOST)
    pair.on_close(echo_s.close)
    lab.servers.append(echo_s)
    echo_c = nl.in_netns(cns, fl.EchoServer, host=LOCALHOST)
    pair.on_close(echo_c.close)
    lab.servers.append(echo_c)
    fd = pair.own(nl.NsFerryd(lab._sub('ferryd'), keys, sns, host, config=[
        f'ClientAliveInterval {ALIVE_INTERVAL}', f'ClientAliveCountMax {ALIVE_COUNT}']))
    lab.sshds.append(fd)
    rport = nl.in_netns(sns, fl.pick_free_port, LOCALHOST, timeout=10)
    kh = lab._sub('kh') / 'known_hosts'
    kh.write_text(fd.known_hosts_line())
    try:
        ferry = fl.require_ferry()
    except fl.FerryMissing as e:
        raise AssertionError(str(e)) from None
    argv = [ferry, '-N',
            '-o', 'Reconnect=yes',
            '-o', f'ServerAliveInterval={ALIVE_INTERVAL}',
            '-o', f'ServerAliveCountMax={ALIVE_COUNT}',
            '-o', f'ReconnectMaxDelay={RECONNECT_MAX_DELAY:g}',
            '-o', 'StrictHostKeyChecking=yes',
            '-o', f'UserKnownHostsFile={kh}',
            '-o', 'BatchMode=yes',
            '-i', str(keys.user['ed25519']), '-p', str(fd.port), '-l', USER,
            '-L', f'{LOCALHOST}:0:{LOCALHOST}:{echo_s.port}',
            '-R', f'{LOCALHOST}:{rport}:{LOCALHOST}:{echo_c.port}',
            host]
    cp = pair.own(nl.NsClient(cns, argv, lab.env))
    lab.clients.append(cp)
    ms = cp.wait_for(fl.ALLOCATED_RE, timeout=fl.READY_TIMEOUT)
    assert ms, (f'ferry did not announce its -L port within {fl.READY_TIMEOUT:g}s '
                f'(alive={cp.alive()}):\n{cp.stderr()}\nferryd:\n{fl.tail(fd.log_text())}')
    lport = int(ms[0].group(1))
    assert nl.listens_in(cp.pid, lport), f'ferry does not listen on {lport}:\n{cp.stderr()}'
    acc = fd.wait_log(fdl.ACCEPTED_RE, timeout=fl.READY_TIMEOUT)
    assert acc and acc[0].group(2) == client_ip, \
        f'ferryd did not log the login from {client_ip}:\n{fd.log_text()}'
    session_port = int(acc[0].group(3))
    d = Deadline(fl.READY_TIMEOUT)
    while not nl.listens_in(fd.pid, rport):
        assert not d.expired(), (f'ferryd does not listen on {LOCALHOST}:{rport} for -R '
                                 f'within {fl.READY_TIMEOUT:g}s:\n{fd.log_text()}\n'
                                 f'ferry:\n{cp.stderr()}')
        time.sleep(0.02)

    # --- both tunnels work before the partition
    nl.in_netns(cns, nl.echo_check, lport, N, fl.stream_start(0), timeout=30)
    nl.in_netns(sns, nl.echo_check, rport, N, fl.stream_start(1), timeout=30)

    # --- the partition
    w = nl.LineWatch()
    w.source('ferry', cp.stderr)
    w.source('ferryd', fd.log_text)
    w.watch('lost', 'ferry', lost_re(host))
    w.watch('srv_timeout', 'ferryd', re.compile(
        rf'^ferryd: Timeout, client {re.escape(client_ip)} port {session_port} '
        rf'not responding$', re.M))
    w.watch('srv_closed', 'ferryd', re.compile(
        rf'^ferryd: Connection from {re.escape(client_ip)} port {session_port} '
        rf'closed: (.*)$', re.M))
    w.watch('reconnected', 'ferry', reconnected_re(host))
    w.arm()
    try:
        pair.partition()
        t_part = time.monotonic()
        return _partitioned(lab, pair, fd, cp, w, t_part, lport, rport, host, client_ip,
                            session_port)
    finally:
        w.stop()
        if pair.partitioned:
            pair.heal()


def _partitioned(lab, pair, fd, cp, w, t_part, lport, rport, host, client_ip,
                 session_port):
    cns, sns = pair.client, pair.server
    fig = {'partition_s': PARTITION_S}

    # (a) ferry notices
    hit = w.wait('lost', NOTICE_LIMIT + 10)
    assert hit, (f'ferry did not log "Connection to {host} lost" within '
                 f'{NOTICE_LIMIT + 10:g}s of the partition (alive={cp.alive()}):\n'
                 f'{cp.stderr()}\nruleset:\n{pair.ruleset()}')
    t_lost, m_lost = hit
    fig['notice_client_s'] = round(t_lost - t_part, 2)
    fig['lost_reason'] = m_lost.group(1)
    first_delay = float(m_lost.group(2))
    assert m_lost.group(3) == '1', f'first lost line is not attempt 1: {m_lost.group(0)!r}'
    lo, hi = backoff_bounds(1)
    assert lo - 0.05 <= first_delay <= hi + 0.05, \
        f'first reconnect delay {first_delay} s outside [{lo}, {hi}]: {m_lost.group(0)!r}'
    assert fig['notice_client_s'] <= NOTICE_LIMIT, (
        f'ferry noticed the partition after {fig["notice_client_s"]} s, more than '
        f'ServerAliveInterval*CountMax + 2 = {NOTICE_LIMIT} s:\n{cp.stderr()}')

    # (c) right after: -L still bound, a connection is reset at once
    assert nl.listens_in(cp.pid, lport), \
        f'ferry dropped its -L listener on {lport} while down:\n{cp.stderr()}'
    probes = [nl.in_netns(cns, nl.probe, lport, timeout=RESET_LIMIT + 1)]

    # (b) ferryd notices
    hit = w.wait('srv_timeout', max(0.0, t_part + NOTICE_LIMIT + 10 - time.monotonic()))
    assert hit, (f'ferryd did not log the ClientAlive timeout of {client_ip} port '
                 f'{session_port} within {NOTICE_LIMIT + 10:g}s of the partition:\n'
                 f'{fd.log_text()}')
    fig['notice_server_s'] = round(hit[0] - t_part, 2)
    closed = w.wait('srv_closed', 5)
    assert closed, f'ferryd did not close the timed-out session:\n{fd.log_text()}'
    assert fig['notice_server_s'] <= NOTICE_LIMIT, (
        f'ferryd noticed the partition after {fig["notice_server_s"]} s, more than '
        f'ClientAliveInterval*CountMax + 2 = {NOTICE_LIMIT} s:\n{fd.log_text()}')

    # (c) for the rest of the partition: -L resets, RPORT does not hang
    rprobes = []
    t_end = t_part + PARTITION_S
    while True:
        rprobes.append(nl.in_netns(sns, nl.probe, rport, timeout=RESET_LIMIT + 1))
        assert cp.alive(), f'ferry exited during the partition:\n{cp.stderr()}'
        assert fd.alive(), f'ferryd exited during the partition:\n{fd.log_text()}'
        assert nl.listens_in(cp.pid, lport), \
            f'ferry dropped its -L listener on {lport} while down:\n{cp.stderr()}'
        left = t_end - time.monotonic()
        if left <= PROBE_EVERY / 2:
            break
        time.sleep(min(PROBE_EVERY, left - PROBE_EVERY / 2))
        probes.append(nl.in_netns(cns, nl.probe, lport, timeout=RESET_LIMIT + 1))
    bad = [(i, p) for i, p in enumerate(probes)
           if p[0] != 'reset' or p[1] > RESET_LIMIT]
    assert not bad, (f'connections to the -L port while down must be reset within '
                     f'{RESET_LIMIT:g}s; got (probe, (outcome, seconds)) {bad} of '
                     f'{probes}:\n{cp.stderr()}')
    fig['reset_s_max'] = round(max(p[1] for p in probes), 3)
    fig['reset_probes'] = len(probes)
    hung = [p for p in rprobes if p[0] in ('open', 'connect-timeout', 'data')]
    assert not hung, f'connections to RPORT {rport} while down hung: {rprobes}'
    fig['rport_while_down'] = sorted({p[0] for p in rprobes})
    time.sleep(max(0.0, t_end - time.monotonic()))

    # (d) the heal
    pair.heal()
    t_heal = time.monotonic()
    fig['partition_measured_s'] = round(t_heal - t_part, 2)
    wl = nl.NsThread(cns, nl.wait_echo, lport, N, fl.stream_start(2), RECOVERY_LIMIT + 10,
                     t_ref=t_heal)
    wr = nl.NsThread(sns, nl.wait_echo, rport, N, fl.stream_start(3), RECOVERY_LIMIT + 10,
                     t_ref=t_heal)
    rec_l, att_l, last_l = wl.result(RECOVERY_LIMIT + 20)
    rec_r, att_r, last_r = wr.result(RECOVERY_LIMIT + 20)
    hit = w.wait('reconnected', 5)
    fig['recovery_L_s'] = None if rec_l is None else round(rec_l, 2)
    fig['recovery_R_s'] = None if rec_r is None else round(rec_r, 2)
    fig['attempts_L'], fig['attempts_R'] = att_l, att_r
    print(f'\npartition figures so far: {fig}')
    assert hit, (f'ferry did not log "Reconnected to {host}" after the heal:\n{cp.stderr()}'
                 f'\nferryd:\n{fl.tail(fd.log_text())}')
    t_rec, m_rec = hit
    fig['reconnected_after_heal_s'] = round(t_rec - t_heal, 2)
    assert rec_l is not None, (f'-L carried no 1 MiB echo within {RECOVERY_LIMIT + 10:g}s '
                               f'of the heal ({att_l} attempts; last: {last_l}):\n'
                               f'{cp.stderr()}')
    assert rec_r is not None, (f'-R (port {rport}) carried no 1 MiB echo within '
                               f'{RECOVERY_LIMIT + 10:g}s of the heal ({att_r} attempts; '
                               f'last: {last_r}):\n{cp.stderr()}\nferryd:\n'
                               f'{fl.tail(fd.log_text())}')
    assert rec_l <= RECOVERY_LIMIT, \
        f'-L recovered {rec_l:.2f} s after the heal (limit {RECOVERY_LIMIT:g}):\n{cp.stderr()}'
    assert rec_r <= RECOVERY_LIMIT, \
        f'-R recovered {rec_r:.2f} s after the heal (limit {RECOVERY_LIMIT:g}):\n{cp.stderr()}'

    # the reconnect lines follow the contract
    err = cp.stderr()
    fails = list(failed_re(host).finditer(err))
    fig['failed_attempts'] = len(fails)
    for i, m in enumerate(fails):
        n = int(m.group(3))
        assert n == i + 2, f'failed attempt lines out of order: {[f.group(0) for f in fails]}'
        lo, hi = backoff_bounds(n)
        assert lo - 0.05 <= float(m.group(2)) <= hi + 0.05, \
            f'backoff {m.group(2)} s outside [{lo}, {hi}] in {m.group(0)!r}'
    attempts = int(m_rec.group(1))
    down = float(m_rec.group(2))
    fig['reconnect_attempts'], fig['down_reported_s'] = attempts, down
    assert attempts == 1 + len(fails), (
        f'"Reconnected after {attempts} attempt(s)" but ferry logged 1 lost line and '
        f'{len(fails)} failed attempts:\n{err}')
    assert (attempts == 1) == bool(re.search(r'after 1 attempt,', m_rec.group(0))), \
        f'singular/plural wrong: {m_rec.group(0)!r}'
    assert abs(down - (t_rec - t_lost)) <= 1.0, (
        f'ferry reports down {down} s; its lost and reconnected lines are '
        f'{t_rec - t_lost:.2f} s apart')
    unexpected = [ln for ln in err.splitlines()
                  if re.match(r'^(Connection to|Reconnect to|Reconnected to) ', ln)
                  and not (lost_re(host).match(ln) or failed_re(host).match(ln)
                           or reconnected_re(host).match(ln))]
    assert not unexpected, f'reconnect lines off the contract: {unexpected}'
    assert len(lost_re(host).findall(err)) == 1, f'more than one loss logged:\n{err}'

    # ferryd saw a second login from the client, and both stayed up
    acc = fd.wait_log(fdl.ACCEPTED_RE, count=2, timeout=5)
    assert acc and acc[1].group(2) == client_ip and int(acc[1].group(3)) != session_port, \
        f'ferryd did not log a second login from {client_ip}:\n{fd.log_text()}'
    assert cp.alive(), f'ferry exited:\n{cp.stderr()}'
    assert fd.alive(), f'ferryd exited:\n{fd.log_text()}'
    return fig
