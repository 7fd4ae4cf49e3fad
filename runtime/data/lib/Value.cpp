//===- Value.cpp - JSON-like values of record fields ----------------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "ftl/Data/Value.h"

#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cassert>
#include <charconv>
#include <cmath>
#include <new>

using namespace ftl::rt;

Value::Value(std::string s) : kind_(Kind::String) {
  new (&s_) std::string(std::move(s));
}

Value Value::list(std::vector<Value> items) {
  Value v;
  v.kind_ = Kind::List;
  new (&v.l_) std::vector<Value>(std::move(items));
  return v;
}

Value Value::object(std::vector<Member> members) {
  Value v;
  v.kind_ = Kind::Object;
  new (&v.o_) std::vector<Member>(std::move(members));
  return v;
}

Value::Value(const Value &other) : kind_(Kind::Null), i_(0) { copyFrom(other); }

Value::Value(Value &&other) noexcept : kind_(Kind::Null), i_(0) {
  moveFrom(std::move(other));
}

Value &Value::operator=(const Value &other) {
  if (this != &other) {
    Value tmp(other);
    destroy();
    moveFrom(std::move(tmp));
  }
  return *this;
}

Value &Value::operator=(Value &&other) noexcept {
  if (this != &other) {
    destroy();
    moveFrom(std::move(other));
  }
  return *this;
}

void Value::destroy() {
  switch (kind_) {
  case Kind::String:
    s_.~basic_string();
    break;
  case Kind::List:
    l_.~vector();
    break;
  case Kind::Object:
    o_.~vector();
    break;
  default:
    break;
  }
  kind_ = Kind::Null;
  i_ = 0;
}

void Value::copyFrom(const Value &other) {
  assert(kind_ == Kind::Null);
  switch (other.kind_) {
  case Kind::Null:
    i_ = 0;
    break;
  case Kind::Bool:
    b_ = other.b_;
    break;
  case Kind::Int:
    i_ = other.i_;
    break;
  case Kind::Double:
    d_ = other.d_;
    break;
  case Kind::String:
    new (&s_) std::string(other.s_);
    break;
  case Kind::List:
    new (&l_) std::vector<Value>(other.l_);
    break;
  case Kind::Object:
    new (&o_) std::vector<Member>(other.o_);
    break;
  }
  kind_ = other.kind_;
}

void Value::moveFrom(Value &&other) {
  assert(kind_ == Kind::Null);
  switch (other.kind_) {
  case Kind::Null:
    i_ = 0;
    break;
  case Kind::Bool:
    b_ = other.b_;
    break;
  case Kind::Int:
    i_ = other.i_;
    break;
  case Kind::Double:
    d_ = other.d_;
    break;
  case Kind::String:
    new (&s_) std::string(std::move(other.s_));
    break;
  case Kind::List:
    new (&l_) std::vector<Value>(std::move(other.l_));
    break;
  case Kind::Object:
    new (&o_) std::vector<Member>(std::move(other.o_));
    break;
  }
  kind_ = other.kind_;
  other.destroy();
}

bool Value::getBool() const {
  assert(kind_ == Kind::Bool);
  return b_;
}
int64_t Value::getInt() const {
  assert(kind_ == Kind::Int);
  return i_;
}
double Value::getNumber() const {
  assert(isNumber());
  return kind_ == Kind::Int ? static_cast<double>(i_) : d_;
}
llvm::StringRef Value::getString() const {
  assert(kind_ == Kind::String);
  return s_;
}
std::string &Value::getStringRef() {
  assert(kind_ == Kind::String);
  return s_;
}
const std::vector<Value> &Value::getList() const {
  assert(kind_ == Kind::List);
  return l_;
}
std::vector<Value> &Value::getList() {
  assert(kind_ == Kind::List);
  return l_;
}
const std::vector<Member> &Value::getObject() const {
  assert(kind_ == Kind::Object);
  return o_;
}
std::vector<Member> &Value::getObject() {
  assert(kind_ == Kind::Object);
  return o_;
}

const Value *Value::find(llvm::StringRef key) const {
  if (kind_ != Kind::Object)
    return nullptr;
  for (const Member &m : o_)
    if (m.name == key)
      return &m.value;
  return nullptr;
}

Value *Value::find(llvm::StringRef key) {
  return const_cast<Value *>(static_cast<const Value *>(this)->find(key));
}

