//===- Decoder.cpp - Batched transformer steps over a KV cache ------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "Decoder.h"
#include "Attend.h"
#include "RowGemm.h"

#include "ftl/Kernels/Gemm.h"
#include "ftl/Kernels/ThreadPool.h"

#include "llvm/ADT/STLExtras.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstring>

using namespace ftl::rt;
using namespace ftl::rt::detail;
using ftl::kernels::Trans;

//===----------------------------------------------------------------------===//
// Resolving a model view
//===----------------------------------------------------------------------===//

namespace {

llvm::Error fail(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

const float *dataOf(const ModelWeights &weights, llvm::StringRef name) {
  const Tensor *t = weights.find(name);
  return t ? t->dataAs<const float>() : nullptr;
}

LinearRef linearOf(const ModelWeights &weights, const std::string &prefix,
                   int64_t out, int64_t in, bool hasBias) {
  LinearRef l;
  l.weight = dataOf(weights, prefix + ".weight");
  l.bias = hasBias ? dataOf(weights, prefix + ".bias") : nullptr;
  l.out = out;
  l.in = in;
  return l;
}

llvm::Error attachLora(llvm::StringRef name, const LoraDelta &delta,
                       LinearRef &l) {
  std::string where = ("lora delta '" + name + "'").str();
  if (!delta.A || !delta.B)
    return fail(where + ": both A and B must be given, found " +
                (delta.A   ? "no B"
                 : delta.B ? "no A"
                           : "neither"));
  for (auto [label, t] : {std::pair<const char *, const Tensor *>{"A", delta.A},
                          {"B", delta.B}}) {
    if (!t->valid())
      return fail(where + ": " + label + " is an empty tensor handle");
    if (t->dtype() != DType::F32)
      return fail(where + ": " + label + " must be F32, found " +
                  dtypeName(t->dtype()));
    if (t->rank() != 2)
      return fail(where + ": " + label + " must be a matrix, found shape " +
                  formatShape(t->shape()));
  }
  int64_t rank = delta.A->dim(0);
  if (rank < 1 || delta.A->dim(1) != l.in)
    return fail(where + ": A must have shape [r, " + llvm::Twine(l.in) +
                "] (r >= 1, " + llvm::Twine(l.in) +
                " = the layer's input size), found " +
                formatShape(delta.A->shape()));
  if (delta.B->dim(0) != l.out || delta.B->dim(1) != rank)
    return fail(where + ": B must have shape [" + llvm::Twine(l.out) + ", " +
                llvm::Twine(rank) + "] (the layer's output size, A's rank), " +
                "found " + formatShape(delta.B->shape()));
  if (!std::isfinite(delta.scale))
    return fail(where + ": the scale must be finite, found " +
                (std::isnan(delta.scale) ? "nan"
                 : delta.scale > 0       ? "inf"
                                         : "-inf"));
  l.loraA = delta.A->dataAs<const float>();
  l.loraB = delta.B->dataAs<const float>();
  l.rank = rank;
  l.scale = delta.scale;
  return llvm::Error::success();
}

} // namespace

std::array<std::pair<const char *, LinearRef *>, 7>
ftl::rt::detail::namedLinears(LayerRef &L) {
  return {{{"attn.q", &L.q},
           {"attn.k", &L.k},
           {"attn.v", &L.v},
           {"attn.o", &L.o},
           {"mlp.gate", &L.gate},
           {"mlp.up", &L.up},
           {"mlp.down", &L.down}}};
}

llvm::Expected<ResolvedModel>
ftl::rt::detail::resolveModel(const ModelView &view) {
  if (!view.config)
    return fail("the model view has no config (ModelView::config is null)");
  if (!view.weights)
    return fail("the model view has no weights (ModelView::weights is null)");
  const ModelConfig &c = *view.config;
  if (llvm::Error err = validateModelConfig(c, "model"))
    return std::move(err);
  if (llvm::Error err = checkModelWeights(c, *view.weights))
    return std::move(err);

  const ModelWeights &w = *view.weights;
  ResolvedModel m;
  m.config = &c;
  m.embed = dataOf(w, "embed.weight");
  m.posEmbed =
      c.hasPositionEmbedding() ? dataOf(w, "pos_embed.weight") : nullptr;
  m.finalNormWeight = dataOf(w, "final_norm.weight");
  m.finalNormBias = c.normHasBias() ? dataOf(w, "final_norm.bias") : nullptr;
  const int64_t qDim = c.heads * c.headDim, kvDim = c.kvHeads * c.headDim;
  llvm::StringMap<LinearRef *> linears;
  m.layers.resize(c.layers);
  for (int64_t i = 0; i < c.layers; ++i) {
    LayerRef &L = m.layers[i];
    std::string p = "layers." + std::to_string(i) + ".";
    L.attnNormWeight = dataOf(w, p + "attn_norm.weight");
    L.mlpNormWeight = dataOf(w, p + "mlp_norm.weight");
    if (c.normHasBias()) {
      L.attnNormBias = dataOf(w, p + "attn_norm.bias");
      L.mlpNormBias = dataOf(w, p + "mlp_norm.bias");
    }
    L.q = linearOf(w, p + "attn.q", qDim, c.dim, c.qkvBias);
    L.k = linearOf(w, p + "attn.k", kvDim, c.dim, c.qkvBias);
    L.v = linearOf(w, p + "attn.v", kvDim, c.dim, c.qkvBias);
    L.o = linearOf(w, p + "attn.o", c.dim, qDim, c.oBias);
    if (c.hasGate())
      L.gate = linearOf(w, p + "mlp.gate", c.ffn, c.dim, c.mlpBias);
    L.up = linearOf(w, p + "mlp.up", c.ffn, c.dim, c.mlpBias);
    L.down = linearOf(w, p + "mlp.down", c.dim, c.ffn, c.mlpBias);
    for (auto [name, ref] : namedLinears(L))
      if (ref->weight)
        linears[p + name + ".weight"] = ref;
  }
  if (c.tiedEmbeddings) {
    m.head.weight = m.embed;
    m.head.out = c.vocab;
    m.head.in = c.dim;
  } else {
    m.head = linearOf(w, "head", c.vocab, c.dim, false);
    linears["head.weight"] = &m.head;
  }

  // Deterministic error order whatever the map's hashing.
  std::vector<llvm::StringRef> names;
  for (const auto &entry : view.lora)
    names.push_back(entry.getKey());
  llvm::sort(names);
  for (llvm::StringRef name : names) {
    auto it = linears.find(name);
    if (it == linears.end())
      return fail("lora delta '" + name +
                  "' names no linear layer of the model (expected a "
                  "canonical weight name such as 'layers.0.attn.q.weight'" +
                  (c.tiedEmbeddings ? "; the head of a tied model cannot "
                                      "take a delta"
                                    : "") +
                  ")");
    if (llvm::Error err =
            attachLora(name, view.lora.find(name)->second, *it->second))
      return std::move(err);
    m.maxRank = std::max(m.maxRank, it->second->rank);
  }
  for (const BlockAdapterDelta &d : view.blocks) {
    if (d.layer < 0 || d.layer >= c.layers)
      return fail("a block adapter names layer " + llvm::Twine(d.layer) +
                  " of a " + llvm::Twine(c.layers) + "-layer model");
    auto ref = [&](const Tensor *t, int64_t rows, int64_t cols,
                   const char *what) -> llvm::Expected<const float *> {
      if (!t || t->numel() != rows * std::max<int64_t>(cols, 1))
        return fail(llvm::Twine("a block adapter's ") + what +
                    " has the wrong size");
      return t->dataAs<const float>();
    };
    int64_t r = d.downWeight ? d.downWeight->dim(0) : 0;
    BlockRef b;
    b.scale = d.scale;
    b.serial = d.serial;
    b.act = d.act == "gelu" ? 1 : d.act == "silu" ? 2 : 0;
    auto dw = ref(d.downWeight, r, c.dim, "down weight");
    auto db = ref(d.downBias, r, 0, "down bias");
    auto uw = ref(d.upWeight, c.dim, r, "up weight");
    auto ub = ref(d.upBias, c.dim, 0, "up bias");
    if (!dw || !db || !uw || !ub) {
      llvm::Error e =
          llvm::joinErrors(llvm::joinErrors(dw.takeError(), db.takeError()),
                           llvm::joinErrors(uw.takeError(), ub.takeError()));
      return std::move(e);
    }
    b.down.weight = *dw;
    b.down.bias = *db;
    b.down.out = r;
    b.down.in = c.dim;
    b.up.weight = *uw;
    b.up.bias = *ub;
    b.up.out = c.dim;
    b.up.in = r;
    LayerRef &L = m.layers[d.layer];
    (d.mlp ? L.mlpBlocks : L.attnBlocks).push_back(b);
    m.maxBlockHidden = std::max(m.maxBlockHidden, r);
  }
  const ModelView::VirtualTokens &vt = view.virtualTokens;
  if (vt.count > 0) {
    auto check = [&](const Tensor *t, int64_t cols,
                     const char *what) -> llvm::Expected<const float *> {
      if (!t || t->dtype() != DType::F32 || t->rank() != 2 ||
          t->dim(0) != vt.count || t->dim(1) != cols)
        return fail(llvm::Twine("virtual tokens: the ") + what +
                    " must be F32 [" + llvm::Twine(vt.count) + ", " +
                    llvm::Twine(cols) + "]");
      return t->dataAs<const float>();
    };
    m.virtualTokens = vt.count;
    if (vt.prompt) {
      auto p = check(vt.prompt, c.dim, "prompt embeddings");
      if (!p)
        return p.takeError();
      m.prompt = *p;
    }
    if (!vt.keys.empty() || !vt.values.empty()) {
      if (int64_t(vt.keys.size()) != c.layers ||
          int64_t(vt.values.size()) != c.layers)
        return fail("virtual tokens: a prefix needs keys and values for "
                    "every layer");
      for (int64_t l = 0; l < c.layers; ++l) {
        auto k = check(vt.keys[l], c.kvHeads * c.headDim, "prefix keys");
        if (!k)
          return k.takeError();
        auto v = check(vt.values[l], c.kvHeads * c.headDim, "prefix values");
        if (!v)
          return v.takeError();
        m.prefixKeys.push_back(*k);
        m.prefixValues.push_back(*v);
      }
    }
  }
  return m;
}

//===----------------------------------------------------------------------===//
// Row operations
//===----------------------------------------------------------------------===//

namespace {

void rmsNormRow(int64_t dim, const float *x, const float *weight, float eps,
                float *y) {
  double ss = 0;
  for (int64_t i = 0; i < dim; ++i)
    ss += static_cast<double>(x[i]) * x[i];
  float rstd = static_cast<float>(1.0 / std::sqrt(ss / dim + eps));
  for (int64_t i = 0; i < dim; ++i)
    y[i] = weight[i] * (x[i] * rstd);
}

void layerNormRow(int64_t dim, const float *x, const float *weight,
                  const float *bias, float eps, float *y) {
  double sum = 0;
  for (int64_t i = 0; i < dim; ++i)
    sum += x[i];
  double mean = sum / dim, var = 0;
  for (int64_t i = 0; i < dim; ++i) {
    double d = x[i] - mean;
    var += d * d;
  }
  float rstd = static_cast<float>(1.0 / std::sqrt(var / dim + eps));
  float m = static_cast<float>(mean);
  for (int64_t i = 0; i < dim; ++i)
    y[i] = (x[i] - m) * rstd * weight[i] + bias[i];
}

/// Rough flop count below which waking the pool costs more than it saves
/// (the same bound as sgemm's, 64^3).
constexpr double kParallelWork = 1 << 18;

} // namespace

//===----------------------------------------------------------------------===//
// Decoder
//===----------------------------------------------------------------------===//

struct Decoder::Buffers {
  std::unique_ptr<float[]> keys, values; // the cache
  std::vector<float> x, h, q, k, v, att, gate, up, loraTmp, finalHidden, logits,
      scores, blockIn, blockHidden, blockOut;
  std::vector<float> cosTable, sinTable; // [capacity, headDim / 2]
};

Decoder::Decoder(const ResolvedModel &model, int64_t slots, int64_t capacity,
                 int64_t maxStepTokens, int64_t maxLogitRows,
                 kernels::ThreadPool *pool)
    : model(model), config(*model.config), numSlots(slots), cap(capacity),
      maxTokens(maxStepTokens), maxLogits(maxLogitRows), pool(pool),
      threads(pool ? std::max(1, pool->numThreads()) : 1),
      isa(kernels::detectKernelIsa()), buf(std::make_unique<Buffers>()) {
  const ModelConfig &c = config;
  const int64_t hd = c.headDim, qDim = c.heads * hd, kvDim = c.kvHeads * hd;
  const size_t cacheSize =
      static_cast<size_t>(c.layers * slots * c.kvHeads) * cap * hd;
  // Not zeroed: a position is always written before it is read.
  buf->keys.reset(new float[cacheSize]);
  buf->values.reset(new float[cacheSize]);
  auto sized = [](std::vector<float> &v, int64_t n) {
    v.assign(static_cast<size_t>(std::max<int64_t>(n, 1)), 0.0f);
  };
  const int64_t T = maxTokens;
  sized(buf->x, T * c.dim);
  sized(buf->h, T * c.dim);
  sized(buf->q, T * qDim);
  sized(buf->k, T * kvDim);
  sized(buf->v, T * kvDim);
  sized(buf->att, T * qDim);
  sized(buf->gate, T * c.ffn);
  sized(buf->up, T * c.ffn);
  sized(buf->loraTmp, T * model.maxRank);
  sized(buf->blockIn, model.maxBlockHidden ? T * c.dim : 0);
  sized(buf->blockHidden, T * model.maxBlockHidden);
  sized(buf->blockOut, model.maxBlockHidden ? T * c.dim : 0);
  sized(buf->finalHidden, maxLogits * c.dim);
  sized(buf->logits, maxLogits * c.vocab);
  sized(buf->scores, threads * (c.heads / c.kvHeads) * cap);

  if (!c.isGPT2()) {
    // Hugging Face's default rotary embedding: inverse frequencies and the
    // angles are fp32 values (as torch computes them), cos/sin rounded once.
    const int64_t half = hd / 2;
    buf->cosTable.resize(static_cast<size_t>(cap * half));
    buf->sinTable.resize(static_cast<size_t>(cap * half));
    std::vector<float> invFreq(static_cast<size_t>(half));
    for (int64_t j = 0; j < half; ++j) {
      float exponent = static_cast<float>(2 * j) / static_cast<float>(hd);
      float power = static_cast<float>(
          std::pow(static_cast<double>(static_cast<float>(c.ropeTheta)),
                   static_cast<double>(exponent)));
      invFreq[j] = 1.0f / power;
    }
    for (int64_t p = 0; p < cap; ++p)
      for (int64_t j = 0; j < half; ++j) {
        float angle = static_cast<float>(p) * invFreq[j];
        buf->cosTable[p * half + j] =
            static_cast<float>(std::cos(static_cast<double>(angle)));
        buf->sinTable[p * half + j] =
            static_cast<float>(std::sin(static_cast<double>(angle)));
      }
  }
}

Decoder::~Decoder() = default;

float *Decoder::cacheK(int64_t layer, int64_t slot, int64_t kvHead) const {
  return buf->keys.get() +
         ((layer * numSlots + slot) * config.kvHeads + kvHead) * cap *
             config.headDim;
}

float *Decoder::cacheV(int64_t layer, int64_t slot, int64_t kvHead) const {
  return buf->values.get() +
         ((layer * numSlots + slot) * config.kvHeads + kvHead) * cap *
             config.headDim;
}

void Decoder::readCache(int64_t layer, int64_t slot, int64_t length,
                        float *keys, float *values) const {
  const int64_t hd = config.headDim, kvDim = config.kvHeads * hd;
  for (int64_t h = 0; h < config.kvHeads; ++h) {
    const float *k = cacheK(layer, slot, h), *v = cacheV(layer, slot, h);
    for (int64_t p = 0; p < length; ++p) {
      std::copy(k + p * hd, k + (p + 1) * hd, keys + p * kvDim + h * hd);
      std::copy(v + p * hd, v + (p + 1) * hd, values + p * kvDim + h * hd);
    }
  }
}

const float *Decoder::logits(int64_t row) const {
  return buf->logits.data() + row * config.vocab;
}

void Decoder::parallel(int64_t n, double work,
                       llvm::function_ref<void(int64_t, int64_t)> fn) const {
  if (n <= 0)
    return;
  if (!pool || threads <= 1 || n == 1 || work < kParallelWork)
    fn(0, n);
  else
    pool->parallelFor(n, fn);
}

void Decoder::copyPrefix(int64_t fromSlot, int64_t toSlot, int64_t length) {
  if (fromSlot == toSlot || length <= 0)
    return;
  const size_t bytes =
      static_cast<size_t>(length * config.headDim) * sizeof(float);
  for (int64_t l = 0; l < config.layers; ++l)
    for (int64_t h = 0; h < config.kvHeads; ++h) {
      std::memcpy(cacheK(l, toSlot, h), cacheK(l, fromSlot, h), bytes);
      std::memcpy(cacheV(l, toSlot, h), cacheV(l, fromSlot, h), bytes);
    }
}

void Decoder::embed(llvm::ArrayRef<StepToken> tokens) {
  const int64_t dim = config.dim;
  parallel(static_cast<int64_t>(tokens.size()), 2.0 * tokens.size() * dim,
           [&](int64_t begin, int64_t end) {
             for (int64_t t = begin; t < end; ++t) {
               float *x = buf->x.data() + t * dim;
               if (tokens[t].id < 0) { // a virtual token
                 int64_t slot = -1 - int64_t(tokens[t].id);
                 if (model.prompt)
                   std::memcpy(x, model.prompt + slot * dim,
                               dim * sizeof(float));
                 else
                   std::fill(x, x + dim, 0.0f);
               } else {
                 std::memcpy(x, model.embed + tokens[t].id * dim,
                             dim * sizeof(float));
               }
               if (model.posEmbed) {
                 const float *p = model.posEmbed + tokens[t].pos * dim;
                 for (int64_t i = 0; i < dim; ++i)
                   x[i] += p[i];
               }
             }
           });
}

void Decoder::norm(int64_t T, const float *x, const float *weight,
                   const float *bias, float *y) const {
  const int64_t dim = config.dim;
  const float eps = static_cast<float>(config.normEps);
  const bool layerNorm = config.normHasBias();
  parallel(T, 6.0 * T * dim, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      if (layerNorm)
        layerNormRow(dim, x + t * dim, weight, bias, eps, y + t * dim);
      else
        rmsNormRow(dim, x + t * dim, weight, eps, y + t * dim);
    }
  });
}

