#include "kaldi/ivector_model_io.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <string>

#include "kaldi/basic_io.h"
#include "kaldi/kaldi_stream.h"
#include "kaldi/matrix_io.h"
#include "util/error.h"

namespace kaldiq::kaldi {

namespace {

// Packed matrices larger than this are not i-vector models (and n(n+1)/2 stays far from
// overflowing): 2^16 rows = 2^31 elements.
constexpr int64_t kMaxPackedDim = int64_t(1) << 16;

int64_t PackedSize(int64_t n) { return n * (n + 1) / 2; }

// A text number of a packed matrix: a word ending at whitespace or ']' (Kaldi reads with `is >>
// r`, which stops at ']'); inf/nan spellings as Kaldi accepts them.
double ReadTextPackedNumber(std::istream& is) {
  std::string w;
  int c;
  while ((c = is.peek()) != EOF && !std::isspace(c) && c != ']' && w.size() < 128) {
    w.push_back(static_cast<char>(is.get()));
  }
  std::string lower;
  for (char ch : w) lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(ch))));
  if (lower == "inf" || lower == "infinity") return std::numeric_limits<double>::infinity();
  if (lower == "-inf" || lower == "-infinity") return -std::numeric_limits<double>::infinity();
  if (lower == "nan" || lower == "-nan") return std::numeric_limits<double>::quiet_NaN();
  char* end = nullptr;
  double v = w.empty() ? 0.0 : std::strtod(w.c_str(), &end);
  KQ_CHECK(!w.empty() && end != nullptr && *end == '\0', kFormat)
      << "failed to read packed matrix: expected a number, got \"" << w << "\" "
      << DescribePosition(is);
  return v;
}

void ReadTextPackedBracketed(std::istream& is, PackedMatrixD* m) {
  std::vector<double> values;
  while (true) {
    int c = is.peek();
    KQ_CHECK(c != EOF, kFormat) << "failed to read packed matrix: end of file inside matrix data "
                                << DescribePosition(is);
    if (c == ']') {
      is.get();
      c = is.peek();
      if (c == '\r') {
        is.get();
        if (is.peek() == '\n') is.get();
      } else if (c == '\n') {
        is.get();
      }
      break;
    }
    if (std::isspace(c)) {
      is.get();
      continue;
    }
    values.push_back(ReadTextPackedNumber(is));
  }
  int64_t n = static_cast<int64_t>(std::sqrt(2.0 * static_cast<double>(values.size())));
  KQ_CHECK(PackedSize(n) == static_cast<int64_t>(values.size()), kFormat)
      << "failed to read packed matrix: " << values.size()
      << " values is not a triangular number n(n+1)/2 " << DescribePosition(is);
  m->dim = static_cast<int32_t>(n);
  m->data = std::move(values);
}

// Reads count raw values in chunks, so that on a pipe (whose size is unknown) memory follows
// the bytes actually delivered rather than a declared size.
template <typename Real>
void ReadRawPacked(std::istream& is, int64_t count, std::vector<double>* out) {
  const int64_t kChunk = int64_t(1) << 20;
  std::vector<Real> raw;
  out->clear();
  for (int64_t done = 0; done < count;) {
    const int64_t k = std::min(kChunk, count - done);
    raw.resize(static_cast<size_t>(k));
    ReadExact(is, reinterpret_cast<char*>(raw.data()), k * static_cast<int64_t>(sizeof(Real)),
              "packed matrix");
    out->insert(out->end(), raw.begin(), raw.end());
    done += k;
  }
}

void CheckToken(const std::string& got, const char* expected, std::istream& is,
                const char* what) {
  KQ_CHECK(got == expected, kFormat) << "failed to read " << what << ": expected " << expected
                                     << ", got '" << got << "' " << DescribePosition(is);
}

}  // namespace

