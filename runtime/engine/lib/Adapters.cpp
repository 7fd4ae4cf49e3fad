//===- Adapters.cpp - Adapters the runtime sets up ------------------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
//
// Numerics (truncated SVD, sparse picks, half fine-tuning groups, PiSSA) and
// the interpreter's set-up of the adapters that use them: masks of sparse
// adapters, PiSSA factors of LoRA adapters.
//
//===----------------------------------------------------------------------===//

#include "ftl/Engine/Adapters.h"

#include "AdapterSetup.h"

#include "ftl/Conversion/TrainPlan.h"
#include "ftl/Dialect/FTL/IR/FTLOps.h"
#include "ftl/Runtime/Rng.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <numeric>

using namespace ftl::rt;

//===----------------------------------------------------------------------===//
// Truncated SVD
//===----------------------------------------------------------------------===//

double TruncatedSvd::approx(int64_t i, int64_t j) const {
  double sum = 0;
  for (int64_t r = 0; r < rank; ++r)
    sum += u[i * rank + r] * s[r] * vt[r * cols + j];
  return sum;
}

namespace {

/// A column-major [rows, cols] matrix in double.
struct Columns {
  int64_t rows = 0, cols = 0;
  std::vector<double> data;
  Columns(int64_t rows, int64_t cols)
      : rows(rows), cols(cols), data(size_t(rows * cols), 0.0) {}
  double *col(int64_t c) { return data.data() + c * rows; }
  const double *col(int64_t c) const { return data.data() + c * rows; }
};

double dot(const double *a, const double *b, int64_t n) {
  double s = 0;
  for (int64_t i = 0; i < n; ++i)
    s += a[i] * b[i];
  return s;
}

/// Orthonormalises the columns of `q` in place (modified Gram-Schmidt,
/// twice). A column that vanishes is replaced by a vector from `rng`.
void orthonormalise(Columns &q, Rng &rng) {
  for (int64_t c = 0; c < q.cols; ++c) {
    double *v = q.col(c);
    for (int attempt = 0; attempt < 4; ++attempt) {
      double before = std::sqrt(dot(v, v, q.rows));
      for (int pass = 0; pass < 2; ++pass)
        for (int64_t p = 0; p < c; ++p) {
          const double *u = q.col(p);
          double d = dot(u, v, q.rows);
          for (int64_t i = 0; i < q.rows; ++i)
            v[i] -= d * u[i];
        }
      double norm = std::sqrt(dot(v, v, q.rows));
      if (norm > 1e-10 * std::max(before, 1e-300) && norm > 1e-300) {
        for (int64_t i = 0; i < q.rows; ++i)
          v[i] /= norm;
        break;
      }
      for (int64_t i = 0; i < q.rows; ++i)
        v[i] = rng.normal();
    }
  }
}

/// One-sided Jacobi (Hestenes) on the columns of `y` [m, p]: afterwards
/// y = Y0 R with orthogonal columns and R [p, p] orthogonal.
void oneSidedJacobi(Columns &y, Columns &r) {
  int64_t m = y.rows, p = y.cols;
  for (int64_t i = 0; i < p; ++i)
    r.col(i)[i] = 1;
  for (int sweep = 0; sweep < 80; ++sweep) {
    bool rotated = false;
    for (int64_t j = 0; j < p; ++j)
      for (int64_t k = j + 1; k < p; ++k) {
        double *a = y.col(j), *b = y.col(k);
        double alpha = dot(a, a, m), beta = dot(b, b, m), gamma = dot(a, b, m);
        if (gamma == 0 || std::abs(gamma) <= 1e-15 * std::sqrt(alpha * beta))
          continue;
        rotated = true;
        double zeta = (beta - alpha) / (2 * gamma);
        double t = (zeta >= 0 ? 1.0 : -1.0) /
                   (std::abs(zeta) + std::sqrt(1 + zeta * zeta));
        double c = 1 / std::sqrt(1 + t * t), s = c * t;
        for (int64_t i = 0; i < m; ++i) {
          double x = a[i];
          a[i] = c * x - s * b[i];
          b[i] = s * x + c * b[i];
        }
        double *ra = r.col(j), *rb = r.col(k);
        for (int64_t i = 0; i < p; ++i) {
          double x = ra[i];
          ra[i] = c * x - s * rb[i];
          rb[i] = s * x + c * rb[i];
        }
      }
    if (!rotated)
      break;
  }
}

/// The SVD of A [m, n] (row-major, m >= n) restricted to the column space of
/// q [n, p]: Y = A Q, Jacobi on Y; triplets sorted by value.
void ritz(const std::vector<double> &a, int64_t m, int64_t n, const Columns &q,
          std::vector<double> &sigma, Columns &left, Columns &right) {
  int64_t p = q.cols;
  Columns y(m, p);
  for (int64_t i = 0; i < m; ++i) {
    const double *row = a.data() + i * n;
    for (int64_t c = 0; c < p; ++c)
      y.col(c)[i] = dot(row, q.col(c), n);
  }
  Columns r(p, p);
  oneSidedJacobi(y, r);
  std::vector<double> norms(p);
  for (int64_t c = 0; c < p; ++c)
    norms[c] = std::sqrt(dot(y.col(c), y.col(c), m));
  std::vector<int64_t> order(p);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int64_t x, int64_t z) { return norms[x] > norms[z]; });
  sigma.assign(p, 0);
  left = Columns(m, p);
  right = Columns(n, p);
  for (int64_t k = 0; k < p; ++k) {
    int64_t c = order[k];
    sigma[k] = norms[c];
    if (norms[c] > 0)
      for (int64_t i = 0; i < m; ++i)
        left.col(k)[i] = y.col(c)[i] / norms[c];
    // V = Q R.
    for (int64_t j = 0; j < n; ++j) {
      double v = 0;
      for (int64_t t = 0; t < p; ++t)
        v += q.col(t)[j] * r.col(c)[t];
      right.col(k)[j] = v;
    }
  }
}

} // namespace

