//===- FusibleOps.h - One small function per fusible ftlt op ----*- C++ -*-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
//
// MLIR text of a function holding one fusible op over a {R} x {C} space
// (see `instantiate`); ftlt-fuse-elementwise turns each into one group.
//
//===----------------------------------------------------------------------===//

#ifndef FTL_UNITTESTS_CODEGEN_FUSIBLEOPS_H
#define FTL_UNITTESTS_CODEGEN_FUSIBLEOPS_H

#include "ftl/Runtime/Rng.h"

#include <cmath>
#include <functional>

namespace ftl::codegen::test {

struct FusibleOpCase {
  const char *name;
  const char *text;
  /// Input values (index of the fused group's input); null: standard normal.
  std::function<float(unsigned, ftl::rt::Rng &)> values;
};

inline const FusibleOpCase kFusibleOps[] = {
    {"add", R"(
func.func @f(%a: tensor<{R}x{C}xf32>, %b: tensor<{R}x{C}xf32>) -> tensor<{R}x{C}xf32> {
  %r = ftlt.add %a, %b : tensor<{R}x{C}xf32>
  return %r : tensor<{R}x{C}xf32>
})",
     nullptr},
    {"sub", R"(
func.func @f(%a: tensor<{R}x{C}xf32>, %b: tensor<{R}x{C}xf32>) -> tensor<{R}x{C}xf32> {
  %r = ftlt.sub %a, %b : tensor<{R}x{C}xf32>
  return %r : tensor<{R}x{C}xf32>
})",
     nullptr},
    {"mul", R"(
func.func @f(%a: tensor<{R}x{C}xf32>, %b: tensor<{R}x{C}xf32>) -> tensor<{R}x{C}xf32> {
  %r = ftlt.mul %a, %b : tensor<{R}x{C}xf32>
  return %r : tensor<{R}x{C}xf32>
})",
     nullptr},
    {"scale", R"(
func.func @f(%a: tensor<{R}x{C}xf32>) -> tensor<{R}x{C}xf32> {
  %r = ftlt.scale %a {factor = 2.5 : f64} : tensor<{R}x{C}xf32>
  return %r : tensor<{R}x{C}xf32>
})",
     nullptr},
    {"scale_by", R"(
func.func @f(%a: tensor<{R}x{C}xf32>, %s: tensor<f32>) -> tensor<{R}x{C}xf32> {
  %r = ftlt.scale_by %a, %s : tensor<{R}x{C}xf32>, tensor<f32>
  return %r : tensor<{R}x{C}xf32>
})",
     nullptr},
    {"silu", R"(
func.func @f(%a: tensor<{R}x{C}xf32>) -> tensor<{R}x{C}xf32> {
  %r = ftlt.silu %a : tensor<{R}x{C}xf32>
  return %r : tensor<{R}x{C}xf32>
})",
     [](unsigned, ftl::rt::Rng &rng) { return float(4 * rng.normal()); }},
    {"gelu", R"(
func.func @f(%a: tensor<{R}x{C}xf32>) -> tensor<{R}x{C}xf32> {
  %r = ftlt.gelu %a : tensor<{R}x{C}xf32>
  return %r : tensor<{R}x{C}xf32>
})",
     [](unsigned, ftl::rt::Rng &rng) { return float(4 * rng.normal()); }},
    {"silu_grad", R"(
func.func @f(%dy: tensor<{R}x{C}xf32>, %x: tensor<{R}x{C}xf32>) -> tensor<{R}x{C}xf32> {
  %r = ftlt.silu_grad %dy, %x : tensor<{R}x{C}xf32>
  return %r : tensor<{R}x{C}xf32>
})",
     nullptr},
    {"gelu_grad", R"(
func.func @f(%dy: tensor<{R}x{C}xf32>, %x: tensor<{R}x{C}xf32>) -> tensor<{R}x{C}xf32> {
  %r = ftlt.gelu_grad %dy, %x : tensor<{R}x{C}xf32>
  return %r : tensor<{R}x{C}xf32>
})",
     nullptr},
    {"broadcast", R"(
func.func @f(%s: tensor<f32>) -> tensor<{R}x{C}xf32> {
  %r = ftlt.broadcast %s : tensor<f32> -> tensor<{R}x{C}xf32>
  return %r : tensor<{R}x{C}xf32>
})",
     nullptr},
    {"column_sum", R"(
func.func @f(%a: tensor<{R}x{C}xf32>) -> tensor<{C}xf32> {
  %r = ftlt.column_sum %a : tensor<{R}x{C}xf32> -> tensor<{C}xf32>
  return %r : tensor<{C}xf32>
})",
     nullptr},
    {"rms_norm", R"(
func.func @f(%x: tensor<{R}x{C}xf32>, %w: tensor<{C}xf32>) -> tensor<{R}x{C}xf32> {
  %r = ftlt.rms_norm %x, %w {eps = 1.0e-05 : f64} : tensor<{R}x{C}xf32>, tensor<{C}xf32> -> tensor<{R}x{C}xf32>
  return %r : tensor<{R}x{C}xf32>
})",
     nullptr},
    {"rms_norm_grad", R"(
func.func @f(%dy: tensor<{R}x{C}xf32>, %x: tensor<{R}x{C}xf32>, %w: tensor<{C}xf32>) -> (tensor<{R}x{C}xf32>, tensor<{C}xf32>) {
  %dx, %dw = ftlt.rms_norm_grad %dy, %x, %w {eps = 1.0e-05 : f64} : tensor<{R}x{C}xf32>, tensor<{R}x{C}xf32>, tensor<{C}xf32> -> tensor<{R}x{C}xf32>, tensor<{C}xf32>
  return %dx, %dw : tensor<{R}x{C}xf32>, tensor<{C}xf32>
})",
     nullptr},
    {"layer_norm", R"(
func.func @f(%x: tensor<{R}x{C}xf32>, %w: tensor<{C}xf32>, %b: tensor<{C}xf32>) -> tensor<{R}x{C}xf32> {
  %r = ftlt.layer_norm %x, %w, %b {eps = 1.0e-05 : f64} : tensor<{R}x{C}xf32>, tensor<{C}xf32>, tensor<{C}xf32> -> tensor<{R}x{C}xf32>
  return %r : tensor<{R}x{C}xf32>
})",
     nullptr},
    {"layer_norm_grad", R"(
func.func @f(%dy: tensor<{R}x{C}xf32>, %x: tensor<{R}x{C}xf32>, %w: tensor<{C}xf32>) -> (tensor<{R}x{C}xf32>, tensor<{C}xf32>, tensor<{C}xf32>) {
  %dx, %dw, %db = ftlt.layer_norm_grad %dy, %x, %w {eps = 1.0e-05 : f64} : tensor<{R}x{C}xf32>, tensor<{R}x{C}xf32>, tensor<{C}xf32> -> tensor<{R}x{C}xf32>, tensor<{C}xf32>, tensor<{C}xf32>
  return %dx, %dw, %db : tensor<{R}x{C}xf32>, tensor<{C}xf32>, tensor<{C}xf32>
})",
     nullptr},
    {"adamw", R"(
func.func @f(%p: tensor<{R}x{C}xf32>, %g: tensor<{R}x{C}xf32>, %m: tensor<{R}x{C}xf32>, %v: tensor<{R}x{C}xf32>, %lr: tensor<f32>, %b1: tensor<f32>, %b2: tensor<f32>) -> (tensor<{R}x{C}xf32>, tensor<{R}x{C}xf32>, tensor<{R}x{C}xf32>) {
  %p2, %m2, %v2 = ftlt.adamw %p, %g, %m, %v, %lr, %b1, %b2 {beta1 = 0.9 : f64, beta2 = 0.999 : f64, eps = 1.0e-08 : f64, wd = 0.01 : f64} : tensor<{R}x{C}xf32>, tensor<f32>
  return %p2, %m2, %v2 : tensor<{R}x{C}xf32>, tensor<{R}x{C}xf32>, tensor<{R}x{C}xf32>
})",
     // p, g, m normal; v >= 0; lr small; bias corrections in (0, 1].
     [](unsigned i, ftl::rt::Rng &rng) {
       switch (i) {
       case 3:
         return float(0.01 * rng.uniform());
       case 4:
         return float(1e-3 * (1 + rng.uniform()));
       case 5:
       case 6:
         return float(0.05 + 0.95 * rng.uniform());
       default:
         return float(rng.normal());
       }
     }},
    {"sgd", R"(
func.func @f(%p: tensor<{R}x{C}xf32>, %g: tensor<{R}x{C}xf32>, %buf: tensor<{R}x{C}xf32>, %lr: tensor<f32>) -> (tensor<{R}x{C}xf32>, tensor<{R}x{C}xf32>) {
  %p2, %b2 = ftlt.sgd %p, %g, %buf, %lr {momentum = 0.9 : f64, wd = 0.1 : f64} : tensor<{R}x{C}xf32>, tensor<f32>
  return %p2, %b2 : tensor<{R}x{C}xf32>, tensor<{R}x{C}xf32>
})",
     nullptr},
    // With a learning-rate scale (layer-wise decay, half fine-tuning): a
    // scale in [0.5, 1.5), and a scale of 0 (the tensor sits the step out).
    {"adamw_lr_scale", R"(
func.func @f(%p: tensor<{R}x{C}xf32>, %g: tensor<{R}x{C}xf32>, %m: tensor<{R}x{C}xf32>, %v: tensor<{R}x{C}xf32>, %lr: tensor<f32>, %b1: tensor<f32>, %b2: tensor<f32>, %s: tensor<f32>) -> (tensor<{R}x{C}xf32>, tensor<{R}x{C}xf32>, tensor<{R}x{C}xf32>) {
  %p2, %m2, %v2 = ftlt.adamw %p, %g, %m, %v, %lr, %b1, %b2 lr_scale %s : tensor<f32> {beta1 = 0.9 : f64, beta2 = 0.999 : f64, eps = 1.0e-08 : f64, wd = 0.01 : f64} : tensor<{R}x{C}xf32>, tensor<f32>
  return %p2, %m2, %v2 : tensor<{R}x{C}xf32>, tensor<{R}x{C}xf32>, tensor<{R}x{C}xf32>
})",
     [](unsigned i, ftl::rt::Rng &rng) {
       switch (i) {
       case 3:
         return float(0.01 * rng.uniform());
       case 4:
         return float(1e-3 * (1 + rng.uniform()));
       case 5:
       case 6:
         return float(0.05 + 0.95 * rng.uniform());
       case 7:
         return float(0.5 + rng.uniform());
       default:
         return float(rng.normal());
       }
     }},
    {"adamw_lr_scale_0", R"(
func.func @f(%p: tensor<{R}x{C}xf32>, %g: tensor<{R}x{C}xf32>, %m: tensor<{R}x{C}xf32>, %v: tensor<{R}x{C}xf32>, %lr: tensor<f32>, %b1: tensor<f32>, %b2: tensor<f32>, %s: tensor<f32>) -> (tensor<{R}x{C}xf32>, tensor<{R}x{C}xf32>, tensor<{R}x{C}xf32>) {
  %p2, %m2, %v2 = ftlt.adamw %p, %g, %m, %v, %lr, %b1, %b2 lr_scale %s : tensor<f32> {beta1 = 0.9 : f64, beta2 = 0.999 : f64, eps = 1.0e-08 : f64, wd = 0.01 : f64} : tensor<{R}x{C}xf32>, tensor<f32>
  return %p2, %m2, %v2 : tensor<{R}x{C}xf32>, tensor<{R}x{C}xf32>, tensor<{R}x{C}xf32>
})",
     [](unsigned i, ftl::rt::Rng &rng) {
       switch (i) {
       case 3:
         return float(0.01 * rng.uniform());
       case 4:
         return float(1e-3 * (1 + rng.uniform()));
       case 5:
       case 6:
         return float(0.05 + 0.95 * rng.uniform());
       case 7:
         return 0.0f;
       default:
         return float(rng.normal());
       }
     }},
    {"sgd_lr_scale", R"(
func.func @f(%p: tensor<{R}x{C}xf32>, %g: tensor<{R}x{C}xf32>, %buf: tensor<{R}x{C}xf32>, %lr: tensor<f32>, %s: tensor<f32>) -> (tensor<{R}x{C}xf32>, tensor<{R}x{C}xf32>) {
  %p2, %b2 = ftlt.sgd %p, %g, %buf, %lr lr_scale %s : tensor<f32> {momentum = 0.9 : f64, wd = 0.1 : f64} : tensor<{R}x{C}xf32>, tensor<f32>
  return %p2, %b2 : tensor<{R}x{C}xf32>, tensor<{R}x{C}xf32>
})",
     nullptr},
    // Appended: tests index the cases above by position.
    {"abs", R"(
func.func @f(%a: tensor<{R}x{C}xf32>) -> tensor<{R}x{C}xf32> {
  %r = ftlt.abs %a : tensor<{R}x{C}xf32>
  return %r : tensor<{R}x{C}xf32>
})",
     nullptr},
    // Exact zeros in x exercise sign(0) = 0.
    {"abs_grad", R"(
func.func @f(%dy: tensor<{R}x{C}xf32>, %x: tensor<{R}x{C}xf32>) -> tensor<{R}x{C}xf32> {
  %r = ftlt.abs_grad %dy, %x : tensor<{R}x{C}xf32>
  return %r : tensor<{R}x{C}xf32>
})",
     [](unsigned input, ftl::rt::Rng &rng) {
       float v = float(rng.normal());
       return input == 1 && rng.below(4) == 0 ? 0.0f : v;
     }},
    // Virtual token slots: about a third of the rows are masked.
    {"mask_rows_keep", R"(
func.func @f(%x: tensor<{R}x{C}xf32>, %m: tensor<{R}xf32>) -> tensor<{R}x{C}xf32> {
  %r = ftlt.mask_rows %x, %m {keep = true} : tensor<{R}x{C}xf32>, tensor<{R}xf32>
  return %r : tensor<{R}x{C}xf32>
})",
     [](unsigned input, ftl::rt::Rng &rng) {
       float v = float(rng.normal());
       return input == 1 ? float(rng.below(3) == 0) : v;
     }},
    {"mask_rows_drop", R"(
func.func @f(%x: tensor<{R}x{C}xf32>, %m: tensor<{R}xf32>) -> tensor<{R}x{C}xf32> {
  %r = ftlt.mask_rows %x, %m {keep = false} : tensor<{R}x{C}xf32>, tensor<{R}xf32>
  return %r : tensor<{R}x{C}xf32>
})",
     [](unsigned input, ftl::rt::Rng &rng) {
       float v = float(rng.normal());
       return input == 1 ? float(rng.below(3) == 0) : v;
     }},
    // DoRA's ratio and per-column scale; denominators kept away from 0.
    {"div", R"(
func.func @f(%a: tensor<{R}x{C}xf32>, %b: tensor<{R}x{C}xf32>) -> tensor<{R}x{C}xf32> {
  %r = ftlt.div %a, %b : tensor<{R}x{C}xf32>
  return %r : tensor<{R}x{C}xf32>
})",
     [](unsigned input, ftl::rt::Rng &rng) {
       float v = float(rng.normal());
       return input == 1 ? 1.0f + std::fabs(v) : v;
     }},
    {"scale_cols", R"(
func.func @f(%x: tensor<{R}x{C}xf32>, %f: tensor<{C}xf32>) -> tensor<{R}x{C}xf32> {
  %r = ftlt.scale_cols %x, %f : tensor<{R}x{C}xf32>, tensor<{C}xf32>
  return %r : tensor<{R}x{C}xf32>
})",
     nullptr},
};

} // namespace ftl::codegen::test

#endif // FTL_UNITTESTS_CODEGEN_FUSIBLEOPS_H
