#include "kaldi/compressed_matrix.h"

#include <gtest/gtest.h>

#include <cmath>
#include <algorithm>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>

#include "kaldi/basic_io.h"
#include "kaldi/matrix_io.h"
#include "kaldi/table.h"
#include "test_util.h"
#include "util/error.h"

namespace kaldiq::kaldi {
namespace {

using kaldiq::testing::ReadFileBytes;
using kaldiq::testing::TestData;

MatrixF FirstFeatures() {
  SequentialMatrixReader r(std::string("ark:") + TestData("tdnn-seed/dev60/feats.ark"));
  return r.Value();
}

std::string Serialize(const CompressedMatrix& c) {
  std::ostringstream os;
  c.Write(os, true);
  return os.str();
}

// Largest |x - decompress(compress(x))| allowed for each format: half a quantisation step (Kaldi
// rounds with +0.499, so up to 0.501 of a step) plus float slack. For the column-header format the step depends on the column's percentile
// intervals, which we recompute from the stored header bytes.
double AllowedError(const CompressedMatrix& c, const std::string& bytes, int64_t col) {
  std::string token = bytes.substr(0, bytes.find(' '));
  float min_value, range;
  std::memcpy(&min_value, bytes.data() + token.size() + 1, 4);
  std::memcpy(&range, bytes.data() + token.size() + 5, 4);
  if (c.format() == CompressedMatrix::kTwoByte) return range / 65535.0 * 0.51 + 1e-6 * range;
  if (c.format() == CompressedMatrix::kOneByte) return range / 255.0 * 0.51 + 1e-6 * range;
  uint16_t p[4];
  std::memcpy(p, bytes.data() + token.size() + 1 + 16 + 8 * col, 8);
  auto v = [&](uint16_t q) { return min_value + range * (q / 65535.0); };
  double step = std::max({(v(p[1]) - v(p[0])) / 64, (v(p[2]) - v(p[1])) / 128,
                          (v(p[3]) - v(p[2])) / 63});
  // Values outside [p0, p100] (none for speech features, which set p0/p100 from the data) or
  // rounding of the uint16 percentiles add at most one uint16 step.
  return 0.5 * step + range / 65535.0 + 1e-6 * range;
}

TEST(CompressedMatrix, AllMethodsWithinQuantisationErrorAndByteStable) {
  MatrixF feats = FirstFeatures();
  ASSERT_GT(feats.rows(), 8);
  // Scale into [0, 1] for the methods with fixed ranges.
  MatrixF unit(feats.rows(), feats.cols());
  float mn = feats.data()[0], mx = feats.data()[0];
  for (int64_t i = 0; i < feats.size(); ++i) {
    mn = std::min(mn, feats.data()[i]);
    mx = std::max(mx, feats.data()[i]);
  }
  for (int64_t i = 0; i < feats.size(); ++i) unit.data()[i] = (feats.data()[i] - mn) / (mx - mn);
  struct Case {
    int method;
    const MatrixF* m;
    CompressedMatrix::Format format;
    const char* token;
  } cases[] = {
      {1, &feats, CompressedMatrix::kOneByteWithColHeaders, "CM"},
      {2, &feats, CompressedMatrix::kOneByteWithColHeaders, "CM"},
      {3, &feats, CompressedMatrix::kTwoByte, "CM2"},
      {4, &feats, CompressedMatrix::kTwoByte, "CM2"},
      {5, &feats, CompressedMatrix::kOneByte, "CM3"},
      {6, &unit, CompressedMatrix::kOneByte, "CM3"},
      {7, &unit, CompressedMatrix::kOneByte, "CM3"},
  };
  for (const Case& c : cases) {
    CompressedMatrix cm = CompressedMatrix::Compress(*c.m, static_cast<CompressionMethod>(c.method));
    EXPECT_EQ(cm.format(), c.format) << "method " << c.method;
    std::string bytes = Serialize(cm);
    EXPECT_EQ(bytes.substr(0, bytes.find(' ')), c.token);
    MatrixF out;
    std::istringstream is(bytes);
    ReadMatrix(is, true, &out);  // through the generic matrix reader, as tables do
    ASSERT_EQ(out.rows(), c.m->rows());
    ASSERT_EQ(out.cols(), c.m->cols());
    double worst_excess = -1;
    for (int64_t col = 0; col < out.cols(); ++col) {
      double allowed = AllowedError(cm, bytes, col);
      // Method 4 maps [-32768, 32767]: features are far inside, so its step (1.0) applies.
      for (int64_t r = 0; r < out.rows(); ++r) {
        double err = std::fabs(double(out(r, col)) - (*c.m)(r, col));
        worst_excess = std::max(worst_excess, err - allowed);
      }
    }
    EXPECT_LE(worst_excess, 0.0) << "method " << c.method;
    // Reading the bytes back and writing them again gives the same bytes.
    CompressedMatrix again;
    std::istringstream is2(bytes);
    again.Read(is2, true);
    EXPECT_TRUE(Serialize(again) == bytes) << "method " << c.method;
    // And compression is deterministic.
    EXPECT_TRUE(Serialize(CompressedMatrix::Compress(*c.m, static_cast<CompressionMethod>(c.method))) ==
                bytes);
  }
}

TEST(CompressedMatrix, SmallAndDegenerateMatrices) {
  // Automatic method: <= 8 rows -> two-byte format; the speech-feature format handles 1..4 rows.
  for (int rows : {1, 2, 3, 4, 5, 8, 9}) {
    MatrixF m(rows, 3);
    for (int64_t i = 0; i < m.size(); ++i) m.data()[i] = std::sin(0.7 * i) * 3;
    CompressedMatrix a = CompressedMatrix::Compress(m);
    EXPECT_EQ(a.format(), rows > 8 ? CompressedMatrix::kOneByteWithColHeaders : CompressedMatrix::kTwoByte);
    CompressedMatrix s = CompressedMatrix::Compress(m, CompressionMethod::kSpeechFeature);
    MatrixF out;
    s.CopyToMatrix(&out);
    for (int64_t i = 0; i < m.size(); ++i) EXPECT_NEAR(out.data()[i], m.data()[i], 0.1) << rows;
  }
  MatrixF constant(10, 2);
  for (int64_t i = 0; i < constant.size(); ++i) constant.data()[i] = -2.5f;
  MatrixF out;
  CompressedMatrix::Compress(constant).CopyToMatrix(&out);
  for (int64_t i = 0; i < out.size(); ++i) EXPECT_NEAR(out.data()[i], -2.5f, 0.05);
  // Empty matrices: "CM " + zero header, read back as empty.
  std::string bytes = Serialize(CompressedMatrix::Compress(MatrixF()));
  EXPECT_EQ(bytes, std::string("CM ") + std::string(20, '\0'));
  std::istringstream is(bytes + "next");
  MatrixF e;
  ReadMatrix(is, true, &e);
  EXPECT_EQ(e.rows(), 0);
  EXPECT_EQ(is.peek(), 'n');
}

TEST(CompressedMatrix, RefusesNanAndBadMethods) {
  MatrixF m(10, 2);
  m(3, 1) = NAN;
  EXPECT_THROW(CompressedMatrix::Compress(m), Error);
  EXPECT_THROW(CompressedMatrix::Compress(MatrixF(2, 2), static_cast<CompressionMethod>(9)), Error);
}

TEST(CompressedMatrix, CorruptHeadersAreErrors) {
  CompressedMatrix cm = CompressedMatrix::Compress(FirstFeatures());
  std::string bytes = Serialize(cm);
  // Truncated payload.
  {
    std::istringstream is(bytes.substr(0, bytes.size() - 10));
    MatrixF out;
    EXPECT_THROW(ReadMatrix(is, true, &out), Error);
  }
  // Declared 2^30 rows in a small stream: refused before allocating.
  {
    std::string bad = bytes;
    int32_t rows = 1 << 30;
    std::memcpy(&bad[3 + 8], &rows, 4);
    std::istringstream is(bad);
    MatrixF out;
    try {
      ReadMatrix(is, true, &out);
      FAIL() << "no error";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("remain"), std::string::npos) << e.what();
    }
  }
  // Unknown token.
  {
    std::istringstream is(std::string("CM4 ") + std::string(16, '\0'));
    MatrixF out;
    EXPECT_THROW(ReadMatrix(is, true, &out), Error);
  }
}

// A header holding NaN / Inf (or a range whose maximum overflows float) is refused -- it used to
// decompress to NaN and copy-feats reported success -- and the table error names the key.
TEST(CompressedMatrix, NonFiniteHeaderIsRefusedNamingTheKey) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  const struct {
    const char* token;
    float min, range;
  } cases[] = {{"CM", nan, 1.0f}, {"CM2", 0.0f, inf}, {"CM3", 1.0f, nan}, {"CM", 3e38f, 3e38f}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.token);
    std::string header(16, '\0');
    const int32_t rows = 2, cols = 2;
    std::memcpy(&header[0], &c.min, 4);
    std::memcpy(&header[4], &c.range, 4);
    std::memcpy(&header[8], &rows, 4);
    std::memcpy(&header[12], &cols, 4);
    const std::string payload(std::string(c.token) == "CM" ? 2 * (8 + 2) : 8, '\x40');
    const std::string path = ::testing::TempDir() + "/kq_cm_nan.ark";
    {
      std::ofstream f(path, std::ios::binary);
      f << "utt7 " << std::string("\0B", 2) << c.token << ' ' << header << payload;
    }
    try {
      SequentialMatrixReader r("ark:" + path);
      FAIL() << "accepted, first value " << r.Value()(0, 0);
    } catch (const Error& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find("key 'utt7'"), std::string::npos) << msg;
      EXPECT_NE(msg.find("invalid value range"), std::string::npos) << msg;
    }
  }
}

