//===- Covariance.cpp - Activation covariance of linear layers ------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
//
// CorDA initialises LoRA from the covariance of each adapted layer's inputs
// over a sample of context data. The decoder's forward runs each sequence
// once (prefill only, no logits kept) and a hook adds x x^T of every input
// row of the wanted layers, in double and in token order, so the sums do not
// depend on the thread count.
//
//===----------------------------------------------------------------------===//

#include "ftl/Generate/Generate.h"

#include "Decoder.h"

#include <algorithm>
#include <cmath>

using namespace ftl::rt;
using namespace ftl::rt::detail;

namespace {

/// The canonical weight name of every linear layer of `m`.
std::map<const LinearRef *, std::string> linearNames(const ResolvedModel &m) {
  std::map<const LinearRef *, std::string> names;
  for (size_t i = 0; i < m.layers.size(); ++i) {
    const LayerRef &L = m.layers[i];
    std::string p = "layers." + std::to_string(i) + ".";
    for (auto [name, ref] : namedLinears(L))
      if (ref->weight)
        names[ref] = p + name + ".weight";
  }
  names[&m.head] = "head.weight";
  return names;
}

} // namespace

llvm::Expected<std::map<std::string, std::vector<double>>>
ftl::rt::linearInputCovariance(const ModelView &view,
                               llvm::ArrayRef<std::vector<int32_t>> sequences,
                               llvm::ArrayRef<std::string> targets,
                               kernels::ThreadPool *pool) {
  llvm::Expected<ResolvedModel> model = resolveModel(view);
  if (!model)
    return model.takeError();
  const ModelConfig &c = *view.config;
  std::map<const LinearRef *, std::string> names = linearNames(*model);
  std::map<std::string, std::vector<double>> cov;
  std::map<const LinearRef *, std::vector<double> *> wanted;
  for (const std::string &target : targets) {
    auto it = std::find_if(names.begin(), names.end(),
                           [&](const auto &e) { return e.second == target; });
    if (it == names.end())
      return llvm::createStringError("'" + target +
                                     "' names no linear layer of the model");
    std::vector<double> &sum = cov[target];
    sum.assign(size_t(it->first->in * it->first->in), 0.0);
    wanted[it->first] = &sum;
  }
  int64_t longest = 1;
  for (const std::vector<int32_t> &s : sequences) {
    if (int64_t(s.size()) > c.ctx)
      return llvm::createStringError(
          "a context sequence has " + std::to_string(s.size()) +
          " tokens; the model's context is " + std::to_string(c.ctx));
    for (int32_t id : s)
      if (id < 0 || id >= c.vocab)
        return llvm::createStringError("token id " + std::to_string(id) +
                                       " is outside the vocabulary");
    longest = std::max<int64_t>(longest, int64_t(s.size()));
  }
  Decoder decoder(*model, /*slots=*/1, /*capacity=*/longest, longest,
                  /*maxLogitRows=*/1, pool);
  decoder.onLinearInput = [&](const LinearRef &l, int64_t T, const float *x) {
    auto it = wanted.find(&l);
    if (it == wanted.end())
      return;
    std::vector<double> &sum = *it->second;
    const int64_t n = l.in;
    // Upper triangle, then mirrored: C is symmetric.
    for (int64_t t = 0; t < T; ++t) {
      const float *row = x + t * n;
      for (int64_t i = 0; i < n; ++i) {
        double xi = row[i];
        double *out = sum.data() + i * n;
        for (int64_t j = i; j < n; ++j)
          out[j] += xi * double(row[j]);
      }
    }
  };
  std::vector<StepToken> step;
  for (const std::vector<int32_t> &s : sequences) {
    if (s.empty())
      continue;
    step.clear();
    for (size_t i = 0; i < s.size(); ++i)
      step.push_back({0, int32_t(i), s[i], -1});
    decoder.step(step);
  }
  for (auto &[name, sum] : cov) {
    int64_t n = int64_t(std::sqrt(double(sum.size())) + 0.5);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < i; ++j)
        sum[i * n + j] = sum[j * n + i];
  }
  return cov;
}
