//===- FTLDialect.td - The ftl pipeline dialect ------------*- tablegen -*-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#ifndef FTL_DIALECT_FTL_IR_FTLDIALECT_TD
#define FTL_DIALECT_FTL_IR_FTLDIALECT_TD

include "mlir/IR/OpBase.td"

def FTL_Dialect : Dialect {
  let name = "ftl";
  let cppNamespace = "::mlir::ftl";
  let summary = "The whole fine-tuning pipeline as IR";
  let description = [{
    The `ftl` dialect holds a checked `.ftl` pipeline: models, tokenizers,
    data sources and operators, adapters with their resolved parameters,
    objectives, training, evaluation, loops, generation, judging, logging and
    saving. Values of pipeline types are handles to runtime objects (a model
    is mutable: `ftl.train` updates it in place). Record-level expressions
    (filter predicates, mapped fields) live in regions that take one
    `!ftl.record` argument.

    Built-in calls that have no op of their own are carried by `ftl.data.op`,
    `ftl.loss`, `ftl.make` and `ftl.metric`, whose verifiers check the call
    against the language's built-in signature table.
  }];
  let useDefaultTypePrinterParser = 1;
}

class FTL_Op<string mnemonic, list<Trait> traits = []>
    : Op<FTL_Dialect, mnemonic, traits>;

#endif // FTL_DIALECT_FTL_IR_FTLDIALECT_TD
