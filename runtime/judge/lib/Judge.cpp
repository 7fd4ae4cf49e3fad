//===- Judge.cpp - Matching judges and shared helpers ---------------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "ftl/Judge/Judge.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/Error.h"

#include "re2/re2.h"

#include <charconv>
#include <cmath>

using namespace ftl::rt;

Judge::~Judge() = default;

void ftl::rt::accumulateStats(llvm::ArrayRef<Verdict> verdicts,
                              JudgeStats &stats) {
  for (const Verdict &verdict : verdicts) {
    ++stats.items;
    if (verdict.failure.empty()) {
      if (verdict.pass)
        ++stats.passed;
    } else if (verdict.failure == "crash") {
      ++stats.crashed;
    } else if (verdict.failure == "timeout") {
      ++stats.timedOut;
    } else if (verdict.failure == "garbage") {
      ++stats.garbage;
    } else if (verdict.failure == "memory") {
      ++stats.memory;
    }
  }
}

namespace {

bool isAsciiSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' ||
         c == '\r';
}

bool isTrailingPunctuation(char c) {
  return c == '.' || c == ',' || c == ';' || c == ':' || c == '!' || c == '?';
}

/// A judge that applies one test to each item.
class PerItemJudge : public Judge {
public:
  llvm::Expected<std::vector<Verdict>> judge(llvm::ArrayRef<JudgeItem> items,
                                             JudgeStats &stats) override {
    std::vector<Verdict> verdicts;
    verdicts.reserve(items.size());
    for (const JudgeItem &item : items)
      verdicts.push_back(judgeOne(item));
    accumulateStats(verdicts, stats);
    return verdicts;
  }

protected:
  virtual Verdict judgeOne(const JudgeItem &item) const = 0;

  static Verdict passOrFail(bool pass, llvm::StringRef failFeedback) {
    Verdict verdict;
    verdict.pass = pass;
    verdict.score = pass ? 1.0 : 0.0;
    if (!pass)
      verdict.feedback = failFeedback.str();
    return verdict;
  }
};

class ExactMatchJudge final : public PerItemJudge {
  Verdict judgeOne(const JudgeItem &item) const override {
    return passOrFail(item.sample == item.reference,
                      "the sample differs from the reference");
  }
};

class NormalizedMatchJudge final : public PerItemJudge {
  Verdict judgeOne(const JudgeItem &item) const override {
    return passOrFail(normalizeAnswer(item.sample) ==
                          normalizeAnswer(item.reference),
                      "the sample differs from the reference after "
                      "normalization");
  }
};

/// Shortest round-trip text of a double ("41", "0.1", "1e+30").
std::string formatNumber(double value) {
  char buffer[64];
  auto result = std::to_chars(buffer, buffer + sizeof(buffer), value);
  return std::string(buffer, result.ptr);
}

/// `text` cut to at most 80 bytes for a message.
std::string excerpt(llvm::StringRef text) {
  if (text.size() <= 80)
    return text.str();
  return (text.take_front(77) + "...").str();
}

class NumericMatchJudge final : public PerItemJudge {
public:
  explicit NumericMatchJudge(double tolerance)
      : tolerance(std::isnan(tolerance) || tolerance < 0 ? 0 : tolerance) {}

private:
  Verdict judgeOne(const JudgeItem &item) const override {
    std::optional<double> expected = firstNumber(item.reference);
    if (!expected)
      return passOrFail(false, "the reference '" + excerpt(item.reference) +
                                   "' has no number");
    std::optional<double> found = firstNumber(item.sample);
    if (!found)
      return passOrFail(false, "the sample has no number");
    return passOrFail(std::fabs(*found - *expected) <= tolerance,
                      "the sample's number " + formatNumber(*found) +
                          " is not within " + formatNumber(tolerance) +
                          " of the reference's");
  }

  double tolerance;
};

class RegexJudge final : public PerItemJudge {
public:
  RegexJudge(std::unique_ptr<re2::RE2> regex, std::string pattern)
      : regex(std::move(regex)), pattern(std::move(pattern)) {}

private:
  Verdict judgeOne(const JudgeItem &item) const override {
    return passOrFail(re2::RE2::PartialMatch(item.sample, *regex),
                      "the sample does not match /" + pattern + "/");
  }

  std::unique_ptr<re2::RE2> regex;
  std::string pattern;
};

class FunctionJudge final : public Judge {
public:
  explicit FunctionJudge(JudgeFn fn) : fn(std::move(fn)) {}

