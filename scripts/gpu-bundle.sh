#!/usr/bin/env bash
# Packs what scripts/gpu-check.sh runs on a GPU machine that has the torch spn was built
# against (same version; its CUDA and NCCL libraries) but none of spn's other libraries
# and no way to install them: the test and benchmark binaries, every shared library they
# load that is neither glibc's nor torch's nor CUDA's, and Open MPI's runtime (a
# singleton MPI_Init starts Open MPI's orted; mpirun needs its plugins and help texts),
# laid out under one prefix so OPAL_PREFIX relocates it.
#
#   scripts/gpu-bundle.sh [BUILD_DIR] [OUT]      (default: build, BUILD_DIR/gpu-bundle.tar.xz)
set -euo pipefail
build="${1:-build}"
out="${2:-$build/gpu-bundle.tar.xz}"
binaries=("$build/tests/spn_tests" "$build/spn-bench-softmax" "$build/spn-bench-clip-train" "$build/spn-bench-collectives"
  "$build/spn-launch")
for binary in "${binaries[@]}"; do
  [ -x "$binary" ] || { echo "gpu-bundle: $binary is missing; build it first (make build)" >&2; exit 2; }
done
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/bin" "$stage/lib" "$stage/ompi/bin" "$stage/ompi/lib" "$stage/ompi/share"
cp "${binaries[@]}" "$stage/bin/"

# glibc's own libraries come from the machine (they must match its loader); torch's and
# CUDA's from its torch installation.
system_library='/(ld-linux[^/]*|lib(c|m|dl|rt|pthread|util|resolv|gcc_s|stdc\+\+)\.so[^/]*)$'
ldd "${binaries[@]}" /usr/bin/orted | awk '/=> \// {print $3}' | sort -u |
  grep -Ev '/(torch|nvidia)/' | grep -Ev "$system_library" |
  while read -r library; do cp -L "$library" "$stage/lib/"; done

# Open MPI as Debian installs it (prefix /usr), mirrored under ompi/: with OPAL_PREFIX
# set to that folder, Open MPI finds its plugins and texts there.
ompi_lib=/usr/lib/x86_64-linux-gnu/openmpi
mkdir -p "$stage/ompi/lib/x86_64-linux-gnu"
cp -rL "$ompi_lib" "$stage/ompi/lib/x86_64-linux-gnu/"
cp -rL /usr/share/openmpi "$stage/ompi/share/"
cp -L /usr/bin/orted /usr/bin/orterun "$stage/ompi/bin/"
ln -s orterun "$stage/ompi/bin/mpirun"

tar -C "$stage" -cJf "$out" .
echo "gpu-bundle: $out ($(du -h "$out" | cut -f1)); on the GPU machine: bash scripts/gpu-check.sh $out"
