#pragma once
// The experiment configuration: typed structs filled from a TOML file plus --set
// overrides. Each struct lists its keys once, in visit(); the reader (validation with
// key path and file:line), the writer (--print-config, the run record) and the config
// reference (--config-reference, README) are all driven by that one list.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace spn {

struct ShapesConfig {
  int64_t seed = 1;
  int64_t train_triplets = 3000;
  int64_t val_triplets = 1000;
  int64_t extra_images = 10000;
  int64_t image_size = 64;
  int64_t set_size = 6;

  template <class V>
  void visit(V& v) {
    v.integer("seed", seed, 0, INT64_MAX, "seed of the generator; the dataset is a pure function of this section");
    v.integer("train_triplets", train_triplets, 1, 10'000'000, "annotated training triplets (kept scarce on purpose)");
    v.integer("val_triplets", val_triplets, 1, 10'000'000, "validation queries, each with its own image set");
    v.integer("extra_images", extra_images, 0, 100'000'000, "unannotated training images (room for generated positives)");
    v.integer("image_size", image_size, 32, 1024, "side of the square PNG scenes in pixels");
    v.integer("set_size", set_size, 2, 16, "images per validation img_set (reference, target and hard negatives)");
  }
};

struct FashionIqConfig {
  std::vector<std::string> categories = {"dress", "shirt", "toptee"};
  std::string caption_join = "capitalized";
  std::string image_extension = "png";

  template <class V>
  void visit(V& v) {
    v.text_list("categories", categories, "FashionIQ categories trained and evaluated; each query retrieves within its category", {"dress", "shirt", "toptee"});
    v.choice("caption_join", caption_join, {"capitalized", "plain"}, "how the two captions of a query become one text: \"capitalized\" \"C1 and c2\" (CLIP4CIR's validate.py, inherited by the BLIP/SPRC code), \"plain\" \"c1 and c2\"; both stripped of '.?, ' at the ends. Training draws CLIP4CIR's four random joins per step");
    v.text("image_extension", image_extension, "images are root/images/<name>.<image_extension> (CLIP4CIR: png; SPRC: jpg)");
  }
};

struct DataConfig {
  std::string kind = "shapes";
  std::string root = "datasets/shapes";
  int64_t image_size = 64;
  std::string preprocess = "resize";
  double target_ratio = 1.25;
  int64_t max_words = 24;
  ShapesConfig shapes;
  FashionIqConfig fashioniq;

  template <class V>
  void visit(V& v) {
    v.choice("kind", kind, {"shapes", "cirr", "fashioniq"}, "\"shapes\": the built-in benchmark (generated when missing); \"cirr\": CIRR-format files under root; \"fashioniq\": FashionIQ files under root ([data.fashioniq])");
    v.text("root", root, "dataset directory (captions/, image_splits/, images); relative paths are taken from the working directory");
    v.integer("image_size", image_size, 8, 1024, "side of the square encoder input");
    v.choice("preprocess", preprocess, {"resize", "center_crop", "targetpad"}, "image to input: \"resize\" squeezes to the square (bilinear); \"center_crop\" is CLIP's (shorter side to image_size, bicubic, centre crop); \"targetpad\" is CLIP4CIR's (black borders up to target_ratio first)");
    v.real("target_ratio", target_ratio, 1, 100, "aspect ratio targetpad pads to (CLIP4CIR: 1.25)");
    v.integer("max_words", max_words, 2, 512, "text length in tokens; longer modification texts are truncated (CLIP: at most its context, 77)");
    v.section("shapes", shapes, "built-in benchmark generator (used when kind = \"shapes\")");
    v.section("fashioniq", fashioniq, "FashionIQ (used when kind = \"fashioniq\")");
  }
};

struct ModelConfig {
  std::string image_encoder = "small_cnn";
  std::string text_encoder = "gru";
  std::string head = "combiner";
  int64_t embed_dim = 128;
  int64_t image_width = 32;
  int64_t text_width = 128;
  int64_t combiner_width = 256;
  int64_t combiner_hidden = 0;
  int64_t combiner_gate_hidden = 0;
  double combiner_dropout = 0;
  std::string clip_dir;
  std::string truncation = "truncate";

