// effc-run's output comparison (tools/effc-run/Compare.h): the global metric,
// the per-row metric and top-1 agreement.
#include "Compare.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace effc;
using namespace effc::run;

namespace {

HostTensor f32(std::vector<int64_t> shape, std::vector<float> v) {
  return HostTensor::fromVector<float>(DType::FLOAT32, std::move(shape), v);
}

} // namespace

// The case the per-row check is for: one large row sets the global scale, a
// small row is wrong by far more than its own magnitude allows, and the
// global max_rel_err still passes.
TEST(Compare, LowMagnitudeRowWrongFailsThoughGlobalPasses) {
  Tolerances tol; // rtol 1e-4, rowRtol 4e-4
  HostTensor ref = f32({2, 4}, {100, -50, 30, 10, 0.5f, 0.2f, -0.3f, 0.05f});
  HostTensor got = f32({2, 4}, {100, -50, 30, 10, 0.5f, 0.2f, -0.3f, 0.059f});
  Comparison c = compareTensors(got, ref, tol);
  EXPECT_TRUE(c.globalPass) << c.maxRelErr; // 0.009 / 100 = 9e-5
  EXPECT_NEAR(c.maxRelErr, 9e-5, 1e-9);
  EXPECT_FALSE(c.rowsPass);
  EXPECT_FALSE(c.pass());
  EXPECT_EQ(c.worstRow, 1);
  EXPECT_EQ(c.rows, 2);
  EXPECT_NEAR(c.worstRowRelErr, 0.009 / 0.5, 1e-6);
  std::string line = describe(c, tol);
  EXPECT_EQ(
      line.rfind("max_abs_err=0.009 max_rel_err=9e-05 FAIL row_rel_err=0.018 (row 1 of 2) top1=2/2",
                 0),
      0u)
      << line;
  EXPECT_NE(line.find("[failed: row_rel_err > 0.0004]"), std::string::npos) << line;
  // The same error in the large row is within both tolerances.
  HostTensor got2 = f32({2, 4}, {100, -50, 30, 10.009f, 0.5f, 0.2f, -0.3f, 0.05f});
  EXPECT_TRUE(compareTensors(got2, ref, tol).pass());
}

TEST(Compare, ExactAndWithinTolerancePass) {
  Tolerances tol;
  HostTensor ref = f32({2, 3}, {1, 2, 3, -4, 5, -6});
  Comparison c = compareTensors(ref, ref, tol);
  EXPECT_TRUE(c.pass());
  EXPECT_EQ(c.maxAbsErr, 0);
  EXPECT_EQ(c.worstRowRelErr, 0);
  EXPECT_EQ(describe(c, tol),
            "max_abs_err=0 max_rel_err=0 PASS row_rel_err=0 (row 0 of 2) top1=2/2");
  HostTensor got = f32({2, 3}, {1, 2, 3.0002f, -4, 5, -6});
  c = compareTensors(got, ref, tol);
  EXPECT_TRUE(c.globalPass); // 2e-4 / 6
  EXPECT_TRUE(c.rowsPass);   // 2e-4 / 3 < 4e-4
}

// A row that is (almost) zero in the reference is measured against 1e-3 of
// the output's max|ref|, not against its own ~0.
TEST(Compare, ZeroRowIsMeasuredAgainstTheOutputsScale) {
  Tolerances tol;
  HostTensor ref = f32({2, 2}, {1, -1, 0, 0});
  Comparison c = compareTensors(f32({2, 2}, {1, -1, 1e-8f, 0}), ref, tol);
  EXPECT_TRUE(c.rowsPass) << c.worstRowRelErr; // 1e-8 / 1e-3
  EXPECT_NEAR(c.worstRowRelErr, 1e-5, 1e-9);
  c = compareTensors(f32({2, 2}, {1, -1, 1e-5f, 0}), ref, tol);
  EXPECT_TRUE(c.globalPass);                    // 1e-5 / 1
  EXPECT_FALSE(c.rowsPass) << c.worstRowRelErr; // 1e-5 / 1e-3 = 1e-2
  tol.atol = 2e-5;                              // --atol passes such a row
  EXPECT_TRUE(compareTensors(f32({2, 2}, {1, -1, 1e-5f, 0}), ref, tol).pass());
  // An all-zero output matched exactly.
  HostTensor zeros = f32({2, 2}, {0, 0, 0, 0});
  EXPECT_TRUE(compareTensors(zeros, zeros, Tolerances()).pass());
}

