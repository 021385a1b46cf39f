#!/usr/bin/env bash
# Sets up, builds and runs the loopback demo (needs nothing else; root).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
FERRY_NO_ASAN=1 bash scripts/build.sh
exec /usr/bin/python3 scripts/demo.py
