//===- JsonTest.cpp - JSON parser, UTF-8, values --------------------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "TestUtil.h"

#include "ftl/Data/Json.h"
#include "ftl/Data/Value.h"
#include "ftl/Runtime/Rng.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"

#include <cmath>
#include <cstring>

using namespace ftl::rt;
using namespace ftl::rt::test;

namespace {

Value parseOk(llvm::StringRef text, JsonParseOptions opts = {}) {
  Value v;
  JsonParseError err;
  EXPECT_TRUE(parseJson(text, v, err, opts))
      << text.str() << ": " << err.message;
  return v;
}

JsonParseError parseBad(llvm::StringRef text, JsonParseOptions opts = {}) {
  Value v;
  JsonParseError err;
  EXPECT_FALSE(parseJson(text, v, err, opts)) << text.str();
  return err;
}

/// The typed canonical form the fixture script writes (see make_data.py).
Value typed(const Value &v) {
  switch (v.kind()) {
  case Value::Kind::Null:
    return Value("n");
  case Value::Kind::Bool:
    return Value(v.getBool() ? "b:true" : "b:false");
  case Value::Kind::Int:
    return Value("i:" + std::to_string(v.getInt()));
  case Value::Kind::Double: {
    double d = v.getNumber();
    uint64_t bits;
    std::memcpy(&bits, &d, 8);
    std::string hex = llvm::utohexstr(bits, /*LowerCase=*/true);
    return Value("f:" + std::string(16 - hex.size(), '0') + hex);
  }
  case Value::Kind::String:
    return Value("s:" + v.getString().str());
  case Value::Kind::List: {
    std::vector<Value> items;
    for (const Value &x : v.getList())
      items.push_back(typed(x));
    return Value::list(std::move(items));
  }
  case Value::Kind::Object: {
    std::vector<Member> ms;
    for (const Member &m : v.getObject())
      ms.push_back(Member{m.name, typed(m.value)});
    return Value::object(std::move(ms));
  }
  }
  return Value();
}

std::vector<std::string> lines(llvm::StringRef path) {
  auto buf = llvm::MemoryBuffer::getFile(path);
  EXPECT_TRUE(bool(buf)) << path.str();
  std::vector<std::string> out;
  if (!buf)
    return out;
  llvm::SmallVector<llvm::StringRef, 0> parts;
  (*buf)->getBuffer().split(parts, '\n', -1, /*KeepEmpty=*/false);
  for (llvm::StringRef p : parts)
    out.push_back(p.str());
  return out;
}

} // namespace

TEST(Json, MatchesPythonOnFixtureCases) {
  auto in = lines(fixture("data/json_cases.jsonl"));
  auto expected = lines(fixture("data/json_cases.typed"));
  ASSERT_EQ(in.size(), expected.size());
  ASSERT_GT(in.size(), 400u);
  for (size_t i = 0; i < in.size(); ++i) {
    Value v;
    JsonParseError err;
    ASSERT_TRUE(parseJson(in[i], v, err))
        << "line " << i + 1 << ": " << err.message;
    std::string got;
    llvm::raw_string_ostream os(got);
    typed(v).writeCanonicalJson(os);
    EXPECT_EQ(got, expected[i]) << "line " << i + 1 << ": " << in[i];
  }
}

TEST(Json, SurrogatePairsAndEscapes) {
  Value v = parseOk(R"({"s":"\ud83d\ude00\u00e9\n\t\"\\\/"})");
  EXPECT_EQ(v.find("s")->getString(), "\xF0\x9F\x98\x80\xC3\xA9\n\t\"\\/");
}

TEST(Json, IntegersAndDoubles) {
  Value v = parseOk("[0, -7, 9223372036854775807, -9223372036854775808, "
                    "9223372036854775808, 1.5, 2e3, -0.0, 1e-400]");
  const auto &l = v.getList();
  EXPECT_TRUE(l[0].isInt());
  EXPECT_EQ(l[1].getInt(), -7);
  EXPECT_EQ(l[2].getInt(), INT64_MAX);
  EXPECT_EQ(l[3].getInt(), INT64_MIN);
  EXPECT_EQ(l[4].kind(), Value::Kind::Double);
  EXPECT_EQ(l[4].getNumber(), 9223372036854775808.0);
  EXPECT_EQ(l[5].getNumber(), 1.5);
  EXPECT_EQ(l[6].kind(), Value::Kind::Double);
  EXPECT_EQ(l[6].getNumber(), 2000.0);
  EXPECT_TRUE(std::signbit(l[7].getNumber()));
  EXPECT_EQ(l[8].getNumber(), 0.0);
}

