//===- CheckpointTest.cpp - Checkpoint round trip, atomicity, errors ------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "RunTestUtil.h"

#include "ftl/Models/SafeTensors.h"
#include "ftl/Run/Checkpoint.h"
#include "ftl/Run/Digest.h"
#include "ftl/Runtime/Rng.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include "gtest/gtest.h"

#include <sys/wait.h>
#include <unistd.h>

using namespace ftl::rt;
using namespace ftl::rt::test;
namespace json = llvm::json;
namespace fs = llvm::sys::fs;

namespace {
Tensor randomF32(Rng &rng, llvm::ArrayRef<int64_t> shape) {
  Tensor t = Tensor::zeros(DType::F32, shape);
  float *data = t.dataAs<float>();
  for (int64_t i = 0; i < t.numel(); ++i)
    data[i] = static_cast<float>(rng.normal());
  return t;
}

/// A small but complete training state: two parameters, Adam m/v for one
/// of them, a BF16 snapshot, counters and a cursor.
CheckpointState makeState(uint64_t seed, int64_t step = 100) {
  Rng rng(seed);
  CheckpointState state;
  Tensor embed = randomF32(rng, {5, 3});
  Tensor norm = randomF32(rng, {3});
  state.parameters = {{"model.embed_tokens.weight", embed},
                      {"model.norm.weight", norm}};
  state.optimizer = {{"m/model.norm.weight", randomF32(rng, {3})},
                     {"v/model.norm.weight", randomF32(rng, {3})}};
  state.optimizerStep = step;
  state.extra = {{"snapshot/model.norm.weight", norm.to(DType::BF16)}};
  state.round = 2;
  state.step = step;
  state.cursor =
      json::Object{{"rng", json::Object{{"seed", 1234}, {"draws", 57}}},
                   {"data", json::Object{{"epoch", 1}, {"offset", 4096}}}};
  state.metricsOffset = 321;
  return state;
}

CheckpointState readOk(llvm::StringRef dir) {
  llvm::Expected<CheckpointState> state = readCheckpoint(dir);
  if (!state) {
    ADD_FAILURE() << llvm::toString(state.takeError());
    return {};
  }
  return std::move(*state);
}

std::string errorText(llvm::Error error) {
  return error ? llvm::toString(std::move(error)) : "<no error>";
}

std::string readError(llvm::StringRef dir) {
  llvm::Expected<CheckpointState> state = readCheckpoint(dir);
  return state ? "<no error>" : llvm::toString(state.takeError());
}

void expectSameTensors(const CheckpointState::Tensors &a,
                       const CheckpointState::Tensors &b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].first, b[i].first);
    EXPECT_TRUE(a[i].second.bitwiseEqual(b[i].second)) << a[i].first;
  }
}

/// Rewrites state.json of `dir` after `edit` changes it.
void editState(llvm::StringRef dir,
               llvm::function_ref<void(json::Object &)> edit) {
  std::string path = (dir + "/state.json").str();
  llvm::Expected<json::Value> value = json::parse(readFile(path));
  ASSERT_TRUE(bool(value));
  edit(*value->getAsObject());
  std::string text;
  llvm::raw_string_ostream os(text);
  os << *value;
  os.flush();
  writeFile(path, text);
}

json::Object &fileEntry(json::Object &root, llvm::StringRef file) {
  return *root.getObject("files")->getObject(file);
}
} // namespace

TEST(Checkpoint, NameHasEightDigitsAtLeast) {
  EXPECT_EQ(checkpointName(0), "step-00000000");
  EXPECT_EQ(checkpointName(100), "step-00000100");
  EXPECT_EQ(checkpointName(123456789), "step-123456789");
}

