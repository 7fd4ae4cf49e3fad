// RUN: ftl-opt %s --split-input-file --verify-diagnostics

// expected-error @+1 {{'dim' (30) is not a multiple of 'heads' (4)}}
%m = ftl.model.build "llama" as "m" {vocab = 8 : i64, dim = 30 : i64, layers = 1 : i64, heads = 4 : i64} : !ftl.model

// -----

// expected-error @+1 {{unknown architecture 'bert'}}
%m = ftl.model.build "bert" as "m" {vocab = 8 : i64, dim = 8 : i64, layers = 1 : i64, heads = 1 : i64} : !ftl.model

// -----

%d = ftl.data.source "text" "c.txt" : !ftl.data
// expected-error @+1 {{'shuffle' has no parameter 'bogus'}}
%s = ftl.data.op "shuffle"(%d) attributes {operand_names = ["input"], bogus = 1 : i64} : (!ftl.data) -> !ftl.data

// -----

%d = ftl.data.source "text" "c.txt" : !ftl.data
// expected-error @+1 {{'lm' is a loss built-in, expected data operator or pair builder}}
%s = ftl.data.op "lm"(%d) attributes {operand_names = ["input"]} : (!ftl.data) -> !ftl.data

// -----

%d = ftl.data.source "text" "c.txt" : !ftl.data
// expected-error @+1 {{'take' requires parameter 'n'}}
%s = ftl.data.op "take"(%d) attributes {operand_names = ["input"]} : (!ftl.data) -> !ftl.data

// -----

// expected-error @+1 {{unknown built-in 'frobnicate'}}
%o = ftl.make "frobnicate"() {operand_names = []} : () -> !ftl.optimizer

// -----

%d = ftl.data.source "text" "c.txt" : !ftl.data
%f = ftl.data.op "filter"(%d) attributes {operand_names = ["input"], region_params = ["pred"]} {
^bb0(%r: !ftl.record):
  %x = ftl.record.field %r "text"
  // expected-error @+1 {{invalid regular expression: missing ]: [a}}
  %m = ftl.record.match %x "[a" : !ftl.value
  ftl.yield %m : i1
} : (!ftl.data) -> !ftl.data

// -----

%m = ftl.model.build "gpt2" as "m" {vocab = 8 : i64, dim = 8 : i64, layers = 1 : i64, heads = 1 : i64} : !ftl.model
%d = ftl.data.source "text" "c.txt" : !ftl.data
%l = ftl.loss "lm"(%d) {operand_names = ["d"]} : (!ftl.data) -> !ftl.objective
// expected-error @+1 {{needs 'steps' or 'epochs'}}
ftl.train %m with %l {batch = 2 : i64}

// -----

%a = ftl.data.source "text" "a.txt" : !ftl.data
%b = ftl.data.source "text" "b.txt" : !ftl.data
// expected-error @+1 {{ratios must sum to 1, found 0.8}}
%mix = ftl.data.mixture %a, %b {names = ["a", "b"], ratios = [0.5, 0.3]} : !ftl.data

// -----

%c0 = arith.constant 1 : i64
// expected-error @+1 {{body must yield 1 value(s): one per iter_arg and the until condition}}
ftl.loop "r" %c0 to %c0 attributes {has_until} {
^bb0(%i: i64):
  ftl.yield
}

// -----

%m = ftl.model.build "gpt2" as "m" {vocab = 8 : i64, dim = 8 : i64, layers = 1 : i64, heads = 1 : i64} : !ftl.model
// expected-error @+1 {{is placed on no tensor}}
%a = ftl.adapter "lora" "a" on %m () {config = {}, operand_names = [], selectors = [], tensors = []} : (!ftl.model) -> !ftl.adapter

// -----

// expected-error @+1 {{a module sets the seed at most once}}
ftl.seed 1
ftl.seed 2

// -----

%x = arith.constant 1 : i64
// expected-error @+1 {{can save a model, an adapter or data}}
ftl.save %x to "out" : i64

// -----

%d = ftl.data.source "text" "c.txt" : !ftl.data
%l = ftl.loss "lm"(%d) {operand_names = ["d"]} : (!ftl.data) -> !ftl.objective
// expected-error @+1 {{balance(by: coba) needs one validation data set per task, in term order: 'val:' has 1 for 2 terms}}
%o = ftl.objective.sum %l, %l validation %d {balance = "coba"} : !ftl.objective

// -----

%d = ftl.data.source "text" "c.txt" : !ftl.data
%l = ftl.loss "lm"(%d) {operand_names = ["d"]} : (!ftl.data) -> !ftl.objective
// expected-error @+1 {{'val:' is read by balance(by: coba) alone}}
%o = ftl.objective.sum %l, %l validation %d, %d {balance = "loss_scale"} : !ftl.objective
