#pragma once
// Embedding banks in HDF5 (serial library): the frozen candidate set of stage 2.
//   /embeddings  [N, D]  float16 (IEEE half, converted by torch and stored raw: HDF5
//                        1.10's own float-to-half conversion is slow and rounds wrongly)
//                        or float32; [N, T, D] for a bank of token sets (SPRC: T = 32
//                        query-token features per image)
//   /ids         [N]     image names (fixed-length strings)
//   attributes of /: format_version (1; 2 for token sets), fingerprint (encoder
//   weights + preprocessing), dim, tokens (version 2 only: T), dtype, normalized, rows,
//   ids_hash, producer_commit, created, content_hash (of the stored values, row by
//   row), and complete = 1, written last.
// A bank is written to a temporary name, each rank writing its own rows in turn (no
// rank ever holds the whole bank), and renamed when complete. Readers read only the
// rows they own (a hyperslab).
#include <ATen/core/Tensor.h>

#include <filesystem>
#include <string>
#include <vector>

#include "dist/communicator.h"

namespace spn {

struct BankMetadata {
  int64_t format_version = 1;
  std::string fingerprint;
  int64_t rows = 0;
  int64_t dim = 0;
  int64_t tokens = 0;             // 0: one vector per row [N, D]; T >= 1: token sets [N, T, D]
  std::string dtype = "float16";  // or "float32"
  bool normalized = true;
  std::string ids_hash;
  std::string producer_commit;
  std::string created;
  std::string content_hash;  // "" in banks written before it existed
};

// Hash of the ordered ids, as recorded in a bank.
std::string bank_ids_hash(const std::vector<std::string>& ids);

// Writes a bank from every rank's contiguous rows: this rank's `local_rows` ([n, D], or
// [n, T, D] when metadata.tokens = T) are global rows [first_row, first_row + n); `ids`
// (every id, in order) are only read on rank 0. The format version follows the tokens.
// Collective: every rank calls it.
void write_bank(Communicator& comm, const std::filesystem::path& path, const at::Tensor& local_rows, int64_t first_row,
                const std::vector<std::string>& ids, BankMetadata metadata);

// Reads and checks the attributes. A missing file, a file HDF5 cannot open (truncated
// or corrupt), missing datasets or attributes, shapes that disagree with them, or a
// missing completeness flag are UserErrors naming the file and the problem.
BankMetadata read_bank_metadata(const std::filesystem::path& path);

// The bank's ids, all of them.
std::vector<std::string> read_bank_ids(const std::filesystem::path& path);

// Rows [first_row, first_row + count) as float32 [count, D] (or [count, T, D]).
at::Tensor read_bank_rows(const std::filesystem::path& path, int64_t first_row, int64_t count);

// The content hash of a bank: the sum over its rows of a 32-bit hash of (global row
// index, stored values), so every rank can hash the rows it holds and the sums add up to
// the same value for any number of ranks. `rows` are float32 as read back (float16
// banks: their exact float32 values), global rows first_row ...
int64_t bank_rows_hash(const at::Tensor& rows, int64_t first_row);

// Refuses (UserError naming the file) a bank whose stored values no longer hash to its
// content_hash: every rank passes the rows it read (global rows first_row ...; together
// every row once). Collective. A bank without a content_hash is taken as it is.
void verify_bank_content(Communicator& comm, const std::filesystem::path& path, const BankMetadata& metadata,
                         const at::Tensor& local_rows, int64_t first_row);

// Refuses (UserError naming the mismatch) a bank that was not built for `expected`:
// fingerprint, dtype, dim, tokens per row, row count or ids hash differ.
void check_bank_matches(const std::filesystem::path& path, const BankMetadata& found, const BankMetadata& expected);

}  // namespace spn
