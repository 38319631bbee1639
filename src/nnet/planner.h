// Per-chunk planning (a small version of nnet3's compiler for simple feed-forward graphs):
// which time indices each op computes, and how each op's input rows are assembled from the
// rows of earlier ops. Times are relative to the chunk's first output frame, as in Kaldi's
// DecodableNnetSimple (shift_time), so plans are reused across chunks of equal shape.
#pragma once

#include <cstdint>
#include <vector>

#include "nnet/graph.h"
#include "nnet/linear_kernel.h"

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

// How one Append part of an op's input is assembled for every row.
struct PartProgram {
  int32_t col_offset = 0;
  int32_t dim = 0;
  // Fast path: row r is a plain copy of row src_rows[r] of op src_op.
  int32_t src_op = -1;
  std::vector<int32_t> src_rows;
  // General path (Sum, Scale, Const, Switch over several ops, undefined rows):
  // row r = constants[r] + sum over terms[row_begin[r] .. row_begin[r+1]) of coef * source row.
  struct Term {
    int32_t src_op;
    int32_t src_row;
    float coef;
  };
  std::vector<int32_t> row_begin;
  std::vector<Term> terms;
  std::vector<float> constants;
};

struct OpPlan {
  std::vector<int32_t> times;  // sorted, unique; empty = the op is not computed in this chunk
  std::vector<PartProgram> parts;
  // When >= 0 the op's input is rows [alias_row, alias_row + times.size()) of op alias_op
  // unchanged, so no gather is needed.
  int32_t alias_op = -1;
  int32_t alias_row = 0;
};

struct ChunkPlan {
  std::vector<OpPlan> ops;     // one per graph op
  std::vector<int32_t> order;  // ops with work in this chunk, topological order
};

// Plans a chunk whose output rows are at times 0, f, ..., (num_output_rows - 1) * f, with the
// "input" rows available at times [first_input, last_input] and "ivector" at time 0.
// Throws kaldiq::Error if the output cannot be computed from that input.
void BuildChunkPlan(const Graph& graph, int32_t num_output_rows, int32_t subsampling,
                    int32_t first_input, int32_t last_input, ChunkPlan* plan);

// Kaldi's ComputeSimpleNnetContext for shift-invariant graphs: how many input frames left and
// right of an output frame the output depends on (optional IfDefined inputs excluded).
void ComputeContext(const Graph& graph, int32_t* left_context, int32_t* right_context);

// Assembles `rows` input rows of width `dim` (row stride dim) from the views of earlier ops;
// sources without float rows are dequantized.
void Gather(const OpPlan& plan, const std::vector<RowView>& views, int64_t rows, int64_t dim,
            float* dst);

// True when every part of the op's input is a plain row copy of an op with u8 rows on `grid`, so
// the input can be assembled as u8 bytes (GatherU8) without a round trip through float.
bool CanGatherU8(const OpPlan& plan, const std::vector<RowView>& views, const U8Grid& grid);
void GatherU8(const OpPlan& plan, const std::vector<RowView>& views, int64_t rows, int64_t dim,
              uint8_t* dst);

// rows × cols float rows (row stride cols) of the values a view's u8 rows hold.
void DequantizeRows(const RowView& view, int64_t rows, int64_t cols, float* dst);

}  // namespace kaldiq::nnet
