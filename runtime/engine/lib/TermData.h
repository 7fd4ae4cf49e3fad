//===- TermData.h - What each objective term is fed (private) ---*- C++ -*-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// The batch tensors of one loss term and where they come from: packed rows
/// of tokens for token losses (sft, lm, unlikelihood), and one row per
/// response, chosen rows then rejected rows, for preference pairs (dpo).
///
//===----------------------------------------------------------------------===//

#ifndef FTL_ENGINE_LIB_TERMDATA_H
#define FTL_ENGINE_LIB_TERMDATA_H

#include "ftl/Data/Tokenize.h"
#include "ftl/Runtime/Rng.h"

#include "mlir/IR/Operation.h"

#include "llvm/Support/Error.h"

#include <memory>
#include <optional>
#include <vector>

namespace ftl::rt {

class Interpreter;
class Tokenizer;

/// The batch tensors of one term for one micro-batch (rows x seq tokens).
struct TermBatch {
  std::vector<int32_t> ids, targets, positions, segments;
  std::vector<float> weights;
  /// Prompt and prefix tuning: 1 on virtual token slots (else 0), and each
  /// token's slot index (0 on real tokens).
  std::vector<float> virtualMask;
  std::vector<int32_t> slots;
  /// Preference terms: the reference's log-probability of each row.
  std::vector<float> refLogp;
  /// KL terms: the reference's final hidden states [rows * seq, dim].
  std::vector<float> refHidden;
  /// Preference terms: the example of each row, and whether it is the
  /// rejected response (the reference cache key).
  std::vector<int64_t> rowExamples;
  std::vector<bool> rowRejected;
  double totalWeight = 0; ///< sum of the weights of supervised tokens
  int64_t supervised = 0; ///< tokens with a weight above 0
  int64_t samples = 0;    ///< documents with a supervised token
  int64_t tokens = 0;     ///< non-padding tokens
};

/// Fills next-token targets from packed rows: position i predicts token i+1
/// of the same document, with that token's weight. With `sampleMeans`, each
/// document's weights are divided by their sum (sample-level means).
void fillBatch(llvm::ArrayRef<PackedRow> rows, int64_t seq, bool sampleMeans,
               TermBatch &out);

/// The same from a batch of unpacked rows (preference pairs).
void fillBatch(const Batch &batch, int64_t seq, TermBatch &out);

/// Input corruption of Masked Thought (`sft(d, mask: random(p, span: ...))`):
/// each input token of the span is replaced by `maskId` with probability
/// `rate`; targets and weights are untouched, so the model predicts the true
/// next token from a corrupted history. Spans: "response" and "thought" are
/// the supervised tokens, "prompt" the unsupervised tokens after a
/// document's first, "all" every token after a document's first. Returns
/// how many inputs were replaced.
struct InputMask {
  double rate = 0;
  std::string span = "thought";
  int32_t maskId = 0;
};
int64_t maskInputs(TermBatch &batch, const InputMask &mask, Rng &rng);

/// How a loss term reads its records (text, prompt/response, messages or
/// preference pairs), from the loss and the data's fields.
llvm::Expected<TokenizeOptions> tokenizeOptionsFor(mlir::Operation *loss,
                                                   const Dataset &data,
                                                   Interpreter &interp,
                                                   const Tokenizer &tok);

/// Rows for one term, cycling through epochs: packed rows for token losses,
/// batches of pairs for preference losses.
class TermFeeder {
public:
  TermFeeder(Interpreter &interp, DatasetRef data, const Tokenizer &tokenizer,
             TokenizeOptions tokenize, int64_t seqLen, int64_t pairsPerBatch);
  /// A new feeder over the same data, from its start.
  TermFeeder(const TermFeeder &other);
  ~TermFeeder();

  bool isPairs() const { return pairsPerBatch > 0; }
  /// The next packed row (token losses).
  llvm::Expected<PackedRow> next();
  /// Applies the term's input mask, if it has one, with a fresh draw each
  /// call (a new mask every time an example is seen).
  void corrupt(TermBatch &batch);
  std::optional<InputMask> inputMask;
  Rng maskRng{0};
  /// Prompt and prefix tuning: virtual slots before each document piece
  /// (set before the first row is read).
  int64_t virtualTokens = 0;

  /// The next batch of pairs (preference losses): 2 * pairsPerBatch rows,
  /// taking pairs in order and starting a new epoch at the end.
  llvm::Expected<Batch> nextPairs();

  int64_t epoch = 0;

private:
  llvm::Error restart();

  Interpreter &interp;
  DatasetRef data;
  const Tokenizer &tokenizer;
  TokenizeOptions tokenize;
  int64_t seqLen, pairsPerBatch;
  std::unique_ptr<RowStream> rows;
  int64_t unitsThisEpoch = 0;
  /// Preference terms: every pair's two examples (chosen, rejected), read
  /// once; batches take pairs in order and wrap around, so a set smaller
  /// than one batch still fills it.
  std::vector<TokenizedExample> pairs;
  size_t nextPair = 0;
  bool pairsLoaded = false;
};

} // namespace ftl::rt

#endif // FTL_ENGINE_LIB_TERMDATA_H
