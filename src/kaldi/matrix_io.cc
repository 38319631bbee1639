#include "kaldi/matrix_io.h"

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <type_traits>

#include "kaldi/basic_io.h"
#include "kaldi/compressed_matrix.h"
#include "util/error.h"

namespace kaldiq::kaldi {

int64_t RemainingBytes(std::istream& is) {
  if (!is.good()) return -1;
  std::streambuf* sb = is.rdbuf();
  if (sb == nullptr) return -1;
  std::streampos cur = sb->pubseekoff(0, std::ios_base::cur, std::ios_base::in);
  if (cur == std::streampos(-1)) return -1;
  std::streampos end = sb->pubseekoff(0, std::ios_base::end, std::ios_base::in);
  sb->pubseekpos(cur, std::ios_base::in);
  if (end == std::streampos(-1) || end < cur) return -1;
  return static_cast<int64_t>(end - cur);
}

void CheckPayloadFits(std::istream& is, int64_t needed, const char* what) {
  KQ_CHECK(needed >= 0, kFormat) << what << ": negative size " << DescribePosition(is);
  int64_t remaining = RemainingBytes(is);
  if (remaining >= 0) {
    KQ_CHECK(needed <= remaining, kFormat)
        << what << " declares " << needed << " bytes of data but only " << remaining
        << " bytes remain in the stream (truncated or corrupt) " << DescribePosition(is);
  } else {
    KQ_CHECK(needed <= (int64_t(1) << 40), kFormat)
        << what << " declares an absurd size of " << needed << " bytes " << DescribePosition(is);
  }
}

void ReadExact(std::istream& is, char* dst, int64_t n, const char* what) {
  if (n <= 0) return;
  is.read(dst, static_cast<std::streamsize>(n));
  int64_t got = is.gcount();
  KQ_CHECK(got == n, kFormat) << "truncated " << what << ": expected " << n << " bytes of data, got "
                              << got << " " << DescribePosition(is);
}

void EnsureKaldiPrecision(std::ostream& os) {
  if (os.precision() < 7) os.precision(7);
}

namespace {

template <typename Real>
constexpr const char* MatrixToken() {
  return sizeof(Real) == 4 ? "FM" : "DM";
}
template <typename Real>
constexpr const char* VectorToken() {
  return sizeof(Real) == 4 ? "FV" : "DV";
}

// Reads n elements of raw little-endian Real into dst. On seekable streams the size was already
// checked; on pipes, reads above 16 MiB go through a growing buffer so that memory follows the
// bytes actually delivered, not the declared size.
template <typename Real>
void ReadRawInto(std::istream& is, int64_t n, const char* what, Real* dst) {
  ReadExact(is, reinterpret_cast<char*>(dst), n * static_cast<int64_t>(sizeof(Real)), what);
}

template <typename Real>
void ReadBinaryMatrix(std::istream& is, Matrix<Real>* m) {
  std::string token = ReadToken(is, true);
  KQ_CHECK(token == MatrixToken<Real>(), kFormat)
      << "failed to read matrix: expected token " << MatrixToken<Real>() << ", got '" << QuoteBytes(token)
      << "' " << DescribePosition(is);
  int32_t rows = ReadBasicType<int32_t>(is, true);
  int32_t cols = ReadBasicType<int32_t>(is, true);
  KQ_CHECK(rows >= 0 && cols >= 0, kFormat)
      << "failed to read matrix: invalid size " << rows << " x " << cols << " "
      << DescribePosition(is);
  const int64_t n = static_cast<int64_t>(rows) * cols;
  std::string what = "matrix " + std::to_string(rows) + " x " + std::to_string(cols);
  // n < 2^62; bound it before multiplying by the element size (no overflow).
  KQ_CHECK(n <= (int64_t(1) << 40), kFormat)
      << what << " declares an absurd size " << DescribePosition(is);
  CheckPayloadFits(is, n * static_cast<int64_t>(sizeof(Real)), what.c_str());
  const int64_t kDirectLimit = int64_t(1) << 22;  // elements (16 MiB of float)
  if (n <= kDirectLimit || RemainingBytes(is) >= 0) {
    Matrix<Real> tmp(rows, cols);
    ReadRawInto(is, n, what.c_str(), tmp.data());
    *m = std::move(tmp);
    return;
  }
  std::vector<Real> buf;
  int64_t done = 0;
  while (done < n) {
    int64_t k = std::min(kDirectLimit, n - done);
    buf.resize(static_cast<size_t>(done + k));
    ReadRawInto(is, k, what.c_str(), buf.data() + done);
    done += k;
  }
  Matrix<Real> tmp(rows, cols);
  std::copy(buf.begin(), buf.end(), tmp.data());
  *m = std::move(tmp);
}

template <typename Real>
void ReadBinaryVector(std::istream& is, std::vector<Real>* v) {
  std::string token = ReadToken(is, true);
  KQ_CHECK(token == VectorToken<Real>(), kFormat)
      << "failed to read vector: expected token " << VectorToken<Real>() << ", got '" << QuoteBytes(token)
      << "' " << DescribePosition(is);
  int32_t dim = ReadBasicType<int32_t>(is, true);
  KQ_CHECK(dim >= 0, kFormat) << "failed to read vector: invalid dimension " << dim << " "
                              << DescribePosition(is);
  std::string what = "vector of dimension " + std::to_string(dim);
  CheckPayloadFits(is, static_cast<int64_t>(dim) * static_cast<int64_t>(sizeof(Real)),
                   what.c_str());
  const int64_t kChunk = int64_t(1) << 22;
  std::vector<Real> tmp;
  int64_t done = 0;
  while (done < dim) {
    int64_t k = std::min<int64_t>(kChunk, dim - done);
    tmp.resize(static_cast<size_t>(done + k));
    ReadRawInto(is, k, what.c_str(), tmp.data() + done);
    done += k;
  }
  v->swap(tmp);
}

// --- text mode -------------------------------------------------------------------------

// Reads a whitespace-delimited word (stopping also before ']' so "1.5]" parses as Kaldi does).
std::string ReadNumberWord(std::istream& is) {
  std::string w;
  int c;
  while ((c = is.peek()) != EOF && !std::isspace(c) && c != ']' && w.size() < 128) {
    w.push_back(static_cast<char>(is.get()));
  }
  return w;
}

template <typename Real>
bool ParseReal(const std::string& w, Real* out) {
  std::string lower;
  for (char ch : w) lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(ch))));
  if (lower == "inf" || lower == "infinity") {
    *out = std::numeric_limits<Real>::infinity();
    return true;
  }
  if (lower == "-inf" || lower == "-infinity") {
    *out = -std::numeric_limits<Real>::infinity();
    return true;
  }
  if (lower == "nan" || lower == "-nan") {
    *out = std::numeric_limits<Real>::quiet_NaN();
    return true;
  }
  if (w.empty()) return false;
  char* end = nullptr;
  // Kaldi reads with `is >> r` for Real, i.e. strtof for float and strtod for double.
  if constexpr (std::is_same_v<Real, float>) {
    *out = std::strtof(w.c_str(), &end);
  } else {
    *out = std::strtod(w.c_str(), &end);
  }
  return end != nullptr && *end == '\0';
}

