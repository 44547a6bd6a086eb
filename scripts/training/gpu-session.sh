#!/bin/bash
# Train shipped checkpoints on a lent GPU machine (the `device` tool), inside one call's 10 minutes.
#   here, once:  mkdir -p .data && cp /usr/share/datasets/fashion-mnist/*.gz .data/ && echo /.data/ >> .git/info/exclude
#   device call: run(command="bash scripts/training/gpu-session.sh ddpm", carry=[".data"], timeout_s=600)
#                run(command="bash scripts/training/gpu-session.sh translation", carry=[".data"], timeout_s=600)
#   then, here:  for t in <files_at>/*.tar; do tar -xf "$t" -C checkpoints; done; python -m trainers evaluate ...
# Each finished checkpoint comes back as $OUT/<name>.tar (weights fp16, card, log, snapshots; no resume state).
set -euo pipefail
cd "$(dirname "$0")/../.."
export PYTHONUNBUFFERED=1
plan=${1:?usage: gpu-session.sh ddpm|translation}
common="--data_dir=.data --device=cuda --num_workers=4"
train() { name=$1; family=$2; shift 2; python3 -m trainers train "$family" --out="checkpoints/$name" $common "$@"; \
          tar -cf "$OUT/$name.tar" --exclude=train_state.pt -C checkpoints "$name"; }
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
case "$plan" in
  ddpm)  # class-conditional DDPM with guidance, batch 128, 8 minutes
    train ddpm-fashion ddpm --n_classes=10 --lr=4e-4 --epochs=200 --max_minutes=8 --batch_size=128 \
      --log_every=100 --sample_every=2000 --ckpt_every=2000 --monitor_n=1000 ;;
  translation)  # two Pix2Pix pairings and one CycleGAN, about 3 minutes each
    train pix2pix-edges-fashion pix2pix --pairing=edges --epochs=100 --max_minutes=2.5 --batch_size=64 \
      --log_every=100 --sample_every=1000 --ckpt_every=2000
    train pix2pix-silhouette-fashion pix2pix --pairing=silhouette --epochs=100 --max_minutes=2.5 --batch_size=64 \
      --log_every=100 --sample_every=1000 --ckpt_every=2000
    train cyclegan-sneaker-boot-fashion cyclegan --epochs=100 --max_minutes=3.5 --batch_size=16 \
      --log_every=100 --sample_every=1000 --ckpt_every=2000 ;;
  *) echo "unknown plan $plan"; exit 2 ;;
esac
ls -la "$OUT"
