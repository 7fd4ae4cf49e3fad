//===- MetricsLogTest.cpp - metrics.jsonl writing, reading, crash safety --===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "RunTestUtil.h"

#include "ftl/Run/MetricsLog.h"

#include "gtest/gtest.h"

#include <cmath>
#include <csignal>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

using namespace ftl::rt;
using namespace ftl::rt::test;
namespace json = llvm::json;

namespace {
MetricsLog openLog(llvm::StringRef path,
                   std::optional<uint64_t> truncateTo = std::nullopt) {
  llvm::Expected<MetricsLog> log = MetricsLog::open(path, truncateTo);
  if (!log) {
    ADD_FAILURE() << llvm::toString(log.takeError());
    std::abort();
  }
  return std::move(*log);
}

std::vector<json::Object> readAll(llvm::StringRef path) {
  llvm::Expected<std::vector<json::Object>> records = readMetrics(path);
  if (!records) {
    ADD_FAILURE() << llvm::toString(records.takeError());
    return {};
  }
  return std::move(*records);
}

template <class T>
std::string errorText(llvm::Expected<T> &value) {
  return value ? "<no error>" : llvm::toString(value.takeError());
}
} // namespace

TEST(MetricsLog, WritesOneObjectPerLineInKeyOrder) {
  TempDir dir;
  std::string path = dir.file("metrics.jsonl");
  {
    MetricsLog log = openLog(path);
    ASSERT_FALSE(bool(log.logStep({1, 2.5, 0.001, 100, 0.5})));
    ASSERT_FALSE(bool(log.log(json::Object{{"round", 2}, {"acc", 0.4}})));
    ASSERT_FALSE(bool(log.logStep({2, 2.25, 0.002, 150.5, 1.25},
                                  json::Object{{"grad_norm", 0.75}})));
  }
  EXPECT_EQ(readFile(path),
            "{\"step\":1,\"loss\":2.5,\"lr\":0.001,\"tokens_per_s\":100,"
            "\"time\":0.5}\n"
            "{\"round\":2,\"acc\":0.4}\n"
            "{\"step\":2,\"loss\":2.25,\"lr\":0.002,\"tokens_per_s\":150.5,"
            "\"time\":1.25,\"grad_norm\":0.75}\n");
  std::vector<json::Object> records = readAll(path);
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0].getInteger("step"), 1);
  EXPECT_EQ(records[0].getNumber("loss"), 2.5);
  EXPECT_EQ(records[1].getInteger("round"), 2);
  EXPECT_EQ(records[1].getNumber("acc"), 0.4);
  EXPECT_EQ(records[2].getNumber("grad_norm"), 0.75);
}

TEST(MetricsLog, NumbersAreShortestExactAndNonFiniteIsNull) {
  TempDir dir;
  std::string path = dir.file("m.jsonl");
  {
    MetricsLog log = openLog(path);
    ASSERT_FALSE(bool(log.log(json::Object{{"a", 0.1},
                                           {"b", 1e-5},
                                           {"c", NAN},
                                           {"d", -INFINITY},
                                           {"e", 1.0 / 3.0},
                                           {"f", "text \"quoted\""},
                                           {"g", true}})));
  }
  EXPECT_EQ(readFile(path),
            "{\"a\":0.1,\"b\":1e-05,\"c\":null,\"d\":null,"
            "\"e\":0.3333333333333333,\"f\":\"text \\\"quoted\\\"\","
            "\"g\":true}\n");
  std::vector<json::Object> records = readAll(path);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].getNumber("e"), 1.0 / 3.0); // round trip is exact
}

TEST(MetricsLog, ReaderIgnoresTruncatedFinalLine) {
  TempDir dir;
  std::string path = dir.file("metrics.jsonl");
  writeFile(path, "{\"step\":1,\"loss\":3}\n{\"step\":2,\"loss\":2.5}\n"
                  "{\"step\":3,\"lo");
  std::vector<json::Object> records = readAll(path);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[1].getInteger("step"), 2);

  // A follower gets the third record once its line is complete.
  MetricsReader reader(path);
  llvm::Expected<std::vector<json::Object>> first = reader.poll();
  ASSERT_TRUE(bool(first)) << errorText(first);
  EXPECT_EQ(first->size(), 2u);
  EXPECT_EQ(reader.offset(), 42u);
  llvm::Expected<std::vector<json::Object>> none = reader.poll();
  ASSERT_TRUE(bool(none)) << errorText(none);
  EXPECT_TRUE(none->empty());
  writeFile(path, "{\"step\":1,\"loss\":3}\n{\"step\":2,\"loss\":2.5}\n"
                  "{\"step\":3,\"loss\":2}\n");
  llvm::Expected<std::vector<json::Object>> third = reader.poll();
  ASSERT_TRUE(bool(third)) << errorText(third);
  ASSERT_EQ(third->size(), 1u);
  EXPECT_EQ((*third)[0].getInteger("step"), 3);
}

