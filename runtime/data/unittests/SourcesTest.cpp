//===- SourcesTest.cpp - jsonl, text, peek and bad input ------------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "TestUtil.h"

using namespace ftl::rt;
using namespace ftl::rt::test;

namespace {

JsonlOptions mapping(std::vector<std::pair<std::string, std::string>> m,
                     OnError onError = OnError::Fail) {
  JsonlOptions o;
  for (auto &[name, path] : m)
    o.mapping.push_back(FieldAlias{name, must(parseFieldPath(path))});
  o.onError = onError;
  return o;
}

} // namespace

TEST(Jsonl, FieldsAliasesAndProvenance) {
  TempDir dir;
  std::string p = dir.write(
      "x.jsonl", "{\"question\":\"1+1\",\"answer\":\"2\",\"id\":7}\n"
                 "\n"
                 "{\"question\":\"2+2\",\"answer\":\"4\",\"id\":8}\n");
  auto d = must(jsonlDataset(
      p, mapping({{"prompt", ".question"}, {"response", "answer"}})));
  auto rs = readRecords(d);
  ASSERT_EQ(rs.size(), 2u);
  EXPECT_EQ(column(rs, "prompt"), (std::vector<std::string>{"1+1", "2+2"}));
  EXPECT_EQ(column(rs, "response"), (std::vector<std::string>{"2", "4"}));
  // Raw fields stay visible.
  EXPECT_EQ(column(rs, "question"), (std::vector<std::string>{"1+1", "2+2"}));
  EXPECT_EQ(rs[1].get("id")->getInt(), 8);
  EXPECT_EQ(rs[1].provenance().where(), p + ":3");
  EXPECT_EQ(rs[1].provenance().index, 1);
  EXPECT_EQ(rs[1].provenance().chainString(), "jsonl");
  EXPECT_EQ(rs[0].fieldNames(),
            (std::vector<std::string>{"question", "answer", "id", "prompt",
                                      "response"}));
}

TEST(Jsonl, NestedMappingAndAliasPrecedence) {
  auto d = must(jsonlBufferDataset("mem.jsonl",
                                   R"({"prompt":"raw","meta":{"q":"nested"}})"
                                   "\n",
                                   mapping({{"prompt", ".meta.q"}})));
  auto rs = readRecords(d);
  ASSERT_EQ(rs.size(), 1u);
  // The mapping wins over a raw field of the same name.
  EXPECT_EQ(rs[0].get("prompt")->getString(), "nested");
  EXPECT_EQ(rs[0].get("meta.q")->getString(), "nested");
}

TEST(Jsonl, CrlfBomAndWhitespace) {
  auto d = must(jsonlBufferDataset(
      "w.jsonl", "\xEF\xBB\xBF{\"a\":1}\r\n  \t\r\n {\"a\":2} \r\n{\"a\":3}"));
  auto rs = readRecords(d);
  ASSERT_EQ(rs.size(), 3u);
  EXPECT_EQ(rs[2].get("a")->getInt(), 3);
  EXPECT_EQ(rs[2].provenance().line, 4);
}

TEST(Jsonl, MalformedLineIsFileLineColError) {
  auto d =
      must(jsonlBufferDataset("data/x.jsonl", "{\"a\":1}\n{\"a\":[1,2}\n"));
  EXPECT_EQ(errorOf(readAll(*d, {})),
            "data/x.jsonl:2:10: expected ',' or ']' in a list, found '}'");
  // Columns count characters, not bytes.
  d = must(jsonlBufferDataset("u.jsonl", "{\"\xC3\xA9\xC3\xA9\":x}\n"));
  EXPECT_EQ(errorOf(readAll(*d, {})),
            "u.jsonl:1:7: expected a JSON value, found 'x'");
}

TEST(Jsonl, MissingFieldNamesFieldAndRecord) {
  auto d = must(jsonlBufferDataset(
      "data/x.jsonl",
      "{\"question\":\"q\",\"answer\":\"1\"}\n{\"question\":\"q\",\"id\":3}\n",
      mapping({{"response", ".answer"}})));
  EXPECT_EQ(errorOf(readAll(*d, {})),
            "data/x.jsonl:2: record has no field 'answer' (mapped to "
            "'response'; fields: question, id; aliases: response = .answer)");
  // Without a mapping, filters report the plain form.
  d = must(
      jsonlBufferDataset("data/x.jsonl", "{\"question\":\"q\",\"id\":3}\n"));
  auto rs = readRecords(d);
  EXPECT_EQ(errorOf(rs[0].require("answer")),
            "data/x.jsonl:1: record has no field 'answer' (fields: "
            "question, id)");
}

