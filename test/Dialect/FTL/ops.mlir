// Round trip: parse, print, parse again, print again; both prints agree.
// RUN: ftl-opt %s | ftl-opt | FileCheck %s

// CHECK-LABEL: module
module {
  // CHECK: ftl.seed 7
  ftl.seed 7
  // CHECK: %[[M:.*]] = ftl.model.build "gpt2" as "m" {dim = 32 : i64, heads = 2 : i64, layers = 1 : i64, vocab = 64 : i64} : !ftl.model
  %m = ftl.model.build "gpt2" as "m" {vocab = 64 : i64, dim = 32 : i64, layers = 1 : i64, heads = 2 : i64} : !ftl.model
  // CHECK: ftl.tokenizer "hf" {path = "t.json"} : !ftl.tokenizer
  %t = ftl.tokenizer "hf" {path = "t.json"} : !ftl.tokenizer
  // CHECK: %[[D:.*]] = ftl.data.source "text" "c.txt" : !ftl.data
  %d = ftl.data.source "text" "c.txt" : !ftl.data
  // CHECK: %[[F:.*]] = ftl.data.op "filter"(%[[D]])
  // CHECK-NEXT: ^bb0(%{{.*}}: !ftl.record):
  %f = ftl.data.op "filter"(%d) attributes {operand_names = ["input"], region_params = ["pred"]} {
  ^bb0(%r: !ftl.record):
    %x = ftl.record.field %r "text"
    %n = ftl.record.len %x {unit = "tokens"} : !ftl.value
    %lim = ftl.constant 10 : i64
    %c = ftl.record.cmp "le" %n, %lim : i64, !ftl.value
    ftl.yield %c : i1
  } : (!ftl.data) -> !ftl.data
  // CHECK: ftl.adapter "lora" "a" on %[[M]]()
  %a = ftl.adapter "lora" "a" on %m () {config = {rank = 2 : i64}, operand_names = [], selectors = ["m.layers[*].attn.q"], tensors = ["layers.0.attn.q.weight"]} : (!ftl.model) -> !ftl.adapter
  // CHECK: ftl.freeze %[[M]] except(%{{.*}})
  ftl.freeze %m except (%a) {tensors = ["embed.weight"], except_tensors = []} : !ftl.model, !ftl.adapter
  %l = ftl.loss "lm"(%f) {operand_names = ["d"]} : (!ftl.data) -> !ftl.objective
  %w = arith.constant 2.0 : f64
  %s = ftl.objective.scale %l, %w : !ftl.objective
  // CHECK: ftl.objective.sum %{{.*}}, %{{.*}} validation %[[F]], %[[F]] {balance = "coba", warmup = 10 : i64} : !ftl.objective
  %o = ftl.objective.sum %s, %l validation %f, %f {balance = "coba", warmup = 10 : i64} : !ftl.objective
  %opt = ftl.make "sgd"() {lr = 0.1 : f64, operand_names = []} : () -> !ftl.optimizer
  // CHECK: ftl.train %[[M]] with %{{.*}} using %{{.*}} {steps = 3 : i64}
  ftl.train %m with %o using %opt {steps = 3 : i64}
  %c0 = arith.constant 1 : i64
  %c1 = arith.constant 2 : i64
  // CHECK: ftl.loop "r" %{{.*}} to %{{.*}} {
  ftl.loop "r" %c0 to %c1 {
  ^bb0(%i: i64):
    ftl.log %i {names = ["r"]} : i64
    ftl.yield
  }
  // CHECK: ftl.save %{{.*}} to "out" : !ftl.adapter
  ftl.save %a to "out" : !ftl.adapter
}
