"""OpenSSH's ssh-agent for the integration tests: started by the test on a
socket of its own (`ssh-agent -D -a SOCK`), loaded with ssh-add, listed
with ssh-add -l, and stopped at teardown. Every wait is bounded.

Fixture
  agent    factory: agent() -> a started Agent, stopped at teardown; its
           socket goes into lab.env as SSH_AUTH_SOCK unless env=False
"""

import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

import ferrylab as fl

SSH_AGENT = os.environ.get('FERRY_TEST_SSH_AGENT', '/usr/bin/ssh-agent')
SSH_ADD = os.environ.get('FERRY_TEST_SSH_ADD', '/usr/bin/ssh-add')
START_TIMEOUT = 5.0


class Agent:
    """One ssh-agent; its socket lives in a short directory of /tmp (a
    Unix socket path has at most 107 bytes, pytest's are longer)."""

    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix='ferry-agent-', dir='/tmp'))
        self.sock = self.dir / 'agent.sock'
        self.log_path = self.dir / 'agent.log'
        with open(self.log_path, 'ab') as log:
            self.proc = subprocess.Popen([SSH_AGENT, '-D', '-a', str(self.sock)],
                                         stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                         start_new_session=True)
        end = time.monotonic() + START_TIMEOUT
        while not self.sock.is_socket():
            if self.proc.poll() is not None or time.monotonic() > end:
                self.close()
                raise AssertionError(f'ssh-agent did not create {self.sock}: '
                                     f'{self.log_path.read_text(errors="replace")}')
            time.sleep(0.01)

    def ssh_add(self, *args):
        """Runs ssh-add with args against this agent; returns its output."""
        env = dict(os.environ, SSH_AUTH_SOCK=str(self.sock))
        env.pop('DISPLAY', None)
        env.pop('SSH_ASKPASS', None)
        r = subprocess.run([SSH_ADD, *[str(a) for a in args]], env=env,
                           stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           timeout=30)
        assert r.returncode == 0, f'ssh-add {args}: {r.stdout}{r.stderr}'
        return r.stdout + r.stderr

    def add(self, *paths):
        """ssh-add of key files (with their -cert.pub when beside them)."""
        return self.ssh_add(*paths)

    def add_key_only(self, *paths):
        """The plain keys, not their certificates (ssh-add -k)."""
        return self.ssh_add('-k', *paths)

    def delete_key_only(self, pub):
        """Removes the plain key of pub and leaves its certificate."""
        return self.ssh_add('-k', '-d', pub)

    def types(self):
        """The identities as ssh-add -l names their types, in the agent's
        order: ['ED25519', 'ED25519-CERT', ...]."""
        out = self.ssh_add('-l')
        return [ln.rsplit('(', 1)[1].rstrip(')') for ln in out.splitlines() if '(' in ln]

    def close(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def agent(lab):
    agents = []

    def make(env=True):
        a = Agent()
        agents.append(a)
        if env:
            lab.env['SSH_AUTH_SOCK'] = str(a.sock)
        return a

    yield make
    lab.stop_clients()
    for a in agents:
        a.close()


def keygen(path, alg='ed25519', comment=None):
    """A new key at path, no passphrase, its comment the file name."""
    args = {'ed25519': ['-t', 'ed25519'], 'ecdsa': ['-t', 'ecdsa', '-b', '256'],
            'rsa': ['-t', 'rsa', '-b', '2048'], 'rsa1024': ['-t', 'rsa', '-b', '1024']}[alg]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    r = subprocess.run([fl.SSH_KEYGEN, '-q', *args, '-N', '', '-C', comment or path.name,
                        '-f', str(path)], stdin=subprocess.DEVNULL, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, f'ssh-keygen {path}: {r.stderr}'
    return path


def certify(key, ca, *, principal=fl.USER, validity='+1h', key_id=None):
    """key-cert.pub beside key, signed by ca (ssh-keygen -s)."""
    r = subprocess.run([fl.SSH_KEYGEN, '-q', '-s', str(ca), '-I', key_id or f'id-{Path(key).name}',
                        '-n', principal, '-V', validity, f'{key}.pub'],
                       stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, f'ssh-keygen -s for {key}: {r.stderr}'
    return Path(f'{key}-cert.pub')
