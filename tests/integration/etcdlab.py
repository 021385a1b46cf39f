"""A real etcd cluster on 127.0.0.1 for the fleet tests, and the driver of
ferry's etcd client (tests/tools/etcdtool.c).

EtcdCluster   three (or n) members of Debian's etcd-server 3.4 with their own
              data directories; etcd needs its ports on the command line, so
              they are picked by bind-0-and-close and the whole cluster is
              started again on fresh ports (at most 3 times) if a member could
              not bind. Readiness is `etcdctl endpoint health` on every member.
              leader() asks `etcdctl endpoint status`; kill() is SIGKILL;
              restart() starts killed members again on their data and ports.
KeyWatch      `etcdctl watch KEY` in the background: when a key went.
EtcdTool      one `ferry-etcdtool` process: send a command, get its JSON answer;
              the notes of watches and lease keepers are collected by tag.
Pki           a CA and certificates made with the openssl CLI (server ones for
              IP:127.0.0.1, client ones); EtcdCluster(tls=pki) serves its
              clients over https:// with --client-cert-auth (peers stay on
              http://) and etcdctl then presents pki's client certificate.

Environment: FERRY_ETCDTOOL_BIN (default <build dir of FERRY_BIN>/tests/tools/
ferry-etcdtool), FERRY_TEST_ETCD, FERRY_TEST_ETCDCTL (default /usr/bin/etcd,
/usr/bin/etcdctl). A missing binary fails the test: it is an install or build
failure, not a skip.
"""

import base64
import json
import os
import queue
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import ferrylab as fl
from ferrylab import Deadline, LOCALHOST

ETCD = os.environ.get('FERRY_TEST_ETCD', '/usr/bin/etcd')
ETCDCTL = os.environ.get('FERRY_TEST_ETCDCTL', '/usr/bin/etcdctl')
START_TIMEOUT = 30.0
CTL_TIMEOUT = 15.0


def require(path, what):
    if not (Path(path).is_file() and os.access(path, os.X_OK)):
        raise AssertionError(f'{what} not found at {path} (scripts/setup.sh installs it); '
                             f'this is an install failure, not a skip')
    return path


def etcdtool_bin():
    v = os.environ.get('FERRY_ETCDTOOL_BIN')
    b = Path(v) if v else fl.ferry_bin().parent / 'tests' / 'tools' / 'ferry-etcdtool'
    return require(str(b), 'ferry-etcdtool (built with ferry: ninja -C BUILDDIR)')