TEST(Checkpoint, RoundTripIsBitwise) {
  TempDir dir;
  std::string path = dir.file("step-00000100");
  CheckpointState state = makeState(7);
  ASSERT_FALSE(bool(writeCheckpoint(path, state)));
  EXPECT_EQ(listDir(dir.path()), std::vector<std::string>{"step-00000100"});
  EXPECT_EQ(listDir(path),
            (std::vector<std::string>{"extra.safetensors", "model.safetensors",
                                      "optimizer.safetensors", "state.json"}));
  CheckpointState read = readOk(path);
  expectSameTensors(read.parameters, state.parameters);
  expectSameTensors(read.optimizer, state.optimizer);
  expectSameTensors(read.extra, state.extra);
  EXPECT_EQ(namedTensorsDigest(read.parameters),
            namedTensorsDigest(state.parameters));
  EXPECT_EQ(read.extra[0].second.dtype(), DType::BF16);
  EXPECT_EQ(read.step, 100);
  EXPECT_EQ(read.round, 2);
  EXPECT_EQ(read.optimizerStep, 100);
  EXPECT_EQ(json::Value(json::Object(read.cursor)),
            json::Value(json::Object(state.cursor)));
  EXPECT_EQ(read.metricsOffset, std::optional<uint64_t>(321));

  // The parameter file is an ordinary safetensors file under HF names.
  llvm::Expected<SafeTensorsFile> model =
      SafeTensorsFile::open(path + "/model.safetensors");
  ASSERT_TRUE(bool(model));
  EXPECT_EQ(model->names(),
            (std::vector<std::string>{"model.embed_tokens.weight",
                                      "model.norm.weight"}));
}

TEST(Checkpoint, EmptyGroupsWriteNoFile) {
  TempDir dir;
  std::string path = dir.file("c");
  CheckpointState state;
  state.step = 3;
  state.parameters = {{"w", Tensor::fromF32({1, 2}, {2})}};
  ASSERT_FALSE(bool(writeCheckpoint(path, state)));
  EXPECT_EQ(listDir(path),
            (std::vector<std::string>{"model.safetensors", "state.json"}));
  CheckpointState read = readOk(path);
  EXPECT_TRUE(read.optimizer.empty());
  EXPECT_TRUE(read.extra.empty());
  EXPECT_FALSE(read.metricsOffset.has_value());
  EXPECT_TRUE(read.cursor.empty());

  // Nothing at all is a valid (counters-only) checkpoint too.
  CheckpointState empty;
  ASSERT_FALSE(bool(writeCheckpoint(dir.file("d"), empty)));
  EXPECT_EQ(listDir(dir.file("d")), std::vector<std::string>{"state.json"});
  EXPECT_EQ(readOk(dir.file("d")).step, 0);
}

TEST(Checkpoint, RewritingReplacesTheWholeFolder) {
  TempDir dir;
  std::string path = dir.file("final");
  ASSERT_FALSE(bool(writeCheckpoint(path, makeState(1))));
  CheckpointState second;
  second.step = 200;
  second.parameters = {{"only", Tensor::fromF32({5}, {1})}};
  ASSERT_FALSE(bool(writeCheckpoint(path, second)));
  // Files of the old checkpoint that the new one lacks are gone.
  EXPECT_EQ(listDir(path),
            (std::vector<std::string>{"model.safetensors", "state.json"}));
  EXPECT_EQ(readOk(path).step, 200);
  EXPECT_EQ(listDir(dir.path()), std::vector<std::string>{"final"});
}

TEST(Checkpoint, FailureBetweenFilesKeepsTheOldCheckpoint) {
  TempDir dir;
  std::string path = dir.file("step-00000100");
  CheckpointState old = makeState(1);
  ASSERT_FALSE(bool(writeCheckpoint(path, old)));
  std::string oldDigest = namedTensorsDigest(readOk(path).parameters);

  for (llvm::StringRef failAfter :
       {"model.safetensors", "optimizer.safetensors", "state.json"}) {
    std::vector<std::string> seen;
    llvm::Error error = writeCheckpoint(
        path, makeState(2), [&](llvm::StringRef file) -> llvm::Error {
          seen.push_back(file.str());
          if (file == failAfter)
            return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                           "disk full (simulated)");
          return llvm::Error::success();
        });
    EXPECT_EQ(errorText(std::move(error)),
              "cannot write checkpoint '" + path + "': disk full (simulated)");
    EXPECT_EQ(seen.back(), failAfter.str());
    // The old checkpoint is intact and no temporary folder is left.
    EXPECT_EQ(listDir(dir.path()), std::vector<std::string>{"step-00000100"});
    CheckpointState read = readOk(path);
    EXPECT_EQ(namedTensorsDigest(read.parameters), oldDigest);
    expectSameTensors(read.optimizer, old.optimizer);
  }
}

