#!/usr/bin/env bash
# One command on a fresh machine: set up .venv and start the service on its embedded defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bootstrap.sh
exec .venv/bin/audio-service demo "$@"
