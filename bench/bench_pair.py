#!/usr/bin/python3
"""ferry+ferryd vs ssh+sshd: the end-to-end pair, both on this machine, one run.

    /usr/bin/python3 bench/bench_pair.py [--quick] [--json PATH] [--keep]
        [--size-mib N] [--repeat N] [--conns N] [--conn-seconds S] [--burst N]
        [--sessions K,K,...] [--k-size-mib N] [--ferryd-option LINE]...
        [--phases bulk,conns,burst,k] [--user NAME] [--budget SECONDS]

Full run: bulk 1024 MiB best of 3, 5000 connections in 10 rounds, a burst of
1000, K-session aggregate of 2048 MiB best of 3 (about three minutes on 2 CPUs).
--quick: bulk 128 MiB x1, 500 connections in 5 rounds, the burst of 1000,
aggregate 256 MiB x1 (about 20 seconds).

Two pairs, measured in the same run and alternating (the order reversed every
other repetition): OpenSSH ssh against OpenSSH sshd, and ferry against ferryd.
Ed25519 keys for both; the ratio column is (ferry+ferryd) / (ssh+sshd):
  1. bulk throughput (MB/s, best of N) through -L and through -R, for
     aes128-gcm@openssh.com and chacha20-poly1305@openssh.com, both ways: "up" =
     the benchmark sends into the tunnel and the data ends in a sink, "down" =
     it reads what a source sends. With -L the client listens and the server
     connects out (up = client->server); with -R the server listens on a port
     it allocated (`-R 127.0.0.1:0:...`) and the client connects out (up =
     server->client). Also the CPU time of client and server together per GiB
     (the JSON has each alone), lowest of the repetitions.
  2. connection rate through -L (aes128-gcm), measured by ferry-connrate
     (bench/connrate.c: connects and echo server in C, so the generator costs
     little next to the tunnel): connect + 1-byte echo + close, one at a time
     and 8 at once; conn/s (the best of 10 rounds, quick 5, the pairs
     interleaved, each round capped at --conn-seconds / rounds), the median
     of the rounds' connect-to-echo p50 and p99, and the CPU seconds server
     and client spent per 1000 connections (lowest round).
  3. a burst of 1000 connections opened at once into a fresh -L tunnel
     (bench/burst.py), each sending one byte as soon as it is connected:
     connections completed (echoed) and failed, the time until the last echo
     (bounded: 60 s, quick 30 s) and connect-to-echo p50/p99; the reasons the
     client heard for refused channel opens are printed (ferryd's default
     MaxPendingConnects 64 refuses part of such a burst; --ferryd-option
     'MaxPendingConnects 0' lifts the limit).
  4. the K-session aggregate: K separate client processes (`ssh -L`, `ferry
     -L`), each with its own SSH session to the server, one bulk stream each at
     the same time (aes128-gcm; the --k-size-mib total split evenly), for K = 1,
     2, 4, ... up to os.cpu_count() (at least 4), driven by ferry-blast
     (bench/blast.c: the K streams from one C process, into its sink or from
     its source). Reported: aggregate MB/s (all bytes / time from the release
     of the streams until the last one ended), the server's CPU seconds per GiB (run time of all threads of all
     its processes, the process tree by parent pid, so sshd's per-session
     processes count: each process's CPU-time clock, the nanoseconds that
     /proc/PID/task/*/schedstat shows, threads that ended included) and the
     CPU cores it kept busy (its CPU time over the wall time), plus how many
     processes and threads the server had with K sessions.
The bulk runs' load generator is this Python process (sink, source threads and
the senders: 1 MiB sendall and recv_into, about 0.4 CPU-seconds per GiB for
both ends); the K runs' is ferry-blast with its sink and source (about the
same per GiB: the kernel's copies are most of it, but no interpreter lock
between the streams), the connection rate's ferry-connrate. Each shares the
CPUs with clients and servers: on a machine with few cores it competes for
them. The output says how much it used (in the raw run without a tunnel and
in the K runs) and the raw loopback ceiling.

sshd runs as a normal daemon (bench/servers.py: `sshd -D -e -f CONFIG`,
MaxStartups 2000:30:4000, port from bind-0-and-close, ready once it holds the
LISTEN socket); ferryd as `ferryd -D -e -f CONFIG` with Port 0, MaxStartups
2000:30:4000 and its other limits at their defaults (ready once it printed its
port). As root the SSH user is "nobody" (--user), as in bench_server.py.
Everything is on 127.0.0.1, every loop is bounded in count and time, a global
alarm ends the run as a last resort (the partial results are printed), and
every process started here is killed at the end.
"""

