"""ferryd's AllowUsers / DenyUsers and Banner with real clients (ssh,
ferry, dbclient).

AllowUsers and DenyUsers take sshd_config(5)'s patterns, USER@HOST with
address patterns and address/masklen; DenyUsers is checked first. A
refused user's every key fails (the client sees "Permission denied") and
ferryd logs sshd's line. The client's address varies by binding to
127.0.0.N (ssh and ferry -b, dbclient -b). Banner FILE reaches the client
before authentication, and ssh, dbclient and ferry print it.
"""

import re
import time

import pytest

import ferrydlab as fdl
from ferrydlab import ferryd  # noqa: F401 - fixture
import ferrylab as fl
from ferrylab import LOCALHOST, USER

OTHER_ADDR = '127.0.0.3'


def _client(lab, kind, srv, user, source=None, extra=()):
    extra = list(extra)
    if source is not None:
        extra += ['-b', source]
    return fdl.start_client(lab, kind, srv, user=user, extra=extra,
                            local=[f'{LOCALHOST}:{fl.pick_free_port()}:{LOCALHOST}:9'])


def _refused(cp, kind):
    rc = cp.wait_exit(20)
    assert rc not in (None, 0), (rc, cp.stderr())
    if kind == 'dbclient':
        assert re.search(r'[Nn]o auth methods could be used', cp.stderr()), cp.stderr()
    else:
        assert 'Permission denied (publickey)' in cp.stderr(), cp.stderr()


def _logged_in(srv, user, ip=LOCALHOST):
    return srv.wait_log(rf'^ferryd: Accepted publickey for {re.escape(user)} from '
                        rf'{re.escape(ip)} port \d+ ssh2: ', 1, 15)


@pytest.mark.parametrize('kind', fdl.CLIENT_KINDS)
def test_allow_and_deny_users(lab, ferryd, kind):
    """AllowUsers USER@127.0.0.0/8 alice, DenyUsers alice@127.0.0.3: USER
    logs in, alice logs in from 127.0.0.1 but not from 127.0.0.3 (DenyUsers
    first), carol (a key file, not listed) never does."""
    key = lab.keys.user_pub('ed25519')
    srv = ferryd(config=[f'AllowUsers {USER}@127.0.0.0/8 alice',
                         f'DenyUsers alice@{OTHER_ADDR}'],
                 authorized={USER: [key], 'alice': [key], 'carol': [key]})
    ok = _client(lab, kind, srv, USER)
    assert _logged_in(srv, USER), fl.tail(srv.log_text())
    fdl.terminate(ok)
    _refused(_client(lab, kind, srv, 'carol'), kind)
    assert srv.wait_log(r'^ferryd: User carol from 127\.0\.0\.1 not allowed because not listed '
                        r'in AllowUsers$', 1, 10), fl.tail(srv.log_text())
    _refused(_client(lab, kind, srv, 'alice', source=OTHER_ADDR), kind)
    assert srv.wait_log(rf'^ferryd: User alice from {re.escape(OTHER_ADDR)} not allowed because '
                        rf'listed in DenyUsers$', 1, 10), fl.tail(srv.log_text())
    alice = _client(lab, kind, srv, 'alice')
    assert _logged_in(srv, 'alice'), fl.tail(srv.log_text())
    fdl.terminate(alice)
    assert not re.search(r'Accepted publickey for carol ', srv.log_text())
    assert srv.count(r'^ferryd: Accepted publickey for alice ') == 1, fl.tail(srv.log_text())


def test_allow_users_address_only(lab, ferryd):
    """AllowUsers *@127.0.0.1: anyone from 127.0.0.1, nobody from
    127.0.0.3; negation in the host list refuses what it matches."""
    srv = ferryd(config=['AllowUsers *@127.0.0.0/24,!127.0.0.3'])
    ok = _client(lab, 'ssh', srv, USER)
    assert _logged_in(srv, USER), fl.tail(srv.log_text())
    fdl.terminate(ok)
    _refused(_client(lab, 'ssh', srv, USER, source=OTHER_ADDR), 'ssh')
    assert srv.wait_log(rf'^ferryd: User {re.escape(USER)} from {re.escape(OTHER_ADDR)} not '
                        rf'allowed because not listed in AllowUsers$', 1, 10)


def test_users_printed_and_groups_refused(lab, tmp_path):
    """-T prints every AllowUsers/DenyUsers word a line, as sshd -T;
    AllowGroups is refused with the reason; a bad address/masklen is an
    error naming it."""
    r = fdl.run_ferryd(['-T', '-f', '/dev/null', '-o', f'StateDirectory {tmp_path}',
                        '-o', 'AllowUsers alice bob@10.0.0.0/8', '-o', 'DenyUsers mallory'])
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert [x for x in lines if x.startswith(('allowusers', 'denyusers'))] == \
        ['allowusers alice', 'allowusers bob@10.0.0.0/8', 'denyusers mallory'], r.stdout
    r = fdl.run_ferryd(['-t', '-f', '/dev/null', '-o', f'StateDirectory {tmp_path}',
                        '-o', 'AllowGroups wheel'])
    assert r.returncode == 1 and 'AllowGroups is not supported: ferryd has no system ' \
        'accounts' in r.stderr, r.stderr
    r = fdl.run_ferryd(['-t', '-f', '/dev/null', '-o', f'StateDirectory {tmp_path}',
                        '-o', 'DenyUsers x@10.0.0.0/40'])
    assert r.returncode == 1 and "'10.0.0.0/40' is not an address/masklen" in r.stderr, \
        r.stderr


@pytest.mark.parametrize('kind', fdl.CLIENT_KINDS)
def test_banner(lab, ferryd, kind):
    """Banner FILE: the client prints its text before logging in."""
    banner = lab.dir / 'banner.txt'
    banner.write_text('Authorized use only: ferryd test bastion.\n')
    srv = ferryd(config=[f'Banner {banner}'])
    cp = _client(lab, kind, srv, USER)
    assert _logged_in(srv, USER), fl.tail(srv.log_text())
    d = fl.Deadline(10)
    while 'Authorized use only: ferryd test bastion.' not in cp.stderr() and not d.expired():
        time.sleep(0.05)
    assert 'Authorized use only: ferryd test bastion.' in cp.stderr(), cp.stderr()
    fdl.terminate(cp)


def test_banner_none_and_missing(lab, ferryd, tmp_path):
    """Without Banner nothing is printed; a Banner file that cannot be read
    stops -t with its name."""
    srv = ferryd()
    cp = _client(lab, 'ssh', srv, USER)
    assert _logged_in(srv, USER)
    fdl.terminate(cp)
    assert 'Authorized use only' not in cp.stderr()
    r = fdl.run_ferryd(['-t', '-f', '/dev/null', '-o', f'StateDirectory {tmp_path}',
                        '-o', f'Banner {tmp_path}/nosuch'])
    assert r.returncode == 1 and f'{tmp_path}/nosuch' in r.stderr, r.stderr
