//===- Builtins.cpp - The built-in signature table ------------------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
//
// The single source of truth for built-in functions. Keep entries grouped by
// category; docs/reference.md is generated from this table (`ftl doc`).
//
//===----------------------------------------------------------------------===//

#include "ftl/Lang/Builtins.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/raw_ostream.h"

#include <string>

using namespace ftl::lang;
using llvm::StringRef;

using P = BuiltinParam;

// --- models and tokenizers ---------------------------------------------------
static const P llamaParams[] = {
    {"vocab", "int", "", "vocabulary size"},
    {"dim", "int", "", "hidden size"},
    {"layers", "int", "", "number of decoder layers"},
    {"heads", "int", "", "attention heads"},
    {"kv_heads", "int", "heads", "key/value heads (grouped-query attention)"},
    {"ffn", "int", "8/3 * dim, rounded up to a multiple of 8",
     "MLP inner size (SwiGLU)"},
    {"ctx", "int", "2048", "maximum sequence length"},
    {"rope_theta", "number", "10000", "RoPE base frequency"},
    {"norm_eps", "number", "1e-5", "RMSNorm epsilon"},
    {"tied", "bool", "false", "tie the LM head to the embedding"},
    {"qkv_bias", "bool", "false", "biases on q, k and v (Qwen2 style)"},
    {"init_std", "number", "0.02", "std of the normal initialisation"},
};
static const P gpt2Params[] = {
    {"vocab", "int", "50257", "vocabulary size"},
    {"dim", "int", "768", "hidden size"},
    {"layers", "int", "12", "number of decoder layers"},
    {"heads", "int", "12", "attention heads"},
    {"ctx", "int", "1024", "learned positions"},
    {"norm_eps", "number", "1e-5", "LayerNorm epsilon"},
};
static const P loadParams[] = {
    {"path", "dir", "",
     "a Hugging Face model folder (config.json + safetensors) or a PEFT "
     "adapter folder (adapter_config.json)"},
};
static const P snapshotParams[] = {{"of", "model", "", "the model to copy"}};
static const P mergeParams[] = {
    {"base", "model", "", "the base model"},
    {"*adapters", "adapter", "none", "adapters to fold into the weights"},
};
static const llvm::ArrayRef<P> bytesParams;
static const P hfParams[] = {
    {"path", "path", "", "a Hugging Face tokenizer.json"},
    {"chat", "enum(none|chatml|llama3)", "none",
     "chat format for `messages` fields"},
};

// --- data sources
// --------------------------------------------------------------
static const P jsonlParams[] = {
    {"path", "path", "", "a JSON-lines file, one object per line"},
    {"**fields", "field", "none",
     "field mapping: `prompt: .question` makes `prompt` name the raw field "
     "`question`"},
    {"on_error", "enum(fail|skip)", "fail",
     "a malformed line stops the run, or is skipped and counted"},
    {"invalid_utf8", "enum(error|replace)", "error",
     "invalid UTF-8 is an error, or replaced by U+FFFD"},
};
static const P textParams[] = {
    {"path", "path", "", "a UTF-8 text file"},
    {"split", "enum(line|paragraph|file)", "line",
     "one record per line, per blank-line separated paragraph, or per file"},
};
static const P mixtureParams[] = {
    {"**sources", "fraction", "",
     "each source dataset and its sampling ratio, e.g. `code: 0.6`"},
    {"by", "enum(examples|tokens)", "examples",
     "ratios count examples or tokens"},
    {"cap", "int", "0",
     "at most this many examples (or tokens) per source; "
     "0 means no cap"},
    {"total", "int", "0",
     "size of the mixture; 0 means as large as the "
     "ratios allow"},
};

