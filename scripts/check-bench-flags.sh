#!/usr/bin/env bash
# Checks the benchmarks' command lines (bench/bench_flags.h) without running a benchmark:
# --help prints a usage line and exits 0; an unknown option, a missing value and a value
# that does not read each exit 2 naming the option. Usage: check-bench-flags.sh BUILD_DIR
set -uo pipefail
build="${1:?usage: check-bench-flags.sh BUILD_DIR}"
failures=0
expect() {  # expect STATUS TEXT BINARY ARGS...: the exit status and a text in its output
  local status="$1" text="$2"; shift 2
  local output; output=$("$@" 2>&1); local got=$?
  if [ "$got" -ne "$status" ] || ! grep -qF -- "$text" <<<"$output"; then
    echo "FAIL: $* exited $got (expected $status, output containing '$text'):"; echo "$output" | head -5
    failures=$((failures + 1))
  fi
}
for binary in "$build"/spn-bench*; do
  [ -x "$binary" ] && [ -f "$binary" ] || continue
  expect 0 "usage: $binary" "$binary" --help
  expect 2 "unknown option '--no-such-option'" "$binary" --no-such-option 1
done
# A missing value, a value that is not a count, and a device that does not exist.
expect 2 "--repeats needs a value" "$build/spn-bench-softmax" --repeats
expect 2 "--sizes '100k': not a positive integer" "$build/spn-bench-softmax" --sizes 100k
expect 2 "--repeats '0': not a positive integer" "$build/spn-bench-collectives" --repeats 0
expect 2 "--device 'gpu': not cpu or cuda" "$build/spn-bench-clip-train" --device gpu
echo "bench flags: $failures failure(s)"
[ "$failures" -eq 0 ]
