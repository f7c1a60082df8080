// Config parsing for LuMambaOptions (see lumamba/model/options.h).
//
// One path for YAML and JSON: YAML documents are converted to nlohmann::json first, then a single
// reader applies the keys. Informational keys found in the reference/golden configs (norm_layer,
// derived sizes, Mamba init constants) are accepted and ignored; anything else unknown is an error.
#include "lumamba/model/options.h"

#include <yaml-cpp/yaml.h>

#include <fmt/ranges.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "lumamba/core/atomic_file.h"
#include "lumamba/core/error.h"
#include "lumamba/core/key_value.h"

namespace lumamba::model {
namespace {

using nlohmann::json;

json yaml_to_json(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return nullptr;
    case YAML::NodeType::Sequence: {
      json arr = json::array();
      for (const auto& item : node) arr.push_back(yaml_to_json(item));
      return arr;
    }
    case YAML::NodeType::Map: {
      json obj = json::object();
      for (const auto& kv : node) obj[kv.first.as<std::string>()] = yaml_to_json(kv.second);
      return obj;
    }
    case YAML::NodeType::Scalar: {
      const std::string s = node.Scalar();
      if (node.Tag() == "!") return s;  // quoted scalar: keep as a string
      if (s == "null" || s == "~" || s == "None") return nullptr;
      if (s == "true" || s == "True") return true;
      if (s == "false" || s == "False") return false;
      try {
        std::size_t used = 0;
        const long long i = std::stoll(s, &used);
        if (used == s.size()) return i;
      } catch (...) {
      }
      try {
        std::size_t used = 0;
        const double d = std::stod(s, &used);
        if (used == s.size()) return d;
      } catch (...) {
      }
      return s;
    }
  }
  return nullptr;
}

json parse_document(const std::string& text, const std::string& source) {
  try {
    const auto first = text.find_first_not_of(" \t\r\n");
    if (first != std::string::npos && text[first] == '{') return json::parse(text);
    return yaml_to_json(YAML::Load(text));
  } catch (const std::exception& e) {
    throw InputError(fmt::format("{}: cannot parse config: {}", source, e.what()));
  }
}

// Keys present in reference / golden configs that do not change the network we build.
const std::set<std::string> kInformationalKeys = {
    "norm_layer", "derived", "source", "pretrain_head", "drop_path", "classification_type",
    "classification_num_channels", "_target_", "conv_bias", "bias", "dt_min", "dt_max",
    "dt_init", "dt_scale", "dt_init_floor"};

int64_t as_int(const json& v, const std::string& key, const std::string& source) {
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_number_float() && std::floor(v.get<double>()) == v.get<double>())
    return static_cast<int64_t>(v.get<double>());
  if (v.is_string()) {
    try {
      std::size_t used = 0;
      const long long i = std::stoll(v.get<std::string>(), &used);
      if (used == v.get<std::string>().size()) return i;
    } catch (...) {
    }
  }
  throw InputError(fmt::format("{}: config key '{}' must be an integer, got {}", source, key, v.dump()));
}

double as_double(const json& v, const std::string& key, const std::string& source) {
  if (v.is_number()) return v.get<double>();
  if (v.is_string()) {
    try {
      std::size_t used = 0;
      const double d = std::stod(v.get<std::string>(), &used);
      if (used == v.get<std::string>().size()) return d;
    } catch (...) {
    }
  }
  throw InputError(fmt::format("{}: config key '{}' must be a number, got {}", source, key, v.dump()));
}

bool as_bool(const json& v, const std::string& key, const std::string& source) {
  if (v.is_boolean()) return v.get<bool>();
  if (v.is_string()) {
    const auto s = v.get<std::string>();
    if (s == "true" || s == "True" || s == "1") return true;
    if (s == "false" || s == "False" || s == "0") return false;
  }
  throw InputError(fmt::format("{}: config key '{}' must be true or false, got {}", source, key, v.dump()));
}

std::string as_string(const json& v, const std::string& key, const std::string& source) {
  if (v.is_string()) return v.get<std::string>();
  throw InputError(fmt::format("{}: config key '{}' must be a string, got {}", source, key, v.dump()));
}

