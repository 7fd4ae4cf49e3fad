//===- Generate.cpp - forwardLogits and batched generation ----------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
//
// generate() keeps up to `batchSize` rows in the decoder's cache slots. Each
// step feeds the last token of every decoding row plus up to kPrefillBudget
// prompt tokens of rows still reading their prompt, samples a token for
// every row that got logits, retires finished rows and hands their slots to
// waiting rows before the next step. A row whose prompt another slot is
// reading (the other samples of the same prompt) waits for it and copies its
// cache prefix and last-position logits instead of recomputing them.
//
//===----------------------------------------------------------------------===//

#include "ftl/Generate/Generate.h"

#include "Decoder.h"
#include "Sampler.h"

#include "ftl/Kernels/ThreadPool.h"
#include "ftl/Runtime/Rng.h"
#include "ftl/Tokenizers/Tokenizer.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include <unistd.h>

using namespace ftl::rt;
using namespace ftl::rt::detail;

namespace {

/// Prompt tokens fed per step (all prompt-reading rows together); also the
/// chunk of forwardLogits.
constexpr int64_t kPrefillBudget = 256;

llvm::Error fail(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

llvm::Error checkIds(llvm::ArrayRef<int32_t> ids, int64_t vocab,
                     const llvm::Twine &what) {
  for (size_t i = 0; i < ids.size(); ++i)
    if (ids[i] < 0 || ids[i] >= vocab)
      return fail(what + ", position " + llvm::Twine(i) + ": token id " +
                  llvm::Twine(ids[i]) +
                  " is outside the model's vocabulary of " +
                  llvm::Twine(vocab) + " tokens (expected 0.." +
                  llvm::Twine(vocab - 1) + ")");
  return llvm::Error::success();
}

std::string formatDouble(double v) {
  char text[32];
  std::snprintf(text, sizeof(text), "%g", v);
  return text;
}

llvm::Error checkOptions(const SamplingOptions &o, int64_t batchSize) {
  if (!std::isfinite(o.temperature) || o.temperature < 0)
    return fail("generate: 'temperature' must be a finite number >= 0 "
                "(0 = greedy), found " +
                formatDouble(o.temperature));
  if (o.topK < 0)
    return fail("generate: 'top_k' must be >= 0 (0 = off), found " +
                llvm::Twine(o.topK));
  if (!(o.topP > 0 && o.topP <= 1))
    return fail("generate: 'top_p' must be in (0, 1] (1 = off), found " +
                formatDouble(o.topP));
  if (o.n < 1)
    return fail("generate: 'n' (samples per prompt) must be at least 1, "
                "found " +
                llvm::Twine(o.n));
  if (o.maxTokens < 0)
    return fail("generate: 'max_tokens' must be >= 0, found " +
                llvm::Twine(o.maxTokens));
  if (batchSize < 1)
    return fail("generate: the batch size must be at least 1 row, found " +
                llvm::Twine(batchSize));
  for (size_t i = 0; i < o.stop.size(); ++i)
    if (o.stop[i].empty())
      return fail("generate: stop string " + llvm::Twine(i) +
                  " is empty (expected at least one character)");
  return llvm::Error::success();
}

/// Runs fn(item, worker) for items [0, n), dealt round robin to at most
/// `workers` pool threads (worker < workers indexes per-thread scratch).
void forEachItem(ftl::kernels::ThreadPool *pool, int64_t workers, int64_t n,
                 llvm::function_ref<void(int64_t, int64_t)> fn) {
  workers = std::max<int64_t>(1, std::min(workers, n));
  auto run = [&](int64_t w) {
    for (int64_t i = w; i < n; i += workers)
      fn(i, w);
  };
  if (!pool || workers == 1) {
    run(0);
    return;
  }
  pool->parallelFor(workers, [&](int64_t begin, int64_t end) {
    for (int64_t w = begin; w < end; ++w)
      run(w);
  });
}

} // namespace

/// The model of a one-sequence pass over `tokens`, checked: at least one
/// token, all of them and the model's virtual tokens within its context, and
/// every id in its vocabulary. `what` names the caller in messages.
static llvm::Expected<ResolvedModel>
resolveForSequence(const ModelView &view, llvm::ArrayRef<int32_t> tokens,
                   llvm::StringRef what) {
  llvm::Expected<ResolvedModel> model = resolveModel(view);
  if (!model)
    return model.takeError();
  const ModelConfig &c = *view.config;
  const int64_t L = static_cast<int64_t>(tokens.size());
  if (L == 0)
    return fail(what + ": the token sequence is empty (expected at least "
                       "one token)");
  if (L > c.ctx)
    return fail(what + ": the sequence has " + llvm::Twine(L) +
                " tokens but the model's context is " + llvm::Twine(c.ctx) +
                " tokens");
  if (L + model->virtualTokens > c.ctx)
    return fail(what + ": " + llvm::Twine(L) + " tokens and " +
                llvm::Twine(model->virtualTokens) +
                " virtual tokens exceed the model's context of " +
                llvm::Twine(c.ctx) + " tokens");
  if (llvm::Error err = checkIds(tokens, c.vocab, what + ": token"))
    return std::move(err);
  return model;
}

/// The ids of `count` virtual tokens (slot k is -1-k), then `tokens`.
static std::vector<int32_t> withVirtualTokens(int64_t count,
                                              llvm::ArrayRef<int32_t> tokens) {
  std::vector<int32_t> all;
  all.reserve(static_cast<size_t>(count) + tokens.size());
  for (int64_t k = 0; k < count; ++k)
    all.push_back(static_cast<int32_t>(-1 - k));
  all.insert(all.end(), tokens.begin(), tokens.end());
  return all;
}

llvm::Expected<Tensor> ftl::rt::forwardLogits(const ModelView &view,
                                              llvm::ArrayRef<int32_t> tokens,
                                              kernels::ThreadPool *pool) {
  llvm::Expected<ResolvedModel> model =
      resolveForSequence(view, tokens, "forwardLogits");
  if (!model)
    return model.takeError();
  const ModelConfig &c = *view.config;
  const int64_t L = static_cast<int64_t>(tokens.size());
  // Virtual tokens (prompt or prefix tuning) come first; their logits are
  // not returned.
  const int64_t P = model->virtualTokens;
  std::vector<int32_t> all = withVirtualTokens(P, tokens);
  const int64_t total = L + P;
  const int64_t chunk = std::min(total, kPrefillBudget);
  Decoder decoder(*model, /*slots=*/1, /*capacity=*/total, chunk, chunk, pool);
  Tensor out = Tensor::zeros(DType::F32, {L, c.vocab});
  float *dst = out.dataAs<float>();
  std::vector<StepToken> step;
  step.reserve(static_cast<size_t>(chunk));
  for (int64_t start = 0; start < total; start += chunk) {
    const int64_t n = std::min(chunk, total - start);
    step.clear();
    // Virtual tokens ask for no logits.
    for (int64_t i = 0; i < n; ++i)
      step.push_back({0, static_cast<int32_t>(start + i), all[start + i],
                      start + i < P ? -1 : static_cast<int32_t>(i)});
    decoder.step(step);
    for (int64_t i = 0; i < n; ++i)
      if (start + i >= P)
        std::memcpy(dst + (start + i - P) * c.vocab,
                    decoder.logits(static_cast<int32_t>(i)),
                    static_cast<size_t>(c.vocab) * sizeof(float));
  }
  return out;
}

llvm::Expected<std::vector<Tensor>>
ftl::rt::keysAndValues(const ModelView &view, llvm::ArrayRef<int32_t> tokens,
                       kernels::ThreadPool *pool) {
  llvm::Expected<ResolvedModel> model =
      resolveForSequence(view, tokens, "keysAndValues");
  if (!model)
    return model.takeError();
  const ModelConfig &c = *view.config;
  const int64_t L = static_cast<int64_t>(tokens.size());
  // Only the cache is wanted: no token asks for logits.
  Decoder decoder(*model, /*slots=*/1, /*capacity=*/L, L, 1, pool);
  std::vector<StepToken> step;
  for (int64_t i = 0; i < L; ++i)
    step.push_back({0, static_cast<int32_t>(i), tokens[i], -1});
  decoder.step(step);
  std::vector<Tensor> out;
  const int64_t kvDim = c.kvHeads * c.headDim;
  for (int64_t l = 0; l < c.layers; ++l) {
    Tensor k = Tensor::zeros(DType::F32, {L, kvDim});
    Tensor v = Tensor::zeros(DType::F32, {L, kvDim});
    decoder.readCache(l, 0, L, k.dataAs<float>(), v.dataAs<float>());
    out.push_back(std::move(k));
    out.push_back(std::move(v));
  }
  return out;
}

namespace {

enum class SlotState {
  Free,
  Prefill, ///< reading its prompt
  Wait,    ///< waiting for another slot to finish reading the same prompt
  Ready,   ///< prompt read, first token not yet sampled
  Decode,  ///< feeding back its last token
};

struct Slot {
  SlotState state = SlotState::Free;
  int64_t row = -1;
  int64_t filled = 0;  ///< prompt tokens in the cache
  int64_t source = -1; ///< the slot a Wait slot copies from
  int32_t logitsRow = -1;
};

struct Row {
  Rng rng;
  int64_t promptLen = 0;
  int64_t limit = 0; ///< tokens this row may generate
};

} // namespace

llvm::Expected<std::vector<Sample>>
ftl::rt::generate(const ModelView &view, const Tokenizer &tokenizer,
                  llvm::ArrayRef<std::vector<int32_t>> prompts,
                  const SamplingOptions &options, kernels::ThreadPool *pool,
                  llvm::function_ref<void(int64_t)> progress,
                  int64_t batchSize) {
  if (llvm::Error err = checkOptions(options, batchSize))
    return std::move(err);
  llvm::Expected<ResolvedModel> model = resolveModel(view);
  if (!model)
    return model.takeError();
  const ModelConfig &c = *view.config;
  const int64_t V = c.vocab;
  if (options.eos && (*options.eos < 0 || *options.eos >= V))
    return fail("generate: the eos token " + llvm::Twine(*options.eos) +
                " is outside the model's vocabulary of " + llvm::Twine(V) +
                " tokens (expected 0.." + llvm::Twine(V - 1) + ")");
  int64_t maxPrompt = 0;
  for (size_t p = 0; p < prompts.size(); ++p) {
    const int64_t L = static_cast<int64_t>(prompts[p].size());
    if (L == 0)
      return fail("generate: prompt " + llvm::Twine(p) +
                  " is empty (expected at least one token)");
    if (L > c.ctx)
      return fail("generate: prompt " + llvm::Twine(p) + " has " +
                  llvm::Twine(L) + " tokens but the model's context is " +
                  llvm::Twine(c.ctx) + " tokens");
    if (llvm::Error err =
            checkIds(prompts[p], V, "generate: prompt " + llvm::Twine(p)))
      return std::move(err);
    maxPrompt = std::max(maxPrompt, L);
  }
  // Virtual tokens (prompt or prefix tuning) start every prompt.
  std::vector<std::vector<int32_t>> withVirtual;
  if (const int64_t P = model->virtualTokens; P > 0) {
    for (const std::vector<int32_t> &prompt : prompts) {
      std::vector<int32_t> p = withVirtualTokens(P, prompt);
      if (int64_t(p.size()) > c.ctx)
        return fail("generate: a prompt of " + llvm::Twine(prompt.size()) +
                    " tokens and " + llvm::Twine(P) +
                    " virtual tokens exceeds the model's context of " +
                    llvm::Twine(c.ctx) + " tokens");
      withVirtual.push_back(std::move(p));
    }
    prompts = withVirtual;
    maxPrompt += P;
  }

  const int64_t n = options.n;
  constexpr int64_t kMaxRows = int64_t(1) << 31;
  if (!prompts.empty() && n > kMaxRows / static_cast<int64_t>(prompts.size()))
    return fail("generate: " + llvm::Twine(prompts.size()) + " prompts x " +
                llvm::Twine(n) + " samples is more than " +
                llvm::Twine(kMaxRows) + " rows");
  const int64_t R = static_cast<int64_t>(prompts.size()) * n;
  std::vector<Sample> samples(static_cast<size_t>(R));
  std::vector<Row> rows(static_cast<size_t>(R));
  const Rng base = Rng(options.seed).derive("generate");
  for (int64_t r = 0; r < R; ++r) {
    const size_t p = static_cast<size_t>(r / n);
    samples[r].prompt = p;
    rows[r].promptLen = static_cast<int64_t>(prompts[p].size());
    rows[r].limit = std::min(options.maxTokens, c.ctx - rows[r].promptLen);
  }
  if (R == 0)
    return samples;

  const int64_t S = std::min(batchSize, R);
  // The last sampled token of a row is never fed back.
  // (maxTokens may be as large as int64 allows: no sum that could overflow)
  const int64_t capacity =
      std::max<int64_t>(1, options.maxTokens >= c.ctx - maxPrompt
                               ? c.ctx
                               : maxPrompt + options.maxTokens);
  // The cache is allocated up front: refuse what cannot fit in memory
  // rather than die in the allocator.
  const double cacheBytes =
      2.0 * sizeof(float) * c.layers * S * c.kvHeads * capacity * c.headDim;
  const double physical = static_cast<double>(sysconf(_SC_PHYS_PAGES)) *
                          static_cast<double>(sysconf(_SC_PAGE_SIZE));
  if (physical > 0 && cacheBytes > physical)
    return fail("generate: the KV cache of " + llvm::Twine(S) + " rows x " +
                llvm::Twine(capacity) + " positions needs " +
                formatDouble(cacheBytes / (1u << 30)) +
                " GiB but this machine has " +
                formatDouble(physical / (1u << 30)) +
                " GiB of memory (lower the batch size or 'max_tokens')");
  Decoder decoder(*model, S, capacity, S + kPrefillBudget, S, pool);
  std::vector<Slot> slots(static_cast<size_t>(S));
  std::vector<float> promptLogits(static_cast<size_t>(S * V));
  std::vector<StepToken> step;
  step.reserve(static_cast<size_t>(S + kPrefillBudget));
  std::vector<std::pair<int64_t, const float *>> toSample;
  toSample.reserve(static_cast<size_t>(S));
  std::vector<int32_t> drawn(static_cast<size_t>(S));
  const int threads = pool ? std::max(1, pool->numThreads()) : 1;
  std::vector<SamplerScratch> scratch(static_cast<size_t>(threads));
  const SamplerParams params{options.temperature, options.topK, options.topP};
  size_t maxStop = 0;
  for (const std::string &s : options.stop)
    maxStop = std::max(maxStop, s.size());

  int64_t nextRow = 0, finished = 0, produced = 0;

  auto finishRow = [&](int64_t r, const char *why) {
    Sample &s = samples[r];
    s.finish = why;
    if (s.finish != "stop") {
      llvm::ArrayRef<int32_t> shown = s.tokens;
      if (s.finish == "eos")
        shown = shown.drop_back();
      s.text = tokenizer.decode(shown);
    }
    ++finished;
  };

  while (finished < R) {
    // Admission: free slots take the next rows in order.
    for (int64_t i = 0; i < S && nextRow < R; ++i) {
      Slot &slot = slots[i];
      while (slot.state == SlotState::Free && nextRow < R) {
        const int64_t r = nextRow++;
        rows[r].rng = base.derive(static_cast<uint64_t>(samples[r].prompt))
                          .derive(static_cast<uint64_t>(r % n));
        if (rows[r].limit <= 0) {
          finishRow(r, "length");
          continue;
        }
        samples[r].tokens.reserve(static_cast<size_t>(rows[r].limit));
        slot.row = r;
        slot.filled = 0;
        slot.source = -1;
        slot.state = SlotState::Prefill;
        // Another slot with the same prompt: share its prompt.
        for (int64_t j = 0; j < S; ++j) {
          const Slot &other = slots[j];
          if (j == i || other.row < 0 ||
              samples[other.row].prompt != samples[r].prompt ||
              other.state == SlotState::Wait)
            continue;
          if (other.state == SlotState::Prefill) {
            slot.state = SlotState::Wait;
            slot.source = j;
          } else {
            decoder.copyPrefix(j, i, rows[r].promptLen);
            std::memcpy(&promptLogits[i * V], &promptLogits[j * V],
                        static_cast<size_t>(V) * sizeof(float));
            slot.state = SlotState::Ready;
          }
          break;
        }
      }
    }

    // One step: decode tokens first, then prompt chunks within the budget.
    step.clear();
    int32_t logitsRows = 0;
    for (int64_t i = 0; i < S; ++i) {
      Slot &slot = slots[i];
      slot.logitsRow = -1;
      if (slot.state != SlotState::Decode)
        continue;
      const Sample &s = samples[slot.row];
      slot.logitsRow = logitsRows++;
      step.push_back(
          {static_cast<int32_t>(i),
           static_cast<int32_t>(rows[slot.row].promptLen + s.tokens.size() - 1),
           s.tokens.back(), slot.logitsRow});
    }
    const int64_t decodeTokens = static_cast<int64_t>(step.size());
    int64_t budget = kPrefillBudget;
    for (int64_t i = 0; i < S && budget > 0; ++i) {
      Slot &slot = slots[i];
      if (slot.state != SlotState::Prefill)
        continue;
      const std::vector<int32_t> &prompt = prompts[samples[slot.row].prompt];
      const int64_t L = rows[slot.row].promptLen;
      const int64_t count = std::min(budget, L - slot.filled);
      for (int64_t k = 0; k < count; ++k) {
        const int64_t pos = slot.filled + k;
        const bool last = pos == L - 1;
        if (last)
          slot.logitsRow = logitsRows++;
        step.push_back({static_cast<int32_t>(i), static_cast<int32_t>(pos),
                        prompt[pos], last ? slot.logitsRow : -1});
      }
      slot.filled += count;
      budget -= count;
    }
    decoder.step(step, decodeTokens);

    // Rows that finished their prompt keep its logits; their waiting
    // siblings copy the prompt's cache.
    for (int64_t i = 0; i < S; ++i) {
      Slot &slot = slots[i];
      if (slot.state == SlotState::Prefill && slot.logitsRow >= 0) {
        std::memcpy(&promptLogits[i * V], decoder.logits(slot.logitsRow),
                    static_cast<size_t>(V) * sizeof(float));
        slot.state = SlotState::Ready;
      }
    }
    for (int64_t i = 0; i < S; ++i) {
      Slot &slot = slots[i];
      if (slot.state != SlotState::Wait ||
          slots[slot.source].state != SlotState::Ready)
        continue;
      decoder.copyPrefix(slot.source, i, rows[slot.row].promptLen);
      std::memcpy(&promptLogits[i * V], &promptLogits[slot.source * V],
                  static_cast<size_t>(V) * sizeof(float));
      slot.state = SlotState::Ready;
    }

    // Sample every row that has logits, each from its own stream.
    toSample.clear();
    for (int64_t i = 0; i < S; ++i) {
      const Slot &slot = slots[i];
      if (slot.state == SlotState::Decode)
        toSample.push_back({i, decoder.logits(slot.logitsRow)});
      else if (slot.state == SlotState::Ready)
        toSample.push_back({i, &promptLogits[i * V]});
    }
    const int64_t count = static_cast<int64_t>(toSample.size());
    const double work =
        static_cast<double>(count) * V * (options.temperature == 0 ? 1 : 30);
    forEachItem(pool, work >= (1 << 16) ? threads : 1, count,
                [&](int64_t k, int64_t worker) {
                  const int64_t r = slots[toSample[k].first].row;
                  drawn[k] = sampleToken(toSample[k].second, V, params,
                                         rows[r].rng, scratch[worker]);
                });

    for (int64_t k = 0; k < count; ++k) {
      Slot &slot = slots[toSample[k].first];
      const int64_t r = slot.row;
      Sample &s = samples[r];
      s.tokens.push_back(drawn[k]);
      ++produced;
      slot.state = SlotState::Decode;
      const char *why = nullptr;
      if (options.eos && drawn[k] == *options.eos) {
        why = "eos";
      } else if (maxStop > 0) {
        std::string text = tokenizer.decode(s.tokens);
        size_t cut = std::string::npos;
        for (const std::string &stop : options.stop)
          cut = std::min(cut, text.find(stop));
        if (cut != std::string::npos) {
          text.resize(cut);
          s.text = std::move(text);
          why = "stop";
        }
      }
      if (!why && static_cast<int64_t>(s.tokens.size()) >= rows[r].limit)
        why = "length";
      if (why) {
        finishRow(r, why);
        slot = Slot();
      }
    }
    if (progress)
      progress(produced);
  }
  return samples;
}
