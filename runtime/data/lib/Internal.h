//===- Internal.h - Shared pieces of the data library -----------*- C++ -*-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// Private helpers of FTLData: byte sources (file or memory) with a line
/// reader, and the two operator shapes most record operators share:
/// selections (keep/drop, record unchanged) and rewrites (record in, record
/// out). Both keep random access when their input has it.
///
//===----------------------------------------------------------------------===//

#ifndef FTL_DATA_LIB_INTERNAL_H
#define FTL_DATA_LIB_INTERNAL_H

#include "ftl/Data/Dataset.h"

#include "llvm/ADT/Twine.h"

#include <memory>
#include <string>
#include <vector>

namespace ftl::rt::detail {

inline llvm::Error makeError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

/// Bytes of a file (read with pread) or of a buffer.
class ByteSource {
public:
  virtual ~ByteSource();
  virtual uint64_t size() const = 0;
  /// Reads up to `n` bytes at `offset`; returns the count (0 at the end).
  virtual llvm::Expected<size_t> read(char *buf, size_t n,
                                      uint64_t offset) const = 0;
  /// The name used in messages.
  virtual const std::string &name() const = 0;
  /// Whole contents when in memory (else null).
  virtual const std::string *memory() const { return nullptr; }
};

/// Opens `path`: errors name missing files, folders, unreadable and empty
/// files ("expected <what>").
llvm::Expected<std::shared_ptr<ByteSource>>
openFileSource(llvm::StringRef path, llvm::StringRef what);
std::shared_ptr<ByteSource>
memorySource(std::string name, std::shared_ptr<const std::string> contents);

/// Streams lines of a ByteSource with a bounded buffer (it grows only for a
/// line longer than the buffer).
class LineReader {
public:
  explicit LineReader(std::shared_ptr<ByteSource> src, uint64_t start = 0,
                      int64_t firstLine = 1);
  /// The next line without its "\n" (a trailing "\r" is dropped too). Returns
  /// false at the end of the data.
  llvm::Expected<bool> next(llvm::StringRef &line);
  /// 1-based number and byte offset of the line last returned.
  int64_t lineNumber() const { return lineNo; }
  uint64_t lineOffset() const { return lineStart; }
  /// Byte offset just after the last line's "\n".
  uint64_t position() const { return filePos - (end - cur); }

private:
  std::shared_ptr<ByteSource> src;
  std::vector<char> buf;
  size_t cur = 0, end = 0;
  uint64_t filePos; // offset of buf[end]
  int64_t lineNo;
  uint64_t lineStart = 0;
  bool eof = false;
};

/// True when `s` has only spaces, tabs and line ends.
bool isBlank(llvm::StringRef s);

/// A stream over a vector of records it owns.
class VectorStream : public RecordStream {
public:
  explicit VectorStream(std::vector<Record> records)
      : records(std::move(records)) {}
  llvm::Expected<bool> next(Record &out) override;

private:
  std::vector<Record> records;
  size_t pos = 0;
};

/// Random access over records held in memory.
class VectorIndexed : public IndexedRecords {
public:
  explicit VectorIndexed(std::shared_ptr<const std::vector<Record>> records)
      : records(std::move(records)) {}
  size_t size() const override { return records->size(); }
  llvm::Expected<Record> get(size_t i) override { return (*records)[i]; }

private:
  std::shared_ptr<const std::vector<Record>> records;
};

/// Sequential stream over an indexed view.
class IndexedStream : public RecordStream {
public:
  explicit IndexedStream(std::unique_ptr<IndexedRecords> view)
      : view(std::move(view)) {}
  llvm::Expected<bool> next(Record &out) override;

private:
  std::unique_ptr<IndexedRecords> view;
  size_t pos = 0;
};

/// Reads every record of `data` into memory.
llvm::Expected<std::vector<Record>> materialize(const Dataset &data,
                                                const DataContext &ctx);

/// An operator that keeps or drops records without changing them.
class SelectDataset : public Dataset {
public:
  enum class Decision { Keep, Drop, Stop };
  class Selector {
  public:
    virtual ~Selector();
    /// `position` is the record's 0-based position in the input.
    virtual llvm::Expected<Decision> decide(const Record &r,
                                            uint64_t position) = 0;
    /// True when no further record will be kept (the input is not read on).
    virtual bool exhausted() const { return false; }
  };

  explicit SelectDataset(DatasetRef in) : in(std::move(in)) {}

  llvm::Expected<std::unique_ptr<RecordStream>>
  open(const DataContext &ctx) const override;
  llvm::Expected<std::unique_ptr<IndexedRecords>>
  openIndexed(const DataContext &ctx) const override;
  std::optional<std::vector<std::string>> schema() const override {
    return in->schema();
  }
  void sourceFiles(std::vector<std::string> &out) const override {
    in->sourceFiles(out);
  }

protected:
  /// A fresh selector for one pass over the input.
  virtual llvm::Expected<std::unique_ptr<Selector>>
  makeSelector(const DataContext &ctx) const = 0;
  /// Name in the provenance chain and in the "<name>: dropped" counter.
  virtual llvm::StringRef opName() const = 0;
  /// Input to read (split parts override to read with a known count).
  DatasetRef in;
};

/// An operator that rewrites each record in place.
class RewriteDataset : public Dataset {
public:
  explicit RewriteDataset(DatasetRef in) : in(std::move(in)) {}

  llvm::Expected<std::unique_ptr<RecordStream>>
  open(const DataContext &ctx) const override;
  llvm::Expected<std::unique_ptr<IndexedRecords>>
  openIndexed(const DataContext &ctx) const override;
  void sourceFiles(std::vector<std::string> &out) const override {
    in->sourceFiles(out);
  }

  virtual llvm::Error rewrite(Record &r, const DataContext &ctx) const = 0;
  virtual llvm::StringRef opName() const = 0;

protected:
  std::shared_ptr<const RewriteDataset> self() const {
    return std::static_pointer_cast<const RewriteDataset>(shared_from_this());
  }
  DatasetRef in;
};

/// `d` in the shortest form that reads back exactly ("0.1", "1e-05").
std::string formatDouble(double d);

/// Writes `"..."` as a JSON string (for describe()).
void describeString(llvm::raw_ostream &os, llvm::StringRef s);

} // namespace ftl::rt::detail

#endif // FTL_DATA_LIB_INTERNAL_H
