// ftl-lower-train on a weighted DPO term (LowerTrain.cpp, TrainPlan.cpp):
// rows are chosen then rejected (batch 2 -> 4 rows of 8 tokens), the
// sequence log-probability of each row minus the reference's (batch argument
// "<term>.ref_logp"), chosen minus rejected, the preference loss with the
// term's kind and beta, summed, scaled by the normaliser and the weight. A
// separate @train<k>_reference function computes the reference's log-probs
// with the same ops. At the grad level the LM head is fused in both.
// RUN: ftl compile --emit=step %s | FileCheck %s --check-prefix=STEP
// RUN: ftl compile --emit=grad %s | FileCheck %s --check-prefix=GRAD

seed 1
model m = llama(vocab: 64, dim: 32, layers: 1, heads: 2, kv_heads: 1, ffn: 64, ctx: 16)
data prefs = jsonl("../../examples/data/prefs.jsonl")
adapter a = lora(rank: 2, alpha: 4) on m.layers[*].attn.{q, v}
train m with 0.5 * dpo(prefs, beta: 0.25, loss: "ipo") using adamw(lr: 1e-3) steps 1 batch 2 seq 8

// STEP-LABEL: func.func private @train0_loss(
// STEP-SAME: %[[T:arg[0-9]+]]: tensor<32xi32> {ftl.batch = "0.targets"}, %[[W:arg[0-9]+]]: tensor<32xf32> {ftl.batch = "0.weights"}
// STEP-SAME: %[[SCALE:arg[0-9]+]]: tensor<f32> {ftl.batch = "0.scale"}, %[[REF:arg[0-9]+]]: tensor<4xf32> {ftl.batch = "0.ref_logp"}
// STEP-SAME: -> tensor<f32> attributes {
// STEP-SAME: ftl.loss
// The LM head (the only linear without an ftl.layer attribute).
// STEP: %[[LOGITS:.*]] = ftlt.linear %{{[0-9]+}}, %{{arg[0-9]+}} : tensor<32x32xf32>, tensor<64x32xf32> -> tensor<32x64xf32>
// STEP-NEXT: %[[NLL:.*]], %{{.*}} = ftlt.token_nll %[[LOGITS]], %[[T]]
// STEP-NEXT: %[[WN:.*]] = ftlt.mul %[[NLL]], %[[W]] : tensor<32xf32>
// STEP-NEXT: %[[SN:.*]] = ftlt.seq_sum %[[WN]] {seq = 8 : i64} : tensor<32xf32> -> tensor<4xf32>
// STEP-NEXT: %[[LOGP:.*]] = ftlt.scale %[[SN]] {factor = -1.000000e+00 : f64} : tensor<4xf32>
// STEP-NEXT: %[[RATIO:.*]] = ftlt.sub %[[LOGP]], %[[REF]] : tensor<4xf32>
// STEP-NEXT: %[[H:.*]] = ftlt.pair_diff %[[RATIO]] : tensor<4xf32> -> tensor<2xf32>
// STEP-NEXT: %[[L:.*]] = ftlt.preference_loss %[[H]] {beta = 2.500000e-01 : f64, kind = "ipo", label_smoothing = 0.000000e+00 : f64} : tensor<2xf32>
// STEP-NEXT: %[[SUM:.*]] = ftlt.sum %[[L]] : tensor<2xf32> -> tensor<f32>
// STEP-NEXT: %[[N:.*]] = ftlt.scale_by %[[SUM]], %[[SCALE]]
// STEP-NEXT: %[[WEIGHTED:.*]] = ftlt.scale %[[N]] {factor = 5.000000e-01 : f64} : tensor<f32>
// STEP-NEXT: return %[[WEIGHTED]] : tensor<f32>

// The reference function: no scale or ref_logp arguments, one [rows] result.
// STEP-LABEL: func.func private @train0_reference(
// STEP-NOT: ftl.batch = "0.scale"
// STEP-NOT: ftl.batch = "0.ref_logp"
// STEP-SAME: -> tensor<4xf32> attributes {ftl.model = "m", ftl.reference}
// STEP: ftlt.token_nll
// STEP: %[[RSN:.*]] = ftlt.seq_sum %{{.*}} {seq = 8 : i64} : tensor<32xf32> -> tensor<4xf32>
// STEP-NEXT: %[[RLOGP:.*]] = ftlt.scale %[[RSN]] {factor = -1.000000e+00 : f64}
// STEP-NEXT: return %[[RLOGP]] : tensor<4xf32>

// GRAD-LABEL: func.func private @train0_loss(
// GRAD-NOT: ftlt.token_nll
// GRAD: ftlt.linear_token_nll %{{.*}}, %{{.*}}, %{{.*}} {chunk = 4096 : i64}
// GRAD: ftlt.preference_loss_grad %{{.*}}, %{{.*}} {beta = 2.500000e-01 : f64, kind = "ipo", label_smoothing = 0.000000e+00 : f64}
// GRAD-NEXT: ftlt.pair_spread
// GRAD: ftlt.seq_expand
// GRAD: ftlt.linear_cross_entropy_grad
// GRAD-LABEL: func.func private @train0_reference(
// GRAD-NOT: ftlt.token_nll
// GRAD: ftlt.linear_token_nll
// GRAD-NOT: _grad
// GRAD: return
