// The plan that splits a message for a library whose counts are int: exact boundaries,
// full coverage, and the caps that keep every count in range.
#include "dist/message_chunks.h"

#include <gtest/gtest.h>

#include <climits>

namespace spn {
namespace {

// The plan covers [0, count) in order, without gaps or overlaps, in pieces of at most
// max_count elements of which only the last may be shorter.
void expect_exact_cover(int64_t count, int64_t max_count) {
  const std::vector<MessageChunk> chunks = message_chunks(count, max_count);
  ASSERT_EQ(static_cast<int64_t>(chunks.size()), (count + max_count - 1) / max_count);
  int64_t next = 0;
  for (size_t i = 0; i < chunks.size(); ++i) {
    EXPECT_EQ(chunks[i].offset, next);
    EXPECT_GE(chunks[i].count, 1);
    EXPECT_LE(chunks[i].count, max_count);
    if (i + 1 < chunks.size()) EXPECT_EQ(chunks[i].count, max_count);
    next += chunks[i].count;
  }
  EXPECT_EQ(next, count);
}

TEST(MessageChunks, EmptyMessageHasNoPieces) { EXPECT_TRUE(message_chunks(0, 5).empty()); }

TEST(MessageChunks, SplitsExactlyAtMultiplesOfThePieceSize) {
  EXPECT_EQ(message_chunks(4, 5).size(), 1u);
  EXPECT_EQ(message_chunks(5, 5).size(), 1u);
  ASSERT_EQ(message_chunks(6, 5).size(), 2u);
  EXPECT_EQ(message_chunks(6, 5)[1].offset, 5);
  EXPECT_EQ(message_chunks(6, 5)[1].count, 1);
  EXPECT_EQ(message_chunks(10, 5).size(), 2u);
  EXPECT_EQ(message_chunks(11, 5).size(), 3u);
  for (int64_t count : {1, 2, 9, 10, 11, 99, 100, 101}) expect_exact_cover(count, 10);
  for (int64_t count : {1, 2, 3}) expect_exact_cover(count, 1);
}

TEST(MessageChunks, MessagesBeyondIntMaxStayWithinInt) {
  const int64_t int_max = INT_MAX;
  EXPECT_EQ(message_chunks(int_max, int_max).size(), 1u);
  const auto just_over = message_chunks(int_max + 1, int_max);
  ASSERT_EQ(just_over.size(), 2u);
  EXPECT_EQ(just_over[0].count, INT_MAX);
  EXPECT_EQ(just_over[1].offset, int_max);
  EXPECT_EQ(just_over[1].count, 1);
  for (int64_t count : {int64_t{1} << 31, (int64_t{1} << 31) + 1, 3 * int_max, 3 * int_max + 2, int64_t{1} << 40})
    expect_exact_cover(count, int_max);
  // A 1 TiB message of bytes in 256 MiB pieces.
  expect_exact_cover(int64_t{1} << 40, max_chunk_elements(kMaxMessageBytes, 1));
}

TEST(MessageChunks, PieceSizeFollowsTheElementSize) {
  EXPECT_EQ(max_chunk_elements(kMaxMessageBytes, 1), int64_t{1} << 28);
  EXPECT_EQ(max_chunk_elements(kMaxMessageBytes, 4), int64_t{1} << 26);
  EXPECT_EQ(max_chunk_elements(kMaxMessageBytes, 8), int64_t{1} << 25);
  EXPECT_EQ(max_chunk_elements(12, 8), 1);                      // a piece holds at least one element
  EXPECT_EQ(max_chunk_elements(3, 8), 1);                       // even when the cap is smaller than one
  EXPECT_EQ(max_chunk_elements(int64_t{1} << 40, 1), INT_MAX);  // and never more than an int counts
}

TEST(MessageChunks, RefusesImpossiblePlans) {
  EXPECT_THROW(message_chunks(-1, 5), std::invalid_argument);
  EXPECT_THROW(message_chunks(5, 0), std::invalid_argument);
  EXPECT_THROW(message_chunks(5, int64_t{INT_MAX} + 1), std::invalid_argument);
  EXPECT_THROW(max_chunk_elements(0, 1), std::invalid_argument);
  EXPECT_THROW(max_chunk_elements(8, 0), std::invalid_argument);
}

}  // namespace
}  // namespace spn
