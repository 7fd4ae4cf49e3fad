//===- MetricsLog.cpp - metrics.jsonl writer and reader -------------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "ftl/Run/MetricsLog.h"

#include "JsonText.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/Twine.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <mutex>
#include <sys/stat.h>
#include <unistd.h>

using namespace ftl::rt;
using llvm::StringRef;
namespace json = llvm::json;

static llvm::Error makeError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

static std::string errnoText() { return std::strerror(errno); }

static const StringRef kLeadingKeys[] = {"step", "round",        "loss",
                                         "lr",   "tokens_per_s", "time"};

/// pread exactly `length` bytes at `offset` (fewer only at end of file).
static bool readAt(int fd, uint64_t offset, size_t length, char *out,
                   size_t &got) {
  got = 0;
  while (got < length) {
    ssize_t n =
        ::pread(fd, out + got, length - got, static_cast<off_t>(offset + got));
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return false;
    }
    if (n == 0)
      break;
    got += static_cast<size_t>(n);
  }
  return true;
}

/// Offset just past the last '\n' in the first `size` bytes (0 if none).
static llvm::Expected<uint64_t> endOfLastLine(int fd, uint64_t size,
                                              StringRef path) {
  constexpr size_t kBlock = 1 << 16;
  std::string block(kBlock, '\0');
  uint64_t end = size;
  while (end > 0) {
    uint64_t begin = end > kBlock ? end - kBlock : 0;
    size_t got = 0;
    if (!readAt(fd, begin, end - begin, block.data(), got) ||
        got != end - begin)
      return makeError("cannot read metrics log '" + path +
                       "': " + errnoText());
    for (size_t i = got; i > 0; --i)
      if (block[i - 1] == '\n')
        return begin + i;
    end = begin;
  }
  return 0;
}

struct MetricsLog::Impl {
  std::string path;
  int fd = -1;
  uint64_t size = 0;
  std::mutex mutex;
  Listener listener;

  ~Impl() {
    if (fd >= 0) {
      (void)::fsync(fd);
      ::close(fd);
    }
  }
};

MetricsLog::MetricsLog(std::unique_ptr<Impl> impl) : impl(std::move(impl)) {}
MetricsLog::MetricsLog(MetricsLog &&other) = default;
MetricsLog &MetricsLog::operator=(MetricsLog &&other) = default;
MetricsLog::~MetricsLog() = default;

llvm::Expected<MetricsLog>
MetricsLog::open(StringRef path, std::optional<uint64_t> truncateTo) {
  auto impl = std::make_unique<Impl>();
  impl->path = path.str();
  impl->fd =
      ::open(impl->path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (impl->fd < 0)
    return makeError("cannot open metrics log '" + path + "': " + errnoText());
  struct stat st;
  if (::fstat(impl->fd, &st) != 0)
    return makeError("cannot open metrics log '" + path + "': " + errnoText());
  uint64_t size = static_cast<uint64_t>(st.st_size);
  uint64_t keep = size;
  if (truncateTo) {
    if (*truncateTo > size)
      return makeError("cannot resume metrics log '" + path + "': the " +
                       "checkpoint recorded " + llvm::Twine(*truncateTo) +
                       " bytes but the file has only " + llvm::Twine(size) +
                       "; was it replaced or edited?");
    if (*truncateTo > 0) {
      char last = 0;
      size_t got = 0;
      if (!readAt(impl->fd, *truncateTo - 1, 1, &last, got) || got != 1)
        return makeError("cannot read metrics log '" + path +
                         "': " + errnoText());
      if (last != '\n')
        return makeError("cannot resume metrics log '" + path +
                         "': byte offset " + llvm::Twine(*truncateTo) +
                         " from the checkpoint is not at the end of a line; "
                         "was the file edited?");
    }
    keep = *truncateTo;
  } else if (size > 0) {
    llvm::Expected<uint64_t> end = endOfLastLine(impl->fd, size, path);
    if (!end)
      return end.takeError();
    keep = *end;
  }
  if (keep != size && ::ftruncate(impl->fd, static_cast<off_t>(keep)) != 0)
    return makeError("cannot cut metrics log '" + path + "' back to " +
                     llvm::Twine(keep) + " bytes: " + errnoText());
  impl->size = keep;
  return MetricsLog(std::move(impl));
}

llvm::Error MetricsLog::log(const json::Object &record) {
  std::string line =
      detail::toJsonText(json::Value(json::Object(record)), 0, kLeadingKeys);
  line += '\n';
  std::lock_guard<std::mutex> lock(impl->mutex);
  const char *data = line.data();
  size_t left = line.size();
  while (left > 0) {
    ssize_t n = ::write(impl->fd, data, left);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      std::string reason = n < 0 ? errnoText() : "nothing was written";
      // Keep the file made of whole lines.
      (void)::ftruncate(impl->fd, static_cast<off_t>(impl->size));
      return makeError("cannot append to metrics log '" + impl->path +
                       "': " + reason);
    }
    data += n;
    left -= static_cast<size_t>(n);
  }
  impl->size += line.size();
  if (impl->listener)
    impl->listener(record);
  return llvm::Error::success();
}

