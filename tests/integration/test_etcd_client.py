"""ferry's etcd client (src/fleet) against a real three-member etcd cluster
(Debian's etcd-server 3.4) on 127.0.0.1, driven by tests/tools/etcdtool.c:
put-if-absent, compare-and-swap and delete-if-revision as the fleet registry
will claim, reclaim and release forwards; range pages; leases kept alive,
expiring, revoked; watches; the leader killed while the client keeps working
through another member; a watch resumed on another member after its own died,
with no event lost or repeated. What the client did is checked with etcdctl,
an independent client.
"""

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
    for m in cluster.members:
        cluster.kill(m)
    start = time.monotonic()
    a = t.call('put', PREFIX + '2', 'v', timeout=20)
    took = time.monotonic() - start
    assert a['status'] == 'unavailable', a
    assert 'no etcd member answered in 3000 ms' in a['err']
    assert any(m.client_url in a['err'] for m in cluster.members)
    assert 2.5 < took < 6, took
    assert ok(t.call('member'))
