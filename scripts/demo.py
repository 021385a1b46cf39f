#!/usr/bin/python3
"""ferry's loopback demo: a private OpenSSH server, a small web service
behind it, and `ferry -L` carrying a request and a 16 MiB download through
the tunnel. Everything listens on 127.0.0.1 with kernel-chosen ports and is
stopped at the end."""
import getpass
import hashlib
import http.server
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FERRY = os.environ.get("FERRY_BIN", os.path.join(ROOT, "build", "ferry"))
PAYLOAD = os.urandom(16 * 1024 * 1024)


def say(msg):
    print("demo: " + msg, flush=True)


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = PAYLOAD if self.path == "/blob" else \
            b"hello from the service behind the tunnel\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def sshd_inetd(tmp, cfg, stop):
    """Accepts on 127.0.0.1:0 and runs `sshd -i` per connection."""
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(8)
    lsock.settimeout(0.2)
    log = open(os.path.join(tmp, "sshd.log"), "ab")

    def loop():
        while not stop.is_set():
            try:
                conn, _ = lsock.accept()
            except socket.timeout:
                continue
            subprocess.Popen(["/usr/sbin/sshd", "-i", "-e", "-f", cfg],
                             stdin=conn, stdout=conn, stderr=log)
            conn.close()
        lsock.close()
    threading.Thread(target=loop, daemon=True).start()
    return lsock.getsockname()[1]


def main():
    if not os.path.exists(FERRY):
        sys.exit("demo: %s is missing: build first (scripts/build.sh)" % FERRY)
    tmp = tempfile.mkdtemp(prefix="ferry-demo-")
    stop = threading.Event()
    ferry = None
    try:
        for name in ("host_key", "user_key"):
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "",
                            "-f", os.path.join(tmp, name)], check=True)
        shutil.copy(os.path.join(tmp, "user_key.pub"),
                    os.path.join(tmp, "authorized_keys"))
        cfg = os.path.join(tmp, "sshd_config")
        with open(cfg, "w") as f:
            f.write("HostKey %s/host_key\nAuthorizedKeysFile %s/authorized_keys\n"
                    "PidFile none\nUsePAM no\nStrictModes no\n"
                    "PermitRootLogin prohibit-password\nAllowTcpForwarding yes\n"
                    "LogLevel VERBOSE\n" % (tmp, tmp))
        os.makedirs("/run/sshd", exist_ok=True)
        ssh_port = sshd_inetd(tmp, cfg, stop)
        say("OpenSSH sshd (inetd mode) listening on 127.0.0.1:%d" % ssh_port)

        web = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=web.serve_forever, daemon=True).start()
        web_port = web.server_address[1]
        say("web service on 127.0.0.1:%d, the tunnel's target"
            % web_port)

        with open(os.path.join(tmp, "known_hosts"), "w") as f:
            f.write("[127.0.0.1]:%d %s" % (ssh_port, open(
                os.path.join(tmp, "host_key.pub")).read()))
        cmd = [FERRY, "-N", "-i", os.path.join(tmp, "user_key"),
               "-o", "UserKnownHostsFile=" + os.path.join(tmp, "known_hosts"),
               "-o", "StrictHostKeyChecking=yes", "-o", "ExitOnForwardFailure=yes",
               "-p", str(ssh_port), "-l", getpass.getuser(),
               "-L", "0:127.0.0.1:%d" % web_port, "127.0.0.1"]
        say("running: " + " ".join(cmd))
        ferry = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 20
        port = None
        while time.time() < deadline:
            line = ferry.stderr.readline()
            if not line:
                break
            print("ferry: " + line.rstrip())
            m = re.match(r"Allocated port (\d+) for local forward", line)
            if m:
                port = int(m.group(1))
                break
        if port is None:
            sys.exit("demo: ferry did not open the forward (exit %s)"
                     % ferry.poll())
        say("tunnel up: 127.0.0.1:%d -> ssh -> 127.0.0.1:%d" % (port, web_port))

        out = subprocess.run(["curl", "-s", "http://127.0.0.1:%d/" % port],
                             capture_output=True, text=True, timeout=20)
        say("GET / through the tunnel: " + out.stdout.strip())
        t = time.time()
        blob = subprocess.run(["curl", "-s", "http://127.0.0.1:%d/blob" % port],
                              capture_output=True, timeout=60).stdout
        dt = time.time() - t
        want = hashlib.sha256(PAYLOAD).hexdigest()
        got = hashlib.sha256(blob).hexdigest()
        say("GET /blob: %d bytes in %.2fs, sha256 %s (%s)" % (
            len(blob), dt, got[:16], "matches" if got == want else "MISMATCH"))
        if got != want or "hello" not in out.stdout:
            sys.exit(1)
        say("done: the service was reached through ferry's tunnel")
    finally:
        if ferry is not None:
            ferry.terminate()
            ferry.wait(timeout=10)
        stop.set()
        time.sleep(0.3)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
