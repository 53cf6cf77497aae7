#pragma once
// The benchmarks' command lines: "--name value" pairs, read before MPI starts so that
// --help and a bad option end every rank cleanly. --help prints the usage (exit 0); an
// unknown option, a missing value or one that does not read prints what is wrong and
// the usage to stderr (exit 2): a typo must not start a long run on the defaults.
#include <torch/cuda.h>

#include <cstdint>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace spn::bench {

// Each option's handler reads its value; it throws std::invalid_argument saying why a
// value does not do.
using FlagHandlers = std::map<std::string, std::function<void(const std::string&)>>;

inline void parse_flags(int argc, char** argv, const std::string& usage, const FlagHandlers& handlers) {
  const auto fail = [&](const std::string& problem) {
    std::cerr << argv[0] << ": " << problem << "\nusage: " << argv[0] << " " << usage << "\n";
    std::exit(2);
  };
  for (int i = 1; i < argc; ++i) {
    const std::string name = argv[i];
    if (name == "--help" || name == "-h") {
      std::cout << "usage: " << argv[0] << " " << usage << "\n";
      std::exit(0);
    }
    const auto handler = handlers.find(name);
    if (handler == handlers.end()) fail("unknown option '" + name + "'");
    if (i + 1 == argc) fail(name + " needs a value");
    const std::string value = argv[++i];
    try {
      handler->second(value);
    } catch (const std::invalid_argument& why) {
      fail(name + " '" + value + "': " + why.what());
    }
  }
}

// A positive integer, all of the text.
inline int64_t read_count(const std::string& text) {
  size_t used = 0;
  int64_t value = 0;
  try {
    value = std::stoll(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != text.size() || value <= 0) throw std::invalid_argument("not a positive integer");
  return value;
}

// "17000,100000" -> {17000, 100000}.
inline std::vector<int64_t> read_counts(const std::string& text) {
  std::vector<int64_t> counts;
  std::stringstream list(text);
  for (std::string item; std::getline(list, item, ',');) counts.push_back(read_count(item));
  if (counts.empty()) throw std::invalid_argument("an empty list");
  return counts;
}

// --device: "cpu" or "cuda" (true), the latter only where torch can use a GPU.
inline bool read_cuda_device(const std::string& text) {
  if (text == "cpu") return false;
  if (text != "cuda") throw std::invalid_argument("not cpu or cuda");
  if (!torch::cuda::is_available()) throw std::invalid_argument("torch finds no usable GPU here");
  return true;
}

}  // namespace spn::bench
