// lumamba/train/config.h — run configurations (pretraining, fine-tuning presets) as flat dotted
// keys: a YAML preset, then `key=value` overrides from the command line, then typed reads that
// name the key and the file in every error. Unknown keys are errors (a typo must not be ignored).
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace lumamba::train {

class FlatConfig {
 public:
  /// Parses YAML mappings into dotted keys ("optimizer.lr"); sequences become comma-joined values.
  static FlatConfig from_yaml(const std::string& text, const std::string& source);

  /// "a.b=value" sets (or adds, when `allow_new`) a key. Throws InputError for a malformed item or
  /// an unknown key.
  void apply_override(const std::string& key_value, bool allow_new = false);
  void set(const std::string& key, const std::string& value) { values_[key] = value; }
  bool has(const std::string& key) const { return values_.count(key) > 0; }

  std::string get_string(const std::string& key, const std::string& fallback) const;
  double get_double(const std::string& key, double fallback) const;
  int64_t get_int(const std::string& key, int64_t fallback) const;
  bool get_bool(const std::string& key, bool fallback) const;
  /// Comma-separated list ("" → empty).
  std::vector<std::string> get_list(const std::string& key) const;

  /// Throws InputError listing keys that no get_* call read (typos, keys of another preset kind).
  void check_all_used() const;
  /// The resolved configuration as YAML (written next to a run's outputs).
  std::string to_yaml() const;
  /// The keys under `prefix.` with the prefix removed (e.g. "model" → {"num_classes": "2"}).
  std::map<std::string, std::string> section(const std::string& prefix) const;
  const std::string& source() const { return source_; }
  /// Every key and its value (dotted keys, sorted).
  const std::map<std::string, std::string>& values() const { return values_; }

 private:
  const std::string* find(const std::string& key) const;
  std::map<std::string, std::string> values_;
  mutable std::set<std::string> used_;
  std::string source_;
};

}  // namespace lumamba::train
