"""Real ~/.ssh/config files read unchanged (issue 11, first increment).

The corpus in configs/ is the kind people publish in their dotfiles:
Include of a conf.d directory (nested), Host * defaults at the end, Match
host/originalhost/user/localuser/exec/final/canonical, %-tokens,
IgnoreUnknown, and many keywords ferry only stores. For each (file, host)
`ferry -G -F FILE host` is compared with `ssh -G -F FILE host` field by field
for every keyword both print. Known, deliberate differences are listed in
DIFFERENT and checked to be the only ones. Then a config of that kind drives
a real forward through OpenSSH sshd, its data checked by SHA-256.
"""

import os
import pwd
import re
import shutil
import subprocess
from pathlib import Path

import pytest

import ferrylab as fl
import remotelab as rl
from ferrylab import LOCALHOST, MiB, USER

CORPUS = Path(__file__).parent / 'configs'
HOME = pwd.getpwuid(os.getuid()).pw_dir

CASES = [
    ('dotfiles.conf', 'github.com'),
    ('dotfiles.conf', 'bastion'),
    ('dotfiles.conf', 'pi.lan'),
    ('dotfiles.conf', 'printer.lan'),
    ('dotfiles.conf', 'nas'),
    ('dotfiles.conf', 'work-build1'),
    ('dotfiles.conf', 'work-x'),
    ('dotfiles.conf', 'vps'),
    ('dotfiles.conf', 'lab1'),
    ('matching.conf', 'short'),
    ('matching.conf', 'long.example.net'),
    ('matching.conf', 'other'),
    ('quoting.conf', 'plain'),
    ('quoting.conf', 'Other'),
]

# What ferry prints differently on purpose:
#  ciphers, macs, kexalgorithms, hostkeyalgorithms, pubkeyacceptedalgorithms,
#  casignaturealgorithms   ssh's list less the names ferry does not
#                   implement, in ssh's order (compared as such)
#  identityfile     ssh -G prints the names as written and, by default, the
#                   key types ferry lacks; ferry prints them expanded
#                   (compared after expanding ssh's, when the file sets them)
DIFFERENT = {'ciphers', 'macs', 'identityfile', 'kexalgorithms', 'hostkeyalgorithms',
             'pubkeyacceptedalgorithms', 'casignaturealgorithms'}


def corpus_copy(tmp_path):
    """The corpus with @DIR@ replaced by where it now lives (Include paths)."""
    d = tmp_path / 'configs'
    shutil.copytree(CORPUS, d)
    for p in d.rglob('*.conf'):
        p.write_text(p.read_text().replace('@DIR@', str(d)))
        os.chmod(p, 0o644)
    return d


def dump(argv):
    r = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 0, f'{argv} exited {r.returncode}:\n{r.stderr}'
    fields = {}
    for line in r.stdout.splitlines():
        k, _, v = line.partition(' ')
        fields.setdefault(k, []).append(v)
    return fields


def ferry_default(key):
    return dump([fl.require_ferry(), '-G', '-F', 'none', 'example.invalid']).get(key)


def expand_home(vals):
    return [HOME + v[1:] if v.startswith('~/') else v for v in vals]


@pytest.mark.parametrize('fname,host', CASES, ids=[f'{f}-{h}' for f, h in CASES])
def test_dash_G_matches_ssh(tmp_path, fname, host):
    """Every keyword both print has ssh's value (DIFFERENT: see above)."""
    d = corpus_copy(tmp_path)
    cfg = d / fname
    ferry = dump([fl.require_ferry(), '-G', '-F', str(cfg), host])
    ssh = dump([fl.SSH, '-G', '-F', str(cfg), host])
    both = sorted(set(ferry) & set(ssh))
    assert len(both) >= 25, f'only {len(both)} keywords in common: {both}'
    diffs = {k: (ferry[k], ssh[k]) for k in both
             if k not in DIFFERENT and ferry[k] != ssh[k]}
    assert not diffs, f'ferry -G differs from ssh -G: {diffs}'
    for k in ('ciphers', 'macs', 'kexalgorithms', 'hostkeyalgorithms',
              'pubkeyacceptedalgorithms', 'casignaturealgorithms'):
        assert ferry[k] == [fl.algs_as_ferry(ssh[k][0], ferry_default(k)[0])], \
            (k, ferry[k], ssh[k])
    if not any('id_xmss' in v for v in ssh['identityfile']):
        assert ferry['identityfile'] == expand_home(
            [re.sub('%[a-zA-Z]', '', v) for v in ssh['identityfile']]) or \
            len(ferry['identityfile']) == len(ssh['identityfile']), \
            (ferry['identityfile'], ssh['identityfile'])
    # the stored-only keywords of the corpus reach -G
    assert set(ferry) - set(ssh) <= {'metricslisten', 'reconnect', 'reconnectdelay',
                                     'reconnectmaxdelay'}, set(ferry) - set(ssh)


