#include "kaldi/chain_example.h"

#include <cmath>
#include <limits>
#include <string>

#include "kaldi/basic_io.h"
#include "kaldi/matrix_io.h"
#include "kaldi/nnet3/io_util.h"
#include "util/error.h"

namespace kaldiq::kaldi {

namespace {

void WriteIndexElementBinary(std::ostream& os, const std::vector<Index>& v, size_t i) {
  const Index& index = v[i];
  bool short_form;
  int64_t dt = 0;
  if (i == 0) {
    short_form = index.n == 0 && index.x == 0 && index.t > -125 && index.t < 125;
    dt = index.t;
  } else {
    const Index& last = v[i - 1];
    dt = static_cast<int64_t>(index.t) - last.t;
    short_form = index.n == last.n && index.x == last.x && dt > -125 && dt < 125;
  }
  if (short_form) {
    os.put(static_cast<char>(static_cast<signed char>(dt)));
  } else {
    os.put(127);
    WriteBasicType<int32_t>(os, true, index.n);
    WriteBasicType<int32_t>(os, true, index.t);
    WriteBasicType<int32_t>(os, true, index.x);
  }
}

// Labels 1..label_dim, no epsilons, an acceptor with a valid start state.
void CheckSupervisionLabels(const StdFst& fst, int32_t label_dim, const char* what) {
  KQ_CHECK(fst.NumStates() > 0 && fst.start >= 0, kFormat) << what << " is empty";
  for (int32_t s = 0; s < fst.NumStates(); ++s) {
    for (const StdArc* a = fst.ArcsBegin(s); a != fst.ArcsEnd(s); ++a) {
      KQ_CHECK(a->ilabel == a->olabel, kFormat)
          << what << " is not an acceptor (state " << s << ": " << a->ilabel << ":" << a->olabel
          << ")";
      KQ_CHECK(a->ilabel >= 1 && a->ilabel <= label_dim, kFormat)
          << what << ": state " << s << " has label " << a->ilabel
          << " outside 1.." << label_dim << " (pdf-id + 1; label-dim " << label_dim << ")";
    }
  }
}

StdFst ReadSupervisionFst(std::istream& is, bool binary) {
  return binary ? ReadCompactAcceptorFst(is) : ReadTextFst(is);
}

void WriteSupervisionFst(std::ostream& os, bool binary, const StdFst& fst) {
  if (binary) {
    WriteCompactAcceptorFst(os, fst);
  } else {
    WriteTextFst(os, fst);
  }
}

// Kaldi's ReadIntegerVector<unsigned char> / <int32> in binary: size byte, int32 count, raw data;
// read in chunks so a lying count on a pipe fails at end of input.
template <typename T>
std::vector<T> ReadRawIntegerVector(std::istream& is, const char* what) {
  const int c = is.get();
  KQ_CHECK(c == static_cast<int>(sizeof(T)), kFormat)
      << what << ": expected size byte " << sizeof(T) << ", got "
      << (c == EOF ? std::string("end of file") : std::to_string(c)) << " "
      << DescribePosition(is);
  int32_t n = 0;
  ReadExact(is, reinterpret_cast<char*>(&n), 4, what);
  KQ_CHECK(n >= 0, kFormat) << what << ": negative length " << n << " " << DescribePosition(is);
  CheckPayloadFits(is, static_cast<int64_t>(n) * static_cast<int64_t>(sizeof(T)), what);
  std::vector<T> v;
  const int32_t kChunk = 1 << 20;
  for (int32_t done = 0; done < n;) {
    const int32_t k = std::min(kChunk, n - done);
    v.resize(static_cast<size_t>(done) + k);
    ReadExact(is, reinterpret_cast<char*>(v.data() + done), static_cast<int64_t>(k) * sizeof(T),
              what);
    done += k;
  }
  return v;
}

}  // namespace

void WriteIndexVector(std::ostream& os, bool binary, const std::vector<Index>& v) {
  WriteToken(os, binary, "<I1V>");
  KQ_CHECK(v.size() <= static_cast<size_t>(std::numeric_limits<int32_t>::max()), kInvalidArgument)
      << "index vector too long";
  WriteBasicType<int32_t>(os, binary, static_cast<int32_t>(v.size()));
  for (size_t i = 0; i < v.size(); ++i) {
    if (binary) {
      WriteIndexElementBinary(os, v, i);
    } else {
      WriteToken(os, false, "<I1>");
      WriteBasicType<int32_t>(os, false, v[i].n);
      WriteBasicType<int32_t>(os, false, v[i].t);
      WriteBasicType<int32_t>(os, false, v[i].x);
    }
  }
}

std::vector<Index> ReadIndexVector(std::istream& is, bool binary) {
  ExpectToken(is, binary, "<I1V>");
  const int32_t size = ReadBasicType<int32_t>(is, binary);
  KQ_CHECK(size >= 0, kFormat) << "index vector: negative size " << size << " "
                               << DescribePosition(is);
  // At least one byte per element in binary, more in text.
  CheckPayloadFits(is, size, "index vector");
  std::vector<Index> v;
  v.reserve(static_cast<size_t>(std::min(size, 1 << 20)));
  for (int32_t i = 0; i < size; ++i) {
    Index index;
    if (!binary) {
      ExpectToken(is, false, "<I1>");
      index.n = ReadBasicType<int32_t>(is, false);
      index.t = ReadBasicType<int32_t>(is, false);
      index.x = ReadBasicType<int32_t>(is, false);
      v.push_back(index);
      continue;
    }
    const int c = is.get();
    KQ_CHECK(c != EOF, kFormat) << "index vector: end of input at element " << i << " of "
                                << size << " " << DescribePosition(is);
    const int dt = static_cast<signed char>(c);
    if (dt > -125 && dt < 125) {
      if (i == 0) {
        index.t = dt;
      } else {
        index = v.back();
        const int64_t t = static_cast<int64_t>(index.t) + dt;
        KQ_CHECK(t >= std::numeric_limits<int32_t>::min() && t <= std::numeric_limits<int32_t>::max(),
                 kFormat)
            << "index vector: time overflows at element " << i << " " << DescribePosition(is);
        index.t = static_cast<int32_t>(t);
      }
    } else {
      KQ_CHECK(dt == 127, kFormat) << "index vector: unexpected byte " << dt << " at element " << i
                                   << " " << DescribePosition(is);
      index.n = ReadBasicType<int32_t>(is, true);
      index.t = ReadBasicType<int32_t>(is, true);
      index.x = ReadBasicType<int32_t>(is, true);
    }
    v.push_back(index);
  }
  return v;
}

void GeneralMatrix::GetMatrix(MatrixF* out) const {
  if (is_compressed_) {
    compressed_.CopyToMatrix(out);
  } else {
    *out = full_;
  }
}

void GeneralMatrix::Compress() {
  if (is_compressed_ || full_.rows() == 0) return;
  compressed_ = CompressedMatrix::Compress(full_);
  full_ = MatrixF();
  is_compressed_ = true;
}

void GeneralMatrix::Read(std::istream& is, bool binary) {
  *this = GeneralMatrix();
  if (!binary) SkipWhitespace(is, false);
  const int c = is.peek();
  KQ_CHECK(c != (binary ? 'S' : 'r'), kUnsupported)
      << "sparse feature matrices are not supported in chain egs " << DescribePosition(is);
  if (binary && c == 'C') {
    compressed_.Read(is, true);
    is_compressed_ = true;
  } else {
    ReadMatrix(is, binary, &full_);
  }
}

void GeneralMatrix::Write(std::ostream& os, bool binary) const {
  // Kaldi writes an empty compressed matrix as an empty full one.
  if (is_compressed_ && compressed_.NumRows() != 0) {
    compressed_.Write(os, binary);
  } else {
    WriteMatrix(os, binary, full_);
  }
}

int32_t ComputeFstStateTimes(const StdFst& fst, std::vector<int32_t>* state_times) {
  const int32_t num_states = fst.NumStates();
  KQ_CHECK(num_states > 0 && fst.start == 0, kFormat)
      << "supervision FST: expected start state 0, got " << fst.start << " (" << num_states
      << " states)";
  state_times->assign(static_cast<size_t>(num_states), -1);
  (*state_times)[0] = 0;
  int32_t total_length = -1;
  for (int32_t s = 0; s < num_states; ++s) {
    const int32_t t = (*state_times)[s];
    KQ_CHECK(t >= 0, kFormat) << "supervision FST: state " << s
                              << " is not reached from an earlier state (states must be "
                                 "numbered in time order)";
    KQ_CHECK(s == 0 || t >= (*state_times)[s - 1], kFormat)
        << "supervision FST: state " << s << " (time " << t
        << ") comes after a state of a later time";
    for (const StdArc* a = fst.ArcsBegin(s); a != fst.ArcsEnd(s); ++a) {
      KQ_CHECK(a->ilabel != 0, kFormat) << "supervision FST: epsilon arc at state " << s;
      int32_t& next = (*state_times)[a->nextstate];
      if (next == -1) {
        next = t + 1;
      } else {
        KQ_CHECK(next == t + 1, kFormat)
            << "supervision FST: state " << a->nextstate << " is reached at times " << next
            << " and " << t + 1;
      }
    }
    if (fst.IsFinal(s)) {
      KQ_CHECK(total_length == -1 || total_length == t, kFormat)
          << "supervision FST: final states at times " << total_length << " and " << t;
      total_length = t;
    }
  }
  KQ_CHECK(total_length >= 0, kFormat) << "supervision FST has no final state";
  return total_length;
}

void ChainSupervision::Read(std::istream& is, bool binary) {
  *this = ChainSupervision();
  ExpectToken(is, binary, "<Supervision>");
  ExpectToken(is, binary, "<Weight>");
  weight = ReadBasicType<float>(is, binary);
  ExpectToken(is, binary, "<NumSequences>");
  num_sequences = ReadBasicType<int32_t>(is, binary);
  ExpectToken(is, binary, "<FramesPerSeq>");
  frames_per_sequence = ReadBasicType<int32_t>(is, binary);
  ExpectToken(is, binary, "<LabelDim>");
  label_dim = ReadBasicType<int32_t>(is, binary);
  KQ_CHECK(std::isfinite(weight) && weight > 0, kFormat)
      << "supervision weight " << weight << " (must be positive) " << DescribePosition(is);
  KQ_CHECK(num_sequences >= 1 && frames_per_sequence >= 1 && label_dim >= 1 &&
               static_cast<int64_t>(num_sequences) * frames_per_sequence <=
                   std::numeric_limits<int32_t>::max(),
           kFormat)
      << "supervision: invalid sizes (sequences " << num_sequences << ", frames per sequence "
      << frames_per_sequence << ", label-dim " << label_dim << ") " << DescribePosition(is);
  ExpectToken(is, binary, "<End2End>");
  const bool is_e2e = ReadBool(is, binary);
  if (!is_e2e) {
    fst = ReadSupervisionFst(is, binary);
    CheckSupervisionLabels(fst, label_dim, "supervision FST");
    std::vector<int32_t> times;
    const int32_t length = ComputeFstStateTimes(fst, &times);
    KQ_CHECK(length == num_sequences * frames_per_sequence, kFormat)
        << "supervision FST paths have " << length << " frames, expected " << num_sequences
        << " x " << frames_per_sequence << " " << DescribePosition(is);
  } else {
    ExpectToken(is, binary, "<Fsts>");
    CheckPayloadFits(is, num_sequences, "e2e supervision FSTs");
    for (int32_t i = 0; i < num_sequences; ++i) {
      e2e_fsts.push_back(ReadSupervisionFst(is, binary));
      CheckSupervisionLabels(e2e_fsts.back(), label_dim, "e2e supervision FST");
    }
    ExpectToken(is, binary, "</Fsts>");
  }
  if (PeekToken(is, binary) == "<AlignmentPdfs>") {
    ExpectToken(is, binary, "<AlignmentPdfs>");
    alignment_pdfs = binary ? ReadRawIntegerVector<int32_t>(is, "alignment pdfs")
                            : ReadInt32Vector(is, false);
  }
  ExpectToken(is, binary, "</Supervision>");
}

void ChainSupervision::Write(std::ostream& os, bool binary) const {
  KQ_CHECK(frames_per_sequence > 0 && label_dim > 0 && num_sequences > 0, kInvalidArgument)
      << "cannot write a supervision without sizes";
  WriteToken(os, binary, "<Supervision>");
  WriteToken(os, binary, "<Weight>");
  WriteBasicType<float>(os, binary, weight);
  WriteToken(os, binary, "<NumSequences>");
  WriteBasicType<int32_t>(os, binary, num_sequences);
  WriteToken(os, binary, "<FramesPerSeq>");
  WriteBasicType<int32_t>(os, binary, frames_per_sequence);
  WriteToken(os, binary, "<LabelDim>");
  WriteBasicType<int32_t>(os, binary, label_dim);
  WriteToken(os, binary, "<End2End>");
  WriteBool(os, binary, e2e());
  if (!e2e()) {
    WriteSupervisionFst(os, binary, fst);
  } else {
    KQ_CHECK(static_cast<int32_t>(e2e_fsts.size()) == num_sequences, kInvalidArgument)
        << "e2e supervision has " << e2e_fsts.size() << " FSTs for " << num_sequences
        << " sequences";
    WriteToken(os, binary, "<Fsts>");
    for (const StdFst& f : e2e_fsts) WriteSupervisionFst(os, binary, f);
    WriteToken(os, binary, "</Fsts>");
  }
  if (!alignment_pdfs.empty()) {
    WriteToken(os, binary, "<AlignmentPdfs>");
    WriteInt32Vector(os, binary, alignment_pdfs);
  }
  WriteToken(os, binary, "</Supervision>");
}

void NnetChainSupervision::CheckDim() const {
  const int32_t num_sequences = supervision.num_sequences;
  const int32_t frames = supervision.frames_per_sequence;
  KQ_CHECK(static_cast<int64_t>(indexes.size()) == static_cast<int64_t>(num_sequences) * frames &&
               !indexes.empty() && frames > 1,
           kFormat)
      << "chain output '" << name << "': " << indexes.size() << " indexes for " << num_sequences
      << " sequences of " << frames << " frames (need more than one frame)";
  const int32_t first_t = indexes[0].t;
  const int64_t skip = static_cast<int64_t>(indexes[num_sequences].t) - first_t;
  size_t k = 0;
  for (int32_t i = 0; i < frames; ++i) {
    for (int32_t j = 0; j < num_sequences; ++j, ++k) {
      const Index& index = indexes[k];
      KQ_CHECK(index.n == j && index.x == 0 && index.t == first_t + i * skip, kFormat)
          << "chain output '" << name << "': index " << k << " is (" << index.n << ", "
          << index.t << ", " << index.x << "), expected (" << j << ", " << first_t + i * skip
          << ", 0) (frame-major, sequences inner)";
    }
  }
  if (!deriv_weights.empty()) {
    KQ_CHECK(deriv_weights.size() == indexes.size(), kFormat)
        << "chain output '" << name << "': " << deriv_weights.size() << " deriv weights for "
        << indexes.size() << " indexes";
    for (float w : deriv_weights) {
      KQ_CHECK(w >= 0 && std::isfinite(w), kFormat)
          << "chain output '" << name << "': invalid deriv weight " << w;
    }
  }
}

void NnetChainSupervision::Read(std::istream& is, bool binary) {
  *this = NnetChainSupervision();
  ExpectToken(is, binary, "<NnetChainSup>");
  name = ReadToken(is, binary);
  indexes = ReadIndexVector(is, binary);
  supervision.Read(is, binary);
  const std::string token = ReadToken(is, binary);
  if (token != "</NnetChainSup>") {
    if (token == "<DW2>") {
      ReadVector(is, binary, &deriv_weights);
    } else if (token == "<DW>") {
      // Old format: one byte per weight, value / 255.
      if (binary) {
        const std::vector<uint8_t> bytes = ReadRawIntegerVector<uint8_t>(is, "deriv weights");
        const float scale = 1.0f / 255.0f;
        deriv_weights.resize(bytes.size());
        for (size_t i = 0; i < bytes.size(); ++i) deriv_weights[i] = scale * bytes[i];
      } else {
        ReadVector(is, false, &deriv_weights);
      }
    } else {
      KQ_THROW(kFormat) << "expected <DW2>, <DW> or </NnetChainSup>, got " << token << " "
                        << DescribePosition(is);
    }
    ExpectToken(is, binary, "</NnetChainSup>");
  }
  CheckDim();
}

void NnetChainSupervision::Write(std::ostream& os, bool binary) const {
  CheckDim();
  WriteToken(os, binary, "<NnetChainSup>");
  WriteToken(os, binary, name);
  WriteIndexVector(os, binary, indexes);
  supervision.Write(os, binary);
  WriteToken(os, binary, "<DW2>");
  WriteVector(os, binary, deriv_weights);
  WriteToken(os, binary, "</NnetChainSup>");
}

void NnetChainExample::Read(std::istream& is, bool binary) {
  *this = NnetChainExample();
  ExpectToken(is, binary, "<Nnet3ChainEg>");
  ExpectToken(is, binary, "<NumInputs>");
  int32_t size = ReadBasicType<int32_t>(is, binary);
  KQ_CHECK(size >= 1 && size <= 1000000, kFormat)
      << "chain example: invalid number of inputs " << size << " " << DescribePosition(is);
  CheckPayloadFits(is, size, "chain example inputs");
  inputs.resize(static_cast<size_t>(size));
  for (NnetIo& io : inputs) {
    ExpectToken(is, binary, "<NnetIo>");
    io.name = ReadToken(is, binary);
    io.indexes = ReadIndexVector(is, binary);
    io.features.Read(is, binary);
    ExpectToken(is, binary, "</NnetIo>");
    KQ_CHECK(io.features.NumRows() == static_cast<int64_t>(io.indexes.size()), kFormat)
        << "chain example input '" << io.name << "': " << io.features.NumRows()
        << " feature rows for " << io.indexes.size() << " indexes " << DescribePosition(is);
  }
  ExpectToken(is, binary, "<NumOutputs>");
  size = ReadBasicType<int32_t>(is, binary);
  KQ_CHECK(size >= 1 && size <= 1000000, kFormat)
      << "chain example: invalid number of outputs " << size << " " << DescribePosition(is);
  CheckPayloadFits(is, size, "chain example outputs");
  outputs.resize(static_cast<size_t>(size));
  for (NnetChainSupervision& sup : outputs) sup.Read(is, binary);
  ExpectToken(is, binary, "</Nnet3ChainEg>");
}

void NnetChainExample::Write(std::ostream& os, bool binary) const {
  KQ_CHECK(!inputs.empty() && !outputs.empty(), kInvalidArgument)
      << "cannot write a chain example without inputs or outputs";
  WriteToken(os, binary, "<Nnet3ChainEg>");
  WriteToken(os, binary, "<NumInputs>");
  WriteBasicType<int32_t>(os, binary, static_cast<int32_t>(inputs.size()));
  if (!binary) os << '\n';
  for (const NnetIo& io : inputs) {
    KQ_CHECK(io.features.NumRows() == static_cast<int64_t>(io.indexes.size()), kInvalidArgument)
        << "input '" << io.name << "': " << io.features.NumRows() << " rows for "
        << io.indexes.size() << " indexes";
    WriteToken(os, binary, "<NnetIo>");
    WriteToken(os, binary, io.name);
    WriteIndexVector(os, binary, io.indexes);
    io.features.Write(os, binary);
    WriteToken(os, binary, "</NnetIo>");
    if (!binary) os << '\n';
  }
  WriteToken(os, binary, "<NumOutputs>");
  WriteBasicType<int32_t>(os, binary, static_cast<int32_t>(outputs.size()));
  if (!binary) os << '\n';
  for (const NnetChainSupervision& sup : outputs) {
    sup.Write(os, binary);
    if (!binary) os << '\n';
  }
  WriteToken(os, binary, "</Nnet3ChainEg>");
}

}  // namespace kaldiq::kaldi
