//===- ftl/Kernels/Reference.h - Naive reference kernels ---------*- C++
//-*-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// Plain, obviously-correct versions of the elementwise and normalization
/// operations of a training step. Each computes in double and rounds once to
/// float. The compiler's generated code is tested against these, as the tuned
/// kernels are tested against sgemmReference, attention*Reference and
/// linearCrossEntropy*Reference (declared next to the kernels).
///
/// All tensors are row-major and contiguous. "rows x dim" operations work on
/// each row of length `dim` independently. Backward functions overwrite their
/// outputs (parameter gradients included) unless they say "accumulate".
///
//===----------------------------------------------------------------------===//

#ifndef FTL_KERNELS_REFERENCE_H
#define FTL_KERNELS_REFERENCE_H

#include <cstdint>

namespace ftl::kernels {

//===----------------------------------------------------------------------===//
// Normalization
//===----------------------------------------------------------------------===//

/// y = (x - mean) * rstd * gamma + beta, rstd = 1 / sqrt(var + eps), with the
/// biased variance (PyTorch's LayerNorm). gamma / beta may be null (1 / 0).
/// mean and rstd [rows] are saved for the backward pass (may be null).
void layerNormForwardReference(int64_t rows, int64_t dim, const float *x,
                               const float *gamma, const float *beta, float eps,
                               float *y, float *mean, float *rstd);
/// dx [rows, dim]; dgamma and dbeta [dim] (may be null) are overwritten.
void layerNormBackwardReference(int64_t rows, int64_t dim, const float *x,
                                const float *gamma, const float *dy, float eps,
                                float *dx, float *dgamma, float *dbeta);

/// y = x * rstd * gamma, rstd = 1 / sqrt(mean(x^2) + eps) (Llama's RMSNorm,
/// weight multiplied after normalizing). gamma may be null; rstd may be null.
void rmsNormForwardReference(int64_t rows, int64_t dim, const float *x,
                             const float *gamma, float eps, float *y,
                             float *rstd);
void rmsNormBackwardReference(int64_t rows, int64_t dim, const float *x,
                              const float *gamma, const float *dy, float eps,
                              float *dx, float *dgamma);

//===----------------------------------------------------------------------===//
// Activations (n elements)
//===----------------------------------------------------------------------===//

/// GELU, tanh approximation (PyTorch approximate="tanh", GPT-2's gelu_new):
/// 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))).
void geluTanhForwardReference(int64_t n, const float *x, float *y);
void geluTanhBackwardReference(int64_t n, const float *x, const float *dy,
                               float *dx);

/// SiLU: x * sigmoid(x).
void siluForwardReference(int64_t n, const float *x, float *y);
void siluBackwardReference(int64_t n, const float *x, const float *dy,
                           float *dx);

/// SwiGLU: out = silu(gate) * up.
void swigluForwardReference(int64_t n, const float *gate, const float *up,
                            float *out);
void swigluBackwardReference(int64_t n, const float *gate, const float *up,
                             const float *dOut, float *dGate, float *dUp);

//===----------------------------------------------------------------------===//
// Rotary position embedding (Hugging Face rotate_half convention)
//===----------------------------------------------------------------------===//

/// x and y are [tokens, heads, headDim]; the first `rotaryDim` (even,
/// <= headDim) channels of each head are rotated, the rest copied. Channel i
/// pairs with i + rotaryDim / 2 and both use the angle
///   positions[t] * invFreq[i mod rotaryDim / 2],
///   invFreq[j] = 1 / theta^(2 j / rotaryDim),
/// with invFreq and the angle rounded to float as Hugging Face computes them
/// (cos and sin then evaluated in double):
///   y[i]       = x[i] cos - x[i + half] sin
///   y[i + half] = x[i + half] cos + x[i] sin
void ropeForwardReference(int64_t tokens, int64_t heads, int64_t headDim,
                          int64_t rotaryDim, const int32_t *positions,
                          float theta, const float *x, float *y);
/// The transpose (inverse) rotation applied to dy.
void ropeBackwardReference(int64_t tokens, int64_t heads, int64_t headDim,
                           int64_t rotaryDim, const int32_t *positions,
                           float theta, const float *dy, float *dx);

//===----------------------------------------------------------------------===//
// Softmax, embedding, optimizer
//===----------------------------------------------------------------------===//

/// Row softmax (max-shifted).
void softmaxForwardReference(int64_t rows, int64_t dim, const float *x,
                             float *y);
/// dx = y * (dy - sum(y * dy)) per row, from the forward output y.
void softmaxBackwardReference(int64_t rows, int64_t dim, const float *y,
                              const float *dy, float *dx);

/// out[t, :] = table[ids[t], :]; ids must lie in [0, vocab).
void embeddingForwardReference(int64_t tokens, int64_t dim, const int32_t *ids,
                               const float *table, float *out);
/// Scatter-add: dTable[ids[t], :] += dOut[t, :] (accumulates into dTable).
void embeddingBackwardReference(int64_t tokens, int64_t dim, const int32_t *ids,
                                const float *dOut, float *dTable);

/// One step of PyTorch's AdamW (amsgrad off) on n parameters. `step` is the
/// 1-based step count of this update.
///   p -= lr * weightDecay * p
///   m = beta1 m + (1 - beta1) g;   v = beta2 v + (1 - beta2) g^2
///   p -= lr / (1 - beta1^step) * m / (sqrt(v) / sqrt(1 - beta2^step) + eps)
void adamWStepReference(int64_t n, float *param, const float *grad, float *m,
                        float *v, int64_t step, float lr, float beta1,
                        float beta2, float eps, float weightDecay);

} // namespace ftl::kernels

#endif // FTL_KERNELS_REFERENCE_H
