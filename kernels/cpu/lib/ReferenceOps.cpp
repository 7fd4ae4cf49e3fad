//===- ReferenceOps.cpp - Naive elementwise and normalization ops ---------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
//
// Each function computes in double straight from its definition and rounds
// once to float. Clarity first: these are the oracle for generated code.
//
//===----------------------------------------------------------------------===//

#include "ftl/Kernels/Reference.h"

#include <algorithm>
#include <cmath>
#include <vector>

using namespace ftl::kernels;

namespace {
constexpr double kSqrt2OverPi = 0.7978845608028654; // sqrt(2 / pi)
constexpr double kGeluCubic = 0.044715;

double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }
} // namespace

//===----------------------------------------------------------------------===//
// LayerNorm
//===----------------------------------------------------------------------===//

void ftl::kernels::layerNormForwardReference(int64_t rows, int64_t dim,
                                             const float *x, const float *gamma,
                                             const float *beta, float eps,
                                             float *y, float *mean,
                                             float *rstd) {
  for (int64_t r = 0; r < rows; ++r) {
    const float *xr = x + r * dim;
    double mu = 0;
    for (int64_t i = 0; i < dim; ++i)
      mu += xr[i];
    mu /= dim;
    double var = 0;
    for (int64_t i = 0; i < dim; ++i)
      var += (xr[i] - mu) * (xr[i] - mu);
    var /= dim;
    const double rs = 1.0 / std::sqrt(var + eps);
    for (int64_t i = 0; i < dim; ++i) {
      double g = gamma ? gamma[i] : 1.0, b = beta ? beta[i] : 0.0;
      y[r * dim + i] = static_cast<float>((xr[i] - mu) * rs * g + b);
    }
    if (mean)
      mean[r] = static_cast<float>(mu);
    if (rstd)
      rstd[r] = static_cast<float>(rs);
  }
}

void ftl::kernels::layerNormBackwardReference(
    int64_t rows, int64_t dim, const float *x, const float *gamma,
    const float *dy, float eps, float *dx, float *dgamma, float *dbeta) {
  std::vector<double> dg(dim, 0.0), db(dim, 0.0), xhat(dim), dxhat(dim);
  for (int64_t r = 0; r < rows; ++r) {
    const float *xr = x + r * dim;
    const float *dyr = dy + r * dim;
    double mu = 0;
    for (int64_t i = 0; i < dim; ++i)
      mu += xr[i];
    mu /= dim;
    double var = 0;
    for (int64_t i = 0; i < dim; ++i)
      var += (xr[i] - mu) * (xr[i] - mu);
    var /= dim;
    const double rs = 1.0 / std::sqrt(var + eps);
    double meanDxhat = 0, meanDxhatXhat = 0;
    for (int64_t i = 0; i < dim; ++i) {
      xhat[i] = (xr[i] - mu) * rs;
      dxhat[i] = dyr[i] * (gamma ? gamma[i] : 1.0);
      meanDxhat += dxhat[i];
      meanDxhatXhat += dxhat[i] * xhat[i];
      dg[i] += dyr[i] * xhat[i];
      db[i] += dyr[i];
    }
    meanDxhat /= dim;
    meanDxhatXhat /= dim;
    for (int64_t i = 0; i < dim; ++i)
      dx[r * dim + i] = static_cast<float>(
          rs * (dxhat[i] - meanDxhat - xhat[i] * meanDxhatXhat));
  }
  for (int64_t i = 0; i < dim; ++i) {
    if (dgamma)
      dgamma[i] = static_cast<float>(dg[i]);
    if (dbeta)
      dbeta[i] = static_cast<float>(db[i]);
  }
}

//===----------------------------------------------------------------------===//
// RMSNorm
//===----------------------------------------------------------------------===//

void ftl::kernels::rmsNormForwardReference(int64_t rows, int64_t dim,
                                           const float *x, const float *gamma,
                                           float eps, float *y, float *rstd) {
  for (int64_t r = 0; r < rows; ++r) {
    const float *xr = x + r * dim;
    double ms = 0;
    for (int64_t i = 0; i < dim; ++i)
      ms += static_cast<double>(xr[i]) * xr[i];
    ms /= dim;
    const double rs = 1.0 / std::sqrt(ms + eps);
    for (int64_t i = 0; i < dim; ++i)
      y[r * dim + i] =
          static_cast<float>(xr[i] * rs * (gamma ? gamma[i] : 1.0));
    if (rstd)
      rstd[r] = static_cast<float>(rs);
  }
}

