#!/usr/bin/env bash
# One command: set up, load the published data into the embedded store, benchmark one LA.
#   ./scripts/quickstart.sh [LA]        (default LA: Warrington)
set -euo pipefail
cd "$(dirname "$0")/.."
LA=${1:-Warrington}
./scripts/setup.sh
SOURCE=${SF_BENEFITS_SOURCE_DIR:-../shared/data}
.venv/bin/sf-benefits data load --from "$SOURCE"
slug=$(echo "$LA" | tr '[:upper:] ' '[:lower:]-')
.venv/bin/sf-benefits benchmark --la "$LA"
.venv/bin/sf-benefits benchmark --la "$LA" --format xlsx --out "out/${slug}-benchmark.xlsx" \
  --chart "out/${slug}-benchmark.html"
echo "Benchmark workbook and chart for $LA are in out/"
echo "Run sf-benefits yourself: source .venv/bin/activate, then sf-benefits --help" \
  "(or call .venv/bin/sf-benefits without activating)"
