"""TLS between ferryd and etcd (ClusterCAFile, ClusterCertificateFile,
ClusterKeyFile; issue 14).

A CA, etcd's server certificate (IP:127.0.0.1) and client certificates are
made with the openssl CLI (etcdlab.Pki); a three-member etcd serves its
clients over https:// only and asks for a client certificate
(--client-cert-auth). Then:

- two ferryd nodes with the TLS keywords serve fleet-wide forwards to ssh
  and ferry (data checked by SHA-256), the records are where etcdctl (with
  a client certificate) sees them, and another key is refused on the other
  node because the first node's record says so;
- the etcd client's test tool works over TLS, and a client that trusts
  another CA, presents no certificate or an expired one, or asks for the
  members by a name their certificate does not carry, fails with curl's
  reason in one log line naming the member;
- a ferryd that trusts another CA, and one without a client certificate,
  refuse fleet-wide forwards (the client is told) and say why in the log;
- ferryd -t names the keyword, the file and the reason for a missing CA
  file, a key it cannot read, a key of another certificate, a certificate
  without its key, TLS files with http:// members; a ClusterRegistry that
  mixes http:// and https:// is refused; ferryd -T prints the files.
"""

import os
import random
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

import etcdlab
import ferrydlab as fdl
import ferrylab as fl
from ferrydlab import ferryd  # noqa: F401 - fixture
from ferrylab import Deadline, LOCALHOST

SPAN = 32
JOIN_RE = re.compile(r'fleet: node (\S+) joined with lease', re.M)
TLS_FAILED = r'etcd member https://127\.0\.0\.1:\d+: TLS failed: '


@pytest.fixture
def pki(tmp_path):
    return etcdlab.Pki(tmp_path / 'pki').standard()


@pytest.fixture
def etcd(request, tmp_path, pki):
    (tmp_path / 'etcd').mkdir()
    lab = etcdlab.EtcdLab(tmp_path / 'etcd', tls=pki)
    request.node._ferrylab = lab
    yield lab
    problems = lab.close()
    if problems:
        pytest.fail('teardown found problems:\n' + '\n'.join(problems), pytrace=False)


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


class Fleet:
    """ferryd nodes on the TLS cluster, each binding fleet-wide forwards on
    127.0.0.<i+1>."""

    def __init__(self, lab, ferryd, etcd, pki):
        self.lab, self.ferryd, self.etcd, self.pki = lab, ferryd, etcd, pki
        self.low = random.randrange(20000, 30000 - SPAN)
        self.high = self.low + SPAN - 1
        self.prefix = f'/ferry-tls-{random.randrange(1 << 30)}'

    def tls_lines(self, ca=None, cert=True):
        lines = [f'ClusterCAFile {ca or self.pki.ca()[0]}']
        if cert:
            lines += [f'ClusterCertificateFile {self.pki.client[0]}',
                      f'ClusterKeyFile {self.pki.client[1]}']
        return lines

    def node(self, i, tls, join=True):
        n = self.ferryd(config=[f'ClusterRegistry etcd:{self.etcd.cluster.endpoints()}',
                                f'ClusterNodeName n{i + 1}',
                                f'ClusterBindAddress 127.0.0.{i + 1}',
                                f'ClusterPortRange {self.low}-{self.high}',
                                f'ClusterPrefix {self.prefix}',
                                'GatewayPorts yes', *tls], log_level='DEBUG1')
        n.name, n.bind = f'n{i + 1}', f'127.0.0.{i + 1}'
        if join:
            assert n.wait_log(JOIN_RE, 1, 20), f'{n.name} did not join:\n' + \
                fl.tail(n.log_text())
        return n

    def client(self, kind, node, port, echo, identity='ed25519'):
        spec = f':{port}:{LOCALHOST}:{echo.port}'
        return fdl.start_client(self.lab, kind, node, remote=[spec], identity=identity)


def forwarding(node, port, timeout=fl.READY_TIMEOUT):
    rx = re.compile(rf'^ferryd: \S+: Forwarding \S+ port {port} to the client '
                    rf'\(asked "":{port}; .*fleet-wide\)$', re.M)
    return node.wait_log(rx, 1, timeout)


