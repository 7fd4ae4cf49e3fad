//===- RunFolderTest.cpp - Run folders, manifests, hashing, resume --------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
//
// Expected SHA-256 values come from the FIPS 180-2 vectors and Python's
// hashlib, e.g. `hashlib.sha256(bytes((i * 31 + 7) % 251 for i in
// range(3 * 1024 * 1024 + 7))).hexdigest()`, not from this library.
//
//===----------------------------------------------------------------------===//

#include "RunTestUtil.h"

#include "ftl/Run/RunFolder.h"

#include "llvm/Config/llvm-config.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include "gtest/gtest.h"

#include <cstdlib>
#include <ctime>
#include <set>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

using namespace ftl::rt;
using namespace ftl::rt::test;
namespace json = llvm::json;
namespace fs = llvm::sys::fs;
using Clock = std::chrono::system_clock;

namespace {
constexpr const char *kShaAbc =
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
constexpr const char *kShaEmpty =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
constexpr const char *kShaPattern =
    "397ed8f188dd124f4dc37c1228bb831b3cdcdfad610b637634fd5695a5e6493e";
/// SHA-256 of "seed 1234\n".
constexpr const char *kShaScript =
    "26baf25e907164808c94206f915f7467944f8cf7d7fadfda1c6b0706e6789ae8";
/// SHA-256 of "{\"model\": {}}\n".
constexpr const char *kShaTokenizer =
    "5bcc064c2eae9235ff67fee8ca87e184a049688beaa62791f2640f0b10ea5056";

/// 2024-05-01 12:34:56.123 UTC.
Clock::time_point fixedTime(int64_t extraSeconds = 0) {
  return Clock::time_point(
      std::chrono::milliseconds(1714566896123 + extraSeconds * 1000));
}

std::string patternBytes() {
  std::string bytes(3 * 1024 * 1024 + 7, '\0');
  for (size_t i = 0; i < bytes.size(); ++i)
    bytes[i] = static_cast<char>((i * 31 + 7) % 251);
  return bytes;
}

std::string realPath(llvm::StringRef path) {
  llvm::SmallString<256> real;
  EXPECT_FALSE(fs::real_path(path, real));
  return std::string(real);
}

/// Folder names use local time; the tests fix the zone.
class RunFolderTest : public ::testing::Test {
protected:
  void SetUp() override {
    ::setenv("TZ", "UTC", 1);
    ::tzset();
    script = dir.file("project/train.ftl");
    writeFile(script, "seed 1234\n");
    runs = dir.file("runs");
  }

  RunInfo info() const {
    RunInfo result;
    result.commandLine = {"ftl", "run", "train.ftl", "--threads", "4"};
    result.seed = 1234;
    result.threads = 4;
    result.device = "cpu";
    result.startTime = fixedTime();
    return result;
  }

  RunFolder createOk(const RunInfo &runInfo) {
    llvm::Expected<RunFolder> folder = RunFolder::create(runs, script, runInfo);
    if (!folder) {
      ADD_FAILURE() << llvm::toString(folder.takeError());
      std::abort();
    }
    return std::move(*folder);
  }

  std::string createError(const RunInfo &runInfo) {
    llvm::Expected<RunFolder> folder = RunFolder::create(runs, script, runInfo);
    return folder ? "<no error>" : llvm::toString(folder.takeError());
  }

  /// The manifest as written on disk.
  json::Object manifestOnDisk(const RunFolder &folder) {
    llvm::Expected<json::Value> value =
        json::parse(readFile(folder.manifestPath()));
    if (!value) {
      ADD_FAILURE() << llvm::toString(value.takeError());
      return {};
    }
    return std::move(*value->getAsObject());
  }

  std::string findError() {
    llvm::Expected<std::string> found = RunFolder::findResumable(runs, script);
    return found ? "<found " + *found + ">" : llvm::toString(found.takeError());
  }

  TempDir dir;
  std::string script;
  std::string runs;
};
} // namespace