// --- data operators ----------------------------------------------------------
static const P filterParams[] = {
    {"input", "data", "", "the records"},
    {"pred", "pred", "", "keep records for which this is true"},
};
static const P selectParams[] = {
    {"input", "data", "", "the records"},
    {"by", "pred|selection", "",
     "a model-scored predicate such as `perplexity(base) < pct(70)`, or a "
     "selection such as `ot_gradient(...)`"},
};
static const P mapParams[] = {
    {"input", "data", "", "the records"},
    {"**fields", "recexpr", "", "new or replaced fields, e.g. `text: .q`"},
};
static const P templateParams[] = {
    {"input", "data", "", "the records"},
    {"format", "string", "", "text with `{field}` placeholders"},
    {"into", "string", "\"text\"", "the field that receives the text"},
};
static const P dedupParams[] = {
    {"input", "data", "", "the records"},
    {"key", "dedupkey", "", "`exact(.field)` or `minhash(.field, ngram: 5)`"},
    {"threshold", "fraction", "0.8",
     "estimated Jaccard similarity at which two records are duplicates "
     "(minhash only)"},
};
static const P shuffleParams[] = {{"input", "data", "", "the records"}};
static const P splitParams[] = {
    {"input", "data", "", "the records"},
    {"**parts", "fraction", "",
     "named parts and their share, e.g. `eval: 10%`; the rest is `train`"},
};
static const P takeParams[] = {
    {"input", "data", "", "the records"},
    {"n", "int", "", "how many records"},
};
static const P sampleParams[] = {
    {"input", "data", "", "the records"},
    {"frac", "fraction", "", "share of records kept, chosen from the seed"},
};
static const P chunkParams[] = {
    {"input", "data{text}", "", "text records"},
    {"n", "int", "", "tokens per chunk"},
};
static const P packParams[] = {
    {"input", "data", "", "the records"},
    {"seq", "int", "", "sequence length of each packed row"},
};
static const P tagParams[] = {
    {"input", "data", "", "the records"},
    {"task", "string", "", "task name written to the `task` field"},
};

// --- record-level functions --------------------------------------------------
static const P lenParams[] = {
    {"value", "recexpr", "", "a string field; length in characters"}};
static const P ntokensParams[] = {
    {"value", "recexpr", "", "a string field; length in tokens"}};
static const P exactParams[] = {
    {"of", "field|column", "",
     "in dedup: the field compared; in judge: the reference answers"},
    {"normalize", "bool", "false",
     "compare after trimming and collapsing whitespace, ignoring case"},
};
static const P minhashParams[] = {
    {"of", "field", "", "the text field"},
    {"ngram", "int", "5", "word n-gram size"},
    {"perm", "int", "128", "number of hash permutations"},
};
static const P perplexityParams[] = {
    {"m", "model", "", "the model that scores each record"}};
static const P pctParams[] = {
    {"p", "number", "", "percentile of the scores over the dataset (0-100)"}};
static const P otGradientParams[] = {
    {"target", "data", "", "the distribution to move towards"},
    {"budget", "int", "", "how many records to select"},
};

// --- adapters and sparse picks -----------------------------------------------
static const P loraParams[] = {
    {"rank", "int", "8", "rank r of the update B A"},
    {"alpha", "number", "rank", "scaling numerator: scale = alpha / rank"},
    {"dropout", "fraction", "0", "dropout on the adapter input"},
    {"rslora", "bool", "false", "scale = alpha / sqrt(rank)"},
    {"init", "enum(default|gaussian|pissa|corda)", "default",
     "A Kaiming-uniform and B zero; Gaussian A; principal singular vectors "
     "(PiSSA); context-oriented (CorDA)"},
    {"dora", "bool", "false", "weight-decomposed LoRA (DoRA)"},
    {"corda_data", "data", "none", "data whose activations CorDA uses"},
    {"corda_samples", "int", "256", "examples CorDA reads"},
    {"corda_mode", "enum(ipm|kpm)", "ipm",
     "CorDA components: the largest (instruction-previewed) or the smallest "
     "(knowledge-preserved)"},
};
static const P sparseParams[] = {
    {"density", "fraction", "",
     "share of each weight's entries that train (above 0)"},
    {"pick", "mask", "random()",
     "how entries are chosen: random(), magnitude(), principal(rank: r), "
     "lottery(from: m0)"},
    {"refresh", "int", "0", "re-pick every this many steps (0: never)"},
};
static const P halfParams[] = {
    {"regroup_every", "int", "0",
     "re-choose the trained half every this many steps (0: once per train)"},
};
static const P promptParams[] = {
    {"tokens", "int", "", "number of virtual tokens"},
    {"init", "enum(random|vocab|text)", "random", "initial embeddings"},
    {"text", "string", "\"\"", "initial text when init is text"},
};
static const P prefixParams[] = {
    {"tokens", "int", "", "number of virtual key/value positions per layer"},
    {"reparam", "bool", "false", "re-parameterise through an MLP"},
    {"init", "enum(random|text)", "random",
     "initial keys and values: random, or the model's own for a text"},
    {"text", "string", "\"\"", "the text whose first tokens initialise it"},
};
static const P bottleneckParams[] = {
    {"dim", "int", "", "bottleneck size"},
    {"placement", "enum(serial|parallel)", "serial",
     "after the sub-layer, or beside it"},
    {"act", "enum(relu|gelu|silu)", "relu", "activation"},
};
static const P parallelParams[] = {
    {"rank", "int", "", "hidden size of the parallel branch"},
    {"scale", "number", "1", "output scale"},
};
static const P structuredParams[] = {
    {"heads", "int", "0", "attention heads trained per layer"},
    {"channels", "int", "0", "MLP channels trained per layer"},
};
static const P randomParams[] = {
    {"rate", "fraction", "0", "share of positions (or entries) chosen"},
    {"span", "enum(all|prompt|response|thought)", "thought",
     "where input tokens are masked (Masked Thought): the response's "
     "(thought, response), the prompt's, or all"},
};
static const llvm::ArrayRef<P> magnitudeParams;
static const P principalParams[] = {
    {"rank", "int", "", "rank of the low-rank approximation (LIFT)"}};
