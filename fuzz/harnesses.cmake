# The fuzz tests of `make test`: ctest entry fuzz_<name> runs the harness fuzz_<harness>
# over the committed seeds in fuzz/corpus/<name>/ (PNG and JPEG share one decoder harness,
# each with its own seeds). Included by fuzz/CMakeLists.txt (builds the harnesses) and
# tests/CMakeLists.txt (registers the runs).
set(SPN_FUZZ_HARNESSES config cirr fashioniq circo safetensors image bank checkpoint)
set(SPN_FUZZ_RUNS config:config cirr:cirr fashioniq:fashioniq circo:circo safetensors:safetensors png:image jpeg:image
    bank:bank checkpoint:checkpoint)
# LibTorch's reader reserves whatever a corrupt length field says (up to 4 GB: one such
# input took 4.3 GB of RSS under ASan in PyTorchStreamReader::getRecordID, and failed the
# 3 GB default). spn reads a checkpoint with torch only after its checksum matched, so
# this is LibTorch's cost, not a finding: the checkpoint fuzzer may use 8 GB. Reserving
# and freeing those 4 GB under ASan took 6.5-14.6 s on the idle 2-core VM (and failed a CI
# run on 2026-12-01 at libFuzzer's 10 s), so a hang there is 60 s rather than 10 s.
set(SPN_FUZZ_OPTIONS_checkpoint -malloc_limit_mb=65536 -rss_limit_mb=8192 -timeout=60)
