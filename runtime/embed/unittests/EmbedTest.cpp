//===- EmbedTest.cpp - Tests of the embedding API ------------------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "ftl/ftl.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include "gtest/gtest.h"

#include <cmath>
#include <csignal>
#include <thread>

using namespace ftl;
using llvm::StringRef;

namespace {

std::string dataDir() { return std::string(FTL_SOURCE_DIR) + "/examples/data"; }

/// A tiny Llama on the shipped corpus; relative to examples/data.
const char *tinyScript =
    "seed 7\n"
    "model m = llama(vocab: 260, dim: 32, layers: 1, heads: 2, kv_heads: 1, "
    "ffn: 64, ctx: 32)\n"
    "tokenizer tok = bytes()\n"
    "data corpus = text(\"corpus.txt\") |> shuffle()\n"
    "train m with lm(corpus) using adamw(lr: 3e-3) steps 50 batch 2 seq 32\n";

/// A fresh temporary folder, removed at the end of the test.
class TempDir {
public:
  TempDir() {
    llvm::SmallString<128> dir;
    EXPECT_FALSE(llvm::sys::fs::createUniqueDirectory("ftl-embed", dir));
    path = dir.str().str();
  }
  ~TempDir() { llvm::sys::fs::remove_directories(path); }
  std::string operator/(StringRef name) const {
    llvm::SmallString<128> out(path);
    llvm::sys::path::append(out, name);
    return out.str().str();
  }
  std::string path;
};

void writeFile(const std::string &path, StringRef text) {
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec);
  ASSERT_FALSE(ec) << ec.message();
  os << text;
}

std::string readFile(const std::string &path) {
  auto buffer = llvm::MemoryBuffer::getFile(path);
  return buffer ? (*buffer)->getBuffer().str() : "<unreadable>";
}

std::vector<std::string> lines(StringRef text) {
  llvm::SmallVector<StringRef> parts;
  text.split(parts, '\n', -1, /*KeepEmpty=*/false);
  return {parts.begin(), parts.end()};
}

std::string manifestStatus(const std::string &folder) {
  auto value = llvm::json::parse(readFile(folder + "/manifest.json"));
  if (!value) {
    llvm::consumeError(value.takeError());
    return "<no manifest>";
  }
  const llvm::json::Object *object = value->getAsObject();
  return object ? object->getString("status").value_or("").str() : "";
}

Pipeline tiny(const std::string &text = tinyScript) {
  Result<Pipeline> p = Pipeline::fromString(text, "tiny.ftl", dataDir());
  EXPECT_TRUE(p.ok()) << p.status().message();
  return std::move(p).value();
}

const Diagnostic *firstOfKind(const Status &status, StringRef kind) {
  for (const Diagnostic &d : status.diagnostics())
    if (d.kind == kind)
      return &d;
  return nullptr;
}

//===----------------------------------------------------------------------===//
// Status and Result
//===----------------------------------------------------------------------===//

TEST(StatusTest, DefaultIsSuccessWithoutDiagnostics) {
  Status status;
  EXPECT_TRUE(status.ok());
  EXPECT_TRUE(bool(status));
  EXPECT_EQ(status.message(), "");
  EXPECT_TRUE(status.diagnostics().empty());
}

TEST(StatusTest, ErrorMessageSummarizesTheFirstError) {
  Diagnostic warning{"a.ftl", 1, 2, "warning", "unused-definition", "w"};
  Diagnostic first{"a.ftl", 3, 4, "error", "unknown-name", "first"};
  Diagnostic note{"a.ftl", 3, 4, "note", "did-you-mean", "did you mean 'x'?"};
  Diagnostic second{"a.ftl", 5, 6, "error", "type-mismatch", "second"};
  Diagnostic third{"", 0, 0, "error", "io-error", "third"};
  Status status = Status::error("", {warning, first, note, second, third});
  EXPECT_FALSE(status.ok());
  EXPECT_EQ(status.message(),
            "a.ftl:3:4: error: first [unknown-name] (and 2 more errors)");
  EXPECT_EQ(Status::error("", {warning, first, note, second}).message(),
            "a.ftl:3:4: error: first [unknown-name] (and 1 more error)");
  EXPECT_EQ(Status::error("", {}).message(), "failed without a diagnostic");
  EXPECT_EQ(Status::error("custom", {first}).message(), "custom");
  EXPECT_EQ(status.str(), "a.ftl:1:2: warning: w [unused-definition]\n"
                          "a.ftl:3:4: error: first [unknown-name]\n"
                          "a.ftl:3:4: note: did you mean 'x'?\n"
                          "a.ftl:5:6: error: second [type-mismatch]\n"
                          "error: third [io-error]\n");
}

