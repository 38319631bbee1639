// nnet3-compute's per-utterance options, bound once for every command that runs the network
// (forward, recognize, calibrate, quantize, forward --compare-to), and an utterance loop with
// i-vector look-ups that reports and skips utterances that cannot be computed.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "cli.h"
#include "core/matrix.h"
#include "core/utterance_input.h"
#include "kaldi/table.h"
#include "nnet/executor.h"

namespace kaldiq::ivector {
class SpeakerIvectors;
}

namespace kaldiq::cli {

struct UtteranceFlags {
  nnet::ComputeOptions opts;
  std::string ivectors, online_ivectors, utt2spk;
  // online2's --ivector-extraction-config: online i-vectors computed here per utterance (as
  // ivector-extract-online2 would), adapted across a speaker's utterances by --utt2spk or
  // --spk2utt, in the order the features arrive.
  std::string ivector_extraction_config, spk2utt;
};

// Adds --frames-per-chunk, --extra-*, --frame-subsampling-factor, --ivectors, --utt2spk,
// --online-ivectors, --online-ivector-period, --ivector-extraction-config, --spk2utt.
void AddUtteranceOptions(CLI::App& app, UtteranceFlags* f);

// With --ivector-extraction-config: checks it against the other i-vector options and sets
// --online-ivector-period from the config's --ivector-period (an explicit different value is
// an error). Call after parsing, before building executors.
void PrepareIvectorExtraction(UtteranceFlags* f);

// The --ivectors / --online-ivectors / --utt2spk tables, opened once, or the i-vector
// extractor of --ivector-extraction-config. Not thread-safe: look up on the thread that reads
// the features, in their order (speaker adaptation follows it).
class IvectorLookup {
 public:
  explicit IvectorLookup(const UtteranceFlags& f);
  ~IvectorLookup();
  // Sets input->ivector / input->online_ivectors of utterance `key` as the flags ask, from
  // input->feats when they are computed (the features are left alone); throws kaldiq::Error
  // (kInvalidArgument) saying what is missing (the speaker in --utt2spk/--spk2utt, the
  // i-vector, the online i-vectors) or why they cannot be computed.
  void Get(const std::string& key, UtteranceInput* input);

 private:
  const UtteranceFlags& f_;
  kaldi::RandomAccessVectorReader ivector_reader_;
  kaldi::RandomAccessMatrixReader online_reader_;
  kaldi::RandomAccessTokenReader utt2spk_reader_;
  std::unique_ptr<ivector::SpeakerIvectors> extractor_;
  std::unordered_map<std::string, std::string> spk_of_utt_;  // from --spk2utt
};

// Calls fn(key, input) for up to max_utts utterances (0 = all) of `features`; an utterance
// whose i-vector is missing or whose fn throws kaldiq::Error is reported on stderr as
// "kaldiq <cmd>: warning: ..." and skipped. Returns the number of utterances that succeeded.
int64_t ForEachUtterance(
    const std::string& cmd, const std::string& features, const UtteranceFlags& f,
    int64_t max_utts, bool quiet,
    const std::function<void(const std::string& key, const UtteranceInput& input)>& fn);

}  // namespace kaldiq::cli
