#include "nnet/linear_kernel.h"

#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "kernels/blas.h"
#include "kernels/gemm_f32.h"
#include "kernels/gemm_f32_blocksparse.h"
#include "util/error.h"

namespace kaldiq::nnet {

void LinearKernel::ForwardQuantized(const void* x, bool x_is_u8, int64_t rows, int64_t ldx,
                                    void* y, int64_t ldy) const {
  KQ_CHECK(!x_is_u8 && OutputGrid() == nullptr, kInternal)
      << Describe() << ": kernel without integer I/O given u8 rows";
  Forward(static_cast<const float*>(x), rows, ldx, static_cast<float*>(y), ldy);
}

namespace {

// Adds the bias and applies the optional ReLU in one pass over y.
void Epilogue(const std::vector<float>& bias, bool relu, int64_t rows, int64_t cols, float* y,
              int64_t ldy) {
  if (bias.empty() && !relu) return;
  for (int64_t r = 0; r < rows; ++r) {
    float* row = y + r * ldy;
    if (!bias.empty()) {
      const float* b = bias.data();
      for (int64_t c = 0; c < cols; ++c) row[c] += b[c];
    }
    if (relu)
      for (int64_t c = 0; c < cols; ++c) row[c] = std::max(row[c], 0.0f);
  }
}

// fp32 on the packed linear layer of kernels/gemm_f32.h (its backend table), bias and ReLU
// fused.
class F32LinearKernel : public LinearKernel {
 public:
  F32LinearKernel(const Op& op, const std::string& backend)
      : in_(op.input_dim), out_(op.output_dim),
        layer_(op.output_dim, op.input_dim, op.weight.data(),
               op.bias.empty() ? nullptr : op.bias.data(), op.relu_after, backend) {}
  void Forward(const float* x, int64_t rows, int64_t ldx, float* y, int64_t ldy) const override {
    layer_.Run(rows, x, ldx, y, ldy);
  }
  int64_t InputDim() const override { return in_; }
  int64_t OutputDim() const override { return out_; }
  std::string Describe() const override {
    return "fp32 " + layer_.Backend();
  }

 private:
  int64_t in_, out_;
  kernels::PackedLinearF32 layer_;
};

// fp32 on kernels/gemm_f32_blocksparse.h: the affine form of a convolution (mostly zeros)
// multiplied span by span, bias and ReLU fused.
class BlockSparseF32Kernel : public LinearKernel {
 public:
  BlockSparseF32Kernel(const Op& op, std::unique_ptr<kernels::BlockSparseLinearF32> layer)
      : in_(op.input_dim), out_(op.output_dim), layer_(std::move(layer)) {}
  void Forward(const float* x, int64_t rows, int64_t ldx, float* y, int64_t ldy) const override {
    layer_->Run(rows, x, ldx, y, ldy);
  }
  int64_t InputDim() const override { return in_; }
  int64_t OutputDim() const override { return out_; }
  std::string Describe() const override {
    char buf[96];
    std::snprintf(buf, sizeof(buf), "fp32 blocksparse (%lld groups, %.1f%% of the weights)",
                  static_cast<long long>(layer_->NumGroups()), 100.0 * layer_->Density());
    return buf;
  }

 private:
  int64_t in_, out_;
  std::unique_ptr<kernels::BlockSparseLinearF32> layer_;
};

class RefLinearKernel : public LinearKernel {
 public:
  explicit RefLinearKernel(const Op& op)
      : in_(op.input_dim), out_(op.output_dim), bias_(op.bias), relu_(op.relu_after),
        w_(op.weight) {}
  void Forward(const float* x, int64_t rows, int64_t ldx, float* y, int64_t ldy) const override {
    kernels::GemmF32Ref(rows, out_, in_, x, ldx, w_.data(), in_, y, ldy, false);
    Epilogue(bias_, relu_, rows, out_, y, ldy);
  }
  int64_t InputDim() const override { return in_; }
  int64_t OutputDim() const override { return out_; }
  std::string Describe() const override { return "fp32 reference"; }

 private:
  int64_t in_, out_;
  std::vector<float> bias_;
  bool relu_;
  MatrixF w_;
};

class WeightViewKernel : public LinearKernel {
 public:
  explicit WeightViewKernel(const Op& op) : op_(op) {}
  void Forward(const float* x, int64_t rows, int64_t ldx, float* y, int64_t ldy) const override {
    const int64_t in = op_.input_dim, out = op_.output_dim;
    kernels::Sgemm(kernels::Trans::kNo, kernels::Trans::kYes, rows, out, in, 1.0f, x, ldx,
                   op_.weight.data(), in, 0.0f, y, ldy);
    Epilogue(op_.bias, op_.relu_after, rows, out, y, ldy);
  }
  int64_t InputDim() const override { return op_.input_dim; }
  int64_t OutputDim() const override { return op_.output_dim; }
  std::string Describe() const override { return "fp32 openblas (weights in place)"; }

 private:
  const Op& op_;
};

void CheckAffine(const Op& op) {
  KQ_CHECK(op.type == OpType::kAffine, kInternal) << "linear kernel for non-affine op " << op.name;
  KQ_CHECK(op.weight.rows() == op.output_dim && op.weight.cols() == op.input_dim, kInternal)
      << "weight shape of " << op.name;
}

}  // namespace

std::shared_ptr<const LinearKernel> MakeF32LinearKernel(const Op& op, const std::string& backend) {
  CheckAffine(op);
  // A mostly-zero weight (a convolution's affine form) runs block-sparse unless a dense
  // backend is forced; dense weights are rejected after one row scan.
  if (backend == "auto") {
    if (auto sparse = kernels::BlockSparseLinearF32::TryCreate(
            op.output_dim, op.input_dim, op.weight.data(), op.bias.empty() ? nullptr : op.bias.data(),
            op.relu_after))
      return std::make_shared<BlockSparseF32Kernel>(op, std::move(sparse));
  }
  return std::make_shared<F32LinearKernel>(op, backend);
}

std::shared_ptr<const LinearKernel> MakeRefLinearKernel(const Op& op) {
  CheckAffine(op);
  return std::make_shared<RefLinearKernel>(op);
}

std::shared_ptr<const LinearKernel> MakeWeightViewKernel(const Op& op) {
  CheckAffine(op);
  return std::make_shared<WeightViewKernel>(op);
}

}  // namespace kaldiq::nnet
