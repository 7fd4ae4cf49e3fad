//===- Dedup.cpp - Exact and MinHash-LSH deduplication --------------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "Internal.h"

#include "ftl/Data/Dataset.h"
#include "ftl/Data/MinHash.h"
#include "ftl/Runtime/Rng.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Support/xxhash.h"

#include <algorithm>
#include <cmath>

using namespace ftl::rt;
using namespace ftl::rt::detail;

static uint64_t hashBytes(llvm::StringRef s) {
  return llvm::xxh3_64bits(llvm::ArrayRef<uint8_t>(
      reinterpret_cast<const uint8_t *>(s.data()), s.size()));
}

//===----------------------------------------------------------------------===//
// MinHasher
//===----------------------------------------------------------------------===//

LshBands ftl::rt::chooseLshBands(unsigned permutations, double threshold,
                                 double fpWeight, double fnWeight) {
  LshBands best{permutations, 1};
  double bestErr = INFINITY;
  const int steps = 1000;
  for (unsigned r = 1; r <= permutations; ++r) {
    unsigned b = permutations / r;
    double fp = 0, fn = 0;
    for (int i = 0; i < steps; ++i) {
      double s = (i + 0.5) / steps;
      double p = 1 - std::pow(1 - std::pow(s, r), b);
      if (s < threshold)
        fp += p;
      else
        fn += 1 - p;
    }
    double err = (fpWeight * fp + fnWeight * fn) / steps;
    if (err < bestErr - 1e-12) {
      bestErr = err;
      best = LshBands{b, r};
    }
  }
  return best;
}

MinHasher::MinHasher(unsigned permutations, unsigned ngram, bool wordShingles,
                     uint64_t seed)
    : ngram(ngram), words(wordShingles) {
  Rng rng(seed);
  mul.resize(permutations);
  add.resize(permutations);
  for (unsigned j = 0; j < permutations; ++j) {
    mul[j] = rng.next() | 1;
    add[j] = rng.next();
  }
}

std::string MinHasher::normalize(llvm::StringRef text) {
  std::string out;
  out.reserve(text.size());
  bool space = false;
  for (char c : text) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
        c == '\v') {
      space = !out.empty();
      continue;
    }
    if (space) {
      out += ' ';
      space = false;
    }
    out += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  return out;
}

void MinHasher::shingleHashes(llvm::StringRef text,
                              std::vector<uint64_t> &out) const {
  out.clear();
  std::string norm = normalize(text);
  if (norm.empty())
    return;
  llvm::StringRef s(norm);
  // Unit boundaries: word starts (after a space) or code point starts.
  llvm::SmallVector<size_t, 256> starts;
  if (words) {
    starts.push_back(0);
    for (size_t i = 0; i < s.size(); ++i)
      if (s[i] == ' ')
        starts.push_back(i + 1);
  } else {
    for (size_t i = 0; i < s.size(); ++i)
      if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80)
        starts.push_back(i);
  }
  size_t units = starts.size();
  if (units <= ngram) {
    out.push_back(hashBytes(s));
    return;
  }
  for (size_t i = 0; i + ngram <= units; ++i) {
    size_t begin = starts[i];
    size_t end = i + ngram < units ? starts[i + ngram] : s.size();
    if (words && i + ngram < units)
      --end; // drop the separating space
    out.push_back(hashBytes(s.slice(begin, end)));
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
}

void MinHasher::signatureOfHashes(llvm::ArrayRef<uint64_t> hashes,
                                  std::vector<uint32_t> &sig) const {
  size_t k = mul.size();
  sig.assign(k, UINT32_MAX);
  const uint64_t *m = mul.data(), *a = add.data();
  uint32_t *out = sig.data();
  for (uint64_t h : hashes)
    for (size_t j = 0; j < k; ++j) {
      uint32_t v = static_cast<uint32_t>((m[j] * h + a[j]) >> 32);
      out[j] = v < out[j] ? v : out[j];
    }
}

void MinHasher::signature(llvm::StringRef text,
                          std::vector<uint32_t> &sig) const {
  std::vector<uint64_t> hashes;
  shingleHashes(text, hashes);
  signatureOfHashes(hashes, sig);
}

double MinHasher::estimate(llvm::ArrayRef<uint32_t> a,
                           llvm::ArrayRef<uint32_t> b) {
  if (a.empty() || a.size() != b.size())
    return 0;
  size_t eq = 0;
  for (size_t i = 0; i < a.size(); ++i)
    eq += a[i] == b[i];
  return static_cast<double>(eq) / a.size();
}

//===----------------------------------------------------------------------===//
// dedup
//===----------------------------------------------------------------------===//

namespace {

class DedupDataset : public SelectDataset {
public:
  DedupDataset(DatasetRef in, DedupOptions opts)
      : SelectDataset(std::move(in)), opts(std::move(opts)) {
    if (this->opts.method == DedupOptions::Method::MinHash)
      bands =
          this->opts.verify
              ? chooseLshBands(this->opts.permutations, this->opts.threshold,
                               0.05, 0.95)
              : chooseLshBands(this->opts.permutations, this->opts.threshold);
  }

