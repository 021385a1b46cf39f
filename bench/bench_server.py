#!/usr/bin/python3
"""ferryd vs OpenSSH sshd: the same OpenSSH ssh client against both servers.

    /usr/bin/python3 bench/bench_server.py [--quick] [--json PATH] [--keep]
        [--size-mib N] [--repeat N] [--conns N] [--sessions 1,100,1000]
        [--batch N] [--opener N,N] [--user NAME] [--budget SECONDS]

Full run: bulk 256 MiB best of 2, 2000 connections, sessions 1/100/1000 (about
two minutes on 2 CPUs). --quick: bulk 32 MiB x1, 500 connections, sessions
1/100 (well under a minute).

Measured in one run, server = sshd and ferryd, client = /usr/bin/ssh for both
(cipher aes128-gcm@openssh.com, ed25519 user and host keys):
  1. bulk throughput (MB/s, best of N) through `ssh -L` and through `ssh -R`,
     both directions: "up" = the benchmark sends into the tunnel and the data
     ends in a sink, "down" = it reads what a source sends through the tunnel.
     With -L the client listens and the server connects out to sink/source
     (up = client->server); with -R the server listens on a port it allocated
     and the client connects out (up = server->client). Also the server's CPU
     time per GiB moved (run time of all its processes' threads: each
     process's CPU-time clock, the nanoseconds /proc/PID/task/*/schedstat
     shows, threads that ended included; bench/procstat.py).
  2. connection rate through `ssh -L`: sequential connect + 1-byte echo +
     close, conn/s (best of 10 short rounds, servers interleaved) and p50/p99
     latency over all of them; the server connects to an echo server.
  3. memory with 0 (server idle), 1, 100 and 1000 idle authenticated sessions:
     N separate `ssh -N -o ControlMaster=no -R 127.0.0.1:0:127.0.0.1:ECHO`
     clients, started in parallel batches; a session counts once its client
     printed "Allocated port N" (the server authenticated it and granted the
     forward). Reported: ferryd's VmRSS vs the SUM of VmRSS of all sshd
     processes (the listener and every per-connection process, found through
     /proc by parent pid, recursively), and the same for PSS (smaps_rollup:
     shared pages split among the processes that map them, so the sshd sum is
     not inflated by libc/libcrypto being counted once per process).
     Every memory phase gets a freshly started server. If the target number of
     sessions is not reached within a bounded time, the number reached is
     reported.
  4. many idle sessions from one process (bench/opener.py): ferry-sessopen,
     built with ferry's engine, holds 10,000 authenticated sessions on ferryd
     and 500 on sshd (quick: 1000 and 100; --opener), 32 handshakes in
     flight; reported: the server's memory with them (and per session), the
     opening rate and the connect-to-authenticated p50/p99.

sshd is a normal daemon (`sshd -D -e -f CONFIG -o ListenAddress=127.0.0.1 -p
PORT`, port from bind-0-and-close with retries, readiness = its socket in LISTEN
state in /proc/net/tcp: no probe connection). ferryd runs as `ferryd -D -e -f
CONFIG` with Port 0 and reports its port on stderr ("Server listening on ...").
Everything is on 127.0.0.1, every loop is bounded in count and time, a global
alarm ends the run as a last resort, and every process started here (clients
by process group, server children by pid) is killed at the end.
The ratio column is ferryd/sshd; "better" says which direction is better.

The SSH user is the current user, except as root: then "nobody" (override with
--user). sshd skips its post-auth privilege-separated child for root logins
(one process per session instead of two), which is not how a server with
ordinary accounts runs; the clients never start a shell (-N), and ferryd takes
the name as a label only. The work directory is made world-readable for that
(sshd reads authorized_keys as the user).
"""

import argparse
import atexit
import json
import os
import random
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / 'tests' / 'integration'))
import ferrylab as fl  # noqa: E402
import opener  # noqa: E402
from ferrylab import MiB, Deadline  # noqa: E402
from benchrun import BenchTimeout, Run, arm_alarm, log  # noqa: E402
from measure import (conn_rates, interleaved_best, pct, raw_ceiling,  # noqa: E402
                     timed_download, timed_upload)
