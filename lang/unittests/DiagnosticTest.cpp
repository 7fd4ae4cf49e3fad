//===- DiagnosticTest.cpp - Tests for front-end diagnostics ---------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "LangTestUtil.h"

#include "ftl/Lang/Frontend.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/raw_ostream.h"

#include "gtest/gtest.h"

using namespace ftl::lang;
using ftl::lang::test::Source;

namespace {

//===----------------------------------------------------------------------===//
// The registry and message formatting
//===----------------------------------------------------------------------===//

TEST(DiagnosticTest, FormatPlaceholders) {
  EXPECT_EQ(formatDiagnostic("expected {0}, found {1}", {"'='", "'x'"}),
            "expected '=', found 'x'");
  // Out of order and repeated.
  EXPECT_EQ(formatDiagnostic("{1} then {0} then {1}", {"a", "b"}),
            "b then a then b");
  // A missing argument becomes empty text.
  EXPECT_EQ(formatDiagnostic("x{2}y", {"a"}), "xy");
  // Braces that are not placeholders stay.
  EXPECT_EQ(formatDiagnostic("such as 'base.{q, v}'", {}),
            "such as 'base.{q, v}'");
  EXPECT_EQ(formatDiagnostic("{x} {10} {", {"a", "b"}), "{x} {10} {");
  EXPECT_EQ(formatDiagnostic("{0}", {"{1}"}), "{1}"); // no re-expansion
  EXPECT_EQ(formatDiagnostic("", {"a"}), "");
}

TEST(DiagnosticTest, RegistryIsWellFormed) {
  llvm::ArrayRef<DiagnosticInfo> infos = getAllDiagnosticInfos();
  EXPECT_EQ(infos.size(), size_t(diag::NumKinds));
  llvm::StringSet<> names;
  for (const DiagnosticInfo &info : infos) {
    SCOPED_TRACE(info.name.str());
    EXPECT_TRUE(names.insert(info.name).second) << "duplicate name";
    // kebab-case
    EXPECT_FALSE(info.name.empty());
    for (char c : info.name)
      EXPECT_TRUE(llvm::isLower(c) || c == '-') << info.name.str();
    // Messages start lowercase (or with a quote or a placeholder) and have
    // no final period.
    ASSERT_FALSE(info.format.empty());
    char first = info.format.front();
    EXPECT_TRUE(llvm::isLower(first) || first == '\'' || first == '{')
        << info.format.str();
    EXPECT_FALSE(info.format.ends_with(".")) << info.format.str();
    // Placeholders are {0}..{9}, used in order of first appearance from {0}.
    unsigned next = 0;
    for (size_t i = 0; i + 2 < info.format.size(); ++i)
      if (info.format[i] == '{' && llvm::isDigit(info.format[i + 1]) &&
          info.format[i + 2] == '}') {
        unsigned n = info.format[i + 1] - '0';
        EXPECT_LE(n, next) << info.format.str();
        if (n == next)
          ++next;
      }
  }
  EXPECT_EQ(getDiagnosticInfo(diag::UnknownName).name, "unknown-name");
  EXPECT_EQ(getDiagnosticInfo(diag::UnusedDefinition).severity,
            Severity::Warning);
  EXPECT_EQ(getDiagnosticInfo(diag::NoteDidYouMean).severity, Severity::Note);
}

TEST(DiagnosticTest, SuggestName) {
  std::vector<std::string> clauses = {"steps", "epochs", "batch", "seq"};
  EXPECT_EQ(suggestName("stpes", clauses), "steps");
  EXPECT_EQ(suggestName("step", clauses), "steps");
  EXPECT_EQ(suggestName("epoch", clauses), "epochs");
  EXPECT_EQ(suggestName("BATCH", clauses), "batch"); // case-insensitive
  EXPECT_EQ(suggestName("optimizer", clauses), "");  // nothing close
  EXPECT_EQ(suggestName("steps", clauses), "");      // the name itself
  EXPECT_EQ(suggestName("x", {}), "");
  // The closest candidate wins; ties go to the first.
  EXPECT_EQ(suggestName("tasks", {"task", "tasks2", "masks"}), "task");
  // Short names allow one edit; longer ones about a third of their length.
  EXPECT_EQ(suggestName("ab", {"xy"}), "");
  EXPECT_EQ(suggestName("ab", {"ac"}), "ac");
  EXPECT_EQ(suggestName("learning_rate", {"learnign_rat"}), "learnign_rat");
  EXPECT_EQ(suggestName("abcdef", {"uvwxyz"}), "");
}

//===----------------------------------------------------------------------===//
// The engine
//===----------------------------------------------------------------------===//

/// The location of the `n`th occurrence (from 0) of `what` in `source`.
llvm::SMLoc locOf(const Source &source, llvm::StringRef what, unsigned n = 0) {
  llvm::StringRef text = source.text();
  size_t pos = text.find(what);
  while (n-- && pos != llvm::StringRef::npos)
    pos = text.find(what, pos + 1);
  EXPECT_NE(pos, llvm::StringRef::npos) << what.str();
  return llvm::SMLoc::getFromPointer(text.data() + pos);
}

TEST(DiagnosticTest, IdenticalDiagnosticsAreReportedOnce) {
  Source source("log abc\nlog abc");
  llvm::SMLoc first = locOf(source, "abc");
  llvm::SMLoc second = locOf(source, "abc", 1);
  for (int i = 0; i < 3; ++i)
    source.diags.report(first, diag::UnknownName, {"abc"});
  EXPECT_EQ(source.reported.size(), 1u);
  EXPECT_EQ(source.diags.getNumErrors(), 1u);
  // Another place, another message or another kind is another diagnostic.
  source.diags.report(second, diag::UnknownName, {"abc"});
  source.diags.report(first, diag::UnknownName, {"abd"});
  source.diags.report(first, diag::UnknownFunction, {"abc"});
  EXPECT_EQ(source.reported.size(), 4u);
  EXPECT_EQ(source.diags.getNumErrors(), 4u);
}

TEST(DiagnosticTest, NotesTravelWithTheirDiagnostic) {
  Source source("log abc");
  llvm::SMLoc loc = locOf(source, "abc");
  source.diags.report(loc, diag::UnknownName, {"abc"})
      .attachNote(llvm::SMRange(loc, loc), diag::NoteDidYouMean, {"abd"})
      .attachNote(llvm::SMRange(loc, loc), diag::NoteAvailableFields, {"a, b"});
  ASSERT_EQ(source.reported.size(), 1u);
  const Diagnostic &d = source.reported[0];
  EXPECT_EQ(d.message, "use of undeclared name 'abc'");
  EXPECT_EQ(d.severity, Severity::Error);
  ASSERT_EQ(d.notes.size(), 2u);
  EXPECT_EQ(d.notes[0].message, "did you mean 'abd'?");
  EXPECT_EQ(d.notes[0].severity, Severity::Note);
  EXPECT_EQ(d.notes[1].message, "available fields: a, b");
}

TEST(DiagnosticTest, WarningOptions) {
  Source source("let x = 1");
  llvm::SMLoc loc = locOf(source, "x");
  source.diags.report(loc, diag::UnusedDefinition, {"let binding", "x"});
  EXPECT_EQ(source.diags.getNumWarnings(), 1u);
  EXPECT_FALSE(source.diags.hadErrors());
  ASSERT_EQ(source.reported.size(), 1u);
  EXPECT_EQ(source.reported[0].severity, Severity::Warning);
  EXPECT_EQ(source.reported[0].message,
            "let binding 'x' is defined but never used");

  Source werror("let x = 1");
  werror.diags.setWarningsAsErrors(true);
  werror.diags.report(locOf(werror, "x"), diag::UnusedDefinition,
                      {"let binding", "x"});
  EXPECT_TRUE(werror.diags.hadErrors());
  ASSERT_EQ(werror.reported.size(), 1u);
  EXPECT_EQ(werror.reported[0].severity, Severity::Error);

  Source quiet("let x = 1");
  quiet.diags.setIgnoreWarnings(true);
  quiet.diags.report(locOf(quiet, "x"), diag::UnusedDefinition,
                     {"let binding", "x"});
  EXPECT_TRUE(quiet.reported.empty());
  EXPECT_EQ(quiet.diags.getNumWarnings(), 0u);
}

TEST(DiagnosticTest, PrintedLikeACompiler) {
  Source source("seed 1\nlog abcd + 1\n", "dir/file.ftl");
  llvm::SMLoc start = locOf(source, "abcd");
  llvm::SMLoc end = llvm::SMLoc::getFromPointer(start.getPointer() + 4);
  source.diags.report(llvm::SMRange(start, end), diag::UnknownName, {"abcd"})
      .attachNote(llvm::SMRange(start, end), diag::NoteDidYouMean, {"abc"});
  std::string text;
  llvm::raw_string_ostream os(text);
  printDiagnostic(source.sourceMgr, source.reported[0], os);
  EXPECT_EQ(text, "dir/file.ftl:2:5: error: use of undeclared name 'abcd' "
                  "[unknown-name]\n"
                  "log abcd + 1\n"
                  "    ^~~~\n"
                  "dir/file.ftl:2:5: note: did you mean 'abc'?\n"
                  "log abcd + 1\n"
                  "    ^~~~\n");
  // Without a location: a plain line.
  Diagnostic plain{diag::CompilerError, Severity::Error, {}, "boom", {}};
  text.clear();
  printDiagnostic(source.sourceMgr, plain, os);
  EXPECT_EQ(text, "error: boom [compiler-error]\n");
}

TEST(DiagnosticTest, VeryLongLinesAreShownAroundTheLocation) {
  // A 100,000-character line with an error at column 50,001: the output
  // shows a window of it, with the caret under the name.
  std::string line =
      "log " + std::string(49996, 'a') + " + zzz + " + std::string(49991, 'b');
  Source source(line + "\nlog 1\n", "long.ftl");
  llvm::SMLoc start = locOf(source, "zzz");
  llvm::SMLoc end = llvm::SMLoc::getFromPointer(start.getPointer() + 3);
  source.diags.report(llvm::SMRange(start, end), diag::UnknownName, {"zzz"});
  std::string text;
  llvm::raw_string_ostream os(text);
  printDiagnostic(source.sourceMgr, source.reported[0], os);
  llvm::SmallVector<llvm::StringRef, 4> lines;
  llvm::StringRef(text).split(lines, '\n');
  ASSERT_EQ(lines.size(), 4u) << text; // header, source, marks, ""
  EXPECT_EQ(lines[0], "long.ftl:1:50004: error: use of undeclared name 'zzz' "
                      "[unknown-name]");
  EXPECT_LE(lines[1].size(), 200u);
  EXPECT_TRUE(lines[1].starts_with("...aaa")) << lines[1].str();
  EXPECT_TRUE(lines[1].ends_with("bbb...")) << lines[1].str();
  size_t caret = lines[2].find('^');
  ASSERT_NE(caret, llvm::StringRef::npos);
  EXPECT_EQ(lines[1].substr(caret, 3), "zzz");
  EXPECT_EQ(lines[2].substr(caret), "^~~");
  // The start and the end of a long line are not cut.
  Source head("zzz " + std::string(1000, 'x'), "h.ftl");
  head.diags.report(locOf(head, "zzz"), diag::UnknownName, {"zzz"});
  text.clear();
  printDiagnostic(head.sourceMgr, head.reported[0], os);
  EXPECT_NE(text.find("\nzzz xxx"), std::string::npos) << text;
  EXPECT_NE(text.find("xxx...\n^\n"), std::string::npos) << text;
}

TEST(DiagnosticTest, JSONShape) {
  Source source("seed 1\nlog abcd\n", "x.ftl");
  llvm::SMLoc start = locOf(source, "abcd");
  llvm::SMLoc end = llvm::SMLoc::getFromPointer(start.getPointer() + 4);
  JSONDiagnosticCollector collector(source.sourceMgr);
  source.diags.setHandler([&](const Diagnostic &d) { collector.handle(d); });
  source.diags.report(llvm::SMRange(start, end), diag::UnknownName, {"abcd"})
      .attachNote(llvm::SMRange(start, start), diag::NoteDidYouMean, {"abc"});
  source.diags.report(llvm::SMLoc(), diag::CompilerError, {"no location"});
  std::string text;
  llvm::raw_string_ostream os(text);
  collector.print(os);

  auto value = llvm::json::parse(text);
  ASSERT_TRUE(bool(value)) << llvm::toString(value.takeError());
  const llvm::json::Array *array = value->getAsArray();
  ASSERT_TRUE(array);
  ASSERT_EQ(array->size(), 2u);
  const llvm::json::Object &d = *(*array)[0].getAsObject();
  EXPECT_EQ(d.getString("kind"), "unknown-name");
  EXPECT_EQ(d.getString("severity"), "error");
  EXPECT_EQ(d.getString("file"), "x.ftl");
  EXPECT_EQ(d.getInteger("line"), 2);
  EXPECT_EQ(d.getInteger("column"), 5);
  EXPECT_EQ(d.getInteger("endLine"), 2);
  EXPECT_EQ(d.getInteger("endColumn"), 9);
  EXPECT_EQ(d.getString("message"), "use of undeclared name 'abcd'");
  const llvm::json::Array *notes = d.getArray("notes");
  ASSERT_TRUE(notes);
  ASSERT_EQ(notes->size(), 1u);
  const llvm::json::Object &note = *(*notes)[0].getAsObject();
  EXPECT_EQ(note.getString("severity"), "note");
  EXPECT_EQ(note.getString("kind"), "did-you-mean");
  EXPECT_EQ(note.getString("message"), "did you mean 'abc'?");
  EXPECT_EQ(note.getInteger("line"), 2);
  EXPECT_EQ(note.getInteger("endColumn"), 5);
  // A diagnostic without a location has no position fields.
  const llvm::json::Object &plain = *(*array)[1].getAsObject();
  EXPECT_EQ(plain.getString("message"), "no location");
  EXPECT_FALSE(plain.get("line"));
  EXPECT_FALSE(plain.get("file"));
  EXPECT_FALSE(plain.get("notes"));
}

//===----------------------------------------------------------------------===//
// The verifier (`// expected-error {{...}}`)
//===----------------------------------------------------------------------===//

/// A source with expectations, a verifier on it, and what it printed.
struct Verified : Source {
  explicit Verified(llvm::StringRef text, llvm::StringRef name = "v.ftl")
      : Source(text, name), os(output),
        verifier(std::make_unique<DiagnosticVerifier>(sourceMgr, os)) {
    diags.setHandler([this](const Diagnostic &d) { verifier->handle(d); });
  }
  /// Reports `kind` at the first occurrence of `at` on line `line`.
  void report(unsigned line, llvm::StringRef at, diag::Kind kind,
              std::initializer_list<std::string> args) {
    llvm::StringRef text = this->text();
    size_t lineStart = 0;
    for (unsigned l = 1; l < line; ++l)
      lineStart = text.find('\n', lineStart) + 1;
    size_t pos = text.find(at, lineStart);
    ASSERT_NE(pos, llvm::StringRef::npos);
    diags.report(llvm::SMLoc::getFromPointer(text.data() + pos), kind, args);
  }
  bool verify() { return llvm::succeeded(verifier->verify()); }