TEST(Checkpoint, CrashBetweenFilesNeverLeavesAPartialCheckpoint) {
  TempDir dir;
  std::string kept = dir.file(checkpointName(100));
  std::string next = dir.file(checkpointName(200));
  CheckpointState old = makeState(1, 100);
  ASSERT_FALSE(bool(writeCheckpoint(kept, old)));
  std::string oldDigest = namedTensorsDigest(old.parameters);

  for (const std::string &target : {kept, next}) {
    pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      // The process dies right after the first file is complete.
      llvm::Error error =
          writeCheckpoint(target, makeState(2, 200),
                          [](llvm::StringRef) -> llvm::Error { ::_exit(7); });
      llvm::consumeError(std::move(error));
      ::_exit(0);
    }
    int status = 0;
    ::waitpid(child, &status, 0);
    ASSERT_TRUE(WIFEXITED(status));
    ASSERT_EQ(WEXITSTATUS(status), 7);

    // The old checkpoint is intact; the new one does not exist under its
    // final name; only a temporary folder is left behind.
    EXPECT_EQ(namedTensorsDigest(readOk(kept).parameters), oldDigest);
    EXPECT_FALSE(fs::exists(next));
    std::vector<std::string> names = listDir(dir.path());
    ASSERT_EQ(names.size(), 2u);
    EXPECT_EQ(names[0], checkpointName(100));
    EXPECT_TRUE(llvm::StringRef(names[1]).starts_with(
        llvm::sys::path::filename(target).str() + ".tmp-"))
        << names[1];

    llvm::Expected<std::optional<std::string>> latest =
        latestCheckpoint(dir.path());
    ASSERT_TRUE(bool(latest));
    EXPECT_EQ(*latest, std::optional<std::string>(kept));
    // Pruning clears the leftover.
    ASSERT_FALSE(bool(pruneCheckpoints(dir.path(), 2)));
    EXPECT_EQ(listDir(dir.path()),
              std::vector<std::string>{checkpointName(100)});
  }
}

TEST(Checkpoint, InvalidStatesAreRefusedBeforeWriting) {
  TempDir dir;
  std::string path = dir.file("c");
  auto refuse = [&](CheckpointState state) {
    std::string message = errorText(writeCheckpoint(path, state));
    EXPECT_TRUE(listDir(dir.path()).empty()) << message;
    return message;
  };
  Tensor w = Tensor::fromF32({1, 2, 3, 4}, {2, 2});
  CheckpointState state;
  state.parameters = {{"w", w}, {"w", w}};
  EXPECT_EQ(refuse(state), "cannot write checkpoint: tensor 'w' appears twice "
                           "in 'model.safetensors'");
  state.parameters = {{"", w}};
  EXPECT_EQ(refuse(state), "cannot write checkpoint: a tensor for "
                           "'model.safetensors' has an empty name");
  state.parameters = {{"w", Tensor()}};
  EXPECT_EQ(refuse(state), "cannot write checkpoint: tensor 'w' for "
                           "'model.safetensors' is empty (no storage)");
  state.parameters = {{"w", w}};
  state.optimizer = {{"mw", w}};
  EXPECT_EQ(refuse(state),
            "cannot write checkpoint: optimizer tensor 'mw' must be named "
            "'<slot>/<parameter>' (for example 'm/model.norm.weight')");
  state.optimizer = {{"m/u", w}};
  EXPECT_EQ(refuse(state),
            "cannot write checkpoint: optimizer tensor 'm/u' belongs to "
            "parameter 'u', which the checkpoint does not hold");
  state.optimizer = {{"m/w", w.reshape({4})}};
  EXPECT_EQ(refuse(state),
            "cannot write checkpoint: optimizer tensor 'm/w' has shape [4] "
            "but parameter 'w' has shape [2, 2]");
  state.optimizer = {{"m/w", w}, {"m/w", w}};
  EXPECT_EQ(refuse(state), "cannot write checkpoint: tensor 'm/w' appears "
                           "twice in 'optimizer.safetensors'");
  state.optimizer.clear();
  state.step = -1;
  EXPECT_EQ(refuse(state), "cannot write checkpoint: step, round and "
                           "optimizer step must be >= 0, found -1, 0, 0");
  state.step = 0;
  EXPECT_EQ(errorText(writeCheckpoint(dir.file("missing/parent/c"), state))
                .find("cannot create a temporary folder next to '"),
            0u);
}

