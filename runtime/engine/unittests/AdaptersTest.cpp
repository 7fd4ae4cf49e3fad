//===- AdaptersTest.cpp - SVD, sparse picks, half groups, PiSSA -----------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
//
// The numerics of ftl/Engine/Adapters.h against independent references: the
// truncated SVD against a cyclic Jacobi eigen-decomposition of W^T W (another
// algorithm), sparse picks against brute-force sorts, half fine-tuning's
// groups against the counts of the HFT paper, PiSSA against the reference
// rank-r approximation.
//
//===----------------------------------------------------------------------===//

#include "ftl/Engine/Adapters.h"
#include "ftl/Runtime/Rng.h"

#include "gtest/gtest.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <set>

using namespace ::ftl::rt;

namespace {

std::vector<float> randomMatrix(int64_t rows, int64_t cols, uint64_t seed) {
  Rng rng(seed);
  std::vector<float> w(static_cast<size_t>(rows * cols));
  for (float &x : w)
    x = float(rng.normal());
  return w;
}

/// U diag(s) V^T with random orthonormal U, V and the given values; with
/// `top` > 0, `approx` receives the exact rank-`top` part (in double).
std::vector<float> matrixWithSpectrum(int64_t rows, int64_t cols,
                                      const std::vector<double> &s,
                                      uint64_t seed, int64_t top = 0,
                                      std::vector<double> *approx = nullptr) {
  Rng rng(seed);
  auto orthonormal = [&](int64_t n, int64_t k) {
    std::vector<double> q(static_cast<size_t>(n * k)); // column j at q[j*n]
    for (double &x : q)
      x = rng.normal();
    for (int64_t j = 0; j < k; ++j) {
      double *v = &q[j * n];
      for (int pass = 0; pass < 2; ++pass)
        for (int64_t p = 0; p < j; ++p) {
          double d = 0;
          for (int64_t i = 0; i < n; ++i)
            d += q[p * n + i] * v[i];
          for (int64_t i = 0; i < n; ++i)
            v[i] -= d * q[p * n + i];
        }
      double norm = 0;
      for (int64_t i = 0; i < n; ++i)
        norm += v[i] * v[i];
      norm = std::sqrt(norm);
      for (int64_t i = 0; i < n; ++i)
        v[i] /= norm;
    }
    return q;
  };
  int64_t k = int64_t(s.size());
  std::vector<double> u = orthonormal(rows, k), v = orthonormal(cols, k);
  std::vector<float> w(static_cast<size_t>(rows * cols));
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) {
      double sum = 0;
      for (int64_t r = 0; r < k; ++r)
        sum += u[r * rows + i] * s[r] * v[r * cols + j];
      w[i * cols + j] = float(sum);
    }
  if (approx) {
    approx->assign(static_cast<size_t>(rows * cols), 0.0);
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t j = 0; j < cols; ++j)
        for (int64_t r = 0; r < top; ++r)
          (*approx)[i * cols + j] += u[r * rows + i] * s[r] * v[r * cols + j];
  }
  return w;
}

/// The reference: eigenvalues and vectors of G = W^T W by cyclic two-sided
/// Jacobi rotations (a different algorithm from the one under test). Gives
/// sigma (descending) and the rank-r approximation W V_r V_r^T (with
/// `smallest`, of the r smallest components instead).
struct Reference {
  std::vector<double> sigma;
  std::vector<double> approx; // [rows, cols]
};

