#!/usr/bin/python3
"""ferry's loopback demo, the story ferry started from: expose a local web
service on a server's port with a remote tunnel, and see where the server
binds it and why.

It starts ferryd (a host key is generated on first start), a small web
service, and `ferry -R` from the "laptop" side; then fetches a page and a
16 MiB file through the server's port, checked by SHA-256. Everything is on
127.0.0.1 with kernel-chosen ports and is stopped at the end."""
import getpass
import hashlib
import http.server
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.environ.get("FERRY_BUILD", os.path.join(ROOT, "build"))
FERRY = os.path.join(BUILD, "ferry")
FERRYD = os.path.join(BUILD, "ferryd")
PAYLOAD = os.urandom(16 * 1024 * 1024)


def say(msg):
    print("demo: " + msg, flush=True)


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = PAYLOAD if self.path == "/blob" else \
            b"hello from the laptop's web service\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class Proc:
    """A child whose stderr is collected by a thread, with bounded waits."""

    def __init__(self, argv):
        self.p = subprocess.Popen(argv, stderr=subprocess.PIPE, text=True)
        self.lines = []
        self.cond = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.p.stderr:
            with self.cond:
                self.lines.append(line.rstrip())
                self.cond.notify_all()

    def wait_for(self, regex, timeout=20):
        rx = re.compile(regex)
        end = time.time() + timeout
        with self.cond:
            while time.time() < end:
                for line in self.lines:
                    m = rx.search(line)
                    if m:
                        return m
                self.cond.wait(0.2)
        sys.exit("demo: timed out waiting for %r; output so far:\n%s"
                 % (regex, "\n".join(self.lines)))

    def stop(self):
        if self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.p.kill()


def fetch(port, path):
    out = subprocess.run(["curl", "-s", "--max-time", "60",
                          "http://127.0.0.1:%d%s" % (port, path)],
                         capture_output=True, timeout=90)
    return out.stdout


def main():
    for b in (FERRY, FERRYD):
        if not os.path.exists(b):
            sys.exit("demo: %s is missing: build first (scripts/build.sh)" % b)
    tmp = tempfile.mkdtemp(prefix="ferry-demo-")
    procs = []
    try:
        user = getpass.getuser()
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C",
                        "laptop", "-f", os.path.join(tmp, "laptop_key")],
                       check=True)
        keys = os.path.join(tmp, "authorized_keys")
        shutil.copy(os.path.join(tmp, "laptop_key.pub"), keys)
        cfg = os.path.join(tmp, "ferryd_config")
        with open(cfg, "w") as f:
            f.write("ListenAddress 127.0.0.1\nPort 0\n"
                    "AuthorizedKeysFile %s\nStateDirectory %s/state\n"
                    "GatewayPorts no\nLogLevel INFO\n" % (keys, tmp))
        say("server side: ferryd with GatewayPorts no (sshd's default)")
        ferryd = Proc([FERRYD, "-D", "-e", "-f", cfg])
        procs.append(ferryd)
        m = ferryd.wait_for(r"Server listening on 127\.0\.0\.1 port (\d+)")
        ssh_port = int(m.group(1))
        fp = ferryd.wait_for(r"generated host key .*: (ssh-ed25519 \S+)")
        say("ferryd listens on 127.0.0.1:%d, new host key %s"
            % (ssh_port, fp.group(1)))

        web = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=web.serve_forever, daemon=True).start()
        web_port = web.server_address[1]
        say("laptop side: a web service on 127.0.0.1:%d" % web_port)

        kh = os.path.join(tmp, "known_hosts")
        hostkey = subprocess.run(["ssh-keygen", "-y", "-f", os.path.join(
            tmp, "state", "ssh_host_ed25519_key")], capture_output=True,
            text=True, check=True).stdout.strip()
        with open(kh, "w") as f:
            f.write("[127.0.0.1]:%d %s\n" % (ssh_port, hostkey))
        # The seed's question: ask for every address on the server.
        cmd = [FERRY, "-N", "-i", os.path.join(tmp, "laptop_key"),
               "-o", "UserKnownHostsFile=" + kh,
               "-o", "StrictHostKeyChecking=yes", "-o", "ExitOnForwardFailure=yes",
               "-p", str(ssh_port), "-l", user,
               "-R", "0.0.0.0:0:127.0.0.1:%d" % web_port, "127.0.0.1"]
        say("running: " + " ".join(cmd))
        ferry = Proc(cmd)
        procs.append(ferry)
        m = ferry.wait_for(r"Allocated port (\d+) for remote forward")
        port = int(m.group(1))
        why = ferryd.wait_for(r"Forwarding (.*)")
        say("ferry: " + m.group(0))
        say("ferryd says: " + why.group(0))
        say("(the client asked for 0.0.0.0, but GatewayPorts no keeps it on "
            "loopback; GatewayPorts clientspecified would honour it)")

        page = fetch(port, "/").decode(errors="replace").strip()
        say("GET http://127.0.0.1:%d/ on the server: %s" % (port, page))
        t = time.time()
        blob = fetch(port, "/blob")
        dt = time.time() - t
        want = hashlib.sha256(PAYLOAD).hexdigest()
        got = hashlib.sha256(blob).hexdigest()
        say("GET /blob: %d bytes in %.2fs, sha256 %s... (%s)" % (
            len(blob), dt, got[:16], "matches" if got == want else "MISMATCH"))
        if got != want or "hello" not in page:
            sys.exit(1)
        say("done: the laptop's service was served on the server's port "
            "through ferry's tunnel")
    finally:
        for p in reversed(procs):
            p.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
