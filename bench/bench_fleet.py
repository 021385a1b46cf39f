#!/usr/bin/python3
"""ferryd with a fleet-wide forward registry (etcd) vs ferryd without: what
the registry costs when a remote forward opens, and that it costs nothing
on the data path. One run, the servers alternating.

    /usr/bin/python3 bench/bench_fleet.py [--quick] [--json PATH] [--keep]
        [--forwards N] [--rounds N] [--size-mib N] [--repeat N]
        [--user NAME] [--budget SECONDS]

Full run: 300 forwards per server and variant in 6 rounds, bulk 1024 MiB
best of 5 (about a minute on 2 CPUs). --quick: 60 forwards in 2 rounds,
bulk 128 MiB x1 (about 10 seconds, etcd's start included).

Three servers on 127.0.0.1, one authorized key (Ed25519) for all, GatewayPorts
yes on each: "ferryd" (no ClusterRegistry), "ferryd+etcd" (ClusterRegistry on
a three-member etcd started here: Debian's etcd-server through
tests/integration/etcdlab.py; ClusterPortRange, ClusterPrefix and
ClusterNodeName of its own) and OpenSSH sshd as the reference.
  1. opening a remote forward: ferry-fwdopen (bench/fwdopen.c, ferry's
     engine) logs in once and sends tcpip-forward requests for every
     address ("" bind: fleet-wide on ferryd+etcd, so each is claimed in
     etcd, put-if-absent, before ferryd answers), one at a time, each timed
     from the request to its reply; the held forwards are cancelled every
     50 (cancel-tcpip-forward, timed as well). Two
     variants: port 0 (ferryd+etcd takes a free port of ClusterPortRange
     fleet-wide; the others the kernel's) and fixed ports (distinct ones per
     server, inside ClusterPortRange, checked free beforehand). The servers
     take turns in rounds, the order reversed every other round; each round
     is a new session with 2 untimed warm-up forwards. Reported: p50 and p99
     over all forwards of a server, and forwards/s. A third variant is plain
     OpenSSH ssh: a ControlMaster (`ssh -N -M`) per round and server, and
     this process asking it for `-R *:0:...` forwards over the control
     socket (bench/muxfwd.py); the master answers once the server did, so
     this is the opening as ssh sees it, the master's own turn included.
  2. the data path on ferryd+etcd: `ferry -R` with a fleet-wide forward
     (`-R :0:...`, registered in etcd) and a node-local one (`-R
     127.0.0.1:0:...`, not registered) to the same sink and source,
     aes128-gcm; bulk MB/s best of N each way ("up" = into the forwarded
     port, "down" = out of it), the two alternating, and ferryd's CPU
     seconds per GiB (all its threads, lowest of the repetitions). The
     ratio fleet-wide / node-local should be about 1.0: the registry is not
     on the data path.
The load generator is this Python process (as in bench_pair.py) and shares
the CPUs; so do etcd's three members. The load average at the start and the
end of the run is printed. Every loop is bounded in count and time, a global
alarm ends the run as a last resort (the partial results are printed), and
every process started here (etcd included) is killed at the end.
"""

import argparse
import json
import os
import random
import re
import socket
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / 'tests' / 'integration'))
import etcdlab  # noqa: E402
import ferrylab as fl  # noqa: E402
import muxfwd  # noqa: E402
from benchrun import BenchTimeout, Run, arm_alarm, log  # noqa: E402
from ferrylab import Deadline, MiB  # noqa: E402
from fwdopen import fwdopen_path, open_forwards  # noqa: E402
from measure import interleaved_best, pct, raw_ceiling, timed_download, timed_upload  # noqa: E402
from procstat import CpuMeter  # noqa: E402
from report import Table  # noqa: E402
from servers import FERRYD  # noqa: E402

KINDS = ('sshd', 'ferryd', 'ferryd+etcd')
VARIANTS = ('port 0', 'fixed port')
MUX = 'ssh -M, port 0'                      # the variant through OpenSSH's ControlMaster
PATHS = ('node-local', 'fleet-wide')
CIPHER = 'aes128-gcm@openssh.com'
GiB = 1 << 30
JOIN_RE = re.compile(r'fleet: node (\S+) joined with lease', re.M)
PORT_LOW, PORT_HIGH = 20000, 32000          # below Linux's ephemeral ports


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--quick', action='store_true',
                    help='small run (under a minute): CI smoke run')
    ap.add_argument('--json', metavar='PATH', help='also write results as JSON here')
    ap.add_argument('--forwards', type=int,
                    help='forwards per server and variant (300, quick 60)')
    ap.add_argument('--rounds', type=int, help='rounds the forwards are split in (6, quick 2)')
    ap.add_argument('--size-mib', type=int, help='bulk size per transfer (1024, quick 128)')
    ap.add_argument('--repeat', type=int, help='transfers per point, best kept (5, quick 1)')
    ap.add_argument('--user', help='SSH user (default: the current user, "nobody" as root)')
    ap.add_argument('--budget', type=int, help='global alarm in seconds (1200, quick 55)')
    ap.add_argument('--keep', action='store_true', help='keep the work directory')
    args = ap.parse_args()
    for name in ('forwards', 'rounds', 'size_mib', 'repeat', 'budget'):
        v = getattr(args, name)
        if v is not None and v < 1:
            ap.error(f'--{name.replace("_", "-")} wants a positive number, got {v}')
    return args


