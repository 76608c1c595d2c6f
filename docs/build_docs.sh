#!/usr/bin/env bash
# Build the documentation as CI does: offline, warnings as errors, the gallery
# examples at a reduced size (SKLEARN_ECG_DOCS_FAST=1), then check that every
# example page states its size and that its conclusions hold in its own
# output (docs/check_examples.py). Run from anywhere; extra arguments go to
# sphinx (e.g. -j 2). Full size: SKLEARN_ECG_DOCS_FAST=0.
set -euo pipefail
cd "$(dirname "$0")/.."
export SKLEARN_ECG_DOCS_FAST="${SKLEARN_ECG_DOCS_FAST:-1}"
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
echo "docs built in $(( $(date +%s) - start )) s: docs/_build/html/index.html"
