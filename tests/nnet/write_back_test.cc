// Write-back of trained parameters into the Kaldi model (byte-compatible with Kaldi's reader:
// unchanged parameters give the original file's bytes, a changed weight changes exactly its
// four bytes), BatchNorm statistics the way Kaldi's Write derives them, component training
// settings, and the orthonormal-constraint step.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "kaldi/nnet3/model_io.h"
#include "kaldi/table.h"
#include "kaldi/test_util.h"
#include "nnet/lower.h"
#include "nnet/minibatch.h"
#include "nnet/orthonormal.h"
#include "nnet/write_back.h"

namespace kaldiq::nnet {
namespace {

using testing::ReadFileBytes;
using testing::TempDir;
using testing::TestData;

std::string ComponentBytes(const kaldi::Component& c) {
  std::ostringstream os;
  kaldi::WriteComponent(os, true, c);
  return os.str();
}

Graph TrainingGraph(const kaldi::Nnet& nnet) {
  return LowerNnet(nnet, "model", {LowerMode::kTraining, false});
}

TEST(WriteBack, UnchangedParametersGiveTheOriginalBytes) {
  for (const char* rel : {"tdnn-seed/final.mdl", "tdnnf-small/final.raw"}) {
    const std::string path = TestData(rel);
    kaldi::KaldiModel km = kaldi::ReadKaldiModel(path);
    Graph g = TrainingGraph(km.nnet);
    ASSERT_FALSE(TrainableParams(g).empty());
    WriteBackParameters(g, &km.nnet);
    TempDir dir;
    kaldi::WriteKaldiModel(dir.File("out"), km, true);
    EXPECT_TRUE(ReadFileBytes(dir.File("out")) == ReadFileBytes(path)) << rel;
  }
}

// Changing one weight of each trained kind (Affine, NaturalGradientAffine, Tdnn, Linear)
// changes exactly the four bytes of that float in that component.
TEST(WriteBack, OneChangedWeightChangesOnlyItsComponent) {
  kaldi::KaldiModel km = kaldi::ReadKaldiModel(TestData("tdnnf-small/final.raw"));
  const std::vector<kaldi::Component> original = km.nnet.components;
  Graph g = TrainingGraph(km.nnet);
  std::vector<std::string> kinds_seen;
  for (const Op& op : g.ops) {
    if (!op.trainable) continue;
    const std::string type = km.nnet.components[op.component_index].TypeName();
    if (std::find(kinds_seen.begin(), kinds_seen.end(), type) != kinds_seen.end()) continue;
    kinds_seen.push_back(type);
    Graph changed = g;
    Op& c = changed.ops[&op - g.ops.data()];
    const int64_t at = c.weight.size() / 2;
    c.weight.data()[at] += 0.5f;
    kaldi::Nnet nnet = km.nnet;
    WriteBackParameters(changed, &nnet);
    for (size_t i = 0; i < nnet.components.size(); ++i) {
      const std::string a = ComponentBytes(original[i]), b = ComponentBytes(nnet.components[i]);
      if (static_cast<int32_t>(i) != op.component_index) {
        EXPECT_TRUE(a == b) << "component " << original[i].name << " changed";
        continue;
      }
      ASSERT_EQ(a.size(), b.size());
      size_t first = a.size(), last = 0, count = 0;
      for (size_t k = 0; k < a.size(); ++k) {
        if (a[k] == b[k]) continue;
        first = std::min(first, k);
        last = k;
        ++count;
      }
      EXPECT_GE(count, 1u) << type;
      EXPECT_LE(last - first, 3u) << type << ": more than one float changed";
    }
    // Kaldi's reader layout: the written model reads back with the new value.
    std::stringstream ss;
    kaldi::WriteNnet(ss, true, nnet);
    kaldi::Nnet back;
    kaldi::ReadNnet(ss, true, &back);
    Graph reread = TrainingGraph(back);
    EXPECT_EQ(reread.ops[&op - g.ops.data()].weight.data()[at], c.weight.data()[at]) << type;
  }
  EXPECT_GE(kinds_seen.size(), 3u);  // TdnnComponent, LinearComponent, NaturalGradientAffine
}

TEST(WriteBack, RejectsAGraphOfAnotherModel) {
  kaldi::KaldiModel seed = kaldi::ReadKaldiModel(TestData("tdnn-seed/final.mdl"));
  kaldi::KaldiModel tdnnf = kaldi::ReadKaldiModel(TestData("tdnnf-small/final.raw"));
  Graph g = TrainingGraph(seed.nnet);
  EXPECT_THROW(WriteBackParameters(g, &tdnnf.nnet), Error);
}

TEST(WriteBack, BatchNormStatisticsAsKaldiWritesThem) {
  kaldi::KaldiModel km = kaldi::ReadKaldiModel(TestData("tdnn-seed/final.mdl"));
  Graph g = TrainingGraph(km.nnet);
  const int32_t bn_op = g.Find("tdnn3.batchnorm");
  const int32_t bn_c = g.ops[bn_op].component_index;
  const kaldi::BatchNormComponent before = *km.nnet.components[bn_c].As<kaldi::BatchNormComponent>();
  // Unchanged statistics: the count exactly, mean and variance to float rounding.
  Statistics stats = StatisticsFromModel(g, km.nnet);
  EXPECT_EQ(stats.batchnorm[bn_op].count, before.count);
  kaldi::Nnet same = km.nnet;
  Graph g2 = g;
  WriteBackBatchNormStats(stats, &same, &g2);
  const kaldi::BatchNormComponent& after = *same.components[bn_c].As<kaldi::BatchNormComponent>();
  EXPECT_EQ(after.count, before.count);
  for (size_t j = 0; j < before.stats_mean.size(); ++j) {
    EXPECT_NEAR(after.stats_mean[j], before.stats_mean[j], 1e-6 * (1 + std::abs(before.stats_mean[j])));
    EXPECT_NEAR(after.stats_var[j], before.stats_var[j], 1e-5 * (1 + std::abs(before.stats_var[j])));
  }
  // Statistics after a train-mode forward of one 47-output eg: count + 55 for tdnn3, and the
  // written mean/var are Kaldi's Write of the sums.
  kaldi::SequentialMatrixReader r("ark:" + TestData("tdnn-seed/dev60/feats_cmvn5.ark"));
  MatrixF in(173, r.Value().cols());
  std::copy(r.Value().Row(14), r.Value().Row(14 + 173), in.data());
  MinibatchComputer mb(g);
  std::vector<int32_t> times;
  for (int32_t f = 0; f < 47; ++f) times.push_back(3 * f);
  ForwardOptions train;
  train.mode = ComputeMode::kTrain;
  train.stats = &stats;
  mb.Forward(1, {{g.Find("input"), &in, -16}}, {{g.Find("output"), times}}, train);
  const BatchNormStats& st = stats.batchnorm[bn_op];
  EXPECT_EQ(st.count, before.count + 55);
  stats.Scale(0.8);  // --batchnorm-stats-scale
  kaldi::Nnet updated = km.nnet;
  WriteBackBatchNormStats(stats, &updated, &g);
  const kaldi::BatchNormComponent& bn = *updated.components[bn_c].As<kaldi::BatchNormComponent>();
  EXPECT_DOUBLE_EQ(bn.count, 0.8 * (before.count + 55));
  const float inv = static_cast<float>(1.0 / bn.count);
  for (size_t j = 0; j < bn.stats_mean.size(); j += 31) {
    const float mean = static_cast<float>(st.sum[j]) * inv;
    EXPECT_EQ(bn.stats_mean[j], mean);
    EXPECT_EQ(bn.stats_var[j], static_cast<float>(st.sumsq[j]) * inv - mean * mean);
  }
  // The op's test mode now uses the written statistics, exactly as the re-lowered model would.
  Graph relowered = TrainingGraph(updated);
  EXPECT_EQ(g.ops[bn_op].scale, relowered.ops[bn_op].scale);
  EXPECT_EQ(g.ops[bn_op].offset, relowered.ops[bn_op].offset);
  EXPECT_NE(g.ops[bn_op].scale, g2.ops[bn_op].scale);
  // Everything but the BatchNorm components is untouched.
  for (size_t i = 0; i < km.nnet.components.size(); ++i) {
    if (km.nnet.components[i].As<kaldi::BatchNormComponent>()) continue;
    EXPECT_TRUE(ComponentBytes(km.nnet.components[i]) == ComponentBytes(updated.components[i]));
  }
}

TEST(WriteBack, TrainingSettingsOfTheComponents) {
  kaldi::KaldiModel km = kaldi::ReadKaldiModel(TestData("tdnn-seed/final.mdl"));
  Graph g = TrainingGraph(km.nnet);
  auto of = [&](const std::string& name) {
    return TrainingOf(km.nnet.components[g.ops[g.Find(name)].component_index]);
  };
  const ComponentTraining tdnn1 = of("tdnn1.affine"), xent = of("output-xent.affine");
  EXPECT_GT(tdnn1.learning_rate, 0.0f);
  // The xent output layer learns 5× faster (learning-rate-factor 0.5 / xent-regularize 0.1),
  // and the stored learning rate already includes the factor.
  EXPECT_FLOAT_EQ(xent.learning_rate_factor, 5.0f);
  EXPECT_NEAR(xent.learning_rate / tdnn1.learning_rate, 5.0, 1e-4);
  EXPECT_GT(of("output.affine").max_change, of("tdnn1.affine").max_change);
  EXPECT_THROW(TrainingOf(km.nnet.components[g.ops[g.Find("lda")].component_index]), Error);
  kaldi::KaldiModel f = kaldi::ReadKaldiModel(TestData("tdnnf-small/final.raw"));
  Graph gf = TrainingGraph(f.nnet);
  int floating = 0;
  for (const Op& op : gf.ops)
    if (op.trainable && TrainingOf(f.nnet.components[op.component_index]).orthonormal_constraint < 0)
      ++floating;
  EXPECT_GT(floating, 0);  // the TDNN-F linear factors
}

// ‖P/s² − I‖_F for P = M Mᵀ (rows ≤ cols) or Mᵀ M.
double OrthonormalError(const MatrixF& m, double s2) {
  const bool t = m.rows() > m.cols();
  const int64_t n = t ? m.cols() : m.rows(), k = t ? m.rows() : m.cols();
  double err = 0;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double p = 0;
      for (int64_t q = 0; q < k; ++q)
        p += t ? double(m(q, i)) * m(q, j) : double(m(i, q)) * m(j, q);
      const double e = p / s2 - (i == j ? 1.0 : 0.0);
      err += e * e;
    }
  return std::sqrt(err);
}

// s² = tr(P²)/tr(P), the floating scale.
double FloatingScale2(const MatrixF& m) {
  const bool t = m.rows() > m.cols();
  const int64_t n = t ? m.cols() : m.rows(), k = t ? m.rows() : m.cols();
  double tr = 0, tr2 = 0;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double p = 0;
      for (int64_t q = 0; q < k; ++q)
        p += t ? double(m(q, i)) * m(q, j) : double(m(i, q)) * m(j, q);
      tr2 += p * p;
      if (i == j) tr += p;
    }
  return tr2 / tr;
}

