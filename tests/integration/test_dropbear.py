"""ferry against a second server implementation: dropbear.

dropbear is started by each test on 127.0.0.1 (kernel-picked port, see
remotelab.Dropbear) with its own ed25519 host key. It has no option for an
authorized_keys path, so the test user key is added to root's
~/.ssh/authorized_keys for the duration of this module and the file is put
back exactly as it was (or removed, with ~/.ssh if we created it).

Every test runs for ferry and for OpenSSH ssh (which validates the dropbear
setup). Payloads are checked by byte count and SHA-256.
"""

import os
import shutil

import pytest

import ferrylab as fl
import remotelab as rl
from ferrylab import LOCALHOST, MiB

pytestmark = pytest.mark.skipif(
    not (shutil.which(rl.DROPBEAR) and shutil.which(rl.DROPBEARKEY)),
    reason='dropbear-bin is not installed')

BULK = 16 * MiB
HALF_CLOSE_SIZES = [0, 1, 32767, 32768, 2 * MiB - 1, 2 * MiB, 2 * MiB + 1]


@pytest.fixture(scope='module')
def root_key(keys):
    if fl.USER != 'root' and os.geteuid() != 0:
        pytest.skip('dropbear tests write ~/.ssh/authorized_keys of the user running them '
                    'and are meant for the root test machine')
    with rl.authorized_key(keys.user_pub('ed25519')):
        yield


@pytest.fixture
def dropbear(lab, root_key):
    d = rl.Dropbear(lab.dir / 'dropbear')
    lab.sshds.append(d)          # closed with the lab; its log goes in failure reports
    return d


@pytest.fixture
def known_hosts(lab, dropbear):
    return dropbear.write_known_hosts(lab.dir / 'known_hosts_dropbear')


def _local(lab, client, dropbear, known_hosts, targets):
    return lab.tunnel(client, dropbear, targets, known_hosts=known_hosts)


def _remote(lab, client, dropbear, known_hosts, targets):
    return rl.start_remote(lab, client, dropbear, targets, known_hosts=known_hosts,
                           bind=None)


def _host(t):
    """Where a tunnel's first port is reached. Without -a dropbear binds a
    remote forward to "localhost", ::1 and 127.0.0.1, and when the port it
    picked on ::1 is taken on 127.0.0.1 (a busy machine) it listens on ::1
    alone (seen in CI with ssh and ferry alike)."""
    addrs = rl.listen_addrs(t.ports[0])
    return '::1' if addrs == {'::1'} else LOCALHOST


START = {'L': _local, 'R': _remote}


@pytest.mark.parametrize('direction', ['up', 'down'])
@pytest.mark.parametrize('fwd', ['L', 'R'])
def test_bulk(lab, client, dropbear, known_hosts, fwd, direction):
    """16 MiB one way per test through -L / -R against dropbear."""
    if direction == 'up':
        sink = lab.sink()
        t = START[fwd](lab, client, dropbear, known_hosts, [sink.addr])
        rl.assert_upload_ok(rl.upload(t.ports[0], sink, BULK, start=41, host=_host(t)),
                            BULK, start=41)
    else:
        source = lab.source(BULK, start=43)
        t = START[fwd](lab, client, dropbear, known_hosts, [source.addr])
        rl.assert_download_ok(rl.download(t.ports[0], host=_host(t)), BULK, start=43)
    assert t.alive(), 'client exited after the transfer'
    assert 'Pubkey auth succeeded' in dropbear.log_text()


@pytest.mark.parametrize('n', HALF_CLOSE_SIZES)
@pytest.mark.parametrize('fwd', ['L', 'R'])
def test_half_close(lab, client, dropbear, known_hosts, fwd, n):
    """n bytes then SHUT_WR through dropbear to an echo server: all n come
    back before EOF."""
    echo = lab.echo()
    t = START[fwd](lab, client, dropbear, known_hosts, [echo.addr])
    count, digest = rl.echo_exchange(t.ports[0], n, start=n + 47, host=_host(t))
    assert count == n, f'got {count} of {n} bytes back before EOF'
    assert digest == fl.pattern_sha256(n, n + 47)
    assert not echo.errors, echo.errors
    assert t.alive()


def test_remote_port_zero(lab, client, dropbear, known_hosts):
    """Two -R 0: dropbear allocates the ports, the client announces them, dropbear
    holds it (on loopback only: no -a), and it carries data."""
    echos = [lab.echo(), lab.echo()]
    t = rl.start_remote(lab, client, dropbear, [e.addr for e in echos],
                        known_hosts=known_hosts, bind=None)
    assert len(set(t.ports)) == len(t.ports), f'same port allocated twice: {t.ports}'
    for i, p in enumerate(t.ports):
        assert fl.listens_on(dropbear.proc.pid, p), f'dropbear does not hold port {p}'
        addrs = rl.listen_addrs(p)
        assert addrs and addrs <= {'127.0.0.1', '::1'}, addrs
        # "localhost" is ::1 and 127.0.0.1; on a busy machine dropbear may
        # hold the port on one of them only
        host = '127.0.0.1' if '127.0.0.1' in addrs else '::1'
        count, digest = rl.echo_exchange(p, 200000, start=i, host=host)
        assert (count, digest) == (200000, fl.pattern_sha256(200000, i))
        assert echos[i].accepted == 1, f'forward {i} reached the wrong target'
    assert t.alive()