  template <class V>
  void visit(V& v) {
    v.text("image_encoder", image_encoder, "image encoder from the model registry (small_cnn, clip)");
    v.text("text_encoder", text_encoder, "text encoder from the model registry (gru, bow, clip); clip also tokenizes with CLIP's BPE");
    v.text("head", head, "CIR head from the model registry (sum, combiner)");
    v.integer("embed_dim", embed_dim, 8, 8192, "dimension of query and target embeddings");
    v.integer("image_width", image_width, 4, 1024, "channels of the first image encoder stage (doubled per stage)");
    v.integer("text_width", text_width, 8, 4096, "word embedding and hidden size of the text encoder");
    v.integer("combiner_width", combiner_width, 8, 8192, "projection size of the Combiner head (CLIP4CIR's projection_dim)");
    v.integer("combiner_hidden", combiner_hidden, 0, 65536, "width of the Combiner's fusion layer (CLIP4CIR's hidden_dim); 0 = 2 x combiner_width, CLIP4CIR's ratio");
    v.integer("combiner_gate_hidden", combiner_gate_hidden, 0, 65536, "width of the Combiner's mixing-weight MLP; 0 = combiner_width (spn's recorded runs); CLIP4CIR: = combiner_hidden");
    v.real("combiner_dropout", combiner_dropout, 0, 0.99, "dropout in the Combiner (CLIP4CIR: 0.5); masks are drawn from the seed, the step and each row's place in the global batch, so runs still match across world sizes");
    v.text("clip_dir", clip_dir, "CLIP model directory for the clip encoders: config.json, model.safetensors, vocab.json + merges.txt (Hugging Face's openai/clip-vit-* files; scripts/convert-clip-checkpoint.py for OpenAI/open_clip checkpoints)", /*may_be_empty=*/true);
    v.choice("truncation", truncation, {"truncate", "error"}, "CLIP texts longer than data.max_words tokens: \"truncate\" keeps the start and ends with <|endoftext|> (open_clip); \"error\" stops with the text (OpenAI's default)");
  }
};

struct Stage1Config {
  int64_t epochs = 6;
  int64_t batch_size = 128;
  double lr = 2e-3;
  double weight_decay = 0.01;
  double temperature = 0.07;
  bool learn_temperature = true;
  int64_t checkpoint_every = 100;
  int64_t log_every = 10;
  double grad_bucket_mb = 16;
  std::string init_checkpoint;
  std::vector<std::string> negatives = {"target"};

  template <class V>
  void visit(V& v) {
    v.text("init_checkpoint", init_checkpoint,
           "start from this checkpoint's weights (e.g. another run's stage1-final.pt); with epochs = 0 "
           "stage 1 just adopts them, for stage-2-only experiments; \"\" = a fresh model",
           /*may_be_empty=*/true);
    v.integer("epochs", epochs, 0, 100000, "passes over the annotated training triplets");
    v.integer("batch_size", batch_size, 1, 1 << 24, "global batch size, split into contiguous slices across ranks");
    v.real("lr", lr, 0, 10, "AdamW learning rate (cosine decay to 0 after 5% linear warm-up)");
    v.real("weight_decay", weight_decay, 0, 10, "AdamW weight decay");
    v.real("temperature", temperature, 1e-4, 10, "InfoNCE temperature (initial value when learned)");
    v.text_list("negatives", negatives, "in-batch negative types, their losses averaged (SPN's study): \"target\" q_i vs all t_j (the usual), \"query\" t_i vs all q_j, \"reference\" f(ref_j, text_i) vs t_i, \"text\" f(ref_i, text_j) vs t_i", {"target", "query", "reference", "text"});
    v.boolean("learn_temperature", learn_temperature, "learn the temperature as a log-scale parameter, as CLIP does");
    v.integer("checkpoint_every", checkpoint_every, 1, INT64_MAX, "steps between checkpoints (one is also written at each epoch end)");
    v.integer("log_every", log_every, 1, INT64_MAX, "steps between lines in metrics.jsonl");
    v.real("grad_bucket_mb", grad_bucket_mb, 0.001, 4096, "size of the buckets gradients are coalesced into for all-reduce");
  }
};

