//===- SafeTensorsTest.cpp - safetensors reading, writing, sharding -------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "ftl/Models/SafeTensors.h"

#include "TestUtil.h"

#include "llvm/Support/MemoryBuffer.h"

using namespace ftl::rt;
using namespace ftl::test;

namespace {
std::string errorOf(llvm::Error err) {
  EXPECT_TRUE(bool(err)) << "expected an error";
  return toString(std::move(err));
}
template <class T>
std::string errorOf(llvm::Expected<T> value) {
  if (value) {
    ADD_FAILURE() << "expected an error";
    return "";
  }
  return toString(value.takeError());
}

Tensor i8Tensor(std::vector<int8_t> values, Shape shape) {
  Tensor t = Tensor::zeros(DType::I8, shape);
  std::memcpy(t.mutableData(), values.data(), values.size());
  return t;
}
} // namespace

TEST(SafeTensors, ReadsFixtureAsZeroCopyViews) {
  std::string path = fixture("tiny-llama/model.safetensors");
  auto file = SafeTensorsFile::open(path);
  ASSERT_TRUE(bool(file)) << toString(file.takeError());
  auto raw = readRawSafeTensors(path);
  ASSERT_EQ(file->size(), raw.size());
  EXPECT_EQ(file->metadata().at("format"), "pt");
  for (const auto &[name, expected] : raw) {
    Tensor t = file->get(name);
    ASSERT_TRUE(t.valid()) << name;
    EXPECT_EQ(dtypeName(t.dtype()), expected.dtype) << name;
    EXPECT_EQ(std::vector<int64_t>(t.shape().begin(), t.shape().end()),
              expected.shape)
        << name;
    ASSERT_EQ(t.nbytes(), expected.bytes.size()) << name;
    EXPECT_EQ(std::memcmp(t.data(), expected.bytes.data(), t.nbytes()), 0)
        << name;
    EXPECT_FALSE(t.isWritable());
    EXPECT_TRUE(t.getStorage()->isMapped());
  }
  EXPECT_FALSE(file->get("no.such.tensor").valid());
  // names() follows the data order in the file.
  size_t previous = 0;
  for (const std::string &name : file->names()) {
    size_t offset = file->get(name).byteOffset();
    EXPECT_GE(offset, previous);
    previous = offset;
  }
}

TEST(SafeTensors, ParseFromMemoryMatchesOpen) {
  std::string path = fixture("tiny-qwen2/model.safetensors");
  std::string bytes = readBytes(path);
  auto fromMemory =
      SafeTensorsFile::parse(llvm::MemoryBufferRef(bytes, "in-memory"));
  auto fromFile = SafeTensorsFile::open(path);
  ASSERT_TRUE(bool(fromMemory)) << toString(fromMemory.takeError());
  ASSERT_TRUE(bool(fromFile));
  EXPECT_EQ(fromMemory->names(), fromFile->names());
  for (const std::string &name : fromFile->names())
    EXPECT_TRUE(fromMemory->get(name).bitwiseEqual(fromFile->get(name)));
}

TEST(SafeTensors, WriterBytesMatchHandBuiltFile) {
  Tensor a = Tensor::fromF32({1.0f, -2.0f}, {2});
  Tensor b = i8Tensor({1, 2, -3}, {3});
  Tensor c = Tensor::zeros(DType::BF16, {});
  c.dataAs<uint16_t>()[0] = 0x3F80; // 1.0
  std::string out;
  llvm::raw_string_ostream os(out);
  ASSERT_FALSE(bool(writeSafeTensors(os, {{"a", a}, {"b", b}, {"c", c}},
                                     {{"format", "pt"}})));
  std::string header =
      R"({"__metadata__":{"format":"pt"},)"
      R"("a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
      R"("b":{"dtype":"I8","shape":[3],"data_offsets":[8,11]},)"
      R"("c":{"dtype":"BF16","shape":[],"data_offsets":[11,13]}})";
  ASSERT_EQ(header.size(), 193u);
  header += std::string(7, ' '); // padded to 200 = 25 * 8
  std::string expected = std::string("\xc8\0\0\0\0\0\0\0", 8) + header +
                         std::string("\x00\x00\x80\x3f\x00\x00\x00\xc0", 8) +
                         std::string("\x01\x02\xfd", 3) +
                         std::string("\x80\x3f", 2);
  EXPECT_EQ(out, expected);

  std::string empty;
  llvm::raw_string_ostream emptyOs(empty);
  ASSERT_FALSE(bool(writeSafeTensors(emptyOs, {})));
  EXPECT_EQ(empty, std::string("\x08\0\0\0\0\0\0\0{}      ", 16));
}

