//===- PTXCodegen.cpp - CUDA code for fused groups ------------------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
//
// gpu.module @ftl_kernels [#nvvm.target<chip = "sm_90">] with one gpu.func
// kernel per distinct group (KernelEmitter), then: polynomial approximations
// for math ops (no libdevice needed), scf to cf, the block-wide all-reduces
// to shuffles and shared memory, math to LLVM intrinsics, and gpu/arith/cf/
// memref to the LLVM and NVVM dialects in one conversion. MLIR's
// convert-gpu-to-nvvm pass is not used: it turns the remaining math
// intrinsics (sqrt, floor, fabs) into libdevice calls, which NVPTX does not
// need. The NVVM target attribute then serializes the module to PTX.
//
//===----------------------------------------------------------------------===//

#include "ftl/Codegen/PTX.h"

#include "FusedPlan.h"
#include "KernelEmitter.h"
#include "Lowering.h"

#include "mlir/Conversion/ArithToLLVM/ArithToLLVM.h"
#include "mlir/Conversion/ControlFlowToLLVM/ControlFlowToLLVM.h"
#include "mlir/Conversion/GPUCommon/GPUCommonPass.h"
#include "mlir/Conversion/GPUToNVVM/GPUToNVVMPass.h"
#include "mlir/Conversion/LLVMCommon/ConversionTarget.h"
#include "mlir/Conversion/LLVMCommon/TypeConverter.h"
#include "mlir/Conversion/MathToLLVM/MathToLLVM.h"
#include "mlir/Conversion/MemRefToLLVM/MemRefToLLVM.h"
#include "mlir/Conversion/ReconcileUnrealizedCasts/ReconcileUnrealizedCasts.h"
#include "mlir/Conversion/SCFToControlFlow/SCFToControlFlow.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlow.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVM/NVVM/Target.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/GPU/GPUToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/NVVM/NVVMToLLVMIRTranslation.h"
#include "mlir/Transforms/DialectConversion.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

using namespace mlir;

