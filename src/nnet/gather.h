// Moving rows along a ChunkPlan's row programs (planner.h): Gather assembles an op's input rows
// from the rows of earlier ops, ScatterAdd is its exact transpose (the backward pass of the
// descriptors: Append splits, Offset shifts, Sum copies to both, Scale multiplies, Const and
// undefined IfDefined rows contribute nothing). Both run over a batch of sequences laid out
// n-major: op i holds num_sequences blocks of plan.ops[i].times.size() rows, and each block is
// assembled from the same-numbered blocks of its sources with the one per-sequence program.
//
// RowView also carries the u8 rows of an int8 pipeline (a layer's output requantized onto the
// grid of the layers that read it); Gather dequantizes such sources, GatherU8 splices their
// bytes unchanged.
#pragma once

#include <cstdint>
#include <vector>

#include "nnet/linear_kernel.h"
#include "nnet/op_traits.h"
#include "nnet/planner.h"

namespace kaldiq::nnet {

// Where an op's rows of the current chunk live: float rows (row r at data + r * stride), u8 rows
// on `grid` (row r at q + r * qstride; an int8 pipeline's tensors), or both (a float op whose
// output int8 layers read: the float consumers keep full precision).
struct RowView {
  const float* data = nullptr;
  int64_t stride = 0;
  const uint8_t* q = nullptr;
  int64_t qstride = 0;
  U8Grid grid;

  static RowView Float(const float* data, int64_t stride) {
    RowView v;
    v.data = data;
    v.stride = stride;
    return v;
  }
  static RowView U8(const uint8_t* q, int64_t qstride, const U8Grid& grid) {
    RowView v;
    v.q = q;
    v.qstride = qstride;
    v.grid = grid;
    return v;
  }
  bool has_float() const { return data != nullptr; }
  bool has_u8() const { return q != nullptr; }
  // The view starting `rows` rows and `cols` columns further on (same representations).
  RowView Shifted(int64_t rows, int64_t cols) const {
    RowView v = *this;
    if (data) v.data = data + rows * stride + cols;
    if (q) v.q = q + rows * qstride + cols;
    return v;
  }
};

// An op without a kernel whose output is stored as u8 on `grid` because
// int8 layers read it (quant's integer pipeline).
struct U8Output {
  U8Grid grid;
};

// dst (num_sequences · rows(op) rows of op.input_dim, row stride `stride`) = the input rows of
// `op`, assembled from views[source] (u8 sources are dequantized). rows(op) counts the rows
// the op computes (OpPlan::NumComputed(): all but carried ones).
void Gather(const ChunkPlan& plan, int32_t op, int32_t num_sequences,
            const std::vector<RowView>& views, float* dst, int64_t stride);

// The transpose of Gather: for every term `row += coef · source row` of op's programs,
// derivs[source] row += coef · d_input row. d_input has num_sequences · rows(op) rows (row
// stride `stride`); sources whose derivs[source].data is null are skipped (no derivative
// wanted). Constants contribute nothing.
void ScatterAdd(const ChunkPlan& plan, int32_t op, int32_t num_sequences, const float* d_input,
                int64_t stride, const std::vector<Rows>& derivs);

// True when every part of the op's input is a plain row copy of an op with u8 rows on `grid`, so
// the input can be assembled as u8 bytes (GatherU8) without a round trip through float.
bool CanGatherU8(const OpPlan& plan, const std::vector<RowView>& views, const U8Grid& grid);
void GatherU8(const ChunkPlan& plan, int32_t op, int32_t num_sequences,
              const std::vector<RowView>& views, uint8_t* dst, int64_t stride);

// rows × cols float rows (row stride cols) of the values a view's u8 rows hold.
void DequantizeRows(const RowView& view, int64_t rows, int64_t cols, float* dst);

}  // namespace kaldiq::nnet