TEST(SafeTensors, WriterReproducesFilesFromThePythonLibrary) {
  // The safetensors Python package wrote these; the same tensors in the same
  // order must give the same bytes.
  for (const char *name : {"tiny-gpt2", "tiny-qwen2", "tiny-llama"}) {
    std::string path = fixture(std::string(name) + "/model.safetensors");
    auto file = SafeTensorsFile::open(path);
    ASSERT_TRUE(bool(file)) << toString(file.takeError());
    std::string out;
    llvm::raw_string_ostream os(out);
    ASSERT_FALSE(bool(writeSafeTensors(os, file->tensors(), file->metadata())));
    EXPECT_TRUE(out == readBytes(path)) << name;
  }
}

TEST(SafeTensors, RoundTripEveryDType) {
  TempDir dir;
  std::vector<NamedTensor> tensors;
  const DType all[] = {DType::F32, DType::F16, DType::BF16, DType::F64,
                       DType::I64, DType::I32, DType::I16,  DType::I8,
                       DType::U8,  DType::Bool};
  int k = 0;
  for (DType type : all) {
    Tensor t = Tensor::zeros(type, {3, 1 + k % 3});
    auto *bytes = static_cast<uint8_t *>(t.mutableData());
    for (size_t i = 0; i < t.nbytes(); ++i)
      bytes[i] = static_cast<uint8_t>(i * 37 + k);
    if (type == DType::Bool)
      for (size_t i = 0; i < t.nbytes(); ++i)
        bytes[i] &= 1;
    tensors.emplace_back("t" + std::to_string(k++), t);
  }
  tensors.emplace_back("empty", Tensor::zeros(DType::F32, {0, 4}));
  std::string path = dir.file("all.safetensors");
  ASSERT_FALSE(bool(writeSafeTensors(path, tensors, {{"k", "v"}})));
  auto file = SafeTensorsFile::open(path);
  ASSERT_TRUE(bool(file)) << toString(file.takeError());
  EXPECT_EQ(file->metadata(), (SafeTensorsMetadata{{"k", "v"}}));
  ASSERT_EQ(file->size(), tensors.size());
  for (const auto &[name, tensor] : tensors)
    EXPECT_TRUE(file->get(name).bitwiseEqual(tensor)) << name;
  // Tensors come back in the order written (their data order).
  std::vector<std::string> names;
  for (const auto &nt : tensors)
    names.push_back(nt.first);
  EXPECT_EQ(file->names(), names);
}

TEST(SafeTensors, WriterRejectsBadNames) {
  std::string out;
  llvm::raw_string_ostream os(out);
  Tensor t = Tensor::fromF32({1}, {1});
  EXPECT_NE(errorOf(writeSafeTensors(os, {{"x", t}, {"x", t}}))
                .find("two tensors named 'x'"),
            std::string::npos);
  EXPECT_NE(errorOf(writeSafeTensors(os, {{"", t}})).find("empty name"),
            std::string::npos);
  EXPECT_NE(
      errorOf(writeSafeTensors(os, {{"__metadata__", t}})).find("reserved"),
      std::string::npos);
  EXPECT_NE(errorOf(writeSafeTensors(os, {{"y", Tensor()}}))
                .find("tensor 'y': it has no data"),
            std::string::npos);
  EXPECT_NE(errorOf(writeSafeTensors(os, {{"bad\xff", t}})).find("UTF-8"),
            std::string::npos);
  EXPECT_TRUE(out.empty()); // nothing written on error
  // A failed atomic write leaves no file behind.
  TempDir dir;
  std::string path = dir.file("x.safetensors");
  EXPECT_TRUE(
      bool(errorOf(writeSafeTensors(path, {{"x", t}, {"x", t}})).size()));
  EXPECT_TRUE(listDir(dir.path).empty());
}

namespace {
struct BadCase {
  const char *what;
  std::string bytes;
  std::vector<std::string> expected; // substrings of the message
};
} // namespace

