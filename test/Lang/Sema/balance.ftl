// balance(...): CoBa's settings (val, warmup, history, tau, every) belong to
// `by: coba`, which needs one validation data set per task, in term order.
// Compile-time checks of the settings' values are in
// test/Driver/coba-errors.ftl.
// RUN: ftl check --verify-diagnostics --split-input-file --no-warn-unused %s

model m = llama(vocab: 64, dim: 32, layers: 1, heads: 2)
data a = text("../../Driver/Inputs/corpus.txt")
data b = text("../../Driver/Inputs/corpus.txt")
// expected-error @+1 {{balance(by: coba) needs each task's validation data, one per term in term order (val: [...]): 2 terms, 1 validation sets [balance-settings]}}
train m with balance(sft(a), sft(b), by: coba, val: [a]) steps 1

// -----

model m = llama(vocab: 64, dim: 32, layers: 1, heads: 2)
data a = text("../../Driver/Inputs/corpus.txt")
data b = text("../../Driver/Inputs/corpus.txt")
// expected-error @+1 {{balance(by: coba) needs each task's validation data, one per term in term order (val: [...]): 2 terms, 0 validation sets [balance-settings]}}
train m with balance(sft(a), sft(b), by: coba) steps 1

// -----

model m = llama(vocab: 64, dim: 32, layers: 1, heads: 2)
data a = text("../../Driver/Inputs/corpus.txt")
data b = text("../../Driver/Inputs/corpus.txt")
// expected-error @+1 {{'val:' is read by balance(by: coba) alone, not by 'loss_scale' [balance-settings]}}
train m with balance(sft(a), sft(b), val: [a, b]) steps 1

// -----

model m = llama(vocab: 64, dim: 32, layers: 1, heads: 2)
data a = text("../../Driver/Inputs/corpus.txt")
data b = text("../../Driver/Inputs/corpus.txt")
// expected-error @+1 {{'warmup:' is read by balance(by: coba) alone, not by 'token_scale' [balance-settings]}}
train m with balance(sft(a), sft(b), by: token_scale, warmup: 10) steps 1

// -----

model m = llama(vocab: 64, dim: 32, layers: 1, heads: 2)
data a = text("../../Driver/Inputs/corpus.txt")
data b = text("../../Driver/Inputs/corpus.txt")
// A list of something else than data.
// expected-error @+2 {{expects a list of datas}}
// expected-note @+1 {{signature: balance(}}
train m with balance(sft(a), sft(b), by: coba, val: [1, 2]) steps 1
