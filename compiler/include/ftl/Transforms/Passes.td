//===- Passes.td - ftl passes ------------------------------*- tablegen -*-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#ifndef FTL_TRANSFORMS_PASSES_TD
#define FTL_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def LowerTrain : Pass<"ftl-lower-train", "::mlir::ModuleOp"> {
  let summary = "Turn each ftl.train into a step function in ftlt";
  let description = [{
    For every `ftl.train`, builds `func.func @train<k>_loss`: the forward of
    the model with its adapters on one micro-batch per objective term, each
    term's weighted token loss scaled by the term's normaliser, summed. The
    arguments are the model's parameters (with `ftl.param` and, when they
    train, `ftl.trainable`) and the batch tensors (`ftl.batch`). The train op
    gets `step = @train<k>_loss`.
  }];
  let dependentDialects = ["::mlir::ftlt::FTLTDialect",
                           "::mlir::func::FuncDialect",
                           "::mlir::arith::ArithDialect"];
}

def Autodiff : Pass<"ftlt-autodiff", "::mlir::ModuleOp"> {
  let summary = "Reverse-mode differentiation of step functions";
  let description = [{
    For every `func.func` with the `ftl.loss` attribute, appends the backward
    pass: the function then also returns the gradient of the loss with
    respect to each argument marked `ftl.trainable`, in argument order.
    Gradients are built only where a trainable parameter needs them.
    `recompute = "all"` on the function recomputes each layer's forward from
    its input during the backward instead of keeping its activations.
  }];
  let dependentDialects = ["::mlir::ftlt::FTLTDialect"];
}

def FuseLMHead : Pass<"ftlt-fuse-lm-head", "::mlir::func::FuncOp"> {
  let summary = "Fuse the LM head with cross-entropy over vocabulary chunks";
  let description = [{
    `cross_entropy(linear(h, W), t, w)` becomes `linear_cross_entropy(h, W,
    t, w)` and `token_nll(linear(h, W), t)` becomes `linear_token_nll(h, W,
    t)`, so no [tokens x vocab] logits tensor exists in the forward or the
    backward, for SFT and for sequence-level (preference) losses alike.
  }];
  let options = [
    Option<"chunk", "chunk", "int64_t", /*default=*/"4096",
           "vocabulary entries per chunk">,
  ];
}

def FuseGradAccumulation : Pass<"ftlt-fuse-grad-accumulation",
                                "::mlir::func::FuncOp"> {
  let summary = "Accumulate weight gradients inside their GEMMs";
  let description = [{
    `add(acc, linear_grad_weight(dy, x))` becomes
    `linear_grad_weight(dy, x) accumulate acc` (beta = 1 in the GEMM).
  }];
}

def FuseElementwise : Pass<"ftlt-fuse-elementwise", "::mlir::func::FuncOp"> {
  let summary = "Group chains of fusible ops into ftlt.fused kernels";
  let description = [{
    Ops with a scalar body (elementwise ops, norms, their gradients,
    optimizer updates) over the same [rows, cols] space are merged,
    producer into consumer, into `ftlt.fused` groups whose bodies are the
    concatenated scalar code. A value used outside its group becomes a
    result of the group; a value used only inside stays in registers.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::math::MathDialect"];
}

#endif // FTL_TRANSFORMS_PASSES_TD