  llvm::Expected<std::vector<Verdict>> judge(llvm::ArrayRef<JudgeItem> items,
                                             JudgeStats &stats) override {
    std::vector<Verdict> verdicts;
    verdicts.reserve(items.size());
    for (const JudgeItem &item : items)
      verdicts.push_back(fn(item));
    accumulateStats(verdicts, stats);
    return verdicts;
  }

private:
  JudgeFn fn;
};

bool isDigit(llvm::StringRef text, size_t i) {
  return i < text.size() && llvm::isDigit(text[i]);
}

/// Number of digits starting at `i`.
size_t digitRun(llvm::StringRef text, size_t i) {
  size_t end = i;
  while (isDigit(text, end))
    ++end;
  return end - i;
}

} // namespace

std::string ftl::rt::normalizeAnswer(llvm::StringRef text) {
  std::string out;
  out.reserve(text.size());
  bool pendingSpace = false;
  for (char c : text) {
    if (isAsciiSpace(c)) {
      pendingSpace = !out.empty();
      continue;
    }
    if (pendingSpace)
      out.push_back(' ');
    pendingSpace = false;
    out.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
  }
  // `out` has no leading or trailing whitespace and single inner spaces.
  while (!out.empty() && isTrailingPunctuation(out.back())) {
    out.pop_back();
    if (!out.empty() && out.back() == ' ')
      out.pop_back();
  }
  return out;
}

std::optional<double> ftl::rt::firstNumber(llvm::StringRef text) {
  size_t n = text.size();
  for (size_t start = 0; start < n; ++start) {
    size_t i = start;
    bool negative = false;
    if (text[i] == '+' || text[i] == '-') {
      negative = text[i] == '-';
      ++i;
    }
    bool leadingDot = i < n && text[i] == '.' && isDigit(text, i + 1);
    if (!isDigit(text, i) && !leadingDot)
      continue;

    std::string clean;
    if (negative)
      clean.push_back('-');
    // Integer part, with optional comma groups of exactly three digits.
    size_t run = digitRun(text, i);
    clean.append(text.data() + i, run);
    i += run;
    if (run >= 1 && run <= 3) {
      while (i < n && text[i] == ',' && digitRun(text, i + 1) == 3) {
        clean.append(text.data() + i + 1, 3);
        i += 4;
      }
    }
    // Fraction.
    if (i < n && text[i] == '.' && (run > 0 || leadingDot)) {
      size_t fraction = digitRun(text, i + 1);
      if (run == 0)
        clean.push_back('0');
      clean.push_back('.');
      clean.append(text.data() + i + 1, fraction);
      i += 1 + fraction;
    }
    // Exponent, only when digits follow.
    if (i < n && (text[i] == 'e' || text[i] == 'E')) {
      size_t j = i + 1;
      if (j < n && (text[j] == '+' || text[j] == '-'))
        ++j;
      size_t exponent = digitRun(text, j);
      if (exponent > 0) {
        clean.push_back('e');
        clean.append(text.data() + i + 1, j + exponent - (i + 1));
      }
    }
    double value = 0;
    std::from_chars_result result =
        std::from_chars(clean.data(), clean.data() + clean.size(), value);
    if (result.ec != std::errc() || result.ptr != clean.data() + clean.size())
      return std::nullopt;
    return value;
  }
  return std::nullopt;
}

std::unique_ptr<Judge> ftl::rt::exactMatchJudge() {
  return std::make_unique<ExactMatchJudge>();
}

std::unique_ptr<Judge> ftl::rt::normalizedMatchJudge() {
  return std::make_unique<NormalizedMatchJudge>();
}

std::unique_ptr<Judge> ftl::rt::numericMatchJudge(double tolerance) {
  return std::make_unique<NumericMatchJudge>(tolerance);
}

llvm::Expected<std::unique_ptr<Judge>>
ftl::rt::regexJudge(llvm::StringRef pattern) {
  re2::RE2::Options options;
  options.set_log_errors(false);
  auto regex = std::make_unique<re2::RE2>(
      re2::StringPiece(pattern.data(), pattern.size()), options);
  if (!regex->ok())
    return llvm::createStringError(
        llvm::inconvertibleErrorCode(),
        "invalid regular expression '%s' for a regex judge: %s",
        pattern.str().c_str(), regex->error().c_str());
  return std::make_unique<RegexJudge>(std::move(regex), pattern.str());
}

std::unique_ptr<Judge> ftl::rt::functionJudge(JudgeFn fn) {
  return std::make_unique<FunctionJudge>(std::move(fn));
}
