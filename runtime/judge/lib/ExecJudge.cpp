//===- ExecJudge.cpp - Judging with an external program -------------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
//
// The protocol and its failure handling are described in docs/judges.md.
// Each worker thread owns one long-lived Subprocess and takes the next item
// from a shared counter; verdicts go to the item's slot, so the result order
// (and, for a deterministic program, the result) does not depend on timing.
//
//===----------------------------------------------------------------------===//

#include "Subprocess.h"

#include "ftl/Judge/Judge.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/raw_ostream.h"

#include <atomic>
#include <cmath>
#include <mutex>
#include <thread>
#include <unistd.h>

using namespace ftl::rt;
using namespace ftl::rt::detail;

namespace {

/// Seconds a destroyed judge's programs get to exit after their stdin closes.
constexpr double kShutdownGraceSeconds = 2.0;
/// Seconds a program that closed its stdout gets to exit (for its status).
constexpr double kCrashGraceSeconds = 1.0;
/// The largest timeout accepted (a day).
constexpr double kMaxTimeoutSeconds = 86400;
constexpr int kMaxWorkers = 256;

llvm::Error makeError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                 message.str().c_str());
}

Clock::time_point after(double seconds) {
  return Clock::now() + std::chrono::duration_cast<Clock::duration>(
                            std::chrono::duration<double>(seconds));
}

std::string formatSeconds(double seconds) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%g", seconds);
  return buffer;
}

/// Valid UTF-8 (invalid sequences become U+FFFD).
std::string validUtf8(std::string text) {
  if (llvm::json::isUTF8(text))
    return text;
  return llvm::json::fixUTF8(text);
}

/// Rewrites JSON text (valid UTF-8) so that it is pure ASCII: every
/// character above U+007E becomes a \u escape (a surrogate pair above
/// U+FFFF). Non-ASCII bytes only occur inside strings, so this keeps the
/// meaning, and the program can read its stdin in any ASCII-compatible
/// encoding.
std::string asciiJson(llvm::StringRef json) {
  std::string out;
  out.reserve(json.size() + 16);
  auto escape = [&](unsigned unit) {
    char buffer[8];
    std::snprintf(buffer, sizeof(buffer), "\\u%04x", unit);
    out += buffer;
  };
  for (size_t i = 0; i < json.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(json[i]);
    if (c < 0x7f) {
      out.push_back(static_cast<char>(c));
      continue;
    }
    if (c == 0x7f) {
      escape(c);
      continue;
    }
    size_t length = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
    unsigned codePoint = c & (length == 4 ? 0x07 : length == 3 ? 0x0f : 0x1f);
    for (size_t k = 1; k < length && i + k < json.size(); ++k)
      codePoint =
          (codePoint << 6) | (static_cast<unsigned char>(json[i + k]) & 0x3f);
    i += length - 1;
    if (codePoint >= 0x10000) {
      codePoint -= 0x10000;
      escape(0xd800 + (codePoint >> 10));
      escape(0xdc00 + (codePoint & 0x3ff));
    } else {
      escape(codePoint);
    }
  }
  return out;
}

/// The request line for one item, with its newline.
std::string encodeRequest(const JudgeItem &item) {
  std::string json;
  llvm::raw_string_ostream stream(json);
  llvm::json::OStream writer(stream);
  writer.object([&] {
    writer.attribute("prompt", validUtf8(item.prompt));
    writer.attribute("sample", validUtf8(item.sample));
    writer.attribute("reference", validUtf8(item.reference));
  });
  stream.flush();
  std::string line = asciiJson(json);
  line.push_back('\n');
  return line;
}

/// A quoted, shortened copy of program output for a message: control
/// characters become \n, \r, \t or \xNN; at most 200 bytes are kept.
std::string quoteLine(llvm::StringRef line) {
  std::string text = "'";
  for (char c : line.take_front(200)) {
    unsigned char byte = static_cast<unsigned char>(c);
    if (c == '\n')
      text += "\\n";
    else if (c == '\r')
      text += "\\r";
    else if (c == '\t')
      text += "\\t";
    else if (byte < 0x20 || byte == 0x7f)
      text += "\\x" + llvm::utohexstr(byte, /*LowerCase=*/true, /*Width=*/2);
    else
      text.push_back(c);
  }
  if (line.size() > 200)
    text += "...";
  text += "'";
  return text;
}

