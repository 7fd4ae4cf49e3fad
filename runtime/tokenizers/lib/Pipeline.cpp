//===- Pipeline.cpp - Normalizers, pre-tokenizers, decoders ---------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "Pipeline.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"

#include <re2/re2.h>

#include <array>

using namespace ftl::rt::unicode;
using llvm::SmallVectorImpl;
using llvm::StringRef;

namespace ftl::rt::tok {

Normalizer::~Normalizer() = default;
PreTokenizer::~PreTokenizer() = default;
Decoder::~Decoder() = default;

//===----------------------------------------------------------------------===//
// Byte-level mapping
//===----------------------------------------------------------------------===//

namespace {
struct ByteMap {
  std::array<uint32_t, 256> toUnicode;
  std::array<int16_t, 512> toByte; // every mapped code point is < 512
  ByteMap() {
    toByte.fill(-1);
    uint32_t next = 256;
    for (unsigned b = 0; b < 256; ++b) {
      bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) ||
                       (b >= 0xAE && b <= 0xFF);
      toUnicode[b] = printable ? b : next++;
      toByte[toUnicode[b]] = int16_t(b);
    }
  }
};
const ByteMap &byteMap() {
  static const ByteMap map;
  return map;
}
} // namespace

uint32_t byteToUnicode(uint8_t b) { return byteMap().toUnicode[b]; }

int unicodeToByte(uint32_t cp) { return cp < 512 ? byteMap().toByte[cp] : -1; }

//===----------------------------------------------------------------------===//
// Normalizers
//===----------------------------------------------------------------------===//

namespace {

class UnicodeNormalizer final : public Normalizer {
public:
  explicit UnicodeNormalizer(NormForm form) : form(form) {}
  void normalize(StringRef in, std::string &out) const override {
    unicode::normalize(in, form, out);
  }

private:
  NormForm form;
};

class PrependNormalizer final : public Normalizer {
public:
  explicit PrependNormalizer(std::string prepend)
      : prepend(std::move(prepend)) {}
  void normalize(StringRef in, std::string &out) const override {
    if (!in.empty())
      out.append(prepend);
    out.append(in.begin(), in.end());
  }

private:
  std::string prepend;
};

/// Appends `in` with every non-overlapping occurrence of `pattern` (found
/// left to right) replaced by `content`.
void replaceAll(StringRef in, StringRef pattern, StringRef content,
                std::string &out) {
  if (pattern.empty()) {
    out.append(in.begin(), in.end());
    return;
  }
  size_t pos = 0;
  while (true) {
    size_t hit = in.find(pattern, pos);
    if (hit == StringRef::npos)
      break;
    out.append(in.data() + pos, hit - pos);
    out.append(content.begin(), content.end());
    pos = hit + pattern.size();
  }
  out.append(in.data() + pos, in.size() - pos);
}

class ReplaceNormalizer final : public Normalizer {
public:
  ReplaceNormalizer(std::string pattern, std::string content)
      : pattern(std::move(pattern)), content(std::move(content)) {}
  void normalize(StringRef in, std::string &out) const override {
    replaceAll(in, pattern, content, out);
  }

private:
  std::string pattern, content;
};

class StripNormalizer final : public Normalizer {
public:
  StripNormalizer(bool left, bool right) : left(left), right(right) {}
  void normalize(StringRef in, std::string &out) const override {
    size_t begin = 0, end = in.size();
    if (left) {
      while (begin < end) {
        unsigned len;
        uint32_t cp = decodeUtf8(in, begin, len);
        if (!isWhiteSpace(cp))
          break;
        begin += len;
      }
    }
    if (right) {
      while (end > begin) {
        // Find the start of the last code point.
        size_t start = end - 1;
        while (start > begin && (uint8_t(in[start]) & 0xC0) == 0x80)
          --start;
        unsigned len;
        uint32_t cp = decodeUtf8(in, start, len);
        if (start + len != end || !isWhiteSpace(cp))
          break;
        end = start;
      }
    }
    out.append(in.data() + begin, end - begin);
  }

private:
  bool left, right;
};

class SequenceNormalizer final : public Normalizer {
public:
  explicit SequenceNormalizer(std::vector<std::unique_ptr<Normalizer>> steps)
      : steps(std::move(steps)) {}
  void normalize(StringRef in, std::string &out) const override {
    if (steps.empty()) {
      out.append(in.begin(), in.end());
      return;
    }
    std::string a(in.begin(), in.end()), b;
    for (const auto &step : steps) {
      b.clear();
      step->normalize(a, b);
      std::swap(a, b);
    }
    out.append(a);
  }

private:
  std::vector<std::unique_ptr<Normalizer>> steps;
};

} // namespace

