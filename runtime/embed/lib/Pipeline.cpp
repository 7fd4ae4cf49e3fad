//===- Pipeline.cpp - libftl: check, compile and run a script -------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
//
// Each call builds everything it needs afresh: a SourceMgr and diagnostic
// engine, the AST, and (past the front end) its own MLIRContext. Diagnostics
// from the front end, from the compiler and from the runtime all end up as
// ftl::Diagnostic values; nothing is printed.
//
//===----------------------------------------------------------------------===//

#include "ftl/ftl.h"

#include "ftl/Dialect/FTL/IR/FTLOps.h"
#include "ftl/Engine/Run.h"
#include "ftl/Lang/AST.h"
#include "ftl/Lang/Diagnostic.h"
#include "ftl/Lang/Sema.h"
#include "ftl/MLIRGen/MLIRGen.h"
#include "ftl/Pipeline/Pipeline.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OperationSupport.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Support/xxhash.h"

#include <cmath>
#include <fcntl.h>
#include <mutex>
#include <unistd.h>

using namespace ftl;
using llvm::StringRef;

namespace {

Diagnostic makeDiagnostic(std::string kind, std::string message,
                          std::string file = "", int line = 0, int column = 0,
                          std::string severity = "error") {
  Diagnostic d;
  d.file = std::move(file);
  d.line = line;
  d.column = column;
  d.severity = std::move(severity);
  d.kind = std::move(kind);
  d.message = std::move(message);
  return d;
}

Status invalidArgument(std::string message) {
  return Status::error(
      "", {makeDiagnostic("invalid-argument", std::move(message))});
}

const char *severityName(lang::Severity severity) {
  switch (severity) {
  case lang::Severity::Error:
    return "error";
  case lang::Severity::Warning:
    return "warning";
  case lang::Severity::Note:
    return "note";
  }
  return "error";
}

/// The message and kind of a front-end diagnostic kind with `args`.
Diagnostic frontEndKind(lang::diag::Kind kind,
                        std::initializer_list<std::string> args) {
  const lang::DiagnosticInfo &info = lang::getDiagnosticInfo(kind);
  return makeDiagnostic(info.name.str(),
                        lang::formatDiagnostic(info.format, args));
}

/// One check/compile/run call: the source, the front end's state and every
/// diagnostic reported so far.
class Session {
public:
  Session(StringRef text, StringRef bufferName, StringRef displayName,
          StringRef baseDir)
      : diags(sourceMgr), bufferName(bufferName.str()),
        displayName(displayName.str()), baseDir(baseDir.str()) {
    bufferId = sourceMgr.AddNewSourceBuffer(
        llvm::MemoryBuffer::getMemBufferCopy(text, bufferName), llvm::SMLoc());
    diags.setHandler([this](const lang::Diagnostic &d) { addFrontEnd(d); });
  }

  /// Parses and checks the script.
  bool check() {
    lang::SemaOptions sema;
    sema.stdlibPaths = lang::defaultStdlibPaths();
    return llvm::succeeded(lang::checkProgram(bufferId, astContext, types,
                                              diags, sema, program)) &&
           !hadErrors();
  }

  /// Generates the `ftl` module in `context`, with compiler diagnostics
  /// collected here for as long as `handler` lives.
  mlir::OwningOpRef<mlir::ModuleOp> generate(mlir::MLIRContext &context) {
    auto module = mlirGen(context, sourceMgr, program);
    if (!module && !hadErrors())
      add(makeDiagnostic("compiler-error",
                         "the generated IR does not verify (a compiler bug)",
                         displayName));
    return module;
  }

  void addMLIR(mlir::Diagnostic &d, bool isNote = false) {
    Diagnostic out;
    std::string message = d.str();
    StringRef rest(message);
    if (!isNote && rest.consume_front("not implemented yet: "))
      out = frontEndKind(lang::diag::NotImplementedYet, {rest.str()});
    else
      out = makeDiagnostic(isNote ? "" : "compiler-error", message);
    if (isNote)
      out.severity = "note";
    else if (d.getSeverity() == mlir::DiagnosticSeverity::Warning)
      out.severity = "warning";
    else if (d.getSeverity() == mlir::DiagnosticSeverity::Note ||
             d.getSeverity() == mlir::DiagnosticSeverity::Remark)
      out.severity = "note";
    setLocation(out, d.getLocation());
    add(std::move(out));
    for (mlir::Diagnostic &note : d.getNotes())
      addMLIR(note, /*isNote=*/true);
  }

