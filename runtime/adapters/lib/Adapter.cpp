//===- Adapter.cpp - LoRA scale and merging -------------------------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "AdapterInternal.h"
#include "ftl/Models/ModelWeights.h"

#include <algorithm>
#include <cmath>
#include <vector>

using namespace ftl::rt;

static llvm::Error makeError(const llvm::Twine &message) {
  return makeAdapterError(message);
}

double LoraAdapter::scale(const Pair &p, bool rslora) {
  double r = static_cast<double>(p.rank);
  return rslora ? p.alpha / std::sqrt(r) : p.alpha / r;
}

llvm::Error ftl::rt::checkLoraPair(llvm::StringRef name,
                                   const LoraAdapter::Pair &p,
                                   llvm::ArrayRef<int64_t> weightShape) {
  if (!p.A.valid() || !p.B.valid())
    return makeError("LoRA delta on '" + name + "' lacks its " +
                     (p.A.valid() ? "B" : "A") + " tensor");
  if (p.A.dtype() != DType::F32 || p.B.dtype() != DType::F32)
    return makeError(
        "LoRA delta on '" + name + "': expected F32 tensors, found A " +
        dtypeName(p.A.dtype()) + " and B " + dtypeName(p.B.dtype()));
  if (weightShape.size() != 2)
    return makeError("'" + name + "' is not a matrix (shape " +
                     formatShape(weightShape) + "), so LoRA cannot adapt it");
  if (p.rank <= 0)
    return makeError("LoRA delta on '" + name +
                     "': expected a positive rank, found " +
                     llvm::Twine(p.rank));
  int64_t out = weightShape[0], in = weightShape[1];
  int64_t wantA[] = {p.rank, in}, wantB[] = {out, p.rank};
  if (p.A.shape() != llvm::ArrayRef<int64_t>(wantA))
    return makeError("LoRA A of '" + name + "': expected shape " +
                     formatShape(wantA) + " (rank " + llvm::Twine(p.rank) +
                     ", weight " + formatShape(weightShape) + "), found " +
                     formatShape(p.A.shape()));
  if (p.B.shape() != llvm::ArrayRef<int64_t>(wantB))
    return makeError("LoRA B of '" + name + "': expected shape " +
                     formatShape(wantB) + " (rank " + llvm::Twine(p.rank) +
                     ", weight " + formatShape(weightShape) + "), found " +
                     formatShape(p.B.shape()));
  if (!std::isfinite(p.alpha))
    return makeError("LoRA delta on '" + name + "' has a non-finite alpha");
  return llvm::Error::success();
}

llvm::Error ftl::rt::mergeLora(ModelWeights &weights,
                               const LoraAdapter &adapter) {
  // Check everything first so that an error leaves `weights` unchanged.
  for (const auto &[name, pair] : adapter.deltas) {
    const Tensor *w = weights.find(name);
    if (!w)
      return makeError("LoRA delta on '" + name +
                       "', which is not a weight of the model");
    if (w->dtype() != DType::F32)
      return makeError("cannot merge into '" + name +
                       "': expected F32, found " + dtypeName(w->dtype()));
    if (llvm::Error err = checkLoraPair(name, pair, w->shape()))
      return err;
  }
  std::vector<double> row;
  for (const auto &[name, pair] : adapter.deltas) {
    Tensor merged = weights.find(name)->clone();
    int64_t out = merged.dim(0), in = merged.dim(1), r = pair.rank;
    double s = LoraAdapter::scale(pair, adapter.rslora);
    // A and B may be unaligned views of a mapped file: read them as bytes.
    Tensor a = pair.A.clone(), b = pair.B.clone();
    const float *A = a.dataAs<const float>();
    const float *B = b.dataAs<const float>();
    float *W = merged.dataAs<float>();
    row.assign(static_cast<size_t>(in), 0.0);
    for (int64_t i = 0; i < out; ++i) {
      std::fill(row.begin(), row.end(), 0.0);
      for (int64_t k = 0; k < r; ++k) {
        double bik = B[i * r + k];
        const float *aRow = A + k * in;
        for (int64_t j = 0; j < in; ++j)
          row[j] += bik * aRow[j];
      }
      float *wRow = W + i * in;
      for (int64_t j = 0; j < in; ++j)
        wRow[j] = static_cast<float>(wRow[j] + s * row[j]);
    }
    weights.set(name, std::move(merged));
  }
  return llvm::Error::success();
}
