//===- embed.cpp - A host program that embeds ftl through libftl ----------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
//
// Shows the embedding API (ftl/ftl.h) from start to end:
//   1. a deliberately broken script: its diagnostics come back as values;
//   2. the real script (a file from the command line, or a built-in tiny
//      Llama trained on examples/data/corpus.txt): load and check it;
//   3. compile it to the step level and count the operations;
//   4. run it, printing each training step's loss as it is logged;
//   5. print the run folder.
//
// usage: ftl-embed-example [script.ftl] [--runs DIR] [--max-steps N]
//                          [--threads N] [--save-ir FILE]
//
// Only ftl/ftl.h and the standard library are included: a host needs no
// LLVM or MLIR headers.
//
//===----------------------------------------------------------------------===//

#include "ftl/ftl.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>

#ifndef FTL_EMBED_EXAMPLE_DIR
#define FTL_EMBED_EXAMPLE_DIR "."
#endif

namespace {

/// A tiny Llama that learns the shipped corpus byte by byte.
const char *builtinScript = R"(seed 7
model m = llama(vocab: 260, dim: 32, layers: 1, heads: 2, kv_heads: 1, ffn: 64, ctx: 32)
tokenizer tok = bytes()
data corpus = text("../data/corpus.txt") |> shuffle()
train m with lm(corpus) using adamw(lr: 3e-3) steps 8 batch 2 seq 32
)";

/// The same script with a missing argument and a misspelled data source.
const char *brokenScript = R"(seed 7
model m = llama(vocab: 260, dim: 32, layers: 1)
data corpus = txt("../data/corpus.txt")
train m with lm(corpus) steps 8 batch 2
)";

void printDiagnostics(const ftl::Status &status) {
  for (const ftl::Diagnostic &d : status.diagnostics())
    std::printf("  %s %s:%d:%d [%s] %s\n", d.severity.c_str(), d.file.c_str(),
                d.line, d.column, d.kind.c_str(), d.message.c_str());
}

/// The operations in printed IR: every line that starts (after its
/// results, `%x = `) with an operation name such as `ftlt.matmul` or
/// `return`.
int countOps(const std::string &ir) {
  std::istringstream lines(ir);
  std::string line;
  int ops = 0;
  while (std::getline(lines, line)) {
    size_t at = line.find_first_not_of(' ');
    if (at == std::string::npos)
      continue;
    if (line[at] == '%') {
      size_t eq = line.find(" = ", at);
      if (eq == std::string::npos)
        continue;
      at = eq + 3;
    }
    char c = line[at];
    if (c == '"' || (c >= 'a' && c <= 'z'))
      ++ops;
  }
  return ops;
}

struct Options {
  std::string script;
  std::string runs = "runs";
  /// Where to write the step-level IR ("" = nowhere).
  std::string saveIR;
  long long maxSteps = -1;
  int threads = 0;
};

bool parseArgs(int argc, char **argv, Options &options) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto next = [&](const char *what) -> const char * {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "ftl-embed-example: %s expects %s\n", arg.c_str(),
                     what);
        return nullptr;
      }
      return argv[++i];
    };
    if (arg == "--runs") {
      const char *v = next("a folder");
      if (!v)
        return false;
      options.runs = v;
    } else if (arg == "--save-ir") {
      const char *v = next("a file");
      if (!v)
        return false;
      options.saveIR = v;
    } else if (arg == "--max-steps" || arg == "--threads") {
      const char *v = next("a positive integer");
      if (!v)
        return false;
      char *end = nullptr;
      long long n = std::strtoll(v, &end, 10);
      if (*v == '\0' || *end != '\0' || n < 1) {
        std::fprintf(stderr,
                     "ftl-embed-example: %s expects a positive integer, "
                     "found '%s'\n",
                     arg.c_str(), v);
        return false;
      }
      if (arg == "--max-steps")
        options.maxSteps = n;
      else
        options.threads = int(n);
    } else if (!arg.empty() && arg[0] == '-') {
      std::fprintf(stderr,
                   "ftl-embed-example: unknown option '%s'\n"
                   "usage: ftl-embed-example [script.ftl] [--runs DIR] "
                   "[--max-steps N] [--threads N] [--save-ir FILE]\n",
                   arg.c_str());
      return false;
    } else {
      options.script = arg;
    }
  }
  return true;
}

} // namespace

int main(int argc, char **argv) {
  Options options;
  if (!parseArgs(argc, argv, options))
    return 2;

  // 1. Errors are values: nothing is printed or thrown by the library.
  auto broken = ftl::Pipeline::fromString(brokenScript, "broken.ftl",
                                          FTL_EMBED_EXAMPLE_DIR);
  if (!broken.ok()) {
    std::printf("cannot load the broken script: %s\n",
                broken.status().message().c_str());
    return 1;
  }
  ftl::Status brokenStatus = broken->check();
  std::printf("check broken.ftl: %s, %zu diagnostics\n",
              brokenStatus.ok() ? "ok" : "failed",
              brokenStatus.diagnostics().size());
  printDiagnostics(brokenStatus);

  // 2. The real script.
  ftl::Result<ftl::Pipeline> pipeline =
      options.script.empty()
          ? ftl::Pipeline::fromString(builtinScript, "tiny-llama.ftl",
                                      FTL_EMBED_EXAMPLE_DIR)
          : ftl::Pipeline::fromFile(options.script);
  if (!pipeline.ok()) {
    std::printf("load: %s\n", pipeline.status().message().c_str());
    printDiagnostics(pipeline.status());
    return 1;
  }
  ftl::Status status = pipeline->check();
  if (!status.ok()) {
    std::printf("check %s: failed: %s\n", pipeline->name().c_str(),
                status.message().c_str());
    printDiagnostics(status);
    return 1;
  }
  std::printf("check %s: ok, %zu diagnostics\n", pipeline->name().c_str(),
              status.diagnostics().size());
  printDiagnostics(status);

  // 3. The loss function of every train, as `ftl compile --emit=step`.
  ftl::Result<std::string> step = pipeline->compile(ftl::EmitLevel::Step);
  if (!step.ok()) {
    std::printf("compile: %s\n", step.status().message().c_str());
    printDiagnostics(step.status());
    return 1;
  }
  std::printf("compile --emit=step: %d operations\n", countOps(*step));
  if (!options.saveIR.empty()) {
    std::FILE *out = std::fopen(options.saveIR.c_str(), "w");
    if (!out ||
        std::fwrite(step->data(), 1, step->size(), out) != step->size()) {
      std::printf("cannot write '%s'\n", options.saveIR.c_str());
      if (out)
        std::fclose(out);
      return 1;
    }
    std::fclose(out);
  }

  // 4. Run, with metrics streamed as they are logged.
  ftl::RunOptions run;
  run.runsRoot = options.runs;
  run.maxSteps = options.maxSteps;
  run.threads = options.threads;
  ftl::Result<std::string> folder =
      pipeline->run(run, [](const ftl::Metric &metric) {
        if (metric.step >= 0)
          std::printf("step %lld loss %.4f\n", metric.step, metric.loss);
        else
          std::printf("metric %s\n", metric.json.c_str());
        std::fflush(stdout);
      });
  if (!folder.ok()) {
    std::printf("run: %s\n", folder.status().message().c_str());
    printDiagnostics(folder.status());
    return 1;
  }

  // 5. Everything the run wrote is in its folder.
  std::printf("run folder: %s\n", folder->c_str());
  return 0;
}
