// Framing and per-frame signal processing exactly as Kaldi does it (feat/feature-window.{h,cc}:
// NumFrames, FirstSampleOfFrame, FeatureWindowFunction, ExtractWindow, ProcessWindow).
//
// With N = WindowSize(), S = WindowShift() and n samples:
//   snip_edges = true:  frame f covers [f*S, f*S + N); NumFrames = 0 if n < N, else
//                       1 + (n - N) / S.
//   snip_edges = false: frame f starts at f*S + S/2 - N/2 (negative for the first frames);
//                       NumFrames = (n + S/2) / S once the input is complete (flush); before
//                       that, frames whose end would pass n are withheld. Samples outside
//                       [0, n) are mirrored: -1 -> 0, -2 -> 1, n -> n-1, n+1 -> n-2, repeated.
// Per frame, in this order (ProcessWindow): dither (if != 0), DC removal (subtract the mean of
// the N samples), raw log energy ln(max(sum x^2, FLT_EPSILON)) if asked, pre-emphasis
// x_i -= c x_{i-1} for i = N-1..1 and x_0 -= c x_0, then the window. The FFT buffer holds
// PaddedWindowSize() floats; samples N.. are zero.
//
// Dither: Kaldi draws from the process-global rand(), so its dithered features are not
// reproducible. kaldiq draws each frame's noise from a generator seeded by (stream seed, frame
// index): reproducible, independent of how the audio was chunked, and different in every frame
// (overlapping samples get different noise in different frames, as in Kaldi). Gaussian by
// Box-Muller, like Kaldi's RandGauss. Parity with Kaldi therefore needs --dither=0.
#pragma once

#include <cstdint>
#include <vector>

#include "feat/feature_options.h"

namespace kaldiq::feat {

// Kaldi's FirstSampleOfFrame() and NumFrames(); see the contract above.
int64_t FirstSampleOfFrame(int64_t frame, const FrameExtractionOptions& opts);
int64_t NumFrames(int64_t num_samples, const FrameExtractionOptions& opts, bool flush = true);

// The window, N floats (computed in double and stored as float, as Kaldi does):
// a = 2 pi / (N - 1); hanning 0.5 - 0.5 cos(a i); hamming 0.54 - 0.46 cos(a i);
// povey (0.5 - 0.5 cos(a i))^0.85; rectangular 1; sine sin(a i / 2);
// blackman b - 0.5 cos(a i) + (0.5 - b) cos(2 a i).
std::vector<float> MakeWindow(const FrameExtractionOptions& opts);

// Kaldi's ProcessWindow() on the first WindowSize() floats of `frame` (see above). `dither_seed`
// selects the frame's noise (ignored when opts.dither == 0). When log_energy_pre_window is not
// null it receives the raw log energy.
void ProcessWindow(const FrameExtractionOptions& opts, const std::vector<float>& window,
                   uint64_t dither_seed, float* frame, float* log_energy_pre_window);

// The seed of frame `frame` of a stream seeded with `stream_seed` (a SplitMix64 mix).
uint64_t FrameDitherSeed(uint64_t stream_seed, int64_t frame);

// Reflects a sample index into [0, n) as ExtractWindow does (n >= 1).
int64_t MirrorSampleIndex(int64_t i, int64_t n);

// Kaldi's ExtractWindow(): copies frame `frame` out of the signal and processes it. `wave`
// holds samples [sample_offset, sample_offset + wave_dim) of a signal whose total length so far
// is sample_offset + wave_dim (mirroring at the end is around that length). `out` receives
// PaddedWindowSize() floats. Throws kInternal if the frame needs samples before sample_offset
// (the caller dropped too much).
void ExtractWindow(int64_t sample_offset, const float* wave, int64_t wave_dim, int64_t frame,
                   const FrameExtractionOptions& opts, const std::vector<float>& window,
                   uint64_t stream_seed, float* out, float* log_energy_pre_window);

}  // namespace kaldiq::feat
