#!/usr/bin/env bash
# The GPU checks in one command, for a machine with NVIDIA GPUs and a CUDA build of torch
# (the version spn was built against) whose Python is `python3`. Run from the source
# tree's root with the bundle scripts/gpu-bundle.sh made on the build machine:
#
#   bash scripts/gpu-check.sh build/gpu-bundle.tar.xz [OUT_DIR]
#
# It prints JSON lines: the machine; the Cuda* tests (the same operations on CPU and
# CUDA, compared) on one rank, then on one rank per GPU when there are several; the
# stage-2 step on the GPU at N = 100k and 1M in fp32 and bf16, next to the same-shape
# cuBLAS matmul and the PyTorch naive step (bench/stage2_peer.py); the CLIP ViT-B/32
# training step next to transformers' (bench/clip_train_peer.py); NCCL all-gather and
# all-reduce bandwidth (on one GPU the bus carries nothing); then the quickstart
# experiment trained and evaluated on the GPU in fp32 and bf16 (its results table, to set
# beside the CPU's in README.md), CLIP4CIR's experiment with a tiny random CLIP and SPRC's
# with a tiny random BLIP-2, in bf16. Sized to finish within 8 minutes on one H200. Exit
# status: the number of checks that failed.
set -uo pipefail
bundle="${1:?usage: gpu-check.sh BUNDLE.tar.xz [OUT_DIR]}"
out="${2:-${OUT:-/tmp/spn-gpu-check}}"
mkdir -p "$out"
dir=$(mktemp -d)
tar -C "$dir" -xJf "$bundle" || { echo '{"check": "bundle", "ok": false}'; exit 1; }

torch_dir=$(python3 -c 'import os, torch; print(os.path.dirname(torch.__file__))')
library_path="$dir/lib:$torch_dir/lib"
for nvidia in "$torch_dir"/../nvidia/*/lib "$torch_dir"/../nvidia/cu*/lib; do
  [ -d "$nvidia" ] && library_path="$library_path:$nvidia"
done
export LD_LIBRARY_PATH="$library_path:${LD_LIBRARY_PATH:-}"
export OPAL_PREFIX="$dir/ompi" PATH="$dir/ompi/bin:$PATH"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export SPN_TORCH_PYTHON=$(command -v python3) SPN_SOURCE_DIR=$(pwd)
mpirun=(mpirun --oversubscribe --bind-to none)

gpus=$(nvidia-smi -L 2>/dev/null | grep -c '^GPU' || true)
python3 - "$gpus" <<'PY'
import json, sys, torch
print(json.dumps({"check": "machine", "gpus": int(sys.argv[1]), "torch": torch.__version__,
                  "name": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}))
PY

failed=0
# One check: its output goes to OUT_DIR/<name>.log; a JSON line says how it went.
check() {
  local name="$1"; shift
  local start=$SECONDS
  "$@" > "$out/$name.log" 2>&1
  local status=$?
  [ $status -eq 0 ] || failed=$((failed + 1))
  printf '{"check": "%s", "ok": %s, "exit": %d, "seconds": %d, "log": "%s"}\n' "$name" \
    "$([ $status -eq 0 ] && echo true || echo false)" $status $((SECONDS - start)) "$out/$name.log"
}

check cuda_tests_np1 timeout 180 "$dir/bin/spn_tests" --gtest_filter='*Cuda*'
grep -E '^\[  (SKIPPED|FAILED) +\] .* \([0-9]+ ms\)' "$out/cuda_tests_np1.log" | sed 's/^/  /'
if [ "$gpus" -ge 2 ]; then
  check cuda_tests_np$gpus timeout 240 "${mpirun[@]}" -np "$gpus" "$dir/bin/spn_tests" --gtest_filter='DistCuda*'
fi
check stage2_softmax_gpu timeout 300 "${mpirun[@]}" -np 1 "$dir/bin/spn-bench-softmax" --device cuda \
  --sizes 100000,1000000 --repeats 10
grep '^{' "$out/stage2_softmax_gpu.log"
check clip_train_gpu timeout 240 "${mpirun[@]}" -np 1 "$dir/bin/spn-bench-clip-train" --device cuda --repeats 10
grep '^{' "$out/clip_train_gpu.log"
check collectives_gpu timeout 60 "${mpirun[@]}" -np "$((gpus > 0 ? gpus : 1))" "$dir/bin/spn-bench-collectives" --device cuda
grep '^{' "$out/collectives_gpu.log"

# The whole pipeline on the GPU; the run directories stay out of OUT_DIR (only the logs
# come back from a lent machine).
runs=$(mktemp -d)
for precision in fp32 bf16; do
  check "quickstart_cuda_$precision" timeout 150 "${mpirun[@]}" -np 1 "$dir/bin/spn-launch" \
    experiments/quickstart.toml --set device=cuda --set precision=$precision \
    --set runs_dir="$runs" --set data.root="$runs/shapes"
  tail -n 12 "$out/quickstart_cuda_$precision.log" | sed 's/^/  /'
done
# The CLIP pipeline on the GPU (CLIP4CIR's experiment: both towers trained in stage 1,
# the frozen bank and stage 2) with a tiny random CLIP at 288 px on the built-in
# benchmark, in bf16, one epoch per stage; random weights, so its results are chance.
python3 scripts/write-random-clip.py "$runs/clip-tiny-288" > /dev/null
check clip4cir_cuda_bf16 timeout 200 "${mpirun[@]}" -np 1 "$dir/bin/spn-launch" experiments/cirr_clip4cir.toml \
  --set device=cuda --set precision=bf16 --set data.kind=shapes --set data.root="$runs/shapes-288" \
  --set model.clip_dir="$runs/clip-tiny-288" --set model.embed_dim=24 --set stage1.epochs=1 --set stage2.epochs=1 \
  --set eval.submission_split= --set runs_dir="$runs"
tail -n 6 "$out/clip4cir_cuda_bf16.log" | sed 's/^/  /'
# SPRC (model.family = "sprc": EVA ViT, Q-Former, token-set targets) with the tiny random
# BLIP-2 of the parity tests, stage 1 and evaluation on the GPU in bf16.
check sprc_cuda_bf16 timeout 120 "${mpirun[@]}" -np 1 "$dir/bin/spn-launch" experiments/shapes_sprc.toml \
  --set device=cuda --set precision=bf16 --set data.root="$runs/shapes-sprc" --set runs_dir="$runs"
tail -n 6 "$out/sprc_cuda_bf16.log" | sed 's/^/  /'
exit $failed
