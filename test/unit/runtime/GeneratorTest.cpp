// The generation loop (effc/Generator.h): sampling (runtime/src/Sampler.h),
// the loop over a scripted step model (stop tokens, teacher forcing, logits,
// request errors), recompute mode over tiny artifacts built here (per-
// sequence lengths, the causal checks at creation and at every step) and the
// KV-cache mode's refusals (its generation: test/e2e/run_generate_withpast.sh).
#include "Sampler.h"
#include "StepModel.h"
#include "TestUtil.h"
#include "token_sampling.cuh"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <random>
#include <set>
#include <tuple>

using namespace effc;
using namespace effc::detail;
using namespace effc::test;

namespace {

std::vector<float> randomLogits(int64_t vocab, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<float> l(static_cast<size_t>(vocab));
  for (float &x : l)
    x = float(double(rng() >> 11) * 0x1.0p-53 * 8 - 4);
  return l;
}

/// Logits whose softmax is exactly `probs`.
std::vector<float> logitsOf(const std::vector<double> &probs) {
  std::vector<float> l;
  for (double p : probs)
    l.push_back(float(std::log(p)));
  return l;
}

std::map<int64_t, int> histogram(const std::vector<float> &l, const SamplingParams &p, int draws,
                                 uint64_t seed = 1) {
  TokenRng rng(seed, 0);
  std::map<int64_t, int> h;
  for (int i = 0; i < draws; ++i)
    ++h[pickToken(l.data(), int64_t(l.size()), p, rng)];
  return h;
}

} // namespace

TEST(Sampler, GreedyIsTheFirstMaximum) {
  std::vector<float> l = {1, 3, -2, 3, 0};
  TokenRng rng(0, 0);
  EXPECT_EQ(pickToken(l.data(), 5, {}, rng), 1);
}

TEST(Sampler, SameSeedSameTokensOtherSeedOthers) {
  auto l = randomLogits(64, 7);
  SamplingParams p{1.0, 0, 1.0};
  std::vector<int64_t> a, b, c;
  TokenRng ra(42, 3), rb(42, 3), rc(43, 3);
  for (int i = 0; i < 50; ++i) {
    a.push_back(pickToken(l.data(), 64, p, ra));
    b.push_back(pickToken(l.data(), 64, p, rb));
    c.push_back(pickToken(l.data(), 64, p, rc));
  }
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  TokenRng other(42, 4); // another sequence of the batch draws another stream
  std::vector<int64_t> d;
  for (int i = 0; i < 50; ++i)
    d.push_back(pickToken(l.data(), 64, p, other));
  EXPECT_NE(a, d);
}

TEST(Sampler, TopK1IsGreedy) {
  for (uint64_t seed = 0; seed < 20; ++seed) {
    auto l = randomLogits(100, seed);
    TokenRng rng(seed, 0), unused(seed, 0);
    int64_t greedy = pickToken(l.data(), 100, {}, unused);
    for (double t : {0.5, 1.0, 5.0})
      EXPECT_EQ(pickToken(l.data(), 100, {t, 1, 1.0}, rng), greedy);
  }
  std::vector<float> ties(10, 2.f); // ties go to the lower id, as argmax
  TokenRng rng(0, 0);
  EXPECT_EQ(pickToken(ties.data(), 10, {1.0, 1, 1.0}, rng), 0);
}

TEST(Sampler, FrequenciesFollowTheSoftmax) {
  auto h = histogram(logitsOf({0.5, 0.3, 0.2}), {1.0, 0, 1.0}, 20000);
  EXPECT_NEAR(h[0] / 20000.0, 0.5, 0.02);
  EXPECT_NEAR(h[1] / 20000.0, 0.3, 0.02);
  EXPECT_NEAR(h[2] / 20000.0, 0.2, 0.02);
  // Temperature 2 flattens: p ~ sqrt(p) renormalized.
  double s = std::sqrt(0.5) + std::sqrt(0.3) + std::sqrt(0.2);
  auto h2 = histogram(logitsOf({0.5, 0.3, 0.2}), {2.0, 0, 1.0}, 20000);
  EXPECT_NEAR(h2[2] / 20000.0, std::sqrt(0.2) / s, 0.02);
}

TEST(Sampler, TopKKeepsTheKMostLikely) {
  auto h = histogram(logitsOf({0.1, 0.4, 0.2, 0.3}), {1.0, 2, 1.0}, 4000);
  EXPECT_EQ(h.size(), 2u);
  EXPECT_GT(h[1], 0);
  EXPECT_GT(h[3], 0);
  EXPECT_NEAR(h[1] / 4000.0, 4.0 / 7, 0.03); // renormalized over the two
}

TEST(Sampler, TopPEdges) {
  auto l = logitsOf({0.5, 0.3, 0.2});
  // Tiny top-p keeps only the most likely token (the first is always kept).
  EXPECT_EQ(histogram(l, {1.0, 0, 1e-9}, 500), (std::map<int64_t, int>{{0, 500}}));
  // Mass before token 1 is 0.5: top_p = 0.5 stops there, just above takes it.
  EXPECT_EQ(histogram(l, {1.0, 0, 0.5}, 500).size(), 1u);
  auto two = histogram(l, {1.0, 0, 0.51}, 2000);
  EXPECT_EQ(two.size(), 2u);
  EXPECT_NEAR(two[0] / 2000.0, 0.5 / 0.8, 0.04);
  EXPECT_EQ(histogram(l, {1.0, 0, 0.79}, 2000).size(), 2u);
  EXPECT_EQ(histogram(l, {1.0, 0, 0.81}, 2000).size(), 3u);
  EXPECT_EQ(histogram(l, {1.0, 0, 1.0}, 2000).size(), 3u);
  // With top-k first, top-p works on what top-k kept.
  EXPECT_EQ(histogram(logitsOf({0.4, 0.35, 0.25}), {1.0, 2, 0.9}, 2000).size(), 2u);
  // An impossible token is never drawn; +inf logits share all the mass.
  std::vector<float> inf = {1, INFINITY, -INFINITY, INFINITY};
  auto hi = histogram(inf, {1.0, 0, 1.0}, 1000);
  EXPECT_EQ(hi.size(), 2u);
  EXPECT_GT(hi[1], 0);
  EXPECT_GT(hi[3], 0);
}