TEST(SafeTensors, RejectsEveryKindOfBrokenFile) {
  const std::string f4 = std::string(4, '\0');
  std::vector<BadCase> cases = {
      {"shorter than 8 bytes", "abc", {"3 bytes long", "8-byte header"}},
      {"empty file", "", {"0 bytes long", "8-byte header"}},
      {"header longer than the file",
       makeSafeTensors("{}", "", 100),
       {"declares a header of 100 bytes", "only 2 bytes follow"}},
      {"absurd header length",
       makeSafeTensors("{}", "", int64_t(1) << 40),
       {"more than the 100000000-byte limit"}},
      {"not JSON", makeSafeTensors("{not json"), {"is not valid JSON"}},
      {"not UTF-8", makeSafeTensors("{\"a\xff\":1}"), {"is not valid JSON"}},
      {"not an object",
       makeSafeTensors("[1, 2]"),
       {"must be a JSON object, found an array"}},
      {"entry not an object",
       makeSafeTensors(R"({"w": 5})"),
       {"tensor 'w'", "must be an object", "found a number"}},
      {"missing dtype",
       makeSafeTensors(R"({"w":{"shape":[1],"data_offsets":[0,4]}})", f4),
       {"tensor 'w'", "has no 'dtype'"}},
      {"missing shape",
       makeSafeTensors(R"({"w":{"dtype":"F32","data_offsets":[0,4]}})", f4),
       {"tensor 'w'", "has no 'shape'"}},
      {"missing data_offsets",
       makeSafeTensors(R"({"w":{"dtype":"F32","shape":[1]}})", f4),
       {"tensor 'w'", "has no 'data_offsets'"}},
      {"dtype not a string",
       makeSafeTensors(R"({"w":{"dtype":4,"shape":[1],"data_offsets":[0,4]}})",
                       f4),
       {"tensor 'w'", "'dtype' must be a string, found a number"}},
      {"unknown dtype",
       makeSafeTensors(
           R"({"w":{"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1]}})",
           "x"),
       {"tensor 'w'", "unknown dtype 'F8_E4M3'", "expected one of F32"}},
      {"shape not an array",
       makeSafeTensors(
           R"({"w":{"dtype":"F32","shape":4,"data_offsets":[0,4]}})", f4),
       {"tensor 'w'", "'shape' must be an array", "found a number"}},
      {"negative dim",
       makeSafeTensors(
           R"({"w":{"dtype":"F32","shape":[2,-1],"data_offsets":[0,4]}})", f4),
       {"tensor 'w'", "dimension 1 of 'shape' is negative (-1)"}},
      {"fractional dim",
       makeSafeTensors(
           R"({"w":{"dtype":"F32","shape":[2.5],"data_offsets":[0,4]}})", f4),
       {"tensor 'w'", "dimension 0 of 'shape' is not an integer (2.5)"}},
      {"integral float dim",
       makeSafeTensors(
           R"({"w":{"dtype":"F32","shape":[1.0],"data_offsets":[0,4]}})", f4),
       {"tensor 'w'", "dimension 0 of 'shape' is not an integer"}},
      {"string dim",
       makeSafeTensors(
           R"({"w":{"dtype":"F32","shape":["1"],"data_offsets":[0,4]}})", f4),
       {"tensor 'w'", "must be a non-negative integer, found a string"}},
      {"dims overflow",
       makeSafeTensors(R"({"w":{"dtype":"F32","shape":[4611686018427387904,)"
                       R"(4611686018427387904],"data_offsets":[0,4]}})",
                       f4),
       {"tensor 'w'", "more than 2^64", "span 4 bytes"}},
      {"offsets wrong arity",
       makeSafeTensors(
           R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0]}})", f4),
       {"tensor 'w'", "[begin, end]", "an array of 1 elements"}},
      {"negative offset",
       makeSafeTensors(
           R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}})", f4),
       {"tensor 'w'", "data_offsets begin is negative (-4)"}},
      {"reversed offsets",
       makeSafeTensors(
           R"({"w":{"dtype":"F32","shape":[0],"data_offsets":[4,0]}})", f4),
       {"tensor 'w'", "reversed data_offsets [4, 0]"}},
      {"size mismatch",
       makeSafeTensors(
           R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}})", f4),
       {"tensor 'w'", "shape [2] and dtype F32, which need 8 bytes",
        "span 4 bytes"}},
      {"out of bounds",
       makeSafeTensors(
           R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", f4),
       {"tensor 'w'", "past the end of the data section (4 bytes)"}},
      {"overlap",
       makeSafeTensors(
           R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
           R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
           std::string(12, '\0')),
       {"tensor 'b'", "overlaps tensor 'a'"}},
      {"hole",
       makeSafeTensors(
           R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
           R"("b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})",
           std::string(12, '\0')),
       {"bytes 4..8", "belong to no tensor", "before tensor 'b'"}},
      {"trailing bytes",
       makeSafeTensors(
           R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})",
           std::string(8, '\0')),
       {"the last 4 bytes", "belong to no tensor"}},
      {"metadata not a map",
       makeSafeTensors(R"({"__metadata__":[1]})"),
       {"'__metadata__'", "must be a map of strings, found an array"}},
      {"metadata value not a string",
       makeSafeTensors(R"({"__metadata__":{"format":1}})"),
       {"'__metadata__' entry 'format'", "must be a string, found a number"}},
      {"empty tensor name",
       makeSafeTensors(
           R"({"":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", f4),
       {"has a tensor with an empty name"}},
      {"repeated tensor name",
       makeSafeTensors(
           R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
           R"("a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})",
           f4),
       {"lists 'a' more than once"}},
  };
  TempDir dir;
  int index = 0;
  for (const BadCase &c : cases) {
    std::string path =
        dir.file("bad" + std::to_string(index++) + ".safetensors");
    writeBytes(path, c.bytes);
    std::string message = errorOf(SafeTensorsFile::open(path));
    EXPECT_NE(message.find("'" + path + "'"), std::string::npos)
        << c.what << ": " << message;
    for (const std::string &part : c.expected)
      EXPECT_NE(message.find(part), std::string::npos)
          << c.what << ": " << message;
    EXPECT_TRUE(!message.empty() &&
                (std::islower(message[0]) || message[0] == '\''))
        << message;
    // The in-memory entry point gives the same verdict.
    std::string memoryMessage =
        errorOf(SafeTensorsFile::parse(llvm::MemoryBufferRef(c.bytes, path)));
    if (c.bytes.empty())
      continue; // mapping refuses empty files before parsing
    EXPECT_EQ(memoryMessage, message) << c.what;
  }
  std::string missing = errorOf(SafeTensorsFile::open(dir.file("none")));
  EXPECT_NE(missing.find("cannot open"), std::string::npos) << missing;
}