TruncatedSvd(::ftl::rt::truncatedSvd)(const float *w, int64_t rows,
                                      int64_t cols, int64_t rank) {
  assert(rank >= 1 && rank <= std::min(rows, cols) && "rank out of range");
  // Work on the orientation with m >= n; transpose back at the end.
  bool transposed = rows < cols;
  int64_t m = transposed ? cols : rows, n = transposed ? rows : cols;
  std::vector<double> a(static_cast<size_t>(m * n));
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j)
      a[transposed ? j * n + i : i * n + j] = w[i * cols + j];

  int64_t p = std::min(n, 2 * rank + 8);
  bool exact = n <= 256 || 2 * p >= n;
  if (exact)
    p = n;
  Rng rng(0x5eedULL); // the start block: fixed, not the run's seed
  Columns q(n, p);
  if (exact) {
    for (int64_t c = 0; c < p; ++c)
      q.col(c)[c] = 1;
  } else {
    for (double &v : q.data)
      v = rng.normal();
    orthonormalise(q, rng);
  }
  std::vector<double> sigma, previous;
  Columns left(m, p), right(n, p);
  if (!exact) {
    Columns y(m, p);
    for (int iteration = 1; iteration <= 200; ++iteration) {
      // Q <- orth(A^T A Q).
      for (int64_t i = 0; i < m; ++i) {
        const double *row = a.data() + i * n;
        for (int64_t c = 0; c < p; ++c)
          y.col(c)[i] = dot(row, q.col(c), n);
      }
      std::fill(q.data.begin(), q.data.end(), 0.0);
      for (int64_t c = 0; c < p; ++c) {
        double *z = q.col(c);
        const double *yc = y.col(c);
        for (int64_t i = 0; i < m; ++i) {
          const double *row = a.data() + i * n;
          double f = yc[i];
          for (int64_t j = 0; j < n; ++j)
            z[j] += row[j] * f;
        }
      }
      orthonormalise(q, rng);
      if (iteration % 4 != 0)
        continue;
      ritz(a, m, n, q, sigma, left, right);
      bool converged = !previous.empty();
      for (int64_t k = 0; k < rank && converged; ++k)
        converged = std::abs(sigma[k] - previous[k]) <=
                    1e-13 * std::max(sigma[0], 1e-300);
      if (converged)
        break;
      previous = sigma;
    }
  }
  ritz(a, m, n, q, sigma, left, right);

  TruncatedSvd out;
  out.rows = rows;
  out.cols = cols;
  out.rank = rank;
  out.s.assign(sigma.begin(), sigma.begin() + rank);
  out.u.assign(size_t(rows * rank), 0.0);
  out.vt.assign(size_t(rank * cols), 0.0);
  // Left vectors of A are columns of `left`; for a transposed problem the
  // roles swap.
  const Columns &uCols = transposed ? right : left;
  const Columns &vCols = transposed ? left : right;
  for (int64_t k = 0; k < rank; ++k) {
    // A deterministic sign: the largest-magnitude entry of u is positive.
    const double *uk = uCols.col(k);
    int64_t big = 0;
    for (int64_t i = 1; i < rows; ++i)
      if (std::abs(uk[i]) > std::abs(uk[big]))
        big = i;
    double sign = uk[big] < 0 ? -1.0 : 1.0;
    for (int64_t i = 0; i < rows; ++i)
      out.u[i * rank + k] = sign * uk[i];
    for (int64_t j = 0; j < cols; ++j)
      out.vt[k * cols + j] = sign * vCols.col(k)[j];
  }
  return out;
}

