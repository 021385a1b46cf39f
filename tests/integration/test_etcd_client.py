"""ferry's etcd client (src/fleet) against a real three-member etcd cluster
(Debian's etcd-server 3.4) on 127.0.0.1, driven by tests/tools/etcdtool.c:
put-if-absent, compare-and-swap and delete-if-revision as the fleet registry
will claim, reclaim and release forwards; range pages; leases kept alive,
expiring, revoked; watches; the leader killed while the client keeps working
through another member; a watch resumed on another member after its own died,
with no event lost or repeated. What the client did is checked with etcdctl,
an independent client.
"""

import socket
import threading
import time

import pytest

import etcdlab

PREFIX = '/ferry-test/fwd/tcp/'


@pytest.fixture
def etcd(request, tmp_path):
    lab = etcdlab.EtcdLab(tmp_path)
    request.node._ferrylab = lab
    yield lab
    problems = lab.close()
    if problems:
        pytest.fail('teardown found problems:\n' + '\n'.join(problems), pytrace=False)


def ok(a):
    assert a['status'] == 'ok', a
    return a


def test_claim_reclaim_release(etcd):
    """put-if-absent twice (the second names the holder), CAS with the right
    and a stale revision, delete-if with a stale and the right revision."""
    cluster, t = etcd.cluster, etcd.tool()
    key = PREFIX + '8080'
    first = ok(t.call('put', key, 'node=n1,session=7'))
    assert first['ok'] is True
    second = ok(t.call('put', key, 'node=n2,session=9'))
    assert second['ok'] is False
    assert second['holder']['value'] == 'node=n1,session=7'
    assert second['holder']['mod'] == first['rev']
    assert second['holder']['create'] == first['rev']
    assert cluster.get(key) == {key: 'node=n1,session=7'}

    # reclaim: CAS on the holder's mod_revision; a stale one is refused
    swapped = ok(t.call('cas', key, first['rev'], 'node=n2,session=9'))
    assert swapped['ok'] is True and swapped['rev'] > first['rev']
    stale = ok(t.call('cas', key, first['rev'], 'node=n3,session=1'))
    assert stale['ok'] is False
    assert stale['holder']['value'] == 'node=n2,session=9'
    assert stale['holder']['mod'] == swapped['rev']
    assert cluster.get(key) == {key: 'node=n2,session=9'}

    # release: only at the record's revision
    kept = ok(t.call('del', key, first['rev']))
    assert kept['ok'] is False and kept['holder']['mod'] == swapped['rev']
    assert cluster.get(key) == {key: 'node=n2,session=9'}
    gone = ok(t.call('del', key, swapped['rev']))
    assert gone['ok'] is True
    assert cluster.get(key) == {}
    # a CAS on a record that is gone fails without a holder
    absent = ok(t.call('cas', key, swapped['rev'], 'x'))
    assert absent['ok'] is False and 'holder' not in absent


def test_range_pages(etcd):
    cluster, t = etcd.cluster, etcd.tool()
    ports = list(range(9000, 9007))
    for p in ports:
        assert ok(t.call('put', PREFIX + str(p), f'v{p}'))['ok']
    cluster.ctl('put', '/ferry-test/other', 'outside the prefix')
    seen, after, pages = [], None, 0
    while pages < 10:
        a = ok(t.call('get', PREFIX, 3, *([after] if after else [])))
        pages += 1
        assert a['count'] == len(ports) - len(seen)
        seen += [kv['key'] for kv in a['kvs']]
        if not a['more']:
            break
        assert len(a['kvs']) == 3
        after = a['kvs'][-1]['key']
    assert pages == 3
    assert seen == [PREFIX + str(p) for p in ports]
    a = ok(t.call('get', '/ferry-test/none/'))
    assert a['kvs'] == [] and a['count'] == 0


def test_bad_arguments_refused(etcd):
    cluster = etcd.cluster
    t = etcd.tool([cluster.members[0].client_url])
    a = t.call('put', 'k' * 600, 'v')
    assert a['status'] == 'error' and '600 bytes' in a['err']
    a = t.call('grant', 0)
    assert a['status'] == 'error' and 'TTL 0' in a['err']
    a = t.call('keepalive', 0)
    assert a['status'] == 'error'


