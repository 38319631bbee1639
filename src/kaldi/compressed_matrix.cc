#include "kaldi/compressed_matrix.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "kaldi/basic_io.h"
#include "kaldi/matrix_io.h"
#include "util/error.h"

// The arithmetic below mirrors Kaldi's expression by expression, including where Kaldi mixes
// float and double (e.g. "f * 65535 + 0.499" is a float product promoted to double). Do not
// "simplify" it: the bytes written and the values decompressed must equal Kaldi's. This file is
// compiled with -ffp-contract=off so that no fused multiply-add changes a rounding.

namespace kaldiq::kaldi {

namespace {

struct PerColHeader {
  uint16_t p0, p25, p75, p100;
};
static_assert(sizeof(PerColHeader) == 8);

int64_t PayloadBytes(CompressedMatrix::Format format, int64_t rows, int64_t cols) {
  switch (format) {
    case CompressedMatrix::kOneByteWithColHeaders:
      return cols * (static_cast<int64_t>(sizeof(PerColHeader)) + rows);
    case CompressedMatrix::kTwoByte:
      return 2 * rows * cols;
    case CompressedMatrix::kOneByte:
      return rows * cols;
  }
  return 0;
}

// static_cast<int>(x) where it is defined (|x| < 2^31), else the value a clamp to [lo, hi] that
// follows would give: NaN and -inf as `lo`, +inf and huge values as `hi`. Kaldi converts
// directly, which is undefined behaviour for NaN / out-of-range x; for every other x this is the
// same truncation, so the bytes written are Kaldi's.
inline int TruncToInt(double x, int lo, int hi) {
  if (!(x > -2147483648.0)) return lo;  // NaN too
  if (!(x < 2147483647.0)) return hi;
  return static_cast<int>(x);
}

inline uint16_t FloatToUint16(float min_value, float range, float value) {
  float f = (value - min_value) / range;
  if (f > 1.0) f = 1.0;
  if (!(f >= 0.0)) f = 0.0;  // NaN too
  return static_cast<uint16_t>(static_cast<int>(f * 65535 + 0.499));
}

inline uint8_t FloatToUint8(float min_value, float range, float value) {
  float f = (value - min_value) / range;
  if (f > 1.0) f = 1.0;
  if (!(f >= 0.0)) f = 0.0;  // NaN too
  return static_cast<uint8_t>(static_cast<int>(f * 255 + 0.499));
}

inline float Uint16ToFloat(float min_value, float range, uint16_t value) {
  // 1.52590218966964e-05F is Kaldi's float constant for 1/65535.
  return min_value + range * 1.52590218966964e-05F * value;
}

inline uint8_t FloatToChar(float p0, float p25, float p75, float p100, float value) {
  int ans;
  if (value < p25) {
    float f = (value - p0) / (p25 - p0);
    ans = TruncToInt(f * 64 + 0.5, 0, 64);
    if (ans < 0) ans = 0;
    if (ans > 64) ans = 64;
  } else if (value < p75) {
    float f = (value - p25) / (p75 - p25);
    ans = 64 + TruncToInt(f * 128 + 0.5, 0, 128);
    if (ans < 64) ans = 64;
    if (ans > 192) ans = 192;
  } else {
    float f = (value - p75) / (p100 - p75);
    ans = 192 + TruncToInt(f * 63 + 0.5, 0, 63);
    if (ans < 192) ans = 192;
    if (ans > 255) ans = 255;
  }
  return static_cast<uint8_t>(ans);
}

inline float CharToFloat(float p0, float p25, float p75, float p100, uint8_t value) {
  if (value <= 64) {
    return p0 + (p25 - p0) * value * (1 / 64.0);
  } else if (value <= 192) {
    return p25 + (p75 - p25) * (value - 64) * (1 / 128.0);
  } else {
    return p75 + (p100 - p75) * (value - 192) * (1 / 63.0);
  }
}

// Kaldi's ComputeColHeader: the 0th, 25th, 75th and 100th order statistics of the column,
// made strictly increasing in uint16 space.
template <typename Real>
PerColHeader ComputeColHeader(float min_value, float range, std::vector<Real>& sdata) {
  PerColHeader h;
  const int num_rows = static_cast<int>(sdata.size());
  if (num_rows >= 5) {
    int quarter_nr = num_rows / 4;
    std::nth_element(sdata.begin(), sdata.begin() + quarter_nr, sdata.end());
    std::nth_element(sdata.begin(), sdata.begin(), sdata.begin() + quarter_nr);
    std::nth_element(sdata.begin() + quarter_nr + 1, sdata.begin() + (3 * quarter_nr), sdata.end());
    std::nth_element(sdata.begin() + (3 * quarter_nr) + 1, sdata.end() - 1, sdata.end());
    h.p0 = std::min<uint16_t>(FloatToUint16(min_value, range, sdata[0]), 65532);
    h.p25 = std::min<uint16_t>(
        std::max<uint16_t>(FloatToUint16(min_value, range, sdata[quarter_nr]),
                           h.p0 + static_cast<uint16_t>(1)),
        65533);
    h.p75 = std::min<uint16_t>(
        std::max<uint16_t>(FloatToUint16(min_value, range, sdata[3 * quarter_nr]),
                           h.p25 + static_cast<uint16_t>(1)),
        65534);
    h.p100 = std::max<uint16_t>(FloatToUint16(min_value, range, sdata[num_rows - 1]),
                                h.p75 + static_cast<uint16_t>(1));
  } else {
    std::sort(sdata.begin(), sdata.end());
    h.p0 = std::min<uint16_t>(FloatToUint16(min_value, range, sdata[0]), 65532);
    if (num_rows > 1)
      h.p25 = std::min<uint16_t>(
          std::max<uint16_t>(FloatToUint16(min_value, range, sdata[1]), h.p0 + 1), 65533);
    else
      h.p25 = h.p0 + 1;
    if (num_rows > 2)
      h.p75 = std::min<uint16_t>(
          std::max<uint16_t>(FloatToUint16(min_value, range, sdata[2]), h.p25 + 1), 65534);
    else
      h.p75 = h.p25 + 1;
    if (num_rows > 3)
      h.p100 = std::max<uint16_t>(FloatToUint16(min_value, range, sdata[3]), h.p75 + 1);
    else
      h.p100 = h.p75 + 1;
  }
  return h;
}

// The header's min and range decompress to finite values: both finite and min + range (the
// largest value, reached up to rounding) far from overflowing.
bool HeaderIsSane(float min_value, float range) {
  return std::isfinite(min_value) && std::isfinite(range) &&
         std::fabs(static_cast<double>(min_value)) + std::fabs(static_cast<double>(range)) < 1e38;
}

}  // namespace

template <typename Real>
CompressedMatrix CompressedMatrix::CompressImpl(const Matrix<Real>& m, CompressionMethod method) {
  CompressedMatrix c;
  if (m.rows() == 0 || m.cols() == 0) return c;
  KQ_CHECK(m.rows() <= INT32_MAX && m.cols() <= INT32_MAX, kInvalidArgument)
      << "matrix too large to compress: " << m.rows() << " x " << m.cols();
  if (method == CompressionMethod::kAutomaticMethod) {
    method = m.rows() > 8 ? CompressionMethod::kSpeechFeature : CompressionMethod::kTwoByteAuto;
  }
  switch (method) {
    case CompressionMethod::kSpeechFeature:
      c.format_ = kOneByteWithColHeaders;
      break;
    case CompressionMethod::kTwoByteAuto:
    case CompressionMethod::kTwoByteSignedInteger:
      c.format_ = kTwoByte;
      break;
    case CompressionMethod::kOneByteAuto:
    case CompressionMethod::kOneByteUnsignedInteger:
    case CompressionMethod::kOneByteZeroOne:
      c.format_ = kOneByte;
      break;
    default:
      KQ_THROW(kInvalidArgument) << "invalid compression method " << static_cast<int>(method);
  }
  c.num_rows_ = static_cast<int32_t>(m.rows());
  c.num_cols_ = static_cast<int32_t>(m.cols());
  // Every method: NaN / Inf have no compressed form (Kaldi's conversions are undefined for them).
  for (int64_t i = 0; i < m.size(); ++i) {
    KQ_CHECK(std::isfinite(m.data()[i]), kInvalidArgument)
        << "cannot compress a matrix with NaN or Inf (element " << i << ")";
  }
  switch (method) {
    case CompressionMethod::kSpeechFeature:
    case CompressionMethod::kTwoByteAuto:
    case CompressionMethod::kOneByteAuto: {
      // Kaldi takes Min()/Max() in Real and stores them as float.
      Real mn = m.data()[0], mx = m.data()[0];
      for (int64_t i = 0; i < m.size(); ++i) {
        mn = std::min(mn, m.data()[i]);
        mx = std::max(mx, m.data()[i]);
      }
      float min_value = static_cast<float>(mn), max_value = static_cast<float>(mx);
      KQ_CHECK(std::isfinite(min_value) && std::isfinite(max_value), kInvalidArgument)
          << "cannot compress: values outside the float range";
      if (max_value == min_value) max_value = min_value + (1.0 + std::fabs(min_value));
      c.min_value_ = min_value;
      c.range_ = max_value - min_value;
      KQ_CHECK(c.range_ > 0.0f && HeaderIsSane(c.min_value_, c.range_), kInvalidArgument)
          << "cannot compress: the value range [" << min_value << ", " << max_value
          << "] is zero or too wide for a compressed matrix";
      break;
    }
    case CompressionMethod::kTwoByteSignedInteger:
      c.min_value_ = -32768.0f;
      c.range_ = 65535.0f;
      break;
    case CompressionMethod::kOneByteUnsignedInteger:
      c.min_value_ = 0.0f;
      c.range_ = 255.0f;
      break;
    default:  // kOneByteZeroOne
      c.min_value_ = 0.0f;
      c.range_ = 1.0f;
      break;
  }

  const int64_t rows = c.num_rows_, cols = c.num_cols_;
  c.data_.resize(static_cast<size_t>(PayloadBytes(c.format_, rows, cols)));
  uint8_t* out = c.data_.data();
  if (c.format_ == kOneByteWithColHeaders) {
    uint8_t* bytes = out + cols * sizeof(PerColHeader);
    std::vector<Real> column(static_cast<size_t>(rows));
    for (int64_t col = 0; col < cols; ++col) {
      for (int64_t r = 0; r < rows; ++r) column[r] = m(r, col);
      PerColHeader h = ComputeColHeader(c.min_value_, c.range_, column);
      std::memcpy(out + col * sizeof(PerColHeader), &h, sizeof(h));
      float p0 = Uint16ToFloat(c.min_value_, c.range_, h.p0),
            p25 = Uint16ToFloat(c.min_value_, c.range_, h.p25),
            p75 = Uint16ToFloat(c.min_value_, c.range_, h.p75),
            p100 = Uint16ToFloat(c.min_value_, c.range_, h.p100);
      for (int64_t r = 0; r < rows; ++r) {
        // Kaldi passes the Real element to a float parameter.
        bytes[col * rows + r] = FloatToChar(p0, p25, p75, p100, static_cast<float>(m(r, col)));
      }
    }
  } else if (c.format_ == kTwoByte) {
    for (int64_t i = 0; i < rows * cols; ++i) {
      uint16_t v = FloatToUint16(c.min_value_, c.range_, static_cast<float>(m.data()[i]));
      std::memcpy(out + 2 * i, &v, 2);
    }
  } else {
    for (int64_t i = 0; i < rows * cols; ++i) {
      out[i] = FloatToUint8(c.min_value_, c.range_, static_cast<float>(m.data()[i]));
    }
  }
  return c;
}

CompressedMatrix CompressedMatrix::Compress(const MatrixF& m, CompressionMethod method) {
  return CompressImpl(m, method);
}
CompressedMatrix CompressedMatrix::Compress(const MatrixD& m, CompressionMethod method) {
  return CompressImpl(m, method);
}

template <typename Real>
void CompressedMatrix::CopyToImpl(Matrix<Real>* m) const {
  if (Empty()) {
    m->Resize(0, 0);
    return;
  }
  const int64_t rows = num_rows_, cols = num_cols_;
  m->Resize(rows, cols);
  const uint8_t* in = data_.data();
  if (format_ == kOneByteWithColHeaders) {
    const uint8_t* bytes = in + cols * sizeof(PerColHeader);
    for (int64_t col = 0; col < cols; ++col) {
      PerColHeader h;
      std::memcpy(&h, in + col * sizeof(PerColHeader), sizeof(h));
      float p0 = Uint16ToFloat(min_value_, range_, h.p0),
            p25 = Uint16ToFloat(min_value_, range_, h.p25),
            p75 = Uint16ToFloat(min_value_, range_, h.p75),
            p100 = Uint16ToFloat(min_value_, range_, h.p100);
      for (int64_t r = 0; r < rows; ++r) {
        (*m)(r, col) = CharToFloat(p0, p25, p75, p100, bytes[col * rows + r]);
      }
    }
  } else if (format_ == kTwoByte) {
    float min_value = min_value_, increment = range_ * (1.0 / 65535.0);
    for (int64_t i = 0; i < rows * cols; ++i) {
      uint16_t v;
      std::memcpy(&v, in + 2 * i, 2);
      m->data()[i] = min_value + v * increment;
    }
  } else {
    float min_value = min_value_, increment = range_ * (1.0 / 255.0);
    for (int64_t i = 0; i < rows * cols; ++i) m->data()[i] = min_value + in[i] * increment;
  }
}

void CompressedMatrix::CopyToMatrix(MatrixF* m) const { CopyToImpl(m); }
void CompressedMatrix::CopyToMatrix(MatrixD* m) const { CopyToImpl(m); }

void CompressedMatrix::ReadAfterToken(std::istream& is, const std::string& token) {
  if (token == "CM") {
    format_ = kOneByteWithColHeaders;
  } else if (token == "CM2") {
    format_ = kTwoByte;
  } else if (token == "CM3") {
    format_ = kOneByte;
  } else {
    KQ_THROW(kFormat) << "expected compressed-matrix token CM, CM2 or CM3, got '" << QuoteBytes(token) << "' "
                      << DescribePosition(is);
  }
  char header[16];
  ReadExact(is, header, 16, "compressed-matrix header");
  std::memcpy(&min_value_, header, 4);
  std::memcpy(&range_, header + 4, 4);
  std::memcpy(&num_rows_, header + 8, 4);
  std::memcpy(&num_cols_, header + 12, 4);
  data_.clear();
  // A hostile or corrupt header: NaN / Inf (or a range so wide that min + range overflows) would
  // decompress to NaN / Inf silently. Kaldi's own compressor never writes such a header.
  KQ_CHECK(HeaderIsSane(min_value_, range_), kFormat)
      << "compressed matrix header holds an invalid value range (min " << min_value_
      << ", range " << range_ << ") " << DescribePosition(is);
  if (num_cols_ == 0) {
    // Kaldi writes an empty CompressedMatrix as a 20-byte header (including the unused format
    // word) but reads back only 16; consume the trailing zero bytes it leaves behind.
    for (int i = 0; i < 4 && is.peek() == 0; ++i) is.get();
    num_rows_ = 0;
    min_value_ = range_ = 0.0f;
    return;
  }
  KQ_CHECK(num_rows_ > 0 && num_cols_ > 0, kFormat)
      << "compressed matrix has invalid size " << num_rows_ << " x " << num_cols_ << " "
      << DescribePosition(is);
  int64_t bytes = PayloadBytes(format_, num_rows_, num_cols_);
  std::string what = "compressed matrix " + std::to_string(num_rows_) + " x " +
                     std::to_string(num_cols_);
  CheckPayloadFits(is, bytes, what.c_str());
  // Read in bounded chunks so that a lying header on a pipe cannot force a huge allocation.
  const int64_t kChunk = int64_t(1) << 24;
  data_.reserve(static_cast<size_t>(std::min(bytes, kChunk)));
  int64_t done = 0;
  while (done < bytes) {
    int64_t n = std::min(kChunk, bytes - done);
    data_.resize(static_cast<size_t>(done + n));
    ReadExact(is, reinterpret_cast<char*>(data_.data() + done), n, what.c_str());
    done += n;
  }
}

void CompressedMatrix::Read(std::istream& is, bool binary) {
  if (binary) {
    if (is.peek() == 'C') {
      ReadAfterToken(is, ReadToken(is, true));
      return;
    }
    MatrixF m;
    ReadMatrix(is, true, &m);
    *this = Compress(m);
    return;
  }
  MatrixF m;
  ReadMatrix(is, false, &m);
  *this = Compress(m);
}

void CompressedMatrix::Write(std::ostream& os, bool binary) const {
  if (!binary) {
    MatrixF m;
    CopyToMatrix(&m);
    WriteMatrix(os, false, m);
    return;
  }
  if (Empty()) {
    WriteToken(os, true, "CM");
    char zeros[20] = {0};
    os.write(zeros, sizeof(zeros));
  } else {
    static const char* kTokens[] = {"", "CM", "CM2", "CM3"};
    WriteToken(os, true, kTokens[format_]);
    char header[16];
    std::memcpy(header, &min_value_, 4);
    std::memcpy(header + 4, &range_, 4);
    std::memcpy(header + 8, &num_rows_, 4);
    std::memcpy(header + 12, &num_cols_, 4);
    os.write(header, 16);
    os.write(reinterpret_cast<const char*>(data_.data()), static_cast<std::streamsize>(data_.size()));
  }
  KQ_CHECK(os.good(), kIo) << "failed to write compressed matrix";
}

}  // namespace kaldiq::kaldi