std::unique_ptr<Normalizer> makeUnicodeNormalizer(NormForm form) {
  return std::make_unique<UnicodeNormalizer>(form);
}
std::unique_ptr<Normalizer> makePrependNormalizer(std::string prepend) {
  return std::make_unique<PrependNormalizer>(std::move(prepend));
}
std::unique_ptr<Normalizer> makeReplaceNormalizer(std::string pattern,
                                                  std::string content) {
  return std::make_unique<ReplaceNormalizer>(std::move(pattern),
                                             std::move(content));
}
std::unique_ptr<Normalizer> makeStripNormalizer(bool left, bool right) {
  return std::make_unique<StripNormalizer>(left, right);
}
std::unique_ptr<Normalizer>
makeSequenceNormalizer(std::vector<std::unique_ptr<Normalizer>> steps) {
  return std::make_unique<SequenceNormalizer>(std::move(steps));
}

//===----------------------------------------------------------------------===//
// Scanners for the split regexes
//===----------------------------------------------------------------------===//

namespace {

enum CharKind : uint8_t { KLetter, KNumber, KSpace, KOther };

/// The class of a code point for the split regexes: \p{L}, \p{N}, \s or
/// anything else ([^\s\p{L}\p{N}]). Invalid bytes are "other".
inline CharKind kindOf(uint32_t cp) {
  if (cp < 0x80) {
    static const std::array<uint8_t, 128> ascii = [] {
      std::array<uint8_t, 128> t{};
      for (unsigned c = 0; c < 128; ++c) {
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
          t[c] = KLetter;
        else if (c >= '0' && c <= '9')
          t[c] = KNumber;
        else if ((c >= 9 && c <= 13) || c == ' ')
          t[c] = KSpace;
        else
          t[c] = KOther;
      }
      return t;
    }();
    return CharKind(ascii[cp]);
  }
  uint8_t c = classOf(cp);
  if (c & kLetter)
    return KLetter;
  if (c & kNumber)
    return KNumber;
  if (c & kWhiteSpace)
    return KSpace;
  return KOther;
}

/// A cursor over code points of a string.
struct Cursor {
  StringRef s;
  /// The code point at `i` and its length; (kInvalid + 1, 0) at the end.
  uint32_t at(size_t i, unsigned &len) const {
    if (i >= s.size()) {
      len = 0;
      return kInvalid + 1;
    }
    return decodeUtf8(s, i, len);
  }
  CharKind kindAt(size_t i, unsigned &len) const {
    uint32_t cp = at(i, len);
    return len ? kindOf(cp) : KOther;
  }
  /// End of the run of `kind` starting at i.
  size_t runEnd(size_t i, CharKind kind) const {
    while (i < s.size()) {
      unsigned len;
      if (kindAt(i, len) != kind)
        break;
      i += len;
    }
    return i;
  }
};

/// Matches 's|'t|'re|'ve|'m|'ll|'d after the apostrophe at `i`; returns the
/// match end or 0. With `caseless`, as (?i:...) does in Oniguruma (Unicode
/// simple case folding, where U+017F LATIN SMALL LETTER LONG S folds to s).
size_t matchContraction(const Cursor &c, size_t i, bool caseless) {
  size_t j = i + 1;
  auto letter = [&](size_t pos, char want, unsigned &len) -> bool {
    uint32_t cp = c.at(pos, len);
    if (!len)
      return false;
    if (cp == uint32_t(want))
      return true;
    if (!caseless)
      return false;
    if (cp == uint32_t(want - 'a' + 'A'))
      return true;
    return want == 's' && cp == 0x17F;
  };
  unsigned l1, l2;
  if (letter(j, 's', l1) || letter(j, 't', l1) || letter(j, 'm', l1) ||
      letter(j, 'd', l1))
    return j + l1;
  if ((letter(j, 'r', l1) || letter(j, 'v', l1)) && letter(j + l1, 'e', l2))
    return j + l1 + l2;
  if (letter(j, 'l', l1) && letter(j + l1, 'l', l2))
    return j + l1 + l2;
  return 0;
}

/// Whitespace handling shared by the scanners: \s+(?!\S)|\s+ at `i`, given
/// the end `j` of the whitespace run and the start `last` of its last code
/// point.
size_t matchTrailingSpace(const Cursor &c, size_t i, size_t j, size_t last) {
  if (j >= c.s.size())
    return j; // the run reaches the end: (?!\S) holds
  if (last > i)
    return last; // leave the last space to prefix the next word
  return j;
}

size_t scanGpt2(StringRef s, size_t i) {
  Cursor c{s};
  unsigned len0;
  uint32_t c0 = c.at(i, len0);
  if (c0 == '\'') {
    if (size_t end = matchContraction(c, i, /*caseless=*/false))
      return end;
  }
  // ' ?\p{L}+', ' ?\p{N}+', ' ?[^\s\p{L}\p{N}]+'
  if (c0 == ' ') {
    unsigned len1;
    CharKind k1 = c.kindAt(i + 1, len1);
    if (len1 && k1 != KSpace)
      return c.runEnd(i + 1, k1);
  }
  CharKind k0 = kindOf(c0);
  if (k0 != KSpace)
    return c.runEnd(i, k0);
  // '\s+(?!\S)|\s+'
  size_t j = i, last = i;
  while (j < s.size()) {
    unsigned len;
    if (c.kindAt(j, len) != KSpace)
      break;
    last = j;
    j += len;
  }
  return matchTrailingSpace(c, i, j, last);
}

size_t scanLlama3(StringRef s, size_t i, unsigned maxDigits) {
  Cursor c{s};
  unsigned len0;
  uint32_t c0 = c.at(i, len0);
  // (?i:'s|'t|'re|'ve|'m|'ll|'d)
  if (c0 == '\'') {
    if (size_t end = matchContraction(c, i, /*caseless=*/true))
      return end;
  }
  CharKind k0 = kindOf(c0);
  // [^\r\n\p{L}\p{N}]?\p{L}+
  if (k0 == KLetter)
    return c.runEnd(i, KLetter);
  unsigned len1;
  CharKind k1 = c.kindAt(i + len0, len1);
  if (k0 != KNumber && c0 != '\r' && c0 != '\n' && len1 && k1 == KLetter)
    return c.runEnd(i + len0, KLetter);
  // \p{N}{1,3}
  if (k0 == KNumber) {
    size_t j = i;
    for (unsigned n = 0; n < maxDigits && j < s.size(); ++n) {
      unsigned len;
      if (c.kindAt(j, len) != KNumber)
        break;
      j += len;
    }
    return j;
  }
  // ' ?[^\s\p{L}\p{N}]+[\r\n]*'
  size_t start = SIZE_MAX;
  if (k0 == KOther)
    start = i;
  else if (c0 == ' ' && len1 && k1 == KOther)
    start = i + 1;
  if (start != SIZE_MAX) {
    size_t j = c.runEnd(start, KOther);
    while (j < s.size() && (s[j] == '\r' || s[j] == '\n'))
      ++j;
    return j;
  }
  // c0 is whitespace. '\s*[\r\n]+': up to the last newline of the run.
  size_t j = i, last = i, afterNewline = 0;
  while (j < s.size()) {
    unsigned len;
    uint32_t cp = c.at(j, len);
    if (kindOf(cp) != KSpace)
      break;
    last = j;
    j += len;
    if (cp == '\r' || cp == '\n')
      afterNewline = j;
  }
  if (afterNewline)
    return afterNewline;
  // '\s+(?!\S)|\s+'
  return matchTrailingSpace(c, i, j, last);
}

} // namespace

