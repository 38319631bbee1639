// Per-chunk planning (a small version of nnet3's compiler for simple feed-forward graphs):
// which time indices each op computes, and how each op's input rows are assembled from the
// rows of earlier ops (the row programs that gather.h runs forward and transposes backward).
// Times are relative to the chunk (inference: its first output frame, as in Kaldi's
// DecodableNnetSimple shift_time; chain egs: the eg's own t), so plans are reused across
// chunks of equal shape and across the sequences of a minibatch. Planning only: no data moves
// here.
#pragma once

#include <cstdint>
#include <vector>

#include "nnet/graph.h"

namespace kaldiq::nnet {

// How one Append part of an op's input is assembled for every row (of one sequence).
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
  // The times of the op's rows, in row order: sorted and unique; empty = the op is not computed
  // in this chunk. In a looped plan (below) the carried rows come first and the computed rows
  // after them, each group sorted.
  std::vector<int32_t> times;
  // The programs of the computed rows (row r of a program is row num_carried + r of the op).
  std::vector<PartProgram> parts;
  // When >= 0 the op's input is rows [alias_row, alias_row + times.size()) of op alias_op
  // unchanged, so no gather is needed.
  int32_t alias_op = -1;
  int32_t alias_row = 0;
  // Looped evaluation (looped.h; one sequence): the first num_carried rows are not computed but
  // copied from rows carry_rows[0 .. num_carried) of this op's rows in the previous chunk
  // (computed with the plan this one follows). 0 in ordinary plans.
  int32_t num_carried = 0;
  std::vector<int32_t> carry_rows;

  int64_t NumComputed() const { return static_cast<int64_t>(times.size()) - num_carried; }
};

// What a chunk computes: every input op with the times it can supply, every requested output
// op with its times (strictly increasing).
struct PlanRequest {
  struct Input {
    int32_t op = -1;
    int32_t first_t = 0, last_t = -1;
  };
  struct Output {
    int32_t op = -1;
    std::vector<int32_t> times;
  };
  std::vector<Input> inputs;
  std::vector<Output> outputs;
};

struct ChunkPlan {
  std::vector<OpPlan> ops;       // one per graph op
  std::vector<int32_t> order;    // ops with work in this chunk, topological order
  std::vector<int32_t> inputs;   // the request's input ops, in request order
  std::vector<int32_t> outputs;  // the request's output ops, in request order
};

// Plans the request: every op computes exactly the times the requested outputs need (Kaldi's
// pruned index sets; e.g. a TDNN layer read at t−3, t, t+3 of every third t is computed at
// every third t only). Throws kaldiq::Error (kInvalidArgument) when a requested output time
// cannot be computed from the inputs, (kInternal) for a malformed request.
void BuildChunkPlan(const Graph& graph, const PlanRequest& request, ChunkPlan* plan);

// Kaldi's simple-nnet chunk: "output" rows at times 0, f, ..., (num_output_rows - 1) * f, the
// "input" rows available at times [first_input, last_input] and "ivector" at time 0.
void BuildChunkPlan(const Graph& graph, int32_t num_output_rows, int32_t subsampling,
                    int32_t first_input, int32_t last_input, ChunkPlan* plan);

// The times each op is needed at for the requested outputs, when every input op can supply
// every time (an unbounded, edge-padded stream: what looped evaluation sees); sorted. Throws
// kaldiq::Error (kInternal) for a malformed request.
std::vector<std::vector<int32_t>> NeededTimesUnbounded(
    const Graph& graph, const std::vector<PlanRequest::Output>& outputs);

// Completes a plan whose rows are laid out already: plan->ops[i].times (row order) and
// num_carried for every op (ops with no times are not computed), plan->inputs and
// plan->outputs. Builds the row programs of the computed rows (reading any row of the sources,
// carried or computed; inputs supply every time), the aliases and plan->order. Throws
// kaldiq::Error (kInternal) when a computed row reads a time its source does not hold.
void CompleteLaidOutPlan(const Graph& graph, ChunkPlan* plan);

// Kaldi's ComputeSimpleNnetContext for shift-invariant graphs: how many input frames left and
// right of an output frame the output depends on (optional IfDefined inputs excluded).
void ComputeContext(const Graph& graph, int32_t* left_context, int32_t* right_context);

}  // namespace kaldiq::nnet
