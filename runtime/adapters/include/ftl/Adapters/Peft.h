//===- ftl/Adapters/Peft.h - PEFT-compatible adapter folders ----*- C++ -*-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// Reading and writing adapter folders in the layout of Hugging Face PEFT
/// (0.13): `adapter_config.json` plus `adapter_model.safetensors`.
///
/// LoRA tensors are named "base_model.model.<module>.lora_A.weight" and
/// ".lora_B.weight", where <module> is the transformers module path of the
/// adapted linear layer ("model.layers.0.self_attn.q_proj",
/// "transformer.h.0.mlp.c_fc"). Ranks and alphas that differ from the
/// config's `r` / `lora_alpha` go in `rank_pattern` / `alpha_pattern`, keyed
/// as PEFT matches them.
///
/// GPT-2 fuses q, k and v in one Conv1D, `attn.c_attn` [dim -> 3*dim], so a
/// LoRA on any of q, k, v of a layer is written as one LoRA on c_attn: when
/// the parts share one A (bitwise) the fused A is that A and the fused B
/// stacks the parts' B (zero for parts without a delta); otherwise A stacks
/// the parts' A (rank = the sum of the ranks) and B is block diagonal. Both
/// forms give exactly the same weights; the parts must have equal scales
/// (alpha / r), else saving fails. A safetensors metadata entry records the
/// parts so that ftl reads its own files back unchanged; c_attn LoRAs from
/// elsewhere become q, k and v deltas sharing the fused A.
///
/// docs/adapters.md ("PEFT folders") describes what is written and checked.
///
//===----------------------------------------------------------------------===//

#ifndef FTL_ADAPTERS_PEFT_H
#define FTL_ADAPTERS_PEFT_H

#include "ftl/Adapters/Adapter.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

namespace ftl::rt {

struct ModelConfig;

/// Writes `adapter` as a PEFT LoRA folder for a model with `config`, into a
/// temporary sibling of `dir` that then replaces `dir`. Deltas on weights the
/// model does not have, on weights PEFT cannot adapt as linear layers
/// (embeddings, norms, biases), misshapen tensors and fused GPT-2 parts with
/// different scales are errors, and nothing is written.
llvm::Error savePeftLora(const LoraAdapter &adapter, const ModelConfig &config,
                         llvm::StringRef dir);

/// Reads a PEFT LoRA folder for a model with `config`. F16/BF16/F64 tensors
/// are converted to F32. Everything PEFT would apply differently from a plain
/// `W += scale * B A` (DoRA, trained biases, modules_to_save, PiSSA/OLoRA/
/// LoftQ initialisation, layer replication) and every mismatch with the model
/// (unknown target modules, shapes, missing or unexpected tensors) is an
/// error naming the file and the tensor or field.
llvm::Expected<LoraAdapter> loadPeftLora(llvm::StringRef dir,
                                         const ModelConfig &config);

/// Writes `adapter` as a PEFT prompt-tuning folder (embeddings stored as
/// "prompt_embeddings"), atomically as `savePeftLora`.
llvm::Error savePeftPrompt(const PromptAdapter &adapter,
                           const ModelConfig &config, llvm::StringRef dir);

/// Writes a PEFT prefix-tuning folder (no MLP re-parameterisation):
/// `keys[l]` and `values[l]` are layer l's [tokens, kv_heads * head_dim]
/// keys (as cached, after RoPE) and values, stored as PEFT's
/// "prompt_embeddings" [tokens, layers * 2 * kv_dim] (per token, layer l's
/// key then value). The config names the model's hidden size and heads;
/// PEFT derives the key/value width from them.
llvm::Error savePeftPrefix(llvm::ArrayRef<const Tensor *> keys,
                           llvm::ArrayRef<const Tensor *> values,
                           const ModelConfig &config, llvm::StringRef dir);

/// A prefix-tuning adapter: per layer, [tokens, kv_heads * head_dim] keys
/// (as cached, after RoPE) and values.
struct PrefixAdapter {
  std::vector<Tensor> keys, values;
};

/// Reads a PEFT prefix-tuning folder (without the MLP) written for a model
/// with `config`, as savePeftPrefix lays it out.
llvm::Expected<PrefixAdapter> loadPeftPrefix(llvm::StringRef dir,
                                             const ModelConfig &config);

/// Reads a PEFT prompt-tuning folder for a model with `config`.
llvm::Expected<PromptAdapter> loadPeftPrompt(llvm::StringRef dir,
                                             const ModelConfig &config);

} // namespace ftl::rt

#endif // FTL_ADAPTERS_PEFT_H