void ReadPackedMatrix(std::istream& is, bool binary, PackedMatrixD* m, int32_t expected_dim) {
  std::string token = ReadToken(is, binary);
  if (!binary && token == "[") {
    ReadTextPackedBracketed(is, m);
    KQ_CHECK(expected_dim < 0 || m->dim == expected_dim, kFormat)
        << "packed matrix has dimension " << m->dim << ", expected " << expected_dim;
    return;
  }
  KQ_CHECK(token == "DP" || token == "FP", kFormat)
      << "failed to read packed matrix: expected token DP or FP, got '" << token << "' "
      << DescribePosition(is);
  int32_t n = ReadBasicType<int32_t>(is, binary);
  KQ_CHECK(n >= 0 && n <= kMaxPackedDim, kFormat)
      << "failed to read packed matrix: invalid dimension " << n << " " << DescribePosition(is);
  KQ_CHECK(expected_dim < 0 || n == expected_dim, kFormat)
      << "packed matrix has dimension " << n << ", expected " << expected_dim << " "
      << DescribePosition(is);
  const int64_t count = PackedSize(n);
  PackedMatrixD tmp;
  tmp.dim = n;
  if (binary) {
    const int64_t elem = token == "DP" ? 8 : 4;
    std::string what = "packed matrix of dimension " + std::to_string(n);
    CheckPayloadFits(is, count * elem, what.c_str());
    if (token == "DP") {
      ReadRawPacked<double>(is, count, &tmp.data);
    } else {
      ReadRawPacked<float>(is, count, &tmp.data);
    }
  } else {
    // Kaldi's older text form: "DP n v v v ...". Each value takes at least 2 bytes ("0 ").
    std::string what = "packed matrix of dimension " + std::to_string(n);
    CheckPayloadFits(is, count * 2, what.c_str());
    for (int64_t i = 0; i < count; ++i) tmp.data.push_back(ReadBasicType<double>(is, false));
  }
  *m = std::move(tmp);
}

void WritePackedMatrix(std::ostream& os, bool binary, const PackedMatrixD& m) {
  KQ_CHECK(m.dim >= 0 && static_cast<int64_t>(m.data.size()) == PackedSize(m.dim), kInternal)
      << "packed matrix of dimension " << m.dim << " holds " << m.data.size() << " values";
  if (binary) {
    WriteToken(os, true, "DP");
    WriteBasicType<int32_t>(os, true, m.dim);
    os.write(reinterpret_cast<const char*>(m.data.data()),
             static_cast<std::streamsize>(m.data.size() * sizeof(double)));
  } else {
    EnsureKaldiPrecision(os);
    if (m.dim == 0) {
      os << "[ ]\n";
    } else {
      os << "[\n";
      size_t i = 0;
      for (int32_t r = 0; r < m.dim; ++r) {
        for (int32_t c = 0; c <= r; ++c) WriteBasicType<double>(os, false, m.data[i++]);
        os << (r == m.dim - 1 ? "]\n" : "\n");
      }
    }
  }
  KQ_CHECK(os.good(), kIo) << "failed to write packed matrix";
}

void ReadDiagGmm(std::istream& is, bool binary, DiagGmmFile* gmm) {
  DiagGmmFile g;
  std::string token = ReadToken(is, binary);
  KQ_CHECK(token == "<DiagGMM>" || token == "<DiagGMMBegin>", kFormat)
      << "failed to read DiagGmm: expected <DiagGMM>, got '" << token << "' "
      << DescribePosition(is);
  token = ReadToken(is, binary);
  if (token == "<GCONSTS>") {
    ReadVector(is, binary, &g.gconsts);
    token = ReadToken(is, binary);
  }
  CheckToken(token, "<WEIGHTS>", is, "DiagGmm");
  ReadVector(is, binary, &g.weights);
  ExpectToken(is, binary, "<MEANS_INVVARS>");
  ReadMatrix(is, binary, &g.means_invvars);
  ExpectToken(is, binary, "<INV_VARS>");
  ReadMatrix(is, binary, &g.inv_vars);
  token = ReadToken(is, binary);
  KQ_CHECK(token == "</DiagGMM>" || token == "<DiagGMMEnd>", kFormat)
      << "failed to read DiagGmm: expected </DiagGMM>, got '" << token << "' "
      << DescribePosition(is);
  const int64_t G = static_cast<int64_t>(g.weights.size());
  KQ_CHECK(G >= 1, kFormat) << "DiagGmm has no Gaussians";
  KQ_CHECK(g.inv_vars.rows() == G && g.inv_vars.cols() >= 1, kFormat)
      << "DiagGmm: <INV_VARS> is " << g.inv_vars.rows() << " x " << g.inv_vars.cols() << ", expected "
      << G << " rows (one per weight)";
  KQ_CHECK(g.means_invvars.rows() == G && g.means_invvars.cols() == g.inv_vars.cols(), kFormat)
      << "DiagGmm: <MEANS_INVVARS> is " << g.means_invvars.rows() << " x "
      << g.means_invvars.cols() << ", expected " << G << " x " << g.inv_vars.cols();
  KQ_CHECK(g.gconsts.empty() || static_cast<int64_t>(g.gconsts.size()) == G, kFormat)
      << "DiagGmm: <GCONSTS> has " << g.gconsts.size() << " values for " << G << " Gaussians";
  *gmm = std::move(g);
}