size_t scanMatch(ScannerKind kind, StringRef s, size_t i) {
  switch (kind) {
  case ScannerKind::Gpt2:
    return scanGpt2(s, i);
  case ScannerKind::Llama3:
    return scanLlama3(s, i, 3);
  case ScannerKind::Qwen2:
    return scanLlama3(s, i, 1);
  }
  return s.size();
}

bool scannerForRegex(StringRef regex, ScannerKind &kind) {
  static const char *const gpt2 =
      R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
  static const char *const llama3 =
      R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
  static const char *const qwen2 =
      R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
  if (regex == gpt2)
    kind = ScannerKind::Gpt2;
  else if (regex == llama3)
    kind = ScannerKind::Llama3;
  else if (regex == qwen2)
    kind = ScannerKind::Qwen2;
  else
    return false;
  return true;
}

//===----------------------------------------------------------------------===//
// Splitting with a behaviour
//===----------------------------------------------------------------------===//

namespace {

/// A segment of a piece: [begin, end), and whether the pattern matched it.
struct Seg {
  size_t begin, end;
  bool match;
};

/// Applies `behavior` to `segs` (which cover `piece` in order) as
/// NormalizedString::split does, appending the non-empty results to `out`.
void emitSplit(llvm::SmallVectorImpl<Seg> &segs, SplitBehavior behavior,
               bool invert, const Piece &piece, SmallVectorImpl<Piece> &out) {
  if (invert)
    for (Seg &s : segs)
      s.match = !s.match;
  // `res` lists ranges and whether to remove them.
  llvm::SmallVector<Seg, 32> res;
  switch (behavior) {
  case SplitBehavior::Isolated:
    for (Seg s : segs)
      res.push_back({s.begin, s.end, false});
    break;
  case SplitBehavior::Removed:
    res.append(segs.begin(), segs.end());
    break;
  case SplitBehavior::MergedWithPrevious: {
    bool prevMatch = false;
    for (Seg s : segs) {
      if (s.match && !prevMatch && !res.empty())
        res.back().end = s.end;
      else
        res.push_back({s.begin, s.end, false});
      prevMatch = s.match;
    }
    break;
  }
  case SplitBehavior::MergedWithNext: {
    bool prevMatch = false;
    for (size_t k = segs.size(); k-- > 0;) {
      Seg s = segs[k];
      if (s.match && !prevMatch && !res.empty())
        res.back().begin = s.begin;
      else
        res.push_back({s.begin, s.end, false});
      prevMatch = s.match;
    }
    std::reverse(res.begin(), res.end());
    break;
  }
  case SplitBehavior::Contiguous: {
    bool prevMatch = false;
    for (Seg s : segs) {
      if (s.match == prevMatch && !res.empty())
        res.back().end = s.end;
      else
        res.push_back({s.begin, s.end, false});
      prevMatch = s.match;
    }
    break;
  }
  }
  for (const Seg &s : res) {
    if (s.match || s.begin == s.end)
      continue;
    out.push_back({s.begin, s.end, piece.atStart && s.begin == piece.begin});
  }
}

/// Adds the gap before a match and the match itself to `segs`.
inline void addMatch(llvm::SmallVectorImpl<Seg> &segs, size_t &prev,
                     size_t begin, size_t end) {
  if (prev != begin)
    segs.push_back({prev, begin, false});
  segs.push_back({begin, end, true});
  prev = end;
}

/// A pre-tokenizer that splits each piece by a pattern with a behaviour.
class SplitBase : public PreTokenizer {
public:
  SplitBase(SplitBehavior behavior, bool invert)
      : behavior(behavior), invert(invert) {}
  void apply(std::string &buf, SmallVectorImpl<Piece> &pieces,
             SmallVectorImpl<Piece> &tmp) const override {
    tmp.clear();
    llvm::SmallVector<Seg, 64> segs;
    for (const Piece &p : pieces) {
      segs.clear();
      StringRef text(buf.data() + p.begin, p.end - p.begin);
      findMatches(text, p.begin, segs);
      emitSplit(segs, behavior, invert, p, tmp);
    }
    pieces.assign(tmp.begin(), tmp.end());
  }

protected:
  /// Fills `segs` with the segments of `text` (offsets plus `base`), as the
  /// Pattern::find_matches of `tokenizers` does.
  virtual void findMatches(StringRef text, size_t base,
                           llvm::SmallVectorImpl<Seg> &segs) const = 0;

private:
  SplitBehavior behavior;
  bool invert;
};

class ScannerSplit final : public SplitBase {
public:
  ScannerSplit(ScannerKind kind, SplitBehavior behavior, bool invert)
      : SplitBase(behavior, invert), kind(kind),
        fast(behavior == SplitBehavior::Isolated && !invert) {}
  void apply(std::string &buf, SmallVectorImpl<Piece> &pieces,
             SmallVectorImpl<Piece> &tmp) const override {
    if (!fast)
      return SplitBase::apply(buf, pieces, tmp);
    // Every position starts a match, so the pieces are the matches.
    tmp.clear();
    for (const Piece &p : pieces) {
      StringRef text(buf.data() + p.begin, p.end - p.begin);
      for (size_t i = 0; i < text.size();) {
        size_t end = scanMatch(kind, text, i);
        tmp.push_back({p.begin + i, p.begin + end, p.atStart && i == 0});
        i = end;
      }
    }
    pieces.assign(tmp.begin(), tmp.end());
  }

protected:
  void findMatches(StringRef text, size_t base,
                   llvm::SmallVectorImpl<Seg> &segs) const override {
    size_t prev = base;
    for (size_t i = 0; i < text.size();) {
      size_t end = scanMatch(kind, text, i);
      addMatch(segs, prev, base + i, base + end);
      i = end;
    }
    if (prev != base + text.size())
      segs.push_back({prev, base + text.size(), false});
  }

private:
  ScannerKind kind;
  bool fast;
};

class LiteralSplit final : public SplitBase {
public:
  LiteralSplit(std::string pattern, SplitBehavior behavior, bool invert)
      : SplitBase(behavior, invert), pattern(std::move(pattern)) {}

protected:
  void findMatches(StringRef text, size_t base,
                   llvm::SmallVectorImpl<Seg> &segs) const override {
    size_t prev = base;
    if (!pattern.empty()) {
      size_t pos = 0;
      while ((pos = text.find(pattern, pos)) != StringRef::npos) {
        addMatch(segs, prev, base + pos, base + pos + pattern.size());
        pos += pattern.size();
      }
    }
    if (prev != base + text.size())
      segs.push_back({prev, base + text.size(), false});
  }

private:
  std::string pattern;
};

class RegexSplit final : public SplitBase {
public:
  RegexSplit(std::unique_ptr<re2::RE2> re, SplitBehavior behavior, bool invert)
      : SplitBase(behavior, invert), re(std::move(re)) {}

protected:
  void findMatches(StringRef text, size_t base,
                   llvm::SmallVectorImpl<Seg> &segs) const override {
    size_t prev = base;
    re2::StringPiece input(text.data(), text.size());
    size_t pos = 0;
    long lastMatchEnd = -1;
    while (pos <= text.size()) {
      re2::StringPiece m;
      if (!re->Match(input, pos, text.size(), re2::RE2::UNANCHORED, &m, 1))
        break;
      size_t begin = m.data() - text.data(), end = begin + m.size();
      if (begin == end && long(end) == lastMatchEnd) {
        // No empty match right after the previous match: skip a character.
        if (pos >= text.size())
          break;
        unsigned len;
        decodeUtf8(text, pos, len);
        pos += len;
        continue;
      }
      addMatch(segs, prev, base + begin, base + end);
      lastMatchEnd = long(end);
      if (end == begin) {
        if (end >= text.size())
          break;
        unsigned len;
        decodeUtf8(text, end, len);
        pos = end + len;
      } else {
        pos = end;
      }
    }
    if (prev != base + text.size())
      segs.push_back({prev, base + text.size(), false});
  }

private:
  std::unique_ptr<re2::RE2> re;
};

/// Splits on code points for which `pred` holds, each one a match.
template <typename Pred>
class CharSplit final : public SplitBase {
public:
  CharSplit(Pred pred, SplitBehavior behavior)
      : SplitBase(behavior, false), pred(pred) {}

protected:
  void findMatches(StringRef text, size_t base,
                   llvm::SmallVectorImpl<Seg> &segs) const override {
    size_t prev = base;
    for (size_t i = 0; i < text.size();) {
      unsigned len;
      uint32_t cp = decodeUtf8(text, i, len);
      if (cp != kInvalid && pred(cp))
        addMatch(segs, prev, base + i, base + i + len);
      i += len;
    }
    if (prev != base + text.size())
      segs.push_back({prev, base + text.size(), false});
  }

private:
  Pred pred;
};

template <typename Pred>
std::unique_ptr<PreTokenizer> makeCharSplit(Pred pred, SplitBehavior b) {
  return std::make_unique<CharSplit<Pred>>(pred, b);
}

class ByteLevelPreTokenizer final : public PreTokenizer {
public:
  ByteLevelPreTokenizer(bool addPrefixSpace, bool useRegex)
      : addPrefixSpace(addPrefixSpace),
        regex(ScannerKind::Gpt2, SplitBehavior::Isolated, false),
        useRegex(useRegex) {}
  void apply(std::string &buf, SmallVectorImpl<Piece> &pieces,
             SmallVectorImpl<Piece> &tmp) const override {
    if (addPrefixSpace) {
      for (Piece &p : pieces) {
        if (buf[p.begin] == ' ')
          continue;
        size_t begin = buf.size(), len = p.end - p.begin;
        buf.reserve(begin + 1 + len); // keeps buf.data() valid below
        buf.push_back(' ');
        buf.append(buf.data() + p.begin, len);
        p = {begin, buf.size(), p.atStart};
      }
    }
    if (useRegex)
      regex.apply(buf, pieces, tmp);
  }
  bool isByteLevel() const override { return true; }

private:
  bool addPrefixSpace;
  ScannerSplit regex;
  bool useRegex;
};

struct IsRep {
  uint32_t rep;
  bool operator()(uint32_t cp) const { return cp == rep; }
};

class MetaspacePreTokenizer final : public PreTokenizer {
public:
  MetaspacePreTokenizer(uint32_t replacement, PrependScheme scheme, bool split)
      : scheme(scheme), split(split),
        splitter(IsRep{replacement}, SplitBehavior::MergedWithNext) {
    appendUtf8(replacement, rep);
  }
  void apply(std::string &buf, SmallVectorImpl<Piece> &pieces,
             SmallVectorImpl<Piece> &tmp) const override {
    for (Piece &p : pieces) {
      size_t begin = buf.size();
      // Copy out first: buf may reallocate while we append.
      std::string text(buf, p.begin, p.end - p.begin);
      bool startsWithRep =
          StringRef(text).starts_with(" ") || StringRef(text).starts_with(rep);
      bool prepend =
          !startsWithRep && (scheme == PrependScheme::Always ||
                             (scheme == PrependScheme::First && p.atStart));
      if (prepend)
        buf.append(rep);
      replaceAll(text, " ", rep, buf);
      p = {begin, buf.size(), p.atStart};
    }
    if (split)
      splitter.apply(buf, pieces, tmp);
  }

private:
  PrependScheme scheme;
  bool split;
  CharSplit<IsRep> splitter;
  std::string rep;
};

class SequencePreTokenizer final : public PreTokenizer {
public:
  explicit SequencePreTokenizer(
      std::vector<std::unique_ptr<PreTokenizer>> steps)
      : steps(std::move(steps)) {}
  void apply(std::string &buf, SmallVectorImpl<Piece> &pieces,
             SmallVectorImpl<Piece> &tmp) const override {
    for (const auto &step : steps)
      step->apply(buf, pieces, tmp);
  }
  bool isByteLevel() const override {
    return !steps.empty() && steps.back()->isByteLevel();
  }

private:
  std::vector<std::unique_ptr<PreTokenizer>> steps;
};

/// Rewrites Oniguruma's Unicode-aware \s \S \d \D \w \W into RE2 syntax.
bool rewriteForRe2(StringRef in, std::string &out, std::string &error) {
  static const char *const space =
      R"(\t\n\x{0B}\f\r \x{85}\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000})";
  static const char *const word = R"(\p{L}\p{M}\p{Nd}\p{Pc})";
  bool inClass = false;
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '\\' && i + 1 < in.size()) {
      char e = in[++i];
      const char *set = e == 's' || e == 'S'   ? space
                        : e == 'w' || e == 'W' ? word
                                               : nullptr;
      if (set) {
        bool negated = e == 'S' || e == 'W';
        if (inClass && negated) {
          error = std::string("'\\") + e + "' inside a character class";
          return false;
        }
        if (inClass) {
          out += set;
        } else {
          out += negated ? "[^" : "[";
          out += set;
          out += "]";
        }
        continue;
      }
      if (e == 'd' || e == 'D') {
        out += e == 'd' ? "\\p{Nd}" : "\\P{Nd}";
        continue;
      }
      out.push_back('\\');
      out.push_back(e);
      continue;
    }
    if (c == '[' && !inClass) {
      inClass = true;
      out.push_back(c);
      // A ']' right after '[' or '[^' is literal.
      if (i + 1 < in.size() && in[i + 1] == '^')
        out.push_back(in[++i]);
      if (i + 1 < in.size() && in[i + 1] == ']')
        out.push_back(in[++i]);
      continue;
    }
    if (c == ']' && inClass)
      inClass = false;
    out.push_back(c);
  }
  return true;
}

} // namespace