void ftl::kernels::rmsNormBackwardReference(int64_t rows, int64_t dim,
                                            const float *x, const float *gamma,
                                            const float *dy, float eps,
                                            float *dx, float *dgamma) {
  std::vector<double> dg(dim, 0.0);
  for (int64_t r = 0; r < rows; ++r) {
    const float *xr = x + r * dim;
    const float *dyr = dy + r * dim;
    double ms = 0;
    for (int64_t i = 0; i < dim; ++i)
      ms += static_cast<double>(xr[i]) * xr[i];
    ms /= dim;
    const double rs = 1.0 / std::sqrt(ms + eps);
    // y = x rs g;  dx = rs (dy g) - x rs^3 mean(dy g x).
    double dot = 0;
    for (int64_t i = 0; i < dim; ++i) {
      const double dyg = dyr[i] * (gamma ? gamma[i] : 1.0);
      dot += dyg * xr[i];
      dg[i] += dyr[i] * xr[i] * rs;
    }
    dot /= dim;
    for (int64_t i = 0; i < dim; ++i) {
      const double dyg = dyr[i] * (gamma ? gamma[i] : 1.0);
      dx[r * dim + i] =
          static_cast<float>(rs * dyg - xr[i] * rs * rs * rs * dot);
    }
  }
  if (dgamma)
    for (int64_t i = 0; i < dim; ++i)
      dgamma[i] = static_cast<float>(dg[i]);
}

//===----------------------------------------------------------------------===//
// Activations
//===----------------------------------------------------------------------===//

void ftl::kernels::geluTanhForwardReference(int64_t n, const float *x,
                                            float *y) {
  for (int64_t i = 0; i < n; ++i) {
    const double v = x[i];
    const double u = kSqrt2OverPi * (v + kGeluCubic * v * v * v);
    y[i] = static_cast<float>(0.5 * v * (1.0 + std::tanh(u)));
  }
}

void ftl::kernels::geluTanhBackwardReference(int64_t n, const float *x,
                                             const float *dy, float *dx) {
  for (int64_t i = 0; i < n; ++i) {
    const double v = x[i];
    const double u = kSqrt2OverPi * (v + kGeluCubic * v * v * v);
    const double t = std::tanh(u);
    const double du = kSqrt2OverPi * (1.0 + 3.0 * kGeluCubic * v * v);
    const double grad = 0.5 * (1.0 + t) + 0.5 * v * (1.0 - t * t) * du;
    dx[i] = static_cast<float>(dy[i] * grad);
  }
}

void ftl::kernels::siluForwardReference(int64_t n, const float *x, float *y) {
  for (int64_t i = 0; i < n; ++i)
    y[i] = static_cast<float>(x[i] * sigmoid(x[i]));
}

void ftl::kernels::siluBackwardReference(int64_t n, const float *x,
                                         const float *dy, float *dx) {
  for (int64_t i = 0; i < n; ++i) {
    const double s = sigmoid(x[i]);
    dx[i] = static_cast<float>(dy[i] * s * (1.0 + x[i] * (1.0 - s)));
  }
}

void ftl::kernels::swigluForwardReference(int64_t n, const float *gate,
                                          const float *up, float *out) {
  for (int64_t i = 0; i < n; ++i)
    out[i] = static_cast<float>(gate[i] * sigmoid(gate[i]) * up[i]);
}

void ftl::kernels::swigluBackwardReference(int64_t n, const float *gate,
                                           const float *up, const float *dOut,
                                           float *dGate, float *dUp) {
  for (int64_t i = 0; i < n; ++i) {
    const double s = sigmoid(gate[i]);
    const double silu = gate[i] * s;
    dUp[i] = static_cast<float>(dOut[i] * silu);
    dGate[i] =
        static_cast<float>(dOut[i] * up[i] * s * (1.0 + gate[i] * (1.0 - s)));
  }
}

//===----------------------------------------------------------------------===//
// RoPE
//===----------------------------------------------------------------------===//