// Compression with the integer methods converted NaN / huge values to int (undefined); every
// method now refuses non-finite values, and huge finite ones stay defined (clamped as Kaldi's
// code does for in-range ones).
TEST(CompressedMatrix, EveryMethodRefusesNanAndClampsHugeValues) {
  for (int method = 1; method <= 7; ++method) {
    SCOPED_TRACE(method);
    MatrixF m(2, 2);
    m(0, 1) = std::numeric_limits<float>::quiet_NaN();
    EXPECT_THROW(CompressedMatrix::Compress(m, static_cast<CompressionMethod>(method)), Error);
  }
  MatrixF big(1, 2);
  big(0, 0) = 1e30f;
  big(0, 1) = -1e30f;
  for (auto method : {CompressionMethod::kTwoByteSignedInteger,
                      CompressionMethod::kOneByteUnsignedInteger, CompressionMethod::kOneByteZeroOne}) {
    MatrixF back;
    CompressedMatrix::Compress(big, method).CopyToMatrix(&back);
    EXPECT_GT(back(0, 0), back(0, 1));  // clamped to the top and bottom of the grid
  }
  // A range that overflows float is refused rather than written as an Inf header.
  MatrixF wide(1, 2);
  wide(0, 0) = 3e38f;
  wide(0, 1) = -3e38f;
  EXPECT_THROW(CompressedMatrix::Compress(wide, CompressionMethod::kTwoByteAuto), Error);
  EXPECT_NO_THROW(CompressedMatrix::Compress(big, CompressionMethod::kTwoByteAuto));
}