void Decoder::linear(const LinearRef &l, int64_t T, int64_t vectorRows,
                     const float *x, float *y, bool accumulate) {
  if (onLinearInput)
    onLinearInput(l, T, x);
  bool add = accumulate;
  if (l.bias && !accumulate) {
    // y = bias + x W^T, rounded as (x W^T) + b.
    for (int64_t t = 0; t < T; ++t)
      std::memcpy(y + t * l.out, l.bias, l.out * sizeof(float));
    add = true;
  }
  const int64_t V = std::min(vectorRows, T), G = T - V;
  rowGemm(isa, V, l.out, l.in, 1.0f, x, l.in, l.weight, l.in, add, y, l.out,
          pool);
  kernels::sgemm(Trans::No, Trans::Yes, G, l.out, l.in, 1.0f, x + V * l.in,
                 l.in, l.weight, l.in, add ? 1.0f : 0.0f, y + V * l.out, l.out,
                 pool);
  if (l.bias && accumulate)
    parallel(T, 1.0 * T * l.out, [&](int64_t begin, int64_t end) {
      for (int64_t t = begin; t < end; ++t)
        for (int64_t i = 0; i < l.out; ++i)
          y[t * l.out + i] += l.bias[i];
    });
  if (l.loraA) {
    float *tmp = buf->loraTmp.data();
    rowGemm(isa, V, l.rank, l.in, 1.0f, x, l.in, l.loraA, l.in, false, tmp,
            l.rank, pool);
    rowGemm(isa, V, l.out, l.rank, l.scale, tmp, l.rank, l.loraB, l.rank, true,
            y, l.out, pool);
    kernels::sgemm(Trans::No, Trans::Yes, G, l.rank, l.in, 1.0f, x + V * l.in,
                   l.in, l.loraA, l.in, 0.0f, tmp + V * l.rank, l.rank, pool);
    kernels::sgemm(Trans::No, Trans::Yes, G, l.out, l.rank, l.scale,
                   tmp + V * l.rank, l.rank, l.loraB, l.rank, 1.0f,
                   y + V * l.out, l.out, pool);
  }
}

