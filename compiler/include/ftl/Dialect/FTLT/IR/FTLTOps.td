//===- FTLTOps.td - Operations of the ftlt dialect ---------*- tablegen -*-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#ifndef FTL_DIALECT_FTLT_IR_FTLTOPS_TD
#define FTL_DIALECT_FTLT_IR_FTLTOPS_TD

include "ftl/Dialect/FTLT/IR/FTLTDialect.td"
include "ftl/Dialect/FTLT/IR/FTLTInterfaces.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/IR/OpBase.td"

def FTLT_F32 : TensorOf<[F32]>;
def FTLT_I32 : TensorOf<[I32]>;
def FTLT_F32Scalar : 0DTensorOf<[F32]>;

class FTLT_Pure<string mnemonic, list<Trait> traits = []>
    : FTLT_Op<mnemonic, !listconcat([Pure], traits)>;

class FTLT_Diff<string mnemonic, list<Trait> traits = []>
    : FTLT_Pure<mnemonic, !listconcat([
        DeclareOpInterfaceMethods<FTLT_DifferentiableOpInterface>], traits)>;

class FTLT_Fusible<string mnemonic, list<Trait> traits = []>
    : FTLT_Pure<mnemonic, !listconcat([
        DeclareOpInterfaceMethods<FTLT_FusibleOpInterface>], traits)>;

class FTLT_DiffFusible<string mnemonic, list<Trait> traits = []>
    : FTLT_Pure<mnemonic, !listconcat([
        DeclareOpInterfaceMethods<FTLT_DifferentiableOpInterface>,
        DeclareOpInterfaceMethods<FTLT_FusibleOpInterface>], traits)>;

//===----------------------------------------------------------------------===//
// Model layers (forward)
//===----------------------------------------------------------------------===//

def FTLT_EmbeddingOp : FTLT_Diff<"embedding"> {
  let summary = "rows of a table selected by ids";
  let description = [{
    `result[i] = table[ids[i]]`.

    ```mlir
    %h = ftlt.embedding %table, %ids : tensor<512x64xf32>, tensor<128xi32> -> tensor<128x64xf32>
    ```
  }];
  let arguments = (ins FTLT_F32:$table, FTLT_I32:$ids);
  let results = (outs FTLT_F32:$result);
  let assemblyFormat =
      "$table `,` $ids attr-dict `:` type($table) `,` type($ids) `->` type($result)";
  let hasVerifier = 1;
}

def FTLT_LinearOp : FTLT_Diff<"linear"> {
  let summary = "x W^T (+ b), the nn.Linear layout";
  let description = [{
    `x` is [N, K], `weight` is [M, K], `bias` [M]; the result is [N, M].
    Runs as a GEMM.

    ```mlir
    %y = ftlt.linear %x, %w : tensor<128x64xf32>, tensor<256x64xf32> -> tensor<128x256xf32>
    ```
  }];
  let arguments = (ins FTLT_F32:$x, FTLT_F32:$weight,
                       Optional<FTLT_F32>:$bias);
  let results = (outs FTLT_F32:$result);
  let assemblyFormat = [{
    $x `,` $weight (`bias` $bias^)? attr-dict `:` type($x) `,` type($weight)
    (`,` type($bias)^)? `->` type($result)
  }];
  let hasVerifier = 1;
}

def FTLT_RmsNormOp : FTLT_DiffFusible<"rms_norm"> {
  let summary = "RMSNorm over each row";
  let description = [{
    `y = x / sqrt(mean(x^2) + eps) * weight`, per row.

    ```mlir
    %y = ftlt.rms_norm %x, %w {eps = 1.0e-05 : f64} : tensor<128x64xf32>, tensor<64xf32> -> tensor<128x64xf32>
    ```
  }];
  let arguments = (ins FTLT_F32:$x, FTLT_F32:$weight, F64Attr:$eps);
  let results = (outs FTLT_F32:$result);
  let assemblyFormat =
      "$x `,` $weight attr-dict `:` type($x) `,` type($weight) `->` type($result)";
  let hasVerifier = 1;
}

def FTLT_LayerNormOp : FTLT_DiffFusible<"layer_norm"> {
  let summary = "LayerNorm over each row";
  let description = [{
    `y = (x - mean) / sqrt(var + eps) * weight + bias`, per row.

    ```mlir
    %y = ftlt.layer_norm %x, %w, %b {eps = 1.0e-05 : f64} : tensor<128x64xf32>, tensor<64xf32>, tensor<64xf32> -> tensor<128x64xf32>
    ```
  }];
  let arguments = (ins FTLT_F32:$x, FTLT_F32:$weight, FTLT_F32:$bias,
                       F64Attr:$eps);
  let results = (outs FTLT_F32:$result);
  let assemblyFormat = [{
    $x `,` $weight `,` $bias attr-dict `:` type($x) `,` type($weight) `,`
    type($bias) `->` type($result)
  }];
  let hasVerifier = 1;
}

