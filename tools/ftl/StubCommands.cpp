// Temporary: compile/run/explain until the compiler exists.
#include "Commands.h"
#include "llvm/Support/raw_ostream.h"
using namespace ftl::driver;
int ftl::driver::runCompile(const Options &options) {
  if (options.emit == "tokens" || options.emit == "ast")
    return runFrontendEmit(options);
  llvm::errs() << "ftl compile: --emit=" << options.emit << " not available\n";
  return 2;
}
int ftl::driver::runRun(const Options &) { return 2; }
int ftl::driver::runExplain(const Options &) { return 2; }
