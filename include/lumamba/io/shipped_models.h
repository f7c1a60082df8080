// lumamba/io/shipped_models.h — pretrained checkpoints that ship with lumamba, found by a short name
// wherever a checkpoint path is taken (`finetune init=NAME`, `--weights NAME`, suite `inits:`).
//
// A name is the file stem of `NAME.safetensors` in the first of these folders that has it:
//   1. each folder of $LUMAMBA_MODELS (':'-separated), for models a user keeps elsewhere;
//   2. <folder of the executable>/../share/lumamba/models (an installed lumamba), then
//      <install prefix>/share/lumamba/models (the Python module runs inside python3);
//   3. models/ of the source tree the library was built from (a build in a checkout).
// models/README.md is the model card of what ships.
#pragma once

#include <string>
#include <vector>

namespace lumamba::io {

/// The folders searched, in order (those that do not exist included).
std::vector<std::string> shipped_model_dirs();

/// Names of the shipped models found (sorted, first folder wins on duplicates).
std::vector<std::string> shipped_model_names();

/// `name_or_path` itself when it names an existing file; else, when it is a bare name (no '/', no
/// extension), DIR/NAME.safetensors of the first folder above that has it. InputError otherwise,
/// naming what was looked for and the shipped names there are.
std::string resolve_checkpoint(const std::string& name_or_path);

}  // namespace lumamba::io
