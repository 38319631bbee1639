// kq_bench_online_latency: per-chunk latency and real-time factor of streaming recognition
// through online::Recognizer (the same pipeline as `kaldiq online2-wav-nnet3-latgen-faster`:
// features → online CMVN [→ i-vectors] → looped network → lattice decoder advancing), 1 thread.
//
// For each model and each chunk size N (frames of 10 ms): the network runs with
// --frames-per-chunk=N (rounded up to a multiple of the subsampling factor, as Kaldi does) and
// the audio is fed in pieces of N × 10 ms, one speaker's utterances after another through one
// Recognizer (adaptation carried), as a live source would deliver them. The latency of a piece
// is the time of its AcceptWaveform call: from handing over the samples to the decoder having
// advanced over every frame they made ready (features, network chunks, decoding). Reported:
// median, p95 and max over all pieces, in wall and thread-CPU milliseconds, the median of Final()
// (the flush at the end of an utterance), and RTF = total CPU of AcceptWaveform + Final / audio
// seconds (model and graph loading excluded).
//
// Usage: kq_bench_online_latency [--chunks=10,20,50] [--utts=N] [--beam=15] [--max-active=7000]
//          <audio-dir> <graph-dir> <model> [<model> ...]
//   <audio-dir>: wav.scp (paths relative to it), spk2utt, conf/online.conf (its relative paths
//   too: the program runs from there), e.g. ../shared/fixtures/audio.
//   <graph-dir>: HCLG.fst and words.txt. Models: final.mdl or kaldiq int8 models; chain models
//   (frame-subsampling-factor 3, acoustic scale 1.0).
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "kaldi/table.h"
#include "kaldi/wave_io.h"
#include "online/recognizer.h"
#include "quant/int8_model.h"
#include "util/error.h"

namespace {

double ThreadCpuMs() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}
double WallMs() {
  return std::chrono::duration<double, std::milli>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  const size_t i = std::min(v.size() - 1, static_cast<size_t>(p * (v.size() - 1) + 0.5));
  return v[i];
}

std::string Base(const std::string& path) {
  const size_t p = path.rfind('/');
  return p == std::string::npos ? path : path.substr(p + 1);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace kaldiq;
  std::vector<int> chunks = {10, 20, 50};
  int max_utts = 1 << 30;
  float beam = 15.0f;
  int max_active = 7000;
  std::vector<std::string> pos;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a.rfind("--chunks=", 0) == 0) {
      chunks.clear();
      std::stringstream ss(a.substr(9));
      for (std::string t; std::getline(ss, t, ',');) chunks.push_back(std::atoi(t.c_str()));
    } else if (a.rfind("--utts=", 0) == 0) {
      max_utts = std::atoi(a.c_str() + 7);
    } else if (a.rfind("--beam=", 0) == 0) {
      beam = std::strtof(a.c_str() + 7, nullptr);
    } else if (a.rfind("--max-active=", 0) == 0) {
      max_active = std::atoi(a.c_str() + 13);
    } else {
      pos.push_back(a);
    }
  }
  if (pos.size() < 3) {
    std::fprintf(stderr,
                 "usage: %s [--chunks=10,20,50] [--utts=N] [--beam=15] [--max-active=7000] "
                 "<audio-dir> <graph-dir> <model> [<model> ...]\n",
                 argv[0]);
    return 2;
  }
  try {
    quant::RegisterInt8ModelLoader();
    char cwd[4096];
    KQ_CHECK(getcwd(cwd, sizeof(cwd)) != nullptr, kIo) << "getcwd failed";
    auto absolute = [&](const std::string& p) {
      return p.empty() || p[0] == '/' ? p : std::string(cwd) + "/" + p;
    };
    const std::string graph = absolute(pos[1]);
    std::vector<std::string> models;
    for (size_t i = 2; i < pos.size(); ++i) models.push_back(absolute(pos[i]));
    KQ_CHECK(chdir(pos[0].c_str()) == 0, kIo) << "cannot enter " << pos[0];

    // The audio, speaker by speaker (spk2utt order).
    std::vector<std::vector<kaldi::WaveData>> speakers;
    double audio_seconds = 0.0;
    int utts = 0;
    kaldi::RandomAccessTableReader<kaldi::WaveHolder> wavs("scp:wav.scp");
    for (kaldi::SequentialTokenVectorReader spk("ark:spk2utt"); !spk.Done() && utts < max_utts;
         spk.Next()) {
      speakers.emplace_back();
      for (const std::string& u : spk.Value()) {
        if (utts >= max_utts) break;
        speakers.back().push_back(wavs.Value(u));
        audio_seconds += speakers.back().back().NumSamples() / speakers.back().back().samp_freq;
        ++utts;
      }
    }
    std::printf("kq_bench_online_latency: %d utterances, %.1f s of audio, 1 thread, beam %.1f, "
                "max-active %d\n",
                utts, audio_seconds, beam, max_active);
    std::printf("%-14s %5s %4s %6s | %8s %8s %8s | %8s %8s %8s | %8s | %7s\n", "model", "chunk",
                "fpc", "pieces", "wall-med", "wall-p95", "wall-max", "cpu-med", "cpu-p95",
                "cpu-max", "final-ms", "RTF");
    for (const std::string& m : models) {
      for (int n : chunks) {
        online::RecognizerConfig c;
        c.model = m;
        c.graph = graph + "/HCLG.fst";
        c.words = graph + "/words.txt";
        c.online_config = "conf/online.conf";
        c.looped.frame_subsampling_factor = 3;
        c.looped.frames_per_chunk = n;
        c.acoustic_scale = 1.0f;
        c.decoder.beam = beam;
        c.decoder.lattice_beam = 8.0f;
        c.decoder.max_active = max_active;
        c.decoder.min_active = 200;
        const online::RecognizerModel model(c);
        std::vector<double> wall, cpu, finals;
        double total_cpu = 0.0;
        for (const auto& spk : speakers) {
          online::Recognizer rec(model);
          for (const kaldi::WaveData& w : spk) {
            const int64_t piece = static_cast<int64_t>(w.samp_freq * 0.01 * n);
            const float* x = w.data.Row(0);
            for (int64_t off = 0; off < w.NumSamples(); off += piece) {
              const double w0 = WallMs(), c0 = ThreadCpuMs();
              rec.AcceptWaveform(w.samp_freq, x + off, std::min(piece, w.NumSamples() - off));
              const double c1 = ThreadCpuMs(), w1 = WallMs();
              wall.push_back(w1 - w0);
              cpu.push_back(c1 - c0);
              total_cpu += c1 - c0;
            }
            const double c0 = ThreadCpuMs();
            rec.Final();
            const double c1 = ThreadCpuMs();
            finals.push_back(c1 - c0);
            total_cpu += c1 - c0;
          }
        }
        const int fpc = (n + 2) / 3 * 3;
        std::printf("%-14s %3d0ms %4d %6zu | %8.2f %8.2f %8.2f | %8.2f %8.2f %8.2f | %8.2f | %7.4f\n",
                    Base(m).substr(0, 14).c_str(), n, fpc, wall.size(), Percentile(wall, 0.5),
                    Percentile(wall, 0.95), Percentile(wall, 1.0), Percentile(cpu, 0.5),
                    Percentile(cpu, 0.95), Percentile(cpu, 1.0), Percentile(finals, 0.5),
                    total_cpu / 1e3 / audio_seconds);
        std::fflush(stdout);
      }
    }
  } catch (const kaldiq::Error& e) {
    std::fprintf(stderr, "kq_bench_online_latency: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