def refused(node, why, timeout=fl.READY_TIMEOUT):
    return node.wait_log(re.compile(rf'^ferryd: refused for .*{why}', re.M), 1, timeout)


@pytest.fixture
def fleet(etcd, lab, ferryd, pki):
    return Fleet(lab, ferryd, etcd, pki)


def test_fleet_wide_forwards_over_tls(fleet, lab):
    """Two nodes on the https:// members with client certificates: ssh and
    ferry forwards carry data, etcdctl sees both records, and n2 refuses
    another key the port n1 holds."""
    n1, n2 = fleet.node(0, fleet.tls_lines()), fleet.node(1, fleet.tls_lines())
    echo = lab.echo()
    ports = {'ssh': fleet.low + 3, 'ferry': fleet.low + 4}
    nodes = {'ssh': n1, 'ferry': n2}
    for kind, port in ports.items():
        fleet.client(kind, nodes[kind], port, echo)
        assert forwarding(nodes[kind], port), fl.tail(nodes[kind].log_text())
    for n, (kind, port) in enumerate(ports.items()):
        assert echo_sha(nodes[kind].bind, port, start=n), f'{kind}: port {port} carries no data'
    held = fleet.etcd.cluster.get(f'{fleet.prefix}/fwd/tcp/', prefix=True)
    assert sorted(held) == sorted(f'{fleet.prefix}/fwd/tcp/{p}' for p in ports.values()), held
    assert '"node":"n1"' in held[f'{fleet.prefix}/fwd/tcp/{ports["ssh"]}']
    assert '"node":"n2"' in held[f'{fleet.prefix}/fwd/tcp/{ports["ferry"]}']
    cp = fleet.client('ssh', n2, ports['ssh'], echo, identity='ecdsa')
    assert refused(n2, rf'"":{ports["ssh"]}: held by node n1 for another key'), \
        fl.tail(n2.log_text())
    assert cp.wait_exit(10) is not None, 'the refused ssh kept running'
    assert 'TLS failed' not in n1.log_text() + n2.log_text()


def tool_args(pki, ca=None, client=None):
    args = ['-A', ca or pki.ca()[0]]
    if client is not False:
        cert, key = client or pki.client
        args += ['-E', cert, '-K', key]
    return args


def test_etcdtool_over_tls(etcd, pki):
    """The etcd client library itself: claims, a range and a watch over
    https:// with a client certificate, checked with etcdctl."""
    t = etcd.tool(tls_args=tool_args(pki))
    key = '/ferry-tls-test/fwd/tcp/8080'
    w = t.call('watch', '/ferry-tls-test/')
    assert w['status'] == 'ok', w
    t.wait_note(w['tag'], lambda o: o.get('created'), 10, 'watch created')
    put = t.call('put', key, 'node=n1')
    assert put['status'] == 'ok' and put['ok'] is True, put
    assert put['member'].startswith('https://127.0.0.1:'), put
    assert etcd.cluster.get(key) == {key: 'node=n1'}
    got = t.call('get', '/ferry-tls-test/', 10)
    assert got['status'] == 'ok' and [kv['value'] for kv in got['kvs']] == ['node=n1'], got
    note = t.wait_note(w['tag'], lambda o: o.get('note') == 'msg' and o.get('events'), 10,
                       'the watch event')
    assert [(e['type'], e['key'], e['value']) for e in note['events']] == [
        ('PUT', key, 'node=n1')], note


