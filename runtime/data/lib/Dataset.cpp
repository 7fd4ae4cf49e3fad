//===- Dataset.cpp - Dataset base, statistics, byte sources ---------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "Internal.h"

#include "ftl/Data/Dataset.h"
#include "ftl/Runtime/Rng.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/raw_ostream.h"

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace ftl::rt;
using namespace ftl::rt::detail;

//===----------------------------------------------------------------------===//
// DataStats
//===----------------------------------------------------------------------===//

void DataStats::add(llvm::StringRef key, int64_t n) {
  counters_[key.str()] += n;
}

int64_t DataStats::get(llvm::StringRef key) const {
  auto it = counters_.find(key.str());
  return it == counters_.end() ? 0 : it->second;
}

void DataStats::note(llvm::StringRef key, llvm::StringRef message) {
  auto &list = notes_[key.str()];
  if (list.size() < kMaxNotes)
    list.push_back(message.str());
}

void DataStats::merge(const DataStats &other) {
  for (const auto &[k, v] : other.counters_)
    counters_[k] += v;
  for (const auto &[k, msgs] : other.notes_)
    for (const std::string &m : msgs)
      note(k, m);
}

void DataStats::print(llvm::raw_ostream &os) const {
  for (const auto &[k, v] : counters_)
    os << k << ": " << v << "\n";
  for (const auto &[k, msgs] : notes_)
    for (const std::string &m : msgs)
      os << "  " << k << ": " << m << "\n";
}

//===----------------------------------------------------------------------===//
// Dataset
//===----------------------------------------------------------------------===//

RecordStream::~RecordStream() = default;
IndexedRecords::~IndexedRecords() = default;
Dataset::~Dataset() = default;

llvm::Expected<std::unique_ptr<IndexedRecords>>
Dataset::openIndexed(const DataContext &) const {
  return nullptr;
}

std::optional<std::vector<std::string>> Dataset::schema() const {
  return std::nullopt;
}

std::string Dataset::describe(bool forKey) const {
  std::string out;
  llvm::raw_string_ostream os(out);
  describe(os, forKey);
  return out;
}

void Dataset::sourceFiles(std::vector<std::string> &) const {}

Rng Dataset::rng(const DataContext &ctx, llvm::StringRef purpose) const {
  return Rng(ctx.seed).derive(describe(/*forKey=*/true)).derive(purpose);
}

llvm::Expected<std::vector<Record>> ftl::rt::readAll(const Dataset &data,
                                                     const DataContext &ctx) {
  return materialize(data, ctx);
}

llvm::Expected<std::vector<Record>>
ftl::rt::detail::materialize(const Dataset &data, const DataContext &ctx) {
  auto stream = data.open(ctx);
  if (!stream)
    return stream.takeError();
  std::vector<Record> out;
  while (true) {
    Record r;
    auto more = (*stream)->next(r);
    if (!more)
      return more.takeError();
    if (!*more)
      break;
    out.push_back(std::move(r));
  }
  return out;
}

std::string ftl::rt::detail::formatDouble(double d) {
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof(buf), d);
  return std::string(buf, res.ptr);
}

void ftl::rt::detail::describeString(llvm::raw_ostream &os, llvm::StringRef s) {
  writeJsonString(os, s);
}

bool ftl::rt::detail::isBlank(llvm::StringRef s) {
  for (char c : s)
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n')
      return false;
  return true;
}

llvm::Expected<bool> VectorStream::next(Record &out) {
  if (pos >= records.size())
    return false;
  out = std::move(records[pos++]);
  return true;
}

llvm::Expected<bool> IndexedStream::next(Record &out) {
  if (pos >= view->size())
    return false;
  auto r = view->get(pos++);
  if (!r)
    return r.takeError();
  out = std::move(*r);
  return true;
}

//===----------------------------------------------------------------------===//
// SelectDataset
//===----------------------------------------------------------------------===//

SelectDataset::Selector::~Selector() = default;

namespace {

class SelectStream : public RecordStream {
public:
  SelectStream(std::unique_ptr<RecordStream> in,
               std::unique_ptr<SelectDataset::Selector> sel, std::string name,
               const DataContext &ctx)
      : in(std::move(in)), sel(std::move(sel)), chain(name),
        dropKey(name + ": dropped"), ctx(ctx) {}

