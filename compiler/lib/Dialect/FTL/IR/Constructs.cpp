//===- Constructs.cpp - Which constructs the runtime executes -------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
//
// `ftl run` refuses, before any work starts, a pipeline that uses a construct
// the runtime cannot execute yet, naming it at its source location. The
// names here are what the user sees in "not implemented yet: <construct>".
//
//===----------------------------------------------------------------------===//

#include "ftl/Dialect/FTL/IR/FTLOps.h"

#include "llvm/ADT/StringSet.h"
#include "llvm/ADT/TypeSwitch.h"

#include <mutex>

using namespace mlir;
using namespace mlir::ftl;

static llvm::StringSet<> &implementedConstructs() {
  static llvm::StringSet<> *set = new llvm::StringSet<>();
  return *set;
}

static std::mutex &registryMutex() {
  static std::mutex *m = new std::mutex();
  return *m;
}

void mlir::ftl::registerImplementedConstruct(llvm::StringRef construct) {
  std::lock_guard<std::mutex> lock(registryMutex());
  implementedConstructs().insert(construct);
}

std::string mlir::ftl::describeConstruct(Operation *op) {
  auto quoted = [](StringRef kind, StringRef name) {
    return (kind + " '" + name + "'").str();
  };
  return llvm::TypeSwitch<Operation *, std::string>(op)
      .Case([&](ModelBuildOp o) { return quoted("model", o.getArch()); })
      .Case([&](ModelLoadOp) { return std::string("model loading"); })
      .Case([&](ModelSnapshotOp o) {
        return std::string(o.getFrozen() ? "frozen reference" : "snapshot");
      })
      .Case([&](ModelMergeOp) { return std::string("merge"); })
      .Case([&](TokenizerOp o) { return quoted("tokenizer", o.getKind()); })
      .Case([&](DataSourceOp o) { return quoted("data source", o.getKind()); })
      .Case([&](DataOp o) { return quoted("data operator", o.getName()); })
      .Case([&](DataMixtureOp) { return std::string("mixture"); })
      .Case([&](RecordScoreOp o) {
        return quoted("model-scored selection", o.getKind());
      })
      .Case([&](MakeOp o) {
        const char *kind = "";
        Type t = o.getResult().getType();
        if (isa<OptimizerType>(t))
          kind = "optimizer";
        else if (isa<ScheduleType>(t))
          kind = "schedule";
        else if (isa<JudgeType>(t))
          kind = "judge";
        else if (isa<MaskType>(t))
          // The same builtins pick sparse-adapter entries and corrupt a
          // loss's inputs (masked thought): two different constructs.
          kind = llvm::any_of(o->getUsers(),
                              [](Operation *u) { return isa<LossOp>(u); })
                     ? "input mask"
                     : "mask";
        else if (isa<TokenWeightsType>(t))
          kind = "token weighting";
        else if (isa<DedupKeyType>(t))
          kind = "dedup key";
        else if (isa<PercentileType>(t))
          kind = "percentile";
        else
          kind = "selection";
        return quoted(kind, o.getName());
      })
      .Case([&](LossOp o) { return quoted("loss", o.getName()); })
      .Case([&](MetricOp o) { return quoted("metric", o.getName()); })
      .Case([&](ObjectiveSumOp o) {
        if (auto balance = o.getBalance())
          return quoted("task balancing", *balance);
        return std::string();
      })
      .Case([&](AdapterOp o) { return quoted("adapter", o.getKind()); })
      .Case([&](FreezeOp) { return std::string("freeze"); })
      .Case([&](ReinitOp) { return std::string("reinit"); })
      .Case([&](TrainOp o) {
        // Clauses that change how a train runs are constructs of their own.
        if (auto d = o->getAttrOfType<StringAttr>("device");
            d && d.getValue() != "cpu")
          return quoted("training on device", d.getValue());
        if (auto p = o->getAttrOfType<StringAttr>("precision");
            p && p.getValue() != "fp32")
          return quoted("training in precision", p.getValue());
        if (o->hasAttr("log_every"))
          return std::string("train clause 'log_every'");
        return std::string("train");
      })
      .Case([&](GenerateOp) { return std::string("generate"); })
      .Case([&](JudgeOp) { return std::string("judge"); })
      .Case([&](LoopOp) { return std::string("loop"); })
      .Case([&](LogOp) { return std::string("log"); })
      .Case([&](SaveOp o) {
        // Saving an adapter writes its own format, which not every kind has.
        if (auto a = o.getValue().getDefiningOp<AdapterOp>())
          return quoted("saving adapter", a.getKind());
        return std::string("save");
      })
      .Default([](Operation *) { return std::string(); });
}

bool mlir::ftl::isConstructImplemented(Operation *op) {
  std::string construct = describeConstruct(op);
  if (construct.empty())
    return true;
  std::lock_guard<std::mutex> lock(registryMutex());
  return implementedConstructs().contains(construct);
}
