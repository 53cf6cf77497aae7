#pragma once
// Signals that ask a run to stop cleanly: the scheduler's warning before it kills a job
// (Slurm sends SIGTERM at a time limit or preemption; `mpirun` forwards SIGUSR1 and
// SIGUSR2 to every rank but answers SIGTERM by killing them). The handler only records
// the signal; training loops ask at each step boundary (dist/stop_agreement.h) so that
// every rank stops at the same step.
#include <string>
#include <vector>

namespace spn {

// "SIGTERM,SIGUSR1" (names with or without SIG, or numbers; "none" for no signal) →
// signal numbers; a UserError naming `option` for an unknown name.
std::vector<int> parse_stop_signals(const std::string& list, const std::string& option);

// Installs the recording handler for `signals` (replacing the default action).
void install_stop_signals(const std::vector<int>& signals);

// The first stop signal this process received, or 0.
int received_stop_signal();

// "SIGTERM" for 15.
std::string signal_name(int signal_number);

}  // namespace spn