void Decoder::rope(llvm::ArrayRef<StepToken> tokens, float *x, int64_t heads) {
  const int64_t hd = config.headDim, half = hd / 2;
  parallel(static_cast<int64_t>(tokens.size()),
           4.0 * tokens.size() * heads * hd, [&](int64_t begin, int64_t end) {
             for (int64_t t = begin; t < end; ++t) {
               const float *cs = buf->cosTable.data() + tokens[t].pos * half;
               const float *sn = buf->sinTable.data() + tokens[t].pos * half;
               for (int64_t h = 0; h < heads; ++h) {
                 float *a = x + (t * heads + h) * hd, *b = a + half;
                 for (int64_t i = 0; i < half; ++i) {
                   float x1 = a[i], x2 = b[i];
                   // q * cos + rotate_half(q) * sin, as transformers.
                   a[i] = x1 * cs[i] + (-x2) * sn[i];
                   b[i] = x2 * cs[i] + x1 * sn[i];
                 }
               }
             }
           });
}

void Decoder::storeKv(int64_t layer, llvm::ArrayRef<StepToken> tokens) {
  const int64_t hd = config.headDim, kvh = config.kvHeads;
  const size_t bytes = static_cast<size_t>(hd) * sizeof(float);
  const bool prefix = !model.prefixKeys.empty();
  for (size_t t = 0; t < tokens.size(); ++t)
    for (int64_t h = 0; h < kvh; ++h) {
      const float *k = buf->k.data() + (static_cast<int64_t>(t) * kvh + h) * hd;
      const float *v = buf->v.data() + (static_cast<int64_t>(t) * kvh + h) * hd;
      if (prefix && tokens[t].id < 0) { // a prefix slot's trained values
        const int64_t row = (-1 - int64_t(tokens[t].id)) * kvh * hd + h * hd;
        k = model.prefixKeys[layer] + row;
        v = model.prefixValues[layer] + row;
      }
      std::memcpy(cacheK(layer, tokens[t].slot, h) + tokens[t].pos * hd, k,
                  bytes);
      std::memcpy(cacheV(layer, tokens[t].slot, h) + tokens[t].pos * hd, v,
                  bytes);
    }
}

