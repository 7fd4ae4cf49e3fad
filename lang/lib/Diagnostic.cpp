//===- Diagnostic.cpp - Front-end diagnostics -----------------------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "ftl/Lang/Diagnostic.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>

using namespace ftl::lang;
using llvm::SMLoc;
using llvm::SMRange;
using llvm::StringRef;

static const DiagnosticInfo diagnosticInfos[] = {
#define DIAG(ID, SEVERITY, NAME, FORMAT) {Severity::SEVERITY, NAME, FORMAT},
#include "ftl/Lang/DiagnosticKinds.def"
};

const DiagnosticInfo &ftl::lang::getDiagnosticInfo(diag::Kind kind) {
  return diagnosticInfos[kind];
}

llvm::ArrayRef<DiagnosticInfo> ftl::lang::getAllDiagnosticInfos() {
  return diagnosticInfos;
}

std::string ftl::lang::formatDiagnostic(StringRef format,
                                        llvm::ArrayRef<std::string> args) {
  std::string out;
  out.reserve(format.size() + 32);
  for (size_t i = 0; i < format.size(); ++i) {
    char c = format[i];
    if (c == '{' && i + 2 < format.size() && llvm::isDigit(format[i + 1]) &&
        format[i + 2] == '}') {
      unsigned index = format[i + 1] - '0';
      if (index < args.size())
        out += args[index];
      i += 2;
      continue;
    }
    out += c;
  }
  return out;
}

//===----------------------------------------------------------------------===//
// InFlightDiagnostic / DiagnosticEngine
//===----------------------------------------------------------------------===//

InFlightDiagnostic &
InFlightDiagnostic::attachNote(SMRange range, diag::Kind kind,
                               std::initializer_list<std::string> args) {
  const DiagnosticInfo &info = getDiagnosticInfo(kind);
  Diagnostic note{kind, Severity::Note, range,
                  formatDiagnostic(info.format, args), {}};
  diagnostic.notes.push_back(std::move(note));
  return *this;
}

void InFlightDiagnostic::report() {
  if (!engine)
    return;
  DiagnosticEngine *e = engine;
  engine = nullptr;
  e->emit(std::move(diagnostic));
}

DiagnosticEngine::DiagnosticEngine(llvm::SourceMgr &sourceMgr)
    : sourceMgr(sourceMgr) {
  handler = [this](const Diagnostic &diag) {
    printDiagnostic(this->sourceMgr, diag, llvm::errs(),
                    llvm::errs().has_colors());
  };
}

InFlightDiagnostic
DiagnosticEngine::report(SMRange range, diag::Kind kind,
                         std::initializer_list<std::string> args) {
  const DiagnosticInfo &info = getDiagnosticInfo(kind);
  Diagnostic diag{kind, info.severity, range,
                  formatDiagnostic(info.format, args), {}};
  return InFlightDiagnostic(this, std::move(diag));
}

void DiagnosticEngine::emit(Diagnostic diag) {
  // The same problem found twice (e.g. in a function body checked for two
  // calls) is reported once.
  std::string key = std::to_string(diag.kind) + ":" +
                    std::to_string(uintptr_t(diag.range.Start.getPointer())) +
                    ":" + diag.message;
  if (!reported.insert(key).second)
    return;
  if (diag.severity == Severity::Warning) {
    if (ignoreWarnings)
      return;
    if (warningsAsErrors)
      diag.severity = Severity::Error;
  }
  if (diag.severity == Severity::Error)
    ++numErrors;
  else if (diag.severity == Severity::Warning)
    ++numWarnings;
  if (handler)
    handler(diag);
}

//===----------------------------------------------------------------------===//
// Printing
//===----------------------------------------------------------------------===//

static llvm::SourceMgr::DiagKind toSourceMgrKind(Severity severity) {
  switch (severity) {
  case Severity::Error:
    return llvm::SourceMgr::DK_Error;
  case Severity::Warning:
    return llvm::SourceMgr::DK_Warning;
  case Severity::Note:
    return llvm::SourceMgr::DK_Note;
  }
  llvm_unreachable("unknown severity");
}

