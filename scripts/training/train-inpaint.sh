#!/bin/bash
# Issue 24: latent inpainting (a StableDiffusionInpaintPipeline folder), fine-tuned from ldm-fashion-captions' U-Net
# with the hole's five input channels at zero (as Stable Diffusion's inpainting model grew from Stable Diffusion).
# Re-running adds --resume. Then it is evaluated on 500 held-out large garments per hole shape.
cd "$(dirname "$0")/../.."
export PYTHONUNBUFFERED=1 OMP_NUM_THREADS=${THREADS:-1}
name=ldm-inpaint-fashion-captions; resume=""; [ -f "checkpoints/$name/train_state.pt" ] && resume="--resume"
.venv/bin/python -m trainers train ldm_inpaint --out="checkpoints/$name" --init_from=checkpoints/ldm-fashion-captions \
  --lr=1e-4 --batch_size=64 --epochs=20 --max_minutes=${MINUTES:-45} --sample_every=100000 --ckpt_every=250 \
  --monitor_n=0 --log_every=25 $resume
.venv/bin/python -m trainers evaluate "checkpoints/$name" --n 500 --seed 0
