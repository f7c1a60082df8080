#include "lumamba/train/config.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cstdlib>

#include "lumamba/core/error.h"
#include "lumamba/core/key_value.h"

namespace lumamba::train {
namespace {

void flatten(const YAML::Node& node, const std::string& prefix, std::map<std::string, std::string>& out,
             const std::string& source) {
  if (node.IsMap()) {
    for (const auto& kv : node) {
      const auto key = kv.first.as<std::string>();
      flatten(kv.second, prefix.empty() ? key : prefix + "." + key, out, source);
    }
  } else if (node.IsSequence()) {
    std::string joined;
    for (size_t i = 0; i < node.size(); ++i) {
      LUMAMBA_CHECK_INPUT(node[i].IsScalar(), "{}: '{}' must be a list of plain values", source, prefix);
      joined += (i ? "," : "") + node[i].as<std::string>();
    }
    out[prefix] = joined;
  } else if (node.IsNull()) {
    out[prefix] = "";
  } else {
    out[prefix] = node.as<std::string>();
  }
}

}  // namespace

FlatConfig FlatConfig::from_yaml(const std::string& text, const std::string& source) {
  FlatConfig config;
  config.source_ = source;
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw InputError(fmt::format("{}: not valid YAML: {}", source, e.what()));
  }
  LUMAMBA_CHECK_INPUT(root.IsMap() || root.IsNull(), "{}: a run configuration must be a YAML mapping", source);
  if (root.IsMap()) flatten(root, "", config.values_, source);
  return config;
}

void FlatConfig::apply_override(const std::string& key_value, bool allow_new) {
  const auto [key, value] = split_key_value(key_value);
  LUMAMBA_CHECK_INPUT(allow_new || values_.count(key), "override '{}': unknown key '{}' in {} (known keys: see "
                      "the preset file)", key_value, key, source_);
  values_[key] = value;
}

const std::string* FlatConfig::find(const std::string& key) const {
  used_.insert(key);
  auto it = values_.find(key);
  return it == values_.end() ? nullptr : &it->second;
}

std::string FlatConfig::get_string(const std::string& key, const std::string& fallback) const {
  const auto* v = find(key);
  return v ? *v : fallback;
}

double FlatConfig::get_double(const std::string& key, double fallback) const {
  const auto* v = find(key);
  if (!v || v->empty()) return fallback;
  char* end = nullptr;
  errno = 0;
  const double x = std::strtod(v->c_str(), &end);
  LUMAMBA_CHECK_INPUT(end && *end == '\0' && errno == 0, "{}: '{}' must be a number, got '{}'", source_, key, *v);
  return x;
}

int64_t FlatConfig::get_int(const std::string& key, int64_t fallback) const {
  const auto* v = find(key);
  if (!v || v->empty()) return fallback;
  char* end = nullptr;
  errno = 0;
  const long long x = std::strtoll(v->c_str(), &end, 10);
  LUMAMBA_CHECK_INPUT(end && *end == '\0' && errno == 0, "{}: '{}' must be an integer, got '{}'", source_, key, *v);
  return x;
}

bool FlatConfig::get_bool(const std::string& key, bool fallback) const {
  const auto* v = find(key);
  if (!v || v->empty()) return fallback;
  if (*v == "true" || *v == "1" || *v == "yes") return true;
  if (*v == "false" || *v == "0" || *v == "no") return false;
  throw InputError(fmt::format("{}: '{}' must be true or false, got '{}'", source_, key, *v));
}

std::vector<std::string> FlatConfig::get_list(const std::string& key) const {
  std::vector<std::string> out;
  const auto* found = find(key);
  if (!found) return out;
  // A YAML flow sequence typed as an override (class_names=[open, closed]) is the same list: without
  // this its brackets would become part of the first and last names.
  std::string text = *found;
  const auto a = text.find_first_not_of(' '), b = text.find_last_not_of(' ');
  if (a != std::string::npos && text[a] == '[' && text[b] == ']') text = text.substr(a + 1, b - a - 1);
  const auto* v = &text;
  size_t start = 0;
  while (start <= v->size()) {
    const auto comma = v->find(',', start);
    const auto item = v->substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    const auto first = item.find_first_not_of(' ');
    if (first != std::string::npos) out.push_back(item.substr(first, item.find_last_not_of(' ') - first + 1));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

void FlatConfig::check_all_used() const {
  std::vector<std::string> unused;
  for (const auto& [key, value] : values_) {
    if (!used_.count(key)) unused.push_back(key);
  }
  LUMAMBA_CHECK_INPUT(unused.empty(), "{}: unknown key(s): {}", source_, fmt::join(unused, ", "));
}

std::map<std::string, std::string> FlatConfig::section(const std::string& prefix) const {
  std::map<std::string, std::string> out;
  const std::string p = prefix + ".";
  for (const auto& [key, value] : values_) {
    if (key.rfind(p, 0) == 0) {
      used_.insert(key);
      out[key.substr(p.size())] = value;
    }
  }
  return out;
}

std::string FlatConfig::to_yaml() const {
  YAML::Emitter out;
  out << YAML::BeginMap;
  for (const auto& [key, value] : values_) out << YAML::Key << key << YAML::Value << value;
  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

}  // namespace lumamba::train