static const P lotteryParams[] = {
    {"from", "model", "",
     "the model before the full fine-tuning whose change picks the entries "
     "(a snapshot); the model is reset to it (LT-SFT)"}};

// --- objectives --------------------------------------------------------------
static const P sftParams[] = {
    {"d", "data{text|prompt,response|messages}", "", "training records"},
    {"on", "enum(auto|response|all|assistant|answers)", "auto",
     "which tokens carry loss; auto: the response if there is one, else all"},
    {"mask", "mask", "none",
     "input corruption, e.g. `random(15%, span: thought)` (Masked Thought)"},
    {"weights", "tokweights", "none", "per-token loss weights"},
    {"norm", "enum(tokens|samples|sum_weights)", "tokens",
     "mean over supervised tokens of the step, over samples, or divide by the "
     "sum of weights"},
};
static const P lmParams[] = {
    {"d", "data{text}", "", "raw text"},
};
static const P dpoParams[] = {
    {"d", "data{prompt,chosen,rejected}", "", "preference pairs"},
    {"beta", "number", "0.1", "inverse temperature"},
    {"ref", "model", "frozen(<trained model>)",
     "the reference policy; for adapters, the base with adapters off"},
    {"loss", "enum(sigmoid|ipo|hinge)", "sigmoid", "DPO loss variant"},
    {"label_smoothing", "fraction", "0", "conservative DPO smoothing"},
};
static const P unlikelihoodParams[] = {
    {"d", "data{text|prompt,response}", "", "records whose tokens to avoid"},
};
static const P klParams[] = {
    {"d", "data{text|prompt,response|messages}", "",
     "records it is measured on (their supervised tokens, as sft's)"},
    {"ref", "model", "frozen(<trained model>)",
     "the reference; for adapters, the base with adapters off"},
    {"on", "enum(auto|response|all|assistant|answers)", "auto",
     "which tokens are measured, as sft's on:"},
};
static const P l2Params[] = {
    {"of", "adapter|model", "", "the parameters penalised"},
    {"to_init", "bool", "false", "penalise the distance to the initial values"},
};
static const P l1Params[] = {
    {"of", "adapter|model", "", "the parameters penalised"},
    {"to_init", "bool", "true", "penalise the distance to the initial values"},
};
static const P balanceParams[] = {
    {"*terms", "objective", "", "one loss term per task"},
    {"by", "enum(static|data_scale|token_scale|loss_scale|coba)", "loss_scale",
     "task weighting (MFTCoder cases, or CoBa)"},
    {"val", "list<data>", "[]",
     "coba: each task's validation data, in term order"},
    {"warmup", "int", "100", "coba: steps with equal weights first"},
    {"history", "int", "200", "coba: validation losses each slope is fit to"},
    {"tau", "number", "5", "coba: temperature of the divergence factor"},
    {"every", "int", "1", "coba: steps between validations"},
};
static const P keyTokensParams[] = {
    {"of", "field", "", "a field listing the key spans"},
    {"weight", "number", "2", "loss weight of key tokens (others 1)"},
};
static const P diffWeightsParams[] = {
    {"against", "field", "", "the wrong version compared with the response"},
    {"lines", "number", "1", "extra weight on changed lines"},
    {"tokens", "number", "1", "extra weight on changed tokens"},
};

