#include "track/stage.h"

#include <stdexcept>
#include <string>

namespace spn {

const char* stage_name(Stage stage) {
  switch (stage) {
    case Stage::Positives: return "positives";
    case Stage::MiningEncoder: return "mining-encoder";
    case Stage::Stage1: return "stage1";
    case Stage::Stage1Eval: return "eval-stage1";
    case Stage::Stage1Submissions: return "submissions-stage1";
    case Stage::Stage2: return "stage2";
    case Stage::Stage2Eval: return "eval-stage2";
    case Stage::Stage2Submissions: return "submissions-stage2";
  }
  throw std::logic_error("unknown stage");
}

Stage evaluation_of(Stage trained) {
  if (trained == Stage::Stage1) return Stage::Stage1Eval;
  if (trained == Stage::Stage2) return Stage::Stage2Eval;
  throw std::logic_error(std::string(stage_name(trained)) + " is not evaluated");
}

Stage submissions_of(Stage trained) {
  if (trained == Stage::Stage1) return Stage::Stage1Submissions;
  if (trained == Stage::Stage2) return Stage::Stage2Submissions;
  throw std::logic_error(std::string(stage_name(trained)) + " has no submissions");
}

}  // namespace spn