TEST(Checkpoint, ReadErrorsNameTheProblem) {
  TempDir dir;
  std::string path = dir.file("ck");
  EXPECT_EQ(readError(path), "checkpoint folder '" + path + "' does not exist");
  writeFile(path, "not a folder");
  EXPECT_EQ(readError(path), "checkpoint '" + path + "' is not a folder");
  fs::remove(path);
  fs::create_directory(path);
  EXPECT_EQ(readError(path),
            "checkpoint '" + path +
                "' has no readable 'state.json' (No such file or directory); "
                "it is incomplete or not a checkpoint");
  writeFile(path + "/state.json", "{\"format\": ");
  EXPECT_EQ(readError(path).find("checkpoint '" + path +
                                 "': 'state.json' is not valid JSON: "),
            0u);
  writeFile(path + "/state.json", "[1]");
  EXPECT_EQ(readError(path), "checkpoint '" + path +
                                 "': 'state.json' must hold a JSON object, "
                                 "found [1]");
  writeFile(path + "/state.json", "{\"format\": \"pt\"}");
  EXPECT_EQ(readError(path),
            "checkpoint '" + path +
                "': 'state.json' field 'format' must be \"ftl-checkpoint\", "
                "found \"pt\"");

  auto fresh = [&] { ASSERT_FALSE(bool(writeCheckpoint(path, makeState(3)))); };
  auto prefix = "checkpoint '" + path + "': 'state.json' ";

  fresh();
  editState(path, [](json::Object &root) { root["version"] = 2; });
  EXPECT_EQ(readError(path),
            prefix + "has format version 2; this ftl reads version 1");
  fresh();
  editState(path, [](json::Object &root) { root["step"] = "ten"; });
  EXPECT_EQ(readError(path), prefix + "field 'step' must be a non-negative "
                                      "integer, found \"ten\"");
  fresh();
  editState(path, [](json::Object &root) { root.erase("round"); });
  EXPECT_EQ(readError(path), prefix + "field 'round' must be a non-negative "
                                      "integer, found nothing");
  fresh();
  editState(path, [](json::Object &root) { root["metrics_offset"] = -4; });
  EXPECT_EQ(readError(path), prefix + "field 'metrics_offset' must be a "
                                      "non-negative integer, found -4");
  fresh();
  editState(path, [](json::Object &root) { root["cursor"] = 5; });
  EXPECT_EQ(readError(path),
            prefix + "field 'cursor' must be an object, found 5");
  fresh();
  editState(path, [](json::Object &root) {
    (*root.getObject("files"))["weights.bin"] = json::Object();
  });
  EXPECT_EQ(readError(path),
            prefix + "lists an unknown file 'weights.bin' (expected "
                     "model.safetensors, optimizer.safetensors or "
                     "extra.safetensors)");
  fresh();
  editState(path, [](json::Object &root) {
    fileEntry(root, "model.safetensors")["tensors"] = "all";
  });
  EXPECT_EQ(readError(path), prefix + "files.model.safetensors: field "
                                      "'tensors' must be an array, found "
                                      "\"all\"");
  fresh();
  editState(path, [](json::Object &root) {
    json::Object &first =
        *(*fileEntry(root, "model.safetensors").getArray("tensors"))[0]
             .getAsObject();
    first["dtype"] = "F8";
  });
  EXPECT_EQ(readError(path).find(prefix + "files.model.safetensors: tensor "
                                          "0: field 'dtype' must be one of "),
            0u);
  fresh();
  editState(path, [](json::Object &root) {
    json::Object &first =
        *(*fileEntry(root, "model.safetensors").getArray("tensors"))[0]
             .getAsObject();
    first["shape"] = json::Array{3, 5};
  });
  EXPECT_EQ(readError(path),
            "checkpoint '" + path +
                "': tensor 'model.embed_tokens.weight' in "
                "'model.safetensors' is F32 [5, 3] but 'state.json' records "
                "F32 [3, 5]");
  fresh();
  editState(path, [](json::Object &root) {
    json::Object &first =
        *(*fileEntry(root, "model.safetensors").getArray("tensors"))[0]
             .getAsObject();
    first["name"] = "model.embed.weight";
  });
  EXPECT_EQ(readError(path),
            "checkpoint '" + path +
                "': 'model.safetensors' has no tensor 'model.embed.weight', "
                "which 'state.json' lists");
  fresh();
  editState(path, [](json::Object &root) {
    fileEntry(root, "model.safetensors").getArray("tensors")->pop_back();
  });
  EXPECT_EQ(readError(path),
            "checkpoint '" + path +
                "': 'model.safetensors' holds tensor 'model.norm.weight', "
                "which 'state.json' does not list");
  fresh();
  editState(path, [](json::Object &root) {
    json::Array &list =
        *fileEntry(root, "model.safetensors").getArray("tensors");
    list.push_back(list[0]);
  });
  EXPECT_EQ(readError(path), prefix + "files.model.safetensors: lists tensor "
                                      "'model.embed_tokens.weight' twice");

  fresh();
  fs::remove(path + "/optimizer.safetensors");
  EXPECT_EQ(readError(path), "checkpoint '" + path +
                                 "' is incomplete: 'optimizer.safetensors' "
                                 "is missing");
  fresh();
  uint64_t size = 0;
  fs::file_size(path + "/extra.safetensors", size);
  ASSERT_EQ(::truncate((path + "/extra.safetensors").c_str(),
                       static_cast<off_t>(size - 2)),
            0);
  EXPECT_EQ(readError(path),
            "checkpoint '" + path + "': 'extra.safetensors' has " +
                std::to_string(size - 2) + " bytes but 'state.json' records " +
                std::to_string(size) + "; it was truncated or replaced");
}

