// nnet3 model files: byte-identical round trips against Kaldi-written fixtures, text/binary
// equivalence, specific stored values, and bad input.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "kaldi/nnet3/model_io.h"
#include "test_util.h"
#include "util/error.h"

namespace kaldiq::kaldi {
namespace {

using kaldiq::testing::ReadFileBytes;
using kaldiq::testing::TempDir;
using kaldiq::testing::TestData;
using kaldiq::testing::WriteFileBytes;

std::string Shared(const std::string& rel) { return std::string(KQ_SHARED_DIR) + "/" + rel; }
bool Exists(const std::string& path) { return std::ifstream(path).good(); }

#define SKIP_WITHOUT(path) \
  if (!Exists(path)) GTEST_SKIP() << path << " not present (../shared absent)"

// Reads `path`, writes it back in `binary` mode, returns the written bytes.
std::string Rewrite(const std::string& path, bool binary) {
  KaldiModel m = ReadKaldiModel(path);
  TempDir dir;
  WriteKaldiModel(dir.File("out.mdl"), m, binary);
  return ReadFileBytes(dir.File("out.mdl"));
}

// Byte comparison with a readable failure message (first differing offset).
void ExpectSameBytes(const std::string& got, const std::string& want) {
  ASSERT_EQ(got.size(), want.size());
  auto mismatch = std::mismatch(got.begin(), got.end(), want.begin());
  if (mismatch.first != got.end()) {
    size_t off = mismatch.first - got.begin();
    size_t from = off > 40 ? off - 40 : 0;
    ADD_FAILURE() << "first difference at byte " << off << ": got ..."
                  << got.substr(from, 80) << "... want ..." << want.substr(from, 80) << "...";
  }
}

TEST(Nnet3Io, TdnnSeedFinalMdlBinaryRoundTripIsByteIdentical) {
  const std::string path = TestData("tdnn-seed/final.mdl");
  ExpectSameBytes(Rewrite(path, true), ReadFileBytes(path));
}

TEST(Nnet3Io, TdnnfSmallRawBinaryRoundTripIsByteIdentical) {
  const std::string path = TestData("tdnnf-small/final.raw");
  ExpectSameBytes(Rewrite(path, true), ReadFileBytes(path));
}

TEST(Nnet3Io, TdnnfSmallTextRoundTripIsByteIdentical) {
  const std::string path = Shared("fixtures/topologies/tdnnf-small/final.txt.raw");
  SKIP_WITHOUT(path);
  ExpectSameBytes(Rewrite(path, false), ReadFileBytes(path));
}

// Kaldi keeps BatchNorm statistics as double sums and re-derives the stored mean/variance on
// every Write (mean = float(sum) * float(1/count)), so Kaldi's own copy of a model can change
// their last bit; we keep the values exactly as stored (which is what makes our read/write
// round trip byte-identical). Comparisons against a Kaldi conversion therefore allow 2 ulp-ish
// differences in <StatsMean>/<StatsVar> values and nowhere else.
bool IsStatsLine(const std::string& line) {
  return line.find("<StatsMean>") != std::string::npos || line.rfind("<StatsVar>", 0) == 0;
}

void ExpectSameKaldiText(const std::string& got, const std::string& want) {
  std::istringstream g(got), w(want);
  std::string gl, wl;
  int line = 0, stats_diffs = 0;
  while (true) {
    bool gok = static_cast<bool>(std::getline(g, gl)), wok = static_cast<bool>(std::getline(w, wl));
    ++line;
    ASSERT_EQ(gok, wok) << "different number of lines at line " << line;
    if (!gok) break;
    if (gl == wl) continue;
    ASSERT_TRUE(IsStatsLine(wl)) << "line " << line << " differs:\n" << gl.substr(0, 200)
                                 << "\n" << wl.substr(0, 200);
    std::istringstream gt(gl), wt(wl);
    std::string a, b;
    while (wt >> b) {
      ASSERT_TRUE(static_cast<bool>(gt >> a)) << "line " << line;
      if (a == b) continue;
      char *ea = nullptr, *eb = nullptr;
      double x = std::strtod(a.c_str(), &ea), y = std::strtod(b.c_str(), &eb);
      ASSERT_TRUE(*ea == '\0' && *eb == '\0') << "line " << line << ": " << a << " vs " << b;
      EXPECT_NEAR(x, y, 2e-6 * std::fabs(y) + 1e-12) << "line " << line;
      ++stats_diffs;
    }
    EXPECT_FALSE(static_cast<bool>(gt >> a)) << "line " << line;
  }
  // Sanity: the tolerance is for a handful of last-digit differences, not wholesale changes.
  EXPECT_LT(stats_diffs, 4000);
}

// final.txt.raw is Kaldi's `nnet3-copy --binary=false final.raw`: our text writer must produce
// it from the binary model (float formatting included), up to the BatchNorm caveat above.
TEST(Nnet3Io, BinaryToTextMatchesKaldisTextWriter) {
  const std::string text = Shared("fixtures/topologies/tdnnf-small/final.txt.raw");
  SKIP_WITHOUT(text);
  ExpectSameKaldiText(Rewrite(TestData("tdnnf-small/final.raw"), false), ReadFileBytes(text));
}

TEST(Nnet3Io, TextToBinaryMatchesKaldisBinary) {
  const std::string text = Shared("fixtures/topologies/tdnnf-small/final.txt.raw");
  SKIP_WITHOUT(text);
  const std::string got = Rewrite(text, true);
  const std::string want = ReadFileBytes(TestData("tdnnf-small/final.raw"));
  ASSERT_EQ(got.size(), want.size());
  // Byte ranges of the BatchNorm statistics payloads in the Kaldi binary.
  std::vector<std::pair<size_t, size_t>> stats;
  for (const std::string tok : {"<StatsMean> FV ", "<StatsVar> FV "}) {
    for (size_t p = want.find(tok); p != std::string::npos; p = want.find(tok, p + 1)) {
      int32_t n;
      std::memcpy(&n, &want[p + tok.size() + 1], 4);
      size_t begin = p + tok.size() + 5;
      stats.emplace_back(begin, begin + 4 * size_t(n));
    }
  }
  EXPECT_EQ(stats.size(), 22u);
  for (size_t i = 0; i < got.size(); ++i) {
    if (got[i] == want[i]) continue;
    bool in_stats = false;
    for (const auto& r : stats) in_stats |= (i >= r.first && i < r.second);
    ASSERT_TRUE(in_stats) << "byte " << i << " differs outside BatchNorm statistics";
    size_t start = i - (i - [&] {
      for (const auto& r : stats)
        if (i >= r.first && i < r.second) return r.first;
      return i;
    }()) % 4;
    float a, b;
    std::memcpy(&a, &got[start], 4);
    std::memcpy(&b, &want[start], 4);
    EXPECT_NEAR(a, b, 2e-6 * std::fabs(b) + 1e-12) << "byte " << i;
  }
}

TEST(Nnet3Io, Seed625RoundTripIsByteIdentical) {
  const std::string path = Shared("fixtures/perf/seed625/final.raw");
  SKIP_WITHOUT(path);
  ExpectSameBytes(Rewrite(path, true), ReadFileBytes(path));
}

// Kaldi's text form has 7 significant digits, so binary -> text loses bits (in Kaldi too);
// text -> binary -> text and text -> text are exact, and the values survive to ~1e-7.
TEST(Nnet3Io, FinalMdlTextForm) {
  const std::string path = TestData("tdnn-seed/final.mdl");
  TempDir dir;
  KaldiModel m = ReadKaldiModel(path);
  WriteKaldiModel(dir.File("t.mdl"), m, false);
  KaldiModel t = ReadKaldiModel(dir.File("t.mdl"));
  WriteKaldiModel(dir.File("t2.mdl"), t, false);
  ExpectSameBytes(ReadFileBytes(dir.File("t2.mdl")), ReadFileBytes(dir.File("t.mdl")));
  WriteKaldiModel(dir.File("b.mdl"), t, true);
  EXPECT_EQ(ReadFileBytes(dir.File("b.mdl")).size(), ReadFileBytes(path).size());
  ASSERT_EQ(t.nnet.components.size(), m.nnet.components.size());
  EXPECT_EQ(t.trans_model.NumTransitionIds(), m.trans_model.NumTransitionIds());
  for (size_t i = 0; i < m.nnet.components.size(); ++i) {
    const auto* a = m.nnet.components[i].As<AffineComponent>();
    const auto* b = t.nnet.components[i].As<AffineComponent>();
    if (!a) continue;
    ASSERT_NE(b, nullptr);
    ASSERT_EQ(a->linear_params.size(), b->linear_params.size());
    for (int64_t k = 0; k < a->linear_params.size(); ++k)
      ASSERT_NEAR(a->linear_params.data()[k], b->linear_params.data()[k],
                  1e-6 * std::fabs(a->linear_params.data()[k]) + 1e-30);
  }
}

TEST(Nnet3Io, TdnnSeedValues) {
  KaldiModel m = ReadKaldiModel(TestData("tdnn-seed/final.mdl"));
  ASSERT_TRUE(m.has_transition_model);
  EXPECT_EQ(m.nnet.InputDim("input"), 40);
  EXPECT_EQ(m.nnet.InputDim("ivector"), -1);
  EXPECT_EQ(m.nnet.OutputDim("output"), 968);
  EXPECT_EQ(m.nnet.OutputDim("output-xent"), 968);
  EXPECT_EQ(m.trans_model.NumPdfs(), 968);
  EXPECT_EQ(m.left_context, 15);
  EXPECT_EQ(m.right_context, 15);
  EXPECT_TRUE(m.priors.empty());
  const Component& lda = m.nnet.components.at(m.nnet.ComponentIndex("lda"));
  ASSERT_NE(lda.As<FixedAffineComponent>(), nullptr);
  EXPECT_EQ(lda.InputDim(), 120);
  EXPECT_EQ(lda.OutputDim(), 120);
  const Component& t2 = m.nnet.components.at(m.nnet.ComponentIndex("tdnn2.affine"));
  EXPECT_EQ(t2.TypeName(), "NaturalGradientAffineComponent");
  EXPECT_EQ(t2.InputDim(), 3 * 256);
  EXPECT_EQ(t2.OutputDim(), 256);
  EXPECT_EQ(t2.NumParameters(), 3 * 256 * 256 + 256);
  const int32_t node = m.nnet.NodeIndex("tdnn2.affine");
  ASSERT_GE(node, 0);
  EXPECT_EQ(DescriptorToString(m.nnet.nodes[node].input),
            "Append(Offset(tdnn1.batchnorm, -1), tdnn1.batchnorm, Offset(tdnn1.batchnorm, 1))");
}

// Values read from the Kaldi text dump of the same model (final.txt.raw).
TEST(Nnet3Io, TdnnfSmallValues) {
  KaldiModel m = ReadKaldiModel(TestData("tdnnf-small/final.raw"));
  EXPECT_FALSE(m.has_transition_model);
  const Nnet& nnet = m.nnet;
  EXPECT_EQ(nnet.components.size(), 57u);
  EXPECT_EQ(nnet.NumParameters(), 1053888);  // README: 1,053,888 parameters
  EXPECT_EQ(nnet.InputDim("input"), 40);
  EXPECT_EQ(nnet.InputDim("ivector"), 30);
  EXPECT_EQ(nnet.OutputDim("output"), 800);

  const FixedAffineComponent* lda =
      nnet.components.at(nnet.ComponentIndex("lda")).As<FixedAffineComponent>();
  ASSERT_NE(lda, nullptr);
  EXPECT_FLOAT_EQ(lda->bias_params.at(0), -0.092389f);
  EXPECT_FLOAT_EQ(lda->bias_params.at(1), -0.07447f);

  const AffineComponent* a1 =
      nnet.components.at(nnet.ComponentIndex("tdnn1.affine")).As<AffineComponent>();
  ASSERT_NE(a1, nullptr);
  EXPECT_TRUE(a1->natural_gradient);
  EXPECT_FLOAT_EQ(a1->bias_params.at(0), 0.4790476f);
  EXPECT_FLOAT_EQ(a1->common.max_change, 0.75f);
  EXPECT_EQ(a1->rank_in, 20);
  EXPECT_EQ(a1->rank_out, 80);

  const BatchNormComponent* bn =
      nnet.components.at(nnet.ComponentIndex("tdnn1.batchnorm")).As<BatchNormComponent>();
  ASSERT_NE(bn, nullptr);
  EXPECT_EQ(bn->dim, 384);
  EXPECT_EQ(bn->block_dim, 384);
  EXPECT_DOUBLE_EQ(bn->count, 1000.0);
  EXPECT_FLOAT_EQ(bn->epsilon, 0.001f);
  EXPECT_FLOAT_EQ(bn->stats_mean.at(0), 0.164653f);
  EXPECT_FLOAT_EQ(bn->stats_var.at(0), 0.90238f);
  std::vector<float> scale, offset;
  bool valid = false;
  BatchNormTestScaleOffset(*bn, &scale, &offset, &valid);
  EXPECT_TRUE(valid);
  ASSERT_EQ(scale.size(), 384u);
  EXPECT_NEAR(scale[0], 1.0 / std::sqrt(0.90238 + 0.001), 1e-5);
  EXPECT_NEAR(offset[0], -0.164653 / std::sqrt(0.90238 + 0.001), 1e-5);

  const TdnnComponent* lin =
      nnet.components.at(nnet.ComponentIndex("tdnnf2.linear")).As<TdnnComponent>();
  ASSERT_NE(lin, nullptr);
  EXPECT_EQ(lin->time_offsets, (std::vector<int32_t>{-1, 0}));
  EXPECT_TRUE(lin->bias_params.empty());
  EXPECT_FLOAT_EQ(lin->orthonormal_constraint, -1.0f);
  EXPECT_EQ(nnet.components.at(nnet.ComponentIndex("tdnnf2.linear")).InputDim(), 384);
  const TdnnComponent* aff =
      nnet.components.at(nnet.ComponentIndex("tdnnf5.affine")).As<TdnnComponent>();
  ASSERT_NE(aff, nullptr);
  EXPECT_EQ(aff->time_offsets, (std::vector<int32_t>{0, 3}));

  const GeneralDropoutComponent* fm =
      nnet.components.at(nnet.ComponentIndex("spec-augment.freq-mask"))
          .As<GeneralDropoutComponent>();
  ASSERT_NE(fm, nullptr);
  EXPECT_FLOAT_EQ(fm->specaugment_max_proportion, 0.5f);
  EXPECT_FALSE(fm->continuous);
  const int32_t lda_node = nnet.NodeIndex("lda");
  EXPECT_EQ(DescriptorToString(nnet.nodes[lda_node].input),
            "Append(Offset(spec-augment.time-mask, -1), spec-augment.time-mask, "
            "Offset(spec-augment.time-mask, 1), ReplaceIndex(ivector, t, 0))");
  EXPECT_EQ(nnet.DescriptorDim(nnet.nodes[lda_node].input), 150);
}

TEST(Nnet3Io, ZeroCountBatchNormIsFlaggedInvalid) {
  BatchNormComponent bn;
  bn.dim = bn.block_dim = 2;
  bn.stats_mean = {1, 2};
  bn.stats_var = {1, 1};
  std::vector<float> scale, offset;
  bool valid = true;
  BatchNormTestScaleOffset(bn, &scale, &offset, &valid);
  EXPECT_FALSE(valid);
  EXPECT_EQ(scale, (std::vector<float>{1, 1}));
}

// ---------------------------------------------------------------------------------------
// Hand-written text models: every component type round trips text -> binary -> text.
// ---------------------------------------------------------------------------------------

const char* kAllComponentsModel =
    "<Nnet3> \n"
    "input-node name=input dim=4\n"
    "component-node name=aff component=aff input=Append(Offset(input, -1), input)\n"
    "component-node name=sig component=sig input=aff\n"
    "component-node name=tanh component=tanh input=sig\n"
    "component-node name=norm component=norm input=tanh\n"
    "component-node name=drop component=drop input=norm\n"
    "component-node name=pes component=pes input=drop\n"
    "component-node name=ngpes component=ngpes input=pes\n"
    "component-node name=peo component=peo input=ngpes\n"
    "component-node name=so component=so input=peo\n"
    "component-node name=fs component=fs input=so\n"
    "component-node name=fb component=fb input=fs\n"
    "component-node name=perm component=perm input=fb\n"
    "component-node name=prod component=prod input=Append(perm, Scale(0.5, perm))\n"
    "component-node name=sg component=sg input=Append(prod, prod)\n"
    "component-node name=conv component=conv input=Sum(sg, Const(1, 2))\n"
    "component-node name=sm component=sm input=Failover(conv, IfDefined(Offset(conv, 3)))\n"
    "dim-range-node name=dr input-node=sm dim-offset=1 dim=3\n"
    "output-node name=output input=Round(dr, 3) objective=quadratic\n"
    "\n"
    "<NumComponents> 16 \n"
    "<ComponentName> aff <AffineComponent> <LearningRateFactor> 0.5 <IsGradient> T "
    "<LearningRate> 0.002 <LinearParams>  [\n  1 2 3 4 5 6 7 8 \n  0 0 0 0 0 0 0 1.5 \n"
    "  1 1 1 1 1 1 1 1 \n  -1 -2 -3 -4 -5 -6 -7 -8 ]\n<BiasParams>  [ 0.1 0.2 0.3 0.4 ]\n"
    "<OrthonormalConstraint> 1 </AffineComponent> \n"
    "<ComponentName> sig <SigmoidComponent> <Dim> 4 <BlockDim> 2 <ValueAvg>  [ ]\n"
    "<DerivAvg>  [ ]\n<Count> 0 <OderivRms>  [ ]\n<OderivCount> 0 <NumDimsSelfRepaired> 0 "
    "<NumDimsProcessed> 0 <SelfRepairLowerThreshold> 0.05 <SelfRepairScale> 1e-05 "
    "</SigmoidComponent> \n"
    "<ComponentName> tanh <TanhComponent> <Dim> 4 <ValueAvg>  [ 1 2 3 4 ]\n"
    "<DerivAvg>  [ 1 1 1 1 ]\n<Count> 12.5 <OderivRms>  [ ]\n<OderivCount> 0 "
    "<NumDimsSelfRepaired> 0 <NumDimsProcessed> 0 </TanhComponent> \n"
    "<ComponentName> norm <NormalizeComponent> <InputDim> 4 <BlockDim> 2 <TargetRms> 1 "
    "<AddLogStddev> F </NormalizeComponent> \n"
    "<ComponentName> drop <DropoutComponent> <Dim> 4 <DropoutProportion> 0.1 "
    "<DropoutPerFrame> F <TestMode> T </DropoutComponent> \n"
    "<ComponentName> pes <PerElementScaleComponent> <LearningRate> 0.001 <Params>  "
    "[ 1 2 3 4 ]\n</PerElementScaleComponent> \n"
    "<ComponentName> ngpes <NaturalGradientPerElementScaleComponent> <LearningRate> 0.001 "
    "<Params>  [ 1 1 1 1 ]\n<IsGradient> F <Rank> 8 <UpdatePeriod> 10 <NumSamplesHistory> "
    "2000 <Alpha> 4 </NaturalGradientPerElementScaleComponent> \n"
    "<ComponentName> peo <PerElementOffsetComponent> <LearningRate> 0.001 <Offsets>  "
    "[ 0.5 -0.5 ]\n<Dim> 4 <UseNaturalGradient> T </PerElementOffsetComponent> \n"
    "<ComponentName> so <ScaleAndOffsetComponent> <LearningRate> 0.001 <Dim> 4 <Scales>  "
    "[ 2 3 ]\n<Offsets>  [ 0 1 ]\n<UseNaturalGradient> T <Rank> 20 </ScaleAndOffsetComponent> \n"
    "<ComponentName> fs <FixedScaleComponent> <Scales>  [ 1 2 3 4 ]\n</FixedScaleComponent> \n"
    "<ComponentName> fb <FixedBiasComponent> <Bias>  [ 1 2 3 4 ]\n</FixedBiasComponent> \n"
    "<ComponentName> perm <PermuteComponent> <ColumnMap> [ 3 2 1 0 ]\n</PermuteComponent> \n"
    "<ComponentName> prod <ElementwiseProductComponent> <InputDim> 8 <OutputDim> 4 "
    "</ElementwiseProductComponent> \n"
    "<ComponentName> sg <SumGroupComponent> <Sizes> [ 3 5 ]\n</SumGroupComponent> \n"
    "<ComponentName> conv <TimeHeightConvolutionComponent> <MaxChange> 0.75 <LearningRate> "
    "0.001 <Model> <ConvolutionModel> <NumFiltersIn> 1 <NumFiltersOut> 2 <HeightIn> 2 "
    "<HeightOut> 2 <HeightSubsampleOut> 1 <Offsets> [ -1,-1 -1,0 0,0 1,1 ]\n"
    "<RequiredTimeOffsets> [ 0 ]\n</ConvolutionModel> <LinearParams>  [\n  1 2 3 4 \n"
    "  5 6 7 8 ]\n<BiasParams>  [ 0 1 ]\n<MaxMemoryMb> 200 <UseNaturalGradient> T "
    "<NumMinibatchesHistory> 4 <AlphaInOut> 4 4 <RankInOut> 20 80 "
    "</TimeHeightConvolutionComponent> \n"
    "<ComponentName> sm <SoftmaxComponent> <Dim> 4 <ValueAvg>  [ ]\n<DerivAvg>  [ ]\n"
    "<Count> 0 <OderivRms>  [ ]\n<OderivCount> 0 <NumDimsSelfRepaired> 0 "
    "<NumDimsProcessed> 0 </SoftmaxComponent> \n"
    "</Nnet3> ";

TEST(Nnet3Io, AllComponentTypesTextBinaryText) {
  TempDir dir;
  WriteFileBytes(dir.File("all.txt"), kAllComponentsModel);
  KaldiModel m = ReadKaldiModel(dir.File("all.txt"));
  ASSERT_EQ(m.nnet.components.size(), 16u);
  WriteKaldiModel(dir.File("all.bin"), m, true);
  KaldiModel b = ReadKaldiModel(dir.File("all.bin"));
  WriteKaldiModel(dir.File("all2.txt"), b, false);
  ExpectSameBytes(ReadFileBytes(dir.File("all2.txt")), kAllComponentsModel);
  WriteKaldiModel(dir.File("all2.bin"), b, true);
  ExpectSameBytes(ReadFileBytes(dir.File("all2.bin")), ReadFileBytes(dir.File("all.bin")));

  const Nnet& n = b.nnet;
  EXPECT_EQ(n.components[n.ComponentIndex("conv")].InputDim(), 2);
  EXPECT_EQ(n.components[n.ComponentIndex("conv")].OutputDim(), 4);
  EXPECT_EQ(n.components[n.ComponentIndex("sg")].OutputDim(), 2);
  EXPECT_EQ(n.components[n.ComponentIndex("sg")].InputDim(), 8);
  EXPECT_EQ(n.OutputDim("output"), 3);
  const auto* aff = n.components[n.ComponentIndex("aff")].As<AffineComponent>();
  ASSERT_NE(aff, nullptr);
  EXPECT_FLOAT_EQ(aff->linear_params(1, 7), 1.5f);
  EXPECT_TRUE(aff->common.is_gradient);
  EXPECT_FLOAT_EQ(aff->common.learning_rate_factor, 0.5f);
  const auto* sig = n.components[n.ComponentIndex("sig")].As<NonlinearComponent>();
  ASSERT_NE(sig, nullptr);
  EXPECT_EQ(sig->block_dim, 2);
  EXPECT_EQ(n.components[n.ComponentIndex("ngpes")].TypeName(),
            "NaturalGradientPerElementScaleComponent");
  EXPECT_EQ(n.NumParameters(), 4 * 8 + 4 + 4 + 4 + 2 + 4 + 8 + 2);
}

// ---------------------------------------------------------------------------------------
// Bad input.
// ---------------------------------------------------------------------------------------

std::string ErrorOf(const std::string& path) {
  try {
    ReadKaldiModel(path);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Nnet3Io, UnknownComponentTypeIsNamed) {
  TempDir dir;
  std::string text = kAllComponentsModel;
  text.replace(text.find("<SoftmaxComponent> <Dim>"), strlen("<SoftmaxComponent>"),
               "<LstmNonlinearityComponent>");
  WriteFileBytes(dir.File("lstm.txt"), text);
  std::string err = ErrorOf(dir.File("lstm.txt"));
  EXPECT_NE(err.find("LstmNonlinearityComponent"), std::string::npos) << err;
  EXPECT_NE(err.find("lstm.txt"), std::string::npos) << err;
  EXPECT_NE(err.find("'sm'"), std::string::npos) << err;
}

TEST(Nnet3Io, WrongTokenIsReported) {
  TempDir dir;
  std::string text = kAllComponentsModel;
  text.replace(text.find("<BiasParams>  [ 0.1"), strlen("<BiasParams>"), "<BiasParam>");
  WriteFileBytes(dir.File("bad.txt"), text);
  std::string err = ErrorOf(dir.File("bad.txt"));
  EXPECT_NE(err.find("expected <BiasParams>"), std::string::npos) << err;
  EXPECT_NE(err.find("'aff'"), std::string::npos) << err;
}

TEST(Nnet3Io, DimensionMismatchIsReported) {
  TempDir dir;
  std::string text = kAllComponentsModel;
  text.replace(text.find("Append(Offset(input, -1), input)"),
               strlen("Append(Offset(input, -1), input)"), "input");
  WriteFileBytes(dir.File("dim.txt"), text);
  std::string err = ErrorOf(dir.File("dim.txt"));
  EXPECT_NE(err.find("node 'aff'"), std::string::npos) << err;
  EXPECT_NE(err.find("input dim 4"), std::string::npos) << err;
}

TEST(Nnet3Io, TruncatedFilesFailCleanly) {
  const std::string bytes = ReadFileBytes(TestData("tdnnf-small/final.raw"));
  TempDir dir;
  for (size_t len : {size_t(1), size_t(10), size_t(2000), bytes.size() / 3, bytes.size() - 3}) {
    WriteFileBytes(dir.File("trunc.raw"), bytes.substr(0, len));
    EXPECT_FALSE(ErrorOf(dir.File("trunc.raw")).empty()) << "length " << len;
  }
  const std::string mdl = ReadFileBytes(TestData("tdnn-seed/final.mdl"));
  WriteFileBytes(dir.File("trunc.mdl"), mdl.substr(0, 50000));
  EXPECT_FALSE(ErrorOf(dir.File("trunc.mdl")).empty());
}

TEST(Nnet3Io, HugeDeclaredMatrixIsRefusedBeforeAllocating) {
  std::string bytes = ReadFileBytes(TestData("tdnnf-small/final.raw"));
  size_t pos = bytes.find("<LinearParams> FM ");
  ASSERT_NE(pos, std::string::npos);
  pos += strlen("<LinearParams> FM ");
  ASSERT_EQ(bytes[pos], 4);  // int32 size byte of the row count
  const int32_t rows = 2000000000;
  std::memcpy(&bytes[pos + 1], &rows, 4);
  TempDir dir;
  WriteFileBytes(dir.File("huge.raw"), bytes);
  std::string err = ErrorOf(dir.File("huge.raw"));
  EXPECT_NE(err.find("huge.raw"), std::string::npos) << err;
  EXPECT_NE(err.find("'lda'"), std::string::npos) << err;
}

TEST(Nnet3Io, NonexistentFileIsNamed) {
  std::string err = ErrorOf("/nonexistent/dir/final.mdl");
  EXPECT_NE(err.find("/nonexistent/dir/final.mdl"), std::string::npos) << err;
}

TEST(Nnet3Io, NotAModel) {
  TempDir dir;
  WriteFileBytes(dir.File("x.txt"), "hello world\n");
  std::string err = ErrorOf(dir.File("x.txt"));
  EXPECT_NE(err.find("not a Kaldi nnet3 model"), std::string::npos) << err;
}

// A garbage model must not echo raw binary or terminal escapes: what the message quotes from the
// file is escaped (\xNN) and cut.
TEST(Nnet3Io, ErrorsQuoteGarbageSafely) {
  TempDir dir;
  const std::string garbage = std::string("\0B<Nnet3> \n", 11) + "\x1b[2J\x07\xff\xfe" +
                              std::string(5000, '\x01') + " rest\n\n";
  WriteFileBytes(dir.File("garbage.mdl"), garbage);
  const std::string err = ErrorOf(dir.File("garbage.mdl"));
  ASSERT_FALSE(err.empty());
  for (unsigned char c : err) EXPECT_TRUE(c >= 0x20 && c < 0x7f) << "raw byte " << int(c) << " in " << err;
  EXPECT_NE(err.find("\\x1b[2J\\x07\\xff"), std::string::npos) << err;
  EXPECT_LT(err.size(), 2000u) << err;  // not the 5000-byte "token"
}

// Every single-byte corruption of a small binary model (all component types) must end in a
// kaldiq::Error or a valid model -- never a crash, another exception type, or a huge allocation.
TEST(Nnet3Io, CorruptedBytesGiveCleanErrors) {
  TempDir dir;
  WriteFileBytes(dir.File("all.txt"), kAllComponentsModel);
  KaldiModel m = ReadKaldiModel(dir.File("all.txt"));
  std::ostringstream os;
  WriteNnet(os, true, m.nnet);
  const std::string bytes = os.str();
  int errors = 0;
  for (size_t i = 0; i < bytes.size(); ++i) {
    {
      std::string mutated = bytes;
      mutated[i] = static_cast<char>(mutated[i] ^ (i % 2 ? 0x55 : 0x80));
      std::istringstream is(mutated);
      Nnet n;
      try {
        ReadNnet(is, true, &n);
      } catch (const Error&) {
        ++errors;
      } catch (const std::exception& e) {
        ADD_FAILURE() << "byte " << i << ": non-kaldiq exception " << e.what();
      }
    }
  }
  EXPECT_GT(errors, static_cast<int>(bytes.size() / 2));  // most corruptions are detected
}

}  // namespace
}  // namespace kaldiq::kaldi
