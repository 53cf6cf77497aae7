#!/usr/bin/env bash
# Installs the Debian packages spn builds and runs with. A no-op when all are present,
# so `make quickstart` and `make test` can call it every time. With --test, also what
# only the tests use: Chromium (renders the HTML report), clang-format (the style
# check), and clang 14 with its runtimes (libFuzzer, ASan, UBSan) for the fuzzers. LibTorch comes from the torch wheel (scripts/install-torch.sh).
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libopenmpi-dev openmpi-bin
  libhdf5-dev
  libtomlplusplus-dev
  libspdlog-dev libfmt-dev
  nlohmann-json3-dev
  libpng-dev libjpeg-dev
  libcurl4-openssl-dev libssl-dev   # the openai captioner: HTTP(S) and base64
  libprotobuf-dev         # the wire format of TensorBoard event files
  libicu-dev              # Unicode for CLIP's tokenizer
  libgtest-dev
  python3 python3-venv    # the torch wheel is installed into a venv (scripts/install-torch.sh)
)
if [ "${1:-}" = "--test" ]; then
  packages+=(chromium clang-format clang-14 libclang-rt-14-dev)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "spn: installing ${missing[*]}"
sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
