"""ferryd on several event loops (EventLoops).

Loop 0 accepts every connection and hands it to the loop serving the fewest
sessions (loop 0 included); a session stays on its loop. What crosses loops
is checked here with real clients (OpenSSH ssh and ferry) and data checked
by SHA-256:
- sessions spread over the loops (`ferryd status -j` names each session's
  "loop") and all of them carry data at once;
- ReclaimForwards across loops: the newer session (on another loop than the
  holder) waits while the holder's loop gives the listener up, then gets it
  (`asking the session from ... for it`, then the take-over line);
- SIGHUP while transfers run on every loop: they finish intact, and new
  connections get the new configuration;
- SIGTERM while transfers run on every loop: ferryd ends every session and
  exits 0, with no sanitizer report;
- the keyword: `ferryd -T` prints it, 0 means one loop per CPU, bounds.
Threaded code also runs under ThreadSanitizer in CI (build-tsan, this file).
"""

import json
import os
import re
import signal
import threading
import time

import ferrylab as fl
import ferrydlab as fdl
import remotelab as rl
from ferrydlab import ferryd  # noqa: F401 - fixture
from ferrylab import Deadline, LOCALHOST, MiB, USER

LOOPS_RE = re.compile(r'^debug1: (\d+) event loops$', re.M)
ASKING_RE = r'asking the session from 127\.0\.0\.1 port (\d+) for it'


def _echoes(port, payload):
    """Whether an echo exchange through port works now."""
    try:
        return fl.echo_roundtrip(port, payload, timeout=5) == payload
    except OSError:
        return False


def _status(ctl):
    r = fdl.run_ferryd(['status', '-j', '-S', str(ctl)], timeout=20)
    assert r.returncode == 0, f'ferryd status -j: exit {r.returncode}\n{r.stderr}'
    return json.loads(r.stdout)


def _authenticated(ctl):
    return [s for s in _status(ctl)['sessions'] if s['authenticated']]


def _transfers(ports, sinks, n, seconds=120):
    """One upload of n bytes through each port at once (each into its own
    sink); returns the errors (empty: every SHA-256 matched)."""
    errors = []

    def one(i):
        try:
            res = rl.upload(ports[i], sinks[i], n, start=i, seconds=seconds)
            rl.assert_upload_ok(res, n, start=i)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(f'transfer {i}: {type(e).__name__}: {e}')

    threads = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(len(ports))]
    for t in threads:
        t.start()
    return threads, errors


def _join(threads, seconds):
    d = Deadline(seconds, 'transfers')
    for t in threads:
        t.join(max(0.01, d.remaining()))
    return [t for t in threads if t.is_alive()]


def test_sessions_spread_over_loops(lab, ferryd, client):
    """EventLoops 3, six clients, each with a -L to its own sink: the
    sessions are spread two per loop, and six 8 MiB uploads at once all
    arrive intact."""
    ctl = lab.dir / 'ferryd.sock'
    srv = ferryd(config=['EventLoops 3', f'ControlSocket {ctl}'])
    assert srv.wait_log(LOOPS_RE, 1, 5)[0].group(1) == '3', fl.tail(srv.log_text())
    sinks = [lab.sink() for _ in range(6)]
    tunnels = [fdl.start_local(lab, client, srv, [(LOCALHOST, s.port)]) for s in sinks]
    assert fl.wait_until(lambda: len(_authenticated(ctl)) == 6, 10), _status(ctl)
    loops = sorted(s['loop'] for s in _authenticated(ctl))
    assert loops == [0, 0, 1, 1, 2, 2], loops
    r = fdl.run_ferryd(['metrics', '-S', str(ctl)], timeout=20)
    assert r.returncode == 0, r.stderr
    per_loop = re.findall(r'^ferryd_loop_sessions\{loop="(\d)"\} (\d+)$', r.stdout, re.M)
    assert per_loop == [('0', '2'), ('1', '2'), ('2', '2')], r.stdout
    threads, errors = _transfers([t.port for t in tunnels], sinks, 8 * MiB)
    assert not _join(threads, 120), 'transfers did not finish'
    assert not errors, errors


