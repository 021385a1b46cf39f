"""-F config files: Host blocks, wildcards and negation, first value wins,
forwards from the file, and errors (unknown keyword, bad forward specs).

Every test runs for ferry and for OpenSSH ssh (which reads the same files and
so validates them); where the two word an error differently both wordings
are listed. Payloads are checked by byte count and SHA-256.
"""

import re
import time

import pytest

import ferrylab as fl
import remotelab as rl
from ferrylab import LOCALHOST, MiB, USER


def write_config(lab, text, name='config'):
    p = lab.dir / name
    p.write_text(text)
    return p


def listen_port(kind):
    """LocalForward listen port: ferry is asked for 0 (and announces what it
    got); ssh does not announce -L ports, so it gets one picked by the kernel."""
    return 0 if kind == 'ferry' else fl.pick_free_port()


def start_config(lab, kind, cfg, alias, local_targets, remote_targets, lports, extra=()):
    """Start `kind -F cfg alias`; wait until its LocalForwards listen and its
    RemoteForwards (port 0) are announced. Returns (proc, local ports,
    remote ports), ports in target order."""
    argv = rl.client_argv(kind, None, identity=None, config=cfg, host=alias,
                          options={'IdentitiesOnly': 'yes'} if kind == 'ssh' else None,
                          extra=extra)
    cp = rl.start_client(lab, kind, argv)
    if kind == 'ferry':
        ms = cp.wait_for(rl.ALLOCATED_LOCAL_RE, count=len(local_targets))
        assert ms is not None, f'local forwards not announced:\n{cp.stderr()}'
        got = {(rl.norm_host(m.group(2)), int(m.group(3))): int(m.group(1)) for m in ms}
        assert set(got) == set(local_targets), f'local forwards {got} != {local_targets}'
        local_ports = [got[t] for t in local_targets]
    else:
        ok = rl.wait_until(lambda: not cp.alive() or
                           all(fl.listens_on(cp.pid, p) for p in lports), fl.READY_TIMEOUT)
        assert ok and cp.alive(), f'ssh local forwards not up:\n{cp.stderr()}'
        local_ports = list(lports)
    remote_ports = rl.wait_allocated(cp, remote_targets) if remote_targets else []
    return cp, local_ports, remote_ports


def known_hosts_for(lab, sshd, *aliases):
    """known_hosts with the server's key under [127.0.0.1]:PORT (what OpenSSH
    looks up: the HostName) and also under each [alias]:PORT, so that the
    tests below do not depend on which name a client looks the key up by;
    test_known_hosts_names_hostname checks that separately."""
    kh = lab.known_hosts(sshd)
    line = sshd.known_hosts_line()
    with open(kh, 'a') as f:
        for a in aliases:
            f.write(line.replace(f'[{LOCALHOST}]', f'[{a}]', 1))
    return kh


def assert_no_connection(sshd, grace=0.5):
    """The client made no connection: sshd's accept loop spawned nothing."""
    time.sleep(grace)
    assert sshd.connections == 0, 'the client connected to the server despite the error'


# ---------------------------------------------------------------- Host blocks

def test_host_block_selects_its_forwards(lab, client):
    """Two Host blocks: `-F file tunnel-a` opens tunnel-a's two LocalForwards
    and its RemoteForward (all carry data), none of tunnel-b's, and uses
    tunnel-a's Ciphers."""
    sshd = lab.sshd(log_level='DEBUG1')
    kh = known_hosts_for(lab, sshd, 'tunnel-a', 'tunnel-b')
    key = lab.keys.user['ed25519']
    echo_a, sink_a, echo_ar = lab.echo(), lab.sink(), lab.echo()
    echo_b = lab.echo()
    lp = [listen_port(client) for _ in range(2)]
    lpb = fl.pick_free_port()
    cfg = write_config(lab, f"""\
# two tunnels to the same server
Host tunnel-a
    HostName {LOCALHOST}
    Port {sshd.port}
    User {USER}
    IdentityFile {key}
    UserKnownHostsFile {kh}
    StrictHostKeyChecking yes
    BatchMode yes
    ExitOnForwardFailure yes
    Ciphers aes256-gcm@openssh.com
    GatewayPorts no
    ConnectTimeout 10
    RekeyLimit 1G
    LocalForward {LOCALHOST}:{lp[0]} {LOCALHOST}:{echo_a.port}
    LocalForward {LOCALHOST}:{lp[1]} {LOCALHOST}:{sink_a.port}
    RemoteForward {LOCALHOST}:0 {LOCALHOST}:{echo_ar.port}

Host tunnel-b
    HostName {LOCALHOST}
    Port {sshd.port}
    User {USER}
    IdentityFile {key}
    UserKnownHostsFile {kh}
    StrictHostKeyChecking yes
    LocalForward {LOCALHOST}:{lpb} {LOCALHOST}:{echo_b.port}
    RemoteForward {LOCALHOST}:0 {LOCALHOST}:{echo_b.port}
""")
    cp, (p_echo, p_sink), (p_remote,) = start_config(
        lab, client, cfg, 'tunnel-a', [echo_a.addr, sink_a.addr], [echo_ar.addr], lp)

    n = 3 * MiB + 7
    assert rl.echo_exchange(p_echo, n, 51) == (n, fl.pattern_sha256(n, 51))
    rl.assert_upload_ok(rl.upload(p_sink, sink_a, n, 53), n, 53)
    assert rl.echo_exchange(p_remote, n, 55) == (n, fl.pattern_sha256(n, 55))

    # nothing of tunnel-b: no third listener, no second remote forward
    held = rl.process_listens(cp.pid)
    assert held == {(LOCALHOST, p_echo), (LOCALHOST, p_sink)}, \
        f'client listens on {sorted(held)}, expected only tunnel-a\'s two forwards'
    assert not rl.listen_addrs(lpb)
    log = sshd.log_text()
    fwds = re.findall(r'tcpip-forward listen (\S*) port (\d+)', log)
    assert fwds == [(LOCALHOST, '0')], f'sshd got tcpip-forward requests {fwds}'
    assert echo_b.accepted == 0
    assert len(rl.ALLOCATED_REMOTE_RE.findall(cp.stderr())) == 1, cp.stderr()
    assert 'kex: client->server cipher: aes256-gcm@openssh.com' in log
    assert cp.alive()


