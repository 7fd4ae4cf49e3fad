//===- FTLTypes.td - Types of the ftl dialect --------------*- tablegen -*-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#ifndef FTL_DIALECT_FTL_IR_FTLTYPES_TD
#define FTL_DIALECT_FTL_IR_FTLTYPES_TD

include "ftl/Dialect/FTL/IR/FTLDialect.td"
include "mlir/IR/AttrTypeBase.td"

class FTL_Type<string name, string typeMnemonic, string doc>
    : TypeDef<FTL_Dialect, name> {
  let mnemonic = typeMnemonic;
  let summary = doc;
}

def FTL_ModelType : FTL_Type<"Model", "model",
    "a model: parameters, their trainability and attached adapters">;
def FTL_TokenizerType : FTL_Type<"Tokenizer", "tokenizer", "a tokenizer">;
def FTL_DataType : FTL_Type<"Data", "data", "a stream of records">;
def FTL_ColumnType : FTL_Type<"Column", "column",
    "one field of every record of a dataset">;
def FTL_AdapterType : FTL_Type<"Adapter", "adapter",
    "trainable structure placed on a model">;
def FTL_ObjectiveType : FTL_Type<"Objective", "objective",
    "a weighted sum of loss terms over data">;
def FTL_OptimizerType : FTL_Type<"Optimizer", "optimizer", "an optimizer">;
def FTL_ScheduleType : FTL_Type<"Schedule", "schedule",
    "a learning-rate schedule">;
def FTL_JudgeType : FTL_Type<"Judge", "judge", "something that scores samples">;
def FTL_DedupKeyType : FTL_Type<"DedupKey", "dedup_key",
    "how records are compared for deduplication">;
def FTL_MaskType : FTL_Type<"Mask", "mask",
    "a choice of positions or parameter entries">;
def FTL_TokenWeightsType : FTL_Type<"TokenWeights", "token_weights",
    "per-token loss weights">;
def FTL_SelectionType : FTL_Type<"Selection", "selection",
    "a rule that selects records">;
def FTL_PercentileType : FTL_Type<"Percentile", "percentile",
    "a percentile of a score over a dataset">;
def FTL_RecordType : FTL_Type<"Record", "record",
    "the record a record-level expression is evaluated on">;
def FTL_ValueType : FTL_Type<"Value", "value",
    "a field value whose type is known only at run time">;

def FTL_AnyDescriptor : AnyTypeOf<[FTL_OptimizerType, FTL_ScheduleType,
    FTL_JudgeType, FTL_DedupKeyType, FTL_MaskType, FTL_TokenWeightsType,
    FTL_SelectionType, FTL_PercentileType]>;

#endif // FTL_DIALECT_FTL_IR_FTLTYPES_TD
