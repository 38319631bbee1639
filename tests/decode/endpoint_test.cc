// Kaldi's endpoint rules (online2/online-endpoint.cc) at their thresholds, with synthetic
// (frames decoded, trailing silence, relative cost) triples; times are compared in seconds
// (0.5 s at a 0.03 s frame shift is 16.67 frames: 16 frames do not reach it, 17 do).
#include "decode/endpoint.h"

#include <gtest/gtest.h>

#include <limits>

#include "util/error.h"

namespace kaldiq::decode {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kShift = 0.03f;

TEST(Endpoint, NothingDecodedIsNoEndpoint) {
  EndpointConfig c;
  c.rule1.min_trailing_silence = 0.0f;  // would fire on anything
  EXPECT_FALSE(EndpointDetected(c, 0, 0, kShift, 0.0f));
}

TEST(Endpoint, Rule1LongSilenceEvenWithoutSpeech) {
  EndpointConfig c;  // Kaldi's defaults
  // 5 s of silence only = 166.67 frames: 166 frames are not enough, 167 are.
  EXPECT_FALSE(EndpointDetected(c, 166, 166, kShift, kInf));
  EXPECT_TRUE(EndpointDetected(c, 167, 167, kShift, kInf));
}

TEST(Endpoint, Rule2ShortSilenceAtAGoodFinalState) {
  EndpointConfig c;
  // 2 s decoded, 0.5 s = 16.67 frames of trailing silence, relative cost <= 2.
  EXPECT_FALSE(EndpointDetected(c, 67, 16, kShift, 1.0f));
  EXPECT_TRUE(EndpointDetected(c, 67, 17, kShift, 1.0f));
  EXPECT_TRUE(EndpointDetected(c, 67, 17, kShift, 2.0f));
  EXPECT_FALSE(EndpointDetected(c, 67, 17, kShift, 2.5f));  // rule3 needs 1 s
  // Silence only: rule2 needs non-silence.
  EXPECT_FALSE(EndpointDetected(c, 17, 17, kShift, 1.0f));
}

TEST(Endpoint, Rule3AndRule4) {
  EndpointConfig c;
  // rule3: 1 s silence (33.33 frames) with relative cost <= 8.
  EXPECT_FALSE(EndpointDetected(c, 100, 33, kShift, 8.0f));
  EXPECT_TRUE(EndpointDetected(c, 100, 34, kShift, 8.0f));
  EXPECT_FALSE(EndpointDetected(c, 100, 34, kShift, 9.0f));
  // rule4: 2 s silence (66.67 frames), any cost, after speech.
  EXPECT_FALSE(EndpointDetected(c, 200, 66, kShift, kInf));
  EXPECT_TRUE(EndpointDetected(c, 200, 67, kShift, kInf));
}

TEST(Endpoint, Rule5UtteranceTooLongWhenEnabled) {
  EndpointConfig c;
  // On by default: Kaldi's rule5 has must_contain_nonsilence = false, min_trailing_silence =
  // 0, min_utterance_length = 20 s: it fires at 20 s of anything.
  EXPECT_FALSE(EndpointDetected(c, 666, 0, kShift, kInf));  // 19.98 s
  EXPECT_TRUE(EndpointDetected(c, 667, 0, kShift, kInf));   // 20.01 s
  c.rule5.min_utterance_length = 30.0f;
  EXPECT_FALSE(EndpointDetected(c, 667, 0, kShift, kInf));
}

TEST(Endpoint, RuleActivatedFormula) {
  EndpointRule r{true, 0.5f, 2.0f, 1.0f};
  EXPECT_TRUE(r.Activated(0.5f, 2.0f, 1.0f));
  EXPECT_FALSE(r.Activated(0.49f, 2.0f, 1.0f));
  EXPECT_FALSE(r.Activated(0.5f, 2.01f, 1.0f));
  EXPECT_FALSE(r.Activated(0.5f, 2.0f, 0.99f));
  EXPECT_FALSE(r.Activated(1.0f, 0.0f, 1.0f));  // all silence: no non-silence
  r.must_contain_nonsilence = false;
  EXPECT_TRUE(r.Activated(1.0f, 0.0f, 1.0f));
}

TEST(Endpoint, SilencePhones) {
  EndpointConfig c;
  EXPECT_THROW(c.SilencePhones(), Error);  // required when endpointing
  c.silence_phones = "5:1:3";
  EXPECT_EQ(c.SilencePhones(), (std::vector<int32_t>{1, 3, 5}));
  for (const char* bad : {"1::2", "1:2:", "a", "1:1", "0", "-1"}) {
    c.silence_phones = bad;
    EXPECT_THROW(c.SilencePhones(), Error) << bad;
  }
}

}  // namespace
}  // namespace kaldiq::decode
