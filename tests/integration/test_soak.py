"""Soak: one ferryd, 200 concurrent echo streams through -L, -R and -D of
ferry and ssh clients, while hostile clients (tests/tools/ferry-hostile)
run the attacks of test_hostile.py at the same time.

Every stream is a loop of echo round trips of random sizes, each checked
by count and SHA-256; none may fail. ferryd's RSS is sampled throughout
and must stay under 256 MiB; 5 s after the end its descriptors are back
where they were before the streams started.

    FERRY_SOAK_SECONDS=60 /usr/bin/pytest -q tests/integration/test_soak.py   # full run

(default 20 s, as CI runs it).
"""

import itertools
import os
import random
import threading
import time

import ferrydlab as fdl
import ferrylab as fl
import hostilelab as hl
import sockslab as sl
from ferrylab import Deadline, LOCALHOST, KiB, MiB
from hostilelab import hferryd  # noqa: F401 - fixture

SOAK_SECONDS = float(os.environ.get('FERRY_SOAK_SECONDS', '20'))
STREAMS = 200
RSS_LIMIT = (384 if hl.SANITIZED else 256) * MiB
NAME = 'eve\nFAKE Accepted publickey for root\x1b[2J'


class Streams:
    """STREAMS worker threads, worker i on entry i % len(entries), started
    over ~4 s, each doing checked echo round trips until `end`."""

    def __init__(self, entries, end):
        self.entries, self.end = entries, end
        self.lock = threading.Lock()
        self.ok = {label: 0 for label, _ in entries}
        self.bytes = 0
        self.errors = []
        self.threads = [threading.Thread(target=self.worker, args=(i,), daemon=True)
                        for i in range(STREAMS)]
        for t in self.threads:
            t.start()

    def worker(self, i):
        label, open_sock = self.entries[i % len(self.entries)]
        rng = random.Random(i)
        time.sleep(i * 0.02)                     # stagger the first connects
        for k in range(100000):
            if time.monotonic() >= self.end:
                return
            n = rng.randrange(8 * KiB, 256 * KiB)
            start = fl.stream_start(i * 100000 + k)
            try:
                s = open_sock()
                try:
                    got = fl.exchange(s, n, start, Deadline(60, f'{label} stream'))
                finally:
                    s.close()
                if got != (n, fl.pattern_sha256(n, start)):
                    raise AssertionError(f'{got[0]} of {n} bytes back, sha {got[1]}')
                with self.lock:
                    self.ok[label] += 1
                    self.bytes += 2 * n
            except Exception as e:  # noqa: BLE001 - reported by the test
                with self.lock:
                    self.errors.append(f'stream {i} ({label}) round trip {k}: '
                                       f'{type(e).__name__}: {e}')
                return

    def join(self, timeout):
        d = Deadline(timeout)
        for t in self.threads:
            t.join(max(0.0, d.remaining()))
        return sum(t.is_alive() for t in self.threads)


def hostile_loop(lab, srv, end, attacks, log):
    """Run `attacks` (callables) one after another, round and round, until
    `end`; each bounded by its own time limit."""
    for k in range(1000):
        for attack in attacks:
            if time.monotonic() >= end - 1:
                return
            try:
                log.append(attack())
            except Exception as e:  # noqa: BLE001 - reported by the test
                log.append(f'ERROR {type(e).__name__}: {e}')