void Decoder::attend(int64_t layer, llvm::ArrayRef<StepToken> tokens) {
  const ModelConfig &c = config;
  const int64_t hd = c.headDim, kvh = c.kvHeads, group = c.heads / kvh;
  const int64_t qDim = c.heads * hd;
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  const int64_t items = static_cast<int64_t>(tokens.size()) * kvh;
  double work = 0;
  for (const StepToken &t : tokens)
    work += 4.0 * (t.pos + 1) * hd * c.heads;

  // Item (t, h): the `group` query heads of token t that read kv head h.
  auto attendItem = [&](int64_t item, float *scores) {
    const int64_t t = item / kvh, h = item % kvh;
    const StepToken &tok = tokens[t];
    const int64_t offset = t * qDim + h * group * hd;
    attendCached(isa, tok.pos + 1, hd, group, scale, buf->q.data() + offset,
                 cacheK(layer, tok.slot, h), cacheV(layer, tok.slot, h), scores,
                 cap, buf->att.data() + offset);
  };

  // One chunk per thread, each with its own score rows; items are dealt
  // round robin (later positions cost more), and no item depends on which
  // thread runs it.
  const int64_t workers =
      pool && threads > 1 && items > 1 && work >= kParallelWork
          ? std::min<int64_t>(threads, items)
          : 1;
  auto run = [&](int64_t worker) {
    float *scores = buf->scores.data() + worker * group * cap;
    for (int64_t item = worker; item < items; item += workers)
      attendItem(item, scores);
  };
  if (workers == 1)
    run(0);
  else
    pool->parallelFor(workers, [&](int64_t begin, int64_t end) {
      for (int64_t w = begin; w < end; ++w)
        run(w);
    });
}

