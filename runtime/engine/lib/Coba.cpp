//===- Coba.cpp - Convergence-based task weights (CoBa) -------------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "Coba.h"

#include <algorithm>
#include <cassert>
#include <cmath>

using namespace ftl::rt;

double(::ftl::rt::leastSquaresSlope)(llvm::ArrayRef<double> y) {
  const size_t n = y.size();
  if (n < 2)
    return 0;
  double meanX = double(n - 1) / 2, meanY = 0;
  for (double v : y)
    meanY += v;
  meanY /= double(n);
  double sxy = 0, sxx = 0;
  for (size_t i = 0; i < n; ++i) {
    sxy += (double(i) - meanX) * (y[i] - meanY);
    sxx += (double(i) - meanX) * (double(i) - meanX);
  }
  return sxy / sxx;
}

std::vector<double>(::ftl::rt::softmax)(llvm::ArrayRef<double> x) {
  std::vector<double> out(x.begin(), x.end());
  if (out.empty())
    return out;
  double m = *std::max_element(out.begin(), out.end()), sum = 0;
  for (double &v : out)
    sum += v = std::exp(v - m);
  for (double &v : out)
    v /= sum;
  return out;
}

/// The last `n` entries of `v` (all of them if fewer).
static llvm::ArrayRef<double> lastEntries(const std::vector<double> &v,
                                          int64_t n) {
  llvm::ArrayRef<double> all(v);
  return all.take_back(std::min<size_t>(all.size(), size_t(n)));
}

/// `scale * x / sum |x|`, or zeros where the sum is 0.
static std::vector<double> normalised(llvm::ArrayRef<double> x, double scale) {
  double sum = 0;
  for (double v : x)
    sum += std::fabs(v);
  std::vector<double> out(x.size(), 0.0);
  if (sum > 0)
    for (size_t i = 0; i < x.size(); ++i)
      out[i] = scale * x[i] / sum;
  return out;
}

CobaBalancer::CobaBalancer(size_t tasks, CobaSettings settings)
    : tasks(tasks), settings(settings), lossHistory(tasks), slopeHistory(tasks),
      current(tasks, tasks ? 1.0 / double(tasks) : 0.0), slopes(tasks, 0.0) {}

void CobaBalancer::observe(int64_t step, llvm::ArrayRef<double> losses) {
  assert(losses.size() == tasks && "one loss per task");
  if (initial.empty()) {
    // A task whose loss starts at 0 keeps its raw values.
    for (double l : losses)
      initial.push_back(l > 0 ? l : 1.0);
  }
  for (size_t k = 0; k < tasks; ++k)
    lossHistory[k].push_back(losses[k] / initial[k]);
  if (step < settings.warmup || step == 0)
    return;

  const double K = double(tasks);
  std::vector<double> worst;
  for (size_t k = 0; k < tasks; ++k) {
    slopes[k] =
        leastSquaresSlope(lastEntries(lossHistory[k], settings.history));
    slopeHistory[k].push_back(slopes[k]);
  }
  size_t points = lastEntries(lossHistory[0], settings.history).size();
  for (size_t i = lossHistory[0].size() - points; i < lossHistory[0].size();
       ++i) {
    double m = lossHistory[0][i];
    for (size_t k = 1; k < tasks; ++k)
      m = std::max(m, lossHistory[k][i]);
    worst.push_back(m);
  }
  totalSlopeHistory.push_back(leastSquaresSlope(worst));

  std::vector<double> rcs = softmax(normalised(slopes, K));
  std::vector<double> acsLogits(tasks);
  for (size_t k = 0; k < tasks; ++k) {
    llvm::ArrayRef<double> window =
        lastEntries(slopeHistory[k], settings.history);
    acsLogits[k] = normalised(window, -double(window.size())).back();
  }
  std::vector<double> acs = softmax(acsLogits);
  const double M = double(totalSlopeHistory.size());
  std::vector<double> df = normalised(totalSlopeHistory, -M * settings.tau);
  divergence = M * softmax(df).back();

  current = combineCobaScores(rcs, acs, divergence);
}

std::vector<double>(::ftl::rt::combineCobaScores)(llvm::ArrayRef<double> rcs,
                                                  llvm::ArrayRef<double> acs,
                                                  double divergence) {
  const double K = double(rcs.size());
  std::vector<double> logits(rcs.size());
  for (size_t k = 0; k < rcs.size(); ++k)
    logits[k] = K * (divergence * rcs[k] + (1 - divergence) * acs[k]);
  std::vector<double> w = softmax(logits);
  const double floor = 1 / (10 * K);
  if (!w.empty() && *std::min_element(w.begin(), w.end()) < floor)
    for (double &v : w)
      v = v * (1 - floor * K) + floor;
  return w;
}