// A semi-orthogonal rows × cols matrix with M Mᵀ = s² I (Gram–Schmidt on random rows).
MatrixF SemiOrthogonal(int64_t rows, int64_t cols, double s, std::mt19937* rng) {
  std::normal_distribution<double> d;
  std::vector<std::vector<double>> q;
  MatrixF m(rows, cols);
  for (int64_t i = 0; i < rows; ++i) {
    std::vector<double> v(cols);
    for (double& x : v) x = d(*rng);
    for (const auto& u : q) {
      double dot = 0;
      for (int64_t k = 0; k < cols; ++k) dot += v[k] * u[k];
      for (int64_t k = 0; k < cols; ++k) v[k] -= dot * u[k];
    }
    double norm = 0;
    for (double x : v) norm += x * x;
    for (double& x : v) x /= std::sqrt(norm);
    q.push_back(v);
    for (int64_t k = 0; k < cols; ++k) m(i, k) = static_cast<float>(s * v[k]);
  }
  return m;
}

TEST(Orthonormal, KeepsASemiOrthogonalMatrixInPlace) {
  std::mt19937 rng(4);
  for (float constraint : {1.5f, -1.0f}) {
    MatrixF m = SemiOrthogonal(6, 15, 1.5, &rng);
    const MatrixF before = m;
    ConstrainOrthonormal(constraint, &m);
    for (int64_t i = 0; i < m.size(); ++i)
      EXPECT_NEAR(m.data()[i], before.data()[i], 1e-5) << "constraint " << constraint;
  }
  MatrixF m = SemiOrthogonal(6, 15, 1.0, &rng);
  const MatrixF before = m;
  ConstrainOrthonormal(0.0f, &m);  // no constraint: untouched
  for (int64_t i = 0; i < m.size(); ++i) ASSERT_EQ(m.data()[i], before.data()[i]);
}

