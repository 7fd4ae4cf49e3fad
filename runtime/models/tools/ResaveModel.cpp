//===- ResaveModel.cpp - Load and save a Hugging Face model folder --------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
//
// A small developer tool for checking FTLModels against transformers:
//
//   ftl-resave-model IN OUT [--store-as=F32|F16|BF16|F64]
//                    [--max-shard-bytes=N] [--init-seed=N]
//
// loads the model folder IN and saves it to OUT through the canonical
// parameter tree. With --init-seed the weights are not taken from IN but
// freshly initialised from IN's config (only config.json is read).
// scripts/fixtures/check_hf_roundtrip.py compares OUT with IN in transformers.
//
//===----------------------------------------------------------------------===//

#include "ftl/Models/Init.h"
#include "ftl/Models/ModelIO.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <optional>

using namespace ftl::rt;

static int usage() {
  llvm::errs() << "usage: ftl-resave-model IN OUT [--store-as=F32|F16|BF16|F64]"
                  " [--max-shard-bytes=N] [--init-seed=N]\n";
  return 2;
}

int main(int argc, char **argv) {
  std::vector<llvm::StringRef> positional;
  DType storeAs = DType::F32;
  uint64_t maxShardBytes = 0;
  std::optional<uint64_t> initSeed;
  for (int i = 1; i < argc; ++i) {
    llvm::StringRef arg = argv[i];
    if (arg.consume_front("--store-as=")) {
      auto type = parseDType(arg);
      if (!type || !isFloatingPoint(*type)) {
        llvm::errs() << "error: --store-as expects F32, F16, BF16 or F64, "
                        "found '"
                     << arg << "'\n";
        return 2;
      }
      storeAs = *type;
    } else if (arg.consume_front("--max-shard-bytes=")) {
      if (arg.getAsInteger(10, maxShardBytes)) {
        llvm::errs() << "error: --max-shard-bytes expects a byte count, found '"
                     << arg << "'\n";
        return 2;
      }
    } else if (arg.consume_front("--init-seed=")) {
      uint64_t seed;
      if (arg.getAsInteger(10, seed)) {
        llvm::errs() << "error: --init-seed expects an integer, found '" << arg
                     << "'\n";
        return 2;
      }
      initSeed = seed;
    } else if (arg.starts_with("--")) {
      return usage();
    } else {
      positional.push_back(arg);
    }
  }
  if (positional.size() != 2)
    return usage();

  LoadedModel model;
  if (initSeed) {
    llvm::SmallString<256> configPath(positional[0]);
    llvm::sys::path::append(configPath, "config.json");
    auto config = loadHFConfig(configPath);
    if (!config) {
      llvm::errs() << "error: " << llvm::toString(config.takeError()) << "\n";
      return 1;
    }
    model.config = std::move(*config);
    Rng rng(*initSeed);
    model.weights = initModelWeights(model.config, rng);
  } else {
    auto loaded = loadHFModelFolder(positional[0]);
    if (!loaded) {
      llvm::errs() << "error: " << llvm::toString(loaded.takeError()) << "\n";
      return 1;
    }
    model = std::move(*loaded);
  }
  if (llvm::Error err = saveHFModelFolder(
          positional[1], model.config, model.weights, storeAs, maxShardBytes)) {
    llvm::errs() << "error: " << llvm::toString(std::move(err)) << "\n";
    return 1;
  }
  llvm::outs() << "saved " << model.weights.size() << " parameters to "
               << positional[1] << "\n";
  return 0;
}
