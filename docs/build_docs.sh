#!/usr/bin/env bash
# Build the documentation as CI does: offline, warnings as errors, every
# gallery example trained as written (full size), then check that every
# example ran at full size and that the conclusions its text draws hold in
# its own run (docs/check_examples.py). Run from anywhere; extra arguments go
# to sphinx (e.g. -j 2).
#
# SKLEARN_ECG_DOCS_FAST=1 builds a reduced gallery for quick local work
# (fewer records and epochs): every page of that build says so in a banner,
# and it is never the site users read.
set -euo pipefail
cd "$(dirname "$0")/.."
export SKLEARN_ECG_DOCS_FAST="${SKLEARN_ECG_DOCS_FAST:-0}"
export MPLBACKEND=Agg
start=$(date +%s)
# sphinx-gallery reruns only the examples whose files changed: after a build at
# the other size, start from scratch so that every page shows this size.
stamp=docs/auto_examples/.docs_fast
if [ -d docs/auto_examples ] && [ "$(cat "$stamp" 2>/dev/null)" != "$SKLEARN_ECG_DOCS_FAST" ]; then
    rm -rf docs/auto_examples docs/_build
fi
python -m sphinx -W --keep-going -b html "$@" docs docs/_build/html
echo "$SKLEARN_ECG_DOCS_FAST" > "$stamp"
python docs/check_examples.py
size=$([ "$SKLEARN_ECG_DOCS_FAST" = 1 ] && echo "reduced (local work only)" || echo "full")
echo "docs built at $size size in $(( $(date +%s) - start )) s: docs/_build/html/index.html"
