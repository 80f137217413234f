#!/usr/bin/env bash
# The meta-learning evaluation on drifting_family (learned optimizer vs tuned Adam),
# through `cohort meta train`, then `cohort sweep` + `cohort report`:
#   1. tune Adam on 32 training variants: lr {0.2, 0.3, 0.5, 0.7} x {constant, linear}
#      (256 lifetimes; the best must be the one in scenarios/sweeps/meta_eval_drifting.json)
#   2. meta-train the learned rule with 3 seeds (scenarios/meta/drifting_optimizer.json,
#      1,920 lifetimes each)
#   3. evaluate every rule and tuned Adam on 64 test variants x 2 seeds, each lifetime a
#      `cohort run` training cell (60 steps, evaluated at 20, 40, 60), paired by
#      (variant, seed): docs/meta_drifting/
# Resumable: every step keeps what is done. Run from anywhere; works in the repo root.
# Usage: meta_table.sh [RUNS_DIR]   (default runs/)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-runs}
[ -x build/cohort ] || { cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release && cmake --build build; }
meta=scenarios/meta/drifting_optimizer.json
mkdir -p "$runs"

tuning="$runs/meta_drifting_adam_grid.txt"
if [ ! -s "$tuning" ]; then
  for schedule in constant linear; do
    for lr in 0.2 0.3 0.5 0.7; do
      area=$(./build/cohort meta eval "$meta" --rule adam --split train --variants 32 --seeds 1 \
               --set rule.lr=$lr --set rule.schedule=$schedule 2>&1 >/dev/null | sed -n 's/.* area \([0-9.-]*\),.*/\1/p')
      echo "$area $schedule $lr"
    done
  done | sort -rn > "$tuning.partial"
  mv "$tuning.partial" "$tuning"
fi
echo "Adam grid on 32 training variants (area schedule lr):"; cat "$tuning"
read -r _ best_schedule best_lr < "$tuning"
grep -q "\"lr\": $best_lr, \"schedule\": \"$best_schedule\"" scenarios/sweeps/meta_eval_drifting.json || {
  echo "the tuned Adam ($best_schedule, lr $best_lr) is not the baseline in scenarios/sweeps/meta_eval_drifting.json" >&2
  exit 1
}

for seed in 0 1 2; do
  ./build/cohort meta train "$meta" --set es.seed=$seed --set es.init_seed=$seed \
    --out "$runs/meta_drifting_seed$seed" --quiet
done

out="$runs/meta_eval_drifting"
./build/cohort sweep scenarios/sweeps/meta_eval_drifting.json --out "$out"
./build/cohort report "$out"
mkdir -p docs/meta_drifting
cp "$out/results.md" "$out/results.csv" "$tuning" docs/meta_drifting/
rm -rf docs/meta_drifting/plots && cp -r "$out/plots" docs/meta_drifting/plots
echo "table: docs/meta_drifting/results.md"
