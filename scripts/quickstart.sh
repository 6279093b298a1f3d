#!/usr/bin/env bash
# One command: set up, load the published data into the embedded store, benchmark one LA.
#   ./scripts/quickstart.sh [LA]        (default LA: Warrington)
set -euo pipefail
cd "$(dirname "$0")/.."
LA=${1:-Warrington}
./scripts/setup.sh
SOURCE=${SF_BENEFITS_SOURCE_DIR:-../shared/data}
# Load again only when the published files, the readers or the store changed since the last load.
{ read -r store; read -r data_dir; } < <(.venv/bin/python -c \
  "from sf_benefits import config; print(config.database_url()); print(config.data_dir())")
marker="$data_dir/quickstart-load"
fingerprint=$({ echo "$store"; { find "$SOURCE" src/sf_benefits/ingest src/sf_benefits/store \
  -type f -printf '%p %s %T@\n' 2>/dev/null || true; } | sort; } | sha256sum | cut -d' ' -f1)
database=${store#sqlite:///}
if [ -d "$SOURCE" ] && [ -f "$marker" ] && [ "$(cat "$marker")" = "$fingerprint" ] \
    && { [ "$database" = "$store" ] || [ -f "$database" ]; }; then
  echo "The store already holds the data in $SOURCE (unchanged since the last load)"
else
  .venv/bin/sf-benefits data load --from "$SOURCE"
  echo "$fingerprint" > "$marker"
fi
slug=$(echo "$LA" | tr '[:upper:] ' '[:lower:]-')
.venv/bin/sf-benefits benchmark --la "$LA"
.venv/bin/sf-benefits benchmark --la "$LA" --format xlsx --out "out/${slug}-benchmark.xlsx" \
  --chart "out/${slug}-benchmark.html"
echo "Benchmark workbook and chart for $LA are in out/"
echo "Run sf-benefits yourself: source .venv/bin/activate, then sf-benefits --help" \
  "(or call .venv/bin/sf-benefits without activating)"
