#pragma once
// Seeded randomness that is the same on every platform: mt19937_64's output is fixed by
// the C++ standard, but std::shuffle and std::uniform_int_distribution are
// implementation-defined, and datasets, batch orders and mined pairs must not depend on
// the standard library build. (The modulo bias is below 2^-40 for the ranges used.)
#include <cstdint>
#include <random>
#include <utility>
#include <vector>

namespace spn {

inline uint64_t uniform_below(std::mt19937_64& rng, uint64_t n) { return rng() % n; }

// Fisher-Yates.
template <class T>
void seeded_shuffle(std::vector<T>& items, std::mt19937_64& rng) {
  for (size_t i = items.size(); i > 1; --i) std::swap(items[i - 1], items[uniform_below(rng, i)]);
}

// `count` distinct integers from [lo, hi), in the order drawn (Floyd's algorithm would
// need a set; rejection is cheap because count is far below hi - lo where it is used).
inline std::vector<int64_t> distinct_in_range(std::mt19937_64& rng, int64_t lo, int64_t hi, int64_t count) {
  std::vector<int64_t> drawn;
  while (static_cast<int64_t>(drawn.size()) < count) {
    const int64_t value = lo + static_cast<int64_t>(uniform_below(rng, static_cast<uint64_t>(hi - lo)));
    bool repeated = false;
    for (int64_t seen : drawn) repeated |= seen == value;
    if (!repeated) drawn.push_back(value);
  }
  return drawn;
}

}  // namespace spn
