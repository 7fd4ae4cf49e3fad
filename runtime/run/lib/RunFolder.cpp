//===- RunFolder.cpp - The folder and manifest of a run -------------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "ftl/Run/RunFolder.h"

#include "JsonText.h"
#include "ftl/Runtime/FileUtil.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <fmt/format.h>

#include <cerrno>
#include <csignal>
#include <ctime>
#include <mutex>
#include <unistd.h>

using namespace ftl::rt;
using llvm::StringRef;
using llvm::Twine;
namespace fs = llvm::sys::fs;
namespace json = llvm::json;
using Clock = std::chrono::system_clock;

static llvm::Error makeError(const Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

static constexpr StringRef kManifestFormat = "ftl-run";
static constexpr int64_t kManifestVersion = 1;
static constexpr StringRef kManifestFile = "manifest.json";
static constexpr StringRef kHashCacheFile = ".ftl-hash-cache.json";

/// Keys in the order a reader wants them; the rest follow sorted.
static const StringRef kLeadingKeys[] = {
    "format",   "version",      "status",   "message", "ftl_version",
    "build",    "command_line", "script",   "seed",    "threads",
    "device",   "start_time",   "end_time", "pid",     "host",
    "hostname", "time",         "role",     "path",    "bytes",
    "sha256",   "inputs",       "seeds",    "resumes", "final_metrics",
    "ir"};

/// Fields `setField` may not touch.
static const StringRef kMaintainedKeys[] = {
    "format",   "version",       "status", "message",    "start_time",
    "end_time", "script",        "inputs", "pid",        "seeds",
    "resumes",  "final_metrics", "ir",     "ftl_version"};

StringRef ftl::rt::runStatusName(RunStatus status) {
  switch (status) {
  case RunStatus::Running:
    return "running";
  case RunStatus::Completed:
    return "completed";
  case RunStatus::Interrupted:
    return "interrupted";
  case RunStatus::Failed:
    return "failed";
  }
  return "unknown";
}

static std::string joinPath(StringRef dir, StringRef name) {
  llvm::SmallString<256> path(dir);
  llvm::sys::path::append(path, name);
  return std::string(path);
}

/// "2024-05-01T10:34:56.123Z".
static std::string formatUtc(Clock::time_point time) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                time.time_since_epoch())
                .count();
  std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm parts;
  gmtime_r(&seconds, &parts);
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%S", &parts);
  return fmt::format("{}.{:03}Z", text, ms % 1000);
}

/// "20240501-123456" in local time.
static std::string formatFolderTime(Clock::time_point time) {
  std::time_t seconds = Clock::to_time_t(time);
  std::tm parts;
  localtime_r(&seconds, &parts);
  char text[32];
  std::strftime(text, sizeof(text), "%Y%m%d-%H%M%S", &parts);
  return text;
}

static std::string thisHostname() {
  char hostname[256] = {0};
  if (::gethostname(hostname, sizeof(hostname) - 1) != 0)
    return "";
  return hostname;
}

namespace {
struct ScriptFacts {
  std::string path;
  std::string stem;
  uint64_t bytes = 0;
  std::string sha256;
};
} // namespace

static llvm::Expected<ScriptFacts> readScriptFacts(StringRef scriptPath) {
  ScriptFacts facts;
  llvm::SmallString<256> real;
  if (std::error_code ec = fs::real_path(scriptPath, real, true))
    return makeError("cannot read script '" + scriptPath +
                     "': " + ec.message());
  if (fs::is_directory(real))
    return makeError("script '" + scriptPath + "' is a folder, not a file");
  facts.path = std::string(real);
  facts.stem = llvm::sys::path::stem(real).str();
  if (std::error_code ec = fs::file_size(real, facts.bytes))
    return makeError("cannot read script '" + scriptPath +
                     "': " + ec.message());
  llvm::Expected<std::string> sha = sha256File(real);
  if (!sha)
    return sha.takeError();
  facts.sha256 = std::move(*sha);
  return facts;
}

//===----------------------------------------------------------------------===//
// RunFolder
//===----------------------------------------------------------------------===//

