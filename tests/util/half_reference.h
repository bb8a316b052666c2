#pragma once
// float to IEEE half precision and back, computed without any half type (the compiler's _Float16 is
// not on every target): x rounded to 11 significant bits, ties to even through nearbyint on the
// exactly scaled value; half's subnormal step is 2^-24 and values past 65504 round to infinity.

#include <algorithm>
#include <cmath>
#include <limits>

namespace kiln::testing {

inline float HalfReference(float x) {
  if (!std::isfinite(x) || x == 0.0f) return x;
  const int e = std::max(std::ilogb(x), -14);
  const double step = std::ldexp(1.0, e - 10);
  const double r = std::nearbyint(static_cast<double>(x) / step) * step;
  if (std::fabs(r) > 65504.0) return std::copysign(std::numeric_limits<float>::infinity(), x);
  return r == 0.0 ? std::copysign(0.0f, x) : static_cast<float>(r);
}

}  // namespace kiln::testing