Reference reference(const std::vector<float> &w, int64_t rows, int64_t cols,
                    int64_t rank, bool smallest = false) {
  int64_t n = cols;
  std::vector<double> g(static_cast<size_t>(n * n), 0.0), v(size_t(n * n), 0.0);
  for (int64_t a = 0; a < n; ++a)
    for (int64_t b = 0; b < n; ++b) {
      double sum = 0;
      for (int64_t i = 0; i < rows; ++i)
        sum += double(w[i * cols + a]) * double(w[i * cols + b]);
      g[a * n + b] = sum;
    }
  for (int64_t i = 0; i < n; ++i)
    v[i * n + i] = 1;
  for (int sweep = 0; sweep < 100; ++sweep) {
    double off = 0;
    for (int64_t p = 0; p < n; ++p)
      for (int64_t q = p + 1; q < n; ++q)
        off += g[p * n + q] * g[p * n + q];
    if (off < 1e-30)
      break;
    for (int64_t p = 0; p < n; ++p)
      for (int64_t q = p + 1; q < n; ++q) {
        double apq = g[p * n + q];
        if (apq == 0)
          continue;
        double theta = (g[q * n + q] - g[p * n + p]) / (2 * apq);
        double t = (theta >= 0 ? 1.0 : -1.0) /
                   (std::abs(theta) + std::sqrt(theta * theta + 1));
        double c = 1 / std::sqrt(t * t + 1), s = t * c;
        for (int64_t k = 0; k < n; ++k) { // columns p, q
          double gkp = g[k * n + p], gkq = g[k * n + q];
          g[k * n + p] = c * gkp - s * gkq;
          g[k * n + q] = s * gkp + c * gkq;
        }
        for (int64_t k = 0; k < n; ++k) { // rows p, q
          double gpk = g[p * n + k], gqk = g[q * n + k];
          g[p * n + k] = c * gpk - s * gqk;
          g[q * n + k] = s * gpk + c * gqk;
        }
        for (int64_t k = 0; k < n; ++k) {
          double vkp = v[k * n + p], vkq = v[k * n + q];
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
  }
  std::vector<int64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(),
            [&](int64_t a, int64_t b) { return g[a * n + a] > g[b * n + b]; });
  Reference ref;
  for (int64_t k = 0; k < n; ++k)
    ref.sigma.push_back(std::sqrt(std::max(0.0, g[order[k] * n + order[k]])));
  // W V_r V_r^T.
  ref.approx.assign(size_t(rows * cols), 0.0);
  for (int64_t r = 0; r < rank; ++r) {
    int64_t c = order[smallest ? n - rank + r : r];
    for (int64_t i = 0; i < rows; ++i) {
      double wv = 0;
      for (int64_t j = 0; j < cols; ++j)
        wv += double(w[i * cols + j]) * v[j * n + c];
      for (int64_t j = 0; j < cols; ++j)
        ref.approx[i * cols + j] += wv * v[j * n + c];
    }
  }
  return ref;
}

void expectSvdMatches(const std::vector<float> &w, int64_t rows, int64_t cols,
                      int64_t rank, double tolerance) {
  TruncatedSvd svd = truncatedSvd(w.data(), rows, cols, rank);
  Reference ref = reference(w, rows, cols, rank);
  ASSERT_EQ(svd.rank, rank);
  for (int64_t r = 0; r < rank; ++r)
    EXPECT_NEAR(svd.s[r], ref.sigma[r], tolerance * ref.sigma[0])
        << "value " << r;
  double worst = 0;
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j)
      worst = std::max(worst,
                       std::abs(svd.approx(i, j) - ref.approx[i * cols + j]));
  EXPECT_LT(worst, tolerance * ref.sigma[0]);
  // Orthonormal singular vectors.
  for (int64_t a = 0; a < rank; ++a)
    for (int64_t b = 0; b < rank; ++b) {
      double uu = 0, vv = 0;
      for (int64_t i = 0; i < rows; ++i)
        uu += svd.u[i * rank + a] * svd.u[i * rank + b];
      for (int64_t j = 0; j < cols; ++j)
        vv += svd.vt[a * cols + j] * svd.vt[b * cols + j];
      EXPECT_NEAR(uu, a == b ? 1.0 : 0.0, 1e-9);
      EXPECT_NEAR(vv, a == b ? 1.0 : 0.0, 1e-9);
    }
}

