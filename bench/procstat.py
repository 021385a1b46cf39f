"""What /proc says about the processes a benchmark started: process trees
by parent pid, CPU time of every thread, PSS, and the last-resort kill of
stray children. Shared by bench.py, bench_server.py,
bench_pair.py and bench_fleet.py.
"""
import os
import resource
import signal
import time
from pathlib import Path

CLK_TCK = os.sysconf('SC_CLK_TCK')


def _stat_fields(pid):
    """Fields of /proc/PID/stat after the command name (state is [0])."""
    try:
        s = Path(f'/proc/{pid}/stat').read_text()
    except OSError:
        return None
    return s[s.rfind(')') + 2:].split()


def ppid_map():
    """{pid: ppid} of every process (one pass over /proc)."""
    out = {}
    for e in os.listdir('/proc'):
        if not e.isdigit():
            continue
        f = _stat_fields(e)
        if f and len(f) > 1:
            out[int(e)] = int(f[1])
    return out


def process_tree(root, limit=20000):
    """root and all its descendants (recursively, by parent pid), bounded."""
    children = {}
    for pid, ppid in ppid_map().items():
        children.setdefault(ppid, []).append(pid)
    out, todo = [], [root]
    while todo and len(out) < limit:
        p = todo.pop()
        out.append(p)
        todo += children.get(p, [])
    return out


def _process_clock(pid):
    """The CPU-time clock of process `pid` (CLOCK_PROCESS_CPUTIME of another
    process, as glibc's clock_getcpuclockid builds it: CPUCLOCK_SCHED)."""
    return ((~pid) << 3) | 2


def cpu_seconds(pids):
    """{pid: CPU seconds used so far} (processes that vanished are left out):
    the process's CPU-time clock, i.e. the nanosecond run time that
    /proc/PID/task/*/schedstat shows per thread, summed over all its threads
    including those that already ended; else the sum of schedstat over the
    live threads; else utime+stime in clock ticks from /proc/PID/stat."""
    out = {}
    for p in pids:
        try:
            out[p] = time.clock_gettime(_process_clock(p))
            continue
        except OSError:
            pass
        ns, ok = 0, False
        try:
            for t in os.listdir(f'/proc/{p}/task'):
                try:
                    ns += int(Path(f'/proc/{p}/task/{t}/schedstat').read_text().split()[0])
                    ok = True
                except (OSError, ValueError, IndexError):
                    pass
        except OSError:
            continue
        if ok:
            out[p] = ns / 1e9
            continue
        f = _stat_fields(p)
        if f and len(f) > 12:
            out[p] = (int(f[11]) + int(f[12])) / CLK_TCK
    return out


class CpuMeter:
    """CPU seconds used by the processes pids_fn() names (asked again at the
    end, so processes started meanwhile count from zero) between start()
    and stop(), threads that ended meanwhile included. A process that exits
    in between takes its time with it."""

    def __init__(self, pids_fn):
        self.pids_fn = pids_fn
        self.before = {}

    def start(self):
        self.before = cpu_seconds(self.pids_fn())
        return self

    def stop(self):
        after = cpu_seconds(self.pids_fn())
        return sum(v - self.before.get(p, 0.0) for p, v in after.items())


def pss_kib(pid):
    try:
        for ln in Path(f'/proc/{pid}/smaps_rollup').read_text().splitlines():
            if ln.startswith('Pss:'):
                return int(ln.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


def kill_stray_children(marker):
    """SIGKILL our own child processes whose command line mentions `marker`
    (the run's work directory): a client spawned just as an exception hit."""
    me = os.getpid()
    for pid, ppid in ppid_map().items():
        if ppid != me:
            continue
        try:
            cmd = Path(f'/proc/{pid}/cmdline').read_bytes().decode(errors='replace')
        except OSError:
            continue
        if marker in cmd:
            try:
                os.killpg(pid, signal.SIGKILL) if os.getpgid(pid) == pid else \
                    os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass


def raise_nofile(want=65536):
    """Raise RLIMIT_NOFILE to `want` (or the hard limit); returns the soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    for new_hard in (max(hard, want), hard):
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (new_hard, new_hard))
            break
        except (ValueError, OSError):
            continue
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def task_count(pids):
    """(processes, threads) among pids that still exist."""
    procs = threads = 0
    for p in pids:
        try:
            threads += len(os.listdir(f'/proc/{p}/task'))
            procs += 1
        except OSError:
            pass
    return procs, threads