// Reads the "[" opener; returns false for the "[]" empty variant (Kaldi tolerates it).
bool ReadOpenBracket(std::istream& is, const char* what) {
  SkipWhitespace(is, false);
  std::string w;
  int c;
  while ((c = is.peek()) != EOF && !std::isspace(c) && w.size() < 64) {
    w.push_back(static_cast<char>(is.get()));
  }
  if (w == "[]") return false;
  KQ_CHECK(w == "[", kFormat) << "failed to read " << what << ": expected \"[\", got "
                              << (w.empty() ? std::string("end of file") : "\"" + w + "\"") << " "
                              << DescribePosition(is);
  return true;
}

// After the closing ']', Kaldi eats one "\n" (or "\r\n").
void EatLineEnd(std::istream& is) {
  int c = is.peek();
  if (c == '\r') {
    is.get();
    if (is.peek() == '\n') is.get();
  } else if (c == '\n') {
    is.get();
  }
}

template <typename Real>
void ReadTextMatrix(std::istream& is, Matrix<Real>* m) {
  if (!ReadOpenBracket(is, "matrix")) {
    m->Resize(0, 0);
    return;
  }
  std::vector<Real> values;
  int64_t num_cols = -1, cur = 0, num_rows = 0;
  auto end_row = [&]() {
    if (cur == 0) return;
    if (num_cols < 0) num_cols = cur;
    KQ_CHECK(cur == num_cols, kFormat) << "failed to read matrix: row " << num_rows << " has "
                                       << cur << " columns, expected " << num_cols << " "
                                       << DescribePosition(is);
    ++num_rows;
    cur = 0;
  };
  while (true) {
    int c = is.peek();
    KQ_CHECK(c != EOF, kFormat) << "failed to read matrix: end of file inside matrix data "
                                << DescribePosition(is);
    if (c == ']') {
      is.get();
      EatLineEnd(is);
      end_row();
      break;
    } else if (c == '\n' || c == ';') {
      is.get();
      end_row();
    } else if (std::isspace(c)) {
      is.get();
    } else {
      std::string w = ReadNumberWord(is);
      Real r;
      KQ_CHECK(ParseReal(w, &r), kFormat) << "failed to read matrix: expected a number, got \""
                                          << w << "\" " << DescribePosition(is);
      values.push_back(r);
      ++cur;
    }
  }
  if (values.empty()) {
    m->Resize(0, 0);
    return;
  }
  Matrix<Real> tmp(num_rows, num_cols);
  std::copy(values.begin(), values.end(), tmp.data());
  *m = std::move(tmp);
}

