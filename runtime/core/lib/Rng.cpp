//===- Rng.cpp - Deterministic random numbers -----------------------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "ftl/Runtime/Rng.h"

#include "llvm/Support/xxhash.h"

#include <cmath>

using namespace ftl::rt;

uint64_t ftl::rt::mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

Rng::Rng(uint64_t seed) : seedValue(seed) {
  uint64_t s = seed;
  for (uint64_t &word : state) {
    s += 0x9e3779b97f4a7c15ULL;
    word = mix64(s);
  }
}

Rng Rng::derive(llvm::StringRef purpose) const {
  return Rng(mix64(seedValue ^ llvm::xxh3_64bits(purpose)));
}

Rng Rng::derive(uint64_t index) const {
  return Rng(mix64(seedValue ^ mix64(index + 0x632be59bd9b4e019ULL)));
}

static inline uint64_t rotl(uint64_t x, int k) {
  return (x << k) | (x >> (64 - k));
}

uint64_t Rng::next() {
  const uint64_t result = rotl(state[1] * 5, 7) * 9;
  const uint64_t t = state[1] << 17;
  state[2] ^= state[0];
  state[3] ^= state[1];
  state[1] ^= state[2];
  state[0] ^= state[3];
  state[2] ^= t;
  state[3] = rotl(state[3], 45);
  return result;
}

uint64_t Rng::below(uint64_t bound) {
  // Lemire's nearly divisionless method with rejection.
  __uint128_t m = static_cast<__uint128_t>(next()) * bound;
  uint64_t low = static_cast<uint64_t>(m);
  if (low < bound) {
    uint64_t threshold = -bound % bound;
    while (low < threshold) {
      m = static_cast<__uint128_t>(next()) * bound;
      low = static_cast<uint64_t>(m);
    }
  }
  return static_cast<uint64_t>(m >> 64);
}

float Rng::uniform() { return (next() >> 40) * 0x1.0p-24f; }

double Rng::uniformDouble() { return (next() >> 11) * 0x1.0p-53; }

double Rng::normal() {
  if (hasSpareNormal) {
    hasSpareNormal = false;
    return spareNormal;
  }
  double u1 = uniformDouble();
  double u2 = uniformDouble();
  if (u1 < 1e-300)
    u1 = 1e-300;
  double radius = std::sqrt(-2.0 * std::log(u1));
  double angle = 2.0 * M_PI * u2;
  spareNormal = radius * std::sin(angle);
  hasSpareNormal = true;
  return radius * std::cos(angle);
}
