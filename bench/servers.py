"""The two servers a benchmark compares, as normal daemons on 127.0.0.1:
OpenSSH sshd (`sshd -D -e -f CONFIG -o ListenAddress=127.0.0.1 -p PORT`, the
port from bind-0-and-close with retries, ready once its socket is in LISTEN
state: no probe connection) and ferryd (`ferryd -D -e -f CONFIG` with Port 0,
ready once it printed "Server listening on ... port N"). Shared by
bench_server.py, bench_pair.py and bench_fleet.py.
"""
import os
import pwd
import re
import signal
import subprocess
import time
from pathlib import Path

import ferrylab as fl
from ferrylab import Deadline
from procstat import pss_kib, process_tree

FERRYD = Path(os.environ.get('FERRYD_BIN', str(fl.REPO_ROOT / 'build' / 'ferryd')))
FERRYD_LISTENING_RE = re.compile(r'Server listening on 127\.0\.0\.1 port (\d+)\.')


def default_user():
    """The SSH user. As root, sshd skips its post-auth privilege-separated
    child for root logins (1 process per session instead of 2), which is not
    how a server with ordinary accounts runs: prefer 'nobody' then (its shell
    is never started, `ssh -N`). ferryd takes the name as a label only."""
    if os.geteuid() != 0:
        return fl.USER
    try:
        pwd.getpwnam('nobody')
        return 'nobody'
    except KeyError:
        return fl.USER


class Server:
    """A running ferryd or sshd daemon (a ferrylab.ClientProc underneath, so
    its stderr is drained by reader threads)."""

    host = fl.LOCALHOST

    def __init__(self, kind, proc, port, host_pub, workdir):
        self.kind, self.proc, self.port, self.host_pub = kind, proc, port, host_pub
        self.pid = proc.pid
        self.dir = workdir

    def log_text(self):
        return self.proc.stderr()

    def alive(self):
        return self.proc.alive()

    def write_known_hosts(self, path):
        path = Path(path)
        path.write_text(f'[{fl.LOCALHOST}]:{self.port} {self.host_pub}\n')
        return path

    def pids(self):
        return process_tree(self.pid)

    def memory(self):
        """(sum VmRSS KiB, sum Pss KiB, process count) over the server's tree."""
        rss = pss = n = 0
        for p in self.pids():
            r = fl.proc_status(p, 'VmRSS')
            if r is None:
                continue               # exited meanwhile
            n += 1
            rss += r
            pss += pss_kib(p) or 0
        return rss, pss, n

    def close(self):
        # sshd's per-connection processes live in sessions of their own
        # (setsid): kill every descendant by pid before the listener
        for _ in range(3):
            rest = [p for p in self.pids() if p != self.pid]
            if not rest:
                break
            for p in rest:
                try:
                    os.kill(p, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            time.sleep(0.05)
        return self.proc.stop()


def start_ferryd(workdir, authorized_keys, config=(), timeout=20):
    """ferryd on 127.0.0.1 port 0 with its own state directory (the host key
    is made on first start); `config` lines come before the defaults, so
    they override them (the first value of a keyword wins)."""
    workdir.mkdir(parents=True, exist_ok=True)
    state = workdir / 'state'
    cfg = workdir / 'ferryd_config'
    cfg.write_text('\n'.join(list(config) + [
        f'ListenAddress {fl.LOCALHOST}',
        'Port 0',
        f'AuthorizedKeysFile {authorized_keys}',
        f'StateDirectory {state}',
        'GatewayPorts no',
        'LogLevel INFO',
        'MaxStartups 2000:30:4000',
    ]) + '\n')
    if not (FERRYD.is_file() and os.access(FERRYD, os.X_OK)):
        raise RuntimeError(f'ferryd not found at {FERRYD} (build it, or set FERRYD_BIN)')
    cp = fl.ClientProc('ferryd', [FERRYD, '-D', '-e', '-f', cfg], label='ferryd')
    try:
        ms = cp.wait_for(FERRYD_LISTENING_RE, timeout=timeout)
        if ms is None:
            raise RuntimeError(f'ferryd did not report "Server listening" within {timeout}s '
                               f'(alive: {cp.alive()}):\n{cp.stderr()}')
        port = int(ms[0].group(1))
        if not fl.listens_on(cp.pid, port):
            raise RuntimeError(f'ferryd announced port {port} but does not listen there')
        r = subprocess.run([fl.SSH_KEYGEN, '-y', '-f', str(state / 'ssh_host_ed25519_key')],
                           capture_output=True, text=True, timeout=20)
        if r.returncode != 0:
            raise RuntimeError(f'ssh-keygen -y on ferryd host key: {r.stderr}')
        host_pub = ' '.join(r.stdout.split()[:2])
    except BaseException:
        cp.stop()
        raise
    return Server('ferryd', cp, port, host_pub, workdir)


def start_sshd(workdir, keys, authorized_keys, config=(), timeout=20):
    """sshd as a normal daemon with keys.host['ed25519'] on 127.0.0.1 and a
    port from bind-0-and-close (retried); `config` lines come first and
    override the defaults (sshd keeps the first value of a keyword)."""
    os.makedirs('/run/sshd', mode=0o755, exist_ok=True)      # privsep dir
    workdir.mkdir(parents=True, exist_ok=True)
    cfg = workdir / 'sshd_config'
    cfg.write_text('\n'.join(list(config) + [
        f'HostKey {keys.host["ed25519"]}',
        f'AuthorizedKeysFile {authorized_keys}',
        'PidFile none',
        'UsePAM no',
        'StrictModes no',
        'PermitRootLogin prohibit-password',
        'AllowTcpForwarding yes',
        'GatewayPorts no',
        'PubkeyAuthentication yes',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'PrintMotd no',
        'UseDNS no',
        'MaxStartups 2000:30:4000',
        'MaxSessions 10',
        'LogLevel ERROR',
    ]) + '\n')
    t = subprocess.run([fl.SSHD, '-t', '-f', str(cfg)], stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=20)
    if t.returncode != 0:
        raise RuntimeError(f'sshd rejected {cfg}:\n{t.stderr}')
    last = ''
    for attempt in range(5):                      # the port may be taken meanwhile
        port = fl.pick_free_port()
        cp = fl.ClientProc('sshd', [fl.SSHD, '-D', '-e', '-f', cfg,
                                    '-o', f'ListenAddress={fl.LOCALHOST}', '-p', str(port)],
                           label='sshd')
        d = Deadline(timeout, 'sshd listening')
        while cp.alive() and not d.expired():
            if fl.listens_on(cp.pid, port):
                return Server('sshd', cp, port, keys.host_pub('ed25519'), workdir)
            cp.wait_exit(0.02)                    # bounded poll of /proc/net/tcp
        rc = cp.stop()
        last = f'exit status {rc}; stderr:\n{cp.stderr()}'
        if 'Address already in use' not in cp.stderr() and 'Cannot bind' not in cp.stderr():
            break
    raise RuntimeError(f'sshd did not listen within {timeout}s: {last}')

