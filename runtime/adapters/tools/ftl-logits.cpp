//===- ftl-logits.cpp - Logits of a model with a PEFT adapter -------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
//
// A developer tool for checking PEFT folders against PEFT itself:
//
//   ftl-logits MODEL-DIR --tokens 1,2,3 --out LOGITS.json
//              [--adapter PEFT-DIR | --random-lora attn.q,attn.v
//               [--rank 4] [--alpha 8] [--rslora] [--seed 0]]
//              [--merge] [--save-adapter DIR] [--threads N]
//
// computes the logits [tokens, vocab] of MODEL-DIR (a Hugging Face folder)
// with ftl's forward pass, with the LoRA adapter read from PEFT-DIR or a
// random one on the given canonical weights of every layer (A and B drawn
// from ftl::rt::Rng, separate per weight). --merge folds the adapter into
// the weights first instead of applying it as deltas. --save-adapter writes
// the adapter as a PEFT folder with savePeftLora. The output is JSON:
// {"model", "adapter", "tokens", "logits": [[...], ...]} with every float in
// its shortest exact form. scripts/check_peft_interop.py loads a folder in
// PEFT and compares PEFT's logits with these.
//
//===----------------------------------------------------------------------===//

#include "ftl/Adapters/Peft.h"
#include "ftl/Generate/Generate.h"
#include "ftl/Kernels/ThreadPool.h"
#include "ftl/Models/ModelIO.h"
#include "ftl/Runtime/FileUtil.h"
#include "ftl/Runtime/Rng.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/raw_ostream.h"

#include <fmt/format.h>

#include <cmath>
#include <optional>
#include <string>
#include <vector>

using namespace ftl;
using namespace ftl::rt;

namespace {

int usage() {
  llvm::errs()
      << "usage: ftl-logits MODEL-DIR --tokens 1,2,3 --out LOGITS.json\n"
         "                  [--adapter PEFT-DIR | --random-lora attn.q,attn.v\n"
         "                   [--rank 4] [--alpha 8] [--rslora] [--seed 0]]\n"
         "                  [--merge] [--save-adapter DIR] [--threads N]\n";
  return 2;
}

int fail(const llvm::Twine &message) {
  llvm::errs() << "error: " << message << "\n";
  return 1;
}

struct Options {
  std::string model, adapter, out, saveAdapter;
  std::vector<int32_t> tokens;
  std::vector<std::string> randomTargets;
  int64_t rank = 4;
  double alpha = 8;
  bool rslora = false, merge = false;
  uint64_t seed = 0;
  int threads = 1;
};

/// Parses the command line; returns an exit code on failure.
std::optional<int> parse(int argc, char **argv, Options &o) {
  std::vector<std::string> positional;
  for (int i = 1; i < argc; ++i) {
    llvm::StringRef arg = argv[i];
    auto value = [&]() -> std::optional<llvm::StringRef> {
      if (i + 1 >= argc) {
        llvm::errs() << "error: " << arg << " needs a value\n";
        return std::nullopt;
      }
      return llvm::StringRef(argv[++i]);
    };
    auto number = [&](auto &slot, const char *what) -> bool {
      auto v = value();
      if (!v)
        return false;
      if (v->getAsInteger(10, slot)) {
        llvm::errs() << "error: " << arg << " expects " << what << ", found '"
                     << *v << "'\n";
        return false;
      }
      return true;
    };
    if (arg == "--tokens") {
      auto v = value();
      if (!v)
        return 2;
      llvm::SmallVector<llvm::StringRef, 16> pieces;
      v->split(pieces, ',', -1, false);
      for (llvm::StringRef p : pieces) {
        int32_t id;
        if (p.trim().getAsInteger(10, id)) {
          llvm::errs() << "error: --tokens expects comma-separated token ids, "
                          "found '"
                       << p << "'\n";
          return 2;
        }
        o.tokens.push_back(id);
      }
    } else if (arg == "--out" || arg == "--adapter" ||
               arg == "--save-adapter" || arg == "--random-lora") {
      auto v = value();
      if (!v)
        return 2;
      if (arg == "--out")
        o.out = v->str();
      else if (arg == "--adapter")
        o.adapter = v->str();
      else if (arg == "--save-adapter")
        o.saveAdapter = v->str();
      else {
        llvm::SmallVector<llvm::StringRef, 8> pieces;
        v->split(pieces, ',', -1, false);
        for (llvm::StringRef p : pieces)
          o.randomTargets.push_back(p.trim().str());
      }
    } else if (arg == "--alpha") {
      auto v = value();
      if (!v)
        return 2;
      if (v->getAsDouble(o.alpha)) {
        llvm::errs() << "error: --alpha expects a number, found '" << *v
                     << "'\n";
        return 2;
      }
    } else if (arg == "--rank") {
      if (!number(o.rank, "a positive integer") || o.rank <= 0)
        return 2;
    } else if (arg == "--seed") {
      if (!number(o.seed, "an integer"))
        return 2;
    } else if (arg == "--threads") {
      if (!number(o.threads, "a thread count"))
        return 2;
    } else if (arg == "--rslora") {
      o.rslora = true;
    } else if (arg == "--merge") {
      o.merge = true;
    } else if (arg.starts_with("--")) {
      llvm::errs() << "error: unknown option '" << arg << "'\n";
      return usage();
    } else {
      positional.push_back(arg.str());
    }
  }
  if (positional.size() != 1 || o.tokens.empty() || o.out.empty())
    return usage();
  if (!o.adapter.empty() && !o.randomTargets.empty()) {
    llvm::errs() << "error: give --adapter or --random-lora, not both\n";
    return 2;
  }
  o.model = positional[0];
  return std::nullopt;
}

/// A random LoRA on `targets` ("attn.q") of every layer.
llvm::Expected<LoraAdapter> randomLora(const Options &o,
                                       const LoadedModel &model) {
  LoraAdapter adapter;
  adapter.rslora = o.rslora;
  adapter.baseModel = o.model;
  Rng rng(o.seed);
  std::vector<ParamSpec> params = canonicalParams(model.config);
  for (const std::string &target : o.randomTargets) {
    bool found = false;
    for (const ParamSpec &p : params) {
      llvm::StringRef name = p.name;
      bool named = name == target + ".weight" ||
                   name.ends_with("." + target + ".weight");
      if (!named || p.shape.size() != 2)
        continue;
      found = true;
      LoraAdapter::Pair pair;
      pair.rank = o.rank;
      pair.alpha = o.alpha;
      pair.A = Tensor::zeros(DType::F32, {o.rank, p.shape[1]});
      pair.B = Tensor::zeros(DType::F32, {p.shape[0], o.rank});
      Rng r = rng.derive(name);
      for (Tensor *t : {&pair.A, &pair.B}) {
        float *x = t->dataAs<float>();
        for (int64_t i = 0; i < t->numel(); ++i)
          x[i] = static_cast<float>(r.normal() * 0.2);
      }
      adapter.deltas[p.name] = std::move(pair);
    }
    if (!found)
      return llvm::createStringError(
          llvm::inconvertibleErrorCode(),
          "--random-lora: no weight of the model ends with '." + target +
              ".weight' (expected names like attn.q, mlp.up)");
  }
  return adapter;
}

} // namespace

