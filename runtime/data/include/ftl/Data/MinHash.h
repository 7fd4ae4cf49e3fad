//===- ftl/Data/MinHash.h - MinHash signatures and LSH bands ----*- C++ -*-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// MinHash near-duplicate detection as used by `dedup(minhash(...))`.
/// Text is normalised (ASCII letters lowercased, runs of whitespace become
/// one space, leading/trailing whitespace dropped), cut into shingles (`n`
/// consecutive words, or `n` consecutive code points; a text shorter than
/// `n` is one shingle), each shingle hashed to 64 bits with xxh3. Signature
/// entry j is min over shingles of the top 32 bits of (a_j * h + b_j) mod
/// 2^64 with seeded odd a_j. The fraction of equal entries estimates the
/// Jaccard similarity of the shingle sets.
///
//===----------------------------------------------------------------------===//

#ifndef FTL_DATA_MINHASH_H
#define FTL_DATA_MINHASH_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <string>
#include <vector>

namespace ftl::rt {

struct LshBands {
  unsigned bands;
  unsigned rows;
};

/// The LSH banding for `permutations` and a Jaccard `threshold`: over r in
/// 1..permutations with b = floor(permutations / r), the (b, r) minimising
///   wFP * integral_0^t P(s) ds + wFN * integral_t^1 (1 - P(s)) ds,
/// P(s) = 1 - (1 - s^r)^b the chance that a pair of similarity s shares a
/// band (integrals by the midpoint rule, 1000 steps; ties keep smaller r).
/// dedup uses wFP = 0.05, wFN = 0.95 when candidates are verified against
/// the full signature (false positives are cheap), else 0.5 and 0.5.
LshBands chooseLshBands(unsigned permutations, double threshold,
                        double fpWeight = 0.5, double fnWeight = 0.5);

class MinHasher {
public:
  MinHasher(unsigned permutations, unsigned ngram, bool wordShingles,
            uint64_t seed);

  unsigned permutations() const { return static_cast<unsigned>(mul.size()); }

  /// The normalised text (see the file comment).
  static std::string normalize(llvm::StringRef text);

  /// Distinct 64-bit shingle hashes of `text`, sorted.
  void shingleHashes(llvm::StringRef text, std::vector<uint64_t> &out) const;

  /// The signature of `text` (size permutations()). An empty text has the
  /// all-ones signature, so empty texts match each other.
  void signature(llvm::StringRef text, std::vector<uint32_t> &sig) const;
  void signatureOfHashes(llvm::ArrayRef<uint64_t> hashes,
                         std::vector<uint32_t> &sig) const;

  /// Fraction of equal entries.
  static double estimate(llvm::ArrayRef<uint32_t> a,
                         llvm::ArrayRef<uint32_t> b);

private:
  unsigned ngram;
  bool words;
  std::vector<uint64_t> mul, add;
};

} // namespace ftl::rt

#endif // FTL_DATA_MINHASH_H
