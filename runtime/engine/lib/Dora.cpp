//===- Dora.cpp - DoRA's weight norms -------------------------------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "Dora.h"

#include <cmath>
#include <vector>

void ftl::rt::doraRowNorms(const float *weight, const float *a, const float *b,
                           int64_t out, int64_t in, int64_t rank, double scale,
                           float *norms) {
  std::vector<double> row(static_cast<size_t>(in));
  for (int64_t i = 0; i < out; ++i) {
    for (int64_t j = 0; j < in; ++j)
      row[j] = weight[i * in + j];
    for (int64_t r = 0; r < rank; ++r) {
      const double coef = scale * b[i * rank + r];
      if (coef == 0)
        continue;
      for (int64_t j = 0; j < in; ++j)
        row[j] += coef * a[r * in + j];
    }
    double sum = 0;
    for (double v : row)
      sum += v * v;
    norms[i] = float(std::sqrt(sum));
  }
}

ftl::rt::Tensor ftl::rt::doraMergedWeight(const Tensor &weight, const Tensor &a,
                                          const Tensor &b,
                                          const Tensor &magnitude,
                                          double scale) {
  const int64_t out = weight.dim(0), in = weight.dim(1), rank = a.dim(0);
  const float *w = weight.dataAs<const float>();
  const float *ad = a.dataAs<const float>();
  const float *bd = b.dataAs<const float>();
  const float *m = magnitude.dataAs<const float>();
  std::vector<float> norms(static_cast<size_t>(out));
  doraRowNorms(w, ad, bd, out, in, rank, scale, norms.data());
  Tensor merged = Tensor::zeros(DType::F32, {out, in});
  float *dst = merged.dataAs<float>();
  for (int64_t i = 0; i < out; ++i) {
    const double rowScale = double(m[i]) / double(norms[i]);
    for (int64_t j = 0; j < in; ++j) {
      double s = 0;
      for (int64_t r = 0; r < rank; ++r)
        s += double(bd[i * rank + r]) * ad[r * in + j];
      dst[i * in + j] = float(rowScale * (double(w[i * in + j]) + scale * s));
    }
  }
  return merged;
}
