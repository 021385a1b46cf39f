"""A burst of connections into a fresh tunnel, all at once.

Opens n non-blocking connections to 127.0.0.1:port in one go, sends one
byte on each as soon as it is connected and waits for its echo; each
connection's time runs from its connect() to its echo. Bounded by a
deadline: whatever has not echoed by then counts as failed. Used by
bench.py (client side, the same sshd behind both clients) and
bench_pair.py (the end-to-end pair).
"""
import errno
import selectors
import socket
import time


def burst(host, port, n, timeout_s=30.0):
    """Returns {'n', 'ok', 'failed', 'seconds', 'lat_s': [...]}: seconds is
    the time until the last echo (or the deadline)."""
    sel = selectors.DefaultSelector()
    started = {}
    lat = []
    failed = 0
    t0 = time.perf_counter()
    deadline = t0 + timeout_s
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            rc = s.connect_ex((host, port))
            if rc not in (0, errno.EINPROGRESS):
                s.close()
                failed += 1
                continue
            started[s] = time.perf_counter()
            sel.register(s, selectors.EVENT_WRITE, 'connect')
        while started and time.perf_counter() < deadline:
            for key, _ in sel.select(timeout=max(0.0, min(1.0, deadline - time.perf_counter()))):
                s = key.fileobj
                if key.data == 'connect':
                    if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) != 0:
                        failed += 1
                        _drop(sel, started, s)
                        continue
                    try:
                        s.send(b'b')
                    except OSError:
                        failed += 1
                        _drop(sel, started, s)
                        continue
                    sel.modify(s, selectors.EVENT_READ, 'echo')
                    continue
                try:
                    got = s.recv(1)
                except BlockingIOError:
                    continue
                except OSError:
                    got = b''
                if got == b'b':
                    lat.append(time.perf_counter() - started[s])
                else:
                    failed += 1
                _drop(sel, started, s)
        failed += len(started)
        return {'n': n, 'ok': len(lat), 'failed': failed,
                'seconds': time.perf_counter() - t0, 'lat_s': lat}
    finally:
        for s in list(started):
            _drop(sel, started, s)
        sel.close()


def _drop(sel, started, s):
    try:
        sel.unregister(s)
    except (KeyError, ValueError):
        pass
    started.pop(s, None)
    s.close()
