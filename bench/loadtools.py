"""bench/'s load tools in C, built next to ferryd (not installed):

ferry-connrate (bench/connrate.c): connect + 1-byte echo + close, N at
once, and its echo server. The Python loop in measure.conn_round costs
about as much per connection as the tunnel it measures (and its echo
server is a thread per connection in the same process), so on a small
machine both pairs topped out at the generator's rate.

ferry-blast (bench/blast.c): bulk streams, K at once, and their sink and
source. Not cheaper per byte than Python's 1 MiB sendall/recv_into (the
kernel's copies are most of either), but free of the interpreter's lock:
K streams run side by side as the tunnels allow, on any number of cores.
"""
import json
import os
import resource
import subprocess
from pathlib import Path


def tool_path(name, ferryd):
    """The tool `name` beside ferryd (or $FERRY_<NAME>_BIN)."""
    env = 'FERRY_' + name.split('-', 1)[1].upper() + '_BIN'
    p = Path(os.environ.get(env, str(Path(ferryd).parent / name)))
    if not (p.is_file() and os.access(p, os.X_OK)):
        raise RuntimeError(f'{name} not found at {p} (build it, or set {env})')
    return p


class LoadServer:
    """A tool's server mode on 127.0.0.1 (`ferry-connrate echo`,
    `ferry-blast sink`, `ferry-blast source -n BYTES`): .addr, .port,
    close(). It serves until its stdin closes."""

    def __init__(self, binary, *args, host='127.0.0.1'):
        self.host = host
        self.proc = subprocess.Popen([str(binary), *args, '-a', host], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()   # the port, or EOF if it failed
        if not line.strip().isdigit():
            self.close()
            raise RuntimeError(f'{binary} {" ".join(args)} did not start (rc {self.proc.poll()})')
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


def _report(argv, cap_s, what):
    p = subprocess.run([str(a) for a in argv], capture_output=True, text=True,
                       timeout=cap_s + 30)
    try:
        return json.loads(p.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        raise RuntimeError(f'{what} gave no report (rc {p.returncode}): '
                           f'{p.stderr.strip()[-300:]!r}')


def connrate(binary, port, count, concurrent, cap_s):
    """count connect/1-byte echo/close through port, `concurrent` at once,
    at most cap_s seconds. Returns the generator's report: done, failed,
    seconds, rate, p50_ms, p99_ms, first_error."""
    cap = max(1, int(cap_s))
    r = _report([binary, 'run', '-p', port, '-n', count, '-c', concurrent, '-t', cap], cap,
                'ferry-connrate')
    if r['done'] == 0:
        raise RuntimeError(f'no connection completed through port {port}: {r["first_error"]!r}')
    return r


def blast(binary, direction, ports, nbytes, cap_s=300):
    """One stream of nbytes through each port, all released at once:
    'up' into a `ferry-blast sink` at the far end, 'down' from a
    `ferry-blast source -n nbytes`. Returns (aggregate MB/s, seconds, the
    CPU seconds of the streams' process); raises unless every stream
    carried all its bytes."""
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    r = _report([binary, direction, '-n', nbytes, '-p', ','.join(str(p) for p in ports),
                 '-t', int(cap_s)], cap_s, 'ferry-blast')
    if r['ok'] != len(ports):
        raise RuntimeError(f'{direction}: {len(ports) - r["ok"]} of {len(ports)} stream(s) '
                           f'incomplete: {r["error"]!r}')
    ru2 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = ru2.ru_utime + ru2.ru_stime - ru.ru_utime - ru.ru_stime
    return r['MBps'], r['seconds'], cpu
