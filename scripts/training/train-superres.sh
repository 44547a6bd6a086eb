#!/bin/bash
# Issue 24: super-resolution, x4 (8 -> 32 px) and x2 (16 -> 32 px), in the paper's two stages: SRResNet on the
# pixel loss alone, then SRGAN from it with the classifier-feature and adversarial terms. The two scales run side
# by side, one torch thread each; re-running a stage adds --resume. Then each SRGAN is evaluated beside bicubic and
# ILVR (the shipped DDPM, no training) on the same 1000 held-out images.
cd "$(dirname "$0")/../.."
export OMP_NUM_THREADS=1 PYTHONUNBUFFERED=1
run() { name=$1; shift; resume=""; [ -f "checkpoints/$name/train_state.pt" ] && resume="--resume"
        .venv/bin/python -m trainers train srgan --out="checkpoints/$name" "$@" $resume; }
common="--batch_size=32 --epochs=10 --sample_every=500 --ckpt_every=500 --monitor_n=0"
for s in 4 2; do (
  run srresnet-x$s-fashion --scale=$s --lambda_adv=0 --lambda_content=0 --max_minutes=${RESNET_MIN:-12} $common
  # --init_from carries the parent's config: the two terms are turned back on here
  run srgan-x$s-fashion --init_from=checkpoints/srresnet-x$s-fashion --lambda_adv=0.005 --lambda_content=1 \
    --max_minutes=${GAN_MIN:-45} $common
  for name in srresnet-x$s-fashion srgan-x$s-fashion; do
    .venv/bin/python -m trainers evaluate checkpoints/$name --n 1000 --diffusion checkpoints/ddpm-fashion
  done ) & done; wait
