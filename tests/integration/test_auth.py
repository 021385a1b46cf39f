"""User authentication with public keys against sshd."""

import re
import subprocess

import pytest

import ferrylab as fl


def fingerprint(key_path):
    r = subprocess.run([fl.SSH_KEYGEN, '-l', '-E', 'sha256', '-f', f'{key_path}.pub'],
                       capture_output=True, text=True, timeout=20, check=True)
    return r.stdout.split()[1]


@pytest.mark.parametrize('alg', ['ed25519', 'ecdsa', 'rsa'])
def test_user_key_type(lab, client, alg):
    sshd = lab.sshd()
    echo = lab.echo()
    t = lab.tunnel(client, sshd, [echo.addr], identity=alg)
    assert fl.echo_roundtrip(t.port, b'auth ok') == b'auth ok'
    # sshd (VERBOSE) names the key it accepted
    accepted = re.findall(r'Accepted publickey for \S+ from .* ssh2: \S+ (SHA256:\S+)',
                          sshd.log_text())
    assert accepted == [fingerprint(lab.keys.user[alg])]


def test_unauthorized_key_refused(lab, client):
    sshd = lab.sshd()
    cp = lab.run(client, sshd, identity='unauthorized')
    assert cp.proc.returncode == 255, f'exit status {cp.proc.returncode}, expected 255'
    assert 'Permission denied (publickey).' in cp.stderr()
    assert 'Allocated port' not in cp.stderr()
    assert 'Accepted publickey' not in sshd.log_text()


def test_encrypted_key_without_agent(lab, client):
    """The key is authorized but passphrase-protected, there is no agent and
    BatchMode=yes forbids prompting: a clean failure, not a crash or a hang."""
    sshd = lab.sshd()
    cp = lab.run(client, sshd, identity='encrypted')
    err = cp.stderr()
    assert cp.proc.returncode == 255, f'exit status {cp.proc.returncode}, expected 255'
    assert 'Accepted publickey' not in sshd.log_text()
    if client == 'ferry':
        assert re.search(r'passphrase|agent', err, re.I), \
            f'error does not mention the passphrase or the agent:\n{err}'
    else:
        # OpenSSH silently skips the key in batch mode, then fails to authenticate
        assert 'Permission denied (publickey).' in err
