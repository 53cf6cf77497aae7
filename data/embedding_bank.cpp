#include "data/embedding_bank.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <stdexcept>

#include "core/clock.h"
#include "core/error.h"
#include "core/files.h"
#include "core/hash.h"
#include "data/hdf5_file.h"

namespace spn {
namespace {

using hdf5::check;
using hdf5::Handle;
using hdf5::write_int_attribute;
using hdf5::write_string_attribute;

void check_write(herr_t status, const std::string& what, const fs::path& file) {
  hdf5::check_write(status, what, file, "the bank");
}

// IEEE 754 half precision, as numpy and h5py define float16.
Handle half_type() {
  Handle type(H5Tcopy(H5T_IEEE_F32LE), H5Tclose);
  check(H5Tset_fields(type.get(), 15, 10, 5, 0, 10), "half type fields");
  check(H5Tset_size(type.get(), 2), "half type size");
  check(H5Tset_ebias(type.get(), 15), "half type bias");
  return type;
}

class BankReader {
 public:
  explicit BankReader(const fs::path& path) : path_(path), file_(-1, H5Fclose) {
    hdf5::silence();
    if (!fs::exists(path)) throw UserError(path.string() + ": bank not found");
    const std::string format_problem = hdf5::checksummed_format_problem(path);
    if (!format_problem.empty()) fail(format_problem);
    file_ = Handle(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
    if (!file_.valid()) fail("cannot be opened as HDF5 (truncated or corrupt)");
  }
  hid_t file() const { return file_.get(); }

  bool has_attribute(const char* name) const { return H5Aexists(file_.get(), name) > 0; }

  int64_t integer(const char* name) const {
    if (!has_attribute(name)) fail(std::string("missing attribute '") + name + "'");
    const std::optional<int64_t> value = hdf5::read_int_attribute(file_.get(), name);
    if (!value) fail(std::string("unreadable attribute '") + name + "'");
    return *value;
  }

  std::string text(const char* name) const {
    if (!has_attribute(name)) fail(std::string("missing attribute '") + name + "'");
    const std::optional<std::string> value = hdf5::read_string_attribute(file_.get(), name);
    if (!value) fail(std::string("attribute '") + name + "' is not a string");
    return *value;
  }

  // The [rows, cols] shape of a 1- or 2-dimensional dataset.
  std::vector<hsize_t> shape(const char* dataset_name) const {
    if (H5Lexists(file_.get(), dataset_name, H5P_DEFAULT) <= 0) fail(std::string("missing dataset ") + dataset_name);
    Handle dataset(H5Dopen2(file_.get(), dataset_name, H5P_DEFAULT), H5Dclose);
    if (!dataset.valid()) fail(std::string("/") + dataset_name + " is not a readable dataset");
    Handle space(H5Dget_space(dataset.get()), H5Sclose);
    const int rank = space.valid() ? H5Sget_simple_extent_ndims(space.get()) : -1;
    if (rank < 0) fail(std::string("/") + dataset_name + " has no readable shape");
    std::vector<hsize_t> dims(rank);
    H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
    return dims;
  }

  [[noreturn]] void fail(const std::string& message) const { throw UserError(path_.string() + ": " + message); }

 private:
  fs::path path_;
  Handle file_;
};

// The values as the bank stores them: float16 (rounded by torch) or float32.
at::Tensor stored_rows(const at::Tensor& rows, bool half) {
  return rows.to(half ? at::kHalf : at::kFloat).contiguous();
}

// The extent of `rows` bank rows: [rows, dim], or [rows, tokens, dim] for token sets.
std::vector<hsize_t> row_extent(const BankMetadata& metadata, int64_t rows) {
  if (metadata.tokens > 0)
    return {static_cast<hsize_t>(rows), static_cast<hsize_t>(metadata.tokens), static_cast<hsize_t>(metadata.dim)};
  return {static_cast<hsize_t>(rows), static_cast<hsize_t>(metadata.dim)};
}

// Selects rows [first_row, first_row + extent[0]) of the dataset's `space`.
void select_rows(hid_t space, int64_t first_row, const std::vector<hsize_t>& extent) {
  std::vector<hsize_t> start(extent.size(), 0);
  start[0] = static_cast<hsize_t>(first_row);
  check(H5Sselect_hyperslab(space, H5S_SELECT_SET, start.data(), nullptr, extent.data(), nullptr), "hyperslab");
}

}  // namespace

std::string bank_ids_hash(const std::vector<std::string>& ids) {
  uint64_t hash = kFnvOffset;
  for (const auto& id : ids) hash = fnv1a(id + '\n', hash);
  return hex64(hash);
}

namespace {

// write_bank's work, into `temporary`, renamed to `path` when complete.
void write_bank_through(Communicator& comm, const fs::path& temporary, const fs::path& path,
                        const at::Tensor& local_rows, int64_t first_row, const std::vector<std::string>& ids,
                        BankMetadata metadata) {
  const bool half = metadata.dtype == "float16";
  const hsize_t rows = static_cast<hsize_t>(metadata.rows);

  if (comm.rank() == 0) {
    if (static_cast<int64_t>(ids.size()) != metadata.rows)
      throw std::invalid_argument("write_bank: " + std::to_string(ids.size()) + " ids for " +
                                  std::to_string(metadata.rows) + " rows");
    make_directories(path.parent_path());
    errno = 0;
    // The newest file format: its superblock, object headers and attributes carry
    // checksums, which the reader relies on (BankReader).
    const Handle access = hdf5::checksummed_file_access();
    Handle file(H5Fcreate(temporary.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, access.get()), H5Fclose);
    if (!file.valid())  // stage2.bank_dir is not writable
      throw UserError(temporary.string() + ": cannot create the bank file (" +
                      (errno != 0 ? std::strerror(errno) : "HDF5 refused it") + ")");
    const std::vector<hsize_t> shape = row_extent(metadata, metadata.rows);
    Handle space(H5Screate_simple(static_cast<int>(shape.size()), shape.data(), nullptr), H5Sclose);
    Handle stored = half ? half_type() : Handle(H5Tcopy(H5T_IEEE_F32LE), H5Tclose);
    Handle embeddings(
        H5Dcreate2(file.get(), "embeddings", stored.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
        H5Dclose);
    check(embeddings.valid() ? 0 : -1, "creating /embeddings");

    size_t longest = 1;
    for (const auto& id : ids) longest = std::max(longest, id.size());
    std::string packed(longest * ids.size(), '\0');
    for (size_t i = 0; i < ids.size(); ++i) packed.replace(i * longest, ids[i].size(), ids[i]);
    Handle string_type(H5Tcopy(H5T_C_S1), H5Tclose);
    check(H5Tset_size(string_type.get(), longest), "id string size");
    Handle id_space(H5Screate_simple(1, &rows, nullptr), H5Sclose);
    Handle id_set(
        H5Dcreate2(file.get(), "ids", string_type.get(), id_space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
        H5Dclose);
    errno = 0;
    if (rows > 0)
      check_write(H5Dwrite(id_set.get(), string_type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, packed.data()), "ids",
                  temporary);
    check_write(H5Fflush(file.get(), H5F_SCOPE_GLOBAL), "flush", temporary);
  }
  comm.barrier();

  // Each rank writes its own rows, one rank at a time (the serial library allows one
  // writer per file).
  for (int writer = 0; writer < comm.size(); ++writer) {
    if (writer == comm.rank() && local_rows.size(0) > 0) {
      Handle file(H5Fopen(temporary.c_str(), H5F_ACC_RDWR, H5P_DEFAULT), H5Fclose);
      if (!file.valid()) throw std::runtime_error("cannot open " + temporary.string());
      Handle embeddings(H5Dopen2(file.get(), "embeddings", H5P_DEFAULT), H5Dclose);
      Handle space(H5Dget_space(embeddings.get()), H5Sclose);
      const std::vector<hsize_t> count = row_extent(metadata, local_rows.size(0));
      select_rows(space.get(), first_row, count);
      Handle memory(H5Screate_simple(static_cast<int>(count.size()), count.data(), nullptr), H5Sclose);
      // float16 is converted by torch (round to nearest even) and written as raw bits.
      const at::Tensor data = stored_rows(local_rows, half);
      Handle memory_type = half ? half_type() : Handle(H5Tcopy(H5T_NATIVE_FLOAT), H5Tclose);
      errno = 0;
      check_write(
          H5Dwrite(embeddings.get(), memory_type.get(), memory.get(), space.get(), H5P_DEFAULT, data.data_ptr()),
          "writing embeddings", temporary);
      // What HDF5 still buffers reaches the disk here, where a failure can be reported.
      check_write(H5Fflush(file.get(), H5F_SCOPE_GLOBAL), "flush", temporary);
    }
    comm.barrier();
  }

  // Of the values as stored (float16 rounding included), so a reader can check them.
  at::Tensor content = at::tensor({bank_rows_hash(stored_rows(local_rows, half).to(at::kFloat), first_row)}, at::kLong);
  comm.all_reduce(content, ReduceOp::Sum);
  metadata.content_hash = hex64(static_cast<uint64_t>(content.item<int64_t>()));

  if (comm.rank() == 0) {
    {
      Handle file(H5Fopen(temporary.c_str(), H5F_ACC_RDWR, H5P_DEFAULT), H5Fclose);
      const hid_t root = file.get();
      write_int_attribute(root, "format_version", metadata.format_version);
      write_string_attribute(root, "fingerprint", metadata.fingerprint);
      write_int_attribute(root, "dim", metadata.dim);
      if (metadata.tokens > 0) write_int_attribute(root, "tokens", metadata.tokens);
      write_string_attribute(root, "dtype", metadata.dtype);
      write_int_attribute(root, "normalized", metadata.normalized ? 1 : 0);
      write_int_attribute(root, "rows", metadata.rows);
      write_string_attribute(root, "ids_hash", bank_ids_hash(ids));
      write_string_attribute(root, "producer_commit", metadata.producer_commit);
      write_string_attribute(root, "created", metadata.created.empty() ? utc_now() : metadata.created);
      write_string_attribute(root, "content_hash", metadata.content_hash);
      write_int_attribute(root, "complete", 1);  // last: a reader trusts nothing without it
      errno = 0;
      check_write(H5Fflush(root, H5F_SCOPE_GLOBAL), "flush", temporary);
    }
    commit_temporary(temporary, path);
  }
  comm.barrier();
}

}  // namespace

void write_bank(Communicator& comm, const fs::path& path, const at::Tensor& local_rows, int64_t first_row,
                const std::vector<std::string>& ids, BankMetadata metadata) {
  hdf5::silence();
  if (metadata.dtype != "float16" && metadata.dtype != "float32")
    throw std::invalid_argument("bank dtype must be float16 or float32, not " + metadata.dtype);
  const std::vector<int64_t> expected_shape =
      metadata.tokens > 0 ? std::vector<int64_t>{local_rows.size(0), metadata.tokens, metadata.dim}
                          : std::vector<int64_t>{local_rows.size(0), metadata.dim};
  if (local_rows.size(0) > 0 && !local_rows.sizes().equals(expected_shape))
    throw std::invalid_argument("write_bank: rows of shape " + std::string(c10::str(local_rows.sizes())) +
                                " for a bank of dim " + std::to_string(metadata.dim) + " and " +
                                std::to_string(metadata.tokens) + " tokens");
  // Version 2 added token sets; a plain bank is still written as version 1, which every
  // earlier reader takes.
  metadata.format_version = metadata.tokens > 0 ? 2 : 1;
  const fs::path temporary = path.string() + ".partial";
  try {
    write_bank_through(comm, temporary, path, local_rows, first_row, ids, std::move(metadata));
  } catch (...) {
    // Any rank that fails removes the half-written file; the job ends with its error.
    std::error_code ignored;
    fs::remove(temporary, ignored);
    throw;
  }
}

BankMetadata read_bank_metadata(const fs::path& path) {
  BankReader reader(path);
  if (!reader.has_attribute("complete") || reader.integer("complete") != 1)
    reader.fail("incomplete bank (no complete = 1 attribute): its writer did not finish");
  BankMetadata metadata;
  metadata.format_version = reader.integer("format_version");
  if (metadata.format_version != 1 && metadata.format_version != 2)
    reader.fail("unsupported format_version " + std::to_string(metadata.format_version));
  if (metadata.format_version == 2) {
    metadata.tokens = reader.integer("tokens");
    if (metadata.tokens < 1) reader.fail("attribute 'tokens' must be at least 1");
  }
  metadata.fingerprint = reader.text("fingerprint");
  metadata.rows = reader.integer("rows");
  metadata.dim = reader.integer("dim");
  metadata.dtype = reader.text("dtype");
  metadata.normalized = reader.integer("normalized") != 0;
  metadata.ids_hash = reader.text("ids_hash");
  metadata.producer_commit = reader.text("producer_commit");
  metadata.created = reader.text("created");
  if (reader.has_attribute("content_hash")) metadata.content_hash = reader.text("content_hash");
  if (reader.shape("embeddings") != row_extent(metadata, metadata.rows))
    reader.fail("/embeddings shape disagrees with the rows, tokens and dim attributes");
  const auto id_shape = reader.shape("ids");
  if (id_shape.size() != 1 || static_cast<int64_t>(id_shape[0]) != metadata.rows)
    reader.fail("/ids length disagrees with the rows attribute");
  if (metadata.dtype != "float16" && metadata.dtype != "float32") reader.fail("unknown dtype '" + metadata.dtype + "'");
  return metadata;
}

std::vector<std::string> read_bank_ids(const fs::path& path) {
  BankReader reader(path);
  const auto shape = reader.shape("ids");
  if (shape.size() != 1) reader.fail("/ids must be one-dimensional");
  Handle dataset(H5Dopen2(reader.file(), "ids", H5P_DEFAULT), H5Dclose);
  Handle type(H5Dget_type(dataset.get()), H5Tclose);
  // Fixed-length strings, as write_bank stores them: the buffer below holds their bytes.
  if (H5Tget_class(type.get()) != H5T_STRING || H5Tis_variable_str(type.get()) != 0)
    reader.fail("/ids must hold fixed-length strings");
  const size_t width = H5Tget_size(type.get());
  std::string packed(width * shape[0], '\0');
  if (shape[0] > 0 && H5Dread(dataset.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, packed.data()) < 0)
    reader.fail("unreadable /ids");
  std::vector<std::string> ids;
  for (hsize_t i = 0; i < shape[0]; ++i) {
    const std::string field = packed.substr(i * width, width);
    ids.push_back(field.substr(0, field.find('\0')));
  }
  return ids;
}

at::Tensor read_bank_rows(const fs::path& path, int64_t first_row, int64_t count) {
  BankReader reader(path);
  const BankMetadata metadata = read_bank_metadata(path);
  if (first_row < 0 || count < 0 || first_row + count > metadata.rows)
    reader.fail("rows [" + std::to_string(first_row) + ", " + std::to_string(first_row + count) + ") out of range");
  const bool half = metadata.dtype == "float16";
  const std::vector<hsize_t> extent = row_extent(metadata, count);
  const std::vector<int64_t> sizes(extent.begin(), extent.end());
  at::Tensor rows = at::empty(sizes, half ? at::kHalf : at::kFloat);
  if (count == 0) return rows.to(at::kFloat);
  Handle dataset(H5Dopen2(reader.file(), "embeddings", H5P_DEFAULT), H5Dclose);
  Handle space(H5Dget_space(dataset.get()), H5Sclose);
  select_rows(space.get(), first_row, extent);
  Handle memory(H5Screate_simple(static_cast<int>(extent.size()), extent.data(), nullptr), H5Sclose);
  Handle memory_type = half ? half_type() : Handle(H5Tcopy(H5T_NATIVE_FLOAT), H5Tclose);
  if (H5Dread(dataset.get(), memory_type.get(), memory.get(), space.get(), H5P_DEFAULT, rows.data_ptr()) < 0)
    reader.fail("unreadable /embeddings rows (truncated or corrupt file)");
  return rows.to(at::kFloat);
}

int64_t bank_rows_hash(const at::Tensor& rows, int64_t first_row) {
  const at::Tensor values = rows.to(at::kFloat).contiguous();
  // A row's values: D of them, or T x D for a token set.
  const int64_t dim = values.dim() >= 2 && values.size(0) > 0 ? values.numel() / values.size(0) : 0;
  int64_t sum = 0;  // of 32-bit values: no overflow below 2^31 rows
  for (int64_t r = 0; r < values.size(0); ++r) {
    const uint64_t row_hash = fnv1a(values.data_ptr<float>() + r * dim, static_cast<size_t>(dim) * sizeof(float),
                                    mix_seed(kFnvOffset, static_cast<uint64_t>(first_row + r)));
    sum += static_cast<int64_t>(row_hash >> 32);
  }
  return sum;
}

void verify_bank_content(Communicator& comm, const fs::path& path, const BankMetadata& metadata,
                         const at::Tensor& local_rows, int64_t first_row) {
  at::Tensor content = at::tensor({bank_rows_hash(local_rows, first_row)}, at::kLong);
  comm.all_reduce(content, ReduceOp::Sum);
  if (metadata.content_hash.empty()) return;
  const std::string found = hex64(static_cast<uint64_t>(content.item<int64_t>()));
  if (found != metadata.content_hash)
    throw UserError(path.string() + ": corrupt bank: its embeddings hash to " + found + ", not to the content_hash " +
                    metadata.content_hash + " written with them; remove the file and rerun to rebuild it");
}

void check_bank_matches(const fs::path& path, const BankMetadata& found, const BankMetadata& expected) {
  const auto refuse = [&](const std::string& what, const std::string& has, const std::string& wanted) {
    throw UserError(path.string() + ": bank " + what + " mismatch: the file has " + has + ", this run needs " + wanted);
  };
  if (found.fingerprint != expected.fingerprint) refuse("encoder fingerprint", found.fingerprint, expected.fingerprint);
  if (found.dtype != expected.dtype) refuse("dtype", found.dtype, expected.dtype);
  if (found.dim != expected.dim) refuse("dim", std::to_string(found.dim), std::to_string(expected.dim));
  if (found.tokens != expected.tokens)
    refuse("tokens per row", std::to_string(found.tokens), std::to_string(expected.tokens));
  if (found.rows != expected.rows) refuse("row count", std::to_string(found.rows), std::to_string(expected.rows));
  if (found.ids_hash != expected.ids_hash) refuse("ids", "ids hash " + found.ids_hash, "ids hash " + expected.ids_hash);
}

}  // namespace spn