TEST(Checkpoint, ReadChecksOptimizerTensorsAgainstParameters) {
  TempDir dir;
  std::string path = dir.file("ck");
  CheckpointState state = makeState(4);
  ASSERT_FALSE(bool(writeCheckpoint(path, state)));
  // Swap in an optimizer file whose tensor belongs to no parameter.
  ASSERT_FALSE(bool(writeSafeTensors(
      path + "/optimizer.safetensors",
      {{"m/model.gone.weight", Tensor::fromF32({1, 2, 3}, {3})}})));
  uint64_t size = 0;
  fs::file_size(path + "/optimizer.safetensors", size);
  editState(path, [&](json::Object &root) {
    json::Object &entry = fileEntry(root, "optimizer.safetensors");
    entry["bytes"] = static_cast<int64_t>(size);
    entry["tensors"] = json::Array{json::Object{{"name", "m/model.gone.weight"},
                                                {"dtype", "F32"},
                                                {"shape", json::Array{3}}}};
  });
  EXPECT_EQ(readError(path),
            "checkpoint '" + path +
                "': optimizer tensor 'm/model.gone.weight' belongs to "
                "parameter 'model.gone.weight', which the checkpoint does "
                "not hold");
}

TEST(Checkpoint, OptimizerTensorsMayUseTheModelsOwnNames) {
  TempDir dir;
  std::string path = dir.file("step-00000100");
  CheckpointState state = makeState(5);
  Rng rng(9);
  // Named as the trainer holds them, not as the parameters are saved.
  state.optimizer = {{"m/final_norm.weight", randomF32(rng, {3})}};
  EXPECT_NE(errorText(writeCheckpoint(path, state)).find(
                "belongs to parameter 'final_norm.weight'"),
            std::string::npos);
  state.optimizerByModelNames = true;
  ASSERT_FALSE(bool(writeCheckpoint(path, state)));
  CheckpointState read = readOk(path);
  EXPECT_TRUE(read.optimizerByModelNames);
  expectSameTensors(read.optimizer, state.optimizer);
  // The form "<slot>/<name>" is still required.
  state.optimizer = {{"final_norm.weight", randomF32(rng, {3})}};
  EXPECT_NE(errorText(writeCheckpoint(path, state)).find("must be named"),
            std::string::npos);
}

TEST(Checkpoint, MatchesTheModelsParameters) {
  CheckpointState state = makeState(5);
  CheckpointState::Tensors expected = state.parameters;
  EXPECT_FALSE(bool(checkCheckpointMatches(state, expected)));
  CheckpointState::Tensors missing = expected;
  missing.push_back({"lm_head.weight", Tensor::zeros(DType::F32, {5, 3})});
  EXPECT_EQ(errorText(checkCheckpointMatches(state, missing)),
            "the checkpoint has no parameter 'lm_head.weight', which the "
            "model has; was the script changed?");
  CheckpointState::Tensors reshaped = expected;
  reshaped[1].second = Tensor::zeros(DType::F16, {3});
  EXPECT_EQ(errorText(checkCheckpointMatches(state, reshaped)),
            "the checkpoint's parameter 'model.norm.weight' is F32 [3] but "
            "the model's is F16 [3]");
  CheckpointState::Tensors fewer(expected.begin(), expected.begin() + 1);
  EXPECT_EQ(errorText(checkCheckpointMatches(state, fewer)),
            "the checkpoint has parameter 'model.norm.weight', which the "
            "model does not have; was the script changed?");
}

