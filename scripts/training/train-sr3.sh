#!/bin/bash
# Issue 24: SR3 (a DDPM conditioned on bicubic(I_LR) by concatenation), x4 (8 -> 32 px), fine-tuned from the shipped
# ddpm-fashion U-Net (the condition's input channels start at zero). Re-running adds --resume. Then it is evaluated
# on the same 1000 held-out images as the SRGAN models (50 DDIM steps, seed 0).
cd "$(dirname "$0")/../.."
export PYTHONUNBUFFERED=1
name=sr3-x4-fashion; resume=""; [ -f "checkpoints/$name/train_state.pt" ] && resume="--resume"
.venv/bin/python -m trainers train sr3 --out="checkpoints/$name" --init_from=checkpoints/ddpm-fashion --scale=4 \
  --lr=1e-4 --batch_size=64 --epochs=20 --max_minutes=${MINUTES:-55} --sample_every=500 --ckpt_every=250 \
  --monitor_n=0 --log_every=50 $resume
.venv/bin/python -m trainers evaluate "checkpoints/$name" --n 1000 --seed 0