TEST(Sampler, ParameterRanges) {
  EXPECT_TRUE(checkSamplingParams({0, 0, 1}).ok());
  EXPECT_EQ(checkSamplingParams({-1, 0, 1}).message(),
            "temperature must be >= 0 and finite (0: greedy), got -1.000000");
  EXPECT_FALSE(checkSamplingParams({INFINITY, 0, 1}).ok());
  EXPECT_EQ(checkSamplingParams({1, -2, 1}).message(), "top_k must be >= 0 (0: off), got -2");
  EXPECT_EQ(checkSamplingParams({1, 0, 0}).message(),
            "top_p must be in (0, 1] (1: off), got 0.000000");
  EXPECT_FALSE(checkSamplingParams({1, 0, 1.5}).ok());
}

// The random words are Philox4x32-10's (Random123's known answers, the
// counter {step, sequence} and key seed as 32-bit words, the first two
// output words as one 64-bit word), the same on the host and the device.
TEST(Sampler, RandomWordsArePhilox4x32_10) {
  EXPECT_EQ(tokenRandom(0, 0, 0), 0xe169c58d6627e8d5ull);
  EXPECT_EQ(tokenRandom(~0ull, ~0ull, ~0ull), 0x41c83b0e408f276dull);
  EXPECT_EQ(tokenRandom(0x299f31d0a4093822ull, 0x0370734413198a2eull, 0x85a308d3243f6a88ull),
            0x94fdcceb'd16cfe09ull);
  TokenRng rng(5, 3);
  for (uint64_t k = 0; k < 4; ++k)
    EXPECT_EQ(rng.next(), tokenRandom(5, 3, k));
}

// token_sampling.cuh's pieces: the draw's point is the high word of the
// 128-bit product; 2^x is within 3e-7 of exp2; weights are exact integers of
// the order's maximum 2^32; the order key sorts by logit then id.
TEST(Sampler, TokenSamplingDefinitionPieces) {
  std::mt19937_64 g(3);
  for (int i = 0; i < 2000; ++i) {
    uint64_t r = g(), s = i % 3 == 0 ? g() : g() >> (i % 40);
    EXPECT_EQ(ts_draw(r, s), uint64_t((unsigned __int128)r * s >> 64)) << r << " " << s;
  }
  EXPECT_EQ(ts_draw(~0ull, 5), 4u);
  for (float x = -31.99f; x <= 0; x += 0.00731f)
    EXPECT_NEAR(double(ts_exp2(x)) / std::exp2(double(x)), 1.0, 3e-7) << x;
  EXPECT_EQ(ts_exp2(0.f), 1.f);
  EXPECT_EQ(ts_weight(3.f, 3.f, 1.f), 1ull << 32);
  EXPECT_EQ(ts_weight(INFINITY, INFINITY, 1.f), 1ull << 32);
  EXPECT_EQ(ts_weight(1e30f, INFINITY, 1.f), 0u);
  EXPECT_EQ(ts_weight(-INFINITY, 0.f, 1.f), 0u);
  EXPECT_EQ(ts_weight(-40.f, 0.f, 1.f), 0u);
  EXPECT_NEAR(double(ts_weight(-1.f, 0.f, ts_scale(1.0))), std::exp(-1.0) * 0x1p32, 0x1p32 * 3e-7);
  EXPECT_EQ(ts_id_bits(2), 1);
  EXPECT_EQ(ts_id_bits(256), 8);
  EXPECT_EQ(ts_id_bits(257), 9);
  EXPECT_EQ(ts_id_bits(128256), 17);
  const int b = ts_id_bits(100);
  EXPECT_LT(ts_order_key(2.f, 50, b), ts_order_key(1.f, 3, b));        // larger logit first
  EXPECT_LT(ts_order_key(1.f, 3, b), ts_order_key(1.f, 4, b));         // ties: lower id first
  EXPECT_LT(ts_order_key(-0.f, 3, b), ts_order_key(0.f, 4, b));        // -0 is +0
  EXPECT_LT(ts_order_key(-1.f, 99, b), ts_order_key(-INFINITY, 0, b)); // -inf last
  EXPECT_LT(ts_order_key(INFINITY, 99, b), ts_order_key(3e38f, 0, b));
  EXPECT_EQ(ts_top_p_target(10, 0.5), 5u);
  EXPECT_EQ(ts_top_p_target(10, 0.51), 6u);
  EXPECT_EQ(ts_top_p_target(10, 1e-12), 1u);
  EXPECT_EQ(ts_top_p_target(~0ull, 1.0), ~0ull); // double(s) rounds up: s itself
}

namespace {

/// A scripted step model: sequence b's next token is (last token + 1 + b)
/// mod V with logit 10, every other token 0. Records what the loop feeds it.
class ScriptedStepModel final : public StepModel {
public:
  static constexpr int64_t V = 16;
  std::vector<std::vector<int64_t>> seqs;
  std::vector<std::vector<bool>> liveAtStep;

  int64_t maxBatch() const override { return 3; }
  int64_t maxLength() const override { return 12; }
  int64_t vocabSize() const override { return V; }
  const char *mode() const override { return "scripted"; }
  Status prefill(const std::vector<std::vector<int64_t>> &prompts, int64_t,
                 std::vector<float> &logits) override {
    seqs = prompts;
    logits.assign(prompts.size() * V, 0.f);
    for (size_t b = 0; b < seqs.size(); ++b)
      fill(b, logits);
    return Status::OK();
  }
  Status step(const std::vector<int64_t> &tokens, const std::vector<bool> &live,
              std::vector<float> &logits) override {
    liveAtStep.push_back(live);
    for (size_t b = 0; b < seqs.size(); ++b)
      if (live[b]) {
        seqs[b].push_back(tokens[b]);
        fill(b, logits);
      }
    return Status::OK();
  }

private:
  void fill(size_t b, std::vector<float> &logits) const {
    std::fill_n(logits.begin() + ptrdiff_t(b * V), V, 0.f);
    logits[b * V + size_t((seqs[b].back() + 1 + int64_t(b)) % V)] = 10.f;
  }
};

struct Scripted {
  ScriptedStepModel *model;
  Generator generator;
  Scripted() : Scripted(new ScriptedStepModel) {}
  explicit Scripted(ScriptedStepModel *m) : model(m), generator(std::unique_ptr<StepModel>(m)) {}
};

std::string errorOf(Generator &g, const std::vector<std::vector<int64_t>> &prompts,
                    const GenerationOptions &o) {
  auto r = g.generate(prompts, o);
  return r.ok() ? "<ok>" : r.status().message();
}

} // namespace

TEST(Generator, GreedyPerSequenceLengths) {
  Scripted s;
  GenerationOptions o;
  o.maxNewTokens = 4;
  auto r = s.generator.generate({{1, 2, 3}, {5}}, o);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->tokens, (std::vector<std::vector<int64_t>>{{4, 5, 6, 7}, {7, 9, 11, 13}}));
  // Prompt + every token but the last (nothing reads its logits).
  EXPECT_EQ(s.model->seqs, (std::vector<std::vector<int64_t>>{{1, 2, 3, 4, 5, 6}, {5, 7, 9, 11}}));
  EXPECT_EQ(s.model->liveAtStep.size(), 3u);
  EXPECT_EQ(r->logits.byteSize(), 0u); // not asked for
}