TEST(StatusTest, ResultCarriesValueOrStatus) {
  Result<int> good(42);
  EXPECT_TRUE(good.ok());
  EXPECT_EQ(*good, 42);
  Result<int> bad(Status::error("nope"));
  EXPECT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "nope");
  // An ok status cannot make a result without a value.
  Result<int> odd{Status()};
  EXPECT_FALSE(odd.ok());
  EXPECT_FALSE(odd.status().ok());
}

TEST(StatusDeathTest, ValueOfAnErrorAbortsWithItsMessage) {
  Result<int> bad(Status::error("the reason"));
  EXPECT_DEATH((void)bad.value(), "called on an error result: the reason");
}

TEST(StatusTest, EmitLevelNamesMatchTheDriver) {
  EXPECT_STREQ(emitLevelName(EmitLevel::Ast), "ast");
  EXPECT_STREQ(emitLevelName(EmitLevel::Ftl), "ftl");
  EXPECT_STREQ(emitLevelName(EmitLevel::Step), "step");
  EXPECT_STREQ(emitLevelName(EmitLevel::Grad), "grad");
  EXPECT_STREQ(emitLevelName(EmitLevel::Fused), "fused");
}

//===----------------------------------------------------------------------===//
// Loading
//===----------------------------------------------------------------------===//

TEST(LoadTest, MissingFileIsAnErrorValue) {
  TempDir dir;
  std::string path = dir / "missing.ftl";
  Result<Pipeline> p = Pipeline::fromFile(path);
  ASSERT_FALSE(p.ok());
  ASSERT_EQ(p.status().diagnostics().size(), 1u);
  const Diagnostic &d = p.status().diagnostics()[0];
  EXPECT_EQ(d.kind, "io-error");
  EXPECT_EQ(d.severity, "error");
  EXPECT_EQ(d.file, path);
  EXPECT_EQ(d.message,
            "cannot read script '" + path + "': No such file or directory");
  EXPECT_NE(p.status().message().find("cannot read script '" + path + "'"),
            std::string::npos);
}

TEST(LoadTest, FolderAndEmptyPathAreErrors) {
  TempDir dir;
  Result<Pipeline> folder = Pipeline::fromFile(dir.path);
  ASSERT_FALSE(folder.ok());
  EXPECT_EQ(folder.status().diagnostics()[0].kind, "io-error");
  EXPECT_NE(folder.status().message().find("it is a folder; expected a .ftl"),
            std::string::npos);

  Result<Pipeline> empty = Pipeline::fromFile("");
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.status().diagnostics()[0].kind, "invalid-argument");
  EXPECT_NE(empty.status().message().find("needs a path"), std::string::npos);
}

TEST(LoadTest, FromFileResolvesAgainstTheFilesFolder) {
  TempDir dir;
  std::string path = dir / "train.ftl";
  writeFile(path, "seed 1\n");
  Result<Pipeline> p = Pipeline::fromFile(path);
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(p->name(), path);
  EXPECT_EQ(p->baseDir(), dir.path);
  EXPECT_EQ(p->text(), "seed 1\n");
  EXPECT_TRUE(p->check().ok());
}

TEST(LoadTest, FromStringNeedsAPlainNameAndAnExistingBaseFolder) {
  for (const char *name : {"", "a/b.ftl", ".", ".."}) {
    Result<Pipeline> p = Pipeline::fromString("seed 1\n", name);
    ASSERT_FALSE(p.ok()) << name;
    const Diagnostic &d = p.status().diagnostics()[0];
    EXPECT_EQ(d.kind, "invalid-argument");
    EXPECT_EQ(d.message, std::string("ftl::Pipeline::fromString needs a plain "
                                     "file name for the script; expected a "
                                     "name such as \"sft.ftl\" (no '/'), "
                                     "found \"") +
                             name + "\"");
  }
  TempDir dir;
  Result<Pipeline> missing =
      Pipeline::fromString("seed 1\n", "x.ftl", dir / "nope");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().diagnostics()[0].message,
            "the base folder '" + (dir / "nope") +
                "' of script 'x.ftl' does not exist; expected the folder its "
                "relative paths resolve against");
  writeFile(dir / "file", "");
  Result<Pipeline> file =
      Pipeline::fromString("seed 1\n", "x.ftl", dir / "file");
  ASSERT_FALSE(file.ok());
  EXPECT_NE(file.status().message().find("is not a folder"), std::string::npos);
}