template <typename Real>
void ReadTextVector(std::istream& is, std::vector<Real>* v) {
  std::vector<Real> data;
  if (!ReadOpenBracket(is, "vector")) {
    v->clear();
    return;
  }
  while (true) {
    int c = is.peek();
    KQ_CHECK(c != EOF, kFormat) << "failed to read vector: end of file inside vector data "
                                << DescribePosition(is);
    if (c == ']') {
      is.get();
      EatLineEnd(is);
      break;
    } else if (c == ' ' || c == '\t') {
      is.get();
    } else if (c == '\n' || c == '\r') {
      KQ_THROW(kFormat) << "failed to read vector: newline inside vector data (a matrix?) "
                        << DescribePosition(is);
    } else {
      std::string w = ReadNumberWord(is);
      Real r;
      KQ_CHECK(ParseReal(w, &r), kFormat) << "failed to read vector: expected a number, got \""
                                          << w << "\" " << DescribePosition(is);
      data.push_back(r);
    }
  }
  v->swap(data);
}

template <typename Real>
void ReadMatrixImpl(std::istream& is, bool binary, Matrix<Real>* m) {
  if (!binary) {
    ReadTextMatrix(is, m);
    return;
  }
  int peek = is.peek();
  if (peek == 'C') {
    CompressedMatrix cm;
    cm.ReadAfterToken(is, ReadToken(is, true));
    cm.CopyToMatrix(m);
    return;
  }
  using Other = std::conditional_t<std::is_same_v<Real, float>, double, float>;
  if (peek == MatrixToken<Other>()[0]) {
    Matrix<Other> other;
    ReadBinaryMatrix(is, &other);
    Matrix<Real> tmp(other.rows(), other.cols());
    for (int64_t i = 0; i < other.size(); ++i) tmp.data()[i] = static_cast<Real>(other.data()[i]);
    *m = std::move(tmp);
    return;
  }
  ReadBinaryMatrix(is, m);
}