def test_lease_keepalive_expiry_revoke(etcd):
    """A record on a lease lives past its TTL while it is kept alive, goes
    once it is not, and goes at once when revoked."""
    cluster, t = etcd.cluster, etcd.tool()
    g = ok(t.call('grant', 3))
    assert g['ttl'] == 3
    key = PREFIX + '7000'
    assert ok(t.call('put', key, 'leased', g['id']))['ok']
    assert ok(t.call('get', PREFIX))['kvs'][0]['lease'] == g['id']
    start = time.monotonic()
    while time.monotonic() - start < 5:        # well past the TTL
        assert ok(t.call('keepalive', g['id']))['ttl'] > 0
        time.sleep(0.5)
    assert cluster.get(key) == {key: 'leased'}
    # no more keepalives: gone within the TTL (and etcd's expiry tick)
    stopped = time.monotonic()
    gone = etcdlab.fl.wait_until(lambda: cluster.get(key) == {}, 10, interval=0.1)
    assert gone, 'the record outlived its lease'
    took = time.monotonic() - stopped
    assert took < 3 + 3, took
    assert ok(t.call('keepalive', g['id']))['ttl'] == 0
    print(f'record gone {took:.2f}s after the last keepalive (TTL 3s)')

    # revoke: the record goes at once; a second revoke is refused
    g = ok(t.call('grant', 30))
    assert ok(t.call('put', key, 'leased-again', g['id']))['ok']
    ok(t.call('revoke', g['id']))
    assert cluster.get(key) == {}
    again = t.call('revoke', g['id'])
    assert again['status'] == 'refused' and again['grpc_code'] == 5
    assert 'lease not found' in again['err']


def test_lease_keeper(etcd):
    """The node's lease kept at a third of its TTL: a record on it outlives
    three TTLs; stopping the keeper revokes it."""
    cluster, t = etcd.cluster, etcd.tool()
    ok(t.call('keeper', 2))
    granted = t.wait_note('t1', lambda o: o['lease'] == 'granted', 10, 'lease granted')
    key = PREFIX + '7100'
    assert ok(t.call('put', key, 'node', granted['id']))['ok']
    t.pump(6.5)
    assert cluster.get(key) == {key: 'node'}
    assert not [o for o in t.notes['t1'] if o['lease'] == 'lost']
    # the lease revoked behind its back (etcdctl takes the ID in hex):
    # the keeper says LOST and holds a new lease within a keepalive or two
    cluster.ctl('lease', 'revoke', format(granted['id'], 'x'))
    lost = t.wait_note('t1', lambda o: o['lease'] == 'lost', 5, 'lease lost')
    assert lost['id'] == granted['id'] and 'is gone' in lost['err']
    again = t.wait_note('t1', lambda o: o['lease'] == 'granted' and o['id'] != granted['id'],
                        5, 'a new lease')
    assert cluster.get(key) == {}
    assert ok(t.call('put', key, 'node', again['id']))['ok']
    a = t.call('keeper-stop', 't1', timeout=15)
    assert a['status'] == 'ok', a
    assert cluster.get(key) == {}


def test_watch_sees_events(etcd):
    cluster, t = etcd.cluster, etcd.tool()
    ok(t.call('watch', PREFIX))
    t.wait_note('t1', lambda o: o.get('created'), 10, 'watch created')
    cluster.ctl('put', PREFIX + '1', 'a')
    cluster.ctl('put', PREFIX + '1', 'b')
    cluster.ctl('put', '/ferry-test/elsewhere', 'not watched')
    cluster.ctl('del', PREFIX + '1')
    last = t.wait_note('t1', lambda o: any(e['type'] == 'DELETE' for e in o.get('events', [])),
                       10, 'the delete event')
    events = [e for o in t.notes['t1'] if o['note'] == 'msg' for e in o['events']]
    assert [(e['type'], e['key'], e['value']) for e in events] == [
        ('PUT', PREFIX + '1', 'a'), ('PUT', PREFIX + '1', 'b'), ('DELETE', PREFIX + '1', '')]
    revs = [e['mod'] for e in events]
    assert revs == sorted(revs) and len(set(revs)) == 3
    assert last['next'] == revs[-1] + 1
    ok(t.call('unwatch', 't1'))


