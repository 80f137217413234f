#!/usr/bin/env bash
# Fresh machine to first result: install what is missing, build in Release,
# run the RecSim interest-evolution scenario. Extra arguments go to `cohort run`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install_deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release
cmake --build build
./build/cohort run scenarios/recsim_interest_evolution.json --out runs/recsim_interest_evolution --force "$@"