def FTLT_RopeOp : FTLT_Diff<"rope"> {
  let summary = "rotary position embedding (rotate-half convention)";
  let description = [{
    `x` is [N, H * head_dim`]; each head's pairs (j, j + head_dim/2) rotate by
    `positions[i] * theta^(-2j/head_dim)`.

    ```mlir
    %r = ftlt.rope %q, %pos {theta = 1.0e+04 : f64, head_dim = 16 : i64} : tensor<128x64xf32>, tensor<128xi32> -> tensor<128x64xf32>
    ```
  }];
  let arguments = (ins FTLT_F32:$x, FTLT_I32:$positions, F64Attr:$theta,
                       I64Attr:$head_dim);
  let results = (outs FTLT_F32:$result);
  let assemblyFormat = [{
    $x `,` $positions attr-dict `:` type($x) `,` type($positions) `->`
    type($result)
  }];
  let hasVerifier = 1;
}

def FTLT_AttentionOp : FTLT_Diff<"attention"> {
  let summary = "causal multi-head attention with document masks";
  let description = [{
    q is [B*T, H*D], k and v are [B*T, KVH*D] (grouped-query attention);
    token i attends to j <= i in the same row of the batch and with the same
    segment id. Also returns the log-sum-exp per (batch, head, position),
    which the backward uses.

    ```mlir
    %o, %lse = ftlt.attention %q, %k, %v, %seg {batch = 2 : i64, seq = 64 : i64, heads = 4 : i64, kv_heads = 2 : i64, head_dim = 16 : i64}
        : tensor<128x64xf32>, tensor<128x32xf32>, tensor<128x32xf32>, tensor<128xi32> -> tensor<128x64xf32>, tensor<2x4x64xf32>
    ```
  }];
  let arguments = (ins FTLT_F32:$q, FTLT_F32:$k, FTLT_F32:$v,
                       FTLT_I32:$segments, I64Attr:$batch, I64Attr:$seq,
                       I64Attr:$heads, I64Attr:$kv_heads, I64Attr:$head_dim);
  let results = (outs FTLT_F32:$result, FTLT_F32:$lse);
  let assemblyFormat = [{
    $q `,` $k `,` $v `,` $segments attr-dict `:` type($q) `,` type($k) `,`
    type($v) `,` type($segments) `->` type($result) `,` type($lse)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Elementwise
//===----------------------------------------------------------------------===//

class FTLT_Binary<string mnemonic, string doc>
    : FTLT_DiffFusible<mnemonic, [SameOperandsAndResultType]> {
  let summary = doc;
  let description = "Elementwise `" # doc # "` of two tensors of one shape.";
  let arguments = (ins FTLT_F32:$lhs, FTLT_F32:$rhs);
  let results = (outs FTLT_F32:$result);
  let assemblyFormat = "$lhs `,` $rhs attr-dict `:` type($result)";
}

def FTLT_AddOp : FTLT_Binary<"add", "lhs + rhs">;
def FTLT_SubOp : FTLT_Binary<"sub", "lhs - rhs">;
def FTLT_MulOp : FTLT_Binary<"mul", "lhs * rhs">;
def FTLT_DivOp : FTLT_Binary<"div", "lhs / rhs">;

def FTLT_ScaleOp : FTLT_DiffFusible<"scale", [SameOperandsAndResultType]> {
  let summary = "multiplies by a constant";
  let description = [{
    ```mlir
    %y = ftlt.scale %x {factor = 2.0 : f64} : tensor<8x4xf32>
    ```
  }];
  let arguments = (ins FTLT_F32:$x, F64Attr:$factor);
  let results = (outs FTLT_F32:$result);
  let assemblyFormat = "$x attr-dict `:` type($result)";
}

def FTLT_ScaleByOp : FTLT_DiffFusible<"scale_by", [AllTypesMatch<["x", "result"]>]> {
  let summary = "multiplies every element by a scalar tensor";
  let description = [{
    ```mlir
    %y = ftlt.scale_by %x, %s : tensor<8x4xf32>, tensor<f32>
    ```
  }];
  let arguments = (ins FTLT_F32:$x, FTLT_F32Scalar:$factor);
  let results = (outs FTLT_F32:$result);
  let assemblyFormat = "$x `,` $factor attr-dict `:` type($x) `,` type($factor)";
}

def FTLT_MaskRowsOp
    : FTLT_DiffFusible<"mask_rows", [AllTypesMatch<["x", "result"]>]> {
  let summary = "keeps or zeroes whole rows by a per-row mask";
  let description = [{
    `result[i, j] = x[i, j]` where `(mask[i] != 0) == keep`, else 0. Virtual
    token slots (prompt and prefix tuning) replace rows with it: the kept
    rows are bitwise `x`'s. Its own gradient rule: the same mask on `dy`.

    ```mlir
    %y = ftlt.mask_rows %x, %m {keep = false} : tensor<8x4xf32>, tensor<8xf32>
    ```
  }];
  let arguments = (ins FTLT_F32:$x, FTLT_F32:$mask, BoolAttr:$keep);
  let results = (outs FTLT_F32:$result);
  let assemblyFormat = "$x `,` $mask attr-dict `:` type($x) `,` type($mask)";
  let hasVerifier = 1;
}

def FTLT_ScaleColsOp
    : FTLT_DiffFusible<"scale_cols", [AllTypesMatch<["x", "result"]>]> {
  let summary = "multiplies every column by its own factor";
  let description = [{
    `result[i, j] = x[i, j] * factor[j]` (DoRA's magnitude over the weight
    norm, per output feature).

    ```mlir
    %y = ftlt.scale_cols %x, %f : tensor<8x4xf32>, tensor<4xf32>
    ```
  }];
  let arguments = (ins FTLT_F32:$x, FTLT_F32:$factor);
  let results = (outs FTLT_F32:$result);
  let assemblyFormat = "$x `,` $factor attr-dict `:` type($x) `,` type($factor)";
  let hasVerifier = 1;
}

def FTLT_DoraNormOp : FTLT_Diff<"dora_norm"> {
  let summary = "row norms of W + scale * B A, held constant (DoRA)";
  let description = [{
    `result[i] = ||W[i, :] + scale * (B A)[i, :]||_2` for a [O, I] weight, a
    [R, I] A and a [O, R] B, accumulated in double without forming B A. As
    the DoRA paper suggests (and PEFT does), the norm is a constant for the
    backward: no gradient flows through it.

    ```mlir
    %n = ftlt.dora_norm %w, %a, %b {scale = 2.0 : f64} : tensor<64x32xf32>, tensor<4x32xf32>, tensor<64x4xf32> -> tensor<64xf32>
    ```
  }];
  let arguments = (ins FTLT_F32:$weight, FTLT_F32:$a, FTLT_F32:$b,
                       F64Attr:$scale);
  let results = (outs FTLT_F32:$result);
  let assemblyFormat = [{
    $weight `,` $a `,` $b attr-dict `:` type($weight) `,` type($a) `,`
    type($b) `->` type($result)
  }];
  let hasVerifier = 1;
}

def FTLT_DropoutOp : FTLT_Diff<"dropout", [AllTypesMatch<["x", "result"]>]> {
  let summary = "inverted dropout with a mask drawn from a per-step seed";
  let description = [{
    Each element is kept with probability `1 - rate` (and divided by it) or
    zeroed. Whether element i is kept is a hash of (seed, salt, i): the
    backward (the same op on the gradient) sees the same mask, nothing is
    stored, and any thread count gives the same bits. A negative seed
    turns it off (the identity: evaluation, references). `salt` tells the
    dropouts of one step apart.

    ```mlir
    %y = ftlt.dropout %x, %seed {rate = 1.0e-01 : f64, salt = 7 : i64} : tensor<8x4xf32>, tensor<1xi32>
    ```
  }];
  let arguments = (ins FTLT_F32:$x, FTLT_I32:$seed, F64Attr:$rate,
                       I64Attr:$salt);
  let results = (outs FTLT_F32:$result);
  let assemblyFormat = "$x `,` $seed attr-dict `:` type($x) `,` type($seed)";
  let hasVerifier = 1;
}

def FTLT_SiluOp : FTLT_DiffFusible<"silu", [SameOperandsAndResultType]> {
  let summary = "x * sigmoid(x)";
  let description = "```mlir\n%y = ftlt.silu %x : tensor<8x4xf32>\n```";
  let arguments = (ins FTLT_F32:$x);
  let results = (outs FTLT_F32:$result);
  let assemblyFormat = "$x attr-dict `:` type($result)";
}

def FTLT_AbsOp : FTLT_DiffFusible<"abs", [SameOperandsAndResultType]> {
  let summary = "|x| (L1 regularisers)";
  let description = "```mlir\n%y = ftlt.abs %x : tensor<8x4xf32>\n```";
  let arguments = (ins FTLT_F32:$x);
  let results = (outs FTLT_F32:$result);
  let assemblyFormat = "$x attr-dict `:` type($result)";
}

def FTLT_GeluOp : FTLT_DiffFusible<"gelu", [SameOperandsAndResultType]> {
  let summary = "GELU, tanh approximation (gelu_new)";
  let description = "```mlir\n%y = ftlt.gelu %x : tensor<8x4xf32>\n```";
  let arguments = (ins FTLT_F32:$x);
  let results = (outs FTLT_F32:$result);
  let assemblyFormat = "$x attr-dict `:` type($result)";
}

def FTLT_SumOp : FTLT_Diff<"sum"> {
  let summary = "sum of all elements";
  let description = "```mlir\n%s = ftlt.sum %x : tensor<8x4xf32> -> tensor<f32>\n```";
  let arguments = (ins FTLT_F32:$x);
  let results = (outs FTLT_F32Scalar:$result);
  let assemblyFormat = "$x attr-dict `:` type($x) `->` type($result)";
}

def FTLT_BroadcastOp : FTLT_Fusible<"broadcast"> {
  let summary = "a scalar tensor repeated to a shape";
  let description = "```mlir\n%b = ftlt.broadcast %s : tensor<f32> -> tensor<8x4xf32>\n```";
  let arguments = (ins FTLT_F32Scalar:$x);
  let results = (outs FTLT_F32:$result);
  let assemblyFormat = "$x attr-dict `:` type($x) `->` type($result)";
}

//===----------------------------------------------------------------------===//
// Losses
//===----------------------------------------------------------------------===//

def FTLT_CrossEntropyOp : FTLT_Diff<"cross_entropy"> {
  let summary = "weighted cross-entropy summed over tokens";
  let description = [{
    `loss = sum_i weights[i] * (logsumexp(logits[i]) - logits[i, targets[i]])`;
    targets < 0 are ignored. Also returns logsumexp per row.

    ```mlir
    %loss, %lse = ftlt.cross_entropy %logits, %t, %w : tensor<128x512xf32>, tensor<128xi32>, tensor<128xf32> -> tensor<f32>, tensor<128xf32>
    ```
  }];
  let arguments = (ins FTLT_F32:$logits, FTLT_I32:$targets,
                       FTLT_F32:$weights);
  let results = (outs FTLT_F32Scalar:$loss, FTLT_F32:$lse);
  let assemblyFormat = [{
    $logits `,` $targets `,` $weights attr-dict `:` type($logits) `,`
    type($targets) `,` type($weights) `->` type($loss) `,` type($lse)
  }];
  let hasVerifier = 1;
}

def FTLT_LinearCrossEntropyOp : FTLT_Diff<"linear_cross_entropy"> {
  let summary = "LM head and cross-entropy fused over vocabulary chunks";
  let description = [{
    The same as `cross_entropy(linear(hidden, weight), ...)` without ever
    holding the [N, V] logits: the kernel walks the vocabulary in chunks with
    an online log-sum-exp (forward) and recomputes each chunk's logits in the
    backward. Made by the `ftlt-fuse-lm-head` pass.

    ```mlir
    %loss, %lse = ftlt.linear_cross_entropy %h, %head, %t, %w {chunk = 4096 : i64}
        : tensor<128x64xf32>, tensor<512x64xf32>, tensor<128xi32>, tensor<128xf32> -> tensor<f32>, tensor<128xf32>
    ```
  }];
  let arguments = (ins FTLT_F32:$hidden, FTLT_F32:$weight,
                       FTLT_I32:$targets, FTLT_F32:$weights,
                       I64Attr:$chunk);
  let results = (outs FTLT_F32Scalar:$loss, FTLT_F32:$lse);
  let assemblyFormat = [{
    $hidden `,` $weight `,` $targets `,` $weights attr-dict `:`
    type($hidden) `,` type($weight) `,` type($targets) `,` type($weights)
    `->` type($loss) `,` type($lse)
  }];
  let hasVerifier = 1;
}

def FTLT_TokenNllOp : FTLT_Diff<"token_nll"> {
  let summary = "negative log-likelihood of each target token";
  let description = [{
    `nll[i] = logsumexp(logits[i]) - logits[i, targets[i]]`, and 0 where
    `targets[i] < 0`. Unweighted: losses that transform per-token values
    (unlikelihood, sequence log-probabilities for preference losses) weight
    them afterwards. Also returns logsumexp per row for the backward.

    ```mlir
    %nll, %lse = ftlt.token_nll %logits, %t : tensor<128x512xf32>, tensor<128xi32> -> tensor<128xf32>, tensor<128xf32>
    ```
  }];
  let arguments = (ins FTLT_F32:$logits, FTLT_I32:$targets);
  let results = (outs FTLT_F32:$nll, FTLT_F32:$lse);
  let assemblyFormat = [{
    $logits `,` $targets attr-dict `:` type($logits) `,` type($targets) `->`
    type($nll) `,` type($lse)
  }];
  let hasVerifier = 1;
}

def FTLT_LinearTokenNllOp : FTLT_Diff<"linear_token_nll"> {
  let summary = "LM head and per-token NLL fused over vocabulary chunks";
  let description = [{
    `token_nll(linear(hidden, weight), targets)` without the [N, V] logits:
    the same chunked kernel as `linear_cross_entropy`. Made by the
    `ftlt-fuse-lm-head` pass.

    ```mlir
    %nll, %lse = ftlt.linear_token_nll %h, %head, %t {chunk = 4096 : i64}
        : tensor<128x64xf32>, tensor<512x64xf32>, tensor<128xi32> -> tensor<128xf32>, tensor<128xf32>
    ```
  }];
  let arguments = (ins FTLT_F32:$hidden, FTLT_F32:$weight, FTLT_I32:$targets,
                       I64Attr:$chunk);
  let results = (outs FTLT_F32:$nll, FTLT_F32:$lse);
  let assemblyFormat = [{
    $hidden `,` $weight `,` $targets attr-dict `:` type($hidden) `,`
    type($weight) `,` type($targets) `->` type($nll) `,` type($lse)
  }];
  let hasVerifier = 1;
}

def FTLT_LinearKlOp : FTLT_Diff<"linear_kl"> {
  let summary = "KL divergence from a reference's next-token distribution, "
                "both LM heads fused over vocabulary chunks";
  let description = [{
    Per token, `weights[i] * KL(q_i || p_i)` with `p_i = softmax(hidden[i]
    weight^T)` (the trained model) and `q_i = softmax(ref_hidden[i]
    ref_weight^T)` (the reference); `loss` is their sum. Neither model's
    [N, V] logits exist: the kernel walks the vocabulary in chunks. Also
    returns both log-sum-exps per token for the backward. Gradients flow to
    `hidden` and `weight` only; the reference's operands are constants.

    ```mlir
    %loss, %lse, %rlse = ftlt.linear_kl %h, %head, %rh, %rhead, %w {chunk = 4096 : i64}
        : tensor<128x64xf32>, tensor<512x64xf32>, tensor<128x64xf32>, tensor<512x64xf32>, tensor<128xf32>
        -> tensor<f32>, tensor<128xf32>, tensor<128xf32>
    ```
  }];
  let arguments = (ins FTLT_F32:$hidden, FTLT_F32:$weight,
                       FTLT_F32:$ref_hidden, FTLT_F32:$ref_weight,
                       FTLT_F32:$weights, I64Attr:$chunk);
  let results = (outs FTLT_F32Scalar:$loss, FTLT_F32:$lse, FTLT_F32:$ref_lse);
  let assemblyFormat = [{
    $hidden `,` $weight `,` $ref_hidden `,` $ref_weight `,` $weights attr-dict
    `:` type($hidden) `,` type($weight) `,` type($ref_hidden) `,`
    type($ref_weight) `,` type($weights) `->` type($loss) `,` type($lse) `,`
    type($ref_lse)
  }];
  let hasVerifier = 1;
}

def FTLT_SeqSumOp : FTLT_Diff<"seq_sum"> {
  let summary = "sums each sequence of a [rows * seq] token vector";
  let description = [{
    `result[r] = sum_{j < seq} x[r * seq + j]`, summed in order.

    ```mlir
    %s = ftlt.seq_sum %x {seq = 64 : i64} : tensor<256xf32> -> tensor<4xf32>
    ```
  }];
  let arguments = (ins FTLT_F32:$x, I64Attr:$seq);
  let results = (outs FTLT_F32:$result);
  let assemblyFormat = "$x attr-dict `:` type($x) `->` type($result)";
  let hasVerifier = 1;
}

def FTLT_SeqExpandOp : FTLT_Pure<"seq_expand"> {
  let summary = "repeats each value of a [rows] vector over its sequence";
  let description = [{
    The gradient of `seq_sum`: `result[r * seq + j] = x[r]`.

    ```mlir
    %e = ftlt.seq_expand %g {seq = 64 : i64} : tensor<4xf32> -> tensor<256xf32>
    ```
  }];
  let arguments = (ins FTLT_F32:$x, I64Attr:$seq);
  let results = (outs FTLT_F32:$result);
  let assemblyFormat = "$x attr-dict `:` type($x) `->` type($result)";
}

def FTLT_PairDiffOp : FTLT_Diff<"pair_diff"> {
  let summary = "first half minus second half (chosen minus rejected)";
  let description = [{
    For a [2B] vector of chosen rows then rejected rows,
    `result[i] = x[i] - x[B + i]`.

    ```mlir
    %d = ftlt.pair_diff %x : tensor<8xf32> -> tensor<4xf32>
    ```
  }];
  let arguments = (ins FTLT_F32:$x);
  let results = (outs FTLT_F32:$result);
  let assemblyFormat = "$x attr-dict `:` type($x) `->` type($result)";
  let hasVerifier = 1;
}

def FTLT_PairSpreadOp : FTLT_Pure<"pair_spread"> {
  let summary = "the gradient of pair_diff: [g, -g]";
  let description = [{
    ```mlir
    %g2 = ftlt.pair_spread %g : tensor<4xf32> -> tensor<8xf32>
    ```
  }];
  let arguments = (ins FTLT_F32:$x);
  let results = (outs FTLT_F32:$result);
  let assemblyFormat = "$x attr-dict `:` type($x) `->` type($result)";
}

def FTLT_PreferenceLossOp
    : FTLT_DiffFusible<"preference_loss", [SameOperandsAndResultType]> {
  let summary = "DPO-family loss of a policy-minus-reference log-ratio margin";
  let description = [{
    `h` is `(log p(chosen) - log ref(chosen)) - (log p(rejected) - log ref(rejected))`.
    With `u = beta * h`: `sigmoid`: `-(1 - ls) log sigmoid(u) - ls log sigmoid(-u)`
    (`ls` is label smoothing); `ipo`: `(h - 1 / (2 beta))^2`; `hinge`:
    `max(0, 1 - u)`.

    ```mlir
    %l = ftlt.preference_loss %h {kind = "sigmoid", beta = 0.1 : f64, label_smoothing = 0.0 : f64} : tensor<4xf32>
    ```
  }];
  let arguments = (ins FTLT_F32:$h, StrAttr:$kind, F64Attr:$beta,
                       F64Attr:$label_smoothing);
  let results = (outs FTLT_F32:$result);
  let assemblyFormat = "$h attr-dict `:` type($result)";
  let hasVerifier = 1;
}

def FTLT_UnlikelihoodOp
    : FTLT_DiffFusible<"unlikelihood", [SameOperandsAndResultType]> {
  let summary = "-log(1 - p) of a token from its NLL";
  let description = [{
    With `p = exp(-nll)`: `-log(max(1 - p, 1e-5))`; the floor keeps the loss
    finite when the model is certain (its gradient is 0 there).

    ```mlir
    %u = ftlt.unlikelihood %nll : tensor<128xf32>
    ```
  }];
  let arguments = (ins FTLT_F32:$nll);
  let results = (outs FTLT_F32:$result);
  let assemblyFormat = "$nll attr-dict `:` type($result)";
}

//===----------------------------------------------------------------------===//
// Gradients (built by the autodiff pass)
//===----------------------------------------------------------------------===//

def FTLT_EmbeddingGradOp : FTLT_Pure<"embedding_grad"> {
  let summary = "scatter-add of row gradients into the table's gradient";
  let description = [{
    ```mlir
    %g = ftlt.embedding_grad %dy, %ids : tensor<128x64xf32>, tensor<128xi32> -> tensor<512x64xf32>
    ```
  }];
  let arguments = (ins FTLT_F32:$dy, FTLT_I32:$ids);
  let results = (outs FTLT_F32:$result);
  let assemblyFormat =
      "$dy `,` $ids attr-dict `:` type($dy) `,` type($ids) `->` type($result)";
}

def FTLT_LinearGradInputOp : FTLT_Pure<"linear_grad_input"> {
  let summary = "dx = dy W";
  let description = [{
    ```mlir
    %dx = ftlt.linear_grad_input %dy, %w : tensor<128x256xf32>, tensor<256x64xf32> -> tensor<128x64xf32>
    ```
  }];
  let arguments = (ins FTLT_F32:$dy, FTLT_F32:$weight);
  let results = (outs FTLT_F32:$result);
  let assemblyFormat = [{
    $dy `,` $weight attr-dict `:` type($dy) `,` type($weight) `->` type($result)
  }];
}

def FTLT_LinearGradWeightOp : FTLT_Pure<"linear_grad_weight"> {
  let summary = "dW = dy^T x (+ an accumulator)";
  let description = [{
    With `accumulate`, the product is added to it (in place after buffer
    planning): gradient accumulation costs no extra pass over memory.

    ```mlir
    %dw = ftlt.linear_grad_weight %dy, %x : tensor<128x256xf32>, tensor<128x64xf32> -> tensor<256x64xf32>
    ```
  }];
  let arguments = (ins FTLT_F32:$dy, FTLT_F32:$x,
                       Optional<FTLT_F32>:$accumulate);
  let results = (outs FTLT_F32:$result);
  let assemblyFormat = [{
    $dy `,` $x (`accumulate` $accumulate^)? attr-dict `:` type($dy) `,`
    type($x) (`,` type($accumulate)^)? `->` type($result)
  }];
}

def FTLT_ColumnSumOp : FTLT_Fusible<"column_sum"> {
  let summary = "sum over rows (a bias gradient)";
  let description = [{
    Summed in fixed chunks of rows, then in chunk order: the same bits for
    any thread count.

    ```mlir
    %db = ftlt.column_sum %dy : tensor<128x256xf32> -> tensor<256xf32>
    ```
  }];
  let arguments = (ins FTLT_F32:$x);
  let results = (outs FTLT_F32:$result);
  let assemblyFormat = "$x attr-dict `:` type($x) `->` type($result)";
}

def FTLT_RmsNormGradOp : FTLT_Fusible<"rms_norm_grad"> {
  let summary = "gradients of rms_norm";
  let description = [{
    ```mlir
    %dx, %dw = ftlt.rms_norm_grad %dy, %x, %w {eps = 1.0e-05 : f64} : tensor<128x64xf32>, tensor<128x64xf32>, tensor<64xf32> -> tensor<128x64xf32>, tensor<64xf32>
    ```
  }];
  let arguments = (ins FTLT_F32:$dy, FTLT_F32:$x, FTLT_F32:$weight,
                       F64Attr:$eps);
  let results = (outs FTLT_F32:$dx, FTLT_F32:$dweight);
  let assemblyFormat = [{
    $dy `,` $x `,` $weight attr-dict `:` type($dy) `,` type($x) `,`
    type($weight) `->` type($dx) `,` type($dweight)
  }];
}

def FTLT_LayerNormGradOp : FTLT_Fusible<"layer_norm_grad"> {
  let summary = "gradients of layer_norm";
  let description = [{
    ```mlir
    %dx, %dw, %db = ftlt.layer_norm_grad %dy, %x, %w {eps = 1.0e-05 : f64} : tensor<128x64xf32>, tensor<128x64xf32>, tensor<64xf32> -> tensor<128x64xf32>, tensor<64xf32>, tensor<64xf32>
    ```
  }];
  let arguments = (ins FTLT_F32:$dy, FTLT_F32:$x, FTLT_F32:$weight,
                       F64Attr:$eps);
  let results = (outs FTLT_F32:$dx, FTLT_F32:$dweight, FTLT_F32:$dbias);
  let assemblyFormat = [{
    $dy `,` $x `,` $weight attr-dict `:` type($dy) `,` type($x) `,`
    type($weight) `->` type($dx) `,` type($dweight) `,` type($dbias)
  }];
}

def FTLT_RopeGradOp : FTLT_Pure<"rope_grad"> {
  let summary = "gradient of rope: the inverse rotation";
  let description = [{
    ```mlir
    %dx = ftlt.rope_grad %dy, %pos {theta = 1.0e+04 : f64, head_dim = 16 : i64} : tensor<128x64xf32>, tensor<128xi32> -> tensor<128x64xf32>
    ```
  }];
  let arguments = (ins FTLT_F32:$dy, FTLT_I32:$positions, F64Attr:$theta,
                       I64Attr:$head_dim);
  let results = (outs FTLT_F32:$result);
  let assemblyFormat = [{
    $dy `,` $positions attr-dict `:` type($dy) `,` type($positions) `->`
    type($result)
  }];
}

def FTLT_AttentionGradOp : FTLT_Pure<"attention_grad"> {
  let summary = "gradients of attention";
  let description = [{
    ```mlir
    %dq, %dk, %dv = ftlt.attention_grad %do, %q, %k, %v, %o, %lse, %seg {batch = 2 : i64, seq = 64 : i64, heads = 4 : i64, kv_heads = 2 : i64, head_dim = 16 : i64} : ...
    ```
  }];
  let arguments = (ins FTLT_F32:$dout, FTLT_F32:$q, FTLT_F32:$k,
                       FTLT_F32:$v, FTLT_F32:$out, FTLT_F32:$lse,
                       FTLT_I32:$segments, I64Attr:$batch, I64Attr:$seq,
                       I64Attr:$heads, I64Attr:$kv_heads, I64Attr:$head_dim);
  let results = (outs FTLT_F32:$dq, FTLT_F32:$dk, FTLT_F32:$dv);
  let assemblyFormat = [{
    $dout `,` $q `,` $k `,` $v `,` $out `,` $lse `,` $segments attr-dict `:`
    type($dout) `,` type($q) `,` type($k) `,` type($v) `,` type($out) `,`
    type($lse) `,` type($segments) `->` type($dq) `,` type($dk) `,` type($dv)
  }];
}

def FTLT_AbsGradOp : FTLT_Fusible<"abs_grad", [SameOperandsAndResultType]> {
  let summary = "dy * sign(x), with sign(0) = 0 (the subgradient 0 at a kink)";
  let description = "```mlir\n%dx = ftlt.abs_grad %dy, %x : tensor<8x4xf32>\n```";
  let arguments = (ins FTLT_F32:$dy, FTLT_F32:$x);
  let results = (outs FTLT_F32:$result);
  let assemblyFormat = "$dy `,` $x attr-dict `:` type($result)";
}

def FTLT_SiluGradOp : FTLT_Fusible<"silu_grad", [SameOperandsAndResultType]> {
  let summary = "dy * silu'(x)";
  let description = "```mlir\n%dx = ftlt.silu_grad %dy, %x : tensor<8x4xf32>\n```";
  let arguments = (ins FTLT_F32:$dy, FTLT_F32:$x);
  let results = (outs FTLT_F32:$result);
  let assemblyFormat = "$dy `,` $x attr-dict `:` type($result)";
}

def FTLT_GeluGradOp : FTLT_Fusible<"gelu_grad", [SameOperandsAndResultType]> {
  let summary = "dy * gelu'(x) (tanh approximation)";
  let description = "```mlir\n%dx = ftlt.gelu_grad %dy, %x : tensor<8x4xf32>\n```";
  let arguments = (ins FTLT_F32:$dy, FTLT_F32:$x);
  let results = (outs FTLT_F32:$result);
  let assemblyFormat = "$dy `,` $x attr-dict `:` type($result)";
}

def FTLT_PreferenceLossGradOp
    : FTLT_Fusible<"preference_loss_grad", [SameOperandsAndResultType]> {
  let summary = "dy * d preference_loss / dh";
  let description = [{
    ```mlir
    %dh = ftlt.preference_loss_grad %dy, %h {kind = "sigmoid", beta = 0.1 : f64, label_smoothing = 0.0 : f64} : tensor<4xf32>
    ```
  }];
  let arguments = (ins FTLT_F32:$dy, FTLT_F32:$h, StrAttr:$kind, F64Attr:$beta,
                       F64Attr:$label_smoothing);
  let results = (outs FTLT_F32:$result);
  let assemblyFormat = "$dy `,` $h attr-dict `:` type($result)";
}

def FTLT_UnlikelihoodGradOp
    : FTLT_Fusible<"unlikelihood_grad", [SameOperandsAndResultType]> {
  let summary = "dy * d unlikelihood / d nll";
  let description = "```mlir\n%dx = ftlt.unlikelihood_grad %dy, %nll : tensor<128xf32>\n```";
  let arguments = (ins FTLT_F32:$dy, FTLT_F32:$nll);
  let results = (outs FTLT_F32:$result);
  let assemblyFormat = "$dy `,` $nll attr-dict `:` type($result)";
}

def FTLT_CrossEntropyGradOp : FTLT_Pure<"cross_entropy_grad"> {
  let summary = "gradient of cross_entropy with respect to the logits";
  let description = [{
    ```mlir
    %dl = ftlt.cross_entropy_grad %g, %logits, %t, %w, %lse : tensor<f32>, tensor<128x512xf32>, tensor<128xi32>, tensor<128xf32>, tensor<128xf32> -> tensor<128x512xf32>
    ```
  }];
  let arguments = (ins FTLT_F32Scalar:$dloss, FTLT_F32:$logits, FTLT_I32:$targets,
                       FTLT_F32:$weights, FTLT_F32:$lse);
  let results = (outs FTLT_F32:$result);
  let assemblyFormat = [{
    $dloss `,` $logits `,` $targets `,` $weights `,` $lse attr-dict `:`
    type($dloss) `,` type($logits) `,` type($targets) `,` type($weights) `,`
    type($lse) `->` type($result)
  }];
}

def FTLT_LinearCrossEntropyGradOp : FTLT_Pure<"linear_cross_entropy_grad"> {
  let summary = "gradients of linear_cross_entropy, chunk by chunk";
  let description = [{
    ```mlir
    %dh, %dw = ftlt.linear_cross_entropy_grad %g, %h, %head, %t, %w, %lse {chunk = 4096 : i64} : ...
    ```
  }];
  let arguments = (ins FTLT_F32Scalar:$dloss, FTLT_F32:$hidden, FTLT_F32:$weight,
                       FTLT_I32:$targets, FTLT_F32:$weights,
                       FTLT_F32:$lse, I64Attr:$chunk,
                       Optional<FTLT_F32>:$accumulate);
  let results = (outs FTLT_F32:$dhidden, FTLT_F32:$dweight);
  let assemblyFormat = [{
    $dloss `,` $hidden `,` $weight `,` $targets `,` $weights `,` $lse
    (`accumulate` $accumulate^)? attr-dict `:` type($dloss) `,` type($hidden)
    `,` type($weight) `,` type($targets) `,` type($weights) `,` type($lse)
    (`,` type($accumulate)^)? `->` type($dhidden) `,` type($dweight)
  }];
}

def FTLT_LinearKlGradOp : FTLT_Pure<"linear_kl_grad"> {
  let summary = "gradients of linear_kl for the trained model, chunk by chunk";
  let description = [{
    ```mlir
    %dh, %dw = ftlt.linear_kl_grad %g, %h, %head, %rh, %rhead, %w, %lse, %rlse {chunk = 4096 : i64} : ...
    ```
  }];
  let arguments = (ins FTLT_F32Scalar:$dloss, FTLT_F32:$hidden,
                       FTLT_F32:$weight, FTLT_F32:$ref_hidden,
                       FTLT_F32:$ref_weight, FTLT_F32:$weights,
                       FTLT_F32:$lse, FTLT_F32:$ref_lse, I64Attr:$chunk);
  let results = (outs FTLT_F32:$dhidden, FTLT_F32:$dweight);
  let assemblyFormat = [{
    $dloss `,` $hidden `,` $weight `,` $ref_hidden `,` $ref_weight `,`
    $weights `,` $lse `,` $ref_lse attr-dict `:` type($dloss) `,`
    type($hidden) `,` type($weight) `,` type($ref_hidden) `,`
    type($ref_weight) `,` type($weights) `,` type($lse) `,` type($ref_lse)
    `->` type($dhidden) `,` type($dweight)
  }];
}

//===----------------------------------------------------------------------===//
// Optimizer
//===----------------------------------------------------------------------===//

def FTLT_AdamWOp : FTLT_Fusible<"adamw", [AllTypesMatch<["param", "grad",
    "m", "v", "new_param", "new_m", "new_v"]>, AllTypesMatch<["lr", "bias1",
    "bias2"]>]> {
  let summary = "one AdamW step, PyTorch's formula";
  let description = [{
    `p -= lr * wd * p; m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
    p -= lr * (m / bc1) / (sqrt(v / bc2) + eps)` where `bc1 = 1 - b1^t` and
    `bc2 = 1 - b2^t` are scalar operands (the runtime knows t). `lr` already
    includes the schedule. After buffer planning the results alias the
    operands (an in-place update).

    The optional `lr_scale` multiplies `lr` for this tensor (layer-wise LR
    decay, half fine-tuning). Where it is exactly 0 the step leaves the
    parameter and both moments bitwise as they were (no decay, no moment
    update): the tensor sits this step out.

    ```mlir
    %p2, %m2, %v2 = ftlt.adamw %p, %g, %m, %v, %lr, %bc1, %bc2 {beta1 = 0.9 : f64, beta2 = 0.999 : f64, eps = 1.0e-08 : f64, wd = 0.01 : f64}
        : tensor<64x64xf32>, tensor<f32>
    %q2, %n2, %w2 = ftlt.adamw %q, %h, %n, %w, %lr, %bc1, %bc2 lr_scale %s : tensor<f32> {beta1 = 0.9 : f64, beta2 = 0.999 : f64, eps = 1.0e-08 : f64, wd = 0.0 : f64}
        : tensor<64x64xf32>, tensor<f32>
    ```
  }];
  let arguments = (ins FTLT_F32:$param, FTLT_F32:$grad, FTLT_F32:$m,
                       FTLT_F32:$v, FTLT_F32Scalar:$lr, FTLT_F32Scalar:$bias1,
                       FTLT_F32Scalar:$bias2,
                       Optional<FTLT_F32Scalar>:$lr_scale, F64Attr:$beta1,
                       F64Attr:$beta2, F64Attr:$eps, F64Attr:$wd);
  let results = (outs FTLT_F32:$new_param, FTLT_F32:$new_m,
                      FTLT_F32:$new_v);
  let assemblyFormat = [{
    $param `,` $grad `,` $m `,` $v `,` $lr `,` $bias1 `,` $bias2
    (`lr_scale` $lr_scale^ `:` type($lr_scale))? attr-dict `:` type($param) `,` type($lr)
  }];
}

def FTLT_SgdOp : FTLT_Fusible<"sgd", [AllTypesMatch<["param", "grad", "buf",
    "new_param", "new_buf"]>]> {
  let summary = "one SGD step with momentum and weight decay";
  let description = [{
    `g' = g + wd p; buf = momentum buf + g'; p -= lr buf` (PyTorch's SGD).
    The optional `lr_scale` multiplies `lr`; where it is exactly 0 the
    parameter and the buffer stay bitwise as they were.

    ```mlir
    %p2, %b2 = ftlt.sgd %p, %g, %buf, %lr {momentum = 0.9 : f64, wd = 0.0 : f64} : tensor<64x64xf32>, tensor<f32>
    %q2, %c2 = ftlt.sgd %q, %h, %c, %lr lr_scale %s : tensor<f32> {momentum = 0.0 : f64, wd = 0.0 : f64} : tensor<64x64xf32>, tensor<f32>
    ```
  }];
  let arguments = (ins FTLT_F32:$param, FTLT_F32:$grad, FTLT_F32:$buf,
                       FTLT_F32Scalar:$lr, Optional<FTLT_F32Scalar>:$lr_scale,
                       F64Attr:$momentum, F64Attr:$wd);
  let results = (outs FTLT_F32:$new_param, FTLT_F32:$new_buf);
  let assemblyFormat = [{
    $param `,` $grad `,` $buf `,` $lr (`lr_scale` $lr_scale^ `:` type($lr_scale))? attr-dict `:`
    type($param) `,` type($lr)
  }];
}

def FTLT_SquaredNormOp : FTLT_Pure<"squared_norm"> {
  let summary = "sum of squares (for clipping by global norm)";
  let description =
      "```mlir\n%n = ftlt.squared_norm %g : tensor<64x64xf32> -> tensor<f32>\n```";
  let arguments = (ins FTLT_F32:$x);
  let results = (outs FTLT_F32Scalar:$result);
  let assemblyFormat = "$x attr-dict `:` type($x) `->` type($result)";
}

//===----------------------------------------------------------------------===//
// Kernel groups
//===----------------------------------------------------------------------===//

def FTLT_FusedOp : FTLT_Op<"fused", [Pure, IsolatedFromAbove]> {
  let summary = "a generated kernel: a chain of row-wise ops in one pass";
  let description = [{
    Runs `body` for every element of a `rows` x `cols` iteration space. The
    body's arguments are the inputs' scalars at the current element, read
    according to `input_access` (elem, col, row, scalar). `ftlt.row_reduce`
    inside the body reduces a value over the current row (making the
    generated code take several passes over the row). Results are written
    per `result_access`: elem ([rows, cols]), row ([rows], the value at the
    row's end) or colsum ([cols], summed over rows in fixed chunks). The
    CPU backend JIT-compiles the body into a loop nest; the CUDA backend
    into an NVVM kernel.

    ```mlir
    %y = ftlt.fused %x, %w {rows = 128 : i64, cols = 64 : i64,
        input_access = ["elem", "col"], result_access = ["elem"]} {
    ^bb0(%a: f32, %b: f32):
      %sq = arith.mulf %a, %a : f32
      %s = ftlt.row_reduce "sum" %sq : f32
      ...
      ftlt.fused_yield %r : f32
    } : (tensor<128x64xf32>, tensor<64xf32>) -> tensor<128x64xf32>
    ```
  }];
  let arguments = (ins Variadic<AnyTensor>:$inputs, I64Attr:$rows,
                       I64Attr:$cols, StrArrayAttr:$input_access,
                       StrArrayAttr:$result_access);
  let results = (outs Variadic<AnyTensor>:$results);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = [{
    $inputs attr-dict-with-keyword $body `:` functional-type($inputs, $results)
  }];
  let hasVerifier = 1;
}

def FTLT_RowReduceOp : FTLT_Op<"row_reduce", [Pure]> {
  let summary = "reduces a value over the current row of a fused group";
  let description = [{
    `kind` is sum or max. The result is the same for every element of the row.

    ```mlir
    %s = ftlt.row_reduce "sum" %v : f32
    ```
  }];
  let arguments = (ins StrAttr:$kind, F32:$value);
  let results = (outs F32:$result);
  let assemblyFormat = "$kind $value attr-dict `:` type($value)";
  let hasVerifier = 1;
}

def FTLT_FusedYieldOp : FTLT_Op<"fused_yield", [Pure, Terminator,
    HasParent<"FusedOp">]> {
  let summary = "the values a fused group body writes";
  let description = "```mlir\nftlt.fused_yield %r : f32\n```";
  let arguments = (ins Variadic<AnyType>:$values);
  let assemblyFormat = "$values attr-dict `:` type($values)";
}

#endif // FTL_DIALECT_FTLT_IR_FTLTOPS_TD
