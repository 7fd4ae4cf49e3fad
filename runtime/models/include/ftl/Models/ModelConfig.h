//===- ftl/Models/ModelConfig.h - Model architecture settings ---*- C++ -*-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// `ModelConfig` describes a decoder-only transformer in the two families ftl
/// runs: the Llama family (Hugging Face model_type llama, mistral, qwen2:
/// RMSNorm, RoPE, SwiGLU MLP, grouped-query attention) and GPT-2 (LayerNorm,
/// learned positions, tanh-GELU MLP, tied embeddings). It is read from and
/// written to Hugging Face `config.json`, or built from the arguments of
/// `llama(...)` / `gpt2(...)` in a script.
///
//===----------------------------------------------------------------------===//

#ifndef FTL_MODELS_MODELCONFIG_H
#define FTL_MODELS_MODELCONFIG_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace ftl::rt {

enum class Arch : uint8_t { Llama, GPT2 };

/// "llama" or "gpt2".
llvm::StringRef archName(Arch arch);

struct ModelConfig {
  Arch arch = Arch::Llama;
  /// Hugging Face model_type: "llama", "mistral", "qwen2" or "gpt2".
  std::string hfModelType = "llama";
  int64_t vocab = 0;
  int64_t dim = 0; ///< hidden size
  int64_t layers = 0;
  int64_t heads = 0;
  int64_t kvHeads = 0;        ///< == heads without grouped-query attention
  int64_t headDim = 0;        ///< usually dim / heads
  int64_t ffn = 0;            ///< MLP inner size
  int64_t ctx = 0;            ///< max positions
  double ropeTheta = 10000.0; ///< Llama family only
  double normEps = 1e-6;      ///< RMSNorm / LayerNorm epsilon
  double initStd = 0.02;      ///< initializer_range
  bool tiedEmbeddings = false;
  bool qkvBias = false; ///< q/k/v projections have biases (qwen2, gpt2, ...)
  bool oBias = false;   ///< the output projection has a bias (gpt2, ...)
  bool mlpBias = false; ///< MLP projections have biases (gpt2, ...)
  /// "silu" for the Llama family; "gelu_new" or "gelu_pytorch_tanh" (both
  /// the tanh approximation of GELU) for GPT-2.
  std::string activation = "silu";
  int64_t bosId = -1;               ///< -1 when unset
  int64_t eosId = -1;               ///< the first eos id; -1 when unset
  std::vector<int64_t> extraEosIds; ///< further ids of an eos_token_id list
  int64_t padId = -1;               ///< -1 when unset
  /// torch_dtype as found in config.json ("float32", "bfloat16", ...).
  std::string torchDtype;
  /// The config.json text this config was read from, if any. Its other
  /// fields are kept when the config is written back.
  std::string sourceJson;

  bool isGPT2() const { return arch == Arch::GPT2; }
  /// LayerNorm (weight + bias) for GPT-2, RMSNorm (weight) otherwise.
  bool normHasBias() const { return arch == Arch::GPT2; }
  /// Learned position embeddings (GPT-2).
  bool hasPositionEmbedding() const { return arch == Arch::GPT2; }
  /// SwiGLU gate projection (Llama family).
  bool hasGate() const { return arch == Arch::Llama; }
};

/// Reads a Hugging Face config.json. Supports model_type llama, mistral,
/// qwen2 and gpt2; anything else, missing or nonsensical sizes, and features
/// ftl does not implement (rope_scaling, an effective sliding window, other
/// activations, ...) are errors naming `fileNameForErrors`.
llvm::Expected<ModelConfig> parseHFConfig(llvm::StringRef jsonText,
                                          llvm::StringRef fileNameForErrors);

/// Reads and parses the file at `path`.
llvm::Expected<ModelConfig> loadHFConfig(llvm::StringRef path);

/// The config.json text for `config`, in transformers' own layout (sorted
/// keys, two-space indent). Fields of `config.sourceJson` that ftl does not
/// model are kept. torch_dtype is `config.torchDtype` (default "float32").
std::string toHFConfigJson(const ModelConfig &config);

/// Checks sizes and invariants (positive sizes, heads divide, ...). `where`
/// prefixes messages, e.g. "'models/x/config.json'" or "llama(...)".
llvm::Error validateModelConfig(const ModelConfig &config,
                                llvm::StringRef where);

/// One named argument of `llama(...)` / `gpt2(...)` as written in a script.
struct ModelArg {
  std::string name;
  std::variant<int64_t, double, bool> value;
};

/// Builds a config for `llama(...)` or `gpt2(...)`.
///
/// llama: vocab, dim, layers, heads (required); kv_heads (= heads),
///   ffn (8*dim/3 rounded up to a multiple of 8), ctx (2048),
///   rope_theta (10000), tied (false), norm_eps (1e-6), init_std (0.02),
///   bos, eos (unset).
/// gpt2: vocab, dim, layers, heads (required); ctx (1024), ffn (4*dim),
///   norm_eps (1e-5), init_std (0.02), bos, eos (unset).
///
/// Unknown families or argument names, repeated or missing arguments, wrong
/// types and invalid sizes are errors.
llvm::Expected<ModelConfig> modelConfigFromArgs(llvm::StringRef family,
                                                llvm::ArrayRef<ModelArg> args);

} // namespace ftl::rt

#endif // FTL_MODELS_MODELCONFIG_H