def test_soak_200_streams_with_hostile_clients(lab, hferryd):
    authorized = hl.default_authorized(lab.keys)
    authorized.update({f'soak{i}': [lab.keys.user_pub('ed25519')] for i in range(6)})
    srv = hferryd(authorized=authorized)
    echo = lab.echo(max_conns=1000000)      # one connection per round trip
    entries = []
    for i, (kind, what) in enumerate(itertools.product(('ferry', 'ssh'), 'LRD')):
        # one user per client: each stays far below the per-user limits
        port = hl.start_forward(lab, kind, srv, what, f'soak{i}', echo.addr)
        if what == 'D':
            entries.append((f'{kind} -D', lambda p=port: sl.connect(p, '5', LOCALHOST,
                                                                    echo.port)))
        else:
            entries.append((f'{kind} -{what}', lambda p=port: fl.connect(p)))
    for label, open_sock in entries:
        s = open_sock()
        try:
            assert fl.exchange(s, 1000, 0) == (1000, fl.pattern_sha256(1000, 0)), label
        finally:
            s.close()
    base_fds = hl.settle_fds(srv.pid)
    hang = hl.Blackhole(hang=True)
    sink = hl.Blackhole(hang=False)
    lab.sockets += [hang.listener, sink.listener]
    rss = hl.RssSampler(srv.pid, interval=0.1)
    t0 = time.monotonic()
    end = t0 + SOAK_SECONDS
    log_a, log_b, log_c = [], [], []

    def run(mode, *args, **kw):
        h = hl.run_hostile(lab, srv, mode, *args, **kw)
        return f'{mode}: ' + ' | '.join(h.lines())

    def strict_kex():
        c = fdl.RawSsh(srv.port)
        try:
            c.read_version()
            c.send_version()
            c.send_packet(fdl.kexinit_payload())
            c.send_packet(bytes([2]) + fdl.ssh_string(b'x'))
            return 'strict kex: ' + c.read_until_closed(5)[1]
        finally:
            c.close()

    attacks_a = [lambda: run('exec-flood', 20000, limit=8, hold=2),
                 lambda: run('ignore-holdback', 64 * MiB, limit=10, hold=1),
                 lambda: run('user', NAME, limit=5),
                 strict_kex]
    attacks_b = [lambda: run('open-flood', 100, LOCALHOST, hang.port, limit=14)]
    attacks_c = [lambda: run('open-flood', 300, LOCALHOST, sink.port, 32, limit=8, hold=2)]
    hostiles = [threading.Thread(target=hostile_loop, args=(lab, srv, end, a, log),
                                 daemon=True)
                for a, log in ((attacks_a, log_a), (attacks_b, log_b), (attacks_c, log_c))]
    for h in hostiles:
        h.start()
    streams = Streams(entries, end)
    stuck = streams.join(SOAK_SECONDS + 90)
    for h in hostiles:
        h.join(max(1.0, end + 40 - time.monotonic()))
    hang.close()
    sink.close()
    rss.stop()
    elapsed = time.monotonic() - t0
    fds_after = hl.wait_fds(srv.pid, base_fds, 5)
    hostile_log = '\n'.join(log_a + log_b + log_c)
    print(f'soak: {SOAK_SECONDS:g} s, {STREAMS} streams, {sum(streams.ok.values())} round '
          f'trips, {streams.bytes / MiB:.0f} MiB checked in {elapsed:.1f} s; per entry '
          f'{streams.ok}; ferryd {rss.describe()}; descriptors {base_fds} -> {fds_after}; '
          f'{len(log_a) + len(log_b) + len(log_c)} attacks')
    assert stuck == 0, f'{stuck} streams still running {SOAK_SECONDS + 90:g} s after the start'
    assert not streams.errors, \
        f'{len(streams.errors)} streams failed:\n' + '\n'.join(streams.errors[:20])
    assert all(v > 0 for v in streams.ok.values()), streams.ok
    assert sum(streams.ok.values()) >= STREAMS, streams.ok
    assert not any(h.is_alive() for h in hostiles), 'a hostile loop is still running'
    assert len(log_a) >= 2 and 'ERROR' not in hostile_log, hostile_log
    assert srv.alive(), f'ferryd died:\n{fl.tail(srv.log_text())}'
    assert rss.peak * KiB < RSS_LIMIT, \
        (f'ferryd RSS reached {rss.peak / 1024:.0f} MiB (limit {RSS_LIMIT // MiB} MiB): '
         f'{rss.describe()}\nattacks:\n{hostile_log}')
    assert fds_after <= base_fds, \
        (f'ferryd holds {fds_after} descriptors 5 s after the soak, {base_fds} before:\n'
         f'{fl.tail(srv.log_text())}')
    log = srv.log_path.read_bytes()
    assert not any(ln.startswith(b'FAKE') for ln in log.split(b'\n')), \
        'a peer forged a ferryd log line'
