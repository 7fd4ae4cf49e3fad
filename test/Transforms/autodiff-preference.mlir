// ftlt-autodiff on the DPO loss as ftl-lower-train builds it: each op's
// DifferentiableOpInterface rule (compiler/lib/Dialect/FTLT/IR/Gradients.cpp)
// adds its backward op. preference_loss -> preference_loss_grad with the same
// kind/beta/label_smoothing, pair_diff -> pair_spread, seq_sum -> seq_expand,
// token_nll -> cross_entropy_grad with the per-token gradient as weights.
// RUN: ftl-opt %s --ftlt-autodiff | FileCheck %s

// CHECK-LABEL: func.func @dpo
// CHECK-SAME: (%[[LOGITS:[^:]*]]: tensor<8x16xf32> {ftl.param = "logits", ftl.trainable}, %[[T:[^:]*]]: tensor<8xi32>, %[[W:[^:]*]]: tensor<8xf32>, %[[REF:[^:]*]]: tensor<4xf32>)
// CHECK-SAME: -> (tensor<f32>, tensor<8x16xf32>) attributes {ftl.grad, ftl.grad_params = ["logits"]}
// CHECK: %{{.*}}, %[[LSE:.*]] = ftlt.token_nll %[[LOGITS]], %[[T]]
// CHECK: %[[H:.*]] = ftlt.pair_diff
// CHECK: %[[L:.*]] = ftlt.preference_loss %[[H]] {beta = 5.000000e-01 : f64, kind = "ipo", label_smoothing = 0.000000e+00 : f64}
// CHECK: %[[LOSS:.*]] = ftlt.sum %[[L]]
// The backward, in reverse order of the forward.
// CHECK: %[[ONES:.*]] = ftlt.broadcast %{{.*}} : tensor<f32> -> tensor<2xf32>
// CHECK-NEXT: %[[DH:.*]] = ftlt.preference_loss_grad %[[ONES]], %[[H]] {beta = 5.000000e-01 : f64, kind = "ipo", label_smoothing = 0.000000e+00 : f64} : tensor<2xf32>
// CHECK-NEXT: %[[DR:.*]] = ftlt.pair_spread %[[DH]] : tensor<2xf32> -> tensor<4xf32>
// CHECK-NEXT: %[[DS:.*]] = ftlt.scale %[[DR]] {factor = -1.000000e+00 : f64}
// CHECK-NEXT: %[[DWN:.*]] = ftlt.seq_expand %[[DS]] {seq = 2 : i64} : tensor<4xf32> -> tensor<8xf32>
// CHECK-NEXT: %[[DNLL:.*]] = ftlt.mul %[[DWN]], %[[W]]
// CHECK: %[[DLOGITS:.*]] = ftlt.cross_entropy_grad %{{.*}}, %[[LOGITS]], %[[T]], %[[DNLL]], %[[LSE]]
// CHECK-NEXT: return %[[LOSS]], %[[DLOGITS]] : tensor<f32>, tensor<8x16xf32>
func.func @dpo(%logits: tensor<8x16xf32> {ftl.trainable, ftl.param = "logits"}, %t: tensor<8xi32>, %w: tensor<8xf32>, %ref: tensor<4xf32>) -> tensor<f32> attributes {ftl.loss} {
  %nll, %lse = ftlt.token_nll %logits, %t : tensor<8x16xf32>, tensor<8xi32> -> tensor<8xf32>, tensor<8xf32>
  %wn = ftlt.mul %nll, %w : tensor<8xf32>
  %s = ftlt.seq_sum %wn {seq = 2 : i64} : tensor<8xf32> -> tensor<4xf32>
  %lp = ftlt.scale %s {factor = -1.0 : f64} : tensor<4xf32>
  %ratio = ftlt.sub %lp, %ref : tensor<4xf32>
  %h = ftlt.pair_diff %ratio : tensor<4xf32> -> tensor<2xf32>
  %l = ftlt.preference_loss %h {kind = "ipo", beta = 0.5 : f64, label_smoothing = 0.0 : f64} : tensor<2xf32>
  %sum = ftlt.sum %l : tensor<2xf32> -> tensor<f32>
  return %sum : tensor<f32>
}
