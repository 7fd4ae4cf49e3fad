// RUN: ftl compile --emit=ftl %s | FileCheck %s

seed 1234
model base = llama(vocab: 64, dim: 32, layers: 2, heads: 2, kv_heads: 1)
tokenizer tok = bytes()
data tasks = jsonl("Inputs/tasks.jsonl", prompt: .question, response: .answer)
data clean = tasks |> filter(.answer =~ /^[0-9]+$/ && len(.question) < 200) |> split(eval: 10%)
data prefs = jsonl("Inputs/prefs.jsonl")
adapter a = lora(rank: 4, alpha: 8) on base.layers[-1].attn.{q, v}
objective obj = sft(clean.train, on: response) + 0.5 * dpo(prefs, beta: 0.1)
train base with obj using adamw(lr: 3e-4) schedule cosine(warmup: 2) steps 10 batch 2 seq 64
save a to "out/a"

// CHECK-LABEL: module
// CHECK:       ftl.seed 1234
// Defaults are written out, so the IR is the complete specification.
// CHECK:       %[[BASE:.*]] = ftl.model.build "llama" as "base" {ctx = 2048 : i64, dim = 32 : i64, ffn = 88 : i64, heads = 2 : i64, init_std = 2.000000e-02 : f64, kv_heads = 1 : i64, layers = 2 : i64, norm_eps = 1.000000e-05 : f64, qkv_bias = false, rope_theta = 1.000000e+04 : f64, tied = false, vocab = 64 : i64} : !ftl.model
// CHECK:       ftl.tokenizer "bytes" : !ftl.tokenizer
// CHECK:       %[[TASKS:.*]] = ftl.data.source "jsonl" "Inputs/tasks.jsonl" {fields = {prompt = "question", response = "answer"}} : !ftl.data
// CHECK:       %[[FILTERED:.*]] = ftl.data.op "filter"(%[[TASKS]]) attributes {operand_names = ["input"], region_params = ["pred"]} {
// CHECK-NEXT:  ^bb0(%[[R:.*]]: !ftl.record):
// CHECK-NEXT:    %[[A:.*]] = ftl.record.field %[[R]] "answer"
// CHECK-NEXT:    %[[M:.*]] = ftl.record.match %[[A]] "^[0-9]+$" : !ftl.value
// CHECK-NEXT:    %[[Q:.*]] = ftl.record.field %[[R]] "question"
// CHECK-NEXT:    %[[N:.*]] = ftl.record.len %[[Q]] : !ftl.value
// CHECK-NEXT:    %[[LIMIT:.*]] = ftl.constant 200 : i64
// CHECK-NEXT:    %[[C:.*]] = ftl.record.cmp "lt" %[[N]], %[[LIMIT]] : i64, !ftl.value
// CHECK-NEXT:    %[[AND:.*]] = ftl.record.arith "and" %[[M]], %[[C]] : i1, i1 -> i1
// CHECK-NEXT:    ftl.yield %[[AND]] : i1
// CHECK:       %[[SPLIT:.*]] = ftl.data.op "split"(%[[FILTERED]]) attributes {eval = 1.000000e-01 : f64, operand_names = ["input"]}
// CHECK:       %[[A_:.*]] = ftl.adapter "lora" "a" on %[[BASE]]() {config = {alpha = 8.000000e+00 : f64, corda_mode = "ipm", corda_samples = 256 : i64, dora = false, dropout = 0.000000e+00 : f64, init = "default", rank = 4 : i64, rslora = false}, operand_names = [], selectors = ["base.layers[-1].attn.{q, v}"], tensors = ["layers.1.attn.q.weight", "layers.1.attn.v.weight"]}
// CHECK:       %[[TRAIN:.*]] = ftl.data.part %[[SPLIT]] "train" : !ftl.data
// CHECK:       %[[SFT:.*]] = ftl.loss "sft"(%[[TRAIN]]) {norm = "tokens", on = "response", operand_names = ["d"]}
// CHECK:       %[[W:.*]] = arith.constant 5.000000e-01 : f64
// CHECK:       %[[DPO:.*]] = ftl.loss "dpo"(%{{.*}}) {beta = 1.000000e-01 : f64, label_smoothing = 0.000000e+00 : f64, loss = "sigmoid", operand_names = ["d"]}
// CHECK:       %[[SCALED:.*]] = ftl.objective.scale %[[DPO]], %[[W]] : !ftl.objective
// CHECK:       %[[OBJ:.*]] = ftl.objective.sum %[[SFT]], %[[SCALED]] : !ftl.objective
// CHECK:       %[[OPT:.*]] = ftl.make "adamw"() {beta1 = 9.000000e-01 : f64, beta2 = 0.99899999999999999 : f64, eps = 1.000000e-08 : f64, layer_decay = 1.000000e+00 : f64, lr = 3.000000e-04 : f64, operand_names = [], wd = 0.000000e+00 : f64} : () -> !ftl.optimizer
// CHECK:       %[[SCHED:.*]] = ftl.make "cosine"() {min_lr = 0.000000e+00 : f64, operand_names = [], warmup = 2 : i64} : () -> !ftl.schedule
// CHECK:       ftl.train %[[BASE]] with %[[OBJ]] using %[[OPT]] schedule %[[SCHED]] {batch = 2 : i64, seq = 64 : i64, steps = 10 : i64}
// CHECK:       ftl.save %[[A_]] to "out/a" : !ftl.adapter