import argparse
import collections
import json
import os
import re
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / 'tests' / 'integration'))
import ferrylab as fl  # noqa: E402
import burst  # noqa: E402
import loadtools  # noqa: E402
from benchrun import BenchTimeout, Run, arm_alarm, log  # noqa: E402
from ferrylab import MiB  # noqa: E402
from measure import (interleaved_best, pct,  # noqa: E402
                     raw_ceiling, timed_download, timed_upload)
from procstat import CpuMeter, raise_nofile, task_count  # noqa: E402
from report import Table  # noqa: E402
from servers import FERRYD  # noqa: E402

PAIRS = ('ssh+sshd', 'ferry+ferryd')
CLIENT = {'ssh+sshd': 'ssh', 'ferry+ferryd': 'ferry'}
SERVER = {'ssh+sshd': 'sshd', 'ferry+ferryd': 'ferryd'}
CIPHERS = ['aes128-gcm@openssh.com', 'chacha20-poly1305@openssh.com']
CIPHER = 'aes128-gcm@openssh.com'       # connections, burst and the K sessions
CONN_CONCURRENCY = (1, 8)               # connections at once in the rate phase
PHASES = ('bulk', 'conns', 'burst', 'k')
DIRECTIONS = ('up', 'down')
GiB = 1 << 30
# ssh: "channel 7: open failed: resource shortage: WHY"; ferry: "channel open failed: WHY"
OPEN_FAILED_RE = re.compile(r'open failed: (?:[a-z ]+: )?(.*)$', re.M)


def short(cipher):
    return cipher.replace('@openssh.com', '')


def k_levels(spec, cpus):
    """K values: from --sessions, else 1, 2, 4, ... and max(4, cpus) itself."""
    if spec:
        ks = sorted({int(x) for x in spec.split(',') if x.strip()})
        if not ks or ks[0] < 1:
            raise SystemExit(f'bench_pair: --sessions wants positive counts, got {spec!r}')
        return ks
    top, ks, k = max(4, cpus), [], 1
    while k < top:
        ks.append(k)
        k *= 2
    return ks + [top]


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--quick', action='store_true',
                    help='small run (about 20 seconds): CI smoke run')
    ap.add_argument('--json', metavar='PATH', help='also write results as JSON here')
    ap.add_argument('--size-mib', type=int, help='bulk size per transfer (1024, quick 128)')
    ap.add_argument('--repeat', type=int, help='transfers per point, best kept (3, quick 1)')
    ap.add_argument('--conns', type=int, help='sequential connections per pair (5000, quick 500)')
    ap.add_argument('--conn-seconds', type=float,
                    help='time cap of the connection phase per pair (60, quick 8)')
    ap.add_argument('--burst', type=int, default=1000,
                    help='connections opened at once into a fresh -L tunnel (1000; 0 skips)')
    ap.add_argument('--sessions', metavar='K,K,...',
                    help='K-session levels (1,2,4,... up to max(4, CPUs))')
    ap.add_argument('--k-size-mib', type=int,
                    help='MiB per K-session point, split over the K streams (2048, quick 256)')
    ap.add_argument('--ferryd-option', action='append', default=[], metavar='LINE',
                    help='a ferryd_config line added to its defaults (repeatable), '
                         'e.g. "MaxPendingConnects 1024"')
    ap.add_argument('--phases', default=','.join(PHASES), metavar='P,P,...',
                    help=f'which phases run ({",".join(PHASES)}: all)')
    ap.add_argument('--user', help='SSH user (default: the current user, "nobody" as root)')
    ap.add_argument('--budget', type=int, help='global alarm in seconds (1800, quick 420)')
    ap.add_argument('--keep', action='store_true', help='keep the work directory')
    return ap.parse_args()


