// final.ie / final.dubm / packed matrices: Kaldi's files read and written back byte for byte,
// text and binary round trips, and malformed input (every truncation, inconsistent dimensions,
// lying sizes) rejected with kaldiq::Error.
#include "kaldi/ivector_model_io.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <sstream>
#include <string>

#include "kaldi/basic_io.h"
#include "kaldi/matrix_io.h"
#include "kaldi/test_util.h"
#include "util/error.h"

namespace kaldiq::kaldi {
namespace {

const std::string kExtractor = std::string(KQ_SHARED_DIR) + "/fixtures/audio/extractor";

bool Exists(const std::string& p) { return std::ifstream(p).good(); }

PackedMatrixD Packed(int32_t n, double base) {
  PackedMatrixD p;
  p.dim = n;
  for (int32_t i = 0; i < n * (n + 1) / 2; ++i) p.data.push_back(base + 0.25 * i);
  return p;
}

IvectorExtractorFile SmallExtractor() {
  IvectorExtractorFile e;
  e.w_vec = {0.25, 0.75};
  for (int g = 0; g < 2; ++g) {
    MatrixD m(3, 2);
    for (int64_t i = 0; i < m.size(); ++i) m.data()[i] = g + 0.5 * i - 1.0;
    e.M.push_back(m);
    e.sigma_inv.push_back(Packed(3, 1.0 + g));
  }
  e.prior_offset = 100.5;
  return e;
}

DiagGmmFile SmallGmm(bool with_gconsts) {
  DiagGmmFile g;
  g.weights = {0.5f, 0.5f};
  if (with_gconsts) g.gconsts = {-3.5f, -4.25f};
  g.means_invvars.Resize(2, 3);
  g.inv_vars.Resize(2, 3);
  for (int i = 0; i < 6; ++i) {
    g.means_invvars.data()[i] = 0.5f * i - 1.0f;
    g.inv_vars.data()[i] = 1.0f + i;
  }
  return g;
}

std::string ToBytes(const IvectorExtractorFile& e, bool binary) {
  std::ostringstream os;
  WriteBinaryMarker(os, binary);
  WriteIvectorExtractor(os, binary, e);
  return os.str();
}

std::string ToBytes(const DiagGmmFile& g, bool binary) {
  std::ostringstream os;
  WriteBinaryMarker(os, binary);
  WriteDiagGmm(os, binary, g);
  return os.str();
}

IvectorExtractorFile ExtractorFrom(const std::string& bytes) {
  std::istringstream is(bytes);
  bool binary = ReadBinaryMarker(is);
  IvectorExtractorFile e;
  ReadIvectorExtractor(is, binary, &e);
  return e;
}

DiagGmmFile GmmFrom(const std::string& bytes) {
  std::istringstream is(bytes);
  bool binary = ReadBinaryMarker(is);
  DiagGmmFile g;
  ReadDiagGmm(is, binary, &g);
  return g;
}

// rel = 0: bit-identical; else |a - b| <= rel * |a| (text mode keeps 7 significant digits).
void ExpectSame(const IvectorExtractorFile& a, const IvectorExtractorFile& b, double rel = 0) {
  auto near = [rel](double x, double y) { return x == y || std::abs(x - y) <= rel * std::abs(x); };
  ASSERT_EQ(a.NumGauss(), b.NumGauss());
  ASSERT_EQ(a.w_vec.size(), b.w_vec.size());
  for (size_t i = 0; i < a.w_vec.size(); ++i) EXPECT_PRED2(near, a.w_vec[i], b.w_vec[i]);
  EXPECT_PRED2(near, a.prior_offset, b.prior_offset);
  for (int g = 0; g < a.NumGauss(); ++g) {
    ASSERT_EQ(a.M[g].rows(), b.M[g].rows());
    ASSERT_EQ(a.M[g].cols(), b.M[g].cols());
    for (int64_t i = 0; i < a.M[g].size(); ++i) EXPECT_PRED2(near, a.M[g].data()[i], b.M[g].data()[i]);
    ASSERT_EQ(a.sigma_inv[g].dim, b.sigma_inv[g].dim);
    for (size_t i = 0; i < a.sigma_inv[g].data.size(); ++i)
      EXPECT_PRED2(near, a.sigma_inv[g].data[i], b.sigma_inv[g].data[i]);
  }
}

TEST(IvectorModelIo, RoundTripsBothModes) {
  IvectorExtractorFile e = SmallExtractor();
  for (bool binary : {true, false}) {
    std::string bytes = ToBytes(e, binary);
    IvectorExtractorFile back = ExtractorFrom(bytes);
    ExpectSame(e, back);
    EXPECT_EQ(ToBytes(back, binary), bytes);
  }
  for (bool with_gconsts : {true, false}) {
    DiagGmmFile g = SmallGmm(with_gconsts);
    for (bool binary : {true, false}) {
      std::string bytes = ToBytes(g, binary);
      DiagGmmFile back = GmmFrom(bytes);
      EXPECT_EQ(back.weights, g.weights);
      EXPECT_EQ(back.gconsts, g.gconsts);
      EXPECT_EQ(back.Dim(), 3);
      EXPECT_EQ(ToBytes(back, binary), bytes);
    }
  }
}

TEST(IvectorModelIo, PackedTextFormAsKaldiWritesIt) {
  // Kaldi's text packed matrix: "[\n", each row's values followed by a space, "]\n" at the end.
  std::ostringstream os;
  WritePackedMatrix(os, false, Packed(2, 1.0));
  EXPECT_EQ(os.str(), "[\n1 \n1.25 1.5 ]\n");
  std::istringstream is("  [\n1 \n1.25 1.5]\n");
  PackedMatrixD p;
  ReadPackedMatrix(is, false, &p);
  EXPECT_EQ(p.dim, 2);
  EXPECT_EQ(p.data, (std::vector<double>{1, 1.25, 1.5}));
  std::istringstream old_text("DP 2 1 2 3 ");  // Kaldi's older text form
  ReadPackedMatrix(old_text, false, &p);
  EXPECT_EQ(p.data, (std::vector<double>{1, 2, 3}));
  std::istringstream not_triangular("[ 1 2 ]\n");
  EXPECT_THROW(ReadPackedMatrix(not_triangular, false, &p), Error);
  // Single-precision binary packed matrices are converted.
  std::string fp = std::string("FP ") + '\x04' + std::string("\x02\x00\x00\x00", 4);
  for (float v : {1.0f, 2.0f, 3.0f}) fp.append(reinterpret_cast<const char*>(&v), 4);
  std::istringstream fps(fp);
  ReadPackedMatrix(fps, true, &p);
  EXPECT_EQ(p.data, (std::vector<double>{1, 2, 3}));
}

// The bytes after position n are all whitespace (a text file cut there is still complete).
bool OnlySpaceAfter(const std::string& s, size_t n) {
  return s.find_first_not_of(" \n", n) == std::string::npos;
}

TEST(IvectorModelIo, EveryTruncationIsAnError) {
  for (bool binary : {true, false}) {
    std::string bytes = ToBytes(SmallExtractor(), binary);
    for (size_t n = 0; n < bytes.size(); ++n) {
      if (!binary && OnlySpaceAfter(bytes, n)) continue;
      EXPECT_THROW(ExtractorFrom(bytes.substr(0, n)), Error) << "prefix " << n << " binary " << binary;
    }
    std::string gmm = ToBytes(SmallGmm(true), binary);
    for (size_t n = 0; n < gmm.size(); ++n) {
      if (!binary && OnlySpaceAfter(gmm, n)) continue;
      EXPECT_THROW(GmmFrom(gmm.substr(0, n)), Error) << "prefix " << n << " binary " << binary;
    }
  }
}

TEST(IvectorModelIo, InconsistentDimensionsAreErrors) {
  {
    IvectorExtractorFile e = SmallExtractor();
    e.M[1].Resize(3, 3);  // i-vector dimension differs between Gaussians
    EXPECT_THROW(ExtractorFrom(ToBytes(e, true)), Error);
  }
  {
    IvectorExtractorFile e = SmallExtractor();
    e.sigma_inv[1] = Packed(2, 1.0);  // feature dimension differs
    EXPECT_THROW(ExtractorFrom(ToBytes(e, true)), Error);
  }
  {
    IvectorExtractorFile e = SmallExtractor();
    e.w.Resize(2, 3);  // <w> must be G x I
    EXPECT_THROW(ExtractorFrom(ToBytes(e, true)), Error);
    e.w.Resize(2, 2);
    EXPECT_NO_THROW(ExtractorFrom(ToBytes(e, true)));
  }
  {
    IvectorExtractorFile e = SmallExtractor();
    e.w_vec = {1.0};
    EXPECT_THROW(ExtractorFrom(ToBytes(e, false)), Error);
  }
  {
    DiagGmmFile g = SmallGmm(true);
    g.gconsts = {1.0f};
    EXPECT_THROW(GmmFrom(ToBytes(g, true)), Error);
    g = SmallGmm(false);
    g.inv_vars.Resize(2, 4);
    EXPECT_THROW(GmmFrom(ToBytes(g, true)), Error);
    g = SmallGmm(false);
    g.weights = {};
    g.means_invvars.Resize(0, 0);
    g.inv_vars.Resize(0, 0);
    EXPECT_THROW(GmmFrom(ToBytes(g, false)), Error);
  }
}

TEST(IvectorModelIo, LyingSizesAreRejectedBeforeAllocating) {
  // <M> claims 2^31-1 Gaussians in a file of a few bytes.
  std::ostringstream os;
  WriteBinaryMarker(os, true);
  WriteToken(os, true, "<IvectorExtractor>");
  WriteToken(os, true, "<w>");
  WriteMatrix(os, true, MatrixD());
  WriteToken(os, true, "<w_vec>");
  WriteVector(os, true, std::vector<double>());
  WriteToken(os, true, "<M>");
  WriteBasicType<int32_t>(os, true, INT32_MAX);
  EXPECT_THROW(ExtractorFrom(os.str()), Error);
  // A packed matrix of dimension 60000 with no data.
  std::string p = std::string("DP ") + '\x04' + std::string("\x60\xea\x00\x00", 4);
  std::istringstream is(p);
  PackedMatrixD m;
  EXPECT_THROW(ReadPackedMatrix(is, true, &m), Error);
  std::string neg = std::string("DP ") + '\x04' + std::string("\xff\xff\xff\xff", 4);
  std::istringstream isn(neg);
  EXPECT_THROW(ReadPackedMatrix(isn, true, &m), Error);
}

// Random byte corruption (a cheap in-test fuzzer): every outcome is a successful read or a
// kaldiq::Error; anything else (a crash, std::bad_alloc, std::length_error) fails.
TEST(IvectorModelIo, CorruptedBytesGiveErrorsOnly) {
  std::mt19937 rng(1234);
  const std::vector<std::string> seeds = {ToBytes(SmallExtractor(), true),
                                          ToBytes(SmallExtractor(), false),
                                          ToBytes(SmallGmm(true), true), ToBytes(SmallGmm(false), false)};
  for (size_t s = 0; s < seeds.size(); ++s) {
    for (int trial = 0; trial < 1500; ++trial) {
      std::string bytes = seeds[s];
      const int flips = 1 + static_cast<int>(rng() % 4);
      for (int f = 0; f < flips; ++f) {
        size_t at = rng() % bytes.size();
        bytes[at] = static_cast<char>(rng() % 3 == 0 ? 0xff : rng() % 256);
      }
      try {
        if (s < 2) {
          ExtractorFrom(bytes);
        } else {
          GmmFrom(bytes);
        }
      } catch (const Error&) {
      } catch (const std::exception& e) {
        ADD_FAILURE() << "seed " << s << " trial " << trial << ": " << e.what();
      }
    }
  }
}

TEST(IvectorModelIo, KaldiFilesReadAndWriteBackByteIdentical) {
  const std::string ie = kExtractor + "/final.ie", dubm = kExtractor + "/final.dubm";
  if (!Exists(ie) || !Exists(dubm)) GTEST_SKIP() << "needs ../shared fixtures (" << ie << ")";
  IvectorExtractorFile e = ReadIvectorExtractorFile(ie);
  EXPECT_EQ(e.NumGauss(), 64);
  EXPECT_EQ(e.FeatDim(), 40);
  EXPECT_EQ(e.IvectorDim(), 32);
  EXPECT_EQ(e.w.rows(), 0);
  EXPECT_EQ(ToBytes(e, true), testing::ReadFileBytes(ie));
  ExpectSame(e, ExtractorFrom(ToBytes(e, false)), 1e-6);

  DiagGmmFile g = ReadDiagGmmFile(dubm);
  EXPECT_EQ(g.NumGauss(), 64);
  EXPECT_EQ(g.Dim(), 40);
  EXPECT_EQ(ToBytes(g, true), testing::ReadFileBytes(dubm));

  MatrixF mat = ReadMatrixFileF(kExtractor + "/final.mat");
  EXPECT_EQ(mat.rows(), 40);
  EXPECT_EQ(mat.cols(), 40 * 7 + 1);
  MatrixD stats = ReadMatrixFileD(kExtractor + "/global_cmvn.stats");
  EXPECT_EQ(stats.rows(), 2);
  EXPECT_EQ(stats.cols(), 41);
  EXPECT_THROW(ReadIvectorExtractorFile(dubm), Error);  // a GMM is not an extractor
  EXPECT_THROW(ReadDiagGmmFile(kExtractor + "/no-such-file"), Error);
}

}  // namespace
}  // namespace kaldiq::kaldi
