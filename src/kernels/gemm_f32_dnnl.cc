// PackedLinearF32 on oneDNN's f32 matmul: one primitive per layer with a runtime M (any chunk
// size), weights reordered once into the primitive's layout, bias and ReLU fused.
#include <omp.h>

#include <algorithm>
#include <dnnl.hpp>
#include <map>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "kernels/dnnl_engine.h"
#include "kernels/gemm_f32.h"
#include "util/error.h"

namespace kaldiq::kernels {

struct PackedLinearF32::Impl {
  int64_t n, k;
  bool has_bias;
  dnnl::primitive_attr attr;
  dnnl::matmul prim;  // runtime-M primitive (unused when per-M primitives are cached)
  dnnl::memory weights, bias;
  dnnl::memory::desc scratch_md;
  // oneDNN 2.6 runs runtime-M f32 matmuls on a slow path; one primitive per distinct M (chunk
  // shapes repeat, so there are few) takes the fast brgemm kernels. Weights stay plain K×N.
  struct PerM {
    dnnl::matmul prim;
    dnnl::memory::desc scratch_md;
  };
  mutable std::mutex mutex;
  mutable std::map<int64_t, std::shared_ptr<PerM>> per_m;
  std::shared_ptr<PerM> Get(int64_t m) const {
    std::lock_guard<std::mutex> lock(mutex);
    auto it = per_m.find(m);
    if (it != per_m.end()) return it->second;
    using dt = dnnl::memory::data_type;
    using tag = dnnl::memory::format_tag;
    dnnl::memory::desc x_md({m, k}, dt::f32, {DNNL_RUNTIME_DIM_VAL, 1});
    dnnl::memory::desc y_md({m, n}, dt::f32, {DNNL_RUNTIME_DIM_VAL, 1});
    dnnl::memory::desc w_md({k, n}, dt::f32, tag::ab);
    dnnl::memory::desc b_md({1, n}, dt::f32, tag::ab);
    dnnl::matmul::primitive_desc pd =
        has_bias ? dnnl::matmul::primitive_desc(dnnl::matmul::desc(x_md, w_md, b_md, y_md), attr,
                                                DnnlEngine())
                 : dnnl::matmul::primitive_desc(dnnl::matmul::desc(x_md, w_md, y_md), attr,
                                                DnnlEngine());
    auto p = std::make_shared<PerM>();
    p->prim = dnnl::matmul(pd);
    p->scratch_md = pd.scratchpad_desc();
    per_m[m] = p;
    return p;
  }
};

PackedLinearF32::PackedLinearF32(int64_t n, int64_t k, const float* w, const float* bias,
                                 bool relu)
    : impl_(std::make_unique<Impl>()) {
  using dt = dnnl::memory::data_type;
  using tag = dnnl::memory::format_tag;
  impl_->n = n;
  impl_->k = k;
  impl_->has_bias = bias != nullptr;
  try {
    const dnnl::memory::dim M = DNNL_RUNTIME_DIM_VAL;
    dnnl::memory::desc x_md({M, k}, dt::f32, {M, 1});
    dnnl::memory::desc y_md({M, n}, dt::f32, {M, 1});
    dnnl::memory::desc b_md({1, n}, dt::f32, tag::ab);
    dnnl::primitive_attr& attr = impl_->attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    if (relu) {
      dnnl::post_ops po;
      po.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
      attr.set_post_ops(po);
    }
    auto make = [&](const dnnl::memory::desc& w_md) {
      return impl_->has_bias
                 ? dnnl::matmul::primitive_desc(dnnl::matmul::desc(x_md, w_md, b_md, y_md), attr,
                                                DnnlEngine())
                 : dnnl::matmul::primitive_desc(dnnl::matmul::desc(x_md, w_md, y_md), attr,
                                                DnnlEngine());
    };
    dnnl::matmul::primitive_desc pd;
    try {
      pd = make(dnnl::memory::desc({k, n}, dt::f32, tag::ab));  // plain K×N
    } catch (const dnnl::error&) {
      pd = make(dnnl::memory::desc({k, n}, dt::f32, tag::ab));
    }
    impl_->prim = dnnl::matmul(pd);
    impl_->scratch_md = pd.scratchpad_desc();
    dnnl::stream s(DnnlEngine());
    dnnl::memory::desc w_user({k, n}, dt::f32, tag::ba);
    dnnl::memory src(w_user, DnnlEngine(), const_cast<float*>(w));
    impl_->weights = dnnl::memory(pd.weights_desc(), DnnlEngine());
    dnnl::reorder(src, impl_->weights).execute(s, src, impl_->weights);
    if (bias) {
      impl_->bias = dnnl::memory(b_md, DnnlEngine());
      std::copy(bias, bias + n, static_cast<float*>(impl_->bias.get_data_handle()));
    }
    s.wait();
  } catch (const dnnl::error& e) {
    KQ_THROW(kInternal) << "oneDNN f32 matmul " << n << "x" << k << ": " << e.what();
  }
}

PackedLinearF32::~PackedLinearF32() = default;

void PackedLinearF32::Run(int64_t m, const float* x, int64_t ldx, float* y, int64_t ldy) const {
  if (m == 0) return;
  using dt = dnnl::memory::data_type;
  // kaldiq parallelises above the kernels (per utterance): one OpenMP thread per caller.
  omp_set_num_threads(1);
  // Primitives exist per row count; row counts are rounded up to a multiple of kRowBucket
  // (padding rows are zeros, computed and dropped) so a run creates few primitives. Each output
  // row depends only on its input row, so the padding does not change the results.
  constexpr int64_t kRowBucket = 8;
  const int64_t mp = (m + kRowBucket - 1) / kRowBucket * kRowBucket;
  const int64_t k = impl_->k, n = impl_->n;
  thread_local std::vector<float> xpad, ypad;
  const float* xs = x;
  float* ys = y;
  int64_t ldxs = ldx, ldys = ldy;
  if (mp != m) {
    xpad.assign(static_cast<size_t>(mp * k), 0.0f);
    for (int64_t r = 0; r < m; ++r) std::copy(x + r * ldx, x + r * ldx + k, xpad.data() + r * k);
    ypad.resize(static_cast<size_t>(mp * n));
    xs = xpad.data();
    ys = ypad.data();
    ldxs = k;
    ldys = n;
  }
  dnnl::memory::desc x_md({mp, k}, dt::f32, {ldxs, 1});
  dnnl::memory::desc y_md({mp, n}, dt::f32, {ldys, 1});
  dnnl::memory xm(x_md, DnnlEngine(), const_cast<float*>(xs));
  dnnl::memory ym(y_md, DnnlEngine(), ys);
  std::shared_ptr<Impl::PerM> p = impl_->Get(mp);
  dnnl::memory scratch(p->scratch_md, DnnlEngine());
  dnnl::stream s(DnnlEngine());
  std::unordered_map<int, dnnl::memory> args = {{DNNL_ARG_SRC, xm},
                                                {DNNL_ARG_WEIGHTS, impl_->weights},
                                                {DNNL_ARG_DST, ym},
                                                {DNNL_ARG_SCRATCHPAD, scratch}};
  if (impl_->has_bias) args[DNNL_ARG_BIAS] = impl_->bias;
  p->prim.execute(s, args);
  s.wait();
  if (mp != m)
    for (int64_t r = 0; r < m; ++r) std::copy(ys + r * n, ys + r * n + n, y + r * ldy);
}

const char* PackedLinearF32::Backend() { return "onednn"; }

}  // namespace kaldiq::kernels