TEST(TruncatedSvd, SmallMatricesMatchJacobiEigenReference) {
  // Tall, wide and square: the direct path (one-sided Jacobi on all of W).
  expectSvdMatches(randomMatrix(48, 32, 1), 48, 32, 4, 1e-10);
  expectSvdMatches(randomMatrix(24, 40, 2), 24, 40, 6, 1e-10);
  expectSvdMatches(randomMatrix(32, 32, 3), 32, 32, 32, 1e-10);
}

TEST(TruncatedSvd, LargeMatrixBySubspaceIteration) {
  // Smaller side 280 > 256: subspace iteration. A decaying spectrum, as in
  // trained weights; the reference is the exact rank-4 part of the
  // construction (W itself is rounded to float, hence the tolerance).
  std::vector<double> s;
  for (int i = 0; i < 60; ++i)
    s.push_back(10.0 * std::pow(0.8, i));
  std::vector<double> exact;
  std::vector<float> w = matrixWithSpectrum(300, 280, s, 4, 4, &exact);
  auto check = [&](const std::vector<float> &m, int64_t rows, int64_t cols,
                   bool transposed) {
    TruncatedSvd svd = truncatedSvd(m.data(), rows, cols, 4);
    for (int r = 0; r < 4; ++r)
      EXPECT_NEAR(svd.s[r], s[r], 1e-5);
    double worst = 0;
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t j = 0; j < cols; ++j) {
        double want = transposed ? exact[j * rows + i] : exact[i * cols + j];
        worst = std::max(worst, std::abs(svd.approx(i, j) - want));
      }
    EXPECT_LT(worst, 1e-5);
  };
  check(w, 300, 280, false);
  // The same matrix transposed takes the transposed route.
  std::vector<float> t(w.size());
  for (int64_t i = 0; i < 300; ++i)
    for (int64_t j = 0; j < 280; ++j)
      t[j * 300 + i] = w[i * 280 + j];
  check(t, 280, 300, true);
}

TEST(TruncatedSvd, RankDeficientAndDeterministic) {
  // Rank 2 of 16: the third value is zero and the rank-3 approximation is W.
  std::vector<float> w = matrixWithSpectrum(20, 16, {3.0, 1.0}, 5);
  TruncatedSvd svd = truncatedSvd(w.data(), 20, 16, 3);
  EXPECT_NEAR(svd.s[0], 3.0, 1e-6);
  EXPECT_NEAR(svd.s[1], 1.0, 1e-6);
  EXPECT_NEAR(svd.s[2], 0.0, 1e-6);
  for (int64_t i = 0; i < 20; ++i)
    for (int64_t j = 0; j < 16; ++j)
      EXPECT_NEAR(svd.approx(i, j), w[i * 16 + j], 1e-6);
  TruncatedSvd again = truncatedSvd(w.data(), 20, 16, 3);
  EXPECT_EQ(svd.u, again.u);
  EXPECT_EQ(svd.vt, again.vt);
}

TEST(SparsePick, TopKIsTheBruteForceSortWithLowerIndexOnTies) {
  std::vector<double> score = {1, 5, 3, 5, 2, 5, 0, 4};
  // Brute force: sort (score desc, index asc), take 4, sort by index.
  auto brute = [&](int64_t k) {
    std::vector<uint32_t> idx(score.size());
    std::iota(idx.begin(), idx.end(), 0u);
    std::stable_sort(idx.begin(), idx.end(), [&](uint32_t a, uint32_t b) {
      return score[a] > score[b];
    });
    idx.resize(size_t(k));
    std::sort(idx.begin(), idx.end());
    return idx;
  };
  for (int64_t k = 0; k <= 8; ++k)
    EXPECT_EQ(topKIndices(score, k), brute(k)) << "k=" << k;
  EXPECT_EQ(topKIndices(score, 2), (std::vector<uint32_t>{1, 3}));
}