/// Parses one answer line. On failure returns false and says why in
/// `problem`.
bool parseAnswer(llvm::StringRef line, Verdict &verdict, std::string &problem) {
  if (line.trim().empty()) {
    problem = "answered with an empty line; expected a JSON object like "
              "{\"score\": 1, \"pass\": true}";
    return false;
  }
  llvm::Expected<llvm::json::Value> value = llvm::json::parse(line);
  if (!value) {
    problem = "answered with a line that is not valid JSON (" +
              llvm::toString(value.takeError()) + "): " + quoteLine(line);
    return false;
  }
  const llvm::json::Object *object = value->getAsObject();
  if (!object) {
    problem = "answered with JSON that is not an object: " + quoteLine(line) +
              "; expected {\"score\": number, \"pass\": bool, "
              "\"feedback\": string}";
    return false;
  }
  const llvm::json::Value *score = object->get("score");
  std::optional<double> number = score ? score->getAsNumber() : std::nullopt;
  if (!number) {
    problem = std::string(score ? "answered with a 'score' that is not a "
                                  "number: "
                                : "answered without a 'score': ") +
              quoteLine(line) + "; expected a number";
    return false;
  }
  verdict.score = *number;
  verdict.pass = *number > 0;
  if (const llvm::json::Value *pass = object->get("pass")) {
    if (std::optional<bool> flag = pass->getAsBoolean()) {
      verdict.pass = *flag;
    } else if (pass->kind() != llvm::json::Value::Null) {
      problem = "answered with a 'pass' that is not true or false: " +
                quoteLine(line);
      return false;
    }
  }
  if (const llvm::json::Value *feedback = object->get("feedback")) {
    if (std::optional<llvm::StringRef> text = feedback->getAsString()) {
      verdict.feedback = text->str();
    } else if (feedback->kind() != llvm::json::Value::Null) {
      problem =
          "answered with a 'feedback' that is not a string: " + quoteLine(line);
      return false;
    }
  }
  return true;
}

/// Whether stderr says the program ran out of memory.
bool mentionsOutOfMemory(llvm::StringRef text) {
  std::string lower = text.lower();
  llvm::StringRef haystack(lower);
  for (const char *marker : {"memoryerror", "bad_alloc", "out of memory",
                             "cannot allocate memory", "memory exhausted"})
    if (haystack.contains(marker))
      return true;
  return false;
}

class ExecJudge final : public Judge {
public:
  ExecJudge(ExecOptions options, SpawnSpec spec)
      : options(std::move(options)), spec(std::move(spec)) {
    for (int i = 0; i < this->options.workers; ++i)
      processes.push_back(std::make_unique<Subprocess>());
  }

  ~ExecJudge() override {
    // Let every program see end of file at once, then wait for all of them
    // within one grace period before killing what is left.
    for (auto &process : processes)
      process->closeInput();
    auto until = after(kShutdownGraceSeconds);
    for (auto &process : processes) {
      process->waitForExit(until);
      process->kill();
    }
  }

  llvm::Expected<std::vector<Verdict>> judge(llvm::ArrayRef<JudgeItem> items,
                                             JudgeStats &stats) override;

private:
  struct Run {
    llvm::ArrayRef<JudgeItem> items;
    std::vector<Verdict> verdicts;
    std::atomic<size_t> next{0};
    std::atomic<bool> stop{false};
    std::mutex errorMutex;
    std::string error;
  };

  void work(Subprocess &process, Run &run);
  /// Judges one item; an error means the program cannot be started.
  llvm::Expected<Verdict> judgeItem(Subprocess &process, const JudgeItem &item,
                                    Run &run, int64_t previous);
  /// A failure verdict for an item: the process is killed and its stderr
  /// appended to the feedback "judge program 'x' <what>".
  Verdict failed(Subprocess &process, llvm::StringRef kind,
                 const std::string &what);
  /// A failure verdict for a program that closed its stdout or died.
  Verdict crashed(Subprocess &process);
  Verdict failureVerdict(llvm::StringRef kind, const std::string &what,
                         const std::string &stderrText, bool truncated);

  /// The command for messages: argv joined by spaces, shortened.
  std::string commandText() const {
    std::string text = llvm::join(options.argv, " ");
    if (text.size() > 200)
      text = text.substr(0, 197) + "...";
    return text;
  }

  ExecOptions options;
  SpawnSpec spec;
  std::vector<std::unique_ptr<Subprocess>> processes;
  std::mutex callMutex;
};

Verdict ExecJudge::failureVerdict(llvm::StringRef kind, const std::string &what,
                                  const std::string &stderrText,
                                  bool truncated) {
  Verdict verdict;
  verdict.failure = kind.str();
  verdict.feedback = "judge program '" + commandText() + "' " + what;
  if (!stderrText.empty()) {
    verdict.feedback += truncated ? "\n--- judge stderr (last part) ---\n"
                                  : "\n--- judge stderr ---\n";
    verdict.feedback += stderrText;
  }
  verdict.feedback = validUtf8(std::move(verdict.feedback));
  return verdict;
}

