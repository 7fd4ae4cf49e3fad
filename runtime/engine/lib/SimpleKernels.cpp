//===- SimpleKernels.cpp - The executor's small kernels -------------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "SimpleKernels.h"

#include "ftl/Kernels/ThreadPool.h"

#include <algorithm>
#include <cmath>
#include <cstring>

using namespace ftl::rt;
namespace k = ftl::kernels;

/// Rows of work per chunk for chunked reductions (independent of threads).
static constexpr int64_t kRowsPerChunk = 64;
static constexpr int64_t kSumChunk = 4096;

llvm::Error ftl::rt::embeddingForward(int64_t tokens, int64_t dim,
                                      int64_t vocab, const int32_t *ids,
                                      const float *table, float *out,
                                      k::ThreadPool *pool) {
  for (int64_t i = 0; i < tokens; ++i)
    if (ids[i] < 0 || ids[i] >= vocab)
      return llvm::createStringError(
          "token id " + std::to_string(ids[i]) + " at position " +
          std::to_string(i) + " is outside the vocabulary of " +
          std::to_string(vocab) + " ids (does the tokenizer match the model?)");
  pool->parallelFor(tokens, 16, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i)
      std::memcpy(out + i * dim, table + int64_t(ids[i]) * dim, dim * 4);
  });
  return llvm::Error::success();
}

llvm::Error ftl::rt::embeddingBackward(int64_t tokens, int64_t dim,
                                       int64_t vocab, const int32_t *ids,
                                       const float *dOut, float *dTable,
                                       k::ThreadPool *pool) {
  // Each thread owns a range of columns and adds tokens in order.
  pool->parallelFor(dim, 16, [&](int64_t c0, int64_t c1) {
    for (int64_t v = 0; v < vocab; ++v)
      std::fill(dTable + v * dim + c0, dTable + v * dim + c1, 0.0f);
    for (int64_t i = 0; i < tokens; ++i) {
      int32_t id = ids[i];
      if (id < 0 || id >= vocab)
        continue;
      float *dst = dTable + int64_t(id) * dim;
      const float *src = dOut + i * dim;
      for (int64_t c = c0; c < c1; ++c)
        dst[c] += src[c];
    }
  });
  return llvm::Error::success();
}

void ftl::rt::fillRows(int64_t rows, int64_t cols, const float *row, float *out,
                       k::ThreadPool *pool) {
  pool->parallelFor(rows, 32, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i)
      std::memcpy(out + i * cols, row, cols * 4);
  });
}

void ftl::rt::ropeApply(int64_t tokens, int64_t heads, int64_t headDim,
                        const int32_t *positions, float theta, const float *in,
                        float *out, bool inverse, k::ThreadPool *pool) {
  const int64_t half = headDim / 2;
  // Hugging Face computes inv_freq and the angle in float, then cos/sin.
  std::vector<float> invFreq(half);
  for (int64_t j = 0; j < half; ++j) {
    float exponent = float(2 * j) / float(headDim);
    float base = float(std::pow(double(theta), double(exponent)));
    invFreq[j] = 1.0f / base;
  }
  pool->parallelFor(tokens, 8, [&](int64_t begin, int64_t end) {
    std::vector<float> cosv(half), sinv(half);
    for (int64_t t = begin; t < end; ++t) {
      for (int64_t j = 0; j < half; ++j) {
        double angle = double(float(positions[t]) * invFreq[j]);
        cosv[j] = float(std::cos(angle));
        sinv[j] = float(inverse ? -std::sin(angle) : std::sin(angle));
      }
      for (int64_t h = 0; h < heads; ++h) {
        const float *x = in + (t * heads + h) * headDim;
        float *y = out + (t * heads + h) * headDim;
        for (int64_t j = 0; j < half; ++j) {
          float x1 = x[j], x2 = x[j + half];
          y[j] = x1 * cosv[j] - x2 * sinv[j];
          y[j + half] = x2 * cosv[j] + x1 * sinv[j];
        }
      }
    }
  });
}

llvm::Error ftl::rt::checkTargets(int64_t tokens, int64_t vocab,
                                  const int32_t *targets) {
  for (int64_t i = 0; i < tokens; ++i)
    if (targets[i] >= vocab)
      return llvm::createStringError(
          "target token " + std::to_string(targets[i]) + " at position " +
          std::to_string(i) + " is outside the vocabulary of " +
          std::to_string(vocab) + " ids (does the tokenizer match the model?)");
  return llvm::Error::success();
}

llvm::Error ftl::rt::tokenNllForward(int64_t tokens, int64_t vocab,
                                     const float *logits,
                                     const int32_t *targets, float *nll,
                                     float *lse, k::ThreadPool *pool) {
  if (llvm::Error e = checkTargets(tokens, vocab, targets))
    return e;
  pool->parallelFor(tokens, 4, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const float *row = logits + i * vocab;
      float max = row[0];
      for (int64_t j = 1; j < vocab; ++j)
        max = std::max(max, row[j]);
      double sum = 0;
      for (int64_t j = 0; j < vocab; ++j)
        sum += std::exp(double(row[j]) - max);
      lse[i] = float(max + std::log(sum));
      nll[i] = targets[i] >= 0 ? lse[i] - row[targets[i]] : 0.0f;
    }
  });
  return llvm::Error::success();
}

llvm::Error ftl::rt::crossEntropyForward(int64_t tokens, int64_t vocab,
                                         const float *logits,
                                         const int32_t *targets,
                                         const float *weights, float *loss,
                                         float *lse, k::ThreadPool *pool) {
  std::vector<float> perToken(tokens, 0.0f);
  if (llvm::Error e = tokenNllForward(tokens, vocab, logits, targets,
                                      perToken.data(), lse, pool))
    return e;
  for (int64_t i = 0; i < tokens; ++i)
    perToken[i] = targets[i] >= 0 ? weights[i] * perToken[i] : 0.0f;
  *loss = float(orderedSum(perToken.data(), tokens));
  return llvm::Error::success();
}

