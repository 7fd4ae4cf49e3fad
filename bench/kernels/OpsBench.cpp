//===- OpsBench.cpp - Attention, fused LM head and a step's kernels -------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
//
// Times the flash attention and the fused LM head + cross-entropy on the tiny
// and GPT-2 small training shapes, and the sum of all tuned-kernel calls of a
// full fine-tuning step (GEMMs of every linear layer forward and backward,
// attention forward and backward, LM head + loss forward and backward). The
// last number bounds tokens/s from above: elementwise work, layer norms and
// the optimizer are not included.
//
//   KernelsOpsBench --threads 2 [--reps 5] [--filter gpt2]
//
//===----------------------------------------------------------------------===//

#include "BenchUtil.h"

#include "ftl/Kernels/Attention.h"
#include "ftl/Kernels/Gemm.h"
#include "ftl/Kernels/LinearCrossEntropy.h"
#include "ftl/Runtime/Rng.h"

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

using namespace ftl::kernels;
using namespace ftl::bench;

namespace {

struct Model {
  const char *name;
  int64_t layers, dim, heads, vocab, seq, batch;
};

const Model kModels[] = {{"tiny", 4, 256, 4, 4096, 256, 8},
                         {"gpt2", 12, 768, 12, 50257, 512, 4}};

std::vector<float> randomVector(ftl::rt::Rng &rng, int64_t n, float scale) {
  std::vector<float> v(n);
  for (float &x : v)
    x = scale * (2 * rng.uniform() - 1);
  return v;
}

template <typename Fn>
double medianSeconds(int reps, Fn &&fn) {
  fn(); // warm up
  std::vector<double> t;
  for (int r = 0; r < reps; ++r) {
    double t0 = nowSeconds();
    fn();
    t.push_back(nowSeconds() - t0);
  }
  return median(t);
}

} // namespace