void Decoder::mlpActivation(int64_t T) {
  const int64_t n = T * config.ffn;
  float *g = buf->gate.data();
  const float *u = buf->up.data();
  if (config.hasGate()) {
    parallel(n, 8.0 * n, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) {
        float x = g[i];
        g[i] = x / (1.0f + std::exp(-x)) * u[i];
      }
    });
    return;
  }
  // GPT-2: tanh-approximated GELU of the up projection, into `gate`.
  const float k0 = 0.7978845608028654f; // sqrt(2 / pi)
  parallel(n, 12.0 * n, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      float x = u[i];
      g[i] = 0.5f * x * (1.0f + std::tanh(k0 * (x + 0.044715f * x * x * x)));
    }
  });
}

void Decoder::lmHead(llvm::ArrayRef<StepToken> tokens, int64_t decodeTokens) {
  int64_t rows = 0, vectorRows = 0;
  for (size_t t = 0; t < tokens.size(); ++t) {
    rows = std::max<int64_t>(rows, tokens[t].logitsRow + 1);
    if (static_cast<int64_t>(t) < decodeTokens && tokens[t].logitsRow >= 0)
      vectorRows = std::max<int64_t>(vectorRows, tokens[t].logitsRow + 1);
  }
  if (rows == 0)
    return;
  assert(rows <= maxLogits && "logits row out of range");
  const int64_t dim = config.dim;
  const float eps = static_cast<float>(config.normEps);
  for (size_t t = 0; t < tokens.size(); ++t) {
    if (tokens[t].logitsRow < 0)
      continue;
    const float *x = buf->x.data() + t * dim;
    float *y = buf->finalHidden.data() + tokens[t].logitsRow * dim;
    if (config.normHasBias())
      layerNormRow(dim, x, model.finalNormWeight, model.finalNormBias, eps, y);
    else
      rmsNormRow(dim, x, model.finalNormWeight, eps, y);
  }
#ifndef NDEBUG
  for (size_t t = 0; t < tokens.size(); ++t)
    assert((static_cast<int64_t>(t) < decodeTokens || tokens[t].logitsRow < 0 ||
            tokens[t].logitsRow >= vectorRows) &&
           "decode tokens' logits rows must come first");
#endif
  linear(model.head, rows, vectorRows, buf->finalHidden.data(),
         buf->logits.data(), /*accumulate=*/false);
}

