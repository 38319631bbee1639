#include "kaldi/matrix_io.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <sstream>
#include <string>

#include "kaldi/basic_io.h"
#include "util/error.h"

namespace kaldiq::kaldi {
namespace {

MatrixF MakeMatrix(int rows, int cols) {
  MatrixF m(rows, cols);
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c) m(r, c) = 0.125f * r - 1.7f * c + 1e-3f * r * c;
  return m;
}

template <typename A, typename B>
void ExpectSameMatrix(const A& a, const B& b) {
  ASSERT_EQ(a.rows(), b.rows());
  ASSERT_EQ(a.cols(), b.cols());
  for (int64_t i = 0; i < a.size(); ++i) EXPECT_EQ(a.data()[i], b.data()[i]) << "element " << i;
}

TEST(MatrixIo, BinaryLayoutIsKaldis) {
  MatrixF m(2, 3);
  for (int i = 0; i < 6; ++i) m.data()[i] = static_cast<float>(i) - 2.5f;
  std::ostringstream os;
  WriteMatrix(os, true, m);
  std::string s = os.str();
  ASSERT_EQ(s.size(), 3u + 5 + 5 + 24);
  EXPECT_EQ(s.substr(0, 3), "FM ");
  EXPECT_EQ(s[3], 4);
  int32_t rows, cols;
  std::memcpy(&rows, s.data() + 4, 4);
  std::memcpy(&cols, s.data() + 9, 4);
  EXPECT_EQ(rows, 2);
  EXPECT_EQ(cols, 3);
  float f;
  std::memcpy(&f, s.data() + 13 + 4 * 5, 4);
  EXPECT_EQ(f, 2.5f);
}

TEST(MatrixIo, TextLayoutIsKaldis) {
  MatrixF m(2, 2);
  m(0, 0) = 1;
  m(0, 1) = 2.5f;
  m(1, 0) = 1.0f / 3.0f;
  m(1, 1) = -4;
  std::ostringstream os;
  WriteMatrix(os, false, m);
  EXPECT_EQ(os.str(), " [\n  1 2.5 \n  0.3333333 -4 ]\n");
  std::ostringstream empty;
  WriteMatrix(empty, false, MatrixF());
  EXPECT_EQ(empty.str(), " [ ]\n");
  std::ostringstream vs;
  WriteVector(vs, false, std::vector<float>{1.0f, -0.5f, 1e-8f});
  EXPECT_EQ(vs.str(), " [ 1 -0.5 1e-08 ]\n");
}

TEST(MatrixIo, RoundTripBinaryAndText) {
  MatrixF m = MakeMatrix(7, 5);
  for (bool binary : {true, false}) {
    std::stringstream ss;
    WriteMatrix(ss, binary, m);
    MatrixF back;
    ReadMatrix(ss, binary, &back);
    ASSERT_EQ(back.rows(), 7);
    ASSERT_EQ(back.cols(), 5);
    for (int64_t i = 0; i < m.size(); ++i) {
      if (binary) {
        EXPECT_EQ(back.data()[i], m.data()[i]);
      } else {
        EXPECT_NEAR(back.data()[i], m.data()[i], 1e-6 * (1 + std::fabs(m.data()[i])));
      }
    }
  }
}

TEST(MatrixIo, ReadsOtherPrecision) {
  MatrixD d(3, 2);
  for (int i = 0; i < 6; ++i) d.data()[i] = 0.1 * i + 1e-9;
  std::stringstream ss;
  WriteMatrix(ss, true, d);
  MatrixF f;
  ReadMatrix(ss, true, &f);
  ASSERT_EQ(f.rows(), 3);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(f.data()[i], static_cast<float>(d.data()[i]));

  std::stringstream sv;
  WriteVector(sv, true, std::vector<float>{1.5f, -2.25f});
  std::vector<double> v;
  ReadVector(sv, true, &v);
  EXPECT_EQ(v, (std::vector<double>{1.5, -2.25}));
}

TEST(MatrixIo, VectorRoundTrip) {
  std::vector<double> v = {1.0 / 3, -7.25, 1e10};
  for (bool binary : {true, false}) {
    std::stringstream ss;
    WriteVector(ss, binary, v);
    std::vector<double> back;
    ReadVector(ss, binary, &back);
    ASSERT_EQ(back.size(), 3u);
    for (int i = 0; i < 3; ++i) EXPECT_NEAR(back[i], v[i], binary ? 0 : 1e-6 * std::fabs(v[i]));
  }
}

TEST(MatrixIo, TextReadToleratesKaldiVariants) {
  std::istringstream is("[]\n [ 1 2\n 3 4 ]\n [ inf -inf nan ]\n");
  MatrixF a, b;
  ReadMatrix(is, false, &a);
  EXPECT_EQ(a.rows(), 0);
  ReadMatrix(is, false, &b);
  ASSERT_EQ(b.rows(), 2);
  EXPECT_EQ(b(1, 1), 4.0f);
  std::vector<float> v;
  ReadVector(is, false, &v);
  ASSERT_EQ(v.size(), 3u);
  EXPECT_TRUE(std::isinf(v[0]) && v[0] > 0);
  EXPECT_TRUE(std::isinf(v[1]) && v[1] < 0);
  EXPECT_TRUE(std::isnan(v[2]));
}

TEST(MatrixIo, RaggedTextMatrixIsError) {
  std::istringstream is(" [\n  1 2 \n  3 ]\n");
  MatrixF m;
  EXPECT_THROW(ReadMatrix(is, false, &m), Error);
}

TEST(MatrixIo, WrongTokenIsError) {
  std::istringstream is(std::string("XM \x04\x01\x00\x00\x00\x04\x01\x00\x00\x00", 13));
  MatrixF m;
  try {
    ReadMatrix(is, true, &m);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("expected token FM"), std::string::npos) << e.what();
  }
}

TEST(MatrixIo, TruncatedDataIsError) {
  std::ostringstream os;
  WriteMatrix(os, true, MakeMatrix(10, 4));
  std::string s = os.str();
  std::istringstream is(s.substr(0, s.size() - 7));
  MatrixF m;
  try {
    ReadMatrix(is, true, &m);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("remain"), std::string::npos) << e.what();
  }
}

TEST(MatrixIo, HugeDeclaredSizeRefusedBeforeAllocating) {
  // 2^30 x 2^30 floats declared in a 13-byte stream: must be refused, not allocated.
  std::string s("FM \x04\x00\x00\x00\x40\x04\x00\x00\x00\x40", 13);
  std::istringstream is(s);
  MatrixF m;
  try {
    ReadMatrix(is, true, &m);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Error::Code::kFormat);
    EXPECT_NE(std::string(e.what()).find("1073741824 x 1073741824"), std::string::npos) << e.what();
  }
  std::string v("FV \x04\xff\xff\xff\x7f", 8);
  std::istringstream iv(v);
  std::vector<float> vec;
  EXPECT_THROW(ReadVector(iv, true, &vec), Error);
}

TEST(MatrixIo, NegativeSizeIsError) {
  std::string s("DM \x04\xff\xff\xff\xff\x04\x01\x00\x00\x00", 13);
  std::istringstream is(s);
  MatrixD m;
  EXPECT_THROW(ReadMatrix(is, true, &m), Error);
}

}  // namespace
}  // namespace kaldiq::kaldi
