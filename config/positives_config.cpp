#include "config/positives_config.h"

#include "config/visitor.h"

namespace spn {

void OpenAiCaptionerConfig::visit(ConfigVisitor& v) {
  v.text_list("urls", urls,
              "chat-completions endpoints (llama.cpp server, vLLM, Ollama, ...); requests go round-robin over them");
  v.text("model", model, "the \"model\" field of each request");
  v.text("prompt", prompt, "the question sent with each image; {subject} and {k} (= caption_words) are filled in");
  v.text("subject", subject, "what the prompt asks about (the paper: the image, or the garment for FashionIQ)");
  v.real("temperature", temperature, 0, 2, "sampling temperature of the captioning model");
  v.real("timeout_s", timeout_s, 0.01, 86400, "seconds before a request is abandoned (and retried)");
  v.integer("retries", retries, 0, 100,
            "retries of a failed request (timeout, HTTP error, malformed or empty reply) before the run stops");
  v.real("backoff_s", backoff_s, 0, 3600, "wait before the first retry; doubled for each further one");
  v.integer("in_flight", in_flight, 1, 1024, "requests in flight per rank");
  v.text("api_key_env", api_key_env, "environment variable holding a bearer token, sent when set");
}

void PositivesConfig::visit(ConfigVisitor& v) {
  v.boolean("enabled", enabled, "generate training triplets from unannotated images (SPN's positive scaling)");
  v.choice("captioner", captioner,
           "\"annotations\": the built-in benchmark's description of each image, cut to caption_words (the stand-in "
           "for a multimodal LLM on synthetic data); \"openai\": a multimodal model behind an OpenAI-compatible "
           "chat-completions endpoint ([positives.openai])");
  v.integer("caption_words", caption_words, 1, 1000, "words per caption (the paper asks its MLLM for 10)");
  v.text("encoder_checkpoint", encoder_checkpoint,
         "checkpoint whose target encoder embeds the images for mining; mining then runs before stage 1 and both "
         "stages train on the generated triplets. \"\" = this run's stage-1 target encoder: mining runs after stage 1 "
         "and only stage 2 uses them",
         /*may_be_empty=*/true);
  v.integer(
      "rank_lo", rank_lo, 0, INT64_MAX,
      "partner similarity ranks start here (0 is the most similar other image; paper: CIRR 10000, FashionIQ 10000)");
  v.integer(
      "rank_hi", rank_hi, 2, INT64_MAX,
      "partner similarity ranks end before this (paper: CIRR 15000, FashionIQ 20000); clipped to the image count");
  v.integer("partners", partners, 1, 1000,
            "partners drawn per reference image, uniformly from [rank_lo, rank_hi) without repetition");
  v.boolean("references_only", references_only,
            "mine partners only for images that are references of annotated triplets");
  v.integer("max_triplets", max_triplets, 0, INT64_MAX,
            "keep a seeded random subset of this many generated triplets; 0 = all");
  v.text_list("templates", templates,
              "modification texts, one per template for each triplet, one of them drawn per training step: p0 \"{tgt} "
              "instead of {ref}\", p1 \"Unlike {ref}, I want {tgt}\", "
              "p2 \"{tgt}\", or your own with {ref}/{tgt}, or {ref_part}/{tgt_part} (a random non-empty subset of the "
              "caption's \", \"-separated clauses, in random order); too long for data.max_words -> p2");
  v.boolean("warmup_encoder", warmup_encoder,
            "mine with an encoder this run trains first (stage 1's settings on the annotated triplets, "
            "checkpoints/mining-encoder-final.pt); mining then runs before stage 1 and both stages train on the "
            "generated triplets. SPN mines with a pretrained encoder; the built-in benchmark has none");
  v.boolean("initial_encoder", initial_encoder,
            "mine with the model as built, before stage 1 (a CLIP's pretrained weights; stage1.init_checkpoint is "
            "not applied to it); both stages then train on the generated triplets. With rank_lo = 0 and a rank_hi "
            "beyond the image count every other image is equally likely, as SPN's zero-shot recipe draws partners");
  v.integer("annotated_repeats", annotated_repeats, 0, 1000,
            "how generated and annotated triplets mix: the training set is the annotated triplets this many times plus "
            "the generated ones; 0 = the generated triplets alone (zero-shot: no annotated triplet is trained on; "
            "mining must then run before stage 1)");
  v.integer("block_rows", block_rows, 1, 1 << 20,
            "query images per similarity block in mining (memory per rank ~ block_rows x images)");
  v.section("openai", openai, "the openai captioner");
}

}  // namespace spn