TEST(SafeTensors, ShardedFolderEqualsSingleFile) {
  auto sharded = loadSafeTensorsFolder(fixture("tiny-llama-sharded"));
  ASSERT_TRUE(bool(sharded)) << toString(sharded.takeError());
  auto single = loadSafeTensorsFolder(fixture("tiny-llama"));
  ASSERT_TRUE(bool(single)) << toString(single.takeError());
  ASSERT_EQ(sharded->size(), single->size());
  std::map<std::string, Tensor> byName(single->begin(), single->end());
  for (const auto &[name, tensor] : *sharded) {
    ASSERT_TRUE(byName.count(name)) << name;
    EXPECT_TRUE(tensor.bitwiseEqual(byName[name])) << name;
  }
}

TEST(SafeTensors, PlanShardsFollowsHuggingFaceHub) {
  auto sized = [](std::vector<int64_t> sizes) {
    std::vector<NamedTensor> out;
    for (size_t i = 0; i < sizes.size(); ++i)
      out.emplace_back("t" + std::to_string(i),
                       Tensor::zeros(DType::U8, {sizes[i]}));
    return out;
  };
  using Plan = std::vector<std::vector<size_t>>;
  // The example of huggingface_hub's docstring: [6, 6, 2, 6, 2, 2] with a
  // limit of 10 gives [6], [6+2], [6+2+2].
  EXPECT_EQ(planShards(sized({6, 6, 2, 6, 2, 2}), 10),
            (Plan{{0}, {1, 2}, {3, 4, 5}}));
  // An oversized tensor gets its own shard, placed before the shard still
  // being filled.
  EXPECT_EQ(planShards(sized({4, 20, 4}), 10), (Plan{{1}, {0, 2}}));
  EXPECT_EQ(planShards(sized({4, 4}), 0), (Plan{{0, 1}}));
  EXPECT_EQ(planShards(sized({5, 5}), 10), (Plan{{0, 1}}));
}

TEST(SafeTensors, ShardIndexTextMatchesPythonJsonDumps) {
  // Expected text produced by Python's
  // json.dumps(index, indent=2, sort_keys=True) + "\n".
  std::string expected = "{\n"
                         "  \"metadata\": {\n"
                         "    \"total_size\": 10\n"
                         "  },\n"
                         "  \"weight_map\": {\n"
                         "    \"a\\\"\\u00e9\\ud83d\\ude00\": \"y\",\n"
                         "    \"b\": \"x\"\n"
                         "  }\n"
                         "}\n";
  EXPECT_EQ(
      formatShardIndex(10, {{"b", "x"}, {"a\"\xc3\xa9\xf0\x9f\x98\x80", "y"}}),
      expected);
  EXPECT_EQ(formatShardIndex(0, {}),
            "{\n  \"metadata\": {\n    \"total_size\": 0\n  },\n"
            "  \"weight_map\": {}\n}\n");
}

