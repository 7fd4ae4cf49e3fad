//===- frontend_fuzz.cpp - Fuzz the lexer, parser, sema and formatter
//------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
//
// Any input must be handled without a crash, hang or sanitizer report. When
// the input parses, the formatter's output must parse too, mean the same
// program (equal AST dumps), keep every comment (equal multisets of comment
// texts), and formatting must be idempotent.
//
//===----------------------------------------------------------------------===//

#include "ftl/Lang/AST.h"
#include "ftl/Lang/Diagnostic.h"
#include "ftl/Lang/Formatter.h"
#include "ftl/Lang/Parser.h"
#include "ftl/Lang/Sema.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdio>
#include <cstdlib>

using namespace ftl::lang;

namespace {
struct Parsed {
  bool ok = false;
  std::string formatted;
  std::string ast;
  std::vector<std::string> comments; ///< sorted comment texts
};
} // namespace

static Parsed parseAndFormat(llvm::StringRef text, bool runSema) {
  Parsed out;
  llvm::SourceMgr sourceMgr;
  unsigned id = sourceMgr.AddNewSourceBuffer(
      llvm::MemoryBuffer::getMemBufferCopy(text, "fuzz.ftl"), llvm::SMLoc());
  // The AST points into the SourceMgr's copy, so format that copy.
  llvm::StringRef source = sourceMgr.getMemoryBuffer(id)->getBuffer();
  DiagnosticEngine diags(sourceMgr);
  diags.setHandler([](const Diagnostic &) {});
  ASTContext context;
  std::vector<Token> comments;
  Module module = parseModule(id, context, diags, &comments);
  out.ok = !diags.hadErrors();
  if (out.ok) {
    out.formatted = formatModule(module, source, comments);
    llvm::raw_string_ostream os(out.ast);
    dumpAST(module, os);
    for (const Token &comment : comments)
      out.comments.push_back(comment.getSpelling().rtrim().str());
    llvm::sort(out.comments);
  }
  if (runSema) {
    TypeContext types;
    Program program;
    SemaOptions options;
    options.checkFiles = false;
    (void)checkProgram(id, context, types, diags, options, program);
  }
  return out;
}

[[noreturn]] static void fail(const char *what, const std::string &a,
                              const std::string &b) {
  fprintf(stderr, "%s\n--- first\n%s--- second\n%s", what, a.c_str(),
          b.c_str());
  abort();
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  llvm::StringRef text(reinterpret_cast<const char *>(data), size);
  Parsed once = parseAndFormat(text, /*runSema=*/true);
  if (!once.ok)
    return 0;
  Parsed twice = parseAndFormat(once.formatted, /*runSema=*/false);
  if (!twice.ok)
    fail("formatted output does not parse", text.str(), once.formatted);
  if (once.ast != twice.ast)
    fail("formatting changed the program (AST dumps differ)", once.ast,
         twice.ast);
  if (once.comments != twice.comments)
    fail("formatting lost or changed a comment",
         llvm::join(once.comments, "\n") + "\n",
         llvm::join(twice.comments, "\n") + "\n");
  if (once.formatted != twice.formatted)
    fail("formatting is not idempotent", once.formatted, twice.formatted);
  return 0;
}
