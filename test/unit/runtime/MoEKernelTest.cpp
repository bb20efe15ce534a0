// Host reference kernel of eff.moe (runtime/src/host/MoE.cpp) on a
// hand-computed tiny layer: T 1, H 2, E 3, k 2, I 1. x = [1, 2]; router rows
// e0 [1, 0], e1 [0, 1], e2 [0, 0] give logits [1, 2, 0], so e1 then e0 are
// chosen. Expert e0: gate [1, 0], up [0, 1] -> h = silu(1) * 2, written to y0;
// e1: gate [0, 1], up [1, 0] -> h = silu(2) * 1, written to y1; e2 (never
// chosen) would add 100s everywhere.
#include "HostTensorRefs.h"
#include "effc/Tensor.h"
#include "host/HostKernels.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace effc;
using host::Attrs;
using host::ConstTensorRef;
using test::cref;
using test::f32;
using test::ref;

namespace {

double silu(double g) { return g / (1 + std::exp(-g)); }

struct TinyMoE {
  HostTensor x = f32({1, 2}, {1, 2});
  HostTensor router = f32({3, 2}, {1, 0, 0, 1, 0, 0});
  // gate_up [E, 2I, H]: row 0 gate, row 1 up.
  HostTensor gateUp = f32({3, 2, 2}, {1, 0, 0, 1, /*e1*/ 0, 1, 1, 0, /*e2*/ 5, 5, 5, 5});
  // down [E, H, I].
  HostTensor down = f32({3, 2, 1}, {1, 0, /*e1*/ 0, 1, /*e2*/ 100, 100});
  double h0 = silu(1) * 2, h1 = silu(2) * 1;

  std::vector<float> run(const Attrs &attrs, std::vector<ConstTensorRef> extra = {}) {
    HostTensor y(DType::FLOAT32, {1, 2});
    std::vector<ConstTensorRef> in{cref(x), cref(router), cref(gateUp), cref(down)};
    for (const ConstTensorRef &r : extra)
      in.push_back(r);
    Status s = host::runKernel("eff.moe", attrs, in, {ref(y)});
    EXPECT_TRUE(s.ok()) << s.message();
    return {y.data<float>()[0], y.data<float>()[1]};
  }
};

Attrs base(const std::string &routing, int64_t norm) {
  return Attrs{{"num_experts", int64_t(3)},
               {"top_k", int64_t(2)},
               {"norm_topk", norm},
               {"routing", routing}};
}

} // namespace

TEST(MoEKernel, SoftmaxThenTopKWithAndWithoutNorm) {
  TinyMoE m;
  double z = std::exp(1.0) + std::exp(2.0) + 1;
  double p0 = std::exp(1.0) / z, p1 = std::exp(2.0) / z;
  std::vector<float> y = m.run(base("softmax_topk", 0));
  EXPECT_NEAR(y[0], p0 * m.h0, 1e-6);
  EXPECT_NEAR(y[1], p1 * m.h1, 1e-6);
  y = m.run(base("softmax_topk", 1));
  EXPECT_NEAR(y[0], p0 / (p0 + p1) * m.h0, 1e-6);
  EXPECT_NEAR(y[1], p1 / (p0 + p1) * m.h1, 1e-6);
}

TEST(MoEKernel, TopKThenSoftmaxAndRoutedScale) {
  TinyMoE m;
  // softmax over the chosen logits [2, 1]; then x routed_scale 2.
  double w1 = 1 / (1 + std::exp(-1.0)), w0 = 1 - w1;
  Attrs attrs = base("topk_softmax", 0);
  attrs["routed_scale"] = 2.0;
  std::vector<float> y = m.run(attrs);
  EXPECT_NEAR(y[0], 2 * w0 * m.h0, 1e-6);
  EXPECT_NEAR(y[1], 2 * w1 * m.h1, 1e-6);
}

TEST(MoEKernel, ScoresWithRouteWeightsAndGatedSharedExpert) {
  TinyMoE m;
  // Scores [3, 2, 1] pick e0 and e1; their weights come from route_weights.
  HostTensor scores = f32({1, 3}, {3, 2, 1});
  m.router = scores;
  HostTensor weights = f32({1, 3}, {0.25f, 0.5f, 9});
  // Shared expert: gate_up [2Is = 2, H]: gate [1, 1] (g = 3), up [1, 0]
  // (u = 1); down [H, Is = 1] = [1, 1]; shared_gate [1, H] = [0, 0] ->
  // sigmoid(0) = 0.5.
  HostTensor sgu = f32({2, 2}, {1, 1, 1, 0}), sd = f32({2, 1}, {1, 1}), sg = f32({1, 2}, {0, 0});
  std::vector<float> y = m.run(base("scores", 0), {cref(weights), cref(sgu), cref(sd), cref(sg)});
  double shared = 0.5 * silu(3) * 1;
  EXPECT_NEAR(y[0], 0.25 * m.h0 + shared, 1e-6);
  EXPECT_NEAR(y[1], 0.5 * m.h1 + shared, 1e-6);
}

TEST(MoEKernel, RejectsMismatchedShapes) {
  TinyMoE m;
  HostTensor badDown = f32({3, 2, 2}, std::vector<float>(12, 0));
  HostTensor y(DType::FLOAT32, {1, 2});
  Status s = host::runKernel("eff.moe", base("softmax_topk", 0),
                             {cref(m.x), cref(m.router), cref(m.gateUp), cref(badDown)}, {ref(y)});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("down must be [3, 2, 1]"), std::string::npos) << s.message();
}