//===----------------------------------------------------------------------===//
// Sparse picks
//===----------------------------------------------------------------------===//

std::vector<uint32_t>(::ftl::rt::topKIndices)(llvm::ArrayRef<double> score,
                                              int64_t k) {
  int64_t n = int64_t(score.size());
  k = std::clamp<int64_t>(k, 0, n);
  std::vector<uint32_t> index(static_cast<size_t>(n));
  std::iota(index.begin(), index.end(), 0u);
  auto before = [&](uint32_t x, uint32_t y) {
    if (score[x] != score[y])
      return score[x] > score[y];
    return x < y;
  };
  if (k < n)
    std::nth_element(index.begin(), index.begin() + k, index.end(), before);
  index.resize(size_t(k));
  std::sort(index.begin(), index.end());
  return index;
}

std::vector<uint32_t>(::ftl::rt::pickSparseEntries)(const float *w,
                                                    int64_t rows, int64_t cols,
                                                    int64_t k,
                                                    llvm::StringRef pick,
                                                    int64_t rank, Rng &rng) {
  int64_t n = rows * cols;
  k = std::clamp<int64_t>(k, 0, n);
  if (pick == "magnitude") {
    std::vector<double> score(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i)
      score[i] = std::abs(double(w[i]));
    return topKIndices(score, k);
  }
  if (pick == "principal") {
    TruncatedSvd svd = truncatedSvd(w, rows, cols, rank);
    std::vector<double> score(static_cast<size_t>(n));
    std::vector<double> us(static_cast<size_t>(rank));
    for (int64_t i = 0; i < rows; ++i) {
      for (int64_t r = 0; r < rank; ++r)
        us[r] = svd.u[i * rank + r] * svd.s[r];
      for (int64_t j = 0; j < cols; ++j) {
        double sum = 0;
        for (int64_t r = 0; r < rank; ++r)
          sum += us[r] * svd.vt[r * cols + j];
        score[i * cols + j] = std::abs(sum);
      }
    }
    return topKIndices(score, k);
  }
  // Random: selection sampling (Knuth's algorithm S), a uniform k-subset in
  // increasing order.
  std::vector<uint32_t> out;
  out.reserve(size_t(k));
  int64_t needed = k;
  for (int64_t i = 0; i < n && needed > 0; ++i)
    if (int64_t(rng.below(uint64_t(n - i))) < needed) {
      out.push_back(uint32_t(i));
      --needed;
    }
  return out;
}

std::vector<float>(::ftl::rt::carryOver)(llvm::ArrayRef<uint32_t> from,
                                         llvm::ArrayRef<uint32_t> to,
                                         llvm::ArrayRef<float> values) {
  std::vector<float> out(to.size(), 0.0f);
  size_t o = 0;
  for (size_t j = 0; j < to.size(); ++j) {
    while (o < from.size() && from[o] < to[j])
      ++o;
    if (o < from.size() && from[o] == to[j])
      out[j] = values[o];
  }
  return out;
}

