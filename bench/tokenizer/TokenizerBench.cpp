//===- TokenizerBench.cpp - encodeBatch throughput ------------------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
//
// Encodes a JSONL corpus ({"text": ...} per line) with encodeBatch and prints
// the throughput in MB/s of input text (best of --repeat runs, after one
// warm-up run that fills the word cache), the token count, and an order-
// sensitive checksum of the ids so other implementations can be compared.
//
//   ftl-tokenizer-bench <tokenizer.json> <corpus.jsonl> [threads] [repeat]
//
//===----------------------------------------------------------------------===//

#include "ftl/Tokenizers/Tokenizer.h"

#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>

using namespace ftl::rt;

int main(int argc, char **argv) {
  if (argc < 3) {
    llvm::errs() << "usage: " << argv[0]
                 << " <tokenizer.json> <corpus.jsonl> [threads] [repeat]\n";
    return 2;
  }
  unsigned threads = argc > 3 ? unsigned(std::atoi(argv[3])) : 2;
  int repeat = argc > 4 ? std::atoi(argv[4]) : 3;

  auto tok = loadHFTokenizer(argv[1]);
  if (!tok) {
    llvm::errs() << "error: " << llvm::toString(tok.takeError()) << "\n";
    return 1;
  }
  auto buf = llvm::MemoryBuffer::getFile(argv[2]);
  if (!buf) {
    llvm::errs() << "error: cannot read '" << argv[2]
                 << "': " << buf.getError().message() << "\n";
    return 1;
  }
  std::vector<std::string> texts;
  size_t bytes = 0;
  llvm::StringRef rest = (*buf)->getBuffer();
  while (!rest.empty()) {
    auto [line, tail] = rest.split('\n');
    rest = tail;
    if (line.empty())
      continue;
    auto v = llvm::json::parse(line);
    if (!v) {
      llvm::errs() << "error: bad corpus line: "
                   << llvm::toString(v.takeError()) << "\n";
      return 1;
    }
    const llvm::json::Object *o = v->getAsObject();
    auto text = o ? o->getString("text") : std::nullopt;
    if (!text) {
      llvm::errs() << "error: corpus line without \"text\"\n";
      return 1;
    }
    texts.push_back(text->str());
    bytes += text->size();
  }
  std::vector<llvm::StringRef> refs(texts.begin(), texts.end());

  std::vector<std::vector<int32_t>> ids = (*tok)->encodeBatch(refs, threads);
  double best = 1e30;
  for (int r = 0; r < repeat; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    ids = (*tok)->encodeBatch(refs, threads);
    auto t1 = std::chrono::steady_clock::now();
    best = std::min(best, std::chrono::duration<double>(t1 - t0).count());
  }
  size_t tokens = 0;
  uint64_t checksum = 0;
  for (const auto &doc : ids) {
    tokens += doc.size();
    for (int32_t id : doc)
      checksum = checksum * 1000003u + uint64_t(id) + 1;
  }
  llvm::outs() << llvm::formatv(
      "ftl: {0} texts, {1:F2} MB, {2} tokens, checksum {3:x-}, {4} threads, "
      "best {5:F3} s, {6:F2} MB/s\n",
      texts.size(), bytes / 1e6, tokens, checksum, threads, best,
      bytes / 1e6 / best);
  return 0;
}