TEST(Checkpoint, LatestPicksTheHighestCompleteStep) {
  TempDir dir;
  llvm::Expected<std::optional<std::string>> none =
      latestCheckpoint(dir.path());
  ASSERT_TRUE(bool(none));
  EXPECT_FALSE(none->has_value());
  llvm::Expected<std::optional<std::string>> missing =
      latestCheckpoint(dir.file("nothing-here"));
  ASSERT_TRUE(bool(missing));
  EXPECT_FALSE(missing->has_value());

  CheckpointState state;
  for (int64_t step : {99999999, 100000000, 300}) {
    state.step = step;
    ASSERT_FALSE(bool(writeCheckpoint(dir.file(checkpointName(step)), state)));
  }
  // Ignored: a temporary folder, a folder without state.json, other names.
  fs::create_directory(dir.file("step-900000000.tmp-abc123"));
  writeFile(dir.file("step-900000000.tmp-abc123/state.json"), "{}");
  fs::create_directory(dir.file("step-800000000"));
  fs::create_directory(dir.file("notes"));
  writeFile(dir.file("notes/state.json"), "{}");
  auto latest = [&] {
    llvm::Expected<std::optional<std::string>> found =
        latestCheckpoint(dir.path());
    EXPECT_TRUE(bool(found));
    return found && *found ? **found : std::string("<none>");
  };
  EXPECT_EQ(latest(), dir.file("step-100000000"));

  // "final" counts with its recorded step and wins a tie.
  state.step = 100000000;
  ASSERT_FALSE(bool(writeCheckpoint(dir.file("final"), state)));
  EXPECT_EQ(latest(), dir.file("final"));
  state.step = 5;
  ASSERT_FALSE(bool(writeCheckpoint(dir.file("final"), state)));
  EXPECT_EQ(latest(), dir.file("step-100000000"));
}

TEST(Checkpoint, PruneKeepsTheNewestAndTheFinal) {
  TempDir dir;
  CheckpointState state;
  for (int64_t step : {500, 100, 300, 200, 400}) {
    state.step = step;
    ASSERT_FALSE(bool(writeCheckpoint(dir.file(checkpointName(step)), state)));
  }
  state.step = 500;
  ASSERT_FALSE(bool(writeCheckpoint(dir.file("final"), state)));
  fs::create_directory(dir.file("step-00000600.tmp-x1y2z3"));
  fs::create_directory(dir.file("final.old-123-0"));
  fs::create_directory(dir.file("user-notes"));
  ASSERT_FALSE(bool(pruneCheckpoints(dir.path(), 2)));
  EXPECT_EQ(listDir(dir.path()),
            (std::vector<std::string>{"final", "step-00000400", "step-00000500",
                                      "user-notes"}));
  ASSERT_FALSE(bool(pruneCheckpoints(dir.path(), 0)));
  EXPECT_EQ(listDir(dir.path()),
            (std::vector<std::string>{"final", "user-notes"}));
}

TEST(Checkpoint, SaveWritesThenPrunes) {
  TempDir dir;
  for (int64_t step = 1; step <= 4; ++step) {
    CheckpointState state = makeState(static_cast<uint64_t>(step), step);
    llvm::Expected<std::string> saved =
        saveCheckpoint(dir.path(), state, /*final=*/false, /*keepLast=*/2);
    ASSERT_TRUE(bool(saved)) << llvm::toString(saved.takeError());
    EXPECT_EQ(*saved, dir.file(checkpointName(step)));
  }
  CheckpointState last = makeState(9, 4);
  llvm::Expected<std::string> final =
      saveCheckpoint(dir.path(), last, /*final=*/true);
  ASSERT_TRUE(bool(final));
  EXPECT_EQ(*final, dir.file("final"));
  EXPECT_EQ(
      listDir(dir.path()),
      (std::vector<std::string>{"final", "step-00000003", "step-00000004"}));
  expectSameTensors(readOk(dir.file("step-00000004")).parameters,
                    makeState(4, 4).parameters);
}
