// The op table: OpType -> traits row (bodies in the family files of this folder).
#include <iterator>

#include "nnet/ops/ops_internal.h"
#include "util/error.h"

namespace kaldiq::nnet {

namespace {

// Indexed by OpType; the order must follow the enum (checked by the table test).
const OpTraits* const kTable[] = {
    &ops::kInputTraits,      &ops::kOutputTraits,   &ops::kCopyTraits,
    &ops::kDimRangeTraits,   &ops::kAffineTraits,   &ops::kReluTraits,
    &ops::kScaleOffsetTraits, &ops::kNormalizeTraits, &ops::kSigmoidTraits,
    &ops::kTanhTraits,       &ops::kSoftmaxTraits,  &ops::kLogSoftmaxTraits,
    &ops::kElementwiseProductTraits, &ops::kSumGroupTraits, &ops::kPermuteTraits,
    &ops::kBatchNormTraits,  &ops::kDropoutTraits,
};
static_assert(std::size(kTable) == static_cast<size_t>(OpType::kDropout) + 1,
              "one traits row per OpType");

}  // namespace

const OpTraits& Traits(OpType type) {
  const size_t i = static_cast<size_t>(type);
  KQ_CHECK(i < std::size(kTable), kInternal) << "op type " << i << " has no traits row";
  return *kTable[i];
}

const char* OpTypeName(OpType type) {
  const size_t i = static_cast<size_t>(type);
  return i < std::size(kTable) ? kTable[i]->name : "?";
}

namespace ops {

void CheckSameDim(const Op& op) {
  KQ_CHECK(op.output_dim == op.input_dim, kFormat) << "dimension changes";
}

void CheckPerColumn(const std::vector<float>& v, const Op& op, const char* what) {
  KQ_CHECK(v.empty() || static_cast<int32_t>(v.size()) == op.input_dim, kFormat)
      << what << " has " << v.size() << " entries";
}

void ValidateSameDim(const Op& op, bool) { CheckSameDim(op); }

}  // namespace ops

}  // namespace kaldiq::nnet
