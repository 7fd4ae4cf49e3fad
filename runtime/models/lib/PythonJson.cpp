//===- PythonJson.cpp - JSON text the way Python's json module writes it --===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "PythonJson.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

using namespace ftl::rt;
namespace json = llvm::json;

void ftl::rt::writePythonJsonString(llvm::raw_ostream &os,
                                    llvm::StringRef text) {
  auto hex4 = [&](unsigned v) {
    os << "\\u" << llvm::format_hex_no_prefix(v, 4, /*Upper=*/false);
  };
  os << '"';
  size_t i = 0;
  while (i < text.size()) {
    unsigned char c = text[i];
    uint32_t cp = 0xFFFD;
    size_t len = 1;
    auto cont = [&](size_t k) {
      return static_cast<uint32_t>(static_cast<unsigned char>(text[i + k]) &
                                   0x3F);
    };
    if (c < 0x80) {
      cp = c;
    } else if ((c >> 5) == 0x6 && i + 1 < text.size()) {
      cp = ((c & 0x1Fu) << 6) | cont(1);
      len = 2;
    } else if ((c >> 4) == 0xE && i + 2 < text.size()) {
      cp = ((c & 0x0Fu) << 12) | (cont(1) << 6) | cont(2);
      len = 3;
    } else if ((c >> 3) == 0x1E && i + 3 < text.size()) {
      cp = ((c & 0x07u) << 18) | (cont(1) << 12) | (cont(2) << 6) | cont(3);
      len = 4;
    }
    i += len;
    switch (cp) {
    case '"':
      os << "\\\"";
      continue;
    case '\\':
      os << "\\\\";
      continue;
    case '\n':
      os << "\\n";
      continue;
    case '\r':
      os << "\\r";
      continue;
    case '\t':
      os << "\\t";
      continue;
    case '\b':
      os << "\\b";
      continue;
    case '\f':
      os << "\\f";
      continue;
    default:
      break;
    }
    if (cp >= 0x20 && cp <= 0x7E) {
      os << static_cast<char>(cp);
    } else if (cp < 0x10000) {
      hex4(cp);
    } else {
      uint32_t v = cp - 0x10000;
      hex4(0xD800 + (v >> 10));
      hex4(0xDC00 + (v & 0x3FF));
    }
  }
  os << '"';
}

std::string ftl::rt::pythonFloatRepr(double value) {
  if (std::isnan(value))
    return "NaN";
  if (std::isinf(value))
    return value > 0 ? "Infinity" : "-Infinity";
  if (value == 0)
    return std::signbit(value) ? "-0.0" : "0.0";
  // Shortest "%.Ne" that reads back as the same double.
  char buf[64];
  for (int precision = 0; precision < 17; ++precision) {
    std::snprintf(buf, sizeof(buf), "%.*e", precision, value);
    if (std::strtod(buf, nullptr) == value)
      break;
  }
  llvm::StringRef text(buf);
  bool negative = text.consume_front("-");
  auto [mantissa, exponentText] = text.split('e');
  int exponent = std::atoi(exponentText.str().c_str());
  std::string digits;
  for (char ch : mantissa)
    if (ch != '.')
      digits += ch;
  while (digits.size() > 1 && digits.back() == '0')
    digits.pop_back();

  std::string out = negative ? "-" : "";
  if (exponent < -4 || exponent >= 16) {
    out += digits[0];
    if (digits.size() > 1)
      out += "." + digits.substr(1);
    char e[16];
    std::snprintf(e, sizeof(e), "e%c%02d", exponent < 0 ? '-' : '+',
                  std::abs(exponent));
    out += e;
    return out;
  }
  if (exponent < 0) {
    out += "0." + std::string(static_cast<size_t>(-exponent - 1), '0') + digits;
    return out;
  }
  size_t intDigits = static_cast<size_t>(exponent) + 1;
  if (digits.size() <= intDigits) {
    out += digits + std::string(intDigits - digits.size(), '0') + ".0";
    return out;
  }
  out += digits.substr(0, intDigits) + "." + digits.substr(intDigits);
  return out;
}

static void dump(llvm::raw_ostream &os, const json::Value &value, int indent,
                 int depth) {
  auto newline = [&](int level) {
    os << '\n';
    os.indent(static_cast<unsigned>(indent * level));
  };
  switch (value.kind()) {
  case json::Value::Null:
    os << "null";
    return;
  case json::Value::Boolean:
    os << (*value.getAsBoolean() ? "true" : "false");
    return;
  case json::Value::Number:
    if (auto u = value.getAsUINT64())
      os << *u;
    else if (auto i = value.getAsInteger(); i && *i < 0)
      os << *i;
    else
      os << pythonFloatRepr(*value.getAsNumber());
    return;
  case json::Value::String:
    writePythonJsonString(os, *value.getAsString());
    return;
  case json::Value::Array: {
    const json::Array &array = *value.getAsArray();
    if (array.empty()) {
      os << "[]";
      return;
    }
    os << '[';
    for (size_t i = 0; i < array.size(); ++i) {
      if (i)
        os << ',';
      newline(depth + 1);
      dump(os, array[i], indent, depth + 1);
    }
    newline(depth);
    os << ']';
    return;
  }
  case json::Value::Object: {
    const json::Object &object = *value.getAsObject();
    if (object.empty()) {
      os << "{}";
      return;
    }
    std::vector<llvm::StringRef> keys;
    for (const auto &kv : object)
      keys.push_back(kv.first);
    llvm::sort(keys);
    os << '{';
    for (size_t i = 0; i < keys.size(); ++i) {
      if (i)
        os << ',';
      newline(depth + 1);
      writePythonJsonString(os, keys[i]);
      os << ": ";
      dump(os, *object.get(keys[i]), indent, depth + 1);
    }
    newline(depth);
    os << '}';
    return;
  }
  }
}

std::string ftl::rt::pythonJsonDumps(const json::Value &value, int indent) {
  std::string text;
  llvm::raw_string_ostream os(text);
  dump(os, value, indent, 0);
  return text;
}
