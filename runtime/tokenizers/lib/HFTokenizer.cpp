//===- HFTokenizer.cpp - Hugging Face tokenizer.json ----------------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
//
// Loads a `tokenizer.json` and encodes/decodes as Hugging Face `tokenizers`
// 0.20 does:
//
//   text -> added tokens split off (non-normalized ones on the raw text)
//        -> normalizer on each remaining piece
//        -> normalized added tokens split off
//        -> pre-tokenizer -> BPE model per word -> post-processor
//
//===----------------------------------------------------------------------===//

#include "Bpe.h"
#include "Pipeline.h"
#include "Unicode.h"

#include "ftl/Tokenizers/Tokenizer.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SHA256.h"
#include "llvm/Support/raw_ostream.h"

using llvm::Error;
using llvm::Expected;
using llvm::StringRef;
using llvm::Twine;
namespace json = llvm::json;

namespace ftl::rt {
namespace {

using namespace tok;

/// Ids must be below this (4M; real vocabularies are far smaller). Keeps a
/// corrupt file from making us allocate gigabytes for the id tables.
constexpr int64_t kMaxId = int64_t(1) << 22;

Error makeError(const Twine &msg) {
  return llvm::make_error<llvm::StringError>(msg,
                                             llvm::inconvertibleErrorCode());
}

/// JSON type names for messages.
const char *kindName(const json::Value &v) {
  switch (v.kind()) {
  case json::Value::Null:
    return "null";
  case json::Value::Boolean:
    return "a boolean";
  case json::Value::Number:
    return "a number";
  case json::Value::String:
    return "a string";
  case json::Value::Array:
    return "an array";
  case json::Value::Object:
    return "an object";
  }
  return "a value";
}

//===----------------------------------------------------------------------===//
// Added tokens
//===----------------------------------------------------------------------===//

struct AddedToken {
  std::string content;
  int32_t id = -1;
  bool special = false, singleWord = false, lstrip = false, rstrip = false,
       normalized = true;
};

/// One piece of text after splitting off added tokens: [begin, end) and the
/// index of the added token it is, or -1 for plain text.
struct TextSplit {
  size_t begin, end;
  int32_t token;
};

/// Leftmost-longest matching of a set of strings (what `tokenizers` gets
/// from aho-corasick with MatchKind::LeftmostLongest).
class TokenTrie {
public:
  TokenTrie() { terminal.push_back(-1); }
  bool empty() const { return terminal.size() == 1; }
  void add(StringRef s, int32_t token) {
    if (s.empty())
      return;
    first[uint8_t(s[0])] = true;
    int32_t node = 0;
    for (char c : s) {
      uint64_t key = (uint64_t(node) << 8) | uint8_t(c);
      auto it = edges.find(key);
      if (it == edges.end()) {
        int32_t child = int32_t(terminal.size());
        terminal.push_back(-1);
        edges[key] = child;
        node = child;
      } else {
        node = it->second;
      }
    }
    if (terminal[node] < 0)
      terminal[node] = token;
  }
  /// Appends (begin, end, token) of the non-overlapping matches in `text`.
  void findAll(StringRef text, llvm::SmallVectorImpl<TextSplit> &out) const {
    size_t n = text.size();
    for (size_t i = 0; i < n;) {
      if (!first[uint8_t(text[i])]) {
        ++i;
        continue;
      }
      int32_t node = 0, best = -1;
      size_t bestEnd = 0;
      for (size_t j = i; j < n; ++j) {
        auto it = edges.find((uint64_t(node) << 8) | uint8_t(text[j]));
        if (it == edges.end())
          break;
        node = it->second;
        if (terminal[node] >= 0) {
          best = terminal[node];
          bestEnd = j + 1;
        }
      }
      if (best < 0) {
        ++i;
        continue;
      }
      out.push_back({i, bestEnd, best});
      i = bestEnd;
    }
  }

private:
  std::vector<int32_t> terminal;
  llvm::DenseMap<uint64_t, int32_t> edges;
  bool first[256] = {};
};

/// The code point that ends `s`, or kInvalid if none.
uint32_t lastCodePoint(StringRef s, size_t &start) {
  if (s.empty())
    return unicode::kInvalid;
  start = s.size() - 1;
  while (start > 0 && (uint8_t(s[start]) & 0xC0) == 0x80 &&
         s.size() - start < 4)
    --start;
  unsigned len;
  uint32_t cp = unicode::decodeUtf8(s, start, len);
  if (start + len != s.size()) {
    start = s.size() - 1;
    return unicode::kInvalid;
  }
  return cp;
}

bool isWordChar(uint32_t cp) {
  return cp == '_' || (cp != unicode::kInvalid && unicode::isAlphanumeric(cp));
}

/// AddedVocabulary::find_matches: splits `s` on the matches of `trie`,
/// honouring single_word, lstrip and rstrip.
void splitOnAddedTokens(StringRef s, const TokenTrie &trie,
                        llvm::ArrayRef<AddedToken> tokens,
                        llvm::SmallVectorImpl<TextSplit> &out) {
  llvm::SmallVector<TextSplit, 8> matches;
  trie.findAll(s, matches);
  size_t startOffset = 0;
  for (const TextSplit &m : matches) {
    const AddedToken &t = tokens[m.token];
    size_t start = m.begin, stop = m.end;
    if (t.singleWord) {
      size_t at;
      bool startSpace =
          start == 0 || !isWordChar(lastCodePoint(s.take_front(start), at));
      unsigned len;
      bool stopSpace =
          stop == s.size() || !isWordChar(unicode::decodeUtf8(s, stop, len));
      if (!startSpace || !stopSpace)
        continue;
    }
    if (t.lstrip) {
      // Back over the whitespace before the token, but not into what the
      // previous match took.
      size_t newStart = start;
      while (newStart > 0) {
        size_t at;
        uint32_t cp = lastCodePoint(s.take_front(newStart), at);
        if (cp == unicode::kInvalid || !unicode::isWhiteSpace(cp))
          break;
        newStart = at;
      }
      start = std::max(newStart, startOffset);
    }
    if (t.rstrip) {
      while (stop < s.size()) {
        unsigned len;
        uint32_t cp = unicode::decodeUtf8(s, stop, len);
        if (cp == unicode::kInvalid || !unicode::isWhiteSpace(cp))
          break;
        stop += len;
      }
    }
    if (startOffset < start)
      out.push_back({startOffset, start, -1});
    out.push_back({start, stop, m.token});
    startOffset = stop;
  }
  if (startOffset < s.size())
    out.push_back({startOffset, s.size(), -1});
}

//===----------------------------------------------------------------------===//
// The tokenizer
//===----------------------------------------------------------------------===//

/// Per-thread buffers, so that encoding allocates only when they grow.
struct Scratch {
  std::string normalized, buf;
  llvm::SmallVector<Piece, 64> pieces, tmp;
  llvm::SmallVector<TextSplit, 8> splits, subSplits;
};

Scratch &threadScratch() {
  static thread_local Scratch scratch;
  return scratch;
}

class HFTokenizer final : public Tokenizer {
public:
  std::vector<int32_t> encode(StringRef text, bool addSpecial) const override;
  std::string decode(llvm::ArrayRef<int32_t> ids,
                     bool skipSpecial) const override;
  int32_t vocabSize() const override { return int32_t(idToTok.size()); }
  std::optional<int32_t> tokenId(StringRef token) const override {
    auto a = addedByContent.find(token);
    if (a != addedByContent.end())
      return a->second;
    auto v = fileVocab.find(token);
    if (v != fileVocab.end())
      return v->second;
    return std::nullopt;
  }
  std::optional<int32_t> bosId() const override { return bos; }
  std::optional<int32_t> eosId() const override { return eos; }
  std::optional<int32_t> padId() const override { return pad; }
  std::string fingerprint() const override { return fingerprintHex; }
  StringRef kind() const override { return kindName; }
  std::optional<std::string> idToToken(int32_t id) const override {
    if (id < 0 || size_t(id) >= idToTok.size() || !hasToken[id])
      return std::nullopt;
    return idToTok[id].str();
  }
  bool isSpecial(int32_t id) const override {
    return id >= 0 && size_t(id) < special.size() && special[id];
  }

private:
  friend class Loader;

