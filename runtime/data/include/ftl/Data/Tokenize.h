//===- ftl/Data/Tokenize.h - Tokenize, chunk, mixture, pack -----*- C++ -*-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// From records to token rows: `tokenize` (text, prompt/response, chat
/// messages, preference pairs, with per-position loss weights), the
/// token-aware record operators `chunk` and `mixture`, and `pack` / `batch`
/// into fixed-size rows with segment ids and per-document positions.
/// Exact semantics: docs/data.md.
///
/// Loss weights: weights[i] applies to predicting ids[i] from ids[<i];
/// 0 masks it. weights[0] is always 0 (nothing precedes it), and in a packed
/// row the first token of every segment has weight 0.
///
//===----------------------------------------------------------------------===//

#ifndef FTL_DATA_TOKENIZE_H
#define FTL_DATA_TOKENIZE_H

#include "ftl/Data/Dataset.h"
#include "ftl/Data/TokenWeights.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace ftl::rt {

class Tokenizer;

//===----------------------------------------------------------------------===//
// Tokenized examples
//===----------------------------------------------------------------------===//

struct TokenizedExample {
  enum class Part : uint8_t { Single, Chosen, Rejected };

  std::vector<int32_t> ids;
  /// Loss weight per position (see the file comment); same size as ids.
  std::vector<float> weights;
  /// 0-based position of the source record in the tokenized stream (both
  /// halves of a preference pair share it).
  int64_t exampleIndex = 0;
  Part part = Part::Single;
  /// Tokens before the response (BOS and prompt); 0 in text mode.
  int32_t promptLength = 0;
  /// Cut to TokenizeOptions::maxLength.
  bool truncated = false;
  /// Where the record came from (source and line survive the cache; the
  /// operator chain does not).
  Provenance provenance;
};

class ExampleStream {
public:
  virtual ~ExampleStream();
  /// The next example, or false at the end.
  virtual llvm::Expected<bool> next(TokenizedExample &out) = 0;
};

struct TokenizeOptions {
  enum class Mode { Text, PromptResponse, Messages, Preference };
  enum class Loss { Response, All };
  enum class Special { Auto, Yes, No };
  enum class Truncation { Right, PromptLeft, Drop };

  Mode mode = Mode::Text;

  /// Text mode: the field to encode; if the record has a list field
  /// `idsField` (e.g. from chunk), those ids are used verbatim instead (no
  /// BOS/EOS added).
  std::string textField = "text";
  std::string idsField = "input_ids";
  /// PromptResponse and Preference modes.
  std::string promptField = "prompt";
  std::string responseField = "response";
  std::string chosenField = "chosen";
  std::string rejectedField = "rejected";
  /// Messages mode: a list of {role, content} objects, rendered with the
  /// tokenizer library's chat format `chatFormat` ("chatml", "llama3"; see
  /// ftl/Tokenizers/Chat.h).
  std::string messagesField = "messages";
  std::string chatFormat = "chatml";

  /// PromptResponse / Preference: loss on the response (and EOS) only, or on
  /// every position.
  Loss loss = Loss::Response;
  /// Messages: roles whose content and end-of-turn token carry loss.
  std::vector<std::string> lossRoles = {"assistant"};

  /// BOS: Auto = the prefix tokens the tokenizer's own post-processor adds
  /// (encode(x, true) vs encode(x, false); none in Messages mode, where the
  /// chat format decides); Yes = the tokenizer's BOS (an error if it has
  /// none); No = nothing.
  Special bos = Special::Auto;
  /// EOS after the response / text: Auto = the tokenizer's EOS if it has
  /// one (not in Messages mode); Yes = required; No = never.
  Special eos = Special::Auto;

  /// 0 = no limit. Longer sequences are cut per `truncation`:
  /// Right keeps the first maxLength tokens; PromptLeft drops prompt tokens
  /// from the prompt's start (after BOS) and then, if still too long, cuts
  /// the end (Text and Messages behave as Right); Drop skips the example.
  int64_t maxLength = 0;
  Truncation truncation = Truncation::Right;
  /// PromptResponse: per-token weights of the response read from the record
  /// (key tokens, diff weights); the EOS keeps weight 1.
  TokenWeighting weighting;
  /// Examples whose weights are all 0 (e.g. the response was cut away) are
  /// dropped and counted unless this is set.
  bool keepNoLoss = false;

