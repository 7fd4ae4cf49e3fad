// ftl-lower-train on a KL term (LowerTrain.cpp, TrainPlan.cpp): the term
// reads the reference's final hidden states of its batch (batch argument
// "<term>.ref_hidden", [rows * seq, dim]) and the reference's LM head (an
// "ftl.ref_param" argument); one fused ftlt.linear_kl computes both heads and
// KL(reference || model) over vocabulary chunks, so neither model's logits
// exist. @train<k>_reference returns the reference's hidden states, built
// with the same ops as the loss's forward. The backward is one
// linear_kl_grad; nothing differentiates the reference.
// RUN: ftl compile --emit=step %s | FileCheck %s --check-prefix=STEP
// RUN: ftl compile --emit=grad %s | FileCheck %s --check-prefix=GRAD

seed 1
model m = llama(vocab: 96, dim: 32, layers: 1, heads: 2, kv_heads: 1, ffn: 64, ctx: 16)
data general = text("../../examples/data/corpus.txt")
adapter a = lora(rank: 2, alpha: 4) on m.layers[*].attn.{q, v}
train m with 2 * kl(general) using adamw(lr: 1e-3) steps 1 batch 2 seq 8

// STEP-LABEL: func.func private @train0_loss(
// STEP-SAME: %[[W:arg[0-9]+]]: tensor<16xf32> {ftl.batch = "0.weights"}
// STEP-SAME: %[[SCALE:arg[0-9]+]]: tensor<f32> {ftl.batch = "0.scale"}, %[[RH:arg[0-9]+]]: tensor<16x32xf32> {ftl.batch = "0.ref_hidden"}
// STEP-SAME: %[[RHEAD:arg[0-9]+]]: tensor<96x32xf32> {ftl.ref_param = "head.weight"}
// STEP-SAME: -> tensor<f32> attributes {
// The final norm: the only one without an ftl.layer attribute.
// STEP: %[[H:[0-9]+]] = ftlt.rms_norm %{{[0-9]+}}, %{{arg[0-9]+}} {eps = 1.000000e-05 : f64} :
// STEP-NEXT: %[[KL:[a-z_0-9]+]], %{{[a-z_0-9]+}}, %{{[a-z_0-9]+}} = ftlt.linear_kl %[[H]], %{{arg[0-9]+}}, %[[RH]], %[[RHEAD]], %[[W]] {chunk = 4096 : i64}
// STEP-NEXT: %[[N:.*]] = ftlt.scale_by %[[KL]], %[[SCALE]]
// STEP-NEXT: %[[WEIGHTED:.*]] = ftlt.scale %[[N]] {factor = 2.000000e+00 : f64} : tensor<f32>
// STEP-NEXT: return %[[WEIGHTED]] : tensor<f32>

// STEP-LABEL: func.func private @train0_reference(
// STEP-NOT: ftl.batch = "0.scale"
// STEP-NOT: ftl.ref_param
// STEP-SAME: -> tensor<16x32xf32> attributes {ftl.model = "m", ftl.reference}
// STEP: %[[RN:[0-9]+]] = ftlt.rms_norm %{{[0-9]+}}, %{{arg[0-9]+}} {eps = 1.000000e-05 : f64} :
// STEP-NEXT: return %[[RN]] : tensor<16x32xf32>

// GRAD-LABEL: func.func private @train0_loss(
// GRAD-NOT: ftlt.linear %{{.*}} -> tensor<16x96xf32>
// GRAD: ftlt.linear_kl
// GRAD: ftlt.linear_kl_grad
// GRAD-NOT: ftlt.linear_kl_grad
// GRAD: return
// GRAD-LABEL: func.func private @train0_reference(
// GRAD-NOT: _grad
// GRAD: return
