#pragma once
// What the steps of a run's pipeline share (launcher/pipeline_steps.h): the run's
// inputs, and what each earlier step produced, in the order the steps fill it in.
#include <memory>
#include <optional>
#include <vector>

#include "config/experiment_config.h"
#include "data/cirr.h"
#include "data/tokenizer.h"
#include "dist/communicator.h"
#include "launcher/eval_datasets.h"
#include "models/cir_model.h"
#include "track/run_record.h"
#include "train/candidate_bank.h"
#include "train/positive_scaling.h"
#include "train/triplet_data.h"

namespace spn {

struct RunContext {
  RunContext(Communicator& comm, const ExperimentConfig& config, RunRecord& run, const c10::Device& device,
             bool show_progress)
      : comm(comm), config(config), run(run), device(device), show_progress(show_progress) {}

  Communicator& comm;
  const ExperimentConfig& config;
  RunRecord& run;
  c10::Device device;  // where the models compute (dist/device.h)
  bool show_progress;  // rank 0 shows progress lines

  // dataset
  CirrSplit train;                 // empty when the run does not read [data] (reads_data)
  std::vector<EvalSet> eval_sets;  // eval.datasets, in order
  // training set: the annotated triplets (images mapped to their kept copy when
  // positive scaling de-duplicates), and the training images in row order. Row i of
  // the training images, and so of the stage-2 bank, is train.images[image_rows[i]].
  std::vector<CirrTriplet> annotated;
  std::vector<int64_t> image_rows;
  // captions (positive scaling only): de-duplication and a caption per image
  std::optional<PositiveSources> sources;
  // tokenizer, model
  std::unique_ptr<Tokenizer> tokenizer;
  std::shared_ptr<CirModel> model;
  std::shared_ptr<CirModel> miner;  // mining encoder, when mining runs before stage 1
  // positives: the generated triplets, once mined
  std::vector<CirrTriplet> generated;
  // banks (stage 2): the candidates, and the reference rows of a model whose references
  // are not targets (train/reference_bank.h)
  std::optional<CandidateBank> bank;
  std::optional<CandidateBank> reference_bank;

  // The training images (image_rows through [data]'s transform), which the loader
  // decodes as steps, the bank and mining need them; with data.cache = "hdf5" read from
  // the split's decoded-image cache, built on first use (a collective).
  const TripletData& training_images();
  // The training images with the triplets the stages train on: the annotated ones
  // (positives.annotated_repeats times with positive scaling) and the generated ones.
  TripletData training_data();

 private:
  std::optional<TripletData> images_;
};

}  // namespace spn
