#include "config/eval_config.h"

#include "config/visitor.h"

namespace spn {

void EvalCirrConfig::visit(ConfigVisitor& v) {
  v.text("root", root, "CIRR directory (captions/, image_splits/, the images at the paths they give)");
  v.text("split", split, "split evaluated after each stage (results under \"cirr/<split>\")");
  v.text("submission_split", submission_split,
         "also write this split's test-server files: submissions/<stage>-cirr-<split>-recall.json and "
         "-recall_subset.json; \"\" = none",
         /*may_be_empty=*/true);
}

void EvalFashionIqConfig::visit(ConfigVisitor& v) {
  v.text("root", root, "FashionIQ directory (captions/, image_splits/, images/)");
  v.text("split", split, "split evaluated after each stage (results under \"fashioniq/<split>\")");
}

void EvalCircoConfig::visit(ConfigVisitor& v) {
  v.choice("source", source,
           "\"files\": CIRCO under root (annotations/<split>.json from github.com/miccunifi/CIRCO, the COCO 2017 "
           "unlabeled images and their image_info_unlabeled2017.json under COCO2017_unlabeled/); \"shapes\": the "
           "built-in benchmark's CIRCO-style split, generated into root from [data.shapes] when missing: each query's "
           "ground truths are every gallery image holding the target's objects in any layout (splits val and test)");
  v.text("root", root, "CIRCO directory (or where the CIRCO-style split is generated)");
  v.text("split", split, "split evaluated after each stage (results under \"circo/<split>\"): mAP@5-50 and R@5-50");
  v.text("submission_split", submission_split,
         "also write this split's test-server file: submissions/<stage>-circo-<split>.json, {\"<query id>\": [50 "
         "image ids]}; \"\" = none",
         /*may_be_empty=*/true);
  v.integer("queries", queries, 1, 1'000'000, "source = \"shapes\": queries in each of the val and test splits");
}

void EvalConfig::visit(ConfigVisitor& v) {
  v.choice_list(
      "datasets", datasets,
      "what each stage is evaluated on, each with its own protocol: \"data\" = [data]'s split eval.split "
      "(results under its name); \"cirr\", \"fashioniq\", \"circo\" = the [eval.<name>] dataset, whatever "
      "the run trains on. Stage 2 picks its best epoch on \"data\" (stage2.eval_every_epoch), which it then needs");
  v.text("split", split, "annotation split of [data] evaluated after each stage");
  v.integer("batch_size", batch_size, 1, 1 << 24, "images or queries encoded at once per rank");
  v.text("submission_split", submission_split,
         "after each stage's evaluation, also write the test-server files of this split of [data] (CIRR: test1 -> "
         "submissions/<stage>-test1-recall.json and -recall_subset.json); \"\" = none",
         /*may_be_empty=*/true);
  v.choice("remove_reference", remove_reference,
           "leave a query's reference image out of its ranking: \"official\" as each dataset's reference code does "
           "(CIRR removes it, CLIP4CIR's FashionIQ and CIRCO's keep it), \"yes\" also for FashionIQ and CIRCO");
  v.section("cirr", cirr, "CIRR as an evaluation dataset (eval.datasets)");
  v.section("fashioniq", fashioniq, "FashionIQ as an evaluation dataset (eval.datasets)");
  v.section("circo", circo, "CIRCO as an evaluation dataset (eval.datasets)");
}

}  // namespace spn
