"""Faults under a fleet of ferryd nodes (ClusterRegistry on etcd; issue 14).

The fleet of test_fleet.py (a three-member etcd, nodes n1, n2 and n3 that
bind fleet-wide forwards on 127.0.0.1, .2 and .3), except that each node
lists the members from its own on (n1: m0 first, n2: m1, n3: m2), so a
member's fault always hits the connections of one node. Data flows are
paced echo exchanges in threads, every byte checked by SHA-256; every wait
is bounded in time and in tries.

- another key gets a port only after the lease of its SIGKILLed holder
  ran out: refused, naming the holder, until an etcdctl watch sees the
  record go; accepted soon after;
- the etcd leader killed while data flows through forwards on all three
  nodes: the flows go on intact, and new forwards work again on every
  node within a bound;
- quorum lost (two members killed) while data flows: the flows go on; a
  new forward is refused because the fleet registry is unavailable (the
  client is told, ferryd logs it); the members back, new forwards work
  within a bound, and every node that lost its lease registers its
  records again (etcdctl sees them all, past the old leases);
- a node's watch whose member died resumes on another member: the same
  key taking the node's port over on another node still drops its
  listener;
- SIGTERM while etcd is unreachable (killed, or frozen): the node exits
  within its bound.
"""

import hashlib
import re
import signal
import threading
import time

import pytest

import ferrylab as fl
from ferrylab import Deadline, KiB
from ferrydlab import ferryd  # noqa: F401 - fixture
from test_fleet import (NODES, Fleet, bind_addr, echo_sha, etcd,  # noqa: F401 - fixture
                        forwarding_re)

LEASE = 3                   # ClusterLeaseTime of the tests that wait one out
CHUNK = 32 * KiB            # a flow's step
PACE = 0.05                 # seconds between two steps
FLOW_MAX = 120.0            # no flow runs longer
NEW_FORWARD_BOUND = 10.0    # a new forward works again this soon after a fault


class RotatedFleet(Fleet):
    """n(i+1) lists the members from m(i) on."""

    def registry(self, i):
        ms = self.etcd.cluster.members
        return 'etcd:' + self.etcd.cluster.endpoints(ms[i:] + ms[:i])


class Flow:
    """A paced echo exchange through host:port in its own thread (CHUNK
    out and back every PACE s) until finish(); what came back is hashed."""

    def __init__(self, host, port, start):
        self.start, self.total, self.error = start, 0, None
        self.sha = hashlib.sha256()
        self.stop = threading.Event()
        self.sock = fl.connect(port, host=host)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        d = Deadline(FLOW_MAX, 'paced flow')
        try:
            while not self.stop.is_set():
                self.sock.settimeout(d.left(fl.IO_TIMEOUT))
                self.sock.sendall(fl.pattern_bytes(CHUNK, self.start + self.total))
                got = 0
                while got < CHUNK:
                    self.sock.settimeout(d.left(fl.IO_TIMEOUT))
                    b = self.sock.recv(CHUNK - got)
                    if not b:
                        raise AssertionError(f'the forward closed after {self.total} bytes')
                    self.sha.update(b)
                    got += len(b)
                self.total += CHUNK
                self.stop.wait(PACE)
        except Exception as e:  # noqa: BLE001 - reported by finish()
            self.error = e
        finally:
            self.sock.close()

    def flowing(self, steps, timeout):
        """True once `steps` more steps went through (within timeout)."""
        mark = self.total
        return fl.wait_until(lambda: self.error is not None or
                             self.total >= mark + steps * CHUNK, timeout) and self.error is None

    def finish(self):
        """Stops the flow; None when every byte came back right, else why."""
        self.stop.set()
        self.thread.join(fl.IO_TIMEOUT + 5)
        if self.thread.is_alive():
            return 'the flow did not stop'
        if self.error is not None:
            return f'{self.error!r} after {self.total} bytes'
        if self.sha.hexdigest() != fl.pattern_sha256(self.total, self.start):
            return f'corrupted: the SHA-256 of {self.total} bytes differs'
        return None