//===----------------------------------------------------------------------===//
// Checking
//===----------------------------------------------------------------------===//

TEST(CheckTest, SyntaxErrorHasLineColumnAndKind) {
  // `model` must be followed by a name: the '=' at line 2, column 7 is the
  // error.
  Result<Pipeline> p =
      Pipeline::fromString("seed 1\nmodel = llama(vocab: 4)\n", "syntax.ftl");
  ASSERT_TRUE(p.ok());
  Status status = p->check();
  ASSERT_FALSE(status.ok());
  ASSERT_FALSE(status.diagnostics().empty());
  const Diagnostic &d = status.diagnostics()[0];
  EXPECT_EQ(d.file, "syntax.ftl");
  EXPECT_EQ(d.line, 2);
  EXPECT_EQ(d.column, 7);
  EXPECT_EQ(d.severity, "error");
  EXPECT_EQ(d.kind, "expected-token");
  EXPECT_NE(d.message.find("found '='"), std::string::npos) << d.message;
  EXPECT_EQ(status.message().rfind("syntax.ftl:2:7: error: expected ", 0), 0u)
      << status.message();
}

TEST(CheckTest, UnknownBuiltinWithSuggestion) {
  std::string text = "seed 1\ndata d = jsonl2(\"arith.jsonl\")\n";
  Result<Pipeline> p = Pipeline::fromString(text, "unknown.ftl", dataDir());
  ASSERT_TRUE(p.ok());
  Status status = p->check();
  ASSERT_FALSE(status.ok());
  ASSERT_GE(status.diagnostics().size(), 2u);
  const Diagnostic &d = status.diagnostics()[0];
  EXPECT_EQ(d.file, "unknown.ftl");
  EXPECT_EQ(d.line, 2);
  EXPECT_EQ(d.column, 10);
  EXPECT_EQ(d.kind, "unknown-function");
  EXPECT_EQ(d.message, "no built-in or user function named 'jsonl2'");
  const Diagnostic &note = status.diagnostics()[1];
  EXPECT_EQ(note.severity, "note");
  EXPECT_EQ(note.kind, "did-you-mean");
  EXPECT_EQ(note.message, "did you mean 'jsonl'?");
}

TEST(CheckTest, EveryErrorIsReported) {
  // Two independent errors: a missing argument and an unknown function.
  std::string text = "seed 1\n"
                     "model m = llama(vocab: 260, dim: 32, layers: 1)\n"
                     "data d = txt(\"corpus.txt\")\n";
  Status status = tiny(text).check();
  ASSERT_FALSE(status.ok());
  std::vector<std::string> errors;
  for (const Diagnostic &d : status.diagnostics())
    if (d.severity == "error")
      errors.push_back(d.kind + "@" + std::to_string(d.line) + ":" +
                       std::to_string(d.column));
  EXPECT_EQ(errors, (std::vector<std::string>{"missing-argument@2:11",
                                              "unknown-function@3:10"}));
  EXPECT_EQ(status.message(),
            "tiny.ftl:2:11: error: 'llama' requires argument 'heads' "
            "[missing-argument] (and 1 more error)");
}

TEST(CheckTest, WarningsComeBackWithSuccess) {
  Status status = tiny("seed 1\ndata unused = text(\"corpus.txt\")\n").check();
  EXPECT_TRUE(status.ok()) << status.message();
  ASSERT_EQ(status.diagnostics().size(), 1u);
  const Diagnostic &d = status.diagnostics()[0];
  EXPECT_EQ(d.severity, "warning");
  EXPECT_EQ(d.kind, "unused-definition");
  EXPECT_EQ(d.line, 2);
  EXPECT_EQ(d.column, 6);
  EXPECT_EQ(status.message(), "");
}