TEST_F(RunFolderTest, CreatesTheLayoutAndAManifest) {
  writeFile(dir.file("data/train.jsonl"), "abc");
  writeFile(dir.file("model/model.safetensors"), patternBytes());
  writeFile(dir.file("model/config.json"), "");
  writeFile(dir.file("model/.git/objects/big"), "not hashed");
  writeFile(dir.file("model/sub/tokenizer.json"), "{\"model\": {}}\n");
  RunInfo runInfo = info();
  runInfo.inputs = {{"data", dir.file("data/train.jsonl")},
                    {"model", dir.file("model")}};
  runInfo.resolvedIR = "module {\n  ftl.pipeline\n}\n";
  RunFolder folder = createOk(runInfo);

  EXPECT_EQ(folder.path(), runs + "/train-20240501-123456");
  EXPECT_EQ(listDir(folder.path()),
            (std::vector<std::string>{"checkpoints", "manifest.json",
                                      "metrics.jsonl", "samples"}));
  EXPECT_EQ(readFile(folder.metricsPath()), "");
  EXPECT_TRUE(listDir(folder.checkpointsDir()).empty());
  EXPECT_TRUE(fs::is_directory(folder.samplesDir()));

  json::Object m = manifestOnDisk(folder);
  EXPECT_EQ(m.getString("format"), "ftl-run");
  EXPECT_EQ(m.getInteger("version"), 1);
  EXPECT_EQ(m.getString("status"), "running");
  EXPECT_EQ(m.getString("ftl_version"), FTL_PROJECT_VERSION);
  const json::Object *build = m.getObject("build");
  ASSERT_TRUE(build);
  EXPECT_EQ(build->getString("llvm"), LLVM_VERSION_STRING);
  EXPECT_FALSE(build->getString("cxx_compiler").value_or("").empty());
  json::Array expectedArgs{"ftl", "run", "train.ftl", "--threads", "4"};
  EXPECT_EQ(*m.get("command_line"), json::Value(std::move(expectedArgs)));
  const json::Object *scriptInfo = m.getObject("script");
  ASSERT_TRUE(scriptInfo);
  EXPECT_EQ(scriptInfo->getString("path"), realPath(script));
  EXPECT_EQ(scriptInfo->getString("sha256"), kShaScript);
  EXPECT_EQ(scriptInfo->getInteger("bytes"), 10);
  EXPECT_EQ(m.getInteger("seed"), 1234);
  EXPECT_EQ(m.getInteger("threads"), 4);
  EXPECT_EQ(m.getString("device"), "cpu");
  EXPECT_EQ(m.getString("start_time"), "2024-05-01T12:34:56.123Z");
  EXPECT_EQ(*m.get("end_time"), json::Value(nullptr));
  EXPECT_EQ(m.getInteger("pid"), ::getpid());
  EXPECT_EQ(m.getString("ir"), "module {\n  ftl.pipeline\n}\n");

  const json::Object *host = m.getObject("host");
  ASSERT_TRUE(host);
  char hostname[256] = {0};
  ::gethostname(hostname, sizeof(hostname) - 1);
  EXPECT_EQ(host->getString("hostname"), hostname);
  EXPECT_FALSE(host->getString("cpu_model").value_or("").empty());
  EXPECT_EQ(host->getInteger("logical_cores"),
            static_cast<int64_t>(std::thread::hardware_concurrency()));
  EXPECT_GT(host->getInteger("memory_bytes").value_or(0), 0);

  // Inputs: folders expanded (sorted, hidden entries skipped), each file
  // with its size and SHA-256.
  const json::Array *inputs = m.getArray("inputs");
  ASSERT_TRUE(inputs);
  struct Want {
    const char *role;
    std::string path;
    int64_t bytes;
    const char *sha;
  };
  std::vector<Want> want = {
      {"data", realPath(dir.file("data/train.jsonl")), 3, kShaAbc},
      {"model", realPath(dir.file("model/config.json")), 0, kShaEmpty},
      {"model", realPath(dir.file("model/model.safetensors")),
       3 * 1024 * 1024 + 7, kShaPattern},
      {"model", realPath(dir.file("model/sub/tokenizer.json")), 14,
       kShaTokenizer}};
  ASSERT_EQ(inputs->size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    const json::Object *entry = (*inputs)[i].getAsObject();
    ASSERT_TRUE(entry);
    EXPECT_EQ(entry->getString("role"), want[i].role);
    EXPECT_EQ(entry->getString("path"), want[i].path);
    EXPECT_EQ(entry->getInteger("bytes"), want[i].bytes);
    EXPECT_EQ(entry->getString("sha256"), want[i].sha) << want[i].path;
  }

  // The in-memory copy agrees with the file.
  EXPECT_EQ(json::Value(folder.manifest()), json::Value(std::move(m)));
}