/// Source lines longer than this are shown as a window around the location.
static constexpr size_t maxShownLine = 160;

/// Prints a diagnostic whose source line is very long (generated or minified
/// input): the header as usual, then only a window of the line around the
/// location, with "..." where it was cut. Returns false for ordinary lines.
static bool printLongLine(llvm::SourceMgr &sourceMgr, const Diagnostic &diag,
                          const std::string &message, llvm::raw_ostream &os) {
  SMLoc loc = diag.range.Start;
  unsigned id = sourceMgr.FindBufferContainingLoc(loc);
  if (!id)
    return false;
  StringRef buffer = sourceMgr.getMemoryBuffer(id)->getBuffer();
  size_t at = loc.getPointer() - buffer.data();
  size_t lineStart = at;
  while (lineStart > 0 && buffer[lineStart - 1] != '\n')
    --lineStart;
  size_t lineEnd = buffer.find_first_of("\r\n", at);
  if (lineEnd == StringRef::npos)
    lineEnd = buffer.size();
  if (lineEnd - lineStart <= maxShownLine)
    return false;

  size_t from =
      at > lineStart + maxShownLine / 2 ? at - maxShownLine / 2 : lineStart;
  size_t to = std::min(lineEnd, from + maxShownLine);
  std::string shown = from > lineStart ? "..." : "";
  size_t caret = shown.size() + (at - from);
  shown += buffer.slice(from, to).str();
  if (to < lineEnd)
    shown += "...";
  std::replace(shown.begin(), shown.end(), '\t', ' ');
  std::string marks(caret, ' ');
  marks += '^';
  if (diag.range.End.isValid() &&
      diag.range.End.getPointer() > loc.getPointer()) {
    size_t end =
        std::min<size_t>(diag.range.End.getPointer() - buffer.data(), to);
    if (end > at + 1)
      marks.append(end - at - 1, '~');
  }

  auto [line, column] = sourceMgr.getLineAndColumn(loc, id);
  const char *kind = diag.severity == Severity::Error     ? "error"
                     : diag.severity == Severity::Warning ? "warning"
                                                          : "note";
  os << sourceMgr.getMemoryBuffer(id)->getBufferIdentifier() << ":" << line
     << ":" << column << ": " << kind << ": " << message << "\n"
     << shown << "\n"
     << marks << "\n";
  return true;
}

static void printOne(llvm::SourceMgr &sourceMgr, const Diagnostic &diag,
                     llvm::raw_ostream &os, bool showColors) {
  std::string message = diag.message;
  if (diag.severity != Severity::Note)
    message += " [" + diag.getName().str() + "]";
  llvm::SmallVector<SMRange, 1> ranges;
  if (diag.range.isValid() && diag.range.Start != diag.range.End)
    ranges.push_back(diag.range);
  if (!diag.range.Start.isValid()) {
    // No location (e.g. a command-line problem): plain message.
    os << (diag.severity == Severity::Error     ? "error: "
           : diag.severity == Severity::Warning ? "warning: "
                                                : "note: ")
       << message << "\n";
    return;
  }
  if (printLongLine(sourceMgr, diag, message, os))
    return;
  sourceMgr.PrintMessage(os, diag.range.Start, toSourceMgrKind(diag.severity),
                         message, ranges, {}, showColors);
}

void ftl::lang::printDiagnostic(llvm::SourceMgr &sourceMgr,
                                const Diagnostic &diag, llvm::raw_ostream &os,
                                bool showColors) {
  printOne(sourceMgr, diag, os, showColors);
  for (const Diagnostic &note : diag.notes)
    printOne(sourceMgr, note, os, showColors);
}

