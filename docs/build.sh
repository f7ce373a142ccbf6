#!/usr/bin/env bash
# Build the docs into docs/_build/html. Warnings, broken references and failing notebook cells
# are errors. Extra arguments go to sphinx-build (e.g. -j 2, or -b linkcheck where online).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-.venv/bin/python}"
export PYTHONPATH="src${PYTHONPATH:+:$PYTHONPATH}"
exec "$PYTHON" -m sphinx -E -W --keep-going -n -b html "$@" docs docs/_build/html