def start_flows(fleet, ports):
    """A flow through each node's forward (ports[i] on node i), going."""
    flows = [Flow(bind_addr(i), p, fl.stream_start(i)) for i, p in enumerate(ports)]
    for i, f in enumerate(flows):
        assert f.flowing(4, 10), f'no data through n{i + 1}: {f.finish()}'
    return flows


def finish_flows(flows):
    bad = {f'n{i + 1}': f.finish() for i, f in enumerate(flows)}
    assert not any(bad.values()), bad
    return sum(f.total for f in flows)


def forward_everywhere(fleet, echo, ports):
    for i, p in enumerate(ports):
        fleet.client(('ferry', 'ssh')[i % 2], i, p, echo)
        assert fleet.forwarding(i, p), fl.tail(fleet.nodes[i].log_text())


def refused_re(port):
    return re.compile(rf'^ferryd: refused for \S+ from \S+ port \d+: '
                      rf'(remote forward "":{port}: .*)$', re.M)


def try_forward(fleet, kind, i, port, echo, identity='ed25519', timeout=15):
    """One client (ssh -v, ferry -v) asking node i for -R :port:. Returns
    (None, client) when ferryd forwards it, (reason, client) when it
    refused (the client has exited then)."""
    n = fleet.nodes[i]
    fwd, ref = forwarding_re(port), refused_re(port)
    text = n.log_text()
    f0, r0 = len(fwd.findall(text)), len(ref.findall(text))
    cp = fleet.client(kind, i, port, echo, identity=identity, extra=['-v'])
    d = Deadline(timeout)
    while True:
        text = n.log_text()
        if len(fwd.findall(text)) > f0:
            return None, cp
        why = ref.findall(text)
        if len(why) > r0:
            assert cp.wait_exit(10) is not None, f'{kind} on n{i + 1} outlived its refusal'
            return why[r0], cp
        assert not d.expired(), (f'n{i + 1} neither forwarded nor refused port {port} '
                                 f'within {timeout}s:\n{fl.tail(text)}')
        time.sleep(0.05)


def forward_until(fleet, kind, i, port, echo, seconds, identity='ed25519', pause=0.2):
    """try_forward() again and again until node i forwards port or
    `seconds` passed. Returns (when it was forwarded or None, [(when a
    refused try started, reason)])."""
    refusals = []
    d = Deadline(seconds)
    for _ in range(int(seconds / pause) + 1):
        t = time.monotonic()
        why, _ = try_forward(fleet, kind, i, port, echo, identity)
        if why is None:
            return time.monotonic(), refusals
        refusals.append((t, why))
        if d.expired():
            break
        time.sleep(pause)
    return None, refusals


def kill9(node):
    node.proc.send_signal(signal.SIGKILL)
    node.proc.wait(5)
    node.closed = True


@pytest.mark.parametrize('kind', ['ssh', 'ferry'])
def test_another_key_after_the_lease_ran_out(etcd, lab, ferryd, kind):  # noqa: F811
    """n1 killed -9 with its lease (3 s) running: another key asking n2
    for n1's port is refused, naming n1, until the record goes with the
    lease (an etcdctl watch says when), then gets it within 1.5 s."""
    fleet = RotatedFleet(lab, ferryd, etcd, lease=LEASE)
    echo = lab.echo()
    port = fleet.low + 3
    fleet.client(kind, 0, port, echo)
    assert fleet.forwarding(0, port)
    watch = etcd.cluster.watch(f'{fleet.prefix}/fwd/tcp/{port}')
    try:
        time.sleep(0.3)                   # etcdctl's watch is on
        t0 = time.monotonic()
        kill9(fleet.nodes[0])
        ok, refusals = forward_until(fleet, kind, 1, port, echo, LEASE + 6, identity='ecdsa')
        gone = watch.deleted(5)
    finally:
        watch.close()
    assert ok is not None, refusals
    assert gone is not None, 'etcdctl did not see the record go'
    assert refusals, 'another key got the port while the lease lived'
    assert all('held by node n1 for another key' in why for _, why in refusals), refusals
    assert refusals[0][0] - t0 < 1.0, 'the first try came late'
    # a keepalive came at most LEASE/3 before the kill: refused that long
    assert refusals[-1][0] - t0 > LEASE / 2, [t - t0 for t, _ in refusals]
    assert all(t < gone for t, _ in refusals), (gone - t0, [t - t0 for t, _ in refusals])
    print(f'{kind}: lease {LEASE} s; record gone {gone - t0:.2f} s after kill -9, '
          f'another key forwarded {ok - gone:.2f} s after that ({len(refusals)} refusals)')
    assert ok - gone < 1.5, ok - gone
    assert echo_sha(bind_addr(1), port)


