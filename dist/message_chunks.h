#pragma once
// How a message of any length is split for a library whose counts are `int`: MPI's
// counts and displacements are 32-bit, so a message of more than INT_MAX elements (a
// decoded split, a large bank) must travel as several calls. The MPI backend plans every
// collective with these two pure functions.
#include <climits>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace spn {

// Pieces are capped in bytes as well as in elements: 256 MiB keeps every byte count
// and byte offset below the library far from 2^31 too (Linux moves at most 0x7ffff000
// bytes in one process_vm_readv, which shared-memory transports use), and bounds the
// temporary buffers a large reduction allocates, while being large enough that the
// per-call latency is invisible next to the transfer.
constexpr int64_t kMaxMessageBytes = int64_t{1} << 28;

struct MessageChunk {
  int64_t offset;  // in elements, from the start of the message
  int count;       // elements, 1 .. max_count
};

// The elements of one piece for elements of `element_size` bytes: as many as fit in
// `max_bytes`, at least 1 and at most INT_MAX.
inline int64_t max_chunk_elements(int64_t max_bytes, int64_t element_size) {
  if (max_bytes < 1 || element_size < 1)
    throw std::invalid_argument("max_chunk_elements: max_bytes and element_size must be positive");
  const int64_t elements = max_bytes / element_size;
  return elements < 1 ? 1 : (elements > INT_MAX ? INT_MAX : elements);
}

// [0, count) as consecutive pieces of `max_count` elements, the last one shorter; none
// for an empty message. Every rank computes the same plan from the same counts, so the
// ranks' calls match one for one.
inline std::vector<MessageChunk> message_chunks(int64_t count, int64_t max_count) {
  if (count < 0) throw std::invalid_argument("message_chunks: negative count " + std::to_string(count));
  if (max_count < 1 || max_count > INT_MAX)
    throw std::invalid_argument("message_chunks: piece size " + std::to_string(max_count) + " outside 1..INT_MAX");
  std::vector<MessageChunk> chunks;
  chunks.reserve(static_cast<size_t>((count + max_count - 1) / max_count));
  for (int64_t offset = 0; offset < count; offset += max_count)
    chunks.push_back({offset, static_cast<int>(count - offset < max_count ? count - offset : max_count)});
  return chunks;
}

}  // namespace spn
