#!/usr/bin/env bash
# README command 1: set up (or check) .venv, then run the end-to-end demo
# (tools/demo.py: teacher, student, distilled student on the embedded set).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
bash "$ROOT/tools/setup_env.sh"
cd "$ROOT"
exec .venv/bin/python tools/demo.py "$@"