  /// Threads tokenizing (0 = one per core, 1 = the calling thread only).
  /// Output is identical for any count. The tokenizer must be safe to call
  /// from several threads (encode is const).
  unsigned threads = 0;

  /// Canonical text for cache keys, e.g. "tokenize(prompt_response,
  /// prompt: prompt, ...)".
  std::string describe() const;
};

/// What tokenizeRecord tells its caller besides the examples.
struct TokenizeNotes {
  bool truncated = false;
  bool droppedTooLong = false;
  bool droppedNoLoss = false;
};

/// Tokenizes one record (0, 1 or 2 examples appended to `out`). Errors name
/// the record: missing fields, wrong types, ids outside the vocabulary.
llvm::Error tokenizeRecord(const Record &record, const Tokenizer &tokenizer,
                           const TokenizeOptions &options, int64_t exampleIndex,
                           std::vector<TokenizedExample> &out,
                           TokenizeNotes *notes = nullptr);

/// `tokenize`: a stream of examples over `data`. Counters: "tokenize:
/// examples", "tokenize: truncated", "tokenize: dropped (too long)",
/// "tokenize: dropped (no loss tokens)". Errors: a missing chat renderer in
/// Messages mode, BOS/EOS required but missing.
llvm::Expected<std::unique_ptr<ExampleStream>>
tokenizeDataset(DatasetRef data, const Tokenizer &tokenizer,
                const TokenizeOptions &options, const DataContext &ctx);

/// Examples held in memory (tests and small sets).
std::unique_ptr<ExampleStream>
examplesStream(std::vector<TokenizedExample> examples);
llvm::Expected<std::vector<TokenizedExample>> readAll(ExampleStream &stream);

//===----------------------------------------------------------------------===//
// Token-aware record operators
//===----------------------------------------------------------------------===//

struct ChunkOptions {
  /// Tokens per chunk (> 0).
  int64_t tokens = 256;
  std::string field = "text";
  /// Concatenate records (with the tokenizer's EOS between them when
  /// `eosBetween`) and cut the concatenation; otherwise cut each record on
  /// its own.
  bool acrossRecords = true;
  bool eosBetween = true;
  /// Drop a final chunk shorter than `tokens`.
  bool dropRemainder = false;
};

/// `chunk(256)`: records {text: decoded chunk, input_ids: [ids]} whose ids
/// tokenize() uses verbatim. Needs the context's tokenizer. Not random
/// access: a shuffle after chunk holds the chunks in memory.
llvm::Expected<DatasetRef> chunkDataset(DatasetRef in, ChunkOptions options);

struct MixtureComponent {
  std::string name;
  DatasetRef data;
  /// Relative share (> 0); ignored when MixtureOptions::proportional.
  double weight = 1;
};

struct MixtureOptions {
  enum class By { Examples, Tokens };
  By by = By::Examples;
  /// Most units (examples or tokens) taken from one component; 0 = no cap.
  int64_t cap = 0;
  /// Most units in the output; 0 = until every component is done.
  int64_t total = 0;
  /// Weights = min(size, cap) of each component (counted in a first pass),
  /// i.e. examples-proportional mixing.
  bool proportional = false;
  /// By tokens: how a record is tokenized to count its tokens.
  TokenizeOptions countAs;
};

/// `mixture(code: 0.6, math: 0.3, general: 0.1, by: tokens, cap: 5000)`.
/// Deterministic interleaving: the next record comes from the active
/// component with the smallest units_taken / weight (ties: a seeded order).
/// A component whose next record is past its cap, or that runs out, leaves;
/// the rest continue in their ratios. A record past `total` ends the output.
/// Errors: no components, duplicate names, weights <= 0 or not finite.
llvm::Expected<DatasetRef> mixtureDataset(std::vector<MixtureComponent> parts,
                                          MixtureOptions options);