//===----------------------------------------------------------------------===//
// Half fine-tuning
//===----------------------------------------------------------------------===//

std::vector<bool>(::ftl::rt::pickHalf)(llvm::ArrayRef<HalfModule> modules,
                                       Rng &rng) {
  std::vector<bool> trained(modules.size(), false);
  // Categories in a fixed order, then layers in increasing order.
  std::vector<std::string> categories;
  for (const HalfModule &m : modules)
    if (!llvm::is_contained(categories, m.category))
      categories.push_back(m.category);
  std::sort(categories.begin(), categories.end());
  for (const std::string &category : categories) {
    std::vector<int64_t> layers;
    for (const HalfModule &m : modules)
      if (m.category == category && !llvm::is_contained(layers, m.layer))
        layers.push_back(m.layer);
    std::sort(layers.begin(), layers.end());
    auto membersOf = [&](int64_t layer) {
      std::vector<size_t> members;
      for (size_t i = 0; i < modules.size(); ++i)
        if (modules[i].category == category && modules[i].layer == layer)
          members.push_back(i);
      return members;
    };
    // Layers with an odd count: a random half (rounded up) get the larger
    // share.
    std::vector<int64_t> odd;
    for (int64_t layer : layers)
      if (membersOf(layer).size() % 2 == 1)
        odd.push_back(layer);
    for (size_t i = odd.size(); i > 1; --i)
      std::swap(odd[i - 1], odd[rng.below(i)]);
    std::vector<int64_t> larger(odd.begin(),
                                odd.begin() + (odd.size() + 1) / 2);
    for (int64_t layer : layers) {
      std::vector<size_t> members = membersOf(layer);
      size_t count = members.size() / 2;
      if (members.size() % 2 == 1 && llvm::is_contained(larger, layer))
        ++count;
      // A uniform `count`-subset: a partial Fisher-Yates shuffle.
      for (size_t i = 0; i < count; ++i) {
        size_t j = i + size_t(rng.below(members.size() - i));
        std::swap(members[i], members[j]);
        trained[members[i]] = true;
      }
    }
  }
  return trained;
}

//===----------------------------------------------------------------------===//
// PiSSA
//===----------------------------------------------------------------------===//

/// w -= scale * B A, from the rounded A and B, summed in double and rounded
/// once: the residual that PiSSA and CorDA leave as the base weight.
static void subtractLowRank(float *w, int64_t out, int64_t in, int64_t rank,
                            double scale, const float *a, const float *b) {
  for (int64_t i = 0; i < out; ++i)
    for (int64_t j = 0; j < in; ++j) {
      double ba = 0;
      for (int64_t r = 0; r < rank; ++r)
        ba += double(b[i * rank + r]) * double(a[r * in + j]);
      w[i * in + j] = float(double(w[i * in + j]) - scale * ba);
    }
}

void(::ftl::rt::pissaInit)(float *w, int64_t out, int64_t in, int64_t rank,
                           double scale, float *a, float *b) {
  TruncatedSvd svd = truncatedSvd(w, out, in, rank);
  for (int64_t r = 0; r < rank; ++r) {
    double root = std::sqrt(svd.s[r] / scale);
    for (int64_t j = 0; j < in; ++j)
      a[r * in + j] = float(root * svd.vt[r * in + j]);
    for (int64_t i = 0; i < out; ++i)
      b[i * rank + r] = float(svd.u[i * rank + r] * root);
  }
  subtractLowRank(w, out, in, rank, scale, a, b);
}

/// Solves C x = b in place for the symmetric positive definite C [n, n],
/// given its Cholesky factor L (lower, row-major).
static void choleskySolve(const std::vector<double> &L, int64_t n,
                          std::vector<double> &x) {
  for (int64_t i = 0; i < n; ++i) { // L y = b
    double s = x[i];
    for (int64_t k = 0; k < i; ++k)
      s -= L[i * n + k] * x[k];
    x[i] = s / L[i * n + i];
  }
  for (int64_t i = n; i-- > 0;) { // L^T x = y
    double s = x[i];
    for (int64_t k = i + 1; k < n; ++k)
      s -= L[k * n + i] * x[k];
    x[i] = s / L[i * n + i];
  }
}

