// RUN: ftl check --verify-diagnostics --split-input-file --no-warn-unused %s

// expected-error @+3 {{data 'Inputs/tasks.jsonl' has no field 'answr' [missing-field]}}
// expected-note @+2 {{did you mean 'answer'?}}
// expected-note @+1 {{available fields: answer, id, question}}
data tasks = jsonl("Inputs/tasks.jsonl", prompt: .question, response: .answr)
log 1

// -----

data tasks = jsonl("Inputs/tasks.jsonl", prompt: .question, response: .answer)
// expected-error @+3 {{data 'tasks' has no field 'qestion'}}
// expected-note @+2 {{did you mean 'question'?}}
// expected-note @+1 {{available fields: answer, id, question, prompt, response}}
data clean = tasks |> filter(len(.qestion) < 200)
log 1

// -----

model m = llama(vocab: 64, dim: 32, layers: 2, heads: 2)
data tasks = jsonl("Inputs/tasks.jsonl", prompt: .question, response: .answer)
// expected-error @+1 {{'dpo' needs data with fields prompt, chosen and rejected, but 'tasks' has fields answer, id, question, prompt, response [loss-missing-fields]}}
train m with dpo(tasks) steps 1

// -----

model m = llama(vocab: 64, dim: 32, layers: 2, heads: 2)
data tasks = jsonl("Inputs/tasks.jsonl")
// expected-error @+1 {{'sft' needs data with field text, or fields prompt and response, or field messages, but 'tasks' has fields answer, id, question}}
train m with sft(tasks) steps 1

// -----

// expected-error @+1 {{file 'Inputs/missing.jsonl' does not exist [file-not-found]}}
data d = jsonl("Inputs/missing.jsonl")
log 1

// -----

// expected-error @+1 {{file (it is a folder) 'Inputs' does not exist}}
data d = text("Inputs")
log 1

// -----

// expected-error @+1 {{cannot read data file 'Inputs/bad.jsonl': line 1 is not valid JSON}}
data d = jsonl("Inputs/bad.jsonl")
log 1

// -----

// expected-error @+1 {{cannot read data file 'Inputs/empty.jsonl': the file has no records [bad-data-file]}}
data d = jsonl("Inputs/empty.jsonl")
log 1

// -----

// expected-error @+1 {{cannot use model folder 'Inputs/unknown-arch': unknown architecture 'bert' in config.json; supported: llama, mistral, qwen2, gpt2 [bad-model-folder]}}
model m = load("Inputs/unknown-arch")

// -----

// expected-error @+1 {{cannot use model folder 'Inputs/no-config': it has no config.json (nor adapter_config.json)}}
model m = load("Inputs/no-config")

// -----

// Shapes beyond the limits are refused before the parameter tree is built.
// expected-error @+1 {{cannot use model folder 'Inputs/huge-folder': config.json's layer count is 100000000; expected at most 1024}}
model m = load("Inputs/huge-folder")

// -----

// expected-error @+1 {{cannot use model folder 'Inputs/bad-heads-folder': config.json's hidden size, head count and key/value head count do not fit together}}
model m = load("Inputs/bad-heads-folder")

// -----

data tasks = jsonl("Inputs/tasks.jsonl")
// expected-error @+2 {{data 'tasks' has no member 'eval' [unknown-member]}}
// expected-note @+1 {{available fields: fields answer, id, question}}
let x = tasks.eval
log 1

// -----

data tasks = jsonl("Inputs/tasks.jsonl") |> template("Q: {question} A: {anser}")
// expected-error @-1 {{data 'Inputs/tasks.jsonl' has no field 'anser'}}
// expected-note @-2 {{did you mean 'answer'?}}
log 1