int main(int argc, char **argv) {
  int threads = std::atoi(argValue(argc, argv, "threads",
                                   std::to_string(defaultPool()->numThreads()))
                              .c_str());
  int reps = std::atoi(argValue(argc, argv, "reps", "5").c_str());
  std::string filter = argValue(argc, argv, "filter", "");
  ThreadPool pool(threads);
  const char *peakIsa = "";
  double peak = measureFmaPeakGflops(pool, &peakIsa);
  std::printf("cpu: %s\nthreads: %d  path: %s  fp32 FMA peak (%s): %.1f "
              "GFLOP/s  reps=%d (median)\n\n",
              cpuDescription().c_str(), threads,
              kernelIsaName(detectKernelIsa()), peakIsa, peak, reps);
  {
    // Fork-join round trip of the pool with an empty body.
    const int calls = 20000;
    std::vector<double> perCall;
    for (int r = 0; r < 5; ++r) {
      double t0 = nowSeconds();
      for (int i = 0; i < calls; ++i)
        pool.parallelFor(threads, [](int64_t, int64_t) {});
      perCall.push_back((nowSeconds() - t0) / calls);
    }
    std::printf("thread pool: empty parallelFor over %d threads: %.2f us "
                "(median of 5 x %d calls)\n\n",
                threads, median(perCall) * 1e6, calls);
  }
  std::printf("| model | kernel | ms | GFLOP/s | %% peak |\n");
  std::printf("|---|---|---:|---:|---:|\n");
  ftl::rt::Rng rng(7);

  for (const Model &m : kModels) {
    if (!filter.empty() &&
        std::string(m.name).find(filter) == std::string::npos)
      continue;
    const int64_t T = m.batch * m.seq, D = m.dim, hd = m.dim / m.heads;
    auto row = [&](const char *what, double sec, double flop) {
      std::printf("| %s | %s | %.2f | %.1f | %.1f%% |\n", m.name, what,
                  sec * 1e3, flop / sec / 1e9, 100 * flop / sec / 1e9 / peak);
      std::fflush(stdout);
    };

    // Attention, [B, T, H, hd] with q, k, v from a fused projection would
    // have row stride 3D; the kernel takes separate tensors here.
    AttentionShape s;
    s.batch = m.batch;
    s.seqLen = m.seq;
    s.numHeads = m.heads;
    s.numKvHeads = m.heads;
    s.headDim = hd;
    std::vector<float> q = randomVector(rng, T * D, 1),
                       k = randomVector(rng, T * D, 1),
                       v = randomVector(rng, T * D, 1), o(T * D),
                       lse(m.batch * m.heads * m.seq),
                       dO = randomVector(rng, T * D, 1), dq(T * D), dk(T * D),
                       dv(T * D);
    // Causal: half of the T x T scores; QK^T and PV forward, five products
    // backward.
    const double attnFwdFlop =
        2.0 * 2 * m.batch * m.heads * hd * (m.seq * (m.seq + 1) / 2.0);
    double tAttnF = medianSeconds(reps, [&] {
      attentionForward(s, q.data(), k.data(), v.data(), o.data(), lse.data(),
                       &pool);
    });
    double tAttnB = medianSeconds(reps, [&] {
      attentionBackward(s, q.data(), k.data(), v.data(), o.data(), dO.data(),
                        lse.data(), dq.data(), dk.data(), dv.data(), &pool);
    });
    row("attention fwd (per layer)", tAttnF, attnFwdFlop);
    row("attention bwd (per layer)", tAttnB, 2.5 * attnFwdFlop);

    // Fused LM head + cross-entropy (tied head: weight [V, D]).
    std::vector<float> hidden = randomVector(rng, T * D, 1),
                       weight = randomVector(rng, m.vocab * D, 0.05f), loss(T),
                       lseT(T), grad(T, 1.0f / T), dH(T * D),
                       dW(m.vocab * D, 0.0f);
    std::vector<int32_t> targets(T);
    for (int64_t t = 0; t < T; ++t)
      targets[t] = static_cast<int32_t>(rng.below(m.vocab));
    const double ceFlop = 2.0 * T * D * m.vocab;
    double tCeF = medianSeconds(reps, [&] {
      linearCrossEntropyForward(T, D, m.vocab, hidden.data(), weight.data(),
                                targets.data(), nullptr, 0, loss.data(),
                                lseT.data(), nullptr, &pool);
    });
    double tCeB = medianSeconds(reps, [&] {
      linearCrossEntropyBackward(T, D, m.vocab, hidden.data(), weight.data(),
                                 targets.data(), nullptr, 0, grad.data(),
                                 lseT.data(), dH.data(), dW.data(), &pool);
    });
    row("LM head + CE fwd", tCeF, ceFlop);
    row("LM head + CE bwd", tCeB, 3 * ceFlop);

    // The linear layers of one block: qkv, attention projection, MLP up and
    // down; forward NT, backward NN (dX) and TN (dW).
    const int64_t shapes[4][2] = {{D, 3 * D}, {D, D}, {D, 4 * D}, {4 * D, D}};
    double tLinear = 0, linearFlop = 0;
    for (const auto &sh : shapes) {
      const int64_t in = sh[0], out = sh[1];
      std::vector<float> x = randomVector(rng, T * in, 1),
                         w = randomVector(rng, out * in, 0.05f), y(T * out),
                         dy = randomVector(rng, T * out, 1), dx(T * in),
                         dw(out * in);
      tLinear += medianSeconds(reps, [&] {
        sgemm(Trans::No, Trans::Yes, T, out, in, 1.0f, x.data(), in, w.data(),
              in, 0.0f, y.data(), out, &pool);
        sgemm(Trans::No, Trans::No, T, in, out, 1.0f, dy.data(), out, w.data(),
              in, 0.0f, dx.data(), in, &pool);
        sgemm(Trans::Yes, Trans::No, out, in, T, 1.0f, dy.data(), out, x.data(),
              in, 0.0f, dw.data(), in, &pool);
      });
      linearFlop += 3 * 2.0 * T * in * out;
    }
    row("linear layers fwd+bwd (per layer)", tLinear, linearFlop);
    double step = m.layers * (tLinear + tAttnF + tAttnB) + tCeF + tCeB;
    double stepFlop = m.layers * (linearFlop + 3.5 * attnFwdFlop) + 4 * ceFlop;
    row("all tuned kernels of a full step", step, stepFlop);
    std::printf("| %s | => kernel-only bound | %.0f tokens/s | | |\n", m.name,
                T / step);
  }
  return 0;
}
