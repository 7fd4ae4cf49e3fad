//===- ftl.cpp - The ftl command-line driver ------------------------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
//
// ftl check | fmt | compile | run | explain | doc. Every command that reads a
// script checks it first, so a wrong script never starts any work.
//
//===----------------------------------------------------------------------===//

#include "Commands.h"

#include "ftl/Engine/Run.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/raw_ostream.h"

using namespace ftl::driver;
using llvm::StringRef;

static const char *usage =
    R"(usage: ftl <command> [options] <script.ftl>

commands:
  check <file>              check a script; report every error before any work
  fmt <file>                print the script in canonical form
                              -i            rewrite the file in place
                              --check       exit 1 if the file is not formatted
  compile <file> --emit=L   print one level of the compilation:
                              tokens | ast | ftl | step | grad | fused | llvm | ptx
                              --locations   print source locations in the IR
  run <file>                check, compile and run the pipeline
                              --threads N   worker threads (default: all cores)
                              --run-dir D   where the run folder goes (default: runs/)
                              --resume      go on with this script's interrupted run
                                            from its last finished loop round
                              --quiet       no progress bars (metrics still logged)
                              --max-steps=N stop every train after N steps (testing)
                              --device cpu|cuda
  explain <file>            parameter counts, trainable counts, adapter placement
                            and the estimated peak memory of each train step
  doc [builtins|diagnostics] print the generated reference (Markdown)

options for every command that reads a script:
  --diagnostics=text|json   how diagnostics are printed (json: for editors)
  --werror                  treat warnings as errors
  --no-warn-unused          do not warn about unused definitions
  --verify-diagnostics      check diagnostics against // expected-error {{...}}
  --split-input-file        process each // ----- separated piece on its own
  --version                 print the version
)";

int main(int argc, char **argv) {
  llvm::InitLLVM initLLVM(argc, argv);
  if (argc < 2) {
    llvm::errs() << usage;
    return 2;
  }
  StringRef command = argv[1];
  if (command == "--help" || command == "-h" || command == "help") {
    llvm::outs() << usage;
    return 0;
  }
  if (command == "--version" || command == "version") {
    llvm::outs() << "ftl " << FTL_VERSION << "\n";
    return 0;
  }
  for (int i = 0; i < argc; ++i)
    commandLine += (i ? " " : "") + std::string(argv[i]);
  Options options;
  std::string error;
  if (!parseOptions(argc - 2, argv + 2, options, error)) {
    llvm::errs() << "ftl " << command << ": " << error << "\n";
    return 2;
  }
  if (command == "check")
    return runCheck(options);
  if (command == "fmt")
    return runFmt(options);
  if (command == "compile")
    return runCompile(options);
  if (command == "run") {
    ftl::rt::registerRuntimeCapabilities();
    return runRun(options);
  }
  if (command == "explain")
    return runExplain(options);
  if (command == "doc")
    return runDoc(options);
  llvm::errs() << "ftl: unknown command '" << command << "'\n\n" << usage;
  return 2;
}