@pytest.mark.parametrize('case', ['wrong-ca', 'no-cert', 'expired-cert', 'name-mismatch'])
def test_etcdtool_tls_failures(etcd, pki, case):
    """Each failure is a member that cannot be reached: the call fails over
    them all and ends unavailable, and each member's failure is one log line
    with curl's reason."""
    urls = [m.client_url for m in etcd.cluster.members]
    if case == 'wrong-ca':
        args, why = tool_args(pki, ca=pki.ca('other-ca')[0]), r'certificate'
    elif case == 'no-cert':
        args, why = tool_args(pki, client=False), r'alert (bad certificate|certificate required)'
    elif case == 'expired-cert':
        args, why = tool_args(pki, client=pki.leaf('expired', days=-1)), \
            r'alert (bad|expired) certificate|certificate expired'
    else:
        # the certificate is for IP:127.0.0.1, not for the name localhost
        urls = [u.replace('127.0.0.1', 'localhost') for u in urls]
        args, why = tool_args(pki), r'subject name|does not match'
    t = etcd.tool(urls=urls, tls_args=args, call_ms=3000)
    a = t.call('put', '/ferry-tls-test/x', 'v')
    # the answer names the last failure, which may be the connection's
    # end after the alert rather than the alert: the log has each reason
    assert a['status'] == 'unavailable', a
    assert re.match(r'no etcd member answered in 3000 ms \(last: https://', a['err']), a
    member = r'https://localhost:\d+' if case == 'name-mismatch' else r'https://127\.0\.0\.1:\d+'
    lines = re.findall(rf'^ferry-etcdtool: etcd member {member}: TLS failed: .*$',
                       t.log_text(), re.M)
    assert len({ln.split(': TLS')[0] for ln in lines}) == 3, t.log_text()
    assert all(re.search(why, ln) for ln in lines), lines
    assert etcd.cluster.get('/ferry-tls-test/x') == {}


@pytest.mark.parametrize('case', ['wrong-ca', 'no-cert'])
def test_ferryd_refuses_without_trust(fleet, lab, case):
    """A node that cannot talk TLS to etcd gets no lease: it logs the TLS
    failure naming the member, and refuses a fleet-wide forward (the client
    exits with ExitOnForwardFailure); a node set up right is unaffected."""
    tls = fleet.tls_lines(ca=fleet.pki.ca('other-ca')[0]) if case == 'wrong-ca' else \
        fleet.tls_lines(cert=False)
    bad = fleet.node(0, tls, join=False)
    why = 'certificate' if case == 'wrong-ca' else 'alert (bad certificate|certificate required)'
    assert bad.wait_log(rf'^ferryd: {TLS_FAILED}.*{why}', 1, 10), fl.tail(bad.log_text())
    echo = lab.echo()
    port = fleet.low + 6
    cp = fleet.client('ssh', bad, port, echo)
    # the refusal says why there is no lease (the grant's failure)
    assert refused(bad, rf'"":{port}: the fleet registry is unavailable '
                   r'\(no lease from etcd: .*(TLS|SSL|certificate|member)'), \
        fl.tail(bad.log_text())
    assert cp.wait_exit(10) is not None, 'ssh kept running after the refusal'
    assert 'remote port forwarding failed' in cp.stderr(), cp.stderr()
    assert not JOIN_RE.search(bad.log_text())
    good = fleet.node(1, fleet.tls_lines())
    fleet.client('ferry', good, port, echo)
    assert forwarding(good, port), fl.tail(good.log_text())
    assert echo_sha(good.bind, port)


# ---------------------------------------------------------------- ferryd -t

def check(workdir, lines, test='-t', user=None):
    """ferryd -t (or -T) on a configuration of lines, run as user (None:
    as the test); CompletedProcess."""
    d = Path(tempfile.mkdtemp(dir=workdir))
    os.chmod(d, 0o755)
    cfg = d / 'ferryd_config'
    cfg.write_text('\n'.join(['Port 0', 'ListenAddress 127.0.0.1', f'StateDirectory {d}/state',
                              *lines]) + '\n')
    cfg.chmod(0o644)
    argv = [fdl.require_ferryd(), test, '-f', str(cfg)]
    if user is not None:
        argv = ['setpriv', f'--reuid={user}', '--regid=nogroup', '--clear-groups', *argv]
    return subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=20)


HTTPS = 'ClusterRegistry etcd:https://127.0.0.1:2379,https://127.0.0.1:2380'


def files(pki, ca=None, cert=None, key=None):
    return [f'ClusterCAFile {ca or pki.ca()[0]}',
            f'ClusterCertificateFile {cert or pki.client[0]}',
            f'ClusterKeyFile {key or pki.client[1]}']


