//===- JsonText.cpp - JSON text with readable numbers and key order -------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "JsonText.h"

#include "llvm/ADT/SmallVector.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <charconv>
#include <cmath>

using namespace ftl::rt;
using llvm::StringRef;
namespace json = llvm::json;

std::string detail::formatJsonNumber(double value) {
  if (!std::isfinite(value))
    return "null";
  char buffer[64];
  auto result = std::to_chars(buffer, buffer + sizeof(buffer), value);
  return std::string(buffer, result.ptr);
}

/// Indented output keeps small arrays and objects (up to this many
/// characters) on one line: shapes, tensor entries, seeds.
static constexpr size_t kInlineLimit = 72;

static void emit(json::OStream &out, const json::Value &value,
                 llvm::ArrayRef<StringRef> leadingKeys, bool pretty, bool top) {
  if (pretty && !top &&
      (value.kind() == json::Value::Array ||
       value.kind() == json::Value::Object)) {
    std::string compact = detail::toJsonText(value, 0, leadingKeys);
    if (compact.size() <= kInlineLimit) {
      out.rawValue(compact);
      return;
    }
  }
  switch (value.kind()) {
  case json::Value::Null:
  case json::Value::Boolean:
  case json::Value::String:
    out.value(value);
    return;
  case json::Value::Number: {
    if (std::optional<int64_t> i = value.getAsInteger()) {
      out.value(*i);
      return;
    }
    if (std::optional<uint64_t> u = value.getAsUINT64()) {
      out.value(*u);
      return;
    }
    std::string text = detail::formatJsonNumber(*value.getAsNumber());
    out.rawValue(text);
    return;
  }
  case json::Value::Array:
    out.arrayBegin();
    for (const json::Value &element : *value.getAsArray())
      emit(out, element, leadingKeys, pretty, false);
    out.arrayEnd();
    return;
  case json::Value::Object: {
    const json::Object &object = *value.getAsObject();
    llvm::SmallVector<StringRef, 16> keys;
    for (StringRef key : leadingKeys)
      if (object.find(key) != object.end())
        keys.push_back(key);
    size_t firstSorted = keys.size();
    for (const auto &entry : object) {
      StringRef key = entry.first;
      if (std::find(leadingKeys.begin(), leadingKeys.end(), key) ==
          leadingKeys.end())
        keys.push_back(key);
    }
    std::sort(keys.begin() + firstSorted, keys.end());
    out.objectBegin();
    for (StringRef key : keys) {
      out.attributeBegin(key);
      emit(out, *object.get(key), leadingKeys, pretty, false);
      out.attributeEnd();
    }
    out.objectEnd();
    return;
  }
  }
}

void detail::writeJson(llvm::raw_ostream &os, const json::Value &value,
                       unsigned indent, llvm::ArrayRef<StringRef> leadingKeys) {
  json::OStream out(os, indent);
  emit(out, value, leadingKeys, indent > 0, true);
}

std::string detail::toJsonText(const json::Value &value, unsigned indent,
                               llvm::ArrayRef<StringRef> leadingKeys) {
  std::string text;
  llvm::raw_string_ostream os(text);
  writeJson(os, value, indent, leadingKeys);
  os.flush();
  return text;
}

std::string detail::describeJsonError(llvm::Error error) {
  std::string message = llvm::toString(std::move(error));
  if (!message.empty())
    message[0] = static_cast<char>(std::tolower(message[0]));
  return message;
}