  void encodeText(StringRef text, bool atStart, Scratch &sc,
                  std::vector<int32_t> &out) const;

  std::string kindName;
  std::unique_ptr<Normalizer> normalizer;
  std::unique_ptr<PreTokenizer> preTokenizer;
  std::unique_ptr<BpeModel> model;
  std::unique_ptr<Decoder> decoder;
  std::vector<AddedToken> added;
  TokenTrie rawTrie, normalizedTrie;
  std::vector<int32_t> prefixIds, suffixIds;
  llvm::StringMap<int32_t> fileVocab, addedByContent;
  /// Token strings by id; they point into fileVocab's keys and `added`,
  /// which do not change after loading.
  std::vector<StringRef> idToTok;
  std::vector<bool> hasToken, special;
  /// With a lone ByteLevel decoder: the bytes each id decodes to.
  std::vector<std::string> byteLevelBytes;
  std::optional<int32_t> bos, eos, pad;
  std::string fingerprintHex;
};

void HFTokenizer::encodeText(StringRef text, bool atStart, Scratch &sc,
                             std::vector<int32_t> &out) const {
  if (text.empty())
    return;
  if (!preTokenizer) {
    model->tokenize(text, out);
    return;
  }
  sc.buf.assign(text.begin(), text.end());
  sc.pieces.clear();
  sc.pieces.push_back({0, text.size(), atStart});
  preTokenizer->apply(sc.buf, sc.pieces, sc.tmp);
  for (const Piece &p : sc.pieces)
    model->tokenize(StringRef(sc.buf.data() + p.begin, p.end - p.begin), out);
}

std::vector<int32_t> HFTokenizer::encode(StringRef text,
                                         bool addSpecial) const {
  std::vector<int32_t> out;
  if (addSpecial)
    out = prefixIds;
  Scratch &sc = threadScratch();
  sc.splits.clear();
  if (rawTrie.empty())
    sc.splits.push_back({0, text.size(), -1});
  else
    splitOnAddedTokens(text, rawTrie, added, sc.splits);
  for (const TextSplit &split : sc.splits) {
    if (split.token >= 0) {
      out.push_back(added[split.token].id);
      continue;
    }
    StringRef piece = text.slice(split.begin, split.end);
    bool atStart = split.begin == 0;
    if (!normalizer) {
      encodeText(piece, atStart, sc, out);
      continue;
    }
    sc.normalized.clear();
    normalizer->normalize(piece, sc.normalized);
    if (normalizedTrie.empty()) {
      encodeText(sc.normalized, atStart, sc, out);
      continue;
    }
    sc.subSplits.clear();
    splitOnAddedTokens(sc.normalized, normalizedTrie, added, sc.subSplits);
    // encodeText reuses other buffers than `normalized` and `subSplits`.
    for (const TextSplit &sub : sc.subSplits) {
      if (sub.token >= 0)
        out.push_back(added[sub.token].id);
      else
        encodeText(StringRef(sc.normalized).slice(sub.begin, sub.end),
                   atStart && sub.begin == 0, sc, out);
    }
  }
  if (addSpecial)
    out.insert(out.end(), suffixIds.begin(), suffixIds.end());
  return out;
}

std::string HFTokenizer::decode(llvm::ArrayRef<int32_t> ids,
                                bool skipSpecial) const {
  if (!byteLevelBytes.empty()) {
    // A lone ByteLevel decoder: concatenate each token's bytes, then repair
    // invalid UTF-8 as String::from_utf8_lossy does.
    std::string bytes, out;
    for (int32_t id : ids) {
      if (id < 0 || size_t(id) >= idToTok.size() || !hasToken[id] ||
          (skipSpecial && special[id]))
        continue;
      bytes += byteLevelBytes[id];
    }
    unicode::appendLossyUtf8(bytes, out);
    return out;
  }
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (int32_t id : ids) {
    if (id < 0 || size_t(id) >= idToTok.size() || !hasToken[id])
      continue; // as `tokenizers`: unknown ids are dropped
    if (skipSpecial && special[id])
      continue;
    tokens.push_back(idToTok[id].str());
  }
  if (!decoder)
    return llvm::join(tokens, " ");
  decoder->decodeChain(tokens);
  return llvm::join(tokens, "");
}

//===----------------------------------------------------------------------===//
// Loading
//===----------------------------------------------------------------------===//

class Loader {
public:
  explicit Loader(StringRef name) : name(name.str()) {}

