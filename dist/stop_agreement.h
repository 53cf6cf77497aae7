#pragma once
// Whether any rank was asked to stop (core/stop_signals.h), agreed by all: a scheduler
// may signal only some ranks, or signal them a moment apart, and every rank must stop at
// the same step boundary or the others would wait in the next collective for ever.
#include "dist/communicator.h"

namespace spn {

// The stop signal any rank received (the highest number when several did), or 0, on
// every rank. A collective.
int agreed_stop_signal(Communicator& comm);

}  // namespace spn
