"""Tunnels for the benchmarks: -R forwards with the port the server
allocates, for ferry and ssh alike (-L is ferrylab.start_tunnel). Shared by
bench.py, bench_server.py, bench_pair.py and bench_fleet.py.
"""
import re

import ferrylab as fl
from ferrylab import Deadline

# ferry and OpenSSH ssh (LogLevel INFO, the default) both print this on stderr
# once the server accepted a port-0 remote forward
ALLOCATED_REMOTE_RE = re.compile(
    r'^Allocated port (\d+) for remote forward to (\S+?):(\d+)\s*$', re.M)


def start_remote_tunnel(kind, server, targets, *, identity, known_hosts, env, cipher=None,
                        label=None, user=fl.USER, timeout=fl.READY_TIMEOUT, bind=fl.LOCALHOST):
    """Start `kind` (ferry or ssh) with one `-R BIND:0:HOST:PORT` per
    target (BIND 127.0.0.1; '' is the empty bind field: every address
    where GatewayPorts allows it); return a ferrylab.Tunnel whose ports are
    the ones the server allocated (in target order), once each was announced
    on stderr and is in LISTEN state (bounded poll, no probe connection)."""
    targets = [(fl._norm_host(h), int(p)) for h, p in targets]
    extra = []
    for h, p in targets:
        extra += ['-R', f'{fl.fmt_host(bind) if bind else ""}:0:{fl.fmt_host(h)}:{p}']
    argv = fl.client_argv(kind, server, forwards=(), identity=identity,
                          known_hosts=known_hosts, cipher=cipher, extra=extra, user=user)
    cp = fl.ClientProc(kind, argv, env, label)
    try:
        ms = cp.wait_for(ALLOCATED_REMOTE_RE, count=len(targets), timeout=timeout)
        if ms is None:
            raise fl.TunnelError(
                f'{kind} did not report {len(targets)} "Allocated port ... for remote '
                f'forward" line(s) within {timeout:g}s (alive: {cp.alive()}).\n'
                f'argv: {" ".join(cp.argv)}\nstderr:\n{cp.stderr()}\n'
                f'server log tail:\n{fl.tail(server.log_text())}')
        ports = [None] * len(targets)
        for m in ms:
            key = (fl._norm_host(m.group(2)), int(m.group(3)))
            free = [i for i, t in enumerate(targets) if t == key and ports[i] is None]
            if not free:
                raise fl.TunnelError(f'{kind} announced a remote forward to {key} that '
                                     f'was not asked for ({targets}):\n{cp.stderr()}')
            ports[free[0]] = int(m.group(1))
        d = Deadline(5, 'remote listener')
        for p in ports:                              # bounded poll (5 s in all)
            if not fl.wait_until(lambda: fl.listening_inodes(p), d.remaining(), 0.01):
                raise fl.TunnelError(f'{kind} announced remote port {p} but nothing '
                                     f'listens there:\n{cp.stderr()}')
    except BaseException:
        cp.stop()
        raise
    return fl.Tunnel(cp, ports, targets, server)
