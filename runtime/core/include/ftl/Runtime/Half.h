//===- ftl/Runtime/Half.h - f16 and bf16 conversions ------------*- C++ -*-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// Exact conversions between IEEE binary16 (f16), bfloat16 (bf16) and f32/f64.
/// Values are carried as their raw `uint16_t` bit patterns. Narrowing rounds
/// to nearest, ties to even; infinities and signed zeros are kept; NaNs stay
/// NaNs (quieted, top payload bits kept); f16 subnormals are produced and
/// read exactly. Widening is always exact.
///
//===----------------------------------------------------------------------===//

#ifndef FTL_RUNTIME_HALF_H
#define FTL_RUNTIME_HALF_H

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace ftl::rt {

namespace detail {
inline uint32_t floatBits(float f) {
  uint32_t x;
  std::memcpy(&x, &f, sizeof(x));
  return x;
}
inline float bitsFloat(uint32_t x) {
  float f;
  std::memcpy(&f, &x, sizeof(f));
  return f;
}
} // namespace detail

/// f16 bits -> f32 (exact).
inline float f16ToF32(uint16_t h) {
  uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1Fu;
  uint32_t mant = h & 0x3FFu;
  uint32_t bits;
  if (exp == 0x1F) {
    bits = sign | 0x7F800000u | (mant << 13); // Inf, or NaN with its payload
  } else if (exp != 0) {
    bits = sign | ((exp + 112) << 23) | (mant << 13);
  } else if (mant == 0) {
    bits = sign;
  } else {
    // Subnormal: mant * 2^-24. Normalise around the leading set bit p.
    uint32_t p = 31 - static_cast<uint32_t>(__builtin_clz(mant));
    bits = sign | ((p + 103) << 23) | ((mant << (23 - p)) & 0x7FFFFFu);
  }
  return detail::bitsFloat(bits);
}

/// f32 -> f16 bits, round to nearest even.
inline uint16_t f32ToF16(float f) {
  uint32_t x = detail::floatBits(f);
  uint32_t sign = (x >> 16) & 0x8000u;
  uint32_t absx = x & 0x7FFFFFFFu;
  if (absx >= 0x7F800000u) {
    if (absx > 0x7F800000u) // NaN: keep the top payload bits, force quiet.
      return static_cast<uint16_t>(sign | 0x7E00u | ((absx >> 13) & 0x3FFu));
    return static_cast<uint16_t>(sign | 0x7C00u);
  }
  if (absx >= 0x477FF000u) // >= 65520 rounds to infinity
    return static_cast<uint16_t>(sign | 0x7C00u);
  if (absx >= 0x38800000u) { // >= 2^-14: normal f16
    uint32_t r = absx - (112u << 23);
    r += 0xFFFu + ((r >> 13) & 1u);
    return static_cast<uint16_t>(sign | (r >> 13));
  }
  if (absx <= 0x33000000u) // <= 2^-25 rounds to (signed) zero
    return static_cast<uint16_t>(sign);
  // f16 subnormal: round |x| / 2^-24 to an integer.
  uint32_t e = absx >> 23;
  uint32_t m = (absx & 0x7FFFFFu) | 0x800000u;
  uint32_t shift = 126 - e; // 14..24
  uint32_t q = m >> shift;
  uint32_t rem = m & ((1u << shift) - 1);
  uint32_t half = 1u << (shift - 1);
  if (rem > half || (rem == half && (q & 1u)))
    ++q;
  return static_cast<uint16_t>(sign | q);
}

/// bf16 bits -> f32 (exact).
inline float bf16ToF32(uint16_t b) {
  return detail::bitsFloat(static_cast<uint32_t>(b) << 16);
}

/// f32 -> bf16 bits, round to nearest even.
inline uint16_t f32ToBF16(float f) {
  uint32_t x = detail::floatBits(f);
  if ((x & 0x7FFFFFFFu) > 0x7F800000u)
    return static_cast<uint16_t>((x >> 16) | 0x0040u);
  x += 0x7FFFu + ((x >> 16) & 1u);
  return static_cast<uint16_t>(x >> 16);
}

/// f64 -> f32 rounded to odd (truncate, then set the last bit if inexact).
/// Rounding that result again to f16 or bf16 equals rounding the f64 once.
float f64ToF32RoundToOdd(double d);

/// f64 -> f16 / bf16 bits with a single correct rounding (nearest even).
inline uint16_t f64ToF16(double d) { return f32ToF16(f64ToF32RoundToOdd(d)); }
inline uint16_t f64ToBF16(double d) { return f32ToBF16(f64ToF32RoundToOdd(d)); }

/// Bulk versions. `src` and `dst` must not overlap.
void f16ToF32(const uint16_t *src, float *dst, size_t n);
void f32ToF16(const float *src, uint16_t *dst, size_t n);
void bf16ToF32(const uint16_t *src, float *dst, size_t n);
void f32ToBF16(const float *src, uint16_t *dst, size_t n);

} // namespace ftl::rt

#endif // FTL_RUNTIME_HALF_H