def test_leader_killed(etcd):
    """The client starts on the leader; the leader is killed -9; every call
    after it succeeds through another member within the call's time."""
    cluster = etcd.cluster
    leader = cluster.leader()
    others = [m for m in cluster.members if m is not leader]
    t = etcd.tool([leader.client_url] + [m.client_url for m in others], attempt_ms=1000,
                  call_ms=15000)
    assert ok(t.call('put', PREFIX + '1', 'before'))['member'] == leader.client_url
    cluster.kill(leader)
    times = []
    for i in range(2, 12):
        start = time.monotonic()
        a = ok(t.call('put', PREFIX + str(i), 'after'))
        times.append(time.monotonic() - start)
        assert a['ok'] is True and a['member'] != leader.client_url
    rec = ok(t.call('get', PREFIX))
    assert len(rec['kvs']) == 11
    mod = rec['kvs'][0]['mod']
    assert ok(t.call('cas', PREFIX + '1', mod, 'reclaimed'))['ok']
    assert ok(t.call('member'))['member'] != leader.client_url
    assert cluster.get(PREFIX, prefix=True)[PREFIX + '1'] == 'reclaimed'
    new_leader = cluster.leader()
    assert new_leader is not leader
    print(f'first call after the leader died: {times[0]:.2f}s; '
          f'then at most {max(times[1:]):.3f}s')
    assert max(times[1:]) < 2.0


def test_watch_resumes_on_another_member(etcd):
    """The member a watch streams from is killed -9 while keys change: the
    watch goes on from another member from the revision after its last
    event, so every change arrives once, in order. The watch starts on a
    follower, so that etcdctl's writes need no election (test_leader_killed
    kills the leader)."""
    cluster = etcd.cluster
    leader = cluster.leader()
    order = [m for m in cluster.members if m is not leader] + [leader]
    t = etcd.tool([m.client_url for m in order])
    ok(t.call('watch', PREFIX))
    created = t.wait_note('t1', lambda o: o.get('created'), 10, 'watch created')
    victim = cluster.member(created['member'])
    assert victim is order[0]
    for i in range(3):
        cluster.ctl('put', PREFIX + f'{i}', f'v{i}')
    t.wait_note('t1', lambda o: any(e['key'] == PREFIX + '2' for e in o.get('events', [])),
                10, 'events before the kill')
    cluster.kill(victim)
    for i in range(3, 9):
        cluster.ctl('put', PREFIX + f'{i}', f'v{i}')
    cluster.ctl('del', PREFIX + '0')
    t.wait_note('t1', lambda o: any(e['type'] == 'DELETE' for e in o.get('events', [])),
                30, 'events after the kill')
    notes = t.notes['t1']
    resumed = [o for o in notes if o['note'] == 'resuming']
    assert resumed and resumed[0]['member'] == victim.client_url
    after = notes[notes.index(resumed[0]) + 1:]
    assert after and all(o['member'] != victim.client_url for o in after
                         if o['note'] == 'msg')
    events = [e for o in notes if o['note'] == 'msg' for e in o['events']]
    keys = [(e['type'], e['key']) for e in events]
    assert keys == [('PUT', PREFIX + f'{i}') for i in range(9)] + [('DELETE', PREFIX + '0')]
    revs = [e['mod'] for e in events]
    assert revs == list(range(revs[0], revs[0] + len(revs))), revs
    assert not [o for o in notes if o['note'] == 'end']


def test_every_member_down(etcd):
    """No member answers: the call fails within its time, naming the last
    member tried, and the tool stays usable."""
    cluster = etcd.cluster
    t = etcd.tool(attempt_ms=500, call_ms=3000)
    assert ok(t.call('put', PREFIX + '1', 'v'))['ok']
    ok(t.call('keeper', 2))
    granted = t.wait_note('t2', lambda o: o['lease'] == 'granted', 10, 'lease granted')
    for m in cluster.members:
        cluster.kill(m)
    killed = time.monotonic()
    start = time.monotonic()
    a = t.call('put', PREFIX + '2', 'v', timeout=20)
    took = time.monotonic() - start
    assert a['status'] == 'unavailable', a
    assert 'no etcd member answered in 3000 ms' in a['err']
    assert any(m.client_url in a['err'] for m in cluster.members)
    assert 2.5 < took < 6, took
    assert ok(t.call('member'))
    # the keeper gives its lease up once a whole TTL passed without a
    # keepalive that succeeded
    lost = t.wait_note('t2', lambda o: o['lease'] == 'lost', 10, 'lease lost')
    assert lost['id'] == granted['id'] and 'no keepalive succeeded' in lost['err']
    assert time.monotonic() - killed < 2 + 3