// Applies one key; returns false when the key is unknown.
bool apply_key(LuMambaOptions& o, const std::string& key, const json& v, const std::string& src) {
  if (key == "patch_size") o.patch_size(as_int(v, key, src));
  else if (key == "num_queries") o.num_queries(as_int(v, key, src));
  else if (key == "embed_dim") o.embed_dim(as_int(v, key, src));
  else if (key == "num_heads") o.num_heads(as_int(v, key, src));
  else if (key == "mlp_ratio") o.mlp_ratio(as_double(v, key, src));
  else if (key == "num_blocks") o.num_blocks(as_int(v, key, src));
  else if (key == "exp" || key == "expand") o.exp(as_int(v, key, src));
  else if (key == "d_state") o.d_state(as_int(v, key, src));
  else if (key == "d_conv") o.d_conv(as_int(v, key, src));
  else if (key == "dt_rank") {
    o.dt_rank(v.is_string() && v.get<std::string>() == "auto" ? 0 : as_int(v, key, src));
  } else if (key == "bidirectional") o.bidirectional(as_bool(v, key, src));
  else if (key == "bidirectional_strategy") o.bidirectional_strategy(as_string(v, key, src));
  else if (key == "classifier_option") {
    // null/None selects the LUNA attention-pooling head, as in the reference.
    o.classifier_option(v.is_null() ? "luna" : as_string(v, key, src));
    if (o.classifier_option() == "null" || o.classifier_option() == "None") o.classifier_option("luna");
  } else if (key == "mamba_classifier") {
    // Legacy reference flag; classifier_option wins when both are given (applied later).
    if (as_bool(v, key, src)) o.classifier_option("mamba");
  } else if (key == "num_classes") o.num_classes(as_int(v, key, src));
  else if (key == "vocab_size") o.vocab_size(as_int(v, key, src));
  else if (key == "mamba_head_dim") o.mamba_head_dim(as_int(v, key, src));
  else if (key == "location_jitter") o.location_jitter(as_double(v, key, src));
  else if (key == "dropout") o.dropout(as_double(v, key, src));
  else if (key == "head_norm") o.head_norm(as_string(v, key, src));
  else if (key == "location_jitter_in_eval") o.location_jitter_in_eval(as_bool(v, key, src));
  else if (key == "reference_location_tiling") o.reference_location_tiling(as_bool(v, key, src));
  else return kInformationalKeys.count(key) > 0;
  return true;
}

void apply_object(LuMambaOptions& o, const json& obj, const std::string& src,
                  std::vector<std::string>& unknown, const std::string& prefix) {
  // mamba_classifier first so that an explicit classifier_option overrides it.
  if (obj.contains("mamba_classifier")) apply_key(o, "mamba_classifier", obj["mamba_classifier"], src);
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    if (it.key() == "mamba_classifier") continue;
    if (it.key() == "mamba" && it.value().is_object()) {
      apply_object(o, it.value(), src, unknown, prefix + "mamba.");
      continue;
    }
    if (!apply_key(o, it.key(), it.value(), src)) unknown.push_back(prefix + it.key());
  }
}

}  // namespace

