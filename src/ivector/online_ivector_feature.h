// Online i-vector extraction exactly as Kaldi's OnlineIvectorFeature
// (online2/online-ivector-feature.cc), frame-incremental so that a streaming recognizer can
// drive it chunk by chunk.
//
// From the base features x (e.g. 40-dim hires MFCC, pitch excluded):
//   normalised path  OnlineCmvn(x) -> splice -> final.mat -> u_t  (UBM posteriors only)
//   plain path       x -> splice -> final.mat -> y_t               (i-vector statistics; the
//                    normalised u_t instead with --online-cmvn-iextractor)
// Spliced frame t needs base frame t + right-context, so NumFramesReady() lags the accepted
// frames by the right context until InputFinished().
//
// Statistics are accumulated in frame order; frame t gets the pruned UBM posteriors of u_t
// (num-gselect, min-post) times posterior-scale. When an i-vector is estimated:
//   use_most_recent_ivector = false (what ivector-extract-online2 forces): at every frame t
//     with t % ivector-period == 0; GetFrame(t) returns the estimate made at floor(t/P)*P, i.e.
//     from frames 0..floor(t/P)*P (row 0 from frame 0 alone).
//   use_most_recent_ivector = true (online2 decoding): GetFrame(t) accumulates up to t (up to
//     the newest ready frame with greedy_ivector_extractor) and re-estimates there.
// Each estimate is 15 conjugate-gradient iterations warm-started from the previous one, so
// results depend on the frames at which estimates were made, as in Kaldi. Outputs have the
// prior offset subtracted from dimension 0. Silence weighting (Kaldi's UpdateFrameWeights) is
// not implemented: every frame has weight 1.
//
// Adaptation across a speaker's utterances: GetAdaptationState() after an utterance gives the
// CMVN speaker stats (all its frames) and the i-vector stats (frames used so far), both scaled
// down to max-remembered-frames (Kaldi's LimitFrames); SetAdaptationState() on the next
// utterance's object, before any frame, continues from there.
//
// Memory stays bounded on long streams: only the frames that can still be read are kept
// (context for splicing, frames not yet in the statistics, the CMVN window), plus one i-vector
// per period when use_most_recent_ivector is false.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "core/matrix.h"
#include "feat/online_cmvn.h"
#include "ivector/extraction_config.h"
#include "ivector/frame_buffer.h"
#include "ivector/ivector_extractor.h"
#include "ivector/splice_transform.h"

namespace kaldiq::ivector {

// What carries over between the utterances of one speaker (Kaldi's
// OnlineIvectorExtractorAdaptationState). A default-constructed state (from the info) is a new
// speaker: global CMVN stats only and prior-only i-vector stats.
struct OnlineIvectorAdaptationState {
  feat::OnlineCmvnState cmvn_state;
  OnlineIvectorEstimationStats ivector_stats;

  explicit OnlineIvectorAdaptationState(const OnlineIvectorExtractionInfo& info);
  // Scales the CMVN speaker stats to at most max_remembered_frames frames and the i-vector
  // stats to at most max_remembered_frames * posterior_scale (Kaldi's float arithmetic).
  void LimitFrames(float max_remembered_frames, float posterior_scale);
};

class OnlineIvectorFeature {
 public:
  // Keeps a reference to info: it must outlive this object.
  explicit OnlineIvectorFeature(const OnlineIvectorExtractionInfo& info);

  // Before any frame was accepted (throws kInvalidArgument otherwise).
  void SetAdaptationState(const OnlineIvectorAdaptationState& state);
  void GetAdaptationState(OnlineIvectorAdaptationState* state) const;

  // Appends n base frames (row stride `stride` >= BaseDim(); only the first BaseDim() columns
  // are read). Throws kInvalidArgument after InputFinished().
  void AcceptFeatures(const float* frames, int64_t n, int64_t stride);
  // Matrix form: the columns must be BaseDim().
  void AcceptFeatures(const MatrixF& frames);
  void InputFinished();
  bool IsInputFinished() const { return finished_; }

  int32_t Dim() const { return info_.IvectorDim(); }
  int32_t BaseDim() const { return info_.BaseDim(); }
  // Frames t for which GetFrame(t) may be called.
  int64_t NumFramesReady() const { return num_ready_; }
  bool IsLastFrame(int64_t t) const { return finished_ && t + 1 == num_ready_; }

  // The i-vector for frame t (Dim() floats), t < NumFramesReady(). Not const: it accumulates
  // statistics up to the frame it needs. In the non-most-recent mode t may be any ready frame;
  // frames whose statistics were already added are answered from the per-period history.
  void GetFrame(int64_t t, float* ivector);

  // Diagnostics as Kaldi reports them (over the statistics' frames, adaptation included).
  float NumFrames() const;
  float UbmLogLikePerFrame() const;
  float ObjfImprPerFrame() const;

 private:
  void ComputeReadyFrames();
  void UpdateStatsUntilFrame(int64_t frame);
  void UpdateStatsForFrames(int64_t begin, int64_t end);

  const OnlineIvectorExtractionInfo& info_;
  std::unique_ptr<feat::OnlineCmvn> cmvn_;
  SpliceTransform lda_;             // plain path
  SpliceTransform lda_normalized_;  // normalised path (own scratch)
  FrameBuffer raw_, normalized_;    // base frames, before and after CMVN
  FrameBuffer stats_feats_;         // y_t: the frames that enter the statistics
  FrameBuffer loglikes_;            // UBM log-likelihoods of u_t
  std::vector<float> scratch_;      // u_t of one chunk
  int64_t num_base_frames_ = 0;
  int64_t num_ready_ = 0;
  bool finished_ = false;

  OnlineIvectorEstimationStats stats_;
  int64_t num_frames_stats_ = 0;
  double tot_ubm_loglike_ = 0.0;
  std::vector<double> current_ivector_;
  std::vector<float> history_;  // one i-vector per period (non-most-recent mode)
  std::vector<GaussPost> posts_scratch_;
};

}  // namespace kaldiq::ivector