TEST(CheckTest, RelativePathsResolveAgainstTheBaseFolder) {
  EXPECT_TRUE(tiny().check().ok());
  TempDir dir;
  Result<Pipeline> elsewhere =
      Pipeline::fromString(tinyScript, "tiny.ftl", dir.path);
  ASSERT_TRUE(elsewhere.ok());
  Status status = elsewhere->check();
  ASSERT_FALSE(status.ok());
  const Diagnostic *d = firstOfKind(status, "file-not-found");
  ASSERT_NE(d, nullptr) << status.str();
  EXPECT_EQ(d->file, "tiny.ftl");
  EXPECT_EQ(d->line, 4);
  EXPECT_EQ(d->message, "file 'corpus.txt' does not exist");
}

TEST(CheckTest, FileDiagnosticsNameTheFile) {
  TempDir dir;
  std::string path = dir / "bad.ftl";
  writeFile(path, "seed 1\nseed 2\n");
  Result<Pipeline> p = Pipeline::fromFile(path);
  ASSERT_TRUE(p.ok());
  Status status = p->check();
  ASSERT_FALSE(status.ok());
  const Diagnostic &d = status.diagnostics()[0];
  EXPECT_EQ(d.file, path);
  EXPECT_EQ(d.line, 2);
  EXPECT_EQ(d.kind, "duplicate-seed");
}

//===----------------------------------------------------------------------===//
// Compiling
//===----------------------------------------------------------------------===//

TEST(CompileTest, EachLevel) {
  Pipeline p = tiny();
  Result<std::string> ast = p.compile(EmitLevel::Ast);
  ASSERT_TRUE(ast.ok()) << ast.status().message();
  EXPECT_NE(ast->find("Binding model 'm'"), std::string::npos);
  EXPECT_NE(ast->find("Call 'llama'"), std::string::npos);

  Result<std::string> ftl = p.compile(EmitLevel::Ftl);
  ASSERT_TRUE(ftl.ok()) << ftl.status().message();
  EXPECT_NE(ftl->find("ftl.train"), std::string::npos);
  EXPECT_NE(ftl->find("ftl.model.build"), std::string::npos);
  EXPECT_EQ(ftl->find("func.func"), std::string::npos);

  // step: the loss function, not yet differentiated.
  Result<std::string> step = p.compile(EmitLevel::Step);
  ASSERT_TRUE(step.ok()) << step.status().message();
  EXPECT_NE(step->find("func.func private @train0_loss"), std::string::npos);
  EXPECT_NE(step->find("ftlt.cross_entropy"), std::string::npos);
  EXPECT_EQ(step->find("_grad "), std::string::npos);
  EXPECT_EQ(step->find("ftl.model.build"), std::string::npos);

  // grad: LM head fused with the loss, backward ops, nothing fused yet.
  Result<std::string> grad = p.compile(EmitLevel::Grad);
  ASSERT_TRUE(grad.ok()) << grad.status().message();
  EXPECT_NE(grad->find("ftlt.linear_cross_entropy_grad"), std::string::npos);
  EXPECT_NE(grad->find("ftlt.attention_grad"), std::string::npos);
  EXPECT_EQ(grad->find("ftlt.fused"), std::string::npos);

  Result<std::string> fused = p.compile(EmitLevel::Fused);
  ASSERT_TRUE(fused.ok()) << fused.status().message();
  EXPECT_NE(fused->find("ftlt.fused"), std::string::npos);
  EXPECT_NE(fused->find("ftlt.attention_grad"), std::string::npos);
}

TEST(CompileTest, ErrorsComeBackAsValues) {
  Result<std::string> bad =
      tiny("seed 1\ndata d = txt(\"corpus.txt\")\n").compile(EmitLevel::Step);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().diagnostics()[0].kind, "unknown-function");

  Result<std::string> level = tiny().compile(static_cast<EmitLevel>(42));
  ASSERT_FALSE(level.ok());
  EXPECT_EQ(level.status().diagnostics()[0].kind, "invalid-argument");
  EXPECT_EQ(level.status().diagnostics()[0].message,
            "unknown level 42 for ftl::Pipeline::compile; expected "
            "EmitLevel::Ast, Ftl, Step, Grad or Fused");
}

TEST(CompileTest, WarningsTravelWithTheValue) {
  std::string text =
      std::string(tinyScript) + "data unused = text(\"corpus.txt\")\n";
  Result<std::string> ir = tiny(text).compile(EmitLevel::Ftl);
  ASSERT_TRUE(ir.ok()) << ir.status().message();
  ASSERT_EQ(ir.status().diagnostics().size(), 1u);
  EXPECT_EQ(ir.status().diagnostics()[0].kind, "unused-definition");
}

