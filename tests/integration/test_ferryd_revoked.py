"""ferryd's RevokedKeys with OpenSSH ssh as the client: a KRL made by
`ssh-keygen -k`, a plain list of keys, and a file that cannot be used
(every key refused, sshd's rule). A revoked key gets sshd's line
"Authentication key ED25519 SHA256:... revoked by file F"."""

import re
import subprocess

import pytest

import ferrydlab as fdl
from ferrydlab import ferryd  # noqa: F401 - fixture
import ferrylab as fl
from ferrylab import LOCALHOST, USER


def _client(lab, srv, identity):
    return fdl.start_client(lab, 'ssh', srv, identity=identity,
                            local=[f'{LOCALHOST}:{fl.pick_free_port()}:{LOCALHOST}:9'])


def _refused(cp):
    rc = cp.wait_exit(20)
    assert rc not in (None, 0), (rc, cp.stderr())
    assert 'Permission denied (publickey)' in cp.stderr(), cp.stderr()


def _accepted(srv, fp):
    return srv.wait_log(rf'^ferryd: Accepted publickey for {re.escape(USER)} from '
                        rf'\S+ port \d+ ssh2: \S+ {re.escape(fp)}$', 1, 15)


def _krl(lab, *specs, name='revoked.krl'):
    out = lab.dir / name
    cmd = [fl.SSH_KEYGEN, '-k', '-f', str(out)]
    r = subprocess.run(cmd + [str(s) for s in specs], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 0, r.stderr
    return out


def _check(lab, ferryd, path, label='ED25519'):
    srv = ferryd(config=[f'RevokedKeys {path}'])
    _refused(_client(lab, srv, 'ed25519'))
    fp = fdl.fingerprint_of(lab.keys.user['ed25519'])
    assert srv.wait_log(rf'^ferryd: Authentication key {label} {re.escape(fp)} revoked by '
                        rf'file {re.escape(str(path))}$', 1, 10), fl.tail(srv.log_text())
    cp = _client(lab, srv, 'ecdsa')
    assert _accepted(srv, fdl.fingerprint_of(lab.keys.user['ecdsa'])), fl.tail(srv.log_text())
    fdl.terminate(cp)
    assert not re.search(rf'Accepted publickey .* {re.escape(fp)}$', srv.log_text(), re.M)


def test_krl_revokes_key(lab, ferryd):
    """A KRL from ssh-keygen -k revoking the ed25519 key: refused with the
    log line; the ecdsa key (not revoked) logs in."""
    pub = lab.keys.user['ed25519'].with_suffix('.pub')
    _check(lab, ferryd, _krl(lab, pub))


@pytest.mark.parametrize('how', ['hash', 'sha1', 'sha256'])
def test_krl_by_hash(lab, ferryd, how):
    """KRLs revoking by a hash of the key (ssh-keygen's spec lines "hash:
    SHA256:...", "sha1: KEY", "sha256: KEY")."""
    spec = lab.dir / 'spec'
    what = (fdl.fingerprint_of(lab.keys.user['ed25519']) if how == 'hash'
            else lab.keys.user_pub('ed25519'))
    spec.write_text(f'{how}: {what}\n')
    _check(lab, ferryd, _krl(lab, '-s', lab.keys.user['ecdsa'], spec, name='sha.krl'))


def test_plain_list(lab, ferryd):
    """A list of public keys, one a line, comments allowed."""
    path = lab.dir / 'revoked_keys'
    path.write_text('# revoked\n\n' + lab.keys.user_pub('ed25519') + ' old laptop\n')
    _check(lab, ferryd, path)


def test_unusable_file_refuses_all(lab, ferryd):
    """A RevokedKeys file that cannot be read: every key refused, the
    reason logged at load and at each attempt."""
    path = lab.dir / 'nosuch.krl'
    srv = ferryd(config=[f'RevokedKeys {path}'])
    assert srv.wait_log(rf'RevokedKeys {re.escape(str(path))} cannot be used, every key will '
                        rf'be refused', 1, 5), fl.tail(srv.log_text())
    for ident in ('ed25519', 'ecdsa'):
        _refused(_client(lab, srv, ident))
    assert srv.wait_log(r'^ferryd: Error checking authentication key ECDSA SHA256:\S+ in '
                        rf'revoked keys file {re.escape(str(path))}: ', 1, 5)
    assert 'Accepted publickey' not in srv.log_text()
    bad = lab.dir / 'bad.krl'
    bad.write_bytes(b'SSHKRL\n\x00' + b'\x00\x00\x00\x07junk')
    srv = ferryd(config=[f'RevokedKeys {bad}'])
    _refused(_client(lab, srv, 'ecdsa'))
    assert 'unsupported format version' in srv.log_text(), fl.tail(srv.log_text())


def test_reload_reads_the_file_again(lab, ferryd):
    """The file is read when the configuration loads: a key revoked later
    counts after SIGHUP."""
    import signal
    path = lab.dir / 'list'
    path.write_text('')
    srv = ferryd(config=[f'RevokedKeys {path}'])
    cp = _client(lab, srv, 'ed25519')
    fp = fdl.fingerprint_of(lab.keys.user['ed25519'])
    assert _accepted(srv, fp)
    fdl.terminate(cp)
    path.write_text(lab.keys.user_pub('ed25519') + '\n')
    srv.proc.send_signal(signal.SIGHUP)
    assert srv.wait_log(r'configuration reloaded', 1, 10)
    _refused(_client(lab, srv, 'ed25519'))
    assert srv.wait_log(rf'revoked by file {re.escape(str(path))}$', 1, 10)
