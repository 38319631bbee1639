// kaldiq extract-segments = Kaldi's extract-segments (featbin/extract-segments.cc): cuts the
// segments listed in a segments file out of the recordings of a wave rspecifier and writes them
// as waves (a wave archive Kaldi reads), e.g.
//   kaldiq extract-segments scp:wav.scp segments ark:- | kaldiq compute-mfcc-feats ... ark:- ...
// Line rules (Kaldi's): "<segment> <recording> <start> <end> [<channel>]"; lines with another
// field count, unparsable times, start < 0 or end <= start (end = -1 = to the end) are skipped
// with a warning; so are segments whose recording is missing, whose start is beyond the
// recording, whose end overshoots it by more than --max-overshoot (smaller overshoots are
// clipped), that are shorter than --min-segment-length, or whose channel does not exist. A
// multi-channel recording without a channel column is an error (as in Kaldi). Sample range
// [int(start*fs + 0.5), int(end*fs + 0.5)), clipped to the recording. kaldiq also skips (with a
// warning) a segment that rounds to zero samples, which Kaldi would write as an unreadable
// stream-mode wave.
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "cli.h"
#include "commands.h"
#include "kaldi/kaldi_stream.h"
#include "kaldi/table.h"
#include "kaldi/wave_io.h"
#include "util/error.h"