  /// Points `d` at the first file location inside `loc`.
  void setLocation(Diagnostic &d, mlir::Location loc) {
    loc->walk([&](mlir::Location l) {
      if (auto f = llvm::dyn_cast<mlir::FileLineColLoc>(l)) {
        d.file = fileName(f.getFilename().getValue());
        d.line = int(f.getLine());
        d.column = int(f.getColumn());
        return mlir::WalkResult::interrupt();
      }
      return mlir::WalkResult::advance();
    });
  }

  /// A runtime error: "file:line:col: message" when it names a place.
  void addRunError(StringRef message) {
    Diagnostic d = makeDiagnostic(
        message.contains("interrupted") ? "interrupted" : "run-failed", "");
    // Split off a leading "path:line:col: ".
    StringRef rest = message;
    for (size_t colon = rest.find(':'); colon != StringRef::npos;
         colon = rest.find(':', colon + 1)) {
      StringRef file = rest.take_front(colon);
      StringRef tail = rest.drop_front(colon + 1);
      unsigned line = 0, column = 0;
      if (file.empty() || file.contains(' ') || tail.consumeInteger(10, line) ||
          !tail.consume_front(":") || tail.consumeInteger(10, column) ||
          !tail.consume_front(": "))
        continue;
      d.file = fileName(file);
      d.line = int(line);
      d.column = int(column);
      rest = tail;
      break;
    }
    d.message = rest.str();
    add(std::move(d));
  }

  void add(Diagnostic d) {
    if (d.severity == "error")
      ++errors;
    collected.push_back(std::move(d));
  }
  bool hadErrors() const { return errors != 0 || diags.hadErrors(); }

  /// The status of the call so far: an error when any error was reported.
  Status status() {
    if (hadErrors())
      return Status::error("", std::move(collected));
    return Status::success(std::move(collected));
  }
  Status failure(std::string fallback) {
    if (!hadErrors())
      add(makeDiagnostic("compiler-error", std::move(fallback), displayName));
    return status();
  }

  /// The name diagnostics show for a buffer or location file name.
  std::string fileName(StringRef file) const {
    return file == bufferName ? displayName : file.str();
  }

  llvm::SourceMgr sourceMgr;
  lang::DiagnosticEngine diags;
  lang::ASTContext astContext;
  lang::TypeContext types;
  lang::Program program;
  unsigned bufferId = 0;
  std::string bufferName, displayName, baseDir;

private:
  void addFrontEnd(const lang::Diagnostic &d) {
    Diagnostic out = makeDiagnostic(d.getName().str(), d.message, "", 0, 0,
                                    severityName(d.severity));
    if (d.range.Start.isValid())
      if (unsigned id = sourceMgr.FindBufferContainingLoc(d.range.Start)) {
        auto [line, column] = sourceMgr.getLineAndColumn(d.range.Start, id);
        out.file =
            fileName(sourceMgr.getMemoryBuffer(id)->getBufferIdentifier());
        out.line = int(line);
        out.column = int(column);
      }
    // The engine counts front-end errors itself.
    collected.push_back(std::move(out));
    for (const lang::Diagnostic &note : d.notes) {
      lang::Diagnostic n = note;
      n.severity = lang::Severity::Note;
      addFrontEnd(n);
    }
  }

