//===- Progress.cpp - Progress bar for long work --------------------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "ftl/Run/Progress.h"

#include "llvm/ADT/SmallVector.h"
#include "llvm/Support/raw_ostream.h"

#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <mutex>
#include <sys/ioctl.h>
#include <unistd.h>
#include <utility>
#include <vector>

using namespace ftl::rt;
using llvm::StringRef;

std::string ftl::rt::formatDuration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0)
    return "?";
  uint64_t total = static_cast<uint64_t>(seconds + 0.5);
  uint64_t hours = total / 3600, minutes = total / 60 % 60, secs = total % 60;
  if (hours > 0)
    return fmt::format("{}:{:02}:{:02}", hours, minutes, secs);
  return fmt::format("{}:{:02}", minutes, secs);
}

/// Plain rates: whole numbers from 100 up, else 3 significant digits.
static std::string formatPlainRate(double rate) {
  if (rate >= 100)
    return fmt::format("{:.0f}", rate);
  return fmt::format("{:.3g}", rate);
}

/// Terminal rates: "812", "12.3", "1.23k", "4.56M".
static std::string formatCompactRate(double rate) {
  if (rate >= 1e6)
    return fmt::format("{:.2f}M", rate / 1e6);
  if (rate >= 1e3)
    return fmt::format("{:.2f}k", rate / 1e3);
  if (rate >= 100)
    return fmt::format("{:.0f}", rate);
  return fmt::format("{:.3g}", rate);
}

static std::string formatValue(double value) {
  return fmt::format("{:.4g}", value);
}

/// Rate samples closer together than this are merged into the next one.
static constexpr double kMinSampleSeconds = 0.25;
/// Count changes less than this apart belong to the same moment (a step that
/// calls `addTokens` and then `update`); a moment ends at the first change
/// after a longer pause, or after one second of continuous changes.
static constexpr double kMomentSeconds = 0.01;
static constexpr double kLongestMomentSeconds = 1.0;

struct Progress::Impl {
  std::mutex mutex;
  ProgressOptions options;
  llvm::raw_ostream *os = nullptr;
  bool terminal = false;
  std::string description;
  uint64_t total = 0;
  uint64_t current = 0;
  uint64_t tokens = 0;
  std::vector<std::pair<std::string, double>> values;

  double start = 0;
  double lastChange = 0;
  double momentStart = 0;
  double lastDraw = -1e300;
  bool finished = false;
  bool lineOnScreen = false;

  // Rate smoothing: the last sample and the smoothed rates.
  double sampleTime = 0;
  uint64_t sampleItems = 0;
  uint64_t sampleTokens = 0;
  bool haveRate = false;
  double itemRate = 0;
  double tokenRate = 0;

  double now() const { return options.clock(); }

  void sample(double time) {
    double dt = time - sampleTime;
    if (dt <= 0)
      return;
    double instItems = static_cast<double>(current - sampleItems) / dt;
    double instTokens = static_cast<double>(tokens - sampleTokens) / dt;
    if (!haveRate) {
      itemRate = instItems;
      tokenRate = instTokens;
      haveRate = true;
    } else {
      double weight = options.smoothingSeconds > 0
                          ? 1 - std::exp(-dt / options.smoothingSeconds)
                          : 1;
      itemRate += weight * (instItems - itemRate);
      tokenRate += weight * (instTokens - tokenRate);
    }
    sampleTime = time;
    sampleItems = current;
    sampleTokens = tokens;
  }

  bool countsTokens() const { return tokens > 0; }

  std::string rateUnit() const {
    return countsTokens() ? "tok" : options.itemUnit;
  }

  /// Rate to show: smoothed while running, the average when finished.
  double shownRate(double time) const {
    if (finished) {
      double elapsed = time - start;
      if (elapsed <= 0)
        return 0;
      return static_cast<double>(countsTokens() ? tokens : current) / elapsed;
    }
    return countsTokens() ? tokenRate : itemRate;
  }

  std::string eta() const {
    if (total == 0 || !haveRate || itemRate <= 0)
      return "?";
    if (current >= total)
      return formatDuration(0);
    return formatDuration(static_cast<double>(total - current) / itemRate);
  }

  std::string valuesText() const {
    std::string text;
    for (const auto &[name, value] : values) {
      text += ' ';
      text += name;
      text += '=';
      text += formatValue(value);
    }
    return text;
  }

  std::string plainLine(double time) const {
    std::string line = description + ": ";
    if (total > 0) {
      double percent =
          100.0 * static_cast<double>(current) / static_cast<double>(total);
      line += fmt::format("{}/{} ({:.1f}%)", current, total, percent);
    } else {
      line += std::to_string(current);
    }
    line += valuesText();
    if (haveRate || finished)
      line += " " + rateUnit() + "/s=" + formatPlainRate(shownRate(time));
    line += " elapsed=" + formatDuration(time - start);
    if (finished)
      line += " done";
    else if (total > 0)
      line += " eta=" + eta();
    return line;
  }

