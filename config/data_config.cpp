#include "config/data_config.h"

#include "config/visitor.h"

namespace spn {

void ShapesConfig::visit(ConfigVisitor& v) {
  v.choice("preset", preset,
           "\"none\": the sizes below, square PNGs; \"cirr\": CIRR's split sizes (16,939 training images in 28,225 "
           "triplets; a 2,297-image validation gallery with 4,181 queries, each img_set 6 gallery images) as 500x375 "
           "JPEGs with photo-like grain, so a loader meets real decoding cost. Images come in chains of 6 "
           "modifications; a query spans 1-3 steps of a chain. With \"cirr\" the size keys below keep their defaults");
  v.integer("seed", seed, 0, INT64_MAX, "seed of the generator; the dataset is a pure function of this section");
  v.integer("train_triplets", train_triplets, 1, 10'000'000, "annotated training triplets (kept scarce on purpose)");
  v.integer("val_triplets", val_triplets, 1, 10'000'000, "validation queries, each with its own image set");
  v.integer("extra_images", extra_images, 0, 100'000'000, "unannotated training images (room for generated positives)");
  v.integer("image_size", image_size, 32, 1024, "side of the square PNG scenes in pixels");
  v.integer("set_size", set_size, 2, 16, "images per validation img_set (reference, target and hard negatives)");
}

void FashionIqConfig::visit(ConfigVisitor& v) {
  v.text_list("categories", categories,
              "FashionIQ categories trained and evaluated; each query retrieves within its category",
              {"dress", "shirt", "toptee"});
  v.choice(
      "caption_join", caption_join,
      "how the two captions of a query become one text: \"capitalized\" \"C1 and c2\" (CLIP4CIR's validate.py, "
      "inherited by the BLIP/SPRC code), \"plain\" \"c1 and c2\"; both stripped of '.?, ' at the ends; \"pic2word\" "
      "\"c2 and c1\" as written (Pic2Word's FashionIQ prompt); \"both_orders\" \"c1 and c2\" and \"c2 and c1\" as "
      "\"plain\", the "
      "query the normalised mean of both texts' normalised embeddings (SEARLE's and RTD's validate.py). Training "
      "draws CLIP4CIR's four random joins per step");
  v.text("image_extension", image_extension,
         "images are root/images/<name>.<image_extension> (CLIP4CIR: png; SPRC: jpg)");
}

void DataConfig::visit(ConfigVisitor& v) {
  v.choice(
      "kind", kind,
      "\"shapes\": the built-in benchmark (generated when missing); \"cirr\": CIRR-format files under root; "
      "\"fashioniq\": FashionIQ files under root ([data.fashioniq]); \"images\": every .png/.jpg/.jpeg under root, "
      "unlabeled (the zero-shot families pic2word and searle train on them; evaluate with [eval.*] datasets)");
  v.text("root", root,
         "dataset directory (captions/, image_splits/, images); relative paths are taken from the working directory");
  v.integer("image_size", image_size, 8, 1024, "side of the square encoder input");
  v.choice("preprocess", preprocess,
           "image to input: \"resize\" squeezes to the square (bilinear); \"center_crop\" is CLIP's (shorter side to "
           "image_size, bicubic, centre crop); \"targetpad\" is CLIP4CIR's (black borders up to target_ratio first)");
  v.real("target_ratio", target_ratio, 1, 100, "aspect ratio targetpad pads to (CLIP4CIR: 1.25)");
  v.integer("max_words", max_words, 2, 512,
            "text length in tokens; longer modification texts are truncated (CLIP: at most its context, 77)");
  v.integer("workers", workers, 1, 256,
            "decode threads per rank: they decode, resize and pad the images of the next steps (and gallery chunks) "
            "while the rank computes");
  v.integer("prefetch", prefetch, 0, 64,
            "training steps (or gallery chunks) decoded ahead of the one computing; a rank holds the pixels of "
            "prefetch + 1 of its batch slices");
  v.choice("cache", cache,
           "\"hdf5\": decode each split once, after preprocessing, into a decoded-image cache under cache_dir that "
           "later runs and experiments with the same images and transform read instead of the image files; \"none\": "
           "decode the image files every time");
  v.text("cache_dir", cache_dir,
         "directory of decoded-image caches shared by runs (like stage2.bank_dir); relative paths are taken from "
         "the working directory");
  v.choice(
      "augment", augment,
      "what training images go through after preprocessing (and after the decoded-image cache), in the decode "
      "threads: \"random_resized_crop\" is torchvision's RandomResizedCrop (Pic2Word's, with crop_scale_min = "
      "0.9): a box of crop_scale_min..crop_scale_max of the image's area and aspect ratio 3/4..4/3 (10 draws, else the "
      "image's centre cut to that ratio range), resized back to image_size (bicubic), drawn from the seed, the step "
      "and the "
      "image's place in the global batch, so every world size and a resumed run draw the same crops. Stage 1's "
      "references and targets and stage 2's references (reference_features = \"encoder\") are augmented; "
      "evaluation, the stage-2 bank, mining and the cache never are. \"none\": the preprocessed images as they "
      "are");
  v.real("crop_scale_min", crop_scale_min, 0.01, 1,
         "random_resized_crop: the smallest crop, as a fraction of the image's area (torchvision's default 0.08; "
         "Pic2Word 0.9); at most crop_scale_max");
  v.real("crop_scale_max", crop_scale_max, 0.01, 1,
         "random_resized_crop: the largest crop, as a fraction of the image's area");
  v.section("shapes", shapes, "built-in benchmark generator (used when kind = \"shapes\")");
  v.section("fashioniq", fashioniq, "FashionIQ (used when kind = \"fashioniq\")");
}

}  // namespace spn