TEST_F(RunFolderTest, ManifestReadsInAFixedKeyOrder) {
  RunFolder folder = createOk(info());
  std::string text = readFile(folder.manifestPath());
  size_t format = text.find("\"format\""), status = text.find("\"status\"");
  size_t seed = text.find("\"seed\""), ir = text.find("\"ir\"");
  ASSERT_NE(ir, std::string::npos);
  EXPECT_LT(format, status);
  EXPECT_LT(status, seed);
  EXPECT_LT(seed, ir);
  EXPECT_TRUE(llvm::StringRef(text).starts_with("{\n  \"format\": "));
  EXPECT_TRUE(llvm::StringRef(text).ends_with("}\n"));
}

TEST_F(RunFolderTest, NamesAreUniqueUnderContention) {
  constexpr int kThreads = 8, kEach = 5;
  std::vector<std::vector<std::string>> made(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        llvm::Expected<RunFolder> folder =
            RunFolder::create(runs, script, info());
        if (!folder) {
          ADD_FAILURE() << llvm::toString(folder.takeError());
          continue;
        }
        made[t].push_back(folder->path());
      }
    });
  for (std::thread &thread : threads)
    thread.join();
  std::set<std::string> names;
  for (const auto &list : made)
    for (const std::string &path : list) {
      EXPECT_TRUE(names.insert(llvm::sys::path::filename(path).str()).second);
      EXPECT_NE(readFile(path + "/manifest.json"), "<missing>");
    }
  ASSERT_EQ(names.size(), static_cast<size_t>(kThreads * kEach));
  std::set<std::string> expected = {"train-20240501-123456"};
  for (int n = 2; n <= kThreads * kEach; ++n)
    expected.insert("train-20240501-123456-" + std::to_string(n));
  EXPECT_EQ(names, expected);
}

