// The onednn backend of PackedLinearF32: oneDNN's f32 matmul with the weights reordered once
// into the plain K×N layout the primitives use, bias and ReLU fused.
//
// oneDNN 2.6 runs f32 matmuls with a *runtime* M on a slow path (20–40 ms for a 170×768×256
// call), so there is one primitive per row count: a call runs its whole multiples of kRowBucket
// rows in place and the rest through a zero-padded copy of kRowBucket rows (padding rows computed
// and dropped), calls of more than kMaxRows rows in kMaxRows pieces; each output row depends only
// on its input row. The primitives live in
// one slot per bucket, created on first use and published with a compare-and-swap: the call path
// takes no lock (a mutex here kept TDNN-F's many small GEMMs from scaling to two threads). Two
// threads missing the same slot at once both create a primitive; one is kept, the other freed.
#include <omp.h>

#include <algorithm>
#include <atomic>
#include <dnnl.hpp>
#include <memory>
#include <unordered_map>
#include <vector>

#include "kernels/dnnl_engine.h"
#include "kernels/gemm_f32.h"
#include "util/error.h"

namespace kaldiq::kernels {

namespace {

constexpr int64_t kRowBucket = 8;
constexpr int64_t kMaxRows = 1024;
constexpr int64_t kSlots = kMaxRows / kRowBucket;

struct PerRows {
  dnnl::matmul prim;
  size_t scratch_bytes = 0;
  dnnl::memory::desc scratch_md;
};

class DnnlLinear : public PackedLinearF32::Impl {
 public:
  DnnlLinear(int64_t n, int64_t k, const float* w, const float* bias, bool relu)
      : n_(n), k_(k), has_bias_(bias != nullptr), slots_(new std::atomic<PerRows*>[kSlots]) {
    for (int64_t i = 0; i < kSlots; ++i) slots_[i].store(nullptr, std::memory_order_relaxed);
    // Before any oneDNN call on this thread: a larger OpenMP team would leave a spinning worker
    // behind (CPU time for nothing).
    omp_set_num_threads(1);
    using dt = dnnl::memory::data_type;
    using tag = dnnl::memory::format_tag;
    attr_.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    if (relu) {
      dnnl::post_ops po;
      po.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
      attr_.set_post_ops(po);
    }
    dnnl::stream s(DnnlEngine());
    dnnl::memory::desc w_user({k, n}, dt::f32, tag::ba);  // Kaldi's N×K
    dnnl::memory src(w_user, DnnlEngine(), const_cast<float*>(w));
    weights_ = dnnl::memory(dnnl::memory::desc({k, n}, dt::f32, tag::ab), DnnlEngine());
    dnnl::reorder(src, weights_).execute(s, src, weights_);
    if (bias) {
      bias_ = dnnl::memory(dnnl::memory::desc({1, n}, dt::f32, tag::ab), DnnlEngine());
      std::copy(bias, bias + n, static_cast<float*>(bias_.get_data_handle()));
    }
    s.wait();
  }

  ~DnnlLinear() override {
    for (int64_t i = 0; i < kSlots; ++i) delete slots_[i].load(std::memory_order_acquire);
  }

  void Run(int64_t m, const float* x, int64_t ldx, float* y, int64_t ldy) const override {
    // kaldiq parallelises above the kernels (per utterance): one OpenMP thread per caller.
    omp_set_num_threads(1);
    for (int64_t r0 = 0; r0 < m; r0 += kMaxRows) {
      const int64_t rows = std::min(kMaxRows, m - r0);
      // The rows of whole buckets in place, the remaining < kRowBucket through a padded copy
      // (copying the whole call was ~3 % of a seed625 forward pass).
      const int64_t whole = rows / kRowBucket * kRowBucket;
      if (whole > 0) RunRows(whole, x + r0 * ldx, ldx, y + r0 * ldy, ldy);
      if (whole < rows)
        RunRows(rows - whole, x + (r0 + whole) * ldx, ldx, y + (r0 + whole) * ldy, ldy);
    }
  }

