//===- Resume.cpp - Round checkpoints of loops and resuming a run ---------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
//
// After every round of a top-level `loop`, the interpreter writes a round
// checkpoint (checkpoints/rounds/step-<n>/): the tensors of every model value
// (weights and adapters), every number the pipeline computed, the records of
// every generated or judged data set and of the loop's carried data, and the
// interpreter's counters. `ftl run --resume` reopens the interrupted run's
// folder, replays the pipeline up to that loop without doing work (trains,
// generation, judging, logging and saving are skipped; their results come
// from the checkpoint) and goes on with the next round. Semantics:
// docs/feedback.md.
//
//===----------------------------------------------------------------------===//

#include "Interpreter.h"

#include "ftl/Dialect/FTL/IR/FTLOps.h"
#include "ftl/Run/Checkpoint.h"

#include "llvm/Support/FileSystem.h"

using namespace ftl::rt;
using llvm::cast;
using mlir::Operation;
namespace fd = mlir::ftl;
namespace json = llvm::json;
using DataField = ftl::rt::Value;

std::string Interpreter::keyOf(mlir::Value v) const {
  auto result = llvm::dyn_cast<mlir::OpResult>(v);
  if (!result)
    return "";
  auto it = opIndex.find(result.getOwner());
  if (it == opIndex.end())
    return "";
  return std::to_string(it->second) + "." +
         std::to_string(result.getResultNumber());
}

void Interpreter::indexOps() {
  int64_t next = 0;
  module.walk<mlir::WalkOrder::PreOrder>([&](Operation *op) {
    opIndex[op] = next++;
    for (mlir::Value r : op->getResults())
      valueByKey[keyOf(r)] = r;
  });
}

/// Records as JSON (the data survives in the checkpoint's state.json).
static llvm::Expected<json::Array> recordsJson(const DatasetRef &data,
                                               const DataContext &ctx) {
  auto stream = data->open(ctx);
  if (!stream)
    return stream.takeError();
  json::Array out;
  Record r;
  while (true) {
    auto more = (*stream)->next(r);
    if (!more)
      return more.takeError();
    if (!*more)
      break;
    std::vector<Member> members = r.fields();
    auto parsed = json::parse(DataField::object(std::move(members)).toJson());
    if (!parsed)
      return parsed.takeError();
    out.push_back(std::move(*parsed));
    r = Record();
  }
  return out;
}

static DataField fieldFromJson(const json::Value &v) {
  if (auto b = v.getAsBoolean())
    return DataField(*b);
  if (auto i = v.getAsInteger())
    return DataField(int64_t(*i));
  if (auto d = v.getAsNumber())
    return DataField(*d);
  if (auto s = v.getAsString())
    return DataField(s->str());
  if (const json::Array *a = v.getAsArray()) {
    std::vector<DataField> items;
    for (const json::Value &x : *a)
      items.push_back(fieldFromJson(x));
    return DataField::list(std::move(items));
  }
  if (const json::Object *o = v.getAsObject()) {
    std::vector<Member> members;
    for (const auto &[k, x] : *o)
      members.push_back({k.str(), fieldFromJson(x)});
    return DataField::object(std::move(members));
  }
  return DataField();
}

static DatasetRef datasetFromJson(llvm::StringRef name,
                                  const json::Array &records) {
  std::vector<Record> out;
  for (const json::Value &v : records) {
    std::vector<Member> members;
    if (const json::Object *o = v.getAsObject())
      for (const auto &[k, x] : *o)
        members.push_back({k.str(), fieldFromJson(x)});
    out.emplace_back(std::move(members));
  }
  return recordsDataset(name, std::move(out));
}