TEST(SparsePick, MagnitudeIsTheLargestAbsoluteEntries) {
  std::vector<float> w = randomMatrix(16, 24, 7);
  Rng rng(1);
  std::vector<uint32_t> got =
      pickSparseEntries(w.data(), 16, 24, 19, "magnitude", 0, rng);
  std::vector<uint32_t> idx(w.size());
  std::iota(idx.begin(), idx.end(), 0u);
  std::sort(idx.begin(), idx.end(), [&](uint32_t a, uint32_t b) {
    return std::abs(w[a]) > std::abs(w[b]);
  });
  std::set<uint32_t> expected(idx.begin(), idx.begin() + 19);
  EXPECT_EQ(std::set<uint32_t>(got.begin(), got.end()), expected);
  EXPECT_TRUE(std::is_sorted(got.begin(), got.end()));
}

// LIFT's CPU test: on T0-sized matrices (32x32, r_f 4, k = (32+32)*2 = 128
// of 1024), the mask is the brute-force top-k of |U_r S_r V_r^T|.
TEST(SparsePick, PrincipalIsTopKOfTheLowRankApproximation) {
  for (uint64_t seed : {11, 12, 13}) {
    std::vector<float> w = randomMatrix(32, 32, seed);
    Rng rng(1);
    std::vector<uint32_t> got =
        pickSparseEntries(w.data(), 32, 32, 128, "principal", 4, rng);
    Reference ref = reference(w, 32, 32, 4);
    std::vector<uint32_t> idx(w.size());
    std::iota(idx.begin(), idx.end(), 0u);
    std::sort(idx.begin(), idx.end(), [&](uint32_t a, uint32_t b) {
      return std::abs(ref.approx[a]) > std::abs(ref.approx[b]);
    });
    std::set<uint32_t> expected(idx.begin(), idx.begin() + 128);
    EXPECT_EQ(std::set<uint32_t>(got.begin(), got.end()), expected)
        << "seed " << seed;
    // Not simply the largest |W| entries.
    std::vector<uint32_t> magnitude =
        pickSparseEntries(w.data(), 32, 32, 128, "magnitude", 0, rng);
    EXPECT_NE(got, magnitude);
  }
}

TEST(SparsePick, RandomIsAUniformSeededSubset) {
  std::vector<float> w(20 * 10, 0.0f);
  Rng a(5), b(5), c(6);
  std::vector<uint32_t> first =
      pickSparseEntries(w.data(), 20, 10, 37, "random", 0, a);
  EXPECT_EQ(first.size(), 37u);
  EXPECT_TRUE(std::is_sorted(first.begin(), first.end()));
  EXPECT_EQ(std::set<uint32_t>(first.begin(), first.end()).size(), 37u);
  EXPECT_EQ(first, pickSparseEntries(w.data(), 20, 10, 37, "random", 0, b));
  EXPECT_NE(first, pickSparseEntries(w.data(), 20, 10, 37, "random", 0, c));
  // Every entry is picked with probability k / n: chi-square over 4000
  // draws of 5 of 20 (19 degrees of freedom; 43.8 is the 0.999 quantile).
  std::vector<int> count(20, 0);
  Rng rng(9);
  const int draws = 4000;
  for (int d = 0; d < draws; ++d)
    for (uint32_t i : pickSparseEntries(w.data(), 4, 5, 5, "random", 0, rng))
      ++count[i];
  double expected = draws * 5.0 / 20.0, chi = 0;
  for (int x : count)
    chi += (x - expected) * (x - expected) / expected;
  EXPECT_LT(chi, 43.8);
}

std::vector<HalfModule> t0Modules(int64_t layers, bool gated) {
  std::vector<HalfModule> modules;
  for (int64_t l = 0; l < layers; ++l) {
    modules.push_back({l, "norm"}); // attn_norm
    for (int i = 0; i < 4; ++i)
      modules.push_back({l, "attn"});
    modules.push_back({l, "norm"}); // mlp_norm
    for (int i = 0; i < (gated ? 3 : 2); ++i)
      modules.push_back({l, "mlp"});
  }
  return modules;
}