/// " (its stdout had '...' without a newline)" when the program left an
/// unfinished line, else "".
static std::string unfinishedOutput(const Subprocess &process) {
  if (process.pendingOutput().empty())
    return "";
  return " (its stdout had " + quoteLine(process.pendingOutput()) +
         " without a newline)";
}

Verdict ExecJudge::failed(Subprocess &process, llvm::StringRef kind,
                          const std::string &what) {
  process.kill(); // collects the last stderr too
  Verdict verdict = failureVerdict(kind, what, process.stderrTail().str(),
                                   process.stderrTruncated());
  process.clearStderr();
  return verdict;
}

Verdict ExecJudge::crashed(Subprocess &process) {
  // Let it finish dying (and writing stderr) to learn how it ended.
  std::string unfinished = unfinishedOutput(process);
  process.waitForExit(after(kCrashGraceSeconds));
  bool exited = process.hasExited();
  std::string ended = process.kill();
  if (!exited)
    ended = "closed its stdout (and was killed)";
  bool memory =
      options.memoryLimitBytes > 0 && mentionsOutOfMemory(process.stderrTail());
  std::string what;
  if (memory)
    what = "ran out of memory (limit " +
           std::to_string(options.memoryLimitBytes) + " bytes) and ";
  what += ended + " before answering" + unfinished +
          "; a fresh one is started for the next item";
  Verdict verdict =
      failureVerdict(memory ? "memory" : "crash", what,
                     process.stderrTail().str(), process.stderrTruncated());
  process.clearStderr();
  return verdict;
}

llvm::Expected<Verdict> ExecJudge::judgeItem(Subprocess &process,
                                             const JudgeItem &item, Run &run,
                                             int64_t previous) {
  // A process that served earlier items: anything it printed since, or its
  // death, is noticed before the next request.
  bool served = process.running();
  if (served) {
    bool alive = process.pollIdle();
    if (!process.pendingOutput().empty()) {
      std::string extra = quoteLine(process.pendingOutput());
      if (previous >= 0)
        run.verdicts[previous] =
            failed(process, "garbage",
                   "printed more than one line for one request (extra output " +
                       extra + "); it was killed and restarted");
      else
        process.kill();
    } else if (!alive) {
      process.kill();
    }
  }

  std::string request = encodeRequest(item);
  for (int attempt = 0;; ++attempt) {
    bool fresh = !process.running();
    if (fresh)
      if (llvm::Error error = process.start(spec))
        return std::move(error);
    Subprocess::ExchangeResult result =
        process.exchange(request, after(options.timeoutSeconds));

    switch (result.event) {
    case Subprocess::Event::Line: {
      Verdict verdict;
      std::string problem;
      if (!parseAnswer(result.line, verdict, problem))
        return failed(process, "garbage",
                      problem + "; it was killed and restarted");
      if (!process.pendingOutput().empty())
        return failed(process, "garbage",
                      "printed more than one line for one request (extra "
                      "output " +
                          quoteLine(process.pendingOutput()) +
                          "); it was killed and restarted");
      process.clearStderr();
      return verdict;
    }
    case Subprocess::Event::Timeout: {
      std::string what = "gave no answer within " +
                         formatSeconds(options.timeoutSeconds) + " s";
      if (process.pendingOutput().empty())
        what += " (if it did answer, it may not have flushed stdout: in "
                "Python use print(..., flush=True))";
      else
        what += unfinishedOutput(process);
      return failed(process, "timeout", what + "; it was killed and restarted");
    }
    case Subprocess::Event::TooLong:
      return failed(process, "garbage",
                    "answered with a line longer than " +
                        std::to_string(Subprocess::kMaxLine) +
                        " bytes; it was killed and restarted");
    case Subprocess::Event::Closed:
      break;
    }

    // The program closed its stdout or died. If it had served items and
    // did not read any of this request, it went away between items: start a
    // fresh one and send the request again (once).
    bool untouched = (result.writeFailed && result.written == 0) ||
                     process.unreadInput() == result.written;
    if (!fresh && untouched && attempt == 0) {
      process.kill();
      continue;
    }
    return crashed(process);
  }
}

void ExecJudge::work(Subprocess &process, Run &run) {
  SigpipeBlocker noSigpipe;
  int64_t previous = -1;
  while (!run.stop.load()) {
    size_t index = run.next.fetch_add(1);
    if (index >= run.items.size())
      break;
    llvm::Expected<Verdict> verdict =
        judgeItem(process, run.items[index], run, previous);
    if (!verdict) {
      std::lock_guard<std::mutex> lock(run.errorMutex);
      std::string message = llvm::toString(verdict.takeError());
      if (run.error.empty())
        run.error = message;
      run.stop.store(true);
      break;
    }
    run.verdicts[index] = std::move(*verdict);
    previous = static_cast<int64_t>(index);
  }
}

