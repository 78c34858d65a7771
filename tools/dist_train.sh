#!/usr/bin/env bash
# Distributed training through torchrun: bash tools/dist_train.sh CONFIG GPUS [args...]
# Uses NCCL on GPUs and gloo on CPU-only machines (the config's env_cfg.dist_cfg
# backend is switched by mmvid_memory when CUDA is unavailable).
CONFIG=$1
GPUS=$2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}
PYTHON=${PYTHON:-python}
ROOT="$(cd "$(dirname "$0")/.." && pwd)"

PYTHONPATH="$ROOT:$PYTHONPATH" \
"$PYTHON" -m torch.distributed.run \
    --nnodes=$NNODES --node_rank=$NODE_RANK --master_addr=$MASTER_ADDR \
    --nproc_per_node=$GPUS --master_port=$PORT \
    "$ROOT/tools/train.py" $CONFIG --launcher pytorch ${@:3}
