//===- ftl/Data/Value.h - JSON-like values of record fields -----*- C++ -*-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// `Value` is what a record field holds: null, a bool, a number (kept as an
/// int64 when the JSON literal is an integer that fits, else a double), a
/// UTF-8 string, a list, or an object whose members keep their file order.
/// It is a compact tagged union (40 bytes) so lists of token ids stay cheap.
///
//===----------------------------------------------------------------------===//

#ifndef FTL_DATA_VALUE_H
#define FTL_DATA_VALUE_H

#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <string>
#include <vector>

namespace llvm {
class raw_ostream;
} // namespace llvm

namespace ftl::rt {

struct Member;

class Value {
public:
  enum class Kind : uint8_t { Null, Bool, Int, Double, String, List, Object };

  Value() : kind_(Kind::Null), i_(0) {}
  Value(std::nullptr_t) : Value() {}
  Value(bool b) : kind_(Kind::Bool), b_(b) {}
  Value(int v) : kind_(Kind::Int), i_(v) {}
  Value(int64_t v) : kind_(Kind::Int), i_(v) {}
  Value(double v) : kind_(Kind::Double), d_(v) {}
  Value(std::string s);
  Value(llvm::StringRef s) : Value(s.str()) {}
  Value(const char *s) : Value(std::string(s)) {}
  static Value list(std::vector<Value> items = {});
  static Value object(std::vector<Member> members = {});

  Value(const Value &other);
  Value(Value &&other) noexcept;
  Value &operator=(const Value &other);
  Value &operator=(Value &&other) noexcept;
  ~Value() { destroy(); }

  Kind kind() const { return kind_; }
  bool isNull() const { return kind_ == Kind::Null; }
  bool isBool() const { return kind_ == Kind::Bool; }
  bool isInt() const { return kind_ == Kind::Int; }
  bool isNumber() const { return kind_ == Kind::Int || kind_ == Kind::Double; }
  bool isString() const { return kind_ == Kind::String; }
  bool isList() const { return kind_ == Kind::List; }
  bool isObject() const { return kind_ == Kind::Object; }

  /// Accessors; the kind must match (checked with assert).
  bool getBool() const;
  int64_t getInt() const;
  /// Int or Double as a double.
  double getNumber() const;
  llvm::StringRef getString() const;
  std::string &getStringRef();
  const std::vector<Value> &getList() const;
  std::vector<Value> &getList();
  const std::vector<Member> &getObject() const;
  std::vector<Member> &getObject();

  /// The member `key` of an object, or null when absent or not an object.
  const Value *find(llvm::StringRef key) const;
  Value *find(llvm::StringRef key);

  /// Deep equality; an Int and a Double are equal when numerically equal.
  bool operator==(const Value &other) const;
  bool operator!=(const Value &other) const { return !(*this == other); }

  /// "null", "bool", "number", "string", "list", "object".
  llvm::StringRef kindName() const;

  /// Compact JSON (members in their order, strings escaped, non-ASCII kept as
  /// UTF-8, doubles in shortest round-trip form).
  void writeJson(llvm::raw_ostream &os) const;
  std::string toJson() const;
  /// Like writeJson but object members sorted by name: a canonical form for
  /// hashing whole records.
  void writeCanonicalJson(llvm::raw_ostream &os) const;

private:
  void destroy();
  void copyFrom(const Value &other);
  void moveFrom(Value &&other);

  Kind kind_;
  union {
    bool b_;
    int64_t i_;
    double d_;
    std::string s_;
    std::vector<Value> l_;
    std::vector<Member> o_;
  };
};

struct Member {
  std::string name;
  Value value;
};

/// Writes `s` as a JSON string literal (with quotes).
void writeJsonString(llvm::raw_ostream &os, llvm::StringRef s);

/// The number of Unicode code points in valid UTF-8 `s`.
size_t countCodePoints(llvm::StringRef s);

} // namespace ftl::rt

#endif // FTL_DATA_VALUE_H
