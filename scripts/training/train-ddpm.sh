#!/bin/bash
# Issue 6: the class-conditional Fashion-MNIST DDPM on the 2-core CPU, in slices (MINUTES each, THREADS torch
# threads). A slice resumes the run in OUT when its resume state is there. A fresh run starts from scratch, or,
# with INIT_FROM=<checkpoint folder>, from that checkpoint's weights (how a later session continues the shipped
# model when the resume state was not kept: the card records the lineage and the total steps), e.g.
#   OUT=runs/ddpm-cont INIT_FROM=checkpoints/ddpm-fashion LR=5e-5 THREADS=1 MINUTES=100 scripts/training/train-ddpm.sh
cd "$(dirname "$0")/../.."
export OMP_NUM_THREADS=${THREADS:-2} PYTHONUNBUFFERED=1
out=${OUT:-checkpoints/ddpm-fashion}
. scripts/training/lib.sh
start=$(start_flags "$out" "$INIT_FROM") || exit 2
.venv/bin/python -m trainers train ddpm --out="$out" --n_classes=10 --lr=${LR:-4e-4} --epochs=100 \
  --max_minutes=${MINUTES:-90} --batch_size=64 --log_every=100 --sample_every=2000 --ckpt_every=500 --monitor_n=250 $start