void WriteDiagGmm(std::ostream& os, bool binary, const DiagGmmFile& gmm) {
  WriteToken(os, binary, "<DiagGMM>");
  if (!binary) os << "\n";
  if (!gmm.gconsts.empty()) {
    WriteToken(os, binary, "<GCONSTS>");
    WriteVector(os, binary, gmm.gconsts);
  }
  WriteToken(os, binary, "<WEIGHTS>");
  WriteVector(os, binary, gmm.weights);
  WriteToken(os, binary, "<MEANS_INVVARS>");
  WriteMatrix(os, binary, gmm.means_invvars);
  WriteToken(os, binary, "<INV_VARS>");
  WriteMatrix(os, binary, gmm.inv_vars);
  WriteToken(os, binary, "</DiagGMM>");
  if (!binary) os << "\n";
  KQ_CHECK(os.good(), kIo) << "failed to write DiagGmm";
}

void ReadIvectorExtractor(std::istream& is, bool binary, IvectorExtractorFile* ie) {
  IvectorExtractorFile e;
  ExpectToken(is, binary, "<IvectorExtractor>");
  ExpectToken(is, binary, "<w>");
  ReadMatrix(is, binary, &e.w);
  ExpectToken(is, binary, "<w_vec>");
  ReadVector(is, binary, &e.w_vec);
  ExpectToken(is, binary, "<M>");
  int32_t G = ReadBasicType<int32_t>(is, binary);
  KQ_CHECK(G >= 1, kFormat) << "IvectorExtractor: invalid number of Gaussians " << G << " "
                            << DescribePosition(is);
  // Each Gaussian needs at least a matrix and a packed matrix header (> 8 bytes in either
  // mode): refuse a count the stream cannot hold before reserving anything.
  CheckPayloadFits(is, static_cast<int64_t>(G) * 8, "IvectorExtractor <M>");
  e.M.reserve(static_cast<size_t>(std::min<int32_t>(G, 4096)));
  for (int32_t g = 0; g < G; ++g) {
    MatrixD m;
    try {
      ReadMatrix(is, binary, &m);
    } catch (const Error& err) {
      throw err.WithContext("IvectorExtractor: <M> of Gaussian " + std::to_string(g));
    }
    KQ_CHECK(m.rows() >= 1 && m.cols() >= 1, kFormat)
        << "IvectorExtractor: <M> of Gaussian " << g << " is " << m.rows() << " x " << m.cols();
    if (g > 0) {
      KQ_CHECK(m.rows() == e.M[0].rows() && m.cols() == e.M[0].cols(), kFormat)
          << "IvectorExtractor: <M> of Gaussian " << g << " is " << m.rows() << " x " << m.cols()
          << ", Gaussian 0 has " << e.M[0].rows() << " x " << e.M[0].cols();
    }
    e.M.push_back(std::move(m));
  }
  const int64_t D = e.M[0].rows(), I = e.M[0].cols();
  ExpectToken(is, binary, "<SigmaInv>");
  e.sigma_inv.reserve(static_cast<size_t>(G));
  for (int32_t g = 0; g < G; ++g) {
    PackedMatrixD s;
    try {
      ReadPackedMatrix(is, binary, &s, static_cast<int32_t>(D));
    } catch (const Error& err) {
      throw err.WithContext("IvectorExtractor: <SigmaInv> of Gaussian " + std::to_string(g));
    }
    KQ_CHECK(s.dim == D, kFormat) << "IvectorExtractor: <SigmaInv> of Gaussian " << g
                                  << " has dimension " << s.dim << ", expected " << D;
    e.sigma_inv.push_back(std::move(s));
  }
  ExpectToken(is, binary, "<IvectorOffset>");
  e.prior_offset = ReadBasicType<double>(is, binary);
  ExpectToken(is, binary, "</IvectorExtractor>");
  KQ_CHECK(e.w.rows() == 0 || (e.w.rows() == G && e.w.cols() == I), kFormat)
      << "IvectorExtractor: <w> is " << e.w.rows() << " x " << e.w.cols() << ", expected 0 x 0 or "
      << G << " x " << I;
  KQ_CHECK(e.w_vec.empty() || static_cast<int64_t>(e.w_vec.size()) == G, kFormat)
      << "IvectorExtractor: <w_vec> has " << e.w_vec.size() << " values for " << G
      << " Gaussians";
  *ie = std::move(e);
}

