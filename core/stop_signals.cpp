#include "core/stop_signals.h"

#include <csignal>
#include <cstdlib>
#include <cstring>
#include <sstream>

#include "core/error.h"

namespace spn {
namespace {

volatile std::sig_atomic_t g_stop_signal = 0;

extern "C" void record_stop_signal(int signal_number) {
  if (g_stop_signal == 0) g_stop_signal = signal_number;
}

int signal_number_of(std::string name) {
  if (!name.empty() && name.find_first_not_of("0123456789") == std::string::npos) {
    const int number = std::atoi(name.c_str());
    return number > 0 && number < NSIG ? number : 0;
  }
  if (name.rfind("SIG", 0) != 0) name = "SIG" + name;
  for (int number = 1; number < NSIG; ++number)
    if (signal_name(number) == name) return number;
  return 0;
}

}  // namespace

std::string signal_name(int signal_number) {
  const char* abbreviation = ::sigabbrev_np(signal_number);
  return abbreviation ? "SIG" + std::string(abbreviation) : "signal " + std::to_string(signal_number);
}

std::vector<int> parse_stop_signals(const std::string& list, const std::string& option) {
  std::vector<int> signals;
  if (list == "none") return signals;
  std::istringstream in(list);
  for (std::string name; std::getline(in, name, ',');) {
    const int number = signal_number_of(name);
    // SIGKILL and SIGSTOP cannot be caught.
    if (number == 0 || number == SIGKILL || number == SIGSTOP)
      throw UserError(option + ": '" + name + "' is not a signal a run can stop on (e.g. SIGTERM,SIGUSR1, or none)");
    signals.push_back(number);
  }
  if (signals.empty()) throw UserError(option + ": empty list (give e.g. SIGTERM,SIGUSR1, or none)");
  return signals;
}

void install_stop_signals(const std::vector<int>& signals) {
  struct sigaction action {};
  action.sa_handler = record_stop_signal;
  sigemptyset(&action.sa_mask);
  // Interrupted system calls are restarted: a stop is honoured at the next step, never
  // by failing a write half-way.
  action.sa_flags = SA_RESTART;
  for (int number : signals) ::sigaction(number, &action, nullptr);
}

int received_stop_signal() { return g_stop_signal; }

}  // namespace spn
