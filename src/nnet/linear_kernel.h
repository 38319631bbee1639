// The pluggable kernel behind every kAffine op. The fp32 default packs the op's weights once at
// construction. Quantization supplies int8 implementations of the same interface and swaps them
// into ExecutableNet::kernels; those may also exchange u8 activations with their neighbours
// (ForwardQuantized), which is how the executor keeps an int8 pipeline integer between layers.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "kernels/qgrid.h"
#include "nnet/graph.h"
#include "nnet/op_traits.h"
#include "nnet/params.h"

namespace kaldiq::nnet {

// The grid of a u8 activation tensor: real value = (q − zero_point) · scale, q in [qmin, qmax]
// (the one grid type of kaldiq, kernels/qgrid.h).
using U8Grid = kernels::QGrid;

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

  // Integer I/O (int8 kernels; the defaults say "float only"). InputGrid(): when non-null,
  // ForwardQuantized accepts u8 input rows on this grid. OutputGrid(): when non-null,
  // ForwardQuantized writes u8 rows on this grid (bias, ReLU and rounding fused into the
  // requantization) instead of float rows.
  virtual const U8Grid* InputGrid() const { return nullptr; }
  virtual const U8Grid* OutputGrid() const { return nullptr; }
  // x: u8 rows on *InputGrid() when x_is_u8, else float rows; y: u8 rows on *OutputGrid() when
  // that is set, else float rows. ldx / ldy in elements of their type. The default handles the
  // float-only case (x_is_u8 must be false) by calling Forward().
  virtual void ForwardQuantized(const void* x, bool x_is_u8, int64_t rows, int64_t ldx, void* y,
                                int64_t ldy) const;

  // Training through a kernel whose Forward is not x·Wᵀ + b on the op's fp32 weights (fake
  // quantization: the derivatives follow its straight-through rules). x: the forward input;
  // dy: ∂objective/∂(affine output), already masked by a fused ReLU. ADDS ∂/∂x to *dx when dx
  // is non-null and, when grads is non-null, ∂/∂weight and ∂/∂bias to it (Op::weight layout).
  // Returns false (and adds nothing) when Forward is the plain affine map of Op::weight, so the
  // op's own backward (ops/affine.cc) applies: the default. Callable concurrently.
  virtual bool AddDerivatives(const ConstRows& x, const ConstRows& dy, const Rows* dx,
                              OpGradients* grads) const {
    (void)x, (void)dy, (void)dx, (void)grads;
    return false;
  }
};

// fp32 kernel on the fast GEMM (kernels/gemm_f32.h), weights pre-packed at construction.
// backend: a row of kernels::F32BackendNames() or "auto".
std::shared_ptr<const LinearKernel> MakeF32LinearKernel(const Op& op,
                                                        const std::string& backend = "auto");
// Scalar reference kernel (double accumulation); the oracle for tests.
std::shared_ptr<const LinearKernel> MakeRefLinearKernel(const Op& op);
// Training: y = x·Wᵀ + b on the op's current fp32 weights (OpenBLAS through kernels/blas.h),
// read from `op` at every call without a copy, so updates of op.weight / op.bias are seen by
// the next forward. `op` must outlive the kernel and keep its shape.
std::shared_ptr<const LinearKernel> MakeWeightViewKernel(const Op& op);

}  // namespace kaldiq::nnet