TEST(MetricsLog, ReopeningCutsAPartialLineBeforeAppending) {
  TempDir dir;
  std::string path = dir.file("metrics.jsonl");
  writeFile(path, "{\"step\":1}\n{\"step\":2}\n{\"ste");
  {
    MetricsLog log = openLog(path);
    EXPECT_EQ(log.size(), 22u);
    ASSERT_FALSE(bool(log.log(json::Object{{"step", 3}})));
    EXPECT_EQ(log.size(), 33u);
  }
  EXPECT_EQ(readFile(path), "{\"step\":1}\n{\"step\":2}\n{\"step\":3}\n");
  // A file that is one partial line is emptied.
  writeFile(path, "{\"st");
  {
    MetricsLog log = openLog(path);
  }
  EXPECT_EQ(readFile(path), "");
}

TEST(MetricsLog, ResumeCutsTheLogBackToTheCheckpointOffset) {
  TempDir dir;
  std::string path = dir.file("metrics.jsonl");
  uint64_t atCheckpoint = 0;
  {
    MetricsLog log = openLog(path);
    ASSERT_FALSE(bool(log.log(json::Object{{"step", 1}})));
    ASSERT_FALSE(bool(log.log(json::Object{{"step", 2}})));
    atCheckpoint = log.size();
    ASSERT_FALSE(bool(log.log(json::Object{{"step", 3}})));
  }
  {
    MetricsLog log = openLog(path, atCheckpoint);
    ASSERT_FALSE(bool(log.log(json::Object{{"step", 3}, {"redo", true}})));
  }
  EXPECT_EQ(readFile(path),
            "{\"step\":1}\n{\"step\":2}\n{\"step\":3,\"redo\":true}\n");
}

TEST(MetricsLog, ResumeOffsetErrors) {
  TempDir dir;
  std::string path = dir.file("metrics.jsonl");
  writeFile(path, "{\"step\":1}\n{\"step\":2}\n");
  llvm::Expected<MetricsLog> beyond = MetricsLog::open(path, 100);
  EXPECT_EQ(errorText(beyond),
            "cannot resume metrics log '" + path +
                "': the checkpoint recorded 100 bytes but the file has only "
                "22; was it replaced or edited?");
  llvm::Expected<MetricsLog> middle = MetricsLog::open(path, 5);
  EXPECT_EQ(errorText(middle),
            "cannot resume metrics log '" + path +
                "': byte offset 5 from the checkpoint is not at the end of a "
                "line; was the file edited?");
  // Nothing was cut by the failed opens.
  EXPECT_EQ(readFile(path), "{\"step\":1}\n{\"step\":2}\n");
}

TEST(MetricsLog, ListenerSeesEveryRecordInOrder) {
  TempDir dir;
  MetricsLog log = openLog(dir.file("metrics.jsonl"));
  std::vector<int64_t> steps;
  log.setListener([&](const json::Object &record) {
    steps.push_back(record.getInteger("step").value_or(-1));
  });
  for (int i = 1; i <= 3; ++i)
    ASSERT_FALSE(bool(log.logStep({i, 1.0, 0.1, 10, 0.0})));
  log.setListener(nullptr);
  ASSERT_FALSE(bool(log.logStep({4, 1.0, 0.1, 10, 0.0})));
  EXPECT_EQ(steps, (std::vector<int64_t>{1, 2, 3}));
}

TEST(MetricsLog, ConcurrentRecordsNeverInterleave) {
  TempDir dir;
  std::string path = dir.file("metrics.jsonl");
  {
    MetricsLog log = openLog(path);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
      threads.emplace_back([&log, t] {
        for (int i = 0; i < 200; ++i)
          ASSERT_FALSE(bool(log.log(json::Object{
              {"thread", t}, {"i", i}, {"pad", std::string(100, 'x')}})));
      });
    for (std::thread &thread : threads)
      thread.join();
  }
  std::vector<json::Object> records = readAll(path);
  ASSERT_EQ(records.size(), 800u);
  std::vector<int> next(4, 0);
  for (const json::Object &record : records) {
    int64_t t = *record.getInteger("thread");
    EXPECT_EQ(record.getInteger("i"), next[t]++);
  }
}

