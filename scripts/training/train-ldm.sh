#!/bin/bash
# Issue 7: the three pretrained parts of the text-to-image model, in order, on ONE torch thread of the
# 2-core CPU: the small CLIP, the KL autoencoder, then the latent U-Net on top of both (frozen).
# Each stage resumes if its resume state is here; STAGES picks a subset (e.g. STAGES="ldm").
# The U-Net stage writes to LDM_OUT (default: the shipped folder); a fresh LDM_OUT with INIT_FROM=<pipeline folder>
# starts from that pipeline's U-Net weights (a new run with the lineage in its card, as train-ddpm.sh does).
cd "$(dirname "$0")/../.."
export OMP_NUM_THREADS=${THREADS:-1} PYTHONUNBUFFERED=1
. scripts/training/lib.sh
run() { out=$1; family=$2; shift 2; init=""; [ "$family" = latent_diffusion ] && init=$INIT_FROM
        start=$(start_flags "$out" "$init") || exit 2
        .venv/bin/python -m trainers train "$family" --out="$out" "$@" $start; }
for stage in ${STAGES:-clip vae ldm}; do case $stage in
  clip) run checkpoints/clip-fashion-captions clip --steps=1500 --decay_steps=1500 --batch_size=128 \
          --max_minutes=${CLIP_MIN:-22} --log_every=50 --ckpt_every=250 ;;
  vae)  run checkpoints/autoencoder-kl-fashion-captions autoencoder_kl --epochs=3 --batch_size=64 \
          --max_minutes=${VAE_MIN:-15} --log_every=50 --sample_every=500 --ckpt_every=250 ;;
  ldm)  run "${LDM_OUT:-checkpoints/ldm-fashion-captions}" latent_diffusion --clip=checkpoints/clip-fashion-captions \
          --vae=checkpoints/autoencoder-kl-fashion-captions --epochs=${LDM_EPOCHS:-20} --batch_size=64 \
          --max_minutes=${LDM_MIN:-60} --log_every=50 --sample_every=1000 --ckpt_every=250 --monitor_n=0 ;;
esac; done
