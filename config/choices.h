#pragma once
// Every closed set of options a config key chooses from, as an enum, with the names a
// config file spells them with. A choice is parsed into its enum once, when the config
// is read; code compares enums, never strings. ChoiceNames<E>::names lists the names in
// the enum's declaration order, so an enum's value is the index of its name.
#include <array>
#include <cstddef>
#include <string>

namespace spn {

template <class E>
struct ChoiceNames;  // specialised below for each choice enum

template <class E>
const char* choice_name(E value) {
  return ChoiceNames<E>::names[static_cast<size_t>(value)];
}

// precision: the dtype forward passes compute in (dist/autocast.h); weights, optimizer
// state, losses and gradients stay float32.
enum class Precision { Fp32, Bf16, Fp16 };
template <>
struct ChoiceNames<Precision> {
  static constexpr std::array<const char*, 3> names = {"fp32", "bf16", "fp16"};
};

// device: where a rank's model and batches live (dist/device.h).
enum class DeviceKind { Cpu, Cuda, Auto };
template <>
struct ChoiceNames<DeviceKind> {
  static constexpr std::array<const char*, 3> names = {"cpu", "cuda", "auto"};
};

// data.kind: which dataset a run trains and evaluates on.
enum class DataKind { Shapes, Cirr, FashionIq, Images };
template <>
struct ChoiceNames<DataKind> {
  static constexpr std::array<const char*, 4> names = {"shapes", "cirr", "fashioniq", "images"};
};

// data.shapes.preset: the built-in benchmark's sizes and image format.
enum class ShapesPreset { None, Cirr };
template <>
struct ChoiceNames<ShapesPreset> {
  static constexpr std::array<const char*, 2> names = {"none", "cirr"};
};

// data.preprocess: from a decoded image to the encoder's square input.
enum class Preprocess { Resize, CenterCrop, TargetPad };
template <>
struct ChoiceNames<Preprocess> {
  static constexpr std::array<const char*, 3> names = {"resize", "center_crop", "targetpad"};
};

// data.cache: where the loader takes a split's preprocessed images from.
enum class ImageCacheMode { None, Hdf5 };
template <>
struct ChoiceNames<ImageCacheMode> {
  static constexpr std::array<const char*, 2> names = {"none", "hdf5"};
};

// data.augment: what training images go through after preprocessing (data/image_augment.h).
enum class ImageAugmentKind { None, RandomResizedCrop };
template <>
struct ChoiceNames<ImageAugmentKind> {
  static constexpr std::array<const char*, 2> names = {"none", "random_resized_crop"};
};

// data.fashioniq.caption_join: how a FashionIQ query's two captions become its text(s).
enum class CaptionJoin { Capitalized, Plain, Pic2Word, BothOrders };
template <>
struct ChoiceNames<CaptionJoin> {
  static constexpr std::array<const char*, 4> names = {"capitalized", "plain", "pic2word", "both_orders"};
};

// model.truncation: CLIP texts longer than the context.
enum class TruncationPolicy {
  kTruncate,  // keep the first context_length - 1 tokens and end with <|endoftext|> (open_clip)
  kError,     // a UserError naming the text (OpenAI's clip.tokenize without truncate=True)
};
template <>
struct ChoiceNames<TruncationPolicy> {
  static constexpr std::array<const char*, 2> names = {"truncate", "error"};
};

// stage1.negatives: SPN's in-batch negative types (train/negative_types.h).
enum class NegativeType { Target, Query, Reference, Text };
template <>
struct ChoiceNames<NegativeType> {
  static constexpr std::array<const char*, 4> names = {"target", "query", "reference", "text"};
};

// stage2.bank_dtype: the precision a bank is stored in.
enum class BankDtype { Float16, Float32 };
template <>
struct ChoiceNames<BankDtype> {
  static constexpr std::array<const char*, 2> names = {"float16", "float32"};
};

// stage2.bank_mode: how the bank is spread over ranks.
enum class BankMode { Sharded, Replicated };
template <>
struct ChoiceNames<BankMode> {
  static constexpr std::array<const char*, 2> names = {"sharded", "replicated"};
};

// stage2.reference_features: where a stage-2 query's reference features come from.
enum class ReferenceFeatures { Bank, Encoder };
template <>
struct ChoiceNames<ReferenceFeatures> {
  static constexpr std::array<const char*, 2> names = {"bank", "encoder"};
};

// stage2.positives: which bank rows count as a query's positives.
enum class TargetPositives { Target, TargetSoft };
template <>
struct ChoiceNames<TargetPositives> {
  static constexpr std::array<const char*, 2> names = {"target", "target_soft"};
};

// stage2.multi_positive: the loss of a query with several positives.
enum class MultiPositive { LogSumExp, Mean };
template <>
struct ChoiceNames<MultiPositive> {
  static constexpr std::array<const char*, 2> names = {"logsumexp", "mean"};
};

// stage2.negatives: the candidates of a query's softmax.
enum class Stage2Negatives { Bank, Batch, Sample };
template <>
struct ChoiceNames<Stage2Negatives> {
  static constexpr std::array<const char*, 3> names = {"bank", "batch", "sample"};
};

// stage1.lr_schedule, stage2.lr_schedule: the learning rate (and AdamW's beta1) over a
// stage's steps (train/lr_schedule.h).
enum class LrSchedule { WarmupCosine, OneCycle, Constant };
template <>
struct ChoiceNames<LrSchedule> {
  static constexpr std::array<const char*, 3> names = {"warmup_cosine", "onecycle", "constant"};
};

// positives.captioner: who writes the captions of positive scaling.
enum class CaptionerKind { Annotations, OpenAi };
template <>
struct ChoiceNames<CaptionerKind> {
  static constexpr std::array<const char*, 2> names = {"annotations", "openai"};
};

// eval.remove_reference: whether a query's reference image is ranked.
enum class RemoveReference { Official, Yes };
template <>
struct ChoiceNames<RemoveReference> {
  static constexpr std::array<const char*, 2> names = {"official", "yes"};
};

// eval.datasets: what each stage is evaluated on, each with its own protocol.
enum class EvalDataset { Data, Cirr, FashionIq, Circo };
template <>
struct ChoiceNames<EvalDataset> {
  static constexpr std::array<const char*, 4> names = {"data", "cirr", "fashioniq", "circo"};
};

// eval.circo.source: CIRCO's files, or the built-in benchmark's CIRCO-style split.
enum class CircoSource { Files, Shapes };
template <>
struct ChoiceNames<CircoSource> {
  static constexpr std::array<const char*, 2> names = {"files", "shapes"};
};

// searle.query_words: where a SEARLE query's pseudo word comes from at test time.
enum class SearleQueryWords { Phi, Oti };
template <>
struct ChoiceNames<SearleQueryWords> {
  static constexpr std::array<const char*, 2> names = {"phi", "oti"};
};

}  // namespace spn