def main():
    args = parse_args()
    size = (args.size_mib or (128 if args.quick else 1024)) * MiB
    repeat = args.repeat or (1 if args.quick else 3)
    k_repeat = repeat
    nconn = args.conns or (500 if args.quick else 5000)
    conn_seconds = args.conn_seconds or (8 if args.quick else 60)
    rounds = 5 if args.quick else 10
    burst_s = 30 if args.quick else 60
    ks = k_levels(args.sessions, os.cpu_count() or 1)
    k_total = (args.k_size_mib or (256 if args.quick else 2048)) * MiB
    budget = args.budget or (420 if args.quick else 1800)
    phases = set(args.phases.split(','))
    if not phases <= set(PHASES):
        raise SystemExit(f'bench_pair: --phases takes {",".join(PHASES)}, got {args.phases!r}')
    crbin = loadtools.tool_path('ferry-connrate', FERRYD)
    blbin = loadtools.tool_path('ferry-blast', FERRYD)
    raise_nofile()
    fl.require_ferry()
    started = time.monotonic()
    arm_alarm(budget)
    run = Run('ferry-pair-', args.user, args.keep)
    results = {'meta': {}, 'raw': {}, 'rows': [], 'bulk': {}, 'conn': {}, 'burst': {},
               'ksessions': {}}
    vals = {}   # key tuple -> {pair: value}

    def put(key, pair, v):
        vals.setdefault(key, {})[pair] = v

    def tunnels(mode, targets, cipher, tag=''):
        return {p: run.tunnel(CLIENT[p], mode, srv[p], targets, cipher, f'{p}{mode}{tag}')
                for p in PAIRS}

    def close_all(ts):
        for t in (ts.values() if isinstance(ts, dict) else ts):
            run.close_tunnel(t)

    def phase_bulk(mode):
        for cipher in CIPHERS:
            ts = tunnels(mode, [sink.addr, source.addr], cipher)
            for direction in DIRECTIONS:
                def one(p):
                    meters = [CpuMeter(srv[p].pids), CpuMeter(lambda: [ts[p].pid])]
                    if direction == 'up':
                        return timed_upload(fl.connect(ts[p].ports[0]), sink, size, meters)
                    return timed_download(fl.connect(ts[p].ports[1]), size, meters)
                got = interleaved_best(repeat, PAIRS, one)
                for p in PAIRS:
                    srv_gib, cli_gib = (c / (size / GiB) for c in got[p]['low'])
                    results['bulk'].setdefault(f'{mode} {short(cipher)} {direction}', {})[p] = {
                        'MBps': got[p]['best'], 'server_cpu_s_per_gib': srv_gib,
                        'client_cpu_s_per_gib': cli_gib}
                    put((mode, 'tput', cipher, direction), p, got[p]['best'])
                    put((mode, 'cpu', cipher, direction), p, srv_gib + cli_gib)
                log(f'bench: {mode} {short(cipher)} {direction}: ' + ', '.join(
                    f'{p} {got[p]["best"]:.0f} MB/s' for p in PAIRS))
            close_all(ts)

    def phase_conns():
        cecho = run.target(loadtools.LoadServer(crbin, 'echo'))
        ts = tunnels('-L', [cecho.addr], CIPHER)
        for conc in CONN_CONCURRENCY:
            reports = {p: [] for p in PAIRS}

            def one(p):
                meters = [CpuMeter(srv[p].pids).start(), CpuMeter(lambda: [ts[p].pid]).start()]
                r = loadtools.connrate(crbin, ts[p].port, max(1, nconn // rounds), conc,
                                       conn_seconds / rounds)
                reports[p].append(r)
                return r['rate'], [m.stop() * 1000 / r['done'] for m in meters]
            got = interleaved_best(rounds, PAIRS, one)
            for p in PAIRS:
                rs = reports[p]
                results['conn'].setdefault(conc, {})[p] = {'rounds': rs}
                put(('conn_rate', conc), p, got[p]['best'])
                put(('conn_cpu', conc), p, got[p]['low'][0])
                put(('conn_cpu_client', conc), p, got[p]['low'][1])
                put(('lat_p50', conc), p, statistics.median(r['p50_ms'] for r in rs))
                put(('lat_p99', conc), p, statistics.median(r['p99_ms'] for r in rs))
                put(('conn_failed', conc), p, sum(r['failed'] for r in rs))
            log(f'bench: -L conn/s, {conc} at once: ' + ', '.join(
                f'{p} {got[p]["best"]:.0f}' for p in PAIRS))
        close_all(ts)

    def phase_burst():
        for p in PAIRS:
            t = run.tunnel(CLIENT[p], '-L', srv[p], [echo.addr], CIPHER, f'{p}-L-burst')
            b = burst.burst(fl.LOCALHOST, t.port, args.burst, timeout_s=burst_s)
            run.close_tunnel(t)
            results['burst'][p] = {x: b[x] for x in ('n', 'ok', 'failed', 'seconds')}
            # why channels were refused, as the client heard it (escaped)
            why = collections.Counter(m.group(1).strip()[:120] for m in
                                      OPEN_FAILED_RE.finditer(t.proc.stderr()))
            results['burst'][p]['open_failed'] = {ascii(w): n for w, n in why.most_common(3)}
            put(('burst_s',), p, b['seconds'])
            put(('burst_ok',), p, b['ok'])
            put(('burst_failed',), p, b['failed'])
            if b['lat_s']:
                put(('burst_p50',), p, pct(b['lat_s'], 50) * 1e3)
                put(('burst_p99',), p, pct(b['lat_s'], 99) * 1e3)
            log(f'bench: {p}: burst of {args.burst}: {b["ok"]} echoed, {b["failed"]} failed, '
                f'{b["seconds"]:.2f}s')

    def phase_k(k):
        per = max(MiB, k_total // k)
        src = loadtools.LoadServer(blbin, 'source', '-n', str(per))
        try:
            ts = {p: [run.tunnel(CLIENT[p], '-L', srv[p], [csink.addr, src.addr], CIPHER,
                                 f'{p}-L-k{k}.{i}') for i in range(k)] for p in PAIRS}
            for p in PAIRS:           # does the server spread K sessions over tasks?
                n, th = task_count(srv[p].pids())
                results['ksessions'].setdefault(k, {})[f'{p} server tasks'] = {
                    'processes': n, 'threads': th}
            for direction in DIRECTIONS:
                k_point(k, per, ts, direction, [csink.proc.pid, src.proc.pid])
            for p in PAIRS:
                close_all(ts[p])
        finally:
            src.close()

    def k_point(k, per, ts, direction, gen):
        gib = k * per / GiB

        def one(p):
            ports = [t.ports[0 if direction == 'up' else 1] for t in ts[p]]
            meters = [CpuMeter(srv[p].pids).start(),
                      CpuMeter(lambda: [t.pid for t in ts[p]]).start(),
                      CpuMeter(lambda: gen).start()]
            mbps, _, streams_cpu = loadtools.blast(blbin, direction, ports, per)
            used = [m.stop() for m in meters]
            return mbps, used[:2] + [used[2] + streams_cpu]
        got = interleaved_best(k_repeat, PAIRS, one)
        for p in PAIRS:
            srv_gib, cli_gib, gen_gib = (c / gib for c in got[p]['low'])
            # cores busy: the best repetition's server CPU over its duration
            cores = got[p]['at_best'][0] / (k * per / (got[p]['best'] * 1e6))
            results['ksessions'].setdefault(k, {}).setdefault(direction, {})[p] = {
                'MBps': got[p]['best'], 'server_cpu_s_per_gib': srv_gib,
                'client_cpu_s_per_gib': cli_gib, 'generator_cpu_s_per_gib': gen_gib,
                'server_cores_busy': cores, 'stream_bytes': per}
            put(('k', k, 'tput', direction), p, got[p]['best'])
            put(('k', k, 'cpu', direction), p, srv_gib)
            put(('k', k, 'cores', direction), p, cores)
        log(f'bench: K={k} {direction}: ' + ', '.join(
            f'{p} {got[p]["best"]:.0f} MB/s, server {got[p]["low"][0] / gib:.2f} CPU-s/GiB'
            for p in PAIRS))

    try:
        lifetime = budget + 120
        sink = run.target(fl.SinkServer(hash=False, lifetime=lifetime))
        source = run.target(fl.SourceServer(size, lifetime=lifetime))
        csink = run.target(loadtools.LoadServer(blbin, 'sink'))
        echo = run.target(fl.EchoServer(
            max_conns=2 * (nconn + 20 * (rounds + 1) + args.burst) + 1000, lifetime=lifetime))
        srv = {p: run.new_server(SERVER[p], 'pair', args.ferryd_option if p == 'ferry+ferryd'
                                 else ()) for p in PAIRS}
        results['meta'] = dict(run.meta(), **{
            'quick': args.quick, 'size_bytes': size, 'repeat': repeat, 'k_repeat': k_repeat,
            'conns': nconn, 'conn_seconds': conn_seconds, 'burst': args.burst,
            'k_levels': ks, 'k_total_bytes': k_total, 'user': run.user, 'sshd': fl.SSHD,
            'ferryd': str(FERRYD), 'ferry': str(fl.ferry_bin()),
            'ferryd_options': args.ferryd_option})
        log(f'bench: ssh+sshd vs ferry+ferryd, user {run.user}; bulk {size // MiB} MiB '
            f'x{repeat}, {nconn} conns, burst {args.burst}, K {ks}; {os.cpu_count()} CPUs')

        gen = CpuMeter(lambda: [os.getpid()])
        raw = results['raw'] = raw_ceiling(sink, source, size, repeat, [gen])
        log(f'bench: raw loopback (no tunnel): up {raw["up_MBps"]:.0f} MB/s, '
            f'down {raw["down_MBps"]:.0f} MB/s, generator {raw["meters_per_gib"][0]:.2f} '
            f'CPU-s/GiB')
        if 'bulk' in phases:
            for mode in ('-L', '-R'):
                phase_bulk(mode)
        if 'conns' in phases:
            phase_conns()
        if 'burst' in phases and args.burst > 0:
            phase_burst()
        if 'k' in phases:
            for k in ks:
                phase_k(k)
    except BenchTimeout as e:
        log(f'bench: {e}; partial results follow')
        results['error'] = str(e)
    finally:
        run.close()
    results['meta']['elapsed_s'] = time.monotonic() - started
    report(results, vals, args, ks)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + '\n')
        print(f'JSON written to {args.json}')
    return 1 if 'error' in results else 0


def report(results, vals, args, ks):
    meta, raw = results['meta'], results.get('raw') or {}
    table = Table(vals, PAIRS, 'ratio')
    row = table.row
    phases = set(args.phases.split(','))
    for mode in (('-L', '-R') if 'bulk' in phases else ()):
        for cipher in CIPHERS:
            for d in DIRECTIONS:
                row(f'bulk {mode}', f'{mode} {short(cipher)} {d}', 'MB/s',
                    (mode, 'tput', cipher, d), 'higher')
        for cipher in CIPHERS:
            for d in DIRECTIONS:
                row(f'bulk {mode}', f'{mode} {short(cipher)} {d}: CPU client+server', 's/GiB',
                    (mode, 'cpu', cipher, d), 'lower')
    for c in (CONN_CONCURRENCY if 'conns' in phases else ()):
        row('conn', f'-L connections/s, {c} at once (connect+1B echo+close)', 'conn/s',
            ('conn_rate', c), 'higher')
        row('conn', f'-L connect-to-echo p50, {c} at once', 'ms', ('lat_p50', c), 'lower')
        row('conn', f'-L connect-to-echo p99, {c} at once', 'ms', ('lat_p99', c), 'lower')
        row('conn', f'-L server CPU per 1000 connections, {c} at once', 's',
            ('conn_cpu', c), 'lower')
        row('conn', f'-L client CPU per 1000 connections, {c} at once', 's',
            ('conn_cpu_client', c), 'lower')
        row('conn', f'-L connections failed, {c} at once', 'count', ('conn_failed', c), 'lower')
    if args.burst > 0 and 'burst' in phases:
        row('burst', f'burst of {args.burst} -L connects: completed', 'count', ('burst_ok',),
            'higher')
        row('burst', 'burst: failed', 'count', ('burst_failed',), 'lower')
        row('burst', 'burst: time to last echo', 's', ('burst_s',), 'lower')
        row('burst', 'burst: connect-to-echo p50', 'ms', ('burst_p50',), 'lower')
        row('burst', 'burst: connect-to-echo p99', 'ms', ('burst_p99',), 'lower')
    for k in (ks if 'k' in phases else ()):
        for d in DIRECTIONS:
            row(f'k{k}', f'K={k} sessions aggregate {d}', 'MB/s', ('k', k, 'tput', d), 'higher')
        for d in DIRECTIONS:
            row(f'k{k}', f'K={k} server CPU {d}', 's/GiB', ('k', k, 'cpu', d), 'lower')
        for d in DIRECTIONS:
            row(f'k{k}', f'K={k} server cores busy {d}', 'cores', ('k', k, 'cores', d), '-')
    results['rows'] = table.rows

    print(f'\nferry+ferryd vs ssh+sshd, 127.0.0.1, {meta.get("cpus")} CPUs, {meta.get("ssh")}; '
          f'ratio = (ferry+ferryd) / (ssh+sshd)')
    print(f'bulk {meta.get("size_bytes", 0) // MiB} MiB best of {meta.get("repeat")}; up to '
          f'{meta.get("conns")} conns (best round); K sessions {short(CIPHER)}, '
          f'{meta.get("k_total_bytes", 0) // MiB} MiB split over K streams, best of '
          f'{meta.get("k_repeat")}; SSH user {meta.get("user")!r}; load average at start '
          f'{" ".join(meta.get("loadavg_start", []))}')
    print('-R: the benchmark connects to the port the server allocated, the client connects '
          'out; up = into the sink (server->client)')
    gen = [lv[d][p]['generator_cpu_s_per_gib'] for lv in results['ksessions'].values()
           for d in DIRECTIONS if d in lv for p in lv[d]]
    if raw:
        print(f'load generator (this Python process) shares the {meta.get("cpus")} CPUs: raw '
              f'loopback without tunnel up {raw["up_MBps"]:.0f} MB/s, down '
              f'{raw["down_MBps"]:.0f} MB/s at {raw["meters_per_gib"][0]:.2f} CPU-s/GiB'
              + (f'; ferry-blast {min(gen):.2f}-{max(gen):.2f} CPU-s/GiB in the K runs'
                 if gen else ''))
    print('CPU = run time of all threads of all processes (schedstat ns, ended threads '
          'included), lowest of the repetitions; cores busy = server CPU / wall time of '
          'the best repetition')
    table.print()
    for p, b in results['burst'].items():
        if b.get('open_failed'):
            print(f'burst, {p}: channel opens refused: ' + '; '.join(
                f'{n} x {w}' for w, n in b['open_failed'].items()))
    for k, lv in results['ksessions'].items():
        tasks = [f'{SERVER[p]} {lv[t]["processes"]} process(es), {lv[t]["threads"]} thread(s)'
                 for p in PAIRS for t in [f'{p} server tasks'] if t in lv]
        print(f'server tasks with K={k} sessions: ' + ', '.join(tasks))
    if meta.get('ferryd_options'):
        print('ferryd options: ' + '; '.join(meta['ferryd_options']))
    warning = table.ceiling_warning(raw)
    if warning:
        print(warning)
    print(f'runtime {meta.get("elapsed_s", 0):.0f}s')


if __name__ == '__main__':
    sys.exit(main())