TEST(CompileTest, ConcurrentCallsAgreeWithSequentialOnes) {
  Pipeline p = tiny();
  std::string expectedFused = p.compile(EmitLevel::Fused).value();
  std::string expectedStep = p.compile(EmitLevel::Step).value();
  Pipeline broken = tiny("seed 1\ndata d = txt(\"corpus.txt\")\n");
  std::vector<std::string> fused(2), step(2), kinds(2);
  std::vector<std::thread> threads;
  for (int i = 0; i < 2; ++i)
    threads.emplace_back([&, i] {
      fused[i] = p.compile(EmitLevel::Fused).value();
      step[i] = p.compile(EmitLevel::Step).value();
      kinds[i] = broken.check().diagnostics().at(0).kind;
    });
  for (std::thread &t : threads)
    t.join();
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(fused[i], expectedFused);
    EXPECT_EQ(step[i], expectedStep);
    EXPECT_EQ(kinds[i], "unknown-function");
  }
}

//===----------------------------------------------------------------------===//
// Running
//===----------------------------------------------------------------------===//

TEST(RunTest, MetricsStreamInOrderAndMatchTheLog) {
  TempDir dir;
  RunOptions options;
  options.runsRoot = dir / "runs";
  options.maxSteps = 3;
  options.threads = 1;
  std::vector<Metric> seen;
  std::vector<size_t> linesAtCallback;
  std::string folderDuringRun;
  std::thread::id caller = std::this_thread::get_id();
  bool sameThread = true;
  Result<std::string> folder = tiny().run(options, [&](const Metric &m) {
    sameThread = sameThread && std::this_thread::get_id() == caller;
    // Streaming: the record is in metrics.jsonl already, and nothing after
    // it is.
    std::error_code ec;
    for (llvm::sys::fs::directory_iterator it(options.runsRoot, ec), end;
         it != end && !ec; it.increment(ec))
      if (StringRef(llvm::sys::path::filename(it->path())).starts_with("tiny-"))
        folderDuringRun = it->path();
    linesAtCallback.push_back(
        lines(readFile(folderDuringRun + "/metrics.jsonl")).size());
    seen.push_back(m);
  });
  ASSERT_TRUE(folder.ok()) << folder.status().message();
  EXPECT_EQ(*folder, folderDuringRun);
  EXPECT_EQ(manifestStatus(*folder), "completed");

  EXPECT_TRUE(sameThread);
  ASSERT_EQ(seen.size(), 3u);
  std::vector<std::string> logged = lines(readFile(*folder + "/metrics.jsonl"));
  ASSERT_EQ(logged.size(), 3u);
  for (size_t i = 0; i < seen.size(); ++i) {
    EXPECT_EQ(seen[i].step, static_cast<long long>(i + 1));
    EXPECT_EQ(seen[i].json, logged[i]);
    EXPECT_EQ(linesAtCallback[i], i + 1);
    EXPECT_TRUE(std::isfinite(seen[i].loss));
    // The map holds the same numbers as the JSON line.
    auto parsed = llvm::json::parse(logged[i]);
    ASSERT_TRUE(bool(parsed));
    const llvm::json::Object &record = *parsed->getAsObject();
    EXPECT_EQ(seen[i].values.at("step"), double(i + 1));
    EXPECT_EQ(seen[i].values.at("loss"), *record.getNumber("loss"));
    EXPECT_EQ(seen[i].loss, *record.getNumber("loss"));
    EXPECT_EQ(seen[i].values.at("lr"), *record.getNumber("lr"));
    EXPECT_EQ(seen[i].values.at("train"), 0.0);
    EXPECT_EQ(seen[i].values.size(), record.size());
  }
  // A fresh model with small weights predicts about uniformly over the 260
  // byte tokens: the first loss is close to ln(260).
  EXPECT_NEAR(seen[0].loss, std::log(260.0), 0.1);
  EXPECT_LT(seen[2].loss, seen[0].loss);
}

