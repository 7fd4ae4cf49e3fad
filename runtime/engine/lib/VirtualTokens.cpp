//===- VirtualTokens.cpp - Prompt and prefix tuning tensors ---------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
//
// `prompt(tokens, init)` and `prefix(tokens)` on a model: each document
// piece of a train's batches starts with `tokens` virtual slots whose input
// embeddings (prompt) or per-layer keys and values (prefix) are trained
// (ftl::VirtualTokenPlacement; the step function replaces the slots' rows).
// Here their tensors are made, as PEFT initialises them:
//   prompt, init random  N(0, 1) (an nn.Embedding's default)
//   prompt, init vocab   rows of the embedding table at random token ids
//   prompt, init text    the embeddings of `text`'s tokens, repeated or
//                        cut to `tokens`
//   prefix, init random  N(0, 1), as PEFT's prefix encoder without its MLP
//   prefix, init text    the keys and values the model computes for the
//                        text's first `tokens` tokens (real activations)
//
//===----------------------------------------------------------------------===//

#include "Interpreter.h"

#include "ftl/Conversion/TrainPlan.h"
#include "ftl/Dialect/FTL/IR/FTLOps.h"
#include "ftl/Generate/Generate.h"

using namespace ftl::rt;
namespace fd = mlir::ftl;

static Tensor normalTensor(Rng rng, int64_t rows, int64_t cols) {
  Tensor t = Tensor::zeros(DType::F32, {rows, cols});
  float *d = t.dataAs<float>();
  for (int64_t i = 0; i < rows * cols; ++i)
    d[i] = float(rng.normal());
  return t;
}

llvm::Error
Interpreter::execVirtualAdapter(mlir::Operation *op,
                                const std::shared_ptr<ModelState> &model) {
  auto adapter = llvm::cast<fd::AdapterOp>(op);
  std::string name = adapter.getName().str(), kind = adapter.getKind().str();
  if (!model->virtualAdapter.empty())
    return error(op, "not implemented yet: a second prompt or prefix adapter "
                     "on model '" +
                         model->name + "' ('" + model->virtualAdapter +
                         "' is placed already)");
  auto shape = ::ftl::modelShapeOf(adapter.getModel());
  if (mlir::failed(shape))
    return error(op,
                 "cannot determine the shape of model '" + model->name + "'");
  const ::ftl::lang::ModelInfo &m = shape->info;
  mlir::DictionaryAttr config = adapter.getConfig();
  int64_t tokens = 0;
  if (auto t = config.getAs<mlir::IntegerAttr>("tokens"))
    tokens = t.getInt();
  if (tokens <= 0)
    return error(op, "'" + kind + "' needs a positive number of tokens");
  ::ftl::VirtualTokenPlacement placement;
  placement.adapter = name;
  placement.kind = kind;
  placement.tokens = tokens;

  std::string init = "random";
  if (auto i = config.getAs<mlir::StringAttr>("init"))
    init = i.getValue().str();
  // The tokens of `text:` (prompt and prefix init: text).
  auto textTokens = [&]() -> llvm::Expected<std::vector<int32_t>> {
    std::string text;
    if (auto s = config.getAs<mlir::StringAttr>("text"))
      text = s.getValue().str();
    auto tokenizer = tokenizerFor(op, model.get());
    if (!tokenizer)
      return tokenizer.takeError();
    std::vector<int32_t> encoded = (*tokenizer)->encode(text);
    if (encoded.empty())
      return llvm::createStringError(kind + "(init: text) needs a non-empty "
                                            "'text' (it gives the initial "
                                            "values)");
    for (int32_t id : encoded)
      if (id < 0 || id >= m.vocab)
        return llvm::createStringError(kind + "(init: text): token " +
                                       std::to_string(id) +
                                       " is outside the model's vocabulary");
    return encoded;
  };

  if (kind == "prefix") {
    int64_t kvDim = m.kvHeads * m.headDim();
    if (init == "text") {
      // The keys and values the model itself computes for the text's first
      // `tokens` tokens at positions 0.. (the prefix-tuning paper's
      // initialisation from real activations).
      auto encoded = textTokens();
      if (!encoded)
        return error(op, llvm::toString(encoded.takeError()));
      if (int64_t(encoded->size()) < tokens)
        return error(op, "prefix(init: text) needs at least " +
                             std::to_string(tokens) + " tokens of text; '" +
                             name + "' has " + std::to_string(encoded->size()));
      encoded->resize(size_t(tokens));
      auto view = viewOf(*model);
      if (!view)
        return error(op, llvm::toString(view.takeError()));
      auto kv = keysAndValues(*view, *encoded, &pool);
      if (!kv)
        return error(op, llvm::toString(kv.takeError()));
      for (int64_t l = 0; l < m.layers; ++l)
        for (bool value : {false, true})
          model->adapterTensors[placement.prefixName(l, value)] =
              std::move((*kv)[size_t(2 * l + value)]);
    } else {
      for (int64_t l = 0; l < m.layers; ++l)
        for (bool value : {false, true}) {
          std::string t = placement.prefixName(l, value);
          model->adapterTensors[t] =
              normalTensor(rng.derive("init:" + t), tokens, kvDim);
        }
    }
  } else {
    std::string t = placement.promptName();
    if (init == "random") {
      model->adapterTensors[t] =
          normalTensor(rng.derive("init:" + t), tokens, m.dim);
    } else {
      const Tensor *table = model->find("embed.weight");
      if (!table)
        return error(op, "model '" + model->name + "' has no embeddings");
      std::vector<int32_t> ids;
      if (init == "vocab") {
        Rng draw = rng.derive("init:" + t);
        for (int64_t k = 0; k < tokens; ++k)
          ids.push_back(int32_t(draw.below(uint64_t(m.vocab))));
      } else { // text, repeated or cut to `tokens`, as PEFT does
        auto encoded = textTokens();
        if (!encoded)
          return error(op, llvm::toString(encoded.takeError()));
        for (int64_t k = 0; k < tokens; ++k)
          ids.push_back((*encoded)[size_t(k) % encoded->size()]);
      }
      Tensor prompt = Tensor::zeros(DType::F32, {tokens, m.dim});
      const float *e = table->dataAs<const float>();
      float *p = prompt.dataAs<float>();
      for (int64_t k = 0; k < tokens; ++k)
        std::copy(e + ids[k] * m.dim, e + (ids[k] + 1) * m.dim, p + k * m.dim);
      model->adapterTensors[t] = std::move(prompt);
    }
  }
  model->virtualAdapter = name;
  model->virtualKind = kind;
  auto state = std::make_shared<AdapterState>();
  state->name = name;
  state->kind = kind;
  state->model = model;
  values[adapter.getAdapter()] = state;
  return llvm::Error::success();
}
