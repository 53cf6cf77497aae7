#pragma once
// The pipeline's stages under the names a run directory records them by: completion
// markers done/<name>, checkpoint prefixes checkpoints/<name>-*.pt, the "stage" field of
// metrics.jsonl and the top-level keys of results.json. One type, so no two places can
// spell a stage differently.
namespace spn {

enum class Stage {
  Positives,      // generated triplets (positives/cap.rc2.generated.json)
  MiningEncoder,  // the encoder a run trains to mine with (positives.warmup_encoder)
  Stage1,
  Stage1Eval,
  Stage1Submissions,
  Stage2,
  Stage2Eval,
  Stage2Submissions,
};

// "positives", "mining-encoder", "stage1", "eval-stage1", "submissions-stage1",
// "stage2", "eval-stage2", "submissions-stage2".
const char* stage_name(Stage stage);

// The evaluation and the submission files that follow a trained stage.
Stage evaluation_of(Stage trained);
Stage submissions_of(Stage trained);

}  // namespace spn
