// RUN: ftl compile --emit=ftl %s | FileCheck %s

model base = llama(vocab: 64, dim: 32, layers: 2, heads: 2)
data tasks = jsonl("Inputs/tasks.jsonl", prompt: .question, response: .answer)
data pairs = jsonl("Inputs/prefs.jsonl")
loop round in 1..3 until acc >= 0.9 {
  let samples = generate(base, tasks.prompt, n: 2, temperature: 0.8)
  let judged = judge(samples, by: exact(tasks.response))
  pairs += best_worst(judged)
  train base with sft(judged.pass) + 0.1 * dpo(pairs) steps 5
  eval acc = pass_rate(judged)
  log round, acc
}

// CHECK:      %[[LO:.*]] = arith.constant 1 : i64
// CHECK:      %[[HI:.*]] = arith.constant 3 : i64
// CHECK:      %[[OUT:.*]] = ftl.loop "round" %[[LO]] to %[[HI]] iter_args(%[[PAIRS:.*]] : !ftl.data) attributes {has_until} {
// CHECK-NEXT: ^bb0(%[[ROUND:.*]]: i64, %[[CARRIED:.*]]: !ftl.data):
// CHECK:        %[[S:.*]] = ftl.generate %{{.*}}, %{{.*}} {max_tokens = 64 : i64, n = 2 : i64, stop = [], temperature = 8.000000e-01 : f64, top_k = 0 : i64, top_p = 1.000000e+00 : f64} : !ftl.column -> !ftl.data
// CHECK:        %[[J:.*]] = ftl.judge %[[S]], %{{.*}} : !ftl.data
// CHECK:        %[[BW:.*]] = ftl.data.op "best_worst"(%[[J]])
// CHECK:        %[[NEW:.*]] = ftl.data.concat %[[CARRIED]], %[[BW]] : !ftl.data
// CHECK:        %[[PASS:.*]] = ftl.data.part %[[J]] "pass" : !ftl.data
// CHECK:        ftl.loss "dpo"(%[[NEW]])
// CHECK:        %[[M:.*]] = ftl.metric "pass_rate"(%[[J]])
// CHECK:        %[[ACC:.*]] = ftl.eval "acc" %[[M]] : f64
// CHECK:        ftl.log %[[ROUND]], %[[ACC]] {names = ["round", "acc"]} : i64, f64
// CHECK:        %[[LIM:.*]] = arith.constant 9.000000e-01 : f64
// CHECK:        %[[DONE:.*]] = arith.cmpf oge, %[[ACC]], %[[LIM]] : f64
// CHECK:        ftl.yield %[[NEW]], %[[DONE]] : !ftl.data, i1
// CHECK:      } -> !ftl.data
