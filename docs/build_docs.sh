#!/usr/bin/env bash
# Build the documentation as CI does: offline, warnings as errors, the gallery
# examples at a reduced size (SKLEARN_ECG_DOCS_FAST=1). Run from anywhere;
# extra arguments go to sphinx (e.g. -j 2). Full size: SKLEARN_ECG_DOCS_FAST=0.
set -euo pipefail
cd "$(dirname "$0")/.."
export SKLEARN_ECG_DOCS_FAST="${SKLEARN_ECG_DOCS_FAST:-1}"
export MPLBACKEND=Agg
start=$(date +%s)
python -m sphinx -W --keep-going -b html "$@" docs docs/_build/html
echo "docs built in $(( $(date +%s) - start )) s: docs/_build/html/index.html"
