#include "core/base/format.h"

#include <sstream>

namespace diffuse {

std::string format_number(double value) {
  std::ostringstream out;
  out.precision(10);
  out << value;
  return out.str();
}

}  // namespace diffuse