from procstat import CpuMeter, raise_nofile  # noqa: E402
from report import Table  # noqa: E402
from servers import FERRYD  # noqa: E402
from tunnels import ALLOCATED_REMOTE_RE  # noqa: E402

CIPHER = 'aes128-gcm@openssh.com'
KINDS = ('sshd', 'ferryd')
GiB = 1 << 30


# ------------------------------------------------------------------ session swarm

_SWARMS = []


class _Client:
    __slots__ = ('p', 'buf', 'port', 'failed', 't0', 'dt')

    def __init__(self, p):
        self.p, self.buf, self.port, self.failed = p, bytearray(), None, None
        self.t0, self.dt = time.monotonic(), None


class Swarm:
    """Many `ssh -N -R 127.0.0.1:0:...` clients, each a separate SSH connection
    in a process group of its own. A client is ready once it printed
    "Allocated port"; stderr pipes are read with one selector (no threads)."""

    def __init__(self, argv, env, batch_timeout=60.0):
        self.argv = [str(a) for a in argv]
        self.env = env
        self.batch_timeout = batch_timeout
        self.clients = []
        self.sel = selectors.DefaultSelector()
        self.spawn_errors = []
        _SWARMS.append(self)

    def _spawn(self):
        try:
            p = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                 env=self.env, start_new_session=True)
        except OSError as e:
            self.spawn_errors.append(str(e))
            return None
        c = _Client(p)
        os.set_blocking(p.stderr.fileno(), False)
        self.sel.register(p.stderr, selectors.EVENT_READ, c)
        self.clients.append(c)
        return c

    def _finish(self, c, failed=None):
        try:
            self.sel.unregister(c.p.stderr)
        except (KeyError, ValueError):
            pass
        if failed is not None:
            c.failed = failed

    def _pump(self, timeout):
        for key, _ in self.sel.select(timeout=max(0.0, timeout)):
            c = key.data
            try:
                b = os.read(key.fd, 65536)
            except BlockingIOError:
                continue
            except OSError:
                b = b''
            if not b:
                self._finish(c, c.buf.decode(errors='replace').strip()[-500:] or 'exited')
                continue
            if len(c.buf) < 64 * 1024:
                c.buf += b
            m = ALLOCATED_REMOTE_RE.search(c.buf.decode(errors='replace'))
            if m:
                c.port = int(m.group(1))
                c.dt = time.monotonic() - c.t0
                self._finish(c)

    def pending(self):
        return [c for c in self.clients if c.port is None and c.failed is None]

    def ready(self):
        return [c for c in self.clients if c.port is not None and c.failed is None]

    def failures(self):
        return [c for c in self.clients if c.failed is not None]

    def grow_to(self, n, deadline, batch, max_failures):
        """Start clients in batches of `batch` until n are ready, the deadline
        passes or max_failures clients failed. Returns the number ready."""
        while True:
            have = len(self.ready())
            if have >= n or deadline.expired() or len(self.failures()) >= max_failures:
                return have
            k = min(batch, n - have)
            for _ in range(k):
                if self._spawn() is None:
                    break
            if self.spawn_errors and not self.pending():
                return have
            bd = Deadline(min(self.batch_timeout, max(0.1, deadline.remaining())), 'batch')
            while self.pending() and not bd.expired():
                self._pump(min(0.5, bd.remaining()))
            for c in self.pending():                       # too slow: give up on it
                self._kill(c)
                self._finish(c, f'not authenticated within {bd.seconds:g}s')

    def alive_ready(self):
        return [c for c in self.ready() if c.p.poll() is None]

    @staticmethod
    def _kill(c):
        if c.p.returncode is None:            # not reaped: the pid is still ours
            try:
                os.killpg(c.p.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass

    def close(self):
        for c in self.clients:
            self._kill(c)
        d = Deadline(20, 'clients exit')
        for c in self.clients:
            try:
                c.p.wait(max(0.01, d.remaining()))
            except subprocess.TimeoutExpired:
                pass
            try:
                c.p.stderr.close()
            except OSError:
                pass
        try:
            self.sel.close()
        except (OSError, ValueError):
            pass
        self.clients = []
        if self in _SWARMS:
            _SWARMS.remove(self)


def _kill_all_swarms():
    for s in list(_SWARMS):
        try:
            s.close()
        except Exception:  # noqa: BLE001 - last-resort cleanup
            pass


atexit.register(_kill_all_swarms)


# ------------------------------------------------------------------ main

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--quick', action='store_true',
                    help='small run (about a minute): bulk 32 MiB x1, 500 conns, '
                         'sessions 1 and 100')
    ap.add_argument('--json', metavar='PATH', help='also write results as JSON here')
    ap.add_argument('--size-mib', type=int, help='bulk size per transfer (256, quick 32)')
    ap.add_argument('--repeat', type=int, help='bulk transfers per point, best kept (2, quick 1)')
    ap.add_argument('--conns', type=int, help='sequential connections per server (2000, quick 500)')
    ap.add_argument('--conn-seconds', type=float,
                    help='time cap of the connection phase per server (60, quick 8)')
    ap.add_argument('--sessions', help='idle session counts, comma-separated '
                                       '(1,100,1000; quick 1,100)')
    ap.add_argument('--batch', type=int, default=50,
                    help='clients started in parallel per batch (50)')
    ap.add_argument('--session-seconds', type=float,
                    help='time cap to open all sessions, per server (300, quick 40)')
    ap.add_argument('--opener', metavar='FERRYD,SSHD',
                    help='idle sessions held from one process by ferry-sessopen, per server '
                         '(10000,500; quick 1000,100; 0,0 skips)')
    ap.add_argument('--user', help='SSH user name for both servers (default: the current '
                                   'user, or "nobody" when running as root; see below)')
    ap.add_argument('--budget', type=int,
                    help='global alarm in seconds (quick 240, else 1500 + 2 x --session-seconds)')
    ap.add_argument('--keep', action='store_true', help='keep the work directory')
    args = ap.parse_args()

    size = (args.size_mib or (32 if args.quick else 256)) * MiB
    repeat = args.repeat or (1 if args.quick else 2)
    nconn = args.conns or (500 if args.quick else 2000)
    conn_seconds = args.conn_seconds or (8 if args.quick else 60)
    if args.sessions:
        levels = sorted({int(x) for x in args.sessions.split(',') if x.strip()})
    else:
        levels = [1, 100] if args.quick else [1, 100, 1000]
    levels = [0] + [x for x in levels if x > 0]
    session_seconds = args.session_seconds or (40 if args.quick else 300)
    budget = args.budget or int(240 if args.quick else 1500 + session_seconds * 2)
    settle = 0.5 if args.quick else 1.5
    opener_n = dict(zip(KINDS[::-1], (int(x) for x in (
        args.opener or ('1000,100' if args.quick else '10000,500')).split(','))))

    nofile = raise_nofile()
    for k in KINDS:                 # the server and the opener each hold one fd a session
        opener_n[k] = min(opener_n[k], nofile - 512)
    if nofile < 4 * levels[-1] + 256:
        log(f'bench: RLIMIT_NOFILE is {nofile}: ferryd may run out of fds '
            f'with {levels[-1]} sessions')

    started = time.monotonic()

    arm_alarm(budget)
    run = Run('ferryd-bench-', args.user, args.keep)
    user, ident, env = run.user, run.ident, run.env
    results = {'meta': {}, 'raw': {}, 'rows': [], 'conn_samples': {}, 'sessions': {},
               'opener': {}}
    vals = {}   # key tuple -> {kind: value}

    def put(key, kind, v):
        vals.setdefault(key, {})[kind] = v

    new_server, close_server, close_tunnel = run.new_server, run.close_server, run.close_tunnel

    def tunnel(mode, s, tgts):
        return run.tunnel('ssh', mode, s, tgts, CIPHER, f'ssh{mode}->{s.kind}')

    def phase_bulk_and_conns():
        srv = {k: new_server(k, 'bulk') for k in KINDS}
        for mode in ('-L', '-R'):
            ts = {k: tunnel(mode, srv[k], [sink.addr, source.addr]) for k in KINDS}
            for direction in ('up', 'down'):
                def one(k):
                    meter = CpuMeter(srv[k].pids)
                    if direction == 'up':
                        return timed_upload(fl.connect(ts[k].ports[0]), sink, size, [meter])
                    return timed_download(fl.connect(ts[k].ports[1]), size, [meter])
                got = interleaved_best(repeat, KINDS, one)
                best = {k: got[k]['best'] for k in KINDS}
                cpu = {k: got[k]['low'][0] / (size / GiB) for k in KINDS}
                for k in KINDS:
                    put(('tput', mode, direction), k, best[k])
                    put(('cpu', mode, direction), k, cpu[k])
                log(f'bench: ssh {mode} {direction}: ' + ', '.join(
                    f'{k} {best[k]:.0f} MB/s ({cpu[k]:.2f} CPU-s/GiB)' for k in KINDS))
            for k in KINDS:
                close_tunnel(ts[k])

        # connection rate through -L
        ts = {k: tunnel('-L', srv[k], [echo.addr]) for k in KINDS}
        # many short rounds, servers interleaved, best round kept: a burst of
        # load from elsewhere on the machine hits one round, not one server
        rounds = 5 if args.quick else 10
        cr = conn_rates({k: ts[k].port for k in KINDS}, rounds, nconn, conn_seconds / rounds)
        rate = {k: cr[k]['rate'] for k in KINDS}
        lats = {k: cr[k]['lat_s'] for k in KINDS}
        results['conn_samples'] = {k: len(lats[k]) for k in KINDS}
        results['conn_round_rates'] = {k: cr[k]['rounds'] for k in KINDS}
        for k in KINDS:
            put(('conn_rate',), k, rate[k])
            put(('lat_p50',), k, pct(lats[k], 50) * 1e3)
            put(('lat_p99',), k, pct(lats[k], 99) * 1e3)
            close_tunnel(ts[k])
        log('bench: ssh -L conn/s: ' + ', '.join(
            f'{k} {rate[k]:.0f} ({len(lats[k])} conns)' for k in KINDS))
        for k in KINDS:
            close_server(srv[k])

    def phase_sessions(kind):
        s = new_server(kind, 'sessions')
        info = {'levels': {}, 'failures': 0, 'failure_samples': []}
        results['sessions'][kind] = info
        argv = fl.client_argv('ssh', s, identity=ident, known_hosts=s.kh, cipher=CIPHER,
                              user=user, extra=['-o', 'ControlMaster=no', '-o', 'ControlPath=none',
                                     '-o', 'ConnectTimeout=30',
                                     '-R', f'{fl.LOCALHOST}:0:{fl.LOCALHOST}:{echo.port}'])
        swarm = Swarm(argv, env)
        deadline = Deadline(session_seconds, f'{kind} sessions')
        t_open = 0.0
        try:
            for n in levels:
                t0 = time.monotonic()
                got = swarm.grow_to(n, deadline, args.batch,
                                    max_failures=max(20, levels[-1] // 10))
                t_open += time.monotonic() - t0
                time.sleep(settle)                        # let pre-auth children exit
                live = len(swarm.alive_ready())
                rss, pss, nproc = s.memory()
                # the sessions are real: echo through a few of their -R ports
                sample = random.Random(n).sample(swarm.alive_ready(),
                                                 min(3, live)) if live else []
                ok = sum(1 for c in sample
                         if fl.echo_roundtrip(c.port, b'p', timeout=10) == b'p')
                info['levels'][n] = {'target': n, 'reached': got, 'alive': live,
                                     'rss_kib': rss, 'pss_kib': pss, 'processes': nproc,
                                     'echo_checked': len(sample), 'echo_ok': ok,
                                     'open_seconds_total': t_open}
                put(('rss', n), kind, rss)
                put(('pss', n), kind, pss)
                put(('procs', n), kind, nproc)
                log(f'bench: {kind}: {live}/{n} sessions, RSS {rss / 1024:.1f} MiB, '
                    f'PSS {pss / 1024:.1f} MiB, {nproc} process(es), '
                    f'echo {ok}/{len(sample)}, {t_open:.1f}s opening so far')
                if got < n:
                    log(f'bench: {kind}: stopped at {got} of {n} sessions')
                    break
            fails = swarm.failures()
            info['failures'] = len(fails)
            info['failure_samples'] = [c.failed for c in fails[:5]]
            info['spawn_errors'] = swarm.spawn_errors[:5]
            ready = swarm.ready()
            if ready:
                info['open_rate_per_s'] = len(ready) / t_open if t_open > 0 else None
                info['auth_seconds_p50'] = pct([c.dt for c in ready], 50)
                put(('open_rate',), kind, info['open_rate_per_s'])
            if fails:
                log(f'bench: {kind}: {len(fails)} client(s) failed, e.g. {fails[0].failed!r}')
        finally:
            swarm.close()
            close_server(s)

    def phase_opener(kind):
        n = opener_n[kind]
        if n <= 0:
            return
        s = new_server(kind, 'opener')
        try:
            o = opener.run_opener(s, opener.sessopen_path(FERRYD), ident, user, n,
                                  cap_s=int(session_seconds))
        finally:
            close_server(s)
        results['opener'][kind] = o
        for key in ('rss_kib', 'rss_per_kib', 'pss_per_kib', 'open_rate', 'p50_ms', 'p99_ms'):
            if o.get(key) is not None:
                put(('opener', key), kind, o[key])
        log(f'bench: {kind}: opener held {o["ready"]}/{n} sessions ({o["failed"]} failed) '
            f'in {o["seconds"]:.1f}s, RSS {o["rss_kib"] / 1024:.1f} MiB '
            f'({o.get("rss_per_kib", 0):.1f} KiB/session), {o["processes"]} process(es)')

    try:
        lifetime = budget + 120
        sink = run.target(fl.SinkServer(hash=False, lifetime=lifetime))
        source = run.target(fl.SourceServer(size, lifetime=lifetime))
        echo = run.target(fl.EchoServer(max_conns=4 * nconn + 1000, lifetime=lifetime))
        results['meta'] = dict(run.meta(), **{
            'quick': args.quick, 'size_bytes': size, 'repeat': repeat, 'conns': nconn,
            'conn_seconds': conn_seconds, 'session_levels': levels, 'batch': args.batch,
            'cipher': CIPHER, 'user': user, 'sshd': fl.SSHD, 'ferryd': str(FERRYD),
            'nofile': nofile})
        log(f'bench: sshd vs ferryd with {results["meta"]["ssh"]}, user {user}; '
            f'bulk {size // MiB} MiB x{repeat}, {nconn} conns, sessions {levels[1:]}; '
            f'{os.cpu_count()} CPUs')

        # the ceiling: same Python source/sink, no tunnel
        raw = results['raw'] = raw_ceiling(sink, source, size, repeat)
        log(f'bench: raw loopback (no tunnel): up {raw["up_MBps"]:.0f} MB/s, '
            f'down {raw["down_MBps"]:.0f} MB/s')

        phase_bulk_and_conns()
        for kind in KINDS:
            phase_sessions(kind)
        for kind in KINDS:
            phase_opener(kind)
        signal.alarm(0)
    except BenchTimeout as e:
        log(f'bench: {e}; partial results follow')
        results['error'] = str(e)
    finally:
        signal.alarm(0)
        _kill_all_swarms()
        run.close()
    elapsed = time.monotonic() - started
    results['meta']['elapsed_s'] = elapsed

    # ------------------------------------------------------------ report
    table = Table(vals, KINDS, 'ferryd/sshd')
    row = table.row

    for mode in ('-L', '-R'):
        for direction in ('up', 'down'):
            row('bulk', f'ssh {mode} throughput {direction}', 'MB/s',
                ('tput', mode, direction), 'higher')
    for mode in ('-L', '-R'):
        for direction in ('up', 'down'):
            row('bulk', f'server CPU, ssh {mode} {direction}', 's/GiB',
                ('cpu', mode, direction), 'lower')
    row('conn', 'ssh -L connections/s (connect+1B echo+close)', 'conn/s',
        ('conn_rate',), 'higher')
    row('conn', 'ssh -L connection latency p50', 'ms', ('lat_p50',), 'lower')
    row('conn', 'ssh -L connection latency p99', 'ms', ('lat_p99',), 'lower')
    for n in levels:
        what = 'server idle, 0 sessions' if n == 0 else \
            f'{n} idle session{"s" if n != 1 else ""}'
        row('mem', f'RSS (sum over processes), {what}', 'MiB', ('rss', n), 'lower', 1 / 1024)
    for n in levels:
        what = 'server idle, 0 sessions' if n == 0 else \
            f'{n} idle session{"s" if n != 1 else ""}'
        row('mem', f'PSS (sum over processes), {what}', 'MiB', ('pss', n), 'lower', 1 / 1024)
    top = levels[-1]
    if top > 1:
        for metric in ('rss', 'pss'):
            for k in KINDS:
                a, b = vals.get((metric, 1), {}).get(k), vals.get((metric, top), {}).get(k)
                lv = results['sessions'].get(k, {}).get('levels', {})
                n_top = lv.get(top, {}).get('alive')
                n_one = lv.get(1, {}).get('alive')
                if a is not None and b is not None and n_top and n_one and n_top > n_one:
                    put((f'{metric}_per', top), k, (b - a) / (n_top - n_one))
            row('mem', f'{metric.upper()} per extra session (1 -> {top})', 'KiB',
                (f'{metric}_per', top), 'lower')
    row('mem', f'server processes with {top} sessions', 'count', ('procs', top), 'lower')
    row('mem', 'sessions opened/s (batches of '
        f'{args.batch} parallel clients)', 'sess/s', ('open_rate',), 'higher')
    on = {k: results['opener'].get(k, {}).get('ready', 0) for k in KINDS}
    tag = f'one-process opener, ferryd {on["ferryd"]} / sshd {on["sshd"]}'
    row('opener', f'server RSS with the sessions ({tag})', 'MiB', ('opener', 'rss_kib'),
        'lower', 1 / 1024)
    row('opener', 'RSS per idle session (opener)', 'KiB', ('opener', 'rss_per_kib'), 'lower')
    row('opener', 'PSS per idle session (opener)', 'KiB', ('opener', 'pss_per_kib'), 'lower')
    row('opener', 'sessions opened/s (opener, 32 in flight)', 'sess/s',
        ('opener', 'open_rate'), 'higher')
    row('opener', 'connect-to-authenticated p50 (opener)', 'ms', ('opener', 'p50_ms'), 'lower')
    row('opener', 'connect-to-authenticated p99 (opener)', 'ms', ('opener', 'p99_ms'), 'lower')
    results['rows'] = table.rows

    raw = results.get('raw') or {}
    print(f'\nferryd vs OpenSSH sshd, client OpenSSH ssh, {CIPHER}, 127.0.0.1; '
          f'{os.cpu_count()} CPUs; bulk {size // MiB} MiB best of {repeat}; '
          f'up to {nconn} conns in {conn_seconds:g}s per server')
    print(f'load average at start {" ".join(results["meta"].get("loadavg_start", []))} '
          f'(other processes may share the CPUs); connections/s = best of '
          f'{5 if args.quick else 10} interleaved rounds')
    print(f'SSH user {user!r}' + (' (root login: sshd runs no post-auth privsep child)'
                                  if user == 'root' else ''))
    if raw:
        print(f'harness ceiling, raw loopback without tunnel: up {raw["up_MBps"]:.0f} MB/s, '
              f'down {raw["down_MBps"]:.0f} MB/s')
    print('server CPU = run time of all threads of all server processes during the '
          'transfer (schedstat ns, ended threads included), lowest of the repetitions')
    if results['conn_samples'] and any(c < nconn for c in results['conn_samples'].values()):
        print('connection rows: time cap reached: ' + ', '.join(
            f'{k} {c} conns' for k, c in results['conn_samples'].items()))
    for k, info in results['sessions'].items():
        lv = info.get('levels', {})
        short = [f'{n}: {d["alive"]} alive' for n, d in lv.items()
                 if n and d['alive'] < n]
        if short or info.get('failures'):
            print(f'{k} sessions: ' + (', '.join(short) or 'all targets reached') +
                  (f'; {info["failures"]} client(s) failed' if info.get('failures') else ''))
    table.print()
    print('RSS sums count shared pages (libc, libcrypto) once per sshd process; PSS splits '
          'them among the processes mapping them.')
    warning = table.ceiling_warning(raw)
    if warning:
        print(warning)
    print(f'runtime {elapsed:.0f}s')
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + '\n')
        print(f'JSON written to {args.json}')
    return 1 if 'error' in results else 0


if __name__ == '__main__':
    sys.exit(main())
