"""Installs like a Debian tool, documents itself: -V and -h on both
programs, the man pages (mandoc -Tlint, man -l, every keyword of both
keyword tables and every flag documented, the numeric defaults of
`ferryd -T` in ferryd_config(5)), meson's install layout (ferryd in
sbindir, the units' ExecStart naming the installed binaries), the units
verified by systemd-analyze, the bash completion, the packaged default
ferryd_config; and, unless FERRY_SKIP_PACKAGE=1 (or FERRY_SANITIZED=1),
`bash scripts/package.sh` itself (60 to 90 s on 2 cores): the .deb files
unpacked with dpkg -x, their file lists, lintian.
"""

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

import ferrylab as fl
from ferrydlab import FERRYD

ROOT = fl.REPO_ROOT
MAN = ROOT / 'man'
PAGES = {'ferry': MAN / 'ferry.1', 'ferryd': MAN / 'ferryd.8',
         'ferryd_config': MAN / 'ferryd_config.5'}
ANALYZE = shutil.which('systemd-analyze') or '/usr/bin/systemd-analyze'
MANDOC = shutil.which('mandoc') or '/usr/bin/mandoc'


def run(argv, **kw):
    kw.setdefault('timeout', 60)
    return subprocess.run(argv, capture_output=True, text=True, **kw)


def project_version():
    m = re.search(r"project\('ferry',.*?version\s*:\s*'([^']+)'",
                  (ROOT / 'meson.build').read_text(), re.S)
    return m.group(1)


def c_table(path, start):
    """The { "Name", fn, ... } rows of the keyword table of a C file."""
    text = path.read_text()
    i = text.index(start)
    body = text[i:text.index('};', i)]
    return re.findall(r'\{\s*"(\w+)",\s*("?\w+"?)', body)


def server_table():
    """ferryd's keyword table (config_kw.c): (name, kind) for each row,
    the kind being the row's KW_ macro in lower case (kw_ignored for a
    keyword accepted without effect)."""
    text = (ROOT / 'src' / 'server' / 'config_kw.c').read_text()
    i = text.index('sc_keywords[] = {')
    body = text[i:text.index('};', i)]
    return [(n, 'kw_' + k.lower())
            for k, n in re.findall(r'\bKW_(\w+)\(\s*"(\w+)"', body)]


def optstring(path, pattern):
    return re.search(pattern, path.read_text()).group(1)


def man_entries(page):
    """Keywords a page documents as list items: .It Cm Keyword."""
    return set(re.findall(r'^\.It Cm ([A-Z]\w+)', page.read_text(), re.M))


def man_flags(page):
    return set(re.findall(r'^\.It Fl (\w)', page.read_text(), re.M))


def man_entry_text(page, keyword):
    """The text of one keyword's .It entry, up to the next keyword's."""
    m = re.search(r'^\.It Cm %s\n(.*?)(?=^\.It Cm \w+\n|^\.El\n\.S[sh] )' %
                  keyword, page.read_text(), re.M | re.S)
    assert m, keyword
    return m.group(1)


# ---- -V / -h -------------------------------------------------------------

VERSION_RE = r'^%s (\d+\.\d+\.\d+)(?: \(([^()\s]+)\))?\n$'


@pytest.mark.parametrize('prog', ['ferry', 'ferryd'])
@pytest.mark.parametrize('flag', ['-V', '--version'])
def test_version(prog, flag):
    binary = str(fl.ferry_bin()) if prog == 'ferry' else FERRYD
    r = run([binary, flag])
    assert r.returncode == 0, r.stderr
    m = re.match(VERSION_RE % prog, r.stdout)
    assert m, r.stdout
    assert m.group(1) == project_version()
    if m.group(2) is not None and (ROOT / '.git').exists():
        # git describe --always --dirty: a tag or an abbreviated commit
        assert re.match(r'^[\w.+-]+$', m.group(2)), m.group(2)
    assert r.stderr == ''


@pytest.mark.parametrize('flag', ['-h', '--help'])
def test_ferry_help(flag):
    r = run([str(fl.ferry_bin()), flag])
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith('usage: ferry ')
    for word in ('ferry up', 'ferry status', 'ferry metrics', 'forward|cancel',
                 '-L', '-R', '-D'):
        assert word in r.stdout, word
    assert r.stderr == ''


