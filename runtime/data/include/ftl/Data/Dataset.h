//===- ftl/Data/Dataset.h - Data sources and record operators ---*- C++ -*-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// A `Dataset` is an immutable node of a data pipeline: a source (`jsonl`,
/// `text`, in-memory records) or an operator over other datasets (`filter`,
/// `template`, `dedup`, `shuffle`, `split`, ...). Building the graph reads no
/// data; `open()` gives a pull stream of records, and may be called many
/// times (each epoch, each split part). Every random choice comes from
/// `DataContext::seed` through `ftl::rt::Rng`, derived per operator from its
/// canonical description, so the same pipeline and seed give the same
/// records. Semantics of every operator: docs/data.md.
///
//===----------------------------------------------------------------------===//

#ifndef FTL_DATA_DATASET_H
#define FTL_DATA_DATASET_H

#include "ftl/Data/Record.h"
#include "ftl/Data/RecordExpr.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace llvm {
class raw_ostream;
} // namespace llvm

namespace ftl::rt {

class Tokenizer;
class Rng;

//===----------------------------------------------------------------------===//
// Statistics and context
//===----------------------------------------------------------------------===//

/// Counters the run log reports ("records read", "skipped: invalid JSON",
/// "filter: dropped", ...; the keys are listed in docs/data.md) and the first
/// few messages of each skip reason. Single-threaded.
class DataStats {
public:
  void add(llvm::StringRef key, int64_t n = 1);
  int64_t get(llvm::StringRef key) const;
  /// Keeps the first `kMaxNotes` messages per key.
  void note(llvm::StringRef key, llvm::StringRef message);
  const std::map<std::string, int64_t> &counters() const { return counters_; }
  const std::map<std::string, std::vector<std::string>> &notes() const {
    return notes_;
  }
  void merge(const DataStats &other);
  /// One "key: value" line per counter, then the kept messages.
  void print(llvm::raw_ostream &os) const;

  static constexpr size_t kMaxNotes = 3;

private:
  std::map<std::string, int64_t> counters_;
  std::map<std::string, std::vector<std::string>> notes_;
};

/// What a pipeline runs with. Copyable; the pointers are borrowed.
struct DataContext {
  /// The run's seed (e.g. `rng.derive("data").seed()` of the run's Rng);
  /// each operator derives its own stream from it.
  uint64_t seed = 0;
  /// Needed by ntokens(), chunk, mixture(by: tokens) and tokenize.
  const Tokenizer *tokenizer = nullptr;
  /// Where counters go; may be null.
  DataStats *stats = nullptr;

  void count(llvm::StringRef key, int64_t n = 1) const {
    if (stats)
      stats->add(key, n);
  }
};

//===----------------------------------------------------------------------===//
// Streams
//===----------------------------------------------------------------------===//

/// A pull iterator over records.
class RecordStream {
public:
  virtual ~RecordStream();
  /// Writes the next record to `out` and returns true, or returns false at
  /// the end (then keeps returning false).
  virtual llvm::Expected<bool> next(Record &out) = 0;
};

/// Random access to a dataset's records (used by shuffle and split so that
/// JSONL sources are shuffled by line offsets, not held in memory).
class IndexedRecords {
public:
  virtual ~IndexedRecords();
  virtual size_t size() const = 0;
  virtual llvm::Expected<Record> get(size_t i) = 0;
};

//===----------------------------------------------------------------------===//
// Datasets
//===----------------------------------------------------------------------===//

class Dataset;
using DatasetRef = std::shared_ptr<const Dataset>;

/// Always held by a DatasetRef (the constructors below return one); streams
/// keep their dataset alive.
class Dataset : public std::enable_shared_from_this<Dataset> {
public:
  virtual ~Dataset();

  /// A fresh stream over the records. File errors (missing file, ...) are
  /// reported here; record errors by the stream.
  virtual llvm::Expected<std::unique_ptr<RecordStream>>
  open(const DataContext &ctx) const = 0;

  /// Random access when the dataset supports it cheaply (sources, and
  /// operators over them that only select or rewrite records), else null.
  virtual llvm::Expected<std::unique_ptr<IndexedRecords>>
  openIndexed(const DataContext &ctx) const;

  /// The fields every record is known to have without reading the data, or
  /// nullopt when unknown.
  virtual std::optional<std::vector<std::string>> schema() const;

  /// Canonical one-line description of the pipeline up to here, e.g.
  /// `jsonl("a.jsonl", prompt: .q) |> filter(len(.q) < 200)`. With
  /// `forKey`, source paths are left out (the token cache keys on file
  /// contents instead, see sourceFiles()).
  std::string describe(bool forKey = false) const;
  virtual void describe(llvm::raw_ostream &os, bool forKey) const = 0;

  /// The files read, in the order describe() mentions them.
  virtual void sourceFiles(std::vector<std::string> &out) const;

