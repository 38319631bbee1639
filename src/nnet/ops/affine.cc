// Affine: y = x·Wᵀ + b (Affine, NaturalGradientAffine, FixedAffine, Linear, Tdnn over its
// spliced input, TimeHeightConvolution as its block-sparse matrix), optionally followed by a
// fused ReLU (inference only). Forward runs the op's LinearKernel (packed fp32 or int8 for
// inference, a view of the master weights for training); Backward runs on the fp32 master
// weights Op::weight with the transposed GEMMs of kernels/blas.h:
//   d x += d y · W          d W += d yᵀ · x          d b += Σ_rows d y
#include <vector>

#include "kernels/blas.h"
#include "nnet/linear_kernel.h"
#include "nnet/ops/ops_internal.h"
#include "util/error.h"

namespace kaldiq::nnet::ops {

namespace {

void ValidateAffine(const Op& op, bool weights_optional) {
  KQ_CHECK((op.weight.rows() == op.output_dim && op.weight.cols() == op.input_dim) ||
               (weights_optional && op.weight.size() == 0),
           kFormat) << "weight is " << op.weight.rows() << "x" << op.weight.cols();
  KQ_CHECK(op.bias.empty() || static_cast<int32_t>(op.bias.size()) == op.output_dim, kFormat)
      << "bias has " << op.bias.size() << " entries";
  KQ_CHECK(!op.trainable || op.weight.size() > 0, kFormat) << "trainable op without weights";
}

void AffineForward(const ForwardArgs& a) {
  KQ_CHECK(a.kernel != nullptr, kInternal) << "affine op '" << a.op->name << "' has no kernel";
  a.kernel->Forward(a.in.data, a.in.rows, a.in.stride, a.out.data, a.out.stride);
}

void AffineBackward(const BackwardArgs& a) {
  const Op& op = *a.op;
  KQ_CHECK(!op.relu_after, kUnsupported)
      << "backward of '" << op.name << "': a ReLU fused into an affine op (inference lowering); "
      << "use the training lowering";
  KQ_CHECK(op.weight.rows() == op.output_dim && op.weight.cols() == op.input_dim, kUnsupported)
      << "backward of '" << op.name << "' needs its fp32 weights";
  using kernels::Trans;
  const int64_t rows = a.out_deriv.rows, in = op.input_dim, out = op.output_dim;
  if (a.in_deriv.data) {
    kernels::Sgemm(Trans::kNo, Trans::kNo, rows, in, out, 1.0f, a.out_deriv.data,
                   a.out_deriv.stride, op.weight.data(), in, 1.0f, a.in_deriv.data,
                   a.in_deriv.stride);
  }
  if (a.grads && op.trainable) {
    kernels::Sgemm(Trans::kYes, Trans::kNo, out, in, rows, 1.0f, a.out_deriv.data,
                   a.out_deriv.stride, a.in.data, a.in.stride, 1.0f, a.grads->weight.data(), in);
    if (!op.bias.empty()) {
      std::vector<double> sum(static_cast<size_t>(out), 0.0);
      for (int64_t r = 0; r < rows; ++r) {
        const float* g = a.out_deriv.Row(r);
        for (int64_t j = 0; j < out; ++j) sum[j] += g[j];
      }
      for (int64_t j = 0; j < out; ++j) a.grads->bias[j] += static_cast<float>(sum[j]);
    }
  }
}

}  // namespace

const OpTraits kAffineTraits = {"Affine", kRowWise | kBackwardNeedsInput | kUpdatable,
                                ValidateAffine, AffineForward, AffineBackward, nullptr};

}  // namespace kaldiq::nnet::ops