bool Value::operator==(const Value &other) const {
  if (isNumber() && other.isNumber()) {
    if (kind_ == Kind::Int && other.kind_ == Kind::Int)
      return i_ == other.i_;
    return getNumber() == other.getNumber();
  }
  if (kind_ != other.kind_)
    return false;
  switch (kind_) {
  case Kind::Null:
    return true;
  case Kind::Bool:
    return b_ == other.b_;
  case Kind::String:
    return s_ == other.s_;
  case Kind::List:
    return l_ == other.l_;
  case Kind::Object: {
    if (o_.size() != other.o_.size())
      return false;
    for (const Member &m : o_) {
      const Value *o = other.find(m.name);
      if (!o || *o != m.value)
        return false;
    }
    return true;
  }
  default:
    return false;
  }
}

llvm::StringRef Value::kindName() const {
  switch (kind_) {
  case Kind::Null:
    return "null";
  case Kind::Bool:
    return "bool";
  case Kind::Int:
  case Kind::Double:
    return "number";
  case Kind::String:
    return "string";
  case Kind::List:
    return "list";
  case Kind::Object:
    return "object";
  }
  return "?";
}

void ftl::rt::writeJsonString(llvm::raw_ostream &os, llvm::StringRef s) {
  static const char hex[] = "0123456789abcdef";
  os << '"';
  size_t start = 0;
  for (size_t i = 0, e = s.size(); i < e; ++i) {
    unsigned char c = s[i];
    if (c >= 0x20 && c != '"' && c != '\\')
      continue;
    os << s.slice(start, i);
    start = i + 1;
    switch (c) {
    case '"':
      os << "\\\"";
      break;
    case '\\':
      os << "\\\\";
      break;
    case '\n':
      os << "\\n";
      break;
    case '\r':
      os << "\\r";
      break;
    case '\t':
      os << "\\t";
      break;
    case '\b':
      os << "\\b";
      break;
    case '\f':
      os << "\\f";
      break;
    default:
      os << "\\u00" << hex[c >> 4] << hex[c & 15];
      break;
    }
  }
  os << s.substr(start) << '"';
}

static void writeDouble(llvm::raw_ostream &os, double d) {
  if (!std::isfinite(d)) {
    // JSON has no literal for these; null is what JSON writers emit.
    os << "null";
    return;
  }
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof(buf), d);
  llvm::StringRef text(buf, res.ptr - buf);
  os << text;
  // Keep the value a double when read back.
  if (text.find_first_of(".eEn") == llvm::StringRef::npos)
    os << ".0";
}

static void writeJsonImpl(llvm::raw_ostream &os, const Value &v,
                          bool canonical) {
  switch (v.kind()) {
  case Value::Kind::Null:
    os << "null";
    return;
  case Value::Kind::Bool:
    os << (v.getBool() ? "true" : "false");
    return;
  case Value::Kind::Int:
    os << v.getInt();
    return;
  case Value::Kind::Double:
    writeDouble(os, v.getNumber());
    return;
  case Value::Kind::String:
    writeJsonString(os, v.getString());
    return;
  case Value::Kind::List: {
    os << '[';
    bool first = true;
    for (const Value &item : v.getList()) {
      if (!first)
        os << ',';
      first = false;
      writeJsonImpl(os, item, canonical);
    }
    os << ']';
    return;
  }
  case Value::Kind::Object: {
    std::vector<const Member *> members;
    for (const Member &m : v.getObject())
      members.push_back(&m);
    if (canonical)
      std::sort(
          members.begin(), members.end(),
          [](const Member *a, const Member *b) { return a->name < b->name; });
    os << '{';
    bool first = true;
    for (const Member *m : members) {
      if (!first)
        os << ',';
      first = false;
      writeJsonString(os, m->name);
      os << ':';
      writeJsonImpl(os, m->value, canonical);
    }
    os << '}';
    return;
  }
  }
}

void Value::writeJson(llvm::raw_ostream &os) const {
  writeJsonImpl(os, *this, /*canonical=*/false);
}

void Value::writeCanonicalJson(llvm::raw_ostream &os) const {
  writeJsonImpl(os, *this, /*canonical=*/true);
}

std::string Value::toJson() const {
  std::string out;
  llvm::raw_string_ostream os(out);
  writeJson(os);
  return out;
}

size_t ftl::rt::countCodePoints(llvm::StringRef s) {
  size_t n = 0;
  for (unsigned char c : s)
    n += (c & 0xC0) != 0x80;
  return n;
}
