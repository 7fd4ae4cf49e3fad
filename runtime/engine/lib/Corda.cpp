//===- Corda.cpp - CorDA initialisation of a LoRA adapter -----------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
//
// `lora(init: corda, corda_data: ctx, corda_samples: n, corda_mode: m)`: the
// first n examples of ctx run through the model as it is (no adapters), the
// inputs of every targeted linear layer are summed into X^T X, and each
// LoRA is then initialised from the decomposition of W C (cordaInit).
//
//===----------------------------------------------------------------------===//

#include "AdapterSetup.h"
#include "Interpreter.h"

#include "ftl/Data/Tokenize.h"
#include "ftl/Dialect/FTL/IR/FTLOps.h"
#include "ftl/Engine/Adapters.h"
#include "ftl/Generate/Generate.h"

using namespace ftl::rt;
namespace fd = mlir::ftl;

llvm::Expected<std::map<std::string, std::vector<double>>>(
    ::ftl::rt::cordaCovariances)(Interpreter &interp, mlir::Operation *op,
                                 ModelState &model,
                                 llvm::ArrayRef<std::string> targets) {
  auto adapter = llvm::cast<fd::AdapterOp>(op);
  mlir::Value dataValue;
  for (auto [name, input] :
       llvm::zip(adapter.getOperandNames(), adapter.getInputs()))
    if (llvm::cast<mlir::StringAttr>(name).getValue() == "corda_data")
      dataValue = input;
  if (!dataValue)
    return llvm::createStringError(
        "lora(init: corda) needs 'corda_data': the context data whose "
        "activations orient the adapter");
  int64_t samples = 256;
  if (auto n = adapter.getConfig().getAs<mlir::IntegerAttr>("corda_samples"))
    samples = n.getInt();
  if (samples <= 0)
    return llvm::createStringError("'corda_samples' must be positive");
  auto data = interp.data(dataValue);
  if (!data)
    return data.takeError();
  auto tok = interp.tokenizerFor(op, &model);
  if (!tok)
    return tok.takeError();

  // Prompt and response together where the records have them, else text.
  TokenizeOptions options;
  options.loss = TokenizeOptions::Loss::All;
  options.keepNoLoss = true;
  {
    auto records = (*data)->data->open(interp.dataContext(*tok));
    if (!records)
      return records.takeError();
    Record first;
    auto got = (*records)->next(first);
    if (!got)
      return got.takeError();
    if (*got && first.get("prompt") && first.get("response"))
      options.mode = TokenizeOptions::Mode::PromptResponse;
  }
  options.maxLength = model.config.ctx;
  auto stream =
      tokenizeDataset((*data)->data, **tok, options, interp.dataContext(*tok));
  if (!stream)
    return stream.takeError();
  std::vector<std::vector<int32_t>> sequences;
  TokenizedExample ex;
  while (int64_t(sequences.size()) < samples) {
    auto got = (*stream)->next(ex);
    if (!got)
      return got.takeError();
    if (!*got)
      break;
    sequences.push_back(ex.ids);
  }
  if (sequences.empty())
    return llvm::createStringError("'corda_data' has no examples");

  ModelView view;
  view.config = &model.config;
  view.weights = &model.weights;
  return linearInputCovariance(view, sequences, targets, &interp.getPool());
}
