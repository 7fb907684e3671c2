#!/usr/bin/env bash
# Create (or reuse) the project's virtual environment in .venv and install mmwsss
# with the pinned OpenMMLab stack. Safe to run again: it only does what is missing.
#
# CPU machines: torch 2.13.0 (CPU build) and mmcv 2.1.0 built from source with its
# ops (about 20 minutes the first time; pip caches the wheel, later runs take a
# minute). GPU machines: install torch and a prebuilt mmcv first (see README), then
# run this script with MMWSSS_VENV pointing at that environment.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${MMWSSS_VENV:-.venv}
PY=${PYTHON:-python3}
STAMP="$VENV/.mmwsss-installed"
want=$(cat pyproject.toml tools/setup_env.sh | sha256sum | cut -c1-16)

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
    exit 0
fi

if [ ! -x "$VENV/bin/python" ]; then
    echo "[setup] creating virtual environment in $VENV"
    "$PY" -m venv "$VENV"
fi
pip() { "$VENV/bin/python" -m pip "$@"; }

if ! "$VENV/bin/python" -c "import torch" 2>/dev/null; then
    echo "[setup] installing torch 2.13.0"
    pip install -q torch==2.13.0
fi
if ! "$VENV/bin/python" -c "import mmcv.ops" 2>/dev/null; then
    echo "[setup] installing mmcv 2.1.0 with ops (a source build the first time: ~20 min on 2 cores)"
    pip install -q "setuptools<70" wheel ninja numpy
    MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-2} pip install -q --no-build-isolation mmcv==2.1.0
fi
echo "[setup] installing mmwsss and its dependencies"
pip install -q -e ".[tests]"
echo "$want" > "$STAMP"
echo "[setup] done: $VENV"
