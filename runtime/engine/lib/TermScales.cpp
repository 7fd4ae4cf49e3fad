//===- TermScales.cpp - Normalisers of objective terms --------------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "TermScales.h"

#include <map>

using namespace ftl::rt;

std::vector<float>(::ftl::rt::computeTermScales)(
    llvm::ArrayRef<TermSpec> terms, llvm::ArrayRef<TermTotals> totals,
    int64_t accumulate) {
  // Group sums: token weight, samples, and the weights of the terms present.
  struct GroupSums {
    double weight = 0, presentWeights = 0;
    int64_t samples = 0;
  };
  std::map<int, GroupSums> groups;
  auto present = [&](size_t k) {
    return terms[k].kind == TermSpec::Kind::Pairs ? totals[k].pairs > 0
                                                  : totals[k].weight > 0;
  };
  for (size_t k = 0; k < terms.size(); ++k) {
    if (terms[k].group < 0)
      continue;
    GroupSums &g = groups[terms[k].group];
    g.weight += totals[k].weight;
    g.samples += totals[k].samples;
    if (present(k))
      g.presentWeights +=
          terms[k].weight *
          (terms[k].balance == "coba" ? terms[k].dynamicWeight : 1.0);
  }
  std::vector<float> scales(terms.size(), 0.0f);
  for (size_t k = 0; k < terms.size(); ++k) {
    const TermSpec &t = terms[k];
    if (t.kind == TermSpec::Kind::Regulariser) {
      // Added once per micro-batch: once per step in all.
      scales[k] = float(1.0 / double(accumulate));
      continue;
    }
    if (!present(k))
      continue;
    // The term's own mean (static, no group).
    double own = totals[k].weight; // sum_weights, or per-sample weights
    if (t.kind == TermSpec::Kind::Pairs)
      own = double(totals[k].pairs);
    else if (t.group < 0 && t.norm == "samples")
      own = double(totals[k].samples);
    else if (t.group < 0 && t.norm == "tokens")
      own = double(totals[k].supervised);
    double scale = 1.0 / own;
    if (t.group >= 0 && t.kind == TermSpec::Kind::Tokens) {
      const GroupSums &g = groups[t.group];
      if (t.balance == "token_scale")
        scale = 1.0 / g.weight; // every token of the group counts alike
      else if (t.balance == "data_scale")
        scale = 1.0 / double(g.samples); // every example counts alike
      else if (t.balance == "loss_scale" && g.presentWeights != 0)
        scale = 1.0 / (own * g.presentWeights); // every task counts alike
      else if (t.balance == "coba" && g.presentWeights != 0)
        // Each task's mean token loss, by its CoBa weight (1/K before
        // warmup: loss_scale's value).
        scale = t.dynamicWeight / (own * g.presentWeights);
    }
    scales[k] = float(scale);
  }
  return scales;
}
