//===- DataBench.cpp - runtime/data throughput ----------------------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
//
// One run on generated corpora, printing:
//   - JSONL parsing MB/s (1 MB = 10^6 bytes): our parser on in-memory lines,
//     llvm::json::parse on the same lines, and the jsonl source end to end
//     (file reads, parsing, records);
//   - MinHash dedup documents/s (word 5-grams, 128 permutations, 0.8);
//   - token cache: a tokenize (prompt/response, 2 threads) + pack(1024)
//     pipeline run once into an empty cache and once more from the cache,
//     with the fixture BPE tokenizer given by --tokenizer and the byte
//     tokenizer.
//
//   ftl-data-bench --work <dir> [--mb N] [--tokenizer tokenizer.json]
//
//===----------------------------------------------------------------------===//

#include "ftl/Data/Dataset.h"
#include "ftl/Data/Json.h"
#include "ftl/Data/TokenCache.h"
#include "ftl/Data/Tokenize.h"
#include "ftl/Runtime/Rng.h"
#include "ftl/Tokenizers/Tokenizer.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

using namespace ftl::rt;

namespace {

double now() {
  return std::chrono::duration<double>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

[[noreturn]] void die(const llvm::Twine &msg) {
  llvm::errs() << "error: " << msg << "\n";
  std::exit(1);
}

template <typename T>
T check(llvm::Expected<T> v) {
  if (!v)
    die(llvm::toString(v.takeError()));
  return std::move(*v);
}

const char *kWords[] = {"the",
                        "answer",
                        "is",
                        "compute",
                        "sum",
                        "of",
                        "numbers",
                        "caf\xC3\xA9",
                        "\xE4\xB8\xAD\xE6\x96\x87",
                        "model",
                        "train",
                        "data",
                        "x",
                        "quick",
                        "brown",
                        "fox",
                        "\xF0\x9F\x98\x80",
                        "jumps",
                        "over",
                        "lazy"};

std::string sentence(Rng &rng, int words) {
  std::string s;
  for (int i = 0; i < words; ++i) {
    if (i)
      s += rng.below(12) == 0 ? "\\n" : " ";
    s += kWords[rng.below(20)];
    if (rng.below(15) == 0)
      s += "\\\"" + std::to_string(rng.below(100000)) + "\\\"";
  }
  return s;
}

/// A JSONL corpus of about `bytes` bytes of prompt/response records.
void writeCorpus(const std::string &path, int64_t bytes) {
  std::ofstream out(path, std::ios::binary);
  Rng rng(42);
  int64_t written = 0;
  for (int64_t i = 0; written < bytes; ++i) {
    std::string line =
        "{\"id\":" + std::to_string(i) + ",\"prompt\":\"" +
        sentence(rng, 10 + rng.below(50)) + "\",\"response\":\"" +
        sentence(rng, 3 + rng.below(30)) +
        "\",\"meta\":{\"score\":" + std::to_string(rng.uniformDouble()) +
        ",\"tags\":[\"gen\",\"v1\"],\"ok\":true}}\n";
    out << line;
    written += line.size();
  }
}

void benchParsing(const std::string &path) {
  auto buf = llvm::MemoryBuffer::getFile(path);
  if (!buf)
    die("cannot read " + path);
  llvm::StringRef all = (*buf)->getBuffer();
  std::vector<llvm::StringRef> lines;
  while (!all.empty()) {
    auto [line, rest] = all.split('\n');
    lines.push_back(line);
    all = rest;
  }
  double mb = (*buf)->getBufferSize() / 1e6;
  double ours = 1e30, theirs = 1e30, source = 1e30;
  for (int rep = 0; rep < 3; ++rep) {
    double t0 = now();
    size_t members = 0;
    for (llvm::StringRef l : lines) {
      Value v;
      JsonParseError err;
      if (!parseJson(l, v, err))
        die("parse error: " + err.message);
      members += v.getObject().size();
    }
    double t1 = now();
    size_t members2 = 0;
    for (llvm::StringRef l : lines) {
      auto v = llvm::json::parse(l);
      if (!v)
        die(llvm::toString(v.takeError()));
      members2 += v->getAsObject()->size();
    }
    double t2 = now();
    if (members != members2)
      die("parsers disagree");
    auto d = check(jsonlDataset(path));
    auto s = check(d->open({}));
    Record r;
    size_t n = 0;
    while (check(s->next(r)))
      ++n;
    double t3 = now();
    if (n != lines.size())
      die("record count mismatch");
    ours = std::min(ours, t1 - t0);
    theirs = std::min(theirs, t2 - t1);
    source = std::min(source, t3 - t2);
  }
  std::printf("JSONL parsing (%.1f MB, %zu lines, best of 3)\n", mb,
              lines.size());
  std::printf("  ftl parseJson        %8.1f MB/s\n", mb / ours);
  std::printf("  llvm::json::parse    %8.1f MB/s  (ftl is %.2fx)\n",
              mb / theirs, theirs / ours);
  std::printf("  jsonl source (file)  %8.1f MB/s  (read + parse + records)\n",
              mb / source);
}

void benchDedup() {
  Rng rng(7);
  std::vector<Record> docs;
  std::vector<std::string> texts;
  const int n = 20000;
  for (int i = 0; i < n; ++i) {
    std::string t;
    if (i > 0 && rng.below(10) == 0) {
      // A near duplicate of an earlier document: one word changed.
      t = texts[rng.below(texts.size())];
      size_t sp = t.find(' ', rng.below(t.size()));
      if (sp != std::string::npos)
        t.insert(sp, " edited");
    } else {
      int words = 80 + rng.below(120);
      for (int w = 0; w < words; ++w)
        t += (w ? " w" : "w") + std::to_string(rng.below(20000));
    }
    texts.push_back(t);
    docs.push_back(Record({Member{"text", Value(t)}}));
  }
  auto d = recordsDataset("docs", std::move(docs));
  DedupOptions o;
  o.method = DedupOptions::Method::MinHash;
  o.field = "text";
  double best = 1e30;
  size_t kept = 0;
  for (int rep = 0; rep < 3; ++rep) {
    auto dd = check(dedupDataset(d, o));
    double t0 = now();
    kept = check(readAll(*dd, {})).size();
    best = std::min(best, now() - t0);
  }
  std::printf("MinHash dedup (%d docs of 80-200 words, 5-grams, 128 perm, "
              "threshold 0.8, best of 3)\n",
              n);
  std::printf("  %8.0f docs/s  (%zu kept, %zu removed)\n", n / best, kept,
              n - kept);
}

void benchCache(const std::string &work, const std::string &corpus,
                const Tokenizer &tok, llvm::StringRef label) {
  std::string dir = work + "/cache-" + label.str();
  auto cache = check(TokenCache::open(dir));
  auto data = check(jsonlDataset(corpus));
  TokenizeOptions o;
  o.mode = TokenizeOptions::Mode::PromptResponse;
  o.threads = 2;
  PackOptions p;
  p.seqLen = 1024;
  double times[2];
  int64_t tokens[2] = {0, 0};
  CacheOutcome out[2];
  for (int run = 0; run < 2; ++run) {
    double t0 = now();
    auto rows = check(cache.packedRows(data, tok, o, p, {}, &out[run]));
    PackedRow row;
    while (check(rows->next(row)))
      for (int32_t s : row.segmentIds)
        tokens[run] += s >= 0;
    times[run] = now() - t0;
  }
  if (out[0].kind != CacheOutcome::Kind::Miss ||
      out[1].kind != CacheOutcome::Kind::Hit || tokens[0] != tokens[1])
    die("unexpected cache behaviour");
  std::printf("Token cache, tokenize(prompt/response, 2 threads) + "
              "pack(1024), %s tokenizer\n",
              label.str().c_str());
  std::printf("  first run (tokenize, pack, write)  %8.3f s  (%lld tokens)\n",
              times[0], (long long)tokens[0]);
  std::printf("  second run (from cache)            %8.3f s\n", times[1]);
  std::printf("  speedup                            %8.1fx\n",
              times[0] / times[1]);
}

} // namespace

int main(int argc, char **argv) {
  std::string work, tokPath;
  int64_t mb = 64;
  for (int i = 1; i < argc; ++i) {
    llvm::StringRef a = argv[i];
    if (a == "--work" && i + 1 < argc)
      work = argv[++i];
    else if (a == "--mb" && i + 1 < argc)
      mb = std::atoll(argv[++i]);
    else if (a == "--tokenizer" && i + 1 < argc)
      tokPath = argv[++i];
    else
      die("usage: ftl-data-bench --work <dir> [--mb N] [--tokenizer "
          "tokenizer.json]");
  }
  if (work.empty())
    die("--work <dir> is required");
  if (std::error_code ec = llvm::sys::fs::create_directories(work))
    die("cannot create " + work + ": " + ec.message());
  std::string corpus = work + "/corpus.jsonl";
  writeCorpus(corpus, mb << 20);
  benchParsing(corpus);
  benchDedup();
  if (!tokPath.empty()) {
    auto tok = check(loadHFTokenizer(tokPath));
    benchCache(work, corpus, *tok, "bpe");
  }
  auto bytes = makeByteTokenizer();
  benchCache(work, corpus, *bytes, "bytes");
  return 0;
}
