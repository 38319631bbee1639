// Kaldi Matrix / Vector serialisation (Kaldi's src/matrix/kaldi-matrix.cc, kaldi-vector.cc),
// byte-identical to Kaldi's writers in both modes.
//
// Binary: "FM "/"DM " (matrix) or "FV "/"DV " (vector), int32 sizes with size bytes, then raw
// little-endian row-major data. Compressed matrices ("CM", "CM2", "CM3") are accepted by
// ReadMatrix and decompressed exactly as Kaldi does. Stored precision may differ from the
// requested one (DM read into MatrixF etc.): converted element-wise as Kaldi does.
// Text: matrix " [\n  1 2 \n  3 4 ]\n" (" [ ]\n" when empty), vector " [ 1 2 ]\n", numbers
// printed with the stream's precision raised to at least 7 (Kaldi's InitKaldiOutputStream).
//
// Readers throw kaldiq::Error (kFormat) naming what was expected and the byte offset. Declared
// sizes are checked against the bytes left in a seekable stream before anything is allocated;
// on non-seekable streams (pipes) large payloads are read in chunks so that a lying header
// cannot make us allocate more than the stream really delivers.
#pragma once

#include <cstdint>
#include <istream>
#include <ostream>
#include <vector>

#include "core/matrix.h"

namespace kaldiq::kaldi {

void ReadMatrix(std::istream& is, bool binary, MatrixF* m);
void ReadMatrix(std::istream& is, bool binary, MatrixD* m);
void WriteMatrix(std::ostream& os, bool binary, const MatrixF& m);
void WriteMatrix(std::ostream& os, bool binary, const MatrixD& m);

void ReadVector(std::istream& is, bool binary, std::vector<float>* v);
void ReadVector(std::istream& is, bool binary, std::vector<double>* v);
void WriteVector(std::ostream& os, bool binary, const std::vector<float>& v);
void WriteVector(std::ostream& os, bool binary, const std::vector<double>& v);

// Bytes between the read position and the end of a seekable stream; -1 when unknown (pipes).
int64_t RemainingBytes(std::istream& is);

// Throws kFormat unless `needed` bytes may follow: always when the stream's remaining size is
// known and smaller, and for unknown sizes only when `needed` exceeds 2^40 (absurd). `what`
// names the object in the message ("matrix 1000000 x 40").
void CheckPayloadFits(std::istream& is, int64_t needed, const char* what);

// Reads exactly n bytes into dst (which must hold n), throwing kFormat "truncated <what>:
// expected n bytes, got k" otherwise.
void ReadExact(std::istream& is, char* dst, int64_t n, const char* what);

// Raises os.precision() to 7 if lower, as Kaldi does for every text-mode output stream.
void EnsureKaldiPrecision(std::ostream& os);

}  // namespace kaldiq::kaldi
