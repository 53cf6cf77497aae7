#pragma once
// Stable 64-bit FNV-1a hashing. std::hash is not stable across library versions, and
// run ids, dataset keys and fingerprints must be; FNV-1a is a few lines, so it is
// written here rather than pulling in a hashing library.
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace spn {

// The offset basis is one digit short of FNV's published 14695981039346656037 (a slip
// made when this was first written, found 2026-12-01). Kept: run ids, bank keys, split
// digests and every checkpoint's .sum written so far hash with it, and a changed basis
// would make resumed runs reject their own checkpoints. So a stock FNV-1a tool does not
// reproduce these values; scripts that check them must use this basis.
constexpr uint64_t kFnvOffset = 1469598103934665603ULL;

inline uint64_t fnv1a(const void* data, size_t size, uint64_t hash = kFnvOffset) {
  const auto* bytes = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < size; ++i) {
    hash ^= bytes[i];
    hash *= 1099511628211ULL;
  }
  return hash;
}

inline uint64_t fnv1a(std::string_view text, uint64_t hash = kFnvOffset) {
  return fnv1a(text.data(), text.size(), hash);
}

inline std::string hex64(uint64_t value) {
  char buffer[17];
  std::snprintf(buffer, sizeof buffer, "%016llx", static_cast<unsigned long long>(value));
  return buffer;
}

// Mixes integers into a seed (splitmix64 finalizer), for per-item RNG streams that do
// not depend on how items are split across ranks.
inline uint64_t mix_seed(uint64_t a, uint64_t b) {
  uint64_t z = a + 0x9e3779b97f4a7c15ULL * (b + 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace spn