TEST_F(RunFolderTest, NamesAreUniqueAcrossProcesses) {
  constexpr int kChildren = 4;
  std::vector<pid_t> children;
  for (int c = 0; c < kChildren; ++c) {
    pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      for (int i = 0; i < 3; ++i) {
        llvm::Expected<RunFolder> folder =
            RunFolder::create(runs, script, info());
        if (!folder) {
          llvm::consumeError(folder.takeError());
          ::_exit(1);
        }
      }
      ::_exit(0);
    }
    children.push_back(child);
  }
  for (pid_t child : children) {
    int status = 0;
    ::waitpid(child, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  std::vector<std::string> names = listDir(runs);
  llvm::erase_if(names, [](const std::string &name) {
    return llvm::StringRef(name).starts_with(".");
  });
  EXPECT_EQ(names.size(), 12u);
}

TEST_F(RunFolderTest, UpdatesRewriteTheManifest) {
  RunFolder folder = createOk(info());
  ASSERT_FALSE(bool(folder.setResolvedIR("module {}\n")));
  ASSERT_FALSE(bool(folder.recordSeed("init", 99)));
  ASSERT_FALSE(bool(folder.recordSeed("shuffle:train", 18446744073709551615u)));
  ASSERT_FALSE(bool(folder.setField("notes", "first try")));
  ASSERT_FALSE(bool(folder.finish(
      RunStatus::Completed, "", json::Object{{"loss", 1.5}, {"steps", 200}})));
  json::Object m = manifestOnDisk(folder);
  EXPECT_EQ(m.getString("status"), "completed");
  EXPECT_EQ(m.getString("ir"), "module {}\n");
  EXPECT_EQ(m.getString("notes"), "first try");
  const json::Object *seeds = m.getObject("seeds");
  ASSERT_TRUE(seeds);
  EXPECT_EQ(seeds->getInteger("init"), 99);
  EXPECT_EQ(seeds->get("shuffle:train")->getAsUINT64(),
            std::optional<uint64_t>(18446744073709551615u));
  const json::Object *final = m.getObject("final_metrics");
  ASSERT_TRUE(final);
  EXPECT_EQ(final->getNumber("loss"), 1.5);
  EXPECT_EQ(final->getInteger("steps"), 200);
  std::string endTime = m.getString("end_time").value_or("").str();
  ASSERT_EQ(endTime.size(), 24u) << endTime;
  EXPECT_EQ(endTime[10], 'T');
  EXPECT_EQ(endTime.back(), 'Z');

  ASSERT_FALSE(
      bool(folder.finish(RunStatus::Failed, "out of memory in step 7")));
  json::Object failed = manifestOnDisk(folder);
  EXPECT_EQ(failed.getString("status"), "failed");
  EXPECT_EQ(failed.getString("message"), "out of memory in step 7");

  llvm::Error refused = folder.setField("status", "completed");
  EXPECT_EQ(llvm::toString(std::move(refused)),
            "manifest field 'status' is maintained by the run folder itself; "
            "use finish(), recordSeed() or setResolvedIR()");
  // Reopening reads the same manifest.
  llvm::Expected<RunFolder> reopened = RunFolder::open(folder.path());
  ASSERT_TRUE(bool(reopened));
  EXPECT_EQ(json::Value(reopened->manifest()), json::Value(std::move(failed)));
}

TEST_F(RunFolderTest, BadScriptsAndInputsLeaveNoFolder) {
  script = dir.file("project/missing.ftl");
  EXPECT_EQ(createError(info()),
            "cannot read script '" + script + "': No such file or directory");
  script = dir.file("project");
  EXPECT_EQ(createError(info()),
            "script '" + script + "' is a folder, not a file");
  script = dir.file("project/train.ftl");

  RunInfo runInfo = info();
  runInfo.inputs = {{"data", dir.file("data/none.jsonl")}};
  EXPECT_EQ(createError(runInfo),
            "input '" + dir.file("data/none.jsonl") +
                "' (data) cannot be read: No such file or directory");
  fs::create_directories(dir.file("empty-model/.cache"));
  writeFile(dir.file("empty-model/.cache/x"), "hidden");
  runInfo.inputs = {{"model", dir.file("empty-model")}};
  EXPECT_EQ(createError(runInfo), "input folder '" + dir.file("empty-model") +
                                      "' (model) holds no files");
  // Nothing but (at most) the hash cache is under runs/.
  for (const std::string &name : listDir(runs))
    EXPECT_TRUE(llvm::StringRef(name).starts_with(".")) << name;
}

TEST_F(RunFolderTest, HashCacheReusesUnchangedFilesOnly) {
  std::string data = dir.file("data/train.jsonl");
  writeFile(data, "abc");
  // Files modified just now are never cached (see InputHashing.cpp).
  auto age = [&](int64_t seconds) {
    int fd = -1;
    ASSERT_FALSE(
        fs::openFileForWrite(data, fd, fs::CD_OpenExisting, fs::OF_Append));
    llvm::sys::TimePoint<> old =
        std::chrono::system_clock::now() - std::chrono::seconds(seconds);
    ASSERT_FALSE(fs::setLastAccessAndModificationTime(fd, old, old));
    ::close(fd);
  };
  RunInfo runInfo = info();
  runInfo.inputs = {{"data", data}};
  std::string cache = runs + "/.ftl-hash-cache.json";

  createOk(runInfo);
  EXPECT_EQ(readFile(cache).find(realPath(data)), std::string::npos)
      << "a file changed within two seconds was cached";

  age(3600);
  createOk(runInfo);
  llvm::Expected<json::Value> cached = json::parse(readFile(cache));
  ASSERT_TRUE(bool(cached)) << readFile(cache);
  json::Object *entry =
      cached->getAsObject()->getObject("files")->getObject(realPath(data));
  ASSERT_TRUE(entry);
  EXPECT_EQ(entry->getString("sha256"), kShaAbc);

  // Prove the cache is used: plant a different hash for the same facts.
  std::string planted(64, '0');
  (*entry)["sha256"] = planted;
  std::string text;
  llvm::raw_string_ostream os(text);
  os << *cached;
  os.flush();
  writeFile(cache, text);
  RunFolder reused = createOk(runInfo);
  json::Object manifest = reused.manifest();
  const json::Array *inputs = manifest.getArray("inputs");
  ASSERT_TRUE(inputs);
  EXPECT_EQ((*inputs)[0].getAsObject()->getString("sha256"), planted);

  // Changing the file (same size, other time) invalidates the entry.
  writeFile(data, "abd");
  age(7200);
  RunFolder rehashed = createOk(runInfo);
  manifest = rehashed.manifest();
  inputs = manifest.getArray("inputs");
  EXPECT_EQ((*inputs)[0].getAsObject()->getString("sha256"),
            "a52d159f262b2c6ddb724a61840befc36eb30c88877a4030b65cbe86298449c9");

  // Without the cache the real hash is computed every time.
  writeFile(cache, text);
  runInfo.useHashCache = false;
  age(3600);
  RunFolder fresh = createOk(runInfo);
  manifest = fresh.manifest();
  inputs = manifest.getArray("inputs");
  EXPECT_EQ((*inputs)[0].getAsObject()->getString("sha256"),
            "a52d159f262b2c6ddb724a61840befc36eb30c88877a4030b65cbe86298449c9");
}

TEST_F(RunFolderTest, HashesOnSeveralThreadsAgreeWithOne) {
  for (int i = 0; i < 6; ++i)
    writeFile(dir.file("shards/part-" + std::to_string(i)),
              std::string(100000 + i, static_cast<char>('a' + i)));
  std::vector<RunInput> inputs = {{"data", dir.file("shards")},
                                  {"again", dir.file("shards/part-3")}};
  llvm::Expected<json::Array> one = hashInputs(inputs, 1, "");
  llvm::Expected<json::Array> many = hashInputs(inputs, 4, "");
  ASSERT_TRUE(bool(one) && bool(many));
  EXPECT_EQ(one->size(), 7u);
  EXPECT_EQ(json::Value(std::move(*one)), json::Value(std::move(*many)));
}

TEST_F(RunFolderTest, OpenRejectsFoldersThatAreNotRuns) {
  std::string path = dir.file("not-a-run");
  fs::create_directories(path);
  llvm::Expected<RunFolder> none = RunFolder::open(path);
  ASSERT_FALSE(bool(none));
  EXPECT_EQ(llvm::toString(none.takeError()),
            "cannot open run folder '" + path +
                "': 'manifest.json' cannot be read (No such file or "
                "directory)");
  writeFile(path + "/manifest.json", "{\"format\": \"other\"}");
  llvm::Expected<RunFolder> other = RunFolder::open(path);
  ASSERT_FALSE(bool(other));
  EXPECT_EQ(llvm::toString(other.takeError()),
            "'" + path +
                "/manifest.json' is not an ftl run manifest "
                "(expected a JSON object with \"format\": "
                "\"ftl-run\")");
  writeFile(path + "/manifest.json",
            "{\"format\": \"ftl-run\", \"version\": 9}");
  llvm::Expected<RunFolder> newer = RunFolder::open(path);
  ASSERT_FALSE(bool(newer));
  EXPECT_EQ(llvm::toString(newer.takeError()),
            "run manifest '" + path +
                "/manifest.json' has version 9; this "
                "ftl reads version 1");
}

//===----------------------------------------------------------------------===//
// Resume
//===----------------------------------------------------------------------===//

TEST_F(RunFolderTest, FindsTheLatestInterruptedRunOfTheSameScript) {
  EXPECT_EQ(findError(), "there is no runs folder '" + runs +
                             "', so no run of '" + script + "' to resume");
  fs::create_directories(runs);
  EXPECT_EQ(findError(), "no earlier run of '" + script + "' in '" + runs +
                             "', so nothing to resume");

  RunInfo runInfo = info();
  RunFolder first = createOk(runInfo);
  ASSERT_FALSE(bool(first.finish(RunStatus::Interrupted)));
  runInfo.startTime = fixedTime(60);
  RunFolder second = createOk(runInfo);
  ASSERT_FALSE(bool(second.finish(RunStatus::Completed)));
  EXPECT_EQ(findError(), "<found " + first.path() + ">");

  runInfo.startTime = fixedTime(120);
  RunFolder third = createOk(runInfo);
  ASSERT_FALSE(bool(third.finish(RunStatus::Interrupted)));
  // Same second as `third`: the "-2" folder is the newer one.
  RunFolder fourth = createOk(runInfo);
  ASSERT_FALSE(bool(fourth.finish(RunStatus::Interrupted)));
  EXPECT_EQ(llvm::sys::path::filename(fourth.path()),
            "train-20240501-123656-2");
  EXPECT_EQ(findError(), "<found " + fourth.path() + ">");
  ASSERT_FALSE(bool(fourth.finish(RunStatus::Failed, "boom")));
  EXPECT_EQ(findError(), "<found " + third.path() + ">");

  // Runs of another script whose name starts the same do not count.
  std::string other = dir.file("project/train-big.ftl");
  writeFile(other, "seed 1234\n");
  llvm::Expected<RunFolder> big = RunFolder::create(runs, other, info());
  ASSERT_TRUE(bool(big));
  ASSERT_FALSE(bool(third.finish(RunStatus::Completed)));
  ASSERT_FALSE(bool(first.finish(RunStatus::Completed)));
  ASSERT_FALSE(bool(big->finish(RunStatus::Interrupted)));
  EXPECT_EQ(findError(), "no interrupted run of '" + script + "' in '" + runs +
                             "' (the latest, '" + fourth.path() +
                             "', is failed)");
}

TEST_F(RunFolderTest, AnEditedScriptIsNotResumed) {
  RunFolder run = createOk(info());
  ASSERT_FALSE(bool(run.finish(RunStatus::Interrupted)));
  writeFile(script, "seed 1235\n");
  EXPECT_EQ(findError(),
            "the interrupted run '" + run.path() +
                "' was started from a different version of '" + script +
                "' (SHA-256 26baf25e9071..., now " +
                "05d399bd7b0c...); restore that version to resume it, or "
                "start a new run");
  writeFile(script, "seed 1234\n");
  EXPECT_EQ(findError(), "<found " + run.path() + ">");
}

TEST_F(RunFolderTest, ARunWhoseProcessDiedCanBeResumed) {
  RunFolder run = createOk(info());
  // Our own process is alive: a "running" run of it is not resumable.
  EXPECT_EQ(findError(), "no interrupted run of '" + script + "' in '" + runs +
                             "' (the latest, '" + run.path() +
                             "', is running)");
  // A child that has exited stands for a crashed run.
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0)
    ::_exit(0);
  int status = 0;
  ::waitpid(child, &status, 0);
  llvm::Expected<json::Value> value = json::parse(readFile(run.manifestPath()));
  ASSERT_TRUE(bool(value));
  (*value->getAsObject())["pid"] = static_cast<int64_t>(child);
  std::string text;
  llvm::raw_string_ostream os(text);
  os << *value;
  os.flush();
  writeFile(run.manifestPath(), text);
  EXPECT_EQ(findError(), "<found " + run.path() + ">");

  llvm::Expected<RunFolder> resumed = RunFolder::resume(runs, script, info());
  ASSERT_TRUE(bool(resumed)) << llvm::toString(resumed.takeError());
  json::Object manifest = resumed->manifest();
  const json::Array *resumes = manifest.getArray("resumes");
  ASSERT_TRUE(resumes && resumes->size() == 1);
  EXPECT_EQ((*resumes)[0].getAsObject()->getString("previous_status"),
            "running");
}