TEST(Generator, StopTokenEndsOneSequenceTheOtherContinues) {
  Scripted s;
  GenerationOptions o;
  o.maxNewTokens = 5;
  o.stopTokenIds = {6, 15};
  o.returnLogits = true;
  auto r = s.generator.generate({{3}, {1}}, o);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->tokens[0], (std::vector<int64_t>{4, 5, 6})); // stop token returned
  EXPECT_EQ(r->tokens[1], (std::vector<int64_t>{3, 5, 7, 9, 11}));
  ASSERT_EQ(s.model->liveAtStep.size(), 4u);
  EXPECT_EQ(s.model->liveAtStep[1], (std::vector<bool>{true, true}));
  EXPECT_EQ(s.model->liveAtStep[2], (std::vector<bool>{false, true}));
  EXPECT_EQ(s.model->seqs[0], (std::vector<int64_t>{3, 4, 5})); // the stop token is not fed
  // Logits [2, 5, V]: each picked token's row; zeros after the stop.
  ASSERT_EQ(r->logits.shape(), (std::vector<int64_t>{2, 5, ScriptedStepModel::V}));
  const float *l = r->logits.data<float>();
  EXPECT_EQ(l[2 * 16 + 6], 10.f);
  for (int k = 3; k < 5; ++k)
    for (int v = 0; v < 16; ++v)
      EXPECT_EQ(l[k * 16 + v], 0.f);
  EXPECT_EQ(l[(5 + 4) * 16 + 11], 10.f);
  // Both stop: the loop ends before max_new_tokens.
  Scripted both;
  o.stopTokenIds = {5};
  r = both.generator.generate({{3}, {1}}, o);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->tokens, (std::vector<std::vector<int64_t>>{{4, 5}, {3, 5}}));
  EXPECT_EQ(both.model->liveAtStep.size(), 1u);
}

TEST(Generator, TeacherForcingFeedsTheGivenTokens) {
  Scripted s;
  GenerationOptions o;
  o.maxNewTokens = 3;
  o.forcedTokens = {{9, 0, 1}};
  auto r = s.generator.generate({{1}}, o);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->tokens[0], (std::vector<int64_t>{2, 10, 1})); // picked from the forced prefix
  EXPECT_EQ(s.model->seqs[0], (std::vector<int64_t>{1, 9, 0}));
}

TEST(Generator, SampledSequenceDoesNotDependOnItsNeighbour) {
  // Sequence 1's tokens are the same whether sequence 0 stops early or not.
  GenerationOptions o;
  o.maxNewTokens = 6;
  o.temperature = 50; // flat enough that the scripted peak does not decide
  // A seed where sequence 1 never emits sequence 0's first token, so only
  // sequence 0 stops at it.
  Scripted a, b;
  StatusOr<GenerationResult> ra = Status::error("no seed");
  int64_t stop = -1;
  for (o.seed = 5; o.seed < 40; ++o.seed) {
    ra = a.generator.generate({{3}, {4}}, o);
    ASSERT_TRUE(ra.ok());
    stop = ra->tokens[0][0];
    if (std::count(ra->tokens[1].begin(), ra->tokens[1].end(), stop) == 0)
      break;
  }
  ASSERT_LT(o.seed, 40u) << "no seed in 5..39 where sequence 1 avoids sequence 0's first token";
  o.stopTokenIds = {stop};
  auto rb = b.generator.generate({{3}, {4}}, o);
  ASSERT_TRUE(rb.ok());
  EXPECT_EQ(rb->tokens[0].size(), 1u);
  EXPECT_EQ(ra->tokens[1], rb->tokens[1]);
  Scripted c;
  o.stopTokenIds.clear();
  ++o.seed;
  auto rc = c.generator.generate({{3}, {4}}, o);
  ASSERT_TRUE(rc.ok());
  EXPECT_NE(ra->tokens, rc->tokens);
}

