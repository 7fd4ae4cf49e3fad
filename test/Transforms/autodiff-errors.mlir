// ftlt-autodiff refuses an op on the path from a trainable argument to the
// loss that has no gradient rule (no DifferentiableOpInterface), naming it.
// preference_loss_grad is FTLT_Fusible only: nothing differentiates a
// gradient op.
// RUN: ftl-opt %s --ftlt-autodiff --split-input-file --verify-diagnostics

func.func @f(%h: tensor<4xf32> {ftl.trainable, ftl.param = "h"}, %dy: tensor<4xf32>) -> tensor<f32> attributes {ftl.loss} {
  // expected-error @+1 {{cannot differentiate 'ftlt.preference_loss_grad': it has no gradient rule}}
  %g = ftlt.preference_loss_grad %dy, %h {kind = "sigmoid", beta = 0.1 : f64, label_smoothing = 0.0 : f64} : tensor<4xf32>
  %s = ftlt.sum %g : tensor<4xf32> -> tensor<f32>
  return %s : tensor<f32>
}

// -----

// Only ops between a trainable argument and the loss need a rule: the same op
// on data that does not train is fine.
func.func @g(%h: tensor<4xf32> {ftl.trainable, ftl.param = "h"}, %dy: tensor<4xf32>, %x: tensor<4xf32>) -> tensor<f32> attributes {ftl.loss} {
  %g = ftlt.preference_loss_grad %dy, %x {kind = "sigmoid", beta = 0.1 : f64, label_smoothing = 0.0 : f64} : tensor<4xf32>
  %p = ftlt.mul %g, %h : tensor<4xf32>
  %s = ftlt.sum %p : tensor<4xf32> -> tensor<f32>
  return %s : tensor<f32>
}
