#include "feat/framing.h"

#include <algorithm>
#include <cfloat>
#include <cmath>

#include "util/error.h"

namespace kaldiq::feat {

int64_t FirstSampleOfFrame(int64_t frame, const FrameExtractionOptions& opts) {
  const int64_t shift = opts.WindowShift();
  if (opts.snip_edges) return frame * shift;
  return frame * shift + shift / 2 - opts.WindowSize() / 2;
}

int64_t NumFrames(int64_t num_samples, const FrameExtractionOptions& opts, bool flush) {
  const int64_t shift = opts.WindowShift(), length = opts.WindowSize();
  if (opts.snip_edges) return num_samples < length ? 0 : 1 + (num_samples - length) / shift;
  int64_t frames = (num_samples + shift / 2) / shift;
  if (flush) return frames;
  // Not flushed: withhold frames that would extend past the end of the signal.
  int64_t end_of_last = FirstSampleOfFrame(frames - 1, opts) + length;
  while (frames > 0 && end_of_last > num_samples) {
    --frames;
    end_of_last -= shift;
  }
  return frames;
}

std::vector<float> MakeWindow(const FrameExtractionOptions& opts) {
  const int32_t n = opts.WindowSize();
  std::vector<float> w(static_cast<size_t>(std::max(n, 0)));
  const double a = 2.0 * M_PI / (n - 1);
  for (int32_t i = 0; i < n; ++i) {
    const double x = static_cast<double>(i);
    double v;
    if (opts.window_type == "hanning") {
      v = 0.5 - 0.5 * std::cos(a * x);
    } else if (opts.window_type == "sine") {
      v = std::sin(0.5 * a * x);
    } else if (opts.window_type == "hamming") {
      v = 0.54 - 0.46 * std::cos(a * x);
    } else if (opts.window_type == "povey") {  // like hamming but goes to zero at the edges
      v = std::pow(0.5 - 0.5 * std::cos(a * x), 0.85);
    } else if (opts.window_type == "rectangular") {
      v = 1.0;
    } else if (opts.window_type == "blackman") {
      v = opts.blackman_coeff - 0.5 * std::cos(a * x) +
          (0.5 - opts.blackman_coeff) * std::cos(2 * a * x);
    } else {
      KQ_THROW(kInvalidArgument) << "Invalid window type " << opts.window_type;
    }
    w[static_cast<size_t>(i)] = static_cast<float>(v);
  }
  return w;
}

namespace {

uint64_t SplitMix64(uint64_t* state) {
  uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// Uniform in the open interval (0, 1).
double Uniform(uint64_t* state) {
  return (static_cast<double>(SplitMix64(state) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

}  // namespace

uint64_t FrameDitherSeed(uint64_t stream_seed, int64_t frame) {
  uint64_t s = stream_seed ^ (static_cast<uint64_t>(frame) * 0xD1B54A32D192ED03ull);
  return SplitMix64(&s);
}

int64_t MirrorSampleIndex(int64_t i, int64_t n) {
  while (i < 0 || i >= n) i = i < 0 ? -i - 1 : 2 * n - 1 - i;
  return i;
}

void ProcessWindow(const FrameExtractionOptions& opts, const std::vector<float>& window,
                   uint64_t dither_seed, float* frame, float* log_energy_pre_window) {
  const int32_t n = opts.WindowSize();
  if (opts.dither != 0.0f) {
    uint64_t state = dither_seed;
    for (int32_t i = 0; i < n; ++i) {
      // Box-Muller, as Kaldi's RandGauss (float).
      float g = std::sqrt(-2.0f * std::log(static_cast<float>(Uniform(&state)))) *
                std::cos(static_cast<float>(2.0 * M_PI * Uniform(&state)));
      frame[i] += g * opts.dither;
    }
  }
  if (opts.remove_dc_offset) {
    double sum = 0;
    for (int32_t i = 0; i < n; ++i) sum += frame[i];
    const float mean = static_cast<float>(sum) / static_cast<float>(n);
    for (int32_t i = 0; i < n; ++i) frame[i] -= mean;
  }
  if (log_energy_pre_window != nullptr) {
    double energy = 0;
    for (int32_t i = 0; i < n; ++i) energy += static_cast<double>(frame[i]) * frame[i];
    *log_energy_pre_window = std::log(std::max(static_cast<float>(energy), FLT_EPSILON));
  }
  const float c = opts.preemph_coeff;
  if (c != 0.0f) {
    for (int32_t i = n - 1; i > 0; --i) frame[i] -= c * frame[i - 1];
    frame[0] -= c * frame[0];
  }
  for (int32_t i = 0; i < n; ++i) frame[i] *= window[static_cast<size_t>(i)];
}

void ExtractWindow(int64_t sample_offset, const float* wave, int64_t wave_dim, int64_t frame,
                   const FrameExtractionOptions& opts, const std::vector<float>& window,
                   uint64_t stream_seed, float* out, float* log_energy_pre_window) {
  const int32_t length = opts.WindowSize(), padded = opts.PaddedWindowSize();
  const int64_t total = sample_offset + wave_dim;
  KQ_CHECK(wave_dim > 0, kInternal) << "ExtractWindow on an empty signal";
  const int64_t start = FirstSampleOfFrame(frame, opts);
  if (start >= sample_offset && start + length <= total) {
    std::copy(wave + (start - sample_offset), wave + (start - sample_offset + length), out);
  } else {
    // Edge frames (snip_edges = false): mirror around the ends of the signal.
    for (int32_t s = 0; s < length; ++s) {
      int64_t i = MirrorSampleIndex(start + s, total) - sample_offset;
      KQ_CHECK(i >= 0, kInternal) << "frame " << frame << " needs sample " << i + sample_offset
                                  << ", which was already discarded";
      out[s] = wave[i];
    }
  }
  std::fill(out + length, out + padded, 0.0f);
  ProcessWindow(opts, window, FrameDitherSeed(stream_seed, frame), out, log_energy_pre_window);
}

}  // namespace kaldiq::feat
