// Parity with Kaldi's ivector-extract-online2 on the 60 dev utterances of
// ../shared/fixtures/audio (extractor/ivector_extractor.conf, kaldi/mfcc_hires.ark):
// kaldi/ivectors_online_utt.ark (each utterance its own speaker) and
// kaldi/ivectors_online_spk.ark (adaptation across each speaker's utterances, spk2utt order).
//
// Tolerances (relative Frobenius error, per utterance and over all utterances): 1e-3, except
// for the first row of an utterance that starts from a previous utterance's adaptation state.
// That row is 15 conjugate-gradient iterations from [prior_offset, 0, ...] on a poorly
// conditioned system (count ~100 after LimitFrames, |b_0| ~ 800): its result is chaotic in the
// arithmetic - perturbing the statistics by 1e-12 relative moves it by up to 2e-3 relative,
// and Kaldi's own value sits ~1e-2 from ours - so no implementation without Kaldi's exact
// floating-point order can match it. Those rows are held to 2e-2, and their utterances to 5e-3.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <string>

#include "testutil/relative_error.h"
#include "testutil/scoped_chdir.h"
#include "ivector/ivector_extract.h"
#include "ivector/online_ivector_feature.h"
#include "kaldi/table.h"

namespace kaldiq::ivector {
namespace {

const std::string kDir = std::string(KQ_SHARED_DIR) + "/fixtures/audio";

using kaldiq::testing::ScopedChdir;  // relative paths in Kaldi configs (testutil/scoped_chdir.h)

using Errors = kaldiq::testing::RelativeError;

void CheckParity(const std::string& spk2utt, const std::string& reference, bool adapted) {
  ScopedChdir cd(kDir);
  ASSERT_TRUE(cd.ok());
  auto info = LoadIvectorExtractorForBatch("extractor/ivector_extractor.conf");
  kaldi::SequentialTokenVectorReader spk(spk2utt);
  kaldi::RandomAccessMatrixReader feats("ark:kaldi/mfcc_hires.ark");
  kaldi::RandomAccessMatrixReader ref(reference);
  Errors total;
  double worst = 0, worst_rest = 0, worst_row0 = 0;
  std::string worst_utt;
  int64_t utts = 0;
  for (; !spk.Done(); spk.Next()) {
    OnlineIvectorAdaptationState state(*info);
    bool first = true;
    for (const std::string& utt : spk.Value()) {
      MatrixF got = ExtractOnlineIvectors(*info, feats.Value(utt), false, &state);
      const MatrixF& want = ref.Value(utt);
      ASSERT_EQ(got.rows(), want.rows()) << utt;
      ASSERT_EQ(got.cols(), want.cols()) << utt;
      Errors e, rest, row0;
      e.Add(got.data(), want.data(), got.size());
      row0.Add(got.Row(0), want.Row(0), got.cols());
      rest.Add(got.Row(1), want.Row(1), got.size() - got.cols());
      total.Add(got.data(), want.data(), got.size());
      const bool chaotic_row0 = adapted && !first;
      EXPECT_LE(e.Rel(), chaotic_row0 ? 5e-3 : 1e-3) << utt;
      EXPECT_LE(rest.Rel(), 1e-3) << utt;
      EXPECT_LE(row0.Rel(), chaotic_row0 ? 2e-2 : 1e-3) << utt;
      if (e.Rel() > worst) {
        worst = e.Rel();
        worst_utt = utt;
      }
      worst_rest = std::max(worst_rest, rest.Rel());
      worst_row0 = std::max(worst_row0, row0.Rel());
      first = false;
      ++utts;
    }
  }
  EXPECT_EQ(utts, 60);
  EXPECT_LE(total.Rel(), 1e-3);
  std::printf("%s: overall relative Frobenius error %.2e; worst utterance %.2e (%s); worst "
              "without row 0 %.2e; worst row 0 %.2e\n",
              reference.c_str(), total.Rel(), worst, worst_utt.c_str(), worst_rest, worst_row0);
}

bool HaveFixtures() { return std::ifstream(kDir + "/kaldi/ivectors_online_spk.ark").good(); }

TEST(IvectorParity, PerUtteranceIvectorsMatchKaldi) {
  if (!HaveFixtures()) GTEST_SKIP() << "needs ../shared fixtures (" << kDir << ")";
  CheckParity("ark:kaldi/utt2utt", "ark:kaldi/ivectors_online_utt.ark", /*adapted=*/false);
}

TEST(IvectorParity, SpeakerAdaptedIvectorsMatchKaldi) {
  if (!HaveFixtures()) GTEST_SKIP() << "needs ../shared fixtures (" << kDir << ")";
  CheckParity("ark:spk2utt", "ark:kaldi/ivectors_online_spk.ark", /*adapted=*/true);
}

// Streaming the real features in chunks (as online decoding will) gives the whole-utterance
// i-vectors bit for bit: the GEMMs' per-row results must not depend on the chunk size.
TEST(IvectorParity, ChunkedFeedingIsBitIdenticalOnRealFeatures) {
  if (!HaveFixtures()) GTEST_SKIP() << "needs ../shared fixtures (" << kDir << ")";
  ScopedChdir cd(kDir);
  ASSERT_TRUE(cd.ok());
  auto info = LoadIvectorExtractorForBatch("extractor/ivector_extractor.conf");
  kaldi::SequentialMatrixReader feats("ark:kaldi/mfcc_hires.ark");
  for (int n = 0; n < 5 && !feats.Done(); ++n, feats.Next()) {
    const MatrixF& x = feats.Value();
    OnlineIvectorAdaptationState fresh(*info);
    const MatrixF whole = ExtractOnlineIvectors(*info, x, false, &fresh);
    for (int64_t chunk : {1, 7, 160}) {
      OnlineIvectorFeature f(*info);
      for (int64_t t = 0; t < x.rows(); t += chunk)
        f.AcceptFeatures(x.Row(t), std::min(chunk, x.rows() - t), x.cols());
      f.InputFinished();
      std::vector<float> iv(f.Dim());
      for (int64_t i = 0; i < whole.rows(); ++i) {
        f.GetFrame(i * info->ivector_period, iv.data());
        for (int64_t k = 0; k < whole.cols(); ++k)
          ASSERT_EQ(iv[k], whole(i, k)) << feats.Key() << " chunk " << chunk << " row " << i;
      }
    }
  }
}

}  // namespace
}  // namespace kaldiq::ivector
