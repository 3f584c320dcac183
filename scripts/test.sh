#!/usr/bin/env bash
# One command on a fresh machine: set up .venv with the test extras and run every check.
set -euo pipefail
cd "$(dirname "$0")/.."
EXTRAS=test source scripts/bootstrap.sh
.venv/bin/ruff format --check .
.venv/bin/ruff check .
.venv/bin/mypy
.venv/bin/pytest "$@"