TEST(Generator, RequestErrors) {
  Scripted s;
  GenerationOptions o;
  o.maxNewTokens = 4;
  EXPECT_EQ(errorOf(s.generator, {{1, 2, 3, 4, 5, 6, 7, 8, 9}}, o),
            "sequence 0: prompt of 9 tokens + max_new_tokens 4 = 13 tokens exceeds the model's 12 "
            "positions (scripted mode generates within the compiled seq)");
  EXPECT_EQ(errorOf(s.generator, {{1}, {1}, {1}, {1}}, o),
            "4 prompts, but the model takes at most 3 sequences at a time (its batch)");
  EXPECT_EQ(errorOf(s.generator, {}, o), "no prompt given");
  EXPECT_EQ(errorOf(s.generator, {{1}, {}}, o), "sequence 1: empty prompt");
  EXPECT_EQ(errorOf(s.generator, {{1, 16}}, o),
            "sequence 0: prompt token 16 is outside the vocabulary [0, 16)");
  o.forcedTokens = {{1, 2, 3}};
  EXPECT_EQ(errorOf(s.generator, {{1}}, o),
            "teacher forcing: sequence 0 has 3 forced tokens, needs 4");
  o.forcedTokens.clear();
  o.topP = 0;
  EXPECT_EQ(errorOf(s.generator, {{1}}, o), "top_p must be in (0, 1] (1: off), got 0.000000");
  o.topP = 1;
  o.maxNewTokens = 0;
  EXPECT_EQ(errorOf(s.generator, {{1}}, o), "max_new_tokens must be >= 1, got 0");
  // The tensor form: per-row prompt lengths.
  o.maxNewTokens = 2;
  std::vector<int64_t> ids = {1, 2, 3, 4, 5, 6};
  Tensor t{DType::INT64, {2, 3}, ids.data()};
  auto r = s.generator.generate(t, o, {3, 1});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(s.model->seqs, (std::vector<std::vector<int64_t>>{{1, 2, 3, 4}, {4, 6}}));
  r = s.generator.generate(t, o, {3, 4});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "sequence 1: prompt length 4 is not in [1, 3]");
}

namespace {

/// A tiny LM over the window [2, 4]: embedding [8, 4] gathered by input_ids,
/// one attention head over it (causal or not), logits = attention @ W [4, 8].
/// With `mixSeq`, the embeddings are first multiplied by an all-ones [4, 4]
/// matrix along the sequence: every position sees every token.
std::shared_ptr<const Model> tinyLm(bool causal, bool mixSeq = false, bool extraInput = false) {
  ManifestBuilder mb;
  std::vector<float> emb(32), w(32);
  for (int i = 0; i < 32; ++i) {
    emb[size_t(i)] = float((i * 7) % 11) / 5.f - 1.f;
    w[size_t(i)] = float((i * 5) % 13) / 6.f - 1.f;
  }
  int ids = mb.buffer("input_ids", DType::INT64, {2, 4});
  int e = mb.weight("emb", {8, 4}, emb);
  int x = mb.buffer("x", DType::FLOAT32, {2, 4, 4});
  mb.kernel("eff.gather", {e, ids}, {x}, {{"axis", attrI(0)}});
  if (mixSeq) {
    int mix = mb.weight("mix", {4, 4}, std::vector<float>(16, 0.25f));
    int mixed = mb.buffer("mixed", DType::FLOAT32, {2, 4, 4});
    mb.kernel("eff.matmul", {mix, x}, {mixed});
    x = mixed;
  }
  int q = mb.alias("q", x, 0, DType::FLOAT32, {2, 1, 4, 4});
  int att = mb.buffer("att", DType::FLOAT32, {2, 1, 4, 4});
  std::map<std::string, artifact::Attr> attrs;
  if (causal)
    attrs["causal"] = attrI(1);
  mb.kernel("eff.attention", {q, q, q}, {att}, attrs);
  int a = mb.alias("a", att, 0, DType::FLOAT32, {2, 4, 4});
  int wout = mb.weight("w", {4, 8}, w);
  int logits = mb.buffer("logits", DType::FLOAT32, {2, 4, 8});
  mb.kernel("eff.matmul", {a, wout}, {logits});
  mb.input("input_ids", ids);
  if (extraInput)
    mb.input("attention_mask", mb.buffer("attention_mask", DType::INT64, {2, 4}));
  mb.output("logits", logits);
  return loadBytes(mb.bytes(), "tiny.effc");
}

std::string createError(std::shared_ptr<const Model> model) {
  auto s = Session::create(model, "host");
  if (!s.ok())
    return "session: " + s.status().message();
  auto g = Generator::create(**s);
  return g.ok() ? "<ok>" : g.status().message();
}

} // namespace

TEST(RecomputeGenerator, SequencesOfOneBatchMatchTheirOwnRuns) {
  auto s = Session::create(tinyLm(true), "host");
  ASSERT_TRUE(s.ok()) << s.status().message();
  auto g = Generator::create(**s);
  ASSERT_TRUE(g.ok()) << g.status().message();
  EXPECT_EQ((*g)->maxBatch(), 2);
  EXPECT_EQ((*g)->maxLength(), 4);
  EXPECT_EQ((*g)->vocabSize(), 8);
  EXPECT_STREQ((*g)->mode(), "recompute");
  GenerationOptions o;
  o.maxNewTokens = 2;
  o.returnLogits = true;
  auto both = (*g)->generate({{3, 1}, {5}}, o);
  auto first = (*g)->generate({{3, 1}}, o);
  auto second = (*g)->generate({{5}}, o);
  ASSERT_TRUE(both.ok() && first.ok() && second.ok()) << both.status().message();
  EXPECT_EQ(both->tokens[0], first->tokens[0]);
  EXPECT_EQ(both->tokens[1], second->tokens[0]);
  // The first step's logits are the model's own at the prompt's last position.
  std::vector<int64_t> window = {3, 1, 0, 0, 5, 0, 0, 0};
  auto out = (*s)->run({{"input_ids", Tensor{DType::INT64, {2, 4}, window.data()}}});
  ASSERT_TRUE(out.ok());
  for (int v = 0; v < 8; ++v) {
    EXPECT_EQ(both->logits.data<float>()[v], (*out)[0].data<float>()[1 * 8 + v]);
    EXPECT_EQ(both->logits.data<float>()[2 * 8 + v], (*out)[0].data<float>()[4 * 8 + v]);
  }
  o.maxNewTokens = 3;
  auto tooLong = (*g)->generate({{3, 1}}, o);
  ASSERT_FALSE(tooLong.ok());
  EXPECT_EQ(tooLong.status().message(),
            "sequence 0: prompt of 2 tokens + max_new_tokens 3 = 5 tokens exceeds the model's 4 "
            "positions (recompute mode generates within the compiled seq)");
}

