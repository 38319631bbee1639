// kaldiq copy-feats = Kaldi's copy-feats: copies / converts feature matrices between archives
// (binary <-> text, uncompressed <-> compressed) or between single files.
#include <cmath>
#include <cstdio>
#include <string>

#include "cli.h"
#include "commands.h"
#include "kaldi/compressed_matrix.h"
#include "kaldi/kaldi_stream.h"
#include "kaldi/matrix_io.h"
#include "kaldi/table.h"
#include "util/error.h"
#include "util/progress.h"

namespace kaldiq::cli {

namespace {

struct CopyFeatsFlags {
  bool binary = true;
  bool compress = false;
  int compression_method = 1;
  std::string write_num_frames;
  bool quiet = false;
  std::string in, out;
};

bool AllFinite(const MatrixF& m) {
  for (int64_t i = 0; i < m.size(); ++i)
    if (!std::isfinite(m.data()[i])) return false;
  return true;
}

int CopyFeats(const CopyFeatsFlags& f) {
  KQ_CHECK(f.compression_method >= 1 && f.compression_method <= 7, kInvalidArgument)
      << "--compression-method must be 1..7 (Kaldi's CompressionMethod), got "
      << f.compression_method;
  const auto method = static_cast<kaldi::CompressionMethod>(f.compression_method);
  if (kaldi::ClassifyRspecifier(f.in, nullptr, nullptr) == kaldi::RspecifierType::kNone) {
    // Single files: <feats-rxfilename> <feats-wxfilename>.
    KQ_CHECK(!f.compress, kInvalidArgument) << "--compress is not supported for single files";
    KQ_CHECK(f.write_num_frames.empty(), kInvalidArgument)
        << "--write-num-frames is not supported when copying single files";
    kaldi::Input in(f.in);
    MatrixF m;
    kaldi::ReadMatrix(in.Stream(), in.binary(), &m);
    in.Close();
    kaldi::Output out(f.out, f.binary);
    kaldi::WriteMatrix(out.Stream(), f.binary, m);
    out.Commit();
    if (!f.quiet) std::fprintf(stderr, "kaldiq copy-feats: copied features from %s to %s\n",
                               f.in.c_str(), f.out.c_str());
    return 0;
  }

  kaldi::SequentialMatrixReader reader(f.in);
  kaldi::MatrixWriter writer;
  kaldi::CompressedMatrixWriter compressed_writer;
  if (f.compress) {
    compressed_writer.Open(f.out);
  } else {
    writer.Open(f.out);
  }
  kaldi::Int32Writer num_frames_writer;
  if (!f.write_num_frames.empty()) num_frames_writer.Open(f.write_num_frames);

  Progress progress("copy-feats", -1, f.quiet);
  int64_t num_done = 0, num_err = 0;
  for (; !reader.Done(); reader.Next()) {
    const std::string& key = reader.Key();
    const MatrixF& m = reader.Value();
    if (f.compress) {
      // Kaldi cannot compress NaN/Inf (it asserts); we report and skip the utterance.
      if (!AllFinite(m)) {
        std::fprintf(stderr, "kaldiq copy-feats: warning: utterance '%s' has NaN/Inf, cannot "
                             "compress it; skipped\n", key.c_str());
        ++num_err;
        continue;
      }
      compressed_writer.Write(key, kaldi::CompressedMatrix::Compress(m, method));
    } else {
      writer.Write(key, m);
    }
    if (!f.write_num_frames.empty()) num_frames_writer.Write(key, static_cast<int32_t>(m.rows()));
    ++num_done;
    progress.Add();
  }
  reader.Close();
  writer.Close();
  compressed_writer.Close();
  num_frames_writer.Close();
  if (!f.quiet) {
    std::fprintf(stderr, "kaldiq copy-feats: Copied %lld feature matrices, failed for %lld.\n",
                 static_cast<long long>(num_done), static_cast<long long>(num_err));
  }
  return num_done != 0 ? 0 : 1;
}

}  // namespace

int RunCopyFeats(int argc, char** argv) {
  CLI::App app;
  CopyFeatsFlags f;
  ConfigureApp(app,
               "Copy features [and possibly change format]\n"
               "Usage: kaldiq copy-feats [options] <feature-rspecifier> <feature-wspecifier>\n"
               " or:   kaldiq copy-feats [options] <feats-rxfilename> <feats-wxfilename>\n"
               "e.g.:  kaldiq copy-feats ark:- ark,scp:foo.ark,foo.scp\n"
               "       kaldiq copy-feats --compress=true ark:feats.ark ark:feats_c.ark");
  AddBool(app, "--binary", &f.binary, "Binary-mode output (not relevant if writing to archive)");
  AddBool(app, "--compress", &f.compress, "If true, write output in compressed form");
  app.add_option("--compression-method", f.compression_method,
                 "Compression method (Kaldi's CompressionMethod): 1=automatic, 2=speech-feature, "
                 "3=2-byte auto, 4=2-byte signed-integer, 5=1-byte auto, 6=1-byte unsigned-integer, "
                 "7=1-byte 0..1")
      ->default_val(1);
  app.add_option("--write-num-frames", f.write_num_frames,
                 "Wspecifier to write length in frames of each utterance");
  AddBool(app, "--quiet", &f.quiet, "No progress or summary on stderr");
  app.add_option("in", f.in, "feature rspecifier (or rxfilename)")->required();
  app.add_option("out", f.out, "feature wspecifier (or wxfilename)")->required();
  return RunGuarded("copy-feats", app, argc, argv, [&]() { return CopyFeats(f); });
}

}  // namespace kaldiq::cli
