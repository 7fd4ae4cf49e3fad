//===- Sampler.h - Choosing the next token from logits ----------*- C++ -*-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// The sampling rule of `generate` (internal; the unit tests include it), as
/// Hugging Face's warpers apply it: logits divided by the temperature, then
/// top-k (every token at least as likely as the k-th stays, ties included),
/// then top-p (the most likely tokens, in decreasing order, while the mass
/// before them is below p; the first always stays), then one draw from the
/// renormalised softmax. Temperature 0 is greedy (the lowest id among equal
/// maxima) and draws nothing.
///
//===----------------------------------------------------------------------===//

#ifndef FTL_GENERATE_SAMPLER_H
#define FTL_GENERATE_SAMPLER_H

#include "ftl/Runtime/Rng.h"

#include <cstdint>
#include <vector>

namespace ftl::rt::detail {

struct SamplerParams {
  double temperature = 0;
  int64_t topK = 0;
  double topP = 1.0;
};

/// Reusable buffers (one per thread), sized on first use.
struct SamplerScratch {
  std::vector<float> scaled;
  std::vector<double> weight;
  std::vector<int32_t> order;
};

/// The index of the greatest logit (the lowest one among ties).
int32_t argmaxToken(const float *logits, int64_t vocab);

/// Applies temperature, top-k and top-p to `logits` and draws one token with
/// a single rng.uniformDouble() (none for temperature 0).
int32_t sampleToken(const float *logits, int64_t vocab,
                    const SamplerParams &params, Rng &rng,
                    SamplerScratch &scratch);

} // namespace ftl::rt::detail

#endif // FTL_GENERATE_SAMPLER_H
