//===- ftl/Data/Record.h - Records, field mapping, provenance ---*- C++ -*-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// A record is an ordered set of named fields (`Value`s) read from a source,
/// plus the source's field mapping (`prompt: .question` makes `prompt` an
/// alias of the raw field `question`; raw fields stay visible) and its
/// provenance: source file, 1-based line, index in the source and the chain
/// of operators applied, so errors and audits can name it.
///
//===----------------------------------------------------------------------===//

#ifndef FTL_DATA_RECORD_H
#define FTL_DATA_RECORD_H

#include "ftl/Data/Value.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/Support/Error.h"

#include <memory>
#include <string>
#include <vector>

namespace ftl::rt {

/// One link of the operator chain a record went through ("jsonl", "filter",
/// ...). Links are shared by every record that took the same path.
struct OpChain {
  std::string name;
  std::shared_ptr<const OpChain> parent;

  /// "jsonl > filter > dedup".
  std::string str() const;
};

/// A field name of a mapping and the raw path it stands for.
struct FieldAlias {
  std::string name;
  /// Keys from the record root: `.meta.q` is {"meta", "q"}.
  std::vector<std::string> path;
};

/// Shared by all records of a source.
struct FieldMapping {
  std::vector<FieldAlias> aliases;
  const FieldAlias *find(llvm::StringRef name) const;
};

/// Parses ".question" or ".meta.question" (the leading dot is optional) into
/// keys. Errors name the text.
llvm::Expected<std::vector<std::string>> parseFieldPath(llvm::StringRef text);

struct Provenance {
  /// The file (or in-memory source name) the record came from.
  std::shared_ptr<const std::string> source;
  /// 1-based line of the record's first byte; 0 when not from a line.
  int64_t line = 0;
  /// 0-based index of the record among its source's valid records.
  int64_t index = -1;
  /// The last operator applied (null when straight from the source).
  std::shared_ptr<const OpChain> chain;

  /// "data/x.jsonl:17", "data/x.jsonl#3" or "record #3".
  std::string where() const;
  /// "jsonl > filter" (empty when there is no chain).
  std::string chainString() const;
};

class Record {
public:
  Record() = default;
  explicit Record(std::vector<Member> fields) : fields_(std::move(fields)) {}

  /// Raw fields in source order.
  const std::vector<Member> &fields() const { return fields_; }
  std::vector<Member> &fields() { return fields_; }

  const std::shared_ptr<const FieldMapping> &mapping() const {
    return mapping_;
  }
  void setMapping(std::shared_ptr<const FieldMapping> m) {
    mapping_ = std::move(m);
  }

  Provenance &provenance() { return prov_; }
  const Provenance &provenance() const { return prov_; }

  /// The field `name`: an alias of the mapping wins over a raw field of the
  /// same name; a dotted name ("meta.q") looks inside objects. Null when
  /// there is none.
  const Value *get(llvm::StringRef name) const;

  /// Like get(), but a missing field is an error that names the record and
  /// its fields: "data/x.jsonl:17: record has no field 'answer' (fields:
  /// question, id)".
  llvm::Expected<const Value *> require(llvm::StringRef name) const;

  /// Like require() and the value must be a string.
  llvm::Expected<llvm::StringRef> requireString(llvm::StringRef name) const;

  /// Sets a raw field (replacing one of that name, else appending) and drops
  /// an alias of that name so the new value is what get() sees.
  void set(llvm::StringRef name, Value value);

  /// Raw field names, then alias names not also raw.
  std::vector<std::string> fieldNames() const;

  /// "question, id" (+ "; aliases: prompt = .question") for messages.
  std::string describeFields() const;

  /// The raw fields as a JSON object.
  Value toObject() const;

  /// Records an operator in the provenance chain (cheaply: pass the link
  /// the operator made for this record's previous chain; see ChainCache).
  void setChain(std::shared_ptr<const OpChain> chain) {
    prov_.chain = std::move(chain);
  }

private:
  std::vector<Member> fields_;
  std::shared_ptr<const FieldMapping> mapping_;
  Provenance prov_;
};

/// Makes one OpChain link per distinct parent so that a stream of records
/// through an operator shares links.
class ChainCache {
public:
  explicit ChainCache(std::string name) : name(std::move(name)) {}
  void apply(Record &r);

private:
  std::string name;
  std::shared_ptr<const OpChain> lastParent;
  std::shared_ptr<const OpChain> lastLink;
  bool valid = false;
};

/// An error about a record: "<where>: <message>".
llvm::Error recordError(const Record &r, const llvm::Twine &message);

} // namespace ftl::rt

#endif // FTL_DATA_RECORD_H