TEST(SafeTensors, WriteFolderShardsAndReadsBack) {
  TempDir dir;
  std::vector<NamedTensor> tensors;
  for (int i = 0; i < 5; ++i)
    tensors.emplace_back("w" + std::to_string(i),
                         Tensor::fromF32(std::vector<float>(10, i), {10}));
  ASSERT_FALSE(bool(writeSafeTensorsFolder(dir.path, tensors, 80)));
  EXPECT_EQ(listDir(dir.path),
            (std::vector<std::string>{"model-00001-of-00003.safetensors",
                                      "model-00002-of-00003.safetensors",
                                      "model-00003-of-00003.safetensors",
                                      "model.safetensors.index.json"}));
  auto back = loadSafeTensorsFolder(dir.path);
  ASSERT_TRUE(bool(back)) << toString(back.takeError());
  ASSERT_EQ(back->size(), 5u);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ((*back)[i].first, tensors[i].first);
    EXPECT_TRUE((*back)[i].second.bitwiseEqual(tensors[i].second));
  }
  TempDir single;
  ASSERT_FALSE(bool(writeSafeTensorsFolder(single.path, tensors)));
  EXPECT_EQ(listDir(single.path),
            std::vector<std::string>{"model.safetensors"});
  EXPECT_NE(
      errorOf(writeSafeTensorsFolder(single.path, {tensors[0], tensors[0]}, 10))
          .find("two tensors named 'w0'"),
      std::string::npos);
}

TEST(SafeTensors, RejectsBrokenShardIndexes) {
  std::string source = fixture("tiny-llama-sharded");
  std::string indexText = readBytes(source + "/model.safetensors.index.json");
  struct Case {
    const char *what;
    std::function<void(const std::string &dir)> breakIt;
    std::vector<std::string> expected;
  } cases[] = {
      {"index not JSON",
       [](const std::string &d) {
         writeBytes(d + "/model.safetensors.index.json", "{oops");
       },
       {"model.safetensors.index.json' is not valid JSON"}},
      {"no weight_map",
       [](const std::string &d) {
         writeBytes(d + "/model.safetensors.index.json", R"({"metadata":{}})");
       },
       {"has no 'weight_map'"}},
      {"weight_map not an object",
       [](const std::string &d) {
         writeBytes(d + "/model.safetensors.index.json",
                    R"({"weight_map":[]})");
       },
       {"'weight_map'", "must be an object", "found an array"}},
      {"shard missing",
       [](const std::string &d) {
         llvm::sys::fs::remove(d + "/model-00002-of-00003.safetensors");
       },
       {"shard 'model-00002-of-00003.safetensors'", "does not exist"}},
      {"tensor not in its shard",
       [&](const std::string &d) {
         std::string text = indexText;
         size_t at = text.find("\"lm_head.weight\": \"model-00003");
         text.replace(at + 29, 1, "1");
         writeBytes(d + "/model.safetensors.index.json", text);
       },
       {"tensor 'lm_head.weight' is mapped to shard "
        "'model-00001-of-00003.safetensors'",
        "does not contain it"}},
      {"shard holds an unlisted tensor",
       [&](const std::string &d) {
         std::string text = indexText;
         size_t at = text.find("    \"lm_head.weight\"");
         size_t end = text.find('\n', at);
         text.erase(at, end - at + 1);
         writeBytes(d + "/model.safetensors.index.json", text);
       },
       {"holds tensor 'lm_head.weight'", "does not map to it"}},
      {"shard path escapes the folder",
       [](const std::string &d) {
         writeBytes(d + "/model.safetensors.index.json",
                    R"({"weight_map":{"a":"../x.safetensors"}})");
       },
       {"names shard '../x.safetensors'", "expected a file name inside"}},
      {"no weights at all",
       [](const std::string &d) {
         llvm::sys::fs::remove(d + "/model.safetensors.index.json");
       },
       {"no weights in", "expected 'model.safetensors' or "
                         "'model.safetensors.index.json'"}},
  };
  for (const Case &c : cases) {
    TempDir dir;
    copyDir(source, dir.path);
    c.breakIt(std::string(dir.path));
    std::string message = errorOf(loadSafeTensorsFolder(dir.path));
    for (const std::string &part : c.expected)
      EXPECT_NE(message.find(part), std::string::npos)
          << c.what << ": " << message;
  }
  TempDir pickled;
  writeBytes(pickled.file("pytorch_model.bin"), "PK");
  EXPECT_NE(errorOf(loadSafeTensorsFolder(pickled.path))
                .find("found 'pytorch_model.bin', a PyTorch pickle ftl does "
                      "not read"),
            std::string::npos);
  std::string message = errorOf(loadSafeTensorsFolder("/nonexistent/model"));
  EXPECT_NE(message.find("'/nonexistent/model' does not exist"),
            std::string::npos)
      << message;
}
