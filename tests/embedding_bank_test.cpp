#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <hdf5.h>

#include "core/error.h"
#include "core/files.h"
#include "core/hash.h"
#include "data/embedding_bank.h"
#include "dist/sharding.h"
#include "test_files.h"
#include "test_world.h"

namespace spn {
namespace {

namespace fs = std::filesystem;

BankMetadata metadata_for(int64_t rows, int64_t dim, const std::string& dtype) {
  BankMetadata metadata;
  metadata.fingerprint = "encoder-abc";
  metadata.rows = rows;
  metadata.dim = dim;
  metadata.dtype = dtype;
  metadata.producer_commit = "0123456789abcdef";
  return metadata;
}

std::vector<std::string> ids_for(int64_t rows) {
  std::vector<std::string> ids;
  for (int64_t i = 0; i < rows; ++i) ids.push_back("image-" + std::to_string(i * 13));
  return ids;
}

// Every rank writes its rows; every rank reads back its own hyperslab; rank 0 reads all.
// Plain banks [N, D] and banks of token sets [N, T, D] (format version 2).
TEST(DistBank, RoundTripFloat16AndFloat32WithUnevenShards) {
  Communicator& comm = testing::world();
  const fs::path dir = testing::shared_temp_dir(comm, "bank");
  constexpr int64_t kRows = 11, kDim = 6;
  const ShardRange mine = shard_range(kRows, comm.size(), comm.rank());
  for (int64_t tokens : {0, 3}) {
    at::manual_seed(3);
    const at::Tensor bank = tokens > 0 ? at::randn({kRows, tokens, kDim}) : at::randn({kRows, kDim});
    for (const std::string dtype : {"float16", "float32"}) {
      const std::string label = dtype + ", tokens " + std::to_string(tokens);
      const fs::path path = dir / (dtype + "-" + std::to_string(tokens) + ".h5");
      BankMetadata metadata = metadata_for(kRows, kDim, dtype);
      metadata.tokens = tokens;
      write_bank(comm, path, bank.narrow(0, mine.begin, mine.size()), mine.begin, ids_for(kRows), metadata);
      EXPECT_FALSE(fs::exists(path.string() + ".partial"));
      const BankMetadata read = read_bank_metadata(path);
      EXPECT_EQ(read.rows, kRows);
      EXPECT_EQ(read.dim, kDim);
      EXPECT_EQ(read.tokens, tokens);
      EXPECT_EQ(read.format_version, tokens > 0 ? 2 : 1) << "plain banks keep the version earlier readers take";
      EXPECT_EQ(read.dtype, dtype);
      EXPECT_EQ(read.fingerprint, "encoder-abc");
      EXPECT_EQ(read.ids_hash, bank_ids_hash(ids_for(kRows)));
      EXPECT_FALSE(read.created.empty());
      // float16 must equal torch's own rounding exactly: HDF5 does no conversion.
      const at::Tensor expected = dtype == "float16" ? bank.to(at::kHalf).to(at::kFloat) : bank;
      const at::Tensor rows = read_bank_rows(path, mine.begin, mine.size());
      EXPECT_TRUE(at::equal(rows, expected.narrow(0, mine.begin, mine.size()))) << label;
      // The content hash is the same whatever the number of ranks that wrote it.
      EXPECT_EQ(read.content_hash, hex64(static_cast<uint64_t>(bank_rows_hash(expected, 0)))) << label;
      EXPECT_NO_THROW(verify_bank_content(comm, path, read, rows, mine.begin));
      if (comm.rank() == 0) {
        EXPECT_TRUE(at::equal(read_bank_rows(path, 0, kRows), expected)) << label;
        EXPECT_EQ(read_bank_ids(path), ids_for(kRows));
      }
      comm.barrier();
    }
  }
  if (comm.rank() == 0) fs::remove_all(dir);
}

class BankRefusals : public ::testing::Test {
 protected:
  void SetUp() override {
    comm_ = make_local_communicator();
    dir_ = testing::shared_temp_dir(*comm_, "bank-refusals");
    path_ = dir_ / "bank.h5";
    write_bank(*comm_, path_, at::randn({40, 8}), 0, ids_for(40), metadata_for(40, 8, "float16"));
  }
  void TearDown() override { fs::remove_all(dir_); }

  static std::string error_of(const std::function<void()>& action) {
    try {
      action();
    } catch (const UserError& error) {
      return error.what();
    }
    return "";
  }