def test_wildcards_negation_first_value_wins(lab, client):
    """Values come from the first block that sets them: a negated wildcard
    block before tunnel-c does not apply to it, `tunnel-*` fills in what
    tunnel-c lacks (HostName, IdentityFile, ...) but not what it set (Port,
    User), `Host *` at the end overrides nothing set earlier and still
    supplies a default nobody set (ServerAliveInterval: sshd sees keepalives)."""
    sshd = lab.sshd(log_level='DEBUG1')
    kh = known_hosts_for(lab, sshd, 'tunnel-c')
    key = lab.keys.user['ed25519']
    echo = lab.echo()
    wrong_port = lab.closed_port()
    lp = listen_port(client)
    cfg = write_config(lab, f"""\
Host * !tunnel-c
    Port {wrong_port}
    User nosuchuser-negated

Host tunnel-c
    Port {sshd.port}
    User {USER}
    LocalForward {LOCALHOST}:{lp} {LOCALHOST}:{echo.port}

Host tunnel-*
    HostName {LOCALHOST}
    Port {wrong_port}
    User nosuchuser-wildcard
    IdentityFile {key}
    UserKnownHostsFile {kh}
    StrictHostKeyChecking yes
    BatchMode yes

Host *
    HostName {LOCALHOST}
    Port {wrong_port}
    User nosuchuser-star
    StrictHostKeyChecking no
    UserKnownHostsFile /dev/null
    ServerAliveInterval 1
""")
    cp, (port,), _ = start_config(lab, client, cfg, 'tunnel-c', [echo.addr], [], [lp])
    assert rl.echo_exchange(port, MiB, 57) == (MiB, fl.pattern_sha256(MiB, 57))
    log = sshd.log_text()
    assert f'Accepted publickey for {USER} ' in log, 'not authenticated as the User of tunnel-c'
    assert 'nosuchuser' not in log
    assert rl.wait_until(lambda: 'keepalive@openssh.com' in sshd.log_text(), 5), \
        'no keepalive within 5s: ServerAliveInterval from Host * not applied'
    assert cp.alive(), cp.stderr()


def test_command_line_beats_config(lab, client):
    """-p and -l on the command line win over Port and User in the file."""
    sshd = lab.sshd()
    kh = known_hosts_for(lab, sshd, 'tunnel-d')
    echo = lab.echo()
    lp = listen_port(client)
    cfg = write_config(lab, f"""\
Host tunnel-d
    HostName {LOCALHOST}
    Port {lab.closed_port()}
    User nosuchuser
    IdentityFile {lab.keys.user['ed25519']}
    UserKnownHostsFile {kh}
    StrictHostKeyChecking yes
    BatchMode yes
    LocalForward {LOCALHOST}:{lp} {LOCALHOST}:{echo.port}
""")
    cp, (port,), _ = start_config(lab, client, cfg, 'tunnel-d', [echo.addr], [], [lp],
                                  extra=['-p', str(sshd.port), '-l', USER])
    assert fl.echo_roundtrip(port, b'cli wins') == b'cli wins'


