// Generated code for the fused groups of a small Llama + LoRA step.
// RUN: ftl compile --emit=llvm %s | FileCheck %s --check-prefix=LLVM
// RUN: ftl compile --emit=ptx %s | FileCheck %s --check-prefix=PTX
// RUN: ftl compile --emit=ptx %s | FileCheck %s --check-prefix=PTX-NOCALL

seed 1
model m = llama(vocab: 64, dim: 32, layers: 1, heads: 2, kv_heads: 1, ffn: 64, ctx: 16)
data d = text("../../examples/data/corpus.txt")
adapter a = lora(rank: 2, alpha: 4) on m.layers[*].attn.{q, v}
train m with lm(d) using adamw(lr: 1e-3) steps 2 batch 2 seq 8

// Kernel 0 is the first RMSNorm: a vectorised sum of squares with one
// horizontal add per row, then a vectorised pass that scales and stores.
// (8 lanes on AVX2 hosts, 16 with AVX-512.)
// LLVM-LABEL: define void @ftl_fused_0(ptr
// LLVM: load <{{8|16}} x float>
// LLVM: fmul <{{8|16}} x float>
// LLVM: fadd reassoc contract <{{8|16}} x float>
// LLVM: call reassoc contract float @llvm.vector.reduce.fadd
// LLVM: call float @llvm.sqrt.f32
// LLVM: store <{{8|16}} x float>
// LLVM-LABEL: define void @ftl_fused_1(ptr
// LLVM-LABEL: define void @ftl_fused_15(ptr
// LLVM-NOT: define void @ftl_fused_16(

// PTX: .version {{[0-9]+\.[0-9]+}}
// PTX: .target sm_90
// PTX: .address_size 64
// PTX-LABEL: .visible .entry ftl_fused_0(
// Input x, weight w, result y, then rows and rows per block.
// PTX-COUNT-4: .param .u64 ftl_fused_0_param_{{[0-9]}},
// PTX-NEXT: .param .u64 ftl_fused_0_param_4{{$}}
// The sum of squares: each thread loops over its columns (c += blockDim.x
// while c < 32), accumulating x * x...
// PTX: ld.global.f32 [[X:%f[0-9]+]], [%rd{{[0-9]+}}];
// PTX-NEXT: mul.rn.f32 [[SQ:%f[0-9]+]], [[X]], [[X]];
// PTX-NEXT: add.rn.f32 [[ACC:%f[0-9]+]], [[ACC]], [[SQ]];
// PTX: setp.lt.u64 [[MORE:%p[0-9]+]], %rd{{[0-9]+}}, 32;
// PTX-NEXT: @[[MORE]] bra
// ...then the block combines: shuffles within warps, shared memory across.
// PTX: shfl.sync.bfly.b32
// PTX: st.shared.f32
// PTX: bar.sync 0;
// PTX: ld.shared.f32
// PTX: st.global.f32
// PTX-LABEL: .visible .entry ftl_fused_1(
// PTX-LABEL: .visible .entry ftl_fused_15(

// No library calls: the math is inline.
// PTX-NOCALL-NOT: call
