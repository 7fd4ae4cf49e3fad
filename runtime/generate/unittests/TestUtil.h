//===- TestUtil.h - Helpers shared by the FTLGenerate tests -----*- C++ -*-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
//
// Fixture loading: the tiny model folders of test/fixtures/models and the
// transformers reference outputs of test/fixtures/generate (written by
// scripts/fixtures/make_generate.py).
//
//===----------------------------------------------------------------------===//

#ifndef FTL_GENERATE_UNITTESTS_TESTUTIL_H
#define FTL_GENERATE_UNITTESTS_TESTUTIL_H

#include "ftl/Generate/Generate.h"
#include "ftl/Models/ModelIO.h"
#include "ftl/Models/SafeTensors.h"

#include "gtest/gtest.h"

#include <string>
#include <vector>

namespace ftl::test {

std::string sourceDir();

/// The model folder test/fixtures/models/<name>, loaded once per process.
const rt::LoadedModel &fixtureModel(const std::string &name);

/// test/fixtures/generate/<name>.safetensors, loaded once per process.
const rt::SafeTensorsFile &referenceFile(const std::string &name);

/// An I64 tensor of a reference file as int32 ids (fails the test if absent).
std::vector<int32_t> referenceIds(const rt::SafeTensorsFile &file,
                                  const std::string &tensor);

/// An F32 tensor of a reference file, copied (fails the test if absent).
std::vector<float> referenceFloats(const rt::SafeTensorsFile &file,
                                   const std::string &tensor);

/// A metadata value of a reference file ("" when absent).
std::string referenceMeta(const rt::SafeTensorsFile &file,
                          const std::string &key);

/// The LoRA tensors of a reference file ("lora.<w>.A" / ".B"), owned.
struct ReferenceLora {
  std::vector<std::pair<std::string, rt::Tensor>> a, b;
  float scale = 0;
  /// Adds every delta to `view`.
  void attach(rt::ModelView &view) const;
};
ReferenceLora referenceLora(const rt::SafeTensorsFile &file);

/// A view of a loaded model without LoRA.
rt::ModelView viewOf(const rt::LoadedModel &model);

/// Largest |a - b| and whether every element is within atol + rtol |b|.
struct Closeness {
  double maxAbs = 0;
  bool ok = true;
};
Closeness compare(const float *a, const float *b, size_t n, double atol,
                  double rtol);

/// Calls of the global operator new so far (AllocCounter.cpp replaces it in
/// this test binary).
int64_t allocationCount();

} // namespace ftl::test

#endif // FTL_GENERATE_UNITTESTS_TESTUTIL_H
