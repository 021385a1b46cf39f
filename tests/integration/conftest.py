"""pytest wiring for ferry's integration tests (harness lives in ferrylab.py).

Fixtures
  keys     session: host and user keys (ssh-keygen)
  lab      per test: a ferrylab.Lab that owns sshds, targets and clients and
           kills them at teardown; on failure its logs are attached to the report
  client   'ferry' or 'ssh' (OpenSSH, validating the harness); pick with
           FERRY_TEST_CLIENTS=ferry,ssh (default both) or `-k ssh` / `-k ferry`

Environment
  FERRY_BIN            ferry binary (default <repo>/build/ferry). A missing binary
                       FAILS the ferry tests: it is a build bug, not a skip.
  FERRY_TEST_CLIENTS   comma list of client kinds to parametrize (default ferry,ssh)
  FERRY_TEST_TIMEOUT   per-test watchdog in seconds (default 150); pytest-timeout
                       is not available, so a SIGALRM in the main thread fails a
                       test that overruns (every wait is bounded anyway; this is
                       the backstop)
"""

import os
import signal

import pytest

import ferrylab

CLIENTS = [c.strip() for c in os.environ.get('FERRY_TEST_CLIENTS', 'ferry,ssh').split(',')
           if c.strip()]
for _c in CLIENTS:
    if _c not in ferrylab.CLIENT_KINDS:
        raise pytest.UsageError(f'FERRY_TEST_CLIENTS: unknown client {_c!r}')
WATCHDOG = float(os.environ.get('FERRY_TEST_TIMEOUT', '150'))


@pytest.fixture(scope='session')
def keys(tmp_path_factory):
    return ferrylab.KeySet(tmp_path_factory.mktemp('keys'))


@pytest.fixture(params=CLIENTS)
def client(request):
    return request.param


@pytest.fixture
def lab(request, tmp_path, keys):
    lab = ferrylab.Lab(tmp_path, keys)
    request.node._ferrylab = lab
    yield lab
    problems = lab.close()
    if problems:
        pytest.fail('teardown found problems:\n' + '\n'.join(problems), pytrace=False)


class WatchdogTimeout(Exception):
    pass


def pytest_configure(config):
    config.addinivalue_line('markers', 'watchdog(seconds): a longer watchdog for a test '
                            'that builds something (its own commands are bounded too)')


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    m = item.get_closest_marker('watchdog')
    limit = max(WATCHDOG, float(m.args[0])) if m else WATCHDOG

    def on_alarm(signum, frame):
        raise WatchdogTimeout(f'test exceeded the {limit:g}s watchdog '
                              f'(FERRY_TEST_TIMEOUT)')
    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, limit)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    lab = getattr(item, '_ferrylab', None)
    if lab is not None and rep.failed:
        try:
            for title, text in lab.diagnostics():
                rep.sections.append((title, text or '(empty)'))
        except Exception as e:  # noqa: BLE001 - diagnostics must not mask the failure
            rep.sections.append(('ferrylab diagnostics failed', repr(e)))


def _harness_only(item):
    """A test in which no ferry or ferryd code runs: OpenSSH ssh as the
    client against OpenSSH sshd or Dropbear (it validates the harness and
    the expectations that ferry must meet)."""
    cs = getattr(item, 'callspec', None)
    if cs is None or cs.params.get('client') != 'ssh':
        return False
    if 'ferryd' not in item.fixturenames:
        return True
    return cs.params.get('server') in ('sshd', 'dropbear')


# Run once per scripts/test.sh, in its plain pass: the packages build from
# the tree, not from the binary under test.
ONCE_PER_RUN = {'test_debian_packages'}


def pytest_collection_modifyitems(config, items):
    """Under FERRY_SANITIZED=1 (scripts/test.sh's ASan+UBSan pass) the
    harness-only tests and ONCE_PER_RUN are deselected, by count in
    pytest's summary: they run in the plain pass, and a sanitizer has
    nothing to check in them."""
    if not os.environ.get('FERRY_SANITIZED'):
        return
    keep, drop = [], []
    for item in items:
        (drop if _harness_only(item) or item.originalname in ONCE_PER_RUN
         else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
