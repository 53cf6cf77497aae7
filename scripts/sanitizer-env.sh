# Sourced by `make sanitize`: the options of the sanitized unit tests (and of the
# spn-launch processes they start, which inherit them).
# - halt_on_error (ASan, UBSan): the first report fails the run, with its stack.
# - detect_leaks=0: at exit LeakSanitizer reports ~120 KB in ~3,400 blocks that OpenMPI
#   allocates once per process (MPI_Init: hwloc, opal, the op and comm tables) and never
#   frees, even with only Config and image tests run. Most of their stacks end in
#   "<unknown module>" (MPI's plugins, unloaded by MPI_Finalize before the report), so a
#   suppression file cannot name them; leaks in spn's own code are left to its RAII types
#   and to the fuzzers, which do check for leaks (fuzz/lsan.supp).
export ASAN_OPTIONS=halt_on_error=1:detect_leaks=0
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
