#!/usr/bin/env bash
# Installs the torch wheel spn builds against (LibTorch's headers and libraries, CUDA
# and NCCL included) into a virtual environment outside the clone, keyed by version, so
# fresh clones and CI reuse it:  install-torch.sh VERSION DIR
# DIR/torch-dir then holds the path of the torch package (what CMake's SPN_TORCH_DIR
# takes). A no-op when DIR is complete. The wheel works on machines without a GPU.
set -euo pipefail
version="$1"
dir="$2"
if [ -f "$dir/torch-dir" ] && [ -d "$(cat "$dir/torch-dir")" ]; then
  exit 0
fi
echo "spn: installing torch==$version into $dir (about 4.6 GB, a few minutes)"
partial="$dir.partial"
rm -rf "$partial"
mkdir -p "$(dirname "$dir")"
/usr/bin/python3 -m venv "$partial"
"$partial/bin/pip" install --quiet --disable-pip-version-check --no-cache-dir "torch==$version"
# Only the final name is ever complete: a killed install leaves DIR.partial behind.
rm -rf "$dir"
mv "$partial" "$dir"
# The venv was made under the partial name; its scripts are not used, only the package.
torch_dir=$(find "$dir/lib" -maxdepth 3 -type d -path '*/site-packages/torch' | head -1)
[ -n "$torch_dir" ] || { echo "spn: no torch package under $dir" >&2; exit 1; }
echo "$torch_dir" > "$dir/torch-dir"
