//===- Json.cpp - Fast JSON and UTF-8 for JSON lines ----------------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "ftl/Data/Json.h"

#include "llvm/ADT/StringSet.h"

#include <charconv>
#include <cmath>
#include <cstring>

using namespace ftl::rt;

// Length of the well-formed UTF-8 sequence at p (> 0), or minus the length of
// its maximal ill-formed subpart (Unicode 15, section 3.9, U+FFFD policy).
static int utf8Step(const unsigned char *p, const unsigned char *e) {
  unsigned char c = p[0];
  if (c < 0x80)
    return 1;
  int need;
  unsigned char lo = 0x80, hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) {
    need = 1;
  } else if (c == 0xE0) {
    need = 2;
    lo = 0xA0;
  } else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) {
    need = 2;
  } else if (c == 0xED) {
    need = 2;
    hi = 0x9F;
  } else if (c == 0xF0) {
    need = 3;
    lo = 0x90;
  } else if (c >= 0xF1 && c <= 0xF3) {
    need = 3;
  } else if (c == 0xF4) {
    need = 3;
    hi = 0x8F;
  } else {
    return -1;
  }
  for (int k = 1; k <= need; ++k) {
    if (p + k >= e)
      return -k;
    unsigned char b = p[k];
    bool ok = k == 1 ? (b >= lo && b <= hi) : (b >= 0x80 && b <= 0xBF);
    if (!ok)
      return -k;
  }
  return need + 1;
}

size_t ftl::rt::findInvalidUtf8(llvm::StringRef s) {
  auto *b = reinterpret_cast<const unsigned char *>(s.data());
  auto *e = b + s.size();
  const unsigned char *p = b;
  while (p < e) {
    // Fast path over ASCII, 8 bytes at a time.
    while (e - p >= 8) {
      uint64_t w;
      std::memcpy(&w, p, 8);
      if (w & 0x8080808080808080ULL)
        break;
      p += 8;
    }
    if (p >= e)
      break;
    if (*p < 0x80) {
      ++p;
      continue;
    }
    int n = utf8Step(p, e);
    if (n < 0)
      return p - b;
    p += n;
  }
  return llvm::StringRef::npos;
}