  unsigned terminalWidth() const {
    if (options.width > 0)
      return options.width;
    if (os == &llvm::errs()) {
      struct winsize size;
      if (::ioctl(STDERR_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 0)
        return size.ws_col;
    }
    if (const char *columns = std::getenv("COLUMNS")) {
      int value = std::atoi(columns);
      if (value > 0)
        return static_cast<unsigned>(value);
    }
    return 80;
  }

  std::string terminalLine(double time) const {
    unsigned width = terminalWidth();
    std::string head = description;
    std::string tail;
    if (total > 0)
      tail += fmt::format(" {}/{}", current, total);
    else
      tail += fmt::format(" {}", current);
    tail += valuesText();
    if (haveRate || finished)
      tail +=
          " " + formatCompactRate(shownRate(time)) + " " + rateUnit() + "/s";
    if (finished)
      tail += " done in " + formatDuration(time - start);
    else if (total > 0)
      tail += " " + formatDuration(time - start) + "<" + eta();
    else
      tail += " " + formatDuration(time - start);

    std::string line;
    if (total > 0) {
      double fraction = std::min(1.0, static_cast<double>(current) /
                                          static_cast<double>(total));
      head += fmt::format(" {:3.0f}% ", 100 * fraction);
      // Whatever room is left (up to 40 columns) goes to the bar.
      int room = static_cast<int>(width) - 1 -
                 static_cast<int>(head.size() + tail.size()) - 2;
      int barWidth = std::min(40, room);
      if (barWidth >= 5) {
        int filled = static_cast<int>(fraction * barWidth);
        line = head + "[" + std::string(filled, '#') +
               std::string(barWidth - filled, '-') + "]" + tail;
      } else {
        line = head + tail.substr(1);
      }
    } else {
      line = head + tail;
    }
    // Never wrap: a wrapped line cannot be redrawn in place.
    if (width > 1 && line.size() > width - 1)
      line.resize(width - 1);
    return line;
  }

  void write(StringRef text) {
    *os << text;
    os->flush();
  }

  void draw(double time, bool force) {
    if (finished && !force)
      return;
    if (terminal) {
      if (!force && time - lastDraw < options.ttyRefreshSeconds)
        return;
      write("\r" + terminalLine(time) + "\x1b[K");
      lineOnScreen = true;
    } else {
      if (!force && time - lastDraw < options.plainIntervalSeconds)
        return;
      write(plainLine(time) + "\n");
    }
    lastDraw = time;
  }

  bool countsChanged() const {
    return current != sampleItems || tokens != sampleTokens;
  }

  /// Before a change of the counts at `time`: when the last moment is over,
  /// the counts now are its complete result, so take the rate sample at its
  /// time.
  void beforeChange(double time) {
    bool momentOver = time - lastChange > kMomentSeconds ||
                      time - momentStart >= kLongestMomentSeconds;
    if (!momentOver)
      return;
    if (countsChanged() && lastChange - sampleTime >= kMinSampleSeconds)
      sample(lastChange);
    momentStart = time;
  }

  /// Runs `apply` (a change of the counts) between sampling and drawing;
  /// nothing changes once finished.
  template <class Apply>
  void change(Apply apply) {
    if (finished)
      return;
    double time = now();
    beforeChange(time);
    apply();
    lastChange = time;
    draw(time, /*force=*/false);
  }
};

Progress::Progress(StringRef description, uint64_t total,
                   ProgressOptions options)
    : impl(std::make_unique<Impl>()) {
  if (!options.clock)
    options.clock = [] {
      return std::chrono::duration<double>(
                 std::chrono::steady_clock::now().time_since_epoch())
          .count();
    };
  impl->options = std::move(options);
  impl->os = impl->options.stream ? impl->options.stream : &llvm::errs();
  switch (impl->options.mode) {
  case ProgressOptions::Mode::Auto:
    impl->terminal = impl->os->is_displayed();
    break;
  case ProgressOptions::Mode::Terminal:
    impl->terminal = true;
    break;
  case ProgressOptions::Mode::Plain:
    impl->terminal = false;
    break;
  }
  impl->description = description.str();
  impl->total = total;
  impl->start = impl->now();
  impl->sampleTime = impl->start;
  impl->lastChange = impl->start;
  impl->momentStart = impl->start;
  // Plain output waits one interval for its first line; a terminal shows
  // the bar at once.
  impl->lastDraw = impl->terminal ? -1e300 : impl->start;
  if (impl->terminal)
    impl->draw(impl->start, /*force=*/true);
}

Progress::~Progress() { finish(); }

void Progress::update(uint64_t current) {
  std::lock_guard<std::mutex> lock(impl->mutex);
  impl->change([&] { impl->current = current; });
}

void Progress::advance(uint64_t n, uint64_t tokens) {
  std::lock_guard<std::mutex> lock(impl->mutex);
  impl->change([&] {
    impl->current += n;
    impl->tokens += tokens;
  });
}

void Progress::addTokens(uint64_t n) {
  std::lock_guard<std::mutex> lock(impl->mutex);
  impl->change([&] { impl->tokens += n; });
}

void Progress::setValue(StringRef name, double value) {
  std::lock_guard<std::mutex> lock(impl->mutex);
  bool found = false;
  for (auto &entry : impl->values)
    if (entry.first == name) {
      entry.second = value;
      found = true;
      break;
    }
  if (!found)
    impl->values.emplace_back(name.str(), value);
}

void Progress::setTotal(uint64_t total) {
  std::lock_guard<std::mutex> lock(impl->mutex);
  impl->total = total;
}

void Progress::message(StringRef line) {
  std::lock_guard<std::mutex> lock(impl->mutex);
  if (impl->terminal && impl->lineOnScreen) {
    impl->write("\r\x1b[K" + line.str() + "\n");
    impl->lineOnScreen = false;
    if (!impl->finished)
      impl->draw(impl->now(), /*force=*/true);
  } else {
    impl->write(line.str() + "\n");
  }
}

void Progress::finish() {
  std::lock_guard<std::mutex> lock(impl->mutex);
  if (impl->finished)
    return;
  double time = impl->now();
  impl->finished = true;
  if (impl->terminal) {
    impl->write("\r" + impl->terminalLine(time) + "\x1b[K\n");
    impl->lineOnScreen = false;
  } else {
    impl->write(impl->plainLine(time) + "\n");
  }
}

std::string Progress::plainLine() {
  std::lock_guard<std::mutex> lock(impl->mutex);
  return impl->plainLine(impl->now());
}