TEST(Json, ErrorsSayWhatAndWhere) {
  struct Case {
    const char *text;
    size_t offset;
    const char *message;
  } cases[] = {
      {"", 0, "expected a JSON value, found end of line"},
      {"{\"a\":1,}", 7, "expected a string key in an object, found '}'"},
      {"{\"a\" 1}", 5, "expected ':' after an object key, found '1'"},
      {"[1 2]", 3, "expected ',' or ']' in a list, found '2'"},
      {"{\"a\":01}", 5, "numbers must not have leading zeros"},
      {"{\"a\":1.}", 7, "expected a digit after '.', found '}'"},
      {"{\"a\":-}", 6, "expected a digit in a number, found '}'"},
      {"{\"a\":1e}", 7, "expected a digit in the exponent, found '}'"},
      {"{\"a\":\"x}", 5, "unterminated string"},
      {"{\"a\":\"x\ty\"}", 7,
       "control character byte 0x09 must be escaped "
       "inside a string"},
      {"{\"a\":\"\\q\"}", 6, "invalid escape '\\q' in a string"},
      {"{\"a\":\"\\u12g4\"}", 10, "expected 4 hex digits after \\u, found 'g'"},
      {"{\"a\":tru}", 5, "expected a JSON value, found 'tru'"},
      {"{\"a\":NaN}", 5, "expected a JSON value, found 'N'"},
      {"{\"a\":1} x", 8, "unexpected 'x' after the JSON value"},
      {"{\"a\":1,\"a\":2}", 7, "duplicate key \"a\" in an object"},
      {"{\"a\":1e999}", 5,
       "number '1e999' is out of range for a 64-bit "
       "float"},
  };
  for (const Case &c : cases) {
    JsonParseError e = parseBad(c.text);
    EXPECT_EQ(e.message, c.message) << c.text;
    EXPECT_EQ(e.offset, c.offset) << c.text;
    EXPECT_FALSE(e.invalidUtf8) << c.text;
  }
}

TEST(Json, UnpairedSurrogates) {
  JsonParseError e = parseBad(R"({"a":"x\ud800y"})");
  EXPECT_TRUE(e.invalidUtf8);
  EXPECT_EQ(e.offset, 7u);
  EXPECT_NE(e.message.find("unpaired surrogate \\ud800"), std::string::npos);
  e = parseBad(R"({"a":"\udc00"})");
  EXPECT_NE(e.message.find("a low surrogate needs a high one"),
            std::string::npos);
  JsonParseOptions repl;
  repl.replaceInvalidUtf8 = true;
  EXPECT_EQ(parseOk(R"("x\ud800y\udc00")", repl).getString(),
            "x\xEF\xBF\xBDy\xEF\xBF\xBD");
}

TEST(Json, DepthLimit) {
  std::string deep(200, '[');
  deep += std::string(200, ']');
  JsonParseError e = parseBad(deep);
  EXPECT_EQ(e.message, "nesting deeper than 128 levels");
  JsonParseOptions opts;
  opts.maxDepth = 300;
  parseOk(deep, opts);
}

TEST(Json, InvalidUtf8InStrings) {
  JsonParseError e = parseBad("{\"a\":\"ok\xC3\x28\"}");
  EXPECT_TRUE(e.invalidUtf8);
  EXPECT_EQ(e.offset, 8u);
  EXPECT_EQ(e.message, "invalid UTF-8: byte 0xc3 is not part of a valid "
                       "character");
  JsonParseOptions repl;
  repl.replaceInvalidUtf8 = true;
  EXPECT_EQ(parseOk("\"a\xF0\x9F\x98z\xFF\"", repl).getString(),
            "a\xEF\xBF\xBDz\xEF\xBF\xBD");
}

// The UTF-8 validator and repair against CPython's codec.
TEST(Utf8, MatchesPythonCodec) {
  auto cases = lines(fixture("data/utf8_cases.jsonl"));
  ASSERT_GT(cases.size(), 300u);
  for (const std::string &line : cases) {
    Value c = parseOk(line);
    std::string in = llvm::fromHex(c.find("in")->getString());
    std::string repaired = llvm::fromHex(c.find("repaired")->getString());
    bool valid = c.find("valid")->getBool();
    EXPECT_EQ(findInvalidUtf8(in) == llvm::StringRef::npos, valid) << line;
    EXPECT_EQ(repairUtf8(in), repaired) << line;
    // Inside a JSON string the parser agrees with both.
    std::string json = "\"" + in + "\"";
    bool hasQuoteOrCtl = false;
    for (char ch : in)
      hasQuoteOrCtl |=
          ch == '"' || ch == '\\' || static_cast<unsigned char>(ch) < 0x20;
    if (hasQuoteOrCtl)
      continue;
    Value v;
    JsonParseError err;
    EXPECT_EQ(parseJson(json, v, err), valid) << line;
    JsonParseOptions repl;
    repl.replaceInvalidUtf8 = true;
    ASSERT_TRUE(parseJson(json, v, err, repl)) << line;
    EXPECT_EQ(v.getString(), repaired) << line;
  }
}