struct RunFolder::Impl {
  std::string dir;
  json::Object manifest;
  mutable std::mutex mutex;

  llvm::Error writeManifest() {
    std::string text = detail::toJsonText(json::Value(json::Object(manifest)),
                                          2, kLeadingKeys) +
                       "\n";
    return writeFileAtomically(joinPath(dir, kManifestFile), text);
  }
};

RunFolder::RunFolder(std::unique_ptr<Impl> impl) : impl(std::move(impl)) {}
RunFolder::RunFolder(RunFolder &&other) = default;
RunFolder &RunFolder::operator=(RunFolder &&other) = default;
RunFolder::~RunFolder() = default;

const std::string &RunFolder::path() const { return impl->dir; }
std::string RunFolder::manifestPath() const {
  return joinPath(impl->dir, kManifestFile);
}
std::string RunFolder::metricsPath() const {
  return joinPath(impl->dir, "metrics.jsonl");
}
std::string RunFolder::checkpointsDir() const {
  return joinPath(impl->dir, "checkpoints");
}
std::string RunFolder::samplesDir() const {
  return joinPath(impl->dir, "samples");
}

json::Object RunFolder::manifest() const {
  std::lock_guard<std::mutex> lock(impl->mutex);
  return impl->manifest;
}

llvm::Expected<RunFolder> RunFolder::create(StringRef runsRoot,
                                            StringRef scriptPath,
                                            const RunInfo &info) {
  llvm::Expected<ScriptFacts> script = readScriptFacts(scriptPath);
  if (!script)
    return script.takeError();
  if (std::error_code ec = fs::create_directories(runsRoot))
    return makeError("cannot create runs folder '" + runsRoot +
                     "': " + ec.message());
  // Hash before creating anything, so a bad input leaves no folder behind.
  llvm::Expected<json::Array> inputs =
      hashInputs(info.inputs, info.hashThreads,
                 info.useHashCache ? joinPath(runsRoot, kHashCacheFile) : "");
  if (!inputs)
    return inputs.takeError();

  Clock::time_point start = info.startTime ? *info.startTime : Clock::now();
  std::string base = script->stem + "-" + formatFolderTime(start);
  std::string dir;
  for (unsigned attempt = 1;; ++attempt) {
    std::string name =
        attempt == 1 ? base : base + "-" + std::to_string(attempt);
    dir = joinPath(runsRoot, name);
    std::error_code ec = fs::create_directory(dir, /*IgnoreExisting=*/false);
    if (!ec)
      break;
    if (ec != std::errc::file_exists || attempt == 100000)
      return makeError("cannot create run folder '" + dir +
                       "': " + ec.message());
  }

  auto impl = std::make_unique<Impl>();
  impl->dir = dir;
  json::Array commandLine;
  for (const std::string &arg : info.commandLine)
    commandLine.push_back(arg);
  json::Object build = describeBuild();
  std::string ftlVersion = build.getString("ftl").value_or("unknown").str();
  impl->manifest = json::Object{
      {"format", kManifestFormat},
      {"version", kManifestVersion},
      {"status", runStatusName(RunStatus::Running)},
      {"message", ""},
      {"ftl_version", ftlVersion},
      {"build", std::move(build)},
      {"command_line", std::move(commandLine)},
      {"script", json::Object{{"path", script->path},
                              {"bytes", static_cast<int64_t>(script->bytes)},
                              {"sha256", script->sha256}}},
      {"seed", info.seed},
      {"threads", static_cast<int64_t>(info.threads)},
      {"device", info.device},
      {"start_time", formatUtc(start)},
      {"end_time", nullptr},
      {"pid", static_cast<int64_t>(::getpid())},
      {"host", describeHost()},
      {"inputs", std::move(*inputs)},
      {"seeds", json::Object()},
      {"resumes", json::Array()},
      {"final_metrics", json::Object()},
      {"ir", info.resolvedIR}};

  llvm::Error error = llvm::Error::success();
  for (StringRef sub : {"checkpoints", "samples"})
    if (!error)
      if (std::error_code ec = fs::create_directory(joinPath(dir, sub)))
        error = makeError("cannot create '" + joinPath(dir, sub) +
                          "': " + ec.message());
  if (!error)
    error = writeFileAtomically(joinPath(dir, "metrics.jsonl"), "");
  if (!error)
    error = impl->writeManifest();
  if (error) {
    llvm::consumeError(removeDirectoryTree(dir));
    return std::move(error);
  }
  return RunFolder(std::move(impl));
}

