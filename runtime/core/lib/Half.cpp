//===- Half.cpp - f16 and bf16 conversions --------------------------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "ftl/Runtime/Half.h"

#include <cmath>

using namespace ftl::rt;

float ftl::rt::f64ToF32RoundToOdd(double d) {
  float f = static_cast<float>(d);
  if (std::isnan(d) || std::isinf(d) || static_cast<double>(f) == d)
    return f;
  // Inexact: step back toward zero if rounding went away from it, then mark
  // the result inexact with an odd last bit.
  if (std::fabs(static_cast<double>(f)) > std::fabs(d))
    f = std::nextafter(f, 0.0f);
  return detail::bitsFloat(detail::floatBits(f) | 1u);
}

void ftl::rt::f16ToF32(const uint16_t *src, float *dst, size_t n) {
  for (size_t i = 0; i < n; ++i)
    dst[i] = f16ToF32(src[i]);
}

void ftl::rt::f32ToF16(const float *src, uint16_t *dst, size_t n) {
  for (size_t i = 0; i < n; ++i)
    dst[i] = f32ToF16(src[i]);
}

void ftl::rt::bf16ToF32(const uint16_t *src, float *dst, size_t n) {
  for (size_t i = 0; i < n; ++i)
    dst[i] = bf16ToF32(src[i]);
}

void ftl::rt::f32ToBF16(const float *src, uint16_t *dst, size_t n) {
  for (size_t i = 0; i < n; ++i)
    dst[i] = f32ToBF16(src[i]);
}
