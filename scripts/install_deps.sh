#!/usr/bin/env bash
# Installs the Debian packages Cohort needs, only those that are missing.
set -euo pipefail
packages=(
  build-essential cmake ninja-build pkg-config
  # scripts/regression.py (a ctest) and the table scripts
  python3
  nlohmann-json3-dev libboost-random-dev doctest-dev
  # LibTorch agents (agents/); libopenblas0-pthread must be named, or LibTorch
  # falls back to reference BLAS (15-40x slower).
  libtorch-dev libopenblas0-pthread
  # Visualizer (viz/) and distributed runs (meta/, sweeps); Mesa's software GL and
  # EGL let `cohort viz --headless` (and its ctest) render without a display.
  libsdl2-dev libimgui-dev libstb-dev libgl1-mesa-dri libegl-mesa0 openmpi-bin libopenmpi-dev
  # The Python package (python/): built for Debian's /usr/bin/python3; its tests use pytest;
  # the examples (examples/) PyTorch and matplotlib.
  python3-dev python3-numpy pybind11-dev python3-pytest python3-torch python3-matplotlib
  # `cohort log` writes HDF5 (apps/h5_table.cc); the tests read it with h5py.
  libhdf5-dev python3-h5py
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install_deps: all ${#packages[@]} packages present"
  exit 0
fi
echo "install_deps: installing ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