  std::vector<Diagnostic> collected;
  unsigned errors = 0;
};

/// An MLIR context with the compiler's dialects whose diagnostics go to
/// `session`.
struct CompilerContext {
  explicit CompilerContext(Session &session) : context(makeRegistry()) {
    handler.emplace(&context, [&session](mlir::Diagnostic &d) {
      session.addMLIR(d);
      return mlir::success();
    });
  }
  static mlir::DialectRegistry makeRegistry() {
    mlir::DialectRegistry registry;
    registerCompilerDialects(registry);
    return registry;
  }
  mlir::MLIRContext context;
  std::optional<mlir::ScopedDiagnosticHandler> handler;
};

/// Reads the file's text; an "io-error" status when it cannot.
Result<std::string> readFile(const std::string &path, StringRef what) {
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/true);
  if (!buffer)
    return Status::error(
        "", {makeDiagnostic("io-error",
                            "cannot read " + what.str() + " '" + path +
                                "': " + buffer.getError().message(),
                            path)});
  return (*buffer)->getBuffer().str();
}

/// Writes `text` to `path` through a temporary file and a rename.
llvm::Error writeAtomically(const std::string &path, StringRef text) {
  std::string temp = path + ".tmp-" + std::to_string(::getpid());
  {
    std::error_code ec;
    llvm::raw_fd_ostream os(temp, ec);
    if (ec)
      return llvm::createStringError("cannot write '" + temp +
                                     "': " + ec.message());
    os << text;
    os.close();
    if (os.has_error())
      return llvm::createStringError("cannot write '" + temp +
                                     "': " + os.error().message());
  }
  if (std::error_code ec = llvm::sys::fs::rename(temp, path)) {
    llvm::sys::fs::remove(temp);
    return llvm::createStringError("cannot write '" + path +
                                   "': " + ec.message());
  }
  return llvm::Error::success();
}

/// Streams metrics records to the host: each record as it is in the file.
class MetricsForwarder {
public:
  MetricsForwarder(std::function<void(const Metric &)> onMetric,
                   const std::string &folder)
      : onMetric(std::move(onMetric)), folder(folder) {}
  ~MetricsForwarder() {
    if (fd >= 0)
      ::close(fd);
  }

  void operator()(const llvm::json::Object &record) {
    Metric metric;
    metric.json = nextLine();
    if (metric.json.empty())
      metric.json =
          llvm::formatv("{0}", llvm::json::Value(llvm::json::Object(record)))
              .str();
    for (const auto &[key, value] : record) {
      if (std::optional<double> n = value.getAsNumber())
        metric.values[key.str()] = *n;
      else if (std::optional<bool> b = value.getAsBoolean())
        metric.values[key.str()] = *b ? 1 : 0;
      else if (value.kind() == llvm::json::Value::Null)
        metric.values[key.str()] = NAN;
    }
    if (std::optional<int64_t> step = record.getInteger("step"))
      metric.step = *step;
    if (std::optional<double> loss = record.getNumber("loss"))
      metric.loss = *loss;
    onMetric(metric);
  }

private:
  /// The line the log just wrote (the listener runs right after each
  /// write, under the log's lock, so exactly one new line is there).
  std::string nextLine() {
    if (fd < 0) {
      if (folder.empty())
        return "";
      llvm::SmallString<256> path(folder);
      llvm::sys::path::append(path, "metrics.jsonl");
      fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0)
        return "";
    }
    char chunk[4096];
    for (;;) {
      size_t newline = pending.find('\n');
      if (newline != std::string::npos) {
        std::string line = pending.substr(0, newline);
        pending.erase(0, newline + 1);
        return line;
      }
      ssize_t n = ::pread(fd, chunk, sizeof(chunk), off_t(offset));
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return "";
      offset += uint64_t(n);
      pending.append(chunk, size_t(n));
    }
  }

  std::function<void(const Metric &)> onMetric;
  const std::string &folder;
  int fd = -1;
  uint64_t offset = 0;
  std::string pending;
};

} // namespace

//===----------------------------------------------------------------------===//
// Loading
//===----------------------------------------------------------------------===//

Result<Pipeline> Pipeline::fromFile(const std::string &path) {
  if (path.empty())
    return invalidArgument("ftl::Pipeline::fromFile needs a path; expected a "
                           "script file such as \"train.ftl\", found \"\"");
  if (llvm::sys::fs::is_directory(path))
    return Status::error(
        "", {makeDiagnostic("io-error",
                            "cannot read script '" + path +
                                "': it is a folder; expected a .ftl file",
                            path)});
  Result<std::string> text = readFile(path, "script");
  if (!text.ok())
    return text.status();
  Pipeline pipeline;
  pipeline.source = std::move(text.value());
  pipeline.displayName = path;
  pipeline.bufferName = path;
  StringRef dir = llvm::sys::path::parent_path(path);
  pipeline.base = dir.empty() ? "." : dir.str();
  pipeline.fromDisk = true;
  return pipeline;
}