  /// The generator of this operator: the context seed derived with
  /// describe(true), so distinct operators get independent streams.
  Rng rng(const DataContext &ctx, llvm::StringRef purpose = "") const;
};

/// Reads a whole dataset (tests, small sets). Stops at the first error.
llvm::Expected<std::vector<Record>> readAll(const Dataset &data,
                                            const DataContext &ctx);

//===----------------------------------------------------------------------===//
// Sources
//===----------------------------------------------------------------------===//

enum class OnError { Fail, Skip };
enum class InvalidUtf8 { Error, Replace };

struct JsonlOptions {
  /// `prompt: .question` is {"prompt", {"question"}}.
  std::vector<FieldAlias> mapping;
  /// Skip (and count) malformed lines, non-objects, records missing a mapped
  /// field and invalid UTF-8, instead of failing.
  OnError onError = OnError::Fail;
  InvalidUtf8 invalidUtf8 = InvalidUtf8::Error;
};

/// `jsonl(path, prompt: .question, on_error: skip)`: one JSON object per
/// line; blank lines are ignored; a UTF-8 BOM at the start and CRLF line ends
/// are accepted. Errors: duplicate or empty mapping names.
llvm::Expected<DatasetRef> jsonlDataset(llvm::StringRef path,
                                        JsonlOptions options = {});

/// The same over an in-memory buffer named `name` in messages (tests, fuzzing
/// and host programs).
llvm::Expected<DatasetRef> jsonlBufferDataset(llvm::StringRef name,
                                              std::string contents,
                                              JsonlOptions options = {});

enum class TextSplit { Line, Paragraph, File };

struct TextOptions {
  TextSplit split = TextSplit::Line;
  InvalidUtf8 invalidUtf8 = InvalidUtf8::Error;
};

/// `text(path, split: line|paragraph|file)`: records with one field `text`.
/// line: each non-blank line (without its line end); paragraph: runs of
/// non-blank lines joined with "\n", separated by blank lines; file: the
/// whole file (must fit in memory).
DatasetRef textDataset(llvm::StringRef path, TextOptions options = {});
DatasetRef textBufferDataset(llvm::StringRef name, std::string contents,
                             TextOptions options = {});

/// Records supplied by the host (provenance: `name`, index).
DatasetRef recordsDataset(llvm::StringRef name, std::vector<Record> records);

/// The raw field names of the first valid record of a JSONL file, reading
/// only up to it. Errors for a missing/empty file, a directory, or no valid
/// record.
llvm::Expected<std::vector<std::string>> peekFieldNames(llvm::StringRef path);

//===----------------------------------------------------------------------===//
// Record operators
//===----------------------------------------------------------------------===//

/// `filter(pred)`: keeps records where `pred` is true; a non-bool result or
/// an evaluation error fails the stream, naming the record.
DatasetRef filterDataset(DatasetRef in, RecordExpr pred);

/// `map(name: expr, ...)`: sets each field to the expression's value,
/// in order (later assignments see earlier ones).
DatasetRef mapDataset(DatasetRef in,
                      std::vector<std::pair<std::string, RecordExpr>> assign);

/// `template("Q: {question}\nA: {answer}", into: "text")`: `{name}` is
/// replaced by the field (strings verbatim, other values as compact JSON),
/// `{{` and `}}` are literal braces. With a known schema (`schema`, else the
/// input's schema()) an unknown field is an error here; otherwise per record.
llvm::Expected<DatasetRef>
templateDataset(DatasetRef in, llvm::StringRef format, llvm::StringRef into,
                std::optional<std::vector<std::string>> schema = std::nullopt);

/// `take(n)`, `skip(n)`.
DatasetRef takeDataset(DatasetRef in, uint64_t n);
DatasetRef skipDataset(DatasetRef in, uint64_t n);

/// `sample(frac)`: keeps each record independently with probability `frac`
/// (in [0, 1]), decided by a hash of the seed and the record's position.
llvm::Expected<DatasetRef> sampleDataset(DatasetRef in, double fraction);

/// `shuffle()`: a seeded uniform permutation. Over inputs with random access
/// (JSONL/text sources and selections or rewrites of them) it permutes
/// offsets and reads records lazily; otherwise it holds the records in memory.
DatasetRef shuffleDataset(DatasetRef in);

struct SplitPart {
  std::string name;
  double fraction;
};

/// `split(eval: 10%, test: 5%)`: named parts with exact counts plus the rest
/// (`restName`, default "train"). With n records and parts p1..pk, part i
/// gets round(n*(p1+..+pi)) - round(n*(p1+..+p(i-1))) records (round half
/// up), chosen by a seeded permutation of positions; each part keeps the
/// input order. Errors: fractions outside [0, 1], summing over 1, duplicate
/// or empty names. The result lists the parts in the order given, rest last.
llvm::Expected<std::vector<std::pair<std::string, DatasetRef>>>
splitDataset(DatasetRef in, llvm::ArrayRef<SplitPart> parts,
             llvm::StringRef restName = "train");

struct DedupOptions {
  enum class Method { Exact, MinHash };
  enum class Shingle { Word, Char };
  Method method = Method::Exact;
  /// The field compared; empty = the whole record (exact only).
  std::string field;
  /// MinHash: shingles are `ngram` consecutive words (lowercased, split on
  /// whitespace) or code points.
  Shingle shingle = Shingle::Word;
  unsigned ngram = 5;
  unsigned permutations = 128;
  /// Estimated Jaccard at or above which a record is a near duplicate.
  double threshold = 0.8;
  /// Confirm LSH candidates with the full signature (keeps 4 bytes per
  /// permutation per kept record); off = any shared band is a duplicate.
  bool verify = true;
};

/// `dedup(field)` / `dedup(minhash(.f, ngram: 5), threshold: 0.8)`: keeps
/// the first occurrence. Errors: MinHash without a field, ngram/permutation
/// counts of 0, threshold outside (0, 1].
llvm::Expected<DatasetRef> dedupDataset(DatasetRef in, DedupOptions options);

} // namespace ftl::rt

#endif // FTL_DATA_DATASET_H
