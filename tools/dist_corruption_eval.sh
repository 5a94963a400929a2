#!/usr/bin/env bash
# Distributed COCO-C / Cityscapes-C / ImageNet-C evaluation with torchrun:
#   tools/dist_corruption_eval.sh CONFIG CHECKPOINT GPUS [ARGS of corruption_eval.py]
# Multi-node: set NNODES, NODE_RANK, MASTER_ADDR (and PORT) on every node.
# On machines without GPUs GPUS is the number of CPU processes (gloo).
CONFIG=$1
CHECKPOINT=$2
GPUS=$3
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
source "$ROOT/tools/find_python.sh"  # sets PYTHON

PYTHONPATH="$ROOT:$PYTHONPATH" \
"$PYTHON" -m torch.distributed.run \
    --nnodes="$NNODES" \
    --node_rank="$NODE_RANK" \
    --master_addr="$MASTER_ADDR" \
    --nproc_per_node="$GPUS" \
    --master_port="$PORT" \
    "$ROOT/tools/corruption_eval.py" \
    "$CONFIG" "$CHECKPOINT" \
    --launcher pytorch "${@:4}"
