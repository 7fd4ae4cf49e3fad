//===- ProgressTest.cpp - Progress lines, rates, throttling ---------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
//
// A fake clock drives every test. Expected rates are computed here from the
// smoothing formula r += (1 - exp(-dt / tau)) * (inst - r).
//
//===----------------------------------------------------------------------===//

#include "ftl/Run/Progress.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/raw_ostream.h"

#include "gtest/gtest.h"

#include <cmath>
#include <thread>

using namespace ftl::rt;

namespace {
struct FakeClock {
  double now = 0;
  std::function<double()> fn() {
    return [this] { return now; };
  }
};

ProgressOptions plainOptions(llvm::raw_ostream &os, FakeClock &clock) {
  ProgressOptions options;
  options.stream = &os;
  options.mode = ProgressOptions::Mode::Plain;
  options.plainIntervalSeconds = 10;
  options.smoothingSeconds = 5;
  options.clock = clock.fn();
  return options;
}

std::vector<std::string> lines(const std::string &text) {
  llvm::SmallVector<llvm::StringRef, 8> parts;
  llvm::StringRef(text).split(parts, '\n', -1, /*KeepEmpty=*/false);
  return std::vector<std::string>(parts.begin(), parts.end());
}

size_t count(llvm::StringRef text, llvm::StringRef what) {
  return text.count(what);
}
} // namespace

TEST(Progress, FormatsDurations) {
  EXPECT_EQ(formatDuration(0), "0:00");
  EXPECT_EQ(formatDuration(59.4), "0:59");
  EXPECT_EQ(formatDuration(61), "1:01");
  EXPECT_EQ(formatDuration(3599.6), "1:00:00");
  EXPECT_EQ(formatDuration(3723), "1:02:03");
  EXPECT_EQ(formatDuration(-1), "?");
  EXPECT_EQ(formatDuration(NAN), "?");
}

TEST(Progress, PlainLinesEveryIntervalWithSmoothedRates) {
  std::string out;
  llvm::raw_string_ostream os(out);
  FakeClock clock;
  {
    Progress progress("train", 1000, plainOptions(os, clock));
    // 10 steps/s and 2560 tok/s for 10 s: the first line.
    clock.now = 4;
    progress.setValue("loss", 2.5);
    progress.advance(40, 10240);
    EXPECT_EQ(out, "");
    clock.now = 10;
    progress.setValue("loss", 2.3456);
    progress.advance(60, 15360);
    EXPECT_EQ(out, "train: 100/1000 (10.0%) loss=2.346 tok/s=2560 "
                   "elapsed=0:10 eta=1:30\n");

    // Twice the tokens per step from t=10 to t=15. A rate sample is taken
    // when the next change shows the moment is over, so the sample for
    // t=15 is in the line drawn at t=20.
    clock.now = 15;
    progress.setValue("loss", 2.0);
    progress.setValue("lr", 3e-4);
    progress.advance(50, 25600);
    EXPECT_EQ(lines(out).size(), 1u); // 5 s since the last line
    clock.now = 20;
    progress.advance(50, 25600);
    double w = 1 - std::exp(-5.0 / 5.0);
    double tokenRate = 2560 + w * (5120 - 2560);
    ASSERT_EQ(lines(out).size(), 2u);
    EXPECT_EQ(lines(out)[1],
              "train: 200/1000 (20.0%) loss=2 lr=0.0003 tok/s=" +
                  std::to_string(static_cast<int>(std::lround(tokenRate))) +
                  " elapsed=0:20 eta=1:20");

    // The end: the final line shows the average rate over the whole run.
    clock.now = 100;
    progress.update(1000);
    progress.addTokens(1000);
    out.clear();
    progress.finish();
    uint64_t tokens = 10240 + 15360 + 25600 + 25600 + 1000;
    EXPECT_EQ(out, "train: 1000/1000 (100.0%) loss=2 lr=0.0003 tok/s=" +
                       std::to_string(std::lround(tokens / 100.0)) +
                       " elapsed=1:40 done\n");
    out.clear();
    progress.advance(5); // ignored after finish
    progress.finish();
  }
  EXPECT_EQ(out, ""); // the destructor does not print a second final line
}

