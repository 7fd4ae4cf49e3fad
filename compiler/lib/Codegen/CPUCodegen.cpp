//===- CPUCodegen.cpp - JIT compilation of fused groups -------------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
//
// Builds one func.func per distinct group (KernelEmitter), replaces math ops
// by MLIR's polynomial approximations, lowers scf/arith/math/cf/func to the
// LLVM dialect and JIT-compiles the module with the ExecutionEngine: O3 for
// the host CPU, preferring 512-bit vectors where the target has them.
//
//===----------------------------------------------------------------------===//

#include "ftl/Codegen/FusedKernels.h"

#include "FusedPlan.h"
#include "KernelEmitter.h"
#include "Lowering.h"

#include "mlir/Conversion/ArithToLLVM/ArithToLLVM.h"
#include "mlir/Conversion/ControlFlowToLLVM/ControlFlowToLLVM.h"
#include "mlir/Conversion/FuncToLLVM/ConvertFuncToLLVMPass.h"
#include "mlir/Conversion/MathToLLVM/MathToLLVM.h"
#include "mlir/Conversion/ReconcileUnrealizedCasts/ReconcileUnrealizedCasts.h"
#include "mlir/Conversion/SCFToControlFlow/SCFToControlFlow.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlow.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"

#include "llvm/Analysis/LoopInfo.h"
#include "llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h"
#include "llvm/IR/Dominators.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Target/TargetMachine.h"

#include <chrono>

using namespace mlir;