static llvm::json::Object toJSON(llvm::SourceMgr &sourceMgr,
                                 const Diagnostic &diag) {
  llvm::json::Object object;
  object["kind"] = diag.getName();
  object["severity"] = diag.severity == Severity::Error     ? "error"
                       : diag.severity == Severity::Warning ? "warning"
                                                            : "note";
  object["message"] = diag.message;
  if (diag.range.Start.isValid()) {
    unsigned buffer = sourceMgr.FindBufferContainingLoc(diag.range.Start);
    if (buffer) {
      auto [line, column] =
          sourceMgr.getLineAndColumn(diag.range.Start, buffer);
      auto [endLine, endColumn] =
          sourceMgr.getLineAndColumn(diag.range.End, buffer);
      object["file"] =
          sourceMgr.getMemoryBuffer(buffer)->getBufferIdentifier();
      object["line"] = line;
      object["column"] = column;
      object["endLine"] = endLine;
      object["endColumn"] = endColumn;
    }
  }
  if (!diag.notes.empty()) {
    llvm::json::Array notes;
    for (const Diagnostic &note : diag.notes)
      notes.push_back(toJSON(sourceMgr, note));
    object["notes"] = std::move(notes);
  }
  return object;
}

void JSONDiagnosticCollector::print(llvm::raw_ostream &os) const {
  llvm::json::Array array;
  for (const Diagnostic &diag : collected)
    array.push_back(toJSON(sourceMgr, diag));
  os << llvm::formatv("{0:2}", llvm::json::Value(std::move(array))) << "\n";
}

//===----------------------------------------------------------------------===//
// DiagnosticVerifier
//===----------------------------------------------------------------------===//

DiagnosticVerifier::DiagnosticVerifier(llvm::SourceMgr &sourceMgr,
                                       llvm::raw_ostream &os)
    : sourceMgr(sourceMgr), os(os) {
  for (unsigned id = 1; id <= sourceMgr.getNumBuffers(); ++id)
    collectExpectations(id);
}

void DiagnosticVerifier::collectExpectations(unsigned bufferId) {
  if (llvm::is_contained(scannedBuffers, bufferId))
    return;
  scannedBuffers.push_back(bufferId);
  StringRef buffer = sourceMgr.getMemoryBuffer(bufferId)->getBuffer();
  unsigned lineNo = 0;
  for (StringRef rest = buffer; !rest.empty();) {
    auto [line, tail] = rest.split('\n');
    ++lineNo;
    rest = tail;
    size_t pos = line.find("expected-");
    while (pos != StringRef::npos) {
      StringRef text = line.drop_front(pos + strlen("expected-"));
      Severity severity;
      if (text.consume_front("error"))
        severity = Severity::Error;
      else if (text.consume_front("warning"))
        severity = Severity::Warning;
      else if (text.consume_front("note"))
        severity = Severity::Note;
      else {
        pos = line.find("expected-", pos + 1);
        continue;
      }
      // `expected-errors` or `expected-notes` in prose are not expectations.
      if (!text.empty() && !llvm::isSpace(text.front()) &&
          text.front() != '@' && text.front() != '{') {
        pos = line.find("expected-", pos + 1);
        continue;
      }
      text = text.ltrim();
      int64_t offset = 0;
      std::string fileSuffix;
      unsigned absoluteLine = 0;
      if (text.starts_with("@") && text.size() > 1 && text[1] != '+' &&
          text[1] != '-' && !llvm::isDigit(text[1])) {
        // @path/to/file.ftl:LINE
        size_t colon = text.find(':');
        size_t space = text.find_first_of(" {");
        if (colon == StringRef::npos || colon > space) {
          failed = true;
          os << sourceMgr.getMemoryBuffer(bufferId)->getBufferIdentifier()
             << ":" << lineNo << ": error: expected '@file:line'\n";
          break;
        }
        fileSuffix = text.slice(1, colon).str();
        text = text.drop_front(colon + 1);
        if (text.consumeInteger(10, absoluteLine)) {
          failed = true;
          os << sourceMgr.getMemoryBuffer(bufferId)->getBufferIdentifier()
             << ":" << lineNo << ": error: expected a line number\n";
          break;
        }
      } else if (text.consume_front("@")) {
        bool negative = text.consume_front("-");
        if (!negative)
          text.consume_front("+");
        unsigned magnitude = 0;
        if (text.consumeInteger(10, magnitude)) {
          failed = true;
          os << sourceMgr.getMemoryBuffer(bufferId)->getBufferIdentifier()
             << ":" << lineNo << ": error: malformed expected-* line offset\n";
          break;
        }
        offset = negative ? -int64_t(magnitude) : int64_t(magnitude);
        if (int64_t(lineNo) + offset < 1) {
          failed = true;
          os << sourceMgr.getMemoryBuffer(bufferId)->getBufferIdentifier()
             << ":" << lineNo << ": error: expected-* line offset @-"
             << magnitude << " points before the first line\n";
          break;
        }
      }
      text = text.ltrim();
      size_t open = text.find("{{");
      size_t close = text.find("}}");
      if (!text.starts_with("{{") || close == StringRef::npos) {
        failed = true;
        os << sourceMgr.getMemoryBuffer(bufferId)->getBufferIdentifier() << ":"
           << lineNo << ": error: expected-* needs a {{message}}\n";
        break;
      }
      Expected expected;
      expected.severity = severity;
      expected.buffer = bufferId;
      expected.line =
          fileSuffix.empty() ? unsigned(lineNo + offset) : absoluteLine;
      expected.fileSuffix = fileSuffix;
      expected.text = text.slice(open + 2, close).str();
      expected.loc = SMLoc::getFromPointer(line.data() + pos);
      expectations.push_back(std::move(expected));
      pos = line.find("expected-", pos + 1);
    }
  }
}