llvm::Expected<RunFolder> RunFolder::open(StringRef dir) {
  std::string path = joinPath(dir, kManifestFile);
  auto buffer = llvm::MemoryBuffer::getFile(path);
  if (!buffer)
    return makeError("cannot open run folder '" + dir + "': '" + kManifestFile +
                     "' cannot be read (" + buffer.getError().message() + ")");
  llvm::Expected<json::Value> parsed = json::parse((*buffer)->getBuffer());
  if (!parsed)
    return makeError("run manifest '" + path + "' is not valid JSON: " +
                     detail::describeJsonError(parsed.takeError()));
  json::Object *root = parsed->getAsObject();
  if (!root ||
      root->getString("format") != std::optional<StringRef>(kManifestFormat))
    return makeError("'" + path +
                     "' is not an ftl run manifest (expected "
                     "a JSON object with \"format\": \"" +
                     kManifestFormat + "\")");
  std::optional<int64_t> version = root->getInteger("version");
  if (version != std::optional<int64_t>(kManifestVersion))
    return makeError("run manifest '" + path + "' has version " +
                     (version ? std::to_string(*version) : "none") +
                     "; this ftl reads version " + Twine(kManifestVersion));
  auto impl = std::make_unique<Impl>();
  impl->dir = dir.str();
  impl->manifest = std::move(*root);
  return RunFolder(std::move(impl));
}

llvm::Error RunFolder::setResolvedIR(StringRef ir) {
  std::lock_guard<std::mutex> lock(impl->mutex);
  impl->manifest["ir"] = ir.str();
  return impl->writeManifest();
}

llvm::Error RunFolder::recordSeed(StringRef purpose, uint64_t seed) {
  std::lock_guard<std::mutex> lock(impl->mutex);
  json::Object *seeds = impl->manifest.getObject("seeds");
  if (!seeds) {
    impl->manifest["seeds"] = json::Object();
    seeds = impl->manifest.getObject("seeds");
  }
  (*seeds)[purpose] = seed;
  return impl->writeManifest();
}

llvm::Error RunFolder::setField(StringRef key, json::Value value) {
  for (StringRef maintained : kMaintainedKeys)
    if (key == maintained)
      return makeError("manifest field '" + key +
                       "' is maintained by the run folder itself; use "
                       "finish(), recordSeed() or setResolvedIR()");
  std::lock_guard<std::mutex> lock(impl->mutex);
  impl->manifest[key] = std::move(value);
  return impl->writeManifest();
}

llvm::Error RunFolder::finish(RunStatus status, StringRef message,
                              const json::Object &finalMetrics) {
  std::lock_guard<std::mutex> lock(impl->mutex);
  impl->manifest["status"] = runStatusName(status);
  impl->manifest["message"] = message.str();
  impl->manifest["end_time"] = formatUtc(Clock::now());
  impl->manifest["final_metrics"] = json::Object(finalMetrics);
  return impl->writeManifest();
}

//===----------------------------------------------------------------------===//
// Resuming
//===----------------------------------------------------------------------===//

/// "<stem>-YYYYmmdd-HHMMSS" or "<stem>-YYYYmmdd-HHMMSS-N": N (1 for none).
static std::optional<unsigned> runFolderIndex(StringRef name, StringRef stem) {
  if (!name.consume_front(stem) || !name.consume_front("-"))
    return std::nullopt;
  auto digits = [](StringRef text) {
    return !text.empty() && llvm::all_of(text, llvm::isDigit);
  };
  if (name.size() < 15 || !digits(name.take_front(8)) || name[8] != '-' ||
      !digits(name.substr(9, 6)))
    return std::nullopt;
  name = name.drop_front(15);
  if (name.empty())
    return 1;
  unsigned index = 0;
  if (!name.consume_front("-") || !digits(name) || name.getAsInteger(10, index))
    return std::nullopt;
  return index;
}

