//===- BlockAdapters.cpp - Parallel and bottleneck adapters ---------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
//
// `parallel(rank, scale)` and `bottleneck(dim, placement, act)` place a small
// down-projection, activation and up-projection beside or after a
// sub-layer (ftl::BlockAdapterPlacement); the step function computes them
// (LowerTrain). Here their tensors are made: down as PyTorch initialises a
// Linear, uniform(+-1/sqrt(dim)); up and both biases 0, so at step 0 the
// adapter adds exactly nothing and the model is the base model.
//
//===----------------------------------------------------------------------===//

#include "Interpreter.h"

#include "ftl/Conversion/TrainPlan.h"
#include "ftl/Dialect/FTL/IR/FTLOps.h"

#include <cmath>

using namespace ftl::rt;
namespace fd = mlir::ftl;

llvm::Error
Interpreter::execBlockAdapter(mlir::Operation *op,
                              const std::shared_ptr<ModelState> &model) {
  auto adapter = llvm::cast<fd::AdapterOp>(op);
  auto shape = ::ftl::modelShapeOf(adapter.getModel());
  if (mlir::failed(shape))
    return error(op,
                 "cannot determine the shape of model '" + model->name + "'");
  auto placed = ::ftl::planBlockAdapters(adapter, shape->info);
  if (mlir::failed(placed))
    return error(op, "cannot place adapter '" + adapter.getName().str() + "'");
  for (const ::ftl::BlockAdapterPlacement &p : *placed) {
    std::string prefix = p.prefix();
    Tensor down = Tensor::zeros(DType::F32, {p.hidden, p.dim});
    Rng draw = rng.derive("init:" + prefix + ".down.weight");
    double bound = 1.0 / std::sqrt(double(p.dim));
    float *d = down.dataAs<float>();
    for (int64_t i = 0; i < p.hidden * p.dim; ++i)
      d[i] = float((2 * draw.uniformDouble() - 1) * bound);
    model->adapterTensors[prefix + ".down.weight"] = std::move(down);
    model->adapterTensors[prefix + ".down.bias"] =
        Tensor::zeros(DType::F32, {p.hidden});
    model->adapterTensors[prefix + ".up.weight"] =
        Tensor::zeros(DType::F32, {p.dim, p.hidden});
    model->adapterTensors[prefix + ".up.bias"] =
        Tensor::zeros(DType::F32, {p.dim});
    model->blockAdapters.push_back(
        {prefix, p.layer, p.block == "mlp", p.serial, p.scale, p.act});
  }
  auto state = std::make_shared<AdapterState>();
  state->name = adapter.getName().str();
  state->kind = adapter.getKind().str();
  state->model = model;
  values[adapter.getAdapter()] = state;
  return llvm::Error::success();
}
