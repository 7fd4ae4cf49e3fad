//===- TokenCacheTest.cpp - cache hit, miss, corruption, keys -------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "TestUtil.h"

#include "ftl/Data/TokenCache.h"

#include "llvm/Support/MemoryBuffer.h"

#include <cstdlib>
#include <fstream>
#include <unistd.h>

using namespace ftl::rt;
using namespace ftl::rt::test;

namespace {

std::string corpus(int n) {
  std::string text;
  for (int i = 0; i < n; ++i)
    text += "{\"prompt\":\"question " + std::to_string(i) +
            "\",\"response\":\"answer " + std::to_string(i * 7) + "\"}\n";
  return text;
}

TokenizeOptions promptResponse() {
  TokenizeOptions o;
  o.mode = TokenizeOptions::Mode::PromptResponse;
  return o;
}

std::vector<TokenizedExample> drain(ExampleStream &s) {
  return must(readAll(s));
}

std::vector<PackedRow> drain(RowStream &s) {
  std::vector<PackedRow> out;
  PackedRow r;
  while (must(s.next(r)))
    out.push_back(r);
  return out;
}

void expectSame(const std::vector<TokenizedExample> &a,
                const std::vector<TokenizedExample> &b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].ids, b[i].ids);
    EXPECT_EQ(a[i].weights, b[i].weights);
    EXPECT_EQ(a[i].exampleIndex, b[i].exampleIndex);
    EXPECT_EQ(a[i].promptLength, b[i].promptLength);
    EXPECT_EQ(a[i].part, b[i].part);
    EXPECT_EQ(a[i].provenance.where(), b[i].provenance.where());
  }
}

std::vector<std::string> listDir(const std::string &dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (llvm::sys::fs::directory_iterator it(dir, ec), end; it != end && !ec;
       it.increment(ec))
    out.push_back(llvm::sys::path::filename(it->path()).str());
  std::sort(out.begin(), out.end());
  return out;
}

void flipByte(const std::string &path, uint64_t offset) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(offset);
  char c;
  f.get(c);
  f.seekp(offset);
  f.put(static_cast<char>(c ^ 0x5a));
}

} // namespace

TEST(TokenCache, MissThenHitGivesIdenticalExamples) {
  TempDir dir;
  CharTokenizer tok;
  auto data = must(jsonlDataset(dir.write("d.jsonl", corpus(300))));
  auto cache = must(TokenCache::open(dir.file("cache")));
  TokenizeOptions o = promptResponse();
  auto direct = drain(*must(tokenizeDataset(data, tok, o, {})));
  CacheOutcome out;
  auto first = drain(*must(cache.examples(data, tok, o, {}, &out)));
  EXPECT_EQ(out.kind, CacheOutcome::Kind::Miss);
  expectSame(first, direct);
  auto second = drain(*must(cache.examples(data, tok, o, {}, &out)));
  EXPECT_EQ(out.kind, CacheOutcome::Kind::Hit);
  expectSame(second, direct);
  EXPECT_EQ(second[5].provenance.where(), dir.file("d.jsonl") + ":6");
  // One file, no temporaries left behind.
  auto files = listDir(dir.file("cache"));
  ASSERT_EQ(files.size(), 1u);
  EXPECT_TRUE(llvm::StringRef(files[0]).ends_with(".examples.ftlcache"));
}

TEST(TokenCache, PackedRowsHit) {
  TempDir dir;
  CharTokenizer tok;
  auto data = must(jsonlDataset(dir.write("d.jsonl", corpus(200))));
  auto cache = must(TokenCache::open(dir.file("cache")));
  PackOptions p;
  p.seqLen = 64;
  auto direct = drain(**packExamples(
      must(tokenizeDataset(data, tok, promptResponse(), {})), p, &tok));
  CacheOutcome out;
  auto first =
      drain(*must(cache.packedRows(data, tok, promptResponse(), p, {}, &out)));
  EXPECT_EQ(out.kind, CacheOutcome::Kind::Miss);
  auto second =
      drain(*must(cache.packedRows(data, tok, promptResponse(), p, {}, &out)));
  EXPECT_EQ(out.kind, CacheOutcome::Kind::Hit);
  ASSERT_EQ(second.size(), direct.size());
  ASSERT_EQ(first.size(), direct.size());
  for (size_t i = 0; i < direct.size(); ++i) {
    EXPECT_EQ(second[i].ids, direct[i].ids);
    EXPECT_EQ(second[i].weights, direct[i].weights);
    EXPECT_EQ(second[i].segmentIds, direct[i].segmentIds);
    EXPECT_EQ(second[i].positions, direct[i].positions);
    ASSERT_EQ(second[i].segments.size(), direct[i].segments.size());
    for (size_t k = 0; k < direct[i].segments.size(); ++k)
      EXPECT_EQ(second[i].segments[k].exampleIndex,
                direct[i].segments[k].exampleIndex);
  }
}