  Expected<std::unique_ptr<Tokenizer>> load(StringRef text,
                                            const json::Value *config);

private:
  Error fail(const Twine &msg) { return makeError(msg); }
  std::string in() const { return "in '" + name + "'"; }

  Expected<bool> getBool(const json::Object &o, StringRef key, bool dflt,
                         StringRef where);
  Expected<std::string> getString(const json::Object &o, StringRef key,
                                  StringRef where);
  Expected<uint32_t> getChar(const json::Object &o, StringRef key,
                             StringRef where);
  Expected<const json::Object *> getObject(const json::Value &v,
                                           StringRef where);
  Expected<std::string> getStringPattern(const json::Object &o,
                                         StringRef where);

  Expected<std::unique_ptr<Normalizer>> parseNormalizer(const json::Value &v);
  Expected<std::unique_ptr<PreTokenizer>>
  parsePreTokenizer(const json::Value &v, bool last);
  Expected<std::unique_ptr<Decoder>> parseDecoder(const json::Value &v);
  Error parsePostProcessor(const json::Value &v, std::vector<int32_t> &prefix,
                           std::vector<int32_t> &suffix);
  Error parseModel(const json::Object &model, HFTokenizer &tok);
  Error parseAddedTokens(const json::Value *v, HFTokenizer &tok);
  Expected<PrependScheme> parsePrependScheme(const json::Object &o,
                                             StringRef where);
  Expected<int32_t> checkId(const json::Value &v, StringRef token,
                            StringRef what);

