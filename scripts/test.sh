#!/usr/bin/env bash
# Install (if needed), then lint, type-check and run the fast test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
. .venv/bin/activate
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
ruff check src tests bench
mypy
python -m pytest "$@"
