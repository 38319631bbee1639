#include "utterance_flags.h"

#include <cstdio>

#include "ivector/extraction_config.h"
#include "ivector/ivector_extract.h"
#include "kaldi/table.h"
#include "util/error.h"
#include "util/progress.h"

namespace kaldiq::cli {

void AddUtteranceOptions(CLI::App& app, UtteranceFlags* f) {
  app.add_option("--frames-per-chunk", f->opts.frames_per_chunk,
                 "Number of frames in each chunk that is separately evaluated by the network "
                 "(rounded up to a multiple of --frame-subsampling-factor)")
      ->capture_default_str();
  app.add_option("--extra-left-context", f->opts.extra_left_context,
                 "Extra left context on top of the network's requirement")
      ->capture_default_str();
  app.add_option("--extra-right-context", f->opts.extra_right_context, "Extra right context")
      ->capture_default_str();
  app.add_option("--extra-left-context-initial", f->opts.extra_left_context_initial,
                 "Extra left context of the first chunk (-1: --extra-left-context)")
      ->capture_default_str();
  app.add_option("--extra-right-context-final", f->opts.extra_right_context_final,
                 "Extra right context of the last chunk (-1: --extra-right-context)")
      ->capture_default_str();
  app.add_option("--frame-subsampling-factor", f->opts.frame_subsampling_factor,
                 "Output one frame in every this many input frames (3 for chain models)")
      ->capture_default_str();
  app.add_option("--ivectors", f->ivectors, "Rspecifier for i-vectors (per utterance, or per "
                                            "speaker with --utt2spk)");
  app.add_option("--utt2spk", f->utt2spk, "Rspecifier for utt2spk (i-vectors by speaker)");
  app.add_option("--online-ivectors", f->online_ivectors,
                 "Rspecifier for online i-vectors (matrices; needs --online-ivector-period)");
  app.add_option("--online-ivector-period", f->opts.online_ivector_period,
                 "Frames between online i-vectors")
      ->capture_default_str();
  app.add_option("--ivector-extraction-config", f->ivector_extraction_config,
                 "Compute online i-vectors (as ivector-extract-online2) from the features with "
                 "this extractor config (ivector_extractor.conf) instead of --online-ivectors");
  app.add_option("--spk2utt", f->spk2utt,
                 "With --ivector-extraction-config: speakers whose utterances share i-vector "
                 "adaptation (or --utt2spk); without either, each utterance starts afresh");
}

void PrepareIvectorExtraction(UtteranceFlags* f) {
  if (f->ivector_extraction_config.empty()) {
    KQ_CHECK(f->spk2utt.empty(), kInvalidArgument)
        << "--spk2utt only makes sense with --ivector-extraction-config";
    return;
  }
  KQ_CHECK(f->ivectors.empty() && f->online_ivectors.empty(), kInvalidArgument)
      << "--ivector-extraction-config computes the i-vectors: do not give --ivectors or "
         "--online-ivectors as well";
  KQ_CHECK(f->spk2utt.empty() || f->utt2spk.empty(), kInvalidArgument)
      << "give --spk2utt or --utt2spk, not both";
  const int32_t period =
      ivector::OnlineIvectorExtractionConfig::FromConfigFile(f->ivector_extraction_config)
          .ivector_period;
  KQ_CHECK(f->opts.online_ivector_period == 0 || f->opts.online_ivector_period == period,
           kInvalidArgument)
      << "--online-ivector-period=" << f->opts.online_ivector_period
      << " differs from the --ivector-period=" << period << " of "
      << f->ivector_extraction_config;
  f->opts.online_ivector_period = period;
}

IvectorLookup::IvectorLookup(const UtteranceFlags& f) : f_(f) {
  if (!f.ivectors.empty()) ivector_reader_.Open(f.ivectors);
  if (!f.online_ivectors.empty()) online_reader_.Open(f.online_ivectors);
  if (!f.utt2spk.empty()) utt2spk_reader_.Open(f.utt2spk);
  if (!f.ivector_extraction_config.empty()) {
    extractor_ = std::make_unique<ivector::SpeakerIvectors>(
        ivector::LoadIvectorExtractorForBatch(f.ivector_extraction_config));
    if (!f.spk2utt.empty()) {
      for (kaldi::SequentialTokenVectorReader r(f.spk2utt); !r.Done(); r.Next()) {
        for (const std::string& utt : r.Value()) spk_of_utt_[utt] = r.Key();
      }
    }
  }
}

IvectorLookup::~IvectorLookup() = default;

void IvectorLookup::Get(const std::string& key, UtteranceInput* input) {
  if (extractor_) {
    std::string speaker;
    if (!f_.utt2spk.empty()) {
      KQ_CHECK(utt2spk_reader_.HasKey(key), kInvalidArgument) << "not in --utt2spk";
      speaker = utt2spk_reader_.Value(key);
    } else if (!f_.spk2utt.empty()) {
      auto it = spk_of_utt_.find(key);
      KQ_CHECK(it != spk_of_utt_.end(), kInvalidArgument) << "not in --spk2utt";
      speaker = it->second;
    }
    input->online_ivectors = extractor_->Compute(speaker, input->feats);
    return;
  }
  if (!f_.ivectors.empty()) {
    std::string ikey = key;
    if (!f_.utt2spk.empty()) {
      KQ_CHECK(utt2spk_reader_.HasKey(key), kInvalidArgument) << "not in --utt2spk";
      ikey = utt2spk_reader_.Value(key);
    }
    KQ_CHECK(ivector_reader_.HasKey(ikey), kInvalidArgument)
        << "no i-vector available (key '" << ikey << "')";
    input->ivector = ivector_reader_.Value(ikey);
  }
  if (!f_.online_ivectors.empty()) {
    KQ_CHECK(online_reader_.HasKey(key), kInvalidArgument) << "no online i-vector available";
    input->online_ivectors = online_reader_.Value(key);
  }
}

int64_t ForEachUtterance(
    const std::string& cmd, const std::string& features, const UtteranceFlags& f,
    int64_t max_utts, bool quiet,
    const std::function<void(const std::string&, const UtteranceInput&)>& fn) {
  KQ_CHECK(f.ivectors.empty() || f.online_ivectors.empty(), kInvalidArgument)
      << "give either --ivectors or --online-ivectors, not both";
  KQ_CHECK(f.online_ivectors.empty() || f.opts.online_ivector_period > 0, kInvalidArgument)
      << "--online-ivectors needs --online-ivector-period";
  KQ_CHECK(f.ivector_extraction_config.empty() && f.spk2utt.empty(), kInvalidArgument)
      << "--ivector-extraction-config / --spk2utt are supported by forward and recognize only "
         "(use ivector-extract-online2 and --online-ivectors here)";
  kaldi::SequentialMatrixReader reader(features);
  IvectorLookup lookup(f);
  Progress progress(cmd, max_utts > 0 ? max_utts : -1, quiet);
  int64_t ok = 0, failed = 0;
  for (; !reader.Done() && (max_utts <= 0 || ok < max_utts); reader.Next()) {
    const std::string key = reader.Key();
    try {
      UtteranceInput input;
      input.feats = reader.Value();
      lookup.Get(key, &input);
      fn(key, input);
      ++ok;
    } catch (const Error& e) {
      std::fprintf(stderr, "kaldiq %s: warning: utterance '%s': %s (skipped)\n", cmd.c_str(),
                   SanitizeForTerminal(key).c_str(), SanitizeForTerminal(e.what()).c_str());
      ++failed;
    }
    progress.Add(1);
  }
  progress.Finish();
  KQ_CHECK(ok > 0, kInvalidArgument) << "no utterance succeeded (" << failed << " failed)";
  return ok;
}

}  // namespace kaldiq::cli