template <typename Real>
void ReadVectorImpl(std::istream& is, bool binary, std::vector<Real>* v) {
  if (!binary) {
    ReadTextVector(is, v);
    return;
  }
  using Other = std::conditional_t<std::is_same_v<Real, float>, double, float>;
  if (is.peek() == VectorToken<Other>()[0]) {
    std::vector<Other> other;
    ReadBinaryVector(is, &other);
    v->assign(other.begin(), other.end());
    return;
  }
  ReadBinaryVector(is, v);
}

template <typename Real>
void WriteMatrixImpl(std::ostream& os, bool binary, const Matrix<Real>& m) {
  KQ_CHECK(os.good(), kIo) << "failed to write matrix: stream not good";
  KQ_CHECK(m.rows() <= INT32_MAX && m.cols() <= INT32_MAX, kInvalidArgument)
      << "matrix too large for Kaldi format: " << m.rows() << " x " << m.cols();
  if (binary) {
    WriteToken(os, true, MatrixToken<Real>());
    WriteBasicType<int32_t>(os, true, static_cast<int32_t>(m.rows()));
    WriteBasicType<int32_t>(os, true, static_cast<int32_t>(m.cols()));
    os.write(reinterpret_cast<const char*>(m.data()),
             static_cast<std::streamsize>(m.size() * static_cast<int64_t>(sizeof(Real))));
  } else {
    EnsureKaldiPrecision(os);
    if (m.cols() == 0) {
      os << " [ ]\n";
    } else {
      os << " [";
      for (int64_t r = 0; r < m.rows(); ++r) {
        os << "\n  ";
        const Real* row = m.Row(r);
        for (int64_t c = 0; c < m.cols(); ++c) os << row[c] << ' ';
      }
      os << "]\n";
    }
  }
  KQ_CHECK(os.good(), kIo) << "failed to write matrix to stream";
}

template <typename Real>
void WriteVectorImpl(std::ostream& os, bool binary, const std::vector<Real>& v) {
  KQ_CHECK(os.good(), kIo) << "failed to write vector: stream not good";
  KQ_CHECK(v.size() <= static_cast<size_t>(INT32_MAX), kInvalidArgument)
      << "vector too large for Kaldi format: " << v.size();
  if (binary) {
    WriteToken(os, true, VectorToken<Real>());
    WriteBasicType<int32_t>(os, true, static_cast<int32_t>(v.size()));
    os.write(reinterpret_cast<const char*>(v.data()),
             static_cast<std::streamsize>(v.size() * sizeof(Real)));
  } else {
    EnsureKaldiPrecision(os);
    os << " [ ";
    for (Real x : v) os << x << ' ';
    os << "]\n";
  }
  KQ_CHECK(os.good(), kIo) << "failed to write vector to stream";
}

}  // namespace

void ReadMatrix(std::istream& is, bool binary, MatrixF* m) { ReadMatrixImpl(is, binary, m); }
void ReadMatrix(std::istream& is, bool binary, MatrixD* m) { ReadMatrixImpl(is, binary, m); }
void WriteMatrix(std::ostream& os, bool binary, const MatrixF& m) { WriteMatrixImpl(os, binary, m); }
void WriteMatrix(std::ostream& os, bool binary, const MatrixD& m) { WriteMatrixImpl(os, binary, m); }
void ReadVector(std::istream& is, bool binary, std::vector<float>* v) { ReadVectorImpl(is, binary, v); }
void ReadVector(std::istream& is, bool binary, std::vector<double>* v) { ReadVectorImpl(is, binary, v); }
void WriteVector(std::ostream& os, bool binary, const std::vector<float>& v) {
  WriteVectorImpl(os, binary, v);
}
void WriteVector(std::ostream& os, bool binary, const std::vector<double>& v) {
  WriteVectorImpl(os, binary, v);
}

}  // namespace kaldiq::kaldi
