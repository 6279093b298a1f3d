#!/usr/bin/env bash
# One command: set up and run the checks and the whole test suite.
# PostgreSQL tests run when SF_BENEFITS_TEST_POSTGRES_URL is set (CI sets it); browser tests run
# when /usr/bin/chromium exists; tests on the real data run when SF_BENEFITS_SOURCE_DIR or
# ../shared/data exists. Every skipped group is listed, with its reason, at the end of the run;
# with CI=true (as .ci/run sets) a skip is a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh test
.venv/bin/ruff check src tests benchmarks
.venv/bin/mypy src
.venv/bin/pytest "$@"
