// LoRA in the step function: the update goes beside the frozen base GEMM as
// two thin GEMMs (x A^T, then B), scaled and added in one fused group; no
// W + B A is ever formed, and the backward computes gradients for A and B
// only (accumulated in place), none for the frozen W.
// RUN: ftl compile --emit=step %s | FileCheck %s --check-prefix=STEP
// RUN: ftl compile --emit=fused %s | FileCheck %s --check-prefix=FUSED

seed 1
model m = llama(vocab: 64, dim: 32, layers: 1, heads: 2, kv_heads: 1, ffn: 64, ctx: 16)
tokenizer tok = bytes()
data d = text("../../examples/data/corpus.txt")
adapter a = lora(rank: 2, alpha: 4) on m.layers[0].attn.q
train m with lm(d) using adamw(lr: 1e-3) steps 2 batch 2 seq 8

// STEP-LABEL: func.func private @train0_loss(
// STEP-SAME: %arg2: tensor<32x32xf32> {ftl.param = "layers.0.attn.q.weight"}
// STEP-SAME: %arg12: tensor<2x32xf32> {ftl.param = "a.layers.0.attn.q.lora_A", ftl.trainable}
// STEP-SAME: %arg13: tensor<32x2xf32> {ftl.param = "a.layers.0.attn.q.lora_B", ftl.trainable}
// STEP: %[[X:.*]] = ftlt.rms_norm
// STEP-NEXT: %[[Y:.*]] = ftlt.linear %[[X]], %arg2
// STEP-NEXT: %[[DOWN:.*]] = ftlt.linear %[[X]], %arg12 {{.*}} -> tensor<16x2xf32>
// STEP-NEXT: %[[UP:.*]] = ftlt.linear %[[DOWN]], %arg13 {{.*}} -> tensor<16x32xf32>
// STEP-NEXT: %[[S:.*]] = ftlt.scale %[[UP]] {factor = 2.000000e+00
// STEP-NEXT: ftlt.add %[[Y]], %[[S]]
// STEP-NOT: ftlt.linear %arg13
// STEP-LABEL: func.func private @train0_eval(

// FUSED-LABEL: func.func private @train0_loss(
// FUSED: %[[Y:.*]] = ftlt.linear %{{.*}}, %arg2
// FUSED-NEXT: %[[DOWN:.*]] = ftlt.linear %{{.*}}, %arg12
// FUSED-NEXT: %[[UP:.*]] = ftlt.linear %[[DOWN]], %arg13
// FUSED-NEXT: ftlt.fused %[[UP]], %[[Y]] attributes {cols = 32 : i64, {{.*}}input_access = ["elem", "elem"], result_access = ["elem"]
// Gradients: only the adapter's two, accumulated in place.
// FUSED-NOT: ftlt.linear_grad_weight {{.*}} -> tensor<32x32xf32>
// FUSED: ftlt.linear_grad_weight {{.*}} accumulate {{.*}} -> tensor<32x2xf32>
// FUSED-NEXT: ftlt.linear_grad_weight {{.*}} accumulate {{.*}} -> tensor<2x32xf32>
// FUSED-NOT: ftlt.linear_grad_weight
// FUSED-LABEL: func.func private @train0_eval(
