//===- Unicode.cpp - Code points, classes, normalization ------------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "Unicode.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallVector.h"

#include <algorithm>
#include <array>
#include <map>
#include <vector>

namespace ftl::rt::unicode {
namespace {

struct DecompEntry {
  uint32_t cp;
  uint16_t canonOff, canonLen, compatOff, compatLen;
};
struct ComposePair {
  uint32_t first, second, composite;
};

#include "UnicodeTables.inc"

constexpr uint32_t kMaxCp = 0x110000;

/// Two-stage lookup of the class bits, built once from kPropRuns.
class ClassTable {
public:
  ClassTable() {
    std::vector<uint16_t> flat(kMaxCp);
    size_t n = std::size(kPropRuns);
    for (size_t r = 0; r < n; ++r) {
      uint32_t start = kPropRuns[r] >> 11;
      uint32_t end = r + 1 < n ? kPropRuns[r + 1] >> 11 : kMaxCp;
      std::fill(flat.begin() + start, flat.begin() + end,
                uint16_t(kPropRuns[r] & 0x7ff));
    }
    std::map<std::string, uint16_t> seen;
    for (uint32_t block = 0; block < kMaxCp / 256; ++block) {
      const uint16_t *first = &flat[block * 256];
      std::string key(reinterpret_cast<const char *>(first),
                      256 * sizeof(uint16_t));
      auto [it, inserted] = seen.try_emplace(key, blocks.size() / 256);
      if (inserted)
        blocks.insert(blocks.end(), first, first + 256);
      stage1[block] = it->second;
    }
  }
  uint16_t get(uint32_t cp) const {
    return blocks[size_t(stage1[cp >> 8]) * 256 + (cp & 0xff)];
  }

private:
  std::array<uint16_t, kMaxCp / 256> stage1;
  std::vector<uint16_t> blocks;
};

const ClassTable &classTable() {
  static const ClassTable table;
  return table;
}

// Hangul syllable composition constants (Unicode chapter 3.12).
constexpr uint32_t kSBase = 0xAC00, kLBase = 0x1100, kVBase = 0x1161,
                   kTBase = 0x11A7;
constexpr uint32_t kLCount = 19, kVCount = 21, kTCount = 28;
constexpr uint32_t kNCount = kVCount * kTCount, kSCount = kLCount * kNCount;

const DecompEntry *findDecomp(uint32_t cp) {
  auto *begin = std::begin(kDecompEntries), *end = std::end(kDecompEntries);
  auto *it =
      std::lower_bound(begin, end, cp, [](const DecompEntry &e, uint32_t c) {
        return e.cp < c;
      });
  return it != end && it->cp == cp ? it : nullptr;
}

uint32_t composePair(uint32_t a, uint32_t b) {
  // Hangul LV and LVT.
  if (a >= kLBase && a < kLBase + kLCount && b >= kVBase &&
      b < kVBase + kVCount)
    return kSBase + ((a - kLBase) * kVCount + (b - kVBase)) * kTCount;
  if (a >= kSBase && a < kSBase + kSCount && (a - kSBase) % kTCount == 0 &&
      b > kTBase && b < kTBase + kTCount)
    return a + (b - kTBase);
  static const llvm::DenseMap<uint64_t, uint32_t> pairs = [] {
    llvm::DenseMap<uint64_t, uint32_t> m;
    for (const ComposePair &p : kComposePairs)
      m[(uint64_t(p.first) << 32) | p.second] = p.composite;
    return m;
  }();
  auto it = pairs.find((uint64_t(a) << 32) | b);
  return it == pairs.end() ? kInvalid : it->second;
}

void decomposeInto(uint32_t cp, bool compat,
                   llvm::SmallVectorImpl<uint32_t> &out) {
  if (cp >= kSBase && cp < kSBase + kSCount) {
    uint32_t s = cp - kSBase;
    out.push_back(kLBase + s / kNCount);
    out.push_back(kVBase + (s % kNCount) / kTCount);
    if (s % kTCount)
      out.push_back(kTBase + s % kTCount);
    return;
  }
  if (const DecompEntry *e = cp < kMaxCp ? findDecomp(cp) : nullptr) {
    uint16_t off = compat ? e->compatOff : e->canonOff;
    uint16_t len = compat ? e->compatLen : e->canonLen;
    if (len) {
      out.append(kDecompData + off, kDecompData + off + len);
      return;
    }
  }
  out.push_back(cp);
}

} // namespace

uint32_t decodeUtf8Slow(llvm::StringRef s, size_t i, unsigned &len) {
  const uint8_t *p = reinterpret_cast<const uint8_t *>(s.data()) + i;
  size_t avail = s.size() - i;
  uint8_t b0 = p[0];
  len = 1;
  auto cont = [&](size_t k, uint8_t lo, uint8_t hi) {
    return k < avail && p[k] >= lo && p[k] <= hi;
  };
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    if (!cont(1, 0x80, 0xBF))
      return kInvalid;
    len = 2;
    return (uint32_t(b0 & 0x1F) << 6) | (p[1] & 0x3F);
  }
  if (b0 >= 0xE0 && b0 <= 0xEF) {
    uint8_t lo = b0 == 0xE0 ? 0xA0 : 0x80, hi = b0 == 0xED ? 0x9F : 0xBF;
    if (!cont(1, lo, hi) || !cont(2, 0x80, 0xBF))
      return kInvalid;
    len = 3;
    return (uint32_t(b0 & 0x0F) << 12) | (uint32_t(p[1] & 0x3F) << 6) |
           (p[2] & 0x3F);
  }
  if (b0 >= 0xF0 && b0 <= 0xF4) {
    uint8_t lo = b0 == 0xF0 ? 0x90 : 0x80, hi = b0 == 0xF4 ? 0x8F : 0xBF;
    if (!cont(1, lo, hi) || !cont(2, 0x80, 0xBF) || !cont(3, 0x80, 0xBF))
      return kInvalid;
    len = 4;
    return (uint32_t(b0 & 0x07) << 18) | (uint32_t(p[1] & 0x3F) << 12) |
           (uint32_t(p[2] & 0x3F) << 6) | (p[3] & 0x3F);
  }
  return kInvalid;
}

