//===- AdapterInternal.h - Checks shared by the adapter sources ----------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
//
// Internal to FTLAdapters.
//
//===----------------------------------------------------------------------===//

#ifndef FTL_ADAPTERS_LIB_ADAPTERINTERNAL_H
#define FTL_ADAPTERS_LIB_ADAPTERINTERNAL_H

#include "ftl/Adapters/Adapter.h"

namespace ftl::rt {

inline llvm::Error makeAdapterError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

/// Checks the LoRA pair on canonical weight `name` against the weight's
/// shape: both tensors present and F32, a positive rank, A [rank, in],
/// B [out, rank], a finite alpha.
llvm::Error checkLoraPair(llvm::StringRef name, const LoraAdapter::Pair &p,
                          llvm::ArrayRef<int64_t> weightShape);

} // namespace ftl::rt

#endif // FTL_ADAPTERS_LIB_ADAPTERINTERNAL_H