  std::unique_ptr<Communicator> comm_;
  fs::path dir_, path_;
};

TEST_F(BankRefusals, MismatchesAreNamed) {
  const BankMetadata found = read_bank_metadata(path_);
  BankMetadata expected = found;
  EXPECT_EQ(error_of([&] { check_bank_matches(path_, found, expected); }), "");
  expected.fingerprint = "encoder-xyz";
  EXPECT_NE(error_of([&] { check_bank_matches(path_, found, expected); }).find("encoder fingerprint mismatch"),
            std::string::npos);
  expected = found;
  expected.ids_hash = bank_ids_hash(ids_for(41));
  EXPECT_NE(error_of([&] { check_bank_matches(path_, found, expected); }).find("ids mismatch"), std::string::npos);
  expected = found;
  expected.dtype = "float32";
  EXPECT_NE(error_of([&] { check_bank_matches(path_, found, expected); }).find("dtype mismatch"), std::string::npos);
  expected = found;
  expected.tokens = 32;  // a token-set model's bank
  EXPECT_NE(error_of([&] { check_bank_matches(path_, found, expected); }).find("tokens per row mismatch"),
            std::string::npos);
}

TEST_F(BankRefusals, RowsOfAnotherShapeAreNotWritten) {
  BankMetadata metadata = metadata_for(4, 8, "float32");
  metadata.tokens = 2;
  EXPECT_THROW(write_bank(*comm_, dir_ / "wrong.h5", at::randn({4, 8}), 0, ids_for(4), metadata),
               std::invalid_argument);
  EXPECT_FALSE(fs::exists(dir_ / "wrong.h5"));
  EXPECT_FALSE(fs::exists(dir_ / "wrong.h5.partial"));
}

TEST_F(BankRefusals, IncompleteBankIsRefused) {
  {
    hid_t file = H5Fopen(path_.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    ASSERT_GE(file, 0);
    H5Adelete(file, "complete");
    H5Fclose(file);
  }
  const std::string error = error_of([&] { read_bank_metadata(path_); });
  EXPECT_NE(error.find("bank.h5: incomplete bank"), std::string::npos) << error;
}

TEST_F(BankRefusals, TruncatedFileIsRefused) {
  const std::string bytes = read_file(path_);
  write_file_atomic(path_, bytes.substr(0, bytes.size() * 2 / 3));
  const std::string error = error_of([&] { read_bank_metadata(path_); });
  EXPECT_NE(error.find("bank.h5"), std::string::npos) << error;
  EXPECT_FALSE(error.empty());
  EXPECT_NE(error_of([&] { read_bank_metadata(dir_ / "none.h5"); }).find("bank not found"), std::string::npos);
}

// libhdf5 parses its older formats' metadata unchecked (and reads corrupt metadata out of
// bounds), so only files with checksummed metadata, as write_bank writes them, are opened.
TEST_F(BankRefusals, FilesWithoutMetadataChecksumsAreRefused) {
  const fs::path old_format = dir_ / "old.h5";
  H5Fclose(H5Fcreate(old_format.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));  // libhdf5's default format
  std::string error = error_of([&] { read_bank_metadata(old_format); });
  EXPECT_NE(error.find("old.h5: HDF5 superblock version 0 has no checksums"), std::string::npos) << error;
  write_file_atomic(dir_ / "text.h5", "not a bank");
  error = error_of([&] { read_bank_ids(dir_ / "text.h5"); });
  EXPECT_NE(error.find("text.h5: not an HDF5 file"), std::string::npos) << error;
}

// A value changed inside /embeddings after the bank was written (a flipped byte on disk)
// no longer hashes to content_hash, and reuse is refused naming the file.
TEST_F(BankRefusals, ChangedEmbeddingsAreRefused) {
  const BankMetadata metadata = read_bank_metadata(path_);
  ASSERT_FALSE(metadata.content_hash.empty());
  const at::Tensor rows = read_bank_rows(path_, 0, metadata.rows);
  EXPECT_EQ(error_of([&] { verify_bank_content(*comm_, path_, metadata, rows, 0); }), "");
  // The same sum from rows hashed in two parts, as two ranks would.
  EXPECT_EQ(bank_rows_hash(rows, 0),
            bank_rows_hash(rows.narrow(0, 0, 7), 0) + bank_rows_hash(rows.narrow(0, 7, metadata.rows - 7), 7));
  {
    hid_t file = H5Fopen(path_.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    ASSERT_GE(file, 0);
    hid_t dataset = H5Dopen2(file, "embeddings", H5P_DEFAULT);
    hid_t space = H5Dget_space(dataset);
    const hsize_t start[2] = {3, 0}, count[2] = {1, 1};
    H5Sselect_hyperslab(space, H5S_SELECT_SET, start, nullptr, count, nullptr);
    hid_t memory = H5Screate_simple(2, count, nullptr);
    const float changed = 0.123f;
    ASSERT_GE(H5Dwrite(dataset, H5T_NATIVE_FLOAT, memory, space, H5P_DEFAULT, &changed), 0);
    H5Sclose(memory);
    H5Sclose(space);
    H5Dclose(dataset);
    H5Fclose(file);
  }
  const std::string error =
      error_of([&] { verify_bank_content(*comm_, path_, metadata, read_bank_rows(path_, 0, metadata.rows), 0); });
  EXPECT_NE(error.find("bank.h5: corrupt bank: its embeddings hash to"), std::string::npos) << error;
}

TEST_F(BankRefusals, ReadableByH5pyWhenInstalled) {
  if (std::system("python3 -c 'import h5py' > /dev/null 2>&1") != 0) GTEST_SKIP() << "h5py not installed";
  const std::string script = "import h5py, numpy as np; f = h5py.File('" + path_.string() +
                             "', 'r'); e = f['embeddings']; assert e.dtype == np.float16 and e.shape == (40, 8); "
                             "assert f.attrs['complete'] == 1 and f['ids'][3] == b'image-39'; print('ok')";
  EXPECT_EQ(std::system(("python3 -c \"" + script + "\"").c_str()), 0);
}

}  // namespace
}  // namespace spn
