//===- Coba.h - Convergence-based task weights (CoBa) -----------*- C++ -*-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// The task weights of `balance(..., by: coba)`: each task's validation loss
/// is tracked (divided by its value before training), and from `warmup`
/// steps on the weights favour the tasks whose loss falls slowly and hold
/// back the ones that start to diverge. With K tasks, at each validation:
///
///   s_k  least-squares slope of task k's last `history` losses
///   S    the same for the per-validation maximum over tasks
///   RCS  = softmax_k(K s_k / sum_j |s_j|)             relative convergence
///   ACS  = softmax_k(-n s_k / sum over task k's last n (<= history)
///                    slopes of |slope|)              absolute convergence
///   DF   = M softmax_t(-tau M S_t / sum_t |S_t|)[last] divergence factor,
///          over the M total slopes since warmup
///   w    = softmax_k(K (DF RCS_k + (1 - DF) ACS_k)), and where some
///          w_k < 1/(10K): w = 0.9 w + 1/(10K)
///
/// A zero denominator gives zero scores (uniform softmax). Before warmup
/// the weights are 1/K.
///
//===----------------------------------------------------------------------===//

#ifndef FTL_ENGINE_LIB_COBA_H
#define FTL_ENGINE_LIB_COBA_H

#include "llvm/ADT/ArrayRef.h"

#include <cstdint>
#include <vector>

namespace ftl::rt {

struct CobaSettings {
  int64_t warmup = 100, history = 200, every = 1;
  double tau = 5;
};

class CobaBalancer {
public:
  CobaBalancer(size_t tasks, CobaSettings settings);

  /// Records the tasks' validation losses after `step` optimizer steps. The
  /// first call (step 0, before training) gives the normalisers; from
  /// `warmup` steps on each call also updates the weights.
  void observe(int64_t step, llvm::ArrayRef<double> losses);

  /// Whether the losses are to be measured after `step` steps.
  bool validatesAfter(int64_t step) const {
    return step == 0 || step % settings.every == 0;
  }

  /// The current weights (they sum to 1).
  const std::vector<double> &weights() const { return current; }

  /// The weights' ingredients at the last update, for the metrics log.
  const std::vector<double> &lastSlopes() const { return slopes; }
  double lastDivergenceFactor() const { return divergence; }

private:
  size_t tasks;
  CobaSettings settings;
  std::vector<double> initial;                   ///< first losses
  std::vector<std::vector<double>> lossHistory;  ///< per task, normalised
  std::vector<std::vector<double>> slopeHistory; ///< per task, since warmup
  std::vector<double> totalSlopeHistory;         ///< since warmup
  std::vector<double> current, slopes;
  double divergence = 0;
};

/// The least-squares slope of y against 0, 1, ..., n-1 (0 for n < 2).
double leastSquaresSlope(llvm::ArrayRef<double> y);

/// softmax(K (DF RCS + (1 - DF) ACS)) with the 1/(10K) floor.
std::vector<double> combineCobaScores(llvm::ArrayRef<double> rcs,
                                      llvm::ArrayRef<double> acs,
                                      double divergence);

/// softmax(x) in double.
std::vector<double> softmax(llvm::ArrayRef<double> x);

} // namespace ftl::rt

#endif // FTL_ENGINE_LIB_COBA_H
