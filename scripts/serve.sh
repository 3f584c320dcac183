#!/usr/bin/env bash
# One command on a fresh machine: set up .venv and start the HTTP service on its embedded defaults (http://127.0.0.1:8000).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bootstrap.sh
exec .venv/bin/audio-service serve "$@"
