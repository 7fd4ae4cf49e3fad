//===- FrontendCommands.cpp - check, fmt, doc and the front-end emits -----===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "Commands.h"

#include "ftl/Lang/AST.h"
#include "ftl/Lang/Builtins.h"
#include "ftl/Lang/Diagnostic.h"
#include "ftl/Lang/Formatter.h"
#include "ftl/Lang/Lexer.h"
#include "ftl/Lang/Parser.h"
#include "ftl/Lang/Sema.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

using namespace ftl;
using namespace ftl::driver;
using llvm::StringRef;

bool ftl::driver::parseOptions(int argc, char **argv, Options &options,
                               std::string &error) {
  for (int i = 0; i < argc; ++i) {
    StringRef arg = argv[i];
    auto value = [&](StringRef name, std::string &out) {
      if (arg.consume_front(name)) {
        if (arg.consume_front("=")) {
          out = arg.str();
          return true;
        }
        if (arg.empty() && i + 1 < argc) {
          out = argv[++i];
          return true;
        }
      }
      return false;
    };
    std::string v;
    if (arg == "--verify-diagnostics")
      options.frontend.verifyDiagnostics = true;
    else if (arg == "--split-input-file")
      options.frontend.splitInputFile = true;
    else if (arg == "--werror")
      options.frontend.warningsAsErrors = true;
    else if (arg == "--no-warn-unused")
      options.frontend.warnUnused = false;
    else if (arg == "-i" || arg == "--in-place")
      options.inPlace = true;
    else if (arg == "--check")
      options.checkOnly = true;
    else if (StringRef(arg).starts_with("--diagnostics")) {
      if (!value("--diagnostics", v) || (v != "text" && v != "json")) {
        error = "--diagnostics expects 'text' or 'json'";
        return false;
      }
      options.frontend.format = v == "json" ? lang::DiagnosticsFormat::JSON
                                            : lang::DiagnosticsFormat::Text;
    } else if (StringRef(arg).starts_with("--emit")) {
      if (!value("--emit", options.emit)) {
        error = "--emit expects a level";
        return false;
      }
    } else if (StringRef(arg).starts_with("--threads")) {
      if (!value("--threads", v) || StringRef(v).getAsInteger(10, options.threads) ||
          options.threads < 1) {
        error = "--threads expects a positive integer";
        return false;
      }
    } else if (StringRef(arg).starts_with("--run-dir")) {
      if (!value("--run-dir", options.runDir)) {
        error = "--run-dir expects a folder";
        return false;
      }
    } else if (StringRef(arg).starts_with("--device")) {
      if (!value("--device", options.device) ||
          (options.device != "cpu" && options.device != "cuda")) {
        error = "--device expects 'cpu' or 'cuda'";
        return false;
      }
    } else if (arg == "-o") {
      if (i + 1 >= argc) {
        error = "-o expects a file";
        return false;
      }
      options.output = argv[++i];
    } else if (arg.starts_with("--")) {
      options.extra.push_back(arg.str());
    } else if (arg.starts_with("-") && arg != "-") {
      error = "unknown option '" + arg.str() + "'";
      return false;
    } else {
      options.positional.push_back(arg.str());
    }
  }
  if (!options.positional.empty())
    options.input = options.positional.front();
  return true;
}

static std::unique_ptr<llvm::MemoryBuffer> readInput(const Options &options,
                                                     StringRef command) {
  if (options.input.empty()) {
    llvm::errs() << "ftl " << command << ": no input file\n";
    return nullptr;
  }
  auto buffer = llvm::MemoryBuffer::getFileOrSTDIN(options.input,
                                                   /*IsText=*/true);
  if (!buffer) {
    llvm::errs() << "ftl " << command << ": cannot read '" << options.input
                 << "': " << buffer.getError().message() << "\n";
    return nullptr;
  }
  return std::move(*buffer);
}

static lang::SemaOptions semaOptions(const Options &options) {
  lang::SemaOptions sema;
  sema.stdlibPaths = lang::defaultStdlibPaths();
  sema.warnUnused = options.frontend.warnUnused;
  return sema;
}

int ftl::driver::runCheck(const Options &options) {
  auto buffer = readInput(options, "check");
  if (!buffer)
    return 2;
  auto result = lang::runFrontend(
      std::move(buffer), options.frontend,
      [&](llvm::SourceMgr &, unsigned id, lang::DiagnosticEngine &diags) {
        lang::ASTContext context;
        lang::TypeContext types;
        lang::Program program;
        return lang::checkProgram(id, context, types, diags,
                                  semaOptions(options), program);
      },
      llvm::errs());
  return llvm::failed(result) ? 1 : 0;
}

