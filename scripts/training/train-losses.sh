#!/bin/bash
# Issue 3: the loss comparison at an equal budget: 20 minutes each on 1 torch thread,
# two runs side by side (one per core), each loss with its paper's optimiser settings.
cd "$(dirname "$0")/../.."
export OMP_NUM_THREADS=1
common="--epochs=40 --max_minutes=20 --batch_size=64 --log_every=200 --sample_every=938 --ckpt_every=938"
run() { name=$1; shift; .venv/bin/python -m trainers train gan --out=checkpoints/$name "$@" $common > runs/$name.log 2>&1; }
run dcgan-ns-20min-fashion --loss=non-saturating &
run dcgan-wgangp-20min-fashion --loss=wgan-gp --n_critic=5 --lr_g=1e-4 --lr_d=1e-4 --beta1=0.0 --beta2=0.9 &
wait
run dcgan-lsgan-20min-fashion --loss=lsgan &
run dcgan-hinge-20min-fashion --loss=hinge &
wait