// --- optimizers and schedules ------------------------------------------------
static const P adamwParams[] = {
    {"lr", "number", "1e-3", "learning rate"},
    {"wd", "number", "0", "decoupled weight decay"},
    {"beta1", "number", "0.9", "first moment decay"},
    {"beta2", "number", "0.999", "second moment decay"},
    {"eps", "number", "1e-8", "denominator epsilon"},
    {"layer_decay", "number", "1",
     "layer-wise LR decay: lr x d^(L-1-i) in layer i of L, d^L for the "
     "embeddings, lr for the final norm and head"},
};
static const P sgdParams[] = {
    {"lr", "number", "", "learning rate"},
    {"momentum", "number", "0", "momentum"},
    {"wd", "number", "0", "weight decay"},
};
static const P constantParams[] = {
    {"warmup", "int", "0", "linear warm-up steps"}};
static const P linearParams[] = {
    {"warmup", "int", "0", "linear warm-up steps"},
    {"end", "fraction", "0", "final LR as a share of the peak"},
};
static const P cosineParams[] = {
    {"warmup", "int", "0", "linear warm-up steps"},
    {"min_lr", "fraction", "0", "final LR as a share of the peak"},
};

// --- generation, judges, pairs -----------------------------------------------
static const P generateParams[] = {
    {"m", "model", "", "the model (with its adapters)"},
    {"prompts", "column|data", "", "prompts: a column such as `d.prompt`"},
    {"n", "int", "1", "samples per prompt"},
    {"temperature", "number", "1", "0 means greedy"},
    {"top_k", "int", "0", "0 means no top-k cut"},
    {"top_p", "fraction", "1", "nucleus sampling mass"},
    {"max_tokens", "int", "64", "new tokens per sample"},
    {"stop", "list<string>", "[]", "stop strings"},
};
static const P judgeParams[] = {
    {"samples", "data", "", "generated samples"},
    {"by", "judge", "",
     "exec(...), exact(...), numeric(...), regex(...), "
     "likelihood(...) or reward(...)"},
};
static const P execParams[] = {
    {"command", "string|list<string>", "",
     "program and arguments (split on spaces; never run through a shell)"},
    {"timeout", "duration", "10s", "per-item time limit"},
    {"memory", "int", "1024", "per-process memory limit in MiB"},
    {"workers", "int", "2", "parallel judge processes"},
};
static const P numericParams[] = {
    {"of", "column|field", "", "reference answers"},
    {"tol", "number", "1e-6", "absolute tolerance"},
};
static const P regexJudgeParams[] = {
    {"pattern", "regex", "", "a sample passes when the pattern matches"}};
static const P hostJudgeParams[] = {
    {"registered", "string", "",
     "the name the host program registered it under"}};
static const P likelihoodParams[] = {
    {"m", "model", "", "scores each sample by its mean log-likelihood"},
    {"min", "number", "none",
     "passes samples scoring at least this (without it: every sample)"}};
static const P rewardParams[] = {
    {"m", "model", "", "a reward model; the score is read from its output"}};
static const P bestWorstParams[] = {
    {"judged", "data", "", "judged samples, several per prompt"},
    {"by", "field", ".score", "the score that ranks samples"},
};
static const P goldPairsParams[] = {
    {"gold", "data{prompt,response}", "", "reference answers (chosen)"},
    {"samples", "data", "", "the model's own samples (rejected)"},
};
static const P feedbackParams[] = {
    {"judged", "data", "", "judged samples"},
    {"format", "string", "",
     "training text with placeholders such as {prompt}, {sample}, {feedback}, "
     "{pass}"},
};

