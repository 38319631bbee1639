// Executes a lowered graph on one utterance exactly as Kaldi's nnet3-compute does
// (DecodableNnetSimple): output frames are computed in chunks of frames_per_chunk (rounded up
// to a multiple of frame_subsampling_factor), each chunk sees the features of
// [first output frame - left context - extra left, last output frame + right context + extra right]
// with frames outside the utterance replaced by the first/last frame, and each chunk uses one
// online i-vector row (the one current at the middle of the chunk). Only the time indices that
// the requested output rows need are computed in every op. This layer does Kaldi's utterance
// logic (chunking, edge padding, i-vector choice, priors); each chunk runs through a
// ChunkComputer (chunk_computer.h).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/matrix.h"
#include "core/utterance_input.h"
#include "kernels/kernel_selection.h"
#include "nnet/chunk_computer.h"
#include "nnet/graph.h"
#include "nnet/linear_kernel.h"
#include "nnet/planner.h"

namespace kaldiq::nnet {

// Mirrors nnet3-compute's options (same names and defaults).
struct ComputeOptions {
  int32_t frames_per_chunk = 50;
  int32_t extra_left_context = 0;
  int32_t extra_right_context = 0;
  int32_t extra_left_context_initial = -1;  // -1: use extra_left_context
  int32_t extra_right_context_final = -1;   // -1: use extra_right_context
  int32_t frame_subsampling_factor = 1;
  int32_t online_ivector_period = 0;
  bool apply_exp = false;   // exp() of the output (after prior subtraction)
  bool use_priors = false;  // subtract log(priors) of the model (ExecutableNet::priors)
};

// A graph ready to run: kernels per op and the network's context.
struct ExecutableNet {
  Graph graph;
  // kernels[i] is set for every kAffine op i (null otherwise). Replaceable (e.g. int8 kernels).
  std::vector<std::shared_ptr<const LinearKernel>> kernels;
  // Left/right context of "output" w.r.t. "input" (Kaldi's ComputeSimpleNnetContext).
  int32_t left_context = 0;
  int32_t right_context = 0;
  // Priors as stored in final.mdl (probabilities; empty when absent). Used with use_priors.
  std::vector<float> priors;
  // Empty, or one per op: ops without a kernel whose output is quantized to u8 because int8
  // layers read it (set by the int8 model loader; kernels announce theirs via OutputGrid()).
  // Ignored for ops whose rows are aliases of another op's.
  std::vector<std::optional<U8Output>> u8_outputs;
};

// Which kernels (--kernels=): KernelChoice::kFast (auto), kReference (scalar oracles), or any
// selection by name (kernels/kernel_selection.h).
using KernelChoice = kernels::KernelSelection;
// Supplies the kernel of affine op `index`, or null for the default fp32 kernel.
using KernelFactory =
    std::function<std::shared_ptr<const LinearKernel>(int32_t index, const Op& op)>;
// Builds kernels (from `factory`, else fp32 fast or reference) and computes the context. With a
// factory, affine ops whose kernel it supplies need no weight matrix. Throws on invalid graphs.
// release_weights: each affine op's weight matrix is freed as soon as its fp32 kernel has
// packed it (the kernel then holds the only copy; net.graph keeps shapes, biases and the rest),
// so loading never holds two copies of the weights; for callers that only run the net.
ExecutableNet Prepare(Graph graph, KernelChoice kernels = KernelChoice::kFast,
                      const KernelFactory& factory = nullptr, bool release_weights = false);

// Computes one utterance at a time. Thread-compatible: use one Executor per thread (they may
// share one ExecutableNet, which must outlive them). Buffers and per-chunk plans are reused.

class Executor {
 public:
  Executor(const ExecutableNet& net, const ComputeOptions& opts);
  ~Executor();
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  void SetObserver(ActivationObserver observer) { chunks_.SetObserver(std::move(observer)); }

  // Returns ceil(frames / subsampling) × output dim. Throws kaldiq::Error (kInvalidArgument) on
  // dimension mismatch, missing/unexpected i-vectors, NaN/Inf features or an empty input.
  MatrixF Compute(const UtteranceInput& input);
  // The same with borrowed parts: feats (frames × input dim), ivector (one for the utterance, or
  // null), online_ivectors (one row per online_ivector_period frames, or null).
  MatrixF Compute(const MatrixF& feats, const std::vector<float>* ivector,
                  const MatrixF* online_ivectors);

 private:
  const ChunkPlan& GetPlan(int32_t num_subsampled_frames, int32_t first_input_rel,
                           int32_t last_input_rel);

  const ExecutableNet& net_;
  ComputeOptions opts_;
  ChunkComputer chunks_;
  std::map<std::vector<int32_t>, std::unique_ptr<ChunkPlan>> plans_;
  std::vector<float> log_priors_;
  int32_t feature_input_ = -1;  // the op "input" (-1: none)
  int32_t ivector_input_ = -1;  // the op "ivector" (-1: none)
  std::vector<InputRows> chunk_inputs_;
};

}  // namespace kaldiq::nnet
