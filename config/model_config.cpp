#include "config/model_config.h"

#include "config/visitor.h"

namespace spn {

void ModelConfig::visit(ConfigVisitor& v) {
  v.text("family", family,
         "model family from the registry: dual_encoder (image_encoder + text_encoder + head, one unit vector per "
         "image), sprc (SPRC on BLIP-2 from model.blip2_dir: 32-token targets, BERT WordPiece texts), pic2word or "
         "searle (zero-shot: a frozen CLIP from model.clip_dir and a trained mapping network from the reference "
         "image to a pseudo word; queries \"a photo of * , {caption}\" and \"a photo of $ that {caption}\"), rtd "
         "(SEARLE's frozen phi from model.mapper_weights with a trained copy of CLIP's text tower, [rtd])");
  v.text("image_encoder", image_encoder, "image encoder from the model registry (small_cnn, clip)");
  v.text("text_encoder", text_encoder,
         "text encoder from the model registry (gru, bow, clip); clip also tokenizes with CLIP's BPE");
  v.text("head", head,
         "CIR head from the model registry: sum, combiner, or the zero-shot baselines text_only (the query is the "
         "text's features alone) and image_only (the reference image's alone)");
  v.integer("embed_dim", embed_dim, 8, 8192, "dimension of query and target embeddings");
  v.integer("image_width", image_width, 4, 1024, "channels of the first image encoder stage (doubled per stage)");
  v.integer("text_width", text_width, 8, 4096, "word embedding and hidden size of the text encoder");
  v.integer("combiner_width", combiner_width, 8, 8192,
            "projection size of the Combiner head (CLIP4CIR's projection_dim)");
  v.integer("combiner_hidden", combiner_hidden, 0, 65536,
            "width of the Combiner's fusion layer (CLIP4CIR's hidden_dim); 0 = 2 x combiner_width, CLIP4CIR's ratio");
  v.integer("combiner_gate_hidden", combiner_gate_hidden, 0, 65536,
            "width of the Combiner's mixing-weight MLP; 0 = combiner_width (spn's recorded runs); CLIP4CIR: = "
            "combiner_hidden");
  v.real("combiner_dropout", combiner_dropout, 0, 0.99,
         "dropout in the Combiner (CLIP4CIR: 0.5); masks are drawn from the seed, the step and each row's place in the "
         "global batch, so runs still match across world sizes");
  v.text("clip_dir", clip_dir,
         "CLIP model directory for the clip encoders: config.json, model.safetensors, vocab.json + merges.txt (Hugging "
         "Face's openai/clip-vit-* files; scripts/convert-clip-checkpoint.py for OpenAI/open_clip checkpoints)",
         /*may_be_empty=*/true);
  v.text("blip2_dir", blip2_dir,
         "BLIP-2 model directory for model.family = \"sprc\": config.json and model.safetensors of Hugging Face's "
         "Salesforce/blip2-itm-vit-g (or a converted SPRC checkpoint) and bert-base-uncased's vocab.txt",
         /*may_be_empty=*/true);
  v.integer("mapper_hidden", mapper_hidden, 0, 65536,
            "pic2word / searle / rtd: hidden width of the mapping network (IM2TEXT, phi); 0 = the reference's: 512 for "
            "IM2TEXT, 4 x CLIP's projection_dim for phi (ViT-L/14: 3072)");
  v.text("mapper_weights", mapper_weights,
         "pic2word / searle / rtd: a safetensors file with the mapping network's weights by the reference names "
         "(Pic2Word's state_dict_img2text without \"module.\", SEARLE's Phi) to start from; empty = random; rtd: "
         "SEARLE's phi, required (frozen)",
         /*may_be_empty=*/true);
  v.choice("truncation", truncation,
           "texts longer than data.max_words tokens: \"truncate\" keeps the start and ends the row with the end "
           "token (CLIP's <|endoftext|> as open_clip does; BERT's [SEP] for sprc, as transformers does); \"error\" "
           "stops with the text (OpenAI's default)");
}

}  // namespace spn
