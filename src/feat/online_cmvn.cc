#include "feat/online_cmvn.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "kaldi/option_table.h"
#include "util/error.h"

// Arithmetic mirrors Kaldi's types: statistics in double (features converted from float),
// smoothing in double, offsets/scales rounded to float before they touch the float features.
// Compiled without FMA contraction (top-level CMakeLists.txt).

namespace kaldiq::feat {

void OnlineCmvnOptions::Register(kaldi::OptionTable* t) {
  t->Register("cmn-window", &cmn_window,
              "Number of frames of sliding context for cepstral mean normalization.");
  t->Register("global-frames", &global_frames,
              "Number of frames of global-average cepstral mean normalization stats to use for "
              "first utterance of a speaker");
  t->Register("speaker-frames", &speaker_frames,
              "Number of frames of previous utterance(s) from this speaker to use in cepstral "
              "mean normalization");
  t->Register("norm-vars", &normalize_variance,
              "If true, do cepstral variance normalization in addition to cepstral mean "
              "normalization ");
  t->Register("norm-means", &normalize_mean,
              "If true, do mean normalization (note: you cannot normalize the variance but not "
              "the mean)");
  t->Register("skip-dims", &skip_dims,
              "Dimensions to skip normalization of (colon-separated list of integers)");
}

void OnlineCmvnOptions::Check() const {
  // Kaldi documents speaker_frames <= cmn_window and global_frames <= speaker_frames but
  // apply-cmvn-online and online2 do not enforce it, and the smoothing is well defined without
  // it: so neither is it enforced here.
  KQ_CHECK(cmn_window >= 1, kInvalidArgument) << "--cmn-window must be >= 1, got " << cmn_window;
  KQ_CHECK(normalize_mean || !normalize_variance, kInvalidArgument)
      << "you cannot normalize the variance but not the mean (--norm-vars needs --norm-means)";
  ParseSkipDims(skip_dims);
}

OnlineCmvnOptions OnlineCmvnOptions::FromConfigFile(const std::string& path) {
  OnlineCmvnOptions opts;
  kaldi::OptionTable table;
  opts.Register(&table);
  table.ReadConfigFile(path);
  return opts;
}

std::vector<int32_t> ParseSkipDims(const std::string& s) {
  std::vector<int32_t> dims;
  if (s.empty()) return dims;
  size_t start = 0;
  while (true) {
    size_t colon = s.find(':', start);
    std::string field = s.substr(start, colon == std::string::npos ? std::string::npos
                                                                    : colon - start);
    char* end = nullptr;
    long v = field.empty() ? -1 : std::strtol(field.c_str(), &end, 10);
    KQ_CHECK(!field.empty() && end != nullptr && *end == '\0' && v >= 0 && v <= INT32_MAX,
             kInvalidArgument)
        << "bad --skip-dims option '" << s
        << "' (should be a colon-separated list of non-negative integers)";
    dims.push_back(static_cast<int32_t>(v));
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  return dims;
}

OnlineCmvn::OnlineCmvn(const OnlineCmvnOptions& opts, const OnlineCmvnState& state)
    : opts_(opts), orig_state_(state) {
  opts_.Check();
  skip_dims_ = ParseSkipDims(opts_.skip_dims);
  const MatrixD& g = state.global_cmvn_stats;
  KQ_CHECK(g.rows() == 2 && g.cols() >= 2, kInvalidArgument)
      << "global CMVN stats must be 2 x (dim+1), got " << g.rows() << " x " << g.cols();
  dim_ = static_cast<int32_t>(g.cols() - 1);
  KQ_CHECK(g(0, dim_) > 0.0, kInvalidArgument)
      << "global CMVN stats have a count of " << g(0, dim_) << " (must be positive)";
  const MatrixD& s = state.speaker_cmvn_stats;
  KQ_CHECK(s.rows() == 0 || (s.rows() == 2 && s.cols() == dim_ + 1), kInvalidArgument)
      << "speaker CMVN stats are " << s.rows() << " x " << s.cols() << ", expected 2 x "
      << dim_ + 1;
  for (int32_t d : skip_dims_) {
    KQ_CHECK(d < dim_, kInvalidArgument)
        << "--skip-dims has dimension " << d << " but the features have dimension " << dim_;
  }
  const size_t n = 2 * static_cast<size_t>(dim_ + 1);
  window_.assign(n, 0.0);
  temp_.assign(n, 0.0);
  if (s.rows() == 2) {
    speaker_total_.assign(s.data(), s.data() + n);
  } else {
    speaker_total_.assign(n, 0.0);
  }
}

void OnlineCmvn::NormalizeFrame(const float* x, float* out) {
  const int64_t D = dim_, W = opts_.cmn_window, t = num_frames_;
  const bool vars = opts_.normalize_variance;
  double* w0 = window_.data();
  double* w1 = w0 + (D + 1);

  // The window's running sums (Kaldi's ComputeStatsForFrame): add x_t, then remove x_{t-W},
  // whose ring slot x_t takes over.
  const size_t slot = static_cast<size_t>((t % W) * D);
  if (t < W) ring_.resize(slot + D);
  float* stored = ring_.data() + slot;
  for (int64_t d = 0; d < D; ++d) {
    double v = x[d];
    w0[d] += v;
    if (vars) w1[d] += v * v;
  }
  w0[D] += 1.0;
  if (t >= W) {
    for (int64_t d = 0; d < D; ++d) {
      double v = stored[d];
      w0[d] += -1.0 * v;
      if (vars) w1[d] += -1.0 * v * v;
    }
    w0[D] -= 1.0;
  }
  // Speaker stats for the next utterance (Kaldi's GetState, both rows always).
  double* s0 = speaker_total_.data();
  double* s1 = s0 + (D + 1);
  s0[D] += 1.0;
  for (int64_t d = 0; d < D; ++d) {
    double v = x[d];
    s0[d] += v;
    s1[d] += v * v;
  }
  std::copy(x, x + D, stored);  // after reading x_{t-W} from the slot; x may alias out

  // Smoothing (Kaldi's SmoothOnlineCmvnStats). Without variance normalisation only row 0
  // matters (Kaldi smooths row 1 too on one path; it is never read).
  const int rows = vars ? 2 : 1;
  const size_t used = static_cast<size_t>(rows) * (D + 1);
  std::copy(window_.begin(), window_.begin() + used, temp_.begin());
  double* st = temp_.data();
  const double window = static_cast<double>(opts_.cmn_window);
  auto add_scaled = [&](const MatrixD& m, double alpha) {
    for (int r = 0; r < rows; ++r) {
      const double* src = m.Row(r);
      double* dst = st + r * (D + 1);
      for (int64_t c = 0; c <= D; ++c) dst[c] += alpha * src[c];
    }
  };
  double cur = st[D];
  if (cur < window) {
    const MatrixD& spk = orig_state_.speaker_cmvn_stats;
    if (spk.rows() != 0) {
      double from_speaker = window - cur, speaker_count = spk(0, D);
      if (from_speaker > opts_.speaker_frames) from_speaker = opts_.speaker_frames;
      if (from_speaker > speaker_count) from_speaker = speaker_count;
      if (from_speaker > 0.0) add_scaled(spk, from_speaker / speaker_count);
      cur = st[D];
    }
    if (cur < window) {
      const MatrixD& glob = orig_state_.global_cmvn_stats;
      double from_global = window - cur, global_count = glob(0, D);
      if (from_global > opts_.global_frames) from_global = opts_.global_frames;
      if (from_global > 0.0) add_scaled(glob, from_global / global_count);
    }
  }
  const double count = st[D];
  for (int32_t d : skip_dims_) {  // Kaldi's FakeStatsForSomeDims: mean 0, variance 1
    st[d] = 0.0;
    if (vars) st[(D + 1) + d] = count;
  }

  if (!opts_.normalize_mean) {
    if (out != x) std::copy(x, x + D, out);
    return;
  }
  KQ_CHECK(count >= 1.0, kInvalidArgument)
      << "insufficient stats for cepstral mean and variance normalization: count = " << count;
  if (!vars) {
    // Kaldi's ApplyCmvn: offset.AddVec(-1.0 / count, mean) with a float alpha.
    const float alpha = static_cast<float>(-1.0 / count);
    for (int64_t d = 0; d < D; ++d) {
      float offset = static_cast<float>(0.0f + alpha * st[d]);
      out[d] = x[d] + offset;
    }
    return;
  }
  for (int64_t d = 0; d < D; ++d) {
    double mean = st[d] / count;
    double var = st[(D + 1) + d] / count - mean * mean;
    const double floor = 1.0e-20;
    if (var < floor) {
      std::fprintf(stderr, "kaldiq: warning: flooring cepstral variance from %g to %g\n", var,
                   floor);
      var = floor;
    }
    double scale = 1.0 / std::sqrt(var);
    KQ_CHECK(scale == scale && 1 / scale != 0.0, kInvalidArgument)
        << "NaN or infinity in cepstral mean/variance computation";
    const float fscale = static_cast<float>(scale);
    const float foffset = static_cast<float>(-(mean * scale));
    float v = x[d] * fscale;
    out[d] = v + foffset;
  }
}

void OnlineCmvn::AcceptFeatures(const float* in, int64_t num_frames, int64_t in_stride,
                                float* out, int64_t out_stride) {
  for (int64_t r = 0; r < num_frames; ++r) {
    NormalizeFrame(in + r * in_stride, out + r * out_stride);
    ++num_frames_;
  }
}

void OnlineCmvn::AcceptFeatures(const MatrixF& in, MatrixF* out) {
  KQ_CHECK(in.cols() == dim_ || in.rows() == 0, kInvalidArgument)
      << "features have dimension " << in.cols() << ", the CMVN stats " << dim_;
  if (out != &in) out->Resize(in.rows(), in.cols());
  AcceptFeatures(in.data(), in.rows(), in.cols(), out->data(), out->cols());
}

OnlineCmvnState OnlineCmvn::GetState() const {
  OnlineCmvnState s = orig_state_;
  s.speaker_cmvn_stats.Resize(2, dim_ + 1);
  std::copy(speaker_total_.begin(), speaker_total_.end(), s.speaker_cmvn_stats.data());
  return s;
}

void ApplyOnlineCmvn(const OnlineCmvnOptions& opts, OnlineCmvnState* state, MatrixF* feats) {
  OnlineCmvn cmvn(opts, *state);
  cmvn.AcceptFeatures(*feats, feats);
  *state = cmvn.GetState();
}

}  // namespace kaldiq::feat
