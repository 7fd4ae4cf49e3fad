//===- ftl/Run/Digest.h - Digests for bitwise determinism checks -*- C++
//-*-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// SHA-256 digests of tensors, used by tests (and run reports) that check two
/// runs or two steps are bitwise identical, or that a frozen tensor did not
/// change.
///
//===----------------------------------------------------------------------===//

#ifndef FTL_RUN_DIGEST_H
#define FTL_RUN_DIGEST_H

#include "ftl/Runtime/Tensor.h"

#include "llvm/ADT/ArrayRef.h"

#include <string>
#include <utility>

namespace ftl::rt {

/// Lowercase hex SHA-256 of the tensor's bytes (its `nbytes()` bytes from
/// `data()`, row-major). Dtype and shape are not part of it, so a reshape
/// keeps the digest. An invalid tensor hashes as no bytes.
std::string tensorDigest(const Tensor &tensor);

/// Lowercase hex SHA-256 over a list of named tensors, covering for each in
/// order its name, dtype, shape and bytes (each field length-prefixed, so
/// different lists never hash the same stream). Use it to compare whole
/// model or optimizer states.
std::string
namedTensorsDigest(llvm::ArrayRef<std::pair<std::string, Tensor>> tensors);

} // namespace ftl::rt

#endif // FTL_RUN_DIGEST_H
