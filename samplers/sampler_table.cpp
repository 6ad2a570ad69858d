#include "samplers/sampler_table.h"

#include "samplers/registry.h"

#include <cstdlib>
#include <iomanip>
#include <sstream>

namespace diffuse {

std::string nfe_formula(const SamplerInfo& row) {
  if (row.adaptive) return "adaptive";
  // nfe(K) = c K + b: read c and b off two step counts and check the rest.
  const std::int64_t c = row.nfe(11) - row.nfe(10), b = row.nfe(10) - 10 * c;
  for (int k = 1; k <= 64; ++k)
    if (row.nfe(k) != c * k + b) return "see --list-samplers";
  std::string text = c == 1 ? "K" : std::to_string(c) + "K";
  if (b != 0) text += (b > 0 ? " + " : " - ") + std::to_string(std::llabs(b));
  return text;
}

namespace {

// A cell's text with '|' escaped, which would otherwise end the cell.
std::string cell(const std::string& text) {
  std::string out;
  for (char c : text) out += c == '|' ? std::string("\\|") : std::string(1, c);
  return out;
}

// The `sampler:` keys a row reads, or "-".
std::string option_list(const SamplerInfo& row) {
  std::string list;
  for (const auto& key : row.options()) list += (list.empty() ? "" : ", ") + key;
  return list.empty() ? "-" : list;
}

}  // namespace

std::string sampler_table_markdown() {
  std::ostringstream out;
  out << "| name | order | NFE (K steps) | stochastic | processes | options | description |\n"
      << "| --- | --- | --- | --- | --- | --- | --- |\n";
  for (const auto& row : sampler_registry())
    out << "| `" << row.name << "` | " << row.order << " | " << nfe_formula(row) << " | "
        << (row.stochastic ? "yes" : "no") << " | " << row.supported_processes() << " | "
        << option_list(row) << " | " << cell(row.description) << " |\n";
  return out.str();
}

std::string sampler_table_text(int steps) {
  constexpr int kNameWidth = 26;  // the longest name, dpm-solver++3m-corrected, plus a gap
  std::ostringstream out;
  out << std::left << std::setw(kNameWidth) << "name" << std::setw(7) << "order" << std::setw(12)
      << "stochastic" << std::setw(14) << ("NFE(K=" + std::to_string(steps) + ")")
      << std::setw(34) << "options" << "processes\n";
  for (const auto& row : sampler_registry())
    out << std::setw(kNameWidth) << row.name << std::setw(7) << row.order << std::setw(12)
        << (row.stochastic ? "yes" : "no") << std::setw(14)
        << (row.adaptive ? std::string("adaptive") : std::to_string(row.nfe(steps)))
        << std::setw(34) << option_list(row) << row.supported_processes() << "\n    "
        << row.description << "\n";
  return out.str();
}

}  // namespace diffuse
