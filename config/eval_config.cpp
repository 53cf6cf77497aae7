#include "config/eval_config.h"

#include "config/visitor.h"

namespace spn {

void EvalConfig::visit(ConfigVisitor& v) {
  v.text("split", split, "annotation split evaluated after each stage");
  v.integer("batch_size", batch_size, 1, 1 << 24, "images or queries encoded at once per rank");
  v.text("submission_split", submission_split,
         "after each stage's evaluation, also write the test-server files of this split (CIRR: test1 -> "
         "submissions/<stage>-test1-recall.json and -recall_subset.json); \"\" = none",
         /*may_be_empty=*/true);
  v.choice("remove_reference", remove_reference,
           "leave a query's reference image out of its ranking: \"official\" as each dataset's reference code does "
           "(CIRR removes it, CLIP4CIR's FashionIQ and CIRCO's keep it), \"yes\" also for FashionIQ and CIRCO");
}

}  // namespace spn