namespace {
struct Candidate {
  std::string dir;
  std::string startTime;
  unsigned index = 1;
  std::string status;
  std::string sha256;
  bool resumable = false;
};
} // namespace

/// True when the manifest names a process on this host that is gone.
static bool processIsGone(const json::Object &manifest) {
  std::optional<int64_t> pid = manifest.getInteger("pid");
  const json::Object *host = manifest.getObject("host");
  std::optional<StringRef> hostname =
      host ? host->getString("hostname") : std::nullopt;
  if (!pid || *pid <= 0 || !hostname || *hostname != thisHostname())
    return false;
  if (*pid == ::getpid())
    return false;
  return ::kill(static_cast<pid_t>(*pid), 0) != 0 && errno == ESRCH;
}

static std::string shortHash(StringRef sha) { return sha.take_front(12).str(); }

llvm::Expected<std::string> RunFolder::findResumable(StringRef runsRoot,
                                                     StringRef scriptPath) {
  llvm::Expected<ScriptFacts> script = readScriptFacts(scriptPath);
  if (!script)
    return script.takeError();
  if (!fs::is_directory(runsRoot))
    return makeError("there is no runs folder '" + runsRoot +
                     "', so no run of '" + scriptPath + "' to resume");
  std::vector<Candidate> candidates;
  std::error_code ec;
  for (fs::directory_iterator it(runsRoot, ec), end; it != end && !ec;
       it.increment(ec)) {
    StringRef name = llvm::sys::path::filename(it->path());
    std::optional<unsigned> index = runFolderIndex(name, script->stem);
    if (!index)
      continue;
    llvm::Expected<RunFolder> folder = open(it->path());
    if (!folder) {
      llvm::consumeError(folder.takeError());
      continue;
    }
    const json::Object &manifest = folder->impl->manifest;
    Candidate candidate;
    candidate.dir = it->path();
    candidate.index = *index;
    candidate.startTime = manifest.getString("start_time").value_or("").str();
    candidate.status = manifest.getString("status").value_or("").str();
    const json::Object *scriptInfo = manifest.getObject("script");
    candidate.sha256 =
        (scriptInfo ? scriptInfo->getString("sha256") : std::nullopt)
            .value_or("")
            .str();
    candidate.resumable =
        candidate.status == runStatusName(RunStatus::Interrupted) ||
        (candidate.status == runStatusName(RunStatus::Running) &&
         processIsGone(manifest));
    candidates.push_back(std::move(candidate));
  }
  if (ec)
    return makeError("cannot list runs folder '" + runsRoot +
                     "': " + ec.message());
  if (candidates.empty())
    return makeError("no earlier run of '" + scriptPath + "' in '" + runsRoot +
                     "', so nothing to resume");
  auto newer = [](const Candidate *a, const Candidate &b) {
    return !a || std::make_pair(b.startTime, b.index) >
                     std::make_pair(a->startTime, a->index);
  };
  const Candidate *best = nullptr, *otherVersion = nullptr, *latest = nullptr;
  for (const Candidate &candidate : candidates) {
    if (newer(latest, candidate))
      latest = &candidate;
    if (!candidate.resumable)
      continue;
    if (candidate.sha256 == script->sha256) {
      if (newer(best, candidate))
        best = &candidate;
    } else if (newer(otherVersion, candidate)) {
      otherVersion = &candidate;
    }
  }
  if (best)
    return best->dir;
  if (otherVersion)
    return makeError("the interrupted run '" + otherVersion->dir +
                     "' was started from a different version of '" +
                     scriptPath + "' (SHA-256 " +
                     shortHash(otherVersion->sha256) + "..., now " +
                     shortHash(script->sha256) +
                     "...); restore that version to resume it, or start a "
                     "new run");
  return makeError("no interrupted run of '" + scriptPath + "' in '" +
                   runsRoot + "' (the latest, '" + latest->dir + "', is " +
                   latest->status + ")");
}

