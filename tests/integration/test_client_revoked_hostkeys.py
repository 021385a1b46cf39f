"""RevokedHostKeys (ssh_config(5)): a list of public keys or an OpenSSH KRL
(`ssh-keygen -k`) of host keys the client refuses, read at every host key
check. Every test runs with ferry and with OpenSSH ssh 9.2 (the same
options, the same files), which shows that the expectations, wording
included, are ssh's own: a revoked key (a host certificate revoked by
serial or key ID, or its CA) fails the connection with "Host key TYPE FP
revoked by file F"; a file that cannot be used fails it with "Error
checking host key TYPE FP in revoked keys file F: why"; ssh 9.2 takes the
path as written (no ~ nor %-tokens); a ProxyJump hop is checked by the
file its configuration names."""

import subprocess

import pytest

import ferrylab as fl
from ferrylab import LOCALHOST, USER
from test_hostcerts import ca_line, cert_sshd, make_ca, move_data, write_kh
import test_proxy

FAILED = 'Host key verification failed.'


def fingerprint(pub):
    r = subprocess.run([fl.SSH_KEYGEN, '-l', '-E', 'sha256', '-f', str(pub)],
                       capture_output=True, text=True, timeout=30, check=True)
    return r.stdout.split()[1]


def host_pub(lab, name='ed25519'):
    return f'{lab.keys.host[name]}.pub'