TEST(Progress, UnknownTotalAndItemRates) {
  std::string out;
  llvm::raw_string_ostream os(out);
  FakeClock clock;
  ProgressOptions options = plainOptions(os, clock);
  options.itemUnit = "docs";
  Progress progress("tokenize", 0, options);
  clock.now = 12;
  progress.advance(30);
  // No rate yet: one change is not enough to measure one.
  EXPECT_EQ(out, "tokenize: 30 elapsed=0:12\n");
  clock.now = 24;
  progress.advance(30);
  EXPECT_EQ(lines(out).back(), "tokenize: 60 docs/s=2.5 elapsed=0:24");
  clock.now = 3725;
  progress.finish();
  EXPECT_EQ(lines(out).back(),
            "tokenize: 60 docs/s=0.0161 elapsed=1:02:05 done");
}

TEST(Progress, PlainLineBeforeAnyRateHasNoRate) {
  std::string out;
  llvm::raw_string_ostream os(out);
  FakeClock clock;
  Progress progress("generate", 8, plainOptions(os, clock));
  clock.now = 3;
  EXPECT_EQ(progress.plainLine(), "generate: 0/8 (0.0%) elapsed=0:03 eta=?");
}

TEST(Progress, MessagesGetTheirOwnLines) {
  std::string out;
  llvm::raw_string_ostream os(out);
  FakeClock clock;
  Progress progress("train", 10, plainOptions(os, clock));
  progress.message("saved checkpoint step-00000005");
  EXPECT_EQ(out, "saved checkpoint step-00000005\n");
}

TEST(Progress, TerminalRedrawsInPlaceAtMostTenTimesASecond) {
  std::string out;
  llvm::raw_string_ostream os(out);
  FakeClock clock;
  ProgressOptions options;
  options.stream = &os;
  options.mode = ProgressOptions::Mode::Terminal;
  options.width = 72;
  options.clock = clock.fn();
  Progress progress("train", 200, options);
  EXPECT_EQ(count(out, "\r"), 1u); // drawn at once
  // 100 updates within 0.05 s: no redraw.
  for (int i = 0; i < 100; ++i) {
    clock.now = 0.0005 * i;
    progress.advance(1, 64);
  }
  EXPECT_EQ(count(out, "\r"), 1u);
  // One update every 0.02 s for 2 s: about 10 redraws per second.
  for (int i = 0; i < 99; ++i) {
    clock.now = 0.06 + 0.02 * i;
    progress.advance(1, 64);
  }
  size_t redraws = count(out, "\r");
  EXPECT_GE(redraws, 15u);
  EXPECT_LE(redraws, 21u);
  EXPECT_EQ(count(out, "\n"), 0u); // never scrolls while running
  clock.now = 3;
  progress.advance(1, 64);

  // Each drawn line fits the width and is cleared to the end.
  llvm::SmallVector<llvm::StringRef, 32> draws;
  llvm::StringRef(out).split(draws, '\r', -1, /*KeepEmpty=*/false);
  for (llvm::StringRef draw : draws) {
    ASSERT_TRUE(draw.consume_back("\x1b[K")) << draw.str();
    EXPECT_LE(draw.size(), 71u) << draw.str();
  }
  llvm::StringRef last = draws.back().drop_back(3);
  EXPECT_TRUE(last.starts_with("train 100% [")) << last.str();
  EXPECT_NE(last.find("] 200/200 "), llvm::StringRef::npos) << last.str();
  EXPECT_NE(last.find(" tok/s 0:03<0:00"), llvm::StringRef::npos) << last.str();

  // A message clears the bar, prints, and redraws it.
  out.clear();
  progress.message("note");
  EXPECT_TRUE(llvm::StringRef(out).starts_with("\r\x1b[Knote\n\r")) << out;

  out.clear();
  clock.now = 4;
  progress.finish();
  EXPECT_TRUE(llvm::StringRef(out).starts_with("\rtrain 100% [")) << out;
  EXPECT_NE(out.find(" done in 0:04"), std::string::npos) << out;
  EXPECT_TRUE(llvm::StringRef(out).ends_with("\x1b[K\n")) << out;
}