def test_known_hosts_names_hostname(lab, client):
    """With `Host tunnel-e` / `HostName 127.0.0.1`, the host key is looked up
    as [127.0.0.1]:PORT, the HostName, as OpenSSH does (no HostKeyAlias): a
    known_hosts that only has the real name must be enough."""
    sshd = lab.sshd()
    kh = lab.known_hosts(sshd)                 # [127.0.0.1]:PORT only
    echo = lab.echo()
    lp = listen_port(client)
    cfg = write_config(lab, f"""\
Host tunnel-e
    HostName {LOCALHOST}
    Port {sshd.port}
    User {USER}
    IdentityFile {lab.keys.user['ed25519']}
    UserKnownHostsFile {kh}
    StrictHostKeyChecking yes
    BatchMode yes
    LocalForward {LOCALHOST}:{lp} {LOCALHOST}:{echo.port}
""")
    cp, (port,), _ = start_config(lab, client, cfg, 'tunnel-e', [echo.addr], [], [lp])
    assert fl.echo_roundtrip(port, b'hostname key') == b'hostname key'


# ---------------------------------------------------------------- errors

@pytest.mark.parametrize('where', ['active-block', 'other-block'])
def test_unknown_keyword(lab, client, where):
    """An unknown keyword (also in a block that does not apply): exit 255, the
    message names the file and the line, nothing connects."""
    sshd = lab.sshd()
    lines = [
        'Host tunnel-a',
        f'    HostName {LOCALHOST}',
        f'    Port {sshd.port}',
        f'    IdentityFile {lab.keys.user["ed25519"]}',
        f'    UserKnownHostsFile {lab.known_hosts(sshd)}',
        '    BatchMode yes',
        'Host tunnel-z',
        f'    HostName {LOCALHOST}',
    ]
    at = 5 if where == 'active-block' else 8          # 0-based insert position
    lines.insert(at, '    FrobnicateTheWidgets yes')
    lineno = at + 1
    cfg = write_config(lab, '\n'.join(lines) + '\n')
    argv = rl.client_argv(client, None, identity=None, config=cfg, host='tunnel-a')
    cp = lab.run(client, None, argv=argv, timeout=10)
    err = cp.stderr()
    assert cp.proc.returncode == 255, f'exit status {cp.proc.returncode}:\n{err}'
    m = re.search(re.escape(str(cfg)) + r':? line (\d+)', err)
    assert m, f'message does not name {cfg} and a line:\n{err}'
    assert int(m.group(1)) == lineno, f'names line {m.group(1)}, the keyword is on {lineno}'
    assert 'frobnicatethewidgets' in err.lower()
    assert_no_connection(sshd)


BAD_FORWARDS = {
    # id: (config line or None, command-line args, ferry's message, ssh's message)
    'LocalForward-no-port': ('LocalForward 127.0.0.1:0 127.0.0.1', [],
                             'Bad local forwarding specification',
                             'Bad forwarding specification'),
    'LocalForward-port-range': ('LocalForward 70000 127.0.0.1:80', [],
                                'Bad local forwarding specification',
                                'Bad forwarding specification'),
    'RemoteForward-bad-port': ('RemoteForward 0 127.0.0.1:http-ish', [],
                               'Bad remote forwarding specification',
                               'Bad forwarding specification'),
    '-R-two-fields': (None, ['-R', '0:127.0.0.1'],
                      'Bad remote forwarding specification',
                      'Bad remote forwarding specification'),
}


@pytest.mark.parametrize('case', list(BAD_FORWARDS))
def test_bad_forward_spec(lab, client, case):
    """A bad forward (in the file, next to a good LocalForward, or on the
    command line): exit 255 with the 'Bad ... forwarding specification'
    message, no forward started, no connection made."""
    line, args, ferry_msg, ssh_msg = BAD_FORWARDS[case]
    sshd = lab.sshd()
    echo = lab.echo()
    good_port = fl.pick_free_port()
    body = [
        'Host tunnel-a',
        f'    HostName {LOCALHOST}',
        f'    Port {sshd.port}',
        f'    User {USER}',
        f'    IdentityFile {lab.keys.user["ed25519"]}',
        f'    UserKnownHostsFile {lab.known_hosts(sshd)}',
        '    BatchMode yes',
        f'    LocalForward {LOCALHOST}:{good_port} {LOCALHOST}:{echo.port}',
    ]
    if line:
        body.append('    ' + line)
    cfg = write_config(lab, '\n'.join(body) + '\n')
    argv = rl.client_argv(client, None, identity=None, config=cfg, host='tunnel-a',
                          extra=args)
    cp = lab.run(client, None, argv=argv, timeout=10)
    err = cp.stderr()
    assert cp.proc.returncode == 255, f'exit status {cp.proc.returncode}:\n{err}'
    want = ferry_msg if client == 'ferry' else ssh_msg
    assert want in err, f'no {want!r} in:\n{err}'
    if line:
        assert f'{cfg} line {len(body)}' in err.replace(f'{cfg}: line', f'{cfg} line'), \
            f'message does not name {cfg} line {len(body)}:\n{err}'
    assert 'Allocated port' not in err
    assert not rl.listen_addrs(good_port), 'the good LocalForward was started'
    assert_no_connection(sshd)
    assert echo.accepted == 0