@pytest.mark.parametrize('flag', ['-h', '--help'])
def test_ferryd_help(flag):
    r = run([FERRYD, flag])
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith('usage: ferryd ') and r.stderr == ''
    assert '-h host_key_file' in r.stdout


def test_ferryd_h_still_names_a_host_key(tmp_path):
    """sshd's -h FILE keeps its meaning; only -h alone is the usage."""
    missing = tmp_path / 'no_such_key'
    r = run([FERRYD, '-t', '-f', '/dev/null', '-o', f'StateDirectory {tmp_path}',
             '-h', str(missing)])
    assert r.returncode == 1 and str(missing) in r.stderr, r.stderr


def test_bad_flags_still_fail():
    r = run([FERRYD, '-Z'])
    assert r.returncode == 1 and 'usage: ferryd' in r.stderr
    r = run([str(fl.ferry_bin()), '-Z', 'host'])
    assert r.returncode == 255 and r.stdout == ''


# ---- man pages -----------------------------------------------------------

@pytest.mark.parametrize('name', sorted(PAGES))
def test_man_lint(name):
    """No mandoc message above style level."""
    r = run([MANDOC, '-Tlint', '-W', 'warning', str(PAGES[name])])
    assert r.returncode == 0 and r.stdout + r.stderr == '', r.stdout + r.stderr


@pytest.mark.parametrize('name', sorted(PAGES))
def test_man_renders(name):
    r = run(['man', '-l', str(PAGES[name])],
            env={**os.environ, 'MANPAGER': 'cat', 'PAGER': 'cat', 'MANWIDTH': '80',
                 'MAN_KEEP_FORMATTING': '0'})
    assert r.returncode == 0, r.stderr
    text = re.sub(r'.\x08', '', r.stdout)
    assert 'NAME' in text and 'DESCRIPTION' in text
    assert name in text
    assert 'warning' not in r.stderr.lower(), r.stderr


def test_ferryd_config_page_has_every_keyword():
    """Every row of config_kw.c's table is in ferryd_config(5): as an
    entry of its own, or (KW_IGNORED) in the list of keywords accepted
    and ignored."""
    table = server_table()
    assert len(table) > 30
    page = PAGES['ferryd_config']
    entries = man_entries(page)
    text = page.read_text()
    ignored = text[text.index('.Ss Keywords accepted and ignored'):]
    ignored = ignored[:ignored.index('.Sh ')]
    for name, fn in table:
        if fn == 'kw_ignored':
            assert f'.Cm {name} ' in ignored or f'.Cm {name} ,' in ignored or \
                f'.Cm {name} .' in ignored, f'{name} missing from the ignored list'
        else:
            assert name in entries, f'ferryd_config(5) lacks {name}'
    for name in entries:
        assert name in dict(table), f'ferryd_config(5) documents unknown {name}'


def test_ferryd_T_keywords_and_defaults_in_page(tmp_path):
    """Every keyword `ferryd -T` prints is documented, and each numeric
    default it prints is the one the page gives."""
    r = run([FERRYD, '-T', '-f', '/dev/null', '-o', f'StateDirectory {tmp_path}'])
    assert r.returncode == 0, r.stderr
    page = PAGES['ferryd_config']
    entries = {n.lower(): n for n in man_entries(page)}
    checked = 0
    for line in r.stdout.splitlines():
        kw, value = line.split(' ', 1)
        assert kw in entries, f'-T prints {kw}, ferryd_config(5) lacks it'
        if kw == 'eventloops':     # the default is one per CPU
            assert int(value) == min(64, os.cpu_count()), line
            assert 'one per online CPU' in man_entry_text(page, 'EventLoops')
        elif re.fullmatch(r'[\d:]+', value):
            entry = man_entry_text(page, entries[kw])
            assert re.search(r'(?<![\d:])%s(?![\d:])' % re.escape(value), entry), \
                f'{entries[kw]}: -T says {value}, the page says {entry!r}'
            checked += 1
    assert checked >= 10
    for kw in ('ForwardConnectTimeout', 'MaxPendingConnects', 'MaxUserChannels',
               'MaxForwardConnections', 'StreamLocalDirectory'):
        assert kw in entries.values(), kw