void ftl::rt::appendUtf8(std::string &out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

static const char kReplacement[] = "\xEF\xBF\xBD";

std::string ftl::rt::repairUtf8(llvm::StringRef s) {
  std::string out;
  out.reserve(s.size());
  auto *p = reinterpret_cast<const unsigned char *>(s.data());
  auto *e = p + s.size();
  while (p < e) {
    int n = utf8Step(p, e);
    if (n > 0) {
      out.append(reinterpret_cast<const char *>(p), n);
      p += n;
    } else {
      out += kReplacement;
      p += -n;
    }
  }
  return out;
}

namespace {

class Parser {
public:
  Parser(llvm::StringRef text, JsonParseError &err,
         const JsonParseOptions &opts)
      : begin(text.data()), p(text.data()), end(text.data() + text.size()),
        err(err), opts(opts) {}

  bool parseDocument(Value &out) {
    skipWs();
    if (p == end)
      return fail(p, "expected a JSON value, found end of line");
    if (!parseValue(out, 0))
      return false;
    skipWs();
    if (p != end)
      return fail(p, "unexpected " + describe(p) + " after the JSON value");
    return true;
  }

private:
  const char *begin, *p, *end;
  JsonParseError &err;
  const JsonParseOptions &opts;

  bool fail(const char *at, std::string message, bool utf8 = false) {
    err.offset = at - begin;
    err.message = std::move(message);
    err.invalidUtf8 = utf8;
    return false;
  }

  std::string describe(const char *at) const {
    if (at >= end)
      return "end of line";
    unsigned char c = *at;
    if (c >= 0x21 && c < 0x7F)
      return std::string("'") + static_cast<char>(c) + "'";
    if (c == ' ')
      return "a space";
    static const char hex[] = "0123456789abcdef";
    std::string s = "byte 0x";
    s += hex[c >> 4];
    s += hex[c & 15];
    return s;
  }

  void skipWs() {
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
      ++p;
  }

  bool parseValue(Value &out, unsigned depth) {
    switch (*p) {
    case '{':
      return parseObject(out, depth);
    case '[':
      return parseList(out, depth);
    case '"': {
      std::string s;
      if (!parseString(s))
        return false;
      out = Value(std::move(s));
      return true;
    }
    case 't':
      return parseLiteral("true", Value(true), out);
    case 'f':
      return parseLiteral("false", Value(false), out);
    case 'n':
      return parseLiteral("null", Value(), out);
    default:
      if (*p == '-' || (*p >= '0' && *p <= '9'))
        return parseNumber(out);
      if (static_cast<unsigned char>(*p) >= 0x80 &&
          utf8Step(reinterpret_cast<const unsigned char *>(p),
                   reinterpret_cast<const unsigned char *>(end)) < 0)
        return fail(p,
                    "invalid UTF-8: " + describe(p) +
                        " is not part of a valid character",
                    true);
      return fail(p, "expected a JSON value, found " + describe(p));
    }
  }

  bool parseLiteral(llvm::StringRef word, Value v, Value &out) {
    if (static_cast<size_t>(end - p) < word.size() ||
        std::memcmp(p, word.data(), word.size()) != 0) {
      const char *q = p;
      while (q < end && ((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z')))
        ++q;
      return fail(p, "expected a JSON value, found '" +
                         std::string(p, q == p ? 1 : q - p) + "'");
    }
    p += word.size();
    out = std::move(v);
    return true;
  }

  bool enter(unsigned depth) {
    if (depth + 1 > opts.maxDepth)
      return fail(p, "nesting deeper than " + std::to_string(opts.maxDepth) +
                         " levels");
    return true;
  }

  bool parseList(Value &out, unsigned depth) {
    if (!enter(depth))
      return false;
    ++p; // '['
    std::vector<Value> items;
    skipWs();
    if (p < end && *p == ']') {
      ++p;
      out = Value::list(std::move(items));
      return true;
    }
    while (true) {
      skipWs();
      if (p == end)
        return fail(p, "expected a list element, found end of line");
      items.emplace_back();
      if (!parseValue(items.back(), depth + 1))
        return false;
      skipWs();
      if (p == end)
        return fail(p, "expected ',' or ']' in a list, found end of line");
      if (*p == ',') {
        ++p;
        continue;
      }
      if (*p == ']') {
        ++p;
        break;
      }
      return fail(p, "expected ',' or ']' in a list, found " + describe(p));
    }
    out = Value::list(std::move(items));
    return true;
  }

  bool parseObject(Value &out, unsigned depth) {
    if (!enter(depth))
      return false;
    ++p; // '{'
    std::vector<Member> members;
    members.reserve(4);
    llvm::StringSet<> seen; // only used once an object is large
    skipWs();
    if (p < end && *p == '}') {
      ++p;
      out = Value::object(std::move(members));
      return true;
    }
    while (true) {
      skipWs();
      if (p == end || *p != '"')
        return fail(p,
                    "expected a string key in an object, found " + describe(p));
      const char *keyStart = p;
      std::string key;
      if (!parseString(key))
        return false;
      // Duplicate keys make a record ambiguous: refuse them.
      bool dup = false;
      if (members.size() < 16) {
        for (const Member &m : members)
          if (m.name == key) {
            dup = true;
            break;
          }
      } else {
        if (seen.empty())
          for (const Member &m : members)
            seen.insert(m.name);
        dup = !seen.insert(key).second;
      }
      if (dup)
        return fail(keyStart, "duplicate key \"" + key + "\" in an object");
      skipWs();
      if (p == end || *p != ':')
        return fail(p,
                    "expected ':' after an object key, found " + describe(p));
      ++p;
      skipWs();
      if (p == end)
        return fail(p, "expected a value after ':', found end of line");
      members.push_back(Member{std::move(key), Value()});
      if (!parseValue(members.back().value, depth + 1))
        return false;
      skipWs();
      if (p == end)
        return fail(p, "expected ',' or '}' in an object, found end of line");
      if (*p == ',') {
        ++p;
        continue;
      }
      if (*p == '}') {
        ++p;
        break;
      }
      return fail(p, "expected ',' or '}' in an object, found " + describe(p));
    }
    out = Value::object(std::move(members));
    return true;
  }

  static int hexDigit(char c) {
    if (c >= '0' && c <= '9')
      return c - '0';
    if (c >= 'a' && c <= 'f')
      return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
      return c - 'A' + 10;
    return -1;
  }

  // Reads the 4 hex digits after "\u" at q; -1 on error (reported).
  int32_t readHex4(const char *q) {
    if (end - q < 4)
      return fail(q, "expected 4 hex digits after \\u, found end of line"), -1;
    int32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      int d = hexDigit(q[i]);
      if (d < 0)
        return fail(q + i, "expected 4 hex digits after \\u, found " +
                               describe(q + i)),
               -1;
      v = v * 16 + d;
    }
    return v;
  }

  bool parseString(std::string &out) {
    const char *open = p;
    ++p; // '"'
    // Bytes that need no translation (ASCII and valid UTF-8) accumulate in
    // [run, p) and are copied at once.
    const char *run = p;
    while (true) {
      // Skip 8 plain ASCII bytes at a time (none of '"', '\\', < 0x20,
      // >= 0x80).
      while (end - p >= 8) {
        uint64_t w;
        std::memcpy(&w, p, 8);
        constexpr uint64_t ones = 0x0101010101010101ULL;
        constexpr uint64_t highs = 0x8080808080808080ULL;
        uint64_t quote = w ^ (ones * '"');
        uint64_t slash = w ^ (ones * '\\');
        uint64_t special = ((quote - ones) & ~quote) |
                           ((slash - ones) & ~slash) | (w - ones * 0x20) | w;
        if (special & highs)
          break;
        p += 8;
      }
      while (p < end) {
        unsigned char b = *p;
        if (b < 0x20 || b >= 0x80 || b == '"' || b == '\\')
          break;
        ++p;
      }
      if (p == end)
        return fail(open, "unterminated string");
      unsigned char c = *p;
      if (c >= 0x80) {
        int n = utf8Step(reinterpret_cast<const unsigned char *>(p),
                         reinterpret_cast<const unsigned char *>(end));
        if (n > 0) {
          p += n;
          continue;
        }
        if (!opts.replaceInvalidUtf8)
          return fail(p,
                      "invalid UTF-8: " + describe(p) +
                          " is not part of a valid character",
                      true);
        out.append(run, p - run);
        out += kReplacement;
        p += -n;
        run = p;
        continue;
      }
      out.append(run, p - run);
      if (c == '"') {
        ++p;
        return true;
      }
      if (c < 0x20)
        return fail(p, "control character " + describe(p) +
                           " must be escaped inside a string");
      // Escape.
      const char *esc = p;
      ++p;
      if (p == end)
        return fail(open, "unterminated string");
      char e = *p++;
      switch (e) {
      case '"':
        out += '"';
        break;
      case '\\':
        out += '\\';
        break;
      case '/':
        out += '/';
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'u': {
        int32_t cp = readHex4(p);
        if (cp < 0)
          return false;
        p += 4;
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          // A high surrogate must be followed by "\u" and a low surrogate.
          if (end - p >= 6 && p[0] == '\\' && p[1] == 'u') {
            int32_t lo = readHex4(p + 2);
            if (lo < 0)
              return false;
            if (lo >= 0xDC00 && lo <= 0xDFFF) {
              p += 6;
              appendUtf8(out, 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00));
              break;
            }
          }
          if (!opts.replaceInvalidUtf8)
            return fail(esc,
                        "unpaired surrogate \\u" + std::string(esc + 2, 4) +
                            " (expected a low surrogate \\uDC00-\\uDFFF "
                            "after it)",
                        true);
          out += kReplacement;
          break;
        }
        if (cp >= 0xDC00 && cp <= 0xDFFF) {
          if (!opts.replaceInvalidUtf8)
            return fail(esc,
                        "unpaired surrogate \\u" + std::string(esc + 2, 4) +
                            " (a low surrogate needs a high one before it)",
                        true);
          out += kReplacement;
          break;
        }
        appendUtf8(out, cp);
        break;
      }
      default:
        return fail(esc, "invalid escape '\\" +
                             (static_cast<unsigned char>(e) >= 0x21 &&
                                      static_cast<unsigned char>(e) < 0x7F
                                  ? std::string(1, e)
                                  : describe(esc + 1)) +
                             "' in a string");
      }
      run = p;
    }
  }

  bool parseNumber(Value &out) {
    const char *start = p;
    const char *q = p;
    bool negative = false;
    if (*q == '-') {
      negative = true;
      ++q;
    }
    if (q == end || !(*q >= '0' && *q <= '9'))
      return fail(q, "expected a digit in a number, found " + describe(q));
    const char *intStart = q;
    if (*q == '0') {
      ++q;
      if (q < end && *q >= '0' && *q <= '9')
        return fail(start, "numbers must not have leading zeros");
    } else {
      while (q < end && *q >= '0' && *q <= '9')
        ++q;
    }
    const char *intEnd = q;
    bool isInt = true;
    const char *fracStart = nullptr, *fracEnd = nullptr;
    if (q < end && *q == '.') {
      isInt = false;
      ++q;
      fracStart = q;
      if (q == end || !(*q >= '0' && *q <= '9'))
        return fail(q, "expected a digit after '.', found " + describe(q));
      while (q < end && *q >= '0' && *q <= '9')
        ++q;
      fracEnd = q;
    }
    long long exponent = 0;
    if (q < end && (*q == 'e' || *q == 'E')) {
      isInt = false;
      ++q;
      bool negExp = false;
      if (q < end && (*q == '+' || *q == '-'))
        negExp = *q++ == '-';
      if (q == end || !(*q >= '0' && *q <= '9'))
        return fail(q,
                    "expected a digit in the exponent, found " + describe(q));
      while (q < end && *q >= '0' && *q <= '9') {
        if (exponent < 100000000)
          exponent = exponent * 10 + (*q - '0');
        ++q;
      }
      if (negExp)
        exponent = -exponent;
    }
    p = q;
    if (isInt && intEnd - intStart <= 18) {
      int64_t v = 0;
      for (const char *d = intStart; d < intEnd; ++d)
        v = v * 10 + (*d - '0');
      out = Value(negative ? -v : v);
      return true;
    }
    if (isInt) {
      int64_t v;
      auto res = std::from_chars(start, q, v);
      if (res.ec == std::errc() && res.ptr == q) {
        out = Value(v);
        return true;
      }
    }
    double d;
    auto res = std::from_chars(start, q, d);
    if (res.ec == std::errc::result_out_of_range) {
      // Decimal magnitude estimate: below zero means underflow to 0.
      long long magnitude;
      const char *nz = intStart;
      while (nz < intEnd && *nz == '0')
        ++nz;
      if (nz < intEnd) {
        magnitude = (intEnd - nz) - 1 + exponent;
      } else {
        const char *f = fracStart;
        while (f && f < fracEnd && *f == '0')
          ++f;
        magnitude = (f ? -(f - fracStart) - 1 : -1) + exponent;
      }
      if (magnitude < 0) {
        out = Value(negative ? -0.0 : 0.0);
        return true;
      }
      return fail(start, "number '" + std::string(start, q) +
                             "' is out of range for a 64-bit float");
    }
    if (res.ec != std::errc() || res.ptr != q)
      return fail(start, "malformed number '" + std::string(start, q) + "'");
    out = Value(d);
    return true;
  }
};

} // namespace

bool ftl::rt::parseJson(llvm::StringRef text, Value &out, JsonParseError &error,
                        const JsonParseOptions &options) {
  Parser parser(text, error, options);
  return parser.parseDocument(out);
}
