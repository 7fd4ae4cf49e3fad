//===- ftl/Models/ModelIO.h - Hugging Face model folders --------*- C++ -*-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// Loading and saving Hugging Face model folders (config.json plus
/// model.safetensors or a sharded index) as a config and canonical F32
/// weights. Llama-family names (model.embed_tokens, model.layers.{i}.self_attn
/// .{q,k,v,o}_proj, ...) map one to one; GPT-2's Conv1D tensors are stored
/// [in, out] and c_attn fuses q, k and v, so they are split and transposed on
/// load and fused and transposed back on save.
///
//===----------------------------------------------------------------------===//

#ifndef FTL_MODELS_MODELIO_H
#define FTL_MODELS_MODELIO_H

#include "ftl/Models/ModelConfig.h"
#include "ftl/Models/ModelWeights.h"
#include "ftl/Models/SafeTensors.h"

#include "llvm/ADT/STLFunctionalExtras.h"

namespace ftl::rt {

struct LoadedModel {
  ModelConfig config;
  ModelWeights weights;
};

/// Reads `dir`/config.json and the weights (single file or sharded). Every
/// tensor must map to a canonical name (GPT-2's non-parameter attn.bias /
/// attn.masked_bias buffers are ignored; a tied model's lm_head.weight may
/// be present if it equals the embedding); unmapped, missing or misshapen
/// tensors are errors naming the tensor and both shapes. F16/BF16/F64
/// weights are converted to F32.
llvm::Expected<LoadedModel> loadHFModelFolder(llvm::StringRef dir);

/// Maps already-read HF tensors to canonical F32 weights (the part of
/// `loadHFModelFolder` after reading). `source` names the folder in errors.
llvm::Expected<ModelWeights>
importHFTensors(const ModelConfig &config, llvm::ArrayRef<NamedTensor> tensors,
                llvm::StringRef source);

/// The HF tensors for `weights` in transformers' state_dict order, converted
/// to `storeAs` (F32, F16, BF16 or F64).
llvm::Expected<std::vector<NamedTensor>>
exportHFTensors(const ModelConfig &config, const ModelWeights &weights,
                DType storeAs = DType::F32);

/// Writes config.json and model.safetensors (or shards of at most
/// `maxShardBytes` plus model.safetensors.index.json; 0 = one file) into a
/// temporary sibling of `dir`, then moves it to `dir`, replacing an existing
/// folder only once the new one is complete. `addFiles`, if given, may write
/// more files (a tokenizer, say) into the temporary folder before the move.
llvm::Error saveHFModelFolder(
    llvm::StringRef dir, const ModelConfig &config, const ModelWeights &weights,
    DType storeAs = DType::F32, size_t maxShardBytes = 0,
    llvm::function_ref<llvm::Error(llvm::StringRef tmpDir)> addFiles = nullptr);

} // namespace ftl::rt

#endif // FTL_MODELS_MODELIO_H