// HFT's CPU test on T0 (2 layers x {q,k,v,o} and {gate,up,down}): each round
// exactly 2 of 4 attention matrices per layer and 3 of 6 MLP matrices
// model-wide train.
TEST(HalfPick, HalfOfEachCategoryPerRound) {
  std::vector<HalfModule> modules = t0Modules(2, true);
  std::set<std::vector<bool>> seen;
  for (uint64_t seed = 0; seed < 50; ++seed) {
    Rng rng(seed);
    std::vector<bool> chosen = pickHalf(modules, rng);
    std::map<std::pair<int64_t, std::string>, int> perLayer;
    int mlp = 0;
    for (size_t i = 0; i < modules.size(); ++i)
      if (chosen[i]) {
        ++perLayer[{modules[i].layer, modules[i].category}];
        mlp += modules[i].category == "mlp";
      }
    for (int64_t l = 0; l < 2; ++l) {
      EXPECT_EQ((perLayer[{l, "attn"}]), 2);
      EXPECT_EQ((perLayer[{l, "norm"}]), 1);
      EXPECT_GE((perLayer[{l, "mlp"}]), 1);
      EXPECT_LE((perLayer[{l, "mlp"}]), 2);
    }
    EXPECT_EQ(mlp, 3);
    seen.insert(chosen);
  }
  // Different seeds choose different sets (many of the 6*6*3*3*2*2*... ).
  EXPECT_GT(seen.size(), 40u);
}

TEST(HalfPick, SeededAndFair) {
  std::vector<HalfModule> modules = t0Modules(2, true);
  Rng a(1), b(1), c(2);
  std::vector<bool> first = pickHalf(modules, a);
  EXPECT_EQ(first, pickHalf(modules, b));
  EXPECT_NE(first, pickHalf(modules, c));
  // Each module trains in half the rounds.
  std::vector<int> count(modules.size(), 0);
  Rng rng(3);
  const int rounds = 4000;
  for (int r = 0; r < rounds; ++r) {
    std::vector<bool> chosen = pickHalf(modules, rng);
    for (size_t i = 0; i < modules.size(); ++i)
      count[i] += chosen[i];
  }
  for (int x : count)
    EXPECT_NEAR(x / double(rounds), 0.5, 0.04);
}

TEST(HalfPick, OddCountsAndGpt2) {
  // Three gated layers: MLP 2 + 2 + 1 (ceil of half the odd layers get 2).
  std::vector<HalfModule> modules = t0Modules(3, true);
  Rng rng(4);
  std::vector<bool> chosen = pickHalf(modules, rng);
  int mlp = 0;
  for (size_t i = 0; i < modules.size(); ++i)
    mlp += chosen[i] && modules[i].category == "mlp";
  EXPECT_EQ(mlp, 5);
  // GPT-2's MLP has up and down: one per layer.
  modules = t0Modules(2, false);
  chosen = pickHalf(modules, rng);
  std::map<int64_t, int> perLayer;
  for (size_t i = 0; i < modules.size(); ++i)
    if (chosen[i] && modules[i].category == "mlp")
      ++perLayer[modules[i].layer];
  EXPECT_EQ(perLayer[0], 1);
  EXPECT_EQ(perLayer[1], 1);
}