TEST(RecomputeGenerator, RefusesWhatIsNotACausalLm) {
  EXPECT_EQ(createError(tinyLm(false)),
            "tiny.effc: cannot generate (recompute mode): not a causal language model: kernel 1 "
            "(eff.attention at 'test/eff.attention') attends to later tokens (not causal), as an "
            "encoder such as BERT does");
  EXPECT_EQ(createError(tinyLm(true, false, true)),
            "tiny.effc: cannot generate (recompute mode): expected one input, input_ids [batch, "
            "seq], got 2 (input_ids, attention_mask); KV-cache mode takes a model with "
            "past_key_values.{i}.key/value inputs");
  EXPECT_EQ(createError(loadBytes(smallModel().bytes(), "small.effc")),
            "small.effc: cannot generate (recompute mode): input 'x' must be int64 or int32 token "
            "ids [batch, seq], got float32 [2, 3]");
}

namespace {

/// A model with past: input_ids [2, 1] and past_key_values.0.key [2, 1, 3, 4]
/// -> logits [2, 1, 8] (an embedding gather), with `present` also
/// present.0.key (a copy of the past), with `extraInput` also token_type_ids.
std::shared_ptr<const Model> tinyWithPast(bool present, bool extraInput) {
  ManifestBuilder mb;
  int ids = mb.buffer("input_ids", DType::INT64, {2, 1});
  int past = mb.buffer("past", DType::FLOAT32, {2, 1, 3, 4});
  int e = mb.weight("emb", {8, 8}, std::vector<float>(64, 0.5f));
  int logits = mb.buffer("logits", DType::FLOAT32, {2, 1, 8});
  mb.kernel("eff.gather", {e, ids}, {logits}, {{"axis", attrI(0)}});
  mb.input("input_ids", ids);
  mb.input("past_key_values.0.key", past);
  if (extraInput)
    mb.input("token_type_ids", mb.buffer("token_type_ids", DType::INT64, {2, 1}));
  mb.output("logits", logits);
  if (present) {
    int copy = mb.buffer("present", DType::FLOAT32, {2, 1, 3, 4});
    mb.kernel("eff.identity", {past}, {copy});
    mb.output("present.0.key", copy);
  }
  return loadBytes(mb.bytes(), "tiny.effc");
}

} // namespace

TEST(PastGenerator, RefusesWhatItCannotDrive) {
  const std::string prefix = "tiny.effc: cannot generate (kv-cache mode): ";
  EXPECT_EQ(createError(tinyWithPast(false, false)),
            prefix + "input 'past_key_values.0.key' has no output 'present.0.key' to feed it "
                     "from (Optimum's past_key_values.{i}.key/value -> present.{i}.key/value)");
  EXPECT_EQ(createError(tinyWithPast(true, true)),
            prefix + "input 'token_type_ids' is none of input_ids, attention_mask, "
                     "position_ids, logits_index, past_key_values.{i}.key/value, so nothing "
                     "knows what to feed it");
  EXPECT_EQ(createError(tinyWithPast(true, false)),
            prefix + "input 'past_key_values.0.key' dim 2 (past) must be symbolic from 0 (the "
                     "prefill) to the cache size; it is 3..3 (compile with e.g. --dim "
                     "seq=1..32 --dim past=0..255 --dim total=1..288)");
}

TEST(RecomputeGenerator, LookAheadFoundAtTheFirstStep) {
  // Attention says causal, but the sequence mixing before it looks ahead:
  // the row read at prefill changes when the next token is written.
  auto s = Session::create(tinyLm(true, true), "host");
  ASSERT_TRUE(s.ok()) << s.status().message();
  auto g = Generator::create(**s);
  ASSERT_TRUE(g.ok()) << g.status().message();
  GenerationOptions o;
  o.maxNewTokens = 2;
  o.forcedTokens = {{6, 6}};
  auto r = (*g)->generate({{3}}, o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("tiny.effc: not a causal language model: the logits at "
                                      "position 0 of sequence 0 changed by "),
            std::string::npos)
      << r.status().message();
}