void WriteIvectorExtractor(std::ostream& os, bool binary, const IvectorExtractorFile& ie) {
  KQ_CHECK(ie.sigma_inv.size() == ie.M.size(), kInternal)
      << "IvectorExtractor: " << ie.M.size() << " <M> but " << ie.sigma_inv.size()
      << " <SigmaInv>";
  WriteToken(os, binary, "<IvectorExtractor>");
  WriteToken(os, binary, "<w>");
  WriteMatrix(os, binary, ie.w);
  WriteToken(os, binary, "<w_vec>");
  WriteVector(os, binary, ie.w_vec);
  WriteToken(os, binary, "<M>");
  WriteBasicType<int32_t>(os, binary, static_cast<int32_t>(ie.M.size()));
  for (const MatrixD& m : ie.M) WriteMatrix(os, binary, m);
  WriteToken(os, binary, "<SigmaInv>");
  for (const PackedMatrixD& s : ie.sigma_inv) WritePackedMatrix(os, binary, s);
  WriteToken(os, binary, "<IvectorOffset>");
  WriteBasicType<double>(os, binary, ie.prior_offset);
  WriteToken(os, binary, "</IvectorExtractor>");
  KQ_CHECK(os.good(), kIo) << "failed to write IvectorExtractor";
}

namespace {
template <typename T, typename ReadFn>
T ReadKaldiObject(const std::string& rxfilename, const char* what, ReadFn read) {
  try {
    Input in(rxfilename);
    T obj;
    read(in.Stream(), in.binary(), &obj);
    in.Close();
    return obj;
  } catch (const Error& e) {
    throw e.WithContext(std::string(what) + " '" + rxfilename + "'");
  }
}
}  // namespace

DiagGmmFile ReadDiagGmmFile(const std::string& rxfilename) {
  return ReadKaldiObject<DiagGmmFile>(rxfilename, "diagonal GMM", [](std::istream& is, bool b,
                                                                       DiagGmmFile* g) {
    ReadDiagGmm(is, b, g);
  });
}

IvectorExtractorFile ReadIvectorExtractorFile(const std::string& rxfilename) {
  return ReadKaldiObject<IvectorExtractorFile>(
      rxfilename, "i-vector extractor",
      [](std::istream& is, bool b, IvectorExtractorFile* e) { ReadIvectorExtractor(is, b, e); });
}

MatrixF ReadMatrixFileF(const std::string& rxfilename) {
  return ReadKaldiObject<MatrixF>(rxfilename, "matrix", [](std::istream& is, bool b, MatrixF* m) {
    ReadMatrix(is, b, m);
  });
}

MatrixD ReadMatrixFileD(const std::string& rxfilename) {
  return ReadKaldiObject<MatrixD>(rxfilename, "matrix", [](std::istream& is, bool b, MatrixD* m) {
    ReadMatrix(is, b, m);
  });
}

}  // namespace kaldiq::kaldi