llvm::Error MetricsLog::logStep(const StepMetrics &metrics,
                                const json::Object &extra) {
  json::Object record = extra;
  record["step"] = metrics.step;
  record["loss"] = metrics.loss;
  record["lr"] = metrics.lr;
  record["tokens_per_s"] = metrics.tokensPerSecond;
  record["time"] = metrics.time;
  return log(record);
}

void MetricsLog::setListener(Listener listener) {
  std::lock_guard<std::mutex> lock(impl->mutex);
  impl->listener = std::move(listener);
}

uint64_t MetricsLog::size() const {
  std::lock_guard<std::mutex> lock(impl->mutex);
  return impl->size;
}

llvm::Error MetricsLog::sync() {
  std::lock_guard<std::mutex> lock(impl->mutex);
  if (::fsync(impl->fd) != 0)
    return makeError("cannot sync metrics log '" + impl->path +
                     "': " + errnoText());
  return llvm::Error::success();
}

const std::string &MetricsLog::path() const { return impl->path; }

//===----------------------------------------------------------------------===//
// Reading
//===----------------------------------------------------------------------===//

MetricsReader::MetricsReader(std::string path) : filePath(std::move(path)) {}

llvm::Expected<std::vector<json::Object>> MetricsReader::poll() {
  std::vector<json::Object> records;
  int fd = ::open(filePath.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT && consumed == 0)
      return records;
    return makeError("cannot open metrics log '" + filePath +
                     "': " + errnoText());
  }
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    std::string reason = errnoText();
    ::close(fd);
    return makeError("cannot read metrics log '" + filePath + "': " + reason);
  }
  uint64_t size = static_cast<uint64_t>(st.st_size);
  if (size < consumed) {
    ::close(fd);
    return makeError("metrics log '" + filePath + "' shrank from " +
                     llvm::Twine(consumed) + " to " + llvm::Twine(size) +
                     " bytes while being read (a resumed run cuts it back); "
                     "read it again from the start");
  }
  std::string text(size - consumed, '\0');
  size_t got = 0;
  bool ok = readAt(fd, consumed, text.size(), text.data(), got);
  std::string reason = ok ? "" : errnoText();
  ::close(fd);
  if (!ok)
    return makeError("cannot read metrics log '" + filePath + "': " + reason);
  text.resize(got);

  size_t complete = text.rfind('\n');
  if (complete == std::string::npos)
    return records;
  StringRef rest = StringRef(text).take_front(complete + 1);
  uint64_t line = linesRead;
  while (!rest.empty()) {
    auto [current, tail] = rest.split('\n');
    rest = tail;
    ++line;
    if (current.trim().empty())
      continue;
    llvm::Expected<json::Value> value = json::parse(current);
    if (!value)
      return makeError("metrics log '" + filePath + "' line " +
                       llvm::Twine(line) + " is not valid JSON: " +
                       detail::describeJsonError(value.takeError()));
    json::Object *object = value->getAsObject();
    if (!object)
      return makeError("metrics log '" + filePath + "' line " +
                       llvm::Twine(line) + ": expected a JSON object, found '" +
                       current.take_front(40) + "'");
    records.push_back(std::move(*object));
  }
  consumed += complete + 1;
  linesRead = line;
  return records;
}

llvm::Expected<std::vector<json::Object>> ftl::rt::readMetrics(StringRef path) {
  if (::access(path.str().c_str(), F_OK) != 0)
    return makeError("cannot open metrics log '" + path + "': " + errnoText());
  MetricsReader reader(path.str());
  return reader.poll();
}
