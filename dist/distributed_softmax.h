#pragma once
// Exact softmax cross entropy of queries against a candidate bank that is sharded
// across ranks by contiguous row ranges (Megatron vocab-parallel / PartialFC style).
//
// Every rank holds all B queries (all-gathered with gradient) and its shard of the
// bank. One pass over the shard in column chunks keeps, per query, a running maximum,
// a running sum of exp(logit - max) and the matching weighted sum of bank rows
// (online softmax, as flash attention does). Ranks then all-reduce MAX of the row
// maxima and SUM of the rescaled exp-sums and positive statistics. The loss is exact;
// the gradient with respect to the queries is this shard's term, computed in the same
// pass, so the backward is local and the bank never moves. The all-gather's
// reduce-scatter backward then sums the shards' terms for each query. Peak memory is
// O(B x chunk) beyond the shard; the step costs 4*B*N*D flops over all ranks (4*B*N*T*D
// for token sets of T vectors: the gradient's matmul spreads each column's weight onto
// its best token, so it is as large as the logits').
#include <ATen/core/Tensor.h>

#include <vector>

#include "config/choices.h"
#include "dist/communicator.h"

namespace spn {

// How a query with several positives is scored: -log of the summed softmax mass of its
// positives (log-sum-exp over positives), or the mean of -log softmax over them.

struct SoftmaxTargets {
  std::vector<std::vector<int64_t>> positives;  // per query: global bank ids, at least one
  std::vector<std::vector<int64_t>> ignored;    // per query: ids left out of the softmax (may be empty)
  // The bank ids every query's softmax runs over, shared by all queries; empty means
  // the whole bank. Must hold every positive. (Fewer negatives than the bank: the
  // other columns are masked, so the arithmetic is the full bank's.)
  std::vector<int64_t> candidates;
};

// Bank columns (token vectors, for token sets) per block of the pass when the caller
// leaves the choice to the device (chunk 0): on the CPU 4096, so a block of logits stays
// in cache; on a GPU as many as keep a block at 2^26 elements (256 MiB of float32
// logits), so a pass over a large bank is a few large kernels rather than thousands of
// small ones whose launches bound the step (an H200 ran a 1M-row step with 4096 columns
// at 0.38x the PyTorch naive step).
int64_t automatic_chunk_columns(const c10::Device& device, int64_t queries);

// Mean over the B queries of the loss. `queries` [B, D] are the same on every rank,
// `bank_shard` [n, D] holds global bank rows [shard_begin, shard_begin + n) (n may be
// 0), `logit_scale` is a scalar (1/temperature; may require grad). A shard of token sets
// [n, T, D] (SPRC's 32 query-token features per image) scores a row by its best token,
// logit = scale * max_t <q, row_t>, and the gradient flows to that token (the first of
// equal ones). A bfloat16 or float16 shard is multiplied in that type (float32
// accumulation; statistics, positives' logits and the gradient's sums stay in the
// queries' float32; a bf16 shard's exponentials are bf16); the logits then carry the
// 16-bit rounding of each dot product (about 0.4% of it). The returned value is the full
// loss on every rank; each rank's backward yields its shard's part of the gradient,
// which the query all-gather and the parameter gradient sum add up. `chunk_columns` is
// the block width of the pass in bank rows; 0 = automatic_chunk_columns.
at::Tensor distributed_softmax_cross_entropy(Communicator& comm, const at::Tensor& queries,
                                             const at::Tensor& logit_scale, const at::Tensor& bank_shard,
                                             int64_t shard_begin, const SoftmaxTargets& targets, MultiPositive mode,
                                             int64_t chunk_columns);

// The same loss the direct way, on one process with the whole bank ([N, D] or token
// sets [N, T, D]): full B x N logits and ordinary log-softmax, as the reference
// implementation does. For tests and the benchmark's baseline.
at::Tensor full_softmax_cross_entropy(const at::Tensor& queries, const at::Tensor& logit_scale, const at::Tensor& bank,
                                      const SoftmaxTargets& targets, MultiPositive mode);

}  // namespace spn
