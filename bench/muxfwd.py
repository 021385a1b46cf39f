"""Remote forwards opened through an OpenSSH ControlMaster: bench_fleet.py's
`ssh` rows. One `ssh -N -M` session per server; this process speaks the
multiplexing protocol (OpenSSH's PROTOCOL.mux) on its ControlPath and asks
for -R forwards one at a time. For a remote forward the master answers only
after the server replied to its tcpip-forward, so the time from sending
MUX_C_OPEN_FWD to the master's answer is the opening as plain `ssh` sees
it (the master's own turn included). Cancels are not timed: the master
answers MUX_C_CLOSE_FWD before the server does.
"""
import socket
import struct
import time

import ferrylab as fl
from ferrylab import Deadline

MUX_MSG_HELLO = 0x00000001
MUX_C_OPEN_FWD = 0x10000006
MUX_C_CLOSE_FWD = 0x10000007
MUX_S_OK = 0x80000001
MUX_S_FAILURE = 0x80000003
MUX_S_REMOTE_PORT = 0x80000007
MUX_FWD_REMOTE = 2


def _string(s):
    b = s.encode()
    return struct.pack('>I', len(b)) + b


class MuxMaster:
    """`ssh -N -M -S PATH` to server (a servers.Server) as the run's user,
    and one connection to its control socket."""

    def __init__(self, run, server, label):
        self.ctl = run.work / f'mux-{label}.sock'
        argv = fl.client_argv('ssh', server, forwards=(), identity=run.ident,
                              known_hosts=server.kh, user=run.user,
                              extra=['-o', 'ControlMaster=yes', '-o', f'ControlPath={self.ctl}'])
        self.proc = fl.ClientProc('ssh', argv, run.env, f'ssh-M-{label}')
        self.sock = None
        self.seq = 0
        try:
            if not fl.wait_until(lambda: self.ctl.exists() or not self.proc.alive(), 20):
                raise RuntimeError(f'ssh -M made no control socket in 20 s:\n'
                                   f'{self.proc.stderr()}')
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.settimeout(20)
            self.sock.connect(str(self.ctl))
            self._send(struct.pack('>II', MUX_MSG_HELLO, 4))
            kind, = struct.unpack('>I', self._recv()[:4])
            if kind != MUX_MSG_HELLO:
                raise RuntimeError(f'ssh -M answered hello with {kind:#x}')
        except BaseException:
            self.close()
            raise

    def _send(self, body):
        self.sock.sendall(struct.pack('>I', len(body)) + body)

    def _recv_exact(self, n):
        buf = b''
        while len(buf) < n:
            got = self.sock.recv(n - len(buf))
            if not got:
                raise RuntimeError(f'ssh -M closed its control socket:\n{self.proc.stderr()}')
            buf += got
        return buf

    def _recv(self):
        n, = struct.unpack('>I', self._recv_exact(4))
        if n > 65536:
            raise RuntimeError(f'ssh -M sent a {n}-byte message')
        return self._recv_exact(n)

    def _fwd(self, msg, port, target_port):
        self.seq += 1
        # '*': ssh asks for "" (every address); an empty host would be "localhost"
        self._send(struct.pack('>III', msg, self.seq, MUX_FWD_REMOTE) + _string('*') +
                   struct.pack('>I', port) + _string(fl.LOCALHOST) +
                   struct.pack('>I', target_port))
        reply = self._recv()
        kind, rid = struct.unpack('>II', reply[:8])
        if rid != self.seq:
            raise RuntimeError(f'ssh -M answered request {rid}, not {self.seq}')
        return kind, reply[8:]

    def open(self, port, target_port):
        """One -R *:port:127.0.0.1:target_port; (ms, bound port or None)."""
        t0 = time.perf_counter()
        kind, rest = self._fwd(MUX_C_OPEN_FWD, port, target_port)
        ms = (time.perf_counter() - t0) * 1e3
        if kind == MUX_S_REMOTE_PORT:
            return ms, struct.unpack('>I', rest[:4])[0]
        return ms, (port if kind == MUX_S_OK else None)

    def cancel(self, port, target_port):
        kind, _ = self._fwd(MUX_C_CLOSE_FWD, port, target_port)
        return kind == MUX_S_OK

    def close(self):
        if self.sock is not None:
            self.sock.close()
        self.proc.stop()


def open_forwards(run, server, label, n, *, batch=50, warmup=2, seconds=60):
    """n port-0 remote forwards through a fresh master to server, each to
    its own target port (the master refuses a second forward like an
    earlier one), cancelled every `batch`; `warmup` untimed first. Returns
    {'open_ms': [...], 'failed': count, 'first_error': text}."""
    m = MuxMaster(run, server, label)
    out = {'open_ms': [], 'failed': 0, 'first_error': ''}
    d = Deadline(seconds, 'mux forwards')
    try:
        held = []
        for i in range(warmup + n):
            if d.expired():
                out['first_error'] = out['first_error'] or 'time cap reached'
                break
            target = 10000 + i
            ms, bound = m.open(0, target)
            if bound is None:
                out['failed'] += 1
                out['first_error'] = out['first_error'] or 'forward refused'
            else:
                held.append(target)
                if i >= warmup:
                    out['open_ms'].append(ms)
            if len(held) >= batch or i == warmup - 1 or i == warmup + n - 1:
                for t in held:
                    m.cancel(0, t)
                held = []
    finally:
        m.close()
    return out