TEST(MetricsLog, KillingTheWriterLeavesAReadableLog) {
  TempDir dir;
  std::string path = dir.file("metrics.jsonl");
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    llvm::Expected<MetricsLog> log = MetricsLog::open(path);
    if (!log)
      ::_exit(2);
    for (int64_t i = 0;; ++i)
      if (log->log(json::Object{{"step", i}, {"pad", std::string(3000, 'y')}}))
        ::_exit(3);
  }
  // Let it write for a while, then kill it without warning.
  for (int i = 0; i < 200 && readFile(path).size() < 300000; ++i)
    ::usleep(10000);
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status));
  std::vector<json::Object> records = readAll(path);
  ASSERT_GT(records.size(), 10u);
  for (size_t i = 0; i < records.size(); ++i)
    EXPECT_EQ(records[i].getInteger("step"), static_cast<int64_t>(i));
  // And a reopened log goes on from a clean line boundary.
  {
    MetricsLog log = openLog(path);
    ASSERT_FALSE(bool(log.log(json::Object{{"step", -1}})));
  }
  std::vector<json::Object> after = readAll(path);
  ASSERT_EQ(after.size(), records.size() + 1);
  EXPECT_EQ(after.back().getInteger("step"), -1);
}

TEST(MetricsLog, BadLinesAreErrorsWithLineNumbers) {
  TempDir dir;
  std::string path = dir.file("metrics.jsonl");
  writeFile(path, "{\"step\":1}\n{\"step\":2,}\n{\"step\":3}\n");
  llvm::Expected<std::vector<json::Object>> broken = readMetrics(path);
  ASSERT_FALSE(bool(broken));
  std::string message = llvm::toString(broken.takeError());
  EXPECT_NE(
      message.find("metrics log '" + path + "' line 2 is not valid JSON: "),
      std::string::npos)
      << message;

  writeFile(path, "{\"step\":1}\n\n[1, 2]\n");
  llvm::Expected<std::vector<json::Object>> array = readMetrics(path);
  EXPECT_EQ(errorText(array), "metrics log '" + path +
                                  "' line 3: expected a JSON object, found "
                                  "'[1, 2]'");

  // A follower that already read line 1 reports later lines with their
  // numbers in the whole file.
  writeFile(path, "{\"step\":1}\n");
  MetricsReader reader(path);
  ASSERT_TRUE(bool(reader.poll()));
  writeFile(path, "{\"step\":1}\n{\"step\":2}\nnot json\n");
  llvm::Expected<std::vector<json::Object>> later = reader.poll();
  ASSERT_FALSE(bool(later));
  EXPECT_NE(llvm::toString(later.takeError()).find("line 3 is not valid"),
            std::string::npos);
}

TEST(MetricsLog, MissingAndShrinkingFiles) {
  TempDir dir;
  std::string path = dir.file("metrics.jsonl");
  llvm::Expected<std::vector<json::Object>> missing = readMetrics(path);
  EXPECT_EQ(errorText(missing), "cannot open metrics log '" + path +
                                    "': No such file or directory");
  MetricsReader reader(path);
  llvm::Expected<std::vector<json::Object>> early = reader.poll();
  ASSERT_TRUE(bool(early)) << errorText(early);
  EXPECT_TRUE(early->empty());

  writeFile(path, "{\"step\":1}\n{\"step\":2}\n");
  ASSERT_EQ(reader.poll()->size(), 2u);
  writeFile(path, "{\"step\":1}\n");
  llvm::Expected<std::vector<json::Object>> shrunk = reader.poll();
  EXPECT_EQ(errorText(shrunk),
            "metrics log '" + path +
                "' shrank from 22 to 11 bytes while being read (a resumed "
                "run cuts it back); read it again from the start");
}

TEST(MetricsLog, OpenFailsInAMissingFolder) {
  TempDir dir;
  std::string path = dir.file("no/such/folder/metrics.jsonl");
  llvm::Expected<MetricsLog> log = MetricsLog::open(path);
  EXPECT_EQ(errorText(log), "cannot open metrics log '" + path +
                                "': No such file or directory");
}