namespace {
/// The rotation angle of channel pair j at `position`, as Hugging Face
/// computes it in float: inv_freq = 1 / theta^(2j / rotaryDim), angle =
/// position * inv_freq.
double ropeAngle(int64_t position, int64_t j, int64_t rotaryDim, float theta) {
  const float exponent =
      static_cast<float>(2 * j) / static_cast<float>(rotaryDim);
  const float base = static_cast<float>(
      std::pow(static_cast<double>(theta), static_cast<double>(exponent)));
  const float invFreq = 1.0f / base;
  return static_cast<double>(static_cast<float>(position) * invFreq);
}

void ropeApply(int64_t tokens, int64_t heads, int64_t headDim,
               int64_t rotaryDim, const int32_t *positions, float theta,
               const float *in, float *out, double direction) {
  const int64_t half = rotaryDim / 2;
  for (int64_t t = 0; t < tokens; ++t)
    for (int64_t h = 0; h < heads; ++h) {
      const float *x = in + (t * heads + h) * headDim;
      float *y = out + (t * heads + h) * headDim;
      for (int64_t j = 0; j < half; ++j) {
        const double a = ropeAngle(positions[t], j, rotaryDim, theta);
        const double c = std::cos(a), s = direction * std::sin(a);
        const double x1 = x[j], x2 = x[j + half];
        y[j] = static_cast<float>(x1 * c - x2 * s);
        y[j + half] = static_cast<float>(x2 * c + x1 * s);
      }
      for (int64_t i = rotaryDim; i < headDim; ++i)
        y[i] = x[i];
    }
}
} // namespace

void ftl::kernels::ropeForwardReference(int64_t tokens, int64_t heads,
                                        int64_t headDim, int64_t rotaryDim,
                                        const int32_t *positions, float theta,
                                        const float *x, float *y) {
  ropeApply(tokens, heads, headDim, rotaryDim, positions, theta, x, y, 1.0);
}

void ftl::kernels::ropeBackwardReference(int64_t tokens, int64_t heads,
                                         int64_t headDim, int64_t rotaryDim,
                                         const int32_t *positions, float theta,
                                         const float *dy, float *dx) {
  ropeApply(tokens, heads, headDim, rotaryDim, positions, theta, dy, dx, -1.0);
}

//===----------------------------------------------------------------------===//
// Softmax, embedding, AdamW
//===----------------------------------------------------------------------===//

void ftl::kernels::softmaxForwardReference(int64_t rows, int64_t dim,
                                           const float *x, float *y) {
  for (int64_t r = 0; r < rows; ++r) {
    const float *xr = x + r * dim;
    const double m = *std::max_element(xr, xr + dim);
    double sum = 0;
    for (int64_t i = 0; i < dim; ++i)
      sum += std::exp(xr[i] - m);
    for (int64_t i = 0; i < dim; ++i)
      y[r * dim + i] = static_cast<float>(std::exp(xr[i] - m) / sum);
  }
}

void ftl::kernels::softmaxBackwardReference(int64_t rows, int64_t dim,
                                            const float *y, const float *dy,
                                            float *dx) {
  for (int64_t r = 0; r < rows; ++r) {
    double dot = 0;
    for (int64_t i = 0; i < dim; ++i)
      dot += static_cast<double>(y[r * dim + i]) * dy[r * dim + i];
    for (int64_t i = 0; i < dim; ++i)
      dx[r * dim + i] =
          static_cast<float>(y[r * dim + i] * (dy[r * dim + i] - dot));
  }
}

void ftl::kernels::embeddingForwardReference(int64_t tokens, int64_t dim,
                                             const int32_t *ids,
                                             const float *table, float *out) {
  for (int64_t t = 0; t < tokens; ++t)
    for (int64_t i = 0; i < dim; ++i)
      out[t * dim + i] = table[static_cast<int64_t>(ids[t]) * dim + i];
}

void ftl::kernels::embeddingBackwardReference(int64_t tokens, int64_t dim,
                                              const int32_t *ids,
                                              const float *dOut,
                                              float *dTable) {
  for (int64_t t = 0; t < tokens; ++t)
    for (int64_t i = 0; i < dim; ++i)
      dTable[static_cast<int64_t>(ids[t]) * dim + i] += dOut[t * dim + i];
}

void ftl::kernels::adamWStepReference(int64_t n, float *param,
                                      const float *grad, float *m, float *v,
                                      int64_t step, float lr, float beta1,
                                      float beta2, float eps,
                                      float weightDecay) {
  const double b1 = beta1, b2 = beta2;
  const double bias1 = 1.0 - std::pow(b1, static_cast<double>(step));
  const double bias2 = 1.0 - std::pow(b2, static_cast<double>(step));
  const double stepSize = lr / bias1;
  for (int64_t i = 0; i < n; ++i) {
    double p = param[i];
    p -= static_cast<double>(lr) * weightDecay * p;
    const double g = grad[i];
    const double mi = b1 * m[i] + (1.0 - b1) * g;
    const double vi = b2 * v[i] + (1.0 - b2) * g * g;
    p -= stepSize * mi / (std::sqrt(vi) / std::sqrt(bias2) + eps);
    m[i] = static_cast<float>(mi);
    v[i] = static_cast<float>(vi);
    param[i] = static_cast<float>(p);
  }
}
