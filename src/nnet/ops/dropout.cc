// Dropout (Kaldi's DropoutComponent) and GeneralDropout (GeneralDropoutComponent). Masks are a
// deterministic function of ForwardArgs::seed (the computer derives one per op and forward), so
// a forward can be repeated with the same masks (finite-difference tests) and results do not
// depend on threads. The random numbers are not Kaldi's; the distributions are.
#include <cstdint>
#include <map>
#include <vector>

#include "nnet/ops/ops_internal.h"
#include "util/error.h"

namespace kaldiq::nnet::ops {

namespace {

using Kind = DropoutAttrs::Kind;

// Uniform floats in [0, 1) from a 64-bit seed (splitmix64: cheap, and identical everywhere).
class Uniform {
 public:
  explicit Uniform(uint64_t seed) : state_(seed) {}
  float Next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return static_cast<float>(z >> 40) * (1.0f / 16777216.0f);
  }

 private:
  uint64_t state_;
};

void ValidateDropout(const Op& op, bool) {
  const DropoutAttrs* d = op.Attrs<DropoutAttrs>();
  KQ_CHECK(d != nullptr, kFormat) << "Dropout op without its attributes";
  CheckSameDim(op);
  KQ_CHECK(d->proportion >= 0.0f && d->proportion <= 1.0f, kFormat)
      << "dropout proportion " << d->proportion;
  if (d->kind == Kind::kGeneralDropout) {
    KQ_CHECK(d->block_dim > 0 && op.input_dim % d->block_dim == 0, kFormat)
        << "block-dim " << d->block_dim << " does not divide dim " << op.input_dim;
    KQ_CHECK(d->time_period >= 0, kFormat) << "time-period " << d->time_period;
    KQ_CHECK(d->proportion < 1.0f || d->continuous, kFormat) << "dropout proportion 1";
  }
}

int32_t FloorDiv(int32_t a, int32_t b) {
  int32_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

// GeneralDropout: the mask row of every row, one per (sequence, ⌊t / time_period⌋) (Kaldi's
// GeneralDropoutComponentPrecomputedIndexes); returns the number of mask rows.
int64_t MaskRows(const DropoutAttrs& d, int64_t rows, int32_t num_sequences, const int32_t* times,
                 std::vector<int64_t>* row_of) {
  KQ_CHECK(num_sequences > 0 && rows % num_sequences == 0, kInternal) << "bad row layout";
  const int64_t per_seq = rows / num_sequences;
  row_of->resize(static_cast<size_t>(rows));
  int64_t next = 0;
  for (int32_t n = 0; n < num_sequences; ++n) {
    std::map<int32_t, int64_t> index;
    for (int64_t r = 0; r < per_seq; ++r) {
      const int32_t key = d.time_period > 0 ? FloorDiv(times[r], d.time_period) : 0;
      auto it = index.find(key);
      if (it == index.end()) it = index.emplace(key, next++).first;
      (*row_of)[n * per_seq + r] = it->second;
    }
  }
  return next;
}

void DropoutForward(const ForwardArgs& a) {
  const DropoutAttrs& d = *a.op->Attrs<DropoutAttrs>();
  const int64_t dim = a.op->input_dim;
  const float p = d.proportion;
  if (d.kind == Kind::kDropout) {
    if (a.mode == ComputeMode::kTest) {  // Kaldi: y = x · (1 − p)
      const float s = 1.0f - p;
      for (int64_t r = 0; r < a.in.rows; ++r)
        for (int64_t c = 0; c < dim; ++c) a.out.Row(r)[c] = a.in.Row(r)[c] * s;
      return;
    }
    // Kaldi: mask = Heaviside(u − p) ∈ {0, 1}, per element or per row; y = x ∘ mask (no
    // rescaling in training).
    Uniform u(a.seed);
    for (int64_t r = 0; r < a.in.rows; ++r) {
      float row_mask = d.per_frame ? (u.Next() - p > 0.0f ? 1.0f : 0.0f) : 0.0f;
      for (int64_t c = 0; c < dim; ++c) {
        const float m = d.per_frame ? row_mask : (u.Next() - p > 0.0f ? 1.0f : 0.0f);
        a.out.Row(r)[c] = a.in.Row(r)[c] * m;
      }
    }
    return;
  }
  // GeneralDropout, SpecAugmentTimeMask: identity in test mode (or with p = 0).
  KQ_CHECK(a.mode == ComputeMode::kTest ||
               (d.kind == Kind::kGeneralDropout && !d.specaugment),
           kUnsupported) << "train mode of '" << a.op->name
                         << "' (SpecAugment masking) is not implemented";
  for (int64_t r = 0; r < a.in.rows; ++r)
    for (int64_t c = 0; c < dim; ++c) a.out.Row(r)[c] = a.in.Row(r)[c];
  if (a.mode == ComputeMode::kTest || p == 0.0f) return;
  std::vector<int64_t> row_of;
  const int64_t mask_rows = MaskRows(d, a.in.rows, a.num_sequences, a.times, &row_of);
  const int64_t block = d.block_dim;
  std::vector<float>& mask = a.memo->values;
  mask.resize(static_cast<size_t>(mask_rows * block));
  Uniform u(a.seed);
  for (float& m : mask) {
    const float x = u.Next();
    m = d.continuous ? x * (p * 4.0f) + (1.0f - 2.0f * p)
                     : (x - p > 0.0f ? 1.0f : 0.0f) * (1.0f / (1.0f - p));
  }
  for (int64_t r = 0; r < a.in.rows; ++r) {
    const float* m = mask.data() + row_of[r] * block;
    for (int64_t c = 0; c < dim; ++c) a.out.Row(r)[c] *= m[c % block];
  }
}

void DropoutBackward(const BackwardArgs& a) {
  const DropoutAttrs& d = *a.op->Attrs<DropoutAttrs>();
  const int64_t dim = a.op->input_dim;
  if (d.kind == Kind::kDropout) {
    // Kaldi's SetMatMatDivMat: d x = d y · y / x, and d y where x = 0 (both modes).
    for (int64_t r = 0; r < a.out_deriv.rows; ++r) {
      const float* x = a.in.Row(r);
      const float* y = a.out.Row(r);
      const float* g = a.out_deriv.Row(r);
      float* dx = a.in_deriv.Row(r);
      for (int64_t c = 0; c < dim; ++c) dx[c] += x[c] == 0.0f ? g[c] : g[c] * y[c] / x[c];
    }
    return;
  }
  const bool masked =
      d.kind == Kind::kGeneralDropout && a.mode == ComputeMode::kTrain && d.proportion != 0.0f;
  std::vector<int64_t> row_of;
  if (masked) {
    const int64_t mask_rows = MaskRows(d, a.out_deriv.rows, a.num_sequences, a.times, &row_of);
    KQ_CHECK(static_cast<int64_t>(a.memo->values.size()) == mask_rows * d.block_dim, kInternal)
        << "GeneralDropout backward without its train-mode forward";
  }
  for (int64_t r = 0; r < a.out_deriv.rows; ++r) {
    const float* g = a.out_deriv.Row(r);
    float* dx = a.in_deriv.Row(r);
    const float* m = masked ? a.memo->values.data() + row_of[r] * d.block_dim : nullptr;
    for (int64_t c = 0; c < dim; ++c) dx[c] += m ? g[c] * m[c % d.block_dim] : g[c];
  }
}

}  // namespace

const OpTraits kDropoutTraits = {
    "Dropout", kRowWise | kBackwardNeedsInput | kBackwardNeedsOutput | kRandomInTrain,
    ValidateDropout, DropoutForward, DropoutBackward, nullptr};

}  // namespace kaldiq::nnet::ops
