// Round trip of the ops the DPO lowering uses: parse, print, parse again,
// print again; the second print still has every op and attribute.
// RUN: ftl-opt %s | ftl-opt | FileCheck %s

// CHECK-LABEL: func.func @preference
func.func @preference(%logits: tensor<8x16xf32>, %t: tensor<8xi32>, %w: tensor<8xf32>, %ref: tensor<4xf32>) -> tensor<2xf32> {
  // CHECK: %[[NLL:.*]], %{{.*}} = ftlt.token_nll %{{.*}}, %{{.*}} : tensor<8x16xf32>, tensor<8xi32> -> tensor<8xf32>, tensor<8xf32>
  %nll, %lse = ftlt.token_nll %logits, %t : tensor<8x16xf32>, tensor<8xi32> -> tensor<8xf32>, tensor<8xf32>
  %wn = ftlt.mul %nll, %w : tensor<8xf32>
  // CHECK: %[[S:.*]] = ftlt.seq_sum %{{.*}} {seq = 2 : i64} : tensor<8xf32> -> tensor<4xf32>
  %s = ftlt.seq_sum %wn {seq = 2 : i64} : tensor<8xf32> -> tensor<4xf32>
  %lp = ftlt.scale %s {factor = -1.0 : f64} : tensor<4xf32>
  %ratio = ftlt.sub %lp, %ref : tensor<4xf32>
  // CHECK: %[[H:.*]] = ftlt.pair_diff %{{.*}} : tensor<4xf32> -> tensor<2xf32>
  %h = ftlt.pair_diff %ratio : tensor<4xf32> -> tensor<2xf32>
  // CHECK: ftlt.preference_loss %[[H]] {beta = 1.000000e-01 : f64, kind = "sigmoid", label_smoothing = 2.500000e-01 : f64} : tensor<2xf32>
  %a = ftlt.preference_loss %h {kind = "sigmoid", beta = 0.1 : f64, label_smoothing = 0.25 : f64} : tensor<2xf32>
  // CHECK: ftlt.preference_loss %[[H]] {beta = 5.000000e-01 : f64, kind = "ipo", label_smoothing = 0.000000e+00 : f64} : tensor<2xf32>
  %b = ftlt.preference_loss %h {kind = "ipo", beta = 0.5 : f64, label_smoothing = 0.0 : f64} : tensor<2xf32>
  // CHECK: ftlt.preference_loss %[[H]] {beta = 2.000000e+00 : f64, kind = "hinge", label_smoothing = 0.000000e+00 : f64} : tensor<2xf32>
  %c = ftlt.preference_loss %h {kind = "hinge", beta = 2.0 : f64, label_smoothing = 0.0 : f64} : tensor<2xf32>
  %ab = ftlt.add %a, %b : tensor<2xf32>
  %abc = ftlt.add %ab, %c : tensor<2xf32>
  return %abc : tensor<2xf32>
}

// CHECK-LABEL: func.func @gradients
func.func @gradients(%dy: tensor<2xf32>, %h: tensor<2xf32>, %g: tensor<4xf32>) -> (tensor<2xf32>, tensor<4xf32>, tensor<8xf32>) {
  // CHECK: ftlt.preference_loss_grad %{{.*}}, %{{.*}} {beta = 1.000000e-01 : f64, kind = "sigmoid", label_smoothing = 0.000000e+00 : f64} : tensor<2xf32>
  %dh = ftlt.preference_loss_grad %dy, %h {kind = "sigmoid", beta = 0.1 : f64, label_smoothing = 0.0 : f64} : tensor<2xf32>
  // CHECK: ftlt.pair_spread %{{.*}} : tensor<2xf32> -> tensor<4xf32>
  %spread = ftlt.pair_spread %dh : tensor<2xf32> -> tensor<4xf32>
  // CHECK: ftlt.seq_expand %{{.*}} {seq = 2 : i64} : tensor<4xf32> -> tensor<8xf32>
  %e = ftlt.seq_expand %g {seq = 2 : i64} : tensor<4xf32> -> tensor<8xf32>
  return %dh, %spread, %e : tensor<2xf32>, tensor<4xf32>, tensor<8xf32>
}

// CHECK-LABEL: func.func @fused_head
func.func @fused_head(%hid: tensor<8x4xf32>, %head: tensor<16x4xf32>, %t: tensor<8xi32>) -> tensor<8xf32> {
  // CHECK: ftlt.linear_token_nll %{{.*}}, %{{.*}}, %{{.*}} {chunk = 4 : i64} : tensor<8x4xf32>, tensor<16x4xf32>, tensor<8xi32> -> tensor<8xf32>, tensor<8xf32>
  %nll, %lse = ftlt.linear_token_nll %hid, %head, %t {chunk = 4 : i64} : tensor<8x4xf32>, tensor<16x4xf32>, tensor<8xi32> -> tensor<8xf32>, tensor<8xf32>
  // CHECK: ftlt.unlikelihood %{{.*}} : tensor<8xf32>
  %u = ftlt.unlikelihood %nll : tensor<8xf32>
  return %u : tensor<8xf32>
}
