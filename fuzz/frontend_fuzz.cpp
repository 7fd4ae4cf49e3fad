//===- frontend_fuzz.cpp - Fuzz the lexer, parser, sema and formatter ------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
//
// Any input must be handled without a crash, hang or sanitizer report. When
// the input parses, the formatter's output must parse too, and formatting
// must be idempotent.
//
//===----------------------------------------------------------------------===//

#include "ftl/Lang/AST.h"
#include "ftl/Lang/Diagnostic.h"
#include "ftl/Lang/Formatter.h"
#include "ftl/Lang/Parser.h"
#include "ftl/Lang/Sema.h"

#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"

#include <cstdio>
#include <cstdlib>

using namespace ftl::lang;

static bool parseAndFormat(llvm::StringRef text, std::string &formatted,
                           bool runSema) {
  llvm::SourceMgr sourceMgr;
  unsigned id = sourceMgr.AddNewSourceBuffer(
      llvm::MemoryBuffer::getMemBufferCopy(text, "fuzz.ftl"), llvm::SMLoc());
  DiagnosticEngine diags(sourceMgr);
  diags.setHandler([](const Diagnostic &) {});
  ASTContext context;
  std::vector<Token> comments;
  Module module = parseModule(id, context, diags, &comments);
  bool ok = !diags.hadErrors();
  if (ok)
    formatted = formatModule(module, text, comments);
  if (runSema) {
    TypeContext types;
    Program program;
    SemaOptions options;
    options.checkFiles = false;
    (void)checkProgram(id, context, types, diags, options, program);
  }
  return ok;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  llvm::StringRef text(reinterpret_cast<const char *>(data), size);
  std::string once;
  if (!parseAndFormat(text, once, /*runSema=*/true))
    return 0;
  std::string twice;
  if (!parseAndFormat(once, twice, /*runSema=*/false)) {
    fprintf(stderr, "formatted output does not parse:\n%s\n", once.c_str());
    abort();
  }
  if (once != twice) {
    fprintf(stderr, "formatting is not idempotent:\n--- once\n%s--- twice\n%s",
            once.c_str(), twice.c_str());
    abort();
  }
  return 0;
}