  llvm::Expected<bool> next(Record &out) override {
    while (!done && !sel->exhausted()) {
      auto more = in->next(out);
      if (!more)
        return more.takeError();
      if (!*more)
        break;
      auto d = sel->decide(out, position++);
      if (!d)
        return d.takeError();
      if (*d == SelectDataset::Decision::Keep) {
        chain.apply(out);
        return true;
      }
      if (*d == SelectDataset::Decision::Stop) {
        done = true;
        break;
      }
      ctx.count(dropKey);
    }
    done = true;
    return false;
  }

private:
  std::unique_ptr<RecordStream> in;
  std::unique_ptr<SelectDataset::Selector> sel;
  ChainCache chain;
  std::string dropKey;
  DataContext ctx;
  uint64_t position = 0;
  bool done = false;
};

class SubsetIndexed : public IndexedRecords {
public:
  SubsetIndexed(std::unique_ptr<IndexedRecords> in, std::vector<uint64_t> keep,
                std::string name)
      : in(std::move(in)), keep(std::move(keep)), chain(std::move(name)) {}
  size_t size() const override { return keep.size(); }
  llvm::Expected<Record> get(size_t i) override {
    auto r = in->get(keep[i]);
    if (!r)
      return r.takeError();
    chain.apply(*r);
    return r;
  }

private:
  std::unique_ptr<IndexedRecords> in;
  std::vector<uint64_t> keep;
  ChainCache chain;
};

} // namespace

llvm::Expected<std::unique_ptr<RecordStream>>
SelectDataset::open(const DataContext &ctx) const {
  auto src = in->open(ctx);
  if (!src)
    return src.takeError();
  auto sel = makeSelector(ctx);
  if (!sel)
    return sel.takeError();
  return std::make_unique<SelectStream>(std::move(*src), std::move(*sel),
                                        opName().str(), ctx);
}

llvm::Expected<std::unique_ptr<IndexedRecords>>
SelectDataset::openIndexed(const DataContext &ctx) const {
  auto view = in->openIndexed(ctx);
  if (!view || !*view)
    return view;
  auto sel = makeSelector(ctx);
  if (!sel)
    return sel.takeError();
  std::vector<uint64_t> keep;
  std::string dropKey = opName().str() + ": dropped";
  for (size_t i = 0, n = (*view)->size(); i < n && !(*sel)->exhausted(); ++i) {
    auto r = (*view)->get(i);
    if (!r)
      return r.takeError();
    auto d = (*sel)->decide(*r, i);
    if (!d)
      return d.takeError();
    if (*d == Decision::Stop)
      break;
    if (*d == Decision::Keep)
      keep.push_back(i);
    else
      ctx.count(dropKey);
  }
  return std::make_unique<SubsetIndexed>(std::move(*view), std::move(keep),
                                         opName().str());
}

//===----------------------------------------------------------------------===//
// RewriteDataset
//===----------------------------------------------------------------------===//

namespace {

class RewriteStream : public RecordStream {
public:
  RewriteStream(std::unique_ptr<RecordStream> in,
                std::shared_ptr<const RewriteDataset> op,
                const DataContext &ctx)
      : in(std::move(in)), op(std::move(op)), chain(this->op->opName().str()),
        ctx(ctx) {}
  llvm::Expected<bool> next(Record &out) override {
    auto more = in->next(out);
    if (!more || !*more)
      return more;
    if (llvm::Error e = op->rewrite(out, ctx))
      return std::move(e);
    chain.apply(out);
    return true;
  }

private:
  std::unique_ptr<RecordStream> in;
  std::shared_ptr<const RewriteDataset> op;
  ChainCache chain;
  DataContext ctx;
};

class RewriteIndexed : public IndexedRecords {
public:
  RewriteIndexed(std::unique_ptr<IndexedRecords> in,
                 std::shared_ptr<const RewriteDataset> op,
                 const DataContext &ctx)
      : in(std::move(in)), op(std::move(op)), chain(this->op->opName().str()),
        ctx(ctx) {}
  size_t size() const override { return in->size(); }
  llvm::Expected<Record> get(size_t i) override {
    auto r = in->get(i);
    if (!r)
      return r.takeError();
    if (llvm::Error e = op->rewrite(*r, ctx))
      return std::move(e);
    chain.apply(*r);
    return r;
  }

private:
  std::unique_ptr<IndexedRecords> in;
  std::shared_ptr<const RewriteDataset> op;
  ChainCache chain;
  DataContext ctx;
};

} // namespace

llvm::Expected<std::unique_ptr<RecordStream>>
RewriteDataset::open(const DataContext &ctx) const {
  auto src = in->open(ctx);
  if (!src)
    return src.takeError();
  return std::make_unique<RewriteStream>(std::move(*src), self(), ctx);
}

llvm::Expected<std::unique_ptr<IndexedRecords>>
RewriteDataset::openIndexed(const DataContext &ctx) const {
  auto view = in->openIndexed(ctx);
  if (!view || !*view)
    return view;
  return std::make_unique<RewriteIndexed>(std::move(*view), self(), ctx);
}

