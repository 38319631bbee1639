#include "nnet/ops.h"

#include "nnet/op_traits.h"
#include "util/error.h"

namespace kaldiq::nnet {

void RunElementwiseOp(const Op& op, const float* x, int64_t ldx, int64_t rows, float* y,
                      int64_t ldy) {
  const OpTraits& traits = Traits(op.type);
  KQ_CHECK(traits.forward != nullptr && op.type != OpType::kAffine, kInternal)
      << "op type " << traits.name << " is not element-wise";
  ForwardArgs a;
  a.op = &op;
  a.in = ConstRows{x, rows, op.input_dim, ldx};
  a.out = Rows{y, rows, op.output_dim, ldy};
  traits.forward(a);
}

}  // namespace kaldiq::nnet