def test_reclaim_across_loops(lab, ferryd, client):
    """EventLoops 2: client #1 holds -R P (loop 0) and is frozen; client #2,
    same key, lands on loop 1 and asks for P: loop 1 asks loop 0 to give
    the listener up, then binds it; P reaches echo #2."""
    ctl = lab.dir / 'ferryd-r.sock'
    srv = ferryd(config=['EventLoops 2', f'ControlSocket {ctl}'])
    e1, e2 = lab.echo(), lab.echo()
    port = fl.pick_free_port()
    spec = lambda e: rl.remote_spec(LOCALHOST, port, LOCALHOST, e.port)  # noqa: E731
    c1 = fdl.start_client(lab, client, srv, remote=[spec(e1)])
    assert fl.wait_until(lambda: _echoes(port, b'one'), 15), \
        f'{c1.stderr()}\n{fl.tail(srv.log_text())}'
    os.kill(c1.pid, signal.SIGSTOP)
    try:
        c2 = fdl.start_client(lab, client, srv, remote=[spec(e2)])
        ms = srv.wait_log(re.compile(ASKING_RE), 1, 10)
        assert ms, f'no cross-loop request:\n{c2.stderr()}\n{fl.tail(srv.log_text())}'
        taken = re.compile(rf'^ferryd: {USER}: remote forward "127\.0\.0\.1":{port}: taken '
                           rf'over from the older session from 127\.0\.0\.1 port '
                           rf'{ms[0].group(1)} \(same key SHA256:\S+; ReclaimForwards '
                           rf'yes\)$', re.M)
        assert srv.wait_log(taken, 1, 10), fl.tail(srv.log_text())
        before = e2.accepted
        assert fl.wait_until(lambda: _echoes(port, b'two') and e2.accepted > before,
                             10), fl.tail(srv.log_text())
        sessions = _authenticated(ctl)
        assert sorted(s['loop'] for s in sessions) == [0, 1], sessions
        holder = [s for s in sessions if s['forwards']]
        assert len(holder) == 1 and holder[0]['loop'] == 1, sessions
        assert not srv.refusals(), srv.refusals()
        assert c2.alive(), c2.stderr()
    finally:
        os.kill(c1.pid, signal.SIGCONT)


def test_reload_while_busy(lab, ferryd):
    """EventLoops 2, four -L tunnels (two per loop) uploading 24 MiB each;
    SIGHUP three times meanwhile: every upload arrives intact, ferryd says
    it reloaded, and a new session after the reload gets the new
    configuration (MaxListeners 0 refuses its -R)."""
    ctl = lab.dir / 'ferryd-h.sock'
    srv = ferryd(config=['EventLoops 2', f'ControlSocket {ctl}'])
    sinks = [lab.sink() for _ in range(4)]
    tunnels = [fdl.start_local(lab, 'ssh', srv, [(LOCALHOST, s.port)]) for s in sinks]
    threads, errors = _transfers([t.port for t in tunnels], sinks, 24 * MiB)
    text = srv.config_path.read_text()
    srv.config_path.write_text(text + 'MaxListeners 0\n')
    for _ in range(3):
        time.sleep(0.1)
        srv.proc.send_signal(signal.SIGHUP)
    assert srv.wait_log(re.compile(r'^ferryd: Received SIGHUP; configuration reloaded\.$',
                                   re.M), 3, 10), fl.tail(srv.log_text())
    assert not _join(threads, 120), 'transfers did not finish'
    assert not errors, errors
    e = lab.echo()
    c = fdl.start_client(lab, 'ssh', srv, remote=[rl.remote_spec(LOCALHOST, 0, LOCALHOST,
                                                                 e.port)])
    assert c.wait_exit(15) == 255, c.stderr()
    assert srv.wait_log(re.compile(r'listeners, the most allowed'), 1, 5), \
        fl.tail(srv.log_text())
    assert fl.wait_until(lambda: sorted(s['loop'] for s in _authenticated(ctl)) ==
                         [0, 0, 1, 1], 10), _status(ctl)


def test_sigterm_with_busy_loops(lab, ferryd):
    """EventLoops 2, four uploads of 512 MiB running on both loops: SIGTERM
    ends every session at once and ferryd exits 0 (the fixture's close
    checks the status and the log for sanitizer reports)."""
    srv = ferryd(config=['EventLoops 2'])
    sinks = [lab.sink(hash=False) for _ in range(4)]
    tunnels = [fdl.start_local(lab, 'ssh', srv, [(LOCALHOST, s.port)]) for s in sinks]
    threads, errors = _transfers([t.port for t in tunnels], sinks, 512 * MiB, seconds=30)
    time.sleep(0.5)
    t0 = time.monotonic()
    problems = srv.close(timeout=10)
    took = time.monotonic() - t0
    assert not problems, problems
    assert srv.proc.returncode == 0, srv.proc.returncode
    assert took < 5, f'ferryd took {took:.1f} s to stop'
    assert srv.count(r'Connection from 127\.0\.0\.1 port \d+ closed') >= 4, \
        fl.tail(srv.log_text())
    assert not _join(threads, 30), 'uploads still running after ferryd stopped'
    assert len(errors) == 4, errors    # every transfer was cut short


def test_event_loops_keyword(lab):
    """ferryd -T prints EventLoops; 0 (and the default) is one loop per CPU;
    out of 0..64 is an error naming the keyword."""
    cpus = min(64, os.cpu_count())
    for opt, want in (([], cpus), (['-o', 'EventLoops=0'], cpus), (['-o', 'EventLoops=5'], 5)):
        r = fdl.run_ferryd(['-T', '-f', '/dev/null', '-o', f'StateDirectory {lab.dir}/st',
                            '-o', 'Port 0'] + opt)
        lines = [ln for ln in r.stdout.splitlines() if ln.startswith('eventloops ')]
        assert lines == [f'eventloops {want}'], (opt, r.stdout, r.stderr)
    r = fdl.run_ferryd(['-t', '-f', '/dev/null', '-o', 'EventLoops=65'])
    assert r.returncode == 1
    assert re.search(r"EventLoops: bad value '65' \(a number from 0 to 64\)", r.stderr), r.stderr
