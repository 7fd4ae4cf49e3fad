//===- Commands.h - The ftl driver's commands -------------------*- C++ -*-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#ifndef FTL_TOOLS_FTL_COMMANDS_H
#define FTL_TOOLS_FTL_COMMANDS_H

#include "ftl/Lang/Frontend.h"

#include <string>
#include <vector>

namespace ftl::driver {

struct Options {
  std::string input;
  std::vector<std::string> positional;
  lang::FrontendOptions frontend;
  std::string emit;
  bool inPlace = false;
  bool checkOnly = false;
  int threads = 0;
  std::string runDir = "runs";
  std::string device = "cpu";
  std::string output;
  /// Extra flags a command understands (e.g. --max-steps=N).
  std::vector<std::string> extra;
};

bool parseOptions(int argc, char **argv, Options &options, std::string &error);

/// The whole command line, for run manifests.
extern std::string commandLine;

int runCheck(const Options &options);
int runFmt(const Options &options);
int runCompile(const Options &options);
int runRun(const Options &options);
int runExplain(const Options &options);
int runDoc(const Options &options);
int runFrontendEmit(const Options &options);

} // namespace ftl::driver

#endif // FTL_TOOLS_FTL_COMMANDS_H