// Random documents serialized by llvm::json (an independent writer) parse to
// the same structure.
TEST(Json, AgreesWithLlvmJsonOnRandomDocuments) {
  Rng rng(99);
  std::function<llvm::json::Value(int)> gen = [&](int depth) {
    switch (rng.below(depth > 3 ? 5 : 7)) {
    case 0:
      return llvm::json::Value(static_cast<int64_t>(rng.next()));
    case 1:
      return llvm::json::Value(rng.normal() * 1e6);
    case 2: {
      std::string s;
      for (uint64_t i = 0, n = rng.below(10); i < n; ++i) {
        static const char *pieces[] = {
            "a",  "Z",    " ",        "\"",           "\\",
            "\n", "\x01", "\xC3\xA9", "\xE4\xB8\xAD", "\xF0\x9F\x98\x80"};
        s += pieces[rng.below(10)];
      }
      return llvm::json::Value(s);
    }
    case 3:
      return llvm::json::Value(rng.below(2) == 0);
    case 4:
      return llvm::json::Value(nullptr);
    case 5: {
      llvm::json::Array a;
      for (uint64_t i = 0, n = rng.below(4); i < n; ++i)
        a.push_back(gen(depth + 1));
      return llvm::json::Value(std::move(a));
    }
    default: {
      llvm::json::Object o;
      for (uint64_t i = 0, n = rng.below(4); i < n; ++i)
        o["k" + std::to_string(rng.below(100))] = gen(depth + 1);
      return llvm::json::Value(std::move(o));
    }
    }
  };
  std::function<void(const Value &, const llvm::json::Value &)> same =
      [&](const Value &a, const llvm::json::Value &b) {
        switch (b.kind()) {
        case llvm::json::Value::Null:
          EXPECT_TRUE(a.isNull());
          break;
        case llvm::json::Value::Boolean:
          EXPECT_EQ(a.getBool(), *b.getAsBoolean());
          break;
        case llvm::json::Value::Number:
          if (auto i = b.getAsInteger()) {
            ASSERT_TRUE(a.isInt());
            EXPECT_EQ(a.getInt(), *i);
          } else {
            EXPECT_EQ(a.getNumber(), *b.getAsNumber());
          }
          break;
        case llvm::json::Value::String:
          EXPECT_EQ(a.getString(), *b.getAsString());
          break;
        case llvm::json::Value::Array: {
          const auto &arr = *b.getAsArray();
          ASSERT_EQ(a.getList().size(), arr.size());
          for (size_t i = 0; i < arr.size(); ++i)
            same(a.getList()[i], arr[i]);
          break;
        }
        case llvm::json::Value::Object: {
          const auto &obj = *b.getAsObject();
          ASSERT_EQ(a.getObject().size(), obj.size());
          for (const auto &kv : obj) {
            const Value *m = a.find(kv.first);
            ASSERT_TRUE(m) << kv.first.str();
            same(*m, kv.second);
          }
          break;
        }
        }
      };
  for (int i = 0; i < 500; ++i) {
    llvm::json::Value doc = gen(0);
    std::string text;
    llvm::raw_string_ostream os(text);
    os << doc;
    Value v = parseOk(text);
    same(v, doc);
    // Our writer round-trips through our parser.
    EXPECT_EQ(parseOk(v.toJson()), v);
  }
}

TEST(Value, EqualityAndAccessors) {
  Value a = parseOk(R"({"x":[1,2.0,"s",null,true],"y":{"z":1}})");
  Value b = parseOk(R"({"y":{"z":1.0},"x":[1.0,2,"s",null,true]})");
  EXPECT_EQ(a, b); // member order and int/double do not matter
  EXPECT_NE(a, parseOk(R"({"x":[1,2,"s",null,false],"y":{"z":1}})"));
  EXPECT_EQ(a.find("y")->find("z")->getInt(), 1);
  EXPECT_EQ(a.find("nope"), nullptr);
  EXPECT_EQ(Value(1.0).toJson(), "1.0");
  EXPECT_EQ(Value(int64_t(3)).toJson(), "3");
  EXPECT_EQ(Value("a\"\x01").toJson(), "\"a\\\"\\u0001\"");
  std::string canon;
  llvm::raw_string_ostream os(canon);
  b.writeCanonicalJson(os);
  EXPECT_EQ(canon, R"({"x":[1.0,2,"s",null,true],"y":{"z":1.0}})");
  // Copies are deep.
  Value c = a;
  c.find("x")->getList().push_back(Value(5));
  EXPECT_NE(a, c);
  EXPECT_EQ(countCodePoints("a\xC3\xA9\xF0\x9F\x98\x80"), 3u);
}
