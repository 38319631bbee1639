// Kaldi's feature option files for library code: the --mfcc-config / --fbank-config files that
// online2's feature pipeline and a model directory's conf/mfcc.conf name, read with Kaldi's
// semantics (kaldi/option_table.h: only the struct's own options may appear, last one wins,
// unknown names are errors). The names, defaults and help are Kaldi's Register() of
// FrameExtractionOptions, MelBanksOptions, MfccOptions and FbankOptions (feat/feature-*.h).
// (The compute-*-feats commands bind the same options to the command line in
// tools/kaldiq/feature_flags.cc.)
#pragma once

#include <string>

#include "feat/feature_options.h"

namespace kaldiq::kaldi {
class OptionTable;
}

namespace kaldiq::online {

void RegisterFrameExtractionOptions(kaldi::OptionTable* table, feat::FrameExtractionOptions* o);
void RegisterMelBanksOptions(kaldi::OptionTable* table, feat::MelBanksOptions* o);
void RegisterMfccOptions(kaldi::OptionTable* table, feat::MfccOptions* o);
void RegisterFbankOptions(kaldi::OptionTable* table, feat::FbankOptions* o);

// Kaldi's ReadConfigFromFile(path, &opts) for the MFCC / fbank options, starting from Kaldi's
// defaults; then Validate(). Throws kaldiq::Error naming the file and option.
feat::MfccOptions ReadMfccConfig(const std::string& path);
feat::FbankOptions ReadFbankConfig(const std::string& path);

}  // namespace kaldiq::online
