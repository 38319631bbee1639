// Holders: how one table value is written to / read from an archive (Kaldi's kaldi-holder.h).
//
// Holder concept (other areas add holders the same way, e.g. CompactLatticeHolder):
//   struct XHolder {
//     using T = ...;
//     static void Write(std::ostream& os, bool binary, const T& t);  // the object only
//     static void Read(std::istream& is, bool binary, T* t);         // the object only
//     static bool IsTextOnly();     // true: always written as text (no "\0B" marker)
//     // optional: static constexpr bool kUsesBinaryMarker = false;  -- binary objects are
//     //   written WITHOUT Kaldi's "\0B" marker and readers neither require nor consume it;
//     //   Read then gets binary=false and must sniff the form itself (Kaldi's lattice holders)
//     // optional: static void ExtractRange(const T& full, const std::string& range, T* out);
//     //   -- supports scp ranges "utt ark:12[0:99]" (matrices only in Kaldi)
//   };
// The table code writes "key ", then "\0B" when binary (unless text-only / kUsesBinaryMarker
// is false), then Holder::Write. When reading it consumes "\0B" if present (holders using the
// marker) and passes the result as `binary` to Holder::Read. Holders throw kaldiq::Error on bad input.
#pragma once

#include <cstdint>
#include <istream>
#include <ostream>
#include <string>
#include <type_traits>
#include <vector>

#include "core/matrix.h"
#include "kaldi/compressed_matrix.h"
#include "kaldi/matrix_io.h"

namespace kaldiq::kaldi {

namespace internal {
template <typename M>
void ExtractMatrixRange(const M& full, const std::string& range, M* out);
}  // namespace internal

struct MatrixHolder {
  using T = MatrixF;
  static void Write(std::ostream& os, bool binary, const T& t) { WriteMatrix(os, binary, t); }
  static void Read(std::istream& is, bool binary, T* t) { ReadMatrix(is, binary, t); }
  static bool IsTextOnly() { return false; }
  static void ExtractRange(const T& full, const std::string& range, T* out) {
    internal::ExtractMatrixRange(full, range, out);
  }
};

struct DoubleMatrixHolder {
  using T = MatrixD;
  static void Write(std::ostream& os, bool binary, const T& t) { WriteMatrix(os, binary, t); }
  static void Read(std::istream& is, bool binary, T* t) { ReadMatrix(is, binary, t); }
  static bool IsTextOnly() { return false; }
  static void ExtractRange(const T& full, const std::string& range, T* out) {
    internal::ExtractMatrixRange(full, range, out);
  }
};

// Kaldi's CompressedMatrixWriter (copy-feats --compress=true). Reading accepts any matrix
// (uncompressed ones are compressed with the automatic method, as Kaldi does).
struct CompressedMatrixHolder {
  using T = CompressedMatrix;
  static void Write(std::ostream& os, bool binary, const T& t) { t.Write(os, binary); }
  static void Read(std::istream& is, bool binary, T* t) { t->Read(is, binary); }
  static bool IsTextOnly() { return false; }
};

struct VectorHolder {
  using T = std::vector<float>;
  static void Write(std::ostream& os, bool binary, const T& t) { WriteVector(os, binary, t); }
  static void Read(std::istream& is, bool binary, T* t) { ReadVector(is, binary, t); }
  static bool IsTextOnly() { return false; }
};

struct DoubleVectorHolder {
  using T = std::vector<double>;
  static void Write(std::ostream& os, bool binary, const T& t) { WriteVector(os, binary, t); }
  static void Read(std::istream& is, bool binary, T* t) { ReadVector(is, binary, t); }
  static bool IsTextOnly() { return false; }
};

// Kaldi's BasicVectorHolder<int32>: binary = int32 count then (size byte, value) pairs; text =
// one line "1 2 3 \n" (each number followed by a space).
struct Int32VectorHolder {
  using T = std::vector<int32_t>;
  static void Write(std::ostream& os, bool binary, const T& t);
  static void Read(std::istream& is, bool binary, T* t);
  static bool IsTextOnly() { return false; }
};

// Kaldi's TokenVectorHolder: always text, one line "w1 w2 \n" (each token followed by a
// space), e.g. transcripts (text) and utt2spk.
struct TokenVectorHolder {
  using T = std::vector<std::string>;
  static void Write(std::ostream& os, bool binary, const T& t);
  static void Read(std::istream& is, bool binary, T* t);
  static bool IsTextOnly() { return true; }
};

// Kaldi's TokenHolder: a single token per key, e.g. utt2spk read as a map ("utt spk\n").
struct TokenHolder {
  using T = std::string;
  static void Write(std::ostream& os, bool binary, const T& t);
  static void Read(std::istream& is, bool binary, T* t);
  static bool IsTextOnly() { return true; }
};

// Kaldi's BasicHolder<float/double/int32> for scalar tables (e.g. per-utterance weights).
template <typename Scalar>
struct BasicHolder {
  using T = Scalar;
  static void Write(std::ostream& os, bool binary, const T& t);
  static void Read(std::istream& is, bool binary, T* t);
  static bool IsTextOnly() { return false; }
};
using FloatHolder = BasicHolder<float>;
using DoubleHolder = BasicHolder<double>;
using Int32Holder = BasicHolder<int32_t>;

// Traits used by table.h.
template <typename H, typename = void>
struct HolderHasRange : std::false_type {};
template <typename H>
struct HolderHasRange<H, std::void_t<decltype(&H::ExtractRange)>> : std::true_type {};

// Whether binary objects of H carry Kaldi's "\0B" marker when written (true unless the holder
// is text-only or declares kUsesBinaryMarker = false).
template <typename H, typename = void>
struct HolderUsesBinaryMarker {
  static bool Writes() { return !H::IsTextOnly(); }
  static bool Reads() { return true; }
};
template <typename H>
struct HolderUsesBinaryMarker<H, std::void_t<decltype(H::kUsesBinaryMarker)>> {
  static bool Writes() { return H::kUsesBinaryMarker && !H::IsTextOnly(); }
  static bool Reads() { return H::kUsesBinaryMarker; }
};

}  // namespace kaldiq::kaldi
