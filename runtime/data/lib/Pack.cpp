//===- Pack.cpp - Packing and batching tokenized examples -----------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "Internal.h"

#include "ftl/Data/Tokenize.h"
#include "ftl/Tokenizers/Tokenizer.h"

#include <algorithm>
#include <deque>

using namespace ftl::rt;
using namespace ftl::rt::detail;

RowStream::~RowStream() = default;
BatchStream::~BatchStream() = default;

int32_t ftl::rt::defaultPadId(const Tokenizer *tok) {
  if (!tok)
    return 0;
  if (auto p = tok->padId())
    return *p;
  if (auto e = tok->eosId())
    return *e;
  return 0;
}

namespace {

struct Piece {
  int64_t exampleIndex;
  int32_t piece;
  std::vector<int32_t> ids;
  std::vector<float> weights;
};

class PackStream : public RowStream {
public:
  PackStream(std::unique_ptr<ExampleStream> in, int64_t seqLen, int32_t padId,
             int64_t virtualTokens, DataStats *stats)
      : in(std::move(in)), seqLen(seqLen), padId(padId),
        virtualTokens(virtualTokens), stats(stats) {
    startRow();
  }

  llvm::Expected<bool> next(PackedRow &out) override {
    while (true) {
      if (pieces.empty()) {
        if (inputDone)
          break;
        TokenizedExample ex;
        auto more = in->next(ex);
        if (!more)
          return more.takeError();
        if (!*more) {
          inputDone = true;
          continue;
        }
        if (ex.part != TokenizedExample::Part::Single)
          return makeError(
              "pack: " + ex.provenance.where() +
              " is half of a preference pair; pairs cannot be packed (use "
              "batch)");
        if (ex.ids.size() != ex.weights.size())
          return makeError("pack: " + ex.provenance.where() + " has " +
                           llvm::Twine(ex.ids.size()) + " ids but " +
                           llvm::Twine(ex.weights.size()) + " weights");
        split(std::move(ex));
        continue;
      }
      Piece &p = pieces.front();
      int64_t free = seqLen - static_cast<int64_t>(row.ids.size());
      if (static_cast<int64_t>(p.ids.size()) > free) {
        finishRow(out);
        return true;
      }
      place(p);
      pieces.pop_front();
    }
    if (row.ids.empty())
      return false;
    finishRow(out);
    return true;
  }

private:
  void split(TokenizedExample ex) {
    size_t n = ex.ids.size();
    if (n == 0)
      return;
    const int64_t room = seqLen - virtualTokens; // real tokens per piece
    if (static_cast<int64_t>(n) > room && stats)
      stats->add("pack: split examples");
    int32_t k = 0;
    for (size_t start = 0; start < n; start += room, ++k) {
      size_t end = std::min<size_t>(n, start + room);
      Piece p;
      p.exampleIndex = ex.exampleIndex;
      p.piece = k;
      for (int64_t v = 0; v < virtualTokens; ++v) {
        p.ids.push_back(static_cast<int32_t>(-1 - v));
        p.weights.push_back(0.0f);
      }
      p.ids.insert(p.ids.end(), ex.ids.begin() + start, ex.ids.begin() + end);
      p.weights.insert(p.weights.end(), ex.weights.begin() + start,
                       ex.weights.begin() + end);
      pieces.push_back(std::move(p));
    }
  }

  void startRow() {
    row = PackedRow();
    row.ids.reserve(seqLen);
    row.weights.reserve(seqLen);
    row.segmentIds.reserve(seqLen);
    row.positions.reserve(seqLen);
  }

  void place(const Piece &p) {
    int32_t seg = static_cast<int32_t>(row.segments.size());
    int32_t start = static_cast<int32_t>(row.ids.size());
    row.segments.push_back(PackedSegment{
        p.exampleIndex, start, static_cast<int32_t>(p.ids.size()), p.piece});
    row.ids.insert(row.ids.end(), p.ids.begin(), p.ids.end());
    row.weights.insert(row.weights.end(), p.weights.begin(), p.weights.end());
    // Nothing precedes a segment's first token inside its segment (virtual
    // slots do not count: the supervised tokens are the same with them).
    row.weights[start + virtualTokens] = 0;
    for (size_t i = 0; i < p.ids.size(); ++i) {
      row.segmentIds.push_back(seg);
      row.positions.push_back(static_cast<int32_t>(i));
    }
  }

  void finishRow(PackedRow &out) {
    int64_t pad = seqLen - static_cast<int64_t>(row.ids.size());
    row.ids.resize(seqLen, padId);
    row.weights.resize(seqLen, 0.0f);
    row.segmentIds.resize(seqLen, -1);
    row.positions.resize(seqLen, 0);
    if (stats) {
      stats->add("pack: rows");
      stats->add("pack: pad tokens", pad);
    }
    out = std::move(row);
    startRow();
  }

  std::unique_ptr<ExampleStream> in;
  int64_t seqLen;
  int32_t padId;
  int64_t virtualTokens;
  DataStats *stats;
  std::deque<Piece> pieces;
  PackedRow row;
  bool inputDone = false;
};

class BatchExampleStream : public BatchStream {
public:
  BatchExampleStream(std::unique_ptr<ExampleStream> in, BatchOptions opts,
                     DataStats *stats)
      : in(std::move(in)), opts(opts), stats(stats) {}

