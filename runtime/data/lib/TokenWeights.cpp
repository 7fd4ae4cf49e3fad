//===- TokenWeights.cpp - Per-token loss weights --------------------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "ftl/Data/TokenWeights.h"

#include "ftl/Tokenizers/Tokenizer.h"

#include "llvm/Support/raw_ostream.h"

#include <algorithm>

using namespace ftl::rt;

std::string TokenWeighting::describe() const {
  std::string out;
  llvm::raw_string_ostream os(out);
  switch (kind) {
  case Kind::None:
    break;
  case Kind::KeyTokens:
    os << "key_tokens(of: " << field << ", weight: " << weight << ")";
    break;
  case Kind::Diff:
    os << "diff_weights(against: " << field << ", lines: " << lines
       << ", tokens: " << tokens << ")";
    break;
  }
  return out;
}

std::vector<size_t>(::ftl::rt::tokenByteEnds)(const Tokenizer &tokenizer,
                                              llvm::ArrayRef<int32_t> ids,
                                              llvm::StringRef text) {
  std::vector<size_t> ends(ids.size());
  // Token by token: exact when the pieces concatenate to the text (byte-
  // level BPE, the byte tokenizer).
  std::string joined;
  for (size_t i = 0; i < ids.size(); ++i) {
    joined += tokenizer.decode(ids.slice(i, 1));
    ends[i] = joined.size();
  }
  if (joined == text)
    return ends;
  // Otherwise (a decoder that adds or strips spaces, bytes of one character
  // split over tokens): the length of each decoded prefix.
  size_t last = 0;
  for (size_t i = 0; i < ids.size(); ++i) {
    size_t end = tokenizer.decode(ids.take_front(i + 1)).size();
    last = std::min(std::max(last, end), text.size());
    ends[i] = last;
  }
  return ends;
}

std::vector<uint8_t>(::ftl::rt::keyBytes)(llvm::StringRef text,
                                          llvm::ArrayRef<std::string> keys) {
  std::vector<uint8_t> mask(text.size(), 0);
  for (const std::string &key : keys) {
    if (key.empty())
      continue;
    for (size_t at = text.find(key); at != llvm::StringRef::npos;
         at = text.find(key, at + 1))
      std::fill(mask.begin() + at, mask.begin() + at + key.size(), 1);
  }
  return mask;
}

/// For each element of `a`: whether it is outside a longest common
/// subsequence of `a` and `b` (ties resolved the same way every time).
template <typename T>
static std::vector<uint8_t> outsideLCS(llvm::ArrayRef<T> a,
                                       llvm::ArrayRef<T> b) {
  size_t n = a.size(), m = b.size();
  // lengths[i][j]: LCS of a[i..] and b[j..].
  std::vector<uint32_t> lengths((n + 1) * (m + 1), 0);
  auto at = [&](size_t i, size_t j) -> uint32_t & {
    return lengths[i * (m + 1) + j];
  };
  for (size_t i = n; i-- > 0;)
    for (size_t j = m; j-- > 0;)
      at(i, j) = a[i] == b[j] ? at(i + 1, j + 1) + 1
                              : std::max(at(i + 1, j), at(i, j + 1));
  std::vector<uint8_t> outside(n, 1);
  size_t i = 0, j = 0;
  while (i < n && j < m) {
    if (a[i] == b[j]) {
      outside[i] = 0;
      ++i, ++j;
    } else if (at(i + 1, j) >= at(i, j + 1)) {
      ++i;
    } else {
      ++j;
    }
  }
  return outside;
}

/// The lines of `text`, each with its newline.
static std::vector<llvm::StringRef> linesOf(llvm::StringRef text) {
  std::vector<llvm::StringRef> lines;
  while (!text.empty()) {
    size_t end = text.find('\n');
    end = end == llvm::StringRef::npos ? text.size() : end + 1;
    lines.push_back(text.take_front(end));
    text = text.drop_front(end);
  }
  return lines;
}

std::vector<uint8_t>(::ftl::rt::changedLineBytes)(llvm::StringRef text,
                                                  llvm::StringRef other) {
  // Compare lines without their newline, so a last line without one still
  // matches.
  auto bare = [](std::vector<llvm::StringRef> lines) {
    for (llvm::StringRef &l : lines)
      l = l.rtrim("\n");
    return lines;
  };
  std::vector<llvm::StringRef> lines = linesOf(text);
  std::vector<uint8_t> changed =
      outsideLCS<llvm::StringRef>(bare(lines), bare(linesOf(other)));
  std::vector<uint8_t> mask;
  mask.reserve(text.size());
  for (size_t i = 0; i < lines.size(); ++i)
    mask.insert(mask.end(), lines[i].size(), changed[i]);
  return mask;
}

std::vector<uint8_t>(::ftl::rt::changedTokens)(llvm::ArrayRef<int32_t> ids,
                                               llvm::ArrayRef<int32_t> other) {
  return outsideLCS<int32_t>(ids, other);
}

/// Whether any byte of [begin, end) is set in `mask`.
static bool covers(const std::vector<uint8_t> &mask, size_t begin, size_t end) {
  for (size_t b = begin; b < end && b < mask.size(); ++b)
    if (mask[b])
      return true;
  return false;
}

llvm::Expected<std::vector<float>>(::ftl::rt::responseTokenWeights)(
    const TokenWeighting &weighting, const Tokenizer &tokenizer,
    const Record &record, llvm::StringRef response,
    llvm::ArrayRef<int32_t> ids) {
  std::vector<float> weights(ids.size(), 1.0f);
  if (weighting.kind == TokenWeighting::Kind::None)
    return weights;
  std::vector<size_t> ends = tokenByteEnds(tokenizer, ids, response);
  auto beginOf = [&](size_t i) { return i == 0 ? size_t(0) : ends[i - 1]; };

  if (weighting.kind == TokenWeighting::Kind::KeyTokens) {
    auto field = record.require(weighting.field);
    if (!field)
      return field.takeError();
    std::vector<std::string> keys;
    if ((*field)->isString()) {
      keys.push_back((*field)->getString().str());
    } else if ((*field)->isList()) {
      for (const Value &v : (*field)->getList()) {
        if (!v.isString())
          return recordError(record, "key_tokens: field '" + weighting.field +
                                         "' must list strings, found " +
                                         v.kindName());
        keys.push_back(v.getString().str());
      }
    } else {
      return recordError(record, "key_tokens: field '" + weighting.field +
                                     "' must be a string or a list of "
                                     "strings, found " +
                                     (*field)->kindName());
    }
    std::vector<uint8_t> key = keyBytes(response, keys);
    for (size_t i = 0; i < ids.size(); ++i)
      if (covers(key, beginOf(i), ends[i]))
        weights[i] = float(weighting.weight);
    return weights;
  }

  auto wrong = record.requireString(weighting.field);
  if (!wrong)
    return wrong.takeError();
  std::vector<uint8_t> lineMask = changedLineBytes(response, *wrong);
  std::vector<uint8_t> tokenMask =
      changedTokens(ids, tokenizer.encode(*wrong, false));
  for (size_t i = 0; i < ids.size(); ++i) {
    double w = 1;
    if (covers(lineMask, beginOf(i), ends[i]))
      w += weighting.lines;
    if (tokenMask[i])
      w += weighting.tokens;
    weights[i] = float(w);
  }
  return weights;
}
