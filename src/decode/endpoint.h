// Endpoint detection exactly as Kaldi's online2 (online2/online-endpoint.{h,cc}): an utterance
// ends when any of five rules fires on (utterance length, trailing silence, relative cost).
//
// A rule fires when
//   (contains_nonsilence || !must_contain_nonsilence) && trailing_silence >= min_trailing_silence
//   && relative_cost <= max_relative_cost && utterance_length >= min_utterance_length,
// with utterance_length = frames decoded × frame shift, trailing_silence = the frames at the end
// of the best path (no final probabilities) whose transition ids belong to silence phones,
// counted back to the first non-silence frame, × frame shift (seconds, compared in seconds),
// contains_nonsilence = utterance_length > trailing_silence, relative_cost = the decoder's
// FinalRelativeCost() (infinite when no final state is active). Nothing decoded: no endpoint.
// The frame shift is the decoder's (feature shift × frame-subsampling factor: 0.03 s for chain).
//
// Kaldi's defaults (OnlineEndpointConfig):
//   rule1  false  5.0 s  inf  0       (long silence, even with nothing said)
//   rule2  true   0.5 s  2.0  0       (short silence after speech, at a good final state)
//   rule3  true   1.0 s  8.0  0
//   rule4  true   2.0 s  inf  0
//   rule5  false  0.0 s  inf  20.0 s  (utterance too long)
// Options: --endpoint.silence-phones (colon list, required when endpointing: Kaldi asserts,
// kaldiq throws) and --endpoint.ruleN.{must-contain-nonsilence,min-trailing-silence,
// max-relative-cost,min-utterance-length}.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace kaldiq::kaldi {
class OptionTable;
class TransitionModel;
}  // namespace kaldiq::kaldi

namespace kaldiq::decode {

struct EndpointRule {
  bool must_contain_nonsilence = true;
  float min_trailing_silence = 1.0f;
  float max_relative_cost = std::numeric_limits<float>::infinity();
  float min_utterance_length = 0.0f;

  // Kaldi's RuleActivated (all times in seconds).
  bool Activated(float trailing_silence, float relative_cost, float utterance_length) const;
};

struct EndpointConfig {
  std::string silence_phones;  // "1:2:3:4:5:6:7:8:9:10"
  EndpointRule rule1{false, 5.0f, std::numeric_limits<float>::infinity(), 0.0f};
  EndpointRule rule2{true, 0.5f, 2.0f, 0.0f};
  EndpointRule rule3{true, 1.0f, 8.0f, 0.0f};
  EndpointRule rule4{true, 2.0f, std::numeric_limits<float>::infinity(), 0.0f};
  EndpointRule rule5{false, 0.0f, std::numeric_limits<float>::infinity(), 20.0f};

  // --endpoint.silence-phones and --endpoint.ruleN.* (Kaldi's names and help).
  void Register(kaldi::OptionTable* table);
  // The silence phones, sorted; throws kaldiq::Error (kInvalidArgument) when the list is
  // empty, malformed or has duplicates (Kaldi: "Bad --silence-phones option", assertions).
  std::vector<int32_t> SilencePhones() const;
};

// Kaldi's EndpointDetected(config, num_frames_decoded, trailing_silence_frames, frame_shift,
// final_relative_cost): the OR of the five rules. False when nothing was decoded.
bool EndpointDetected(const EndpointConfig& config, int32_t num_frames_decoded,
                      int32_t trailing_silence_frames, float frame_shift_in_seconds,
                      float final_relative_cost);

// Kaldi's TrailingSilenceLength on a best-path alignment (one transition id per decoded
// frame): the number of frames at its end whose phone is in `silence_phones` (sorted).
int32_t TrailingSilenceFrames(const kaldi::TransitionModel& tm,
                              const std::vector<int32_t>& silence_phones,
                              const std::vector<int32_t>& alignment);

}  // namespace kaldiq::decode
