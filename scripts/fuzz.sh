#!/usr/bin/env bash
# Fuzzes Cohort's input loaders with libFuzzer (docs/hardening.md): builds the
# fuzz targets with clang in build-fuzz/ and runs TARGET for SECONDS.
#
#   scripts/fuzz.sh [TARGET] [SECONDS]
#
# TARGET: scenario, sweep, meta, set, checkpoint or all (the default: each in
# turn, SECONDS each). SECONDS: default 600. What a run finds is kept:
#   new inputs        build-fuzz/fuzz/corpus/TARGET/   (reused by the next run)
#   crashing inputs   $FUZZ_CRASHES/TARGET/ (default build-fuzz/fuzz/crashes/TARGET/):
#                     crash-*, leak-*, timeout-*, oom-*; replay one with
#                     build-fuzz/fuzz/fuzz_TARGET FILE
# libFuzzer stops at its first finding; to go on and collect them all, e.g.
#   FUZZ_FLAGS="-fork=2 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1" scripts/fuzz.sh sweep 600
# Exit status: 0 when nothing was found, 1 otherwise, 2 for bad arguments.
set -euo pipefail
cd "$(dirname "$0")/.."
all=(scenario sweep meta set checkpoint)
target=${1:-all}
seconds=${2:-600}
if [[ $target == all ]]; then
  targets=("${all[@]}")
elif [[ " ${all[*]} " == *" $target "* ]]; then
  targets=("$target")
else
  echo "fuzz.sh: unknown target \"$target\" (one of: ${all[*]}, all)" >&2
  exit 2
fi
[[ $seconds =~ ^[1-9][0-9]*$ ]] || { echo "fuzz.sh: SECONDS must be a positive integer, got \"$seconds\"" >&2; exit 2; }
cxx=${CXX:-clang++}
command -v "$cxx" >/dev/null || { echo "fuzz.sh: $cxx not found (apt-get install clang)" >&2; exit 2; }

dir=${FUZZ_BUILD_DIR:-build-fuzz}
args=(-S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER="$cxx" -DCOHORT_WITH_TORCH=OFF
      -DCOHORT_FUZZ=ON)
command -v ccache >/dev/null && args+=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake "${args[@]}"
[[ -f $dir/fuzz/seeds/scenario/shipped_recsim_interest_evolution.json ]] ||
  { echo "fuzz.sh: $dir has no fuzz targets ($cxx cannot link -fsanitize=fuzzer?)" >&2; exit 2; }
cmake --build "$dir" ${JOBS:+-j "$JOBS"} --target fuzz_seeds "${targets[@]/#/fuzz_}"

crashes=${FUZZ_CRASHES:-$dir/fuzz/crashes}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:check_initialization_order=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
found=()
for t in "${targets[@]}"; do
  mkdir -p "$dir/fuzz/corpus/$t" "$crashes/$t"
  dict=()
  [[ $t == checkpoint ]] || dict=(-dict=tests/fuzz/json.dict)
  echo "fuzz.sh: fuzz_$t for $seconds s; findings go to $crashes/$t/"
  before=$(find "$crashes/$t" -type f | wc -l)
  rc=0
  # shellcheck disable=SC2086  # FUZZ_FLAGS is a list of flags
  "$dir/fuzz/fuzz_$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    "${dict[@]}" -artifact_prefix="$crashes/$t/" ${FUZZ_FLAGS:-} "$dir/fuzz/corpus/$t" "$dir/fuzz/seeds/$t" || rc=$?
  if [[ $rc -ne 0 || $(find "$crashes/$t" -type f | wc -l) -ne $before ]]; then found+=("$t"); fi
done
if [[ ${#found[@]} -eq 0 ]]; then
  echo "fuzz.sh: nothing found (${targets[*]}, $seconds s each)"
  exit 0
fi
for t in "${found[@]}"; do
  echo "fuzz.sh: fuzz_$t found something; its findings (this run's are the newest):"
  ls -1t "$crashes/$t" | sed "s|^|  $crashes/$t/|"
done
echo "fuzz.sh: replay one with $dir/fuzz/fuzz_TARGET FILE"
exit 1
