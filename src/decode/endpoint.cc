#include "decode/endpoint.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>

#include "kaldi/option_table.h"
#include "kaldi/transition_model.h"
#include "util/error.h"

namespace kaldiq::decode {

namespace {

void RegisterRule(const std::string& prefix, EndpointRule* rule, kaldi::OptionTable* t) {
  t->Register(prefix + ".must-contain-nonsilence", &rule->must_contain_nonsilence,
              "If true, for this endpointing rule to apply there must be nonsilence in the "
              "best-path traceback.");
  t->Register(prefix + ".min-trailing-silence", &rule->min_trailing_silence,
              "This endpointing rule requires duration of trailing silence(in seconds) to be "
              ">= this value.");
  t->Register(prefix + ".max-relative-cost", &rule->max_relative_cost,
              "This endpointing rule requires relative-cost of final-states to be <= this "
              "value (describes how good the probability of final-states is).");
  t->Register(prefix + ".min-utterance-length", &rule->min_utterance_length,
              "This endpointing rule requires utterance-length (in seconds) to be >= this "
              "value.");
}

}  // namespace

bool EndpointRule::Activated(float trailing_silence, float relative_cost,
                             float utterance_length) const {
  const bool contains_nonsilence = utterance_length > trailing_silence;
  return (contains_nonsilence || !must_contain_nonsilence) &&
         trailing_silence >= min_trailing_silence && relative_cost <= max_relative_cost &&
         utterance_length >= min_utterance_length;
}

void EndpointConfig::Register(kaldi::OptionTable* t) {
  t->Register("endpoint.silence-phones", &silence_phones,
              "List of phones that are considered to be silence phones by the endpointing "
              "code.");
  RegisterRule("endpoint.rule1", &rule1, t);
  RegisterRule("endpoint.rule2", &rule2, t);
  RegisterRule("endpoint.rule3", &rule3, t);
  RegisterRule("endpoint.rule4", &rule4, t);
  RegisterRule("endpoint.rule5", &rule5, t);
}

std::vector<int32_t> EndpointConfig::SilencePhones() const {
  KQ_CHECK(!silence_phones.empty(), kInvalidArgument)
      << "endpointing requires a nonempty --endpoint.silence-phones option (e.g. the contents "
         "of lang/phones/silence.csl)";
  std::vector<int32_t> phones;
  size_t pos = 0;
  while (pos <= silence_phones.size()) {
    size_t end = silence_phones.find(':', pos);
    if (end == std::string::npos) end = silence_phones.size();
    const std::string tok = silence_phones.substr(pos, end - pos);
    errno = 0;
    char* stop = nullptr;
    const long v = std::strtol(tok.c_str(), &stop, 10);
    KQ_CHECK(!tok.empty() && stop && *stop == '\0' && errno == 0 && v > 0 && v < (1L << 30),
             kInvalidArgument)
        << "bad --endpoint.silence-phones option '" << silence_phones
        << "' (expected phone ids > 0 separated by ':')";
    phones.push_back(static_cast<int32_t>(v));
    pos = end + 1;
  }
  std::sort(phones.begin(), phones.end());
  KQ_CHECK(std::adjacent_find(phones.begin(), phones.end()) == phones.end(), kInvalidArgument)
      << "duplicates in --endpoint.silence-phones '" << silence_phones << "'";
  return phones;
}

bool EndpointDetected(const EndpointConfig& config, int32_t num_frames_decoded,
                      int32_t trailing_silence_frames, float frame_shift_in_seconds,
                      float final_relative_cost) {
  if (num_frames_decoded <= 0) return false;
  KQ_CHECK(trailing_silence_frames >= 0 && trailing_silence_frames <= num_frames_decoded,
           kInternal) << "trailing silence of " << trailing_silence_frames << " frames in "
                      << num_frames_decoded << " decoded frames";
  const float utterance_length = num_frames_decoded * frame_shift_in_seconds;
  const float trailing_silence = trailing_silence_frames * frame_shift_in_seconds;
  for (const EndpointRule* r :
       {&config.rule1, &config.rule2, &config.rule3, &config.rule4, &config.rule5}) {
    if (r->Activated(trailing_silence, final_relative_cost, utterance_length)) return true;
  }
  return false;
}

int32_t TrailingSilenceFrames(const kaldi::TransitionModel& tm,
                              const std::vector<int32_t>& silence_phones,
                              const std::vector<int32_t>& alignment) {
  int32_t n = 0;
  for (auto it = alignment.rbegin(); it != alignment.rend(); ++it) {
    const int32_t phone = tm.TransitionIdToPhone(*it);
    if (!std::binary_search(silence_phones.begin(), silence_phones.end(), phone)) break;
    ++n;
  }
  return n;
}

}  // namespace kaldiq::decode