def test_ferryd_t_accepts_and_T_prints(tmp_path, pki):
    r = check(tmp_path, [HTTPS, *files(pki)])
    assert r.returncode == 0, r.stderr
    r = check(tmp_path, [HTTPS, *files(pki)], test='-T')
    assert r.returncode == 0, r.stderr
    assert f'clustercafile {pki.ca()[0]}\n' in r.stdout
    assert f'clustercertificatefile {pki.client[0]}\n' in r.stdout
    assert f'clusterkeyfile {pki.client[1]}\n' in r.stdout
    r = check(tmp_path, [], test='-T')
    assert 'clustercafile none\nclustercertificatefile none\nclusterkeyfile none\n' in r.stdout


def test_ferryd_t_file_errors(tmp_path, pki):
    missing = tmp_path / 'nowhere' / 'ca.pem'
    r = check(tmp_path, [HTTPS, *files(pki, ca=missing)])
    assert r.returncode != 0
    assert f'ClusterCAFile: {missing}: No such file or directory' in r.stderr, r.stderr

    other_cert, other_key = pki.leaf('other-client')
    r = check(tmp_path, [HTTPS, *files(pki, key=other_key)])
    assert r.returncode != 0
    assert (f'ClusterKeyFile {other_key} does not go with ClusterCertificateFile '
            f'{pki.client[0]}') in r.stderr, r.stderr

    junk = tmp_path / 'junk.key'
    junk.write_text('not a key\n')
    r = check(tmp_path, [HTTPS, *files(pki, key=junk)])
    assert r.returncode != 0
    assert f'ClusterKeyFile {junk}: not an unencrypted PEM private key' in r.stderr, r.stderr

    r = check(tmp_path, [HTTPS, f'ClusterCertificateFile {pki.client[0]}'])
    assert r.returncode != 0
    assert 'ClusterCertificateFile is given without ClusterKeyFile' in r.stderr, r.stderr

    r = check(tmp_path, [HTTPS, f'ClusterCAFile {pki.client[1]}'])
    assert r.returncode != 0
    assert f'ClusterCAFile {pki.client[1]}: no PEM certificate in it' in r.stderr, r.stderr

    r = check(tmp_path, ['ClusterRegistry etcd:http://127.0.0.1:2379', *files(pki)])
    assert r.returncode != 0
    assert "ClusterCAFile is set but ClusterRegistry's members are http://" in r.stderr, \
        r.stderr


def test_ferryd_t_unreadable_key(pki):
    """The key readable by root alone, ferryd -t run as nobody (in a
    directory of its own under /tmp that nobody may enter): the keyword, the
    file and the reason."""
    d = Path(tempfile.mkdtemp(prefix='ferry-tls-'))
    try:
        os.chmod(d, 0o755)
        ca, cert, key = d / 'ca.pem', d / 'client.pem', d / 'client.key'
        for src, dst, mode in ((pki.ca()[0], ca, 0o644), (pki.client[0], cert, 0o644),
                               (pki.client[1], key, 0o600)):
            shutil.copy(src, dst)
            dst.chmod(mode)
        r = check(d, [HTTPS, *files(pki, ca=ca, cert=cert, key=key)], user='nobody')
        assert r.returncode != 0
        assert f'ClusterKeyFile: {key}: Permission denied' in r.stderr, r.stderr
        key.chmod(0o644)
        r = check(d, [HTTPS, *files(pki, ca=ca, cert=cert, key=key)], user='nobody')
        assert r.returncode == 0, r.stderr
    finally:
        shutil.rmtree(d)


def test_ferryd_t_mixed_schemes(tmp_path):
    r = check(tmp_path, ['ClusterRegistry etcd:https://127.0.0.1:2379,http://127.0.0.1:2380'])
    assert r.returncode != 0
    assert ('ClusterRegistry: URL http://127.0.0.1:2380 is http:// while '
            'https://127.0.0.1:2379 is https://') in r.stderr, r.stderr
