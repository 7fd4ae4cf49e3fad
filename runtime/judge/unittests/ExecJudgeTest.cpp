//===- ExecJudgeTest.cpp - Judging with external programs -----------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
//
// The judge programs are small Python 3 scripts in Inputs/, run with
// `python3` from PATH. Each one misbehaves in one way (see its header).
//
//===----------------------------------------------------------------------===//

#include "JudgeTestUtil.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/SHA256.h"

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <fstream>
#include <set>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace ftl::rt;
using namespace ftl::rt::test;

namespace {

using Clock = std::chrono::steady_clock;

std::string input(llvm::StringRef script) {
  return std::string(FTL_SOURCE_DIR) + "/runtime/judge/unittests/Inputs/" +
         script.str();
}

ExecOptions python(llvm::StringRef script, int workers = 1,
                   double timeoutSeconds = 10) {
  ExecOptions options;
  options.argv = {"python3", input(script)};
  options.workers = workers;
  options.timeoutSeconds = timeoutSeconds;
  return options;
}

std::unique_ptr<Judge> make(ExecOptions options) {
  llvm::Expected<std::unique_ptr<Judge>> judge = execJudge(std::move(options));
  EXPECT_EQ(errorOf(judge), "");
  return judge ? std::move(*judge) : nullptr;
}

std::vector<Verdict> run(Judge &judge, llvm::ArrayRef<JudgeItem> items,
                         JudgeStats &stats) {
  llvm::Expected<std::vector<Verdict>> verdicts = judge.judge(items, stats);
  EXPECT_EQ(errorOf(verdicts), "");
  if (!verdicts)
    return std::vector<Verdict>(items.size());
  EXPECT_EQ(verdicts->size(), items.size());
  return std::move(*verdicts);
}

double secondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

bool contains(llvm::StringRef text, llvm::StringRef part) {
  return text.contains(part);
}

/// Children of this process that are zombies (exited, not reaped).
int zombieChildren() {
  int zombies = 0;
  DIR *proc = ::opendir("/proc");
  if (!proc)
    return 0;
  std::string self = std::to_string(::getpid());
  while (dirent *entry = ::readdir(proc)) {
    if (!llvm::all_of(llvm::StringRef(entry->d_name), llvm::isDigit))
      continue;
    std::ifstream stat(std::string("/proc/") + entry->d_name + "/stat");
    std::string text((std::istreambuf_iterator<char>(stat)),
                     std::istreambuf_iterator<char>());
    // pid (comm) state ppid ...
    size_t close = text.rfind(')');
    if (close == std::string::npos)
      continue;
    llvm::SmallVector<llvm::StringRef, 4> fields;
    llvm::StringRef(text).substr(close + 2).split(fields, ' ', 3);
    if (fields.size() >= 2 && fields[1] == self && fields[0] == "Z")
      ++zombies;
  }
  ::closedir(proc);
  return zombies;
}

/// True when `pid` is gone or a zombie (it no longer runs).
bool notRunning(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  if (!stat)
    return true;
  std::string text((std::istreambuf_iterator<char>(stat)),
                   std::istreambuf_iterator<char>());
  size_t close = text.rfind(')');
  return close != std::string::npos && close + 2 < text.size() &&
         text[close + 2] == 'Z';
}

/// True when this process has no children at all.
bool noChildren() {
  int status = 0;
  return ::waitpid(-1, &status, WNOHANG) < 0 && errno == ECHILD;
}

class ExecJudgeTest : public ::testing::Test {
protected:
  void SetUp() override {
    if (!llvm::sys::findProgramByName("python3"))
      GTEST_FAIL() << "these tests need 'python3' on PATH";
  }
  void TearDown() override {
    // Every judge is gone by now: its processes must have been reaped.
    EXPECT_TRUE(noChildren());
  }
};

TEST_F(ExecJudgeTest, CorrectJudge) {
  auto judge = make(python("ok_judge.py", 2));
  ASSERT_TRUE(judge);
  std::vector<JudgeItem> items = {
      item("", "42", "42"),           item("", "41", "42"),
      item("score-only", "0.25", ""), item("score-only", "-3", ""),
      item("score-only", "0", ""),    item("null-fields", "", ""),
      item("extra-keys", " a ", "a"), item("pass-overrides", "", ""),
  };
  JudgeStats stats;
  std::vector<Verdict> verdicts = run(*judge, items, stats);
  auto expect = [&](size_t i, double score, bool pass,
                    llvm::StringRef feedback) {
    SCOPED_TRACE(i);
    EXPECT_EQ(verdicts[i].failure, "");
    EXPECT_EQ(verdicts[i].score, score);
    EXPECT_EQ(verdicts[i].pass, pass);
    EXPECT_EQ(verdicts[i].feedback, feedback);
  };
  expect(0, 1, true, "match");
  expect(1, 0, false, "expected 42");
  expect(2, 0.25, true, ""); // no "pass": score > 0
  expect(3, -3, false, "");
  expect(4, 0, false, "");
  expect(5, 2, true, ""); // null pass and feedback count as absent
  expect(6, 1, true, "match");
  expect(7, 5, false, "low"); // an explicit pass wins over the score
  EXPECT_EQ(stats.items, 8);
  EXPECT_EQ(stats.passed, 4);
  EXPECT_EQ(stats.crashed + stats.timedOut + stats.garbage + stats.memory, 0);
}

TEST_F(ExecJudgeTest, CrashingItemsDoNotStopTheOthers) {
  auto judge = make(python("crash_judge.py", 2));
  ASSERT_TRUE(judge);
  std::vector<JudgeItem> items = {
      item("", "a", "a"),   item("", "CRASH", "r1"), item("", "b", "c"),
      item("", "SEGV", ""), item("", "d", "d"),      item("", "CRASH", "r2"),
      item("", "e", "e"),
  };
  JudgeStats stats;
  std::vector<Verdict> verdicts = run(*judge, items, stats);
  EXPECT_TRUE(verdicts[0].pass);
  EXPECT_FALSE(verdicts[2].pass);
  EXPECT_EQ(verdicts[2].failure, "");
  EXPECT_TRUE(verdicts[4].pass);
  EXPECT_TRUE(verdicts[6].pass);
  for (size_t i : {1, 5}) {
    EXPECT_EQ(verdicts[i].failure, "crash");
    EXPECT_FALSE(verdicts[i].pass);
    EXPECT_EQ(verdicts[i].score, 0);
    EXPECT_TRUE(contains(verdicts[i].feedback, "exited with status 3 before "
                                               "answering"))
        << verdicts[i].feedback;
    // Its own stderr, not another item's.
    std::string own = "boom: cannot judge " + items[i].reference;
    EXPECT_TRUE(contains(verdicts[i].feedback, own)) << verdicts[i].feedback;
  }
  EXPECT_FALSE(contains(verdicts[1].feedback, "r2"));
  EXPECT_EQ(verdicts[3].failure, "crash");
  EXPECT_TRUE(contains(verdicts[3].feedback, "killed by signal 11 (SIGSEGV)"))
      << verdicts[3].feedback;
  EXPECT_EQ(stats.items, 7);
  EXPECT_EQ(stats.passed, 3);
  EXPECT_EQ(stats.crashed, 3);
  EXPECT_EQ(stats.timedOut + stats.garbage + stats.memory, 0);
  // Crashed processes were reaped while the judge still lives.
  EXPECT_EQ(zombieChildren(), 0);
}

TEST_F(ExecJudgeTest, ProcessesAreReusedAcrossItemsAndCalls) {
  auto judge = make(python("crash_judge.py", 1));
  ASSERT_TRUE(judge);
  std::vector<JudgeItem> items = {item("pid", "a", "a"), item("pid", "b", "b")};
  JudgeStats stats;
  std::vector<Verdict> first = run(*judge, items, stats);
  std::vector<Verdict> second = run(*judge, items, stats);
  EXPECT_EQ(first[0].feedback, first[1].feedback);
  EXPECT_EQ(first[0].feedback, second[1].feedback);
  // After a crash a fresh process serves the next item.
  std::vector<JudgeItem> crash = {item("", "CRASH", ""), item("pid", "c", "c")};
  std::vector<Verdict> third = run(*judge, crash, stats);
  EXPECT_EQ(third[0].failure, "crash");
  EXPECT_NE(third[1].feedback, first[0].feedback);
  EXPECT_EQ(stats.items, 6);
  EXPECT_EQ(stats.passed, 5);
  // A program that closes its stdout but lives on is killed after a grace
  // period; the next item gets a fresh one.
  std::vector<JudgeItem> close = {item("", "CLOSE", ""), item("", "d", "d")};
  std::vector<Verdict> fourth = run(*judge, close, stats);
  EXPECT_EQ(fourth[0].failure, "crash");
  EXPECT_TRUE(contains(fourth[0].feedback,
                       "closed its stdout (and was killed) before answering"))
      << fourth[0].feedback;
  EXPECT_EQ(fourth[1].failure, "");
  EXPECT_TRUE(fourth[1].pass);
}

TEST_F(ExecJudgeTest, HangingItemsTimeOut) {
  auto judge = make(python("hang_judge.py", 2, /*timeoutSeconds=*/6.0));
  ASSERT_TRUE(judge);
  std::vector<JudgeItem> items = {
      item("", "x", ""),    item("", "HANG", ""), item("", "y", ""),
      item("", "HANG", ""), item("", "z", ""),    item("", "w", ""),
  };
  JudgeStats stats;
  auto start = Clock::now();
  std::vector<Verdict> verdicts = run(*judge, items, stats);
  double seconds = secondsSince(start);
  for (size_t i : {0, 2, 4, 5}) {
    EXPECT_EQ(verdicts[i].failure, "") << i;
    EXPECT_EQ(verdicts[i].feedback, "quick");
  }
  for (size_t i : {1, 3}) {
    EXPECT_EQ(verdicts[i].failure, "timeout");
    EXPECT_TRUE(contains(verdicts[i].feedback, "gave no answer within 6 s"))
        << verdicts[i].feedback;
  }
  EXPECT_EQ(stats.timedOut, 2);
  EXPECT_EQ(stats.passed, 4);
  // Two workers, two 6-second timeouts (generous: a loaded machine may take
  // seconds to start Python): far below the hang itself.
  EXPECT_GE(seconds, 6.0);
  EXPECT_LT(seconds, 30.0);
}

TEST_F(ExecJudgeTest, TimeoutKillsTheWholeProcessGroup) {
  auto judge = make(python("hang_judge.py", 1, /*timeoutSeconds=*/6.0));
  ASSERT_TRUE(judge);
  std::vector<JudgeItem> items = {item("", "HANGKIDS", ""), item("", "a", "")};
  JudgeStats stats;
  std::vector<Verdict> verdicts = run(*judge, items, stats);
  ASSERT_EQ(verdicts[0].failure, "timeout");
  EXPECT_EQ(verdicts[1].failure, "");
  llvm::StringRef feedback = verdicts[0].feedback;
  size_t at = feedback.find("grandchild ");
  ASSERT_NE(at, llvm::StringRef::npos) << feedback.str();
  unsigned long long grandchild = 0;
  ASSERT_FALSE(feedback.substr(at + 11)
                   .take_while(llvm::isDigit)
                   .getAsInteger(10, grandchild));
  // The grandchild was in the judge's process group and died with it.
  bool gone = false;
  for (int i = 0; i < 100 && !gone; ++i) {
    gone = notRunning(static_cast<pid_t>(grandchild));
    if (!gone)
      ::usleep(20000);
  }
  EXPECT_TRUE(gone) << "grandchild " << grandchild << " still runs";
}

TEST_F(ExecJudgeTest, GarbageAnswers) {
  auto judge = make(python("garbage_judge.py", 2, /*timeoutSeconds=*/6.0));
  ASSERT_TRUE(judge);
  struct Case {
    const char *sample;
    const char *failure;
    const char *says;
  };
  std::vector<Case> cases = {
      {"fine", "", "fine"},
      {"text", "garbage", "not valid JSON"},
      {"array", "garbage", "JSON that is not an object: '[1, 2]'"},
      {"noscore", "garbage", "without a 'score'"},
      {"badscore", "garbage", "'score' that is not a number"},
      {"badpass", "garbage", "'pass' that is not true or false"},
      {"badfeedback", "garbage", "'feedback' that is not a string"},
      {"empty", "garbage", "empty line"},
      {"nan", "garbage", "not valid JSON"},
      {"huge", "garbage", "longer than 1048576 bytes"},
      {"partial", "timeout",
       "(its stdout had '{\"score\": 1' without a newline)"},
      {"fine", "", "fine"},
  };
  std::vector<JudgeItem> items;
  for (const Case &c : cases)
    items.push_back(item("", c.sample, ""));
  JudgeStats stats;
  std::vector<Verdict> verdicts = run(*judge, items, stats);
  for (size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE(cases[i].sample);
    EXPECT_EQ(verdicts[i].failure, cases[i].failure);
    EXPECT_TRUE(contains(verdicts[i].feedback, cases[i].says))
        << verdicts[i].feedback;
  }
  EXPECT_EQ(stats.garbage, 9);
  EXPECT_EQ(stats.timedOut, 1);
  EXPECT_EQ(stats.passed, 2);
}

TEST_F(ExecJudgeTest, MemoryLimit) {
  ExecOptions options = python("memory_judge.py", 1);
  options.memoryLimitBytes = 256LL << 20;
  auto judge = make(options);
  ASSERT_TRUE(judge);
  std::vector<JudgeItem> items = {item("", "a", ""), item("", "BIG", ""),
                                  item("", "b", "")};
  JudgeStats stats;
  std::vector<Verdict> verdicts = run(*judge, items, stats);
  EXPECT_EQ(verdicts[0].failure, "");
  EXPECT_EQ(verdicts[1].failure, "memory");
  EXPECT_TRUE(contains(verdicts[1].feedback,
                       "ran out of memory (limit 268435456 bytes)"))
      << verdicts[1].feedback;
  EXPECT_TRUE(contains(verdicts[1].feedback, "MemoryError"));
  EXPECT_EQ(verdicts[2].failure, "");
  EXPECT_EQ(stats.memory, 1);
  EXPECT_EQ(stats.crashed, 0);
  EXPECT_EQ(stats.passed, 2);

  // Without a limit the same item is judged (1 GiB of address space is
  // normally available to a child).
  auto unlimited = make(python("memory_judge.py", 1));
  ASSERT_TRUE(unlimited);
  std::vector<JudgeItem> big = {item("", "BIG", "")};
  EXPECT_EQ(run(*unlimited, big, stats)[0].failure, "");
}

/// Hostile text: shell syntax, quotes, control characters, non-ASCII.
std::vector<std::string> hostileTexts(const TempDir &dir) {
  std::string controls;
  for (int c = 1; c < 0x20; ++c)
    controls.push_back(static_cast<char>(c));
  controls.push_back('\x7f');
  return {
      "$(touch " + dir.file("m1") + ")",
      "`touch " + dir.file("m2") + "`",
      "; rm -rf " + dir.file("victim") + " ; touch " + dir.file("m3"),
      "'; touch " + dir.file("m4") + "; echo '",
      "\"; touch " + dir.file("m5") + "; echo \"",
      "quotes ' \" and \\ backslash \\\" \\\\",
      "line1\nline2\r\n\ttabbed\n",
      controls,
      "h\xc3\xa9llo \xe2\x80\x94 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x8e\x89 "
      "\xe2\x80\xa8",
      "{\"score\": 1, \"pass\": true}\n{\"score\": 2}",
      "",
      "| cat /etc/passwd > " + dir.file("m6") + " &",
  };
}

TEST_F(ExecJudgeTest, HostileDataArrivesExactlyAndRunsNothing) {
  TempDir dir;
  ASSERT_FALSE(llvm::sys::fs::create_directory(dir.file("victim")));
  std::vector<std::string> texts = hostileTexts(dir);
  ExecOptions options = python("echo_judge.py", 2);
  options.argv.push_back("$(touch " + dir.file("m7") + ")");
  options.argv.push_back("; touch " + dir.file("m8"));
  options.argv.push_back("`touch " + dir.file("m9") + "`");
  auto judge = make(options);
  ASSERT_TRUE(judge);
  std::vector<JudgeItem> items;
  for (size_t i = 0; i < texts.size(); ++i)
    items.push_back(item(texts[(i + 1) % texts.size()], texts[i],
                         texts[(i + 2) % texts.size()]));
  JudgeStats stats;
  std::vector<Verdict> verdicts = run(*judge, items, stats);
  for (size_t i = 0; i < items.size(); ++i) {
    SCOPED_TRACE(i);
    ASSERT_EQ(verdicts[i].failure, "") << verdicts[i].feedback;
    llvm::Expected<llvm::json::Value> echoed =
        llvm::json::parse(verdicts[i].feedback);
    ASSERT_EQ(errorOf(echoed), "");
    const llvm::json::Object *object = echoed->getAsObject();
    ASSERT_TRUE(object);
    EXPECT_EQ(object->getString("prompt"), llvm::StringRef(items[i].prompt));
    EXPECT_EQ(object->getString("sample"), llvm::StringRef(items[i].sample));
    EXPECT_EQ(object->getString("reference"),
              llvm::StringRef(items[i].reference));
    // The request line is pure ASCII and has exactly the three fields.
    EXPECT_EQ(object->getBoolean("ascii"), true);
    const llvm::json::Array *keys = object->getArray("keys");
    ASSERT_TRUE(keys);
    ASSERT_EQ(keys->size(), 3u);
    EXPECT_EQ((*keys)[0].getAsString(), llvm::StringRef("prompt"));
    const llvm::json::Array *argv = object->getArray("argv");
    ASSERT_TRUE(argv);
    ASSERT_EQ(argv->size(), 3u);
    for (size_t k = 0; k < 3; ++k)
      EXPECT_EQ((*argv)[k].getAsString(), llvm::StringRef(options.argv[k + 2]));
  }
  for (const char *marker :
       {"m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "m9"})
    EXPECT_FALSE(llvm::sys::fs::exists(dir.file(marker))) << marker;
  EXPECT_TRUE(llvm::sys::fs::is_directory(dir.file("victim")));
}

TEST_F(ExecJudgeTest, ChildGetsOnlyStdioAndDefaultSignals) {
  // A descriptor the host leaks (no close-on-exec), a blocked signal and an
  // ignored one: none of them may reach the program.
  TempDir dir;
  int leaked = ::open(dir.file("leak").c_str(), O_WRONLY | O_CREAT, 0644);
  ASSERT_GE(leaked, 3);
  sigset_t usr1, oldMask;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  ASSERT_EQ(::pthread_sigmask(SIG_BLOCK, &usr1, &oldMask), 0);
  struct sigaction ignore, oldInt;
  std::memset(&ignore, 0, sizeof(ignore));
  ignore.sa_handler = SIG_IGN;
  ASSERT_EQ(::sigaction(SIGINT, &ignore, &oldInt), 0);

  ExecOptions options = python("echo_judge.py", 1);
  options.argv.push_back("--process");
  auto judge = make(options);
  std::vector<JudgeItem> items = {item("", "x", "")};
  JudgeStats stats;
  std::vector<Verdict> verdicts;
  if (judge)
    verdicts = run(*judge, items, stats);

  ::sigaction(SIGINT, &oldInt, nullptr);
  ::pthread_sigmask(SIG_SETMASK, &oldMask, nullptr);
  ::close(leaked);
  ASSERT_EQ(verdicts.size(), 1u);
  ASSERT_EQ(verdicts[0].failure, "") << verdicts[0].feedback;
  llvm::Expected<llvm::json::Value> echoed =
      llvm::json::parse(verdicts[0].feedback);
  ASSERT_EQ(errorOf(echoed), "");
  const llvm::json::Object *object = echoed->getAsObject();
  ASSERT_TRUE(object);
  const llvm::json::Array *fds = object->getArray("fds");
  ASSERT_TRUE(fds);
  // 0, 1, 2 and the one listdir() had open for /proc/self/fd.
  std::vector<int64_t> open;
  for (const llvm::json::Value &fd : *fds)
    open.push_back(fd.getAsInteger().value_or(-1));
  ASSERT_EQ(open.size(), 4u) << verdicts[0].feedback;
  EXPECT_EQ(open[0], 0);
  EXPECT_EQ(open[1], 1);
  EXPECT_EQ(open[2], 2);
  EXPECT_EQ(object->getInteger("blocked"), 0);
  std::optional<int64_t> ignored = object->getInteger("ignored");
  ASSERT_TRUE(ignored);
  EXPECT_EQ((*ignored >> (SIGINT - 1)) & 1, 0) << "SIGINT is ignored";
}

TEST_F(ExecJudgeTest, InvalidUtf8BecomesReplacementCharacters) {
  auto judge = make(python("echo_judge.py", 1));
  ASSERT_TRUE(judge);
  // A stray byte, a lone lead byte, a 3-byte character cut short.
  std::string prompt = "a\xff"
                       "b";
  std::vector<JudgeItem> items = {item(prompt, "\xc3", "ok\xe6\x97")};
  JudgeStats stats;
  std::vector<Verdict> verdicts = run(*judge, items, stats);
  llvm::Expected<llvm::json::Value> echoed =
      llvm::json::parse(verdicts[0].feedback);
  ASSERT_EQ(errorOf(echoed), "");
  const llvm::json::Object *object = echoed->getAsObject();
  ASSERT_TRUE(object);
  EXPECT_EQ(object->getString("prompt"), llvm::StringRef("a\xef\xbf\xbd"
                                                         "b"));
  EXPECT_EQ(object->getString("sample"), llvm::StringRef("\xef\xbf\xbd"));
  EXPECT_EQ(object->getString("reference"), llvm::StringRef("ok\xef\xbf\xbd"));
}

TEST_F(ExecJudgeTest, LargeItemsAndLargeStderr) {
  // Requests far beyond a pipe buffer, checked by digest.
  ExecOptions options = python("echo_judge.py", 2);
  options.argv.push_back("--summary");
  auto judge = make(options);
  ASSERT_TRUE(judge);
  std::string big(3 << 20, 'a');
  for (size_t i = 0; i < big.size(); i += 97)
    big[i] = static_cast<char>('0' + i % 10);
  std::vector<JudgeItem> items = {item("p", big, "r"), item(big, "s", big)};
  JudgeStats stats;
  std::vector<Verdict> verdicts = run(*judge, items, stats);
  auto digest = [](llvm::StringRef text) {
    return llvm::toHex(llvm::SHA256::hash(llvm::arrayRefFromStringRef(text)),
                       /*LowerCase=*/true);
  };
  for (size_t i = 0; i < items.size(); ++i) {
    ASSERT_EQ(verdicts[i].failure, "") << verdicts[i].feedback;
    llvm::Expected<llvm::json::Value> echoed =
        llvm::json::parse(verdicts[i].feedback);
    ASSERT_EQ(errorOf(echoed), "");
    for (const char *key : {"prompt", "sample", "reference"}) {
      const llvm::json::Array *pair = echoed->getAsObject()->getArray(key);
      ASSERT_TRUE(pair && pair->size() == 2);
      const std::string &text = key[0] == 'p'   ? items[i].prompt
                                : key[0] == 's' ? items[i].sample
                                                : items[i].reference;
      EXPECT_EQ((*pair)[0].getAsInteger(), static_cast<int64_t>(text.size()));
      EXPECT_EQ((*pair)[1].getAsString(), llvm::StringRef(digest(text)));
    }
  }

  // 1 MiB of stderr does not block the program; the feedback keeps a
  // bounded tail.
  auto flood = make(python("flood_judge.py", 1));
  ASSERT_TRUE(flood);
  std::vector<JudgeItem> noisy = {
      item("", "FLOOD", ""), item("", "FLOODCRASH", ""), item("", "quiet", "")};
  verdicts = run(*flood, noisy, stats);
  EXPECT_EQ(verdicts[0].failure, "");
  EXPECT_EQ(verdicts[0].feedback, "ok");
  EXPECT_EQ(verdicts[1].failure, "crash");
  EXPECT_TRUE(llvm::StringRef(verdicts[1].feedback).ends_with("the end\n"));
  EXPECT_TRUE(contains(verdicts[1].feedback, "judge stderr (last part)"));
  EXPECT_LT(verdicts[1].feedback.size(), 8192u + 600u);
  EXPECT_EQ(verdicts[2].failure, "");
}

TEST_F(ExecJudgeTest, ProgramNotFound) {
  ExecOptions options;
  options.argv = {"ftl-no-such-judge-program-x9", "--flag"};
  llvm::Expected<std::unique_ptr<Judge>> judge = execJudge(options);
  std::string message = errorOf(judge);
  ASSERT_NE(message, "");
  EXPECT_TRUE(contains(message, "judge program 'ftl-no-such-judge-program-x9' "
                                "was not found in any folder on PATH"))
      << message;

  TempDir dir;
  options.argv = {dir.file("missing.py")};
  judge = execJudge(options);
  message = errorOf(judge);
  ASSERT_NE(message, "");
  EXPECT_TRUE(contains(message, "does not exist")) << message;

  // A file without execute permission.
  std::string script = dir.file("judge.py");
  {
    std::ofstream(script) << "print('hi')\n";
  }
  options.argv = {script};
  judge = execJudge(options);
  message = errorOf(judge);
  ASSERT_NE(message, "");
  EXPECT_TRUE(contains(message, "is not executable; run 'chmod +x")) << message;

  options.argv = {dir.path()};
  judge = execJudge(options);
  EXPECT_TRUE(contains(errorOf(judge), "is a folder"));
}

TEST_F(ExecJudgeTest, BadOptions) {
  auto error = [](ExecOptions options) {
    llvm::Expected<std::unique_ptr<Judge>> judge = execJudge(options);
    std::string message = errorOf(judge);
    EXPECT_NE(message, "");
    return message;
  };
  ExecOptions good = python("ok_judge.py");
  ExecOptions options = good;
  options.argv.clear();
  EXPECT_EQ(error(options), "judge command is empty; expected a program and "
                            "its arguments");
  options = good;
  options.argv.push_back(std::string("a\0b", 3));
  EXPECT_EQ(error(options), "judge argument 2 contains a NUL byte; program "
                            "arguments cannot");
  for (double timeout : {0.0, -1.0, std::nan(""), 1e9}) {
    options = good;
    options.timeoutSeconds = timeout;
    EXPECT_TRUE(contains(error(options), "judge timeout must be a positive "
                                         "number of seconds up to 86400"));
  }
  for (int workers : {0, -2, 257}) {
    options = good;
    options.workers = workers;
    EXPECT_EQ(error(options),
              "judge workers must be between 1 and 256; found " +
                  std::to_string(workers));
  }
  options = good;
  options.memoryLimitBytes = -5;
  EXPECT_EQ(error(options), "judge memory limit must be 0 (none) or a positive "
                            "number of bytes; found -5");
  options = good;
  options.workingDir = "/nonexistent/ftl/judge/dir";
  EXPECT_EQ(error(options), "judge working folder '/nonexistent/ftl/judge/dir' "
                            "does not exist");
  options.workingDir = input("ok_judge.py");
  EXPECT_TRUE(contains(error(options), "is not a folder"));
}

TEST_F(ExecJudgeTest, ProgramThatCannotStartIsAWholeJudgeError) {
  TempDir dir;
  std::string script = dir.file("judge.sh");
  {
    std::ofstream(script) << "#!/bin/sh\nexit 0\n";
  }
  ASSERT_EQ(::chmod(script.c_str(), 0755), 0);
  ExecOptions options;
  options.argv = {script};
  auto judge = make(options);
  ASSERT_TRUE(judge);
  ASSERT_EQ(::unlink(script.c_str()), 0);
  std::vector<JudgeItem> items = {item("", "a", ""), item("", "b", "")};
  JudgeStats stats;
  llvm::Expected<std::vector<Verdict>> verdicts = judge->judge(items, stats);
  std::string message = errorOf(verdicts);
  ASSERT_NE(message, "");
  EXPECT_EQ(message, "cannot start judge program '" + script +
                         "': exec failed: No such file or directory");
  EXPECT_EQ(stats.items, 0); // untouched on a whole-judge error

  // A script without a '#!' line cannot be exec'd either.
  {
    std::ofstream(script) << "exit 0\n";
  }
  ASSERT_EQ(::chmod(script.c_str(), 0755), 0);
  auto noShebang = make(options);
  ASSERT_TRUE(noShebang);
  verdicts = noShebang->judge(items, stats);
  EXPECT_TRUE(contains(errorOf(verdicts), "a script needs a '#!' first line"));
}

TEST_F(ExecJudgeTest, WorkingFolderAndRelativeProgram) {
  TempDir dir;
  std::string script = dir.file("run-judge.sh");
  {
    std::ofstream(script) << "#!/bin/sh\nexec python3 '"
                          << input("echo_judge.py") << "' \"$@\"\n";
  }
  ASSERT_EQ(::chmod(script.c_str(), 0755), 0);
  ExecOptions options;
  options.argv = {"./run-judge.sh", "arg with spaces"};
  options.workingDir = dir.path();
  auto judge = make(options);
  ASSERT_TRUE(judge);
  std::vector<JudgeItem> items = {item("", "x", "")};
  JudgeStats stats;
  std::vector<Verdict> verdicts = run(*judge, items, stats);
  ASSERT_EQ(verdicts[0].failure, "") << verdicts[0].feedback;
  llvm::Expected<llvm::json::Value> echoed =
      llvm::json::parse(verdicts[0].feedback);
  ASSERT_EQ(errorOf(echoed), "");
  llvm::SmallString<128> real;
  ASSERT_FALSE(llvm::sys::fs::real_path(dir.path(), real));
  EXPECT_EQ(echoed->getAsObject()->getString("cwd"), llvm::StringRef(real));
  const llvm::json::Array *argv = echoed->getAsObject()->getArray("argv");
  ASSERT_TRUE(argv && argv->size() == 1);
  EXPECT_EQ((*argv)[0].getAsString(), llvm::StringRef("arg with spaces"));
}

TEST_F(ExecJudgeTest, JudgeThatExitsImmediately) {
  auto judge = make(python("exit_judge.py", 2));
  ASSERT_TRUE(judge);
  std::vector<JudgeItem> items(5, item("", "a", "a"));
  JudgeStats stats;
  auto start = Clock::now();
  std::vector<Verdict> verdicts = run(*judge, items, stats);
  for (const Verdict &verdict : verdicts) {
    EXPECT_EQ(verdict.failure, "crash");
    EXPECT_TRUE(contains(verdict.feedback,
                         "judge program 'python3 " + input("exit_judge.py") +
                             "' exited with status 2 before answering"))
        << verdict.feedback;
    EXPECT_TRUE(contains(verdict.feedback,
                         "--- judge stderr ---\nbad configuration: missing "
                         "rubric\n"))
        << verdict.feedback;
  }
  EXPECT_EQ(stats.crashed, 5);
  EXPECT_EQ(stats.passed, 0);
  EXPECT_LT(secondsSince(start), 10.0);
  EXPECT_EQ(zombieChildren(), 0);
}

TEST_F(ExecJudgeTest, JudgeThatClosesItsStdinDoesNotKillTheHost) {
  // The 2 MiB request cannot fit in the pipe: writing it fails with EPIPE
  // once the program closes its stdin. SIGPIPE would end this test binary.
  auto judge = make(python("closing_judge.py", 1));
  ASSERT_TRUE(judge);
  std::vector<JudgeItem> items = {item("", std::string(2 << 20, 'x'), ""),
                                  item("", "y", "")};
  JudgeStats stats;
  std::vector<Verdict> verdicts = run(*judge, items, stats);
  EXPECT_EQ(verdicts[0].failure, "crash");
  EXPECT_TRUE(contains(verdicts[0].feedback, "exited with status 0"))
      << verdicts[0].feedback;
  EXPECT_EQ(verdicts[1].failure, "crash");
  EXPECT_EQ(stats.crashed, 2);
}

TEST_F(ExecJudgeTest, WrongNumberOfAnswerLines) {
  auto judge = make(python("lines_judge.py", 1, /*timeoutSeconds=*/6.0));
  ASSERT_TRUE(judge);
  std::vector<JudgeItem> items = {item("", "A", ""), item("", "TWICE", ""),
                                  item("", "B", ""), item("", "SKIP", ""),
                                  item("", "C", "")};
  JudgeStats stats;
  std::vector<Verdict> verdicts = run(*judge, items, stats);
  EXPECT_EQ(verdicts[0].failure, "");
  EXPECT_EQ(verdicts[0].feedback, "for A");
  EXPECT_EQ(verdicts[1].failure, "garbage");
  EXPECT_TRUE(contains(verdicts[1].feedback,
                       "printed more than one line for one request (extra "
                       "output '{\"score\": 1, \"feedback\": \"for "
                       "TWICE\"}\\n')"))
      << verdicts[1].feedback;
  // No answer is shifted onto the next item.
  EXPECT_EQ(verdicts[2].failure, "");
  EXPECT_EQ(verdicts[2].feedback, "for B");
  EXPECT_EQ(verdicts[3].failure, "timeout");
  EXPECT_EQ(verdicts[4].failure, "");
  EXPECT_EQ(verdicts[4].feedback, "for C");
  EXPECT_EQ(stats.garbage, 1);
  EXPECT_EQ(stats.timedOut, 1);
  EXPECT_EQ(stats.passed, 3);
}

TEST_F(ExecJudgeTest, ProgramThatExitsAfterEachAnswerIsRestarted) {
  // Whether it is gone before the next request is written or only after,
  // the request it never read goes to a fresh process.
  auto judge = make(python("oneshot_judge.py", 1));
  ASSERT_TRUE(judge);
  std::vector<JudgeItem> items;
  for (int i = 0; i < 6; ++i)
    items.push_back(item("", "s" + std::to_string(i), ""));
  JudgeStats stats;
  std::vector<Verdict> verdicts = run(*judge, items, stats);
  for (size_t i = 0; i < items.size(); ++i) {
    EXPECT_EQ(verdicts[i].failure, "") << verdicts[i].feedback;
    EXPECT_EQ(verdicts[i].feedback, items[i].sample);
  }
  EXPECT_EQ(stats.passed, 6);
}

TEST_F(ExecJudgeTest, WorkersRunInParallelAndOrderIsKept) {
  auto judge = make(python("slow_judge.py", 4));
  ASSERT_TRUE(judge);
  std::vector<JudgeItem> items(8, item("", "s", ""));
  JudgeStats stats;
  std::vector<Verdict> verdicts = run(*judge, items, stats);
  std::set<std::string> pids;
  std::vector<std::pair<double, double>> spans;
  for (const Verdict &verdict : verdicts) {
    ASSERT_EQ(verdict.failure, "") << verdict.feedback;
    llvm::SmallVector<llvm::StringRef, 3> parts;
    llvm::StringRef(verdict.feedback).split(parts, ' ');
    ASSERT_EQ(parts.size(), 3u);
    pids.insert(parts[0].str());
    double begin = 0, end = 0;
    ASSERT_FALSE(parts[1].getAsDouble(begin));
    ASSERT_FALSE(parts[2].getAsDouble(end));
    spans.push_back({begin, end});
  }
  EXPECT_GE(pids.size(), 2u);
  // Some two items were judged at the same time.
  bool overlap = false;
  for (size_t i = 0; i < spans.size(); ++i)
    for (size_t j = i + 1; j < spans.size(); ++j)
      overlap |=
          spans[i].first < spans[j].second && spans[j].first < spans[i].second;
  EXPECT_TRUE(overlap);
}

TEST_F(ExecJudgeTest, VerdictsDoNotDependOnWorkers) {
  std::vector<JudgeItem> items;
  for (int i = 0; i < 24; ++i) {
    std::string sample = i % 7 == 3 ? "CRASH" : std::to_string(i % 5);
    items.push_back(item("", sample, std::to_string(i % 3)));
  }
  std::vector<std::vector<Verdict>> results;
  std::vector<JudgeStats> allStats;
  for (int workers : {1, 3}) {
    auto judge = make(python("crash_judge.py", workers));
    ASSERT_TRUE(judge);
    JudgeStats stats;
    results.push_back(run(*judge, items, stats));
    allStats.push_back(stats);
  }
  for (size_t i = 0; i < items.size(); ++i) {
    SCOPED_TRACE(i);
    // The rule of crash_judge.py, applied here.
    bool crash = items[i].sample == "CRASH";
    bool pass = !crash && items[i].sample == items[i].reference;
    for (const std::vector<Verdict> &verdicts : results) {
      EXPECT_EQ(verdicts[i].failure, crash ? "crash" : "");
      EXPECT_EQ(verdicts[i].pass, pass);
    }
    EXPECT_EQ(results[0][i].feedback, results[1][i].feedback);
  }
  EXPECT_EQ(allStats[0].passed, allStats[1].passed);
  EXPECT_EQ(allStats[0].crashed, 3); // items 3, 10 and 17
  EXPECT_EQ(allStats[1].crashed, 3);
}

TEST_F(ExecJudgeTest, DestroyingAStubbornJudgeIsBounded) {
  pid_t pid = 0;
  double seconds = 0;
  {
    auto judge = make(python("stubborn_judge.py", 1));
    ASSERT_TRUE(judge);
    std::vector<JudgeItem> items = {item("", "a", "")};
    JudgeStats stats;
    std::vector<Verdict> verdicts = run(*judge, items, stats);
    ASSERT_EQ(verdicts[0].failure, "");
    pid = static_cast<pid_t>(std::atoi(verdicts[0].feedback.c_str()));
    ASSERT_GT(pid, 0);
    auto start = Clock::now();
    judge.reset();
    seconds = secondsSince(start);
  }
  // It ignores end of file and SIGTERM: killed after the 2 s grace.
  EXPECT_GE(seconds, 1.9);
  EXPECT_LT(seconds, 5.0);
  EXPECT_TRUE(notRunning(pid));
}

TEST_F(ExecJudgeTest, DocumentedExampleWorks) {
  // The example judge in docs/judges.md, run as it is written there.
  std::ifstream doc(std::string(FTL_SOURCE_DIR) + "/docs/judges.md");
  std::string text((std::istreambuf_iterator<char>(doc)),
                   std::istreambuf_iterator<char>());
  size_t begin = text.find("```python\n");
  ASSERT_NE(begin, std::string::npos) << "no python example in judges.md";
  begin += 10;
  size_t end = text.find("```", begin);
  ASSERT_NE(end, std::string::npos);
  TempDir dir;
  std::string script = dir.file("last_number.py");
  {
    std::ofstream(script) << text.substr(begin, end - begin);
  }
  ExecOptions options;
  options.argv = {"python3", script};
  auto judge = make(options);
  ASSERT_TRUE(judge);
  std::vector<JudgeItem> items = {
      item("Add 2 and 3.", "2 + 3 = 5", "5"),
      item("Add 2 and 3.", "The answer is 6.", "5"),
      item("Add 2 and 3.", "I don't know", "5"),
  };
  JudgeStats stats;
  std::vector<Verdict> verdicts = run(*judge, items, stats);
  EXPECT_TRUE(verdicts[0].pass);
  EXPECT_EQ(verdicts[0].feedback, "correct");
  EXPECT_FALSE(verdicts[1].pass);
  EXPECT_EQ(verdicts[1].feedback, "the final answer 6 is wrong");
  EXPECT_FALSE(verdicts[2].pass);
  EXPECT_EQ(verdicts[2].feedback, "no number in the answer");
  EXPECT_EQ(stats.passed, 1);
  EXPECT_EQ(stats.crashed + stats.garbage + stats.timedOut, 0);
}

TEST_F(ExecJudgeTest, NoItemsStartsNothing) {
  auto judge = make(python("ok_judge.py", 2));
  ASSERT_TRUE(judge);
  JudgeStats stats;
  std::vector<JudgeItem> none;
  EXPECT_TRUE(run(*judge, none, stats).empty());
  EXPECT_TRUE(noChildren());
  EXPECT_EQ(stats.items, 0);
}

} // namespace