TEST(TokenCache, CorruptFilesAreDetectedAndRebuilt) {
  TempDir dir;
  CharTokenizer tok;
  auto data = must(jsonlDataset(dir.write("d.jsonl", corpus(100))));
  auto cache = must(TokenCache::open(dir.file("cache")));
  TokenizeOptions o = promptResponse();
  CacheOutcome out;
  auto good = drain(*must(cache.examples(data, tok, o, {}, &out)));
  std::string path = out.path;
  uint64_t size;
  ASSERT_FALSE(llvm::sys::fs::file_size(path, size));

  // A flipped byte in the token data.
  flipByte(path, 200);
  auto again = drain(*must(cache.examples(data, tok, o, {}, &out)));
  EXPECT_EQ(out.kind, CacheOutcome::Kind::Rebuilt);
  EXPECT_EQ(out.reason, "token cache '" + path +
                            "' is invalid: checksum mismatch (the file is "
                            "corrupt)");
  expectSame(again, good);
  drain(*must(cache.examples(data, tok, o, {}, &out)));
  EXPECT_EQ(out.kind, CacheOutcome::Kind::Hit);

  // A truncated file (e.g. a crash while copying it).
  ASSERT_EQ(::truncate(path.c_str(), size - 100), 0);
  again = drain(*must(cache.examples(data, tok, o, {}, &out)));
  EXPECT_EQ(out.kind, CacheOutcome::Kind::Rebuilt);
  EXPECT_EQ(out.reason, "token cache '" + path +
                            "' is invalid: truncated or incomplete (bad "
                            "footer)");
  expectSame(again, good);

  // Something else under the name.
  {
    std::ofstream(path, std::ios::binary) << std::string(500, 'x');
  }
  again = drain(*must(cache.examples(data, tok, o, {}, &out)));
  EXPECT_EQ(out.kind, CacheOutcome::Kind::Rebuilt);
  EXPECT_EQ(out.reason, "token cache '" + path +
                            "' is invalid: not a token cache file (bad "
                            "magic)");
  expectSame(again, good);

  // A flipped byte in the header's version.
  flipByte(path, 8);
  drain(*must(cache.examples(data, tok, o, {}, &out)));
  EXPECT_EQ(out.kind, CacheOutcome::Kind::Rebuilt);
  EXPECT_NE(out.reason.find("format version"), std::string::npos);
}

TEST(TokenCache, ForeignKeyOrKindIsRejected) {
  TempDir dir;
  std::string p = dir.file("x.ftlcache");
  TokenizedExample ex;
  ex.ids = {1, 2, 3};
  ex.weights = {0, 1, 1};
  auto s = examplesStream({ex});
  ASSERT_FALSE(bool(writeExampleCache(p, "key-a", *s)));
  EXPECT_EQ(drain(*must(openExampleCache(p, "key-a"))).size(), 1u);
  EXPECT_EQ(errorOf(openExampleCache(p, "key-b")),
            "token cache '" + p +
                "' is invalid: written for another pipeline (key mismatch)");
  EXPECT_EQ(errorOf(openRowCache(p, "key-a")),
            "token cache '" + p +
                "' is invalid: holds examples, expected packed rows");
  EXPECT_EQ(errorOf(openExampleCache(dir.file("none"), "k")),
            "cannot read token cache '" + dir.file("none") +
                "': No such file or directory");
}

