//===- AdapterSetup.h - Adapter set-up (private) ----------------*- C++ -*-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// The interpreter's side of sparse adapters and PiSSA-initialised LoRA (the
/// numerics are in ftl/Engine/Adapters.h).
///
//===----------------------------------------------------------------------===//

#ifndef FTL_ENGINE_LIB_ADAPTERSETUP_H
#define FTL_ENGINE_LIB_ADAPTERSETUP_H

#include "Interpreter.h"

namespace ftl {
struct SparsePlacement;
}

namespace ftl::rt {

/// The trainable entries of `sp`'s weight `w` for pick round `round` (0 at
/// placement, then one more per refresh): random picks draw from the run's
/// seed, per adapter, tensor and round.
std::vector<uint32_t> pickSparseMask(const ::ftl::SparsePlacement &sp,
                                     const Tensor &w, const Rng &runRng,
                                     int64_t round);

/// Picks the trainable entries of every weight a `sparse(...)` adapter owns
/// and records them in `model.sparseMasks`. With `pick: lottery(from: m0)`
/// (`lotteryFrom` is m0) the entries are the k largest |W - W0|, and then
/// every weight of the model is reset to m0's (LT-SFT).
llvm::Error setUpSparseAdapter(mlir::Operation *adapterOp, ModelState &model,
                               const Rng &runRng,
                               const ModelState *lotteryFrom = nullptr);

/// CorDA: the input covariance X^T X of each of `targets` (canonical weight
/// names) over the first corda_samples examples of the adapter's
/// corda_data, run through `model` as it is.
llvm::Expected<std::map<std::string, std::vector<double>>>
cordaCovariances(Interpreter &interp, mlir::Operation *adapterOp,
                 ModelState &model, llvm::ArrayRef<std::string> targets);

/// PiSSA initialisation of the LoRA factors `a` [rank, in] and `b`
/// [out, rank] on weight `w`, which becomes the residual.
void initPissa(Tensor &w, Tensor &a, Tensor &b, double scale);

} // namespace ftl::rt

#endif // FTL_ENGINE_LIB_ADAPTERSETUP_H
