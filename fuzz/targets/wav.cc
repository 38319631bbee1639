// WAV objects as `wav.scp` / `ark:` wave archives give them (kaldi/wave_io.h): RIFF parsing with
// Kaldi's rules (chunk walking, fmt/fact/data, truncation), read from an archive entry and as a
// bare file; every wave read is written back, and its duration computed as the feature commands
// do.
#include <cmath>
#include <sstream>

#include "fuzz/archive.h"
#include "kaldi/wave_io.h"

using namespace kaldiq;
using namespace kaldiq::kaldi;

namespace {

void Check(const WaveData& w) {
  KQ_FUZZ_EXPECT(w.samp_freq > 0 && std::isfinite(w.samp_freq), "wave with a bad sample rate");
  KQ_FUZZ_EXPECT(w.NumChannels() >= 1, "wave without channels");
  for (int64_t i = 0; i < w.data.size(); ++i)
    KQ_FUZZ_EXPECT(std::fabs(w.data.data()[i]) <= 32768.0f, "sample outside the int16 range");
  std::ostringstream os;
  WriteWave(os, w);
  (void)w.Duration();
}

}  // namespace

KQ_FUZZ_TARGET(wav) {
  const std::string bytes = fuzz::AsString(data, size);
  fuzz::Guarded([&] {
    std::istringstream is(bytes);
    WaveData w;
    ReadWave(is, &w);
    Check(w);
  });
  fuzz::ForEachArchiveEntry<WaveHolder>(bytes,
                                        [](const std::string&, const WaveData& w) { Check(w); });
}
