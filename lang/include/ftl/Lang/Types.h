//===- ftl/Lang/Types.h - Types of .ftl values ------------------*- C++ -*-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// The types Sema assigns to expressions. Scalars (int, number, percent,
/// duration, string, regex, bool), pipeline values (model, tokenizer, data,
/// adapter, objective, optimizer, schedule, judge, metric, ...), lists, and
/// record-level values (`.answer =~ /x/` has type `record<bool>`: a value
/// computed per record inside a data operator). Data types carry a schema:
/// the fields known to exist and the named parts (`train`, `eval`, `pass`...).
///
//===----------------------------------------------------------------------===//

#ifndef FTL_LANG_TYPES_H
#define FTL_LANG_TYPES_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"

#include <deque>
#include <string>
#include <vector>

namespace ftl::lang {

struct ModelInfo;

/// The fields and parts known for a data value.
struct DataSchema {
  std::vector<std::string> fields;
  /// True when records may have fields beyond `fields` (e.g. a `data`
  /// parameter of a function, or a file that could not be inspected).
  bool open = false;
  /// Named parts: `split(eval: 10%)` gives `train` and `eval`; `judge` gives
  /// `pass` and `fail`.
  std::vector<std::string> parts;
  /// Where the data comes from, for messages ("'tasks'").
  std::string origin;

  bool hasField(llvm::StringRef name) const;
  std::string describeFields() const;
};

class Type {
public:
  enum class Kind {
    Error, ///< an error was already reported; suppresses follow-on errors
    Any,   ///< a value whose type is only known at run time (a raw field)
    Void,
    Bool,
    Int,
    Number,
    Percent,
    Duration,
    String,
    Regex,
    List,
    Range,
    Model,
    Tokenizer,
    Data,
    Column,
    Adapter,
    Objective,
    Optimizer,
    Schedule,
    Metric,
    Judge,
    DedupKey,
    Mask,
    TokenWeights,
    Selection,
    Percentile,
    Record, ///< a per-record value inside a data operator: record<T>
    Enum,   ///< a bare symbol (e.g. `response`) for an enum parameter
  };

  Kind getKind() const { return kind; }
  bool is(Kind k) const { return kind == k; }
  bool isError() const { return kind == Kind::Error; }
  bool isNumeric() const {
    return kind == Kind::Int || kind == Kind::Number || kind == Kind::Percent;
  }
  /// Element type of list<T>, column<T>, record<T>.
  const Type *getElement() const { return element; }
  const DataSchema *getSchema() const { return schema; }
  const ModelInfo *getModelInfo() const { return modelInfo; }
  /// For Column: the field name.
  llvm::StringRef getFieldName() const { return fieldName; }

  /// "a model", "data with fields prompt, response", "a list of strings".
  std::string describe() const;
  /// "model", "list<string>", "record<bool>".
  std::string str() const;

private:
  friend class TypeContext;
  Type(Kind kind) : kind(kind) {}

  Kind kind;
  const Type *element = nullptr;
  const DataSchema *schema = nullptr;
  const ModelInfo *modelInfo = nullptr;
  std::string fieldName;
};

/// Owns all types. Simple kinds are singletons; composite ones are created
/// on demand and live as long as the context.
class TypeContext {
public:
  TypeContext();
  ~TypeContext();

  const Type *get(Type::Kind kind) const { return simple[size_t(kind)]; }
  const Type *error() const { return get(Type::Kind::Error); }
  const Type *getList(const Type *element);
  const Type *getRecord(const Type *element);
  const Type *getColumn(const Type *element, llvm::StringRef field,
                        const DataSchema *schema);
  const Type *getData(DataSchema schema);
  const Type *getModel(const ModelInfo *info);
  const ModelInfo *addModelInfo(const ModelInfo &info);

private:
  Type *make(Type::Kind kind);
  std::vector<const Type *> simple;
  std::deque<Type> types;
  std::deque<DataSchema> schemas;
  std::deque<ModelInfo> *modelInfos;
};

} // namespace ftl::lang

#endif // FTL_LANG_TYPES_H
