//===- Status.cpp - libftl: diagnostics, status values and host judges ----===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "ftl/ftl.h"

#include "ftl/Embed/HostJudges.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

using namespace ftl;

std::string Diagnostic::str() const {
  std::string out;
  if (!file.empty()) {
    out += file;
    if (line > 0) {
      out += ":" + std::to_string(line);
      if (column > 0)
        out += ":" + std::to_string(column);
    }
    out += ": ";
  }
  out += (severity.empty() ? std::string("error") : severity) + ": " + message;
  if (!kind.empty() && severity != "note")
    out += " [" + kind + "]";
  return out;
}

Status Status::success(std::vector<Diagnostic> diagnostics) {
  Status status;
  status.diags = std::move(diagnostics);
  return status;
}

Status Status::error(std::string message, std::vector<Diagnostic> diagnostics) {
  Status status;
  status.failed = true;
  status.diags = std::move(diagnostics);
  if (message.empty()) {
    const Diagnostic *first = nullptr;
    size_t errors = 0;
    for (const Diagnostic &d : status.diags)
      if (d.severity == "error" && errors++ == 0)
        first = &d;
    if (first) {
      message = first->str();
      if (errors > 1)
        message += " (and " + std::to_string(errors - 1) + " more error" +
                   (errors > 2 ? "s" : "") + ")";
    } else {
      message = "failed without a diagnostic";
    }
  }
  status.text = std::move(message);
  return status;
}

std::string Status::str() const {
  std::string out;
  for (const Diagnostic &d : diags)
    out += d.str() + "\n";
  if (diags.empty() && failed)
    out = text + "\n";
  return out;
}

void ftl::detail::badResultAccess(const Status &status) {
  std::fprintf(stderr, "ftl::Result::value() called on an error result: %s\n",
               status.message().c_str());
  std::abort();
}

const char *ftl::emitLevelName(EmitLevel level) {
  switch (level) {
  case EmitLevel::Ast:
    return "ast";
  case EmitLevel::Ftl:
    return "ftl";
  case EmitLevel::Step:
    return "step";
  case EmitLevel::Grad:
    return "grad";
  case EmitLevel::Fused:
    return "fused";
  }
  return "unknown";
}

//===----------------------------------------------------------------------===//
// Host judges
//===----------------------------------------------------------------------===//

Status ftl::registerJudge(const std::string &name, JudgeFunction fn) {
  if (!fn) {
    // Checked here too so the message names the public function.
    return Status::error(
        "", {{"", 0, 0, "error", "invalid-argument",
              "ftl::registerJudge('" + name +
                  "') needs a function; expected a callable, found an empty "
                  "function"}});
  }
  rt::JudgeFn wrapped = [name, fn = std::move(fn)](const rt::JudgeItem &item) {
    JudgeOutput out = fn(JudgeInput{item.prompt, item.sample, item.reference});
    rt::Verdict verdict;
    verdict.score = out.score;
    verdict.pass = out.pass;
    verdict.feedback = std::move(out.feedback);
    // A score that is not a number would poison every average downstream:
    // the item counts as a judge failure instead.
    if (!std::isfinite(out.score)) {
      verdict.failure = "garbage";
      verdict.feedback = "host judge '" + name + "' returned the score " +
                         std::to_string(out.score) +
                         "; expected a finite number";
      verdict.score = 0;
      verdict.pass = false;
    }
    return verdict;
  };
  if (llvm::Error e = rt::registerHostJudge(name, std::move(wrapped)))
    return Status::error("", {{"", 0, 0, "error", "invalid-argument",
                               llvm::toString(std::move(e))}});
  return Status();
}

bool ftl::unregisterJudge(const std::string &name) {
  return rt::unregisterHostJudge(name);
}

std::vector<std::string> ftl::registeredJudges() {
  return rt::hostJudgeNames();
}
