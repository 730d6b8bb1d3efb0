#!/usr/bin/env bash
# Install (if needed), then run the store demo on the bundled H&M data: build the indexes,
# evaluate, write the report, and serve the API + web page on http://127.0.0.1:8000
# (pass --no-serve to stop after the report).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
. .venv/bin/activate
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
exec shelfwise demo "$@"