void ftl::rt::crossEntropyBackward(int64_t tokens, int64_t vocab, float dLoss,
                                   const float *logits, const int32_t *targets,
                                   const float *weights, const float *lse,
                                   float *dLogits, k::ThreadPool *pool) {
  pool->parallelFor(tokens, 4, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const float *row = logits + i * vocab;
      float *d = dLogits + i * vocab;
      if (targets[i] < 0) {
        std::fill(d, d + vocab, 0.0f);
        continue;
      }
      float scale = dLoss * weights[i];
      for (int64_t j = 0; j < vocab; ++j)
        d[j] = scale * std::exp(row[j] - lse[i]);
      d[targets[i]] -= scale;
    }
  });
}

template <bool Square>
static double chunkedSum(const float *x, int64_t n) {
  int64_t chunks = (n + kSumChunk - 1) / kSumChunk;
  std::vector<double> partial(chunks, 0.0);
  k::defaultPool()->parallelFor(chunks, [&](int64_t begin, int64_t end) {
    for (int64_t c = begin; c < end; ++c) {
      double s = 0;
      int64_t stop = std::min(n, (c + 1) * kSumChunk);
      for (int64_t i = c * kSumChunk; i < stop; ++i)
        s += Square ? double(x[i]) * x[i] : double(x[i]);
      partial[c] = s;
    }
  });
  double total = 0;
  for (double p : partial)
    total += p;
  return total;
}

double ftl::rt::orderedSum(const float *x, int64_t n) {
  return chunkedSum<false>(x, n);
}

double ftl::rt::orderedSquaredSum(const float *x, int64_t n) {
  return chunkedSum<true>(x, n);
}

void ftl::rt::runFused(FusedKernel kernel, int64_t rows, int64_t cols,
                       llvm::ArrayRef<FusedAccess> inAccess,
                       llvm::ArrayRef<FusedAccess> outAccess,
                       llvm::ArrayRef<float *> inputs,
                       llvm::ArrayRef<float *> results,
                       std::vector<float> &scratch, k::ThreadPool *pool) {
  FusedRowFn fn = kernel.fn;
  // buffers[-1] is the context (see FusedKernel); the function gets
  // buffers + 1.
  std::vector<void *> buffers;
  buffers.reserve(inputs.size() + results.size() + 1);
  buffers.push_back(kernel.context);
  for (float *p : inputs)
    buffers.push_back(p);
  for (float *p : results)
    buffers.push_back(p);
  bool colsum = llvm::is_contained(outAccess, FusedAccess::ColSum);
  if (!colsum) {
    // Rows are independent: any split gives the same bits.
    int64_t grain = std::max<int64_t>(1, 16384 / std::max<int64_t>(cols, 1));
    pool->parallelFor(rows, grain, [&](int64_t begin, int64_t end) {
      std::vector<void *> local = buffers;
      fn(local.data() + 1, begin, end);
    });
    return;
  }
  // Column sums: fixed chunks of rows, each writes its partial; partials are
  // added in chunk order.
  int64_t chunks = (rows + kRowsPerChunk - 1) / kRowsPerChunk;
  unsigned numColsum = 0;
  for (FusedAccess a : outAccess)
    numColsum += a == FusedAccess::ColSum;
  scratch.resize(size_t(chunks) * numColsum * cols);
  pool->parallelFor(chunks, [&](int64_t c0, int64_t c1) {
    std::vector<void *> local = buffers;
    for (int64_t c = c0; c < c1; ++c) {
      unsigned k = 0;
      for (size_t r = 0; r < outAccess.size(); ++r)
        if (outAccess[r] == FusedAccess::ColSum)
          local[1 + inputs.size() + r] =
              scratch.data() + (size_t(k++) * chunks + c) * cols;
      fn(local.data() + 1, c * kRowsPerChunk,
         std::min(rows, (c + 1) * kRowsPerChunk));
    }
  });
  unsigned k = 0;
  for (size_t r = 0; r < outAccess.size(); ++r) {
    if (outAccess[r] != FusedAccess::ColSum)
      continue;
    float *out = results[r];
    const float *base = scratch.data() + size_t(k++) * chunks * cols;
    pool->parallelFor(cols, 64, [&](int64_t j0, int64_t j1) {
      for (int64_t j = j0; j < j1; ++j) {
        float s = 0;
        for (int64_t c = 0; c < chunks; ++c)
          s += base[c * cols + j];
        out[j] = s;
      }
    });
  }
}

/// splitmix64's finaliser: a well-mixed 64-bit hash.
static uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

bool ftl::rt::dropoutKeeps(int32_t seed, uint64_t salt, int64_t i,
                           double rate) {
  uint64_t h =
      mix64(mix64(uint64_t(uint32_t(seed)) * 0x9e3779b97f4a7c15ULL + salt) +
            uint64_t(i));
  // 53 uniform bits in [0, 1).
  double u = double(h >> 11) * (1.0 / 9007199254740992.0);
  return u >= rate;
}

void ftl::rt::applyDropout(const float *x, int64_t n, int32_t seed,
                           uint64_t salt, double rate, float *out) {
  if (seed < 0 || rate == 0) {
    if (out != x)
      std::copy(x, x + n, out);
    return;
  }
  const float scale = float(1.0 / (1.0 - rate));
  for (int64_t i = 0; i < n; ++i)
    out[i] = dropoutKeeps(seed, salt, i, rate) ? x[i] * scale : 0.0f;
}