llvm::Expected<json::Value> Interpreter::saveValue(const RValue &value,
                                                   const std::string &key,
                                                   CheckpointState &state,
                                                   bool materialize) {
  if (auto *d = std::get_if<double>(&value))
    return json::Object{{"kind", "number"}, {"value", *d}};
  if (auto *i = std::get_if<int64_t>(&value))
    return json::Object{{"kind", "int"}, {"value", *i}};
  if (auto *b = std::get_if<bool>(&value))
    return json::Object{{"kind", "bool"}, {"value", *b}};
  if (auto *m = std::get_if<std::shared_ptr<ModelState>>(&value)) {
    for (const auto &[name, t] : (*m)->weights)
      state.parameters.push_back({key + "/w/" + name, t});
    for (const auto &[name, t] : (*m)->adapterTensors)
      state.parameters.push_back({key + "/a/" + name, t});
    json::Object scales;
    for (const auto &[name, s] : (*m)->loraScales)
      scales[name] = s;
    return json::Object{{"kind", "model"}, {"lora_scales", std::move(scales)}};
  }
  if (auto *d = std::get_if<DataValue>(&value); d && materialize) {
    auto records = recordsJson(d->data, dataContext(lastTokenizer.get()));
    if (!records)
      return records.takeError();
    json::Object parts;
    for (const auto &[name, part] : d->parts) {
      auto p = recordsJson(part, dataContext(lastTokenizer.get()));
      if (!p)
        return p.takeError();
      parts[name] = std::move(*p);
    }
    return json::Object{{"kind", "data"},
                        {"records", std::move(*records)},
                        {"parts", std::move(parts)}};
  }
  return json::Value(nullptr); // rebuilt by replaying its op
}

llvm::Error Interpreter::saveRoundCheckpoint(Operation *loopOp, int64_t round,
                                             llvm::ArrayRef<RValue> carried) {
  if (!runFolder)
    return llvm::Error::success();
  CheckpointState state;
  json::Object saved;
  for (const auto &[value, rvalue] : values) {
    std::string key = keyOf(value);
    if (key.empty())
      continue;
    auto json = saveValue(rvalue, key, state, materialized.count(key) != 0);
    if (!json)
      return json.takeError();
    if (json->kind() != json::Value::Null)
      saved[key] = std::move(*json);
  }
  json::Array carriedJson;
  for (const RValue &c : carried) {
    auto json = saveValue(c, "carried" + std::to_string(carriedJson.size()),
                          state, /*materialize=*/true);
    if (!json)
      return json.takeError();
    carriedJson.push_back(std::move(*json));
  }
  if (llvm::Error e = metrics->sync())
    return e;
  state.metricsOffset = metrics->size();
  state.round = round;
  state.step = ++roundsFinished;
  state.cursor = json::Object{{"loop", opIndex.lookup(loopOp)},
                              {"round", round},
                              {"values", std::move(saved)},
                              {"carried", std::move(carriedJson)},
                              {"generate_count", generateCount},
                              {"train_index", trainIndex},
                              {"rounds_finished", roundsFinished}};
  std::string dir = runFolder->checkpointsDir() + "/rounds";
  if (std::error_code ec = llvm::sys::fs::create_directories(dir))
    return llvm::createStringError("cannot create '" + dir +
                                   "': " + ec.message());
  auto written = saveCheckpoint(dir, state, /*final=*/false);
  if (!written)
    return written.takeError();
  return llvm::Error::success();
}

llvm::Error Interpreter::loadRoundCheckpoint() {
  std::string dir = runFolder->checkpointsDir() + "/rounds";
  if (!llvm::sys::fs::is_directory(dir))
    return llvm::Error::success(); // nothing finished: start over
  auto latest = latestCheckpoint(dir);
  if (!latest)
    return latest.takeError();
  if (!*latest)
    return llvm::Error::success();
  auto state = readCheckpoint(**latest);
  if (!state)
    return state.takeError();
  resume.emplace();
  resume->state = std::move(*state);
  const json::Object &cursor = resume->state.cursor;
  resume->loop = cursor.getInteger("loop").value_or(-1);
  resume->round = cursor.getInteger("round").value_or(0);
  generateCount = cursor.getInteger("generate_count").value_or(0);
  trainIndex = cursor.getInteger("train_index").value_or(0);
  roundsFinished = cursor.getInteger("rounds_finished").value_or(0);
  return llvm::Error::success();
}

