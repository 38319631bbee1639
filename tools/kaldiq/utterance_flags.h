// nnet3-compute's per-utterance options, bound once for every command that runs the network
// (forward, recognize, calibrate, quantize, forward --compare-to), and an utterance loop with
// i-vector look-ups that reports and skips utterances that cannot be computed.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "cli.h"
#include "core/matrix.h"
#include "core/utterance_input.h"
#include "kaldi/table.h"
#include "nnet/executor.h"

namespace kaldiq::cli {

struct UtteranceFlags {
  nnet::ComputeOptions opts;
  std::string ivectors, online_ivectors, utt2spk;
};

// Adds --frames-per-chunk, --extra-*, --frame-subsampling-factor, --ivectors, --utt2spk,
// --online-ivectors, --online-ivector-period.
void AddUtteranceOptions(CLI::App& app, UtteranceFlags* f);

// The --ivectors / --online-ivectors / --utt2spk tables, opened once. Not thread-safe: look up
// on the thread that reads the features.
class IvectorLookup {
 public:
  explicit IvectorLookup(const UtteranceFlags& f);
  // Sets input->ivector / input->online_ivectors of utterance `key` as the flags ask (the
  // features are left alone); throws kaldiq::Error (kInvalidArgument) saying what is missing
  // (the speaker in --utt2spk, the i-vector, the online i-vectors).
  void Get(const std::string& key, UtteranceInput* input);

 private:
  const UtteranceFlags& f_;
  kaldi::RandomAccessVectorReader ivector_reader_;
  kaldi::RandomAccessMatrixReader online_reader_;
  kaldi::RandomAccessTokenReader utt2spk_reader_;
};

// Calls fn(key, input) for up to max_utts utterances (0 = all) of `features`; an utterance
// whose i-vector is missing or whose fn throws kaldiq::Error is reported on stderr as
// "kaldiq <cmd>: warning: ..." and skipped. Returns the number of utterances that succeeded.
int64_t ForEachUtterance(
    const std::string& cmd, const std::string& features, const UtteranceFlags& f,
    int64_t max_utts, bool quiet,
    const std::function<void(const std::string& key, const UtteranceInput& input)>& fn);

}  // namespace kaldiq::cli
