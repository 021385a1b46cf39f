"""ferryd nodes as one fleet (ClusterRegistry on etcd; issue 14).

A real three-member etcd (etcdlab.py) and three ferryd nodes, n1, n2 and
n3, whose SSH ports are on 127.0.0.1 and which bind fleet-wide forwards
(GatewayPorts yes) on 127.0.0.1, 127.0.0.2 and 127.0.0.3
(ClusterBindAddress). The clients are OpenSSH ssh and ferry, logging in as
one user with the ed25519 key (the owner) or the ecdsa key (another key).

- port-0 forwards spread over the nodes all get distinct ports inside
  ClusterPortRange, each carrying data (SHA-256 checked);
- another key is refused on every node while the owner lives, and the
  refusal names the node that holds the port;
- the same key takes its port over on another node while the old session
  lives (that node drops its listener), within 2 s after the owner's node
  was killed with SIGKILL (its lease still runs), and another key gets the
  port within 1 s after the owner's node stopped with SIGTERM (its lease
  revoked);
- with etcd gone, a forward up keeps carrying data and a new fleet-wide
  one is refused with the reason;
- a node whose lease ran out while etcd was frozen (SIGSTOP) keeps its
  forward and registers it again on its new lease.
"""

import random
import re
import signal
import time

import pytest

import etcdlab
import ferrydlab as fdl
import ferrylab as fl
from ferrydlab import ferryd  # noqa: F401 - fixture
from ferrylab import Deadline, LOCALHOST

NODES = 3
SPAN = 128                   # ports in ClusterPortRange
JOIN_RE = re.compile(r'fleet: node (\S+) joined with lease', re.M)


def bind_addr(i):
    return f'127.0.0.{i + 1}'


def echo_sha(host, port, size=64 * 1024, start=0, seconds=5.0):
    """One echo exchange through host:port; True when the SHA-256 of what
    came back is right."""
    try:
        s = fl.connect(port, host=host, timeout=seconds)
    except OSError:
        return False
    try:
        count, digest = fl.exchange(s, size, start, Deadline(seconds, 'echo'))
    except (OSError, TimeoutError):
        return False
    finally:
        s.close()
    return count == size and digest == fl.pattern_sha256(size, start)


def forwarding_re(port):
    """ferryd's line for a fleet-wide forward of port."""
    return re.compile(rf'^ferryd: \S+: Forwarding \S+ port {port} to the client '
                      rf'\(asked "":{port}; .*fleet-wide\)$', re.M)


class Fleet:
    def __init__(self, lab, ferryd, etcd, lease=10):
        self.lab, self.etcd, self.lease = lab, etcd, lease
        self.low = random.randrange(20000, 30000 - SPAN)
        self.high = self.low + SPAN - 1
        self.prefix = f'/ferry-test-{random.randrange(1 << 30)}'
        self.nodes = [self._node(ferryd, i) for i in range(NODES)]
        for n in self.nodes:
            assert n.wait_log(JOIN_RE, 1, 20), f'{n.name} did not join:\n' + \
                fl.tail(n.log_text())

    def _node(self, ferryd, i):
        n = ferryd(config=[f'ClusterRegistry {self.registry(i)}',
                           f'ClusterNodeName n{i + 1}',
                           f'ClusterBindAddress {bind_addr(i)}',
                           f'ClusterPortRange {self.low}-{self.high}',
                           f'ClusterPrefix {self.prefix}',
                           f'ClusterLeaseTime {self.lease}',
                           'GatewayPorts yes'], log_level='DEBUG1')
        n.name, n.bind = f'n{i + 1}', bind_addr(i)
        return n

    def registry(self, i):
        """Node i's ClusterRegistry: every member, in the cluster's order."""
        return f'etcd:{self.etcd.cluster.endpoints()}'

    def client(self, kind, i, port, echo, identity='ed25519', **kw):
        spec = f':{port}:{LOCALHOST}:{echo.port}'
        return fdl.start_client(self.lab, kind, self.nodes[i], remote=[spec],
                                identity=identity, **kw)

    def forwarding(self, i, port, timeout=fl.READY_TIMEOUT):
        return self.nodes[i].wait_log(forwarding_re(port), 1, timeout)

    def refused(self, i, why, timeout=fl.READY_TIMEOUT):
        return self.nodes[i].wait_log(re.compile(rf'^ferryd: refused for .*{why}', re.M), 1,
                                      timeout)


@pytest.fixture
def etcd(request, tmp_path):
    (tmp_path / 'etcd').mkdir()
    e = etcdlab.EtcdLab(tmp_path / 'etcd')
    yield e
    e.close()


@pytest.fixture
def fleet(etcd, lab, ferryd):
    return Fleet(lab, ferryd, etcd)


def test_port0_forwards_distinct_across_nodes(fleet, lab):
    """90 port-0 forwards, five per client, 18 clients (ssh and ferry on
    every node): all ports distinct and in ClusterPortRange, each reaching
    its echo."""
    # five targets: ssh merges -R specs that are alike
    targets = [(LOCALHOST, lab.echo().port) for _ in range(5)]
    tunnels = []
    for c in range(18):
        i, kind = c % NODES, ('ssh', 'ferry')[c % 2]
        t = fdl.start_remote(lab, kind, fleet.nodes[i], targets, bind='')
        tunnels.append((i, t))
    ports = [p for _, t in tunnels for p in t.ports]
    assert len(ports) == 90 and len(set(ports)) == 90, ports
    assert all(fleet.low <= p <= fleet.high for p in ports), (fleet.low, fleet.high, ports)
    for n, (i, t) in enumerate(tunnels):
        for p in t.ports:
            assert echo_sha(bind_addr(i), p, start=n), f'{bind_addr(i)}:{p} carries no data'
    held = fleet.etcd.cluster.get(f'{fleet.prefix}/fwd/tcp/', prefix=True)
    assert sorted(int(k.rsplit('/', 1)[1]) for k in held) == sorted(ports)