std::unique_ptr<PreTokenizer>
makeScannerSplit(ScannerKind kind, SplitBehavior behavior, bool invert) {
  return std::make_unique<ScannerSplit>(kind, behavior, invert);
}
std::unique_ptr<PreTokenizer>
makeLiteralSplit(std::string pattern, SplitBehavior behavior, bool invert) {
  return std::make_unique<LiteralSplit>(std::move(pattern), behavior, invert);
}
std::unique_ptr<PreTokenizer> makeRegexSplit(StringRef regex,
                                             SplitBehavior behavior,
                                             bool invert, std::string &error) {
  std::string rewritten;
  if (!rewriteForRe2(regex, rewritten, error))
    return nullptr;
  re2::RE2::Options opts;
  opts.set_log_errors(false);
  auto re = std::make_unique<re2::RE2>(rewritten, opts);
  if (!re->ok()) {
    error = re->error();
    return nullptr;
  }
  return std::make_unique<RegexSplit>(std::move(re), behavior, invert);
}
std::unique_ptr<PreTokenizer> makeByteLevelPreTokenizer(bool addPrefixSpace,
                                                        bool useRegex) {
  return std::make_unique<ByteLevelPreTokenizer>(addPrefixSpace, useRegex);
}
std::unique_ptr<PreTokenizer> makeDigitsPreTokenizer(bool individualDigits) {
  return makeCharSplit([](uint32_t cp) { return isNumber(cp); },
                       individualDigits ? SplitBehavior::Isolated
                                        : SplitBehavior::Contiguous);
}
std::unique_ptr<PreTokenizer> makeWhitespaceSplitPreTokenizer() {
  return makeCharSplit([](uint32_t cp) { return isWhiteSpace(cp); },
                       SplitBehavior::Removed);
}
std::unique_ptr<PreTokenizer> makeCharDelimiterPreTokenizer(uint32_t delim) {
  return makeCharSplit([delim](uint32_t cp) { return cp == delim; },
                       SplitBehavior::Removed);
}
std::unique_ptr<PreTokenizer> makeMetaspacePreTokenizer(uint32_t replacement,
                                                        PrependScheme scheme,
                                                        bool split) {
  return std::make_unique<MetaspacePreTokenizer>(replacement, scheme, split);
}
std::unique_ptr<PreTokenizer>
makeSequencePreTokenizer(std::vector<std::unique_ptr<PreTokenizer>> steps) {
  return std::make_unique<SequencePreTokenizer>(std::move(steps));
}