TEST(Compare, Top1CountsDecisiveRowsOnly) {
  Tolerances tol;
  tol.rtol = tol.rowRtol = 1; // top-1 alone decides
  tol.top1Margin = 0.1;
  // Row 0: decisive (gap 2 of 3), flipped. Row 1: a near-tie (gap 0.01 of
  // 1), flipped. Row 2: decisive, kept.
  HostTensor ref = f32({3, 3}, {3, 1, 0, 1, 0.99f, 0, 0, 0, 5});
  HostTensor got = f32({3, 3}, {1, 3, 0, 0.99f, 1, 0, 0, 0, 5});
  Comparison c = compareTensors(got, ref, tol);
  EXPECT_TRUE(c.hasTop1);
  EXPECT_EQ(c.top1Decisive, 2);
  EXPECT_EQ(c.top1Agree, 1);
  EXPECT_FALSE(c.top1Pass);
  EXPECT_NE(describe(c, tol).find("top1=1/2 [failed: top1 < 1]"), std::string::npos)
      << describe(c, tol);
  tol.minTop1 = 0.5;
  EXPECT_TRUE(compareTensors(got, ref, tol).pass());
  // A tie in the output between its argmax and the reference's agrees.
  tol.minTop1 = 1;
  HostTensor tie = f32({1, 3}, {2, 2, 0});
  EXPECT_TRUE(compareTensors(tie, f32({1, 3}, {1, 2, 0}), tol).top1Pass);
}

TEST(Compare, Top1AppliesToFloatRowsOfTwoOrMore) {
  Tolerances tol;
  EXPECT_FALSE(
      compareTensors(f32({4}, {1, 2, 3, 4}), f32({4}, {1, 2, 3, 4}), tol).hasTop1); // rank 1
  EXPECT_FALSE(compareTensors(f32({4, 1}, {1, 2, 3, 4}), f32({4, 1}, {1, 2, 3, 4}), tol)
                   .hasTop1); // last dim 1
  HostTensor i64 = HostTensor::fromVector<int64_t>(DType::INT64, {2, 2}, {1, 2, 3, 4});
  Comparison c = compareTensors(i64, i64, tol);
  EXPECT_FALSE(c.hasTop1);
  EXPECT_TRUE(c.pass());
  EXPECT_EQ(describe(c, tol), "max_abs_err=0 max_rel_err=0 PASS row_rel_err=0 (row 0 of 2)");
}

TEST(Compare, ShapeMismatchAndNaN) {
  Tolerances tol;
  Comparison c = compareTensors(f32({2, 2}, {1, 2, 3, 4}), f32({4}, {1, 2, 3, 4}), tol);
  EXPECT_FALSE(c.shapesMatch);
  EXPECT_FALSE(c.pass());
  EXPECT_EQ(describe(c, tol), "max_abs_err=inf max_rel_err=inf FAIL (shape mismatch)");
  // NaN where the reference has NaN matches; NaN elsewhere fails its row.
  HostTensor ref = f32({2, 2}, {NAN, 1, 2, 3});
  EXPECT_TRUE(compareTensors(f32({2, 2}, {NAN, 1, 2, 3}), ref, tol).pass());
  c = compareTensors(f32({2, 2}, {NAN, 1, NAN, 3}), ref, tol);
  EXPECT_FALSE(c.pass());
  EXPECT_EQ(c.worstRow, 1);
  EXPECT_TRUE(std::isinf(c.worstRowRelErr));
}
