# Sourced by the training scripts. start_flags OUT INIT_FROM prints how a slice starts: --resume when OUT holds a
# resume state, else --init_from=INIT_FROM --seed=${SEED:-1} when INIT_FROM is set (a new run from that checkpoint's
# weights; the card keeps the lineage), else nothing (from scratch). Refused (exit 2): both at once, and a fresh
# start over a folder that holds a model but no resume state (a shipped checkpoint: continue it with INIT_FROM
# into another folder, or delete the folder to retrain from scratch).
start_flags() {
  local out=$1 init=$2
  if [ -f "$out/train_state.pt" ]; then
    if [ -n "$init" ]; then echo "$out already holds a run to resume; for INIT_FROM=$init pick a fresh folder" >&2; return 2; fi
    echo "--resume"
  elif [ -n "$init" ]; then
    echo "--init_from=$init --seed=${SEED:-1}"
  elif [ -f "$out/model.safetensors" ]; then
    echo "$out holds a model without a resume state: continue it with OUT=<new folder> INIT_FROM=$out, or delete it to retrain from scratch" >&2
    return 2
  fi
}