def ports_free(lo, n):
    """Whether ports lo .. lo+n-1 can all be bound on every address now."""
    for p in range(lo, lo + n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.bind(('', p))
        except OSError:
            return False
        finally:
            s.close()
    return True


def pick_span(n):
    """A free span of n ports in [PORT_LOW, PORT_HIGH) (10 random tries)."""
    for _ in range(10):
        lo = random.randrange(PORT_LOW, PORT_HIGH - n)
        if ports_free(lo, n):
            return lo
    raise RuntimeError(f'no free span of {n} ports in {PORT_LOW}-{PORT_HIGH} after 10 tries')


def fleet_config(etcd, lo, hi):
    return [f'ClusterRegistry etcd:{etcd.endpoints()}', 'ClusterNodeName bench1',
            f'ClusterPortRange {lo}-{hi}',
            f'ClusterPrefix /ferry-bench-{os.getpid()}-{random.randrange(1 << 30)}',
            'GatewayPorts clientspecified']


def wait_joined(server, seconds=20):
    d = Deadline(seconds, 'fleet join')
    while not JOIN_RE.search(server.log_text()):
        if not server.alive() or d.expired():
            raise RuntimeError(f'ferryd+etcd did not join the fleet within {seconds}s:\n'
                               f'{fl.tail(server.log_text())}')
        time.sleep(0.05)


def check_scope(server, port, wide):
    """ferryd's log says whether it took `port` fleet-wide: fail loudly if
    the forward is not the kind this phase compares."""
    rx = re.compile(rf'Forwarding [^\n]+? port {port} to the client \(asked [^)\n]*?'
                    rf'(; fleet-wide)?\)')
    ms = rx.findall(server.log_text())          # the last: earlier phases bound it too
    if not ms or bool(ms[-1]) != wide:
        raise RuntimeError(f'port {port} is not {"fleet-wide" if wide else "node-local"} '
                           f'on ferryd+etcd:\n{fl.tail(server.log_text())}')


def main():
    args = parse_args()
    nfwd = args.forwards or (60 if args.quick else 300)
    rounds = min(nfwd, args.rounds or (2 if args.quick else 6))
    size = (args.size_mib or (128 if args.quick else 1024)) * MiB
    repeat = args.repeat or (1 if args.quick else 5)
    budget = args.budget or (55 if args.quick else 1200)
    fl.require_ferry()
    tool = fwdopen_path(FERRYD)
    started = time.monotonic()
    arm_alarm(budget)
    run = Run('ferry-fleet-', args.user, args.keep)
    results = {'meta': {}, 'open': {}, 'bulk': {}, 'raw': {}, 'rows': []}
    vals = {}   # key tuple -> {column: value}

    def put(key, col, v):
        vals.setdefault(key, {})[col] = v

    def phase_open(variant, bases):
        per = [nfwd // rounds + (1 if r < nfwd % rounds else 0) for r in range(rounds)]
        got = {k: {'open_ms': [], 'cancel_ms': [], 'failed': 0, 'cancel_failed': 0,
                   'errors': []} for k in KINDS}
        wide0 = srv['ferryd+etcd'].log_text().count('; fleet-wide)')
        for r in range(rounds):
            for k in (KINDS if r % 2 == 0 else KINDS[::-1]):
                if variant == MUX:
                    rep = muxfwd.open_forwards(run, srv[k], f'{k}-{r}', per[r],
                                               seconds=max(30, per[r]))
                else:
                    first = bases[k] + sum(per[:r]) if variant == 'fixed port' else 0
                    rep = open_forwards(tool, srv[k], run.ident, run.user, per[r],
                                        first_port=first, cap_s=max(30, per[r]))
                g = got[k]
                g['open_ms'] += rep['open_ms']
                g['cancel_ms'] += rep.get('cancel_ms', [])
                g['failed'] += rep['failed']
                g['cancel_failed'] += rep.get('cancel_failed', 0)
                if rep['first_error']:
                    g['errors'].append(rep['first_error'])
        wide = srv['ferryd+etcd'].log_text().count('; fleet-wide)') - wide0
        if wide < len(got['ferryd+etcd']['open_ms']):
            raise RuntimeError(f'{variant}: ferryd+etcd took {wide} forwards fleet-wide, '
                               f'fewer than the {len(got["ferryd+etcd"]["open_ms"])} timed')
        for k in KINDS:
            g = got[k]
            if not g['open_ms']:
                raise RuntimeError(f'{k}, {variant}: no forward opened: {g["errors"][:1]}')
            g['opens_per_s'] = len(g['open_ms']) / (sum(g['open_ms']) / 1e3)
            results['open'].setdefault(variant, {})[k] = {
                'n': len(g['open_ms']), 'failed': g['failed'],
                'cancel_failed': g['cancel_failed'], 'errors': g['errors'][:3],
                'open_p50_ms': pct(g['open_ms'], 50), 'open_p99_ms': pct(g['open_ms'], 99),
                'cancel_p50_ms': pct(g['cancel_ms'], 50) if g['cancel_ms'] else None,
                'cancel_p99_ms': pct(g['cancel_ms'], 99) if g['cancel_ms'] else None,
                'opens_per_s': g['opens_per_s'], 'open_ms': g['open_ms'],
                'cancel_ms': g['cancel_ms']}
            o = results['open'][variant][k]
            for what in ('open_p50_ms', 'open_p99_ms', 'cancel_p50_ms', 'cancel_p99_ms',
                         'opens_per_s'):
                put((variant, what), k, o[what])
        log(f'bench: open, {variant}: ' + ', '.join(
            f'{k} p50 {results["open"][variant][k]["open_p50_ms"]:.2f} ms '
            f'({results["open"][variant][k]["n"]} ok, {got[k]["failed"]} refused)'
            for k in KINDS))

    def phase_bulk():
        s = srv['ferryd+etcd']
        ts = {p: run.tunnel('ferry', '-R', s, [sink.addr, source.addr], CIPHER,
                            f'ferry-R-{p}', bind=('' if p == 'fleet-wide' else fl.LOCALHOST))
              for p in PATHS}
        for p in PATHS:
            for port in ts[p].ports:
                check_scope(s, port, p == 'fleet-wide')
        for direction in ('up', 'down'):
            def one(p):
                meters = [CpuMeter(s.pids), CpuMeter(lambda: [ts[p].pid])]
                if direction == 'up':
                    return timed_upload(fl.connect(ts[p].ports[0]), sink, size, meters)
                return timed_download(fl.connect(ts[p].ports[1]), size, meters)
            got = interleaved_best(repeat, PATHS, one)
            for p in PATHS:
                srv_gib, cli_gib = (c / (size / GiB) for c in got[p]['low'])
                results['bulk'].setdefault(direction, {})[p] = {
                    'MBps': got[p]['best'], 'ferryd_cpu_s_per_gib': srv_gib,
                    'ferry_cpu_s_per_gib': cli_gib}
                put(('bulk', direction), p, got[p]['best'])
                put(('cpu', direction), p, srv_gib)
            log(f'bench: -R {direction}: ' + ', '.join(
                f'{p} {got[p]["best"]:.0f} MB/s, ferryd {got[p]["low"][0] / (size / GiB):.2f} '
                f'CPU-s/GiB' for p in PATHS))
        for t in ts.values():
            run.close_tunnel(t)

    try:
        lifetime = budget + 120
        sink = run.target(fl.SinkServer(hash=False, lifetime=lifetime))
        source = run.target(fl.SourceServer(size, lifetime=lifetime))
        (run.work / 'etcd').mkdir()
        etcd = run.target(etcdlab.EtcdCluster(run.work / 'etcd'))
        span = len(KINDS) * nfwd + 512
        lo = pick_span(span)
        bases = {k: lo + i * nfwd for i, k in enumerate(KINDS)}
        srv = {'sshd': run.new_server('sshd', 'fleet', ['GatewayPorts clientspecified']),
               'ferryd': run.new_server('ferryd', 'local', ['GatewayPorts clientspecified']),
               'ferryd+etcd': run.new_server('ferryd', 'etcd',
                                             fleet_config(etcd, lo, lo + span - 1))}
        wait_joined(srv['ferryd+etcd'])
        results['meta'] = dict(run.meta(), **{
            'quick': args.quick, 'forwards': nfwd, 'rounds': rounds, 'size_bytes': size,
            'repeat': repeat, 'user': run.user, 'sshd': fl.SSHD, 'ferryd': str(FERRYD),
            'ferry': str(fl.ferry_bin()), 'etcd': etcdlab.ETCD, 'port_span': [lo, lo + span - 1]})
        log(f'bench: ferryd vs ferryd+etcd (3 members) vs sshd, user {run.user}; {nfwd} '
            f'forwards per variant in {rounds} rounds, bulk {size // MiB} MiB x{repeat}; '
            f'{os.cpu_count()} CPUs, load {" ".join(results["meta"]["loadavg_start"])}')
        for v in VARIANTS + (MUX,):
            phase_open(v, bases)
        gen = CpuMeter(lambda: [os.getpid()])
        results['raw'] = raw_ceiling(sink, source, size, 1, [gen])
        phase_bulk()
    except BenchTimeout as e:
        log(f'bench: {e}; partial results follow')
        results['meta']['timed_out'] = str(e)
    finally:
        run.close()
        results['meta']['elapsed_s'] = time.monotonic() - started
        results['meta']['loadavg_end'] = Path('/proc/loadavg').read_text().split()[:3]

    tables = build_tables(vals)
    results['rows'] = [r for t in tables for r in t.rows]
    print_report(results, tables)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1) + '\n')
    return 1 if 'timed_out' in results['meta'] else 0


