//===- FTLOps.td - Operations of the ftl dialect -----------*- tablegen -*-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#ifndef FTL_DIALECT_FTL_IR_FTLOPS_TD
#define FTL_DIALECT_FTL_IR_FTLOPS_TD

include "ftl/Dialect/FTL/IR/FTLDialect.td"
include "ftl/Dialect/FTL/IR/FTLTypes.td"
include "mlir/IR/OpBase.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/Interfaces/ControlFlowInterfaces.td"

//===----------------------------------------------------------------------===//
// Run configuration
//===----------------------------------------------------------------------===//

def FTL_SeedOp : FTL_Op<"seed"> {
  let summary = "the seed every random choice of the run derives from";
  let description = [{
    Sets the run's seed. At most one per module.

    ```mlir
    ftl.seed 1234
    ```
  }];
  let arguments = (ins I64Attr:$value);
  let assemblyFormat = "$value attr-dict";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Models and tokenizers
//===----------------------------------------------------------------------===//

def FTL_ModelBuildOp : FTL_Op<"model.build"> {
  let summary = "a model built from a configuration";
  let description = [{
    A decoder of the given family (`llama` or `gpt2`) with freshly
    initialised weights. The configuration is in the attributes; the verifier
    checks that the shapes fit together.

    ```mlir
    %base = ftl.model.build "llama" {vocab = 512 : i64, dim = 128 : i64,
        layers = 4 : i64, heads = 4 : i64, kv_heads = 2 : i64, ffn = 344 : i64,
        ctx = 256 : i64} : !ftl.model
    ```
  }];
  let arguments = (ins StrAttr:$arch, StrAttr:$name);
  let results = (outs FTL_ModelType:$model);
  let assemblyFormat = "$arch `as` $name attr-dict `:` type($model)";
  let hasVerifier = 1;
}

def FTL_ModelLoadOp : FTL_Op<"model.load"> {
  let summary = "a model loaded from a Hugging Face folder";
  let description = [{
    ```mlir
    %m = ftl.model.load "models/tiny-llama" as "big" : !ftl.model
    ```
  }];
  let arguments = (ins StrAttr:$path, StrAttr:$name);
  let results = (outs FTL_ModelType:$model);
  let assemblyFormat = "$path `as` $name attr-dict `:` type($model)";
}

def FTL_ModelSnapshotOp : FTL_Op<"model.snapshot"> {
  let summary = "a frozen copy of a model's current weights";
  let description = [{
    `frozen` marks a reference that may share the base weights (for a model
    with adapters: the base with the adapters turned off).

    ```mlir
    %ref = ftl.model.snapshot %base {frozen} : !ftl.model
    ```
  }];
  let arguments = (ins FTL_ModelType:$source, UnitAttr:$frozen);
  let results = (outs FTL_ModelType:$model);
  let assemblyFormat = "$source attr-dict `:` type($model)";
}

def FTL_ModelMergeOp : FTL_Op<"model.merge"> {
  let summary = "a model with adapters folded into its weights";
  let description = [{
    ```mlir
    %merged = ftl.model.merge %base, %a : !ftl.model
    ```
  }];
  let arguments = (ins FTL_ModelType:$base, Variadic<FTL_AdapterType>:$adapters);
  let results = (outs FTL_ModelType:$model);
  let assemblyFormat = "$base (`,` $adapters^)? attr-dict `:` type($model)";
}

def FTL_TokenizerOp : FTL_Op<"tokenizer"> {
  let summary = "a tokenizer";
  let description = [{
    `kind` is `bytes` or `hf` (a tokenizer.json at `path`).

    ```mlir
    %tok = ftl.tokenizer "bytes" : !ftl.tokenizer
    %hf = ftl.tokenizer "hf" {path = "models/tiny/tokenizer.json"} : !ftl.tokenizer
    ```
  }];
  let arguments = (ins StrAttr:$kind, OptionalAttr<StrAttr>:$path);
  let results = (outs FTL_TokenizerType:$tokenizer);
  let assemblyFormat = "$kind attr-dict `:` type($tokenizer)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Data
//===----------------------------------------------------------------------===//

def FTL_DataSourceOp : FTL_Op<"data.source"> {
  let summary = "records read from a file";
  let description = [{
    `kind` is `jsonl` or `text`. `fields` maps names the pipeline uses to the
    raw fields of the file (`prompt: .question`).

    ```mlir
    %tasks = ftl.data.source "jsonl" "data/arith.jsonl"
        {fields = {prompt = "question", response = "answer"}} : !ftl.data
    ```
  }];
  let arguments = (ins StrAttr:$kind, StrAttr:$path,
                       OptionalAttr<DictionaryAttr>:$fields);
  let results = (outs FTL_DataType:$data);
  let assemblyFormat = "$kind $path attr-dict `:` type($data)";
  let hasVerifier = 1;
}

def FTL_DataOp : FTL_Op<"data.op"> {
  let summary = "a data operator applied to records";
  let description = [{
    Applies the built-in data operator `name` (filter, dedup, split, pack, ...)
    to `inputs`. `operand_names` names the parameter each operand binds
    (the first is the input data); literal arguments are attributes named
    after their parameters; record-level arguments are regions, one per
    entry of `region_params`, each taking the current `!ftl.record` and
    yielding its value. The verifier checks all of it against the built-in
    signature table.

    ```mlir
    %clean = ftl.data.op "filter"(%tasks) {operand_names = ["input"],
        region_params = ["pred"]} ({
    ^bb0(%r: !ftl.record):
      %a = ftl.record.field %r "answer"
      %m = ftl.record.match %a "^-?[0-9]+$"
      ftl.yield %m : i1
    }) : (!ftl.data) -> !ftl.data
    ```
  }];
  let arguments = (ins StrAttr:$name, Variadic<AnyType>:$inputs,
                       StrArrayAttr:$operand_names,
                       DefaultValuedAttr<StrArrayAttr, "{}">:$region_params);
  let results = (outs FTL_DataType:$data);
  let regions = (region VariadicRegion<SizedRegion<1>>:$record_exprs);
  let assemblyFormat = [{
    $name `(` $inputs `)` attr-dict-with-keyword ($record_exprs^)?
    `:` functional-type($inputs, $data)
  }];
  let hasVerifier = 1;
}

def FTL_DataMixtureOp : FTL_Op<"data.mixture"> {
  let summary = "records sampled from several datasets with given ratios";
  let description = [{
    ```mlir
    %mix = ftl.data.mixture %code, %math {names = ["code", "math"],
        ratios = [0.6, 0.4], by = "examples"} : !ftl.data
    ```
  }];
  let arguments = (ins Variadic<FTL_DataType>:$sources, StrArrayAttr:$names,
                       F64ArrayAttr:$ratios);
  let results = (outs FTL_DataType:$data);
  let assemblyFormat = "$sources attr-dict `:` type($data)";
  let hasVerifier = 1;
}

def FTL_DataPartOp : FTL_Op<"data.part", [Pure]> {
  let summary = "a named part of split data (train, eval, pass, fail)";
  let description = [{
    ```mlir
    %train = ftl.data.part %clean "train" : !ftl.data
    ```
  }];
  let arguments = (ins FTL_DataType:$source, StrAttr:$part);
  let results = (outs FTL_DataType:$data);
  let assemblyFormat = "$source $part attr-dict `:` type($data)";
}

def FTL_DataColumnOp : FTL_Op<"data.column", [Pure]> {
  let summary = "one field of every record";
  let description = [{
    ```mlir
    %prompts = ftl.data.column %eval "prompt" : !ftl.column
    ```
  }];
  let arguments = (ins FTL_DataType:$source, StrAttr:$field);
  let results = (outs FTL_ColumnType:$column);
  let assemblyFormat = "$source $field attr-dict `:` type($column)";
}

def FTL_DataConcatOp : FTL_Op<"data.concat", [Pure]> {
  let summary = "the records of several datasets, one after the other";
  let description = [{
    Produced by `pairs += more`.

    ```mlir
    %all = ftl.data.concat %pairs, %more : !ftl.data
    ```
  }];
  let arguments = (ins Variadic<FTL_DataType>:$sources);
  let results = (outs FTL_DataType:$data);
  let assemblyFormat = "$sources attr-dict `:` type($data)";
}

//===----------------------------------------------------------------------===//
// Record-level expressions
//===----------------------------------------------------------------------===//

def FTL_RecordFieldOp : FTL_Op<"record.field", [Pure]> {
  let summary = "a field of the current record";
  let description = [{
    ```mlir
    %a = ftl.record.field %r "answer"
    ```
  }];
  let arguments = (ins FTL_RecordType:$record, StrAttr:$field);
  let results = (outs FTL_ValueType:$value);
  let assemblyFormat = "$record $field attr-dict";
}

def FTL_RecordMatchOp : FTL_Op<"record.match", [Pure]> {
  let summary = "whether a string matches a regular expression (re2)";
  let description = [{
    Partial match, as `=~`; `negate` for `!~`. The pattern is checked by the
    verifier.

    ```mlir
    %m = ftl.record.match %a "^[0-9]+$" {flags = "i"}
    ```
  }];
  let arguments = (ins AnyType:$value, StrAttr:$pattern,
                       DefaultValuedAttr<StrAttr, "\"\"">:$flags,
                       UnitAttr:$negate);
  let results = (outs I1:$result);
  let assemblyFormat = "$value $pattern attr-dict `:` type($value)";
  let hasVerifier = 1;
}

def FTL_RecordLenOp : FTL_Op<"record.len", [Pure]> {
  let summary = "length of a string in characters or tokens";
  let description = [{
    ```mlir
    %n = ftl.record.len %q {unit = "tokens"}
    ```
  }];
  let arguments = (ins AnyType:$value,
                       DefaultValuedAttr<StrAttr, "\"chars\"">:$unit);
  let results = (outs I64:$length);
  let assemblyFormat = "$value attr-dict `:` type($value)";
}

def FTL_RecordCompareOp : FTL_Op<"record.cmp", [Pure]> {
  let summary = "compares two record-level values";
  let description = [{
    `predicate` is one of lt, le, gt, ge, eq, ne. Operands may be field
    values, numbers, strings or a percentile.

    ```mlir
    %c = ftl.record.cmp "lt" %n, %limit : !ftl.value, i64
    ```
  }];
  let arguments = (ins StrAttr:$predicate, AnyType:$lhs, AnyType:$rhs);
  let results = (outs I1:$result);
  let assemblyFormat =
      "$predicate $lhs `,` $rhs attr-dict `:` type($lhs) `,` type($rhs)";
  let hasVerifier = 1;
}

def FTL_RecordArithOp : FTL_Op<"record.arith", [Pure]> {
  let summary = "arithmetic or logic on record-level values";
  let description = [{
    `op` is one of add, sub, mul, div, and, or, not (not ignores `rhs`).

    ```mlir
    %s = ftl.record.arith "add" %a, %b : !ftl.value, f64 -> f64
    ```
  }];
  let arguments = (ins StrAttr:$op, AnyType:$lhs, Optional<AnyType>:$rhs);
  let results = (outs AnyType:$result);
  let assemblyFormat = [{
    $op $lhs (`,` $rhs^)? attr-dict `:` type($lhs) (`,` type($rhs)^)?
    `->` type($result)
  }];
}

def FTL_RecordScoreOp : FTL_Op<"record.score"> {
  let summary = "a model's score of the current record";
  let description = [{
    ```mlir
    %ppl = ftl.record.score "perplexity" %r, %base
    ```
  }];
  let arguments = (ins StrAttr:$kind, FTL_RecordType:$record,
                       FTL_ModelType:$model);
  let results = (outs F64:$score);
  let assemblyFormat = "$kind $record `,` $model attr-dict";
}

def FTL_ConstantOp : FTL_Op<"constant", [Pure, ConstantLike]> {
  let summary = "a literal inside a record-level expression";
  let description = [{
    ```mlir
    %two = ftl.constant "2"
    %half = ftl.constant 5.000000e-01 : f64
    ```
  }];
  let arguments = (ins AnyAttr:$value);
  let results = (outs FTL_ValueType:$result);
  let assemblyFormat = "$value attr-dict";
  let hasFolder = 1;
}

def FTL_YieldOp : FTL_Op<"yield", [Pure, Terminator, ReturnLike]> {
  let summary = "ends a region, yielding its values";
  let description = [{
    ```mlir
    ftl.yield %m : i1
    ```
  }];
  let arguments = (ins Variadic<AnyType>:$values);
  let assemblyFormat = "($values^ `:` type($values))? attr-dict";
}

//===----------------------------------------------------------------------===//
// Generic built-in calls
//===----------------------------------------------------------------------===//

def FTL_MakeOp : FTL_Op<"make"> {
  let summary = "a descriptor: optimizer, schedule, judge, mask, dedup key...";
  let description = [{
    Built-ins that describe something used elsewhere (adamw, cosine, exec,
    minhash, random, key_tokens, pct, ...). Literal arguments are attributes;
    `operand_names` names the parameter each SSA operand binds.

    ```mlir
    %opt = ftl.make "adamw" () {lr = 3.0e-04 : f64, wd = 0.01 : f64,
        operand_names = []} : () -> !ftl.optimizer
    %key = ftl.make "minhash" () {of = "question", ngram = 5 : i64,
        operand_names = []} : () -> !ftl.dedup_key
    ```
  }];
  let arguments = (ins StrAttr:$name, Variadic<AnyType>:$inputs,
                       StrArrayAttr:$operand_names);
  let results = (outs FTL_AnyDescriptor:$result);
  let assemblyFormat =
      "$name `(` $inputs `)` attr-dict `:` functional-type($inputs, $result)";
  let hasVerifier = 1;
}

def FTL_LossOp : FTL_Op<"loss"> {
  let summary = "one loss term over data";
  let description = [{
    sft, lm, dpo, unlikelihood, kl, l2, l1. The data operand must have the
    fields the loss needs (checked by Sema).

    ```mlir
    %t = ftl.loss "sft"(%train) {on = "response", operand_names = ["d"]}
        : (!ftl.data) -> !ftl.objective
    ```
  }];
  let arguments = (ins StrAttr:$name, Variadic<AnyType>:$inputs,
                       StrArrayAttr:$operand_names);
  let results = (outs FTL_ObjectiveType:$objective);
  let assemblyFormat =
      "$name `(` $inputs `)` attr-dict `:` functional-type($inputs, $objective)";
  let hasVerifier = 1;
}

def FTL_MetricOp : FTL_Op<"metric"> {
  let summary = "evaluates a metric to a number";
  let description = [{
    ```mlir
    %acc = ftl.metric "exact_match"(%samples, %refs)
        {operand_names = ["predicted", "reference"]}
        : (!ftl.data, !ftl.column) -> f64
    ```
  }];
  let arguments = (ins StrAttr:$name, Variadic<AnyType>:$inputs,
                       StrArrayAttr:$operand_names);
  let results = (outs F64:$value);
  let assemblyFormat =
      "$name `(` $inputs `)` attr-dict `:` functional-type($inputs, $value)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Objectives
//===----------------------------------------------------------------------===//

def FTL_ObjectiveScaleOp : FTL_Op<"objective.scale", [Pure]> {
  let summary = "an objective multiplied by a weight";
  let description = [{
    ```mlir
    %w = arith.constant 0.5 : f64
    %s = ftl.objective.scale %t, %w : !ftl.objective
    ```
  }];
  let arguments = (ins FTL_ObjectiveType:$term, F64:$weight);
  let results = (outs FTL_ObjectiveType:$objective);
  let assemblyFormat = "$term `,` $weight attr-dict `:` type($objective)";
}

def FTL_ObjectiveSumOp : FTL_Op<"objective.sum",
    [Pure, AttrSizedOperandSegments]> {
  let summary = "the sum of objectives";
  let description = [{
    `balance` names a dynamic task weighting (loss_scale, coba, ...) when the
    sum came from `balance(...)`. With `coba`, `validation` holds one data
    set per term (each task's validation data) and the discardable
    attributes `warmup`, `history`, `tau` and `every` its settings.

    ```mlir
    %obj = ftl.objective.sum %a, %b : !ftl.objective
    %bal = ftl.objective.sum %a, %b validation %va, %vb {balance = "coba", warmup = 10 : i64} : !ftl.objective
    ```
  }];
  let arguments = (ins Variadic<FTL_ObjectiveType>:$terms,
                       Variadic<FTL_DataType>:$validation,
                       OptionalAttr<StrAttr>:$balance);
  let results = (outs FTL_ObjectiveType:$objective);
  let assemblyFormat = [{
    $terms (`validation` $validation^)? attr-dict `:` type($objective)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Adapters and trainability
//===----------------------------------------------------------------------===//

def FTL_AdapterOp : FTL_Op<"adapter"> {
  let summary = "trainable structure placed on a model's parameters";
  let description = [{
    `kind` is an adapter built-in (lora, sparse, half, prompt, ...), `config`
    its literal arguments, `selectors` the selectors as written and `tensors`
    the canonical tensors they resolve to. Extra operands (data for CorDA, a
    mask descriptor) follow the model, named by `operand_names`.

    ```mlir
    %a = ftl.adapter "lora" "a" on %base () {config = {rank = 8 : i64,
        alpha = 1.6e+01 : f64}, operand_names = [],
        selectors = ["base.layers[*].attn.{q, v}"],
        tensors = ["layers.0.attn.q.weight", "layers.0.attn.v.weight"]}
        : (!ftl.model) -> !ftl.adapter
    ```
  }];
  let arguments = (ins StrAttr:$kind, StrAttr:$name, FTL_ModelType:$model,
                       Variadic<AnyType>:$inputs, StrArrayAttr:$operand_names,
                       DictionaryAttr:$config, StrArrayAttr:$selectors,
                       StrArrayAttr:$tensors);
  let results = (outs FTL_AdapterType:$adapter);
  let assemblyFormat = [{
    $kind $name `on` $model `(` $inputs `)` attr-dict `:`
    functional-type(operands, $adapter)
  }];
  let hasVerifier = 1;
}

def FTL_ReinitOp : FTL_Op<"reinit"> {
  let summary = "gives parameters of a model their initial values again";
  let description = [{
    Each of `tensors` is initialised afresh exactly as when the model was
    built from the script's seed (top-layer re-initialisation).

    ```mlir
    ftl.reinit %base {tensors = ["layers.1.mlp.up.weight"]} : !ftl.model
    ```
  }];
  let arguments = (ins FTL_ModelType:$model, StrArrayAttr:$tensors);
  let assemblyFormat = "$model attr-dict `:` type($model)";
}

def FTL_FreezeOp : FTL_Op<"freeze"> {
  let summary = "freezes parameters of a model";
  let description = [{
    `tensors` stop training; `except_tensors` and the `adapters` operands stay
    trainable.

    ```mlir
    ftl.freeze %base except (%a) {tensors = ["embed.weight"],
        except_tensors = []} : !ftl.model, !ftl.adapter
    ```
  }];
  let arguments = (ins FTL_ModelType:$model, Variadic<FTL_AdapterType>:$adapters,
                       StrArrayAttr:$tensors, StrArrayAttr:$except_tensors);
  let assemblyFormat = [{
    $model `except` `(` $adapters `)` attr-dict `:` type($model)
    (`,` type($adapters)^)?
  }];
}

//===----------------------------------------------------------------------===//
// Training, evaluation, generation
//===----------------------------------------------------------------------===//

def FTL_TrainOp : FTL_Op<"train", [AttrSizedOperandSegments]> {
  let summary = "trains a model on an objective";
  let description = [{
    Updates the model's trainable parameters (and adapters) in place.
    Clauses are attributes (`steps`, `epochs`, `batch`, `seq`, `accumulate`,
    `clip`, ...); the optimizer, schedule and evaluation data are operands.
    Lowering turns this op into a step function (forward, objective,
    backward, optimizer update).

    ```mlir
    ftl.train %base with %obj using %opt schedule %sched
        {steps = 200 : i64, batch = 16 : i64, seq = 256 : i64}
    ```
  }];
  let arguments = (ins FTL_ModelType:$model, FTL_ObjectiveType:$objective,
                       Optional<FTL_OptimizerType>:$optimizer,
                       Optional<FTL_ScheduleType>:$schedule,
                       Optional<FTL_DataType>:$eval_data);
  let assemblyFormat = [{
    $model `with` $objective (`using` $optimizer^)? (`schedule` $schedule^)?
    (`eval_on` $eval_data^)? attr-dict
  }];
  let hasVerifier = 1;
}

def FTL_GenerateOp : FTL_Op<"generate"> {
  let summary = "samples completions of prompts from a model";
  let description = [{
    Each result record has `prompt`, `response` (the sample) and
    `sample_index`, plus the fields of the prompt's record (whose `response`
    is kept as `reference`).

    ```mlir
    %s = ftl.generate %base, %prompts {n = 4 : i64, temperature = 0.8 : f64,
        max_tokens = 64 : i64} : !ftl.column -> !ftl.data
    ```
  }];
  let arguments = (ins FTL_ModelType:$model, AnyType:$prompts);
  let results = (outs FTL_DataType:$samples);
  let assemblyFormat =
      "$model `,` $prompts attr-dict `:` type($prompts) `->` type($samples)";
  let hasVerifier = 1;
}

def FTL_JudgeOp : FTL_Op<"judge"> {
  let summary = "scores samples with a judge";
  let description = [{
    Adds `score`, `pass` and `feedback`; the parts `pass` and `fail` select
    by the verdict.

    ```mlir
    %j = ftl.judge %s, %exec : !ftl.data
    ```
  }];
  let arguments = (ins FTL_DataType:$samples, FTL_JudgeType:$judge);
  let results = (outs FTL_DataType:$judged);
  let assemblyFormat = "$samples `,` $judge attr-dict `:` type($judged)";
}

def FTL_EvalOp : FTL_Op<"eval"> {
  let summary = "a named evaluation, logged when it runs";
  let description = [{
    ```mlir
    %acc = ftl.eval "acc" %m : f64
    ```
  }];
  let arguments = (ins StrAttr:$name, F64:$metric);
  let results = (outs F64:$value);
  let assemblyFormat = "$name $metric attr-dict `:` type($value)";
}

//===----------------------------------------------------------------------===//
// Control flow and output
//===----------------------------------------------------------------------===//

def FTL_LoopOp : FTL_Op<"loop"> {
  let summary = "rounds of a pipeline";
  let description = [{
    Runs `body` for `var` from `lower` to `upper` inclusive. The body's block
    arguments are the round number (i64) and the current values of
    `iter_args` (data accumulated with `+=`); it yields their new values and,
    when `has_until` is set, a final i1: true ends the loop after that round.
    Each finished round is checkpointed so an interrupted run resumes.

    ```mlir
    %c1 = arith.constant 1 : i64
    %c3 = arith.constant 3 : i64
    ftl.loop "round" %c1 to %c3 attributes {has_until} {
    ^bb0(%round: i64):
      %done = arith.constant false
      ftl.yield %done : i1
    }
    ```
  }];
  let arguments = (ins StrAttr:$var, I64:$lower, I64:$upper,
                       Variadic<AnyType>:$iter_args, UnitAttr:$has_until);
  let results = (outs Variadic<AnyType>:$results);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = [{
    $var $lower `to` $upper (`iter_args` `(` $iter_args^ `:` type($iter_args) `)`)?
    attr-dict-with-keyword $body (`->` type($results)^)?
  }];
  let hasVerifier = 1;
}

def FTL_LogOp : FTL_Op<"log"> {
  let summary = "logs values to the run's metrics and the console";
  let description = [{
    ```mlir
    ftl.log %round, %acc {names = ["round", "acc"]} : i64, f64
    ```
  }];
  let arguments = (ins Variadic<AnyType>:$values, StrArrayAttr:$names);
  let assemblyFormat = "$values attr-dict `:` type($values)";
  let hasVerifier = 1;
}

def FTL_SaveOp : FTL_Op<"save"> {
  let summary = "writes a model, adapter or dataset to a folder or file";
  let description = [{
    Models become Hugging Face folders, adapters PEFT folders, data JSONL.
    Writes are atomic.

    ```mlir
    ftl.save %a to "out/adapter" : !ftl.adapter
    ```
  }];
  let arguments = (ins AnyType:$value, StrAttr:$path);
  let assemblyFormat = "$value `to` $path attr-dict `:` type($value)";
  let hasVerifier = 1;
}

#endif // FTL_DIALECT_FTL_IR_FTLOPS_TD