/// Every input of `info` must be in the manifest with the same SHA-256, and
/// the other way round.
static llvm::Error checkSameInputs(StringRef dir, const json::Object &manifest,
                                   const json::Array &now) {
  llvm::StringMap<std::pair<std::string, std::string>> before;
  if (const json::Array *inputs = manifest.getArray("inputs"))
    for (const json::Value &value : *inputs)
      if (const json::Object *entry = value.getAsObject())
        before[entry->getString("path").value_or("")] = {
            entry->getString("role").value_or("").str(),
            entry->getString("sha256").value_or("").str()};
  llvm::StringMap<bool> seen;
  for (const json::Value &value : now) {
    const json::Object &entry = *value.getAsObject();
    StringRef path = entry.getString("path").value_or("");
    StringRef role = entry.getString("role").value_or("");
    StringRef sha = entry.getString("sha256").value_or("");
    seen[path] = true;
    auto it = before.find(path);
    if (it == before.end())
      return makeError("cannot resume '" + dir + "': input '" + path + "' (" +
                       role + ") was not an input of that run");
    if (it->second.second != sha)
      return makeError("cannot resume '" + dir + "': input '" + path + "' (" +
                       role + ") changed since the run started (SHA-256 " +
                       shortHash(it->second.second) + "..., now " +
                       shortHash(sha) +
                       "...); the resumed run would not reproduce it, so "
                       "start a new run");
  }
  for (const auto &entry : before)
    if (!seen.count(entry.getKey()))
      return makeError("cannot resume '" + dir + "': input '" + entry.getKey() +
                       "' (" + entry.getValue().first +
                       ") of that run is not an input now");
  return llvm::Error::success();
}

llvm::Expected<RunFolder> RunFolder::resume(StringRef runsRoot,
                                            StringRef scriptPath,
                                            const RunInfo &info) {
  llvm::Expected<std::string> dir = findResumable(runsRoot, scriptPath);
  if (!dir)
    return dir.takeError();
  llvm::Expected<RunFolder> folder = open(*dir);
  if (!folder)
    return folder.takeError();
  json::Object &manifest = folder->impl->manifest;
  std::optional<uint64_t> seed =
      manifest.get("seed") ? manifest.get("seed")->getAsUINT64() : std::nullopt;
  if (seed != std::optional<uint64_t>(info.seed))
    return makeError("cannot resume '" + *dir + "': it ran with seed " +
                     (seed ? std::to_string(*seed) : "none") +
                     ", but this run has seed " + std::to_string(info.seed));
  llvm::Expected<json::Array> inputs =
      hashInputs(info.inputs, info.hashThreads,
                 info.useHashCache ? joinPath(runsRoot, kHashCacheFile) : "");
  if (!inputs)
    return inputs.takeError();
  if (llvm::Error error = checkSameInputs(*dir, manifest, *inputs))
    return std::move(error);

  json::Array commandLine;
  for (const std::string &arg : info.commandLine)
    commandLine.push_back(arg);
  Clock::time_point now = info.startTime ? *info.startTime : Clock::now();
  json::Object build = describeBuild();
  json::Object entry{
      {"time", formatUtc(now)},
      {"command_line", std::move(commandLine)},
      {"pid", static_cast<int64_t>(::getpid())},
      {"hostname", thisHostname()},
      {"previous_status", manifest.getString("status").value_or("").str()},
      {"threads", static_cast<int64_t>(info.threads)},
      {"device", info.device},
      {"ftl_version", build.getString("ftl").value_or("unknown").str()}};
  if (!manifest.getArray("resumes"))
    manifest["resumes"] = json::Array();
  manifest.getArray("resumes")->push_back(std::move(entry));
  manifest["status"] = runStatusName(RunStatus::Running);
  manifest["message"] = "";
  manifest["end_time"] = nullptr;
  manifest["pid"] = static_cast<int64_t>(::getpid());
  if (!info.resolvedIR.empty())
    manifest["ir"] = info.resolvedIR;
  if (llvm::Error error = folder->impl->writeManifest())
    return std::move(error);
  return std::move(*folder);
}
