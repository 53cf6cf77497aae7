#include "config/stage2_config.h"

#include "config/visitor.h"

namespace spn {

void Stage2Config::visit(ConfigVisitor& v) {
  v.boolean("enabled", enabled, "run stage 2 after stage 1: frozen target side, softmax over the whole candidate bank");
  v.integer("epochs", epochs, 0, 100000, "passes over the annotated training triplets");
  v.integer("batch_size", batch_size, 1, 1 << 24, "global batch of queries, split into contiguous slices across ranks");
  v.real("lr", lr, 0, 10, "AdamW learning rate of the query side (the peak of lr_schedule)");
  v.real("weight_decay", weight_decay, 0, 10, "AdamW weight decay");
  optimizer.visit(v);
  v.boolean("shard_optimizer", shard_optimizer,
            "ZeRO-1: each rank keeps AdamW's moments for a contiguous 1/W slice of the "
            "flattened parameters, updates that slice and all-gathers the parameters; optimizer memory per "
            "rank / W, the same updates. Checkpoints hold the whole state, so a run resumes on any number of ranks");
  v.real("temperature", temperature, 0, 10,
         "softmax temperature from stage 2's start (SPN: 0.02; learned on if stage1.learn_temperature); 0 = keep stage "
         "1's");
  v.integer("chunk", chunk, 0, 1 << 30,
            "bank columns per block of the sharded softmax (memory per rank ~ batch x chunk); 0 = by device: 4096 on "
            "a CPU (a block stays in cache), 2^26 / batch on a GPU (a few large kernels per step)");
  v.choice("bank_dtype", bank_dtype, "precision the bank is stored in (HDF5)");
  v.text("bank_dir", bank_dir, "directory of banks shared by runs; a bank is reused when encoder, ids and dtype match");
  v.choice("bank_mode", bank_mode,
           "\"sharded\": each rank holds N/W rows and the softmax is reduced across ranks; \"replicated\": every rank "
           "holds the whole bank (small banks)");
  v.choice("reference_features", reference_features,
           "\"bank\": a query's reference features are its bank row, as SPN does, so a step decodes no images "
           "(SPRC: a second bank holds the frozen fusion pass of each training text with its reference image); "
           "\"encoder\": re-encode the reference image");
  v.choice(
      "positives", positives,
      "\"target\": target_hard is the one positive; \"target_soft\": also every image CIRR's target_soft scores 1.0");
  v.choice(
      "multi_positive", multi_positive,
      "loss of a query with several positives: -log of their summed softmax mass, or the mean of their -log softmax");
  v.choice("negatives", negatives,
           "candidates of a query's softmax: \"bank\": every bank row (SPN); \"batch\": the global batch's targets "
           "only (in-batch negatives); \"sample\": those plus negative_samples bank rows drawn per step");
  v.integer("negative_samples", negative_samples, 1, INT64_MAX,
            "bank rows drawn per step with negatives = \"sample\" (all of them when the bank is smaller)");
  v.boolean("ignore_reference", ignore_reference, "leave each query's own reference image out of its softmax");
  v.boolean(
      "eval_every_epoch", eval_every_epoch,
      "evaluate on eval.split after each epoch and keep the best checkpoint; stage 2's result is that checkpoint's");
  v.text("select_metric", select_metric,
         "metric that picks the best epoch, one of the dataset protocol's: CIRR R@1, R@5, R@10, R@50, Rsubset@1..3, "
         "Avg = (R@5 + Rsubset@1) / 2 (its leaderboard average); FashionIQ R@10, R@50, <category>/R@10, "
         "<category>/R@50, Avg = (R@10 + R@50) / 2");
  v.integer("checkpoint_every", checkpoint_every, 1, INT64_MAX,
            "steps between checkpoints (one is also written at each epoch end)");
  v.integer("log_every", log_every, 1, INT64_MAX, "steps between lines in metrics.jsonl");
}

}  // namespace spn
