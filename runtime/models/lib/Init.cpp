//===- Init.cpp - Fresh model weights -------------------------------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "ftl/Models/Init.h"

#include <cassert>
#include <cmath>

using namespace ftl::rt;

Tensor ftl::rt::initParam(const ModelConfig &config, llvm::StringRef name,
                          llvm::ArrayRef<int64_t> shape, const Rng &rng) {
  Tensor t = Tensor::zeros(DType::F32, shape);
  float *data = t.dataAs<float>();
  int64_t n = t.numel();
  if (name.ends_with(".bias"))
    return t; // biases start at zero
  if (name.ends_with("norm.weight")) {
    for (int64_t i = 0; i < n; ++i)
      data[i] = 1.0f;
    return t;
  }
  double std = config.initStd;
  // GPT-2 scales the residual projections (c_proj) by 1/sqrt(2 * layers).
  if (config.isGPT2() &&
      (name.ends_with(".attn.o.weight") || name.ends_with(".mlp.down.weight")))
    std = config.initStd / std::sqrt(2.0 * static_cast<double>(config.layers));
  Rng stream = rng.derive(name);
  for (int64_t i = 0; i < n; ++i)
    data[i] = static_cast<float>(stream.normal() * std);
  // The Llama family's embedding has padding_idx = pad_token_id, whose row
  // transformers zeroes.
  if (!config.isGPT2() && name == "embed.weight" && config.padId >= 0 &&
      config.padId < config.vocab)
    for (int64_t j = 0; j < config.dim; ++j)
      data[config.padId * config.dim + j] = 0.0f;
  return t;
}

ModelWeights ftl::rt::initModelWeights(const ModelConfig &config, Rng &rng) {
  ModelWeights weights;
  for (const ParamSpec &spec : canonicalParams(config))
    weights.set(spec.name, initParam(config, spec.name, spec.shape, rng));
  return weights;
}