namespace ftl::codegen {

FusedKernels::FusedKernels() = default;
FusedKernels::~FusedKernels() = default;

RowFn FusedKernels::lookup(llvm::StringRef kernelName) const {
  auto it = functions.find(kernelName);
  return it == functions.end() ? nullptr : it->second;
}

RowFn FusedKernels::lookup(ftlt::FusedOp op) const {
  auto name = op->getAttrOfType<StringAttr>(kKernelAttrName);
  return name ? lookup(name.getValue()) : nullptr;
}

/// The kernels of `module` as a module of func.func ops.
static llvm::Expected<OwningOpRef<ModuleOp>>
buildCpuModule(ModuleOp module, std::vector<KernelGroup> &groups) {
  MLIRContext *ctx = module.getContext();
  ctx->loadDialect<arith::ArithDialect, cf::ControlFlowDialect,
                   func::FuncDialect, LLVM::LLVMDialect, math::MathDialect,
                   scf::SCFDialect>();
  auto collected = collectKernels(module);
  if (!collected)
    return collected.takeError();
  groups = std::move(*collected);
  OwningOpRef<ModuleOp> kernels = ModuleOp::create(module.getLoc());
  OpBuilder builder(ctx);
  builder.setInsertionPointToEnd(kernels->getBody());
  for (const KernelGroup &group : groups)
    emitCpuKernel(builder, group);
  DiagnosticCapture capture(ctx);
  if (failed(verify(*kernels)))
    return capture.error("generated kernels are invalid");
  return kernels;
}

llvm::Expected<std::string> printKernelMLIR(ModuleOp module) {
  std::vector<KernelGroup> groups;
  auto kernels = buildCpuModule(module, groups);
  if (!kernels)
    return kernels.takeError();
  std::string text;
  llvm::raw_string_ostream os(text);
  (*kernels)->print(os);
  return text;
}

/// Lowers the kernel module to the LLVM dialect.
static llvm::Error lowerToLLVMDialect(ModuleOp kernels,
                                      const CodegenOptions &options) {
  MLIRContext *ctx = kernels.getContext();
  DiagnosticCapture capture(ctx);
  if (options.approximateMath && failed(approximateMath(kernels)))
    return capture.error("cannot approximate math functions");
  PassManager pm(ctx);
  pm.addPass(createConvertSCFToCFPass());
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertControlFlowToLLVMPass());
  pm.addPass(createConvertFuncToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
  if (failed(pm.run(kernels)))
    return capture.error("cannot lower the kernels to the LLVM dialect");
  return llvm::Error::success();
}

/// Marks each innermost loop whose memory accesses carry an access group
/// (the column loops) as parallel over that group, and keeps the loop
/// unroller away from it so the vectoriser sees the loop even for short rows.
static void annotateColumnLoops(llvm::Function &fn) {
  llvm::LLVMContext &ctx = fn.getContext();
  llvm::DominatorTree dominators(fn);
  llvm::LoopInfo loops(dominators);
  for (llvm::Loop *loop : loops.getLoopsInPreorder()) {
    if (!loop->isInnermost())
      continue;
    llvm::MDNode *group = nullptr;
    for (llvm::BasicBlock *block : loop->blocks())
      for (llvm::Instruction &inst : *block)
        if (llvm::MDNode *g =
                inst.getMetadata(llvm::LLVMContext::MD_access_group))
          group = g;
    if (!group)
      continue;
    llvm::Metadata *parallel[] = {
        llvm::MDString::get(ctx, "llvm.loop.parallel_accesses"), group};
    llvm::Metadata *noUnroll[] = {
        llvm::MDString::get(ctx, "llvm.loop.unroll.disable")};
    llvm::Metadata *ops[] = {nullptr, llvm::MDNode::get(ctx, parallel),
                             llvm::MDNode::get(ctx, noUnroll)};
    llvm::MDNode *id = llvm::MDNode::getDistinct(ctx, ops);
    id->replaceOperandWith(0, id);
    loop->setLoopID(id);
  }
}

static void initializeNativeTarget() {
  static bool done = [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
    return true;
  }();
  (void)done;
}

llvm::Expected<std::unique_ptr<FusedKernels>>
compileFusedKernels(ModuleOp module, const CodegenOptions &options) {
  auto start = std::chrono::steady_clock::now();
  std::unique_ptr<FusedKernels> result(new FusedKernels());
  std::vector<KernelGroup> groups;
  auto kernels = buildCpuModule(module, groups);
  if (!kernels)
    return kernels.takeError();
  for (const KernelGroup &group : groups)
    result->groups += group.ops.size();
  if (llvm::Error error = lowerToLLVMDialect(**kernels, options))
    return std::move(error);

  MLIRContext *ctx = module.getContext();
  registerBuiltinDialectTranslation(*ctx);
  registerLLVMDialectTranslation(*ctx);
  initializeNativeTarget();

  auto builder = llvm::orc::JITTargetMachineBuilder::detectHost();
  if (!builder)
    return builder.takeError();
  llvm::CodeGenOptLevel codegenLevel = options.optLevel >= 3
                                           ? llvm::CodeGenOptLevel::Aggressive
                                           : llvm::CodeGenOptLevel::Default;
  builder->setCodeGenOptLevel(codegenLevel);
  auto optimizerMachine = builder->createTargetMachine();
  if (!optimizerMachine)
    return optimizerMachine.takeError();
  auto codegenMachine = builder->createTargetMachine();
  if (!codegenMachine)
    return codegenMachine.takeError();

  auto optimize = makeOptimizingTransformer(options.optLevel, /*sizeLevel=*/0,
                                            optimizerMachine->get());
  auto transformer = [&](llvm::Module *m) -> llvm::Error {
    for (llvm::Function &fn : *m) {
      if (fn.isDeclaration())
        continue;
      if (options.preferVectorWidth)
        fn.addFnAttr("prefer-vector-width",
                     std::to_string(options.preferVectorWidth));
      fn.addFnAttr("target-cpu", (*optimizerMachine)->getTargetCPU());
      fn.addFnAttr("target-features",
                   (*optimizerMachine)->getTargetFeatureString());
      annotateColumnLoops(fn);
    }
    if (llvm::Error error = optimize(m))
      return error;
    if (options.keepLLVMIR) {
      llvm::raw_string_ostream os(result->ir);
      m->print(os, nullptr);
    }
    return llvm::Error::success();
  };
  ExecutionEngineOptions engineOptions;
  engineOptions.transformer = transformer;
  engineOptions.jitCodeGenOptLevel = codegenLevel;
  engineOptions.enableGDBNotificationListener = false;
  engineOptions.enablePerfNotificationListener = false;
  auto engine = ExecutionEngine::create(**kernels, engineOptions,
                                        std::move(*codegenMachine));
  if (!engine)
    return engine.takeError();
  result->engine = std::move(*engine);
  for (const KernelGroup &group : groups) {
    auto fn = result->engine->lookup(group.name);
    if (!fn)
      return fn.takeError();
    result->functions[group.name] = reinterpret_cast<RowFn>(*fn);
  }
  result->seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  return std::move(result);
}

} // namespace ftl::codegen