def open_rows(t):
    for v in VARIANTS:
        t.row('open', f'open {v} p50', 'ms', (v, 'open_p50_ms'), 'lower')
        t.row('open', f'open {v} p99', 'ms', (v, 'open_p99_ms'), 'lower')
        t.row('open', f'opens/s {v} (one session)', '/s', (v, 'opens_per_s'), 'higher')
    t.row('ssh', f'open {MUX} p50', 'ms', (MUX, 'open_p50_ms'), 'lower')
    t.row('ssh', f'open {MUX} p99', 'ms', (MUX, 'open_p99_ms'), 'lower')
    for v in VARIANTS:
        t.row('cancel', f'cancel {v} p50', 'ms', (v, 'cancel_p50_ms'), 'lower')
        t.row('cancel', f'cancel {v} p99', 'ms', (v, 'cancel_p99_ms'), 'lower')


def build_tables(vals):
    """The registry's cost (ferryd+etcd / ferryd), the reference (ferryd+etcd
    / sshd) and the data path (fleet-wide / node-local)."""
    cost = Table(vals, ('ferryd', 'ferryd+etcd'), 'etcd/none')
    open_rows(cost)
    ref = Table(vals, ('sshd', 'ferryd+etcd'), 'ferryd/sshd')
    open_rows(ref)
    data = Table(vals, PATHS, 'wide/local')
    for d in ('up', 'down'):
        data.row('bulk', f'-R bulk {d}', 'MB/s', ('bulk', d), 'higher')
    for d in ('up', 'down'):
        data.row('cpu', f'ferryd CPU {d}', 's/GiB', ('cpu', d), 'lower')
    return cost, ref, data


