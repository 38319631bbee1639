// kaldiq average (nnet3-average): averaging identical models is the identity, weights give the
// weighted mean of parameters and Kaldi's pooled BatchNorm statistics, mismatched models are a
// clear error; the CLI writes a model Kaldi's reader reads back.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "commands.h"
#include "kaldi/nnet3/model_io.h"
#include "train/average.h"
#include "util/error.h"

namespace kaldiq::train {
namespace {

const std::string kModel = std::string(KQ_SHARED_DIR) + "/fixtures/models/tdnn-seed/final.mdl";
#define REQUIRE_FIXTURE() \
  if (!std::ifstream(kModel).good()) GTEST_SKIP() << "../shared fixtures not found (" << kModel << ")"

const kaldi::KaldiModel& Model() {
  static const kaldi::KaldiModel m = kaldi::ReadKaldiModel(kModel);
  return m;
}

const kaldi::AffineComponent* FirstAffine(const kaldi::Nnet& n, size_t* index) {
  for (size_t i = 0; i < n.components.size(); ++i)
    if (const auto* a = n.components[i].As<kaldi::AffineComponent>()) {
      *index = i;
      return a;
    }
  return nullptr;
}

TEST(AverageNnets, IdenticalModelsGiveTheModel) {
  REQUIRE_FIXTURE();
  const kaldi::Nnet& a = Model().nnet;
  const kaldi::Nnet avg = AverageNnets({&a, &a}, {});
  size_t i = 0;
  const kaldi::AffineComponent* x = FirstAffine(a, &i);
  ASSERT_NE(x, nullptr);
  const kaldi::AffineComponent* y = avg.components[i].As<kaldi::AffineComponent>();
  for (int64_t j = 0; j < x->linear_params.size(); ++j)
    ASSERT_EQ(x->linear_params.data()[j], y->linear_params.data()[j]);
  int bn_seen = 0;
  for (size_t c = 0; c < a.components.size(); ++c) {
    const auto* b0 = a.components[c].As<kaldi::BatchNormComponent>();
    if (b0 == nullptr) continue;
    ++bn_seen;
    const auto* b1 = avg.components[c].As<kaldi::BatchNormComponent>();
    EXPECT_EQ(b1->count, b0->count);
    for (size_t k = 0; k < b0->stats_mean.size(); ++k) {
      EXPECT_EQ(b1->stats_mean[k], b0->stats_mean[k]);
      EXPECT_NEAR(b1->stats_var[k], b0->stats_var[k], 1e-6f * (1 + b0->stats_var[k]));
    }
  }
  EXPECT_GT(bn_seen, 0);
}

TEST(AverageNnets, WeightedMeanOfParametersAndPooledStatistics) {
  REQUIRE_FIXTURE();
  const kaldi::Nnet& a = Model().nnet;
  kaldi::Nnet b = a;
  size_t ai = 0;
  FirstAffine(a, &ai);
  auto* bb = b.components[ai].As<kaldi::AffineComponent>();
  for (int64_t j = 0; j < bb->linear_params.size(); ++j) bb->linear_params.data()[j] += 1.0f;
  size_t bi = 0;
  for (bi = 0; bi < b.components.size(); ++bi)
    if (b.components[bi].As<kaldi::BatchNormComponent>() != nullptr) break;
  ASSERT_LT(bi, b.components.size());
  auto* bn = b.components[bi].As<kaldi::BatchNormComponent>();
  bn->count *= 3.0;
  for (float& m : bn->stats_mean) m += 2.0f;
  std::string warning;
  const kaldi::Nnet avg = AverageNnets({&a, &b}, {1.0f, 3.0f}, &warning);
  EXPECT_NE(warning.find("sum was 4"), std::string::npos) << warning;
  const auto* x = a.components[ai].As<kaldi::AffineComponent>();
  const auto* y = avg.components[ai].As<kaldi::AffineComponent>();
  for (int64_t j = 0; j < x->linear_params.size(); j += 97) {
    const float p = x->linear_params.data()[j];
    ASSERT_EQ(y->linear_params.data()[j], 0.25f * p + 0.75f * (p + 1.0f)) << j;
  }
  // Pooled: count = .25 c + .75 · 3c; mean = (.25 c m + 2.25 c (m + 2)) / count.
  const auto* b0 = a.components[bi].As<kaldi::BatchNormComponent>();
  const auto* b1 = avg.components[bi].As<kaldi::BatchNormComponent>();
  const double c = b0->count;
  EXPECT_DOUBLE_EQ(b1->count, 2.5 * c);
  for (size_t k = 0; k < b0->stats_mean.size(); ++k) {
    const double m0 = b0->stats_mean[k], v0 = b0->stats_var[k], m1 = m0 + 2.0;
    const double mean = (0.25 * m0 + 2.25 * m1) / 2.5;
    const double e2 = (0.25 * (v0 + m0 * m0) + 2.25 * (v0 + m1 * m1)) / 2.5;
    EXPECT_NEAR(b1->stats_mean[k], mean, 1e-5 * (1 + std::fabs(mean)));
    EXPECT_NEAR(b1->stats_var[k], e2 - mean * mean, 1e-4 * (1 + e2));
  }
}

TEST(AverageNnets, MismatchedModelsAndBadWeightsAreErrors) {
  REQUIRE_FIXTURE();
  const kaldi::Nnet& a = Model().nnet;
  kaldi::Nnet b = a;
  b.components[1].name += "-x";
  try {
    AverageNnets({&a, &b}, {});
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("-x"), std::string::npos) << e.what();
  }
  EXPECT_THROW(AverageNnets({&a, &a}, {1.0f}), Error);
  EXPECT_THROW(AverageNnets({&a, &a}, {0.0f, 0.0f}), Error);
  EXPECT_THROW(AverageNnets({&a, &a}, {-1.0f, 2.0f}), Error);
}

TEST(AverageCli, WritesAModelKaldiReads) {
  REQUIRE_FIXTURE();
  const std::string out = ::testing::TempDir() + "/kq_average_test.mdl";
  std::vector<std::string> args{"average", "--weights=1:1", kModel, kModel, out};
  std::vector<char*> argv;
  for (std::string& s : args) argv.push_back(s.data());
  ASSERT_EQ(cli::RunAverage(static_cast<int>(argv.size()), argv.data()), 0);
  const kaldi::KaldiModel m = kaldi::ReadKaldiModel(out);
  EXPECT_TRUE(m.has_transition_model);
  EXPECT_EQ(m.nnet.components.size(), Model().nnet.components.size());
  std::remove(out.c_str());
  std::vector<std::string> bad{"average", kModel};
  std::vector<char*> bargv;
  for (std::string& s : bad) bargv.push_back(s.data());
  EXPECT_EQ(cli::RunAverage(static_cast<int>(bargv.size()), bargv.data()), 1);
}

}  // namespace
}  // namespace kaldiq::train