void appendUtf8(uint32_t cp, std::string &out) {
  if (cp < 0x80) {
    out.push_back(char(cp));
  } else if (cp < 0x800) {
    out.push_back(char(0xC0 | (cp >> 6)));
    out.push_back(char(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(char(0xE0 | (cp >> 12)));
    out.push_back(char(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(char(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(char(0xF0 | (cp >> 18)));
    out.push_back(char(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(char(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(char(0x80 | (cp & 0x3F)));
  }
}

uint16_t classOf(uint32_t cp) {
  if (cp >= kMaxCp)
    return 0;
  return classTable().get(cp);
}

uint8_t combiningClass(uint32_t cp) {
  if (cp < 0x300 || cp >= kMaxCp)
    return 0;
  auto *begin = std::begin(kCccRuns), *end = std::end(kCccRuns);
  // Last run whose start is <= cp.
  auto *it = std::upper_bound(
      begin, end, cp, [](uint32_t c, uint32_t run) { return c < (run >> 8); });
  return uint8_t(it[-1] & 0xff);
}

namespace {

/// The full algorithm on `in`: decompose, order the marks canonically, then
/// compose. Invalid bytes are kept and act as starters.
void normalizeSlow(llvm::StringRef in, bool compat, bool compose,
                   std::string &out) {
  llvm::SmallVector<uint32_t, 64> cps;
  for (size_t i = 0; i < in.size();) {
    unsigned len;
    uint32_t cp = decodeUtf8(in, i, len);
    if (cp == kInvalid)
      cps.push_back(kInvalid + uint8_t(in[i]));
    else
      decomposeInto(cp, compat, cps);
    i += len;
  }
  // Canonical ordering: stable sort of each run of non-starters by class.
  for (size_t i = 0; i < cps.size();) {
    if (combiningClass(cps[i]) == 0) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < cps.size() && combiningClass(cps[j]) != 0)
      ++j;
    // Stable insertion sort: runs of marks are short.
    for (size_t k = i + 1; k < j; ++k) {
      uint32_t c = cps[k];
      uint8_t cc = combiningClass(c);
      size_t m = k;
      for (; m > i && combiningClass(cps[m - 1]) > cc; --m)
        cps[m] = cps[m - 1];
      cps[m] = c;
    }
    i = j;
  }
  if (compose && !cps.empty()) {
    size_t w = 0;      // write index into cps
    long starter = -1; // index of the last starter in the written prefix
    uint8_t lastCcc = 0;
    for (size_t r = 0; r < cps.size(); ++r) {
      uint32_t c = cps[r];
      uint8_t ccc = combiningClass(c);
      if (starter >= 0 && c < kMaxCp) {
        bool adjacent = size_t(starter) + 1 == w;
        bool blocked = !adjacent && (lastCcc == 0 || lastCcc >= ccc);
        if (!blocked) {
          uint32_t comp = composePair(cps[starter], c);
          if (comp != kInvalid) {
            cps[starter] = comp;
            continue;
          }
        }
      }
      if (ccc == 0)
        starter = c < kMaxCp ? long(w) : -1;
      cps[w++] = c;
      lastCcc = ccc;
    }
    cps.resize(w);
  }
  for (uint32_t cp : cps) {
    if (cp >= kMaxCp)
      out.push_back(char(cp - kInvalid));
    else
      appendUtf8(cp, out);
  }
}

} // namespace

void normalize(llvm::StringRef in, NormForm form, std::string &out) {
  bool compat = form == NormForm::NFKC || form == NormForm::NFKD;
  bool compose = form == NormForm::NFC || form == NormForm::NFKC;
  uint16_t notYes = form == NormForm::NFC    ? kNfcNotYes
                    : form == NormForm::NFKC ? kNfkcNotYes
                    : form == NormForm::NFD  ? kNfdNotYes
                                             : kNfkdNotYes;
  // Quick check, code point by code point. Before a starter whose quick
  // check is Yes the text can be cut: nothing before it interacts with it
  // or with what follows. Where the check fails, the slow path runs from the
  // last such boundary to the next one.
  size_t n = in.size();
  size_t copied = 0; // bytes of `in` handled so far
  size_t safe = 0;   // the last boundary
  uint8_t lastCcc = 0;
  for (size_t i = 0; i < n;) {
    if (uint8_t(in[i]) < 0x80) {
      safe = i++;
      lastCcc = 0;
      continue;
    }
    unsigned len;
    uint32_t cp = decodeUtf8(in, i, len);
    if (cp == kInvalid) {
      safe = i;
      i += len;
      lastCcc = 0;
      continue;
    }
    uint16_t cls = classOf(cp);
    uint8_t ccc = (cls & kNonStarter) ? combiningClass(cp) : 0;
    if (!(cls & notYes) && (ccc == 0 || lastCcc <= ccc)) {
      if (ccc == 0)
        safe = i;
      lastCcc = ccc;
      i += len;
      continue;
    }
    size_t end = i + len;
    while (end < n) {
      unsigned len2;
      uint32_t c2 = decodeUtf8(in, end, len2);
      if (c2 == kInvalid)
        break;
      uint16_t cls2 = classOf(c2);
      if (!(cls2 & notYes) && !(cls2 & kNonStarter))
        break;
      end += len2;
    }
    out.append(in.data() + copied, safe - copied);
    normalizeSlow(in.slice(safe, end), compat, compose, out);
    copied = safe = i = end;
    lastCcc = 0;
  }
  out.append(in.data() + copied, n - copied);
}

void appendLossyUtf8(llvm::StringRef bytes, std::string &out) {
  const uint8_t *p = reinterpret_cast<const uint8_t *>(bytes.data());
  size_t n = bytes.size();
  size_t i = 0;
  while (i < n) {
    size_t start = i;
    while (i < n && p[i] < 0x80)
      ++i;
    out.append(bytes.data() + start, i - start);
    if (i >= n)
      break;
    unsigned len;
    if (decodeUtf8Slow(bytes, i, len) != kInvalid) {
      out.append(bytes.data() + i, len);
      i += len;
      continue;
    }
    // Length of the maximal prefix of a valid sequence (at least one byte).
    uint8_t b0 = p[i];
    size_t need = 0;
    uint8_t lo = 0x80, hi = 0xBF;
    if (b0 >= 0xC2 && b0 <= 0xDF) {
      need = 1;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
      need = 2;
      lo = b0 == 0xE0 ? 0xA0 : 0x80;
      hi = b0 == 0xED ? 0x9F : 0xBF;
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
      need = 3;
      lo = b0 == 0xF0 ? 0x90 : 0x80;
      hi = b0 == 0xF4 ? 0x8F : 0xBF;
    }
    size_t k = 1;
    if (need && i + 1 < n && p[i + 1] >= lo && p[i + 1] <= hi) {
      k = 2;
      while (k <= need && i + k < n && p[i + k] >= 0x80 && p[i + k] <= 0xBF)
        ++k;
    }
    out.append("\xEF\xBF\xBD");
    i += k;
  }
}

bool isValidUtf8(llvm::StringRef s) {
  for (size_t i = 0; i < s.size();) {
    unsigned len;
    if (decodeUtf8(s, i, len) == kInvalid)
      return false;
    i += len;
  }
  return true;
}

} // namespace ftl::rt::unicode
