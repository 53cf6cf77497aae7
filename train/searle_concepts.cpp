#include "train/searle_concepts.h"

#include <torch/torch.h>

#include <algorithm>
#include <fstream>
#include <set>

#include "core/error.h"
#include "data/shapes_scene.h"
#include "models/clip_text.h"
#include "models/clip_tokenizer.h"

namespace spn {

std::vector<std::string> shapes_concepts() {
  std::vector<std::string> concepts;
  for (int color = 0; color < shapes::kColorCount; ++color)
    for (int shape = 0; shape < shapes::kShapeCount; ++shape)
      concepts.push_back(std::string(shapes::color_name(color)) + " " + shapes::shape_name_of(shape));
  return concepts;
}

std::vector<std::string> searle_concepts(const ExperimentConfig& config) {
  const std::string& file = config.searle.concepts;
  if (file.empty()) {
    if (config.data.kind != DataKind::Shapes)
      throw UserError(config.where("searle.concepts") +
                      ": SEARLE's phi training needs a concept vocabulary (a text file, one concept a line, e.g. "
                      "the class names SEARLE ranks); only the built-in benchmark has a default");
    return shapes_concepts();
  }
  std::ifstream in(file);
  if (!in) throw UserError(config.where("searle.concepts") + ": " + file + " not found or not readable");
  std::vector<std::string> concepts;
  std::set<std::string> seen;
  for (std::string line; std::getline(in, line);) {
    const auto first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos) continue;
    const auto last = line.find_last_not_of(" \t\r");
    std::string concept = line.substr(first, last - first + 1);
    if (seen.insert(concept).second) concepts.push_back(std::move(concept));
  }
  if (concepts.empty()) throw UserError(config.where("searle.concepts") + ": " + file + " holds no concept");
  return concepts;
}

const std::vector<std::string>& searle_phrase_templates() {
  // Short descriptive sentences about the concept, the form of SEARLE's GPT-Neo
  // phrases ("a photo of a dog that ..."); each holds the concept once.
  static const std::vector<std::string> templates = {
      "a photo of {} that stands out from the background", "a picture of {} seen from the front",
      "{} shown on a plain background", "a close-up image of {}", "a simple drawing of {} in the middle"};
  return templates;
}

std::string searle_phrase(const std::string& concept, int64_t t) {
  std::string phrase = searle_phrase_templates().at(static_cast<size_t>(t));
  phrase.replace(phrase.find("{}"), 2, concept);
  return phrase;
}

torch::Tensor concept_features(ClipTextTower& text, const ClipTokenizer& tokenizer,
                               const std::vector<std::string>& concepts, int64_t context, int64_t batch) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> parts;
  for (size_t at = 0; at < concepts.size(); at += static_cast<size_t>(batch)) {
    std::vector<std::string> prompts;
    for (size_t i = at; i < std::min(concepts.size(), at + static_cast<size_t>(batch)); ++i)
      prompts.push_back("a photo of " + concepts[i]);
    const torch::Tensor tokens = tokenizer.tokenize(prompts, context, TruncationPolicy::kTruncate);
    parts.push_back(text.forward(tokens.to(text.parameters().front().device())).to(torch::kFloat).cpu());
  }
  return torch::nn::functional::normalize(torch::cat(parts), torch::nn::functional::NormalizeFuncOptions().dim(1));
}

torch::Tensor top_concepts(const torch::Tensor& image_features, const torch::Tensor& concept_features, int64_t k) {
  namespace F = torch::nn::functional;
  const auto unit = F::NormalizeFuncOptions().dim(1);
  // On the host in float64: the ranking is small, and the same on every device.
  const auto host = torch::TensorOptions().dtype(torch::kDouble).device(torch::kCPU);
  const torch::Tensor similarity =
      torch::mm(F::normalize(image_features.to(host), unit), F::normalize(concept_features.to(host), unit).t());
  const int64_t keep = std::min(k, concept_features.size(0));
  // Similarities equal to 1e-12 are ties, and a stable sort keeps the lower index first
  // among them. Rounding is what makes equal concepts tie: a BLAS product gives two equal
  // columns results that differ in the last bits on some CPUs (seen with equal rows).
  const torch::Tensor rounded = (similarity * 1e12).round();
  const torch::Tensor order = std::get<1>(rounded.sort(/*stable=*/true, /*dim=*/1, /*descending=*/true));
  return order.narrow(1, 0, keep).contiguous();
}

}  // namespace spn
