#!/usr/bin/env bash
# Installs what is missing, builds in Release and runs the whole test suite,
# then the sanitizer configuration's (scripts/sanitize.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install_deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release
cmake --build build
ctest --test-dir build --output-on-failure -j "$(nproc)"
# The torch-free suite again under AddressSanitizer, LeakSanitizer and UBSan
# (docs/hardening.md; about 10 more minutes on 2 cores).
bash scripts/sanitize.sh
