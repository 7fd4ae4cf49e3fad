//===- ftl/Engine/Adapters.h - Adapter numerics at run time -----*- C++ -*-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// The numerical pieces of the adapters the runtime sets up itself, free of
/// the interpreter so that tests can check them against references:
///
/// - `truncatedSvd`: the top singular triplets of a weight (subspace
///   iteration in double, one-sided Jacobi for the small problem);
/// - `pickSparseEntries`: the entries sparse fine-tuning trains (random,
///   largest magnitude, or largest in a rank-r approximation: LIFT);
/// - `pickHalf`: which parameter groups half fine-tuning trains in a round;
/// - `pissaInit`: LoRA factors from the principal singular triplets, with the
///   residual left as the base weight (PiSSA);
/// - `cordaInit`: the same from the triplets of W C, C the covariance of the
///   layer's inputs (CorDA).
///
/// Matrices are row-major [rows, cols] f32 (nn.Linear layout [out, in]).
///
//===----------------------------------------------------------------------===//

#ifndef FTL_ENGINE_ADAPTERS_H
#define FTL_ENGINE_ADAPTERS_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <string>
#include <vector>

namespace ftl::rt {

class Rng;

/// W ~= U diag(S) V^T with the `rank` largest singular values.
struct TruncatedSvd {
  int64_t rows = 0, cols = 0, rank = 0;
  std::vector<double> u;  ///< [rows, rank]; column j is the j-th left vector
  std::vector<double> s;  ///< [rank], descending, >= 0
  std::vector<double> vt; ///< [rank, cols]; row j is the j-th right vector
  /// Entry (i, j) of U diag(S) V^T.
  double approx(int64_t i, int64_t j) const;
};

/// The top `rank` (1 <= rank <= min(rows, cols)) singular triplets of `w`.
/// Deterministic: the same matrix gives the same bits on every run. Where
/// the smaller side is at most 256 (or at most twice 2 * rank + 8), one-sided
/// Jacobi on the whole matrix: exact to rounding. Otherwise subspace
/// iteration with 2 * rank + 8 vectors until the top `rank` values agree to
/// 1e-13 relative, at most 200 rounds: accurate when the spectrum decays
/// past `rank` (trained weights); for flat spectra (random matrices) the
/// subspace is an approximation.
TruncatedSvd truncatedSvd(const float *w, int64_t rows, int64_t cols,
                          int64_t rank);

/// The `k` largest of `score[0..n)` (ties: the lower index first), as sorted
/// indices.
std::vector<uint32_t> topKIndices(llvm::ArrayRef<double> score, int64_t k);

/// The `k` entries (sorted flat indices into [rows, cols]) that sparse
/// fine-tuning trains in `w`. `pick`: "random" (a uniform k-subset drawn
/// from `rng`), "magnitude" (largest |w|), "principal" (largest |W_r| of the
/// rank-`rank` approximation, LIFT). Ties go to the lower index.
std::vector<uint32_t> pickSparseEntries(const float *w, int64_t rows,
                                        int64_t cols, int64_t k,
                                        llvm::StringRef pick, int64_t rank,
                                        Rng &rng);

/// Optimizer state of gathered sparse entries after a mask refresh: the
/// value of every entry of `to` that was in `from` carries over, new entries
/// start at 0 (both sorted).
std::vector<float> carryOver(llvm::ArrayRef<uint32_t> from,
                             llvm::ArrayRef<uint32_t> to,
                             llvm::ArrayRef<float> values);

/// One parameter group of half fine-tuning: a module of a layer.
struct HalfModule {
  int64_t layer = 0;
  std::string category; ///< "attn", "mlp" or "norm"
};

/// Which of `modules` train this round. Within each layer and category
/// with n modules, n/2 train; where n is odd, a random half of those layers
/// (rounded up) train (n+1)/2 and the rest (n-1)/2, so a model-wide half of
/// every category trains (HFT: 2 of 4 attention matrices per layer; 2 of 3
/// MLP matrices in half the layers and 1 of 3 in the others; 1 of the 2
/// norms). Draws from `rng` only.
std::vector<bool> pickHalf(llvm::ArrayRef<HalfModule> modules, Rng &rng);

/// PiSSA for a LoRA of `rank` with scale `scale` on `w` [out, in]: with
/// W ~= U S V^T (top `rank`), A = sqrt(S / scale) V^T [rank, in] and
/// B = U sqrt(S / scale) [out, rank], so that scale * B A is the principal
/// part; `w` becomes the residual W - scale * B A (of the rounded A and B,
/// summed in double and rounded once), and the model's output at step 0 is
/// that of W up to rounding.
void pissaInit(float *w, int64_t out, int64_t in, int64_t rank, double scale,
               float *a, float *b);

/// CorDA for a LoRA of `rank` with scale `scale` on `w` [out, in], given the
/// covariance `cov` [in, in] of the layer's inputs over context data: with
/// C = cov + damping (1e-6 of its mean diagonal, so it can be inverted) and
/// W C = U S V^T (all triplets, descending), W = U S (V^T C^-1). The adapter
/// takes the `rank` largest components (IPM, instruction-previewed) or the
/// `rank` smallest (KPM, knowledge-preserved):
/// A = sqrt(S / scale) (V^T C^-1) [rank, in], B = U sqrt(S / scale)
/// [out, rank]; `w` becomes the residual W - scale * B A as in pissaInit.
/// With C = I this is PiSSA (IPM) up to the damping.
void cordaInit(float *w, int64_t out, int64_t in, int64_t rank, double scale,
               const double *cov, bool kpm, float *a, float *b);

} // namespace ftl::rt

#endif // FTL_ENGINE_ADAPTERS_H
