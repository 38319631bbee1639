// Looped evaluation of a network over a stream: Kaldi's DecodableNnetSimpleLooped and
// DecodableNnetLoopedOnline (nnet3/decodable-simple-looped.h, decodable-online-looped.h) with the
// idea of its CompileLooped: every chunk reuses the rows the previous chunks computed instead of
// recomputing the left context.
//
// Chunks (Kaldi's): F = frames per chunk, the smallest value >= the request that is a multiple of
// the frame-subsampling factor sf and of the network's modulus; Lc = the model's left context +
// extra_left_context_initial, Rc = its right context. Chunk k yields the output frames
// [kF, (k+1)F) (F/sf rows, at input-frame times kF, kF + sf, ...). Kaldi feeds chunk 0 the input
// frames [-Lc, F + Rc) and chunk k >= 1 the frames [kF + Rc, (k+1)F + Rc); frames before 0 are
// frame 0, frames past the end (once the input is finished) the last frame. Here a chunk reads
// the input frames its new rows need, a subset of what Kaldi has fed by then (the interval
// NewInputRange(k), never past Kaldi's (k+1)F + Rc), so a chunk can run exactly when Kaldi's
// would. I-vectors: every row computed in chunk k sees the one i-vector given with chunk k
// (Kaldi rewrites ReplaceIndex(ivector, t, 0) into Round(ivector, F) and feeds that vector for
// every index; rows of earlier chunks keep theirs).
//
// Planning (once per computer): the times each op needs for one chunk's outputs (Kaldi's pruned
// index sets) are a fixed pattern N shifted by kF. An op's rows are kept from chunk to chunk
// while a later chunk needs them (a ring buffer of its left context, in effect); each chunk
// computes only needed rows it does not hold. The first plans differ (nothing held yet); after
// a few chunks the layout repeats and one steady-state plan serves every further chunk.
//
// Equality (design note 7.4): for a feed-forward network in test mode, looped outputs equal a
// whole-utterance Executor run with the same edge padding and the same i-vector for every frame
// (none, one per utterance, or a constant online matrix). Bit-identical with kernels whose
// per-row arithmetic does not depend on how many rows a call computes (the reference kernels);
// the fast fp32 GEMMs (oneDNN, OpenBLAS) may round a row differently for another row count.
//
// Thread-compatible: one LoopedComputer per stream; many may share one ExecutableNet.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "core/matrix.h"
#include "nnet/chunk_computer.h"
#include "nnet/executor.h"
#include "nnet/planner.h"

namespace kaldiq::nnet {

// Kaldi's NnetSimpleLoopedComputationOptions (the network part; the acoustic scale belongs to
// the decodable).
struct LoopedOptions {
  int32_t frames_per_chunk = 24;
  int32_t extra_left_context_initial = 0;
  int32_t frame_subsampling_factor = 1;
};

// The plans of a looped computation: plans[0] for chunk 0, plans[k] for chunk k while the
// layout is settling, plans.back() for every later chunk (its carried rows refer to its own
// layout).
struct LoopedPlans {
  int32_t frames_per_chunk = 0;   // F
  int32_t subsampling = 1;        // sf
  int32_t left_context = 0;       // Lc (model + extra_left_context_initial)
  int32_t right_context = 0;      // Rc
  std::vector<ChunkPlan> plans;
  // Per plan: the input op's computed times (chunk-relative) span [first, last] ; empty
  // (first > last) when the plan reads no new input frames.
  std::vector<std::pair<int32_t, int32_t>> new_input;
  const ChunkPlan& ForChunk(int64_t k) const {
    return plans[k < static_cast<int64_t>(plans.size()) ? k : plans.size() - 1];
  }
};

// Kaldi's Nnet::Modulus on the lowered graph: the least common multiple of every Round period
// and Switch size in the descriptors (1 for plain TDNNs).
int32_t GraphModulus(const Graph& graph);

// Kaldi's GetChunkSize: the smallest n >= advised that is a multiple of the modulus and sf.
int32_t LoopedChunkSize(const Graph& graph, int32_t frame_subsampling_factor, int32_t advised);

// Builds the plans. Throws kaldiq::Error: kInvalidArgument for bad options, kUnsupported for a
// graph that cannot be evaluated in a loop (an op that is not row-wise in test mode, an output
// that needs no input, or a layout that does not settle: a recurrent network).
LoopedPlans BuildLoopedPlans(const ExecutableNet& net, const LoopedOptions& opts);

class LoopedComputer {
 public:
  // The net must outlive the computer. Throws as BuildLoopedPlans; kInvalidArgument when the
  // net's output is not "output" fed (directly or not) by "input".
  LoopedComputer(const ExecutableNet& net, const LoopedOptions& opts);
  ~LoopedComputer();
  LoopedComputer(const LoopedComputer&) = delete;
  LoopedComputer& operator=(const LoopedComputer&) = delete;

  int32_t FramesPerChunk() const { return plans_.frames_per_chunk; }
  int32_t OutputRowsPerChunk() const { return plans_.frames_per_chunk / plans_.subsampling; }
  int32_t LeftContext() const { return plans_.left_context; }
  int32_t RightContext() const { return plans_.right_context; }
  int32_t InputDim() const { return input_dim_; }
  int32_t IvectorDim() const { return ivector_dim_; }
  int32_t OutputDim() const;
  int64_t NumChunksComputed() const { return chunks_done_; }

  // The input frames (absolute, may be < 0 for chunk 0) that ComputeChunk reads for chunk k:
  // [*begin, *end); empty when begin == end.
  void NewInputRange(int64_t k, int64_t* begin, int64_t* end) const;

  // Computes the next chunk (k = NumChunksComputed()). feats: the rows of frames
  // NewInputRange(k) in order (row stride `stride` floats, InputDim() columns; the caller pads
  // the edges as Kaldi does); ivector: IvectorDim() floats, or null when the network has no
  // i-vector input. Returns OutputRowsPerChunk() rows of OutputDim() (valid until the next
  // call). Throws kaldiq::Error (kInvalidArgument) for a missing or unexpected i-vector.
  ConstRows ComputeChunk(const float* feats, int64_t stride, const float* ivector);

  // Starts a new stream (the plans are kept).
  void Reset();

 private:
  const ExecutableNet& net_;
  LoopedPlans plans_;
  ChunkComputer computer_;
  int32_t feature_input_ = -1, ivector_input_ = -1;
  int32_t input_dim_ = 0, ivector_dim_ = 0;
  int64_t chunks_done_ = 0;
  std::vector<InputRows> inputs_;
};

}  // namespace kaldiq::nnet
