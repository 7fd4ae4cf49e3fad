//===- ReferenceGemm.cpp - Naive SGEMM in double --------------------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "ftl/Kernels/Gemm.h"

using namespace ftl::kernels;

void ftl::kernels::sgemmReference(Trans ta, Trans tb, int64_t M, int64_t N,
                                  int64_t K, float alpha, const float *A,
                                  int64_t lda, const float *B, int64_t ldb,
                                  float beta, float *C, int64_t ldc) {
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      double sum = 0;
      for (int64_t k = 0; alpha != 0.0f && k < K; ++k) {
        double a = ta == Trans::No ? A[i * lda + k] : A[k * lda + i];
        double b = tb == Trans::No ? B[k * ldb + j] : B[j * ldb + k];
        sum += a * b;
      }
      double result = static_cast<double>(alpha) * sum;
      if (beta != 0.0f)
        result += static_cast<double>(beta) * C[i * ldc + j];
      C[i * ldc + j] = static_cast<float>(result);
    }
}