// --- metrics -----------------------------------------------------------------
static const P exactMatchParams[] = {
    {"predicted", "data|column", "", "generated samples"},
    {"reference", "column", "", "reference answers"},
};
static const P passRateParams[] = {{"judged", "data", "", "judged samples"}};
static const P lossMetricParams[] = {
    {"m", "model", "", "the model"},
    {"d", "data{text|prompt,response|messages}", "", "held-out records"},
};
static const P marginParams[] = {
    {"m", "model", "", "the policy"},
    {"d", "data{prompt,chosen,rejected}", "", "held-out pairs"},
    {"ref", "model", "none", "reference model (default: none)"},
};

static const Builtin builtins[] = {
    // models and tokenizers
    {"llama", "model", "model",
     "A Llama-family decoder (RMSNorm, RoPE, SwiGLU, grouped-query attention) "
     "built from arguments and initialised from the seed as transformers "
     "does.",
     llamaParams},
    {"gpt2", "model", "model",
     "A GPT-2 decoder (LayerNorm, learned positions, GELU) built from "
     "arguments.",
     gpt2Params},
    {"load", "model", "@load",
     "Loads a Hugging Face model folder (a model) or a PEFT adapter folder "
     "(an adapter).",
     loadParams},
    {"snapshot", "model", "model",
     "A frozen copy of a model's current weights (a reference policy).",
     snapshotParams},
    {"frozen", "model", "model",
     "A frozen reference to the model as it is now; for a model with "
     "adapters, the base with the adapters turned off.",
     snapshotParams},
    {"merge", "model", "model",
     "The model with adapters folded into its weights.", mergeParams},
    {"bytes", "tokenizer", "tokenizer",
     "UTF-8 bytes as tokens (ids 0-255) plus <bos>=256, <eos>=257, "
     "<pad>=258.",
     bytesParams},
    {"hf", "tokenizer", "tokenizer",
     "A Hugging Face tokenizer.json (byte-level BPE or SentencePiece-style "
     "BPE).",
     hfParams},
    // data sources
    {"jsonl", "data source", "@jsonl",
     "Records from a JSON-lines file, streamed.", jsonlParams},
    {"text", "data source", "data{text}",
     "Records with a `text` field from a text file.", textParams},
    {"mixture", "data source", "@mixture",
     "Samples named datasets with the given ratios, from the seed.",
     mixtureParams},
    // data operators
    {"filter", "data operator", "@same", "Keeps records where `pred` holds.",
     filterParams},
    {"select", "data operator", "@same",
     "Keeps records chosen by a model-scored predicate or a selection.",
     selectParams},
    {"map", "data operator", "@map", "Adds or replaces fields.", mapParams},
    {"template", "data operator", "@template",
     "Formats fields into one text field.", templateParams},
    {"dedup", "data operator", "@same",
     "Removes exact or near duplicates (MinHash-LSH), keeping the first.",
     dedupParams},
    {"shuffle", "data operator", "@same", "Shuffles records from the seed.",
     shuffleParams},
    {"split", "data operator", "@split",
     "Splits into named parts (`d.train`, `d.eval`), stable from the seed.",
     splitParams},
    {"take", "data operator", "@same", "The first n records.", takeParams},
    {"skip", "data operator", "@same", "All but the first n records.",
     takeParams},
    {"sample", "data operator", "@same", "A random share of the records.",
     sampleParams},
    {"chunk", "data operator", "@same",
     "Cuts text records into pieces of n tokens.", chunkParams},
    {"pack", "data operator", "@same",
     "Packs tokenized records into rows of `seq` tokens; documents never "
     "attend to each other.",
     packParams},
    {"tag", "data operator", "@tag",
     "Sets the `task` field (for task balancing).", tagParams},
    // record-level
    {"len", "record function", "@len", "Length of a string in characters.",
     lenParams},
    {"ntokens", "record function", "@len",
     "Length of a string in tokens of the pipeline's tokenizer.",
     ntokensParams},
    {"exact", "record function", "@exact",
     "Exact-match key for dedup, or an exact-match judge against references.",
     exactParams},
    {"minhash", "record function", "dedupkey",
     "MinHash signature of a text field for near-duplicate detection.",
     minhashParams},
    {"perplexity", "record function", "record<number>",
     "Each record's perplexity under a model.", perplexityParams},
    {"pct", "record function", "percentile",
     "A percentile of a score over the dataset.", pctParams},
    {"ot_gradient", "record function", "selection",
     "Selects records that move the training distribution towards a target "
     "(optimal transport on gradients).",
     otGradientParams},
    // adapters
    {"lora", "adapter", "adapter", "Low-rank adapter W + (alpha/r) B A.",
     loraParams},
    {"sparse", "adapter", "adapter",
     "Trains a chosen share of the entries of each selected tensor.",
     sparseParams},
    {"half", "adapter", "adapter",
     "Half fine-tuning: half of each layer's parameter groups train, "
     "re-chosen from the seed.",
     halfParams},
    {"prompt", "adapter", "adapter", "Soft prompt tuning.", promptParams},
    {"prefix", "adapter", "adapter", "Prefix tuning of keys and values.",
     prefixParams},
    {"bottleneck", "adapter", "adapter",
     "Bottleneck adapter (down, activation, up).", bottleneckParams},
    {"parallel", "adapter", "adapter", "Parallel adapter beside a sub-layer.",
     parallelParams},
    {"structured", "adapter", "adapter",
     "Structured sparse fine-tuning (S2FT): chosen heads and channels train "
     "as dense blocks.",
     structuredParams},
    {"random", "mask", "mask",
     "Random positions or entries: a sparse pick, or input masking for "
     "sft(mask: ...).",
     randomParams},
    {"magnitude", "mask", "mask", "Entries with the largest magnitude.",
     magnitudeParams},
    {"principal", "mask", "mask",
     "Entries largest in a rank-r approximation (LIFT).", principalParams},
    {"lottery", "mask", "mask",
     "Entries that moved most in a full fine-tuning since `from`; the model "
     "is then reset to `from` (LT-SFT).",
     lotteryParams},
    // objectives
    {"sft", "loss", "objective",
     "Cross-entropy on supervised tokens, with masks and token weights.",
     sftParams},
    {"lm", "loss", "objective", "Language modelling loss on raw text.",
     lmParams},
    {"dpo", "loss", "objective",
     "Direct preference optimisation against a reference.", dpoParams},
    {"unlikelihood", "loss", "objective",
     "Pushes down the likelihood of the given tokens.", unlikelihoodParams},
    {"kl", "loss", "objective",
     "KL(reference || model) of the next-token distributions, per token.",
     klParams},
    {"l2", "loss", "objective",
     "Squared L2 norm of parameters (or of their change).", l2Params},
    {"l1", "loss", "objective", "L1 norm of the change of parameters.",
     l1Params},
    {"balance", "loss", "objective",
     "Task-balanced sum of loss terms (MFTCoder, CoBa).", balanceParams},
    {"key_tokens", "token weighting", "tokweights",
     "Up-weights key tokens (TL-Training).", keyTokensParams},
    {"diff_weights", "token weighting", "tokweights",
     "Up-weights tokens that differ from a wrong version (FAIT).",
     diffWeightsParams},
    // optimizers and schedules
    {"adamw", "optimizer", "optimizer", "AdamW (PyTorch's formula).",
     adamwParams},
    {"sgd", "optimizer", "optimizer", "SGD with momentum.", sgdParams},
    {"constant", "schedule", "schedule", "Constant LR after warm-up.",
     constantParams},
    {"linear", "schedule", "schedule", "Linear decay after warm-up.",
     linearParams},
    {"cosine", "schedule", "schedule", "Cosine decay after warm-up.",
     cosineParams},
    // generation and judges
    {"generate", "generation", "@generate",
     "Samples completions from the current model (KV cache, seeded). Each "
     "record has `prompt`, `response` (the sample) and `sample_index`, plus "
     "the fields of the prompt's record, whose `response` is kept as "
     "`reference`.",
     generateParams},
    {"judge", "generation", "@judge",
     "Scores samples; the result has `score`, `pass`, `feedback` and the "
     "parts `pass` and `fail`.",
     judgeParams},
    {"exec", "judge", "judge",
     "An external judge program speaking JSON lines on stdin/stdout.",
     execParams},
    {"numeric", "judge", "judge", "Numeric match with a tolerance.",
     numericParams},
    {"regex", "judge", "judge", "Passes samples that match a pattern.",
     regexJudgeParams},
    {"host", "judge", "judge",
     "A judge the embedding host program registered (libftl registerJudge).",
     hostJudgeParams},
    {"likelihood", "judge", "judge", "A model's log-likelihood as the score.",
     likelihoodParams},
    {"reward", "judge", "judge", "A reward model's output as the score.",
     rewardParams},
    {"best_worst", "pair builder", "data{prompt,chosen,rejected}",
     "Best and worst sample of each prompt as a preference pair.",
     bestWorstParams},
    {"gold_pairs", "pair builder", "data{prompt,chosen,rejected}",
     "Gold answer (chosen) against the model's sample (rejected): SPIN.",
     goldPairsParams},
    {"with_feedback", "pair builder", "data{text}",
     "Training text that includes the judge's feedback (LeTI, Chain of "
     "Hindsight, FAFT).",
     feedbackParams},
    // metrics
    {"exact_match", "metric", "metric",
     "Share of samples equal to their reference.", exactMatchParams},
    {"pass_rate", "metric", "metric", "Share of judged samples that pass.",
     passRateParams},
    {"eval_loss", "metric", "metric", "Mean loss on held-out records.",
     lossMetricParams},
    {"margin", "metric", "metric",
     "Mean chosen-minus-rejected log-likelihood margin on held-out pairs.",
     marginParams},
};