  void describe(llvm::raw_ostream &os, bool forKey) const override {
    in->describe(os, forKey);
    os << " |> dedup(";
    if (opts.method == DedupOptions::Method::Exact) {
      os << "exact";
      if (!opts.field.empty())
        os << ", ." << opts.field;
    } else {
      os << "minhash(." << opts.field << ", ngram: " << opts.ngram << ", "
         << (opts.shingle == DedupOptions::Shingle::Word ? "words" : "chars")
         << ", perm: " << opts.permutations
         << "), threshold: " << formatDouble(opts.threshold)
         << ", bands: " << bands.bands << "x" << bands.rows
         << (opts.verify ? ", verify" : "");
    }
    os << ")";
  }

protected:
  class ExactSel : public Selector {
  public:
    explicit ExactSel(std::string field) : field(std::move(field)) {}
    llvm::Expected<Decision> decide(const Record &r, uint64_t) override {
      std::string bytes;
      llvm::raw_string_ostream os(bytes);
      if (field.empty()) {
        r.toObject().writeCanonicalJson(os);
      } else {
        auto v = r.require(field);
        if (!v)
          return v.takeError();
        if ((*v)->isString())
          os << 's' << (*v)->getString();
        else {
          os << 'j';
          (*v)->writeCanonicalJson(os);
        }
      }
      llvm::XXH128_hash_t h = llvm::xxh3_128bits(llvm::ArrayRef<uint8_t>(
          reinterpret_cast<const uint8_t *>(bytes.data()), bytes.size()));
      // Keep clear of DenseSet's reserved keys.
      uint64_t hi = h.high64 >= UINT64_MAX - 1 ? 0 : h.high64;
      return seen.insert({hi, h.low64}).second ? Decision::Keep
                                               : Decision::Drop;
    }

  private:
    std::string field;
    llvm::DenseSet<std::pair<uint64_t, uint64_t>> seen;
  };

  class MinHashSel : public Selector {
  public:
    MinHashSel(const DedupOptions &opts, LshBands bands, uint64_t seed)
        : opts(opts), bands(bands),
          hasher(opts.permutations, opts.ngram,
                 opts.shingle == DedupOptions::Shingle::Word, seed),
          tables(bands.bands) {}

    llvm::Expected<Decision> decide(const Record &r, uint64_t) override {
      auto text = r.requireString(opts.field);
      if (!text)
        return text.takeError();
      hasher.signature(*text, sig);
      keys.clear();
      for (unsigned b = 0; b < bands.bands; ++b)
        keys.push_back(llvm::xxh3_64bits(llvm::ArrayRef<uint8_t>(
            reinterpret_cast<const uint8_t *>(sig.data() + b * bands.rows),
            bands.rows * sizeof(uint32_t))));
      for (unsigned b = 0; b < bands.bands; ++b) {
        auto it = tables[b].find(keys[b]);
        if (it == tables[b].end())
          continue;
        if (!opts.verify)
          return Decision::Drop;
        for (uint32_t doc : it->second) {
          llvm::ArrayRef<uint32_t> other(kept.data() + size_t(doc) * sig.size(),
                                         sig.size());
          if (MinHasher::estimate(sig, other) >= opts.threshold)
            return Decision::Drop;
        }
      }
      uint32_t id = count++;
      for (unsigned b = 0; b < bands.bands; ++b)
        tables[b][keys[b]].push_back(id);
      if (opts.verify)
        kept.insert(kept.end(), sig.begin(), sig.end());
      return Decision::Keep;
    }

  private:
    DedupOptions opts;
    LshBands bands;
    MinHasher hasher;
    std::vector<llvm::DenseMap<uint64_t, llvm::SmallVector<uint32_t, 1>>>
        tables;
    std::vector<uint32_t> kept, sig;
    std::vector<uint64_t> keys;
    uint32_t count = 0;
  };

  llvm::Expected<std::unique_ptr<Selector>>
  makeSelector(const DataContext &ctx) const override {
    if (opts.method == DedupOptions::Method::Exact)
      return std::make_unique<ExactSel>(opts.field);
    return std::make_unique<MinHashSel>(opts, bands, rng(ctx).next());
  }
  llvm::StringRef opName() const override { return "dedup"; }

private:
  DedupOptions opts;
  LshBands bands{0, 0};
};

} // namespace

llvm::Expected<DatasetRef> ftl::rt::dedupDataset(DatasetRef in,
                                                 DedupOptions options) {
  if (llvm::StringRef(options.field).starts_with("."))
    options.field.erase(0, 1);
  if (options.method == DedupOptions::Method::MinHash) {
    if (options.field.empty())
      return makeError("dedup: minhash needs a text field, such as "
                       "minhash(.question)");
    if (options.ngram == 0)
      return makeError("dedup: ngram must be at least 1, found 0");
    if (options.permutations == 0 || options.permutations > 4096)
      return makeError("dedup: perm must be in 1..4096, found " +
                       llvm::Twine(options.permutations));
    if (!(options.threshold > 0 && options.threshold <= 1))
      return makeError("dedup: threshold " + formatDouble(options.threshold) +
                       " is outside (0, 1], expected e.g. 0.8");
  }
  return std::make_shared<DedupDataset>(std::move(in), std::move(options));
}
