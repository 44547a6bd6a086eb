#!/bin/bash
# Issue 5: the two Pix2Pix pairings and the CycleGAN, one after another on ONE torch thread of the
# 2-core CPU (the other core stays free), each with a time budget; re-running adds --resume.
# Then: python -m trainers evaluate checkpoints/<name> for each.
cd "$(dirname "$0")/../.."
export OMP_NUM_THREADS=1 PYTHONUNBUFFERED=1
run() { name=$1; family=$2; shift 2; resume=""; [ -f "checkpoints/$name/train_state.pt" ] && resume="--resume"
        .venv/bin/python -m trainers train "$family" --out="checkpoints/$name" "$@" $resume; }
for stage in ${STAGES:-sketches silhouette cyclegan}; do case $stage in
  sketches) run pix2pix-sketches-fashion pix2pix --pairing=sketches --epochs=20 --max_minutes=${P2P_MIN:-110} --batch_size=64 \
  --log_every=100 --sample_every=1000 --ckpt_every=500 ;;
  silhouette) run pix2pix-silhouette-fashion pix2pix --pairing=silhouette --epochs=20 --max_minutes=${P2P_MIN:-25} --batch_size=64 \
  --log_every=100 --sample_every=1000 --ckpt_every=500 ;;
  cyclegan) run cyclegan-sneaker-boot-fashion cyclegan --epochs=20 --max_minutes=${CYC_MIN:-55} --batch_size=8 \
  --log_every=100 --sample_every=1000 --ckpt_every=500 ;;
esac; done
