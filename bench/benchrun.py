"""One benchmark run against daemons (bench_server.py, bench_pair.py,
bench_fleet.py): the work directory with the keys, authorized_keys and the
clients' HOME; the servers, tunnels and targets started in it, all ended by
close(); and the global alarm that ends a run which overstays its budget.
"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import ferrylab as fl
from procstat import kill_stray_children
from servers import default_user, start_ferryd, start_sshd
from tunnels import start_remote_tunnel


class BenchTimeout(Exception):
    pass


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def arm_alarm(budget):
    """SIGALRM after `budget` seconds raises BenchTimeout; SIGTERM exits
    through the normal cleanup."""
    def on_alarm(signum, frame):
        raise BenchTimeout(f'benchmark exceeded its {budget}s budget')

    def on_term(signum, frame):
        raise SystemExit(f'bench: signal {signum}')

    signal.signal(signal.SIGALRM, on_alarm)
    signal.signal(signal.SIGTERM, on_term)
    signal.alarm(budget)


def ssh_version():
    return subprocess.run([fl.SSH, '-V'], capture_output=True, text=True,
                          timeout=10).stderr.strip()


class Run:
    """Owns everything a run starts. The work directory is world-readable:
    sshd reads authorized_keys as the (maybe unprivileged) SSH user."""

    def __init__(self, prefix, user=None, keep=False):
        self.work = Path(tempfile.mkdtemp(prefix=prefix))
        os.chmod(self.work, 0o755)
        self.keep = keep
        self.user = user or default_user()
        self.servers, self.tunnels, self.targets = [], [], []
        self.keys = fl.KeySet(self.work / 'keys', host=['ed25519'], user=['ed25519'])
        self.ident = self.keys.user['ed25519']
        self.authorized = self.work / 'authorized_keys'
        self.authorized.write_text(self.keys.user_pub('ed25519') + '\n')
        os.chmod(self.authorized, 0o644)
        self.env = fl.client_env(self.work)

    def target(self, t):
        """Register a target server (echo, sink, source) to close at the end."""
        self.targets.append(t)
        return t

    def new_server(self, kind, tag, config=()):
        """A fresh sshd or ferryd (`kind`) in work/KIND-TAG, with .kh its
        known_hosts file."""
        d = self.work / f'{kind}-{tag}'
        if kind == 'ferryd':
            s = start_ferryd(d, self.authorized, config)
        else:
            s = start_sshd(d, self.keys, self.authorized, config)
        self.servers.append(s)
        s.kh = s.write_known_hosts(self.work / f'known_hosts-{kind}-{tag}')
        return s

    def close_server(self, s):
        s.close()
        if s in self.servers:
            self.servers.remove(s)

    def tunnel(self, client, mode, server, targets, cipher, label=None, **kw):
        """`client` (ferry or ssh) with one `mode` (-L or -R) forward per
        target to `server`, as the run's user; ports[i] reaches targets[i]
        (kw: start_remote_tunnel's bind for -R)."""
        start = fl.start_tunnel if mode == '-L' else start_remote_tunnel
        t = start(client, server, targets, identity=self.ident, known_hosts=server.kh,
                  env=self.env, cipher=cipher, user=self.user,
                  label=label or f'{client}{mode}->{server.kind}', **kw)
        self.tunnels.append(t)
        return t

    def close_tunnel(self, t):
        t.close()
        if t in self.tunnels:
            self.tunnels.remove(t)

    def close(self):
        """End every tunnel, server (with its children) and target, any
        stray child mentioning the work directory, then remove it."""
        signal.alarm(0)
        for t in list(self.tunnels):
            t.close()
        for s in list(self.servers):
            s.close()
        for t in self.targets:
            t.close()
        kill_stray_children(str(self.work))
        if not self.keep:
            shutil.rmtree(self.work, ignore_errors=True)
        else:
            log(f'bench: work directory kept: {self.work}')

    @staticmethod
    def meta():
        """What every report names: the machine and the time."""
        return {'cpus': os.cpu_count(), 'kernel': os.uname().release, 'ssh': ssh_version(),
                'time': time.strftime('%Y-%m-%dT%H:%M:%S%z'),
                'loadavg_start': Path('/proc/loadavg').read_text().split()[:3]}