int ftl::driver::runFmt(const Options &options) {
  auto buffer = readInput(options, "fmt");
  if (!buffer)
    return 2;
  std::string original = buffer->getBuffer().str();
  std::string formatted;
  lang::FrontendOptions frontend = options.frontend;
  frontend.splitInputFile = false;
  auto result = lang::runFrontend(
      std::move(buffer), frontend,
      [&](llvm::SourceMgr &sourceMgr, unsigned id,
          lang::DiagnosticEngine &diags) {
        lang::ASTContext context;
        std::vector<lang::Token> comments;
        lang::Module module = lang::parseModule(id, context, diags, &comments);
        if (diags.hadErrors())
          return llvm::failure();
        formatted = lang::formatModule(
            module, sourceMgr.getMemoryBuffer(id)->getBuffer(), comments);
        return llvm::success();
      },
      llvm::errs());
  if (llvm::failed(result))
    return 1;
  if (options.checkOnly) {
    if (formatted != original) {
      llvm::errs() << options.input << ": not formatted (run 'ftl fmt -i "
                   << options.input << "')\n";
      return 1;
    }
    return 0;
  }
  if (options.inPlace) {
    if (formatted == original)
      return 0;
    std::error_code ec;
    llvm::raw_fd_ostream os(options.input, ec);
    if (ec) {
      llvm::errs() << "ftl fmt: cannot write '" << options.input
                   << "': " << ec.message() << "\n";
      return 1;
    }
    os << formatted;
    return 0;
  }
  llvm::outs() << formatted;
  return 0;
}

int ftl::driver::runDoc(const Options &options) {
  StringRef what = options.positional.empty() ? "builtins"
                                              : StringRef(options.positional[0]);
  if (what == "builtins") {
    lang::writeBuiltinReference(llvm::outs());
    return 0;
  }
  if (what == "diagnostics") {
    llvm::outs() << "# ftl diagnostics\n\nGenerated by `ftl doc diagnostics` "
                    "from `lang/include/ftl/Lang/DiagnosticKinds.def`.\n\n"
                 << "| name | severity | message |\n|---|---|---|\n";
    for (const lang::DiagnosticInfo &info : lang::getAllDiagnosticInfos()) {
      StringRef severity = info.severity == lang::Severity::Error     ? "error"
                           : info.severity == lang::Severity::Warning ? "warning"
                                                                      : "note";
      std::string format = info.format.str();
      for (size_t i = 0; (i = format.find('|', i)) != std::string::npos; i += 2)
        format.replace(i, 1, "\\|");
      llvm::outs() << "| `" << info.name << "` | " << severity << " | "
                   << format << " |\n";
    }
    return 0;
  }
  llvm::errs() << "ftl doc: unknown topic '" << what
               << "'; expected builtins or diagnostics\n";
  return 2;
}

/// --emit=tokens and --emit=ast need only the front end.
int ftl::driver::runFrontendEmit(const Options &options) {
  auto buffer = readInput(options, "compile");
  if (!buffer)
    return 2;
  auto result = lang::runFrontend(
      std::move(buffer), options.frontend,
      [&](llvm::SourceMgr &sourceMgr, unsigned id,
          lang::DiagnosticEngine &diags) {
        StringRef text = sourceMgr.getMemoryBuffer(id)->getBuffer();
        if (options.emit == "tokens") {
          std::vector<lang::Token> comments;
          auto tokens = lang::Lexer::lexAll(text, diags, &comments);
          for (const lang::Token &tok : tokens) {
            auto [line, col] = sourceMgr.getLineAndColumn(tok.getLoc(), id);
            llvm::outs() << line << ":" << col << " "
                         << lang::tokenKindName(tok.getKind());
            if (!tok.is(lang::TokenKind::eof))
              llvm::outs() << " '" << tok.getSpelling() << "'";
            llvm::outs() << "\n";
          }
          return llvm::failure(diags.hadErrors());
        }
        lang::ASTContext context;
        lang::TypeContext types;
        lang::Program program;
        auto checked = lang::checkProgram(id, context, types, diags,
                                          semaOptions(options), program);
        lang::dumpAST(program.main, llvm::outs());
        return checked;
      },
      llvm::errs());
  return llvm::failed(result) ? 1 : 0;
}
