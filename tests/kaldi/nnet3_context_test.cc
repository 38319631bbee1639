// Descriptor parsing/printing and ComputeContext against Kaldi's numbers.
#include <gtest/gtest.h>

#include <fstream>

#include "kaldi/nnet3/context.h"
#include "kaldi/nnet3/model_io.h"
#include "test_util.h"
#include "util/error.h"

namespace kaldiq::kaldi {
namespace {

using kaldiq::testing::TempDir;
using kaldiq::testing::TestData;
using kaldiq::testing::WriteFileBytes;

TEST(Nnet3Descriptor, ParsePrintRoundTripAllTypes) {
  for (const std::string text : {
           "input",
           "Offset(input, -1)",
           "Offset(input, 2, 1)",
           "Append(Offset(a, -1), Round(b, 3), ReplaceIndex(ivector, t, 0), "
           "IfDefined(Offset(c, -3)), Failover(d, e), Switch(f, g, h), "
           "Sum(Scale(0.66, h), Const(1.5, 10)), ReplaceIndex(x1, x, 2))",
           "Sum(Scale(-0.25, tdnn1.dropout), Sum(a, b))",
       }) {
    EXPECT_EQ(DescriptorToString(ParseDescriptor(text)), text);
  }
  Descriptor d = ParseDescriptor("Offset( x ,  -3 )");
  EXPECT_EQ(d.type, DescriptorType::kOffset);
  EXPECT_EQ(d.t_offset, -3);
  EXPECT_EQ(d.args.at(0).node_name, "x");
  EXPECT_EQ(DescriptorToString(d), "Offset(x, -3)");
}

TEST(Nnet3Descriptor, SyntaxErrorsThrow) {
  for (const std::string bad : {"", "Offset(x)", "Offset(x, y)", "Append(a, b", "Append(a,, b)",
                                "ReplaceIndex(a, z, 0)", "Round(a, 0)", "a b", "Sum(a)"}) {
    EXPECT_THROW(ParseDescriptor(bad), Error) << bad;
  }
}

TEST(Nnet3Context, TdnnSeedMatchesKaldi) {
  KaldiModel m = ReadKaldiModel(TestData("tdnn-seed/final.mdl"));
  NnetContext ctx = ComputeContext(m.nnet);
  // Kaldi stored <LeftContext>/<RightContext> 15 (ComputeSimpleNnetContext) in final.mdl:
  // Append(-1,0,1) + [-1,0,1] x2 + [-3,0,3] x4.
  EXPECT_EQ(ctx.left_context, m.left_context);
  EXPECT_EQ(ctx.right_context, m.right_context);
  EXPECT_EQ(ctx.left_context, 15);
  EXPECT_EQ(ctx.right_context, 15);
  EXPECT_EQ(ctx.modulus, 1);
  NnetContext xent = ComputeContext(m.nnet, "output-xent");
  EXPECT_EQ(xent.left_context, 15);
}

// The chain egs were dumped with the model's context + 1 (chain training's frame-shift
// augmentation): egs/info/left_context = right_context = 16.
TEST(Nnet3Context, TdnnSeedEgsContextIsModelContextPlusOne) {
  const std::string info = std::string(KQ_SHARED_DIR) + "/fixtures/models/tdnn-seed/egs/info/";
  std::ifstream l(info + "left_context"), r(info + "right_context");
  if (!l.good() || !r.good()) GTEST_SKIP() << info << " not present (../shared absent)";
  int egs_left = 0, egs_right = 0;
  l >> egs_left;
  r >> egs_right;
  NnetContext ctx = ComputeContext(ReadKaldiModel(TestData("tdnn-seed/final.mdl")).nnet);
  EXPECT_EQ(egs_left, ctx.left_context + 1);
  EXPECT_EQ(egs_right, ctx.right_context + 1);
}

TEST(Nnet3Context, TdnnfSmall) {
  KaldiModel m = ReadKaldiModel(TestData("tdnnf-small/final.raw"));
  NnetContext ctx = ComputeContext(m.nnet);
  // lda Append(-1,0,1): 1; tdnnf2,3 linear [-1,0] affine [0,1]: 1+1 each side; tdnnf4 [0];
  // tdnnf5..7 linear [-3,0] affine [0,3]: 3 each side. The i-vector (ReplaceIndex t=0) adds
  // nothing.
  EXPECT_EQ(ctx.left_context, 12);
  EXPECT_EQ(ctx.right_context, 12);
  EXPECT_EQ(ctx.modulus, 1);
}

Nnet SmallNet(const std::string& descriptor) {
  TempDir dir;
  WriteFileBytes(dir.File("n.txt"),
                 "<Nnet3> \ninput-node name=input dim=2\n"
                 "component-node name=c component=c input=" + descriptor +
                 "\noutput-node name=output input=c objective=linear\n\n"
                 "<NumComponents> 1 \n<ComponentName> c <NoOpComponent> <Dim> 2 "
                 "<BackpropScale> 1 </NoOpComponent> \n</Nnet3> ");
  return ReadKaldiModel(dir.File("n.txt")).nnet;
}

TEST(Nnet3Context, DescriptorSemantics) {
  struct Case {
    const char* desc;
    int left, right, modulus;
  } cases[] = {
      {"input", 0, 0, 1},
      {"Offset(input, -4)", 4, 0, 1},
      {"Sum(Offset(input, -2), Offset(input, 5))", 2, 5, 1},
      // IfDefined never makes its input required.
      {"Sum(input, IfDefined(Offset(input, -7)))", 0, 0, 1},
      // Failover uses the second branch where the first is not computable.
      {"Failover(Offset(input, -3), input)", 0, 0, 1},
      // Round(input, 3) at t needs t - (t mod 3): up to 2 frames of left context.
      {"Round(input, 3)", 2, 0, 3},
      // Switch picks Offset(+1) on odd frames.
      {"Switch(input, Offset(input, 1))", 0, 1, 2},
      {"Sum(Offset(input, -1), Const(0.5, 2))", 1, 0, 1},
  };
  for (const Case& c : cases) {
    const std::string desc = c.desc;
    NnetContext ctx = ComputeContext(SmallNet(desc));
    EXPECT_EQ(ctx.left_context, c.left) << desc;
    EXPECT_EQ(ctx.right_context, c.right) << desc;
    EXPECT_EQ(ctx.modulus, c.modulus) << desc;
  }
}

TEST(Nnet3Context, NoOutputOrNoInputThrows) {
  Nnet n = SmallNet("input");
  EXPECT_THROW(ComputeContext(n, "nosuch"), Error);
}

}  // namespace
}  // namespace kaldiq::kaldi
