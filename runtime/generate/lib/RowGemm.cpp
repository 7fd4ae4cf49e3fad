//===- RowGemm.cpp - Few rows times a weight matrix, unpacked -------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
//
// Register blocks: MB rows of x by 2 rows of W (2 * MB accumulators). Per
// step of K, two W vectors are loaded and each x vector is loaded once and
// multiplied into both accumulators of its row. The AVX-512 and AVX2 code is
// compiled with per-function target attributes and only called after the
// run-time check (as in kernels/cpu).
//
//===----------------------------------------------------------------------===//

#include "RowGemm.h"

#include <algorithm>
#include <utility>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define FTL_ROWGEMM_X86 1
#define FTL_ROWGEMM_AVX512                                                     \
  __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma")))
#define FTL_ROWGEMM_AVX2 __attribute__((target("avx2,fma")))
#endif

using namespace ftl;
using namespace ftl::rt::detail;

namespace {

inline void store(float *dst, float dot, float alpha, bool accumulate) {
  float r = alpha == 1.0f ? dot : dot * alpha;
  *dst = accumulate ? *dst + r : r;
}

//===----------------------------------------------------------------------===//
// Portable: eight partial sums per element in a fixed order.
//===----------------------------------------------------------------------===//

float dotPortable(const float *a, const float *b, int64_t n) {
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int l = 0; l < 8; ++l)
      acc[l] += a[i + l] * b[i + l];
  float s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) +
            ((acc[4] + acc[5]) + (acc[6] + acc[7]));
  for (; i < n; ++i)
    s += a[i] * b[i];
  return s;
}

void columnsPortable(int64_t M, int64_t n0, int64_t n1, int64_t K, float alpha,
                     const float *x, int64_t ldx, const float *w, int64_t ldw,
                     bool accumulate, float *y, int64_t ldy) {
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = n0; n < n1; ++n)
      store(y + m * ldy + n, dotPortable(x + m * ldx, w + n * ldw, K), alpha,
            accumulate);
}

#ifdef FTL_ROWGEMM_X86

// GCC 12 warns about the undefined upper part inside its own
// _mm512_castps512_ps256 (a false positive of the intrinsic header).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

//===----------------------------------------------------------------------===//
// AVX-512: 16 lanes, up to 12 rows x 2 columns per block.
//===----------------------------------------------------------------------===//

constexpr int kMaxRows512 = 12;

/// Horizontal sum in a fixed order (halves, then quarters, ...).
FTL_ROWGEMM_AVX512 inline float hsum512(__m512 v) {
  __m256 h =
      _mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
  return _mm_cvtss_f32(s);
}

template <int MB>
FTL_ROWGEMM_AVX512 void block512(int64_t n0, int64_t n1, int64_t K, float alpha,
                                 const float *x, int64_t ldx, const float *w,
                                 int64_t ldw, bool accumulate, float *y,
                                 int64_t ldy) {
  const int64_t kMain = K / 16 * 16;
  const __mmask16 tail =
      static_cast<__mmask16>((1u << static_cast<unsigned>(K - kMain)) - 1u);
  for (int64_t n = n0; n < n1; n += 2) {
    const bool two = n + 1 < n1;
    const float *w0 = w + n * ldw, *w1 = two ? w0 + ldw : w0;
    __m512 a0[MB], a1[MB];
#pragma GCC unroll 12
    for (int m = 0; m < MB; ++m)
      a0[m] = a1[m] = _mm512_setzero_ps();
    for (int64_t k = 0; k < kMain; k += 16) {
      const __m512 v0 = _mm512_loadu_ps(w0 + k), v1 = _mm512_loadu_ps(w1 + k);
#pragma GCC unroll 12
      for (int m = 0; m < MB; ++m) {
        const __m512 xm = _mm512_loadu_ps(x + m * ldx + k);
        a0[m] = _mm512_fmadd_ps(xm, v0, a0[m]);
        a1[m] = _mm512_fmadd_ps(xm, v1, a1[m]);
      }
    }
    if (tail) {
      const __m512 v0 = _mm512_maskz_loadu_ps(tail, w0 + kMain),
                   v1 = _mm512_maskz_loadu_ps(tail, w1 + kMain);
#pragma GCC unroll 12
      for (int m = 0; m < MB; ++m) {
        const __m512 xm = _mm512_maskz_loadu_ps(tail, x + m * ldx + kMain);
        a0[m] = _mm512_fmadd_ps(xm, v0, a0[m]);
        a1[m] = _mm512_fmadd_ps(xm, v1, a1[m]);
      }
    }
    for (int m = 0; m < MB; ++m) {
      store(y + m * ldy + n, hsum512(a0[m]), alpha, accumulate);
      if (two)
        store(y + m * ldy + n + 1, hsum512(a1[m]), alpha, accumulate);
    }
  }
}

template <int... MBs>
void dispatch512(int mb, std::integer_sequence<int, MBs...>, int64_t n0,
                 int64_t n1, int64_t K, float alpha, const float *x,
                 int64_t ldx, const float *w, int64_t ldw, bool accumulate,
                 float *y, int64_t ldy) {
  using Fn = void (*)(int64_t, int64_t, int64_t, float, const float *, int64_t,
                      const float *, int64_t, bool, float *, int64_t);
  static constexpr Fn table[] = {&block512<MBs + 1>...};
  table[mb - 1](n0, n1, K, alpha, x, ldx, w, ldw, accumulate, y, ldy);
}

