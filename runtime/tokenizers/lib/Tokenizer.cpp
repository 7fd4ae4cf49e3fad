//===- Tokenizer.cpp - Tokenizer base and the byte tokenizer --------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "ftl/Tokenizers/Tokenizer.h"

#include "Unicode.h"

#include <algorithm>
#include <atomic>
#include <thread>

using llvm::ArrayRef;
using llvm::StringRef;

namespace ftl::rt {

Tokenizer::~Tokenizer() = default;

std::vector<std::vector<int32_t>>
Tokenizer::encodeBatch(ArrayRef<StringRef> texts, unsigned threads,
                       bool addSpecial) const {
  std::vector<std::vector<int32_t>> out(texts.size());
  if (threads == 0)
    threads = std::max(1u, std::thread::hardware_concurrency());
  threads = unsigned(std::min<size_t>(threads, texts.size()));
  if (threads <= 1) {
    for (size_t i = 0; i < texts.size(); ++i)
      out[i] = encode(texts[i], addSpecial);
    return out;
  }
  // Workers take small blocks of texts in turn, so long and short texts
  // balance out.
  constexpr size_t kBlock = 16;
  std::atomic<size_t> next{0};
  auto work = [&] {
    while (true) {
      size_t begin = next.fetch_add(kBlock, std::memory_order_relaxed);
      if (begin >= texts.size())
        return;
      size_t end = std::min(texts.size(), begin + kBlock);
      for (size_t i = begin; i < end; ++i)
        out[i] = encode(texts[i], addSpecial);
    }
  };
  std::vector<std::thread> pool;
  pool.reserve(threads - 1);
  for (unsigned t = 1; t < threads; ++t)
    pool.emplace_back(work);
  work();
  for (std::thread &t : pool)
    t.join();
  return out;
}

namespace {

/// Ids 0..255 are bytes; then <bos>, <eos>, <pad>.
class ByteTokenizer final : public Tokenizer {
public:
  static constexpr int32_t kBos = 256, kEos = 257, kPad = 258;

  std::vector<int32_t> encode(StringRef text, bool addSpecial) const override {
    std::vector<int32_t> ids;
    ids.reserve(text.size() + (addSpecial ? 1 : 0));
    if (addSpecial)
      ids.push_back(kBos);
    for (char c : text)
      ids.push_back(uint8_t(c));
    return ids;
  }

  std::string decode(ArrayRef<int32_t> ids, bool skipSpecial) const override {
    std::string bytes, out;
    for (int32_t id : ids) {
      if (id >= 0 && id < 256) {
        bytes.push_back(char(id));
        continue;
      }
      if (id < kBos || id > kPad || skipSpecial)
        continue;
      unicode::appendLossyUtf8(bytes, out);
      bytes.clear();
      out += id == kBos ? "<bos>" : id == kEos ? "<eos>" : "<pad>";
    }
    unicode::appendLossyUtf8(bytes, out);
    return out;
  }

  int32_t vocabSize() const override { return 259; }

  std::optional<int32_t> tokenId(StringRef token) const override {
    if (token == "<bos>")
      return kBos;
    if (token == "<eos>")
      return kEos;
    if (token == "<pad>")
      return kPad;
    if (token.size() == 1)
      return int32_t(uint8_t(token[0]));
    return std::nullopt;
  }

  std::optional<int32_t> bosId() const override { return kBos; }
  std::optional<int32_t> eosId() const override { return kEos; }
  std::optional<int32_t> padId() const override { return kPad; }
  std::string fingerprint() const override { return "bytes-v1"; }
  StringRef kind() const override { return "bytes"; }

  std::optional<std::string> idToToken(int32_t id) const override {
    if (id >= 0 && id < 256)
      return std::string(1, char(id));
    if (id == kBos)
      return std::string("<bos>");
    if (id == kEos)
      return std::string("<eos>");
    if (id == kPad)
      return std::string("<pad>");
    return std::nullopt;
  }
  bool isSpecial(int32_t id) const override { return id >= kBos && id <= kPad; }
};

} // namespace

std::unique_ptr<Tokenizer> makeByteTokenizer() {
  return std::make_unique<ByteTokenizer>();
}

} // namespace ftl::rt
