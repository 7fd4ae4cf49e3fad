//===- ftl/Runtime/Rng.h - Deterministic random numbers ---------*- C++ -*-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// One seed drives every random choice in a run. `Rng` is xoshiro256** seeded
/// through splitmix64; `Rng::derive` gives an independent stream for a named
/// purpose ("init", "shuffle:train", ...) so that adding a new consumer never
/// shifts the numbers another consumer sees.
///
//===----------------------------------------------------------------------===//

#ifndef FTL_RUNTIME_RNG_H
#define FTL_RUNTIME_RNG_H

#include "llvm/ADT/StringRef.h"

#include <cstdint>

namespace ftl::rt {

class Rng {
public:
  explicit Rng(uint64_t seed = 0);

  /// A new generator whose stream depends only on this generator's seed and
  /// `purpose` (not on how many numbers this one has produced).
  Rng derive(llvm::StringRef purpose) const;
  Rng derive(uint64_t index) const;

  uint64_t seed() const { return seedValue; }

  /// Uniform 64 random bits.
  uint64_t next();
  /// Uniform in [0, bound), without modulo bias. `bound` must be > 0.
  uint64_t below(uint64_t bound);
  /// Uniform float in [0, 1) with 24 random bits.
  float uniform();
  /// Uniform double in [0, 1) with 53 random bits.
  double uniformDouble();
  /// Standard normal (Box-Muller, deterministic pairing).
  double normal();

private:
  uint64_t seedValue;
  uint64_t state[4];
  bool hasSpareNormal = false;
  double spareNormal = 0;
};

/// splitmix64 finaliser; also a good 64-bit integer hash.
uint64_t mix64(uint64_t x);

} // namespace ftl::rt

#endif // FTL_RUNTIME_RNG_H