struct Stage2Config {
  bool enabled = false;
  int64_t epochs = 4;
  int64_t batch_size = 128;
  double lr = 5e-4;
  double weight_decay = 0.01;
  double temperature = 0;
  int64_t chunk = 4096;
  std::string bank_dtype = "float16";
  std::string bank_dir = "banks";
  std::string bank_mode = "sharded";
  std::string reference_features = "bank";
  std::string positives = "target";
  std::string multi_positive = "logsumexp";
  std::string negatives = "bank";
  int64_t negative_samples = 1000;
  bool ignore_reference = false;
  bool eval_every_epoch = true;
  std::string select_metric = "Avg";
  int64_t checkpoint_every = 100;
  int64_t log_every = 10;

  template <class V>
  void visit(V& v) {
    v.boolean("enabled", enabled, "run stage 2 after stage 1: frozen target side, softmax over the whole candidate bank");
    v.integer("epochs", epochs, 0, 100000, "passes over the annotated training triplets");
    v.integer("batch_size", batch_size, 1, 1 << 24, "global batch of queries, split into contiguous slices across ranks");
    v.real("lr", lr, 0, 10, "AdamW learning rate of the query side (cosine decay after 5% warm-up)");
    v.real("weight_decay", weight_decay, 0, 10, "AdamW weight decay");
    v.real("temperature", temperature, 0, 10, "softmax temperature from stage 2's start (SPN: 0.02; learned on if stage1.learn_temperature); 0 = keep stage 1's");
    v.integer("chunk", chunk, 1, 1 << 30, "bank columns per block of the sharded softmax (memory per rank ~ batch x chunk)");
    v.choice("bank_dtype", bank_dtype, {"float16", "float32"}, "precision the bank is stored in (HDF5)");
    v.text("bank_dir", bank_dir, "directory of banks shared by runs; a bank is reused when encoder, ids and dtype match");
    v.choice("bank_mode", bank_mode, {"sharded", "replicated"}, "\"sharded\": each rank holds N/W rows and the softmax is reduced across ranks; \"replicated\": every rank holds the whole bank (small banks)");
    v.choice("reference_features", reference_features, {"bank", "encoder"}, "\"bank\": a query's reference features are its bank row, as SPN does, so a step decodes no images; \"encoder\": re-encode the reference image");
    v.choice("positives", positives, {"target", "target_soft"}, "\"target\": target_hard is the one positive; \"target_soft\": also every image CIRR's target_soft scores 1.0");
    v.choice("multi_positive", multi_positive, {"logsumexp", "mean"}, "loss of a query with several positives: -log of their summed softmax mass, or the mean of their -log softmax");
    v.choice("negatives", negatives, {"bank", "batch", "sample"}, "candidates of a query's softmax: \"bank\": every bank row (SPN); \"batch\": the global batch's targets only (in-batch negatives); \"sample\": those plus negative_samples bank rows drawn per step");
    v.integer("negative_samples", negative_samples, 1, INT64_MAX, "bank rows drawn per step with negatives = \"sample\" (all of them when the bank is smaller)");
    v.boolean("ignore_reference", ignore_reference, "leave each query's own reference image out of its softmax");
    v.boolean("eval_every_epoch", eval_every_epoch, "evaluate on eval.split after each epoch and keep the best checkpoint; stage 2's result is that checkpoint's");
    v.choice("select_metric", select_metric, {"Avg", "R@1", "R@5", "R@10", "R@50", "Rsubset@1", "Rsubset@2", "Rsubset@3"}, "metric that picks the best epoch; Avg = (R@5 + Rsubset@1) / 2, CIRR's leaderboard average");
    v.integer("checkpoint_every", checkpoint_every, 1, INT64_MAX, "steps between checkpoints (one is also written at each epoch end)");
    v.integer("log_every", log_every, 1, INT64_MAX, "steps between lines in metrics.jsonl");
  }
};

