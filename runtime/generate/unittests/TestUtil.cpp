//===- TestUtil.cpp - Helpers shared by the FTLGenerate tests -------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "TestUtil.h"

#include "llvm/Support/ErrorHandling.h"

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>

using namespace ftl;
using namespace ftl::rt;

std::string test::sourceDir() {
  if (const char *env = std::getenv("FTL_SOURCE_DIR"))
    return env;
  return FTL_SOURCE_DIR;
}

const LoadedModel &test::fixtureModel(const std::string &name) {
  static std::map<std::string, std::unique_ptr<LoadedModel>> cache;
  auto &slot = cache[name];
  if (!slot) {
    auto loaded =
        loadHFModelFolder(sourceDir() + "/test/fixtures/models/" + name);
    if (!loaded) {
      ADD_FAILURE() << llvm::toString(loaded.takeError());
      slot = std::make_unique<LoadedModel>();
    } else {
      slot = std::make_unique<LoadedModel>(std::move(*loaded));
    }
  }
  return *slot;
}

const SafeTensorsFile &test::referenceFile(const std::string &name) {
  static std::map<std::string, std::unique_ptr<SafeTensorsFile>> cache;
  auto &slot = cache[name];
  if (!slot) {
    auto file = SafeTensorsFile::open(sourceDir() + "/test/fixtures/generate/" +
                                      name + ".safetensors");
    if (!file) // every test needs the fixture: stop here
      llvm::report_fatal_error(llvm::Twine(llvm::toString(file.takeError())));
    slot = std::make_unique<SafeTensorsFile>(std::move(*file));
  }
  return *slot;
}

std::vector<int32_t> test::referenceIds(const SafeTensorsFile &file,
                                        const std::string &tensor) {
  Tensor t = file.get(tensor);
  if (!t.valid() || t.dtype() != DType::I64) {
    ADD_FAILURE() << "no I64 tensor '" << tensor << "' in "
                  << file.path().str();
    return {};
  }
  std::vector<int64_t> wide(static_cast<size_t>(t.numel()));
  std::memcpy(wide.data(), t.data(), t.nbytes());
  return std::vector<int32_t>(wide.begin(), wide.end());
}

std::vector<float> test::referenceFloats(const SafeTensorsFile &file,
                                         const std::string &tensor) {
  Tensor t = file.get(tensor);
  if (!t.valid() || t.dtype() != DType::F32) {
    ADD_FAILURE() << "no F32 tensor '" << tensor << "' in "
                  << file.path().str();
    return {};
  }
  std::vector<float> out(static_cast<size_t>(t.numel()));
  std::memcpy(out.data(), t.data(), t.nbytes());
  return out;
}

std::string test::referenceMeta(const SafeTensorsFile &file,
                                const std::string &key) {
  auto it = file.metadata().find(key);
  return it == file.metadata().end() ? std::string() : it->second;
}

test::ReferenceLora test::referenceLora(const SafeTensorsFile &file) {
  ReferenceLora lora;
  lora.scale = std::strtof(referenceMeta(file, "lora_scale").c_str(), nullptr);
  for (const std::string &name : file.names()) {
    llvm::StringRef n(name);
    if (!n.starts_with("lora.layers."))
      continue;
    std::string base = n.drop_front(5).drop_back(2).str();
    Tensor t = file.get(name).clone(); // aligned, owned
    if (n.ends_with(".A"))
      lora.a.push_back({base, t});
    else if (n.ends_with(".B"))
      lora.b.push_back({base, t});
  }
  return lora;
}

void test::ReferenceLora::attach(ModelView &view) const {
  for (const auto &[name, tensor] : a)
    view.lora[name].A = &tensor;
  for (const auto &[name, tensor] : b) {
    view.lora[name].B = &tensor;
    view.lora[name].scale = scale;
  }
}

ModelView test::viewOf(const LoadedModel &model) {
  ModelView view;
  view.config = &model.config;
  view.weights = &model.weights;
  return view;
}

test::Closeness test::compare(const float *a, const float *b, size_t n,
                              double atol, double rtol) {
  Closeness c;
  for (size_t i = 0; i < n; ++i) {
    double d = std::fabs(static_cast<double>(a[i]) - b[i]);
    c.maxAbs = std::max(c.maxAbs, d);
    if (!(d <= atol + rtol * std::fabs(static_cast<double>(b[i]))))
      c.ok = false;
  }
  return c;
}