class FakeMember:
    """A listening socket on 127.0.0.1 that is not etcd: 'silent' accepts and
    never answers; 'junk' answers every request with an HTTP 404 page;
    'huge' with 2 MiB of JSON-looking bytes."""

    def __init__(self, kind):
        self.kind = kind
        self.sock = socket.socket()
        self.sock.bind(('127.0.0.1', 0))
        self.sock.listen(16)
        self.url = f'http://127.0.0.1:{self.sock.getsockname()[1]}'
        self.conns = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        self.sock.settimeout(0.2)
        while not self.stop.is_set():
            try:
                c, _ = self.sock.accept()
            except OSError:
                continue
            self.conns.append(c)
            if self.kind != 'silent':
                threading.Thread(target=self._answer, args=(c,), daemon=True).start()

    def _answer(self, c):
        c.settimeout(5)
        try:
            while not self.stop.is_set():
                req = b''
                while b'\r\n\r\n' not in req:
                    chunk = c.recv(65536)
                    if not chunk:
                        return
                    req += chunk
                head, body = req.split(b'\r\n\r\n', 1)
                n = int(next((h.split(b':')[1] for h in head.split(b'\r\n')
                              if h.lower().startswith(b'content-length:')), b'0'))
                while len(body) < n:
                    body += c.recv(65536)
                if self.kind == 'junk':
                    page = b'\x1b[31m<html>not etcd</html>'
                    c.sendall(b'HTTP/1.1 404 Not Found\r\nContent-Length: %d\r\n\r\n%s'
                              % (len(page), page))
                else:
                    page = b'{"header":{},"x":"' + b'A' * (2 << 20) + b'"}'
                    c.sendall(b'HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n' % len(page))
                    c.sendall(page)
        except OSError:
            pass

    def close(self):
        self.stop.set()
        self.thread.join(timeout=5)
        for c in self.conns:
            c.close()
        self.sock.close()


def test_members_that_are_not_etcd(etcd):
    """Members that never answer, answer a 404 page or an answer over the
    bound: each attempt ends (its time, the parse, the bound), the call and
    the watch go on to the real member, and the reasons are logged escaped."""
    fakes = [FakeMember('silent'), FakeMember('junk'), FakeMember('huge')]
    try:
        real = etcd.cluster.members[0]
        t = etcd.tool([f.url for f in fakes] + [real.client_url], attempt_ms=700,
                      call_ms=10000)
        start = time.monotonic()
        a = ok(t.call('put', PREFIX + '1', 'v'))
        took = time.monotonic() - start
        assert a['ok'] and a['member'] == real.client_url
        assert 0.6 < took < 3, took
        log = t.log_text()
        assert f'{fakes[0].url}: Operation timed out after' in log
        assert f'{fakes[1].url}: HTTP 404, not JSON' in log
        # the page's escape byte reached the log escaped, never raw
        assert "near '\\x1b" in log and '\x1b' not in log
        assert f'{fakes[2].url}: an answer over 1048576 bytes' in log
        # calls now go to the member that answered
        start = time.monotonic()
        ok(t.call('get', PREFIX))
        assert time.monotonic() - start < 0.5

        # a watch started on the fakes ends up on the real member
        t2 = etcd.tool([fakes[1].url, fakes[2].url, real.client_url])
        ok(t2.call('watch', PREFIX))
        created = t2.wait_note('t1', lambda o: o.get('created'), 15, 'watch created')
        assert created['member'] == real.client_url
        etcd.cluster.ctl('put', PREFIX + '2', 'seen')
        t2.wait_note('t1', lambda o: any(e['value'] == 'seen' for e in o.get('events', [])),
                     10, 'the event')
        resuming = [o for o in t2.notes['t1'] if o['note'] == 'resuming']
        assert {o['member'] for o in resuming} >= {fakes[1].url, fakes[2].url}
    finally:
        for f in fakes:
            f.close()
