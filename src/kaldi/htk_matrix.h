// HTK feature files as Kaldi writes them (Kaldi's HtkMatrixHolder, matrix/kaldi-matrix.cc:
// WriteHtk), for `compute-{mfcc,fbank}-feats --output-format=htk`.
//
// An object is a 12-byte big-endian header -- int32 number of frames, int32 sample period in
// 100 ns units, int16 bytes per frame (4 * dim), uint16 parameter kind -- then the frames as
// big-endian float32, row by row. In an archive it follows "key " with no "\0B" marker; text
// mode is refused (as in Kaldi).
#pragma once

#include <cstdint>
#include <ostream>
#include <utility>

#include "core/matrix.h"

namespace kaldiq::kaldi {

struct HtkHeader {
  int32_t num_samples = 0;
  int32_t sample_period = 100000;  // 100 ns units: 10 ms
  int16_t sample_size = 0;         // bytes per frame
  uint16_t sample_kind = 0;        // HTK parmKind, e.g. 006 (MFCC) | 020000 (_0)
};

// HTK parameter kinds Kaldi's feature programs use.
constexpr uint16_t kHtkMfcc = 006, kHtkFbank = 007, kHtkEnergy = 0100, kHtkZeroth = 020000;

// Writes the header and the matrix. Throws kInvalidArgument when the header disagrees with the
// matrix (rows, 4 * cols) or the frame size does not fit an int16.
void WriteHtk(std::ostream& os, const MatrixF& m, const HtkHeader& header);

struct HtkMatrixHolder {
  using T = std::pair<MatrixF, HtkHeader>;
  static constexpr bool kUsesBinaryMarker = false;
  static void Write(std::ostream& os, bool binary, const T& t);
  static void Read(std::istream& is, bool binary, T* t);  // not supported: throws
  static bool IsTextOnly() { return false; }
};

}  // namespace kaldiq::kaldi
