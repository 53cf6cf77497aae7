#include "config/searle_config.h"

#include "config/visitor.h"

namespace spn {

void SearleConfig::visit(ConfigVisitor& v) {
  v.integer("oti_steps", oti_steps, 0, 100000,
            "OTI pre-pass: AdamW steps per image's pseudo word (SEARLE: 350); the words are kept in the run "
            "directory (oti_tokens.safetensors) and a resumed run reuses them");
  v.integer("oti_batch_size", oti_batch_size, 1, 1 << 20,
            "OTI pre-pass: images inverted together (SEARLE: 32); batches are sharded across ranks and seeded by "
            "their global index, so the words are the same on any number of ranks");
  v.real("oti_lr", oti_lr, 0, 10, "OTI pre-pass: AdamW learning rate (SEARLE: 2e-2)");
  v.real("oti_weight_decay", oti_weight_decay, 0, 10, "OTI pre-pass: AdamW weight decay (SEARLE: 0.01)");
  v.real("oti_ema_decay", oti_ema_decay, 0, 1,
         "OTI pre-pass: decay of the words' exponential moving average, which phi is distilled from (SEARLE: 0.99)");
  v.real("oti_gpt_weight", oti_gpt_weight, 0, 100,
         "OTI pre-pass: weight of the phrase (gpt) loss beside the template cosine loss, weight 1 (SEARLE: 0.5)");
  v.text("concepts", concepts,
         "concept vocabulary: a text file with one concept a line (SEARLE: the class names of its dictionary); \"\" "
         "= the built-in benchmark's colour-shape pairs (\"blue square\"), only with data.kind = \"shapes\"",
         /*may_be_empty=*/true);
  v.integer("top_k_concepts", top_k_concepts, 1, 100000,
            "concepts per image: the K most similar under the frozen CLIP (image vs \"a photo of {concept}\") whose "
            "phrases regularise the OTI pre-pass (SEARLE's oti_inversion.py: 15)");
  v.integer("phi_top_k_concepts", phi_top_k_concepts, 1, 100000,
            "concepts per image whose phrases regularise phi's training, the most similar first (SEARLE's "
            "train_phi.py: 150; a vocabulary smaller than this gives all of it)");
  v.real("temperature", temperature, 1e-4, 100,
         "phi training: NT-Xent temperature between phi's words and the OTI words over the global batch (SEARLE: "
         "0.25)");
  v.real("distil_weight", distil_weight, 0, 100, "phi training: weight of the NT-Xent distillation loss (SEARLE: 1)");
  v.real("gpt_weight", gpt_weight, 0, 100,
         "phi training: weight of the phrase (gpt) loss of phi's word, 1 - cos between a concept's phrase with the "
         "word in place of the concept and the phrase as written (SEARLE: 0.75)");
  v.real("phi_dropout", phi_dropout, 0, 0.99, "phi's dropout probability while training (SEARLE: 0.5)");
  v.choice("query_words", query_words,
           "where a query's pseudo word comes from at test time: \"phi\" = phi maps the reference image to it "
           "(SEARLE); \"oti\" = the reference image is inverted by OTI at test time (SEARLE-OTI: the oti_* settings, "
           "phrases of its top_k_concepts), every distinct reference image of each evaluated split once, sharded like "
           "the training pre-pass and kept in the run directory (oti_queries-<split>.safetensors); phi is not used, "
           "so stage1.epochs must be 0");
}

}  // namespace spn