 private:
  const PerRows& Get(int64_t mp) const {
    std::atomic<PerRows*>& slot = slots_[mp / kRowBucket - 1];
    if (PerRows* p = slot.load(std::memory_order_acquire)) return *p;
    using dt = dnnl::memory::data_type;
    using tag = dnnl::memory::format_tag;
    dnnl::memory::desc x_md({mp, k_}, dt::f32, {DNNL_RUNTIME_DIM_VAL, 1});
    dnnl::memory::desc y_md({mp, n_}, dt::f32, {DNNL_RUNTIME_DIM_VAL, 1});
    dnnl::memory::desc w_md({k_, n_}, dt::f32, tag::ab);
    dnnl::memory::desc b_md({1, n_}, dt::f32, tag::ab);
    auto fresh = std::make_unique<PerRows>();
    try {
      dnnl::matmul::primitive_desc pd =
          has_bias_ ? dnnl::matmul::primitive_desc(dnnl::matmul::desc(x_md, w_md, b_md, y_md),
                                                   attr_, DnnlEngine())
                    : dnnl::matmul::primitive_desc(dnnl::matmul::desc(x_md, w_md, y_md), attr_,
                                                   DnnlEngine());
      fresh->prim = dnnl::matmul(pd);
      fresh->scratch_md = pd.scratchpad_desc();
      fresh->scratch_bytes = fresh->scratch_md.get_size();
    } catch (const dnnl::error& e) {
      KQ_THROW(kInternal) << "oneDNN f32 matmul " << mp << "x" << k_ << "x" << n_ << ": "
                          << e.what();
    }
    PerRows* expected = nullptr;
    if (slot.compare_exchange_strong(expected, fresh.get(), std::memory_order_acq_rel))
      return *fresh.release();
    return *expected;  // another thread published first
  }

  void RunRows(int64_t m, const float* x, int64_t ldx, float* y, int64_t ldy) const {
    using dt = dnnl::memory::data_type;
    const int64_t mp = (m + kRowBucket - 1) / kRowBucket * kRowBucket;
    // Per-thread buffers, grown and never shrunk.
    thread_local std::vector<float> xpad, ypad;
    thread_local std::vector<uint8_t> scratch_buf;
    const float* xs = x;
    float* ys = y;
    int64_t ldxs = ldx, ldys = ldy;
    if (mp != m) {
      if (xpad.size() < static_cast<size_t>(mp * k_)) xpad.resize(static_cast<size_t>(mp * k_));
      for (int64_t r = 0; r < m; ++r) std::copy(x + r * ldx, x + r * ldx + k_, xpad.data() + r * k_);
      std::fill(xpad.begin() + m * k_, xpad.begin() + mp * k_, 0.0f);
      if (ypad.size() < static_cast<size_t>(mp * n_)) ypad.resize(static_cast<size_t>(mp * n_));
      xs = xpad.data();
      ys = ypad.data();
      ldxs = k_;
      ldys = n_;
    }
    const PerRows& p = Get(mp);
    if (scratch_buf.size() < p.scratch_bytes) scratch_buf.resize(p.scratch_bytes);
    dnnl::memory xm(dnnl::memory::desc({mp, k_}, dt::f32, {ldxs, 1}), DnnlEngine(),
                    const_cast<float*>(xs));
    dnnl::memory ym(dnnl::memory::desc({mp, n_}, dt::f32, {ldys, 1}), DnnlEngine(), ys);
    dnnl::memory scratch(p.scratch_md, DnnlEngine(), scratch_buf.data());
    dnnl::stream s(DnnlEngine());
    std::unordered_map<int, dnnl::memory> args = {{DNNL_ARG_SRC, xm},
                                                  {DNNL_ARG_WEIGHTS, weights_},
                                                  {DNNL_ARG_DST, ym},
                                                  {DNNL_ARG_SCRATCHPAD, scratch}};
    if (has_bias_) args[DNNL_ARG_BIAS] = bias_;
    p.prim.execute(s, args);
    s.wait();
    if (mp != m)
      for (int64_t r = 0; r < m; ++r) std::copy(ys + r * n_, ys + r * n_ + n_, y + r * ldy);
  }

  int64_t n_, k_;
  bool has_bias_;
  dnnl::primitive_attr attr_;
  dnnl::memory weights_, bias_;
  std::unique_ptr<std::atomic<PerRows*>[]> slots_;
};

}  // namespace

bool DnnlF32Available() { return true; }

// oneDNN 2.6's dnnl_cpu_isa_t values are bit sets; 0x20 marks avx512_core and everything above.
bool DnnlF32UsesAvx512() {
  return (static_cast<unsigned>(dnnl_get_effective_cpu_isa()) & 0x20u) != 0;
}

std::unique_ptr<PackedLinearF32::Impl> CreateDnnlLinearF32(int64_t n, int64_t k, const float* w,
                                                           const float* bias, bool relu) {
  try {
    return std::make_unique<DnnlLinear>(n, k, w, bias, relu);
  } catch (const dnnl::error& e) {
    KQ_THROW(kInternal) << "oneDNN f32 matmul " << n << "x" << k << ": " << e.what();
  }
}

}  // namespace kaldiq::kernels
