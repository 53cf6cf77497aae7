#pragma once
// Stage 2's reference bank, for models whose reference rows are not target rows
// (CirModel::references_are_targets false; SPRC): the frozen part of each training
// query, encode_reference_row of its reference image and text, one row per text row of
// TripletData (each triplet's own texts), so a step decodes no image; a step reads its rows with bank_rows. SPRC's
// rows are the fusion pass's query slots [Q, H] (32 x 768 at BLIP-2's size), which SPN4CIR keeps as its "refer bank".
// Stored, shared, sharded and checked like the candidate bank (train/candidate_bank.h), in files
// reference-bank-v2-<fingerprint>-<ids hash>-<dtype>.h5.
#include "train/candidate_bank.h"

namespace spn {

// Every rank calls it. The ids name each row's reference image and a hash of its tokens,
// so another text set is another bank; the fingerprint covers the tensors the rows
// depend on (CirModel::reference_row_tensors) and the preprocessing.
CandidateBank prepare_reference_bank(Communicator& comm, CirModel& model, const TripletData& data,
                                     const CirrSplit& train, const ExperimentConfig& config, bool show_progress);

}  // namespace spn