def free_ports(n):
    """n distinct ports the kernel handed out and that are free again now
    (another process may take one before etcd binds it: the caller retries)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((LOCALHOST, 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


class Pki:
    """Certificates for TLS to etcd, made with the openssl CLI in dir: a CA
    per name (ca()), and leaves it signs (leaf()): P-256 keys, valid for
    two days unless days says otherwise (negative: expired)."""

    def __init__(self, workdir):
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.cas = {}
        self.server = self.client = None

    def _openssl(self, *args):
        p = subprocess.run(['openssl', *map(str, args)], stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=60)
        if p.returncode != 0:
            raise AssertionError(f'openssl {" ".join(map(str, args))} failed: {p.stderr}')

    def ca(self, name='ca'):
        """(cert, key) of the CA called name, made the first time."""
        if name not in self.cas:
            cert, key = self.dir / f'{name}.pem', self.dir / f'{name}.key'
            self._openssl('req', '-x509', '-new', '-newkey', 'ec', '-pkeyopt',
                          'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key,
                          '-out', cert, '-days', 2, '-subj', f'/CN=ferry test {name}')
            self.cas[name] = (cert, key)
        return self.cas[name]

    def leaf(self, name, ca='ca', server=False, ip=LOCALHOST, days=2):
        """(cert, key) signed by ca: a server certificate for ip (also good
        for client auth: etcd's gateway dials etcd with it), else a client
        one."""
        ca_cert, ca_key = self.ca(ca)
        cert, key, csr = (self.dir / f'{name}.pem', self.dir / f'{name}.key',
                          self.dir / f'{name}.csr')
        ext = self.dir / f'{name}.ext'
        lines = ['basicConstraints=CA:FALSE', 'keyUsage=critical,digitalSignature',
                 'extendedKeyUsage=' + ('serverAuth,clientAuth' if server else 'clientAuth')]
        if server:
            lines.append(f'subjectAltName=IP:{ip}')
        ext.write_text('\n'.join(lines) + '\n')
        self._openssl('req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
                      '-nodes', '-keyout', key, '-out', csr, '-subj', f'/CN=ferry test {name}')
        # OpenSSL 3.0's x509 has no -not_after: -days -1 ends it a day
        # before it starts
        self._openssl('x509', '-req', '-in', csr, '-CA', ca_cert, '-CAkey', ca_key,
                      '-set_serial', str(int.from_bytes(os.urandom(8), 'big')), '-out', cert,
                      '-extfile', ext, '-days', days)
        return cert, key

    def standard(self):
        """The CA, etcd's server certificate and a client one: self."""
        self.server = self.leaf('etcd-server', server=True)
        self.client = self.leaf('client')
        return self

    def ctl_args(self):
        return ['--cacert', str(self.ca()[0]), '--cert', str(self.client[0]),
                '--key', str(self.client[1])]


def etcdctl(endpoints, *args, timeout=CTL_TIMEOUT, check=True, tls=None):
    """etcdctl (API 3) against a comma list of client URLs (tls: a Pki whose
    client certificate it presents); its stdout."""
    env = dict(os.environ, ETCDCTL_API='3')
    p = subprocess.run([require(ETCDCTL, 'etcdctl'), '--endpoints', endpoints,
                        *(tls.ctl_args() if tls else []),
                        '--dial-timeout', '3s', '--command-timeout', '5s', *args],
                       env=env, capture_output=True, text=True, timeout=timeout)
    if check and p.returncode != 0:
        raise AssertionError(f'etcdctl {" ".join(args)} failed ({p.returncode}): '
                             f'{p.stderr.strip()}')
    return p.stdout


class Member:
    def __init__(self, name, client_port, peer_port, workdir, tls=False):
        self.name = name
        self.client_url = f'{"https" if tls else "http"}://{LOCALHOST}:{client_port}'
        self.peer_url = f'http://{LOCALHOST}:{peer_port}'
        self.data_dir = workdir / f'{name}.etcd'
        self.log_path = workdir / f'{name}.log'
        self.proc = None
        self.member_id = None

    def alive(self):
        return self.proc is not None and self.proc.poll() is None


class EtcdCluster:
    def __init__(self, workdir, n=3, tls=None):
        self.workdir = Path(workdir)
        self.n = n
        self.tls = tls
        self.members = []
        self._start_with_retries()

    def _start_with_retries(self):
        last = None
        for attempt in range(3):
            try:
                self._start(attempt)
                return
            except PortTaken as e:
                last = e
                self._kill_all()
        raise AssertionError(f'etcd cluster did not start after 3 tries: {last}')

    def _start(self, attempt):
        ports = free_ports(2 * self.n)
        self.members = [Member(f'm{i}', ports[2 * i], ports[2 * i + 1], self.workdir,
                               tls=self.tls is not None) for i in range(self.n)]
        self.initial = ','.join(f'{m.name}={m.peer_url}' for m in self.members)
        self.token = f'ferry-test-{os.getpid()}-{time.monotonic_ns()}'
        for m in self.members:
            self._spawn(m)
        self._wait_healthy(f'try {attempt + 1}')
        for st in self.status():
            for m in self.members:
                if m.client_url == st['Endpoint']:
                    m.member_id = st['Status']['header']['member_id']

    def _wait_healthy(self, what):
        """Until every member answers `endpoint health` (START_TIMEOUT)."""
        d = Deadline(START_TIMEOUT, 'etcd cluster health')
        while True:
            for m in self.members:
                if not m.alive():
                    text = m.log_path.read_text(errors='replace')
                    if 'address already in use' in text:
                        raise PortTaken(f'{m.name}: a port was taken ({what})')
                    raise AssertionError(f'etcd {m.name} exited {m.proc.returncode}:\n'
                                         f'{text[-3000:]}')
            out = etcdctl(self.endpoints(), 'endpoint', 'health', '-w', 'json', check=False,
                          timeout=d.left(CTL_TIMEOUT), tls=self.tls)
            if out and self._all_healthy(out):
                return
            d.left()
            time.sleep(0.1)

    def _all_healthy(self, out):
        try:
            rows = json.loads(out)
        except ValueError:
            return False
        return len(rows) == self.n and all(r.get('health') for r in rows)

    def _spawn(self, m):
        argv = [require(ETCD, 'etcd'), '--name', m.name, '--data-dir', str(m.data_dir),
                '--listen-client-urls', m.client_url, '--advertise-client-urls', m.client_url,
                '--listen-peer-urls', m.peer_url, '--initial-advertise-peer-urls', m.peer_url,
                '--initial-cluster', self.initial, '--initial-cluster-token', self.token,
                '--initial-cluster-state', 'new', '--heartbeat-interval', '100',
                '--election-timeout', '1000', '--logger', 'zap', '--log-outputs', 'stderr']
        if self.tls is not None:
            argv += ['--cert-file', str(self.tls.server[0]), '--key-file',
                     str(self.tls.server[1]), '--trusted-ca-file', str(self.tls.ca()[0]),
                     '--client-cert-auth']
        with open(m.log_path, 'ab') as log:
            m.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                                      stderr=subprocess.STDOUT, start_new_session=True)

    def endpoints(self, members=None):
        return ','.join(m.client_url for m in (members or self.members))

    def alive_members(self):
        return [m for m in self.members if m.alive()]

    def status(self):
        """`etcdctl endpoint status` of the live members (JSON rows)."""
        out = etcdctl(self.endpoints(self.alive_members()), 'endpoint', 'status', '-w', 'json',
                      tls=self.tls)
        return json.loads(out)

    def leader(self, timeout=15.0):
        """The member the live ones agree leads (waits out an election)."""
        d = Deadline(timeout, 'etcd leader')
        while True:
            rows = self.status()
            leaders = {r['Status']['leader'] for r in rows}
            if len(leaders) == 1 and 0 not in leaders:
                lid = leaders.pop()
                for m in self.alive_members():
                    if m.member_id == lid:
                        return m
            d.left()
            time.sleep(0.1)

    def member(self, url):
        for m in self.members:
            if m.client_url == url:
                return m
        raise KeyError(url)

    def kill(self, m):
        if m.alive():
            m.proc.send_signal(signal.SIGKILL)
            m.proc.wait(timeout=10)

    def restart(self, members):
        """Start killed members again on their data directories and ports;
        returns once the whole cluster is healthy."""
        for m in members:
            assert not m.alive(), f'{m.name} is running'
            self._spawn(m)
        self._wait_healthy('restart')

    def watch(self, key):
        """`etcdctl watch key` running: a KeyWatch."""
        return KeyWatch(self.endpoints(self.alive_members()), key)

    def ctl(self, *args, **kw):
        """etcdctl against the live members."""
        return etcdctl(self.endpoints(self.alive_members()), *args, tls=self.tls, **kw)

    def get(self, key, prefix=False):
        """{key: value} as etcdctl sees it (an independent client)."""
        out = self.ctl('get', key, '-w', 'json', *(['--prefix'] if prefix else []))
        kvs = json.loads(out).get('kvs', [])
        return {base64.b64decode(kv['key']).decode(): base64.b64decode(kv.get('value', '')).decode()
                for kv in kvs}

    def _kill_all(self):
        for m in self.members:
            self.kill(m)

    def logs(self):
        return '\n'.join(f'--- {m.name}\n' + m.log_path.read_text(errors='replace')[-4000:]
                         for m in self.members if m.log_path.exists())

    def close(self):
        self._kill_all()