TEST(Progress, TerminalBarFillsWithProgress) {
  std::string out;
  llvm::raw_string_ostream os(out);
  FakeClock clock;
  ProgressOptions options;
  options.stream = &os;
  options.mode = ProgressOptions::Mode::Terminal;
  options.width = 80;
  options.clock = clock.fn();
  Progress progress("gen", 4, options);
  clock.now = 1;
  progress.advance(1);
  clock.now = 2;
  out.clear();
  progress.advance(1);
  // 50% of a 40-column bar.
  EXPECT_EQ(out, "\rgen  50% [####################--------------------] "
                 "2/4 1 it/s 0:02<0:02\x1b[K");
}

TEST(Progress, NarrowTerminalsDropTheBarAndNeverWrap) {
  std::string out;
  llvm::raw_string_ostream os(out);
  FakeClock clock;
  ProgressOptions options;
  options.stream = &os;
  options.mode = ProgressOptions::Mode::Terminal;
  options.width = 30;
  options.clock = clock.fn();
  Progress progress("a-long-description", 1000, options);
  progress.setValue("loss", 1.25);
  clock.now = 1;
  out.clear();
  progress.advance(10, 1000);
  llvm::StringRef draw(out);
  ASSERT_TRUE(draw.consume_front("\r"));
  ASSERT_TRUE(draw.consume_back("\x1b[K"));
  EXPECT_EQ(draw.size(), 29u);
  EXPECT_EQ(draw.find('['), llvm::StringRef::npos);
  EXPECT_TRUE(draw.starts_with("a-long-description   1% 10/10")) << draw.str();
}

TEST(Progress, ThreadSafeUpdates) {
  std::string out;
  llvm::raw_string_ostream os(out);
  ProgressOptions options;
  options.stream = &os;
  options.mode = ProgressOptions::Mode::Plain;
  options.plainIntervalSeconds = 0; // a line per update: stress the stream
  Progress progress("work", 4000, options);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i)
        progress.advance(1, 3);
    });
  for (std::thread &thread : threads)
    thread.join();
  progress.finish();
  std::vector<std::string> all = lines(out);
  ASSERT_FALSE(all.empty());
  EXPECT_TRUE(llvm::StringRef(all.back()).starts_with("work: 4000/4000 "))
      << all.back();
  for (const std::string &line : all)
    EXPECT_TRUE(llvm::StringRef(line).starts_with("work: ")) << line;
}

TEST(Progress, SplitCallsOfOneStepCountTogether) {
  // A step that reports tokens and then its number in two calls (a few
  // microseconds apart) must not look like a step without tokens followed
  // by tokens without a step.
  std::string out;
  llvm::raw_string_ostream os(out);
  FakeClock clock;
  Progress progress("train", 100, plainOptions(os, clock));
  for (int step = 1; step <= 30; ++step) {
    clock.now = 2.0 * step;
    progress.addTokens(1000);
    clock.now += 2e-6;
    progress.update(step);
    if (step == 2) {
      EXPECT_EQ(progress.plainLine(),
                "train: 2/100 (2.0%) tok/s=500 elapsed=0:04 eta=3:16");
    }
  }
  // Constant 0.5 steps/s and 500 tok/s: the smoothed rates are exact.
  EXPECT_EQ(progress.plainLine(),
            "train: 30/100 (30.0%) tok/s=500 elapsed=1:00 eta=2:20");
}

TEST(Progress, ContinuousChangesStillGetRates) {
  // Changes 1 ms apart never leave a pause; samples are still taken (about
  // once a second).
  std::string out;
  llvm::raw_string_ostream os(out);
  FakeClock clock;
  Progress progress("tokenize", 6000, plainOptions(os, clock));
  for (int i = 1; i <= 3000; ++i) {
    clock.now = 0.001 * i;
    progress.advance(1, 10);
  }
  EXPECT_EQ(progress.plainLine(),
            "tokenize: 3000/6000 (50.0%) tok/s=10000 elapsed=0:03 eta=0:03");
}