Result<Pipeline> Pipeline::fromString(const std::string &text,
                                      const std::string &name,
                                      const std::string &baseDir) {
  if (name.empty() || name == "." || name == ".." ||
      name.find('/') != std::string::npos ||
      name.find('\0') != std::string::npos)
    return invalidArgument("ftl::Pipeline::fromString needs a plain file "
                           "name for the script; expected a name such as "
                           "\"sft.ftl\" (no '/'), found \"" +
                           name + "\"");
  if (baseDir.empty() || !llvm::sys::fs::is_directory(baseDir))
    return invalidArgument(
        "the base folder '" + baseDir + "' of script '" + name + "' " +
        (llvm::sys::fs::exists(baseDir) ? "is not a folder"
                                        : "does not exist") +
        "; expected the folder its relative paths resolve against");
  Pipeline pipeline;
  pipeline.source = text;
  pipeline.displayName = name;
  pipeline.base = baseDir;
  // The front end resolves relative paths against the folder of the
  // script's buffer name.
  if (baseDir == ".") {
    pipeline.bufferName = name;
  } else {
    llvm::SmallString<256> buffer(baseDir);
    llvm::sys::path::append(buffer, name);
    pipeline.bufferName = buffer.str().str();
  }
  return pipeline;
}

//===----------------------------------------------------------------------===//
// Checking and compiling
//===----------------------------------------------------------------------===//

Status Pipeline::check() const {
  Session session(source, bufferName, displayName, base);
  session.check();
  return session.status();
}

Result<std::string> Pipeline::compile(EmitLevel level) const {
  std::optional<Level> lowering;
  switch (level) {
  case EmitLevel::Ast:
  case EmitLevel::Ftl:
    break;
  case EmitLevel::Step:
    lowering = Level::Step;
    break;
  case EmitLevel::Grad:
    lowering = Level::Grad;
    break;
  case EmitLevel::Fused:
    lowering = Level::Fused;
    break;
  default:
    return invalidArgument("unknown level " + std::to_string(int(level)) +
                           " for ftl::Pipeline::compile; expected "
                           "EmitLevel::Ast, Ftl, Step, Grad or Fused");
  }

  Session session(source, bufferName, displayName, base);
  if (!session.check())
    return session.status();
  std::string text;
  llvm::raw_string_ostream os(text);
  if (level == EmitLevel::Ast) {
    lang::dumpAST(session.program.main, os);
    return Result<std::string>(std::move(text), session.status());
  }

  CompilerContext compiler(session);
  auto module = session.generate(compiler.context);
  if (!module)
    return session.status();
  if (lowering) {
    if (llvm::Error e = rt::resolveModelConfigs(*module, base)) {
      session.add(makeDiagnostic("compiler-error", llvm::toString(std::move(e)),
                                 displayName));
      return session.status();
    }
    if (mlir::failed(lowerTo(*module, *lowering)))
      return session.failure("compiling '" + displayName + "' to level '" +
                             emitLevelName(level) + "' failed");
  }
  if (!lowering) {
    module->print(os);
    os << "\n";
  } else {
    for (auto fn : module->getOps<mlir::func::FuncOp>()) {
      fn->print(os);
      os << "\n";
    }
  }
  if (session.hadErrors())
    return session.status();
  return Result<std::string>(std::move(text), session.status());
}

//===----------------------------------------------------------------------===//
// Running
//===----------------------------------------------------------------------===//

