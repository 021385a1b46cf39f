"""Encrypted IdentityFile keys: ferry asks "Enter passphrase for key 'PATH': "
on its terminal (a pty that is its controlling terminal, as in
test_hostkeys_ask.py), with echo off, three times at most, as ssh(1) does,
and decrypts PEM ("Proc-Type: 4,ENCRYPTED") and PKCS#8 keys with OpenSSL;
then 1 MiB goes through -L to OpenSSH sshd (SHA-256 equal). BatchMode yes
asks nothing. OpenSSH's own format (bcrypt-pbkdf) cannot be decrypted: the
key is skipped with the advice (ssh-add, ssh-keygen -p -m PEM) and the next
identity is tried. OpenSSH ssh through the same pty shows the prompt is its
own."""

import subprocess
import time

import pytest

import ferrylab as fl
from test_hostkeys_ask import check_data, forward_port, start_pty

PASS = 'open sesame 42'
V1_MSG = ("is encrypted in OpenSSH's format (bcrypt-pbkdf), which ferry cannot decrypt: "
          "add it to ssh-agent with ssh-add, or convert it with ssh-keygen -p -m PEM")


def make_key(lab, fmt, sshd):
    """A passphrase-protected user key in format fmt ('PEM' rsa, 'PKCS8'
    ecdsa, 'v1' ed25519), authorized on sshd."""
    path = lab._sub('pk') / f'id_{fmt.lower()}'
    argv = [fl.SSH_KEYGEN, '-q', '-N', PASS, '-C', f'pp-{fmt}', '-f', str(path)]
    argv += {'PEM': ['-t', 'rsa', '-b', '2048', '-m', 'PEM'],
             'PKCS8': ['-t', 'ecdsa', '-b', '256', '-m', 'PKCS8'],
             'v1': ['-t', 'ed25519']}[fmt]
    subprocess.run(argv, check=True, capture_output=True, timeout=60)
    head = path.read_text()
    if fmt == 'PEM':
        assert 'Proc-Type: 4,ENCRYPTED' in head
    elif fmt == 'PKCS8':
        assert 'BEGIN ENCRYPTED PRIVATE KEY' in head
    with open(sshd.authorized_keys, 'a') as f:
        f.write(path.with_suffix('.pub').read_text())
    return path


def argv_for(kind, lab, sshd, keys, *, batch='no', forwards=()):
    prog = fl.require_ferry() if kind == 'ferry' else fl.SSH
    argv = [prog, '-F', '/dev/null' if kind == 'ssh' else 'none', '-N',
            '-o', 'StrictHostKeyChecking=yes', '-o', f'BatchMode={batch}',
            '-o', f'UserKnownHostsFile={lab.known_hosts(sshd)}',
            '-o', 'GlobalKnownHostsFile=/dev/null', '-o', 'ExitOnForwardFailure=yes',
            '-o', 'IdentitiesOnly=yes', '-o', 'IdentityAgent=none']
    for f in forwards:
        argv += ['-L', f]
    for k in keys:
        argv += ['-i', str(k)]
    return argv + ['-p', str(sshd.port), '-l', fl.USER, fl.LOCALHOST]


def prompt(key):
    return f"Enter passphrase for key '{key}': "


def fwd(kind, echo):
    port = 0 if kind == 'ferry' else fl.pick_free_port()
    return f'{fl.LOCALHOST}:{port}:{fl.LOCALHOST}:{echo.port}', port


@pytest.mark.parametrize('fmt', ['PEM', 'PKCS8'])
@pytest.mark.parametrize('kind', ['ferry', 'ssh'])
def test_passphrase_typed_then_tunnel(lab, kind, fmt):
    """A wrong passphrase asks again (same prompt), the right one opens the
    key: the -L tunnel carries 1 MiB. Nothing typed is echoed."""
    sshd = lab.sshd()
    key = make_key(lab, fmt, sshd)
    echo = lab.echo()
    spec, port = fwd(kind, echo)
    cp = start_pty(lab, kind, argv_for(kind, lab, sshd, [key], forwards=[spec]))
    assert cp.wait_tty(prompt(key)), f'no prompt:\n{cp.stderr()}\ntty: {cp.tty()!r}'
    cp.type('not the passphrase')
    assert cp.wait_tty(prompt(key), count=2), f'not asked again:\n{cp.tty()!r}'
    cp.type(PASS)
    if kind == 'ferry':
        port = forward_port(cp)
    else:
        d = fl.Deadline(fl.READY_TIMEOUT)
        while not fl.listens_on(cp.pid, port) and d.remaining() > 0 and cp.alive():
            time.sleep(0.05)
    check_data(port)
    assert 'Accepted publickey' in sshd.log_text()
    assert PASS not in cp.tty() and 'not the passphrase' not in cp.tty(), cp.tty()
    assert PASS not in cp.stderr()


def test_three_wrong_passphrases(lab):
    """Three wrong answers: the key is given up (ssh's message), the
    connection fails without it."""
    sshd = lab.sshd()
    key = make_key(lab, 'PEM', sshd)
    cp = start_pty(lab, 'ferry', argv_for('ferry', lab, sshd, [key]))
    for i in range(1, 4):
        assert cp.wait_tty(prompt(key), count=i), f'prompt {i} missing:\n{cp.tty()!r}'
        cp.type(f'wrong {i}')
    assert cp.wait_exit() == 255, cp.stderr()
    assert cp.tty().count(prompt(key)) == 3
    err = cp.stderr()
    assert 'incorrect passphrase supplied to decrypt private key' in err, err
    assert 'Permission denied (publickey).' in err, err
    assert 'Accepted publickey' not in sshd.log_text()


def test_batchmode_asks_nothing(lab):
    """BatchMode yes on a terminal: no prompt, the key skipped with a
    message, authentication fails."""
    sshd = lab.sshd()
    key = make_key(lab, 'PKCS8', sshd)
    cp = start_pty(lab, 'ferry', argv_for('ferry', lab, sshd, [key], batch='yes'))
    assert cp.wait_exit() == 255, cp.stderr()
    assert cp.tty() == ''
    err = cp.stderr()
    assert f'Load key "{key}": key is encrypted with a passphrase and BatchMode is on' \
        in err, err
    assert 'Permission denied (publickey).' in err, err


def test_openssh_format_skipped_next_identity(lab):
    """An ed25519 key in OpenSSH's encrypted format is skipped with the
    advice, without a prompt for it; the next identity (PEM) is asked for
    and used."""
    sshd = lab.sshd()
    v1 = make_key(lab, 'v1', sshd)
    pem = make_key(lab, 'PEM', sshd)
    echo = lab.echo()
    cp = start_pty(lab, 'ferry', argv_for('ferry', lab, sshd, [v1, pem],
                                          forwards=[f'{fl.LOCALHOST}:0:{fl.LOCALHOST}:'
                                                    f'{echo.port}']))
    assert cp.wait_tty(prompt(pem)), f'no prompt:\n{cp.stderr()}\ntty: {cp.tty()!r}'
    assert prompt(v1) not in cp.tty()
    assert f'key {v1} {V1_MSG}' in cp.stderr(), cp.stderr()
    cp.type(PASS)
    check_data(forward_port(cp))
