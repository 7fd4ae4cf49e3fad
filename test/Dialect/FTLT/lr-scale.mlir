// Round trip of the optimizer ops with and without a per-tensor learning-rate
// scale (layer-wise LR decay, half fine-tuning).
// RUN: ftl-opt %s | ftl-opt | FileCheck %s

// CHECK-LABEL: func.func @optimizers
func.func @optimizers(%p: tensor<4x8xf32>, %g: tensor<4x8xf32>, %m: tensor<4x8xf32>, %v: tensor<4x8xf32>, %lr: tensor<f32>, %b1: tensor<f32>, %b2: tensor<f32>, %s: tensor<f32>) -> (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>) {
  // CHECK: ftlt.adamw %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} {beta1
  %p1, %m1, %v1 = ftlt.adamw %p, %g, %m, %v, %lr, %b1, %b2 {beta1 = 0.9 : f64, beta2 = 0.999 : f64, eps = 1.0e-08 : f64, wd = 0.0 : f64} : tensor<4x8xf32>, tensor<f32>
  // CHECK: ftlt.adamw %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} lr_scale %arg7 : tensor<f32> {beta1
  %p2, %m2, %v2 = ftlt.adamw %p1, %g, %m1, %v1, %lr, %b1, %b2 lr_scale %s : tensor<f32> {beta1 = 0.9 : f64, beta2 = 0.999 : f64, eps = 1.0e-08 : f64, wd = 0.0 : f64} : tensor<4x8xf32>, tensor<f32>
  // CHECK: ftlt.sgd %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} lr_scale %arg7 : tensor<f32> {momentum
  %p3, %b3 = ftlt.sgd %p2, %g, %m2, %lr lr_scale %s : tensor<f32> {momentum = 0.9 : f64, wd = 0.0 : f64} : tensor<4x8xf32>, tensor<f32>
  return %p3, %m2, %v2, %b3 : tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>
}
