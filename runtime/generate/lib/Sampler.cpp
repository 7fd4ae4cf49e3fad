//===- Sampler.cpp - Choosing the next token from logits ------------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
//
// Cost per token: one pass over the vocabulary for the scaled logits and
// their maximum; top-k keeps a size-k heap in a second pass (then exp() runs
// on the k survivors only); otherwise exp() runs on every token. Top-p
// histograms the kept tokens' weights into buckets of equal width in log
// space below the maximum, finds the bucket where the mass from the top
// reaches p, and sorts only the tokens of the buckets above it and of that
// bucket: the walk over them in (value desc, id asc) order gives exactly
// the nucleus a full sort would.
//
//===----------------------------------------------------------------------===//

#include "Sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>

using namespace ftl::rt;
using namespace ftl::rt::detail;

namespace {

/// Buckets of the top-p histogram and the log-space range they cover; the
/// last bucket also takes everything further below the maximum.
constexpr int kBuckets = 512;
constexpr float kBucketRange = 32.0f;

/// Up to this size top-k uses nth_element (else a heap); up to 1/16 of it,
/// top-p sorts the candidates directly (else the histogram).
constexpr int64_t kSmallVocab = 4096;

/// Replaces the top of a heap [first, first + n) and restores the heap.
template <class Less>
void replaceTop(int32_t *first, int64_t n, int32_t value, Less less) {
  int64_t hole = 0;
  for (;;) {
    int64_t child = 2 * hole + 1;
    if (child >= n)
      break;
    if (child + 1 < n && less(first[child], first[child + 1]))
      ++child;
    if (!less(value, first[child]))
      break;
    first[hole] = first[child];
    hole = child;
  }
  first[hole] = value;
}

} // namespace

int32_t ftl::rt::detail::argmaxToken(const float *logits, int64_t vocab) {
  int64_t best = 0;
  float bestValue = logits[0];
  for (int64_t i = 1; i < vocab; ++i)
    if (logits[i] > bestValue) {
      bestValue = logits[i];
      best = i;
    }
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
  float *z = s.scaled.data();
  for (size_t i = 0; i < V; ++i)
    z[i] = logits[i] / temperature;
  // The ranking: greater value first, lower id among equals.
  auto better = [z](int32_t a, int32_t b) {
    return z[a] > z[b] || (z[a] == z[b] && a < b);
  };
  int32_t *order = s.order.data();
  int64_t count = vocab;
  for (int64_t i = 0; i < vocab; ++i)
    order[i] = static_cast<int32_t>(i);
  if (params.topK > 0 && params.topK < vocab) {
    const int64_t k = params.topK;
    if (vocab <= kSmallVocab || k > vocab / 16) {
      std::nth_element(order, order + (k - 1), order + vocab, better);
      // Every token at least as likely as the k-th stays (ties included).
      const float threshold = z[order[k - 1]];
      count = std::partition(order + k, order + vocab,
                             [&](int32_t i) { return z[i] >= threshold; }) -
              order;
    } else {
      // The k best in a heap whose top is the worst of them (a replaced
      // top sifts down once); then every token at least as likely as the
      // k-th, in id order.
      std::make_heap(order, order + k, better);
      for (int64_t i = k; i < vocab; ++i)
        if (better(static_cast<int32_t>(i), order[0]))
          replaceTop(order, k, static_cast<int32_t>(i), better);
      const float threshold = z[order[0]];
      count = 0;
      for (int64_t i = 0; i < vocab; ++i)
        if (z[i] >= threshold)
          order[count++] = static_cast<int32_t>(i);
    }
  }

  float maxScaled = -std::numeric_limits<float>::infinity();
  for (int64_t k = 0; k < count; ++k)
    maxScaled = std::max(maxScaled, z[order[k]]);
  double total = 0;
  for (int64_t k = 0; k < count; ++k) {
    const int32_t i = order[k];
    s.weight[i] = std::exp(z[i] - maxScaled); // fp32 exp, summed in double
    total += s.weight[i];
  }
  if (!(total > 0) || !std::isfinite(total))
    return argmaxToken(logits, vocab);

  if (params.topP < 1.0 && count <= kSmallVocab / 16) {
    std::sort(order, order + count, better);
    const double target = params.topP * total;
    double before = 0;
    int64_t keep = 0;
    for (; keep < count; ++keep) {
      if (keep > 0 && before >= target)
        break;
      before += s.weight[order[keep]];
    }
    count = keep;
  } else if (params.topP < 1.0) {
    const double target = params.topP * total;
    // Histogram of the weights by distance below the maximum.
    double mass[kBuckets] = {};
    auto bucketOf = [&](int32_t i) {
      float d = (maxScaled - z[i]) * (kBuckets / kBucketRange);
      return d < kBuckets - 1 ? static_cast<int>(d) : kBuckets - 1;
    };
    for (int64_t k = 0; k < count; ++k)
      mass[bucketOf(order[k])] += s.weight[order[k]];
    // The bucket where the mass from the top reaches p holds the boundary.
    int last = kBuckets - 1;
    double above = 0;
    for (int b = 0; b < kBuckets; ++b) {
      if (above + mass[b] >= target) {
        last = b;
        break;
      }
      above += mass[b];
    }
    // Candidates: every token of buckets 0..last, ranked; walk them.
    int64_t candidates = 0;
    for (int64_t k = 0; k < count; ++k)
      if (bucketOf(order[k]) <= last)
        order[candidates++] = order[k];
    std::sort(order, order + candidates, better);
    double before = 0;
    int64_t keep = 0;
    for (; keep < candidates; ++keep) {
      if (keep > 0 && before >= target)
        break;
      before += s.weight[order[keep]];
    }
    count = keep;
  }

  double kept = 0;
  for (int64_t k = 0; k < count; ++k)
    kept += s.weight[order[k]];
  const double u = rng.uniformDouble() * kept;
  double acc = 0;
  for (int64_t k = 0; k < count; ++k) {
    acc += s.weight[order[k]];
    if (u < acc)
      return order[k];
  }
  return order[count - 1];
}
