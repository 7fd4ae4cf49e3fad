//===- ReferenceOpsTest.cpp - Tests of the naive reference kernels --------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
//
// The references are the oracle for generated code, so they are checked
// against values from PyTorch / Hugging Face (fixtures/make_reference_values.py
// printed the constants below), against mathematical identities, and their
// backward passes against central finite differences of their forward passes.
//
//===----------------------------------------------------------------------===//

#include "ftl/Kernels/Reference.h"

#include "TestUtil.h"

#include "gtest/gtest.h"

#include <cmath>
#include <functional>
#include <string>
#include <vector>

using namespace ftl::kernels;
using namespace ftl::kernels::test;
using ftl::rt::Rng;

namespace {

// ---- Values printed by fixtures/make_reference_values.py -----------------
// AdamW lr 0.01, betas (0.9, 0.95), eps 1e-8, weight_decay 0.1
const float kAdamWStep1[] = {0.4895000159740448f, -1.2387499809265137f,
                             1.9880000352859497f, 0.0f, -0.7592499852180481f};
const float kAdamWStep2[] = {0.4796175956726074f, -1.2411450147628784f,
                             1.9865384101867676f, -0.007349600084125996f,
                             -0.7682415246963501f};
const float kAdamWStep3[] = {0.4811721742153168f, -1.2440766096115112f,
                             1.9849640130996704f, -0.009617939591407776f,
                             -0.7765404582023621f};
const float kGeluX[] = {-6.0f, -3.0f, -1.5f, -0.5f, -0.1f, 0.0f,
                        0.1f,  0.5f,  1.0f,  2.5f,  6.0f};
const double kGeluY[] = {
    -8.43964897967453e-11, -0.0036373920817729943, -0.10042842301976707,
    -0.15428599017485606,  -0.04601724895456484,   0.0,
    0.053982751045435165,  0.34571400982514394,    0.8411919906082768,
    2.484915733910001,     5.9999999999156035};
const double kGeluDy[] = {
    -7.709976012836329e-10, -0.011584166630969648, -0.12771079315143308,
    0.13263009646535764,    0.4204782107282433,    0.5,
    0.5795217892717567,     0.8673699035346424,    1.0829640838457826,
    1.037951576212666,      1.0000000007709977};
const int32_t kRopePositions[] = {0, 1, 7, 100, 3000};
const float kRopeX[] = {
    -0.75f, -0.5f,  -0.25f, 0.0f,   0.25f,  0.5f,   0.75f,  -0.75f, -0.5f,
    -0.25f, 0.0f,   0.25f,  0.5f,   0.75f,  -0.75f, -0.5f,  -0.25f, 0.0f,
    0.25f,  0.5f,   0.75f,  -0.75f, -0.5f,  -0.25f, 0.0f,   0.25f,  0.5f,
    0.75f,  -0.75f, -0.5f,  -0.25f, 0.0f,   0.25f,  0.5f,   0.75f,  -0.75f,
    -0.5f,  -0.25f, 0.0f,   0.25f,  0.5f,   0.75f,  -0.75f, -0.5f,  -0.25f,
    0.0f,   0.25f,  0.5f,   0.75f,  -0.75f, -0.5f,  -0.25f, 0.0f,   0.25f,
    0.5f,   0.75f,  -0.75f, -0.5f,  -0.25f, 0.0f,   0.25f,  0.5f,   0.75f,
    -0.75f, -0.5f,  -0.25f, 0.0f,   0.25f,  0.5f,   0.75f,  -0.75f, -0.5f,
    -0.25f, 0.0f,   0.25f,  0.5f,   0.75f,  -0.75f, -0.5f,  -0.25f};
const float kRopeY[] = {-0.75f,
                        -0.5f,
                        -0.25f,
                        0.0f,
                        0.25f,
                        0.5f,
                        0.75f,
                        -0.75f,
                        -0.5f,
                        -0.25f,
                        0.0f,
                        0.25f,
                        0.5f,
                        0.75f,
                        -0.75f,
                        -0.5f,
                        -0.7661787867546082f,
                        0.07487506419420242f,
                        0.2549874186515808f,
                        0.5002497434616089f,
                        0.19485902786254883f,
                        -0.7462531328201294f,
                        -0.4974750280380249f,
                        -0.24949988722801208f,
                        0.6311032176017761f,
                        0.2986677587032318f,
                        0.5024749636650085f,
                        0.7499996423721313f,
                        -0.40522676706314087f,
                        -0.47254374623298645f,
                        -0.2449875771999359f,
                        0.0007499999483115971f,
                        0.516968846321106f,
                        0.5434755086898804f,
                        0.7481632828712463f,
                        -0.7517316341400146f,
                        -0.21270447969436646f,
                        0.13089828193187714f,
                        0.052457135170698166f,
                        0.24474391341209412f,
                        0.5411977767944336f,
                        0.5736316442489624f,
                        -0.7656490206718445f,
                        -0.5034877061843872f,
                        0.14001773297786713f,
                        0.4831632375717163f,
                        0.19693061709403992f,
                        0.4964877665042877f,
                        0.64673912525177f,
                        0.7653089165687561f,
                        -0.6908866167068481f,
                        -0.3236261010169983f,
                        -0.3797742426395416f,
                        0.1982479691505432f,
                        -0.15058431029319763f,
                        0.7212947607040405f,
                        -0.5201476812362671f,
                        0.6915463209152222f,
                        -0.7661787867546082f,
                        0.07487506419420242f,
                        0.5953539609909058f,
                        -0.14752519130706787f,
                        0.19485902786254883f,
                        -0.7462531328201294f,
                        0.37824612855911255f,
                        0.7553410530090332f,
                        -0.7410237193107605f,
                        -0.1769382357597351f,
                        -0.5974360704421997f,
                        0.23336650431156158f,
                        -0.11568859219551086f,
                        0.5302761793136597f,
                        0.0795280784368515f,
                        -0.74981689453125f,
                        -0.45545294880867004f,
                        -0.4597163200378418f,
                        -0.7865591049194336f,
                        0.016572464257478714f,
                        -0.32413363456726074f,
                        0.3180580139160156f};
const float kNormX[] = {0.5f, -1.0f, 2.0f, 0.25f, 3.0f, 3.0f, -3.0f, 0.0f};
const float kNormGamma[] = {1.0f, 0.5f, -2.0f, 1.5f};
const float kRmsNormY[] = {0.43386074900627136f, -0.43386074900627136f,
                           -3.470885992050171f,  0.3253955543041229f,
                           1.154700517654419f,   0.5773502588272095f,
                           2.309401035308838f,   0.0f};
const float kNormBeta[] = {0.10000000149011612f, -0.20000000298023224f, 0.0f,
                           0.30000001192092896f};
const double kLayerNormY[] = {0.15862078181588313, -0.8741389767265524,
                              -2.931039016288348,  0.03620650045497767,
                              1.0045333042877003,  0.2522666484185598,
                              3.01511100932528,    -0.1522666394778631};
// ---------------------------------------------------------------------------

/// Checks d(sum(forward(x) * w))/dx[i] against `grad` (the backward output
/// for dy = w) with central differences, perturbing x in float.
void checkGradient(std::vector<float> &x, const std::vector<float> &grad,
                   const std::function<double()> &loss, const std::string &what,
                   double h = 1e-3, double tol = 2e-3) {
  for (size_t i = 0; i < x.size(); ++i) {
    const float saved = x[i];
    x[i] = saved + static_cast<float>(h);
    const double hUp = static_cast<double>(x[i]) - saved;
    const double up = loss();
    x[i] = saved - static_cast<float>(h);
    const double hDown = saved - static_cast<double>(x[i]);
    const double down = loss();
    x[i] = saved;
    const double fd = (up - down) / (hUp + hDown);
    EXPECT_NEAR(grad[i], fd, tol * (1 + std::fabs(fd)))
        << what << "[" << i << "]";
  }
}

double weightedSum(const std::vector<float> &y, const std::vector<float> &w) {
  double s = 0;
  for (size_t i = 0; i < y.size(); ++i)
    s += static_cast<double>(y[i]) * w[i];
  return s;
}

TEST(ReferenceOps, LayerNormMatchesTorch) {
  std::vector<float> y(8), mean(2), rstd(2);
  layerNormForwardReference(2, 4, kNormX, kNormGamma, kNormBeta, 1e-5f,
                            y.data(), mean.data(), rstd.data());
  for (int i = 0; i < 8; ++i)
    EXPECT_NEAR(y[i], kLayerNormY[i], 1e-6 * (1 + std::fabs(kLayerNormY[i])));
  EXPECT_FLOAT_EQ(mean[0], 0.4375f);
  EXPECT_FLOAT_EQ(mean[1], 0.75f);
}

TEST(ReferenceOps, LayerNormNormalizes) {
  Rng rng(1);
  std::vector<float> x = randomVector(rng, 3 * 50, 5.0f), y(x.size());
  layerNormForwardReference(3, 50, x.data(), nullptr, nullptr, 0.0f, y.data(),
                            nullptr, nullptr);
  for (int r = 0; r < 3; ++r) {
    double mu = 0, var = 0;
    for (int i = 0; i < 50; ++i)
      mu += y[r * 50 + i];
    mu /= 50;
    for (int i = 0; i < 50; ++i)
      var += (y[r * 50 + i] - mu) * (y[r * 50 + i] - mu);
    EXPECT_NEAR(mu, 0.0, 1e-6);
    EXPECT_NEAR(var / 50, 1.0, 1e-5);
  }
}

TEST(ReferenceOps, LayerNormBackward) {
  const int64_t rows = 3, dim = 7;
  Rng rng(2);
  std::vector<float> x = randomVector(rng, rows * dim, 2.0f);
  std::vector<float> gamma = randomVector(rng, dim),
                     beta = randomVector(rng, dim);
  std::vector<float> w = randomVector(rng, rows * dim);
  std::vector<float> dx(rows * dim), dg(dim), db(dim);
  layerNormBackwardReference(rows, dim, x.data(), gamma.data(), w.data(), 1e-5f,
                             dx.data(), dg.data(), db.data());
  auto loss = [&] {
    std::vector<float> y(rows * dim);
    layerNormForwardReference(rows, dim, x.data(), gamma.data(), beta.data(),
                              1e-5f, y.data(), nullptr, nullptr);
    return weightedSum(y, w);
  };
  checkGradient(x, dx, loss, "layernorm dx");
  checkGradient(gamma, dg, loss, "layernorm dgamma");
  checkGradient(beta, db, loss, "layernorm dbeta");
}

TEST(ReferenceOps, RmsNormMatchesHuggingFace) {
  std::vector<float> y(8), rstd(2);
  rmsNormForwardReference(2, 4, kNormX, kNormGamma, 1e-6f, y.data(),
                          rstd.data());
  for (int i = 0; i < 8; ++i)
    EXPECT_NEAR(y[i], kRmsNormY[i], 2e-7 * (1 + std::fabs(kRmsNormY[i])));
}

TEST(ReferenceOps, RmsNormBackward) {
  const int64_t rows = 4, dim = 9;
  Rng rng(3);
  std::vector<float> x = randomVector(rng, rows * dim, 2.0f);
  std::vector<float> gamma = randomVector(rng, dim),
                     w = randomVector(rng, rows * dim);
  std::vector<float> dx(rows * dim), dg(dim);
  rmsNormBackwardReference(rows, dim, x.data(), gamma.data(), w.data(), 1e-6f,
                           dx.data(), dg.data());
  auto loss = [&] {
    std::vector<float> y(rows * dim);
    rmsNormForwardReference(rows, dim, x.data(), gamma.data(), 1e-6f, y.data(),
                            nullptr);
    return weightedSum(y, w);
  };
  checkGradient(x, dx, loss, "rmsnorm dx");
  checkGradient(gamma, dg, loss, "rmsnorm dgamma");
}

TEST(ReferenceOps, GeluTanhMatchesTorch) {
  const int n = sizeof(kGeluX) / sizeof(float);
  std::vector<float> y(n), dx(n), ones(n, 1.0f);
  geluTanhForwardReference(n, kGeluX, y.data());
  geluTanhBackwardReference(n, kGeluX, ones.data(), dx.data());
  for (int i = 0; i < n; ++i) {
    EXPECT_NEAR(y[i], kGeluY[i], 1e-7 * (1 + std::fabs(kGeluY[i])));
    EXPECT_NEAR(dx[i], kGeluDy[i], 1e-7 * (1 + std::fabs(kGeluDy[i])));
  }
}

TEST(ReferenceOps, GeluTanhIsCloseToExactGelu) {
  // The tanh form approximates x * Phi(x) to better than 1e-3.
  std::vector<float> x(801), y(801);
  for (int i = 0; i <= 800; ++i)
    x[i] = -8.0f + 0.02f * i;
  geluTanhForwardReference(801, x.data(), y.data());
  for (int i = 0; i <= 800; ++i) {
    double exact = 0.5 * x[i] * (1.0 + std::erf(x[i] / std::sqrt(2.0)));
    EXPECT_NEAR(y[i], exact, 1e-3) << x[i];
  }
}

TEST(ReferenceOps, GeluTanhBackward) {
  Rng rng(4);
  std::vector<float> x = randomVector(rng, 40, 4.0f), w = randomVector(rng, 40);
  std::vector<float> dx(40);
  geluTanhBackwardReference(40, x.data(), w.data(), dx.data());
  checkGradient(
      x, dx,
      [&] {
        std::vector<float> y(40);
        geluTanhForwardReference(40, x.data(), y.data());
        return weightedSum(y, w);
      },
      "gelu dx");
}

TEST(ReferenceOps, SiluIdentities) {
  // silu(x) - silu(-x) = x, silu(0) = 0, silu(x) -> x for large x.
  Rng rng(5);
  std::vector<float> x = randomVector(rng, 50, 10.0f), nx(50), y(50), ny(50);
  for (int i = 0; i < 50; ++i)
    nx[i] = -x[i];
  siluForwardReference(50, x.data(), y.data());
  siluForwardReference(50, nx.data(), ny.data());
  for (int i = 0; i < 50; ++i)
    EXPECT_NEAR(y[i] - ny[i], x[i], 2e-6 * (1 + std::fabs(x[i])));
  float zero = 0.0f, big = 40.0f, out;
  siluForwardReference(1, &zero, &out);
  EXPECT_EQ(out, 0.0f);
  siluForwardReference(1, &big, &out);
  EXPECT_FLOAT_EQ(out, 40.0f);
}

TEST(ReferenceOps, SiluAndSwigluBackward) {
  Rng rng(6);
  std::vector<float> gate = randomVector(rng, 30, 5.0f),
                     up = randomVector(rng, 30, 2.0f);
  std::vector<float> w = randomVector(rng, 30), dx(30), dg(30), du(30);
  siluBackwardReference(30, gate.data(), w.data(), dx.data());
  checkGradient(
      gate, dx,
      [&] {
        std::vector<float> y(30);
        siluForwardReference(30, gate.data(), y.data());
        return weightedSum(y, w);
      },
      "silu dx");
  swigluBackwardReference(30, gate.data(), up.data(), w.data(), dg.data(),
                          du.data());
  auto loss = [&] {
    std::vector<float> y(30);
    swigluForwardReference(30, gate.data(), up.data(), y.data());
    return weightedSum(y, w);
  };
  checkGradient(gate, dg, loss, "swiglu dgate");
  checkGradient(up, du, loss, "swiglu dup");
  // swiglu = silu(gate) * up.
  std::vector<float> s(30), sw(30);
  siluForwardReference(30, gate.data(), s.data());
  swigluForwardReference(30, gate.data(), up.data(), sw.data());
  for (int i = 0; i < 30; ++i)
    EXPECT_NEAR(sw[i], s[i] * up[i], 1e-6 * (1 + std::fabs(sw[i])));
}

TEST(ReferenceOps, RopeMatchesHuggingFace) {
  const int64_t tokens = 5, heads = 2, dim = 8;
  std::vector<float> y(tokens * heads * dim);
  ropeForwardReference(tokens, heads, dim, dim, kRopePositions, 10000.0f,
                       kRopeX, y.data());
  for (size_t i = 0; i < y.size(); ++i)
    EXPECT_NEAR(y[i], kRopeY[i], 2e-6) << i;
}

TEST(ReferenceOps, RopeRotatesPairsAndInverts) {
  const int64_t tokens = 6, heads = 3, dim = 16, rot = 12;
  Rng rng(7);
  std::vector<float> x = randomVector(rng, tokens * heads * dim);
  std::vector<int32_t> pos = {0, 1, 2, 50, 511, 4095};
  std::vector<float> y(x.size()), back(x.size());
  ropeForwardReference(tokens, heads, dim, rot, pos.data(), 500000.0f, x.data(),
                       y.data());
  ropeBackwardReference(tokens, heads, dim, rot, pos.data(), 500000.0f,
                        y.data(), back.data());
  for (size_t i = 0; i < x.size(); ++i)
    EXPECT_NEAR(back[i], x[i], 1e-6);
  for (int64_t t = 0; t < tokens; ++t)
    for (int64_t h = 0; h < heads; ++h) {
      const float *xi = x.data() + (t * heads + h) * dim;
      const float *yi = y.data() + (t * heads + h) * dim;
      for (int64_t j = 0; j < rot / 2; ++j) {
        // Each pair (j, j + rot/2) keeps its length; position 0 is identity.
        double nx = std::hypot(xi[j], xi[j + rot / 2]);
        double ny = std::hypot(yi[j], yi[j + rot / 2]);
        EXPECT_NEAR(nx, ny, 1e-6);
        if (pos[t] == 0) {
          EXPECT_EQ(yi[j], xi[j]);
        }
      }
      for (int64_t i = rot; i < dim; ++i)
        EXPECT_EQ(yi[i], xi[i]); // channels past rotaryDim are copied
    }
  // Pair 0 turns by exactly `position` radians (inverse frequency 1).
  const float *x1 = x.data() + (1 * heads) * dim,
              *y1 = y.data() + (1 * heads) * dim;
  EXPECT_NEAR(y1[0], x1[0] * std::cos(1.0) - x1[6] * std::sin(1.0), 1e-6);
}

TEST(ReferenceOps, RopeScoresDependOnRelativePosition) {
  // <rope(q, m), rope(k, n)> depends only on m - n.
  const int64_t dim = 8;
  Rng rng(8);
  std::vector<float> q = randomVector(rng, dim), k = randomVector(rng, dim);
  auto score = [&](int32_t m, int32_t n) {
    std::vector<float> qr(dim), kr(dim);
    ropeForwardReference(1, 1, dim, dim, &m, 10000.0f, q.data(), qr.data());
    ropeForwardReference(1, 1, dim, dim, &n, 10000.0f, k.data(), kr.data());
    double s = 0;
    for (int64_t i = 0; i < dim; ++i)
      s += double(qr[i]) * kr[i];
    return s;
  };
  EXPECT_NEAR(score(10, 3), score(107, 100), 1e-5);
  EXPECT_NEAR(score(5, 5), score(0, 0), 1e-5);
}

TEST(ReferenceOps, Softmax) {
  Rng rng(9);
  const int64_t rows = 4, dim = 13;
  std::vector<float> x = randomVector(rng, rows * dim, 20.0f), y(x.size()),
                     shifted(x.size()), ys(x.size());
  softmaxForwardReference(rows, dim, x.data(), y.data());
  for (size_t i = 0; i < x.size(); ++i)
    shifted[i] = x[i] + 1000.0f; // large shift: must not overflow
  softmaxForwardReference(rows, dim, shifted.data(), ys.data());
  for (int64_t r = 0; r < rows; ++r) {
    double sum = 0;
    for (int64_t i = 0; i < dim; ++i) {
      sum += y[r * dim + i];
      EXPECT_NEAR(ys[r * dim + i], y[r * dim + i], 1e-4);
    }
    EXPECT_NEAR(sum, 1.0, 1e-6);
  }
  std::vector<float> xs = randomVector(rng, rows * dim, 2.0f);
  std::vector<float> w = randomVector(rng, rows * dim), dx(x.size()),
                     yy(x.size());
  softmaxForwardReference(rows, dim, xs.data(), yy.data());
  softmaxBackwardReference(rows, dim, yy.data(), w.data(), dx.data());
  checkGradient(
      xs, dx,
      [&] {
        std::vector<float> out(rows * dim);
        softmaxForwardReference(rows, dim, xs.data(), out.data());
        return weightedSum(out, w);
      },
      "softmax dx");
}

TEST(ReferenceOps, EmbeddingGatherAndScatterAdd) {
  const int64_t vocab = 5, dim = 3;
  std::vector<float> table = {0,  1,  2,  10, 11, 12, 20, 21,
                              22, 30, 31, 32, 40, 41, 42};
  std::vector<int32_t> ids = {3, 0, 3, 4};
  std::vector<float> out(ids.size() * dim);
  embeddingForwardReference(4, dim, ids.data(), table.data(), out.data());
  const float expected[] = {30, 31, 32, 0, 1, 2, 30, 31, 32, 40, 41, 42};
  for (int i = 0; i < 12; ++i)
    EXPECT_EQ(out[i], expected[i]);
  std::vector<float> dOut = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  std::vector<float> dTable(vocab * dim, 0.5f);
  embeddingBackwardReference(4, dim, ids.data(), dOut.data(), dTable.data());
  const float expectedGrad[] = {4.5f,  5.5f,  6.5f,  0.5f,  0.5f,
                                0.5f,  0.5f,  0.5f,  0.5f,  8.5f,
                                10.5f, 12.5f, 10.5f, 11.5f, 12.5f};
  for (int i = 0; i < 15; ++i)
    EXPECT_EQ(dTable[i], expectedGrad[i]) << i;
}

TEST(ReferenceOps, AdamWMatchesTorch) {
  std::vector<float> p = {0.5f, -1.25f, 2.0f, 0.0f, -0.75f};
  std::vector<float> m(5, 0.0f), v(5, 0.0f);
  const float grads[3][5] = {{0.1f, -0.2f, 0.3f, 0.0f, 1.5f},
                             {0.05f, 0.4f, -0.3f, 2.0f, 1.0f},
                             {-0.2f, 0.1f, 0.0f, -1.0f, 0.5f}};
  const float *expected[3] = {kAdamWStep1, kAdamWStep2, kAdamWStep3};
  for (int step = 0; step < 3; ++step) {
    adamWStepReference(5, p.data(), grads[step], m.data(), v.data(), step + 1,
                       0.01f, 0.9f, 0.95f, 1e-8f, 0.1f);
    for (int i = 0; i < 5; ++i)
      EXPECT_NEAR(p[i], expected[step][i], 2e-7 * (1 + std::fabs(p[i])))
          << "step " << step + 1 << " param " << i;
  }
}

TEST(ReferenceOps, AdamWFirstStepIsSignedLearningRate) {
  // After bias correction the first update is lr * g / (|g| + eps), plus the
  // decoupled decay lr * wd * p.
  std::vector<float> p = {1.0f, -2.0f, 3.0f}, m(3, 0.0f), v(3, 0.0f);
  const float g[] = {0.5f, -3.0f, 1e-3f};
  adamWStepReference(3, p.data(), g, m.data(), v.data(), 1, 0.1f, 0.9f, 0.999f,
                     0.0f, 0.0f);
  EXPECT_NEAR(p[0], 0.9f, 1e-6);
  EXPECT_NEAR(p[1], -1.9f, 1e-6);
  EXPECT_NEAR(p[2], 2.9f, 1e-6);
  std::vector<float> q = {2.0f}, mq(1, 0.0f), vq(1, 0.0f);
  const float zero = 0.0f;
  adamWStepReference(1, q.data(), &zero, mq.data(), vq.data(), 1, 0.1f, 0.9f,
                     0.999f, 1e-8f, 0.5f);
  EXPECT_NEAR(q[0], 2.0f * (1 - 0.1f * 0.5f), 1e-6); // decay only
}

} // namespace
