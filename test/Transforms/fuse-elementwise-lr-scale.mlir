// The fused body of ftlt.adamw with an lr_scale (AdamWOp::emitScalarBody in
// compiler/lib/Dialect/FTLT/IR/Fusible.cpp): lr is multiplied by the scale,
// and where the scale is 0 the parameter and both moments are selected
// unchanged (a tensor in the frozen half of half fine-tuning sits the step
// out bitwise). Without a scale the body has no compare and no select.
// RUN: ftl-opt %s --ftlt-fuse-elementwise | FileCheck %s

// CHECK-LABEL: func.func @scaled
// CHECK: ftlt.fused {{.*}} input_access = ["elem", "elem", "elem", "elem", "scalar", "scalar", "scalar", "scalar"]
// CHECK-NEXT: ^bb0(%[[P:[^:]*]]: f32, %{{[^:]*}}: f32, %[[M:[^:]*]]: f32, %[[V:[^:]*]]: f32, %[[LR:[^:]*]]: f32, %{{[^:]*}}: f32, %{{[^:]*}}: f32, %[[S:[^:]*]]: f32):
// CHECK-NEXT: %[[LRS:.*]] = arith.mulf %[[LR]], %[[S]] : f32
// CHECK: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-NEXT: %[[LIVE:.*]] = arith.cmpf one, %[[S]], %[[ZERO]] : f32
// CHECK-NEXT: %[[P2:.*]] = arith.select %[[LIVE]], %{{.*}}, %[[P]] : f32
// CHECK-NEXT: %[[M2:.*]] = arith.select %[[LIVE]], %{{.*}}, %[[M]] : f32
// CHECK-NEXT: %[[V2:.*]] = arith.select %[[LIVE]], %{{.*}}, %[[V]] : f32
// CHECK-NEXT: ftlt.fused_yield %[[P2]], %[[M2]], %[[V2]]
func.func @scaled(%p: tensor<4x8xf32>, %g: tensor<4x8xf32>, %m: tensor<4x8xf32>, %v: tensor<4x8xf32>, %lr: tensor<f32>, %b1: tensor<f32>, %b2: tensor<f32>, %s: tensor<f32>) -> (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>) {
  %p2, %m2, %v2 = ftlt.adamw %p, %g, %m, %v, %lr, %b1, %b2 lr_scale %s : tensor<f32> {beta1 = 0.9 : f64, beta2 = 0.999 : f64, eps = 1.0e-08 : f64, wd = 0.01 : f64} : tensor<4x8xf32>, tensor<f32>
  return %p2, %m2, %v2 : tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>
}

// CHECK-LABEL: func.func @unscaled
// CHECK: ftlt.fused {{.*}} input_access = ["elem", "elem", "elem", "elem", "scalar", "scalar", "scalar"]
// CHECK-NOT: arith.cmpf
// CHECK-NOT: arith.select
// CHECK: ftlt.fused_yield
func.func @unscaled(%p: tensor<4x8xf32>, %g: tensor<4x8xf32>, %m: tensor<4x8xf32>, %v: tensor<4x8xf32>, %lr: tensor<f32>, %b1: tensor<f32>, %b2: tensor<f32>) -> (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>) {
  %p2, %m2, %v2 = ftlt.adamw %p, %g, %m, %v, %lr, %b1, %b2 {beta1 = 0.9 : f64, beta2 = 0.999 : f64, eps = 1.0e-08 : f64, wd = 0.01 : f64} : tensor<4x8xf32>, tensor<f32>
  return %p2, %m2, %v2 : tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>
}