struct OpenAiCaptionerConfig {
  std::vector<std::string> urls = {"http://127.0.0.1:8080/v1/chat/completions"};
  std::string model = "llava";
  std::string prompt = "please briefly describe the {subject} in {k} words";
  std::string subject = "image";
  double temperature = 0;
  double timeout_s = 120;
  int64_t retries = 3;
  double backoff_s = 1;
  int64_t in_flight = 4;
  std::string api_key_env = "OPENAI_API_KEY";

  template <class V>
  void visit(V& v) {
    v.text_list("urls", urls, "chat-completions endpoints (llama.cpp server, vLLM, Ollama, ...); requests go round-robin over them");
    v.text("model", model, "the \"model\" field of each request");
    v.text("prompt", prompt, "the question sent with each image; {subject} and {k} (= caption_words) are filled in");
    v.text("subject", subject, "what the prompt asks about (the paper: the image, or the garment for FashionIQ)");
    v.real("temperature", temperature, 0, 2, "sampling temperature of the captioning model");
    v.real("timeout_s", timeout_s, 0.01, 86400, "seconds before a request is abandoned (and retried)");
    v.integer("retries", retries, 0, 100, "retries of a failed request (timeout, HTTP error, malformed or empty reply) before the run stops");
    v.real("backoff_s", backoff_s, 0, 3600, "wait before the first retry; doubled for each further one");
    v.integer("in_flight", in_flight, 1, 1024, "requests in flight per rank");
    v.text("api_key_env", api_key_env, "environment variable holding a bearer token, sent when set");
  }
};

struct PositivesConfig {
  bool enabled = false;
  std::string captioner = "annotations";
  int64_t caption_words = 10;
  std::string encoder_checkpoint;
  bool warmup_encoder = false;
  int64_t rank_lo = 10000;
  int64_t rank_hi = 15000;
  int64_t partners = 1;
  bool references_only = false;
  int64_t max_triplets = 0;
  std::vector<std::string> templates = {"p0", "p1", "p2"};
  int64_t annotated_repeats = 1;
  int64_t block_rows = 256;
  OpenAiCaptionerConfig openai;

  template <class V>
  void visit(V& v) {
    v.boolean("enabled", enabled, "generate training triplets from unannotated images (SPN's positive scaling)");
    v.choice("captioner", captioner, {"annotations", "openai"}, "\"annotations\": the built-in benchmark's description of each image, cut to caption_words (the stand-in for a multimodal LLM on synthetic data); \"openai\": a multimodal model behind an OpenAI-compatible chat-completions endpoint ([positives.openai])");
    v.integer("caption_words", caption_words, 1, 1000, "words per caption (the paper asks its MLLM for 10)");
    v.text("encoder_checkpoint", encoder_checkpoint, "checkpoint whose target encoder embeds the images for mining; mining then runs before stage 1 and both stages train on the generated triplets. \"\" = this run's stage-1 target encoder: mining runs after stage 1 and only stage 2 uses them", /*may_be_empty=*/true);
    v.integer("rank_lo", rank_lo, 1, INT64_MAX, "partner similarity ranks start here (0 is the most similar other image; paper: CIRR 10000, FashionIQ 10000)");
    v.integer("rank_hi", rank_hi, 2, INT64_MAX, "partner similarity ranks end before this (paper: CIRR 15000, FashionIQ 20000); clipped to the image count");
    v.integer("partners", partners, 1, 1000, "partners drawn per reference image, uniformly from [rank_lo, rank_hi) without repetition");
    v.boolean("references_only", references_only, "mine partners only for images that are references of annotated triplets");
    v.integer("max_triplets", max_triplets, 0, INT64_MAX, "keep a seeded random subset of this many generated triplets; 0 = all");
    v.text_list("templates", templates, "modification texts drawn per triplet: p0 \"{tgt} instead of {ref}\", p1 \"Unlike {ref}, I want {tgt}\", p2 \"{tgt}\", or your own with {ref}/{tgt}; too long for data.max_words -> p2");
    v.boolean("warmup_encoder", warmup_encoder, "mine with an encoder this run trains first (stage 1's settings on the annotated triplets, checkpoints/mining-encoder-final.pt); mining then runs before stage 1 and both stages train on the generated triplets. SPN mines with a pretrained encoder; the built-in benchmark has none");
    v.integer("annotated_repeats", annotated_repeats, 1, 1000, "how generated and annotated triplets mix: the training set is the annotated triplets this many times plus the generated ones");
    v.integer("block_rows", block_rows, 1, 1 << 20, "query images per similarity block in mining (memory per rank ~ block_rows x images)");
    v.section("openai", openai, "the openai captioner");
  }
};