llvm::Expected<std::vector<Verdict>>
ExecJudge::judge(llvm::ArrayRef<JudgeItem> items, JudgeStats &stats) {
  std::lock_guard<std::mutex> lock(callMutex);
  Run run;
  run.items = items;
  run.verdicts.resize(items.size());
  size_t workers = std::min<size_t>(processes.size(), items.size());
  std::vector<std::thread> threads;
  threads.reserve(workers);
  for (size_t w = 0; w < workers; ++w)
    threads.emplace_back([this, w, &run] { work(*processes[w], run); });
  for (std::thread &thread : threads)
    thread.join();
  if (!run.error.empty())
    return makeError(run.error);
  accumulateStats(run.verdicts, stats);
  return std::move(run.verdicts);
}

/// Finds the program like execvp would (a name with a '/' is a path,
/// relative to `workingDir` when set; otherwise searched on PATH) and
/// returns its absolute path.
llvm::Expected<std::string> findProgram(llvm::StringRef name,
                                        llvm::StringRef workingDir) {
  llvm::SmallString<256> path;
  if (name.contains('/')) {
    path = name;
    if (!llvm::sys::path::is_absolute(path)) {
      llvm::SmallString<256> base(workingDir);
      if (base.empty())
        llvm::sys::fs::current_path(base);
      llvm::sys::path::append(base, path);
      path = base;
    }
    if (!llvm::sys::fs::exists(path))
      return makeError("judge program '" + name +
                       "' does not exist (looked "
                       "for '" +
                       path + "')");
    if (llvm::sys::fs::is_directory(path))
      return makeError("judge program '" + name +
                       "' is a folder; expected an executable file");
    if (::access(path.c_str(), X_OK) != 0)
      return makeError("judge program '" + name +
                       "' is not executable; run 'chmod +x " + path +
                       "' or name its interpreter first (e.g. 'python3 " +
                       name + "')");
    return std::string(path.str());
  }
  llvm::ErrorOr<std::string> found = llvm::sys::findProgramByName(name);
  if (!found) {
    const char *pathVariable = std::getenv("PATH");
    return makeError("judge program '" + name +
                     "' was not found in any folder on PATH ('" +
                     (pathVariable ? pathVariable : "") +
                     "'); expected an installed program or a path to one");
  }
  path = *found;
  llvm::sys::fs::make_absolute(path);
  return std::string(path.str());
}

} // namespace

llvm::Expected<std::unique_ptr<Judge>> ftl::rt::execJudge(ExecOptions options) {
  if (options.argv.empty() || options.argv.front().empty())
    return makeError("judge command is empty; expected a program and its "
                     "arguments");
  for (size_t i = 0; i < options.argv.size(); ++i)
    if (options.argv[i].find('\0') != std::string::npos)
      return makeError("judge argument " + llvm::Twine(i) +
                       " contains a NUL byte; program arguments cannot");
  if (!(options.timeoutSeconds > 0) ||
      !(options.timeoutSeconds <= kMaxTimeoutSeconds))
    return makeError("judge timeout must be a positive number of seconds "
                     "up to " +
                     formatSeconds(kMaxTimeoutSeconds) + "; found " +
                     formatSeconds(options.timeoutSeconds));
  if (options.workers < 1 || options.workers > kMaxWorkers)
    return makeError("judge workers must be between 1 and " +
                     llvm::Twine(kMaxWorkers) + "; found " +
                     llvm::Twine(options.workers));
  if (options.memoryLimitBytes < 0)
    return makeError("judge memory limit must be 0 (none) or a positive "
                     "number of bytes; found " +
                     llvm::Twine(options.memoryLimitBytes));

  SpawnSpec spec;
  if (!options.workingDir.empty()) {
    llvm::SmallString<256> dir(options.workingDir);
    llvm::sys::fs::make_absolute(dir);
    if (!llvm::sys::fs::exists(dir))
      return makeError("judge working folder '" + options.workingDir +
                       "' does not exist");
    if (!llvm::sys::fs::is_directory(dir))
      return makeError("judge working folder '" + options.workingDir +
                       "' is not a folder");
    spec.workingDir = std::string(dir.str());
  }
  llvm::Expected<std::string> program =
      findProgram(options.argv.front(), spec.workingDir);
  if (!program)
    return program.takeError();
  spec.program = std::move(*program);
  spec.argv = options.argv;
  spec.memoryLimitBytes = options.memoryLimitBytes;
  return std::make_unique<ExecJudge>(std::move(options), std::move(spec));
}