  std::string output;
  llvm::raw_string_ostream os;
  std::unique_ptr<DiagnosticVerifier> verifier;
};

TEST(DiagnosticVerifierTest, SameLineAndOffsets) {
  Verified v("log a // expected-error {{undeclared name 'a'}}\n"
             "// expected-error @+2 {{[unknown-name]}}\n"
             "\n"
             "log b\n"
             "log c\n"
             "// expected-error @-1 {{name 'c' [unknown-name]}}\n"
             "// expected-warning @+1 {{'d' is defined but never used}}\n"
             "let d = 1\n");
  v.report(1, "a", diag::UnknownName, {"a"});
  v.report(4, "b", diag::UnknownName, {"b"});
  v.report(5, "c", diag::UnknownName, {"c"});
  v.report(8, "d", diag::UnusedDefinition, {"let binding", "d"});
  EXPECT_TRUE(v.verify()) << v.output;
  EXPECT_EQ(v.output, "");
}

TEST(DiagnosticVerifierTest, NotesAndSeveralExpectationsOnALine) {
  Verified v("// expected-error @+2 {{'ab'}} expected-note @+2 {{did you mean "
             "'abc'?}}\n"
             "// expected-error @+1 {{'ab'}}\n"
             "log ab\n");
  // The same message twice on one line (different columns) and a note.
  llvm::SMLoc first = llvm::SMLoc::getFromPointer(v.text().data() +
                                                  v.text().find("log ab") + 4);
  v.diags.report(first, diag::UnknownName, {"ab"})
      .attachNote(llvm::SMRange(first, first), diag::NoteDidYouMean, {"abc"});
  v.diags.report(llvm::SMLoc::getFromPointer(first.getPointer() + 1),
                 diag::UnknownName, {"ab"});
  EXPECT_TRUE(v.verify()) << v.output;
}

TEST(DiagnosticVerifierTest, UnexpectedAndMissing) {
  Verified v("log a\n"
             "// expected-error @+1 {{never reported}}\n"
             "log b\n");
  v.report(1, "a", diag::UnknownName, {"a"});
  EXPECT_FALSE(v.verify());
  EXPECT_NE(v.output.find("v.ftl:1:5: error: unexpected error: use of "
                          "undeclared name 'a'"),
            std::string::npos)
      << v.output;
  EXPECT_NE(v.output.find("expected error \"never reported\" was not produced"),
            std::string::npos)
      << v.output;
}

TEST(DiagnosticVerifierTest, SeverityAndLineMustMatch) {
  // A warning does not satisfy an expected error, nor a diagnostic one line
  // off.
  Verified v("// expected-error @+1 {{'d'}}\n"
             "let d = 1\n"
             "// expected-error @+1 {{'e'}}\n"
             "\n"
             "log e\n");
  v.report(2, "d", diag::UnusedDefinition, {"let binding", "d"});
  v.report(5, "e", diag::UnknownName, {"e"});
  EXPECT_FALSE(v.verify());
  EXPECT_NE(v.output.find("unexpected warning"), std::string::npos);
  EXPECT_NE(v.output.find("unexpected error: use of undeclared name 'e'"),
            std::string::npos);
}

TEST(DiagnosticVerifierTest, MalformedExpectations) {
  struct Case {
    const char *line;
    const char *message;
  };
  const Case cases[] = {
      {"// expected-error @+x {{a}}", "malformed expected-* line offset"},
      {"// expected-error @- {{a}}", "malformed expected-* line offset"},
      {"// expected-error a", "expected-* needs a {{message}}"},
      {"// expected-error {{a", "expected-* needs a {{message}}"},
      {"// expected-error @x.ftl {{a}}", "expected '@file:line'"},
      {"// expected-error @x.ftl:y {{a}}", "expected a line number"},
      {"// expected-error @-5 {{a}}",
       "expected-* line offset @-5 points before the first line"},
  };
  for (const Case &c : cases) {
    Verified v(std::string("log x\n") + c.line + "\n");
    EXPECT_FALSE(v.verify()) << c.line;
    EXPECT_NE(v.output.find(std::string("v.ftl:2: error: ") + c.message),
              std::string::npos)
        << c.line << "\n"
        << v.output;
  }
  // Words that merely start with "expected-" are not expectations.
  Verified words("// expected-value and expected-errors are fine\n");
  EXPECT_TRUE(words.verify()) << words.output;
}

TEST(DiagnosticVerifierTest, FileAndLine) {
  // `@lib.ftl:2` expects a diagnostic at line 2 of a file whose name ends
  // with lib.ftl, whichever buffer holds the expectation.
  Verified v("import \"lib.ftl\"\n"
             "// expected-error @lib.ftl:2 {{undeclared name 'q'}}\n");
  unsigned lib = v.sourceMgr.AddNewSourceBuffer(
      llvm::MemoryBuffer::getMemBufferCopy("def f() {\n  log q\n}\n",
                                           "dir/lib.ftl"),
      llvm::SMLoc());
  llvm::StringRef libText = v.sourceMgr.getMemoryBuffer(lib)->getBuffer();
  llvm::SMLoc q =
      llvm::SMLoc::getFromPointer(libText.data() + libText.find("q"));
  v.diags.report(q, diag::UnknownName, {"q"});
  EXPECT_TRUE(v.verify()) << v.output;

  // The wrong line, or another file, is a mismatch.
  Verified wrong("// expected-error @lib.ftl:1 {{undeclared name 'q'}}\n");
  unsigned other = wrong.sourceMgr.AddNewSourceBuffer(
      llvm::MemoryBuffer::getMemBufferCopy("def f() {\n  log q\n}\n",
                                           "dir/lib.ftl"),
      llvm::SMLoc());
  llvm::StringRef otherText =
      wrong.sourceMgr.getMemoryBuffer(other)->getBuffer();
  wrong.diags.report(
      llvm::SMLoc::getFromPointer(otherText.data() + otherText.find("q")),
      diag::UnknownName, {"q"});
  EXPECT_FALSE(wrong.verify());
}

TEST(DiagnosticVerifierTest, ExpectationsInImportedBuffers) {
  // An imported buffer's own expected-* comments count too.
  Verified v("log 1\n");
  unsigned lib = v.sourceMgr.AddNewSourceBuffer(
      llvm::MemoryBuffer::getMemBufferCopy(
          "log q // expected-error {{undeclared name 'q'}}\n", "lib.ftl"),
      llvm::SMLoc());
  llvm::StringRef libText = v.sourceMgr.getMemoryBuffer(lib)->getBuffer();
  v.diags.report(llvm::SMLoc::getFromPointer(libText.data() + 4),
                 diag::UnknownName, {"q"});
  EXPECT_TRUE(v.verify()) << v.output;
}

//===----------------------------------------------------------------------===//
// runFrontend
//===----------------------------------------------------------------------===//

TEST(FrontendTest, SplitInputKeepsLineNumbers) {
  std::string text = "log a\n// -----\n\nlog b\n// -----\nlog c\n";
  std::vector<std::pair<unsigned, std::string>> seen;
  FrontendOptions options;
  options.splitInputFile = true;
  std::string errors;
  llvm::raw_string_ostream os(errors);
  auto result = runFrontend(
      llvm::MemoryBuffer::getMemBufferCopy(text, "s.ftl"), options,
      [&](llvm::SourceMgr &sm, unsigned id, DiagnosticEngine &diags) {
        llvm::StringRef buffer = sm.getMemoryBuffer(id)->getBuffer();
        size_t pos = buffer.find("log ");
        llvm::SMLoc loc = llvm::SMLoc::getFromPointer(buffer.data() + pos);
        seen.push_back(
            {sm.FindLineNumber(loc, id), buffer.substr(pos + 4, 1).str()});
        diags.report(loc, diag::UnknownName, {buffer.substr(pos + 4, 1).str()});
        return llvm::success();
      },
      os);
  EXPECT_TRUE(llvm::failed(result)); // errors were reported
  EXPECT_EQ(seen, (std::vector<std::pair<unsigned, std::string>>{
                      {1, "a"}, {4, "b"}, {6, "c"}}));
  EXPECT_NE(errors.find("s.ftl:4:1: error: use of undeclared name 'b'"),
            std::string::npos)
      << errors;
}

TEST(FrontendTest, VerificationDecidesTheResult) {
  FrontendOptions options;
  options.verifyDiagnostics = true;
  std::string errors;
  llvm::raw_string_ostream os(errors);
  auto action = [](llvm::SourceMgr &sm, unsigned id, DiagnosticEngine &diags) {
    llvm::StringRef buffer = sm.getMemoryBuffer(id)->getBuffer();
    diags.report(llvm::SMLoc::getFromPointer(buffer.data() + 4),
                 diag::UnknownName, {"q"});
    return llvm::failure();
  };
  EXPECT_TRUE(llvm::succeeded(
      runFrontend(llvm::MemoryBuffer::getMemBufferCopy(
                      "log q // expected-error {{'q'}}\n", "a.ftl"),
                  options, action, os)));
  EXPECT_TRUE(llvm::failed(
      runFrontend(llvm::MemoryBuffer::getMemBufferCopy("log q\n", "a.ftl"),
                  options, action, os)));
}

TEST(FrontendTest, JSONFormat) {
  FrontendOptions options;
  options.format = DiagnosticsFormat::JSON;
  std::string errors;
  llvm::raw_string_ostream os(errors);
  auto result = runFrontend(
      llvm::MemoryBuffer::getMemBufferCopy("log q\n", "a.ftl"), options,
      [](llvm::SourceMgr &, unsigned, DiagnosticEngine &) {
        return llvm::success();
      },
      os);
  EXPECT_TRUE(llvm::succeeded(result));
  auto value = llvm::json::parse(errors);
  ASSERT_TRUE(bool(value)) << errors;
  ASSERT_TRUE(value->getAsArray());
  EXPECT_TRUE(value->getAsArray()->empty());
}

} // namespace