Result<std::string>
Pipeline::run(const RunOptions &options,
              std::function<void(const Metric &)> onMetric) const {
  if (options.threads < 0)
    return invalidArgument("RunOptions::threads must be 0 (all cores) or a "
                           "positive number, found " +
                           std::to_string(options.threads));
  if (options.maxSteps == 0 || options.maxSteps < -1)
    return invalidArgument("RunOptions::maxSteps must be -1 (as the script "
                           "says) or a positive number, found " +
                           std::to_string(options.maxSteps));
  if (options.runsRoot.empty())
    return invalidArgument("RunOptions::runsRoot must name a folder; "
                           "expected a path such as \"runs\", found \"\"");

  static std::once_flag capabilities;
  std::call_once(capabilities, [] { rt::registerRuntimeCapabilities(); });

  Session session(source, bufferName, displayName, base);
  if (!session.check())
    return session.status();
  CompilerContext compiler(session);
  auto module = session.generate(compiler.context);
  if (!module)
    return session.status();

  // Nothing runs until every construct is supported: report each
  // unsupported one at its place first (as `ftl run` does).
  module->walk([&](mlir::Operation *op) {
    if (llvm::isa<mlir::ModuleOp>(op))
      return;
    std::string construct = mlir::ftl::describeConstruct(op);
    if (construct.empty() || mlir::ftl::isConstructImplemented(op))
      return;
    Diagnostic d = frontEndKind(lang::diag::NotImplementedYet, {construct});
    session.setLocation(d, op->getLoc());
    session.add(std::move(d));
  });
  if (session.hadErrors())
    return session.status();

  // The run folder records the script's path and hash: a file must still
  // hold the text that was checked; a string is saved under the runs
  // folder, one copy per distinct text.
  std::string scriptPath = bufferName;
  if (fromDisk) {
    Result<std::string> now = readFile(bufferName, "script");
    if (!now.ok())
      return now.status();
    if (now.value() != source) {
      session.add(makeDiagnostic(
          "io-error",
          "script '" + displayName +
              "' changed on disk since it was loaded; expected the text "
              "that was checked (load it again with "
              "ftl::Pipeline::fromFile)",
          displayName));
      return session.status();
    }
  } else {
    llvm::SmallString<256> dir(options.runsRoot);
    llvm::sys::path::append(
        dir, ".scripts",
        llvm::formatv("{0:x-16}", llvm::xxh3_64bits(source)).str());
    llvm::SmallString<256> path(dir);
    llvm::sys::path::append(path, displayName);
    scriptPath = path.str().str();
    Result<std::string> existing =
        llvm::sys::fs::exists(scriptPath)
            ? readFile(scriptPath, "script")
            : Result<std::string>(Status::error("missing"));
    if (!existing.ok() || existing.value() != source) {
      llvm::Error e = llvm::Error::success();
      if (std::error_code ec = llvm::sys::fs::create_directories(dir))
        e = llvm::createStringError("cannot create '" + dir +
                                    "': " + ec.message());
      else
        e = writeAtomically(scriptPath, source);
      if (e) {
        session.add(makeDiagnostic(
            "io-error",
            "cannot save a copy of script '" + displayName +
                "' for the run folder: " + llvm::toString(std::move(e)),
            displayName));
        return session.status();
      }
    }
  }

  rt::RunOptions run;
  run.threads = options.threads;
  run.runsRoot = options.runsRoot;
  run.scriptPath = scriptPath;
  run.scriptText = source;
  run.sourceDir = base;
  run.quiet = options.quiet;
  run.maxSteps = options.maxSteps;
  run.commandLine = "libftl: ftl::Pipeline::run('" + displayName + "')";
  {
    llvm::raw_string_ostream ir(run.irText);
    module->print(ir);
  }
  std::string folder;
  run.runFolderOut = &folder;
  std::optional<MetricsForwarder> forwarder;
  if (onMetric) {
    forwarder.emplace(std::move(onMetric), folder);
    run.metricsListener = [&](const llvm::json::Object &record) {
      (*forwarder)(record);
    };
  }
  if (llvm::Error e = rt::runModule(*module, run)) {
    session.addRunError(llvm::toString(std::move(e)));
    if (!folder.empty())
      session.add(makeDiagnostic("run-folder",
                                 "the run's folder is '" + folder + "'", folder,
                                 0, 0, "note"));
    return session.status();
  }
  if (session.hadErrors())
    return session.status();
  return Result<std::string>(std::move(folder), session.status());
}
