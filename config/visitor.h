#pragma once
// The one list of a config section's keys. Each section struct has
//   void visit(ConfigVisitor& v);
// (defined in its .cpp) that names every key once, with its range, options and meaning.
// Reading a TOML file (validation with key path and file:line), writing the resolved
// config (--print-config, the run record) and the config reference (README,
// --config-reference) are visitors over that list (config/config_file.cpp).
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "config/choices.h"

namespace spn {

class ConfigVisitor {
 public:
  virtual ~ConfigVisitor() = default;

  virtual void integer(const char* key, int64_t& value, int64_t lo, int64_t hi, const char* doc) = 0;
  virtual void real(const char* key, double& value, double lo, double hi, const char* doc) = 0;
  virtual void boolean(const char* key, bool& value, const char* doc) = 0;
  // A string; empty only when `may_be_empty`.
  virtual void text(const char* key, std::string& value, const char* doc, bool may_be_empty) = 0;
  // A non-empty list of non-empty strings, each one of `options` unless that is empty.
  virtual void text_list(const char* key, std::vector<std::string>& value, const char* doc,
                         const std::vector<std::string>& options) = 0;
  // One of `names`; `index` is its position there (an enum's value).
  virtual void choice_index(const char* key, int& index, const std::vector<std::string>& names, const char* doc) = 0;
  // A table of its own keys, listed by `visit_section`.
  virtual void enter_section(const char* key, const char* doc,
                             const std::function<void(ConfigVisitor&)>& visit_section) = 0;

  void text(const char* key, std::string& value, const char* doc) { text(key, value, doc, false); }
  void text_list(const char* key, std::vector<std::string>& value, const char* doc) { text_list(key, value, doc, {}); }

  template <class E>
  void choice(const char* key, E& value, const char* doc) {
    int index = static_cast<int>(value);
    choice_index(key, index, names_of<E>(), doc);
    value = static_cast<E>(index);
  }

  // A non-empty list of choices, kept in the order given.
  template <class E>
  void choice_list(const char* key, std::vector<E>& values, const char* doc) {
    const std::vector<std::string> names = names_of<E>();
    std::vector<std::string> spelled;
    for (E value : values) spelled.push_back(choice_name(value));
    text_list(key, spelled, doc, names);
    values.clear();
    for (const std::string& name : spelled)
      for (size_t i = 0; i < names.size(); ++i)
        if (names[i] == name) values.push_back(static_cast<E>(i));
  }

  template <class Section>
  void section(const char* key, Section& section, const char* doc) {
    enter_section(key, doc, [&section](ConfigVisitor& visitor) { section.visit(visitor); });
  }

 private:
  template <class E>
  static std::vector<std::string> names_of() {
    return {ChoiceNames<E>::names.begin(), ChoiceNames<E>::names.end()};
  }
};

}  // namespace spn
