#!/usr/bin/env bash
# Installs frontdesk with its training and test extras into .venv and runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
. .venv/bin/activate
python -m pip install -q --upgrade pip
python -m pip install -q torch==2.13.0          # CPU build from local disk; must come first
python -m pip install -q -e ".[train,dev]"
ruff check .
ruff format --check .
mypy
python -m pytest -q "$@"
