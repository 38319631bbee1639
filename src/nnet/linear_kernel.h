// The pluggable kernel behind every kAffine op. The executor only calls Forward(); the fp32
// default packs the op's weights once at construction. Quantization supplies int8
// implementations of the same interface and swaps them into ExecutableNet::kernels.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "nnet/graph.h"

namespace kaldiq::nnet {

class LinearKernel {
 public:
  virtual ~LinearKernel() = default;
  // y[rows × OutputDim()] = x[rows × InputDim()] · Wᵀ + b, then max(·, 0) when the op has
  // relu_after. ldx / ldy are row strides in elements. Must be callable concurrently from
  // several threads (no mutable state; scratch, if any, is per call or thread-local).
  virtual void Forward(const float* x, int64_t rows, int64_t ldx, float* y, int64_t ldy) const = 0;
  virtual int64_t InputDim() const = 0;
  virtual int64_t OutputDim() const = 0;
  // Short description for logs / info ("fp32 openblas", "int8 onednn s7").
  virtual std::string Describe() const = 0;
};

// fp32 kernel on the fast GEMM (kernels/gemm_f32.h), weights pre-packed at construction.
std::shared_ptr<const LinearKernel> MakeF32LinearKernel(const Op& op);
// Scalar reference kernel (double accumulation); the oracle for tests.
std::shared_ptr<const LinearKernel> MakeRefLinearKernel(const Op& op);

}  // namespace kaldiq::nnet
