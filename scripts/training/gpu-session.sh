#!/bin/bash
# Train shipped checkpoints on a lent GPU machine (the `device` tool), inside one call's 10 minutes.
#   here, once:  mkdir -p .data && cp /usr/share/datasets/fashion-mnist/*.gz .data/ && echo /.data/ >> .git/info/exclude
#                for ldm also diffusers (the device has torch, transformers, accelerate, safetensors):
#                echo /.whl/ >> .git/info/exclude; python3 -m pip download --no-deps --only-binary=:all: \
#                  --python-version 3.12 --implementation cp -d .whl diffusers==0.42.1
#   each call:   scripts/training/device-tree.sh keep <the checkpoints it reads> before, ... restore after (the tree
#                that travels must stay under 64 MiB: all checkpoints plus .data are over it). ddpm reads ddpm-fashion and
#                fashion-classifier; ldm ldm-fashion-captions, clip-fashion-captions and autoencoder-kl-fashion-captions (its --clip/--vae
#                folders: ~56 MiB with .data and .whl); translation none.
#   device call: run(command="bash scripts/training/gpu-session.sh ddpm", carry=[".data"], timeout_s=600)
#                run(command="bash scripts/training/gpu-session.sh ldm", carry=[".data", ".whl"], timeout_s=600)
#                run(command="bash scripts/training/gpu-session.sh translation", carry=[".data"], timeout_s=600)
#   then, here:  for t in <files_at>/*.tar; do tar -xf "$t" -C runs; done; python -m trainers evaluate runs/<name> ...
#                and, if better, move runs/<name> over checkpoints/<name> (the card keeps the lineage).
# ddpm and ldm continue the shipped weights (--init_from: a new run, fresh optimiser); translation starts afresh.
# Each finished run comes back as $OUT/<name>.tar (weights, card, log, snapshots; no resume state).
# DEVICE=cpu MINUTES=0.2 OUT=/tmp/x runs a plan's commands on this machine for a dry run (ddpm's closing preview
# and monitor sample ~330 images: several minutes on this CPU).
set -euo pipefail
cd "$(dirname "$0")/../.."
export PYTHONUNBUFFERED=1
plan=${1:?usage: gpu-session.sh ddpm|ldm|translation}
device=${DEVICE:-cuda}
: "${OUT:?set OUT to the folder that comes back (the device tool sets it)}"; mkdir -p "$OUT"
py=$(command -v python3); [ -x .venv/bin/python ] && [ "$device" = cpu ] && py=.venv/bin/python
if [ "$py" = "$(command -v python3)" ] && [ -d .whl ] && ls .whl/*.whl >/dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
  export PYTHONPATH=/tmp/site
fi
if [ "$plan" = ldm ]; then "$py" -c "import diffusers" || { echo "diffusers does not import: carry .whl (see above)"; exit 3; }; fi
common="--data_dir=.data --device=$device --num_workers=4"
m() { echo "${MINUTES:-$1}"; }  # each run's minutes (MINUTES overrides them all, for a dry run)
train() { name=$1; family=$2; shift 2; mkdir -p runs; rm -rf "runs/$name"
          "$py" -m trainers train "$family" --out="runs/$name" $common "$@"
          tar -cf "$OUT/$name.tar" --exclude=train_state.pt -C runs "$name"; }
[ "$device" = cuda ] && nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
case "$plan" in
  ddpm)  # the shipped class-conditional DDPM, continued for 8.5 minutes (SEED: another data order; BATCH, LR)
    train ddpm-fashion ddpm --init_from=checkpoints/ddpm-fashion --seed="${SEED:-2}" --lr="${LR:-2e-4}" --ema_decay=0.9995 \
      --epochs=800 --max_minutes="$(m 8.5)" --batch_size="${BATCH:-256}" --log_every=100 --sample_every=2500 --ckpt_every=2500 \
      --monitor_n=1000 ;;
  ldm)  # the shipped latent U-Net on its frozen CLIP and autoencoder, continued at batch 256 for 8 minutes
    train ldm-fashion-captions latent_diffusion --init_from=checkpoints/ldm-fashion-captions --seed=2 --epochs=400 \
      --max_minutes="$(m 8)" --batch_size=256 --log_every=100 --sample_every=2000 --ckpt_every=1000 --monitor_n=0 ;;
  translation)  # two Pix2Pix pairings and one CycleGAN, about 3 minutes each
    train pix2pix-sketches-fashion pix2pix --pairing=sketches --epochs=100 --max_minutes="$(m 2.5)" --batch_size=64 \
      --log_every=100 --sample_every=1000 --ckpt_every=2000
    train pix2pix-silhouette-fashion pix2pix --pairing=silhouette --epochs=100 --max_minutes="$(m 2.5)" --batch_size=64 \
      --log_every=100 --sample_every=1000 --ckpt_every=2000
    train cyclegan-sneaker-boot-fashion cyclegan --epochs=100 --max_minutes="$(m 3.5)" --batch_size=16 \
      --log_every=100 --sample_every=1000 --ckpt_every=2000 ;;
  *) echo "unknown plan $plan"; exit 2 ;;
esac
ls -la "$OUT"
