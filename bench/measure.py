"""The timed parts of the benchmarks, with the Python source/sink of
ferrylab (pattern sent with 1 MiB sendall, read with 1 MiB recv_into and
not hashed: on this kind of machine about 0.4 CPU-seconds per GiB for both
ends together, cheaper than sendfile or splice on loopback). Shared by
bench.py, bench_server.py, bench_pair.py and bench_fleet.py.

A meter is anything with start() and stop() -> number (procstat.CpuMeter):
started right before the timed part, stopped right after it.
"""
import socket
import time

import ferrylab as fl
from ferrylab import Deadline


def _start(meters):
    for m in meters:
        m.start()


def timed_upload(sock, sink, n, meters=()):
    """Send n bytes on the connected sock, shut down its write side and wait
    until `sink` counted them. Closes sock. Returns (MB/s, [meter values])."""
    try:
        _start(meters)
        t0 = time.perf_counter()
        fl.send_pattern(sock, n, 0, Deadline(300, 'bench upload'))
        sock.shutdown(socket.SHUT_WR)
        res = sink.result(timeout=120)
        dt = time.perf_counter() - t0
        used = [m.stop() for m in meters]
    finally:
        sock.close()
    if res.error or res.count != n:
        raise RuntimeError(f'upload: sink got {res}')
    return n / dt / 1e6, used


def timed_download(sock, n, meters=()):
    """Read the connected sock to EOF, which must bring n bytes. Closes sock.
    Returns (MB/s, [meter values])."""
    try:
        _start(meters)
        t0 = time.perf_counter()
        count, _ = fl.recv_to_eof(sock, Deadline(300, 'bench download'), hash=False)
        dt = time.perf_counter() - t0
        used = [m.stop() for m in meters]
    finally:
        sock.close()
    if count != n:
        raise RuntimeError(f'download: got {count} of {n} bytes')
    return n / dt / 1e6, used


def conn_round(port, n, deadline, handshake=None):
    """n sequential connect / 1-byte echo / close, all timed (with a
    handshake(sock) done after the connect, e.g. SOCKS5), until the deadline.
    Returns (conn_per_s, latencies_s)."""
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
            if handshake is not None:
                handshake(s)
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


def pct(xs, p):
    xs = sorted(xs)
    k = min(len(xs) - 1, max(0, int(round(p / 100 * (len(xs) - 1)))))
    return xs[k]


def raw_ceiling(sink, source, n, repeat, meters=()):
    """The harness's own ceiling: the same source/sink with no tunnel, best
    of `repeat` each way. Returns {'up_MBps', 'down_MBps', 'meters_per_gib'}
    (the meters' lowest value per GiB moved, e.g. the generator's own CPU)."""
    up = down = 0.0
    low = [None] * len(meters)
    for _ in range(repeat):
        for d in ('up', 'down'):
            if d == 'up':
                v, used = timed_upload(fl.connect(sink.port), sink, n, meters)
                up = max(up, v)
            else:
                v, used = timed_download(fl.connect(source.port), n, meters)
                down = max(down, v)
            low = [u / (n / (1 << 30)) if lo is None else min(lo, u / (n / (1 << 30)))
                   for u, lo in zip(used, low)]
    return {'up_MBps': up, 'down_MBps': down, 'meters_per_gib': low}


def interleaved_best(repeat, kinds, fn):
    """fn(kind) -> (value, [meter values]) for each kind, `repeat` times,
    the kinds interleaved and their order reversed every other repetition
    (a burst of load elsewhere hits one repetition, not one kind). Returns
    {kind: {'best': the highest value, 'low': [the lowest of each meter],
    'at_best': [the meters of the repetition with the highest value]}}."""
    out = {}
    for i in range(repeat):
        for k in (kinds if i % 2 == 0 else kinds[::-1]):
            v, used = fn(k)
            o = out.get(k)
            if o is None:
                out[k] = {'best': v, 'low': list(used), 'at_best': list(used)}
                continue
            o['low'] = [min(x, y) for x, y in zip(o['low'], used)]
            if v > o['best']:
                o['best'], o['at_best'] = v, list(used)
    return out


def conn_rates(ports, rounds, n, round_seconds, handshake=None, warmup=20):
    """The connection rate through each of ports = {kind: port}: `warmup`
    connections each, then `rounds` rounds of n // rounds conn_round()s, the
    kinds interleaved (order reversed every other round), each round under
    its own deadline of round_seconds, so a slow kind yields fewer samples
    but never starves the other. Returns {kind: {'rate': the best round's
    conn/s, 'rounds': [conn/s of each round], 'lat_s': [every latency]}}."""
    kinds = list(ports)
    for k in kinds:
        conn_round(ports[k], warmup, Deadline(30, 'warm-up'), handshake)
    out = {k: {'rate': 0.0, 'rounds': [], 'lat_s': []} for k in kinds}
    for i in range(rounds):
        for k in (kinds if i % 2 == 0 else kinds[::-1]):
            r, lat = conn_round(ports[k], max(1, n // rounds),
                                Deadline(round_seconds, 'connection rate'), handshake)
            o = out[k]
            o['rate'] = max(o['rate'], r)
            o['rounds'].append(r)
            o['lat_s'] += lat
    return out
