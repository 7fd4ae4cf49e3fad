//===- Checkpoint.cpp - Crash-safe training checkpoints -------------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "ftl/Run/Checkpoint.h"

#include "JsonText.h"
#include "ftl/Models/SafeTensors.h"
#include "ftl/Run/Interrupt.h"
#include "ftl/Runtime/FileUtil.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <fmt/format.h>

#include <algorithm>
#include <fcntl.h>
#include <unistd.h>

using namespace ftl::rt;
using llvm::StringRef;
using llvm::Twine;
namespace fs = llvm::sys::fs;
namespace json = llvm::json;

static llvm::Error makeError(const Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

static constexpr StringRef kFormat = "ftl-checkpoint";
static constexpr int64_t kVersion = 1;
static constexpr StringRef kStateFile = "state.json";

namespace {
/// One safetensors file of a checkpoint and the state member it holds.
struct Group {
  StringRef file;
  CheckpointState::Tensors CheckpointState::*member;
};
const Group kGroups[] = {
    {"model.safetensors", &CheckpointState::parameters},
    {"optimizer.safetensors", &CheckpointState::optimizer},
    {"extra.safetensors", &CheckpointState::extra},
};
} // namespace

static std::string joinPath(StringRef dir, StringRef name) {
  llvm::SmallString<256> path(dir);
  llvm::sys::path::append(path, name);
  return std::string(path);
}

static llvm::Error syncDirectory(StringRef dir) {
  int fd = ::open(dir.str().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return makeError("cannot open folder '" + dir + "' to sync it");
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0)
    return makeError("cannot sync folder '" + dir + "'");
  return llvm::Error::success();
}

std::string ftl::rt::checkpointName(int64_t step) {
  return fmt::format("step-{:08}", step);
}

/// "[2, 3]" for an array of shape dims.
static std::string describeShape(llvm::ArrayRef<int64_t> shape) {
  return formatShape(shape);
}

/// Optimizer tensor names are "<slot>/<parameter>" and shaped like the
/// parameter. `where` prefixes the messages.
static llvm::Error
checkOptimizerTensors(const CheckpointState::Tensors &parameters,
                      const CheckpointState::Tensors &optimizer,
                      bool byModelNames, const Twine &where) {
  llvm::StringMap<const Tensor *> byName;
  for (const auto &[name, tensor] : parameters)
    byName[name] = &tensor;
  for (const auto &[name, tensor] : optimizer) {
    auto [slot, parameter] = StringRef(name).split('/');
    if (slot.empty() || parameter.empty())
      return makeError(where + "optimizer tensor '" + name +
                       "' must be named '<slot>/<parameter>' (for example "
                       "'m/model.norm.weight')");
    if (byModelNames)
      continue;
    auto it = byName.find(parameter);
    if (it == byName.end())
      return makeError(where + "optimizer tensor '" + name +
                       "' belongs to parameter '" + parameter +
                       "', which the checkpoint does not hold");
    if (it->second->shape() != tensor.shape())
      return makeError(where + "optimizer tensor '" + name + "' has shape " +
                       describeShape(tensor.shape()) + " but parameter '" +
                       parameter + "' has shape " +
                       describeShape(it->second->shape()));
  }
  return llvm::Error::success();
}

static llvm::Error checkGroup(const CheckpointState::Tensors &tensors,
                              StringRef file) {
  llvm::StringSet<> seen;
  for (const auto &[name, tensor] : tensors) {
    if (name.empty())
      return makeError("cannot write checkpoint: a tensor for '" + file +
                       "' has an empty name");
    if (!tensor.valid())
      return makeError("cannot write checkpoint: tensor '" + name + "' for '" +
                       file + "' is empty (no storage)");
    if (!seen.insert(name).second)
      return makeError("cannot write checkpoint: tensor '" + name +
                       "' appears twice in '" + file + "'");
  }
  return llvm::Error::success();
}

static json::Array describeTensors(const CheckpointState::Tensors &tensors) {
  json::Array list;
  for (const auto &[name, tensor] : tensors) {
    json::Array shape;
    for (int64_t dim : tensor.shape())
      shape.push_back(dim);
    list.push_back(json::Object{{"name", name},
                                {"dtype", dtypeName(tensor.dtype())},
                                {"shape", std::move(shape)}});
  }
  return list;
}

static llvm::Error writeInto(StringRef tmpDir, const CheckpointState &state,
                             const CheckpointFileHook &afterFile) {
  json::Object files;
  for (const Group &group : kGroups) {
    const CheckpointState::Tensors &tensors = state.*group.member;
    if (tensors.empty())
      continue;
    std::string path = joinPath(tmpDir, group.file);
    if (llvm::Error error = writeSafeTensors(path, tensors, {{"format", "pt"}}))
      return error;
    uint64_t bytes = 0;
    if (std::error_code ec = fs::file_size(path, bytes))
      return makeError("cannot read the size of '" + path +
                       "': " + ec.message());
    files[group.file] = json::Object{{"bytes", static_cast<int64_t>(bytes)},
                                     {"tensors", describeTensors(tensors)}};
    if (afterFile)
      if (llvm::Error error = afterFile(group.file))
        return error;
  }
  json::Object root{{"format", kFormat},
                    {"version", kVersion},
                    {"step", state.step},
                    {"round", state.round},
                    {"optimizer_step", state.optimizerStep},
                    {"cursor", json::Object(state.cursor)},
                    {"files", std::move(files)}};
  if (state.metricsOffset)
    root["metrics_offset"] = static_cast<int64_t>(*state.metricsOffset);
  if (state.optimizerByModelNames)
    root["optimizer_names"] = "model";
  static const StringRef leading[] = {
      "format", "version", "step",  "round", "optimizer_step", "optimizer_names",
      "metrics_offset",
      "cursor", "files",   "bytes", "name",  "dtype",          "shape"};
  std::string text =
      detail::toJsonText(json::Value(std::move(root)), 2, leading) + "\n";
  std::string statePath = joinPath(tmpDir, kStateFile);
  if (llvm::Error error = writeFileAtomically(statePath, text))
    return error;
  if (afterFile)
    if (llvm::Error error = afterFile(kStateFile))
      return error;
  return syncDirectory(tmpDir);
}

llvm::Error ftl::rt::writeCheckpoint(StringRef dir,
                                     const CheckpointState &state,
                                     const CheckpointFileHook &afterFile) {
  for (const Group &group : kGroups)
    if (llvm::Error error = checkGroup(state.*group.member, group.file))
      return error;
  if (llvm::Error error = checkOptimizerTensors(
          state.parameters, state.optimizer, state.optimizerByModelNames,
          "cannot write checkpoint: "))
    return error;
  if (state.step < 0 || state.round < 0 || state.optimizerStep < 0)
    return makeError("cannot write checkpoint: step, round and optimizer "
                     "step must be >= 0, found " +
                     Twine(state.step) + ", " + Twine(state.round) + ", " +
                     Twine(state.optimizerStep));

  CheckpointWriteScope writing;
  llvm::Expected<std::string> tmpDir = createSiblingTempDir(dir);
  if (!tmpDir)
    return tmpDir.takeError();
  llvm::Error error = writeInto(*tmpDir, state, afterFile);
  if (!error)
    error = replaceDirectory(*tmpDir, dir);
  if (error) {
    llvm::consumeError(removeDirectoryTree(*tmpDir));
    return makeError("cannot write checkpoint '" + dir +
                     "': " + llvm::toString(std::move(error)));
  }
  return llvm::Error::success();
}

//===----------------------------------------------------------------------===//
// Reading
//===----------------------------------------------------------------------===//

namespace {
/// Field access on state.json with messages that name the checkpoint.
class StateReader {
public:
  explicit StateReader(StringRef dir) : dir(dir) {}

  llvm::Error fail(const Twine &what) const {
    return makeError("checkpoint '" + dir + "': '" + kStateFile + "' " + what);
  }

  static std::string describe(const json::Value *value) {
    if (!value)
      return "nothing";
    std::string text = detail::toJsonText(*value);
    if (text.size() > 40)
      text = text.substr(0, 37) + "...";
    return text;
  }

  llvm::Expected<int64_t> nonNegative(const json::Object &object, StringRef key,
                                      const Twine &where = "") const {
    const json::Value *value = object.get(key);
    std::optional<int64_t> number =
        value ? value->getAsInteger() : std::nullopt;
    if (!number || *number < 0)
      return fail(where + "field '" + key +
                  "' must be a non-negative integer, found " + describe(value));
    return *number;
  }

  StringRef dir;
};
} // namespace

static llvm::Expected<CheckpointState::Tensors>
readGroup(const StateReader &reader, StringRef dir, StringRef file,
          const json::Object &entry) {
  std::string where = ("files." + file + ": ").str();
  llvm::Expected<int64_t> bytes = reader.nonNegative(entry, "bytes", where);
  if (!bytes)
    return bytes.takeError();
  const json::Array *list = entry.getArray("tensors");
  if (!list)
    return reader.fail(where + "field 'tensors' must be an array, found " +
                       StateReader::describe(entry.get("tensors")));

  std::string path = joinPath(dir, file);
  if (!fs::exists(path))
    return makeError("checkpoint '" + dir + "' is incomplete: '" + file +
                     "' is missing");
  uint64_t actualBytes = 0;
  if (std::error_code ec = fs::file_size(path, actualBytes))
    return makeError("cannot read '" + path + "': " + ec.message());
  if (actualBytes != static_cast<uint64_t>(*bytes))
    return makeError("checkpoint '" + dir + "': '" + file + "' has " +
                     Twine(actualBytes) + " bytes but 'state.json' records " +
                     Twine(*bytes) + "; it was truncated or replaced");
  llvm::Expected<SafeTensorsFile> contents = SafeTensorsFile::open(path);
  if (!contents)
    return makeError("checkpoint '" + dir +
                     "': " + llvm::toString(contents.takeError()));

  CheckpointState::Tensors tensors;
  llvm::StringSet<> listed;
  for (size_t i = 0; i < list->size(); ++i) {
    const json::Object *item = (*list)[i].getAsObject();
    std::string at = where + "tensor " + std::to_string(i) + ": ";
    if (!item)
      return reader.fail(at + "must be an object, found " +
                         StateReader::describe(&(*list)[i]));
    std::optional<StringRef> name = item->getString("name");
    if (!name || name->empty())
      return reader.fail(at +
                         "field 'name' must be a non-empty string, "
                         "found " +
                         StateReader::describe(item->get("name")));
    std::optional<StringRef> dtypeText = item->getString("dtype");
    std::optional<DType> dtype =
        dtypeText ? parseDType(*dtypeText) : std::nullopt;
    if (!dtype)
      return reader.fail(at + "field 'dtype' must be one of " +
                         allDTypeNames() + ", found " +
                         StateReader::describe(item->get("dtype")));
    const json::Array *shapeList = item->getArray("shape");
    if (!shapeList)
      return reader.fail(at + "field 'shape' must be an array, found " +
                         StateReader::describe(item->get("shape")));
    Shape shape;
    for (const json::Value &dim : *shapeList) {
      std::optional<int64_t> value = dim.getAsInteger();
      if (!value || *value < 0)
        return reader.fail(at +
                           "field 'shape' must hold non-negative "
                           "integers, found " +
                           StateReader::describe(&dim));
      shape.push_back(*value);
    }
    if (!listed.insert(*name).second)
      return reader.fail(where + "lists tensor '" + *name + "' twice");
    Tensor tensor = contents->get(*name);
    if (!tensor.valid())
      return makeError("checkpoint '" + dir + "': '" + file +
                       "' has no tensor '" + *name +
                       "', which 'state.json' lists");
    if (tensor.dtype() != *dtype ||
        tensor.shape() != llvm::ArrayRef<int64_t>(shape))
      return makeError("checkpoint '" + dir + "': tensor '" + *name + "' in '" +
                       file + "' is " + dtypeName(tensor.dtype()) + " " +
                       describeShape(tensor.shape()) +
                       " but 'state.json' records " + dtypeName(*dtype) + " " +
                       describeShape(shape));
    tensors.emplace_back(name->str(), std::move(tensor));
  }
  for (const std::string &name : contents->names())
    if (!listed.count(name))
      return makeError("checkpoint '" + dir + "': '" + file +
                       "' holds tensor '" + name +
                       "', which 'state.json' does not list");
  return tensors;
}

llvm::Expected<CheckpointState> ftl::rt::readCheckpoint(StringRef dir) {
  if (!fs::exists(dir))
    return makeError("checkpoint folder '" + dir + "' does not exist");
  if (!fs::is_directory(dir))
    return makeError("checkpoint '" + dir + "' is not a folder");
  std::string statePath = joinPath(dir, kStateFile);
  auto buffer = llvm::MemoryBuffer::getFile(statePath);
  if (!buffer)
    return makeError("checkpoint '" + dir + "' has no readable '" + kStateFile +
                     "' (" + buffer.getError().message() +
                     "); it is incomplete or not a checkpoint");
  StateReader reader(dir);
  llvm::Expected<json::Value> parsed = json::parse((*buffer)->getBuffer());
  if (!parsed)
    return reader.fail("is not valid JSON: " +
                       detail::describeJsonError(parsed.takeError()));
  const json::Object *root = parsed->getAsObject();
  if (!root)
    return reader.fail("must hold a JSON object, found " +
                       StateReader::describe(&*parsed));
  std::optional<StringRef> format = root->getString("format");
  if (!format || *format != kFormat)
    return reader.fail("field 'format' must be \"" + kFormat + "\", found " +
                       StateReader::describe(root->get("format")));
  std::optional<int64_t> version = root->getInteger("version");
  if (!version || *version != kVersion)
    return reader.fail("has format version " +
                       StateReader::describe(root->get("version")) +
                       "; this ftl reads version " + Twine(kVersion));

  CheckpointState state;
  llvm::Expected<int64_t> step = reader.nonNegative(*root, "step");
  if (!step)
    return step.takeError();
  llvm::Expected<int64_t> round = reader.nonNegative(*root, "round");
  if (!round)
    return round.takeError();
  llvm::Expected<int64_t> optimizerStep =
      reader.nonNegative(*root, "optimizer_step");
  if (!optimizerStep)
    return optimizerStep.takeError();
  state.step = *step;
  state.round = *round;
  state.optimizerStep = *optimizerStep;
  if (root->get("metrics_offset")) {
    llvm::Expected<int64_t> offset =
        reader.nonNegative(*root, "metrics_offset");
    if (!offset)
      return offset.takeError();
    state.metricsOffset = static_cast<uint64_t>(*offset);
  }
  if (const json::Value *names = root->get("optimizer_names")) {
    std::optional<StringRef> text = names->getAsString();
    if (!text || *text != "model")
      return reader.fail("field 'optimizer_names' must be \"model\" when "
                         "present, found " + StateReader::describe(names));
    state.optimizerByModelNames = true;
  }
  const json::Object *cursor = root->getObject("cursor");
  if (!cursor)
    return reader.fail("field 'cursor' must be an object, found " +
                       StateReader::describe(root->get("cursor")));
  state.cursor = *cursor;
  const json::Object *files = root->getObject("files");
  if (!files)
    return reader.fail("field 'files' must be an object, found " +
                       StateReader::describe(root->get("files")));
  for (const auto &entry : *files) {
    StringRef name = entry.first;
    bool known = llvm::any_of(
        kGroups, [&](const Group &group) { return group.file == name; });
    if (!known)
      return reader.fail("lists an unknown file '" + name +
                         "' (expected model.safetensors, "
                         "optimizer.safetensors or extra.safetensors)");
  }
  for (const Group &group : kGroups) {
    const json::Value *entry = files->get(group.file);
    if (!entry)
      continue;
    const json::Object *object = entry->getAsObject();
    if (!object)
      return reader.fail("field 'files." + group.file +
                         "' must be an object, found " +
                         StateReader::describe(entry));
    llvm::Expected<CheckpointState::Tensors> tensors =
        readGroup(reader, dir, group.file, *object);
    if (!tensors)
      return tensors.takeError();
    state.*group.member = std::move(*tensors);
  }
  if (llvm::Error error = checkOptimizerTensors(
          state.parameters, state.optimizer, state.optimizerByModelNames,
          "checkpoint '" + dir + "': "))
    return std::move(error);
  return state;
}

llvm::Error ftl::rt::checkCheckpointMatches(
    const CheckpointState &state,
    llvm::ArrayRef<std::pair<std::string, Tensor>> expected) {
  llvm::StringMap<const Tensor *> have;
  for (const auto &[name, tensor] : state.parameters)
    have[name] = &tensor;
  for (const auto &[name, tensor] : expected) {
    auto it = have.find(name);
    if (it == have.end())
      return makeError("the checkpoint has no parameter '" + name +
                       "', which the model has; was the script changed?");
    const Tensor &stored = *it->second;
    if (stored.dtype() != tensor.dtype() || stored.shape() != tensor.shape())
      return makeError("the checkpoint's parameter '" + name + "' is " +
                       dtypeName(stored.dtype()) + " " +
                       describeShape(stored.shape()) + " but the model's is " +
                       dtypeName(tensor.dtype()) + " " +
                       describeShape(tensor.shape()));
  }
  if (state.parameters.size() != expected.size()) {
    llvm::StringSet<> wanted;
    for (const auto &entry : expected)
      wanted.insert(entry.first);
    for (const auto &[name, tensor] : state.parameters)
      if (!wanted.count(name))
        return makeError("the checkpoint has parameter '" + name +
                         "', which the model does not have; was the script "
                         "changed?");
    return makeError("the checkpoint names a parameter twice");
  }
  return llvm::Error::success();
}

//===----------------------------------------------------------------------===//
// Finding and pruning
//===----------------------------------------------------------------------===//

namespace {
struct Found {
  std::string path;
  int64_t step;
  bool final;
};
} // namespace

static std::optional<int64_t> parseStepName(StringRef name) {
  if (!name.consume_front("step-") || name.empty())
    return std::nullopt;
  int64_t step = 0;
  if (!llvm::all_of(name, llvm::isDigit) || name.getAsInteger(10, step))
    return std::nullopt;
  return step;
}

static bool isLeftover(StringRef name) {
  return name.contains(".tmp-") || name.contains(".old-");
}

/// Complete checkpoints (those with a state.json) and leftover temporary
/// folders in `dir`.
static llvm::Error listCheckpoints(StringRef dir, std::vector<Found> &found,
                                   std::vector<std::string> *leftovers) {
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; it != end && !ec;
       it.increment(ec)) {
    StringRef name = llvm::sys::path::filename(it->path());
    if (isLeftover(name)) {
      if (leftovers)
        leftovers->push_back(it->path());
      continue;
    }
    std::string statePath = joinPath(it->path(), kStateFile);
    if (!fs::exists(statePath))
      continue;
    if (std::optional<int64_t> step = parseStepName(name)) {
      found.push_back({it->path(), *step, false});
      continue;
    }
    if (name != kFinalCheckpointName)
      continue;
    auto buffer = llvm::MemoryBuffer::getFile(statePath);
    if (!buffer)
      continue;
    llvm::Expected<json::Value> parsed = json::parse((*buffer)->getBuffer());
    if (!parsed) {
      llvm::consumeError(parsed.takeError());
      continue;
    }
    const json::Object *root = parsed->getAsObject();
    std::optional<int64_t> step =
        root ? root->getInteger("step") : std::nullopt;
    if (step)
      found.push_back({it->path(), *step, true});
  }
  if (ec && ec != std::errc::no_such_file_or_directory)
    return makeError("cannot list checkpoints in '" + dir +
                     "': " + ec.message());
  return llvm::Error::success();
}

