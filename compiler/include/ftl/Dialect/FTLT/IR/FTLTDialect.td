//===- FTLTDialect.td - The ftlt step-function dialect -----*- tablegen -*-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#ifndef FTL_DIALECT_FTLT_IR_FTLTDIALECT_TD
#define FTL_DIALECT_FTLT_IR_FTLTDIALECT_TD

include "mlir/IR/OpBase.td"

def FTLT_Dialect : Dialect {
  let name = "ftlt";
  let cppNamespace = "::mlir::ftlt";
  // Gradient rules create splat constants.
  let dependentDialects = ["::mlir::arith::ArithDialect"];
  let summary = "Tensor-level step functions: forward, backward, optimizer";
  let description = [{
    A `train` becomes step functions over static-shape f32 tensors: the
    model's forward with its adapters and the objective (`@..._loss`), the
    backward built by the autodiff pass, and the optimizer update. Rows are
    tokens: activations are `[N, C]` with N = batch * sequence length.

    Forward ops implement `DifferentiableOpInterface`; ops with a scalar
    body implement `FusibleOpInterface`, which the fusion pass uses to merge
    chains of them into `ftlt.fused` kernel groups. Everything else
    (GEMMs, attention, the fused LM head with cross-entropy) runs as a tuned
    kernel.
  }];
}

class FTLT_Op<string mnemonic, list<Trait> traits = []>
    : Op<FTLT_Dialect, mnemonic, traits>;

#endif // FTL_DIALECT_FTLT_IR_FTLTDIALECT_TD