TEST(RunTest, StringScriptIsSavedForTheManifest) {
  TempDir dir;
  RunOptions options;
  options.runsRoot = dir / "runs";
  options.maxSteps = 1;
  Result<std::string> folder = tiny().run(options);
  ASSERT_TRUE(folder.ok()) << folder.status().message();
  EXPECT_TRUE(
      StringRef(llvm::sys::path::filename(*folder)).starts_with("tiny-"))
      << *folder;
  auto manifest = llvm::json::parse(readFile(*folder + "/manifest.json"));
  ASSERT_TRUE(bool(manifest));
  StringRef script =
      manifest->getAsObject()->getObject("script")->getString("path").value_or(
          "");
  EXPECT_EQ(llvm::sys::path::filename(script), "tiny.ftl");
  EXPECT_TRUE(script.contains("/.scripts/")) << script.str();
  EXPECT_EQ(readFile(script.str()), tinyScript);
  // A second run of the same text reuses the copy.
  Result<std::string> again = tiny().run(options);
  ASSERT_TRUE(again.ok()) << again.status().message();
  int copies = 0;
  std::error_code ec;
  for (llvm::sys::fs::recursive_directory_iterator
           it(options.runsRoot + "/.scripts", ec),
       end;
       it != end && !ec; it.increment(ec))
    copies += llvm::sys::path::filename(it->path()) == "tiny.ftl";
  EXPECT_EQ(copies, 1);
}

TEST(RunTest, BadOptionsAreRefusedBeforeAnyWork) {
  TempDir dir;
  Pipeline p = tiny();
  auto refuse = [&](RunOptions options, StringRef message) {
    Result<std::string> r = p.run(options);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().diagnostics()[0].kind, "invalid-argument");
    EXPECT_EQ(r.status().diagnostics()[0].message, message.str());
  };
  RunOptions options;
  options.runsRoot = dir / "runs";
  options.threads = -1;
  refuse(options, "RunOptions::threads must be 0 (all cores) or a positive "
                  "number, found -1");
  options.threads = 0;
  for (long long steps : {0LL, -2LL})
    options.maxSteps = steps,
    refuse(options, "RunOptions::maxSteps must be -1 (as the script says) or "
                    "a positive number, found " +
                        std::to_string(steps));
  options.maxSteps = -1;
  options.runsRoot = "";
  refuse(options, "RunOptions::runsRoot must name a folder; expected a path "
                  "such as \"runs\", found \"\"");
  EXPECT_FALSE(llvm::sys::fs::exists(dir / "runs"));
}

TEST(RunTest, UnsupportedConstructsAreReportedBeforeAnyWork) {
  TempDir dir;
  // (When the runtime learns OT-gradient selection, pick another construct
  // the runtime lacks.)
  std::string text = std::string(tinyScript) +
                     "data near = select(corpus, ot_gradient(target: corpus, "
                     "budget: 10))\n";
  RunOptions options;
  options.runsRoot = dir / "runs";
  Result<std::string> r = tiny(text).run(options);
  ASSERT_FALSE(r.ok());
  const Diagnostic *d = firstOfKind(r.status(), "not-implemented-yet");
  ASSERT_NE(d, nullptr) << r.status().str();
  EXPECT_EQ(d->file, "tiny.ftl");
  EXPECT_EQ(d->line, 6);
  EXPECT_EQ(d->column, 28); // the selection, the first construct it meets
  EXPECT_EQ(d->message, "not implemented yet: selection 'ot_gradient'");
  EXPECT_FALSE(llvm::sys::fs::exists(options.runsRoot));
}

TEST(RunTest, RuntimeFailureHasItsPlaceAndTheFolder) {
  TempDir dir;
  std::string text =
      std::string(tinyScript) + "save m to \"" + (dir / "file/out") + "\"\n";
  writeFile(dir / "file", "not a folder");
  RunOptions options;
  options.runsRoot = dir / "runs";
  options.maxSteps = 1;
  Result<std::string> r = tiny(text).run(options);
  ASSERT_FALSE(r.ok());
  const std::vector<Diagnostic> &diags = r.status().diagnostics();
  ASSERT_EQ(diags.size(), 2u) << r.status().str();
  EXPECT_EQ(diags[0].kind, "run-failed");
  EXPECT_EQ(diags[0].file, "tiny.ftl");
  EXPECT_EQ(diags[0].line, 6);
  EXPECT_EQ(diags[0].column, 1);
  EXPECT_NE(diags[0].message.find(dir / "file"), std::string::npos)
      << diags[0].message;
  EXPECT_EQ(diags[1].kind, "run-folder");
  EXPECT_EQ(diags[1].severity, "note");
  EXPECT_EQ(manifestStatus(diags[1].file), "failed");
  EXPECT_EQ(diags[1].message, "the run's folder is '" + diags[1].file + "'");
}