//===----------------------------------------------------------------------===//
// Byte sources and lines
//===----------------------------------------------------------------------===//

ByteSource::~ByteSource() = default;

namespace {

class FileSource : public ByteSource {
public:
  FileSource(std::string path, int fd, uint64_t size)
      : path(std::move(path)), fd(fd), bytes(size) {}
  ~FileSource() override { ::close(fd); }
  uint64_t size() const override { return bytes; }
  const std::string &name() const override { return path; }
  llvm::Expected<size_t> read(char *buf, size_t n,
                              uint64_t offset) const override {
    while (true) {
      ssize_t got = ::pread(fd, buf, n, static_cast<off_t>(offset));
      if (got >= 0)
        return static_cast<size_t>(got);
      if (errno == EINTR)
        continue;
      return makeError("cannot read '" + path + "': " + std::strerror(errno));
    }
  }

private:
  std::string path;
  int fd;
  uint64_t bytes;
};

class MemorySource : public ByteSource {
public:
  MemorySource(std::string label, std::shared_ptr<const std::string> data)
      : label(std::move(label)), data(std::move(data)) {}
  uint64_t size() const override { return data->size(); }
  const std::string &name() const override { return label; }
  const std::string *memory() const override { return data.get(); }
  llvm::Expected<size_t> read(char *buf, size_t n,
                              uint64_t offset) const override {
    if (offset >= data->size())
      return 0;
    size_t k = std::min<uint64_t>(n, data->size() - offset);
    std::memcpy(buf, data->data() + offset, k);
    return k;
  }

private:
  std::string label;
  std::shared_ptr<const std::string> data;
};

} // namespace

llvm::Expected<std::shared_ptr<ByteSource>>
ftl::rt::detail::openFileSource(llvm::StringRef path, llvm::StringRef what) {
  std::string p = path.str();
  struct stat st;
  if (::stat(p.c_str(), &st) != 0) {
    if (errno == ENOENT)
      return makeError("cannot open '" + path + "': no such file (expected " +
                       what + ")");
    return makeError("cannot open '" + path + "': " + std::strerror(errno));
  }
  if (S_ISDIR(st.st_mode))
    return makeError("'" + path + "' is a directory, expected " + what);
  if (!S_ISREG(st.st_mode) && !S_ISFIFO(st.st_mode) && !S_ISCHR(st.st_mode))
    return makeError("'" + path + "' is not a regular file, expected " + what);
  int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return makeError("cannot open '" + path + "': " + std::strerror(errno));
  if (S_ISREG(st.st_mode) && st.st_size == 0) {
    ::close(fd);
    return makeError("'" + path + "' is empty, expected " + what);
  }
  return std::make_shared<FileSource>(p, fd, st.st_size);
}

std::shared_ptr<ByteSource>
ftl::rt::detail::memorySource(std::string name,
                              std::shared_ptr<const std::string> contents) {
  return std::make_shared<MemorySource>(std::move(name), std::move(contents));
}

LineReader::LineReader(std::shared_ptr<ByteSource> src, uint64_t start,
                       int64_t firstLine)
    : src(std::move(src)), filePos(start), lineNo(firstLine - 1) {
  // 1 MiB reads for files; small sources get a small buffer.
  uint64_t left = this->src->size() > start ? this->src->size() - start : 0;
  buf.resize(std::max<uint64_t>(256, std::min<uint64_t>(1 << 20, left + 1)));
}

llvm::Expected<bool> LineReader::next(llvm::StringRef &line) {
  size_t scan = cur;
  while (true) {
    const char *nl = static_cast<const char *>(
        std::memchr(buf.data() + scan, '\n', end - scan));
    if (nl || eof) {
      if (!nl && cur == end)
        return false;
      size_t stop = nl ? nl - buf.data() : end;
      lineStart = position();
      ++lineNo;
      line = llvm::StringRef(buf.data() + cur, stop - cur);
      line.consume_back("\r");
      cur = nl ? stop + 1 : stop;
      return true;
    }
    // Need more bytes: move the partial line to the front, grow if full.
    scan = end - cur;
    if (cur > 0) {
      std::memmove(buf.data(), buf.data() + cur, end - cur);
      end -= cur;
      cur = 0;
    }
    if (end == buf.size())
      buf.resize(buf.size() * 2);
    auto got = src->read(buf.data() + end, buf.size() - end, filePos);
    if (!got)
      return got.takeError();
    if (*got == 0)
      eof = true;
    end += *got;
    filePos += *got;
  }
}