def test_leader_killed_while_data_flows(etcd, lab, ferryd):  # noqa: F811
    """The leader killed under flows through all three nodes: the flows go
    on intact; a new forward on each node works within the bound."""
    fleet = RotatedFleet(lab, ferryd, etcd)
    echo = lab.echo()
    ports = [fleet.low + 20 + i for i in range(NODES)]
    forward_everywhere(fleet, echo, ports)
    flows = start_flows(fleet, ports)
    cluster = etcd.cluster
    leader = cluster.leader()
    t0 = time.monotonic()
    cluster.kill(leader)
    oks = fl.run_together(NODES, lambda i: forward_until(
        fleet, ('ssh', 'ferry')[i % 2], i, fleet.low + 30 + i, echo, NEW_FORWARD_BOUND),
        NEW_FORWARD_BOUND + 30, 'new forwards')
    elected = cluster.leader()
    for i, f in enumerate(flows):
        assert f.flowing(10, 10), f'n{i + 1}: {f.finish()}'
    total = finish_flows(flows)
    for i, r in enumerate(oks):
        assert not isinstance(r, Exception), (i, r)
        assert r[0] is not None, f'n{i + 1}: no new forward after the leader died: {r[1]}'
    gaps = [f'{r[0] - t0:.2f}' for r in oks]
    print(f'leader {leader.name} killed (n{cluster.members.index(leader) + 1} preferred it); '
          f'{elected.name} leads; new forwards after {gaps} s; {total} bytes flowed')
    for i in range(NODES):
        assert echo_sha(bind_addr(i), fleet.low + 30 + i, start=i)


@pytest.mark.parametrize('kind', ['ssh', 'ferry'])
def test_quorum_lost_and_back(etcd, lab, ferryd, kind):  # noqa: F811
    """Two members killed for longer than the lease: flows go on; n1's new
    forward is refused as the registry being unavailable; every node
    loses its lease. The members back: new forwards within the bound, and
    the records of every node on their new leases."""
    fleet = RotatedFleet(lab, ferryd, etcd, lease=LEASE)
    echo = lab.echo()
    ports = [fleet.low + 40 + i for i in range(NODES)]
    forward_everywhere(fleet, echo, ports)
    flows = start_flows(fleet, ports)
    cluster = etcd.cluster
    down = cluster.members[1:]
    for m in down:
        cluster.kill(m)
    why, cp = try_forward(fleet, kind, 0, fleet.low + 50, echo)
    assert why.startswith(f'remote forward "":{fleet.low + 50}: the fleet registry is '
                          f'unavailable ('), why
    assert f'Remote: {why}' in cp.stderr(), cp.stderr()
    assert re.search(rf'forwarding failed for listen port {fleet.low + 50}\b', cp.stderr()), \
        cp.stderr()
    for n in fleet.nodes:
        assert n.wait_log(rf'fleet: node {n.name} lost its lease', 1, LEASE + 10), \
            fl.tail(n.log_text())
    for i, f in enumerate(flows):
        assert f.flowing(10, 10), f'n{i + 1} without quorum: {f.finish()}'
    t0 = time.monotonic()
    cluster.restart(down)
    back = time.monotonic() - t0
    ok, refusals = forward_until(fleet, kind, 2, fleet.low + 51, echo, NEW_FORWARD_BOUND)
    assert ok is not None, refusals
    for i, n in enumerate(fleet.nodes):
        assert n.wait_log(rf'fleet: port {ports[i]} registered again on lease', 1, 15), \
            fl.tail(n.log_text())
    for i, f in enumerate(flows):
        assert f.flowing(10, 10), f'n{i + 1} after quorum: {f.finish()}'
    total = finish_flows(flows)
    time.sleep(LEASE + 2)                 # the old leases are over by now
    held = cluster.get(f'{fleet.prefix}/fwd/tcp/', prefix=True)
    want = {f'{fleet.prefix}/fwd/tcp/{p}': f'"node":"n{i + 1}"' for i, p in enumerate(ports)}
    want[f'{fleet.prefix}/fwd/tcp/{fleet.low + 51}'] = '"node":"n3"'
    assert sorted(held) == sorted(want), held
    assert all(want[k] in v for k, v in held.items()), held
    print(f'{kind}: quorum back {back:.2f} s after the restart began; a new forward '
          f'{ok - t0:.2f} s after it ({len(refusals)} refusals); {total} bytes flowed')
    assert echo_sha(bind_addr(2), fleet.low + 51)