TEST(Pissa, FactorsAreThePrincipalPartAndTheResidualKeepsW) {
  const int64_t out = 24, in = 40, rank = 4;
  const double scale = 2.0; // alpha 8 / rank 4
  std::vector<float> w = randomMatrix(out, in, 21), original = w;
  std::vector<float> a(static_cast<size_t>(rank * in)), b(size_t(out * rank));
  pissaInit(w.data(), out, in, rank, scale, a.data(), b.data());
  // W^T is 40x24: the reference works on the transpose's Gram matrix.
  std::vector<float> t(original.size());
  for (int64_t i = 0; i < out; ++i)
    for (int64_t j = 0; j < in; ++j)
      t[j * out + i] = original[i * in + j];
  Reference ref = reference(t, in, out, rank); // approx is [in, out]
  double worst = 0, restored = 0;
  for (int64_t i = 0; i < out; ++i)
    for (int64_t j = 0; j < in; ++j) {
      double ba = 0;
      for (int64_t r = 0; r < rank; ++r)
        ba += double(b[i * rank + r]) * a[r * in + j];
      worst = std::max(worst, std::abs(scale * ba - ref.approx[j * out + i]));
      restored =
          std::max(restored, std::abs(double(w[i * in + j]) + scale * ba -
                                      original[i * in + j]));
    }
  EXPECT_LT(worst, 1e-5);
  EXPECT_LT(restored, 1e-6);
  // A's rows are orthogonal with squared norms S / scale; so are B's columns.
  for (int64_t p = 0; p < rank; ++p)
    for (int64_t q = 0; q < rank; ++q) {
      double aa = 0, bb = 0;
      for (int64_t j = 0; j < in; ++j)
        aa += double(a[p * in + j]) * a[q * in + j];
      for (int64_t i = 0; i < out; ++i)
        bb += double(b[i * rank + p]) * b[i * rank + q];
      double expected = p == q ? ref.sigma[p] / scale : 0.0;
      EXPECT_NEAR(aa, expected, 1e-5);
      EXPECT_NEAR(bb, expected, 1e-5);
    }
  // The residual has lost the top singular values: its largest is the
  // original's fifth.
  TruncatedSvd residual = truncatedSvd(w.data(), out, in, 1);
  EXPECT_NEAR(residual.s[0], ref.sigma[rank], 1e-5);
}

/// The inverse of the symmetric positive definite `c` [n, n] by Gauss-Jordan
/// elimination with partial pivoting (not the Cholesky solve under test).
std::vector<double> inverse(std::vector<double> c, int64_t n) {
  std::vector<double> inv(size_t(n * n), 0.0);
  for (int64_t i = 0; i < n; ++i)
    inv[i * n + i] = 1;
  for (int64_t col = 0; col < n; ++col) {
    int64_t pivot = col;
    for (int64_t r = col + 1; r < n; ++r)
      if (std::abs(c[r * n + col]) > std::abs(c[pivot * n + col]))
        pivot = r;
    for (int64_t k = 0; k < n; ++k) {
      std::swap(c[col * n + k], c[pivot * n + k]);
      std::swap(inv[col * n + k], inv[pivot * n + k]);
    }
    double d = c[col * n + col];
    for (int64_t k = 0; k < n; ++k)
      c[col * n + k] /= d, inv[col * n + k] /= d;
    for (int64_t r = 0; r < n; ++r)
      if (r != col) {
        double f = c[r * n + col];
        for (int64_t k = 0; k < n; ++k)
          c[r * n + k] -= f * c[col * n + k],
              inv[r * n + k] -= f * inv[col * n + k];
      }
  }
  return inv;
}