//===----------------------------------------------------------------------===//
// Packing and batching
//===----------------------------------------------------------------------===//

struct PackedSegment {
  int64_t exampleIndex;
  int32_t start;
  int32_t length;
  /// 0 for an example's first piece, k for the k-th continuation of a split
  /// example.
  int32_t piece;
};

/// One row of exactly seqLen tokens.
struct PackedRow {
  std::vector<int32_t> ids;
  std::vector<float> weights;
  /// 0, 1, ... per document in the row; -1 on padding. Attention must stay
  /// within equal segment ids.
  std::vector<int32_t> segmentIds;
  /// Position within the document piece (restarts at 0 per segment; 0 on
  /// padding).
  std::vector<int32_t> positions;
  std::vector<PackedSegment> segments;
};

class RowStream {
public:
  virtual ~RowStream();
  virtual llvm::Expected<bool> next(PackedRow &out) = 0;
};

struct PackOptions {
  int64_t seqLen = 0;
  /// Padding id; -1 = the tokenizer's pad, else its EOS, else 0.
  int32_t padId = -1;
  /// Prompt and prefix tuning: each document piece starts with this many
  /// virtual token slots, with ids -1, -2, ... (slot k has id -1-k), weight
  /// 0 and positions 0..n-1; the piece's own tokens follow at positions n..
  /// and a piece holds at most seqLen - n of them.
  int64_t virtualTokens = 0;
};

/// The virtual slot a packed id stands for (-1 for a real token).
inline int32_t virtualSlotOf(int32_t id) { return id < 0 ? -1 - id : -1; }

/// The pad id PackOptions/BatchOptions resolve -1 to.
int32_t defaultPadId(const Tokenizer *tokenizer);

/// `pack(seq_len)`: greedy in order. An example that fits in the current
/// row's free space goes there; else the row is padded (weight 0, segment
/// -1) and a new row starts. An example longer than seqLen is first split
/// into pieces of seqLen tokens (the last shorter), each placed as above;
/// a continuation piece's first token gets weight 0. Preference pairs are
/// an error (use batch). Counters: "pack: rows", "pack: pad tokens",
/// "pack: split examples".
llvm::Expected<std::unique_ptr<RowStream>>
packExamples(std::unique_ptr<ExampleStream> in, PackOptions options,
             const Tokenizer *tokenizer = nullptr, DataStats *stats = nullptr);

/// A batch of rows, row-major.
struct Batch {
  int64_t rows = 0;
  int64_t seqLen = 0;
  std::vector<int32_t> ids;
  std::vector<float> weights;
  std::vector<int32_t> segmentIds;
  std::vector<int32_t> positions;
  /// Per row: tokens before padding, the example and its part (for packed
  /// rows: the first segment's example, Part::Single).
  std::vector<int32_t> lengths;
  std::vector<int64_t> exampleIndices;
  std::vector<TokenizedExample::Part> parts;
};

/// Packed rows stacked into one batch.
Batch stackRows(llvm::ArrayRef<PackedRow> rows);

class BatchStream {
public:
  virtual ~BatchStream();
  virtual llvm::Expected<bool> next(Batch &out) = 0;
};

struct BatchOptions {
  enum class Pad { Longest, SeqLen };
  /// Examples per batch; for preference streams, pairs per batch (rows =
  /// 2 * batchSize, chosen then rejected).
  int64_t batchSize = 1;
  /// Longer examples are cut to seqLen ("batch: truncated").
  int64_t seqLen = 0;
  Pad pad = Pad::Longest;
  int32_t padId = -1;
  bool dropLast = false;
};

/// `batch(size, seq_len)` without packing: each example is one row (segment
/// 0, positions 0..len-1), padded to the batch's longest row or to seqLen.
llvm::Expected<std::unique_ptr<BatchStream>>
batchExamples(std::unique_ptr<ExampleStream> in, BatchOptions options,
              const Tokenizer *tokenizer = nullptr, DataStats *stats = nullptr);

} // namespace ftl::rt

#endif // FTL_DATA_TOKENIZE_H
