// Kaldi's nnet3 "chain" training examples (nnet3/nnet-chain-example.h, nnet3/nnet-example.h,
// chain/chain-supervision.h) as plain structs, read and written byte-identically in binary and
// text mode:
//
//   NnetChainExample : "<Nnet3ChainEg> <NumInputs> " k NnetIo x k "<NumOutputs> " m
//                      NnetChainSupervision x m "</Nnet3ChainEg> "
//   NnetIo           : "<NnetIo> " name IndexVector GeneralMatrix "</NnetIo> "
//   NnetChainSupervision: "<NnetChainSup> " name IndexVector Supervision
//                      ["<DW2> " FV | "<DW> " uint8 vector] "</NnetChainSup> "
//   Supervision      : "<Supervision> <Weight> " f "<NumSequences> " i "<FramesPerSeq> " i
//                      "<LabelDim> " i "<End2End> " bool (F: one compact acceptor FST |
//                      T: "<Fsts> " FST x num_sequences "</Fsts> ") ["<AlignmentPdfs> " ivec]
//                      "</Supervision> "
//   IndexVector      : "<I1V> " int32 size, then per element one signed byte dt (|dt| < 125:
//                      n and x as the previous element, t += dt; the first element is
//                      (0, dt, 0)) or byte 127 followed by three int32 n, t, x.
//
// Readers validate everything the objective later relies on and throw kaldiq::Error (kFormat)
// naming the object and byte offset: feature rows == input indexes; output indexes exactly
// (n = j, t = t0 + i * skip, x = 0) for frame i (outer) and sequence j (inner); deriv weights
// either absent or one per output index and >= 0; every supervision FST an epsilon-free
// acceptor with labels 1..label_dim whose states are numbered in time order with every path
// num_sequences * frames_per_sequence arcs long (Kaldi's ComputeFstStateTimes), start state 0.
// Sizes are checked against the bytes remaining before anything is allocated.
#pragma once

#include <cstdint>
#include <istream>
#include <ostream>
#include <string>
#include <vector>

#include "core/matrix.h"
#include "kaldi/compressed_matrix.h"
#include "kaldi/fst_io.h"

namespace kaldiq::kaldi {

// nnet3 Index (n = sequence in a minibatch, t = time, x = unused extra index).
struct Index {
  int32_t n = 0, t = 0, x = 0;
  bool operator==(const Index& o) const { return n == o.n && t == o.t && x == o.x; }
  bool operator!=(const Index& o) const { return !(*this == o); }
  // Kaldi's order: by t, then x, then n (so merged outputs are t-major).
  bool operator<(const Index& o) const {
    if (t != o.t) return t < o.t;
    if (x != o.x) return x < o.x;
    return n < o.n;
  }
};

void WriteIndexVector(std::ostream& os, bool binary, const std::vector<Index>& v);
std::vector<Index> ReadIndexVector(std::istream& is, bool binary);

// Kaldi's GeneralMatrix as chain egs use it: a float matrix or a compressed one (kept
// compressed so that copying egs reproduces the bytes). Sparse matrices are rejected.
class GeneralMatrix {
 public:
  GeneralMatrix() = default;
  explicit GeneralMatrix(MatrixF m) : full_(std::move(m)) {}
  explicit GeneralMatrix(CompressedMatrix c) : compressed_(std::move(c)), is_compressed_(true) {}

  bool IsCompressed() const { return is_compressed_; }
  int64_t NumRows() const { return is_compressed_ ? compressed_.NumRows() : full_.rows(); }
  int64_t NumCols() const { return is_compressed_ ? compressed_.NumCols() : full_.cols(); }
  // The values as floats (decompressed exactly as Kaldi does).
  void GetMatrix(MatrixF* out) const;
  // Compresses a full matrix with Kaldi's automatic method (GeneralMatrix::Compress); no-op
  // when already compressed. Throws kInvalidArgument for NaN/Inf values.
  void Compress();
  const CompressedMatrix& compressed() const { return compressed_; }
  const MatrixF& full() const { return full_; }

  void Read(std::istream& is, bool binary);
  void Write(std::ostream& os, bool binary) const;

 private:
  MatrixF full_;
  CompressedMatrix compressed_;
  bool is_compressed_ = false;
};

struct NnetIo {
  std::string name;            // "input", "ivector", ... (names starting "__" are not inputs)
  std::vector<Index> indexes;  // one per feature row
  GeneralMatrix features;
};

// chain::Supervision.
struct ChainSupervision {
  float weight = 1.0f;
  int32_t num_sequences = 1;
  int32_t frames_per_sequence = -1;
  int32_t label_dim = -1;  // number of pdfs (labels are pdf-id + 1)
  StdFst fst;                      // !e2e: one acceptor covering all sequences
  std::vector<StdFst> e2e_fsts;    // e2e: one (cyclic) acceptor per sequence
  std::vector<int32_t> alignment_pdfs;
  bool e2e() const { return !e2e_fsts.empty(); }

  void Read(std::istream& is, bool binary);
  void Write(std::ostream& os, bool binary) const;
};

struct NnetChainSupervision {
  std::string name;            // normally "output"
  std::vector<Index> indexes;  // frame-major: (n=j, t=t0+i*skip) for i over frames, j over seqs
  ChainSupervision supervision;
  std::vector<float> deriv_weights;  // empty, or one per index

  void Read(std::istream& is, bool binary);
  // Always writes the "<DW2>" block, as Kaldi does (an empty vector when there are none).
  void Write(std::ostream& os, bool binary) const;
  // Kaldi's CheckDim(); throws kFormat.
  void CheckDim() const;
};

struct NnetChainExample {
  std::vector<NnetIo> inputs;
  std::vector<NnetChainSupervision> outputs;

  void Read(std::istream& is, bool binary);
  void Write(std::ostream& os, bool binary) const;
};

// Kaldi's ComputeFstStateTimes: time of every state of an epsilon-free, time-ordered acceptor
// (start state 0, each arc goes from time t to t + 1, states numbered in non-decreasing time),
// and returns the common length of all successful paths. Throws kFormat otherwise.
int32_t ComputeFstStateTimes(const StdFst& fst, std::vector<int32_t>* state_times);

// Table holder: SequentialTableReader<NnetChainExampleHolder> reads cegs archives / scp.
struct NnetChainExampleHolder {
  using T = NnetChainExample;
  static void Write(std::ostream& os, bool binary, const T& t) { t.Write(os, binary); }
  static void Read(std::istream& is, bool binary, T* t) { t->Read(is, binary); }
  static bool IsTextOnly() { return false; }
};

}  // namespace kaldiq::kaldi
