"""A node joins a fleet only with the fleet's settings (ClusterRegistry on
etcd; issue 14). The first node records its fleet settings at
<prefix>/settings; a node whose ClusterPortRange, host keys or GatewayPorts
differ refuses to start, naming exactly those keywords with both values, and
exits with status 1 before it serves; a node with the same settings joins
and carries data (SHA-256 checked). `ferryd --cluster-reset-settings` makes
a node's settings the fleet's; the old ones are refused from then on. A node
that started while etcd did not answer serves, checks once etcd is back, and
then refuses new fleet-wide forwards with the reason while its tunnels
flow. Cluster* keywords are read at start only: a SIGHUP says so.

The etcd cluster, echo helpers and log patterns are test_fleet.py's.
"""

import random
import re
import signal

import pytest

import ferrydlab as fdl
import ferrylab as fl
from ferrydlab import ferryd  # noqa: F401 - fixture
from ferrylab import LOCALHOST
from test_fleet import JOIN_RE, bind_addr, echo_sha
from test_fleet import etcd  # noqa: F401 - fixture

SPAN = 32
DIFFER_RE = re.compile(r"^ferryd: fleet settings differ from the fleet's: (.*); "
                       r"node (\S+) does not start", re.M)


class Nodes:
    """Nodes of one fleet (a fresh ClusterPrefix) on one etcd."""

    def __init__(self, lab, ferryd, etcd):
        self.lab, self.ferryd, self.etcd = lab, ferryd, etcd
        self.low = random.randrange(20000, 30000 - 2 * SPAN)
        self.high = self.low + SPAN - 1
        self.prefix = f'/ferry-test-{random.randrange(1 << 30)}'

    def start(self, i, *, high=None, gateway='yes', host_key='ed25519', args=()):
        n = self.ferryd(config=[f'ClusterRegistry etcd:{self.etcd.cluster.endpoints()}',
                                f'ClusterNodeName n{i + 1}',
                                f'ClusterBindAddress {bind_addr(i)}',
                                f'ClusterPortRange {self.low}-{high or self.high}',
                                f'ClusterPrefix {self.prefix}',
                                f'GatewayPorts {gateway}'],
                        host_key=host_key, args=args, log_level='DEBUG1')
        n.name, n.bind = f'n{i + 1}', bind_addr(i)
        return n

    def joined(self, n):
        assert n.wait_log(JOIN_RE, 1, 20), f'{n.name} did not join:\n' + fl.tail(n.log_text())
        assert n.wait_log(rf"fleet: node {n.name}'s settings are the fleet's", 1, 10), \
            fl.tail(n.log_text())

    def refused_to_start(self, n, timeout=15):
        """The differences n named, once it exited with status 1."""
        try:
            rc = n.proc.wait(timeout)
        except Exception:
            raise AssertionError(f'{n.name} kept running:\n{fl.tail(n.log_text())}')
        assert rc == 1, f'{n.name} exited with {rc}:\n{fl.tail(n.log_text())}'
        ms = list(DIFFER_RE.finditer(n.log_text()))
        assert len(ms) == 1 and ms[0].group(2) == n.name, fl.tail(n.log_text())
        assert 'Connection from' not in n.log_text()
        return ms[0].group(1)

    def record(self):
        key = f'{self.prefix}/settings'
        return self.etcd.cluster.get(key).get(key, '')

    def forward(self, i, node, kind='ferry', identity='ed25519'):
        """A fleet-wide forward on node carrying data; its port."""
        echo = self.lab.echo()
        port = self.low + 3 + i
        fdl.start_client(self.lab, kind, node, remote=[f':{port}:{LOCALHOST}:{echo.port}'],
                         identity=identity)
        rx = rf'^ferryd: \S+: Forwarding \S+ port {port} to the client .*fleet-wide\)$'
        assert node.wait_log(rx, 1, fl.READY_TIMEOUT), fl.tail(node.log_text())
        assert echo_sha(node.bind, port, start=i), f'{node.bind}:{port} carries no data'
        return port


@pytest.fixture
def nodes(etcd, lab, ferryd):
    return Nodes(lab, ferryd, etcd)


def test_same_settings_join_and_serve(nodes):
    n1 = nodes.start(0)
    nodes.joined(n1)
    rec = nodes.record()
    assert f'"ClusterPortRange":"{nodes.low}-{nodes.high}"' in rec, rec
    assert '"GatewayPorts":"yes"' in rec and '"HostKey":"SHA256:' in rec, rec
    n2 = nodes.start(1)
    nodes.joined(n2)
    nodes.forward(0, n1)
    nodes.forward(1, n2, kind='ssh')
    assert nodes.record() == rec