TEST(Jsonl, NotAnObject) {
  auto d = must(jsonlBufferDataset("a.jsonl", "[1,2]\n"));
  EXPECT_EQ(errorOf(readAll(*d, {})),
            "a.jsonl:1: expected a JSON object, found a list");
}

TEST(Jsonl, SkipCountsEachReason) {
  std::string text = "{\"q\":\"a\"}\n"
                     "{bad\n"
                     "\"str\"\n"
                     "{\"other\":1}\n"
                     "{\"q\":\"\xFF\"}\n"
                     "{\"q\":\"b\"}\n"
                     "{\"q\":\"c\",\n";
  auto d = must(jsonlBufferDataset("s.jsonl", text,
                                   mapping({{"prompt", ".q"}}, OnError::Skip)));
  DataStats stats;
  DataContext ctx;
  ctx.stats = &stats;
  auto rs = must(readAll(*d, ctx));
  EXPECT_EQ(column(rs, "prompt"), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(stats.get("records read"), 2);
  EXPECT_EQ(stats.get("skipped: invalid JSON"), 2);
  EXPECT_EQ(stats.get("skipped: not an object"), 1);
  EXPECT_EQ(stats.get("skipped: missing field"), 1);
  EXPECT_EQ(stats.get("skipped: invalid UTF-8"), 1);
  ASSERT_EQ(stats.notes().at("skipped: invalid JSON").size(), 2u);
  EXPECT_EQ(stats.notes().at("skipped: invalid JSON")[0],
            "s.jsonl:2:2: expected a string key in an object, found 'b'");
  // Indices count valid records only.
  EXPECT_EQ(rs[1].provenance().index, 1);
  EXPECT_EQ(rs[1].provenance().line, 6);
  std::string printed;
  llvm::raw_string_ostream os(printed);
  stats.print(os);
  EXPECT_NE(printed.find("skipped: invalid JSON: 2"), std::string::npos);
}

TEST(Jsonl, InvalidUtf8ErrorOrReplace) {
  std::string text = "{\"a\":\"ok\"}\n{\"a\":\"b\xC3\x28z\"}\n";
  auto d = must(jsonlBufferDataset("u.jsonl", text));
  EXPECT_EQ(errorOf(readAll(*d, {})),
            "u.jsonl:2:8: invalid UTF-8: byte 0xc3 is not part of a valid "
            "character (byte offset 18 in the file; use invalid_utf8: "
            "replace to substitute U+FFFD)");
  JsonlOptions o;
  o.invalidUtf8 = InvalidUtf8::Replace;
  d = must(jsonlBufferDataset("u.jsonl", text, o));
  auto rs = readRecords(d);
  ASSERT_EQ(rs.size(), 2u);
  EXPECT_EQ(rs[1].get("a")->getString(), "b\xEF\xBF\xBD(z");
}

TEST(Jsonl, FileErrorsAreSpecific) {
  TempDir dir;
  auto missing = must(jsonlDataset(dir.file("nope.jsonl")));
  EXPECT_EQ(errorOf(missing->open({})),
            "cannot open '" + dir.file("nope.jsonl") +
                "': no such file (expected a JSON lines file)");
  auto folder = must(jsonlDataset(dir.path()));
  EXPECT_EQ(errorOf(folder->open({})),
            "'" + dir.path() + "' is a directory, expected a JSON lines file");
  auto empty = must(jsonlDataset(dir.write("e.jsonl", "")));
  EXPECT_EQ(errorOf(empty->open({})),
            "'" + dir.file("e.jsonl") +
                "' is empty, expected a JSON lines file");
  auto blank = must(jsonlDataset(dir.write("b.jsonl", "\n  \n")));
  EXPECT_EQ(errorOf(readAll(*blank, {})),
            "'" + dir.file("b.jsonl") +
                "' has no records: it has only blank lines (expected one "
                "JSON object per line)");
  auto allBad = must(jsonlDataset(dir.write("bad.jsonl", "x\ny\n"),
                                  mapping({}, OnError::Skip)));
  EXPECT_EQ(errorOf(readAll(*allBad, {})),
            "'" + dir.file("bad.jsonl") +
                "' has no valid records: all 2 non-blank lines were skipped "
                "(first: " +
                dir.file("bad.jsonl") +
                ":1:1: expected a JSON value, found 'x')");
}

TEST(Jsonl, MappingErrors) {
  JsonlOptions o = mapping({{"a", ".x"}, {"a", ".y"}});
  EXPECT_EQ(errorOf(jsonlDataset("f.jsonl", o)),
            "jsonl 'f.jsonl': field 'a' is mapped twice");
  EXPECT_EQ(errorOf(parseFieldPath(".a..b")),
            "field path '.a..b' has an empty component: expected names "
            "separated by single dots, such as '.meta.question'");
  EXPECT_EQ(errorOf(parseFieldPath(".a.")),
            "field path '.a.' ends with '.': expected a name after it");
  EXPECT_EQ(must(parseFieldPath("meta.q")),
            (std::vector<std::string>{"meta", "q"}));
  JsonlOptions empty;
  empty.mapping.push_back(FieldAlias{"", {"x"}});
  EXPECT_EQ(errorOf(jsonlDataset("f.jsonl", empty)),
            "jsonl 'f.jsonl': a field mapping has an empty name");
  empty.mapping[0] = FieldAlias{"p", {}};
  EXPECT_EQ(errorOf(jsonlDataset("f.jsonl", empty)),
            "jsonl 'f.jsonl': the mapping of 'p' has an empty path, expected "
            "e.g. '.question'");
  EXPECT_EQ(errorOf(parseFieldPath(".")),
            "field path '.' is empty: expected a field name such as "
            "'.question'");
}

TEST(Jsonl, LongLinesBeyondTheBuffer) {
  // A line over the 1 MiB read buffer.
  std::string big(3 << 20, 'x');
  auto d = must(jsonlBufferDataset(
      "big.jsonl", "{\"a\":\"" + big + "\"}\n{\"a\":\"small\"}\n"));
  auto rs = readRecords(d);
  ASSERT_EQ(rs.size(), 2u);
  EXPECT_EQ(rs[0].get("a")->getString().size(), big.size());
  EXPECT_EQ(rs[1].provenance().line, 2);
}

TEST(Jsonl, IndexedAccessMatchesStream) {
  TempDir dir;
  std::string text;
  for (int i = 0; i < 50; ++i)
    text += (i % 7 == 3 ? std::string("oops\n") : std::string()) +
            "{\"i\":" + std::to_string(i) + "}\n";
  auto d = must(
      jsonlDataset(dir.write("i.jsonl", text), mapping({}, OnError::Skip)));
  auto seq = readRecords(d);
  auto view = must(d->openIndexed({}));
  ASSERT_TRUE(view);
  ASSERT_EQ(view->size(), seq.size());
  for (size_t i = seq.size(); i-- > 0;) {
    Record r = must(view->get(i));
    EXPECT_EQ(r.toObject(), seq[i].toObject());
    EXPECT_EQ(r.provenance().line, seq[i].provenance().line);
  }
}

TEST(Jsonl, FileChangedUnderRandomAccess) {
  TempDir dir;
  std::string p = dir.write("c.jsonl", "{\"a\":1}\n{\"a\":2}\n");
  auto d = must(jsonlDataset(p));
  auto view = must(d->openIndexed({}));
  ASSERT_EQ(view->size(), 2u);
  dir.write("c.jsonl", "{\"a\":1}\n");
  EXPECT_EQ(errorOf(view->get(1)), "'" + p + "' changed while being read");
  dir.write("c.jsonl", "{\"a\":1}\nxxxxxxx\n");
  EXPECT_EQ(errorOf(view->get(1)),
            p + ":2:1: expected a JSON value, found 'x'");
  TextOptions para;
  para.split = TextSplit::Paragraph;
  std::string t = dir.write("t.txt", "a\n\nbb\n");
  auto tv = must(textDataset(t, para)->openIndexed({}));
  dir.write("t.txt", "a\n");
  EXPECT_EQ(errorOf(tv->get(1)), "'" + t + "' changed while being read");
}

TEST(Peek, FirstValidRecordOnly) {
  TempDir dir;
  std::string p = dir.write("p.jsonl", "\n{broken\n[1]\n{\"question\":1,"
                                       "\"id\":2}\n{\"other\":3}\n");
  EXPECT_EQ(must(peekFieldNames(p)),
            (std::vector<std::string>{"question", "id"}));
  EXPECT_EQ(errorOf(peekFieldNames(dir.write("n.jsonl", "x\n"))),
            "'" + dir.file("n.jsonl") +
                "' has no valid JSON object record (first: " +
                dir.file("n.jsonl") + ":1: expected a JSON value, found 'x')");
  EXPECT_EQ(errorOf(peekFieldNames(dir.file("none.jsonl"))),
            "cannot open '" + dir.file("none.jsonl") +
                "': no such file (expected a JSON lines file)");
}

TEST(Text, SplitModes) {
  std::string text = "first line\r\nsecond\n\n\nthird para\n  more\n\n";
  auto lines = readRecords(textBufferDataset("t.txt", text));
  EXPECT_EQ(column(lines, "text"),
            (std::vector<std::string>{"first line", "second", "third para",
                                      "  more"}));
  EXPECT_EQ(lines[2].provenance().line, 5);
  TextOptions para;
  para.split = TextSplit::Paragraph;
  auto paras = readRecords(textBufferDataset("t.txt", text, para));
  EXPECT_EQ(
      column(paras, "text"),
      (std::vector<std::string>{"first line\nsecond", "third para\n  more"}));
  EXPECT_EQ(paras[1].provenance().line, 5);
  TextOptions file;
  file.split = TextSplit::File;
  auto whole = readRecords(textBufferDataset("t.txt", text, file));
  ASSERT_EQ(whole.size(), 1u);
  EXPECT_EQ(whole[0].get("text")->getString(),
            "first line\nsecond\n\n\nthird para\n  more\n");
}

TEST(Text, IndexedParagraphsMatchStream) {
  TempDir dir;
  TextOptions para;
  para.split = TextSplit::Paragraph;
  auto d = textDataset(dir.write("p.txt", "a\nb\n\nc\n\n\nd\ne\nf"), para);
  auto seq = readRecords(d);
  auto view = must(d->openIndexed({}));
  ASSERT_EQ(view->size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    Record r = must(view->get(i));
    EXPECT_EQ(r.toObject(), seq[i].toObject());
    EXPECT_EQ(r.provenance().line, seq[i].provenance().line);
  }
}

TEST(Text, ErrorsAndUtf8) {
  auto bad = textBufferDataset("t.txt", "ok\nab\xFFz\n");
  EXPECT_EQ(errorOf(readAll(*bad, {})),
            "t.txt:2:3: invalid UTF-8: byte 0xff is not part of a valid "
            "character (byte offset 5 in the file; use invalid_utf8: replace "
            "to substitute U+FFFD)");
  TextOptions repl;
  repl.invalidUtf8 = InvalidUtf8::Replace;
  auto rs = readRecords(textBufferDataset("t.txt", "ab\xFFz\n", repl));
  EXPECT_EQ(rs[0].get("text")->getString(), "ab\xEF\xBF\xBDz");
  EXPECT_EQ(errorOf(readAll(*textBufferDataset("t.txt", " \n\n"), {})),
            "'t.txt' has no text: it has only blank lines");
  EXPECT_EQ(errorOf(textDataset("/nonexistent/c.txt")->open({})),
            "cannot open '/nonexistent/c.txt': no such file (expected a text "
            "file)");
  EXPECT_EQ(*textDataset("c.txt")->schema(), std::vector<std::string>{"text"});
}

TEST(Records, HostRecordsGetProvenance) {
  auto d = textRecords({"x", "y"});
  auto rs = readRecords(d);
  EXPECT_EQ(rs[1].provenance().where(), "mem#2");
  EXPECT_EQ(rs[1].provenance().chainString(), "records");
}
