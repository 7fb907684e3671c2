#!/usr/bin/env bash
# Distributed testing with torchrun (torch.distributed.run), one process per device.
#
# Usage: bash tools/dist_test.sh CONFIG CHECKPOINT NPROC [tools/test.py options...]
# Several nodes: run it on every node with the same NNODES / MASTER_ADDR / PORT and
# that node's NODE_RANK (see tools/dist_train.sh).
# PYTHON selects the interpreter (default: python, e.g. the active virtual env's).
set -euo pipefail

if [ $# -lt 3 ]; then
    echo "usage: $0 CONFIG CHECKPOINT NPROC [tools/test.py options...]" >&2
    exit 2
fi
CONFIG=$1
CHECKPOINT=$2
NPROC=$3
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-127.0.0.1}
PYTHON=${PYTHON:-python}

exec "$PYTHON" -m torch.distributed.run \
    --nnodes="$NNODES" \
    --node_rank="$NODE_RANK" \
    --master_addr="$MASTER_ADDR" \
    --master_port="$PORT" \
    --nproc_per_node="$NPROC" \
    "$(dirname "$0")/test.py" \
    "$CONFIG" \
    "$CHECKPOINT" \
    --launcher pytorch \
    "${@:4}"