void Decoder::step(llvm::ArrayRef<StepToken> tokens, int64_t decodeTokens) {
  const int64_t T = static_cast<int64_t>(tokens.size());
  if (T == 0)
    return;
  assert(T <= maxTokens && "too many tokens for one step");
  const int64_t D = std::min(decodeTokens, T);
  const ModelConfig &c = config;
  float *x = buf->x.data(), *h = buf->h.data();
  embed(tokens);
  for (int64_t l = 0; l < c.layers; ++l) {
    const LayerRef &L = model.layers[l];
    norm(T, x, L.attnNormWeight, L.attnNormBias, h);
    linear(L.q, T, D, h, buf->q.data(), false);
    linear(L.k, T, D, h, buf->k.data(), false);
    linear(L.v, T, D, h, buf->v.data(), false);
    if (!c.isGPT2()) {
      rope(tokens, buf->q.data(), c.heads);
      rope(tokens, buf->k.data(), c.kvHeads);
    }
    storeKv(l, tokens);
    attend(l, tokens);
    if (L.attnBlocks.empty()) {
      linear(L.o, T, D, buf->att.data(), x, /*accumulate=*/true);
    } else { // the sub-layer's output first: serial modules read it
      float *out = buf->blockOut.data();
      linear(L.o, T, D, buf->att.data(), out, false);
      blockAdapters(L.attnBlocks, T, D, h, out);
      for (int64_t i = 0; i < T * c.dim; ++i)
        x[i] += out[i];
    }
    norm(T, x, L.mlpNormWeight, L.mlpNormBias, h);
    if (c.hasGate())
      linear(L.gate, T, D, h, buf->gate.data(), false);
    linear(L.up, T, D, h, buf->up.data(), false);
    mlpActivation(T);
    if (L.mlpBlocks.empty()) {
      linear(L.down, T, D, buf->gate.data(), x, /*accumulate=*/true);
    } else {
      float *out = buf->blockOut.data();
      linear(L.down, T, D, buf->gate.data(), out, false);
      blockAdapters(L.mlpBlocks, T, D, h, out);
      for (int64_t i = 0; i < T * c.dim; ++i)
        x[i] += out[i];
    }
  }
  lmHead(tokens, D);
}

void Decoder::blockAdapters(llvm::ArrayRef<BlockRef> blocks, int64_t T,
                            int64_t D, const float *in, float *out) {
  const int64_t dim = config.dim;
  for (const BlockRef &b : blocks) {
    const float *z = in;
    if (b.serial) { // a copy: `out` changes while it is read
      std::copy(out, out + T * dim, buf->blockIn.begin());
      z = buf->blockIn.data();
    }
    float *hid = buf->blockHidden.data();
    linear(b.down, T, D, z, hid, false);
    const int64_t n = T * b.down.out;
    for (int64_t i = 0; i < n; ++i) {
      float v = hid[i];
      if (b.act == 0) {
        v = 0.5f * (v + std::fabs(v));
      } else if (b.act == 2) {
        v = v / (1.0f + std::exp(-v));
      } else {
        float inner = 0.7978845608028654f * (v + 0.044715f * v * v * v);
        v = 0.5f * v * (1.0f + std::tanh(inner));
      }
      hid[i] = v;
    }
    float *up = buf->blockIn.data(); // free again once down has read it
    linear(b.up, T, D, hid, up, false);
    for (int64_t i = 0; i < T * dim; ++i)
      out[i] += b.scale * up[i];
  }
}
