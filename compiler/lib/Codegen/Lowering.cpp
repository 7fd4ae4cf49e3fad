//===- Lowering.cpp - Helpers shared by the code generators ---------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "Lowering.h"

#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include "llvm/Support/raw_ostream.h"

using namespace mlir;

namespace ftl::codegen {

DiagnosticCapture::DiagnosticCapture(MLIRContext *ctx)
    : handler(ctx, [this](Diagnostic &diag) {
        llvm::raw_string_ostream os(messages);
        os << "\n  " << diag.getLocation() << ": " << diag.str();
        for (const Diagnostic &note : diag.getNotes())
          os << "\n    note: " << note.str();
        return success();
      }) {}

llvm::Error DiagnosticCapture::error(const llvm::Twine &what) const {
  return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                 what + messages);
}

LogicalResult approximateMath(Operation *op) {
  RewritePatternSet patterns(op->getContext());
  populateMathPolynomialApproximationPatterns(patterns);
  return applyPatternsAndFoldGreedily(op, std::move(patterns));
}

} // namespace ftl::codegen