void validate(const LuMambaOptions& o) {
  auto positive = [](const char* name, int64_t v) {
    if (v <= 0) throw InputError(fmt::format("invalid value for '{}': got {}; must be > 0", name, v));
  };
  positive("patch_size", o.patch_size());
  positive("num_queries", o.num_queries());
  positive("embed_dim", o.embed_dim());
  positive("num_heads", o.num_heads());
  positive("num_blocks", o.num_blocks());
  positive("exp", o.exp());
  positive("d_state", o.d_state());
  positive("d_conv", o.d_conv());
  positive("vocab_size", o.vocab_size());
  positive("mamba_head_dim", o.mamba_head_dim());
  check_range("mlp_ratio", o.mlp_ratio(), 1e-6, 1e6);
  check_range("num_classes", static_cast<double>(o.num_classes()), 0, 1e9);
  check_range("location_jitter", o.location_jitter(), 0, 1e3);
  check_range("dropout", o.dropout(), 0, 0.99);
  check_option("bidirectional_strategy", o.bidirectional_strategy(), {"add", "ew_multiply"});
  check_option("classifier_option", o.classifier_option(), {"luna", "mamba", "linear"});
  check_option("head_norm", o.head_norm(), {"none", "batch"});
  LUMAMBA_CHECK_INPUT(o.embed_dim() % o.num_heads() == 0,
                      "invalid value for 'num_heads': got {}; must divide embed_dim = {}",
                      o.num_heads(), o.embed_dim());
  LUMAMBA_CHECK_INPUT(o.d_model() % o.num_heads() == 0,
                      "invalid value for 'num_heads': got {}; must divide num_queries*embed_dim = {}",
                      o.num_heads(), o.d_model());
  LUMAMBA_CHECK_INPUT(o.embed_dim() % 4 == 0 && o.embed_dim() >= 16,
                      "invalid value for 'embed_dim': got {}; the patch embedder needs a multiple "
                      "of 4 that is >= 16 (GroupNorm with 4 groups over E/4 channels)",
                      o.embed_dim());
  LUMAMBA_CHECK_INPUT(o.patch_size() >= 6,
                      "invalid value for 'patch_size': got {}; must be >= 6 (conv kernel P/2-1)",
                      o.patch_size());
  LUMAMBA_CHECK_INPUT(o.embed_dim() >= 6,
                      "invalid value for 'embed_dim': got {}; NeRF encoding needs >= 6",
                      o.embed_dim());
  // A size that cannot be allocated ends in an out-of-memory error deep inside LibTorch. Bound the
  // dominant term, the Mamba projections (in_proj 2·d_inner·d_model + out_proj d_inner·d_model per
  // direction and block), by 2e9 parameters: LuMamba-Tiny has 4.6M, so this only stops typos.
  const double d_model = static_cast<double>(o.num_queries()) * static_cast<double>(o.embed_dim());
  const double d_inner = static_cast<double>(o.exp()) * d_model;
  const double mamba_params = static_cast<double>(o.num_blocks()) * 2 * 3 * d_inner * d_model;
  LUMAMBA_CHECK_INPUT(mamba_params <= 2e9,
                      "model size: the Mamba blocks alone would have about {:.3g} parameters (num_blocks {} x 2 "
                      "directions x 3 x exp {} x (num_queries {} x embed_dim {})^2), over the 2e9 this tool "
                      "accepts; check the model config", mamba_params, o.num_blocks(), o.exp(), o.num_queries(),
                      o.embed_dim());
}

LuMambaOptions options_from_text(const std::string& text, const std::string& source) {
  json doc = parse_document(text, source);
  LUMAMBA_CHECK_INPUT(doc.is_object(), "{}: config must be a mapping of keys to values", source);
  if (doc.contains("model") && doc["model"].is_object()) doc = doc["model"];
  LuMambaOptions options;
  std::vector<std::string> unknown;
  apply_object(options, doc, source, unknown, "");
  LUMAMBA_CHECK_INPUT(unknown.empty(), "{}: unknown config key(s): {}", source, fmt::join(unknown, ", "));
  validate(options);
  return options;
}

LuMambaOptions options_from_file(const std::string& path) {
  const std::string text = read_text_file(path, "config file");
  return options_from_text(text, path);
}

std::string options_to_json(const LuMambaOptions& o) {
  json j = {{"patch_size", o.patch_size()},
            {"num_queries", o.num_queries()},
            {"embed_dim", o.embed_dim()},
            {"num_heads", o.num_heads()},
            {"mlp_ratio", o.mlp_ratio()},
            {"num_blocks", o.num_blocks()},
            {"exp", o.exp()},
            {"d_state", o.d_state()},
            {"d_conv", o.d_conv()},
            {"dt_rank", o.dt_rank()},
            {"bidirectional", o.bidirectional()},
            {"bidirectional_strategy", o.bidirectional_strategy()},
            {"classifier_option", o.classifier_option()},
            {"head_norm", o.head_norm()},
            {"num_classes", o.num_classes()},
            {"vocab_size", o.vocab_size()},
            {"mamba_head_dim", o.mamba_head_dim()},
            {"location_jitter", o.location_jitter()},
            {"dropout", o.dropout()},
            {"location_jitter_in_eval", o.location_jitter_in_eval()},
            {"reference_location_tiling", o.reference_location_tiling()}};
  return j.dump();
}

void apply_overrides(LuMambaOptions& options, const std::vector<std::string>& key_values) {
  for (const auto& kv : key_values) {
    const auto [key, text] = split_key_value(kv);
    const json value = yaml_to_json(YAML::Load(text));
    LUMAMBA_CHECK_INPUT(apply_key(options, key, value, "override") && !kInformationalKeys.count(key),
                        "unknown config key in override '{}'", kv);
  }
  validate(options);
}

}  // namespace lumamba::model