TEST(RunTest, FileChangedSinceLoadIsRefused) {
  TempDir dir;
  std::string path = dir / "train.ftl";
  // The file refers to the corpus by an absolute path.
  std::string text = tinyScript;
  text.replace(text.find("corpus.txt"), 10, dataDir() + "/corpus.txt");
  writeFile(path, text);
  Result<Pipeline> p = Pipeline::fromFile(path);
  ASSERT_TRUE(p.ok());
  RunOptions options;
  options.runsRoot = dir / "runs";
  options.maxSteps = 1;
  Result<std::string> first = p->run(options);
  ASSERT_TRUE(first.ok()) << first.status().message();
  writeFile(path, text + "// edited\n");
  Result<std::string> second = p->run(options);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().diagnostics()[0].kind, "io-error");
  EXPECT_EQ(second.status().diagnostics()[0].message,
            "script '" + path +
                "' changed on disk since it was loaded; expected the text "
                "that was checked (load it again with "
                "ftl::Pipeline::fromFile)");
}

TEST(RunTest, InterruptStopsAtTheEndOfAStep) {
  TempDir dir;
  RunOptions options;
  options.runsRoot = dir / "runs";
  options.threads = 1;
  std::vector<long long> steps;
  Result<std::string> r = tiny().run(options, [&](const Metric &m) {
    steps.push_back(m.step);
    if (m.step == 2)
      std::raise(SIGINT); // what Ctrl-C does
  });
  ASSERT_FALSE(r.ok());
  const Diagnostic *d = firstOfKind(r.status(), "interrupted");
  ASSERT_NE(d, nullptr) << r.status().str();
  EXPECT_NE(d->message.find("interrupted at step 2"), std::string::npos)
      << d->message;
  EXPECT_EQ(steps, (std::vector<long long>{1, 2}));
  const Diagnostic *folder = firstOfKind(r.status(), "run-folder");
  ASSERT_NE(folder, nullptr);
  EXPECT_EQ(manifestStatus(folder->file), "interrupted");
}

} // namespace

//===----------------------------------------------------------------------===//
// Host judges from scripts
//===----------------------------------------------------------------------===//

TEST(RunTest, ScriptsUseJudgesTheHostRegistered) {
  // The host's judge passes a sample when it ends with the prompt's last
  // character; the script logs the pass rate the judge decided.
  std::vector<JudgeInput> seenInputs;
  ASSERT_TRUE(registerJudge("ends-like-prompt", [&](const JudgeInput &in) {
                seenInputs.push_back(in);
                JudgeOutput out;
                out.pass = !in.sample.empty() && !in.prompt.empty() &&
                           in.sample.back() == in.prompt.back();
                out.score = out.pass ? 1 : 0;
                return out;
              }).ok());
  std::string script =
      "seed 3\n"
      "model m = llama(vocab: 260, dim: 32, layers: 1, heads: 2, ctx: 32)\n"
      "tokenizer tok = bytes()\n"
      "data qs = jsonl(\"add_heldout.jsonl\") |> take(5)\n"
      "let s = generate(m, qs.prompt, n: 2, max_tokens: 3, temperature: 1)\n"
      "let j = judge(s, by: host(\"ends-like-prompt\"))\n"
      "eval rate = pass_rate(j)\n";
  TempDir dir;
  RunOptions options;
  options.runsRoot = dir / "runs";
  std::vector<Metric> seen;
  Result<std::string> folder =
      tiny(script).run(options, [&](const Metric &m) { seen.push_back(m); });
  ASSERT_TRUE(folder.ok()) << folder.status().str();
  ASSERT_EQ(seenInputs.size(), 10u); // 5 prompts x 2 samples
  int passed = 0;
  for (const JudgeInput &in : seenInputs) {
    EXPECT_EQ(in.prompt.back(), '=');
    EXPECT_FALSE(in.reference.empty()); // the held-out answer
    passed += !in.sample.empty() && in.sample.back() == '=';
  }
  double rate = NAN;
  for (const Metric &m : seen)
    if (m.values.count("rate"))
      rate = m.values.at("rate");
  EXPECT_DOUBLE_EQ(rate, passed / 10.0);
  EXPECT_TRUE(unregisterJudge("ends-like-prompt"));

  // An unknown name is an error at the judge.
  Result<std::string> missing = tiny(script).run(options);
  EXPECT_FALSE(missing.ok());
  EXPECT_NE(missing.status().str().find("ends-like-prompt"), std::string::npos)
      << missing.status().str();
}