namespace {

/// Sets buffer `id`'s shape_exprs: per dim, (coeff, dim ids) terms.
void symbolicShape(
    ManifestBuilder &mb, int id,
    const std::vector<std::vector<std::pair<int64_t, std::vector<uint32_t>>>> &dims) {
  artifact::Buffer *b = mb.m.mutable_buffers(id);
  for (const auto &terms : dims) {
    artifact::DimExpr *e = b->add_shape_exprs();
    for (const auto &[coeff, ids] : terms) {
      artifact::DimTerm *t = e->add_terms();
      t->set_coeff(coeff);
      for (uint32_t d : ids)
        t->add_dims(d);
    }
  }
}

/// A decoder with past over symbolic seq 1..3 and past 0..10 (batch 2, one
/// head of 4): rows = emb[input_ids]; present.0.key = eff.kv_append(past,
/// rows); logits = attention(rows, present, present) @ W [2, seq, 8], so
/// every logit reads the whole cache. `state`: the cache is session state
/// of 13 rows (format version 4), as effc --kv-state plans it: past and
/// present are STATE views, neither an input nor an output.
/// `attend` false: logits = rows @ W instead, so each position's logits are
/// its own token's (the cache is still appended).
std::shared_ptr<const Model> tinySymbolicWithPast(bool state = false, bool attend = true) {
  ManifestBuilder mb;
  for (auto [name, min, max] :
       {std::tuple<const char *, int64_t, int64_t>{"seq", 1, 3}, {"past", 0, 10}}) {
    artifact::Dim *d = mb.m.add_dims();
    d->set_name(name);
    d->set_min(min);
    d->set_max(max);
  }
  using E = std::vector<std::pair<int64_t, std::vector<uint32_t>>>;
  const E two = {{2, {}}}, one = {{1, {}}}, four = {{4, {}}}, eight = {{8, {}}}, seq = {{1, {0}}},
          past = {{1, {1}}}, total = {{1, {0}}, {1, {1}}};
  std::vector<float> embValues(32), wValues(32);
  for (size_t i = 0; i < 32; ++i) {
    embValues[i] = float(int(i * 7 % 11) - 5) / 4;
    wValues[i] = float(int(i * 5 % 13) - 6) / 8;
  }
  int ids = mb.buffer("input_ids", DType::INT64, {2, 3});
  symbolicShape(mb, ids, {two, seq});
  int pastBuf = mb.buffer("past", DType::FLOAT32, {2, 1, 10, 4});
  symbolicShape(mb, pastBuf, {two, one, past, four});
  int emb = mb.weight("emb", {8, 4}, embValues);
  int w = mb.weight("W", {4, 8}, wValues);
  int rows = mb.buffer("rows", DType::FLOAT32, {2, 3, 4});
  symbolicShape(mb, rows, {two, seq, four});
  int rows4 = mb.alias("rows4", rows, 0, DType::FLOAT32, {2, 1, 3, 4});
  symbolicShape(mb, rows4, {two, one, seq, four});
  int present = mb.buffer("present", DType::FLOAT32, {2, 1, 13, 4});
  symbolicShape(mb, present, {two, one, total, four});
  int y = mb.buffer("y", DType::FLOAT32, {2, 1, 3, 4});
  symbolicShape(mb, y, {two, one, seq, four});
  int y3 = mb.alias("y3", y, 0, DType::FLOAT32, {2, 3, 4});
  symbolicShape(mb, y3, {two, seq, four});
  int logits = mb.buffer("logits", DType::FLOAT32, {2, 3, 8});
  symbolicShape(mb, logits, {two, seq, eight});
  mb.kernel("eff.gather", {emb, ids}, {rows}, {{"axis", attrI(0)}});
  mb.kernel("eff.kv_append", {pastBuf, rows4}, {present},
            {{"capacity", attrI(13)}, {"state", [] {
                                         artifact::Attr a;
                                         a.set_s("present.0.key");
                                         return a;
                                       }()}});
  mb.kernel("eff.attention", {rows4, present, present}, {y}, {{"scale", attrF(0.5)}});
  mb.kernel("eff.matmul", {attend ? y3 : rows, w}, {logits});
  mb.input("input_ids", ids);
  mb.output("logits", logits);
  if (!state) {
    mb.input("past_key_values.0.key", pastBuf);
    mb.output("present.0.key", present);
    return loadBytes(mb.bytes(), "tiny-past.effc");
  }
  artifact::State *st = mb.m.add_states();
  st->set_input("past_key_values.0.key");
  st->set_input_buffer(uint32_t(pastBuf));
  st->set_output("present.0.key");
  st->set_output_buffer(uint32_t(present));
  st->set_dtype(artifact::FLOAT32);
  for (int64_t d : {2, 1, 13, 4})
    st->add_shape(d);
  st->set_size_bytes(2 * 13 * 4 * 4);
  for (int id : {pastBuf, present}) {
    mb.m.mutable_buffers(id)->set_storage(artifact::Buffer::STATE);
    mb.m.mutable_buffers(id)->set_state(0);
  }
  return loadBytes(mb.bytes(), "tiny-state.effc");
}

/// `prompts` generated twice with `o`: `picked` with the step model's picks
/// and `fromLogits` with the logits returned (o.returnLogits, picked on the
/// host); expects the same tokens (`what` names the case).
void generateBothWays(Generator &g, const std::vector<std::vector<int64_t>> &prompts,
                      GenerationOptions o, const std::string &what, GenerationResult &picked,
                      GenerationResult &fromLogits) {
  auto p = g.generate(prompts, o);
  ASSERT_TRUE(p.ok()) << p.status().message();
  o.returnLogits = true;
  auto l = g.generate(prompts, o);
  ASSERT_TRUE(l.ok()) << l.status().message();
  EXPECT_EQ(p->tokens, l->tokens) << what;
  picked = std::move(*p);
  fromLogits = std::move(*l);
}

} // namespace

// The cache kept in the session's buffers (PastCacheFeed::SessionBuffers,
// the default) gives bit for bit the logits of feeding each run's present.*
// back through the host (FeedOutputs): prefill in chunks of 3 (prompts of 5
// and 2 tokens) and 4 steps, one sequence finishing early.
TEST(PastGenerator, SessionBuffersMatchFeedingThePresentsBack) {
  auto model = tinySymbolicWithPast();
  ASSERT_TRUE(model);
  auto session = Session::create(model, "host");
  ASSERT_TRUE(session.ok()) << session.status().message();
  std::vector<std::vector<float>> logits[2];
  for (int k = 0; k < 2; ++k) {
    auto m = makePastStepModel(**session,
                               k == 0 ? PastCacheFeed::SessionBuffers : PastCacheFeed::FeedOutputs);
    ASSERT_TRUE(m.ok()) << m.status().message();
    std::vector<float> l;
    ASSERT_TRUE((*m)->prefill({{1, 2, 3, 4, 5}, {6, 7}}, 0, l).ok());
    logits[k].push_back(l);
    for (int step = 0; step < 4; ++step) {
      Status s = (*m)->step({int64_t(step), int64_t(7 - step)}, {true, step < 2}, l);
      ASSERT_TRUE(s.ok()) << s.message();
      logits[k].push_back(l);
    }
  }
  ASSERT_EQ(logits[0].size(), 5u);
  for (size_t i = 0; i < logits[0].size(); ++i) {
    ASSERT_EQ(logits[0][i].size(), 16u);
    for (size_t v = 0; v < 16; ++v)
      EXPECT_EQ(std::memcmp(&logits[0][i][v], &logits[1][i][v], sizeof(float)), 0)
          << "run " << i << " logit " << v << ": " << logits[0][i][v] << " vs " << logits[1][i][v];
  }
  // The cache matters: the last step's logits differ from the first step's
  // for the same token.
  EXPECT_NE(logits[0][1], logits[0][4]);
}

