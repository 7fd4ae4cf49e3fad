//===- PythonJson.h - JSON text the way Python's json module writes it ----===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
//
// transformers writes config.json and the shard index with
// json.dumps(..., indent=2, sort_keys=True). These helpers produce the same
// bytes from an llvm::json::Value so files ftl writes look like the ones
// users already have. Internal to FTLModels.
//
//===----------------------------------------------------------------------===//

#ifndef FTL_MODELS_LIB_PYTHONJSON_H
#define FTL_MODELS_LIB_PYTHONJSON_H

#include "llvm/Support/JSON.h"

#include <string>

namespace ftl::rt {

/// A JSON string literal with Python's ensure_ascii escaping.
void writePythonJsonString(llvm::raw_ostream &os, llvm::StringRef text);

/// Python's repr() of a float ("0.02", "1e-06", "10000.0", "Infinity").
std::string pythonFloatRepr(double value);

/// json.dumps(value, indent=indent, sort_keys=True). Numbers that llvm::json
/// holds as doubles print as Python floats, integers as integers.
std::string pythonJsonDumps(const llvm::json::Value &value, int indent = 2);

} // namespace ftl::rt

#endif // FTL_MODELS_LIB_PYTHONJSON_H
