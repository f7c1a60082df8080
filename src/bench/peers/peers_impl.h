// Private to src/bench/peers: the factories of the comparison encoders (lumamba/bench/peers.h).
#pragma once

#include <memory>

#include "lumamba/bench/peers.h"

namespace lumamba::bench::peers {

std::unique_ptr<EfficiencyModel> make_lumamba_tiny();
std::unique_ptr<EfficiencyModel> make_luna_base();
std::unique_ptr<EfficiencyModel> make_labram_base();

}  // namespace lumamba::bench::peers
