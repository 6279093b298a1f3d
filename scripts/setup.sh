#!/usr/bin/env bash
# Create .venv (Python 3.11+) and install SF Benefits with its pinned dependencies.
#   ./scripts/setup.sh        what a user needs (the runtime dependencies)
#   ./scripts/setup.sh test   also the test tools (pytest, ruff, mypy, Playwright, ...)
# Nothing is installed when .venv already holds what pyproject.toml asks for.
set -euo pipefail
cd "$(dirname "$0")/.."
EXTRAS=${1:-}
PYTHON=${PYTHON:-python3}
"$PYTHON" - <<'PY' || { echo "SF Benefits needs Python 3.11 or newer (set PYTHON=...)" >&2; exit 1; }
import sys
sys.exit(0 if sys.version_info >= (3, 11) else 1)
PY
if [ ! -x .venv/bin/python ]; then
  echo "Creating .venv" >&2
  "$PYTHON" -m venv .venv
fi
# .venv/installed holds the hash of pyproject.toml and the extras of the last good install
# (an install with the test extras also serves the runtime).
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ -f .venv/installed ] && read -r have have_extras < .venv/installed \
    && [ "$have" = "$want" ] && { [ -z "$EXTRAS" ] || [ "$have_extras" = "$EXTRAS" ]; }; then
  exit 0
fi
echo "Installing SF Benefits${EXTRAS:+ with its $EXTRAS tools} into .venv" \
  "(about a minute the first time; log in .venv/install.log)" >&2
rm -f .venv/installed
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip \
  > .venv/install.log 2>&1 || { cat .venv/install.log >&2; exit 1; }
count=0
if ! .venv/bin/python -m pip install --disable-pip-version-check -e ".${EXTRAS:+[$EXTRAS]}" 2>&1 \
    | tee -a .venv/install.log | while IFS= read -r line; do
        case "$line" in
          Collecting*) count=$((count + 1)); printf '\r  %d packages resolved' "$count" >&2 ;;
          "Installing collected packages"*) printf '\n  installing them...\n' >&2 ;;
          "Successfully installed"*) echo "  done" >&2 ;;
        esac
      done; then
  echo >&2
  grep -v "^WARNING: Location" .venv/install.log | tail -20 >&2
  echo "Installation failed: the whole log is in .venv/install.log" >&2
  exit 1
fi
echo "$want ${EXTRAS}" > .venv/installed