def krl(lab, *args, name='revoked.krl'):
    """ssh-keygen -k -f FILE args..."""
    out = lab._sub('krl') / name
    r = subprocess.run([fl.SSH_KEYGEN, '-k', '-f', str(out)] + [str(a) for a in args],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return out


def key_list(lab, *lines, name='revoked_keys'):
    p = lab._sub('list') / name
    p.write_text(''.join(ln + '\n' for ln in lines))
    return p


def opt(path):
    return ['-o', f'RevokedHostKeys={path}']


def assert_refused(cp, sshd, line):
    err = cp.stderr()
    assert cp.proc.returncode == 255, f'exit {cp.proc.returncode}, expected 255:\n{err}'
    assert line in err, f'{line!r} not in:\n{err}'
    assert FAILED in err, err
    assert fl.ALLOCATED_RE.search(err) is None, err
    assert 'Accepted publickey' not in sshd.log_text(), \
        'the client authenticated although the host key was revoked'


@pytest.mark.parametrize('how', ['list', 'krl', 'krl-sha256'])
def test_revoked_host_key_refused(lab, client, how):
    """The server's key in a list (with comments and other keys), in a KRL
    of keys, in a KRL of SHA-256 hashes: refused in ssh's words."""
    sshd = lab.sshd()
    if how == 'list':
        path = key_list(lab, '# retired hosts', '', lab.keys.host_pub('ecdsa') + ' old',
                        '  ' + lab.keys.host_pub('ed25519') + ' gw1')
    elif how == 'krl':
        path = krl(lab, host_pub(lab, 'rsa'), host_pub(lab))
    else:
        spec = lab.dir / 'spec'
        spec.write_text(f'hash: {fingerprint(host_pub(lab))}\n')
        path = krl(lab, spec)
    cp = lab.run(client, sshd, extra=opt(path))
    assert_refused(cp, sshd, f'Host key ED25519 {fingerprint(host_pub(lab))} revoked by '
                             f'file {path}')


@pytest.mark.parametrize('how', ['list', 'krl', 'empty'])
def test_other_keys_revoked_forwards(lab, client, how):
    """Files that revoke other keys (a P-384 line, a type ferry lacks, is
    skipped; ssh reads it) let the connection through; the data is
    checked."""
    sshd = lab.sshd()
    p384 = lab._sub('p384') / 'key'
    subprocess.run([fl.SSH_KEYGEN, '-q', '-t', 'ecdsa', '-b', '384', '-N', '', '-f', str(p384)],
                   check=True, capture_output=True, timeout=60)
    if how == 'list':
        path = key_list(lab, lab.keys.host_pub('ecdsa'), fl.read_pub(p384),
                        lab.keys.host_pub('ed25519-other'))
    elif how == 'krl':
        path = krl(lab, host_pub(lab, 'ecdsa'), host_pub(lab, 'ed25519-other'))
    else:
        path = key_list(lab)
    echo = lab.echo()
    t = lab.tunnel(client, sshd, [echo.addr], extra=opt(path))
    move_data(t)


@pytest.mark.parametrize('what', ['missing', 'directory', 'not-a-key'])
def test_unusable_file_refuses(lab, client, what):
    """A file that cannot be used refuses every host, as ssh 9.2 does."""
    sshd = lab.sshd()
    if what == 'missing':
        path, why = lab.dir / 'no-such-file', 'No such file or directory'
    elif what == 'directory':
        path, why = lab._sub('revdir'), ''
    else:
        path, why = key_list(lab, lab.keys.host_pub('ecdsa'), 'not a key'), 'invalid format'
    cp = lab.run(client, sshd, extra=opt(path))
    assert_refused(cp, sshd, f'Error checking host key ED25519 {fingerprint(host_pub(lab))} '
                             f'in revoked keys file {path}: {why}')


def test_path_taken_as_written(lab, client):
    """ssh 9.2 expands neither ~ nor %-tokens in RevokedHostKeys: a file
    under ~ that would revoke the key is not the one read."""
    sshd = lab.sshd()
    (lab.home / 'revoked').write_text(lab.keys.host_pub('ed25519') + '\n')
    for written in ('~/revoked', f'{lab.home}/%u'):
        cp = lab.run(client, sshd, extra=opt(written))
        assert_refused(cp, sshd, f'Error checking host key ED25519 '
                                 f'{fingerprint(host_pub(lab))} in revoked keys file '
                                 f'{written}: No such file or directory')


def sign(lab, ca, serial, key_id='gw-host'):
    d = lab._sub('hcert')
    pub = d / 'host_ed25519.pub'
    pub.write_text(lab.keys.host_pub('ed25519') + '\n')
    subprocess.run([fl.SSH_KEYGEN, '-q', '-s', str(ca), '-I', key_id, '-h', '-z', str(serial),
                    '-n', f'localhost,{LOCALHOST}', str(pub)],
                   check=True, capture_output=True, timeout=30)
    return d / 'host_ed25519-cert.pub'


@pytest.mark.parametrize('how', ['serial', 'key-id', 'ca-krl', 'ca-list', 'key-list',
                                 'cert-line'])
def test_host_certificate_revoked(lab, client, how):
    """A host certificate a CA line trusts is refused when the file revokes
    it by serial or key ID (KRL), revokes its CA (KRL or list), lists the
    certified key, or lists the certificate itself; the line names the
    certificate's type."""
    ca = make_ca(lab)
    cert = sign(lab, ca, serial=77)
    sshd = cert_sshd(lab, cert)
    kh = write_kh(lab, ca_line(sshd, ca))
    spec = lab.dir / 'spec'
    if how == 'serial':
        spec.write_text('serial: 70-80\n')
        path = krl(lab, '-s', f'{ca}.pub', spec)
    elif how == 'key-id':
        spec.write_text('id: gw-host\n')
        path = krl(lab, '-s', f'{ca}.pub', spec)
    elif how == 'ca-krl':
        path = krl(lab, f'{ca}.pub')
    elif how == 'ca-list':
        path = key_list(lab, fl.read_pub(ca))
    elif how == 'key-list':
        path = key_list(lab, lab.keys.host_pub('ed25519'))
    else:
        path = key_list(lab, cert.read_text().strip())
    cp = lab.run(client, sshd, known_hosts=kh, extra=opt(path))
    assert_refused(cp, sshd, f'Host key ED25519-CERT {fingerprint(host_pub(lab))} revoked '
                             f'by file {path}')


def test_host_certificate_other_serial_accepted(lab, client):
    """A KRL revoking other serials of the same CA: accepted, data flows."""
    ca = make_ca(lab)
    sshd = cert_sshd(lab, sign(lab, ca, serial=77))
    kh = write_kh(lab, ca_line(sshd, ca))
    spec = lab.dir / 'spec'
    spec.write_text('serial: 1-76\nserial: 78\nid: other-host\n')
    echo = lab.echo()
    t = lab.tunnel(client, sshd, [echo.addr], known_hosts=kh,
                   extra=opt(krl(lab, '-s', f'{ca}.pub', spec)))
    move_data(t)


def jump_config(lab, kh, revoked):
    """What each hop reads: ferry and ssh pass -F down the chain (and no -o)."""
    p = test_proxy.jump_config(lab, kh)
    p.write_text(p.read_text() + f'  RevokedHostKeys {revoked}\n')
    return p


@pytest.mark.parametrize('revoke', ['bastion', 'target', 'neither'])
def test_proxy_jump_every_hop(lab, client, revoke):
    """Through a ProxyJump the file of the hop's configuration applies to
    the hop as to the target."""
    bastion = lab.sshd(host_keys=('ed25519-other',))
    target = lab.sshd()
    kh = lab._sub('kh') / 'known_hosts'
    kh.write_text(bastion.known_hosts_line('ed25519-other') + target.known_hosts_line('ed25519'))
    name = {'bastion': 'ed25519-other', 'target': 'ed25519', 'neither': 'ecdsa'}[revoke]
    path = key_list(lab, lab.keys.host_pub(name))
    cfg = jump_config(lab, kh, path)
    extra = ['-F', str(cfg), '-J', f'{USER}@{LOCALHOST}:{bastion.port}']
    if revoke == 'neither':
        echo = lab.echo()
        move_data(lab.tunnel(client, target, [echo.addr], known_hosts=kh, extra=extra))
        return
    cp = lab.run(client, target, known_hosts=kh, extra=extra)
    err = cp.stderr()
    assert cp.proc.returncode == 255, f'exit {cp.proc.returncode}:\n{err}'
    line = f'Host key ED25519 {fingerprint(host_pub(lab, name))} revoked by file {path}'
    assert line in err, f'{line!r} not in:\n{err}'
    assert 'Accepted publickey' not in target.log_text()
    if revoke == 'bastion':
        assert 'Accepted publickey' not in bastion.log_text()


def dash_g(argv):
    r = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 0, f'{argv}: {r.stderr}'
    return [ln for ln in r.stdout.splitlines()
            if ln.split(' ', 1)[0] in ('revokedhostkeys', 'checkhostip')]


@pytest.mark.parametrize('args', [
    [],
    ['-o', 'RevokedHostKeys=~/.ssh/revoked_%h', '-o', 'CheckHostIP=yes'],
    ['-o', 'RevokedHostKeys=none', '-o', 'RevokedHostKeys=/etc/ssh/revoked'],
    ['-o', 'RevokedHostKeys=/a', '-o', 'RevokedHostKeys=/b', '-o', 'CheckHostIP=no'],
    ['-o', 'RevokedHostKeys=NONE', '-o', 'CheckHostIP=true'],
    'config',
])
def test_dash_G_as_ssh(tmp_path, args):
    """ferry -G prints revokedhostkeys and checkhostip as ssh -G does (the
    first value wins, "none" is no file, the path as written)."""
    if args == 'config':
        cfg = tmp_path / 'c.conf'
        cfg.write_text('Host x\n  CheckHostIP yes\n  RevokedHostKeys ${HOME}/rev\n'
                       'Host *\n  CheckHostIP no\n  RevokedHostKeys /other\n')
        args = ['-F', str(cfg)]
    else:
        args = ['-F', '/dev/null'] + args
    ferry = dash_g([fl.require_ferry(), '-G'] + args + ['x'])
    ssh = dash_g([fl.SSH, '-G'] + args + ['x'])
    assert ferry == ssh
    assert any(ln.startswith('checkhostip ') for ln in ferry)