@pytest.mark.parametrize('how', ['killed', 'frozen'])
def test_watch_resumed_after_its_member_died(etcd, lab, ferryd, how):  # noqa: F811
    """Node A watches on member X, a follower A lists first; X killed (its
    connections reset) or frozen (SIGSTOP: a host gone without a word),
    then the same key takes A's port over on node B: A sees it through
    its watch resumed on another member and drops its listener within
    5 s of the take-over."""
    fleet = RotatedFleet(lab, ferryd, etcd)
    cluster = etcd.cluster
    leader = cluster.leader()
    a = next(i for i, m in enumerate(cluster.members) if m is not leader)
    b, x = (a + 1) % NODES, cluster.members[a]
    echo = lab.echo()
    port = fleet.low + 60
    fleet.client('ferry', a, port, echo)
    assert fleet.forwarding(a, port)
    na = fleet.nodes[a]
    try:
        if how == 'killed':
            cluster.kill(x)
        else:
            x.proc.send_signal(signal.SIGSTOP)
        ok, refusals = forward_until(fleet, 'ssh', b, port, echo, NEW_FORWARD_BOUND)
        assert ok is not None, refusals
        assert na.wait_log(rf'fleet-wide port {port} taken over by a newer session of the '
                           rf'same key on node n{b + 1}', 1, 5), fl.tail(na.log_text())
        assert fl.wait_until(lambda: all(p != port for _, p in na.listens()), 5)
        took = time.monotonic() - ok
    finally:
        if x.alive():
            x.proc.send_signal(signal.SIGCONT)
    resumed = re.escape(f'fleet: the watch goes on past {x.client_url}')
    assert na.count(resumed) >= 1, fl.tail(na.log_text())
    print(f'{how}: {na.name} dropped its listener {took:.2f} s after the take-over on '
          f'n{b + 1}')
    assert echo_sha(bind_addr(b), port)


@pytest.mark.parametrize('how', ['killed', 'frozen'])
def test_sigterm_without_etcd(etcd, lab, ferryd, how):  # noqa: F811
    """etcd killed (connections refused) or frozen (SIGSTOP: nothing
    answers): SIGTERM ends a node with a forward up within 3 s (the
    lease revoke gives up after 1.5 s), exit status 0."""
    fleet = RotatedFleet(lab, ferryd, etcd)
    echo = lab.echo()
    port = fleet.low + 62
    fleet.client('ssh', 0, port, echo)
    assert fleet.forwarding(0, port)
    members = etcd.cluster.alive_members()
    for m in members:
        if how == 'killed':
            etcd.cluster.kill(m)
        else:
            m.proc.send_signal(signal.SIGSTOP)
    try:
        n1 = fleet.nodes[0]
        t0 = time.monotonic()
        problems = n1.close(timeout=3)
        took = time.monotonic() - t0
    finally:
        for m in members:
            if m.alive():
                m.proc.send_signal(signal.SIGCONT)
    assert problems == [], problems
    assert n1.proc.returncode == 0, n1.proc.returncode
    assert n1.count(r'fleet: node n1 left the fleet \(') == 1, fl.tail(n1.log_text())
    print(f'n1 exited {took:.2f} s after SIGTERM with etcd {how}')
