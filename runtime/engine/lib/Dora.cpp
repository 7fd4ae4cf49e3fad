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