// The cache kept in session state (PastCacheFeed::StateBound, issue 14 S4:
// one buffer of capacity rows that kv_append writes only the new rows of,
// attention reading it with that row stride) gives bit for bit the logits
// of the contiguous cache fed back through the host (FeedOutputs), over the
// same prefill chunks, steps and early finish, and twice in a row (a new
// generation resets the rows). Per run only input_ids go in (8 bytes a
// token) and logits come out (32 bytes a row): no byte of the cache moves,
// where the contiguous artifact copies its past in and its present out.
TEST(PastGenerator, SessionStateMatchesFeedingThePresentsBack) {
  auto stateModel = tinySymbolicWithPast(true), plainModel = tinySymbolicWithPast(false);
  ASSERT_TRUE(stateModel && plainModel);
  ASSERT_EQ(stateModel->states().size(), 1u);
  EXPECT_EQ(stateModel->inputs().size(), 1u);  // input_ids alone
  EXPECT_EQ(stateModel->outputs().size(), 1u); // logits alone
  auto stateSession = Session::create(stateModel, "host");
  auto plainSession = Session::create(plainModel, "host");
  ASSERT_TRUE(stateSession.ok()) << stateSession.status().message();
  ASSERT_TRUE(plainSession.ok()) << plainSession.status().message();
  auto generate = [](Session &session, PastCacheFeed feed) {
    std::vector<std::vector<float>> out;
    auto m = makePastStepModel(session, feed);
    EXPECT_TRUE(m.ok()) << m.status().message();
    if (!m.ok())
      return out;
    for (int round = 0; round < 2; ++round) {
      std::vector<float> l;
      Status s = (*m)->prefill({{1, 2, 3, 4, 5}, {6, 7}}, 0, l);
      EXPECT_TRUE(s.ok()) << s.message();
      out.push_back(l);
      for (int step = 0; step < 4; ++step) {
        s = (*m)->step({int64_t(step), int64_t(7 - step)}, {true, step < 2}, l);
        EXPECT_TRUE(s.ok()) << s.message();
        out.push_back(l);
      }
    }
    return out;
  };
  std::vector<std::vector<float>> state = generate(**stateSession, PastCacheFeed::StateBound);
  std::vector<std::vector<float>> plain = generate(**plainSession, PastCacheFeed::FeedOutputs);
  ASSERT_EQ(state.size(), 10u);
  ASSERT_EQ(plain.size(), 10u);
  for (size_t i = 0; i < state.size(); ++i) {
    ASSERT_EQ(state[i].size(), 16u);
    for (size_t v = 0; v < 16; ++v)
      EXPECT_EQ(std::memcmp(&state[i][v], &plain[i][v], sizeof(float)), 0)
          << "run " << i << " logit " << v << ": " << state[i][v] << " vs " << plain[i][v];
  }
  EXPECT_NE(state[1], state[4]);
  EXPECT_EQ((*stateSession)->stateRows(), 9); // 5 prompt tokens + 4 steps (round 2)

  // Bytes copied per run: a decode step after 4 cached rows.
  auto ids = HostTensor(DType::INT64, {2, 1});
  RunProfile profile;
  for (Session *session : {stateSession->get(), plainSession->get()}) {
    std::map<std::string, Tensor> feeds = {{"input_ids", ids.view()}};
    HostTensor past(DType::FLOAT32, {2, 1, 4, 4});
    if (session == plainSession->get())
      feeds["past_key_values.0.key"] = past.view();
    else
      ASSERT_TRUE(session->resetState(4).ok());
    auto out = session->run(feeds, &profile);
    ASSERT_TRUE(out.ok()) << out.status().message();
    const uint64_t cacheIn = session == plainSession->get() ? 2 * 4 * 4 * 4 : 0;
    const uint64_t cacheOut = session == plainSession->get() ? 2 * 5 * 4 * 4 : 0;
    EXPECT_EQ(profile.bytesIn, 2 * 8 + cacheIn) << session->model().path();
    EXPECT_EQ(profile.bytesOut, 2 * 8 * 4 + cacheOut) << session->model().path();
  }
  EXPECT_EQ((*stateSession)->stateRows(), 5);
  // The rows are the session's: feeding the past is an unknown input, a
  // state beyond past's bound is refused, and so is growing it by reset.
  HostTensor past(DType::FLOAT32, {2, 1, 5, 4});
  auto fed =
      (*stateSession)->run({{"input_ids", ids.view()}, {"past_key_values.0.key", past.view()}});
  ASSERT_FALSE(fed.ok());
  EXPECT_NE(fed.status().message().find("unknown input 'past_key_values.0.key'"), std::string::npos)
      << fed.status().message();
  EXPECT_FALSE((*stateSession)->resetState(6).ok());
  HostTensor ids3(DType::INT64, {2, 3});
  for (int run = 0; run < 2; ++run)
    ASSERT_TRUE((*stateSession)->run({{"input_ids", ids3.view()}}).ok()); // 11 rows
  auto over = (*stateSession)->run({{"input_ids", ids.view()}});
  ASSERT_FALSE(over.ok());
  EXPECT_NE(over.status().message().find(
                "session state 'present.0.key' holds 11 rows, outside 'past' 0..10"),
            std::string::npos)
      << over.status().message();
}

