"""The connection rate measured by ferry-connrate (bench/connrate.c).

The Python loop in measure.conn_round costs about as much per connection as
the tunnel it measures (and its echo server is a thread per connection in
the same process), so on a small machine both pairs topped out at the
generator's rate. ferry-connrate does the connects and the echo in C, one
libuv loop each: sequential (one connection at a time: latency) and
concurrent (C at once: what the tunnel sustains).
"""
import json
import os
import subprocess
from pathlib import Path


def connrate_path(ferryd):
    p = Path(os.environ.get('FERRY_CONNRATE_BIN', str(Path(ferryd).parent / 'ferry-connrate')))
    if not (p.is_file() and os.access(p, os.X_OK)):
        raise RuntimeError(f'ferry-connrate not found at {p} (build it, or set FERRY_CONNRATE_BIN)')
    return p


class Echo:
    """`ferry-connrate echo` on 127.0.0.1: .addr, .port, close()."""

    def __init__(self, binary, host='127.0.0.1'):
        self.host = host
        self.proc = subprocess.Popen([str(binary), 'echo', '-a', host], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()   # the port, or EOF if it failed
        if not line.strip().isdigit():
            self.close()
            raise RuntimeError(f'ferry-connrate echo did not start (rc {self.proc.poll()})')
        self.port = int(line)

    @property
    def addr(self):
        return (self.host, self.port)

    def close(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def run(binary, port, count, concurrent, cap_s):
    """count connect/1-byte echo/close through port, `concurrent` at once,
    at most cap_s seconds. Returns the generator's report: done, failed,
    seconds, rate, p50_ms, p99_ms, first_error."""
    p = subprocess.run([str(binary), 'run', '-p', str(port), '-n', str(count),
                        '-c', str(concurrent), '-t', str(max(1, int(cap_s)))],
                       capture_output=True, text=True, timeout=cap_s + 30)
    try:
        r = json.loads(p.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        raise RuntimeError(f'ferry-connrate gave no report (rc {p.returncode}): '
                           f'{p.stderr.strip()[-300:]!r}')
    if r['done'] == 0:
        raise RuntimeError(f'no connection completed through port {port}: {r["first_error"]!r}')
    return r
