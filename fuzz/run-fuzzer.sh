#!/usr/bin/env bash
# Runs one fuzzer for a bounded time over its seeds; `make test` runs each as the ctest
# entry fuzz_<name>. Exits non-zero when the fuzzer finds a crash, a sanitizer report, an
# escaping exception other than spn::UserError, or an input slower than 10 s (a hang;
# harnesses.cmake may set more with a later -timeout).
#   usage: run-fuzzer.sh <fuzzer> <seed corpus> <work dir> [libFuzzer options...]
#   SPN_FUZZ_SECONDS  how long to fuzz (default 20)
set -euo pipefail
fuzzer=$1 seeds=$2 work=$3
shift 3
seconds=${SPN_FUZZ_SECONDS:-20}
mkdir -p "$work/corpus" "$work/crashes"
# allocator_may_return_null: libhdf5 asks malloc for absurd sizes read from corrupt files
# and handles the NULL; spn's own code gets std::bad_alloc, which the fuzzer still reports.
export ASAN_OPTIONS="allocator_may_return_null=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export LSAN_OPTIONS="suppressions=$(dirname "$0")/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
# 3 GB: LibTorch alone takes over 500 MB, and ASan's quarantine holds freed memory a while.
# The committed seeds are only read: new inputs go to the work dir's corpus, where later
# runs start from them too. A finding is written to $work/crashes/ and named in the output.
exec "$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=3072 -print_final_stats=1 \
  -artifact_prefix="$work/crashes/" "$@" "$work/corpus" "$seeds"
