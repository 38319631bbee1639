// Affine: y = x·Wᵀ + b (Affine, NaturalGradientAffine, FixedAffine, Linear, Tdnn over its
// spliced input, TimeHeightConvolution as its block-sparse matrix), optionally followed by a
// fused ReLU. Forward runs the op's LinearKernel (packed fp32 or int8 for inference, a view of
// the master weights for training, fake quantization for QAT); Backward masks by the fused ReLU,
// lets the kernel supply its own derivatives (LinearKernel::AddDerivatives: fake quantization's
// straight-through rules), else runs on the fp32 master weights Op::weight with the transposed
// GEMMs of kernels/blas.h:
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
  const int64_t rows = a.out_deriv.rows, in = op.input_dim, out = op.output_dim;
  // A fused ReLU (the inference lowering, which QAT trains): y = max(z, 0), so ∂/∂z is ∂/∂y
  // where y > 0 and 0 elsewhere -- the derivative the separate Relu op would pass.
  ConstRows dy = a.out_deriv;
  std::vector<float> masked;
  if (op.relu_after) {
    KQ_CHECK(a.out.data != nullptr && a.out.rows == rows, kInternal)
        << "backward of '" << op.name << "': the fused ReLU needs the forward output";
    masked.resize(static_cast<size_t>(rows * out));
    for (int64_t r = 0; r < rows; ++r) {
      const float* g = a.out_deriv.Row(r);
      const float* y = a.out.Row(r);
      float* m = masked.data() + r * out;
      for (int64_t j = 0; j < out; ++j) m[j] = y[j] > 0.0f ? g[j] : 0.0f;
    }
    dy = ConstRows{masked.data(), rows, out, out};
  }
  OpGradients* grads = op.trainable ? a.grads : nullptr;
  const Rows* dx = a.in_deriv.data ? &a.in_deriv : nullptr;
  if (a.kernel && a.kernel->AddDerivatives(a.in, dy, dx, grads)) return;
  KQ_CHECK(op.weight.rows() == op.output_dim && op.weight.cols() == op.input_dim, kUnsupported)
      << "backward of '" << op.name << "' needs its fp32 weights";
  using kernels::Trans;
  if (dx) {
    kernels::Sgemm(Trans::kNo, Trans::kNo, rows, in, out, 1.0f, dy.data, dy.stride,
                   op.weight.data(), in, 1.0f, dx->data, dx->stride);
  }
  if (grads) {
    kernels::Sgemm(Trans::kYes, Trans::kNo, out, in, rows, 1.0f, dy.data, dy.stride, a.in.data,
                   a.in.stride, 1.0f, grads->weight.data(), in);
    if (!op.bias.empty()) {
      std::vector<double> sum(static_cast<size_t>(out), 0.0);
      for (int64_t r = 0; r < rows; ++r) {
        const float* g = dy.Row(r);
        for (int64_t j = 0; j < out; ++j) sum[j] += g[j];
      }
      for (int64_t j = 0; j < out; ++j) grads->bias[j] += static_cast<float>(sum[j]);
    }
  }
}

}  // namespace

const OpTraits kAffineTraits = {"Affine", kRowWise | kBackwardNeedsInput | kUpdatable,
                                ValidateAffine, AffineForward, AffineBackward, nullptr};

}  // namespace kaldiq::nnet::ops
