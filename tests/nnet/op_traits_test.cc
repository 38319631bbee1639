// The op table: one row per OpType in enum order, consistent properties, and Validate rejecting
// ops whose fields do not fit their dims.
#include <gtest/gtest.h>

#include <string>

#include "nnet/graph.h"
#include "nnet/op_traits.h"
#include "util/error.h"

namespace kaldiq::nnet {
namespace {

TEST(OpTraits, OneRowPerTypeInEnumOrder) {
  const std::pair<OpType, const char*> expected[] = {
      {OpType::kInput, "Input"},       {OpType::kOutput, "Output"},
      {OpType::kCopy, "Copy"},         {OpType::kDimRange, "DimRange"},
      {OpType::kAffine, "Affine"},     {OpType::kRelu, "Relu"},
      {OpType::kScaleOffset, "ScaleOffset"}, {OpType::kNormalize, "Normalize"},
      {OpType::kSigmoid, "Sigmoid"},   {OpType::kTanh, "Tanh"},
      {OpType::kSoftmax, "Softmax"},   {OpType::kLogSoftmax, "LogSoftmax"},
      {OpType::kElementwiseProduct, "ElementwiseProduct"}, {OpType::kSumGroup, "SumGroup"},
      {OpType::kPermute, "Permute"},   {OpType::kBatchNorm, "BatchNorm"},
      {OpType::kDropout, "Dropout"},
  };
  for (const auto& [type, name] : expected) {
    EXPECT_EQ(std::string(Traits(type).name), name);
    EXPECT_EQ(std::string(OpTypeName(type)), name);
  }
  EXPECT_THROW(Traits(static_cast<OpType>(99)), Error);
}

TEST(OpTraits, ViewsHaveNoForwardAndComputedOpsDo) {
  for (int t = 0; t <= static_cast<int>(OpType::kDropout); ++t) {
    const OpTraits& row = Traits(static_cast<OpType>(t));
    ASSERT_NE(row.validate, nullptr) << row.name;
    if (row.props & kView) {
      EXPECT_EQ(row.forward, nullptr) << row.name;
    } else {
      EXPECT_NE(row.forward, nullptr) << row.name;
      EXPECT_NE(row.backward, nullptr) << row.name;
    }
    if (row.props & kUpdatable) {
      EXPECT_TRUE(row.props & kBackwardNeedsInput) << row.name;
    }
  }
  EXPECT_TRUE(Traits(OpType::kBatchNorm).props & kBatchCoupledInTrain);
  EXPECT_TRUE(Traits(OpType::kDropout).props & kRandomInTrain);
  EXPECT_TRUE(Traits(OpType::kAffine).props & kUpdatable);
}

Op MakeOp(OpType type, int32_t in, int32_t out) {
  Op op;
  op.name = "op";
  op.type = type;
  op.input_dim = in;
  op.output_dim = out;
  return op;
}

TEST(OpTraits, ValidateRejectsMismatchedFields) {
  auto validate = [](const Op& op) { Traits(op.type).validate(op, false); };
  Op affine = MakeOp(OpType::kAffine, 3, 2);
  EXPECT_THROW(validate(affine), Error);  // no weight
  affine.weight.Resize(2, 3);
  EXPECT_NO_THROW(validate(affine));
  affine.bias = {1, 2, 3};
  EXPECT_THROW(validate(affine), Error);
  EXPECT_NO_THROW(Traits(OpType::kAffine).validate(MakeOp(OpType::kAffine, 3, 2), true));

  Op so = MakeOp(OpType::kScaleOffset, 3, 3);
  so.scale = {1, 2};
  EXPECT_THROW(validate(so), Error);
  EXPECT_THROW(validate(MakeOp(OpType::kRelu, 3, 4)), Error);

  Op bn = MakeOp(OpType::kBatchNorm, 6, 6);
  EXPECT_THROW(validate(bn), Error);  // no attributes
  bn.attrs = BatchNormAttrs{4, 0.001f, 1.0f};
  EXPECT_THROW(validate(bn), Error);  // block-dim does not divide dim
  bn.attrs = BatchNormAttrs{3, 0.001f, 1.0f};
  EXPECT_NO_THROW(validate(bn));

  Op drop = MakeOp(OpType::kDropout, 4, 4);
  DropoutAttrs d;
  d.proportion = 1.5f;
  drop.attrs = d;
  EXPECT_THROW(validate(drop), Error);

  Op dr = MakeOp(OpType::kDimRange, 4, 2);
  dr.ints = {3};
  EXPECT_THROW(validate(dr), Error);
  dr.ints = {2};
  EXPECT_NO_THROW(validate(dr));
  EXPECT_EQ(Traits(OpType::kDimRange).view_column(dr), 2);
}

}  // namespace
}  // namespace kaldiq::nnet