def test_ferry_page_has_every_keyword_and_flag():
    """Every keyword of optkw.c's table has an entry in ferry(1), its old
    names (optkw.c's aliases) are named at least, and every one of
    sshkw.c's (accepted, not acted on) is named."""
    optkw = ROOT / 'src' / 'client' / 'optkw.c'
    table = c_table(optkw, 'keywords[] = {')
    assert len(table) > 30
    page = PAGES['ferry']
    text = page.read_text()
    entries = man_entries(page)
    for name, _ in table:
        assert name in entries, f'ferry(1) lacks an entry for {name}'
    aliases = c_table(optkw, 'aliases[] = {')
    assert len(aliases) >= 4
    for name, keyword in aliases:
        assert keyword.strip('"') in dict(table), name
        assert re.search(r'^\.Cm %s\b' % name, text, re.M), f'ferry(1) lacks {name}'
    table += aliases
    sshkw = ROOT / 'src' / 'client' / 'sshkw.c'
    if sshkw.exists():
        names = [n for n, _ in c_table(sshkw, 'table[] = {')]
        assert len(names) > 50
        for name in names:
            assert re.search(r'^\.Cm %s\b' % name, text, re.M), f'ferry(1) lacks {name}'
        table += [(n, None) for n in names]
    for name in entries:
        assert name in dict(table), f'ferry(1) documents unknown keyword {name}'
    opts = optstring(ROOT / 'src' / 'client' / 'optargs.c',
                     r'#define\s+OPTSTRING\s+"([^"]+)"')
    flags = man_flags(page)
    for ch in re.sub(r'[^A-Za-z0-9]', '', opts) + 'Vh':
        assert ch in flags, f'ferry(1) lacks -{ch}'
    for cmd in ('up', 'status', 'metrics', 'forward', 'cancel'):
        assert re.search(r'^\.Cm %s\b' % cmd, page.read_text(), re.M) or \
            re.search(r'^\.It Cm %s\b' % cmd, page.read_text(), re.M), cmd
    for sect in ('EXIT STATUS', 'FILES', 'EXAMPLES'):
        assert f'.Sh {sect}' in page.read_text(), sect


def test_ferryd_page_has_every_flag():
    opts = optstring(ROOT / 'src' / 'server' / 'ferryd.c',
                     r'getopt\(argc, argv, "([^"]+)"\)')
    page = PAGES['ferryd']
    flags = man_flags(page)
    for ch in re.sub(r'[^A-Za-z0-9]', '', opts):
        assert ch in flags, f'ferryd(8) lacks -{ch}'
    for sect in ('SIGNALS', 'FILES', 'LOGGING', 'EXIT STATUS'):
        assert f'.Sh {sect}' in page.read_text(), sect


# ---- meson's install layout, the units -------------------------------------

def build_dir():
    return Path(fl.ferry_bin()).resolve().parent


def installed_map():
    """meson's own record of where `meson install` puts each file: by the
    name of what the build made (ferry, ferryd, the units) or of the source
    file (man/ferry.1, contrib/bash-completion/ferry...)."""
    path = build_dir() / 'meson-info' / 'intro-installed.json'
    if not path.exists():
        pytest.fail(f'{path} missing: FERRY_BIN must be in a meson build directory')
    out, build = {}, build_dir()
    for k, v in json.loads(path.read_text()).items():
        k = Path(k)
        # built files by their path in the build directory (which may lie
        # inside the source tree, as build/ does), sources by theirs
        if build in k.parents:
            out[str(k.relative_to(build))] = v
        elif ROOT in k.parents:
            out[str(k.relative_to(ROOT))] = v
        else:
            out[k.name] = v
    return out


def exec_binaries(text):
    return [l.split('=', 1)[1].split()[0] for l in text.splitlines()
            if re.match(r'ExecStart(Pre)?=', l)]


