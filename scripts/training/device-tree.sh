#!/bin/bash
# The device tool sends the working tree (tracked and untracked-not-ignored files, plus `carry`) and refuses one
# over 64 MiB. With every checkpoint (~75 MB tracked) and the Fashion-MNIST files (.data, 31 MB) that is too much,
# so before a device call take the checkpoints the plan does not read out of what travels, and put them back after:
#   scripts/training/device-tree.sh keep ddpm-fashion fashion-classifier   # the others leave the index (files stay)
#   ... run(command="bash scripts/training/gpu-session.sh ddpm", carry=[".data"]) ...
#   scripts/training/device-tree.sh restore                               # index and .git/info/exclude as before
# Nothing is deleted: "keep" unstages the other checkpoint folders (git rm --cached) and ignores them in
# .git/info/exclude between marker lines; "restore" re-stages them from HEAD and drops the marker lines.
# Do not commit between the two (the commit would delete those checkpoints); "keep" refuses a dirty index.
set -euo pipefail
cd "$(dirname "$0")/../.."
exclude=$(git rev-parse --git-path info/exclude)
begin="# device-tree.sh: begin"; end="# device-tree.sh: end"
case "${1:-}" in
  keep)
    shift; [ $# -gt 0 ] || { echo "usage: device-tree.sh keep NAME... | restore"; exit 2; }
    grep -qF "$begin" "$exclude" 2>/dev/null && { echo "already slimmed: run device-tree.sh restore first"; exit 1; }
    git diff --cached --quiet || { echo "the index has staged changes: commit or unstage them first"; exit 1; }
    keep=" "; for n in "$@"; do n=${n%/}; n=${n#checkpoints/}
      [ -d "checkpoints/$n" ] || { echo "no checkpoints/$n"; exit 1; }; keep="$keep$n "; done
    block="$begin"; gone=()
    for d in checkpoints/*/; do
      n=$(basename "$d")
      case "$keep" in *" $n "*) continue ;; esac
      block="$block"$'\n'"/checkpoints/$n/"; gone+=("checkpoints/$n")
    done
    printf '%s\n%s\n' "$block" "$end" >> "$exclude"  # the whole block at once: restore finds both markers
    git rm -r -q --cached --ignore-unmatch "${gone[@]}"
    echo "travels: $(git ls-files -z --cached --others --exclude-standard | xargs -0 du -cb 2>/dev/null | tail -1 | cut -f1) bytes (+ carry)" ;;
  restore)
    grep -qF "$begin" "$exclude" 2>/dev/null || { echo "nothing to restore (keep was not run)"; exit 0; }
    sed -i "/^$begin\$/,/^$end\$/d" "$exclude"
    git reset -q HEAD -- checkpoints
    git status --short -- checkpoints ;;
  *) echo "usage: device-tree.sh keep NAME... | restore"; exit 2 ;;
esac
