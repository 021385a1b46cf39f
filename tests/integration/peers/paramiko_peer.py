#!/usr/bin/python3
"""paramiko (Debian's python3-paramiko) as a real peer for ferry's tests.

  paramiko_peer.py client --port P --host-pub 'ALG BASE64' --key FILE
                   [--user U] [--cipher C] [--rekey-bytes N]
                   [-L HOST:PORT]... [-R BIND:PORT:HOST:PORT]...
      like `ssh -N -L 127.0.0.1:0:HOST:PORT -R ...`: prints "CIPHER <out>
      <in>", "LOCAL <i> <port>", "REMOTE <i> <port>", "READY"; exits 3 with
      "LOST" when the connection ends. --rekey-bytes lowers paramiko's
      rekey threshold (sent or received bytes), so paramiko starts the
      re-exchanges.

  paramiko_peer.py late --port P --host-pub ... --key FILE --target H:P
                   [--size N]
      opens a direct-tcpip channel to an echo target, checks the echo,
      closes the channel and waits for the server's CLOSE; then sends, raw,
      WINDOW_ADJUST, DATA, EOF and a CHANNEL_REQUEST for that closed
      channel ("LATE <id>"), checks that a second channel still works
      ("SECOND ok|<why>"), and finally sends a WINDOW_ADJUST for a channel
      that never existed: "UNKNOWN closed" when the server ends the
      connection for it (as it must), "UNKNOWN alive" if not.

  paramiko_peer.py server --host-key FILE --authorized FILE [--late]
      an SSH server on 127.0.0.1, port chosen by the kernel ("LISTENING
      <port>"), serving direct-tcpip by connecting to the destination.
      With --late, once a channel's CLOSE exchange is over it sends the
      same late messages for it ("LATE <id>").

Runs until SIGTERM (or stdin closing, for client and server).
"""

import argparse
import hashlib
import logging
import random
import socket
import sys
import threading
import time
import warnings

warnings.simplefilter('ignore')
import paramiko  # noqa: E402
from paramiko.common import (cMSG_CHANNEL_WINDOW_ADJUST, cMSG_CHANNEL_DATA,  # noqa: E402
                             cMSG_CHANNEL_EOF, cMSG_CHANNEL_REQUEST)

IO_TIMEOUT = 30
_out_lock = threading.Lock()

# paramiko 2.12 answers a peer's CHANNEL_CLOSE from its transport thread
# with a message that waits for any key exchange in progress; when the
# CLOSE arrives during paramiko's own exchange (the peer's CLOSE crossed
# paramiko's KEXINIT), that thread waits for itself and the exchange
# never finishes (any server: OpenSSH's sshd the same). The answer is
# moved to a thread of its own; what goes on the wire is unchanged.
_handle_close = paramiko.Channel._handle_close
paramiko.Transport._channel_handler_table[paramiko.common.MSG_CHANNEL_CLOSE] = \
    lambda chan, m: threading.Thread(target=_handle_close, args=(chan, m),
                                     daemon=True).start()


def say(*words):
    with _out_lock:
        print(*words, flush=True)


def load_key(path):
    last = None
    for cls in (paramiko.Ed25519Key, paramiko.ECDSAKey, paramiko.RSAKey):
        try:
            return cls.from_private_key_file(path)
        except (paramiko.SSHException, ValueError) as e:
            last = e
    raise SystemExit(f'cannot load key {path}: {last}')


