#!/usr/bin/python3
"""ferry vs OpenSSH ssh: local forwarding (-L) side by side against ONE sshd.

    /usr/bin/python3 bench/bench.py [--quick] [--only-ssh] [--json PATH]

Measures, for each client (ferry and ssh, interleaved in the same run):
  - bulk throughput (MB/s, best of N) through -L for aes128-gcm@openssh.com and
    chacha20-poly1305@openssh.com, client->server ("up", into a sink) and
    server->client ("down", from a source);
  - connection rate: sequential connect + 1-byte echo + close (conn/s), with
    p50/p99 latency;
  - RSS (VmRSS) of the client process idle with the tunnel up, with 200 open
    connections through it, and its peak (VmHWM) after the bulk runs.
Also measured: raw loopback throughput of the same Python source/sink with no
tunnel, i.e. the ceiling of this harness (if a tunnel gets near it, the numbers
measure Python, not the tunnel).

Ratios are ferry/ssh; the last column says which direction is better.
Everything is on 127.0.0.1 with kernel-chosen ports, and bounded (per-operation
timeouts, plus a global alarm). The sshd is OpenSSH in inetd mode (the harness
in tests/integration/ferrylab.py).
"""

import argparse
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / 'tests' / 'integration'))
import ferrylab as fl  # noqa: E402
from ferrylab import MiB, Deadline  # noqa: E402

CIPHERS = ['aes128-gcm@openssh.com', 'chacha20-poly1305@openssh.com']
CONN_CIPHER = 'aes128-gcm@openssh.com'


class BenchTimeout(Exception):
    pass


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# ------------------------------------------------------------------ measurements

def timed_upload(port, sink, n):
    s = fl.connect(port)
    try:
        t0 = time.perf_counter()
        fl.send_pattern(s, n, 0, Deadline(300, 'bench upload'))
        s.shutdown(socket.SHUT_WR)
        res = sink.result(timeout=120)
        dt = time.perf_counter() - t0
    finally:
        s.close()
    if res.error or res.count != n:
        raise RuntimeError(f'upload: sink got {res}')
    return n / dt / 1e6


def timed_download(port, n):
    s = fl.connect(port)
    try:
        t0 = time.perf_counter()
        count, _ = fl.recv_to_eof(s, Deadline(300, 'bench download'), hash=False)
        dt = time.perf_counter() - t0
    finally:
        s.close()
    if count != n:
        raise RuntimeError(f'download: got {count} of {n} bytes')
    return n / dt / 1e6


def conn_round(port, n, deadline):
    """n sequential connect / 1-byte echo / close. Returns (conn_per_s, latencies_s)."""
    lat = []
    t0 = time.perf_counter()
    for _ in range(n):
        if deadline.expired():
            break
        a = time.perf_counter()
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(10)
        try:
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            s.connect((fl.LOCALHOST, port))
            s.sendall(b'x')
            if s.recv(1) != b'x':
                raise RuntimeError('echo through the tunnel returned nothing')
        finally:
            s.close()
        lat.append(time.perf_counter() - a)
    total = time.perf_counter() - t0
    if not lat:
        raise RuntimeError('no connection completed')
    return len(lat) / total, lat


def open_many(port, n):
    socks = []
    try:
        for _ in range(n):
            s = fl.connect(port, timeout=10)
            socks.append(s)
            s.sendall(b'o')
        for s in socks:                      # each channel confirmed end to end
            if s.recv(1) != b'o':
                raise RuntimeError('open connection got no echo')
    except BaseException:
        for s in socks:
            s.close()
        raise
    return socks


def pct(xs, p):
    xs = sorted(xs)
    k = min(len(xs) - 1, max(0, int(round(p / 100 * (len(xs) - 1)))))
    return xs[k]