void(::ftl::rt::cordaInit)(float *w, int64_t out, int64_t in, int64_t rank,
                           double scale, const double *cov, bool kpm, float *a,
                           float *b) {
  // The damped covariance and its Cholesky factor.
  double meanDiag = 0;
  for (int64_t i = 0; i < in; ++i)
    meanDiag += cov[i * in + i];
  meanDiag /= double(in);
  double damping = 1e-6 * (meanDiag > 0 ? meanDiag : 1.0);
  std::vector<double> C(cov, cov + in * in);
  for (int64_t i = 0; i < in; ++i)
    C[i * in + i] += damping;
  std::vector<double> L(size_t(in * in), 0.0);
  for (int64_t j = 0; j < in; ++j) {
    double d = C[j * in + j];
    for (int64_t k = 0; k < j; ++k)
      d -= L[j * in + k] * L[j * in + k];
    L[j * in + j] = std::sqrt(std::max(d, 1e-300));
    for (int64_t i = j + 1; i < in; ++i) {
      double s = C[i * in + j];
      for (int64_t k = 0; k < j; ++k)
        s -= L[i * in + k] * L[j * in + k];
      L[i * in + j] = s / L[j * in + j];
    }
  }
  // W C, then all of its singular triplets.
  std::vector<float> wc(size_t(out * in));
  for (int64_t i = 0; i < out; ++i)
    for (int64_t j = 0; j < in; ++j) {
      double s = 0;
      for (int64_t k = 0; k < in; ++k)
        s += double(w[i * in + k]) * C[k * in + j];
      wc[i * in + j] = float(s);
    }
  int64_t full = std::min(out, in);
  TruncatedSvd svd = truncatedSvd(wc.data(), out, in, full);
  // Components [first, first + rank): the largest (IPM) or smallest (KPM).
  int64_t first = kpm ? full - rank : 0;
  std::vector<double> row(static_cast<size_t>(in));
  for (int64_t r = 0; r < rank; ++r) {
    int64_t c = first + r;
    double root = std::sqrt(svd.s[c] / scale);
    // (V^T C^-1) row c = (C^-1 v_c)^T, C symmetric.
    for (int64_t j = 0; j < in; ++j)
      row[j] = svd.vt[c * in + j];
    choleskySolve(L, in, row);
    for (int64_t j = 0; j < in; ++j)
      a[r * in + j] = float(root * row[j]);
    for (int64_t i = 0; i < out; ++i)
      b[i * rank + r] = float(svd.u[i * full + c] * root);
  }
  subtractLowRank(w, out, in, rank, scale, a, b);
}

//===----------------------------------------------------------------------===//
// Set-up in the interpreter
//===----------------------------------------------------------------------===//

/// S2FT: the entries of the chosen units, whole rows or columns. The units
/// come from a stream per adapter, layer and unit kind, so the coupled
/// weights of a layer choose the same heads or channels.
static std::vector<uint32_t> pickStructured(const ::ftl::SparsePlacement &sp,
                                            const Rng &runRng) {
  Rng rng = runRng.derive("structured:" + sp.adapter + ":layer" +
                          std::to_string(sp.layer) + ":" + sp.blockKind);
  std::vector<float> none(size_t(sp.blockUnits), 0.0f);
  std::vector<uint32_t> units = pickSparseEntries(
      none.data(), 1, sp.blockUnits, sp.blockChosen, "random", 0, rng);
  std::vector<uint32_t> out;
  out.reserve(size_t(sp.k));
  if (!sp.blockCols) {
    for (uint32_t u : units)
      for (int64_t r = u * sp.blockWidth; r < (u + 1) * sp.blockWidth; ++r)
        for (int64_t c = 0; c < sp.cols; ++c)
          out.push_back(uint32_t(r * sp.cols + c));
  } else {
    for (int64_t r = 0; r < sp.rows; ++r)
      for (uint32_t u : units)
        for (int64_t c = u * sp.blockWidth; c < (u + 1) * sp.blockWidth; ++c)
          out.push_back(uint32_t(r * sp.cols + c));
  }
  return out;
}

