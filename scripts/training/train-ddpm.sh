#!/bin/bash
# Issue 6: the class-conditional Fashion-MNIST DDPM, in 90-minute slices on the 2-core CPU.
# The first slice starts the run; later slices add --resume (same command otherwise).
cd "$(dirname "$0")/../.."
resume=""
[ -f checkpoints/ddpm-fashion/train_state.pt ] && resume="--resume"
.venv/bin/python -m trainers train ddpm --out=checkpoints/ddpm-fashion --n_classes=10 --lr=4e-4 --epochs=100 \
  --max_minutes=90 --batch_size=64 --log_every=100 --sample_every=2000 --ckpt_every=500 --monitor_n=250 $resume
