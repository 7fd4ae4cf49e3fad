//===- Frontend.cpp - Running the front end on a file ---------------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "ftl/Lang/Frontend.h"
#include "ftl/Lang/Diagnostic.h"

#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

using namespace ftl::lang;
using llvm::StringRef;

static llvm::LogicalResult
runOnBuffer(std::unique_ptr<llvm::MemoryBuffer> buffer,
            const FrontendOptions &options, FrontendAction action,
            llvm::raw_ostream &errs) {
  llvm::SourceMgr sourceMgr;
  unsigned id = sourceMgr.AddNewSourceBuffer(std::move(buffer), llvm::SMLoc());
  DiagnosticEngine diags(sourceMgr);
  diags.setWarningsAsErrors(options.warningsAsErrors);

  if (options.verifyDiagnostics) {
    DiagnosticVerifier verifier(sourceMgr, errs);
    diags.setHandler([&](const Diagnostic &d) { verifier.handle(d); });
    (void)action(sourceMgr, id, diags);
    return verifier.verify();
  }
  if (options.format == DiagnosticsFormat::JSON) {
    JSONDiagnosticCollector collector(sourceMgr);
    diags.setHandler([&](const Diagnostic &d) { collector.handle(d); });
    llvm::LogicalResult result = action(sourceMgr, id, diags);
    collector.print(errs);
    return llvm::failure(llvm::failed(result) || diags.hadErrors());
  }
  diags.setHandler([&](const Diagnostic &d) {
    printDiagnostic(sourceMgr, d, errs, errs.has_colors());
  });
  llvm::LogicalResult result = action(sourceMgr, id, diags);
  return llvm::failure(llvm::failed(result) || diags.hadErrors());
}

llvm::LogicalResult ftl::lang::runFrontend(
    std::unique_ptr<llvm::MemoryBuffer> buffer, const FrontendOptions &options,
    FrontendAction action, llvm::raw_ostream &errs) {
  if (!options.splitInputFile)
    return runOnBuffer(std::move(buffer), options, action, errs);

  // Split at lines that are exactly "// -----". Each piece is padded with the
  // newlines before it so line numbers match the original file.
  StringRef text = buffer->getBuffer();
  std::string name = buffer->getBufferIdentifier().str();
  bool failed = false;
  unsigned linesBefore = 0, lineNo = 0;
  size_t pieceStart = 0;
  auto flush = [&](size_t end) {
    std::string piece(linesBefore, '\n');
    piece += text.slice(pieceStart, end).str();
    auto pieceBuffer = llvm::MemoryBuffer::getMemBufferCopy(piece, name);
    if (llvm::failed(runOnBuffer(std::move(pieceBuffer), options, action, errs)))
      failed = true;
  };
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == StringRef::npos)
      eol = text.size();
    StringRef line = text.slice(pos, eol).rtrim();
    ++lineNo;
    if (line == "// -----") {
      flush(pos);
      pieceStart = eol + 1 > text.size() ? text.size() : eol + 1;
      linesBefore = lineNo;
    }
    pos = eol + 1;
  }
  flush(text.size());
  return llvm::failure(failed);
}
