#!/usr/bin/env bash
# Meta-training scaling over MPI ranks: the demo meta file (or META) for GENERATIONS
# generations with 1 thread per rank, for each rank count in RANKS; prints seconds per
# generation (mean of progress.jsonl's "seconds", validation excluded) and checks that
# every rank count gives the same rule.json as 1 rank (bit-identical).
# Usage: bench/meta_mpi.sh [META [GENERATIONS [RANKS...]]]   (from the repository root)
set -euo pipefail
meta=${1:-scenarios/meta/drifting_optimizer.json}
generations=${2:-4}
shift $(( $# > 2 ? 2 : $# )) || true
ranks=("$@")
[ ${#ranks[@]} -gt 0 ] || ranks=(1 2)
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for n in "${ranks[@]}"; do
  out="$work/np$n"
  start=$(date +%s.%N)
  mpirun -np "$n" --oversubscribe ./build/cohort meta train "$meta" --out "$out" --quiet \
    --set threads=1 --set es.generations="$generations" --set validation.every=1000000 > /dev/null
  end=$(date +%s.%N)
  per_gen=$(python3 -c "
import json,sys
s=[json.loads(l)['seconds'] for l in open('$out/progress.jsonl') if json.loads(l)['kind']=='generation']
print(f'{sum(s)/len(s):.2f}')")
  same=$(cmp -s "$work/np${ranks[0]}/rule.json" "$out/rule.json" && echo yes || echo NO)
  echo "ranks $n: ${per_gen} s/generation, wall $(python3 -c "print(f'{$end-$start:.1f}')") s, rule.json equal to ${ranks[0]} rank(s): $same"
done
