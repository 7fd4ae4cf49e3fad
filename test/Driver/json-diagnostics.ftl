// RUN: not ftl check --diagnostics=json %s 2> %t.json
// RUN: %python -c "import json,sys; d=json.load(open(sys.argv[1])); print(len(d), d[0]['kind'], d[0]['line'], d[0]['column'], d[0]['endColumn'], d[0]['notes'][0]['message'])" %t.json | FileCheck %s

model base = llama(vocab: 64, dim: 32, layers: 2, heads: 2)
train bse with lm(text("Inputs/corpus.txt")) steps 1
// CHECK: 1 unknown-name 5 7 10 did you mean 'base'?