struct EvalConfig {
  std::string split = "val";
  int64_t batch_size = 512;
  std::string remove_reference = "official";
  std::string submission_split;

  template <class V>
  void visit(V& v) {
    v.text("split", split, "annotation split evaluated after each stage");
    v.integer("batch_size", batch_size, 1, 1 << 24, "images or queries encoded at once per rank");
    v.text("submission_split", submission_split, "after each stage's evaluation, also write the test-server files of this split (CIRR: test1 -> submissions/<stage>-test1-recall.json and -recall_subset.json); \"\" = none", /*may_be_empty=*/true);
    v.choice("remove_reference", remove_reference, {"official", "yes"}, "leave a query's reference image out of its ranking: \"official\" as each dataset's reference code does (CIRR removes it, CLIP4CIR's FashionIQ and CIRCO's keep it), \"yes\" also for FashionIQ and CIRCO");
  }
};

struct ExperimentConfig {
  std::string name = "quickstart";
  int64_t seed = 0;
  int64_t threads = 0;
  std::string runs_dir = "runs";
  DataConfig data;
  ModelConfig model;
  Stage1Config stage1;
  Stage2Config stage2;
  PositivesConfig positives;
  EvalConfig eval;

  // Where each key was set ("file.toml:12" or "--set stage1.lr=3e-4"), for errors
  // that can only be detected after reading (e.g. an unknown registry name).
  std::map<std::string, std::string> locations;
  std::string source_file;

  template <class V>
  void visit(V& v) {
    v.text("name", name, "experiment name; runs go to <runs_dir>/<name>/<run-id>/");
    v.integer("seed", seed, 0, INT64_MAX, "experiment seed: model initialisation and batch order");
    v.integer("threads", threads, 0, 4096, "torch threads per rank; 0 = cores on the node / ranks on the node");
    v.text("runs_dir", runs_dir, "directory that holds the run directories");
    v.section("data", data, "dataset");
    v.section("model", model, "encoders and CIR head");
    v.section("stage1", stage1, "stage 1: joint training with in-batch negatives gathered across ranks");
    v.section("stage2", stage2, "stage 2: query side against the frozen candidate bank, sharded across ranks");
    v.section("positives", positives, "positive scaling: de-duplication, captioning, pair mining and templates turn unannotated images into triplets");
    v.section("eval", eval, "evaluation (CIRR protocol)");
  }

  // "file:line: key: message" style error for a key, using the recorded location.
  [[nodiscard]] std::string where(const std::string& key_path) const;
};

// Reads `path` and applies `overrides` ("key.path=value", TOML value syntax; a bare word
// is taken as a string). Throws UserError naming the key path and file:line.
ExperimentConfig load_config(const std::string& path, const std::vector<std::string>& overrides);

// Default config (no file) with overrides; used for the embedded quickstart and tests.
ExperimentConfig load_config_text(const std::string& toml_text, const std::string& source_name,
                                  const std::vector<std::string>& overrides);

// The fully resolved config as TOML text (what --print-config shows and runs record).
std::string config_to_toml(const ExperimentConfig& config);

// The config reference as a Markdown table (every key, type, default, meaning).
std::string config_reference_markdown();

}  // namespace spn