int main(int argc, char **argv) {
  Options o;
  if (auto code = parse(argc, argv, o))
    return *code;
  auto model = loadHFModelFolder(o.model);
  if (!model)
    return fail(llvm::toString(model.takeError()));
  for (int32_t id : o.tokens)
    if (id < 0 || id >= model->config.vocab)
      return fail("token id " + llvm::Twine(id) +
                  " is outside the vocabulary "
                  "[0, " +
                  llvm::Twine(model->config.vocab) + ")");

  std::optional<LoraAdapter> adapter;
  if (!o.adapter.empty()) {
    auto loaded = loadPeftLora(o.adapter, model->config);
    if (!loaded)
      return fail(llvm::toString(loaded.takeError()));
    adapter = std::move(*loaded);
  } else if (!o.randomTargets.empty()) {
    auto made = randomLora(o, *model);
    if (!made)
      return fail(llvm::toString(made.takeError()));
    adapter = std::move(*made);
  }
  if (adapter && !o.saveAdapter.empty())
    if (llvm::Error err = savePeftLora(*adapter, model->config, o.saveAdapter))
      return fail(llvm::toString(std::move(err)));

  ModelWeights weights = model->weights;
  ModelView view;
  view.config = &model->config;
  view.weights = &weights;
  if (adapter && o.merge) {
    if (llvm::Error err = mergeLora(weights, *adapter))
      return fail(llvm::toString(std::move(err)));
  } else if (adapter) {
    for (const auto &[name, pair] : adapter->deltas)
      view.lora[name] = {
          &pair.A, &pair.B,
          static_cast<float>(LoraAdapter::scale(pair, adapter->rslora))};
  }
  kernels::ThreadPool pool(o.threads);
  auto logits = forwardLogits(view, o.tokens, &pool);
  if (!logits)
    return fail(llvm::toString(logits.takeError()));

  std::string text;
  llvm::raw_string_ostream os(text);
  os << "{\"model\": ";
  llvm::json::OStream(os).value(o.model);
  os << ", \"adapter\": ";
  std::string adapterName = !o.adapter.empty() ? o.adapter : o.saveAdapter;
  if (adapterName.empty())
    os << "null";
  else
    llvm::json::OStream(os).value(adapterName);
  os << ", \"merged\": " << (o.merge ? "true" : "false");
  os << ",\n \"tokens\": ["
     << llvm::join(llvm::map_range(o.tokens,
                                   [](int32_t t) { return std::to_string(t); }),
                   ", ")
     << "],\n \"logits\": [";
  const float *x = logits->dataAs<const float>();
  int64_t rows = logits->dim(0), cols = logits->dim(1);
  for (int64_t i = 0; i < rows; ++i) {
    os << (i ? ",\n  [" : "\n  [");
    for (int64_t j = 0; j < cols; ++j) {
      float v = x[i * cols + j];
      if (!std::isfinite(v))
        return fail("the logits are not finite");
      os << (j ? ", " : "") << fmt::format("{}", v);
    }
    os << "]";
  }
  os << "]}\n";
  os.flush();
  if (llvm::Error err = writeFileAtomically(o.out, text))
    return fail(llvm::toString(std::move(err)));
  return 0;
}