def test_corpus_values(tmp_path):
    """Spot checks that the comparison covers the interesting paths: Include
    (two levels), Match originalhost+user, tokens in HostName and
    RemoteForward paths, Match exec with tokens, Match final."""
    d = corpus_copy(tmp_path)
    f = lambda *a: dump([fl.require_ferry(), '-G', '-F', *a])   # noqa: E731
    g = f(str(d / 'dotfiles.conf'), 'work-build1')
    assert g['hostname'] == ['work-build1.corp.example.com']
    assert g['port'] == ['2200'] and g['user'] == ['jdoe']
    assert g['remoteforward'] == ['/tmp/ferry-jdoe-2200.sock /run/docker.sock']
    assert g['identityfile'][0] == f'{HOME}/.ssh/work/jdoe@work-build1.corp.example.com'
    g = f(str(d / 'dotfiles.conf'), 'lab7')                      # nested Include
    assert g['user'] == ['labadmin'] and g['stricthostkeychecking'] == ['false']
    g = f(str(d / 'dotfiles.conf'), 'printer.lan')             # negated pattern
    assert g['user'] != ['pi'] and g['stricthostkeychecking'] == ['ask']
    g = f(str(d / 'matching.conf'), 'short')
    assert g['hostname'] == ['long.example.net'] and g['port'] == ['2022']
    assert g['user'] == ['deploy'] and g['connecttimeout'] == ['7']
    assert g['batchmode'] == ['yes'] and g['serveralivecountmax'] == ['9']
    # the final pass adds what the first left unset (ExitOnForwardFailure,
    # VisualHostKey via Match canonical) but not ForwardX11: Host * set it
    assert g['forwardx11'] == ['no'] and g['exitonforwardfailure'] == ['yes']
    assert g['visualhostkey'] == ['yes'] and g['compression'] == ['no']
    assert re.fullmatch(r'/tmp/ferry-cm-[0-9a-f]{40}', g['controlpath'][0])
    g = f(str(d / 'matching.conf'), 'other')
    assert g['port'] == ['22'] and 'connecttimeout' in g
    assert g['connecttimeout'] == ['none'] and g['forwardx11'] == ['no']


def run_ferry(argv, timeout=20):
    return subprocess.run([fl.require_ferry()] + argv, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=timeout)


def test_errors_name_file_and_line(tmp_path):
    """Only names OpenSSH does not know are errors (file and line, also in an
    included file and in a block for another host); IgnoreUnknown silences
    them; refused keywords say why; an Include loop stops at depth 16."""
    inc = tmp_path / 'inc.conf'
    inc.write_text('Host other\n  Port 1\n  NoSuchKeyword yes\n')
    main = tmp_path / 'main.conf'
    main.write_text(f'Host x\n  Compression yes\nInclude {inc}\n')
    r = run_ferry(['-G', '-F', str(main), 'x'])
    assert r.returncode == 255, r.stderr
    assert f'{inc} line 3: Bad configuration option: NoSuchKeyword' in r.stderr, r.stderr

    main.write_text(f'IgnoreUnknown nosuch*\nHost x\n  Compression yes\nInclude {inc}\n')
    r = run_ferry(['-G', '-F', str(main), 'x'])
    assert r.returncode == 0, r.stderr
    assert 'compression yes' in r.stdout.splitlines()

    main.write_text('Host x\n  Tunnel yes\n')
    r = run_ferry(['-G', '-F', str(main), 'x'])
    assert r.returncode == 255 and f'{main} line 2: Tunnel yes is not supported' \
        in r.stderr, r.stderr
    r = run_ferry(['-G', '-F', str(main), 'y'])        # not this host's block
    assert r.returncode == 0, r.stderr

    loop = tmp_path / 'loop.conf'
    loop.write_text(f'Include {loop}\n')
    r = run_ferry(['-G', '-F', str(loop), 'x'])
    assert r.returncode == 255 and 'Too many recursive configuration includes' in r.stderr

    bad = tmp_path / 'bad.conf'
    bad.write_text('Host x\n  User "unterminated\n')
    r = run_ferry(['-G', '-F', str(bad), 'x'])
    assert r.returncode == 255 and f'{bad} line 2: invalid quotes' in r.stderr, r.stderr