namespace kaldiq::cli {

namespace {

struct ExtractSegmentsFlags {
  float min_segment_length = 0.1f;
  float max_overshoot = 0.5f;
  int verbose = 0;
  bool print_args = true;
  bool quiet = false;
  std::string wav_rspecifier, segments, wav_wspecifier;
};

std::vector<std::string> SplitFields(const std::string& line) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : line) {
    if (c == ' ' || c == '\t' || c == '\r') {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

bool ParseReal(const std::string& s, double* v) {
  errno = 0;
  char* end = nullptr;
  *v = std::strtod(s.c_str(), &end);
  return errno == 0 && end != s.c_str() && *end == '\0' && std::isfinite(*v);
}

bool ParseInt(const std::string& s, int* v) {
  errno = 0;
  char* end = nullptr;
  long x = std::strtol(s.c_str(), &end, 10);
  if (errno != 0 || end == s.c_str() || *end != '\0' || x < INT32_MIN || x > INT32_MAX)
    return false;
  *v = static_cast<int>(x);
  return true;
}

int ExtractSegments(const ExtractSegmentsFlags& f) {
  kaldi::RandomAccessTableReader<kaldi::WaveHolder> reader(f.wav_rspecifier);
  kaldi::TableWriter<kaldi::WaveHolder> writer(f.wav_wspecifier);
  kaldi::Input segments(f.segments, /*read_binary_header=*/false);
  auto warn = [&](const std::string& msg) {
    std::fprintf(stderr, "kaldiq extract-segments: warning: %s\n", msg.c_str());
  };
  int64_t num_lines = 0, num_success = 0;
  std::string line;
  while (std::getline(segments.Stream(), line)) {
    ++num_lines;
    std::vector<std::string> fields = SplitFields(line);
    if (fields.size() != 4 && fields.size() != 5) {
      warn("Invalid line in segments file: " + line);
      continue;
    }
    const std::string& segment = fields[0];
    const std::string& recording = fields[1];
    double start = 0, end = 0;
    if (!ParseReal(fields[2], &start)) {
      warn("Invalid line in segments file [bad start]: " + line);
      continue;
    }
    if (!ParseReal(fields[3], &end)) {
      warn("Invalid line in segments file [bad end]: " + line);
      continue;
    }
    if (start < 0 || (end != -1.0 && end <= 0) || (start >= end && end > 0)) {
      warn("Invalid line in segments file [empty or invalid segment]: " + line);
      continue;
    }
    int channel = -1;
    if (fields.size() == 5 && (!ParseInt(fields[4], &channel) || channel < 0)) {
      warn("Invalid line in segments file [bad channel]: " + line);
      continue;
    }
    if (!reader.HasKey(recording)) {
      warn("Could not find recording " + recording + ", skipping segment " + segment);
      continue;
    }
    const kaldi::WaveData& wave = reader.Value(recording);
    for (const std::string& w : wave.warnings) warn("recording " + recording + ": " + w);
    const float samp_freq = wave.samp_freq;
    const int64_t num_samp = wave.NumSamples(), num_chan = wave.NumChannels();
    const float file_length = static_cast<float>(num_samp) / samp_freq;
    if (start > file_length) {
      warn("Segment start is out of file data range [0, " + std::to_string(file_length) +
           "s]; skipping segment '" + line + "'");
      continue;
    }
    if (end > file_length + f.max_overshoot) {
      warn("Segment end is too far out of file data range [0," + std::to_string(file_length) +
           "s]; skipping segment '" + line + "'");
      continue;
    }
    if (end < 0 || end > file_length) end = file_length;
    if (end - start < f.min_segment_length) {
      warn("Segment " + segment + " too short, skipping it.");
      continue;
    }
    if (channel == -1) {
      KQ_CHECK(num_chan == 1, kInvalidArgument)
          << "Your data has multiple channels. You must specify the channel in the segments "
             "file. Segment "
          << segment << ", recording " << recording << " (" << num_chan << " channels)";
      channel = 0;
    } else if (channel >= num_chan) {
      warn("Invalid channel " + std::to_string(channel) + " >= " + std::to_string(num_chan) +
           ". Skipping segment " + segment);
      continue;
    }
    const int64_t start_samp = static_cast<int64_t>(start * samp_freq + 0.5f);
    int64_t end_samp = static_cast<int64_t>(end * samp_freq + 0.5f);
    if (end_samp > num_samp) end_samp = num_samp;
    if (end_samp <= start_samp) {
      warn("Segment " + segment + " has no samples, skipping it.");
      continue;
    }
    kaldi::WaveData out;
    out.samp_freq = samp_freq;
    out.data.Resize(1, end_samp - start_samp);
    const float* src = wave.data.Row(channel) + start_samp;
    std::copy(src, src + (end_samp - start_samp), out.data.Row(0));
    writer.Write(segment, out);
    ++num_success;
  }
  KQ_CHECK(!segments.Stream().bad(), kIo) << "error reading segments file " << f.segments;
  segments.Close();
  writer.Close();
  if (!f.quiet) {
    std::fprintf(stderr,
                 "kaldiq extract-segments: Successfully processed %lld lines out of %lld in the "
                 "segments file.\n",
                 static_cast<long long>(num_success), static_cast<long long>(num_lines));
  }
  return 0;
}

}  // namespace

int RunExtractSegments(int argc, char** argv) {
  CLI::App app;
  ExtractSegmentsFlags f;
  ConfigureApp(app,
               "Extract segments from a large audio file in WAV format.\n"
               "Usage:  kaldiq extract-segments [options] <wav-rspecifier> <segments-file> "
               "<wav-wspecifier>\n"
               "e.g. kaldiq extract-segments scp:wav.scp segments ark:- | <some-other-program>\n"
               " segments-file format: each line is either\n"
               "<segment-id> <recording-id> <start-time> <end-time>\n"
               "e.g. call-861225-A-0050-0065 call-861225-A 5.0 6.5\n"
               "or (less frequently, and not supported in scripts):\n"
               "<segment-id> <wav-file-name> <start-time> <end-time> <channel>\n"
               "where <channel> will normally be 0 (left) or 1 (right)\n"
               "e.g. call-861225-A-0050-0065 call-861225 5.0 6.5 1\n"
               "And <end-time> of -1 means the segment runs till the end of the WAV file");
  app.add_option("--min-segment-length", f.min_segment_length,
                 "Minimum segment length in seconds (reject shorter segments)")
      ->capture_default_str();
  app.add_option("--max-overshoot", f.max_overshoot,
                 "End segments overshooting audio by less than this (in seconds) are truncated, "
                 "else rejected.")
      ->capture_default_str();
  app.add_option("--verbose", f.verbose, "Verbose level (accepted for Kaldi scripts)")
      ->capture_default_str();
  AddBool(app, "--print-args", &f.print_args,
          "Print the command line arguments (to stderr) [accepted for Kaldi scripts; ignored]");
  AddBool(app, "--quiet", &f.quiet, "No summary on stderr");
  app.add_option("wav-rspecifier", f.wav_rspecifier, "Recordings (scp:wav.scp)")->required();
  app.add_option("segments-file", f.segments, "Segments file (rxfilename)")->required();
  app.add_option("wav-wspecifier", f.wav_wspecifier, "Output waves (ark:...)")->required();
  return RunGuarded("extract-segments", app, argc, argv, [&]() { return ExtractSegments(f); });
}

}  // namespace kaldiq::cli
