// The sampler registry as a Markdown table: `diffuse sample --list-samplers --markdown` prints
// it, and README.md carries it between `<!-- samplers:begin -->` and `<!-- samplers:end -->`
// (tests/test_readme.cpp keeps the two the same).
#pragma once

#include "samplers/sampler.h"

#include <string>

namespace diffuse {

// A row's cost in model evaluations for K steps as a formula: "K", "2K", "3K - 2", "adaptive".
std::string nfe_formula(const SamplerInfo& row);

// name | order | NFE | stochastic | processes | description, one row per registry entry.
std::string sampler_table_markdown();

// The same as aligned text for a terminal (`diffuse sample --list-samplers`), NFE at K = steps.
std::string sampler_table_text(int steps);

}  // namespace diffuse