def print_report(results, tables):
    meta = results['meta']
    print(f'\n== ferryd with and without a fleet registry (etcd); {meta.get("cpus")} CPUs, '
          f'kernel {meta.get("kernel")}, {meta.get("ssh")}')
    print(f'load average {" ".join(meta.get("loadavg_start", []))} at the start, '
          f'{" ".join(meta.get("loadavg_end", []))} at the end')
    print(f'opening: {meta.get("forwards")} tcpip-forward per server and variant from '
          f'ferry-fwdopen, {meta.get("rounds")} rounds alternating; data path: ferry -R '
          f'{meta.get("size_bytes", 0) // MiB} MiB best of {meta.get("repeat")} on ferryd+etcd')
    for v, ks in results['open'].items():
        for k, o in ks.items():
            if o['failed'] or o['cancel_failed']:
                print(f'{k}, {v}: {o["failed"]} forward(s) refused, {o["cancel_failed"]} '
                      f'cancel(s) refused; e.g. {ascii(o["errors"][:1])}')
    titles = ('the registry\'s cost: ferryd+etcd / ferryd (no ClusterRegistry)',
              'the reference: ferryd+etcd / OpenSSH sshd (same client, same requests)',
              'the data path on ferryd+etcd: fleet-wide -R / node-local -R')
    for title, t in zip(titles, tables):
        print(f'\n{title}')
        t.print()
    raw = results.get('raw')
    if raw:
        print(f'\nraw loopback (no tunnel): up {raw["up_MBps"]:.0f} MB/s, down '
              f'{raw["down_MBps"]:.0f} MB/s')
        warning = tables[2].ceiling_warning(raw)
        if warning:
            print(warning)
    print(f'runtime {meta.get("elapsed_s", 0):.0f}s')


if __name__ == '__main__':
    sys.exit(main())
