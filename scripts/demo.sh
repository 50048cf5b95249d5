#!/usr/bin/env bash
# Installs frontdesk (serving dependencies only) into .venv and runs the demo on the embedded default.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
. .venv/bin/activate
python -m pip install -q --upgrade pip
python -m pip install -q -e .
frontdesk demo "$@"