//===----------------------------------------------------------------------===//
// Decoders
//===----------------------------------------------------------------------===//

namespace {

class ByteLevelDecoder final : public Decoder {
public:
  void decodeChain(std::vector<std::string> &tokens) const override {
    std::string bytes;
    for (const std::string &t : tokens) {
      size_t mark = bytes.size();
      bool ok = true;
      for (size_t i = 0; i < t.size();) {
        unsigned len;
        uint32_t cp = decodeUtf8(t, i, len);
        int b = cp == kInvalid ? -1 : unicodeToByte(cp);
        if (b < 0) {
          ok = false;
          break;
        }
        bytes.push_back(char(b));
        i += len;
      }
      if (!ok) {
        bytes.resize(mark);
        bytes.append(t);
      }
    }
    std::string out;
    appendLossyUtf8(bytes, out);
    tokens.assign(1, std::move(out));
  }
};

class ReplaceDecoder final : public Decoder {
public:
  ReplaceDecoder(std::string pattern, std::string content)
      : pattern(std::move(pattern)), content(std::move(content)) {}
  void decodeChain(std::vector<std::string> &tokens) const override {
    for (std::string &t : tokens) {
      if (StringRef(t).find(pattern) == StringRef::npos)
        continue;
      std::string out;
      replaceAll(t, pattern, content, out);
      t = std::move(out);
    }
  }

private:
  std::string pattern, content;
};

/// Parses a "<0xNN>" token as Rust's u8::from_str_radix(&t[3..5], 16) does.
int byteFallbackValue(StringRef t) {
  if (t.size() != 6 || !t.starts_with("<0x") || !t.ends_with(">"))
    return -1;
  StringRef hex = t.substr(3, 2);
  if (hex[0] == '+')
    hex = hex.drop_front();
  unsigned v = 0;
  for (char h : hex) {
    int d = llvm::hexDigitValue(h);
    if (d < 0)
      return -1;
    v = v * 16 + unsigned(d);
  }
  return hex.empty() ? -1 : int(v);
}

class ByteFallbackDecoder final : public Decoder {
public:
  void decodeChain(std::vector<std::string> &tokens) const override {
    std::vector<std::string> out;
    std::string bytes;
    auto flush = [&] {
      if (bytes.empty())
        return;
      if (isValidUtf8(bytes)) {
        out.push_back(bytes);
      } else {
        for (size_t k = 0; k < bytes.size(); ++k)
          out.push_back("\xEF\xBF\xBD");
      }
      bytes.clear();
    };
    for (std::string &t : tokens) {
      int b = byteFallbackValue(t);
      if (b >= 0) {
        bytes.push_back(char(b));
        continue;
      }
      flush();
      out.push_back(std::move(t));
    }
    flush();
    tokens = std::move(out);
  }
};

class FuseDecoder final : public Decoder {
public:
  void decodeChain(std::vector<std::string> &tokens) const override {
    std::string all;
    for (const std::string &t : tokens)
      all += t;
    tokens.assign(1, std::move(all));
  }
};

class StripDecoder final : public Decoder {
public:
  StripDecoder(uint32_t content, size_t start, size_t stop)
      : content(content), start(start), stop(stop) {}
  void decodeChain(std::vector<std::string> &tokens) const override {
    for (std::string &t : tokens) {
      llvm::SmallVector<std::pair<size_t, uint32_t>, 32> cps;
      for (size_t i = 0; i < t.size();) {
        unsigned len;
        cps.push_back({i, decodeUtf8(t, i, len)});
        i += len;
      }
      size_t startCut = 0;
      for (size_t i = 0; i < start && i < cps.size(); ++i) {
        if (cps[i].second != content)
          break;
        startCut = i + 1;
      }
      size_t stopCut = cps.size();
      for (size_t i = 0; i < stop && i < cps.size(); ++i) {
        size_t index = cps.size() - i - 1;
        if (cps[index].second != content)
          break;
        stopCut = index;
      }
      if (stopCut < startCut)
        stopCut = startCut;
      size_t b = startCut < cps.size() ? cps[startCut].first : t.size();
      size_t e = stopCut < cps.size() ? cps[stopCut].first : t.size();
      t = t.substr(b, e - b);
    }
  }

private:
  uint32_t content;
  size_t start, stop;
};

class MetaspaceDecoder final : public Decoder {
public:
  MetaspaceDecoder(uint32_t replacement, PrependScheme scheme)
      : replacement(replacement), scheme(scheme) {}
  void decodeChain(std::vector<std::string> &tokens) const override {
    for (size_t k = 0; k < tokens.size(); ++k) {
      const std::string &t = tokens[k];
      std::string out;
      for (size_t i = 0; i < t.size();) {
        unsigned len;
        uint32_t cp = decodeUtf8(t, i, len);
        if (cp == replacement) {
          if (!(k == 0 && i == 0 && scheme != PrependScheme::Never))
            out.push_back(' ');
        } else {
          out.append(t, i, len);
        }
        i += len;
      }
      tokens[k] = std::move(out);
    }
  }

private:
  uint32_t replacement;
  PrependScheme scheme;
};

class SequenceDecoder final : public Decoder {
public:
  explicit SequenceDecoder(std::vector<std::unique_ptr<Decoder>> steps)
      : steps(std::move(steps)) {}
  void decodeChain(std::vector<std::string> &tokens) const override {
    for (const auto &step : steps)
      step->decodeChain(tokens);
  }

private:
  std::vector<std::unique_ptr<Decoder>> steps;
};

} // namespace

std::unique_ptr<Decoder> makeByteLevelDecoder() {
  return std::make_unique<ByteLevelDecoder>();
}
std::unique_ptr<Decoder> makeReplaceDecoder(std::string pattern,
                                            std::string content) {
  return std::make_unique<ReplaceDecoder>(std::move(pattern),
                                          std::move(content));
}
std::unique_ptr<Decoder> makeByteFallbackDecoder() {
  return std::make_unique<ByteFallbackDecoder>();
}
std::unique_ptr<Decoder> makeFuseDecoder() {
  return std::make_unique<FuseDecoder>();
}
std::unique_ptr<Decoder> makeStripDecoder(uint32_t content, size_t start,
                                          size_t stop) {
  return std::make_unique<StripDecoder>(content, start, stop);
}
std::unique_ptr<Decoder> makeMetaspaceDecoder(uint32_t replacement,
                                              PrependScheme scheme) {
  return std::make_unique<MetaspaceDecoder>(replacement, scheme);
}
std::unique_ptr<Decoder>
makeSequenceDecoder(std::vector<std::unique_ptr<Decoder>> steps) {
  return std::make_unique<SequenceDecoder>(std::move(steps));
}

} // namespace ftl::rt::tok
