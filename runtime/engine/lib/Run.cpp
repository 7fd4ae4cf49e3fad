//===- Run.cpp - Running a compiled pipeline ------------------------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "ftl/Engine/Run.h"

#include "Interpreter.h"

#include "ftl/Dialect/FTL/IR/FTLOps.h"
#include "ftl/Kernels/ThreadPool.h"
#include "ftl/Models/ModelConfig.h"
#include "ftl/Pipeline/Pipeline.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"

#include "llvm/Support/Path.h"

using namespace ftl::rt;
using llvm::cast;
using llvm::dyn_cast;
using llvm::isa;
using llvm::StringRef;
using mlir::Attribute;
using mlir::Block;
using mlir::BoolAttr;
using mlir::DictionaryAttr;
using mlir::FileLineColLoc;
using mlir::FloatAttr;
using mlir::IntegerAttr;
using mlir::Location;
using mlir::ModuleOp;
using mlir::NamedAttribute;
using mlir::OpBuilder;
using mlir::Operation;
using mlir::Region;
using mlir::StringAttr;
using mlir::SymbolRefAttr;
using mlir::SymbolTable;
using mlir::WalkResult;

namespace fd = mlir::ftl;

void(::ftl::rt::registerRuntimeCapabilities)() {
  static const char *constructs[] = {
      "model 'llama'",
      "model 'gpt2'",
      "model loading",
      "frozen reference",
      "snapshot",
      "merge",
      "tokenizer 'bytes'",
      "tokenizer 'hf'",
      "data source 'jsonl'",
      "data source 'text'",
      "data operator 'filter'",
      "data operator 'map'",
      "data operator 'template'",
      "data operator 'tag'",
      "data operator 'dedup'",
      "data operator 'shuffle'",
      "data operator 'split'",
      "data operator 'take'",
      "data operator 'skip'",
      "data operator 'sample'",
      "data operator 'chunk'",
      "data operator 'best_worst'",
      "data operator 'gold_pairs'",
      "data operator 'with_feedback'",
      "mixture",
      "dedup key 'exact'",
      "dedup key 'minhash'",
      "loss 'sft'",
      "loss 'lm'",
      "loss 'unlikelihood'",
      "loss 'dpo'",
      "loss 'kl'",
      "loss 'l2'",
      "loss 'l1'",
      "input mask 'random'",
      "token weighting 'key_tokens'",
      "token weighting 'diff_weights'",
      "task balancing 'static'",
      "task balancing 'loss_scale'",
      "task balancing 'token_scale'",
      "task balancing 'data_scale'",
      "task balancing 'coba'",
      "optimizer 'adamw'",
      "optimizer 'sgd'",
      "schedule 'constant'",
      "schedule 'linear'",
      "schedule 'cosine'",
      "adapter 'lora'",
      "adapter 'load'",
      "adapter 'half'",
      "adapter 'sparse'",
      "adapter 'parallel'",
      "adapter 'structured'",
      "adapter 'bottleneck'",
      "adapter 'prompt'",
      "adapter 'prefix'",
      "mask 'random'",
      "mask 'magnitude'",
      "mask 'principal'",
      "mask 'lottery'",
      "freeze",
      "reinit",
      "train",
      "loop",
      "generate",
      "judge",
      "judge 'exec'",
      "judge 'exact'",
      "judge 'numeric'",
      "judge 'regex'",
      "judge 'host'",
      "judge 'likelihood'",
      "metric 'exact_match'",
      "metric 'pass_rate'",
      "metric 'eval_loss'",
      "metric 'margin'",
      "log",
      "save",
      "saving adapter 'lora'",
      "saving adapter 'load'",
      "saving adapter 'prompt'",
      "saving adapter 'prefix'",
      "saving adapter 'sparse'",
      "saving adapter 'structured'",
      "saving adapter 'half'",
  };
  for (const char *c : constructs)
    mlir::ftl::registerImplementedConstruct(c);
}

llvm::Error(::ftl::rt::resolveModelConfigs)(ModuleOp module,
                                            llvm::StringRef sourceDir) {
  llvm::Error error = llvm::Error::success();
  module.walk([&](fd::ModelLoadOp load) {
    if (error)
      return;
    llvm::SmallString<256> path(sourceDir);
    if (llvm::sys::path::is_absolute(load.getPath()))
      path = load.getPath();
    else
      llvm::sys::path::append(path, load.getPath());
    llvm::sys::path::append(path, "config.json");
    auto config = loadHFConfig(path);
    if (!config) {
      error = config.takeError();
      return;
    }
    OpBuilder b(load);
    auto set = [&](llvm::StringRef key, Attribute value) {
      load->setAttr(key, value);
    };
    set("arch", b.getStringAttr(config->isGPT2() ? "gpt2" : "llama"));
    set("vocab", b.getI64IntegerAttr(config->vocab));
    set("dim", b.getI64IntegerAttr(config->dim));
    set("layers", b.getI64IntegerAttr(config->layers));
    set("heads", b.getI64IntegerAttr(config->heads));
    set("kv_heads", b.getI64IntegerAttr(config->kvHeads));
    set("ffn", b.getI64IntegerAttr(config->ffn));
    set("ctx", b.getI64IntegerAttr(config->ctx));
    set("rope_theta", b.getF64FloatAttr(config->ropeTheta));
    set("norm_eps", b.getF64FloatAttr(config->normEps));
    set("tied", b.getBoolAttr(config->tiedEmbeddings));
    set("qkv_bias", b.getBoolAttr(config->qkvBias));
  });
  return error;
}

llvm::Error(::ftl::rt::runModule)(ModuleOp module, const RunOptions &options) {
  if (llvm::Error e = resolveModelConfigs(module, options.sourceDir))
    return e;
  if (failed(::ftl::lowerTo(module, ::ftl::Level::Fused)))
    return llvm::createStringError("compilation failed");
  int threads = options.threads;
  if (threads <= 0)
    threads = ::ftl::kernels::defaultPool()->numThreads();
  ::ftl::kernels::ThreadPool pool(threads);
  Interpreter interp(module, options, pool);
  return interp.run();
}
