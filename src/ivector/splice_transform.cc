#include "ivector/splice_transform.h"

#include <algorithm>

#include "kaldi/option_table.h"
#include "kernels/gemm_f32_rowstable.h"
#include "util/error.h"

namespace kaldiq::ivector {

void OnlineSpliceOptions::Register(kaldi::OptionTable* t) {
  t->Register("left-context", &left_context, "Left-context for frame splicing prior to LDA");
  t->Register("right-context", &right_context, "Right-context for frame splicing prior to LDA");
}

OnlineSpliceOptions OnlineSpliceOptions::FromConfigFile(const std::string& path) {
  OnlineSpliceOptions opts;
  kaldi::OptionTable table;
  opts.Register(&table);
  table.ReadConfigFile(path);
  return opts;
}

SpliceTransform::SpliceTransform(const MatrixF& transform, int32_t left, int32_t right,
                                 int32_t base_dim)
    : left_(left), right_(right), base_dim_(base_dim) {
  KQ_CHECK(left >= 0 && right >= 0, kInvalidArgument)
      << "splice contexts must be non-negative (left " << left << ", right " << right << ")";
  KQ_CHECK(base_dim >= 1 && transform.rows() >= 1, kInvalidArgument)
      << "empty transform or base dimension";
  const int64_t in_dim = static_cast<int64_t>(base_dim) * (left + 1 + right);
  const int64_t rows = transform.rows();
  KQ_CHECK(transform.cols() == in_dim || transform.cols() == in_dim + 1, kInvalidArgument)
      << "dimension mismatch: spliced features have dimension " << in_dim << " (" << base_dim
      << " x " << (left + 1 + right) << " frames) and the transform has " << transform.cols()
      << " columns";
  linear_.Resize(rows, in_dim);
  offset_.assign(static_cast<size_t>(rows), 0.0f);
  for (int64_t r = 0; r < rows; ++r) {
    std::copy(transform.Row(r), transform.Row(r) + in_dim, linear_.Row(r));
    if (transform.cols() == in_dim + 1) offset_[r] = transform(r, in_dim);
  }
}

void SpliceTransform::Apply(const float* spliced, int64_t n, float* out, int64_t out_stride) const {
  const int64_t rows = linear_.rows(), cols = linear_.cols();
  for (int64_t r = 0; r < n; ++r) std::copy(offset_.begin(), offset_.end(), out + r * out_stride);
  kernels::GemmF32RowStable(n, rows, cols, spliced, cols, linear_.data(), cols, out, out_stride,
                   /*accumulate=*/true);
}

}  // namespace kaldiq::ivector