@pytest.mark.parametrize('change', ['range', 'hostkey', 'gateway', 'range+hostkey'])
def test_differing_node_refuses_to_start(nodes, change):
    n1 = nodes.start(0)
    nodes.joined(n1)
    rec = nodes.record()
    high2 = nodes.high + SPAN
    kw, want = {}, []
    if 'range' in change:
        kw['high'] = high2
        want.append(f'ClusterPortRange {nodes.low}-{high2} (fleet: {nodes.low}-{nodes.high})')
    if 'hostkey' in change:
        kw['host_key'] = 'ecdsa'
        want.append('host keys')
    if 'gateway' in change:
        kw['gateway'] = 'clientspecified'
        want.append('GatewayPorts clientspecified (fleet: yes)')
    n2 = nodes.start(1, **kw)
    assert nodes.refused_to_start(n2) == ', '.join(want)
    assert nodes.record() == rec
    # the fleet is unharmed
    nodes.forward(0, n1)


def test_reset_makes_a_nodes_settings_the_fleets(nodes):
    n1 = nodes.start(0)
    nodes.joined(n1)
    assert n1.close() == []
    high2 = nodes.high + SPAN
    n2 = nodes.start(1, high=high2)
    assert 'ClusterPortRange' in nodes.refused_to_start(n2)
    n2 = nodes.start(1, high=high2, args=['--cluster-reset-settings'])
    assert n2.wait_log(r"fleet: the fleet's settings are node n2's now", 1, 20), \
        fl.tail(n2.log_text())
    assert f'"ClusterPortRange":"{nodes.low}-{high2}"' in nodes.record()
    nodes.forward(1, n2)
    n1 = nodes.start(0)
    assert nodes.refused_to_start(n1) == \
        f'ClusterPortRange {nodes.low}-{nodes.high} (fleet: {nodes.low}-{high2})'
    n3 = nodes.start(2, high=high2)
    nodes.joined(n3)
    nodes.forward(2, n3)


def test_checked_once_etcd_answers(nodes):
    """etcd frozen while n2 starts with another GatewayPorts: n2 serves;
    once etcd answers it logs the difference and refuses new fleet-wide
    forwards with it, keeping its process."""
    n1 = nodes.start(0)
    nodes.joined(n1)
    members = nodes.etcd.cluster.alive_members()
    for m in members:
        m.proc.send_signal(signal.SIGSTOP)
    try:
        n2 = nodes.start(1, gateway='clientspecified')
        assert n2.wait_log(r'fleet: etcd did not answer within \d+ ms; node n2 serves', 1,
                           15), fl.tail(n2.log_text())
    finally:
        for m in members:
            m.proc.send_signal(signal.SIGCONT)
    assert n2.wait_log(r"^ferryd: fleet settings differ from the fleet's: GatewayPorts "
                       r"clientspecified \(fleet: yes\); node n2 keeps its tunnels but "
                       r"takes no new fleet-wide forward", 1, 30), fl.tail(n2.log_text())
    echo = nodes.lab.echo()
    port = nodes.low + 9
    fdl.start_client(nodes.lab, 'ssh', n2, remote=[f':{port}:{LOCALHOST}:{echo.port}'])
    assert n2.wait_log(rf'^ferryd: refused for .*"":{port}: this node\'s fleet settings differ '
                       rf'from the fleet\'s \(GatewayPorts clientspecified', 1, 15), \
        fl.tail(n2.log_text())
    assert n2.alive()


def test_reload_keeps_cluster_settings(nodes, lab):
    """SIGHUP with another ClusterBindAddress and ClusterPortRange: ferryd
    says they take effect at the next start, and a forward after the
    reload is still bound on the start's address."""
    n1 = nodes.start(0)
    nodes.joined(n1)
    text = n1.config_path.read_text()
    text = text.replace(f'ClusterBindAddress {bind_addr(0)}', 'ClusterBindAddress 127.0.0.9')
    text = text.replace(f'ClusterPortRange {nodes.low}-{nodes.high}',
                        f'ClusterPortRange {nodes.low}-{nodes.high + 1}')
    n1.config_path.write_text(text)
    n1.proc.send_signal(signal.SIGHUP)
    assert n1.wait_log(r'^ferryd: ClusterBindAddress, ClusterPortRange take effect at the '
                       r'next start; the values read at start serve meanwhile$', 1, 10), \
        fl.tail(n1.log_text())
    assert n1.wait_log(r'configuration reloaded', 1, 10)
    port = nodes.forward(0, n1)
    assert (bind_addr(0), port) in n1.listens(), n1.listens()
