#!/usr/bin/python3
"""ferry vs OpenSSH ssh: local (-L), remote (-R) and dynamic (-D) forwarding side by side against ONE sshd.

    /usr/bin/python3 bench/bench.py [--quick] [--mode local|remote|dynamic|both|all]
                                    [--only-ssh] [--json PATH]

Measures, for each client (ferry and ssh, interleaved in the same run), through
-L ("local" mode), -R ("remote" mode) and -D ("dynamic" mode, SOCKS5), all
against the same sshd in the same run (--mode picks one, "both" is -L and -R,
"all" -- the default -- is all three):
  - bulk throughput (MB/s, best of N) for aes128-gcm@openssh.com and
    chacha20-poly1305@openssh.com in both directions. "up" = the benchmark
    sends into the tunnel and the data ends in a sink, "down" = the benchmark
    reads what a source sends through the tunnel. With -L the benchmark
    connects to the client's listener and sshd connects out to the sink/source
    (up = SSH client->server); with -R the benchmark connects to the port sshd
    listens on (`-R 127.0.0.1:0:...`, the port sshd allocates) and the client
    connects out to the sink/source (up = SSH server->client); with -D (for
    aes128-gcm@openssh.com only) the benchmark connects to the client's SOCKS
    port, does the SOCKS5 handshake below (outside the timed part) and sshd
    connects out to the sink/source (up = SSH client->server);
  - connection rate: sequential connect + 1-byte echo + close (conn/s), with
    p50/p99 latency (with -R: connect to sshd's port, the client connects out
    to an echo server; with -D the SOCKS5 handshake is part of every timed
    connection: connect, the no-auth greeting 05 01 00, read the 2-byte method
    reply (must be 05 00), CONNECT 127.0.0.1:echo-port (ATYP 1), read the
    10-byte reply (must be 05 00 00 01 ...), then the 1-byte echo. This is the
    realistic two-step client (as curl does: the request is sent only after the
    method reply), not the pipelined one that sends greeting and request in
    one write, so each connection pays one extra round trip to the client);
  - a burst (-L, -R): 1000 connections opened at once into a fresh tunnel
    (bench/burst.py), each sending one byte as soon as it is connected: the
    time until the last echo, connect-to-echo p50/p99, and failures;
  - RSS (VmRSS) of the client process idle with the tunnel up, with 200 open
    connections through it (with -D each opened through SOCKS5 as above), and
    its peak (VmHWM) after the bulk runs.
Readiness: ferry -L prints "Allocated port N for local forward to H:P"; for -R
both ferry and ssh print "Allocated port N for remote forward to H:P" on stderr
(bounded wait), after which the port is checked to be in LISTEN state. For -D
ferry gets port 0 and prints "Allocated port N for dynamic forward" (bounded
wait, then ferry must hold the LISTEN socket); ssh gets a port picked by
bind-0-and-close (retried if taken) and is ready once it holds the LISTEN
socket on it (bounded poll).
Also measured: raw loopback throughput of the same Python source/sink with no
tunnel, i.e. the ceiling of this harness (if a tunnel gets near it, the numbers
measure Python, not the tunnel).

Rows are labelled "-L ...", "-R ..." and "-D ..."; ratios are ferry/ssh; the
last column says which direction is better.
Everything is on 127.0.0.1 with kernel-chosen ports, and bounded (per-operation
timeouts, plus a global alarm). The sshd is OpenSSH in inetd mode (the harness
in tests/integration/ferrylab.py).
"""

import argparse
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / 'tests' / 'integration'))
import ferrylab as fl  # noqa: E402
from ferrylab import MiB, Deadline  # noqa: E402
import burst  # noqa: E402
from measure import conn_rates, pct, raw_ceiling, timed_download, timed_upload  # noqa: E402
from procstat import CpuMeter  # noqa: E402
from report import Table  # noqa: E402
from tunnels import start_remote_tunnel  # noqa: E402

