//===- jsonl_fuzz.cpp - Fuzz the JSONL and text readers -------------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
//
// Each input is read as an in-memory JSON lines file (jsonlBufferDataset):
//  - with on_error: skip, every non-blank line is either a record or counted
//    as skipped (records + skipped == non-blank lines, counted here
//    independently), and every record's JSON round-trips through the parser;
//  - with on_error: fail, reading gives the same records when nothing was
//    skipped, else stops with an error;
//  - with invalid_utf8: replace, every string is valid UTF-8;
//  - random access (the index shuffle uses) gives the same records;
// and as a text file in the three split modes (no crash, valid records).
// Seeds: fuzz/seeds/jsonl_fuzz/.
//
//===----------------------------------------------------------------------===//

#include "ftl/Data/Dataset.h"
#include "ftl/Data/Json.h"

#include "llvm/ADT/StringRef.h"

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

using namespace ftl::rt;

namespace {

[[noreturn]] void fail(const char *what, const std::string &detail = "") {
  std::fprintf(stderr, "jsonl_fuzz: %s %s\n", what, detail.c_str());
  std::abort();
}

bool allValidUtf8(const Value &v) {
  switch (v.kind()) {
  case Value::Kind::String:
    return findInvalidUtf8(v.getString()) == llvm::StringRef::npos;
  case Value::Kind::List:
    for (const Value &x : v.getList())
      if (!allValidUtf8(x))
        return false;
    return true;
  case Value::Kind::Object:
    for (const Member &m : v.getObject())
      if (findInvalidUtf8(m.name) != llvm::StringRef::npos ||
          !allValidUtf8(m.value))
        return false;
    return true;
  default:
    return true;
  }
}

/// Reads all records; false (and the error consumed) on an error.
bool readRecords(const DatasetRef &d, std::vector<Record> &out,
                 DataStats *stats) {
  DataContext ctx;
  ctx.stats = stats;
  auto all = readAll(*d, ctx);
  if (!all) {
    std::string msg = llvm::toString(all.takeError());
    if (msg.empty())
      fail("empty error message");
    return false;
  }
  out = std::move(*all);
  return true;
}

int64_t nonBlankLines(llvm::StringRef data) {
  int64_t n = 0;
  bool first = true;
  while (!data.empty()) {
    auto [line, rest] = data.split('\n');
    if (first && line.starts_with("\xEF\xBB\xBF"))
      line = line.drop_front(3);
    first = false;
    bool blank = true;
    for (char c : line)
      if (c != ' ' && c != '\t' && c != '\r' && c != '\n')
        blank = false;
    n += !blank;
    data = rest;
  }
  return n;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *bytes, size_t size) {
  std::string data(reinterpret_cast<const char *>(bytes), size);

  JsonlOptions skip;
  skip.onError = OnError::Skip;
  auto ds = jsonlBufferDataset("fuzz.jsonl", data, skip);
  if (!ds)
    fail("dataset construction failed");
  DataStats stats;
  std::vector<Record> skipped;
  bool ok = readRecords(*ds, skipped, &stats);
  int64_t skippedCount = 0;
  for (const auto &[k, v] : stats.counters())
    if (llvm::StringRef(k).starts_with("skipped: "))
      skippedCount += v;
  if (ok) {
    if (int64_t(skipped.size()) + skippedCount != nonBlankLines(data))
      fail("records + skipped != non-blank lines");
    for (const Record &r : skipped) {
      Value obj = r.toObject();
      Value back;
      JsonParseError err;
      if (!parseJson(obj.toJson(), back, err))
        fail("a record does not re-parse:", err.message);
      if (!(back == obj))
        fail("a record does not round-trip");
    }
    // Random access agrees with the stream.
    auto view = (*ds)->openIndexed({});
    if (!view)
      fail("index failed after a successful read",
           llvm::toString(view.takeError()));
    if (!*view || (*view)->size() != skipped.size())
      fail("index size differs");
    for (size_t i = 0; i < skipped.size(); ++i) {
      auto r = (*view)->get(i);
      if (!r)
        fail("indexed get failed", llvm::toString(r.takeError()));
      if (!(r->toObject() == skipped[i].toObject()))
        fail("indexed record differs");
    }
  }

  auto strict = jsonlBufferDataset("fuzz.jsonl", data);
  std::vector<Record> strictRecords;
  bool strictOk = readRecords(*strict, strictRecords, nullptr);
  if (ok && skippedCount == 0) {
    if (!strictOk || strictRecords.size() != skipped.size())
      fail("fail mode differs from skip mode without skips");
  } else if (strictOk && skippedCount > 0) {
    fail("fail mode accepted a file skip mode skipped lines in");
  }

  JsonlOptions repl = skip;
  repl.invalidUtf8 = InvalidUtf8::Replace;
  std::vector<Record> replaced;
  if (readRecords(*jsonlBufferDataset("fuzz.jsonl", data, repl), replaced,
                  nullptr))
    for (const Record &r : replaced)
      if (!allValidUtf8(r.toObject()))
        fail("invalid UTF-8 survived replace mode");

  for (TextSplit split :
       {TextSplit::Line, TextSplit::Paragraph, TextSplit::File}) {
    TextOptions t;
    t.split = split;
    t.invalidUtf8 = InvalidUtf8::Replace;
    std::vector<Record> text;
    if (readRecords(textBufferDataset("fuzz.txt", data, t), text, nullptr))
      for (const Record &r : text)
        if (!r.get("text") || !allValidUtf8(*r.get("text")))
          fail("text record without valid text");
  }
  return 0;
}
