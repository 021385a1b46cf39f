"""Many idle sessions from one process: bench_server.py's opener phase.

ferry-sessopen (bench/sessopen.c, built next to ferryd) opens N
authenticated SSH sessions with ferry's engine from one process, so a
server can be given 10,000 sessions without 10,000 client processes. This
module runs it against a started server, waits (bounded) for its JSON
report, reads the server's memory while the sessions are held, then ends
the opener by closing its stdin.
"""
import json
import os
import select
import subprocess
import time
from pathlib import Path


def sessopen_path(ferryd):
    p = Path(os.environ.get('FERRY_SESSOPEN_BIN', str(Path(ferryd).parent / 'ferry-sessopen')))
    if not (p.is_file() and os.access(p, os.X_OK)):
        raise RuntimeError(f'ferry-sessopen not found at {p} (build it, or set FERRY_SESSOPEN_BIN)')
    return p


def run_opener(server, sessopen, identity, user, n, *, inflight=32, cap_s=120, settle=1.0):
    """Opens n sessions on server (a bench_server.Server), holds them while
    the server's memory is read, then closes them. Returns a dict: ready,
    failed, seconds, p50_ms, p99_ms, rss/pss before and with the sessions
    (KiB), processes, and per-session KiB."""
    rss0, pss0, _ = server.memory()
    argv = [str(sessopen), '-i', str(identity), '-l', user, '-p', str(server.port),
            '-n', str(n), '-c', str(inflight), '-t', str(cap_s), server.host]
    p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        line = ''
        deadline = time.monotonic() + cap_s + 30
        while not line and time.monotonic() < deadline and p.poll() is None:
            r, _, _ = select.select([p.stdout], [], [], 1.0)
            if r:
                line = p.stdout.readline()
        if not line:
            raise RuntimeError(f'ferry-sessopen gave no report (rc {p.poll()}): '
                               f'{p.stderr.read() if p.poll() is not None else ""}')
        out = json.loads(line)
        time.sleep(settle)                  # sshd's pre-auth children exit
        rss, pss, nproc = server.memory()
        out.update({'target': n, 'rss0_kib': rss0, 'pss0_kib': pss0, 'rss_kib': rss,
                    'pss_kib': pss, 'processes': nproc, 'alive': p.poll() is None})
        if out['ready']:
            out['rss_per_kib'] = (rss - rss0) / out['ready']
            out['pss_per_kib'] = (pss - pss0) / out['ready']
            out['open_rate'] = out['ready'] / out['seconds'] if out['seconds'] else None
        return out
    finally:
        try:
            p.stdin.close()                 # the opener ends its sessions
            p.wait(timeout=30)
        except (subprocess.TimeoutExpired, BrokenPipeError):
            p.kill()
            p.wait(timeout=10)