CIPHERS = ['aes128-gcm@openssh.com', 'chacha20-poly1305@openssh.com']
CONN_CIPHER = 'aes128-gcm@openssh.com'
DYNAMIC_CIPHER = 'aes128-gcm@openssh.com'      # -D bulk runs: this cipher only
MODES = {'local': '-L', 'remote': '-R', 'dynamic': '-D'}
MODE_CHOICES = {'local': ['local'], 'remote': ['remote'], 'dynamic': ['dynamic'],
                'both': ['local', 'remote'], 'all': ['local', 'remote', 'dynamic']}

# ferry prints this for `-D host:0` once the SOCKS listener is up
ALLOCATED_DYNAMIC_RE = re.compile(r'^Allocated port (\d+) for dynamic forward\s*$', re.M)


class BenchTimeout(Exception):
    pass


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# ------------------------------------------------------------------ -D tunnels

def start_dynamic_tunnel(kind, sshd, *, identity, known_hosts, env, cipher=None,
                         label=None, timeout=fl.READY_TIMEOUT):
    """Start `kind` with one `-D 127.0.0.1:PORT` (SOCKS) listener; return a
    ferrylab.Tunnel whose only port is the SOCKS port, once the client holds
    the LISTEN socket there. ferry: port 0 and its "Allocated port N for dynamic
    forward" line (bounded wait); ssh: a port picked by bind-0-and-close
    (retried when another process took it), bounded poll for LISTEN."""
    def start(port):
        argv = fl.client_argv(kind, sshd, forwards=(), identity=identity,
                              known_hosts=known_hosts, cipher=cipher,
                              extra=['-D', f'{fl.LOCALHOST}:{port}'])
        return fl.ClientProc(kind, argv, env, label)

    if kind == 'ferry':
        cp = start(0)
        try:
            ms = cp.wait_for(ALLOCATED_DYNAMIC_RE, timeout=timeout)
            if ms is None:
                raise fl.TunnelError(
                    f'ferry did not report "Allocated port ... for dynamic forward" within '
                    f'{timeout:g}s (alive: {cp.alive()}).\nargv: {" ".join(cp.argv)}\n'
                    f'stderr:\n{cp.stderr()}\nsshd log tail:\n{fl.tail(sshd.log_text())}')
            port = int(ms[0].group(1))
            if not fl.wait_until(lambda: fl.listens_on(cp.pid, port), 5, 0.01):
                raise fl.TunnelError(f'ferry announced -D port {port} but does not '
                                     f'listen there:\n{cp.stderr()}')
        except BaseException:
            cp.stop()
            raise
        return fl.Tunnel(cp, [port], [], sshd)

    cp, ports = fl.start_listening(lambda ports: start(ports[0]), 1,
                                   what=f'{kind} -D listener', server=sshd, timeout=timeout)
    return fl.Tunnel(cp, ports, [], sshd)


def recv_exact(s, n, deadline):
    buf = b''
    while len(buf) < n:
        s.settimeout(deadline.left(fl.IO_TIMEOUT))
        b = s.recv(n - len(buf))          # never past the reply: data may follow
        if not b:
            raise RuntimeError(f'SOCKS server closed after {len(buf)} of {n} reply bytes '
                               f'({buf.hex()})')
        buf += b
    return buf


def socks5_handshake(s, dst_port, timeout=10):
    """SOCKS5 on the connected socket `s`, two-step like a real client: no-auth
    greeting, wait for the 2-byte method reply 05 00, then CONNECT
    127.0.0.1:dst_port (ATYP 1) and read the 10-byte reply, which must be
    05 00 00 01 + BND.ADDR + BND.PORT."""
    d = Deadline(timeout, 'SOCKS5 handshake')
    s.sendall(b'\x05\x01\x00')
    m = recv_exact(s, 2, d)
    if m != b'\x05\x00':
        raise RuntimeError(f'SOCKS5 method reply {m.hex()}, expected 0500')
    s.sendall(b'\x05\x01\x00\x01' + socket.inet_aton(fl.LOCALHOST) +
              dst_port.to_bytes(2, 'big'))
    r = recv_exact(s, 10, d)
    if r[:4] != b'\x05\x00\x00\x01':
        raise RuntimeError(f'SOCKS5 CONNECT reply {r.hex()}, expected 0500 00 01 ...')


