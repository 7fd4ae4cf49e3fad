// ftlt-fuse-lm-head: token_nll(linear(h, W), t) becomes linear_token_nll(h, W,
// t), so the [tokens x vocab] logits never exist; both results (the NLL and
// the log-sum-exp the backward reads) keep their users. The head is fused only
// when it has no bias and the loss is the logits' only user.
// RUN: ftl-opt %s --ftlt-fuse-lm-head | FileCheck %s --check-prefixes=CHECK,DEFAULT
// RUN: ftl-opt %s --ftlt-fuse-lm-head=chunk=16 | FileCheck %s --check-prefixes=CHECK,CHUNK16

// CHECK-LABEL: func.func @token_nll
// CHECK-SAME: (%[[H:.*]]: tensor<8x4xf32>, %[[W:.*]]: tensor<32x4xf32>, %[[T:.*]]: tensor<8xi32>, %[[WT:.*]]: tensor<8xf32>)
// CHECK-NOT: ftlt.linear
// CHECK-NOT: ftlt.token_nll
// DEFAULT: %[[NLL:.*]], %[[LSE:.*]] = ftlt.linear_token_nll %[[H]], %[[W]], %[[T]] {chunk = 4096 : i64} : tensor<8x4xf32>, tensor<32x4xf32>, tensor<8xi32> -> tensor<8xf32>, tensor<8xf32>
// CHUNK16: %[[NLL:.*]], %[[LSE:.*]] = ftlt.linear_token_nll %[[H]], %[[W]], %[[T]] {chunk = 16 : i64} : tensor<8x4xf32>, tensor<32x4xf32>, tensor<8xi32> -> tensor<8xf32>, tensor<8xf32>
// CHECK-NEXT: %[[M:.*]] = ftlt.mul %[[NLL]], %[[WT]] : tensor<8xf32>
// CHECK-NEXT: %[[A:.*]] = ftlt.add %[[M]], %[[LSE]] : tensor<8xf32>
// CHECK-NEXT: return %[[A]]
func.func @token_nll(%h: tensor<8x4xf32>, %w: tensor<32x4xf32>, %t: tensor<8xi32>, %wt: tensor<8xf32>) -> tensor<8xf32> {
  %logits = ftlt.linear %h, %w : tensor<8x4xf32>, tensor<32x4xf32> -> tensor<8x32xf32>
  %nll, %lse = ftlt.token_nll %logits, %t : tensor<8x32xf32>, tensor<8xi32> -> tensor<8xf32>, tensor<8xf32>
  %m = ftlt.mul %nll, %wt : tensor<8xf32>
  %a = ftlt.add %m, %lse : tensor<8xf32>
  return %a : tensor<8xf32>
}

// The same pass fuses cross-entropy (SFT) heads.
// CHECK-LABEL: func.func @cross_entropy
// CHECK-NOT: ftlt.linear %
// CHECK: ftlt.linear_cross_entropy %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} {chunk = {{4096|16}} : i64}
// CHECK-NOT: ftlt.cross_entropy
func.func @cross_entropy(%h: tensor<8x4xf32>, %w: tensor<32x4xf32>, %t: tensor<8xi32>, %wt: tensor<8xf32>) -> tensor<f32> {
  %logits = ftlt.linear %h, %w : tensor<8x4xf32>, tensor<32x4xf32> -> tensor<8x32xf32>
  %l, %lse = ftlt.cross_entropy %logits, %t, %wt : tensor<8x32xf32>, tensor<8xi32>, tensor<8xf32> -> tensor<f32>, tensor<8xf32>
  return %l : tensor<f32>
}

// A head with a bias stays as it is.
// CHECK-LABEL: func.func @bias
// CHECK: ftlt.linear %{{.*}}, %{{.*}} bias %{{.*}}
// CHECK-NEXT: ftlt.token_nll
// CHECK-NOT: ftlt.linear_token_nll
func.func @bias(%h: tensor<8x4xf32>, %w: tensor<32x4xf32>, %b: tensor<32xf32>, %t: tensor<8xi32>) -> tensor<8xf32> {
  %logits = ftlt.linear %h, %w bias %b : tensor<8x4xf32>, tensor<32x4xf32>, tensor<32xf32> -> tensor<8x32xf32>
  %nll, %lse = ftlt.token_nll %logits, %t : tensor<8x32xf32>, tensor<8xi32> -> tensor<8xf32>, tensor<8xf32>
  return %nll : tensor<8xf32>
}

// Logits that something else also reads must exist anyway: no fusion.
// CHECK-LABEL: func.func @logits_used_twice
// CHECK: %[[L:.*]] = ftlt.linear
// CHECK-NEXT: ftlt.token_nll %[[L]]
// CHECK-NOT: ftlt.linear_token_nll
// CHECK: return %{{.*}}, %[[L]]
func.func @logits_used_twice(%h: tensor<8x4xf32>, %w: tensor<32x4xf32>, %t: tensor<8xi32>) -> (tensor<8xf32>, tensor<8x32xf32>) {
  %logits = ftlt.linear %h, %w : tensor<8x4xf32>, tensor<32x4xf32> -> tensor<8x32xf32>
  %nll, %lse = ftlt.token_nll %logits, %t : tensor<8x32xf32>, tensor<8xi32> -> tensor<8xf32>, tensor<8xf32>
  return %nll, %logits : tensor<8xf32>, tensor<8x32xf32>
}
