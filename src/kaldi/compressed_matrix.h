// Kaldi's CompressedMatrix (src/matrix/compressed-matrix.{h,cc}): lossy 1- or 2-byte storage of
// a float matrix, as written by `copy-feats --compress=true` and in nnet3 egs.
//
// On-disk layout (binary only; text mode writes the decompressed matrix as a plain text matrix):
//   "CM "  (format 1, kOneByteWithColHeaders): float min, float range, int32 rows, int32 cols,
//          then cols x {uint16 p0, p25, p75, p100}, then the uint8 data column by column.
//   "CM2 " (format 2, kTwoByte): header, then uint16 data row by row.
//   "CM3 " (format 3, kOneByte): header, then uint8 data row by row.
// Compression and decompression reproduce Kaldi's float/double arithmetic step by step so that
// our bytes equal Kaldi's and our decompressed values equal Kaldi's bit for bit.
#pragma once

#include <cstdint>
#include <istream>
#include <ostream>
#include <vector>

#include "core/matrix.h"

namespace kaldiq::kaldi {

// Kaldi's enum CompressionMethod (values as in Kaldi; copy-feats --compression-method=N).
enum class CompressionMethod {
  kAutomaticMethod = 1,  // kSpeechFeature if rows > 8, else kTwoByteAuto
  kSpeechFeature = 2,
  kTwoByteAuto = 3,
  kTwoByteSignedInteger = 4,
  kOneByteAuto = 5,
  kOneByteUnsignedInteger = 6,
  kOneByteZeroOne = 7,
};

class CompressedMatrix {
 public:
  enum Format { kOneByteWithColHeaders = 1, kTwoByte = 2, kOneByte = 3 };

  CompressedMatrix() = default;
  // Compresses m (float or double, as Kaldi's templated CopyFromMat). Throws kInvalidArgument
  // for NaN/Inf in auto-range methods (Kaldi asserts) and for an unknown method.
  static CompressedMatrix Compress(const MatrixF& m,
                                   CompressionMethod method = CompressionMethod::kAutomaticMethod);
  static CompressedMatrix Compress(const MatrixD& m,
                                   CompressionMethod method = CompressionMethod::kAutomaticMethod);

  int32_t NumRows() const { return num_rows_; }
  int32_t NumCols() const { return num_cols_; }
  bool Empty() const { return num_rows_ == 0 || num_cols_ == 0; }
  Format format() const { return format_; }

  // Decompresses into *m (resized).
  void CopyToMatrix(MatrixF* m) const;
  void CopyToMatrix(MatrixD* m) const;

  // Binary: expects "CM"/"CM2"/"CM3"; anything else in binary mode is read as a regular matrix
  // and compressed with the automatic method (Kaldi's back-compatibility path). Text: reads a
  // text matrix and compresses it. Sizes are checked against the stream before allocating.
  void Read(std::istream& is, bool binary);
  void Write(std::ostream& os, bool binary) const;

  // Reads the part after the "CM"/"CM2"/"CM3" token (used by ReadMatrix, which peeks 'C').
  void ReadAfterToken(std::istream& is, const std::string& token);

 private:
  template <typename Real>
  static CompressedMatrix CompressImpl(const Matrix<Real>& m, CompressionMethod method);
  template <typename Real>
  void CopyToImpl(Matrix<Real>* m) const;

  Format format_ = kOneByteWithColHeaders;
  float min_value_ = 0.0f;
  float range_ = 0.0f;
  int32_t num_rows_ = 0;
  int32_t num_cols_ = 0;
  // Everything after the global header, exactly as on disk (column headers + bytes, or the
  // row-major uint16/uint8 data), little-endian.
  std::vector<uint8_t> data_;
};

}  // namespace kaldiq::kaldi