namespace ftl::codegen {

unsigned gpuBlockSize(int64_t cols) {
  int64_t warps = (cols + 31) / 32;
  return unsigned(std::clamp<int64_t>(warps, 1, 8) * 32);
}

static constexpr llvm::StringLiteral kGpuModuleName = "ftl_kernels";

/// A module holding the gpu.module with every distinct kernel.
static llvm::Expected<OwningOpRef<ModuleOp>> buildGpuModule(ModuleOp module) {
  MLIRContext *ctx = module.getContext();
  ctx->loadDialect<arith::ArithDialect, cf::ControlFlowDialect, gpu::GPUDialect,
                   LLVM::LLVMDialect, math::MathDialect, memref::MemRefDialect,
                   NVVM::NVVMDialect, scf::SCFDialect>();
  auto groups = collectKernels(module);
  if (!groups)
    return groups.takeError();
  OwningOpRef<ModuleOp> outer = ModuleOp::create(module.getLoc());
  (*outer)->setAttr(gpu::GPUDialect::getContainerModuleAttrName(),
                    UnitAttr::get(ctx));
  OpBuilder builder(ctx);
  builder.setInsertionPointToEnd(outer->getBody());
  auto target = NVVM::NVVMTargetAttr::get(
      ctx, /*optLevel=*/3, "nvptx64-nvidia-cuda", "sm_90", "+ptx78");
  auto gpuModule = builder.create<gpu::GPUModuleOp>(
      module.getLoc(), kGpuModuleName, ArrayRef<Attribute>{target});
  builder.setInsertionPointToStart(gpuModule.getBody());
  for (const KernelGroup &group : *groups)
    emitGpuKernel(builder, group);
  DiagnosticCapture capture(ctx);
  if (failed(verify(*outer)))
    return capture.error("generated GPU kernels are invalid");
  return outer;
}

llvm::Expected<std::string> printGPUModule(ModuleOp module) {
  auto outer = buildGpuModule(module);
  if (!outer)
    return outer.takeError();
  std::string text;
  llvm::raw_string_ostream os(text);
  (*outer)->print(os);
  return text;
}

/// gpu, arith, cf and memref ops to the LLVM and NVVM dialects; math ops must
/// already be LLVM intrinsics.
static LogicalResult convertToNVVM(gpu::GPUModuleOp m) {
  MLIRContext *ctx = m.getContext();
  LowerToLLVMOptions options(
      ctx, DataLayout(cast<DataLayoutOpInterface>(m.getOperation())));
  LLVMTypeConverter converter(ctx, options);
  populateGpuMemorySpaceAttributeConversions(
      converter, [](gpu::AddressSpace space) -> unsigned {
        switch (space) {
        case gpu::AddressSpace::Global:
          return unsigned(NVVM::NVVMMemorySpace::kGlobalMemorySpace);
        case gpu::AddressSpace::Workgroup:
          return unsigned(NVVM::NVVMMemorySpace::kSharedMemorySpace);
        case gpu::AddressSpace::Private:
          return 0;
        }
        return 0;
      });
  RewritePatternSet patterns(ctx);
  arith::populateArithToLLVMConversionPatterns(converter, patterns);
  cf::populateControlFlowToLLVMConversionPatterns(converter, patterns);
  populateFinalizeMemRefToLLVMConversionPatterns(converter, patterns);
  populateGpuToNVVMConversionPatterns(converter, patterns);
  LLVMConversionTarget target(*ctx);
  target.addLegalDialect<NVVM::NVVMDialect>();
  target.addIllegalDialect<gpu::GPUDialect>();
  target.addLegalOp<gpu::GPUModuleOp, gpu::ModuleEndOp>();
  return applyPartialConversion(m, target, std::move(patterns));
}

llvm::Expected<std::string> generatePTX(ModuleOp module) {
  auto outer = buildGpuModule(module);
  if (!outer)
    return outer.takeError();
  MLIRContext *ctx = module.getContext();
  DiagnosticCapture capture(ctx);
  ModuleOp outerModule = **outer;
  auto gpuModule = *outerModule.getOps<gpu::GPUModuleOp>().begin();

  if (failed(approximateMath(gpuModule)))
    return capture.error("cannot approximate math functions");
  {
    PassManager pm(ctx);
    auto &nested = pm.nest<gpu::GPUModuleOp>();
    nested.addPass(createConvertSCFToCFPass());
    if (failed(pm.run(**outer)))
      return capture.error("cannot lower loops in the GPU kernels");
  }
  {
    RewritePatternSet patterns(ctx);
    populateGpuAllReducePatterns(patterns);
    if (failed(applyPatternsAndFoldGreedily(gpuModule, std::move(patterns))))
      return capture.error("cannot lower the block reductions");
  }
  {
    PassManager pm(ctx);
    pm.nest<gpu::GPUModuleOp>().addPass(createConvertMathToLLVMPass());
    if (failed(pm.run(**outer)))
      return capture.error("cannot lower math ops in the GPU kernels");
  }
  if (failed(convertToNVVM(gpuModule)))
    return capture.error("cannot lower the GPU kernels to NVVM");
  {
    PassManager pm(ctx);
    pm.addPass(createReconcileUnrealizedCastsPass());
    if (failed(pm.run(**outer)))
      return capture.error("cannot lower the GPU kernels to NVVM");
  }

  registerBuiltinDialectTranslation(*ctx);
  registerGPUDialectTranslation(*ctx);
  registerLLVMDialectTranslation(*ctx);
  registerNVVMDialectTranslation(*ctx);
  NVVM::registerNVVMTargetInterfaceExternalModels(*ctx);

  auto target = cast<gpu::TargetAttrInterface>(gpuModule.getTargetsAttr()[0]);
  gpu::TargetOptions options(/*toolkitPath=*/{}, /*linkFiles=*/{},
                             /*cmdOptions=*/{},
                             gpu::CompilationTarget::Assembly);
  std::optional<SmallVector<char, 0>> ptx =
      target.serializeToObject(gpuModule, options);
  if (!ptx)
    return capture.error("cannot translate the GPU kernels to PTX");
  std::string text(ptx->begin(), ptx->end());
  while (!text.empty() && text.back() == '\0')
    text.pop_back();
  return text;
}

} // namespace ftl::codegen