// Kaldi-written compressed matrices: the chain egs in ../shared hold "CM" feature chunks
// written by Kaldi. We read them (read/write must be the identity on their bytes), decompress,
// and re-compress the decompressed values with the speech-feature method. Kaldi's scheme is
// almost idempotent, so most re-compressions must equal Kaldi's bytes exactly -- a check of our
// compressor against Kaldi's. Known, legitimate exceptions (measured: 7 of 400): chunks whose
// column headers were inherited from a larger matrix (Kaldi's sub-range constructor keeps the
// parent's percentiles), and a 1-ulp change of the global range when the decompressed min/max
// differ from the original ones.
TEST(CompressedMatrix, KaldiWrittenEgsMatrices) {
  std::string path = std::string(KQ_SHARED_DIR) + "/fixtures/models/tdnn-seed/egs/valid_diagnostic.cegs";
  std::ifstream f(path, std::ios::binary);
  if (!f.good()) GTEST_SKIP() << "needs " << path << " (../shared fixtures)";
  std::string data = ReadFileBytes(path);
  size_t pos = 0;
  int matrices = 0, identical = 0;
  int64_t bytes_total = 0, bytes_equal = 0;
  while ((pos = data.find("<NnetIo> input ", pos)) != std::string::npos && matrices < 400) {
    size_t cm = data.find("CM ", pos);
    ASSERT_NE(cm, std::string::npos);
    std::istringstream is(data.substr(cm, 1 << 20));
    CompressedMatrix kaldi_cm;
    kaldi_cm.Read(is, true);
    std::string kaldi_bytes = Serialize(kaldi_cm);
    ASSERT_TRUE(data.compare(cm, kaldi_bytes.size(), kaldi_bytes) == 0) << "read/write not identity";
    MatrixF values;
    kaldi_cm.CopyToMatrix(&values);
    ASSERT_EQ(values.cols(), 40);
    for (int64_t i = 0; i < values.size(); ++i) ASSERT_TRUE(std::isfinite(values.data()[i]));
    std::string ours = Serialize(CompressedMatrix::Compress(values, CompressionMethod::kSpeechFeature));
    ASSERT_EQ(ours.size(), kaldi_bytes.size());
    bytes_total += static_cast<int64_t>(ours.size());
    for (size_t i = 0; i < ours.size(); ++i) bytes_equal += ours[i] == kaldi_bytes[i];
    identical += ours == kaldi_bytes;
    ++matrices;
    pos = cm;
  }
  ASSERT_GE(matrices, 400);
  std::printf("Kaldi egs CM matrices: %d read; re-compression of their decompressed values: %d "
              "byte-identical, %.4f%% of bytes equal\n",
              matrices, identical, 100.0 * bytes_equal / bytes_total);
  EXPECT_GE(identical, 380);
  EXPECT_GE(double(bytes_equal) / bytes_total, 0.999);
}

}  // namespace
}  // namespace kaldiq::kaldi