@pytest.mark.parametrize('kind', ['ssh', 'ferry'])
def test_another_key_refused_on_every_node(fleet, lab, kind):
    echo = lab.echo()
    port = fleet.low + 5
    fleet.client(kind, 0, port, echo)
    assert fleet.forwarding(0, port), fl.tail(fleet.nodes[0].log_text())
    for i in range(NODES):
        cp = fleet.client(kind, i, port, echo, identity='ecdsa')
        assert fleet.refused(i, rf'"":{port}: held by node n1 for another key'), \
            f'n{i + 1}:\n{fl.tail(fleet.nodes[i].log_text())}'
        assert cp.wait_exit(10) is not None, f'{kind} on n{i + 1} kept running'
    assert echo_sha(bind_addr(0), port), 'the owner lost its forward'


def test_same_key_takes_over_from_a_live_session(fleet, lab):
    """The newer session wins on n2; n1 drops its listener."""
    echo = lab.echo()
    port = fleet.low + 7
    fleet.client('ferry', 0, port, echo)
    assert fleet.forwarding(0, port)
    fleet.client('ssh', 1, port, echo)
    assert fleet.forwarding(1, port), fl.tail(fleet.nodes[1].log_text())
    assert fleet.nodes[0].wait_log(rf'fleet-wide port {port} taken over by a newer '
                                   rf'session of the same key on node n2', 1, 5), \
        fl.tail(fleet.nodes[0].log_text())
    assert fl.wait_until(lambda: all(p != port for _, p in fleet.nodes[0].listens()), 5)
    assert echo_sha(bind_addr(1), port)


@pytest.mark.parametrize('kind', ['ssh', 'ferry'])
def test_same_key_reclaims_after_kill9(fleet, lab, kind):
    echo = lab.echo()
    port = fleet.low + 9
    fleet.client(kind, 0, port, echo)
    assert fleet.forwarding(0, port)
    n1 = fleet.nodes[0]
    t0 = time.monotonic()
    n1.proc.send_signal(signal.SIGKILL)
    n1.proc.wait(5)
    n1.closed = True
    fleet.client(kind, 1, port, echo)
    assert fleet.forwarding(1, port, timeout=5), fl.tail(fleet.nodes[1].log_text())
    took = time.monotonic() - t0
    print(f'reclaim on n2 after kill -9 of n1: {took:.3f} s')
    assert took < 2.0, took
    assert echo_sha(bind_addr(1), port)


def test_another_key_after_graceful_stop(fleet, lab):
    """SIGTERM revokes n1's lease: its port is free for anyone at once."""
    echo = lab.echo()
    port = fleet.low + 11
    fleet.client('ferry', 0, port, echo)
    assert fleet.forwarding(0, port)
    t0 = time.monotonic()
    assert fleet.nodes[0].close() == []
    fleet.client('ssh', 2, port, echo, identity='ecdsa')
    assert fleet.forwarding(2, port, timeout=5), fl.tail(fleet.nodes[2].log_text())
    took = time.monotonic() - t0
    print(f'another key on n3 after SIGTERM to n1: {took:.3f} s')
    assert took < 1.0, took
    assert echo_sha(bind_addr(2), port)


def test_etcd_gone_tunnels_flow_new_refused(fleet, lab):
    echo = lab.echo()
    port = fleet.low + 13
    fleet.client('ferry', 0, port, echo)
    assert fleet.forwarding(0, port)
    fleet.etcd.cluster.close()
    assert echo_sha(bind_addr(0), port), 'the forward stopped with etcd'
    fleet.client('ssh', 1, fleet.low + 14, echo)
    assert fleet.refused(1, rf'"":{fleet.low + 14}: the fleet registry is unavailable',
                         timeout=15), fl.tail(fleet.nodes[1].log_text())
    assert echo_sha(bind_addr(0), port, start=3), 'the forward stopped with etcd'


def test_lost_lease_registers_again(etcd, lab, ferryd):
    """etcd frozen past the lease's 3 s: the node says it lost its lease,
    the forward keeps carrying data; after etcd resumes its record is back
    on the new lease, outlives the old one, and still refuses another
    key."""
    fleet = Fleet(lab, ferryd, etcd, lease=3)
    echo = lab.echo()
    port = fleet.low + 17
    fleet.client('ferry', 0, port, echo)
    assert fleet.forwarding(0, port)
    members = fleet.etcd.cluster.alive_members()
    for m in members:
        m.proc.send_signal(signal.SIGSTOP)
    try:
        assert fleet.nodes[0].wait_log(r'fleet: node n1 lost its lease', 1, 15), \
            fl.tail(fleet.nodes[0].log_text())
        assert echo_sha(bind_addr(0), port), 'the forward stopped without etcd'
    finally:
        for m in members:
            m.proc.send_signal(signal.SIGCONT)
    assert fleet.nodes[0].wait_log(rf'fleet: port {port} registered again on lease', 1,
                                   20), fl.tail(fleet.nodes[0].log_text())
    time.sleep(fleet.lease + 2)            # the old lease is over by now
    key = f'{fleet.prefix}/fwd/tcp/{port}'
    held = fleet.etcd.cluster.get(key)
    assert key in held and '"node":"n1"' in held[key], held
    fleet.client('ssh', 1, port, echo, identity='ecdsa')
    assert fleet.refused(1, rf'"":{port}: held by node n1 for another key'), \
        fl.tail(fleet.nodes[1].log_text())
    assert echo_sha(bind_addr(0), port, start=5)
