// kaldiq compute-cmvn-stats = Kaldi's compute-cmvn-stats: per-utterance (default) or
// per-speaker (--spk2utt) CMVN statistics, a double matrix 2 x (dim+1) per key, bit-identical to
// Kaldi's.
#include <cstdio>
#include <string>
#include <vector>

#include "cli.h"
#include "commands.h"
#include "kaldi/cmvn.h"
#include "kaldi/kaldi_stream.h"
#include "kaldi/matrix_io.h"
#include "kaldi/table.h"
#include "util/error.h"
#include "util/progress.h"

namespace kaldiq::cli {

namespace {

struct CmvnStatsFlags {
  std::string spk2utt, weights;
  bool binary = true;
  bool quiet = false;
  std::string in, out;
};

// Accumulates one utterance; returns false (with a warning naming it) when it cannot be used.
bool Accumulate(const std::string& utt, const MatrixF& feats,
                kaldi::RandomAccessVectorReader* weights_reader, MatrixD* stats) {
  const std::vector<float>* weights = nullptr;
  if (weights_reader->IsOpen()) {
    if (!weights_reader->HasKey(utt)) {
      std::fprintf(stderr, "kaldiq compute-cmvn-stats: warning: no weights for utterance '%s'\n",
                   utt.c_str());
      return false;
    }
    weights = &weights_reader->Value(utt);
  }
  try {
    kaldi::AccCmvnStats(feats, weights, stats);
  } catch (const Error& e) {
    std::fprintf(stderr, "kaldiq compute-cmvn-stats: warning: utterance '%s': %s\n", SanitizeForTerminal(utt).c_str(),
                 SanitizeForTerminal(e.what()).c_str());
    return false;
  }
  return true;
}

int ComputeCmvnStats(const CmvnStatsFlags& f) {
  kaldi::RandomAccessVectorReader weights_reader;
  if (!f.weights.empty()) weights_reader.Open(f.weights);
  int64_t num_done = 0, num_err = 0;

  if (kaldi::ClassifyRspecifier(f.in, nullptr, nullptr) == kaldi::RspecifierType::kNone) {
    // Global stats of one matrix: <feats-rxfilename> <stats-wxfilename>.
    KQ_CHECK(f.spk2utt.empty(), kInvalidArgument)
        << "--spk2utt needs a features rspecifier (did you forget ark:?)";
    kaldi::Input in(f.in);
    MatrixF feats;
    kaldi::ReadMatrix(in.Stream(), in.binary(), &feats);
    MatrixD stats;
    kaldi::AccCmvnStats(feats, nullptr, &stats);
    kaldi::Output out(f.out, f.binary);
    kaldi::WriteMatrix(out.Stream(), f.binary, stats);
    out.Commit();
    return 0;
  }

  kaldi::DoubleMatrixWriter writer(f.out);
  Progress progress("compute-cmvn-stats", -1, f.quiet);
  if (!f.spk2utt.empty()) {
    kaldi::SequentialTokenVectorReader spk2utt(f.spk2utt);
    kaldi::RandomAccessMatrixReader feats_reader(f.in);
    for (; !spk2utt.Done(); spk2utt.Next()) {
      const std::string& spk = spk2utt.Key();
      MatrixD stats;
      for (const std::string& utt : spk2utt.Value()) {
        if (!feats_reader.HasKey(utt)) {
          std::fprintf(stderr,
                       "kaldiq compute-cmvn-stats: warning: did not find features for utterance "
                       "'%s'\n", utt.c_str());
          ++num_err;
          continue;
        }
        if (Accumulate(utt, feats_reader.Value(utt), &weights_reader, &stats)) {
          ++num_done;
          progress.Add();
        } else {
          ++num_err;
        }
      }
      if (stats.rows() == 0) {
        std::fprintf(stderr, "kaldiq compute-cmvn-stats: warning: no stats accumulated for "
                             "speaker '%s'\n", spk.c_str());
      } else {
        writer.Write(spk, stats);
      }
    }
  } else {
    for (kaldi::SequentialMatrixReader feats_reader(f.in); !feats_reader.Done();
         feats_reader.Next()) {
      MatrixD stats;
      if (!Accumulate(feats_reader.Key(), feats_reader.Value(), &weights_reader, &stats)) {
        ++num_err;
        continue;
      }
      writer.Write(feats_reader.Key(), stats);
      ++num_done;
      progress.Add();
    }
  }
  writer.Close();
  if (!f.quiet) {
    std::fprintf(stderr,
                 "kaldiq compute-cmvn-stats: Done accumulating CMVN stats for %lld utterances; "
                 "%lld had errors.\n",
                 static_cast<long long>(num_done), static_cast<long long>(num_err));
  }
  return num_done != 0 ? 0 : 1;
}

}  // namespace

int RunComputeCmvnStats(int argc, char** argv) {
  CLI::App app;
  CmvnStatsFlags f;
  ConfigureApp(app,
               "Compute cepstral mean and variance normalization statistics\n"
               "If wspecifier provided: per-utterance by default, or per-speaker if\n"
               "spk2utt option provided; if wxfilename: global\n"
               "Usage: kaldiq compute-cmvn-stats [options] <feats-rspecifier> (<stats-wspecifier>|"
               "<stats-wxfilename>)\n"
               "e.g.: kaldiq compute-cmvn-stats --spk2utt=ark:data/train/spk2utt "
               "scp:data/train/feats.scp ark,scp:cmvn.ark,cmvn.scp");
  app.add_option("--spk2utt", f.spk2utt, "rspecifier for speaker to utterance-list map");
  app.add_option("--weights", f.weights, "rspecifier for a vector of floats for each utterance, "
                                         "that's a per-frame weight.");
  AddBool(app, "--binary", &f.binary, "write in binary mode (applies only to global CMN/CVN)");
  AddBool(app, "--quiet", &f.quiet, "No progress or summary on stderr");
  app.add_option("in", f.in, "features rspecifier (or rxfilename)")->required();
  app.add_option("out", f.out, "stats wspecifier (or wxfilename)")->required();
  return RunGuarded("compute-cmvn-stats", app, argc, argv, [&]() { return ComputeCmvnStats(f); });
}

}  // namespace kaldiq::cli
