#!/usr/bin/env bash
# Sets up, builds and runs every test: unit tests (plain and ASan+UBSan),
# the integration suite against real OpenSSH and Dropbear (plain and
# ASan+UBSan; ferryd's multi-loop tests under ThreadSanitizer too), the
# fuzz targets for a short while, and quick benchmark smoke runs (ferry vs
# ssh, ferryd vs sshd, ferryd with and without a fleet registry).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
bash scripts/build.sh

echo "== unit tests"
meson test -C build --print-errorlogs
echo "== unit tests (ASan+UBSan)"
meson test -C build-asan --print-errorlogs

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
echo "== integration tests"
FERRY_BIN="$PWD/build/ferry" /usr/bin/pytest -q -p no:cacheprovider tests/integration
# (FERRY_SANITIZED deselects, by count, the tests where only OpenSSH runs)
echo "== integration tests (ASan+UBSan)"
FERRY_BIN="$PWD/build-asan/ferry" FERRY_SANITIZED=1 /usr/bin/pytest -q -p no:cacheprovider tests/integration

# ferryd's event loops under ThreadSanitizer: the tests that drive several
# loops at once (sessions spread, reclaim across loops, reload and stop
# while busy, status while traffic runs, the fleet's claims answered
# from loop 0)
echo "== integration tests (ThreadSanitizer, several event loops)"
TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$PWD/tests/tsan.supp" FERRY_BIN="$PWD/build-tsan/ferry" \
	FERRY_SANITIZED=1 /usr/bin/pytest -q -p no:cacheprovider \
	tests/integration/test_ferryd_loops.py tests/integration/test_reclaim.py \
	tests/integration/test_ferryd_status.py tests/integration/test_fleet.py

echo "== fuzz targets (${FUZZ_SECONDS:-10}s each)"
bash tests/fuzz/run.sh "${FUZZ_SECONDS:-10}"

echo "== benchmark smoke runs"
FERRY_BIN="$PWD/build/ferry" /usr/bin/python3 bench/bench.py --quick
/usr/bin/python3 bench/bench_server.py --quick
FERRY_BIN="$PWD/build/ferry" /usr/bin/python3 bench/bench_pair.py --quick
FERRY_BIN="$PWD/build/ferry" /usr/bin/python3 bench/bench_fleet.py --quick