bool DiagnosticVerifier::match(Severity severity, SMLoc loc,
                               StringRef message) {
  unsigned buffer = loc.isValid() ? sourceMgr.FindBufferContainingLoc(loc) : 0;
  if (buffer)
    collectExpectations(buffer);
  unsigned line = buffer ? sourceMgr.FindLineNumber(loc, buffer) : 0;
  StringRef bufferName =
      buffer ? sourceMgr.getMemoryBuffer(buffer)->getBufferIdentifier() : "";
  for (Expected &expected : expectations) {
    if (expected.matched || expected.severity != severity ||
        expected.line != line)
      continue;
    if (expected.fileSuffix.empty() ? expected.buffer != buffer
                                    : !bufferName.ends_with(expected.fileSuffix))
      continue;
    if (!message.contains(expected.text))
      continue;
    expected.matched = true;
    return true;
  }
  return false;
}

void DiagnosticVerifier::handle(const Diagnostic &diag) {
  auto check = [&](const Diagnostic &d) {
    std::string full = d.message;
    if (d.severity != Severity::Note)
      full += " [" + d.getName().str() + "]";
    if (match(d.severity, d.range.Start, full))
      return;
    failed = true;
    Diagnostic copy = d;
    copy.message = "unexpected " +
                   std::string(d.severity == Severity::Error     ? "error"
                               : d.severity == Severity::Warning ? "warning"
                                                                 : "note") +
                   ": " + d.message;
    copy.severity = Severity::Error;
    copy.notes.clear();
    printOne(sourceMgr, copy, os, false);
  };
  check(diag);
  for (const Diagnostic &note : diag.notes)
    check(note);
}

llvm::LogicalResult DiagnosticVerifier::verify() {
  for (const Expected &expected : expectations) {
    if (expected.matched)
      continue;
    failed = true;
    std::string what = expected.severity == Severity::Error     ? "error"
                       : expected.severity == Severity::Warning ? "warning"
                                                                : "note";
    sourceMgr.PrintMessage(os, expected.loc, llvm::SourceMgr::DK_Error,
                           "expected " + what + " \"" + expected.text +
                               "\" was not produced");
  }
  return llvm::failure(failed);
}

//===----------------------------------------------------------------------===//
// Suggestions
//===----------------------------------------------------------------------===//

std::string ftl::lang::suggestName(StringRef name,
                                   llvm::ArrayRef<std::string> candidates) {
  std::string best;
  unsigned bestDistance = ~0u;
  unsigned limit = std::max<unsigned>(1, (name.size() + 2) / 3);
  for (const std::string &candidate : candidates) {
    if (candidate == name)
      continue;
    unsigned distance = name.edit_distance_insensitive(candidate, true, limit);
    if (distance <= limit && distance < bestDistance) {
      bestDistance = distance;
      best = candidate;
    }
  }
  return best;
}