llvm::Expected<std::optional<std::string>>
ftl::rt::latestCheckpoint(StringRef checkpointsDir) {
  std::vector<Found> found;
  if (llvm::Error error = listCheckpoints(checkpointsDir, found, nullptr))
    return std::move(error);
  if (found.empty())
    return std::nullopt;
  auto best = std::max_element(found.begin(), found.end(),
                               [](const Found &a, const Found &b) {
                                 return std::make_pair(a.step, a.final) <
                                        std::make_pair(b.step, b.final);
                               });
  return std::optional<std::string>(best->path);
}

llvm::Error ftl::rt::pruneCheckpoints(StringRef checkpointsDir,
                                      unsigned keepLast) {
  std::vector<Found> found;
  std::vector<std::string> leftovers;
  if (llvm::Error error = listCheckpoints(checkpointsDir, found, &leftovers))
    return error;
  for (const std::string &path : leftovers)
    if (llvm::Error error = removeDirectoryTree(path))
      return error;
  llvm::erase_if(found, [](const Found &f) { return f.final; });
  std::sort(found.begin(), found.end(),
            [](const Found &a, const Found &b) { return a.step < b.step; });
  if (found.size() <= keepLast)
    return llvm::Error::success();
  for (size_t i = 0, e = found.size() - keepLast; i < e; ++i)
    if (llvm::Error error = removeDirectoryTree(found[i].path))
      return error;
  return llvm::Error::success();
}

llvm::Expected<std::string>
ftl::rt::saveCheckpoint(StringRef checkpointsDir, const CheckpointState &state,
                        bool final, unsigned keepLast) {
  std::string path =
      joinPath(checkpointsDir, final ? std::string(kFinalCheckpointName)
                                     : checkpointName(state.step));
  if (llvm::Error error = writeCheckpoint(path, state))
    return std::move(error);
  if (llvm::Error error = pruneCheckpoints(checkpointsDir, keepLast))
    return std::move(error);
  return path;
}
