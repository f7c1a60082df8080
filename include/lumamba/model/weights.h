// lumamba/model/weights.h — state dicts between safetensors files and modules, and our checkpoint
// format (safetensors + `lumamba.*` metadata).
//
// Reference state dicts load by parameter name, with or without a leading "model." (Lightning).
// Tensors of a head the config does not build (classifier.* in a pretraining model,
// decoder_head.* / channel_emb.* in a classifier, another head's classifier.*) are listed and
// ignored; missing or mis-shaped tensors are errors naming every offender.
#pragma once

#include <torch/nn/module.h>
#include <torch/types.h>

#include <map>
#include <string>
#include <vector>

#include "lumamba/io/safetensors.h"
#include "lumamba/model/options.h"

namespace lumamba::model {

inline constexpr const char* kCheckpointFormatVersion = "1";
inline constexpr const char* kMetaConfig = "lumamba.config";
inline constexpr const char* kMetaPreprocess = "lumamba.preprocess";
inline constexpr const char* kMetaFormatVersion = "lumamba.format_version";

/// Copies a tensor out of a parsed file (any supported dtype) into a new CPU torch::Tensor.
torch::Tensor to_torch(const io::TensorView& view);
/// dtype mapping used by the writer; throws InputError for unsupported torch dtypes.
io::DType to_io_dtype(torch::ScalarType type);

struct LoadReport {
  std::vector<std::string> loaded;
  std::vector<std::string> ignored_head;  ///< tensors of heads this config does not use
  std::vector<std::string> fresh;         ///< module tensors left as initialised (kEncoderOnly heads)
};

/// kStrict: every module tensor must be in the files. kEncoderOnly (fine-tuning from pretrained
/// weights): head tensors (classifier.*, decoder_head.*, channel_emb.*, head_norm.*) of the files are ignored
/// and the module's heads keep their fresh initialisation; the encoder must be complete.
enum class LoadMode { kStrict, kEncoderOnly };

/// Loads tensors (later files override earlier ones) into `module`'s parameters and buffers.
/// Throws InputError listing missing, unexpected and mis-shaped tensors.
LoadReport load_state_dict(torch::nn::Module& module, const std::vector<const io::SafetensorsFile*>& files,
                           LoadMode mode = LoadMode::kStrict);

/// The model config stored in a checkpoint's metadata, if any.
bool has_config(const io::SafetensorsFile& file);
LuMambaOptions config_from_checkpoint(const io::SafetensorsFile& file);

/// Writes module's parameters and buffers (float32/64 as they are) with the config and the
/// preprocessing settings (JSON text, "{}" when unknown) in `__metadata__`. Atomic.
void save_checkpoint(const std::string& path, const torch::nn::Module& module, const LuMambaOptions& options,
                     const std::string& preprocess_json = "{}",
                     const std::map<std::string, std::string>& extra_metadata = {});

/// Writes named tensors (CPU, contiguous copies made as needed) to a safetensors file. Atomic.
void save_tensors(const std::string& path, const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                  const std::map<std::string, std::string>& metadata = {});

}  // namespace lumamba::model