std::vector<uint32_t>(::ftl::rt::pickSparseMask)(
    const ::ftl::SparsePlacement &sp, const Tensor &w, const Rng &runRng,
    int64_t round) {
  if (sp.pick == "structured")
    return pickStructured(sp, runRng);
  Rng rng = runRng.derive("sparse:" + sp.adapter + ":" + sp.weight)
                .derive(uint64_t(round));
  return pickSparseEntries(w.dataAs<const float>(), sp.rows, sp.cols, sp.k,
                           sp.pick, sp.rank, rng);
}

/// LT-SFT: the k largest |W - W0| of each placement, then the whole model
/// back to W0.
static llvm::Error
pickLotteryTickets(llvm::ArrayRef<::ftl::SparsePlacement> placements,
                   ModelState &model, const ModelState &from) {
  for (const auto &[name, w] : model.weights) {
    const Tensor *w0 = from.weights.find(name);
    if (!w0 || w0->numel() != w.numel())
      return llvm::createStringError(
          "lottery(from: " + from.name + "): model '" + from.name +
          "' has no tensor '" + name + "' of " + std::to_string(w.numel()) +
          " entries; it must be a snapshot of '" + model.name + "'");
  }
  if (from.weights.size() != model.weights.size())
    return llvm::createStringError("lottery(from: " + from.name + "): model '" +
                                   from.name + "' has other tensors than '" +
                                   model.name +
                                   "'; it must be a snapshot of it");
  for (const ::ftl::SparsePlacement &sp : placements) {
    const float *w = model.weights.find(sp.weight)->dataAs<const float>();
    const float *w0 = from.weights.find(sp.weight)->dataAs<const float>();
    std::vector<float> delta(size_t(sp.numel));
    for (int64_t i = 0; i < sp.numel; ++i)
      delta[i] = w[i] - w0[i];
    Rng unused(0);
    if (sp.k < sp.numel)
      model.sparseMasks[sp.weight] = pickSparseEntries(
          delta.data(), sp.rows, sp.cols, sp.k, "magnitude", 0, unused);
  }
  for (const auto &[name, w0] : from.weights)
    model.weights.set(name, w0.clone());
  return llvm::Error::success();
}

llvm::Error(::ftl::rt::setUpSparseAdapter)(mlir::Operation *op,
                                           ModelState &model, const Rng &runRng,
                                           const ModelState *lotteryFrom) {
  auto adapter = llvm::cast<mlir::ftl::AdapterOp>(op);
  auto shape = ::ftl::modelShapeOf(adapter.getModel());
  if (mlir::failed(shape))
    return llvm::createStringError("cannot determine the shape of model '" +
                                   model.name + "'");
  auto placements = ::ftl::planSparse(adapter, shape->info);
  if (mlir::failed(placements))
    return llvm::createStringError("cannot place sparse adapter '" +
                                   adapter.getName().str() + "'");
  bool lottery = !placements->empty() && placements->front().pick == "lottery";
  if (lottery && !lotteryFrom)
    return llvm::createStringError("internal: lottery pick without its model");
  for (const ::ftl::SparsePlacement &sp : *placements) {
    Tensor *w = model.weights.find(sp.weight);
    if (!w)
      return llvm::createStringError("model '" + model.name +
                                     "' has no tensor '" + sp.weight + "'");
    if (w->numel() != sp.numel)
      return llvm::createStringError(
          "tensor '" + sp.weight + "' has " + std::to_string(w->numel()) +
          " entries; the plan expects " + std::to_string(sp.numel));
    if (sp.k < sp.numel && !lottery) // density 1: every entry trains
      model.sparseMasks[sp.weight] = pickSparseMask(sp, *w, runRng, 0);
  }
  if (lottery)
    return pickLotteryTickets(*placements, model, *lotteryFrom);
  return llvm::Error::success();
}

void(::ftl::rt::initPissa)(Tensor &w, Tensor &a, Tensor &b, double scale) {
  // A fresh copy: the tensor may be shared with another model's weights or
  // be a view of a mapped file.
  w = w.clone();
  pissaInit(w.dataAs<float>(), w.dim(0), w.dim(1), a.dim(0), scale,
            a.dataAs<float>(), b.dataAs<float>());
}
