// ftlt-fuse-grad-accumulation: a gradient function (ftl.grad) gets one
// accumulator argument per trainable parameter (ftl.grad_acc) and returns
// accumulator + gradient. A weight gradient that comes from a GEMM or the
// fused LM head, and has no other use, is accumulated inside that op
// (its `accumulate` operand, beta = 1); every other gradient gets an ftlt.add.
// RUN: ftl-opt %s --ftlt-fuse-grad-accumulation | FileCheck %s

// CHECK-LABEL: func.func @gemm_and_head
// CHECK-SAME: %[[ACCW:[^:]*]]: tensor<3x5xf32> {ftl.grad_acc = "w"}, %[[ACCH:[^:]*]]: tensor<9x5xf32> {ftl.grad_acc = "head"}, %[[ACCB:[^:]*]]: tensor<3xf32> {ftl.grad_acc = "b"}
// CHECK-SAME: attributes {ftl.accumulates, ftl.grad
// CHECK: %[[GW:.*]] = ftlt.linear_grad_weight %{{.*}}, %{{.*}} accumulate %[[ACCW]]
// CHECK: %{{.*}}, %[[GH:.*]] = ftlt.linear_cross_entropy_grad {{.*}} accumulate %[[ACCH]]
// CHECK: %[[GB:.*]] = ftlt.add %[[ACCB]], %{{.*}} : tensor<3xf32>
// CHECK: return %{{.*}}, %[[GW]], %[[GH]], %[[GB]]
func.func @gemm_and_head(%dy: tensor<4x3xf32>, %x: tensor<4x5xf32>, %h: tensor<6x5xf32>, %head: tensor<9x5xf32>, %t: tensor<6xi32>, %w: tensor<6xf32>, %lse: tensor<6xf32>, %db: tensor<3xf32>, %loss: tensor<f32>)
    -> (tensor<f32>, tensor<3x5xf32>, tensor<9x5xf32>, tensor<3xf32>)
    attributes {ftl.grad, ftl.grad_params = ["w", "head", "b"]} {
  %gw = ftlt.linear_grad_weight %dy, %x : tensor<4x3xf32>, tensor<4x5xf32> -> tensor<3x5xf32>
  %one = arith.constant dense<1.0> : tensor<f32>
  %dh, %gh = ftlt.linear_cross_entropy_grad %one, %h, %head, %t, %w, %lse {chunk = 4 : i64} : tensor<f32>, tensor<6x5xf32>, tensor<9x5xf32>, tensor<6xi32>, tensor<6xf32>, tensor<6xf32> -> tensor<6x5xf32>, tensor<9x5xf32>
  return %loss, %gw, %gh, %db : tensor<f32>, tensor<3x5xf32>, tensor<9x5xf32>, tensor<3xf32>
}

// A GEMM result used twice (here returned for two parameters) must stay as
// it is: both get an add.
// CHECK-LABEL: func.func @gemm_used_twice
// CHECK: %[[G:.*]] = ftlt.linear_grad_weight %{{.*}}, %{{.*}} : tensor<4x3xf32>, tensor<4x5xf32> -> tensor<3x5xf32>
// CHECK: %[[A:.*]] = ftlt.add %{{.*}}, %[[G]]
// CHECK: %[[B:.*]] = ftlt.add %{{.*}}, %[[G]]
// CHECK: return %{{.*}}, %[[A]], %[[B]]
func.func @gemm_used_twice(%dy: tensor<4x3xf32>, %x: tensor<4x5xf32>, %loss: tensor<f32>)
    -> (tensor<f32>, tensor<3x5xf32>, tensor<3x5xf32>)
    attributes {ftl.grad, ftl.grad_params = ["p", "q"]} {
  %gw = ftlt.linear_grad_weight %dy, %x : tensor<4x3xf32>, tensor<4x5xf32> -> tensor<3x5xf32>
  return %loss, %gw, %gw : tensor<f32>, tensor<3x5xf32>, tensor<3x5xf32>
}

// Functions that are not gradient functions, or already accumulate, are left
// alone.
// CHECK-LABEL: func.func @not_a_gradient(%{{[^:]*}}: tensor<f32>) -> tensor<f32> {
// CHECK-NEXT: return
func.func @not_a_gradient(%loss: tensor<f32>) -> tensor<f32> {
  return %loss : tensor<f32>
}

// CHECK-LABEL: func.func @already(%{{[^:]*}}: tensor<f32>, %{{[^:]*}}: tensor<3xf32>) -> (tensor<f32>, tensor<3xf32>)
// CHECK-NEXT: return
func.func @already(%loss: tensor<f32>, %g: tensor<3xf32>) -> (tensor<f32>, tensor<3xf32>)
    attributes {ftl.accumulates, ftl.grad, ftl.grad_params = ["b"]} {
  return %loss, %g : tensor<f32>, tensor<3xf32>
}