llvm::ArrayRef<Builtin> ftl::lang::getBuiltins() { return builtins; }

const Builtin *ftl::lang::lookupBuiltin(StringRef name) {
  static const llvm::StringMap<const Builtin *> *index = [] {
    auto *map = new llvm::StringMap<const Builtin *>();
    for (const Builtin &b : builtins)
      (*map)[b.name] = &b;
    return map;
  }();
  auto it = index->find(name);
  return it == index->end() ? nullptr : it->second;
}

bool Builtin::isDataOperator() const { return category == "data operator"; }

std::string Builtin::signature() const {
  std::string out = name.str() + "(";
  bool first = true;
  for (const BuiltinParam &param : params) {
    if (!first)
      out += ", ";
    first = false;
    out += param.name.str() + ": " + param.type.str();
    if (!param.isRequired() && param.defaultValue != "none")
      out += " = " + param.defaultValue.str();
    else if (param.defaultValue == "none")
      out += "?";
  }
  out += ")";
  StringRef shown = result.starts_with("@") ? StringRef("...") : result;
  if (result == "@same")
    shown = "data";
  out += " -> " + shown.str();
  return out;
}

void ftl::lang::writeBuiltinReference(llvm::raw_ostream &os) {
  os << "# ftl built-in reference\n\n"
     << "Generated by `ftl doc` from the signature table in "
        "`lang/lib/Builtins.cpp`; do not edit by hand.\n"
     << "A parameter written `name?` is optional without a default; `*name` "
        "takes the remaining positional arguments and `**name` any other "
        "keyword arguments.\n";
  std::vector<StringRef> categories;
  for (const Builtin &b : builtins)
    if (!llvm::is_contained(categories, b.category))
      categories.push_back(b.category);
  for (StringRef category : categories) {
    os << "\n## " << category << "\n";
    for (const Builtin &b : builtins) {
      if (b.category != category)
        continue;
      os << "\n### `" << b.name << "`\n\n"
         << "`" << b.signature() << "`\n\n"
         << b.doc << "\n";
      if (b.params.empty())
        continue;
      os << "\n| parameter | type | default | meaning |\n"
         << "|---|---|---|---|\n";
      for (const BuiltinParam &p : b.params) {
        std::string type = p.type.str();
        for (size_t i = 0; (i = type.find('|', i)) != std::string::npos; i += 2)
          type.replace(i, 1, "\\|");
        os << "| `" << p.name << "` | `" << type << "` | "
           << (p.isRequired()             ? StringRef("required")
               : p.defaultValue == "none" ? StringRef("-")
                                          : p.defaultValue)
           << " | " << p.doc << " |\n";
      }
    }
  }
}
