"""Timed remote-forward openings: bench_fleet.py's opening phase.

ferry-fwdopen (bench/fwdopen.c, built next to ferryd) logs in once with
ferry's engine and sends tcpip-forward after tcpip-forward on that one
session, each timed from the request to its reply, cancelling the held
forwards every batch (cancels timed too). This module runs it against a
started server and returns its JSON report.
"""
import json
import os
import subprocess
from pathlib import Path


def fwdopen_path(ferryd):
    p = Path(os.environ.get('FERRY_FWDOPEN_BIN', str(Path(ferryd).parent / 'ferry-fwdopen')))
    if not (p.is_file() and os.access(p, os.X_OK)):
        raise RuntimeError(f'ferry-fwdopen not found at {p} (build it, or set FERRY_FWDOPEN_BIN)')
    return p


def open_forwards(tool, server, identity, user, n, *, first_port=0, bind='', batch=50,
                  warmup=2, cap_s=60):
    """n forwards of bind:port (port 0, or first_port, first_port+1, ...)
    opened one after another on one session to server (a servers.Server),
    `warmup` untimed ones before. Returns the tool's report: opened,
    failed, cancel_failed, open_ms and cancel_ms (every latency in ms),
    first_error. Bounded: the tool stops itself at cap_s, and is killed
    30 s later."""
    argv = [str(tool), '-i', str(identity), '-l', user, '-p', str(server.port),
            '-n', str(n), '-b', str(batch), '-a', bind, '-w', str(warmup),
            '-t', str(cap_s)]
    if first_port:
        argv += ['-P', str(first_port)]
    argv.append(server.host)
    try:
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           timeout=cap_s + 30)
    except subprocess.TimeoutExpired as e:
        raise RuntimeError(f'ferry-fwdopen did not end within {cap_s + 30}s') from e
    line = p.stdout.strip().splitlines()[-1:] or ['']
    try:
        rep = json.loads(line[0])
    except ValueError:
        raise RuntimeError(f'ferry-fwdopen (exit {p.returncode}) printed no report:\n'
                           f'{p.stdout[-2000:]}{p.stderr[-2000:]}') from None
    rep['exit'] = p.returncode
    return rep
