// Numbers as error messages and logs write them: enough significant digits to tell two nearby
// values apart (a grid's neighbouring knots, a tolerance), and no trailing zeros.
#pragma once

#include <string>

namespace diffuse {

std::string format_number(double value);

}  // namespace diffuse
