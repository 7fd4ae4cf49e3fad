// Generated code for the fused groups of preference and mixed objectives
// (DPO's log-sigmoid, unlikelihood, L2 on an adapter) on a tiny Llama.
// RUN: ftl compile --emit=llvm %s | FileCheck %s --check-prefix=LLVM
// RUN: ftl compile --emit=ptx %s | FileCheck %s --check-prefix=PTX

seed 2
model m = llama(vocab: 64, dim: 32, layers: 1, heads: 2, kv_heads: 1, ffn: 64, ctx: 16)
data corpus = text("../../examples/data/corpus.txt")
data prefs = jsonl("../../examples/data/prefs.jsonl")
adapter a = lora(rank: 2, alpha: 4) on m.layers[*].attn.{q, v}
objective obj = 1.0 * sft(corpus) + 0.5 * dpo(prefs, beta: 0.1, ref: frozen(m))
              + 0.2 * unlikelihood(corpus) + 0.01 * l2(a)
train m with obj using adamw(lr: 1e-3) steps 1 batch 2 seq 8

// LLVM-LABEL: define void @ftl_fused_0(ptr
// PTX: .target sm_90
// PTX-LABEL: .visible .entry ftl_fused_0(
