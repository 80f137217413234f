#!/usr/bin/env bash
# The sanitizer configuration (docs/hardening.md): builds Cohort torch-free
# with AddressSanitizer, LeakSanitizer and UBSan (-DCOHORT_SANITIZE=ON) in
# build-sanitize/ and runs its whole test suite there.
#
#   scripts/sanitize.sh [CTEST_ARGS...]     e.g. scripts/sanitize.sh -R unit
#
# CXX=clang++ builds it with clang instead of the default compiler;
# SANITIZE_BUILD_DIR changes the directory; JOBS the build's parallelism.
# ccache is used when present (CCACHE_DISABLE=1 for a cold build).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${SANITIZE_BUILD_DIR:-build-sanitize}
args=(-S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCOHORT_WITH_TORCH=OFF -DCOHORT_SANITIZE=ON
      -DCOHORT_FUZZ=OFF)
[[ -n ${CXX:-} ]] && args+=(-DCMAKE_CXX_COMPILER="$CXX")
command -v ccache >/dev/null && args+=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake "${args[@]}"
cmake --build "$dir" ${JOBS:+-j "$JOBS"}
ctest --test-dir "$dir" --output-on-failure -j "$(nproc)" "$@"