  std::string name;
  bool byteLevel = false;
  bool sentencePiece = false; // uses U+2581 or byte fallback
  llvm::StringMap<int32_t> fileVocab;
  int32_t modelVocabCount = 0;
  std::vector<std::array<int32_t, 3>> mergeIds; // for the fingerprint
};

Expected<bool> Loader::getBool(const json::Object &o, StringRef key, bool dflt,
                               StringRef where) {
  const json::Value *v = o.get(key);
  if (!v || v->kind() == json::Value::Null)
    return dflt;
  if (auto b = v->getAsBoolean())
    return *b;
  return fail(Twine("\"") + key + "\" of the " + where + " " + in() + " is " +
              kindName(*v) + "; expected true or false");
}

Expected<std::string> Loader::getString(const json::Object &o, StringRef key,
                                        StringRef where) {
  const json::Value *v = o.get(key);
  if (v)
    if (auto s = v->getAsString())
      return s->str();
  return fail(Twine("the ") + where + " " + in() + " needs a string \"" + key +
              "\"; found " + (v ? kindName(*v) : "nothing"));
}

Expected<uint32_t> Loader::getChar(const json::Object &o, StringRef key,
                                   StringRef where) {
  auto s = getString(o, key, where);
  if (!s)
    return s.takeError();
  unsigned len = 0;
  uint32_t cp =
      s->empty() ? unicode::kInvalid : unicode::decodeUtf8(*s, 0, len);
  if (cp == unicode::kInvalid || len != s->size())
    return fail(Twine("\"") + key + "\" of the " + where + " " + in() +
                " is '" + *s + "'; expected a single character");
  return cp;
}

Expected<const json::Object *> Loader::getObject(const json::Value &v,
                                                 StringRef where) {
  if (const json::Object *o = v.getAsObject())
    return o;
  return fail(Twine("the ") + where + " " + in() + " is " + kindName(v) +
              "; expected an object with a \"type\"");
}

/// {"String": s} patterns; regex patterns are refused (callers that can
/// take them check first).
Expected<std::string> Loader::getStringPattern(const json::Object &o,
                                               StringRef where) {
  const json::Object *pattern = o.getObject("pattern");
  if (pattern)
    if (auto s = pattern->getString("String"))
      return s->str();
  if (pattern && pattern->get("Regex"))
    return fail(Twine("unsupported regex pattern in the ") + where + " " +
                in() + "; supported: {\"String\": ...}");
  return fail(Twine("the ") + where + " " + in() +
              " needs a \"pattern\" object like {\"String\": \" \"}");
}

Expected<PrependScheme> Loader::parsePrependScheme(const json::Object &o,
                                                   StringRef where) {
  if (auto s = o.getString("prepend_scheme")) {
    if (*s == "always")
      return PrependScheme::Always;
    if (*s == "first")
      return PrependScheme::First;
    if (*s == "never")
      return PrependScheme::Never;
    return fail(Twine("unknown prepend_scheme '") + *s + "' of the " + where +
                " " + in() + "; expected always, first or never");
  }
  auto add = getBool(o, "add_prefix_space", true, where);
  if (!add)
    return add.takeError();
  return *add ? PrependScheme::Always : PrependScheme::Never;
}

Expected<std::unique_ptr<Normalizer>>
Loader::parseNormalizer(const json::Value &v) {
  auto obj = getObject(v, "normalizer");
  if (!obj)
    return obj.takeError();
  const json::Object &o = **obj;
  StringRef type = o.getString("type").value_or("");
  if (type == "Sequence") {
    const json::Array *list = o.getArray("normalizers");
    if (!list)
      return fail("the Sequence normalizer " + in() +
                  " needs a \"normalizers\" array");
    std::vector<std::unique_ptr<Normalizer>> steps;
    for (const json::Value &item : *list) {
      auto step = parseNormalizer(item);
      if (!step)
        return step.takeError();
      steps.push_back(std::move(*step));
    }
    return makeSequenceNormalizer(std::move(steps));
  }
  if (type == "NFC")
    return makeUnicodeNormalizer(unicode::NormForm::NFC);
  if (type == "NFD")
    return makeUnicodeNormalizer(unicode::NormForm::NFD);
  if (type == "NFKC")
    return makeUnicodeNormalizer(unicode::NormForm::NFKC);
  if (type == "NFKD")
    return makeUnicodeNormalizer(unicode::NormForm::NFKD);
  if (type == "Prepend") {
    auto s = getString(o, "prepend", "Prepend normalizer");
    if (!s)
      return s.takeError();
    if (StringRef(*s).contains("\xE2\x96\x81"))
      sentencePiece = true;
    return makePrependNormalizer(*s);
  }
  if (type == "Replace") {
    auto pattern = getStringPattern(o, "Replace normalizer");
    if (!pattern)
      return pattern.takeError();
    auto content = getString(o, "content", "Replace normalizer");
    if (!content)
      return content.takeError();
    if (StringRef(*content).contains("\xE2\x96\x81"))
      sentencePiece = true;
    return makeReplaceNormalizer(*pattern, *content);
  }
  if (type == "Strip") {
    auto left = getBool(o, "strip_left", true, "Strip normalizer");
    if (!left)
      return left.takeError();
    auto right = getBool(o, "strip_right", true, "Strip normalizer");
    if (!right)
      return right.takeError();
    return makeStripNormalizer(*left, *right);
  }
  return fail("unsupported normalizer '" + type + "' " + in() +
              "; supported: Sequence, NFC, NFD, NFKC, NFKD, Prepend, "
              "Replace, Strip");
}

Expected<std::unique_ptr<PreTokenizer>>
Loader::parsePreTokenizer(const json::Value &v, bool last) {
  auto obj = getObject(v, "pre-tokenizer");
  if (!obj)
    return obj.takeError();
  const json::Object &o = **obj;
  StringRef type = o.getString("type").value_or("");
  if (type == "Sequence") {
    const json::Array *list = o.getArray("pretokenizers");
    if (!list)
      return fail("the Sequence pre-tokenizer " + in() +
                  " needs a \"pretokenizers\" array");
    std::vector<std::unique_ptr<PreTokenizer>> steps;
    for (size_t i = 0; i < list->size(); ++i) {
      auto step = parsePreTokenizer((*list)[i], last && i + 1 == list->size());
      if (!step)
        return step.takeError();
      steps.push_back(std::move(*step));
    }
    return makeSequencePreTokenizer(std::move(steps));
  }
  if (type == "ByteLevel") {
    if (!last)
      return fail("unsupported pre-tokenizer Sequence " + in() +
                  ": ByteLevel must be the last pre-tokenizer");
    auto prefix =
        getBool(o, "add_prefix_space", true, "ByteLevel pre-tokenizer");
    if (!prefix)
      return prefix.takeError();
    auto regex = getBool(o, "use_regex", true, "ByteLevel pre-tokenizer");
    if (!regex)
      return regex.takeError();
    byteLevel = true;
    return makeByteLevelPreTokenizer(*prefix, *regex);
  }
  if (type == "Split") {
    auto invert = getBool(o, "invert", false, "Split pre-tokenizer");
    if (!invert)
      return invert.takeError();
    StringRef b = o.getString("behavior").value_or("");
    SplitBehavior behavior;
    if (b == "Removed")
      behavior = SplitBehavior::Removed;
    else if (b == "Isolated")
      behavior = SplitBehavior::Isolated;
    else if (b == "MergedWithPrevious")
      behavior = SplitBehavior::MergedWithPrevious;
    else if (b == "MergedWithNext")
      behavior = SplitBehavior::MergedWithNext;
    else if (b == "Contiguous")
      behavior = SplitBehavior::Contiguous;
    else
      return fail("unknown Split behavior '" + b + "' " + in() +
                  "; expected Removed, Isolated, MergedWithPrevious, "
                  "MergedWithNext or Contiguous");
    const json::Object *pattern = o.getObject("pattern");
    if (pattern) {
      if (auto s = pattern->getString("String"))
        return makeLiteralSplit(s->str(), behavior, *invert);
      if (auto re = pattern->getString("Regex")) {
        ScannerKind kind;
        if (scannerForRegex(*re, kind))
          return makeScannerSplit(kind, behavior, *invert);
        std::string error;
        if (auto split = makeRegexSplit(*re, behavior, *invert, error))
          return std::move(split);
        return fail("unsupported Split regex '" + *re + "' " + in() + ": " +
                    error +
                    "; supported: the GPT-2, Llama-3 and Qwen2 split "
                    "regexes and regexes without look-around");
      }
    }
    return fail("the Split pre-tokenizer " + in() +
                " needs a \"pattern\" like {\"Regex\": ...} or "
                "{\"String\": ...}");
  }
  if (type == "Digits") {
    auto individual =
        getBool(o, "individual_digits", false, "Digits pre-tokenizer");
    if (!individual)
      return individual.takeError();
    return makeDigitsPreTokenizer(*individual);
  }
  if (type == "Metaspace") {
    auto rep = getChar(o, "replacement", "Metaspace pre-tokenizer");
    if (!rep)
      return rep.takeError();
    auto scheme = parsePrependScheme(o, "Metaspace pre-tokenizer");
    if (!scheme)
      return scheme.takeError();
    auto split = getBool(o, "split", true, "Metaspace pre-tokenizer");
    if (!split)
      return split.takeError();
    sentencePiece = true;
    return makeMetaspacePreTokenizer(*rep, *scheme, *split);
  }
  if (type == "WhitespaceSplit")
    return makeWhitespaceSplitPreTokenizer();
  if (type == "CharDelimiterSplit") {
    auto delim = getChar(o, "delimiter", "CharDelimiterSplit pre-tokenizer");
    if (!delim)
      return delim.takeError();
    return makeCharDelimiterPreTokenizer(*delim);
  }
  return fail("unsupported pre-tokenizer '" + type + "' " + in() +
              "; supported: Sequence, ByteLevel, Split, Digits, Metaspace, "
              "WhitespaceSplit, CharDelimiterSplit");
}

Expected<std::unique_ptr<Decoder>> Loader::parseDecoder(const json::Value &v) {
  auto obj = getObject(v, "decoder");
  if (!obj)
    return obj.takeError();
  const json::Object &o = **obj;
  StringRef type = o.getString("type").value_or("");
  if (type == "Sequence") {
    const json::Array *list = o.getArray("decoders");
    if (!list)
      return fail("the Sequence decoder " + in() +
                  " needs a \"decoders\" array");
    std::vector<std::unique_ptr<Decoder>> steps;
    for (const json::Value &item : *list) {
      auto step = parseDecoder(item);
      if (!step)
        return step.takeError();
      steps.push_back(std::move(*step));
    }
    return makeSequenceDecoder(std::move(steps));
  }
  if (type == "ByteLevel")
    return makeByteLevelDecoder();
  if (type == "Replace") {
    auto pattern = getStringPattern(o, "Replace decoder");
    if (!pattern)
      return pattern.takeError();
    auto content = getString(o, "content", "Replace decoder");
    if (!content)
      return content.takeError();
    return makeReplaceDecoder(*pattern, *content);
  }
  if (type == "ByteFallback")
    return makeByteFallbackDecoder();
  if (type == "Fuse")
    return makeFuseDecoder();
  if (type == "Strip") {
    auto content = getChar(o, "content", "Strip decoder");
    if (!content)
      return content.takeError();
    auto start = o.getInteger("start"), stop = o.getInteger("stop");
    if (!start || !stop || *start < 0 || *stop < 0)
      return fail("the Strip decoder " + in() +
                  " needs non-negative integers \"start\" and \"stop\"");
    return makeStripDecoder(*content, size_t(*start), size_t(*stop));
  }
  if (type == "Metaspace") {
    auto rep = getChar(o, "replacement", "Metaspace decoder");
    if (!rep)
      return rep.takeError();
    auto scheme = parsePrependScheme(o, "Metaspace decoder");
    if (!scheme)
      return scheme.takeError();
    return makeMetaspaceDecoder(*rep, *scheme);
  }
  return fail("unsupported decoder '" + type + "' " + in() +
              "; supported: Sequence, ByteLevel, Replace, ByteFallback, "
              "Fuse, Strip, Metaspace");
}

Error Loader::parsePostProcessor(const json::Value &v,
                                 std::vector<int32_t> &prefix,
                                 std::vector<int32_t> &suffix) {
  auto obj = getObject(v, "post-processor");
  if (!obj)
    return obj.takeError();
  const json::Object &o = **obj;
  StringRef type = o.getString("type").value_or("");
  auto tokenRef = [&](const json::Value *pair, StringRef key,
                      std::vector<int32_t> &ids) -> Error {
    const json::Array *a = pair ? pair->getAsArray() : nullptr;
    std::optional<int64_t> id =
        a && a->size() == 2 ? (*a)[1].getAsInteger() : std::nullopt;
    if (!id)
      return fail("the " + type + " post-processor " + in() + " needs \"" +
                  key + "\": [token, id]");
    auto checked = checkId((*a)[1], (*a)[0].getAsString().value_or(""),
                           "post-processor token");
    if (!checked)
      return checked.takeError();
    ids.push_back(*checked);
    return Error::success();
  };
  if (type == "ByteLevel")
    return Error::success();
  if (type == "Sequence") {
    const json::Array *list = o.getArray("processors");
    if (!list)
      return fail("the Sequence post-processor " + in() +
                  " needs a \"processors\" array");
    for (const json::Value &item : *list) {
      std::vector<int32_t> p, s;
      if (Error e = parsePostProcessor(item, p, s))
        return e;
      // Each processor wraps the result of the previous one.
      prefix.insert(prefix.begin(), p.begin(), p.end());
      suffix.insert(suffix.end(), s.begin(), s.end());
    }
    return Error::success();
  }
  if (type == "BertProcessing" || type == "RobertaProcessing") {
    if (Error e = tokenRef(o.get("cls"), "cls", prefix))
      return e;
    return tokenRef(o.get("sep"), "sep", suffix);
  }
  if (type == "TemplateProcessing") {
    const json::Array *single = o.getArray("single");
    const json::Object *specials = o.getObject("special_tokens");
    if (!single)
      return fail("the TemplateProcessing post-processor " + in() +
                  " needs a \"single\" array");
    bool seenA = false;
    for (const json::Value &item : *single) {
      const json::Object *io = item.getAsObject();
      if (io && io->getObject("Sequence")) {
        if (seenA)
          return fail("unsupported TemplateProcessing " + in() +
                      ": \"single\" names the sequence twice");
        seenA = true;
        continue;
      }
      const json::Object *st = io ? io->getObject("SpecialToken") : nullptr;
      std::optional<StringRef> id = st ? st->getString("id") : std::nullopt;
      if (!id)
        return fail("unsupported item in the TemplateProcessing \"single\" " +
                    in() +
                    "; expected {\"SpecialToken\": ...} or "
                    "{\"Sequence\": ...}");
      const json::Object *entry = specials ? specials->getObject(*id) : nullptr;
      const json::Array *ids = entry ? entry->getArray("ids") : nullptr;
      if (!ids)
        return fail("TemplateProcessing " + in() + " uses special token '" +
                    *id + "' that its \"special_tokens\" does not define");
      for (const json::Value &idv : *ids) {
        auto checked = checkId(idv, *id, "post-processor token");
        if (!checked)
          return checked.takeError();
        (seenA ? suffix : prefix).push_back(*checked);
      }
    }
    if (!seenA)
      return fail("unsupported TemplateProcessing " + in() +
                  ": \"single\" has no {\"Sequence\": {\"id\": \"A\"}}");
    return Error::success();
  }
  return fail("unsupported post-processor '" + type + "' " + in() +
              "; supported: TemplateProcessing, ByteLevel, BertProcessing, "
              "RobertaProcessing, Sequence");
}

Expected<int32_t> Loader::checkId(const json::Value &v, StringRef token,
                                  StringRef what) {
  std::optional<int64_t> id = v.getAsInteger();
  if (!id)
    return fail(llvm::formatv("the {0} '{1}' {2} has id {3}; expected an "
                              "integer",
                              what, token, in(), v)
                    .str());
  if (*id < 0 || *id >= kMaxId)
    return fail(llvm::formatv("the {0} '{1}' {2} has id {3}, which is out "
                              "of range; expected 0 <= id < {4}",
                              what, token, in(), *id, kMaxId)
                    .str());
  return int32_t(*id);
}

/// Undoes the GPT-2 byte-to-unicode mapping; false if some code point of
/// `token` stands for no byte.
bool unmapByteLevel(StringRef token, std::string &bytes) {
  bytes.clear();
  for (size_t i = 0; i < token.size();) {
    unsigned len;
    uint32_t cp = unicode::decodeUtf8(token, i, len);
    int b = cp == unicode::kInvalid ? -1 : unicodeToByte(cp);
    if (b < 0)
      return false;
    bytes.push_back(char(b));
    i += len;
  }
  return true;
}

Error Loader::parseModel(const json::Object &model, HFTokenizer &tok) {
  StringRef type = model.getString("type").value_or("");
  if (type.empty()) {
    // `tokenizers` accepts a model without "type" and guesses it.
    if (model.get("merges"))
      type = "BPE";
    else if (model.getArray("vocab"))
      type = "Unigram";
    else if (model.get("continuing_subword_prefix"))
      type = "WordPiece";
    else
      type = "WordLevel";
  }
  if (type != "BPE")
    return fail("unsupported tokenizer model '" + type + "' " + in() +
                "; supported: BPE");

  const json::Object *vocab = model.getObject("vocab");
  if (!vocab)
    return fail("the BPE model " + in() +
                " needs a \"vocab\" object mapping tokens to ids");
  for (StringRef key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    std::optional<StringRef> s = model.getString(key);
    if (s && !s->empty())
      return fail(Twine("unsupported BPE option \"") + key + "\": '" + *s +
                  "' " + in() + "; expected null or \"\"");
  }
  if (std::optional<double> dropout = model.getNumber("dropout");
      dropout && *dropout > 0) {
    char shown[32];
    snprintf(shown, sizeof(shown), "%g", *dropout);
    return fail(Twine("unsupported BPE dropout ") + shown + " " + in() +
                "; expected null (dropout is for training only)");
  }

  // Vocabulary, checking ids.
  // Keys point into the parsed JSON, which outlives loading.
  std::vector<StringRef> byId;
  std::vector<bool> seen;
  int32_t maxId = -1;
  for (const auto &kv : *vocab) {
    StringRef key = kv.first;
    auto id = checkId(kv.second, key, "token");
    if (!id)
      return id.takeError();
    if (size_t(*id) >= byId.size()) {
      byId.resize(size_t(*id) + 1);
      seen.resize(size_t(*id) + 1, false);
    }
    if (seen[*id]) {
      // Name the two tokens in a fixed order.
      StringRef a = std::min(byId[*id], key), b = std::max(byId[*id], key);
      return fail(llvm::formatv("tokens '{0}' and '{1}' {2} both have id "
                                "{3}; expected each id once",
                                a, b, in(), *id)
                      .str());
    }
    byId[*id] = key;
    seen[*id] = true;
    maxId = std::max(maxId, *id);
    fileVocab[key] = *id;
  }
  modelVocabCount = int32_t(fileVocab.size());

  // Merges: "a b" strings or [a, b] pairs.
  const json::Array *mergeList = model.getArray("merges");
  if (!mergeList)
    return fail("the BPE model " + in() + " needs a \"merges\" array");
  std::vector<std::array<int32_t, 3>> merges;
  merges.reserve(mergeList->size());
  for (size_t rank = 0; rank < mergeList->size(); ++rank) {
    const json::Value &m = (*mergeList)[rank];
    StringRef a, b;
    if (auto s = m.getAsString()) {
      auto parts = s->split(' ');
      if (parts.second.empty() || parts.second.contains(' ') ||
          parts.first.empty())
        return fail(llvm::formatv("merge {0} ('{1}') {2} is not two tokens "
                                  "separated by one space",
                                  rank, *s, in())
                        .str());
      a = parts.first;
      b = parts.second;
    } else if (const json::Array *pair = m.getAsArray();
               pair && pair->size() == 2 && (*pair)[0].getAsString() &&
               (*pair)[1].getAsString()) {
      a = *(*pair)[0].getAsString();
      b = *(*pair)[1].getAsString();
    } else {
      return fail(llvm::formatv("merge {0} {1} is {2}; expected \"a b\" or "
                                "[\"a\", \"b\"]",
                                rank, in(), kindName(m))
                      .str());
    }
    std::array<int32_t, 3> ids;
    std::string merged = (a + b).str();
    StringRef parts[3] = {a, b, merged};
    for (int k = 0; k < 3; ++k) {
      auto it = fileVocab.find(parts[k]);
      if (it == fileVocab.end())
        return fail(llvm::formatv("merge {0} ('{1} {2}') {3} {4} '{5}', "
                                  "which is not in the vocabulary",
                                  rank, a, b, in(),
                                  k < 2 ? "references token" : "produces",
                                  parts[k])
                        .str());
      ids[k] = it->second;
    }
    merges.push_back(ids);
  }
  mergeIds = merges;

  BpeOptions opts;
  opts.byteLevel = byteLevel;
  for (auto [key, field] :
       {std::pair<StringRef, bool *>{"fuse_unk", &opts.fuseUnk},
        {"byte_fallback", &opts.byteFallback},
        {"ignore_merges", &opts.ignoreMerges}}) {
    auto v = getBool(model, key, false, "BPE model");
    if (!v)
      return v.takeError();
    *field = *v;
  }
  if (opts.byteFallback)
    sentencePiece = true;
  if (const json::Value *unk = model.get("unk_token");
      unk && unk->kind() != json::Value::Null) {
    std::optional<StringRef> s = unk->getAsString();
    auto it = s ? fileVocab.find(*s) : fileVocab.end();
    if (it == fileVocab.end())
      return fail("the unk_token " +
                  (s ? "'" + *s + "'" : Twine(kindName(*unk))) + " " + in() +
                  " is not in the vocabulary");
    opts.unkId = it->second;
  }

  // The model looks words up as the pre-tokenizer hands them over: raw
  // bytes in byte-level mode.
  llvm::StringMap<int32_t> modelVocab;
  std::string bytes;
  for (const auto &kv : fileVocab) {
    if (!byteLevel)
      modelVocab[kv.first()] = kv.second;
    else if (unmapByteLevel(kv.first(), bytes))
      modelVocab[bytes] = kv.second;
    else if (kv.first().starts_with("<0x")) // byte fallback tokens
      modelVocab[kv.first()] = kv.second;
  }
  tok.model = std::make_unique<BpeModel>(std::move(modelVocab), merges, opts);

  tok.idToTok.assign(size_t(maxId + 1), StringRef());
  tok.hasToken.assign(size_t(maxId + 1), false);
  for (const auto &kv : fileVocab) {
    tok.idToTok[kv.second] = kv.first(); // fileVocab moves into `tok` later
    tok.hasToken[kv.second] = true;
  }
  return Error::success();
}

Error Loader::parseAddedTokens(const json::Value *v, HFTokenizer &tok) {
  if (!v || v->kind() == json::Value::Null)
    return Error::success();
  const json::Array *list = v->getAsArray();
  if (!list)
    return fail(Twine("\"added_tokens\" ") + in() + " is " + kindName(*v) +
                "; expected an array");
  int32_t maxAdded = -1;
  for (const json::Value &item : *list) {
    const json::Object *o = item.getAsObject();
    if (!o)
      return fail("an entry of \"added_tokens\" " + in() + " is " +
                  kindName(item) + "; expected an object");
    AddedToken t;
    auto content = getString(*o, "content", "added token");
    if (!content)
      return content.takeError();
    t.content = *content;
    if (t.content.empty())
      return fail("an added token " + in() + " has empty \"content\"");
    const json::Value *idv = o->get("id");
    if (!idv)
      return fail("the added token '" + t.content + "' " + in() +
                  " has no \"id\"");
    auto id = checkId(*idv, t.content, "added token");
    if (!id)
      return id.takeError();
    auto special = getBool(*o, "special", false, "added token");
    if (!special)
      return special.takeError();
    t.special = *special;
    for (auto [key, field, dflt] :
         {std::tuple<StringRef, bool *, bool>{"single_word", &t.singleWord,
                                              false},
          {"lstrip", &t.lstrip, false},
          {"rstrip", &t.rstrip, false},
          {"normalized", &t.normalized, !t.special}}) {
      auto b = getBool(*o, key, dflt, "added token");
      if (!b)
        return b.takeError();
      *field = *b;
    }
    // The id `tokenizers` gives the token: its vocabulary id, else the next
    // free id after the model's vocabulary (AddedVocabulary::add_tokens).
    if (tok.addedByContent.count(t.content))
      continue; // a repeated entry changes nothing
    int32_t expected;
    auto inVocab = fileVocab.find(t.content);
    if (inVocab != fileVocab.end())
      expected = inVocab->second;
    else if (maxAdded < 0)
      expected = modelVocabCount;
    else
      expected = maxAdded >= modelVocabCount || modelVocabCount == 0
                     ? maxAdded + 1
                     : modelVocabCount;
    if (*id != expected)
      return fail(
          llvm::formatv("the added token '{0}' {1} has id {2}, but its id must "
                        "be {3} ({4}); ids of added tokens that are not in the "
                        "vocabulary follow the vocabulary in order",
                        t.content, in(), *id, expected,
                        inVocab != fileVocab.end() ? "its id in the vocabulary"
                                                   : "the next free id")
              .str());
    maxAdded = std::max(maxAdded, expected);
    t.id = expected;
    tok.addedByContent[t.content] = t.id;
    tok.added.push_back(std::move(t));
  }
  return Error::success();
}

Expected<std::unique_ptr<Tokenizer>> Loader::load(StringRef text,
                                                  const json::Value *config) {
  Expected<json::Value> parsed = json::parse(text);
  if (!parsed)
    return fail("'" + name +
                "' is not valid JSON: " + llvm::toString(parsed.takeError()));
  const json::Object *root = parsed->getAsObject();
  if (!root)
    return fail("'" + name + "' holds " + kindName(*parsed) +
                "; expected a tokenizer.json object");
  const json::Value *modelValue = root->get("model");
  if (!modelValue || !modelValue->getAsObject())
    return fail("'" + name +
                "' has no \"model\" object; expected a "
                "tokenizer.json saved by Hugging Face tokenizers");

  auto tok = std::make_unique<HFTokenizer>();
  // Pipeline first: the model's vocabulary depends on whether it is
  // byte-level.
  if (const json::Value *v = root->get("normalizer");
      v && v->kind() != json::Value::Null) {
    auto n = parseNormalizer(*v);
    if (!n)
      return n.takeError();
    tok->normalizer = std::move(*n);
  }
  if (const json::Value *v = root->get("pre_tokenizer");
      v && v->kind() != json::Value::Null) {
    auto p = parsePreTokenizer(*v, /*last=*/true);
    if (!p)
      return p.takeError();
    tok->preTokenizer = std::move(*p);
  }
  if (const json::Value *v = root->get("decoder");
      v && v->kind() != json::Value::Null) {
    auto d = parseDecoder(*v);
    if (!d)
      return d.takeError();
    tok->decoder = std::move(*d);
  }
  if (Error e = parseModel(*modelValue->getAsObject(), *tok))
    return std::move(e);
  if (Error e = parseAddedTokens(root->get("added_tokens"), *tok))
    return std::move(e);

  // Id tables cover added tokens too; added tokens win in decode.
  for (const AddedToken &t : tok->added) {
    if (size_t(t.id) >= tok->idToTok.size()) {
      tok->idToTok.resize(size_t(t.id) + 1);
      tok->hasToken.resize(size_t(t.id) + 1, false);
    }
    tok->idToTok[t.id] = t.content;
    tok->hasToken[t.id] = true;
  }
  tok->special.assign(tok->idToTok.size(), false);
  llvm::StringMap<bool> specialContent;
  for (const AddedToken &t : tok->added)
    if (t.special)
      specialContent[t.content] = true;
  for (size_t id = 0; id < tok->idToTok.size(); ++id)
    tok->special[id] =
        tok->hasToken[id] && specialContent.count(tok->idToTok[id]);

  // Decoding a lone ByteLevel decoder is a table lookup per id.
  if (const json::Object *d = root->getObject("decoder");
      d && d->getString("type") == "ByteLevel") {
    tok->byteLevelBytes.resize(tok->idToTok.size());
    for (size_t id = 0; id < tok->idToTok.size(); ++id) {
      StringRef t = tok->idToTok[id];
      if (!unmapByteLevel(t, tok->byteLevelBytes[id]))
        tok->byteLevelBytes[id] = t.str(); // not byte-level: raw text
    }
  }

  // Matchers for the added tokens.
  for (size_t i = 0; i < tok->added.size(); ++i) {
    AddedToken &t = tok->added[i];
    if (!t.normalized || !tok->normalizer) {
      (t.normalized ? tok->normalizedTrie : tok->rawTrie)
          .add(t.content, int32_t(i));
      continue;
    }
    std::string norm;
    tok->normalizer->normalize(t.content, norm);
    tok->normalizedTrie.add(norm, int32_t(i));
  }

  if (const json::Value *v = root->get("post_processor");
      v && v->kind() != json::Value::Null)
    if (Error e = parsePostProcessor(*v, tok->prefixIds, tok->suffixIds))
      return std::move(e);
  for (int32_t id : llvm::concat<int32_t>(tok->prefixIds, tok->suffixIds))
    if (size_t(id) >= tok->hasToken.size() || !tok->hasToken[id])
      return fail(llvm::formatv("the post-processor {0} adds id {1}, which "
                                "names no token; expected an id below {2} "
                                "that the vocabulary uses",
                                in(), id, tok->idToTok.size())
                      .str());
  tok->fileVocab = std::move(fileVocab);
  tok->kindName = byteLevel       ? "bpe-bytelevel"
                  : sentencePiece ? "bpe-sentencepiece"
                                  : "bpe";

  // Special ids: tokenizer_config.json, else the template, else names.
  auto lookup = [&](const json::Value *v) -> std::optional<int32_t> {
    if (!v)
      return std::nullopt;
    std::optional<StringRef> s = v->getAsString();
    if (!s)
      if (const json::Object *o = v->getAsObject())
        s = o->getString("content");
    return s ? tok->tokenId(*s) : std::nullopt;
  };
  auto firstOf =
      [&](std::initializer_list<StringRef> names) -> std::optional<int32_t> {
    for (StringRef n : names)
      if (auto id = tok->tokenId(n))
        return id;
    return std::nullopt;
  };
  // A key present in tokenizer_config.json decides, even when null.
  const json::Object *cfg = config ? config->getAsObject() : nullptr;
  auto fromConfig = [&](StringRef key, std::optional<int32_t> &id) {
    if (!cfg || !cfg->get(key))
      return false;
    id = lookup(cfg->get(key));
    return true;
  };
  if (!fromConfig("bos_token", tok->bos)) {
    if (!tok->prefixIds.empty())
      tok->bos = tok->prefixIds.front();
    else
      tok->bos =
          firstOf({"<|begin_of_text|>", "<s>", "<bos>", "<|startoftext|>"});
  }
  if (!fromConfig("eos_token", tok->eos))
    tok->eos = firstOf({"<|end_of_text|>", "</s>", "<eos>", "<|endoftext|>"});
  if (!fromConfig("pad_token", tok->pad)) {
    if (const json::Object *padding = root->getObject("padding"))
      if (auto id = padding->getInteger("pad_id"))
        if (*id >= 0 && size_t(*id) < tok->hasToken.size() &&
            tok->hasToken[*id])
          tok->pad = int32_t(*id);
    if (!tok->pad)
      tok->pad = firstOf({"<pad>", "<|pad|>", "[PAD]"});
  }

  // Fingerprint: every part that affects encode(). The small parts as
  // canonical JSON (llvm::json sorts object keys), the vocabulary by id and
  // the merges by rank as they were resolved.
  std::string data = "ftl-hf-tokenizer-v2";
  {
    llvm::raw_string_ostream os(data);
    for (StringRef key :
         {"normalizer", "pre_tokenizer", "added_tokens", "post_processor"}) {
      os << '\0' << key << '=';
      if (const json::Value *v = root->get(key))
        os << *v;
    }
    json::Object options;
    for (const auto &kv : *modelValue->getAsObject())
      if (kv.first != "vocab" && kv.first != "merges")
        options[kv.first] = kv.second;
    os << "\0model=" << json::Value(std::move(options)) << "\0vocab=";
  }
  for (size_t id = 0; id < tok->idToTok.size(); ++id) {
    data += tok->hasToken[id] ? tok->idToTok[id] : StringRef("\x01");
    data.push_back('\0');
  }
  data += "merges=";
  for (const auto &m : mergeIds)
    data.append(reinterpret_cast<const char *>(m.data()), sizeof(m));
  std::array<uint8_t, 32> digest =
      llvm::SHA256::hash(llvm::arrayRefFromStringRef(data));
  tok->fingerprintHex = llvm::toHex(digest, /*LowerCase=*/true);
  return std::unique_ptr<Tokenizer>(std::move(tok));
}

} // namespace

Expected<std::unique_ptr<Tokenizer>>
loadHFTokenizerFromJson(StringRef json, StringRef nameForErrors) {
  return Loader(nameForErrors).load(json, nullptr);
}

Expected<std::unique_ptr<Tokenizer>> loadHFTokenizer(StringRef path) {
  auto buf = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                         /*RequiresNullTerminator=*/false);
  if (!buf)
    return makeError("cannot read tokenizer file '" + path +
                     "': " + buf.getError().message());
  // Special token names from tokenizer_config.json, when it is there.
  llvm::SmallString<256> cfgPath(llvm::sys::path::parent_path(path));
  llvm::sys::path::append(cfgPath, "tokenizer_config.json");
  std::optional<json::Value> config;
  if (auto cfgBuf = llvm::MemoryBuffer::getFile(cfgPath, false, false)) {
    Expected<json::Value> parsed = json::parse((*cfgBuf)->getBuffer());
    if (!parsed)
      return makeError("'" + cfgPath + "' is not valid JSON: " +
                       llvm::toString(parsed.takeError()));
    config = std::move(*parsed);
  }
  return Loader(path).load((*buf)->getBuffer(), config ? &*config : nullptr);
}

} // namespace ftl::rt