/// METHODS.md's CorDA test: W - BA + BA == W; the adapter is the part of W
/// along the largest (IPM) or smallest (KPM) singular directions of W C,
/// (W C) V V^T C^-1, against a Jacobi reference and a Gauss-Jordan inverse.
void expectCorda(bool kpm) {
  const int64_t out = 12, in = 10, rank = 3, samples = 40;
  const double scale = 2.0;
  std::vector<float> w = randomMatrix(out, in, 31), original = w;
  // Inputs with unequal variances, so that C is far from the identity.
  std::vector<float> x = randomMatrix(samples, in, 32);
  for (int64_t t = 0; t < samples; ++t)
    for (int64_t j = 0; j < in; ++j)
      x[t * in + j] *= float(0.2 + 0.3 * j);
  std::vector<double> cov(size_t(in * in), 0.0);
  for (int64_t t = 0; t < samples; ++t)
    for (int64_t i = 0; i < in; ++i)
      for (int64_t j = 0; j < in; ++j)
        cov[i * in + j] += double(x[t * in + i]) * x[t * in + j];
  std::vector<float> a(size_t(rank * in)), b(size_t(out * rank));
  cordaInit(w.data(), out, in, rank, scale, cov.data(), kpm, a.data(),
            b.data());

  // The damped covariance the documentation specifies, W C and the part.
  double mean = 0;
  for (int64_t i = 0; i < in; ++i)
    mean += cov[i * in + i] / double(in);
  std::vector<double> c = cov;
  for (int64_t i = 0; i < in; ++i)
    c[i * in + i] += 1e-6 * mean;
  std::vector<float> wc(size_t(out * in));
  for (int64_t i = 0; i < out; ++i)
    for (int64_t j = 0; j < in; ++j) {
      double sum = 0;
      for (int64_t k = 0; k < in; ++k)
        sum += double(original[i * in + k]) * c[k * in + j];
      wc[i * in + j] = float(sum);
    }
  Reference ref = reference(wc, out, in, rank, kpm);
  std::vector<double> cinv = inverse(c, in);
  double worst = 0, restored = 0, largest = 0;
  for (int64_t i = 0; i < out; ++i)
    for (int64_t j = 0; j < in; ++j) {
      double part = 0, ba = 0;
      for (int64_t k = 0; k < in; ++k)
        part += ref.approx[i * in + k] * cinv[k * in + j];
      for (int64_t r = 0; r < rank; ++r)
        ba += double(b[i * rank + r]) * a[r * in + j];
      worst = std::max(worst, std::abs(scale * ba - part));
      largest = std::max(largest, std::abs(part));
      restored =
          std::max(restored, std::abs(double(w[i * in + j]) + scale * ba -
                                      original[i * in + j]));
    }
  EXPECT_LT(worst, 1e-4 * std::max(largest, 1.0)) << (kpm ? "kpm" : "ipm");
  EXPECT_LT(restored, 1e-5);
  EXPECT_GT(largest, 1e-3) << "the adapter part is empty";
}

TEST(Corda, InstructionPreviewedTakesTheLargestDirectionsOfWC) {
  expectCorda(false);
}

TEST(Corda, KnowledgePreservedTakesTheSmallestDirectionsOfWC) {
  expectCorda(true);
}

TEST(Corda, IdentityCovarianceIsPissa) {
  const int64_t out = 16, in = 12, rank = 4;
  std::vector<float> w1 = randomMatrix(out, in, 41), w2 = w1;
  std::vector<double> eye(size_t(in * in), 0.0);
  for (int64_t i = 0; i < in; ++i)
    eye[i * in + i] = 1;
  std::vector<float> a1(size_t(rank * in)), b1(size_t(out * rank)), a2 = a1,
                                                                    b2 = b1;
  cordaInit(w1.data(), out, in, rank, 2.0, eye.data(), false, a1.data(),
            b1.data());
  pissaInit(w2.data(), out, in, rank, 2.0, a2.data(), b2.data());
  for (size_t i = 0; i < a1.size(); ++i)
    EXPECT_NEAR(a1[i], a2[i], 1e-5) << i;
  for (size_t i = 0; i < b1.size(); ++i)
    EXPECT_NEAR(b1[i], b2[i], 1e-5) << i;
  for (size_t i = 0; i < w1.size(); ++i)
    EXPECT_NEAR(w1[i], w2[i], 1e-5) << i;
}

} // namespace

namespace {
// LIFT's refresh: moments of entries that stay selected carry over (same
// values), new entries start from zero.
TEST(SparsePick, RefreshCarriesRetainedMomentsOver) {
  std::vector<uint32_t> from = {2, 5, 9, 14, 20};
  std::vector<uint32_t> to = {1, 5, 14, 15, 20};
  std::vector<float> m = {0.1f, 0.2f, 0.3f, 0.4f, 0.5f};
  std::vector<float> got = carryOver(from, to, m);
  EXPECT_EQ(got, (std::vector<float>{0.0f, 0.2f, 0.4f, 0.0f, 0.5f}));
  EXPECT_EQ(carryOver(from, from, m), m);
  EXPECT_EQ(carryOver({}, to, {}), std::vector<float>(5, 0.0f));
}
} // namespace