# ------------------------------------------------------------------ main

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--quick', action='store_true', help='small sizes (~1 minute): CI smoke run')
    ap.add_argument('--only-ssh', action='store_true', help='run OpenSSH ssh only (no ferry)')
    ap.add_argument('--json', metavar='PATH', help='also write results as JSON here')
    ap.add_argument('--size-mib', type=int, help='bulk size per transfer (default 512, quick 128)')
    ap.add_argument('--repeat', type=int, help='bulk transfers per point, best kept (default 3, quick 2)')
    ap.add_argument('--conns', type=int, help='sequential connections (default 2000, quick 1000)')
    ap.add_argument('--open-conns', type=int, default=200, help='open connections for RSS (200)')
    ap.add_argument('--keep', action='store_true', help='keep the work directory')
    args = ap.parse_args()

    size = (args.size_mib or (128 if args.quick else 512)) * MiB
    repeat = args.repeat or (2 if args.quick else 3)
    nconn = args.conns or (1000 if args.quick else 2000)
    budget = 240 if args.quick else 1500
    kinds = ['ssh'] if args.only_ssh else ['ssh', 'ferry']
    if not args.only_ssh:
        try:
            fl.require_ferry()
        except fl.FerryMissing as e:
            log(f'bench: {e}\nbench: use --only-ssh to benchmark OpenSSH alone')
            return 2

    def on_alarm(signum, frame):
        raise BenchTimeout(f'benchmark exceeded its {budget}s budget')
    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(budget)

    work = Path(tempfile.mkdtemp(prefix='ferry-bench-'))
    servers, tunnels = [], []
    sshd = None
    results = {'meta': {}, 'raw': {}, 'rows': []}
    vals = {}   # (metric) -> {kind: value}

    def put(metric, kind, v):
        vals.setdefault(metric, {})[kind] = v

    def tunnel(kind, targets, cipher):
        t = fl.start_tunnel(kind, sshd, targets, identity=keys.user['ed25519'],
                            known_hosts=kh, env=env, cipher=cipher,
                            config_dir=work, label=f'{kind}-{cipher}')
        tunnels.append(t)
        return t

    try:
        keys = fl.KeySet(work / 'keys', host=['ed25519'], user=['ed25519'])
        sshd = fl.Sshd(work / 'sshd', keys, log_level='ERROR', authorized=['ed25519'],
                       max_conns=64)
        kh = sshd.write_known_hosts(work / 'known_hosts')
        env = fl.client_env(work)
        sink = fl.SinkServer(hash=False)
        source = fl.SourceServer(size)
        echo = fl.EchoServer()
        servers += [sink, source, echo]
        ssh_version = subprocess.run([fl.SSH, '-V'], capture_output=True, text=True,
                                     timeout=10).stderr.strip()
        results['meta'] = {
            'quick': args.quick, 'size_bytes': size, 'repeat': repeat, 'conns': nconn,
            'open_conns': args.open_conns, 'clients': kinds, 'cpus': os.cpu_count(),
            'kernel': platform.release(), 'ssh': ssh_version,
            'ferry': None if args.only_ssh else str(fl.ferry_bin()),
            'time': time.strftime('%Y-%m-%dT%H:%M:%S%z'),
        }
        log(f'bench: {", ".join(kinds)}; bulk {size // MiB} MiB x{repeat}, '
            f'{nconn} sequential conns, {args.open_conns} open conns; {os.cpu_count()} CPUs')

        # 1. the ceiling: same Python source/sink, no tunnel
        up = max(timed_upload(sink.port, sink, size) for _ in range(repeat))
        down = max(timed_download(source.port, size) for _ in range(repeat))
        results['raw'] = {'up_MBps': up, 'down_MBps': down}
        log(f'bench: raw loopback (no tunnel): up {up:.0f} MB/s, down {down:.0f} MB/s')

        # 2. bulk throughput, kinds interleaved per repetition
        for cipher in CIPHERS:
            ts = {k: tunnel(k, [sink.addr, source.addr], cipher) for k in kinds}
            short = cipher.replace('@openssh.com', '')
            for direction in ('up', 'down'):
                best = {k: 0.0 for k in kinds}
                for _ in range(repeat):
                    for k in kinds:
                        if direction == 'up':
                            v = timed_upload(ts[k].ports[0], sink, size)
                        else:
                            v = timed_download(ts[k].ports[1], size)
                        best[k] = max(best[k], v)
                for k in kinds:
                    put(('throughput', short, direction), k, best[k])
                log(f'bench: {short} {direction}: ' +
                    ', '.join(f'{k} {best[k]:.0f} MB/s' for k in kinds))
            for k in kinds:
                put(('hwm', short), k, ts[k].hwm_kib())
                ts[k].close()

        # 3. connection rate and latency
        ts = {k: tunnel(k, [echo.addr], CONN_CIPHER) for k in kinds}
        for k in kinds:                                   # warm up
            conn_round(ts[k].port, 20, Deadline(30, 'warmup'))
        rounds = 2
        rate = {k: 0.0 for k in kinds}
        lats = {k: [] for k in kinds}
        d = Deadline(budget / 3, 'connection rate')
        for _ in range(rounds):
            for k in kinds:
                r, lat = conn_round(ts[k].port, max(1, nconn // rounds), d)
                rate[k] = max(rate[k], r)
                lats[k] += lat
        for k in kinds:
            put(('conn_rate',), k, rate[k])
            put(('lat_p50',), k, pct(lats[k], 50) * 1e3)
            put(('lat_p99',), k, pct(lats[k], 99) * 1e3)
            ts[k].close()
        log('bench: conn/s: ' + ', '.join(f'{k} {rate[k]:.0f}' for k in kinds))

        # 4. memory: fresh tunnel, idle, then N open connections
        for k in kinds:
            t = tunnel(k, [echo.addr], CONN_CIPHER)
            put(('rss_idle',), k, t.rss_kib())
            socks = open_many(t.port, args.open_conns)
            try:
                put(('rss_open',), k, t.rss_kib())
            finally:
                for s in socks:
                    s.close()
            t.close()
        signal.alarm(0)
    except BenchTimeout as e:
        log(f'bench: {e}; partial results follow')
        results['error'] = str(e)
    finally:
        signal.alarm(0)
        for t in tunnels:
            t.close()
        if sshd:
            sshd.close()
        for s in servers:
            s.close()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            log(f'bench: work directory kept: {work}')

    # ------------------------------------------------------------ report
    rows = []

    def row(label, unit, key, better, scale=1.0):
        v = vals.get(key, {})
        s, f = v.get('ssh'), v.get('ferry')
        s = s * scale if s is not None else None
        f = f * scale if f is not None else None
        ratio = (f / s) if (s and f is not None) else None
        rows.append({'metric': label, 'unit': unit, 'ssh': s, 'ferry': f,
                     'ratio': ratio, 'better': better})

    for cipher in CIPHERS:
        short = cipher.replace('@openssh.com', '')
        for direction in ('up', 'down'):
            row(f'throughput {short} {direction}', 'MB/s', ('throughput', short, direction),
                'higher')
    row('connections/s (connect+1B echo+close)', 'conn/s', ('conn_rate',), 'higher')
    row('connection latency p50', 'ms', ('lat_p50',), 'lower')
    row('connection latency p99', 'ms', ('lat_p99',), 'lower')
    row('RSS idle, tunnel up', 'MiB', ('rss_idle',), 'lower', 1 / 1024)
    row(f'RSS with {args.open_conns} open conns', 'MiB', ('rss_open',), 'lower', 1 / 1024)
    for cipher in CIPHERS:
        short = cipher.replace('@openssh.com', '')
        row(f'peak RSS after bulk {short}', 'MiB', ('hwm', short), 'lower', 1 / 1024)
    results['rows'] = rows

    def fmt(x):
        if x is None:
            return '-'
        return f'{x:.0f}' if abs(x) >= 100 else f'{x:.2f}'

    raw = results.get('raw') or {}
    print(f'\nferry vs OpenSSH (-L over one sshd, 127.0.0.1; {os.cpu_count()} CPUs; '
          f'bulk {size // MiB} MiB best of {repeat}; {nconn} conns)')
    if raw:
        print(f'harness ceiling, raw loopback without tunnel: up {raw["up_MBps"]:.0f} MB/s, '
              f'down {raw["down_MBps"]:.0f} MB/s')
    w = max(len(r['metric']) for r in rows)
    print(f'{"metric":<{w}}  {"unit":<6} {"ssh":>9} {"ferry":>9} {"ferry/ssh":>9}  better')
    print('-' * (w + 46))
    for r in rows:
        ratio = f'{r["ratio"]:.2f}' if r['ratio'] is not None else '-'
        print(f'{r["metric"]:<{w}}  {r["unit"]:<6} {fmt(r["ssh"]):>9} {fmt(r["ferry"]):>9} '
              f'{ratio:>9}  {r["better"]}')
    if raw:
        ceiling = min(raw['up_MBps'], raw['down_MBps'])
        top = max([x for r in rows if r['unit'] == 'MB/s' for x in (r['ssh'], r['ferry'])
                   if x is not None] or [0])
        if top > 0.5 * ceiling:
            print(f'WARNING: a tunnel reached {top:.0f} MB/s, over half the harness ceiling '
                  f'({ceiling:.0f} MB/s): throughput numbers may be limited by Python')
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + '\n')
        print(f'JSON written to {args.json}')
    return 1 if 'error' in results else 0


if __name__ == '__main__':
    sys.exit(main())