def open_conn(port, socks_to=None, timeout=fl.IO_TIMEOUT):
    """A connected socket to 127.0.0.1:port; with socks_to (a target port) the
    SOCKS5 CONNECT to 127.0.0.1:socks_to is done on it first."""
    s = fl.connect(port, timeout=timeout)
    if socks_to is not None:
        try:
            socks5_handshake(s, socks_to)
            s.settimeout(timeout)
        except BaseException:
            s.close()
            raise
    return s


def socks(to_port):
    """A conn_round handshake: SOCKS5 CONNECT to 127.0.0.1:to_port (None: none)."""
    return None if to_port is None else (lambda s: socks5_handshake(s, to_port))


# ------------------------------------------------------------------ measurements

def open_many(port, n, socks_to=None):
    socks = []
    try:
        for _ in range(n):
            s = open_conn(port, socks_to, timeout=10)
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


# ------------------------------------------------------------------ main

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--quick', action='store_true',
                    help='small sizes (well under a minute for --mode all): CI smoke run')
    ap.add_argument('--mode', choices=list(MODE_CHOICES), default='all',
                    help='forwarding to measure: local (-L), remote (-R), dynamic (-D, '
                         'SOCKS5), both (-L and -R) or all (-L, -R and -D; default)')
    ap.add_argument('--only-ssh', action='store_true', help='run OpenSSH ssh only (no ferry)')
    ap.add_argument('--json', metavar='PATH', help='also write results as JSON here')
    ap.add_argument('--size-mib', type=int, help='bulk size per transfer (default 512, quick 128)')
    ap.add_argument('--repeat', type=int, help='bulk transfers per point, best kept (default 3, quick 2)')
    ap.add_argument('--conns', type=int,
                    help='sequential connections per client and mode (default 2000, quick 1000), '
                         'within a time cap (--conn-seconds)')
    ap.add_argument('--conn-seconds', type=float,
                    help='time cap of the connection-rate phase per mode, shared equally by '
                         'the rounds of each client (default 240, quick 12)')
    ap.add_argument('--open-conns', type=int, default=200, help='open connections for RSS (200)')
    ap.add_argument('--burst', type=int, default=1000,
                    help='connections opened at once into a fresh -L/-R tunnel (1000)')
    ap.add_argument('--keep', action='store_true', help='keep the work directory')
    args = ap.parse_args()

    modes = MODE_CHOICES[args.mode]
    size = (args.size_mib or (128 if args.quick else 512)) * MiB
    repeat = args.repeat or (2 if args.quick else 3)
    nconn = args.conns or (1000 if args.quick else 2000)
    conn_seconds = args.conn_seconds or (12 if args.quick else 240)
    mode_budget = 240 if args.quick else 1500          # seconds per mode
    budget = mode_budget * len(modes)
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
    results = {'meta': {}, 'raw': {}, 'rows': [], 'conn_samples': {}, 'bursts': {}}
    vals = {}   # (mode, metric...) -> {kind: value}
    lifetime = budget + 120     # sshd and target accept loops outlive the run
    # connections each echo server (one per mode) accepts: warm-up, the
    # sequential rounds and the open ones, per client, with slack
    echo_conns = len(kinds) * (nconn + args.open_conns + args.burst + 100) + 1000

    def put(key, kind, v):
        vals.setdefault(key, {})[kind] = v

    def mode_ciphers(mode):
        return [DYNAMIC_CIPHER] if mode == 'dynamic' else CIPHERS

    def tunnel(mode, kind, targets, cipher):
        """A tunnel whose ports[i] reaches targets[i]; with -D every port is
        the one SOCKS port (the target is named in each SOCKS request)."""
        label = f'{kind}{MODES[mode]}-{cipher}'
        if mode == 'dynamic':
            t = start_dynamic_tunnel(kind, sshd, identity=keys.user['ed25519'],
                                     known_hosts=kh, env=env, cipher=cipher, label=label)
            t.ports = t.ports * len(targets)
        elif mode == 'local':
            t = fl.start_tunnel(kind, sshd, targets, identity=keys.user['ed25519'],
                                known_hosts=kh, env=env, cipher=cipher,
                                config_dir=work, label=label)
        else:
            t = start_remote_tunnel(kind, sshd, targets, identity=keys.user['ed25519'],
                                    known_hosts=kh, env=env, cipher=cipher, label=label)
        tunnels.append(t)
        return t

    def bench_mode(mode):
        """All measurements through one kind of forward. Ports: with -L the
        client's listeners, with -R the ports sshd allocated, with -D the
        client's SOCKS port; the benchmark connects there (with -D naming the
        target in a SOCKS5 CONNECT) and the far end reaches sink/source/echo."""
        flag = MODES[mode]
        echo = fl.EchoServer(max_conns=echo_conns, lifetime=lifetime)
        servers.append(echo)
        dyn = mode == 'dynamic'
        # SOCKS target ports (None: the forward itself names the target)
        to_sink, to_source, to_echo = ((sink.port, source.port, echo.port) if dyn
                                       else (None, None, None))

        # bulk throughput, kinds interleaved per repetition
        for cipher in mode_ciphers(mode):
            ts = {k: tunnel(mode, k, [sink.addr, source.addr], cipher) for k in kinds}
            short = cipher.replace('@openssh.com', '')
            for direction in ('up', 'down'):
                best = {k: 0.0 for k in kinds}
                cpu = {k: 0.0 for k in kinds}
                for _ in range(repeat):
                    for k in kinds:
                        meter = CpuMeter(lambda: [ts[k].pid])
                        if direction == 'up':
                            v, (c,) = timed_upload(open_conn(ts[k].ports[0], to_sink), sink,
                                                   size, [meter])
                        else:
                            v, (c,) = timed_download(open_conn(ts[k].ports[1], to_source),
                                                     size, [meter])
                        cpu[k] += c
                        best[k] = max(best[k], v)
                for k in kinds:
                    put((mode, 'throughput', short, direction), k, best[k])
                    # the client's own CPU per GiB: the efficiency that
                    # a shared 2-core loopback run cannot hide
                    put((mode, 'cpu', short, direction), k,
                        cpu[k] / (repeat * size / (1 << 30)))
                log(f'bench: {flag} {short} {direction}: ' +
                    ', '.join(f'{k} {best[k]:.0f} MB/s' for k in kinds))
            for k in kinds:
                put((mode, 'hwm', short), k, ts[k].hwm_kib())
                ts[k].close()

        # connection rate and latency
        ts = {k: tunnel(mode, k, [echo.addr], CONN_CIPHER) for k in kinds}
        # each (round, client) gets an equal slice of the time cap
        rounds = 2
        cr = conn_rates({k: ts[k].port for k in kinds}, rounds, nconn,
                        conn_seconds / (rounds * len(kinds)), socks(to_echo))
        rate = {k: cr[k]['rate'] for k in kinds}
        lats = {k: cr[k]['lat_s'] for k in kinds}
        results['conn_samples'][mode] = {k: len(lats[k]) for k in kinds}
        for k in kinds:
            put((mode, 'conn_rate'), k, rate[k])
            put((mode, 'lat_p50'), k, pct(lats[k], 50) * 1e3)
            put((mode, 'lat_p99'), k, pct(lats[k], 99) * 1e3)
            ts[k].close()
        log(f'bench: {flag} conn/s: ' +
            ', '.join(f'{k} {rate[k]:.0f} ({len(lats[k])} conns)' for k in kinds))

        # memory: fresh tunnel, idle, then N open connections
        for k in kinds:
            t = tunnel(mode, k, [echo.addr], CONN_CIPHER)
            put((mode, 'rss_idle'), k, t.rss_kib())
            held = open_many(t.port, args.open_conns, to_echo)
            try:
                put((mode, 'rss_open'), k, t.rss_kib())
            finally:
                for s in held:
                    s.close()
            t.close()
        # a burst of connections at once into a fresh tunnel (-L, -R)
        for k in kinds if not dyn and args.burst > 0 else ():
            t = tunnel(mode, k, [echo.addr], CONN_CIPHER)
            b = burst.burst(fl.LOCALHOST, t.port, args.burst, timeout_s=60)
            t.close()
            results['bursts'].setdefault(mode, {})[k] = {x: b[x] for x in ('n', 'ok', 'failed',
                                                                            'seconds')}
            put((mode, 'burst_s'), k, b['seconds'])
            put((mode, 'burst_failed'), k, b['failed'])
            if b['lat_s']:
                put((mode, 'burst_p50'), k, pct(b['lat_s'], 50) * 1e3)
                put((mode, 'burst_p99'), k, pct(b['lat_s'], 99) * 1e3)
            log(f'bench: {flag} {k}: burst of {args.burst}: {b["ok"]} echoed, '
                f'{b["failed"]} failed, {b["seconds"]:.2f}s')
        log(f'bench: {flag} RSS idle/open (KiB): ' +
            ', '.join(f'{k} {vals[(mode, "rss_idle")][k]}/{vals[(mode, "rss_open")][k]}'
                      for k in kinds))

    try:
        keys = fl.KeySet(work / 'keys', host=['ed25519'], user=['ed25519'])
        sshd = fl.Sshd(work / 'sshd', keys, log_level='ERROR', authorized=['ed25519'],
                       max_conns=64, lifetime=lifetime)
        kh = sshd.write_known_hosts(work / 'known_hosts')
        env = fl.client_env(work)
        sink = fl.SinkServer(hash=False, lifetime=lifetime)
        source = fl.SourceServer(size, lifetime=lifetime)
        servers += [sink, source]
        ssh_version = subprocess.run([fl.SSH, '-V'], capture_output=True, text=True,
                                     timeout=10).stderr.strip()
        results['meta'] = {
            'quick': args.quick, 'modes': modes, 'size_bytes': size, 'repeat': repeat,
            'conns': nconn, 'conn_seconds': conn_seconds, 'open_conns': args.open_conns,
            'clients': kinds,
            'cpus': os.cpu_count(), 'kernel': platform.release(), 'ssh': ssh_version,
            'ferry': None if args.only_ssh else str(fl.ferry_bin()),
            'time': time.strftime('%Y-%m-%dT%H:%M:%S%z'),
        }
        log(f'bench: {", ".join(kinds)}; {", ".join(MODES[m] for m in modes)}; '
            f'bulk {size // MiB} MiB x{repeat}, {nconn} sequential conns, '
            f'{args.open_conns} open conns; {os.cpu_count()} CPUs')

        # the ceiling: same Python source/sink, no tunnel
        raw = results['raw'] = raw_ceiling(sink, source, size, repeat)
        log(f'bench: raw loopback (no tunnel): up {raw["up_MBps"]:.0f} MB/s, '
            f'down {raw["down_MBps"]:.0f} MB/s')

        for mode in modes:
            bench_mode(mode)
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
    table = Table(vals, ('ssh', 'ferry'), 'ferry/ssh')

    def row(mode, label, unit, key, better, scale=1.0):
        table.row(mode, f'{MODES[mode]} {label}', unit, (mode,) + key, better, scale)

    for mode in modes:
        for cipher in mode_ciphers(mode):
            short = cipher.replace('@openssh.com', '')
            for direction in ('up', 'down'):
                row(mode, f'throughput {short} {direction}', 'MB/s',
                    ('throughput', short, direction), 'higher')
        for cipher in mode_ciphers(mode):
            short = cipher.replace('@openssh.com', '')
            for direction in ('up', 'down'):
                row(mode, f'client CPU {short} {direction}', 's/GiB',
                    ('cpu', short, direction), 'lower')
        what = 'connect+SOCKS5+1B echo+close' if mode == 'dynamic' else 'connect+1B echo+close'
        row(mode, f'connections/s ({what})', 'conn/s', ('conn_rate',), 'higher')
        row(mode, 'connection latency p50', 'ms', ('lat_p50',), 'lower')
        row(mode, 'connection latency p99', 'ms', ('lat_p99',), 'lower')
        if mode != 'dynamic' and args.burst > 0:
            row(mode, f'burst of {args.burst} connects: time to last echo', 's',
                ('burst_s',), 'lower')
            row(mode, 'burst: connect-to-echo p50', 'ms', ('burst_p50',), 'lower')
            row(mode, 'burst: connect-to-echo p99', 'ms', ('burst_p99',), 'lower')
            row(mode, 'burst: connections failed', 'count', ('burst_failed',), 'lower')
        row(mode, 'RSS idle, tunnel up', 'MiB', ('rss_idle',), 'lower', 1 / 1024)
        row(mode, f'RSS with {args.open_conns} open conns', 'MiB', ('rss_open',), 'lower',
            1 / 1024)
        for cipher in mode_ciphers(mode):
            short = cipher.replace('@openssh.com', '')
            row(mode, f'peak RSS after bulk {short}', 'MiB', ('hwm', short), 'lower', 1 / 1024)
    rows = results['rows'] = table.rows

    raw = results.get('raw') or {}
    print(f'\nferry vs OpenSSH ({", ".join(MODES[m] for m in modes)} over one sshd, '
          f'127.0.0.1; {os.cpu_count()} CPUs; bulk {size // MiB} MiB best of {repeat}; '
          f'up to {nconn} conns in {conn_seconds:g}s per mode)')
    capped = {m: n for m, n in results['conn_samples'].items()
              if any(c < nconn for c in n.values())}
    for m, n in capped.items():
        print(f'{MODES[m]} connection rows: time cap reached, ' +
              ', '.join(f'{k} {c} conns' for k, c in n.items()))
    if 'remote' in modes:
        print('-R: the benchmark connects to the port sshd allocated, the client connects '
              'out; up = into the sink (SSH server->client), down = from the source')
    if 'dynamic' in modes:
        print(f'-D: SOCKS5 to the client (greeting, wait for 05 00, CONNECT 127.0.0.1 ATYP 1, '
              f'10-byte reply), sshd connects out; bulk {DYNAMIC_CIPHER.split("@")[0]} only, '
              f'handshake untimed; connection rows time the handshake')
    if raw:
        print(f'harness ceiling, raw loopback without tunnel: up {raw["up_MBps"]:.0f} MB/s, '
              f'down {raw["down_MBps"]:.0f} MB/s')
    table.print()
    warning = table.ceiling_warning(raw)
    if warning:
        print(warning)
    slow = [r for r in rows if r['section'] == 'remote' and r['unit'] == 'ms' and
            'p50' in r['metric'] and any(x is not None and x >= 30 for x in (r['ssh'], r['ferry']))]
    if slow:
        print('NOTE: -R connection latency near 40 ms: back-to-back -R channels wait for a '
              'delayed ACK on the SSH connection (Nagle on the side that opens the channel, '
              'here sshd); with a pause of ~60 ms between connections it drops below 1 ms')
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + '\n')
        print(f'JSON written to {args.json}')
    return 1 if 'error' in results else 0


if __name__ == '__main__':
    sys.exit(main())