// Prompts of different lengths end at other positions of other prefill
// chunks (chunks of 3: the 5-token prompt ends at position 1 of the second,
// the 2-token one at position 1 of the first): each sequence's logits row
// is its own last token's, bit for bit, and the greedy picks
// (StepModel::pickTokens, greedy; the host reference of the cuda backend's
// device pick) are those rows' first maxima, in the prefill and the steps. The
// model's logits at a position are that position's token's alone
// (emb[token] @ W), so a row read at any other position is another token's,
// which differs.
TEST(PastGenerator, RaggedPrefillReadsEachSequencesLastToken) {
  for (bool state : {false, true}) {
    auto model = tinySymbolicWithPast(state, /*attend=*/false);
    ASSERT_TRUE(model);
    auto session = Session::create(model, "host");
    ASSERT_TRUE(session.ok()) << session.status().message();
    auto m = makePastStepModel(**session);
    ASSERT_TRUE(m.ok()) << m.status().message();
    // Each token's logits, from one-token prompts.
    std::vector<std::vector<float>> of(8);
    for (int64_t t = 0; t < 8; ++t) {
      std::vector<float> l;
      ASSERT_TRUE((*m)->prefill({{t}}, 0, l).ok());
      of[size_t(t)] = l;
      for (int64_t u = 0; u < t; ++u)
        ASSERT_NE(of[size_t(u)], of[size_t(t)]) << "tokens " << u << " and " << t;
    }
    for (const auto &prompts : std::vector<std::vector<std::vector<int64_t>>>{
             {{1, 2, 3, 4, 5}, {6, 7}}, {{3}, {1, 2, 4, 5, 6}}, {{2, 5, 1, 0}, {7, 4, 6}}}) {
      std::vector<float> l;
      ASSERT_TRUE((*m)->prefill(prompts, 0, l).ok());
      ASSERT_EQ(l.size(), 16u);
      for (size_t b = 0; b < 2; ++b) {
        const std::vector<float> &want = of[size_t(prompts[b].back())];
        EXPECT_EQ(std::memcmp(l.data() + b * 8, want.data(), 8 * sizeof(float)), 0)
            << (state ? "state" : "buffers") << ": sequence " << b << " of " << prompts[b].size()
            << " tokens";
      }
      // Greedy picks: the same rows' first maxima; the logits stay as given.
      const PickRule greedy;
      ASSERT_TRUE((*m)->pickTokens(&greedy));
      std::vector<float> untouched(16, -7.f);
      ASSERT_TRUE((*m)->prefill(prompts, 0, untouched).ok());
      EXPECT_EQ(untouched, std::vector<float>(16, -7.f));
      ASSERT_EQ((*m)->picks().size(), 2u);
      for (size_t b = 0; b < 2; ++b)
        EXPECT_EQ((*m)->picks()[b], greedyToken(of[size_t(prompts[b].back())].data(), 8))
            << "sequence " << b;
      // A step feeding sequence 0 only: its pick is the fed token's.
      ASSERT_TRUE((*m)->step({5, 0}, {true, false}, untouched).ok());
      EXPECT_EQ((*m)->picks()[0], greedyToken(of[5].data(), 8));
      ASSERT_TRUE((*m)->step({2, 6}, {true, true}, untouched).ok());
      EXPECT_EQ((*m)->picks()[0], greedyToken(of[2].data(), 8));
      EXPECT_EQ((*m)->picks()[1], greedyToken(of[6].data(), 8));
      (*m)->pickTokens(nullptr);
    }
  }
}

// The Generator takes greedy tokens from the step model's picks when it
// returns no logits: the same tokens as picking from the returned logits
// rows, over ragged prompts, for the session buffers and the session state
// (whose logits depend on the whole cache).
TEST(PastGenerator, GreedyPicksGiveTheTokensOfTheLogits) {
  for (bool state : {false, true}) {
    auto model = tinySymbolicWithPast(state);
    ASSERT_TRUE(model);
    auto session = Session::create(model, "host");
    ASSERT_TRUE(session.ok()) << session.status().message();
    auto g = Generator::create(**session);
    ASSERT_TRUE(g.ok()) << g.status().message();
    GenerationOptions o;
    o.maxNewTokens = 6;
    GenerationResult picked, fromLogits;
    ASSERT_NO_FATAL_FAILURE(generateBothWays(**g, {{1, 2, 3, 4, 5}, {6, 7}}, o,
                                             state ? "state" : "buffers", picked, fromLogits));
    for (size_t b = 0; b < 2; ++b)
      for (int64_t k = 0; k < 6; ++k)
        EXPECT_EQ(fromLogits.tokens[b][size_t(k)],
                  greedyToken(fromLogits.logits.data<float>() + (int64_t(b) * 6 + k) * 8, 8));
  }
}

// Sampled picks by the step model (what the cuda backend does on the device;
// here the host sampler) are the tokens the Generator samples from the
// returned logits with the same random words (seed, sequence, new token),
// and every token is the host sampler's pick from its step's logits.
TEST(PastGenerator, SampledPicksGiveTheTokensOfTheLogits) {
  for (bool state : {false, true}) {
    auto model = tinySymbolicWithPast(state);
    ASSERT_TRUE(model);
    auto session = Session::create(model, "host");
    ASSERT_TRUE(session.ok()) << session.status().message();
    auto g = Generator::create(**session);
    ASSERT_TRUE(g.ok()) << g.status().message();
    std::vector<std::vector<int64_t>> prompts = {{1, 2, 3, 4, 5}, {6, 7}};
    std::set<std::vector<std::vector<int64_t>>> seen;
    for (uint64_t seed : {1, 2, 3}) {
      GenerationOptions o;
      o.maxNewTokens = 6;
      o.temperature = 1.5, o.topK = 6, o.topP = 0.95, o.seed = seed;
      GenerationResult picked, fromLogits;
      ASSERT_NO_FATAL_FAILURE(
          generateBothWays(**g, prompts, o, state ? "state" : "buffers", picked, fromLogits));
      for (size_t b = 0; b < 2; ++b)
        for (int64_t k = 0; k < 6; ++k)
          EXPECT_EQ(fromLogits.tokens[b][size_t(k)],
                    sampleToken(fromLogits.logits.data<float>() + (int64_t(b) * 6 + k) * 8, 8,
                                {1.5, 6, 0.95}, tokenRandom(seed, b, uint64_t(k))));
      seen.insert(picked.tokens);
    }
    EXPECT_GT(seen.size(), 1u) << "three seeds gave the same tokens";
  }
}