TEST(TokenCache, KeyFollowsContentsTokenizerAndOptions) {
  TempDir dir;
  CharTokenizer tok;
  std::string p = dir.write("d.jsonl", corpus(10));
  auto data = must(jsonlDataset(p));
  std::string stage = promptResponse().describe();
  std::string k = must(TokenCache::key(*data, tok, stage));
  EXPECT_EQ(k.size(), 64u);
  EXPECT_EQ(k, must(TokenCache::key(*data, tok, stage)));
  // Same bytes at another path: same key.
  auto moved = must(jsonlDataset(dir.write("other.jsonl", corpus(10))));
  EXPECT_EQ(k, must(TokenCache::key(*moved, tok, stage)));
  // One byte changed: different key.
  std::string text = corpus(10);
  text[20] = 'Q';
  auto changed = must(jsonlDataset(dir.write("c.jsonl", text)));
  EXPECT_NE(k, must(TokenCache::key(*changed, tok, stage)));
  // Tokenizer and options.
  CharTokenizer other;
  other.pairs = true;
  EXPECT_NE(k, must(TokenCache::key(*data, other, stage)));
  TokenizeOptions o2 = promptResponse();
  o2.maxLength = 10;
  EXPECT_NE(k, must(TokenCache::key(*data, tok, o2.describe())));
  // The operator chain.
  EXPECT_NE(k, must(TokenCache::key(*takeDataset(data, 5), tok, stage)));
  // A missing data file is an error.
  auto gone = must(jsonlDataset(dir.file("gone.jsonl")));
  EXPECT_EQ(errorOf(TokenCache::key(*gone, tok, stage)),
            "cannot open '" + dir.file("gone.jsonl") +
                "': no such file (expected a data file)");
}

TEST(TokenCache, FailedBuildLeavesNoFile) {
  TempDir dir;
  CharTokenizer tok;
  auto data = must(jsonlDataset(dir.write(
      "bad.jsonl", corpus(5) + "{\"prompt\":1,\"response\":\"x\"}\n")));
  auto cache = must(TokenCache::open(dir.file("cache")));
  EXPECT_EQ(errorOf(cache.examples(data, tok, promptResponse(), {})),
            dir.file("bad.jsonl") +
                ":6: field 'prompt' is a number, expected a string");
  EXPECT_TRUE(listDir(dir.file("cache")).empty());
}

TEST(TokenCache, ThreadedBuildMatches) {
  TempDir dir;
  CharTokenizer tok;
  auto data = must(jsonlDataset(dir.write("d.jsonl", corpus(2000))));
  auto cache = must(TokenCache::open(dir.file("cache")));
  TokenizeOptions o = promptResponse();
  o.threads = 2;
  auto threaded = drain(*must(cache.examples(data, tok, o, {})));
  o.threads = 1;
  expectSame(threaded, drain(*must(tokenizeDataset(data, tok, o, {}))));
}

TEST(TokenCache, DefaultDirectoryFromEnvironment) {
  TempDir dir;
  const char *old = std::getenv("FTL_CACHE_DIR");
  std::string saved = old ? old : "";
  setenv("FTL_CACHE_DIR", dir.file("c").c_str(), 1);
  EXPECT_EQ(TokenCache::defaultDirectory(), dir.file("c"));
  auto cache = must(TokenCache::open());
  EXPECT_EQ(cache.directory(), dir.file("c"));
  EXPECT_TRUE(llvm::sys::fs::is_directory(dir.file("c")));
  unsetenv("FTL_CACHE_DIR");
  const char *home = std::getenv("HOME");
  if (home) {
    EXPECT_EQ(TokenCache::defaultDirectory(),
              std::string(home) + "/.cache/ftl/tokens");
  }
  if (old)
    setenv("FTL_CACHE_DIR", saved.c_str(), 1);
  // A file where the folder should be.
  std::string f = dir.write("file", "x");
  std::string err = errorOf(TokenCache::open(f));
  EXPECT_TRUE(err == "token cache '" + f + "' is not a folder" ||
              err.find("cannot create the token cache folder") !=
                  std::string::npos)
      << err;
}
