// Online cepstral mean (and variance) normalisation exactly as Kaldi's OnlineCmvn
// (feat/online-feature.cc), used by `apply-cmvn-online`, by the UBM-posterior path of online
// i-vector extraction, and by online2's network input when online.conf has --cmvn-config.
//
// Frame t is normalised with the statistics of the window of frames max(0, t-cmn_window+1)..t
// (the current frame included), accumulated in double as a running sum in Kaldi's order (add
// x_t, then subtract x_{t-cmn_window}). While the window holds fewer than cmn_window frames the
// stats are topped up (Kaldi's SmoothOnlineCmvnStats) with up to speaker_frames frames' worth
// of this speaker's earlier utterances (scaled speaker stats), then with up to global_frames
// frames' worth of the global stats. Dimensions in --skip-dims are passed through unchanged.
// Mean only: x - float(float(-1/n) * sum); with --norm-vars: (x - mean) / sqrt(max(var,
// 1e-20)) with Kaldi's float/double mixing (kaldi::ApplyCmvn, bit for bit).
//
// The class is push-based: frames arrive in order (any chunking) and each comes out normalised
// at once. Kaldi's pull-based GetFrame(t) computes the same value for every t because its cached
// stats are exact copies of this running sum. State across a speaker's utterances: start each
// utterance from the OnlineCmvnState returned by the previous one's GetState() (speaker stats =
// all frames so far, never capped here), or from the global stats alone for a new speaker.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/matrix.h"

namespace kaldiq::kaldi {
class OptionTable;
}

namespace kaldiq::feat {

// Kaldi's OnlineCmvnOptions (the contents of online_cmvn.conf). Kaldi's internal cache
// modulus and ring-buffer size are not options and do not change results; they do not exist
// here.
struct OnlineCmvnOptions {
  int32_t cmn_window = 600;
  int32_t speaker_frames = 600;  // Kaldi: "must be <= cmn_window" (not enforced by Kaldi)
  int32_t global_frames = 200;   // Kaldi: "must be <= speaker_frames" (likewise)
  bool normalize_mean = true;
  bool normalize_variance = false;
  std::string skip_dims;  // colon-separated dimensions left untouched, e.g. "13:14:15"

  // --cmn-window --speaker-frames --global-frames --norm-vars --norm-means --skip-dims.
  void Register(kaldi::OptionTable* table);
  // Throws kaldiq::Error (kInvalidArgument) for --cmn-window < 1, --norm-vars without
  // --norm-means, or a malformed --skip-dims.
  void Check() const;
  // Kaldi's ReadConfigFromFile(path, &opts): only these options may appear in the file.
  static OnlineCmvnOptions FromConfigFile(const std::string& path);
};

// Parses --skip-dims ("" -> none); throws kInvalidArgument for anything but non-negative
// integers separated by ':'.
std::vector<int32_t> ParseSkipDims(const std::string& skip_dims);

// What carries over between the utterances of one speaker (Kaldi's OnlineCmvnState, without
// the frozen state of OnlineCmvn::Freeze, which kaldiq does not offer).
struct OnlineCmvnState {
  MatrixD speaker_cmvn_stats;  // empty (no earlier utterance) or 2 x (dim+1)
  MatrixD global_cmvn_stats;   // 2 x (dim+1), count in (0, dim) > 0; mandatory

  OnlineCmvnState() = default;
  explicit OnlineCmvnState(const MatrixD& global) : global_cmvn_stats(global) {}
};

class OnlineCmvn {
 public:
  // Throws kInvalidArgument when the options are inconsistent, the global stats are not 2 x
  // (dim+1) with a positive count, or the speaker stats do not match them.
  OnlineCmvn(const OnlineCmvnOptions& opts, const OnlineCmvnState& state);

  int32_t Dim() const { return dim_; }
  int64_t NumFrames() const { return num_frames_; }

  // Normalises the next num_frames frames: row r of `in` (stride in_stride floats) is frame
  // NumFrames() + r; its normalised value goes to row r of `out` (may equal `in`).
  void AcceptFeatures(const float* in, int64_t num_frames, int64_t in_stride, float* out,
                      int64_t out_stride);
  // Matrix form; out is resized to in's shape. Throws kInvalidArgument on a dimension mismatch.
  void AcceptFeatures(const MatrixF& in, MatrixF* out);

  // The state for this speaker's next utterance: the original state with every frame accepted
  // so far added to the speaker stats (Kaldi's GetState(NumFramesReady() - 1)).
  OnlineCmvnState GetState() const;

 private:
  void NormalizeFrame(const float* x, float* out);

  OnlineCmvnOptions opts_;
  std::vector<int32_t> skip_dims_;
  OnlineCmvnState orig_state_;
  int32_t dim_ = 0;
  int64_t num_frames_ = 0;
  std::vector<double> window_;         // 2 x (dim+1): running window sums (row 1 only with vars)
  std::vector<float> ring_;            // the last min(t, cmn_window) raw frames, slot t % window
  std::vector<double> speaker_total_;  // 2 x (dim+1): orig speaker stats + all frames so far
  std::vector<double> temp_;           // 2 x (dim+1) scratch: smoothed stats of one frame
};

// Kaldi's apply-cmvn-online for one utterance: normalises `feats` in place starting from *state
// and replaces *state by the state for the speaker's next utterance.
void ApplyOnlineCmvn(const OnlineCmvnOptions& opts, OnlineCmvnState* state, MatrixF* feats);

}  // namespace kaldiq::feat