def test_install_layout_and_units_agree():
    inst = installed_map()
    prefix = str(Path(inst['ferry']).parent.parent)
    assert inst['ferry'] == f'{prefix}/bin/ferry'
    assert inst['ferryd'] == f'{prefix}/sbin/ferryd'
    for unit, binary in (('ferryd.service', inst['ferryd']),
                         ('ferry-tunnels.service', inst['ferry']),
                         ('ferry@.service', inst['ferry'])):
        assert unit in inst, f'meson does not install {unit}'
        assert inst[unit].endswith(f'/lib/systemd/system/{unit}')
        text = (build_dir() / unit).read_text()
        assert exec_binaries(text) and set(exec_binaries(text)) == {binary}, \
            (unit, exec_binaries(text))
    for page, sect in (('ferry.1', 1), ('ferryd.8', 8), ('ferryd_config.5', 5)):
        assert inst[f'man/{page}'] == f'{prefix}/share/man/man{sect}/{page}'
    for comp in ('ferry', 'ferryd'):
        assert inst[f'contrib/bash-completion/{comp}'] == \
            f'{prefix}/share/bash-completion/completions/{comp}'
    assert any(v.endswith('/sysusers.d/ferry.conf') for v in inst.values())


def test_installed_units_verify(tmp_path):
    """The units meson wrote, pointed at the binaries under test, pass
    systemd-analyze verify without a complaint."""
    out = tmp_path / 'units'
    out.mkdir()
    inst = installed_map()
    for unit in ('ferryd.service', 'ferry-tunnels.service', 'ferry@.service'):
        text = (build_dir() / unit).read_text()
        text = text.replace(inst['ferryd'], FERRYD).replace(inst['ferry'],
                                                            str(fl.ferry_bin()))
        (out / unit).write_text(text)
    shutil.copy(out / 'ferry@.service', out / 'ferry@example.service')
    targets = [str(out / n) for n in ('ferryd.service', 'ferry-tunnels.service',
                                      'ferry@example.service')]
    r = run([ANALYZE, 'verify', '--man=no'] + targets,
            env={**os.environ, 'SYSTEMD_LOG_LEVEL': 'warning'})
    problems = [l for l in (r.stdout + r.stderr).splitlines() if '.service' in l]
    assert r.returncode == 0 and not problems, r.stdout + r.stderr


# ---- completion, default configuration -------------------------------------

@pytest.mark.parametrize('prog', ['ferry', 'ferryd'])
def test_bash_completion_loads(prog):
    path = ROOT / 'contrib' / 'bash-completion' / prog
    r = run(['bash', '-n', str(path)])
    assert r.returncode == 0, r.stderr
    r = run(['bash', '-c', f'source {path} && complete -p {prog}'])
    assert r.returncode == 0 and r.stdout.strip() == f'complete -F _{prog} {prog}', \
        r.stdout + r.stderr


def completion_keywords(prog):
    text = (ROOT / 'contrib' / 'bash-completion' / prog).read_text()
    m = re.search(r"-o\)\n\s*COMPREPLY=\(\$\(compgen -S = -W '([^']*)'", text)
    return set(m.group(1).split())


def test_bash_completion_keywords_match_tables():
    """-o completes the keywords each program acts on (not the ones it
    only accepts)."""
    server = {n for n, fn in server_table() if fn != 'kw_ignored'}
    assert completion_keywords('ferryd') == server
    client = {n for n, _ in c_table(ROOT / 'src' / 'client' / 'optkw.c',
                                    'keywords[] = {')}
    assert completion_keywords('ferry') == client


def test_packaged_ferryd_config_is_safe(tmp_path):
    """contrib/etc/ferryd_config, /etc/ferryd/ferryd_config in the package:
    valid, loopback only, GatewayPorts no (explained), a port that is not
    sshd's, keys per user under /etc/ferryd."""
    conf = ROOT / 'contrib' / 'etc' / 'ferryd_config'
    text = conf.read_text()
    assert text.count('GatewayPorts') >= 2 and 'clientspecified' in text
    r = run([FERRYD, '-T', '-f', str(conf), '-o', f'StateDirectory {tmp_path}'])
    assert r.returncode == 0, r.stderr
    t = dict(l.split(' ', 1) for l in r.stdout.splitlines()
             if not l.startswith('listenaddress'))
    listen = [l.split(' ', 1)[1] for l in r.stdout.splitlines()
              if l.startswith('listenaddress')]
    assert listen and all(a.startswith('127.') or a.startswith('[::1]') for a in listen)
    assert t['gatewayports'] == 'no'
    assert t['port'] != '22'
    assert t['authorizedkeysfile'] == '/etc/ferryd/authorized_keys/%u'
    r = run([FERRYD, '-t', '-f', str(conf), '-o', f'StateDirectory {tmp_path}'])
    assert r.returncode == 0, r.stderr


# ---- the Debian packages ---------------------------------------------------

