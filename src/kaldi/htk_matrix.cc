#include "kaldi/htk_matrix.h"

#include <cstring>
#include <vector>

#include "util/error.h"

namespace kaldiq::kaldi {

namespace {
void PutBigEndian(std::vector<char>* out, uint32_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out->push_back(static_cast<char>(v >> (8 * i) & 0xFF));
}
}  // namespace

void WriteHtk(std::ostream& os, const MatrixF& m, const HtkHeader& h) {
  KQ_CHECK(h.num_samples == m.rows() && h.sample_size == 4 * m.cols() && 4 * m.cols() <= 32767,
           kInvalidArgument)
      << "HTK header (" << h.num_samples << " frames of " << h.sample_size
      << " bytes) does not describe a " << m.rows() << " x " << m.cols() << " matrix";
  std::vector<char> buf;
  PutBigEndian(&buf, static_cast<uint32_t>(h.num_samples), 4);
  PutBigEndian(&buf, static_cast<uint32_t>(h.sample_period), 4);
  PutBigEndian(&buf, static_cast<uint16_t>(h.sample_size), 2);
  PutBigEndian(&buf, h.sample_kind, 2);
  for (int64_t r = 0; r < m.rows(); ++r) {
    for (int64_t c = 0; c < m.cols(); ++c) {
      uint32_t bits;
      std::memcpy(&bits, &m(r, c), 4);
      PutBigEndian(&buf, bits, 4);
    }
  }
  os.write(buf.data(), static_cast<std::streamsize>(buf.size()));
  KQ_CHECK(os.good(), kIo) << "error writing HTK features";
}

void HtkMatrixHolder::Write(std::ostream& os, bool binary, const T& t) {
  KQ_CHECK(binary, kInvalidArgument) << "non-binary HTK-format write not supported";
  WriteHtk(os, t.first, t.second);
}

void HtkMatrixHolder::Read(std::istream& /*is*/, bool /*binary*/, T* /*t*/) {
  KQ_THROW(kUnsupported) << "reading HTK feature files is not supported";
}

}  // namespace kaldiq::kaldi
