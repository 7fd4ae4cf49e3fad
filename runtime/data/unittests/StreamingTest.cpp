//===- StreamingTest.cpp - bounded memory over a large generated file -----===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "TestUtil.h"

#include "ftl/Runtime/Rng.h"

#include <cstdio>
#include <fstream>

using namespace ftl::rt;
using namespace ftl::rt::test;
using Op = RecordExpr::Op;

namespace {

/// Peak resident memory (VmHWM) in bytes, after resetting it when `reset`.
int64_t peakRss(bool reset) {
  if (reset) {
    std::ofstream clear("/proc/self/clear_refs");
    clear << "5";
  }
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (llvm::StringRef(line).starts_with("VmHWM:")) {
      long long kb = 0;
      llvm::StringRef(line).drop_front(6).trim().consumeInteger(10, kb);
      return kb * 1024;
    }
  return -1;
}

/// A JSONL file of about `bytes` bytes; returns its record count.
int64_t writeCorpus(const std::string &path, int64_t bytes) {
  std::ofstream out(path, std::ios::binary);
  Rng rng(1);
  int64_t written = 0, n = 0;
  std::string filler;
  for (int i = 0; i < 40; ++i)
    filler += "lorem ipsum ";
  while (written < bytes) {
    std::string line =
        "{\"id\":" + std::to_string(n) + ",\"question\":\"what is " +
        std::to_string(rng.below(1000)) + " plus " +
        std::to_string(rng.below(1000)) + "? " +
        filler.substr(0, rng.below(filler.size())) + "\",\"answer\":\"" +
        std::to_string(rng.below(2000)) + "\"}\n";
    out << line;
    written += line.size();
    ++n;
  }
  return n;
}

class Streaming : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    dir = new TempDir();
    path = dir->file("big.jsonl");
    records = writeCorpus(path, kBytes);
  }
  static void TearDownTestSuite() {
    delete dir;
    dir = nullptr;
  }
  static constexpr int64_t kBytes = 96ll << 20;
  static TempDir *dir;
  static std::string path;
  static int64_t records;
};

TempDir *Streaming::dir = nullptr;
std::string Streaming::path;
int64_t Streaming::records = 0;

} // namespace

TEST_F(Streaming, TokenizeAndPackInBoundedMemory) {
  CharTokenizer tok;
  auto src = must(jsonlDataset(path));
  auto pred = RecordExpr::binary(
      Op::Lt, RecordExpr::unary(Op::Len, RecordExpr::field("question")),
      RecordExpr::literal(400));
  auto data = must(templateDataset(filterDataset(src, pred),
                                   "Q: {question}\nA: {answer}", "text"));
  TokenizeOptions o;
  o.threads = 2;
  DataStats stats;
  DataContext ctx;
  ctx.stats = &stats;
  int64_t before = peakRss(/*reset=*/true);
  auto ex = must(tokenizeDataset(data, tok, o, ctx));
  PackOptions p;
  p.seqLen = 512;
  auto rows = must(packExamples(std::move(ex), p, &tok, &stats));
  PackedRow row;
  int64_t n = 0, tokens = 0;
  while (must(rows->next(row))) {
    ++n;
    for (int32_t s : row.segmentIds)
      tokens += s >= 0;
  }
  int64_t growth = peakRss(false) - before;
  std::printf("streamed %lld records (%lld MiB): peak RSS grew %.1f MiB\n",
              (long long)records, (long long)(kBytes >> 20),
              growth / 1048576.0);
  EXPECT_EQ(stats.get("records read"), records);
  EXPECT_GT(stats.get("filter: dropped"), 0);
  EXPECT_EQ(stats.get("pack: rows"), n);
  EXPECT_GT(tokens, kBytes / 2);
  // The file is 96 MiB; the pipeline holds a few batches of records.
  EXPECT_LT(growth, 24ll << 20)
      << "peak RSS grew by " << (growth >> 20) << " MiB";
}

TEST_F(Streaming, ShuffleKeepsOffsetsNotRecords) {
  auto src = must(jsonlDataset(path));
  auto shuffled = takeDataset(shuffleDataset(src), 1000);
  DataContext ctx;
  ctx.seed = 3;
  int64_t before = peakRss(/*reset=*/true);
  auto rs = readRecords(shuffled, ctx);
  int64_t growth = peakRss(false) - before;
  std::printf("shuffled %lld records: peak RSS grew %.1f MiB\n",
              (long long)records, growth / 1048576.0);
  ASSERT_EQ(rs.size(), 1000u);
  // Records come from all over the file.
  int64_t maxId = 0;
  for (const Record &r : rs)
    maxId = std::max(maxId, r.get("id")->getInt());
  EXPECT_GT(maxId, records / 2);
  // Offsets and a permutation: 32 bytes per record, far below the data.
  EXPECT_LT(growth, records * 48 + (16ll << 20))
      << "peak RSS grew by " << (growth >> 20) << " MiB for " << records
      << " records";
}