def test_verbose_mentions_stored_keywords_once(tmp_path):
    """-v says once per keyword that a stored keyword has no effect."""
    cfg = tmp_path / 'c.conf'
    cfg.write_text('Host x\n  VisualHostKey yes\n  SendEnv A\n  SendEnv B\n'
                   'Host *\n  VisualHostKey no\n  CheckHostIP yes\n')
    r = run_ferry(['-v', '-G', '-F', str(cfg), 'x'])
    assert r.returncode == 0, r.stderr
    err = r.stderr
    assert err.count('keyword VisualHostKey is accepted but has no effect in ferry') == 1, err
    assert err.count('keyword SendEnv is accepted but has no effect in ferry') == 1, err
    assert 'CheckHostIP is accepted' not in err, err      # ferry acts on it
    r = run_ferry(['-G', '-F', str(cfg), 'x'])
    assert 'accepted but has no effect' not in r.stderr


def test_match_exec_time_limit(tmp_path):
    """A Match exec that never ends is stopped (10 s) and named, not waited
    for forever."""
    cfg = tmp_path / 'c.conf'
    cfg.write_text('Match exec "sleep 60"\n  Port 2\n')
    r = run_ferry(['-G', '-F', str(cfg), 'x'], timeout=30)
    assert r.returncode == 255, r.stderr
    assert 'did not finish within 10 s' in r.stderr and f'{cfg} line 1' in r.stderr


def test_forward_through_sshd(lab, client, tmp_path):
    """A dotfiles-style config (Include of a conf.d, IgnoreUnknown, Match
    originalhost + exec with tokens, tokens in HostName and
    UserKnownHostsFile, Host * defaults last, keywords ferry only stores)
    drives -L and -R through OpenSSH sshd: 4 MiB each way, SHA-256."""
    sshd = lab.sshd(log_level='VERBOSE')
    kh_dir = tmp_path / 'kh'
    kh_dir.mkdir()
    kh = kh_dir / f'kh_{LOCALHOST}_{sshd.port}'   # UserKnownHostsFile %h_%p
    sshd.write_known_hosts(kh)
    echo, echo_r = lab.echo(), lab.echo()
    lp = 0 if client == 'ferry' else fl.pick_free_port()
    confd = tmp_path / 'conf.d'
    confd.mkdir()
    (confd / '50-tunnel.conf').write_text(f"""\
# the tunnel's own block
Host tunnel
    HostName {LOCALHOST}
    User {USER}
    IdentityFile {lab.keys.user['ed25519']}
    IdentitiesOnly yes
    LocalForward {LOCALHOST}:{lp} {LOCALHOST}:{echo.port}
    RemoteForward {LOCALHOST}:0 {LOCALHOST}:{echo_r.port}
""")
    cfg = tmp_path / 'config'
    cfg.write_text(f"""\
IgnoreUnknown UseKeychain
UseKeychain yes
Include {confd}/*.conf

Match originalhost tunnel exec "test %n = tunnel && test %h = {LOCALHOST}"
    Port {sshd.port}
    UserKnownHostsFile {kh_dir}/kh_%h_%p

Host *
    StrictHostKeyChecking yes
    BatchMode yes
    ExitOnForwardFailure yes
    Port 1
    Compression yes
    ControlMaster no
    ForwardAgent no
    ForwardX11 no
    HashKnownHosts yes
    SendEnv LANG LC_*
    ServerAliveInterval 30
    AddKeysToAgent yes
    PasswordAuthentication no
    GlobalKnownHostsFile /dev/null
""")
    for p in (cfg, confd / '50-tunnel.conf'):
        os.chmod(p, 0o644)
    cp, (port,), (rport,) = start(lab, client, cfg, echo, echo_r, lp)
    n = 4 * MiB + 3
    assert rl.echo_exchange(port, n, 71) == (n, fl.pattern_sha256(n, 71))
    assert rl.echo_exchange(rport, n, 73) == (n, fl.pattern_sha256(n, 73))
    assert f'Accepted publickey for {USER} ' in sshd.log_text()
    assert cp.alive(), cp.stderr()


def start(lab, kind, cfg, echo, echo_r, lp):
    argv = rl.client_argv(kind, None, identity=None, config=cfg, host='tunnel')
    cp = rl.start_client(lab, kind, argv)
    if kind == 'ferry':
        ms = cp.wait_for(rl.ALLOCATED_LOCAL_RE, count=1)
        assert ms is not None, f'local forward not announced:\n{cp.stderr()}'
        port = int(ms[0].group(1))
    else:
        ok = rl.wait_until(lambda: not cp.alive() or fl.listens_on(cp.pid, lp),
                           fl.READY_TIMEOUT)
        assert ok and cp.alive(), f'ssh local forward not up:\n{cp.stderr()}'
        port = lp
    (rport,) = rl.wait_allocated(cp, [echo_r.addr])
    return cp, (port,), (rport,)
