//===- GenerateBench.cpp - Tokens per second of ftl::rt::generate --------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
//
//   ftl-generate-bench <model-dir> <greedy|sampled> <prompts> <prompt-len>
//                      <new-tokens> <threads> <reps>
//
// Generates <new-tokens> tokens for each of <prompts> fixed prompts (token
// i of prompt p is (37 p + 11 i + 5) mod vocab, as in hf_generate.py), no
// stop token, all prompts in one batch, on a pool of <threads> threads;
// sampled = temperature 0.8, top-k 50, top-p 0.95. Prints the median and
// best tokens/s over <reps> timed runs (after one warm-up) and a checksum of
// the generated ids (equal to hf_generate.py's for greedy decoding when both
// pick the same tokens).
//
//===----------------------------------------------------------------------===//

#include "ftl/Generate/Generate.h"
#include "ftl/Kernels/ThreadPool.h"
#include "ftl/Models/ModelIO.h"
#include "ftl/Tokenizers/Tokenizer.h"

#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <string>
#include <vector>

using namespace ftl;
using namespace ftl::rt;

int main(int argc, char **argv) {
  if (argc != 8) {
    llvm::errs() << "usage: " << argv[0]
                 << " <model-dir> <greedy|sampled> <prompts> <prompt-len> "
                    "<new-tokens> <threads> <reps>\n";
    return 2;
  }
  std::string mode = argv[2];
  const int64_t numPrompts = std::atoll(argv[3]);
  const int64_t promptLen = std::atoll(argv[4]);
  const int64_t newTokens = std::atoll(argv[5]);
  const int threads = std::atoi(argv[6]);
  const int reps = std::max(1, std::atoi(argv[7]));
  if (mode != "greedy" && mode != "sampled") {
    llvm::errs() << "mode must be 'greedy' or 'sampled', found '" << mode
                 << "'\n";
    return 2;
  }
  auto model = loadHFModelFolder(argv[1]);
  if (!model) {
    llvm::errs() << llvm::toString(model.takeError()) << "\n";
    return 1;
  }
  const int64_t vocab = model->config.vocab;
  std::vector<std::vector<int32_t>> prompts(numPrompts);
  for (int64_t p = 0; p < numPrompts; ++p)
    for (int64_t i = 0; i < promptLen; ++i)
      prompts[p].push_back(static_cast<int32_t>((37 * p + 11 * i + 5) % vocab));

  SamplingOptions options;
  options.maxTokens = newTokens;
  if (mode == "sampled") {
    options.temperature = 0.8;
    options.topK = 50;
    options.topP = 0.95;
    options.seed = 1;
  }
  ModelView view;
  view.config = &model->config;
  view.weights = &model->weights;
  auto tokenizer = makeByteTokenizer();
  kernels::ThreadPool pool(threads);

  std::vector<double> seconds;
  uint64_t checksum = 0;
  int64_t produced = 0;
  for (int rep = 0; rep <= reps; ++rep) {
    auto start = std::chrono::steady_clock::now();
    auto samples = generate(view, *tokenizer, prompts, options, &pool, {},
                            /*batchSize=*/numPrompts);
    double s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count();
    if (!samples) {
      llvm::errs() << llvm::toString(samples.takeError()) << "\n";
      return 1;
    }
    checksum = 0;
    produced = 0;
    for (const Sample &sample : *samples)
      for (int32_t t : sample.tokens) {
        checksum =
            (checksum * 1000003 + static_cast<uint64_t>(t)) % 1000000007ull;
        ++produced;
      }
    if (rep > 0) // the first run warms caches and the pool
      seconds.push_back(s);
  }
  std::sort(seconds.begin(), seconds.end());
  double median = seconds[seconds.size() / 2], best = seconds.front();
  llvm::outs() << llvm::format(
      "ftl %s: %lld tokens, median %.4f s, %.1f tokens/s median, %.1f "
      "tokens/s best, checksum %llu\n",
      mode.c_str(), static_cast<long long>(produced), median, produced / median,
      produced / best, static_cast<unsigned long long>(checksum));
  return 0;
}
