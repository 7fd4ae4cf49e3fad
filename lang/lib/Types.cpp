//===- Types.cpp - Types of .ftl values -----------------------------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "ftl/Lang/Types.h"
#include "ftl/Lang/ParamTree.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"

using namespace ftl::lang;

bool DataSchema::hasField(llvm::StringRef name) const {
  return llvm::is_contained(fields, name);
}

std::string DataSchema::describeFields() const {
  if (fields.empty())
    return open ? "(unknown)" : "(none)";
  std::string out = llvm::join(fields, ", ");
  if (open)
    out += ", ...";
  return out;
}

static const char *kindName(Type::Kind kind) {
  switch (kind) {
  case Type::Kind::Error:
    return "<error>";
  case Type::Kind::Any:
    return "any";
  case Type::Kind::Void:
    return "void";
  case Type::Kind::Bool:
    return "bool";
  case Type::Kind::Int:
    return "int";
  case Type::Kind::Number:
    return "number";
  case Type::Kind::Percent:
    return "percent";
  case Type::Kind::Duration:
    return "duration";
  case Type::Kind::String:
    return "string";
  case Type::Kind::Regex:
    return "regex";
  case Type::Kind::List:
    return "list";
  case Type::Kind::Range:
    return "range";
  case Type::Kind::Model:
    return "model";
  case Type::Kind::Tokenizer:
    return "tokenizer";
  case Type::Kind::Data:
    return "data";
  case Type::Kind::Column:
    return "column";
  case Type::Kind::Adapter:
    return "adapter";
  case Type::Kind::Objective:
    return "objective";
  case Type::Kind::Optimizer:
    return "optimizer";
  case Type::Kind::Schedule:
    return "schedule";
  case Type::Kind::Metric:
    return "metric";
  case Type::Kind::Judge:
    return "judge";
  case Type::Kind::DedupKey:
    return "dedupkey";
  case Type::Kind::Mask:
    return "mask";
  case Type::Kind::TokenWeights:
    return "tokweights";
  case Type::Kind::Selection:
    return "selection";
  case Type::Kind::Percentile:
    return "percentile";
  case Type::Kind::Record:
    return "record";
  case Type::Kind::Enum:
    return "enum";
  }
  return "?";
}

std::string Type::str() const {
  switch (kind) {
  case Kind::List:
  case Kind::Column:
  case Kind::Record:
    return std::string(kindName(kind)) + "<" +
           (element ? element->str() : std::string("any")) + ">";
  default:
    return kindName(kind);
  }
}

std::string Type::describe() const {
  switch (kind) {
  case Kind::Error:
    return "an invalid value";
  case Kind::Any:
    return "a value";
  case Kind::Void:
    return "nothing";
  case Kind::Int:
    return "an integer";
  case Kind::Number:
    return "a number";
  case Kind::Percent:
    return "a percentage";
  case Kind::Duration:
    return "a duration";
  case Kind::String:
    return "a string";
  case Kind::Regex:
    return "a regular expression";
  case Kind::Bool:
    return "a boolean";
  case Kind::List:
    return "a list of " + (element ? element->str() : std::string("values"));
  case Kind::Range:
    return "a range";
  case Kind::Model:
    return "a model";
  case Kind::Tokenizer:
    return "a tokenizer";
  case Kind::Data:
    if (schema && !schema->fields.empty())
      return "data with fields " + schema->describeFields();
    return "data";
  case Kind::Column:
    return "the column '" + fieldName + "'";
  case Kind::Adapter:
    return "an adapter";
  case Kind::Objective:
    return "an objective";
  case Kind::Optimizer:
    return "an optimizer";
  case Kind::Schedule:
    return "a schedule";
  case Kind::Metric:
    return "a metric";
  case Kind::Judge:
    return "a judge";
  case Kind::DedupKey:
    return "a dedup key";
  case Kind::Mask:
    return "a mask";
  case Kind::TokenWeights:
    return "token weights";
  case Kind::Selection:
    return "a selection";
  case Kind::Percentile:
    return "a percentile";
  case Kind::Record:
    return "a per-record " +
           (element ? element->str() : std::string("value"));
  case Kind::Enum:
    return "a symbol";
  }
  return "a value";
}

TypeContext::TypeContext() : modelInfos(new std::deque<ModelInfo>()) {
  for (unsigned k = 0; k <= unsigned(Type::Kind::Enum); ++k)
    simple.push_back(make(Type::Kind(k)));
}

TypeContext::~TypeContext() { delete modelInfos; }

Type *TypeContext::make(Type::Kind kind) {
  types.push_back(Type(kind));
  return &types.back();
}

const Type *TypeContext::getList(const Type *element) {
  Type *t = make(Type::Kind::List);
  t->element = element;
  return t;
}

const Type *TypeContext::getRecord(const Type *element) {
  Type *t = make(Type::Kind::Record);
  t->element = element;
  return t;
}

const Type *TypeContext::getColumn(const Type *element, llvm::StringRef field,
                                   const DataSchema *schema) {
  Type *t = make(Type::Kind::Column);
  t->element = element;
  t->fieldName = field.str();
  t->schema = schema;
  return t;
}

const Type *TypeContext::getData(DataSchema schema) {
  schemas.push_back(std::move(schema));
  Type *t = make(Type::Kind::Data);
  t->schema = &schemas.back();
  return t;
}

const ModelInfo *TypeContext::addModelInfo(const ModelInfo &info) {
  modelInfos->push_back(info);
  return &modelInfos->back();
}

const Type *TypeContext::getModel(const ModelInfo *info) {
  Type *t = make(Type::Kind::Model);
  t->modelInfo = info;
  return t;
}
