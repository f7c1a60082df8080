#!/usr/bin/env bash
# Installs the Debian 12 packages lumamba needs that are missing (`make deps`).
# Uses sudo when not root. Only missing packages are installed, so a second run is a no-op.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libtorch-dev            # LibTorch 1.13 (C++ API)
  libopenblas0-openmp     # fast BLAS behind libblas.so.3, OpenMP flavour like LibTorch's threads
  libtcmalloc-minimal4    # fast large allocations (linked when found)
  nlohmann-json3-dev libyaml-cpp-dev libcli11-dev libfmt-dev
  libgtest-dev libbenchmark-dev
  libedf-dev              # EDF/EDF+/BDF reading (EDFlib)
  libhdf5-dev             # window datasets
  libtinyxml2-dev         # BrainVision .bvef electrode-position files (XML)
  libmatio-dev            # EEGLAB .set files (MATLAB v5 / v7.3)
  libgloo-dev             # headers of LibTorch's Gloo process group (multi-process training)
  openmpi-bin             # mpirun: one of the launchers of multi-process training (and its tests)
  chromium                # renders lumamba report pages headless in the tests (not used at run time)
  pybind11-dev python3-dev python3-numpy  # the Python module (python/, docs/python.md)
  python3-pytest python3-mne python3-sklearn python3-scipy hdf5-tools  # its tests and example
)
if [[ "${LUMAMBA_DEPS_FUZZ:-0}" == "1" ]]; then
  packages+=(clang)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "deps: all ${#packages[@]} packages present"
  exit 0
fi

echo "deps: installing ${missing[*]}"
sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then sudo_cmd=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
