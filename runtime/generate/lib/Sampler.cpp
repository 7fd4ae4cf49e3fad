//===- Sampler.cpp - Choosing the next token from logits ------------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "Sampler.h"

#include <algorithm>
#include <cmath>
#include <numeric>

using namespace ftl::rt;
using namespace ftl::rt::detail;

int32_t ftl::rt::detail::argmaxToken(const float *logits, int64_t vocab) {
  int64_t best = 0;
  for (int64_t i = 1; i < vocab; ++i)
    if (logits[i] > logits[best])
      best = i;
  return static_cast<int32_t>(best);
}

int32_t ftl::rt::detail::sampleToken(const float *logits, int64_t vocab,
                                     const SamplerParams &params, Rng &rng,
                                     SamplerScratch &s) {
  if (params.temperature == 0)
    return argmaxToken(logits, vocab);
  const size_t V = static_cast<size_t>(vocab);
  s.scaled.resize(V);
  s.weight.resize(V);
  s.order.resize(V);
  // As transformers: scores / temperature in fp32.
  const float temperature = static_cast<float>(params.temperature);
  for (size_t i = 0; i < V; ++i)
    s.scaled[i] = logits[i] / temperature;
  std::iota(s.order.begin(), s.order.end(), 0);
  const float *z = s.scaled.data();
  auto better = [z](int32_t a, int32_t b) {
    return z[a] > z[b] || (z[a] == z[b] && a < b);
  };
  auto first = s.order.begin();
  int64_t count = vocab;

  if (params.topK > 0 && params.topK < vocab) {
    std::nth_element(first, first + (params.topK - 1), s.order.end(), better);
    // Every token at least as likely as the k-th stays (ties included).
    const float threshold = z[s.order[params.topK - 1]];
    auto end = std::partition(first + params.topK, s.order.end(),
                              [&](int32_t i) { return z[i] >= threshold; });
    count = end - first;
  }

  float maxScaled = z[s.order[0]];
  for (int64_t k = 1; k < count; ++k)
    maxScaled = std::max(maxScaled, z[s.order[k]]);
  double total = 0;
  for (int64_t k = 0; k < count; ++k) {
    int32_t i = s.order[k];
    s.weight[i] = std::exp(z[i] - maxScaled); // fp32 exp, summed in double
    total += s.weight[i];
  }
  if (!(total > 0) || !std::isfinite(total))
    return argmaxToken(logits, vocab);

  if (params.topP < 1.0) {
    // The nucleus is the K best tokens, K the least count whose mass
    // reaches p. Narrow (begin, end] around K by halving with
    // nth_element (expected O(count)), then walk the last few in order.
    const double target = params.topP * total;
    int64_t begin = 0, end = count;
    double before = 0; // mass of order[0, begin), all better than the rest
    while (end - begin > 64) {
      const int64_t mid = begin + (end - begin) / 2;
      std::nth_element(first + begin, first + mid, first + end, better);
      double upper = 0;
      for (int64_t k = begin; k < mid; ++k)
        upper += s.weight[s.order[k]];
      if (before + upper >= target) {
        end = mid;
      } else {
        before += upper;
        begin = mid;
      }
    }
    std::sort(first + begin, first + end, better);
    int64_t keep = begin;
    for (; keep < end; ++keep) {
      if (keep > 0 && before >= target)
        break;
      before += s.weight[s.order[keep]];
    }
    count = keep;
  }

  double kept = 0;
  for (int64_t k = 0; k < count; ++k)
    kept += s.weight[s.order[k]];
  const double u = rng.uniformDouble() * kept;
  double acc = 0;
  for (int64_t k = 0; k < count; ++k) {
    acc += s.weight[s.order[k]];
    if (u < acc)
      return s.order[k];
  }
  return s.order[count - 1];
}
