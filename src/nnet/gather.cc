#include "nnet/gather.h"

#include <cstring>

#include "kernels/multiversion.h"

namespace kaldiq::nnet {

namespace {
int64_t RowsOf(const ChunkPlan& plan, int32_t op) {
  return static_cast<int64_t>(plan.ops[op].times.size());
}
}  // namespace

KQ_MULTIVERSION void DequantizeRows(const RowView& v, int64_t rows, int64_t cols, float* dst) {
  const float scale = v.grid.scale;
  const int32_t zp = v.grid.zero_point;
  for (int64_t r = 0; r < rows; ++r) {
    const uint8_t* src = v.q + r * v.qstride;
    float* out = dst + r * cols;
    for (int64_t c = 0; c < cols; ++c) out[c] = static_cast<float>(int32_t(src[c]) - zp) * scale;
  }
}

KQ_MULTIVERSION void Gather(const ChunkPlan& plan, int32_t op, int32_t num_sequences,
                            const std::vector<RowView>& views, float* dst, int64_t stride) {
  const OpPlan& op_plan = plan.ops[op];
  const int64_t rows = op_plan.NumComputed();
  for (int32_t n = 0; n < num_sequences; ++n) {
    float* base = dst + n * rows * stride;
    for (const PartProgram& p : op_plan.parts) {
      const size_t bytes = sizeof(float) * p.dim;
      if (p.src_op >= 0) {
        const RowView v = views[p.src_op].Shifted(n * RowsOf(plan, p.src_op), 0);
        for (int64_t r = 0; r < rows; ++r) {
          float* out = base + r * stride + p.col_offset;
          if (v.has_float()) {
            std::memcpy(out, v.data + p.src_rows[r] * v.stride, bytes);
          } else {
            DequantizeRows(v.Shifted(p.src_rows[r], 0), 1, p.dim, out);
          }
        }
        continue;
      }
      for (int64_t r = 0; r < rows; ++r) {
        float* out = base + r * stride + p.col_offset;
        const float c = p.constants[r];
        for (int32_t j = 0; j < p.dim; ++j) out[j] = c;
        for (int32_t k = p.row_begin[r]; k < p.row_begin[r + 1]; ++k) {
          const PartProgram::Term& term = p.terms[k];
          const RowView v = views[term.src_op].Shifted(n * RowsOf(plan, term.src_op), 0);
          const float coef = term.coef;
          if (!v.has_float()) {
            const uint8_t* src = v.q + static_cast<int64_t>(term.src_row) * v.qstride;
            const float s = coef * v.grid.scale;
            const int32_t zp = v.grid.zero_point;
            for (int32_t j = 0; j < p.dim; ++j)
              out[j] += s * static_cast<float>(int32_t(src[j]) - zp);
          } else {
            const float* src = v.data + static_cast<int64_t>(term.src_row) * v.stride;
            for (int32_t j = 0; j < p.dim; ++j) out[j] += coef * src[j];
          }
        }
      }
    }
  }
}

void ScatterAdd(const ChunkPlan& plan, int32_t op, int32_t num_sequences, const float* d_input,
                int64_t stride, const std::vector<Rows>& derivs) {
  const OpPlan& op_plan = plan.ops[op];
  const int64_t rows = RowsOf(plan, op);
  for (int32_t n = 0; n < num_sequences; ++n) {
    const float* base = d_input + n * rows * stride;
    for (const PartProgram& p : op_plan.parts) {
      if (p.src_op >= 0) {
        const Rows& d = derivs[p.src_op];
        if (!d.data) continue;
        float* block = d.data + n * RowsOf(plan, p.src_op) * d.stride;
        for (int64_t r = 0; r < rows; ++r) {
          const float* g = base + r * stride + p.col_offset;
          float* out = block + p.src_rows[r] * d.stride;
          for (int32_t j = 0; j < p.dim; ++j) out[j] += g[j];
        }
        continue;
      }
      for (int64_t r = 0; r < rows; ++r) {
        const float* g = base + r * stride + p.col_offset;
        for (int32_t k = p.row_begin[r]; k < p.row_begin[r + 1]; ++k) {
          const PartProgram::Term& term = p.terms[k];
          const Rows& d = derivs[term.src_op];
          if (!d.data) continue;
          float* out = d.data + (n * RowsOf(plan, term.src_op) + term.src_row) * d.stride;
          const float coef = term.coef;
          for (int32_t j = 0; j < p.dim; ++j) out[j] += coef * g[j];
        }
      }
    }
  }
}

bool CanGatherU8(const OpPlan& plan, const std::vector<RowView>& views, const U8Grid& grid) {
  for (const PartProgram& p : plan.parts) {
    if (p.src_op < 0) return false;
    const RowView& v = views[p.src_op];
    if (!v.has_u8() || v.grid != grid) return false;
  }
  return !plan.parts.empty();
}

void GatherU8(const ChunkPlan& plan, int32_t op, int32_t num_sequences,
              const std::vector<RowView>& views, uint8_t* dst, int64_t stride) {
  const int64_t rows = plan.ops[op].NumComputed();
  for (int32_t n = 0; n < num_sequences; ++n) {
    uint8_t* base = dst + n * rows * stride;
    for (const PartProgram& p : plan.ops[op].parts) {
      const RowView v = views[p.src_op].Shifted(n * RowsOf(plan, p.src_op), 0);
      for (int64_t r = 0; r < rows; ++r)
        std::memcpy(base + r * stride + p.col_offset, v.q + p.src_rows[r] * v.qstride, p.dim);
    }
  }
}

}  // namespace kaldiq::nnet