  llvm::Expected<bool> next(Batch &out) override {
    std::vector<TokenizedExample> rows;
    int64_t units = 0;
    while (units < opts.batchSize && !inputDone) {
      TokenizedExample ex;
      auto more = in->next(ex);
      if (!more)
        return more.takeError();
      if (!*more) {
        inputDone = true;
        break;
      }
      if (ex.part == TokenizedExample::Part::Rejected)
        return makeError("batch: " + ex.provenance.where() +
                         " is a rejected response without its chosen one");
      if (ex.part == TokenizedExample::Part::Chosen) {
        TokenizedExample rej;
        auto more2 = in->next(rej);
        if (!more2)
          return more2.takeError();
        if (!*more2 || rej.part != TokenizedExample::Part::Rejected ||
            rej.exampleIndex != ex.exampleIndex)
          return makeError("batch: " + ex.provenance.where() +
                           " is a chosen response not followed by its "
                           "rejected one");
        rows.push_back(std::move(ex));
        rows.push_back(std::move(rej));
      } else {
        rows.push_back(std::move(ex));
      }
      ++units;
    }
    if (rows.empty() || (opts.dropLast && units < opts.batchSize))
      return false;
    size_t longest = 0;
    for (const TokenizedExample &ex : rows)
      longest = std::max(longest, ex.ids.size());
    int64_t cols = opts.pad == BatchOptions::Pad::SeqLen
                       ? opts.seqLen
                       : static_cast<int64_t>(longest);
    if (opts.seqLen > 0)
      cols = std::min(cols, opts.seqLen);
    out = Batch();
    out.rows = rows.size();
    out.seqLen = cols;
    size_t total = rows.size() * cols;
    out.ids.assign(total, opts.padId);
    out.weights.assign(total, 0.0f);
    out.segmentIds.assign(total, -1);
    out.positions.assign(total, 0);
    for (size_t r = 0; r < rows.size(); ++r) {
      const TokenizedExample &ex = rows[r];
      size_t len = std::min<size_t>(ex.ids.size(), cols);
      if (len < ex.ids.size() && stats)
        stats->add("batch: truncated");
      size_t base = r * cols;
      for (size_t i = 0; i < len; ++i) {
        out.ids[base + i] = ex.ids[i];
        out.weights[base + i] = i < ex.weights.size() ? ex.weights[i] : 0.0f;
        out.segmentIds[base + i] = 0;
        out.positions[base + i] = static_cast<int32_t>(i);
      }
      if (len > 0)
        out.weights[base] = 0;
      out.lengths.push_back(static_cast<int32_t>(len));
      out.exampleIndices.push_back(ex.exampleIndex);
      out.parts.push_back(ex.part);
    }
    if (stats)
      stats->add("batch: batches");
    return true;
  }

private:
  std::unique_ptr<ExampleStream> in;
  BatchOptions opts;
  DataStats *stats;
  bool inputDone = false;
};

} // namespace

llvm::Expected<std::unique_ptr<RowStream>>
ftl::rt::packExamples(std::unique_ptr<ExampleStream> in, PackOptions options,
                      const Tokenizer *tokenizer, DataStats *stats) {
  if (options.seqLen <= 0)
    return makeError("pack: seq_len must be a positive number of tokens, "
                     "found " +
                     llvm::Twine(options.seqLen));
  if (options.seqLen > INT32_MAX)
    return makeError("pack: seq_len " + llvm::Twine(options.seqLen) +
                     " is too large");
  int32_t pad = options.padId >= 0 ? options.padId : defaultPadId(tokenizer);
  if (options.virtualTokens < 0 || options.virtualTokens >= options.seqLen)
    return makeError("pack: " + llvm::Twine(options.virtualTokens) +
                     " virtual tokens leave no room in rows of " +
                     llvm::Twine(options.seqLen) + " tokens");
  return std::make_unique<PackStream>(std::move(in), options.seqLen, pad,
                                      options.virtualTokens, stats);
}

llvm::Expected<std::unique_ptr<BatchStream>>
ftl::rt::batchExamples(std::unique_ptr<ExampleStream> in, BatchOptions options,
                       const Tokenizer *tokenizer, DataStats *stats) {
  if (options.batchSize <= 0)
    return makeError("batch: the batch size must be positive, found " +
                     llvm::Twine(options.batchSize));
  if (options.seqLen < 0 || options.seqLen > INT32_MAX)
    return makeError("batch: seq_len must be in 0..2^31-1 (0 = no limit), "
                     "found " +
                     llvm::Twine(options.seqLen));
  if (options.pad == BatchOptions::Pad::SeqLen && options.seqLen == 0)
    return makeError("batch: padding to seq_len needs a seq_len");
  if (options.padId < 0)
    options.padId = defaultPadId(tokenizer);
  return std::make_unique<BatchExampleStream>(std::move(in), options, stats);
}

Batch ftl::rt::stackRows(llvm::ArrayRef<PackedRow> rows) {
  Batch b;
  b.rows = rows.size();
  b.seqLen = rows.empty() ? 0 : rows.front().ids.size();
  for (const PackedRow &r : rows) {
    b.ids.insert(b.ids.end(), r.ids.begin(), r.ids.end());
    b.weights.insert(b.weights.end(), r.weights.begin(), r.weights.end());
    b.segmentIds.insert(b.segmentIds.end(), r.segmentIds.begin(),
                        r.segmentIds.end());
    b.positions.insert(b.positions.end(), r.positions.begin(),
                       r.positions.end());
    int32_t len = 0;
    for (const PackedSegment &s : r.segments)
      len = std::max(len, s.start + s.length);
    b.lengths.push_back(len);
    b.exampleIndices.push_back(r.segments.empty() ? -1
                                                  : r.segments[0].exampleIndex);
    b.parts.push_back(TokenizedExample::Part::Single);
  }
  return b;
}