EXPECTED_FILES = {
    'ferry': ['usr/bin/ferry', 'usr/share/man/man1/ferry.1.gz',
              'lib/systemd/system/ferry-tunnels.service',
              'lib/systemd/system/ferry@.service',
              'usr/lib/sysusers.d/ferry.conf',
              'usr/share/bash-completion/completions/ferry',
              'usr/share/doc/ferry/copyright'],
    'ferryd': ['usr/sbin/ferryd', 'usr/share/man/man8/ferryd.8.gz',
               'usr/share/man/man5/ferryd_config.5.gz',
               'lib/systemd/system/ferryd.service',
               'usr/share/bash-completion/completions/ferryd',
               'etc/ferryd/ferryd_config',
               'usr/share/doc/ferryd/copyright'],
}


# (the packages build from the tree, not the binary under test: once per
# scripts/test.sh, deselected in its sanitized pass by conftest.py;
# FERRY_SKIP_PACKAGE=1 is a developer's explicit opt-out)
@pytest.mark.skipif(os.environ.get('FERRY_SKIP_PACKAGE') == '1',
                    reason='FERRY_SKIP_PACKAGE=1')
@pytest.mark.watchdog(900)       # a full package build; package.sh is bounded
def test_debian_packages(tmp_path):
    """scripts/package.sh builds both packages (lintian: no error, which
    the script enforces); dpkg -x unpacks them into a scratch root with
    every file in place, the units naming the installed binaries, the
    configuration a conffile, and the unpacked binaries run."""
    r = run(['bash', str(ROOT / 'scripts' / 'package.sh')], timeout=900)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]
    lint = r.stdout[r.stdout.index('== lintian'):]
    assert not re.search(r'^E: ', lint, re.M), lint
    # the build ran in a copy: no debhelper leftovers here or beside the tree
    leftovers = [p for p in list(ROOT.glob('obj-*')) + list(ROOT.parent.glob('ferry*_*'))
                 + [ROOT / 'debian' / n for n in (
                     '.debhelper', 'files', 'tmp', 'ferry', 'ferryd',
                     'debhelper-build-stamp', 'ferry.substvars', 'ferryd.substvars')]
                 if p.exists()]
    assert not leftovers, leftovers
    version = run(['dpkg-parsechangelog', '-S', 'Version'], cwd=ROOT).stdout.strip()
    arch = run(['dpkg', '--print-architecture']).stdout.strip()
    scratch = tmp_path / 'root'
    for pkg, files in EXPECTED_FILES.items():
        deb = ROOT / 'dist' / f'{pkg}_{version}_{arch}.deb'
        assert deb.exists(), deb
        r = run(['dpkg-deb', '-x', str(deb), str(scratch)])
        assert r.returncode == 0, r.stderr
        for f in files:
            assert (scratch / f).exists(), f'{pkg}: {f} missing'
        r = run(['dpkg-deb', '-e', str(deb), str(tmp_path / f'{pkg}.control')])
        assert r.returncode == 0, r.stderr
    conffiles = (tmp_path / 'ferryd.control' / 'conffiles').read_text().split()
    assert '/etc/ferryd/ferryd_config' in conffiles
    postinst = (tmp_path / 'ferry.control' / 'postinst').read_text()
    assert 'systemd-sysusers' in postinst and 'ferry.conf' in postinst
    unit = (scratch / 'lib/systemd/system/ferryd.service').read_text()
    assert set(exec_binaries(unit)) == {'/usr/sbin/ferryd'}
    for u in ('ferry-tunnels.service', 'ferry@.service'):
        text = (scratch / 'lib/systemd/system' / u).read_text()
        assert set(exec_binaries(text)) == {'/usr/bin/ferry'}, u
    r = run([str(scratch / 'usr/bin/ferry'), '-V'])
    assert r.returncode == 0 and r.stdout.startswith(f'ferry {project_version()}')
    r = run([str(scratch / 'usr/sbin/ferryd'), '-V'])
    assert r.returncode == 0 and r.stdout.startswith(f'ferryd {project_version()}')
    r = run([str(scratch / 'usr/sbin/ferryd'), '-t', '-f',
             str(scratch / 'etc/ferryd/ferryd_config'), '-o',
             f'StateDirectory {tmp_path}'])
    assert r.returncode == 0, r.stderr
