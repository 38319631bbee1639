// kaldiq stream: streaming recognition of one WAV (a file, or "-" for stdin) through the C++ API
// (online/recognizer.h), fed in chunks of --chunk-ms as a live source would: partial results as
// they change and a final result per utterance (one, or one per endpoint with
// --do-endpointing), as text lines ("partial: ...", "final: ...") or JSON lines
// ({"partial": "..."} / {"text": "...", "result": [{"word", "start", "end"}, ...]}).
// The model: --model-dir (RecognizerConfig::FromModelDir) or --model/--graph/--words/--config.
// stdin is read to its end before feeding (the WAV reader needs the whole header and data).
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "cli.h"
#include "commands.h"
#include "kaldi/wave_io.h"
#include "online/recognizer.h"
#include "util/error.h"

namespace kaldiq::cli {
namespace {

std::string JsonEscape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04x", c);
      out += buf;
    } else {
      out += c;
    }
  }
  return out;
}

void PrintFinal(const online::Result& r, bool json) {
  if (!json) {
    std::printf("final: %s\n", r.text.c_str());
    return;
  }
  std::printf("{\"text\": \"%s\", \"result\": [", JsonEscape(r.text).c_str());
  for (size_t i = 0; i < r.words.size(); ++i) {
    std::printf("%s{\"word\": \"%s\", \"start\": %.2f, \"end\": %.2f}", i ? ", " : "",
                JsonEscape(r.words[i].word).c_str(), r.words[i].start, r.words[i].end);
  }
  std::printf("]}\n");
}

}  // namespace

int RunStream(int argc, char** argv) {
  CLI::App app;
  ConfigureApp(app,
               "Streaming recognition of a WAV file with partial and final results.\n"
               "Usage: kaldiq stream [options] (--model-dir=<dir> | --model=<mdl> --graph=<HCLG> "
               "--words=<words.txt> --online-config=<online.conf>) <wav-file|->");
  std::string model_dir, wav;
  online::RecognizerConfig c;
  app.add_option("--model-dir", model_dir,
                 "final.mdl (or final.int8), graph/HCLG.fst, graph/words.txt, conf/online.conf, "
                 "frame_subsampling_factor");
  app.add_option("--model", c.model, "Acoustic model (instead of --model-dir)");
  app.add_option("--graph", c.graph, "HCLG.fst");
  app.add_option("--words", c.words, "words.txt");
  app.add_option("--online-config", c.online_config, "online.conf");
  app.add_option("--frame-subsampling-factor", c.looped.frame_subsampling_factor,
                 "With --model (chain models: 3)")
      ->capture_default_str();
  app.add_option("--acoustic-scale", c.acoustic_scale, "With --model (chain models: 1.0)")
      ->capture_default_str();
  app.add_option("--frames-per-chunk", c.looped.frames_per_chunk, "Network chunk (frames)")
      ->capture_default_str();
  app.add_option("--beam", c.decoder.beam, "Decoding beam")->capture_default_str();
  app.add_option("--max-active", c.decoder.max_active, "Max active states");
  app.add_option("--lattice-beam", c.decoder.lattice_beam, "Lattice beam")->capture_default_str();
  AddBool(app, "--do-endpointing", &c.do_endpointing,
          "Split the audio into utterances at Kaldi's endpoints (default: false)");
  app.add_option("--endpoint.silence-phones", c.endpoint.silence_phones,
                 "Silence phones (colon list; default with --model-dir: graph/phones/silence.csl)");
  int32_t chunk_ms = 100;
  app.add_option("--chunk-ms", chunk_ms, "Audio fed per call, in milliseconds")
      ->capture_default_str();
  bool json = false;
  AddBool(app, "--json", &json, "JSON lines instead of text (default: false)");
  app.add_option("wav", wav, "WAV file, or - for stdin")->required();
  return RunGuarded("stream", app, argc, argv, [&]() -> int {
    if (!model_dir.empty()) {
      const online::RecognizerConfig d = online::RecognizerConfig::FromModelDir(model_dir);
      c.model = d.model;
      c.graph = d.graph;
      c.words = d.words;
      c.online_config = d.online_config;
      c.looped.frame_subsampling_factor = d.looped.frame_subsampling_factor;
      c.acoustic_scale = d.acoustic_scale;
      if (c.endpoint.silence_phones.empty()) c.endpoint.silence_phones = d.endpoint.silence_phones;
    }
    KQ_CHECK(!c.model.empty() && !c.graph.empty() && !c.words.empty() && !c.online_config.empty(),
             kInvalidArgument)
        << "give --model-dir, or --model, --graph, --words and --online-config";
    KQ_CHECK(chunk_ms > 0, kInvalidArgument) << "--chunk-ms must be > 0";
    kaldi::WaveData wave;
    if (wav == "-") {
      std::stringstream buf;
      buf << std::cin.rdbuf();
      kaldi::ReadWave(buf, &wave);
    } else {
      std::ifstream is(wav, std::ios::binary);
      KQ_CHECK(is.good(), kIo) << "cannot open " << wav;
      kaldi::ReadWave(is, &wave);
    }
    for (const std::string& w : wave.warnings)
      std::fprintf(stderr, "WARNING (kaldiq stream) %s: %s\n", wav.c_str(), w.c_str());
    if (wave.NumChannels() > 1)
      std::fprintf(stderr, "WARNING (kaldiq stream) %s has %lld channels; using channel 0\n",
                   wav.c_str(), static_cast<long long>(wave.NumChannels()));
    const online::RecognizerModel model(c);
    online::Recognizer rec(model);
    const float* x = wave.data.Row(0);
    const int64_t n = wave.NumSamples();
    const int64_t chunk = std::max<int64_t>(1, static_cast<int64_t>(wave.samp_freq) * chunk_ms / 1000);
    std::string last;
    for (int64_t off = 0; off < n; off += chunk) {
      rec.AcceptWaveform(wave.samp_freq, x + off, std::min(chunk, n - off));
      if (rec.EndpointDetected()) {
        PrintFinal(rec.Final(), json);
        last.clear();
        continue;
      }
      const std::string partial = rec.Partial().text;
      if (partial != last && !partial.empty()) {
        if (json) {
          std::printf("{\"partial\": \"%s\"}\n", JsonEscape(partial).c_str());
        } else {
          std::printf("partial: %s\n", partial.c_str());
        }
      }
      last = partial;
    }
    PrintFinal(rec.Final(), json);
    return 0;
  });
}

}  // namespace kaldiq::cli
