// ftlt-fuse-elementwise turns preference_loss into an ftlt.fused group whose
// body is the op's scalar body (PreferenceLossOp::emitScalarBody in
// compiler/lib/Dialect/FTLT/IR/Fusible.cpp): for "sigmoid" with label
// smoothing ls, -(1 - ls) logsig(u) - ls logsig(-u) with u = beta * h and
// logsig(x) = min(x, 0) - log1p(exp(-|x|)). pair_diff is not fusible (the
// executor runs it as K::PairDiff), so it separates the groups before and
// after it.
// RUN: ftl-opt %s --ftlt-fuse-elementwise | FileCheck %s

// CHECK-LABEL: func.func @sigmoid
// CHECK: %[[RATIO:.*]] = ftlt.fused %{{.*}}, %{{.*}} attributes {cols = 4 : i64, input_access = ["elem", "elem"], result_access = ["elem"], rows = 1 : i64}
// CHECK: arith.subf
// CHECK: %[[H:.*]] = ftlt.pair_diff %[[RATIO]] : tensor<4xf32> -> tensor<2xf32>
// CHECK-NEXT: %[[L:.*]] = ftlt.fused %[[H]] attributes {cols = 2 : i64, input_access = ["elem"], result_access = ["elem"], rows = 1 : i64}
// CHECK-NEXT: ^bb0(%[[X:.*]]: f32):
// CHECK-NEXT: %[[BETA:.*]] = arith.constant 5.000000e-01 : f32
// CHECK-NEXT: %[[U:.*]] = arith.mulf %[[BETA]], %[[X]] : f32
// logsig(u)
// CHECK-NEXT: %[[A:.*]] = math.absf %[[U]]
// CHECK-NEXT: %[[NA:.*]] = arith.negf %[[A]]
// CHECK-NEXT: %[[E:.*]] = math.exp %[[NA]]
// CHECK-NEXT: %[[LP:.*]] = math.log1p %[[E]]
// CHECK-NEXT: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-NEXT: %[[MIN:.*]] = arith.minimumf %[[U]], %[[ZERO]]
// CHECK-NEXT: %[[LS1:.*]] = arith.subf %[[MIN]], %[[LP]]
// -(1 - ls) * logsig(u)
// CHECK-NEXT: %[[ONE_MINUS_LS:.*]] = arith.constant 7.500000e-01 : f32
// CHECK-NEXT: %[[T1:.*]] = arith.mulf %[[ONE_MINUS_LS]], %[[LS1]]
// CHECK-NEXT: %[[NT1:.*]] = arith.negf %[[T1]]
// logsig(-u)
// CHECK-NEXT: %[[NU:.*]] = arith.negf %[[U]]
// CHECK: %[[LS2:.*]] = arith.subf %{{.*}}, %{{.*}} : f32
// CHECK-NEXT: %[[LS:.*]] = arith.constant 2.500000e-01 : f32
// CHECK-NEXT: %[[T2:.*]] = arith.mulf %[[LS]], %[[LS2]]
// CHECK-NEXT: %[[R:.*]] = arith.subf %[[NT1]], %[[T2]]
// CHECK-NEXT: ftlt.fused_yield %[[R]] : f32
// CHECK: ftlt.sum %[[L]]
func.func @sigmoid(%r: tensor<4xf32>, %ref: tensor<4xf32>) -> tensor<f32> {
  %ratio = ftlt.sub %r, %ref : tensor<4xf32>
  %h = ftlt.pair_diff %ratio : tensor<4xf32> -> tensor<2xf32>
  %l = ftlt.preference_loss %h {kind = "sigmoid", beta = 0.5 : f64, label_smoothing = 0.25 : f64} : tensor<2xf32>
  %s = ftlt.sum %l : tensor<2xf32> -> tensor<f32>
  return %s : tensor<f32>
}

// Without label smoothing the second log-sigmoid is not emitted.
// CHECK-LABEL: func.func @sigmoid_no_smoothing
// CHECK: ftlt.fused
// CHECK-COUNT-1: math.log1p
// CHECK-NOT: math.log1p
// CHECK: ftlt.fused_yield
func.func @sigmoid_no_smoothing(%h: tensor<2xf32>) -> tensor<2xf32> {
  %l = ftlt.preference_loss %h {kind = "sigmoid", beta = 0.1 : f64, label_smoothing = 0.0 : f64} : tensor<2xf32>
  return %l : tensor<2xf32>
}

// hinge: max(0, 1 - beta * h), and its gradient dy * (1 - beta * h > 0 ?
// -beta : 0). Fusion goes from producer to consumer only: the loss and its
// gradient read the same h but neither uses the other, so they are two groups.
// CHECK-LABEL: func.func @hinge
// CHECK: %[[L:.*]] = ftlt.fused %[[H:[^ ]*]] attributes {cols = 2 : i64, input_access = ["elem"], result_access = ["elem"], rows = 1 : i64}
// CHECK: %[[U:.*]] = arith.mulf %{{.*}}, %{{.*}} : f32
// CHECK: %[[D:.*]] = arith.subf %{{.*}}, %[[U]] : f32
// CHECK-NEXT: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-NEXT: %[[M:.*]] = arith.maximumf %[[ZERO]], %[[D]] : f32
// CHECK-NEXT: ftlt.fused_yield %[[M]] : f32
// CHECK: %[[G:.*]] = ftlt.fused %{{.*}}, %[[H]] attributes {cols = 2 : i64, input_access = ["elem", "elem"], result_access = ["elem"], rows = 1 : i64}
// CHECK-NEXT: ^bb0(%[[DY:.*]]: f32, %{{.*}}: f32):
// CHECK: %[[NB:.*]] = arith.constant -2.000000e+00 : f32
// CHECK: %[[C:.*]] = arith.cmpf ogt, %{{.*}}, %{{.*}} : f32
// CHECK-NEXT: %[[S:.*]] = arith.select %[[C]], %[[NB]], %{{.*}} : f32
// CHECK-NEXT: %[[R:.*]] = arith.mulf %[[DY]], %[[S]] : f32
// CHECK-NEXT: ftlt.fused_yield %[[R]] : f32
// CHECK: return %[[L]], %[[G]]
func.func @hinge(%h: tensor<2xf32>, %dy: tensor<2xf32>) -> (tensor<2xf32>, tensor<2xf32>) {
  %l = ftlt.preference_loss %h {kind = "hinge", beta = 2.0 : f64, label_smoothing = 0.0 : f64} : tensor<2xf32>
  %g = ftlt.preference_loss_grad %dy, %h {kind = "hinge", beta = 2.0 : f64, label_smoothing = 0.0 : f64} : tensor<2xf32>
  return %l, %g : tensor<2xf32>, tensor<2xf32>
}
