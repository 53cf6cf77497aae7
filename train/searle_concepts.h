#pragma once
// The concepts and phrases SEARLE regularises its pseudo words with, as spn's stand-ins.
// SEARLE ranks the class names of a dictionary by CLIP similarity to each image and
// keeps the top 15 (similar_concepts/*.csv), and writes phrases about each concept with
// GPT-Neo (GPT_phrases/concept_to_phrases.pkl). spn ranks a concept vocabulary (one
// concept a line in searle.concepts, or the built-in benchmark's colour-shape pairs) the
// same way, with the frozen CLIP's image features against the text features of "a photo
// of {concept}", and fills a small fixed list of phrase templates instead of GPT-Neo.
#include <torch/types.h>

#include <string>
#include <vector>

#include "config/experiment_config.h"

namespace spn {

class ClipTextTower;
class ClipTokenizer;

// The built-in benchmark's concepts: every colour with every shape ("blue square").
std::vector<std::string> shapes_concepts();

// searle.concepts' lines (trimmed, blank lines and duplicates dropped), or the
// benchmark's concepts when it is empty. A missing or empty file, or an empty key
// without data.kind = "shapes", is a UserError naming searle.concepts.
std::vector<std::string> searle_concepts(const ExperimentConfig& config);

// The phrase templates standing in for GPT-Neo's phrases ("{}" is the concept).
const std::vector<std::string>& searle_phrase_templates();

// The phrase of template `t` about `concept`.
std::string searle_phrase(const std::string& concept, int64_t t);

// The unit text features [V, D] of "a photo of {concept}" for each concept, without
// gradients, `batch` prompts at a time.
torch::Tensor concept_features(ClipTextTower& text, const ClipTokenizer& tokenizer,
                               const std::vector<std::string>& concepts, int64_t context, int64_t batch = 256);

// Per image, the indices of its k most similar concepts [N, min(k, V)] (int64 on the
// host, most similar first; similarities equal to 1e-12 are ties and keep the lower
// index): the cosine similarity of the image features [N, D] (any norm) with the
// concept features [V, D].
torch::Tensor top_concepts(const torch::Tensor& image_features, const torch::Tensor& concept_features, int64_t k);

}  // namespace spn
