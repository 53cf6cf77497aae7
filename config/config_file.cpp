#include "config/config_file.h"

#include <toml++/toml.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <sstream>

#include "config/config_checks.h"
#include "config/visitor.h"
#include "core/error.h"
#include "core/files.h"
#include "core/utf8.h"

namespace spn {
namespace {

std::string format_number(double value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

std::string join_keys(const std::set<std::string>& keys) {
  std::string out;
  for (const auto& key : keys) out += (out.empty() ? "" : ", ") + key;
  return out;
}

// "\"a\", \"b\"" for the options of an error message.
std::string quoted_list(const std::vector<std::string>& options) {
  std::string list;
  for (const auto& option : options) list += (list.empty() ? "" : ", ") + ("\"" + option + "\"");
  return list;
}

// Where each overridden key came from, so errors about it name the --set argument.
using OverrideOrigins = std::map<std::string, std::string>;

// Fills a config struct from a TOML table, checking types, ranges and unknown keys.
class Reader : public ConfigVisitor {
 public:
  Reader(const toml::table& table, std::string prefix, ExperimentConfig& config, const OverrideOrigins& origins)
      : table_(table), prefix_(std::move(prefix)), config_(config), origins_(origins) {}

  void integer(const char* key, int64_t& value, int64_t lo, int64_t hi, const char*) override {
    const toml::node* node = find(key);
    if (!node) return;
    if (!node->is_integer()) fail(key, *node, "expected an integer, got " + type_name(*node));
    const int64_t read = *node->value<int64_t>();
    if (read < lo || read > hi)
      fail(key, *node,
           "must be in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], got " + std::to_string(read));
    value = read;
  }

  void real(const char* key, double& value, double lo, double hi, const char*) override {
    const toml::node* node = find(key);
    if (!node) return;
    if (!node->is_number()) fail(key, *node, "expected a number, got " + type_name(*node));
    const double read = *node->value<double>();
    if (!std::isfinite(read) || read < lo || read > hi)
      fail(key, *node, "must be in [" + format_number(lo) + ", " + format_number(hi) + "], got " + format_number(read));
    value = read;
  }

  void boolean(const char* key, bool& value, const char*) override {
    const toml::node* node = find(key);
    if (!node) return;
    if (!node->is_boolean()) fail(key, *node, "expected true or false, got " + type_name(*node));
    value = *node->value<bool>();
  }

  void text(const char* key, std::string& value, const char*, bool may_be_empty) override {
    const toml::node* node = find(key);
    if (!node) return;
    if (!node->is_string()) fail(key, *node, "expected a string, got " + type_name(*node));
    value = *node->value<std::string>();
    if (value.empty() && !may_be_empty) fail(key, *node, "must not be empty");
  }

  void text_list(const char* key, std::vector<std::string>& value, const char*,
                 const std::vector<std::string>& options) override {
    const toml::node* node = find(key);
    if (!node) return;
    const toml::array* items = node->as_array();
    if (!items) fail(key, *node, "expected an array of strings, got " + type_name(*node));
    if (items->empty()) fail(key, *node, "must not be empty");
    std::vector<std::string> read;
    for (const toml::node& item : *items) {
      if (!item.is_string() || item.value<std::string>()->empty())
        fail(key, *node, "item " + std::to_string(read.size()) + " must be a non-empty string");
      read.push_back(*item.value<std::string>());
      if (!options.empty() && std::find(options.begin(), options.end(), read.back()) == options.end())
        fail(key, *node,
             "item " + std::to_string(read.size() - 1) + " must be one of " + quoted_list(options) + ", got \"" +
                 read.back() + "\"");
    }
    value = std::move(read);
  }

  void choice_index(const char* key, int& index, const std::vector<std::string>& options, const char* doc) override {
    std::string value;
    text(key, value, doc, false);
    const toml::node* node = table_.get(key);
    if (!node) return;
    for (size_t i = 0; i < options.size(); ++i)
      if (options[i] == value) {
        index = static_cast<int>(i);
        return;
      }
    fail(key, *node, "must be one of " + quoted_list(options) + ", got \"" + value + "\"");
  }

  void enter_section(const char* key, const char*, const std::function<void(ConfigVisitor&)>& visit_section) override {
    known_.insert(key);
    const toml::node* node = table_.get(key);
    if (!node) return;
    const toml::table* sub = node->as_table();
    if (!sub) fail(key, *node, "expected a table, got " + type_name(*node));
    Reader reader(*sub, path(key), config_, origins_);
    visit_section(reader);
    reader.reject_unknown_keys();
  }

  void reject_unknown_keys() const {
    for (const auto& [key, node] : table_) {
      const std::string name(key.str());
      if (known_.count(name)) continue;
      const std::string known = join_keys(known_);
      throw UserError(location(name, node) + ": " + path(name) + ": unknown key" +
                      (prefix_.empty() ? "" : " in [" + prefix_ + "]") + " (known: " + known + ")");
    }
  }

 private:
  const toml::node* find(const char* key) {
    known_.insert(key);
    const toml::node* node = table_.get(key);
    if (node) config_.locations[path(key)] = location(key, *node);
    return node;
  }

  std::string path(const std::string& key) const { return prefix_.empty() ? key : prefix_ + "." + key; }

  std::string location(const std::string& key, const toml::node& node) const {
    auto origin = origins_.find(path(key));
    if (origin != origins_.end()) return origin->second;
    const auto& source = node.source();
    const std::string file = source.path ? *source.path : config_.source_file;
    return file + ":" + std::to_string(source.begin.line);
  }

  static std::string type_name(const toml::node& node) {
    switch (node.type()) {
      case toml::node_type::string: return "a string";
      case toml::node_type::integer: return "an integer";
      case toml::node_type::floating_point: return "a float";
      case toml::node_type::boolean: return "a boolean";
      case toml::node_type::table: return "a table";
      case toml::node_type::array: return "an array";
      default: return "a date or time";
    }
  }

  [[noreturn]] void fail(const std::string& key, const toml::node& node, const std::string& message) const {
    throw UserError(location(key, node) + ": " + path(key) + ": " + message);
  }

  const toml::table& table_;
  std::string prefix_;
  ExperimentConfig& config_;
  const OverrideOrigins& origins_;
  std::set<std::string> known_;
};

// Whether `text` reads back as `table`.
bool reads_back_as(const std::string& text, const toml::table& table) {
  try {
    return toml::parse(text) == table;
  } catch (const toml::parse_error&) {
    return false;
  }
}

// Builds the TOML table of a config struct (the resolved config).
class Writer : public ConfigVisitor {
 public:
  explicit Writer(toml::table& table) : table_(table) {}
  void integer(const char* key, int64_t& value, int64_t, int64_t, const char*) override { table_.insert(key, value); }
  void real(const char* key, double& value, double, double, const char*) override { table_.insert(key, value); }
  void boolean(const char* key, bool& value, const char*) override { table_.insert(key, value); }
  void text(const char* key, std::string& value, const char*, bool) override { table_.insert(key, value); }
  void text_list(const char* key, std::vector<std::string>& value, const char*,
                 const std::vector<std::string>&) override {
    toml::array items;
    for (const auto& item : value) items.push_back(item);
    table_.insert(key, std::move(items));
  }
  void choice_index(const char* key, int& index, const std::vector<std::string>& options, const char*) override {
    table_.insert(key, options.at(static_cast<size_t>(index)));
  }
  void enter_section(const char* key, const char*, const std::function<void(ConfigVisitor&)>& visit_section) override {
    toml::table sub;
    Writer writer(sub);
    visit_section(writer);
    table_.insert(key, std::move(sub));
  }

 private:
  toml::table& table_;
};

// Lists every key as a Markdown table row.
class Documenter : public ConfigVisitor {
 public:
  explicit Documenter(std::string prefix, std::ostringstream& out) : prefix_(std::move(prefix)), out_(out) {}
  void integer(const char* key, int64_t& value, int64_t lo, int64_t hi, const char* doc) override {
    row(key, "integer", std::to_string(value),
        doc + range(std::to_string(lo), hi == INT64_MAX ? "" : std::to_string(hi)));
  }
  void real(const char* key, double& value, double lo, double hi, const char* doc) override {
    row(key, "float", format_number(value), doc + range(format_number(lo), format_number(hi)));
  }
  void boolean(const char* key, bool& value, const char* doc) override {
    row(key, "bool", value ? "true" : "false", doc);
  }
  void text(const char* key, std::string& value, const char* doc, bool) override {
    row(key, "string", "\"" + value + "\"", doc);
  }
  void text_list(const char* key, std::vector<std::string>& value, const char* doc,
                 const std::vector<std::string>&) override {
    std::string items;
    for (const auto& item : value) items += (items.empty() ? "" : ", ") + ("\"" + item + "\"");
    row(key, "string list", "[" + items + "]", doc);
  }
  void choice_index(const char* key, int& index, const std::vector<std::string>& options, const char* doc) override {
    row(key, "string", "\"" + options.at(static_cast<size_t>(index)) + "\"", doc);
  }
  void enter_section(const char* key, const char* doc,
                     const std::function<void(ConfigVisitor&)>& visit_section) override {
    out_ << "| `[" << path(key) << "]` | table | | " << doc << " |\n";
    Documenter sub(path(key), out_);
    visit_section(sub);
  }

 private:
  static std::string range(const std::string& lo, const std::string& hi) {
    return hi.empty() ? " (≥ " + lo + ")" : " (" + lo + " to " + hi + ")";
  }
  std::string path(const std::string& key) const { return prefix_.empty() ? key : prefix_ + "." + key; }
  void row(const char* key, const char* type, const std::string& value, const std::string& doc) {
    out_ << "| `" << path(key) << "` | " << type << " | `" << value << "` | " << doc << " |\n";
  }
  std::string prefix_;
  std::ostringstream& out_;
};

toml::table parse_toml(const std::string& text, const std::string& source_name) {
  try {
    return toml::parse(text, source_name);
  } catch (const toml::parse_error& error) {
    throw UserError(source_name + ":" + std::to_string(error.source().begin.line) + ": " +
                    std::string(error.description()));
  }
}

// Sets `key.path` = value in the table, creating intermediate tables.
void apply_override(toml::table& root, const std::string& assignment, OverrideOrigins& origins) {
  const auto equals = assignment.find('=');
  // Before the text is quoted into errors or the config: a value that is not UTF-8 would
  // be printed (config_to_toml, the run's record) as something else.
  require_utf8(assignment, "a --set argument");
  const std::string origin = "--set " + assignment;
  if (equals == std::string::npos || equals == 0)
    throw UserError(origin + ": expected KEY.PATH=VALUE, e.g. --set stage1.lr=3e-4");
  const std::string key_path = assignment.substr(0, equals);
  const std::string value_text = assignment.substr(equals + 1);

  // The value uses TOML syntax; a bare word that is not valid TOML is taken as a string.
  toml::table holder;
  try {
    holder = toml::parse("value = " + value_text, origin);
  } catch (const toml::parse_error&) {
    holder = toml::table{{"value", value_text}};
  }

  toml::table* table = &root;
  std::string walked;
  size_t start = 0;
  while (true) {
    const size_t dot = key_path.find('.', start);
    const std::string part = key_path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (part.empty()) throw UserError(origin + ": empty key in '" + key_path + "'");
    walked += (walked.empty() ? "" : ".") + part;
    if (dot == std::string::npos) {
      table->insert_or_assign(part, *holder.get("value"));
      break;
    }
    toml::node* next = table->get(part);
    if (!next) {
      table->insert(part, toml::table{});
      next = table->get(part);
    }
    if (!next->is_table()) throw UserError(origin + ": " + walked + " is not a table");
    table = next->as_table();
    start = dot + 1;
  }
  origins[key_path] = origin;
}

}  // namespace

ExperimentConfig load_config_text(const std::string& toml_text, const std::string& source_name,
                                  const std::vector<std::string>& overrides) {
  toml::table table = parse_toml(toml_text, source_name);
  OverrideOrigins origins;
  for (const auto& assignment : overrides) apply_override(table, assignment, origins);

  ExperimentConfig config;
  config.source_file = source_name;
  Reader reader(table, "", config, origins);
  config.visit(reader);
  reader.reject_unknown_keys();
  check_config(config);
  return config;
}

ExperimentConfig load_config(const std::string& path, const std::vector<std::string>& overrides) {
  if (!fs::exists(path)) throw UserError(path + ": config file not found");
  return load_config_text(read_file(path), path, overrides);
}

std::string config_to_toml(const ExperimentConfig& config) {
  toml::table table;
  Writer writer(table);
  ExperimentConfig copy = config;  // visit() is shared with the reader, so it is non-const
  copy.visit(writer);
  // toml++'s default style does not always read back (found by fuzz/config_fuzzer.cpp): a
  // string that starts with a line break becomes a multi-line string, whose first line
  // break TOML drops on reading, and one with a line break and a run of single quotes a
  // multi-line literal string that the quotes end early. Such a config is written with
  // every string basic and escaped; any other keeps the default style, which run ids (a
  // hash of this text) depend on.
  const auto print = [&](toml::format_flags flags) {
    std::ostringstream out;
    out << toml::toml_formatter(table, flags) << "\n";
    return out.str();
  };
  const std::string printed = print(toml::toml_formatter::default_flags);
  if (reads_back_as(printed, table)) return printed;
  return print(toml::toml_formatter::default_flags & ~toml::format_flags::allow_multi_line_strings &
               ~toml::format_flags::allow_literal_strings);
}

std::string config_reference_markdown() {
  std::ostringstream out;
  out << "| key | type | default | meaning |\n|---|---|---|---|\n";
  ExperimentConfig defaults;
  Documenter documenter("", out);
  defaults.visit(documenter);
  return out.str();
}

}  // namespace spn
