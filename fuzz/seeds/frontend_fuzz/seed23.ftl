// Ops point back into the .ftl source; ops from a function body carry the
// call site.
// RUN: ftl compile --emit=ftl --locations %s | FileCheck %s

def warm(m: model, d: data, n: int) {
  train m with lm(d) steps n
}
model base = llama(vocab: 64, dim: 32, layers: 2, heads: 2)
data corpus = text("Inputs/corpus.txt")
warm(base, corpus, 3)

// CHECK: ftl.model.build "llama" as "base" {{.*}} loc("{{.*}}locations.ftl":8:14)
// CHECK: ftl.data.source "text" {{.*}} loc("{{.*}}locations.ftl":9:15)
// CHECK: ftl.loss "lm"{{.*}} loc(callsite("{{.*}}locations.ftl":6:16 at "{{.*}}locations.ftl":10:1))
// CHECK: ftl.train {{.*}} {steps = 3 : i64} loc(callsite("{{.*}}locations.ftl":6:3 at "{{.*}}locations.ftl":10:1))