class KeyWatch:
    """`etcdctl watch KEY` in the background: when etcd said the key went
    (deleted(), monotonic time), as an independent witness of a lease's
    end."""

    def __init__(self, endpoints, key):
        env = dict(os.environ, ETCDCTL_API='3')
        self.proc = subprocess.Popen([require(ETCDCTL, 'etcdctl'), '--endpoints', endpoints,
                                      'watch', key], env=env, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     start_new_session=True)
        self.events = []            # (monotonic time, 'PUT' or 'DELETE')
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for raw in self.proc.stdout:
            word = raw.decode(errors='replace').strip()
            if word in ('PUT', 'DELETE'):
                self.events.append((time.monotonic(), word))

    def deleted(self, timeout):
        """When the first DELETE was seen, or None after timeout s."""
        fl.wait_until(lambda: any(w == 'DELETE' for _, w in self.events), timeout)
        return next((t for t, w in self.events if w == 'DELETE'), None)

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)
        self.reader.join(5)


class PortTaken(Exception):
    pass


class EtcdTool:
    """ferry-etcdtool on a comma list of member URLs."""

    def __init__(self, workdir, urls, attempt_ms=1000, call_ms=15000, tls_args=()):
        self.log_path = Path(workdir) / 'etcdtool.log'
        self.lines = queue.Queue()
        self.notes = {}
        self.answers = {}
        self.seq = 0
        self.lock = threading.Lock()
        argv = [etcdtool_bin(), '-v', '-a', str(attempt_ms), '-c', str(call_ms),
                *map(str, tls_args), 'etcd:' + ','.join(urls)]
        self.log = open(self.log_path, 'ab')
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.log, start_new_session=True)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self.ready = self._wait(lambda o: o.get('ready') == 'yes', 10, 'ready line')

    def _read(self):
        for raw in self.proc.stdout:
            try:
                self.lines.put(json.loads(raw))
            except ValueError:
                self.lines.put({'unparsed': raw.decode(errors='replace')})
        self.lines.put(None)

    def _take(self, timeout):
        o = self.lines.get(timeout=timeout)
        if o is None:
            raise AssertionError(f'ferry-etcdtool exited ({self.proc.poll()}):\n'
                                 f'{self.log_text()}')
        tag = o.get('tag')
        if tag is not None and ('note' in o or 'lease' in o):
            self.notes.setdefault(tag, []).append(o)
        elif tag is not None:
            self.answers[tag] = o
        return o

    def _wait(self, pred, timeout, what):
        d = Deadline(timeout, what)
        while True:
            try:
                o = self._take(d.left())
            except queue.Empty:
                raise TimeoutError(f'{what}: nothing within {timeout:g}s\n{self.log_text()}')
            if pred(o):
                return o

    def pump(self, seconds):
        """Collect notes for a while (bounded)."""
        d = Deadline(seconds)
        while not d.expired():
            try:
                self._take(max(0.01, d.remaining()))
            except queue.Empty:
                pass

    def call(self, *words, timeout=30.0):
        """Send one command; its answer (a dict)."""
        self.seq += 1
        tag = f't{self.seq}'
        self.proc.stdin.write((' '.join([tag, *map(str, words)]) + '\n').encode())
        self.proc.stdin.flush()
        if tag in self.answers:
            return self.answers.pop(tag)
        return self._wait(lambda o: o.get('tag') == tag and 'status' in o and
                          'note' not in o and 'lease' not in o, timeout, f'answer to {words}')

    def wait_note(self, tag, pred, timeout, what='note'):
        """The first note of tag (past or coming) for which pred holds."""
        for o in self.notes.get(tag, []):
            if pred(o):
                return o
        return self._wait(lambda o: o.get('tag') == tag and ('note' in o or 'lease' in o)
                          and pred(o), timeout, what)

    def log_text(self):
        self.log.flush()
        return self.log_path.read_text(errors='replace')[-6000:]

    def close(self):
        """Quit, and check the tool closed cleanly (exit 0, no sanitizer
        report)."""
        problems = []
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write(b'q quit\n')
                self.proc.stdin.close()
            except OSError:
                pass
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
                problems.append('ferry-etcdtool did not exit within 15 s of quit')
        if self.proc.returncode != 0 and not problems:
            problems.append(f'ferry-etcdtool exited {self.proc.returncode}')
        self.log.close()
        text = self.log_path.read_text(errors='replace')
        if fl.SANITIZER_RE.search(text):
            problems.append('sanitizer report in ferry-etcdtool\'s log')
        if problems:
            problems.append(text[-6000:])
        return problems


class EtcdLab:
    """A test's cluster and tools; diagnostics() for conftest's failure
    report, close() kills everything and says what went wrong."""

    def __init__(self, workdir, n=3, tls=None):
        self.workdir = Path(workdir)
        self.cluster = EtcdCluster(self.workdir, n, tls=tls)
        self.tools = []

    def tool(self, urls=None, **kw):
        """ferry-etcdtool on the members (tls_args=[-A CA -E CERT -K KEY])."""
        t = EtcdTool(self.workdir, urls or [m.client_url for m in self.cluster.members], **kw)
        self.tools.append(t)
        return t

    def diagnostics(self):
        out = [('etcd members', self.cluster.logs())]
        out += [('ferry-etcdtool', t.log_text()) for t in self.tools]
        return out

    def close(self):
        problems = []
        for t in self.tools:
            problems += t.close()
        self.cluster.close()
        return problems