TEST(Orthonormal, MovesPOverScaleSquaredTowardsIdentity) {
  std::mt19937 rng(9);
  std::normal_distribution<float> d(0.0f, 0.3f);
  for (bool tall : {false, true}) {
    for (float constraint : {1.0f, -1.0f}) {
      // Near semi-orthogonal (a TDNN-F factor after an update): start there, perturb.
      MatrixF m = SemiOrthogonal(8, 20, 0.7, &rng);
      if (tall) {
        MatrixF t(20, 8);
        for (int64_t i = 0; i < 8; ++i)
          for (int64_t j = 0; j < 20; ++j) t(j, i) = m(i, j);
        m = t;
      }
      for (int64_t i = 0; i < m.size(); ++i) m.data()[i] += 0.1f * d(rng);
      auto error = [&] {
        return OrthonormalError(m, constraint > 0 ? double(constraint) * constraint
                                                  : FloatingScale2(m));
      };
      double prev = error();
      const double start = prev;
      for (int step = 0; step < 8; ++step) {
        ConstrainOrthonormal(constraint, &m);
        const double e = error();
        EXPECT_LT(e, prev + 1e-9) << "tall " << tall << " constraint " << constraint << " step "
                                  << step;
        prev = e;
      }
      EXPECT_LT(prev, 0.05 * start) << "tall " << tall << " constraint " << constraint;
    }
  }
  MatrixF bad(2, 3);
  bad(0, 0) = NAN;
  EXPECT_THROW(ConstrainOrthonormal(-1.0f, &bad), Error);
}

}  // namespace
}  // namespace kaldiq::nnet
