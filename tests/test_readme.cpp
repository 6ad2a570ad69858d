// README.md's sampler table is the registry's (samplers/sampler_table.h): a sampler added,
// renamed or changed in order, cost or processes fails here until the README is regenerated with
// `diffuse sample --list-samplers --markdown`. And the NFE formulas read what the rows spend.
#include "samplers/registry.h"
#include "samplers/sampler_table.h"
#include "tests/temp_dir.h"

#include <gtest/gtest.h>

#include <string>

namespace diffuse::testing {
namespace {

TEST(ReadmeTest, TheSamplerTableIsTheRegistrys) {
  const std::string readme = read_bytes(std::string(DIFFUSE_SOURCE_DIR) + "/README.md");
  const std::string begin = "<!-- samplers:begin -->\n", end = "<!-- samplers:end -->";
  const auto from = readme.find(begin), to = readme.find(end);
  ASSERT_NE(from, std::string::npos) << "README.md has no " << begin;
  ASSERT_NE(to, std::string::npos) << "README.md has no " << end;
  const std::string table = readme.substr(from + begin.size(), to - from - begin.size());
  EXPECT_EQ(table, sampler_table_markdown())
      << "regenerate it with: build/diffuse sample --list-samplers --markdown";
}

TEST(ReadmeTest, NfeFormulasAgreeWithTheRows) {
  SamplerInfo twice;
  twice.nfe = evaluations_per_step(2);
  EXPECT_EQ(nfe_formula(twice), "2K");
  SamplerInfo once_less;
  once_less.nfe = [](int k) { return std::int64_t{3} * k - 2; };
  EXPECT_EQ(nfe_formula(once_less), "3K - 2");
  SamplerInfo adaptive;
  adaptive.adaptive = true;
  EXPECT_EQ(nfe_formula(adaptive), "adaptive");
  for (const auto& row : sampler_registry()) {
    if (row.adaptive) continue;
    EXPECT_NE(nfe_formula(row), "see --list-samplers") << row.name << ": not affine in K";
    EXPECT_EQ(nfe_formula(row) == "K", row.nfe(7) == 7) << row.name;
  }
}

}  // namespace
}  // namespace diffuse::testing