TEST_F(RunFolderTest, ResumeReopensAndChecksInputs) {
  std::string data = dir.file("data/train.jsonl");
  writeFile(data, "abc");
  RunInfo runInfo = info();
  runInfo.inputs = {{"data", data}};
  RunFolder run = createOk(runInfo);
  ASSERT_FALSE(bool(run.recordSeed("init", 5)));
  ASSERT_FALSE(bool(run.finish(RunStatus::Interrupted, "")));

  RunInfo again = runInfo;
  again.commandLine = {"ftl", "run", "--resume", "train.ftl"};
  again.startTime = fixedTime(600);
  again.seed = 1235;
  llvm::Expected<RunFolder> wrongSeed = RunFolder::resume(runs, script, again);
  ASSERT_FALSE(bool(wrongSeed));
  EXPECT_EQ(llvm::toString(wrongSeed.takeError()),
            "cannot resume '" + run.path() +
                "': it ran with seed 1234, but this run has seed 1235");
  again.seed = 1234;

  writeFile(data, "abd");
  llvm::Expected<RunFolder> changed = RunFolder::resume(runs, script, again);
  ASSERT_FALSE(bool(changed));
  EXPECT_EQ(llvm::toString(changed.takeError()),
            "cannot resume '" + run.path() + "': input '" + realPath(data) +
                "' (data) changed since the run started (SHA-256 "
                "ba7816bf8f01..., now a52d159f262b...); the resumed run "
                "would not reproduce it, so start a new run");
  writeFile(data, "abc");

  std::string extra = dir.file("data/extra.jsonl");
  writeFile(extra, "");
  again.inputs.push_back({"data", extra});
  llvm::Expected<RunFolder> added = RunFolder::resume(runs, script, again);
  ASSERT_FALSE(bool(added));
  EXPECT_EQ(llvm::toString(added.takeError()),
            "cannot resume '" + run.path() + "': input '" + realPath(extra) +
                "' (data) was not an input of that run");
  again.inputs.clear();
  llvm::Expected<RunFolder> dropped = RunFolder::resume(runs, script, again);
  ASSERT_FALSE(bool(dropped));
  EXPECT_EQ(llvm::toString(dropped.takeError()),
            "cannot resume '" + run.path() + "': input '" + realPath(data) +
                "' (data) of that run is not an input now");
  again.inputs = runInfo.inputs;

  llvm::Expected<RunFolder> resumed = RunFolder::resume(runs, script, again);
  ASSERT_TRUE(bool(resumed)) << llvm::toString(resumed.takeError());
  EXPECT_EQ(resumed->path(), run.path());
  json::Object m = manifestOnDisk(*resumed);
  EXPECT_EQ(m.getString("status"), "running");
  EXPECT_EQ(*m.get("end_time"), json::Value(nullptr));
  EXPECT_EQ(m.getString("start_time"), "2024-05-01T12:34:56.123Z");
  EXPECT_EQ(m.getObject("seeds")->getInteger("init"), 5);
  const json::Array *resumes = m.getArray("resumes");
  ASSERT_TRUE(resumes && resumes->size() == 1);
  const json::Object &entry = *(*resumes)[0].getAsObject();
  EXPECT_EQ(entry.getString("time"), "2024-05-01T12:44:56.123Z");
  EXPECT_EQ(entry.getString("previous_status"), "interrupted");
  json::Array args{"ftl", "run", "--resume", "train.ftl"};
  EXPECT_EQ(*entry.get("command_line"), json::Value(std::move(args)));

  // Now it is running (in this live process): nothing left to resume.
  EXPECT_EQ(findError(), "no interrupted run of '" + script + "' in '" + runs +
                             "' (the latest, '" + run.path() +
                             "', is running)");
}
