//===- ftl/Lang/Diagnostic.h - Front-end diagnostics ------------*- C++ -*-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// The diagnostic engine of the front end. Every diagnostic has a kind from
/// DiagnosticKinds.def (stable name, severity and message format), a source
/// range in the llvm::SourceMgr, and optional notes. Handlers print them with
/// caret and underline, emit JSON for editors, or check them against
/// `// expected-error {{...}}` comments in tests.
///
//===----------------------------------------------------------------------===//

#ifndef FTL_LANG_DIAGNOSTIC_H
#define FTL_LANG_DIAGNOSTIC_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/LogicalResult.h"
#include "llvm/Support/SMLoc.h"

#include <functional>
#include <initializer_list>
#include <set>
#include <string>
#include <vector>

namespace llvm {
class SourceMgr;
class raw_ostream;
} // namespace llvm

namespace ftl::lang {

enum class Severity { Error, Warning, Note };

namespace diag {
enum Kind : unsigned {
#define DIAG(ID, SEVERITY, NAME, FORMAT) ID,
#include "ftl/Lang/DiagnosticKinds.def"
  NumKinds
};
} // namespace diag

/// Static information about a diagnostic kind.
struct DiagnosticInfo {
  Severity severity;
  llvm::StringRef name;   ///< stable kebab-case name, e.g. "unknown-name"
  llvm::StringRef format; ///< message with {0}, {1}, ... placeholders
};
const DiagnosticInfo &getDiagnosticInfo(diag::Kind kind);
llvm::ArrayRef<DiagnosticInfo> getAllDiagnosticInfos();

/// Substitutes `{N}` placeholders in `format` with `args[N]`.
std::string formatDiagnostic(llvm::StringRef format,
                             llvm::ArrayRef<std::string> args);

struct Diagnostic {
  diag::Kind kind;
  Severity severity;
  llvm::SMRange range;
  std::string message;
  std::vector<Diagnostic> notes;

  llvm::StringRef getName() const { return getDiagnosticInfo(kind).name; }
};

class DiagnosticEngine;

/// A diagnostic being built; it is reported when it goes out of scope.
/// Converts to failure() so a function can `return emitError(...)`.
class InFlightDiagnostic {
public:
  InFlightDiagnostic(DiagnosticEngine *engine, Diagnostic diag)
      : engine(engine), diagnostic(std::move(diag)) {}
  InFlightDiagnostic(InFlightDiagnostic &&other)
      : engine(other.engine), diagnostic(std::move(other.diagnostic)) {
    other.engine = nullptr;
  }
  InFlightDiagnostic(const InFlightDiagnostic &) = delete;
  ~InFlightDiagnostic() { report(); }

  InFlightDiagnostic &attachNote(llvm::SMRange range, diag::Kind kind,
                                 std::initializer_list<std::string> args = {});
  void report();
  operator llvm::LogicalResult() const { return llvm::failure(); }

private:
  DiagnosticEngine *engine;
  Diagnostic diagnostic;
};

class DiagnosticEngine {
public:
  using Handler = std::function<void(const Diagnostic &)>;

  explicit DiagnosticEngine(llvm::SourceMgr &sourceMgr);

  InFlightDiagnostic report(llvm::SMRange range, diag::Kind kind,
                            std::initializer_list<std::string> args = {});
  InFlightDiagnostic report(llvm::SMLoc loc, diag::Kind kind,
                            std::initializer_list<std::string> args = {}) {
    return report(llvm::SMRange(loc, loc), kind, args);
  }

  /// Replaces the handler (default: print to stderr with caret).
  void setHandler(Handler handler) { this->handler = std::move(handler); }
  void emit(Diagnostic diag);

  unsigned getNumErrors() const { return numErrors; }
  unsigned getNumWarnings() const { return numWarnings; }
  bool hadErrors() const { return numErrors != 0; }
  llvm::SourceMgr &getSourceMgr() { return sourceMgr; }

  /// Warnings are reported as errors (ftl check --werror).
  void setWarningsAsErrors(bool value) { warningsAsErrors = value; }
  /// Drop warnings entirely.
  void setIgnoreWarnings(bool value) { ignoreWarnings = value; }

private:
  llvm::SourceMgr &sourceMgr;
  Handler handler;
  unsigned numErrors = 0;
  unsigned numWarnings = 0;
  bool warningsAsErrors = false;
  bool ignoreWarnings = false;
  std::set<std::string> reported;
};

/// Prints `diag` (and its notes) like a compiler: file:line:col, the source
/// line, a caret and an underline of the range, then "[kind-name]".
void printDiagnostic(llvm::SourceMgr &sourceMgr, const Diagnostic &diag,
                     llvm::raw_ostream &os, bool showColors = false);

/// Collects diagnostics and prints them as one JSON array, for editors:
/// [{"kind","severity","file","line","column","endLine","endColumn",
///   "message","notes":[...]}].
class JSONDiagnosticCollector {
public:
  explicit JSONDiagnosticCollector(llvm::SourceMgr &sourceMgr)
      : sourceMgr(sourceMgr) {}
  void handle(const Diagnostic &diag) { collected.push_back(diag); }
  void print(llvm::raw_ostream &os) const;

private:
  llvm::SourceMgr &sourceMgr;
  std::vector<Diagnostic> collected;
};

/// Checks emitted diagnostics against `// expected-error {{text}}` comments
/// (also expected-warning, expected-note; `@+N`, `@-N` line offsets) in every
/// buffer of the source manager. Unexpected and missing diagnostics are
/// reported to `os`; verify() fails if there were any.
class DiagnosticVerifier {
public:
  DiagnosticVerifier(llvm::SourceMgr &sourceMgr, llvm::raw_ostream &os);
  void handle(const Diagnostic &diag);
  llvm::LogicalResult verify();

private:
  struct Expected {
    Severity severity;
    unsigned buffer;
    unsigned line;
    std::string text;
    /// For `@path:line`: the diagnostic's file must end with this.
    std::string fileSuffix;
    llvm::SMLoc loc;
    bool matched = false;
  };
  void collectExpectations(unsigned bufferId);
  bool match(Severity severity, llvm::SMLoc loc, llvm::StringRef message);

  llvm::SourceMgr &sourceMgr;
  llvm::raw_ostream &os;
  std::vector<Expected> expectations;
  std::vector<unsigned> scannedBuffers;
  bool failed = false;
};

/// Levenshtein-based suggestion among `candidates` for a misspelled `name`;
/// empty if nothing is close enough.
std::string suggestName(llvm::StringRef name,
                        llvm::ArrayRef<std::string> candidates);

} // namespace ftl::lang

#endif // FTL_LANG_DIAGNOSTIC_H
