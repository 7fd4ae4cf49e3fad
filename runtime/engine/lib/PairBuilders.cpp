//===- PairBuilders.cpp - Pairs and texts from judged samples -------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "PairBuilders.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/Support/FormatVariadic.h"

#include <cstdio>
#include <cstdlib>
#include <map>

using namespace ftl::rt;
using Field = ftl::rt::Value;

static std::string text(const Record &r, llvm::StringRef name) {
  const Field *v = r.get(name);
  if (!v || v->isNull())
    return "";
  if (v->isString())
    return v->getString().str();
  return v->toJson();
}

/// The shortest text that reads back as the same double ("0.5", "1").
static std::string shortNumber(double v) {
  char buffer[32];
  for (int digits = 1; digits <= 17; ++digits) {
    snprintf(buffer, sizeof(buffer), "%.*g", digits, v);
    if (std::strtod(buffer, nullptr) == v)
      break;
  }
  return buffer;
}

static std::string sampleOf(const Record &r) {
  // generate() writes the sample as `response`.
  return text(r, "response");
}

llvm::Expected<std::vector<Record>>
(::ftl::rt::bestWorstPairs)(const std::vector<Record> &judged,
                            const std::string &scoreField) {
  std::vector<std::string> order;
  std::map<std::string, std::vector<const Record *>> byPrompt;
  for (const Record &r : judged) {
    const Field *score = r.get(scoreField);
    if (!score || !score->isNumber())
      return llvm::createStringError(
          "best_worst: a record has no number field '" + scoreField +
          "' (judge the samples first); it has " + r.describeFields());
    std::string prompt = text(r, "prompt");
    if (!byPrompt.count(prompt))
      order.push_back(prompt);
    byPrompt[prompt].push_back(&r);
  }
  std::vector<Record> out;
  for (const std::string &prompt : order) {
    const std::vector<const Record *> &group = byPrompt[prompt];
    const Record *best = group.front(), *worst = group.front();
    for (const Record *r : group) {
      double s = r->get(scoreField)->getNumber();
      if (s > best->get(scoreField)->getNumber())
        best = r;
      if (s < worst->get(scoreField)->getNumber())
        worst = r;
    }
    double hi = best->get(scoreField)->getNumber();
    double lo = worst->get(scoreField)->getNumber();
    if (!(hi > lo))
      continue;
    out.emplace_back(std::vector<Member>{
        {"prompt", Field(prompt)},
        {"chosen", Field(sampleOf(*best))},
        {"rejected", Field(sampleOf(*worst))},
        {"chosen_score", Field(hi)},
        {"rejected_score", Field(lo)}});
  }
  return out;
}

llvm::Expected<std::vector<Record>>
(::ftl::rt::goldPairs)(const std::vector<Record> &gold,
                       const std::vector<Record> &samples) {
  llvm::StringMap<std::string> answer;
  for (const Record &g : gold) {
    if (!g.get("prompt") || !g.get("response"))
      return llvm::createStringError(
          "gold_pairs: the gold records need prompt and response fields; "
          "one has " + g.describeFields());
    answer.try_emplace(text(g, "prompt"), text(g, "response"));
  }
  std::vector<Record> out;
  for (const Record &s : samples) {
    std::string prompt = text(s, "prompt");
    auto it = answer.find(prompt);
    if (it == answer.end())
      return llvm::createStringError("gold_pairs: no gold answer for the "
                                     "sample's prompt '" + prompt + "'");
    std::string sample = sampleOf(s);
    if (sample == it->second)
      continue;
    out.emplace_back(std::vector<Member>{{"prompt", Field(prompt)},
                                         {"chosen", Field(it->second)},
                                         {"rejected", Field(sample)}});
  }
  return out;
}

llvm::Expected<std::vector<Record>>
(::ftl::rt::withFeedback)(const std::vector<Record> &judged,
                          const std::string &format) {
  std::vector<Record> out;
  for (const Record &r : judged) {
    std::string result;
    for (size_t i = 0; i < format.size(); ++i) {
      char c = format[i];
      if ((c == '{' || c == '}') && i + 1 < format.size() &&
          format[i + 1] == c) {
        result += c;
        ++i;
        continue;
      }
      if (c != '{') {
        result += c;
        continue;
      }
      size_t end = format.find('}', i);
      if (end == std::string::npos)
        return llvm::createStringError("with_feedback: '{' at offset " +
                                       std::to_string(i) +
                                       " is not closed (write {{ for a brace)");
      std::string name = format.substr(i + 1, end - i - 1);
      if (name == "prompt" || name == "reference" || name == "feedback")
        result += text(r, name);
      else if (name == "sample" || name == "response")
        result += sampleOf(r);
      else if (name == "score")
        result += r.get("score") && r.get("score")->isNumber()
                      ? shortNumber(r.get("score")->getNumber())
                      : "";
      else if (name == "pass")
        result += r.get("pass") && r.get("pass")->isBool() &&
                          r.get("pass")->getBool()
                      ? "pass"
                      : "fail";
      else
        return llvm::createStringError(
            "with_feedback: unknown placeholder {" + name +
            "} (expected prompt, sample or response, reference, feedback, score or pass)");
      i = end;
    }
    out.emplace_back(std::vector<Member>{{"text", Field(result)}});
  }
  return out;
}
