#include "config/stage1_config.h"

#include "config/visitor.h"

namespace spn {

void Stage1Config::visit(ConfigVisitor& v) {
  v.text("init_checkpoint", init_checkpoint,
         "start from this checkpoint's weights (e.g. another run's stage1-final.pt, or its stage1-best.pt when it "
         "kept its best epoch); with epochs = 0 "
         "stage 1 just adopts them, for stage-2-only experiments; \"\" = a fresh model",
         /*may_be_empty=*/true);
  v.text("export_clip_dir", export_clip_dir,
         "after stage 1, write the trained CLIP (model.image_encoder = model.text_encoder = \"clip\") here as a CLIP "
         "model directory, with the learned temperature as its logit_scale, for other runs' model.clip_dir (e.g. a "
         "CLIP pre-trained on the built-in benchmark for the zero-shot methods); replaces an earlier one; \"\" = none",
         /*may_be_empty=*/true);
  v.text("export_mapper_weights", export_mapper_weights,
         "model.family = \"pic2word\" or \"searle\": after stage 1, write the trained mapping network (IM2TEXT or "
         "phi) to this safetensors file with the reference names, as model.mapper_weights reads it; relative paths "
         "are to the working directory; \"\" = none",
         /*may_be_empty=*/true);
  v.integer("epochs", epochs, 0, 100000, "passes over the annotated training triplets");
  v.integer("batch_size", batch_size, 1, 1 << 24, "global batch size, split into contiguous slices across ranks");
  v.real("lr", lr, 0, 10, "AdamW learning rate (the peak of lr_schedule)");
  v.real("weight_decay", weight_decay, 0, 10, "AdamW weight decay");
  optimizer.visit(v);
  v.boolean("shard_optimizer", shard_optimizer,
            "ZeRO-1: each rank keeps AdamW's moments for a contiguous 1/W slice of the "
            "flattened parameters, updates that slice and all-gathers the parameters; optimizer memory per "
            "rank / W, the same updates. Checkpoints hold the whole state, so a run resumes on any number of ranks");
  v.real("temperature", temperature, 1e-4, 10, "InfoNCE temperature (initial value when learned)");
  v.choice_list("negatives", negatives,
                "in-batch negative types, their losses averaged (SPN's study): \"target\" q_i vs all t_j (the usual), "
                "\"query\" t_i vs all q_j, \"reference\" f(ref_j, text_i) vs t_i, \"text\" f(ref_i, text_j) vs t_i");
  v.boolean(
      "learn_temperature", learn_temperature,
      "learn the temperature as a log-scale parameter, as CLIP does (sprc: learn SPRC's temp, which starts at the "
      "checkpoint's value; stage1.temperature does not apply)");
  v.real("sprc_rtc_weight", sprc_rtc_weight, 0, 100,
         "model.family = \"sprc\": weight of SPRC's rtc loss (the prompt branch's contrastive loss) beside itc; "
         "SPRC's CIRR recipe 0.4, FashionIQ 1");
  v.real("sprc_align_weight", sprc_align_weight, 0, 100,
         "model.family = \"sprc\": weight of SPRC's align loss (fused query slots vs prompt tokens, MSE); SPRC's "
         "CIRR recipe 0.4, FashionIQ 1");
  v.boolean("eval_every_epoch", eval_every_epoch,
            "evaluate on eval.split after each epoch and keep the best checkpoint (SPN4CIR's zero-shot and CLIP4CIR "
            "trainers keep their best epoch by validation); stage 1's result, and what follows it (its evaluation, "
            "stage1.export_clip_dir, stage1.export_mapper_weights, mining, the bank, stage 2), is then that "
            "checkpoint's. Every family: RTD keeps its best step by CIRR val R@1, SEARLE's train_phi.py validates "
            "on CIRR val after each epoch");
  v.text("select_metric", select_metric, "metric that picks stage 1's best epoch, as stage2.select_metric");
  v.integer("checkpoint_every", checkpoint_every, 1, INT64_MAX,
            "steps between checkpoints (one is also written at each epoch end)");
  v.integer("log_every", log_every, 1, INT64_MAX, "steps between lines in metrics.jsonl");
  v.real("grad_bucket_mb", grad_bucket_mb, 0.001, 4096,
         "size of the buckets gradients are coalesced into; each is all-reduced during backward as soon as it fills");
}

}  // namespace spn
