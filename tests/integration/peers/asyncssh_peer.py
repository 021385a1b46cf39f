#!/usr/bin/python3
"""asyncssh (Debian's python3-asyncssh) as a real peer for ferry's tests.

  asyncssh_peer.py server --host-key FILE --authorized FILE [--cipher C]
                   [--rekey-bytes N]
      an SSH server on 127.0.0.1, port chosen by the kernel; prints
      "LISTENING <port>". It allows direct-tcpip (-L, -D) and tcpip-forward
      (-R; asyncssh 2.10 names port 0 in forwarded-tcpip for a port-0
      forward, see README "Other SSH stacks"). Prints "AUTH <user> <cipher>"
      once a client is in and "LOST <reason>" when a connection ends.

  asyncssh_peer.py client --port P --host-pub 'ALG BASE64' --key FILE
                   [--user U] [--cipher C] [--rekey-bytes N]
                   [-L HOST:PORT]... [-R BIND:PORT:HOST:PORT]... [--socks]
      connects to 127.0.0.1:P trusting only that host key, sets up the
      forwards and prints "CIPHER <send> <recv>", "LOCAL <i> <port>",
      "REMOTE <i> <port>", "SOCKS <port>", then "READY". Exits 3 with
      "LOST <reason>" when the connection ends.

Both run until SIGTERM (or stdin closing). --debug-level 1 logs asyncssh's
key exchanges ("Requesting key exchange", "Completed key exchange") on
stderr; the tests count them.
"""

import argparse
import asyncio
import logging
import sys
import warnings

warnings.simplefilter('ignore')          # cryptography's deprecation chatter
import asyncssh  # noqa: E402


def say(*words):
    print(*words, flush=True)


def options_common(a):
    kw = {}
    if a.cipher:
        kw['encryption_algs'] = [a.cipher]
    if a.rekey_bytes:
        kw['rekey_bytes'] = a.rekey_bytes
    return kw


class Server(asyncssh.SSHServer):
    def connection_made(self, conn):
        self.conn = conn

    def connection_lost(self, exc):
        say('LOST', repr(exc) if exc else 'clean')

    def begin_auth(self, username):
        return True

    def auth_completed(self):
        say('AUTH', self.conn.get_extra_info('username'),
            self.conn.get_extra_info('send_cipher'))

    def connection_requested(self, dest_host, dest_port, orig_host, orig_port):
        return True

    def server_requested(self, listen_host, listen_port):
        return True


async def stdin_closed():
    loop = asyncio.get_running_loop()
    done = loop.create_future()

    def readable():
        try:
            data = sys.stdin.buffer.raw.read(4096)
        except OSError:
            data = b''
        if not data and not done.done():
            done.set_result(None)
    loop.add_reader(sys.stdin.fileno(), readable)
    await done


async def server(a):
    srv = await asyncssh.listen(
        '127.0.0.1', 0, server_factory=Server, server_host_keys=[a.host_key],
        authorized_client_keys=a.authorized, allow_scp=False,
        **options_common(a))
    say('LISTENING', srv.sockets[0].getsockname()[1])
    await stdin_closed()


async def client(a):
    host_key = asyncssh.import_public_key(a.host_pub)
    conn = await asyncssh.connect(
        '127.0.0.1', a.port, username=a.user, client_keys=[a.key],
        known_hosts=([host_key], [], []), agent_path=None, config=[],
        **options_common(a))
    say('CIPHER', conn.get_extra_info('send_cipher'),
        conn.get_extra_info('recv_cipher'))
    keep = []
    for i, spec in enumerate(a.local):
        host, port = spec.rsplit(':', 1)
        ln = await conn.forward_local_port('127.0.0.1', 0, host, int(port))
        keep.append(ln)
        say('LOCAL', i, ln.get_port())
    for i, spec in enumerate(a.remote):
        bind, lport, host, port = spec.split(':')
        ln = await conn.forward_remote_port(bind, int(lport), host, int(port))
        keep.append(ln)
        say('REMOTE', i, ln.get_port())
    if a.socks:
        ln = await conn.forward_socks('127.0.0.1', 0)
        keep.append(ln)
        say('SOCKS', ln.get_port())
    say('READY')
    closed = asyncio.ensure_future(conn.wait_closed())
    eof = asyncio.ensure_future(stdin_closed())
    await asyncio.wait([closed, eof], return_when=asyncio.FIRST_COMPLETED)
    if closed.done():
        say('LOST', 'connection closed')
        sys.exit(3)
    conn.close()


def main():
    p = argparse.ArgumentParser()
    p.add_argument('mode', choices=['server', 'client'])
    p.add_argument('--host-key')
    p.add_argument('--authorized')
    p.add_argument('--port', type=int)
    p.add_argument('--host-pub')
    p.add_argument('--key')
    p.add_argument('--user', default='ferrytest')
    p.add_argument('--cipher')
    p.add_argument('--rekey-bytes', type=int)
    p.add_argument('--debug-level', type=int, default=1)
    p.add_argument('-L', dest='local', action='append', default=[])
    p.add_argument('-R', dest='remote', action='append', default=[])
    p.add_argument('--socks', action='store_true')
    a = p.parse_args()
    logging.basicConfig(stream=sys.stderr, level=logging.DEBUG,
                        format='%(asctime)s %(name)s %(message)s')
    asyncssh.set_log_level(logging.DEBUG)
    asyncssh.set_debug_level(a.debug_level)
    try:
        asyncio.run(server(a) if a.mode == 'server' else client(a))
    except (asyncssh.Error, OSError) as e:
        say('ERROR', type(e).__name__, e)
        sys.exit(2)


if __name__ == '__main__':
    main()
