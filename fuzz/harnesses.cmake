# The fuzz tests of `make test`: ctest entry fuzz_<name> runs the harness fuzz_<harness>
# over the committed seeds in fuzz/corpus/<name>/ (PNG and JPEG share one decoder harness,
# each with its own seeds). Included by fuzz/CMakeLists.txt (builds the harnesses) and
# tests/CMakeLists.txt (registers the runs).
set(SPN_FUZZ_HARNESSES config cirr fashioniq circo safetensors image bank checkpoint)
set(SPN_FUZZ_RUNS config:config cirr:cirr fashioniq:fashioniq circo:circo safetensors:safetensors png:image jpeg:image
    bank:bank checkpoint:checkpoint)
# LibTorch's unpickler reserves whatever a corrupt length field says (up to 4 GB, never
# touched before it fails): allocations are limited for the checkpoint fuzzer by the
# memory it really uses (-rss_limit_mb), not by the size it asks for.
set(SPN_FUZZ_OPTIONS_checkpoint -malloc_limit_mb=65536)