def pump(chan, sock):
    """Both directions between a channel and a socket, half-close exact."""
    def up():
        try:
            while True:
                d = sock.recv(65536)
                if not d:
                    chan.shutdown_write()
                    return
                chan.sendall(d)
        except (OSError, EOFError):
            pass

    def down():
        try:
            while True:
                d = chan.recv(65536)
                if not d:
                    sock.shutdown(socket.SHUT_WR)
                    return
                sock.sendall(d)
        except (OSError, EOFError):
            pass
    ts = [threading.Thread(target=f, daemon=True) for f in (up, down)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(600)
    chan.close()
    sock.close()


def wait_unlinked(t, chan, seconds=10):
    """True once the peer's CLOSE for chan arrived (paramiko forgets it)."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if t._channels.get(chan.chanid) is None:
            return True
        time.sleep(0.01)
    return False


def send_late(t, remote_id):
    """What a peer racing a close sends: every message type a channel can
    still carry, all for a channel whose CLOSE exchange is over."""
    for build in (
            lambda m: (m.add_byte(cMSG_CHANNEL_WINDOW_ADJUST), m.add_int(remote_id),
                       m.add_int(1 << 20)),
            lambda m: (m.add_byte(cMSG_CHANNEL_DATA), m.add_int(remote_id),
                       m.add_string(b'late data')),
            lambda m: (m.add_byte(cMSG_CHANNEL_EOF), m.add_int(remote_id)),
            lambda m: (m.add_byte(cMSG_CHANNEL_REQUEST), m.add_int(remote_id),
                       m.add_string('keepalive@openssh.com'), m.add_boolean(False)),
            lambda m: (m.add_byte(cMSG_CHANNEL_WINDOW_ADJUST), m.add_int(remote_id),
                       m.add_int(1 << 20))):
        m = paramiko.Message()
        build(m)
        t._send_user_message(m)


def client_transport(a):
    sock = socket.create_connection(('127.0.0.1', a.port), timeout=IO_TIMEOUT)
    t = paramiko.Transport(sock)
    if a.cipher:
        t.get_security_options().ciphers = [a.cipher]
    t.start_client(timeout=IO_TIMEOUT)
    alg, b64 = a.host_pub.split()[:2]
    hk = t.get_remote_server_key()
    if hk.get_base64() != b64:
        say('ERROR', 'host key mismatch', hk.get_name(), hk.get_base64())
        sys.exit(2)
    if a.rekey_bytes:
        t.packetizer.REKEY_BYTES = a.rekey_bytes
    t.auth_publickey(a.user, load_key(a.key))
    if not t.is_authenticated():
        say('ERROR', 'authentication failed')
        sys.exit(2)
    say('CIPHER', t.local_cipher, t.remote_cipher)
    return t


def stdin_or_lost(t):
    """Blocks until stdin closes (exit 0) or the connection ends (exit 3)."""
    done = threading.Event()

    def read_stdin():
        try:
            while sys.stdin.buffer.read(4096):
                pass
        except OSError:
            pass
        done.set()
    threading.Thread(target=read_stdin, daemon=True).start()
    while not done.wait(0.1):
        if not t.is_active():
            say('LOST', 'connection closed')
            sys.exit(3)
    t.close()


def client(a):
    t = client_transport(a)
    for i, spec in enumerate(a.local):
        host, port = spec.rsplit(':', 1)
        ls = socket.socket()
        ls.bind(('127.0.0.1', 0))
        ls.listen(64)

        def accept_loop(ls=ls, dest=(host, int(port))):
            while True:
                try:
                    c, peer = ls.accept()
                except OSError:
                    return
                try:
                    ch = t.open_channel('direct-tcpip', dest, peer, timeout=IO_TIMEOUT)
                except (paramiko.SSHException, OSError) as e:
                    say('OPENFAIL', e)
                    c.close()
                    continue
                threading.Thread(target=pump, args=(ch, c), daemon=True).start()
        threading.Thread(target=accept_loop, daemon=True).start()
        say('LOCAL', i, ls.getsockname()[1])
    targets = {}
    for i, spec in enumerate(a.remote):
        bind, lport, host, port = spec.split(':')

        def handler(ch, origin, server):
            dest = targets.get(server[1])
            if dest is None:
                say('NOTARGET', server)
                ch.close()
                return
            try:
                s = socket.create_connection(dest, timeout=IO_TIMEOUT)
            except OSError:
                ch.close()
                return
            s.settimeout(None)
            threading.Thread(target=pump, args=(ch, s), daemon=True).start()
        got = t.request_port_forward(bind, int(lport), handler)
        targets[got] = (host, int(port))
        say('REMOTE', i, got)
    say('READY')
    stdin_or_lost(t)


def late(a):
    t = client_transport(a)
    host, port = a.target.rsplit(':', 1)

    def exchange(n, seed):
        data = random.Random(seed).randbytes(n)
        ch = t.open_channel('direct-tcpip', (host, int(port)), ('127.0.0.1', 0),
                            timeout=IO_TIMEOUT)
        ch.settimeout(IO_TIMEOUT)
        got = bytearray()

        def reader():
            while True:
                d = ch.recv(65536)
                if not d:
                    return
                got.extend(d)
        r = threading.Thread(target=reader, daemon=True)
        r.start()
        ch.sendall(data)
        ch.shutdown_write()
        r.join(IO_TIMEOUT)
        ok = hashlib.sha256(got).digest() == hashlib.sha256(data).digest()
        return ch, ok, len(got)

    ch, ok, n = exchange(a.size, 1)
    say('FIRST', 'ok' if ok else f'bad {n}')
    ch.close()
    if not wait_unlinked(t, ch):
        say('ERROR', 'no CLOSE from the server')
        sys.exit(2)
    send_late(t, ch.remote_chanid)
    say('LATE', ch.remote_chanid)
    try:
        ch2, ok, n = exchange(a.size, 2)
        say('SECOND', 'ok' if ok else f'bad {n}')
        ch2.close()
        wait_unlinked(t, ch2)
    except (paramiko.SSHException, EOFError, OSError) as e:
        say('SECOND', f'failed {type(e).__name__}: {e}')
        sys.exit(0)
    if not t.is_active():
        say('SECOND', 'connection gone')
        sys.exit(0)
    m = paramiko.Message()
    m.add_byte(cMSG_CHANNEL_WINDOW_ADJUST)
    m.add_int(0x7fff0000)
    m.add_int(1 << 20)
    t._send_user_message(m)
    end = time.monotonic() + 10
    while t.is_active() and time.monotonic() < end:
        time.sleep(0.02)
    say('UNKNOWN', 'alive' if t.is_active() else 'closed')
    t.close()


class Server(paramiko.ServerInterface):
    def __init__(self, allowed):
        self.allowed = allowed

    def get_allowed_auths(self, username):
        return 'publickey'

    def check_auth_publickey(self, username, key):
        if (key.get_name(), key.get_base64()) in self.allowed:
            return paramiko.AUTH_SUCCESSFUL
        return paramiko.AUTH_FAILED

    def check_channel_request(self, kind, chanid):
        if kind == 'direct-tcpip':
            return paramiko.OPEN_SUCCEEDED
        return paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED

    def check_channel_direct_tcpip_request(self, chanid, origin, destination):
        return paramiko.OPEN_SUCCEEDED


def serve_conn(conn, a, host_key, allowed):
    t = paramiko.Transport(conn)
    t.add_server_key(host_key)
    srv = Server(allowed)
    dests = {}

    orig = Server.check_channel_direct_tcpip_request

    def remember(self, chanid, origin, destination):
        dests[chanid] = destination
        return orig(self, chanid, origin, destination)
    srv.check_channel_direct_tcpip_request = remember.__get__(srv)
    try:
        t.start_server(server=srv)
    except (paramiko.SSHException, EOFError) as e:
        say('LOST', f'handshake: {e}')
        return
    while t.is_active():
        ch = t.accept(0.2)
        if ch is None:
            continue

        def handle(ch=ch):
            dest = dests.get(ch.get_id())
            try:
                s = socket.create_connection(dest, timeout=IO_TIMEOUT)
            except (OSError, TypeError):
                ch.close()
                return
            s.settimeout(None)
            pump(ch, s)
            if a.late and wait_unlinked(t, ch):
                send_late(t, ch.remote_chanid)
                say('LATE', ch.remote_chanid)
        threading.Thread(target=handle, daemon=True).start()
    say('LOST', 'connection closed')


def server(a):
    host_key = load_key(a.host_key)
    allowed = set()
    with open(a.authorized) as f:
        for ln in f:
            w = ln.split()
            if len(w) >= 2:
                allowed.add((w[0], w[1]))
    ls = socket.socket()
    ls.bind(('127.0.0.1', 0))
    ls.listen(16)
    say('LISTENING', ls.getsockname()[1])

    def accept_loop():
        while True:
            c, _ = ls.accept()
            threading.Thread(target=serve_conn, args=(c, a, host_key, allowed),
                             daemon=True).start()
    threading.Thread(target=accept_loop, daemon=True).start()
    try:
        while sys.stdin.buffer.read(4096):
            pass
    except OSError:
        pass


def main():
    p = argparse.ArgumentParser()
    p.add_argument('mode', choices=['client', 'late', 'server'])
    p.add_argument('--port', type=int)
    p.add_argument('--host-pub')
    p.add_argument('--host-key')
    p.add_argument('--authorized')
    p.add_argument('--key')
    p.add_argument('--user', default='ferrytest')
    p.add_argument('--cipher')
    p.add_argument('--rekey-bytes', type=int)
    p.add_argument('--target')
    p.add_argument('--size', type=int, default=1 << 20)
    p.add_argument('--late', action='store_true')
    p.add_argument('-L', dest='local', action='append', default=[])
    p.add_argument('-R', dest='remote', action='append', default=[])
    a = p.parse_args()
    logging.basicConfig(stream=sys.stderr, level=logging.DEBUG,
                        format='%(asctime)s %(name)s %(message)s')
    {'client': client, 'late': late, 'server': server}[a.mode](a)


if __name__ == '__main__':
    main()
