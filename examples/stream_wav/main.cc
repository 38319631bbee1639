// Streaming recognition with kaldiq's C++ API (online/recognizer.h): loads a Kaldi model
// directory once, feeds a WAV file in chunks of 0.1 s as a live source would, prints a partial
// result after every chunk that changes it and the final result with word times.
//   stream_wav <model-dir> <file.wav> [--endpointing]
// <model-dir>: final.mdl (or final.int8), graph/HCLG.fst, graph/words.txt, conf/online.conf,
// frame_subsampling_factor (RecognizerConfig::FromModelDir). Run it from the directory that
// online.conf's relative paths refer to (Kaldi's convention).
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <string>

#include "kaldi/wave_io.h"
#include "online/recognizer.h"
#include "util/error.h"

int main(int argc, char** argv) {
  if (argc < 3 || argc > 4) {
    std::fprintf(stderr, "usage: %s <model-dir> <file.wav> [--endpointing]\n", argv[0]);
    return 2;
  }
  try {
    kaldiq::online::RecognizerConfig config = kaldiq::online::RecognizerConfig::FromModelDir(argv[1]);
    config.do_endpointing = argc == 4 && std::string(argv[3]) == "--endpointing";
    const kaldiq::online::RecognizerModel model(config);  // load once, share between streams
    kaldiq::online::Recognizer rec(model);

    std::ifstream is(argv[2], std::ios::binary);
    kaldiq::kaldi::WaveData wave;
    kaldiq::kaldi::ReadWave(is, &wave);
    const float* samples = wave.data.Row(0);
    const int64_t n = wave.NumSamples();
    const int64_t chunk = static_cast<int64_t>(wave.samp_freq / 10);
    auto print_final = [](const kaldiq::online::Result& r) {
      std::printf("final: %s\n", r.text.c_str());
      for (const auto& w : r.words) std::printf("  %.2f-%.2f %s\n", w.start, w.end, w.word.c_str());
    };
    std::string last;
    for (int64_t off = 0; off < n; off += chunk) {
      rec.AcceptWaveform(wave.samp_freq, samples + off, std::min(chunk, n - off));
      if (rec.EndpointDetected()) {
        print_final(rec.Final());
        last.clear();
        continue;
      }
      const std::string partial = rec.Partial().text;
      if (partial != last) std::printf("partial: %s\n", partial.c_str());
      last = partial;
    }
    print_final(rec.Final());
  } catch (const kaldiq::Error& e) {
    std::fprintf(stderr, "stream_wav: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
