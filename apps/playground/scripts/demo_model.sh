#!/bin/sh
# Rebuilds public/models/demo/, the model the page opens with: stage 2 of `iv2 demo --seed 0` (stage 1 pixel
# reconstruction of a teacher and distillation of the student, then VTC + VTM + MLM for 1000 steps of 64 clips),
# i.e. its stage-2 checkpoint and the stage2_manifest.json `iv2 demo` writes beside it. Needs the CLI built
# (pnpm --filter @iv2/cli build); about 8 min on two idle cores. Usage: sh scripts/demo_model.sh [run folder]
set -eu
cd "$(dirname "$0")/.."
dir=${1:-$(mktemp -d)}
node ../cli/dist/main.js demo --dir "$dir" --seed 0 --quiet
ckpt=$(ls -d "$dir"/stage2/checkpoints/step-* | tail -n 1)
if [ ! -f "$ckpt/stage2_manifest.json" ]; then
  echo "$ckpt has no stage2_manifest.json: this iv2 demo does not write the manifest yet" >&2
  exit 1
fi
mkdir -p public/models/demo
cp "$ckpt/model.safetensors" "$ckpt/stage2_manifest.json" public/models/demo/
echo "public/models/demo/ ← $ckpt"