void columns512(int64_t M, int64_t n0, int64_t n1, int64_t K, float alpha,
                const float *x, int64_t ldx, const float *w, int64_t ldw,
                bool accumulate, float *y, int64_t ldy) {
  for (int64_t m = 0; m < M; m += kMaxRows512) {
    int mb = static_cast<int>(std::min<int64_t>(kMaxRows512, M - m));
    dispatch512(mb, std::make_integer_sequence<int, kMaxRows512>(), n0, n1, K,
                alpha, x + m * ldx, ldx, w, ldw, accumulate, y + m * ldy, ldy);
  }
}

//===----------------------------------------------------------------------===//
// AVX2: 8 lanes, up to 6 rows x 2 columns per block.
//===----------------------------------------------------------------------===//

constexpr int kMaxRows256 = 6;

FTL_ROWGEMM_AVX2 inline float hsum256(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
  return _mm_cvtss_f32(s);
}

template <int MB>
FTL_ROWGEMM_AVX2 void block256(int64_t n0, int64_t n1, int64_t K, float alpha,
                               const float *x, int64_t ldx, const float *w,
                               int64_t ldw, bool accumulate, float *y,
                               int64_t ldy) {
  const int64_t kMain = K / 8 * 8;
  alignas(32) int32_t maskBits[8];
  for (int i = 0; i < 8; ++i)
    maskBits[i] = i < K - kMain ? -1 : 0;
  const __m256i tail =
      _mm256_load_si256(reinterpret_cast<const __m256i *>(maskBits));
  for (int64_t n = n0; n < n1; n += 2) {
    const bool two = n + 1 < n1;
    const float *w0 = w + n * ldw, *w1 = two ? w0 + ldw : w0;
    __m256 a0[MB], a1[MB];
#pragma GCC unroll 6
    for (int m = 0; m < MB; ++m)
      a0[m] = a1[m] = _mm256_setzero_ps();
    for (int64_t k = 0; k < kMain; k += 8) {
      const __m256 v0 = _mm256_loadu_ps(w0 + k), v1 = _mm256_loadu_ps(w1 + k);
#pragma GCC unroll 6
      for (int m = 0; m < MB; ++m) {
        const __m256 xm = _mm256_loadu_ps(x + m * ldx + k);
        a0[m] = _mm256_fmadd_ps(xm, v0, a0[m]);
        a1[m] = _mm256_fmadd_ps(xm, v1, a1[m]);
      }
    }
    if (K > kMain) {
      const __m256 v0 = _mm256_maskload_ps(w0 + kMain, tail),
                   v1 = _mm256_maskload_ps(w1 + kMain, tail);
#pragma GCC unroll 6
      for (int m = 0; m < MB; ++m) {
        const __m256 xm = _mm256_maskload_ps(x + m * ldx + kMain, tail);
        a0[m] = _mm256_fmadd_ps(xm, v0, a0[m]);
        a1[m] = _mm256_fmadd_ps(xm, v1, a1[m]);
      }
    }
    for (int m = 0; m < MB; ++m) {
      store(y + m * ldy + n, hsum256(a0[m]), alpha, accumulate);
      if (two)
        store(y + m * ldy + n + 1, hsum256(a1[m]), alpha, accumulate);
    }
  }
}

template <int... MBs>
void dispatch256(int mb, std::integer_sequence<int, MBs...>, int64_t n0,
                 int64_t n1, int64_t K, float alpha, const float *x,
                 int64_t ldx, const float *w, int64_t ldw, bool accumulate,
                 float *y, int64_t ldy) {
  using Fn = void (*)(int64_t, int64_t, int64_t, float, const float *, int64_t,
                      const float *, int64_t, bool, float *, int64_t);
  static constexpr Fn table[] = {&block256<MBs + 1>...};
  table[mb - 1](n0, n1, K, alpha, x, ldx, w, ldw, accumulate, y, ldy);
}

void columns256(int64_t M, int64_t n0, int64_t n1, int64_t K, float alpha,
                const float *x, int64_t ldx, const float *w, int64_t ldw,
                bool accumulate, float *y, int64_t ldy) {
  for (int64_t m = 0; m < M; m += kMaxRows256) {
    int mb = static_cast<int>(std::min<int64_t>(kMaxRows256, M - m));
    dispatch256(mb, std::make_integer_sequence<int, kMaxRows256>(), n0, n1, K,
                alpha, x + m * ldx, ldx, w, ldw, accumulate, y + m * ldy, ldy);
  }
}

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

#endif // FTL_ROWGEMM_X86

/// Columns per task: W rows of a task stay in L2 across the row blocks.
constexpr int64_t kTaskColumns = 64;

} // namespace

void ftl::rt::detail::rowGemm(kernels::KernelIsa isa, int64_t M, int64_t N,
                              int64_t K, float alpha, const float *x,
                              int64_t ldx, const float *w, int64_t ldw,
                              bool accumulate, float *y, int64_t ldy,
                              kernels::ThreadPool *pool) {
  if (M <= 0 || N <= 0)
    return;
  if (!kernels::kernelIsaSupported(isa))
    isa = kernels::detectKernelIsa();
  auto columns = columnsPortable;
#ifdef FTL_ROWGEMM_X86
  if (isa == kernels::KernelIsa::Avx512)
    columns = columns512;
  else if (isa == kernels::KernelIsa::Avx2)
    columns = columns256;
#endif
  const int64_t tasks = (N + kTaskColumns - 1) / kTaskColumns;
  auto run = [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      int64_t n0 = t * kTaskColumns, n1 = std::min(N, n0 + kTaskColumns);
      columns(M, n0, n1, K, alpha, x, ldx, w, ldw, accumulate, y, ldy);
    }
  };
  // Small products are not worth waking the workers (sgemm's bound).
  if (!pool || pool->numThreads() <= 1 || tasks == 1 ||
      static_cast<double>(M) * N * K < 64.0 * 64.0 * 64.0)
    run(0, tasks);
  else
    pool->parallelFor(tasks, run);
}