std::optional<RValue> Interpreter::restoredValue(const std::string &key,
                                                 const json::Value *saved) {
  if (!saved)
    return std::nullopt;
  const json::Object *o = saved->getAsObject();
  if (!o)
    return std::nullopt;
  llvm::StringRef kind = o->getString("kind").value_or("");
  if (kind == "number")
    return RValue(o->getNumber("value").value_or(NAN));
  if (kind == "int")
    return RValue(int64_t(o->getInteger("value").value_or(0)));
  if (kind == "bool")
    return RValue(o->getBoolean("value").value_or(false));
  if (kind == "data") {
    DataValue d;
    if (const json::Array *records = o->getArray("records"))
      d.data = datasetFromJson(key, *records);
    if (const json::Object *parts = o->getObject("parts"))
      for (const auto &[name, records] : *parts)
        if (const json::Array *a = records.getAsArray())
          d.parts[name.str()] = datasetFromJson(key + "." + name.str(), *a);
    return RValue(std::move(d));
  }
  return std::nullopt;
}

bool Interpreter::replaying(Operation *op) {
  if (!resume || resume->done)
    return false;
  const json::Object *saved = resume->state.cursor.getObject("values");
  // Work whose effect the checkpoint holds is not redone; its results are
  // read back.
  bool skip = llvm::isa<fd::TrainOp, fd::GenerateOp, fd::JudgeOp, fd::MetricOp,
                        fd::EvalOp, fd::LogOp, fd::SaveOp>(op) ||
              (llvm::isa<fd::LoopOp>(op) && opIndex.lookup(op) != resume->loop);
  if (!skip)
    return false;
  for (mlir::Value r : op->getResults()) {
    std::string key = keyOf(r);
    if (auto v = restoredValue(key, saved ? saved->get(key) : nullptr))
      values[r] = std::move(*v);
  }
  return true;
}

llvm::Error Interpreter::finishReplay(llvm::SmallVectorImpl<RValue> &carried) {
  const json::Object *saved = resume->state.cursor.getObject("values");
  // Every model takes its tensors from the checkpoint.
  llvm::StringMap<std::vector<std::pair<std::string, Tensor>>> byKey;
  for (const auto &[name, t] : resume->state.parameters) {
    auto [key, rest] = llvm::StringRef(name).split('/');
    byKey[key].push_back({rest.str(), t});
  }
  for (auto &[key, tensors] : byKey) {
    if (llvm::StringRef(key).starts_with("carried"))
      continue;
    auto value = valueByKey.find(key);
    if (value == valueByKey.end())
      return llvm::createStringError("the round checkpoint names a value "
                                     "the script does not have ('" +
                                     key.str() + "')");
    auto it = values.find(value->second);
    auto *m = it == values.end()
                  ? nullptr
                  : std::get_if<std::shared_ptr<ModelState>>(&it->second);
    if (!m)
      return llvm::createStringError("the round checkpoint holds a model the "
                                     "replayed script did not build ('" +
                                     key.str() + "')");
    for (auto &[name, t] : tensors) {
      auto [where, tensorName] = llvm::StringRef(name).split('/');
      Tensor copy = t.clone(); // the checkpoint's mapping is read-only
      if (where == "w")
        (*m)->weights.set(tensorName, std::move(copy));
      else
        (*m)->adapterTensors[tensorName.str()] = std::move(copy);
    }
    if (const json::Object *o = saved ? saved->getObject(key) : nullptr)
      if (const json::Object *scales = o->getObject("lora_scales"))
        for (const auto &[name, s] : *scales)
          (*m)->loraScales[name.str()] = s.getAsNumber().value_or(1.0);
  }
  if (const json::Array *c = resume->state.cursor.getArray("carried"))
    for (size_t i = 0; i < c->size() && i < carried.size(); ++i)
      if (auto v = restoredValue("carried" + std::to_string(i), &(*c)[i]))
        carried[i] = std::move(*v);
  resume->done = true;
  return llvm::Error::success();
}
