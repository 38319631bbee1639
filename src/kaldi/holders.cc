#include "kaldi/holders.h"

#include <cctype>
#include <sstream>

#include "kaldi/basic_io.h"
#include "kaldi/table_spec.h"
#include "util/error.h"

namespace kaldiq::kaldi {

namespace internal {

template <typename M>
void ExtractMatrixRange(const M& full, const std::string& range, M* out) {
  int64_t r0, nr, c0, nc;
  ParseMatrixRange(range, full.rows(), full.cols(), &r0, &nr, &c0, &nc);
  M tmp(nr, nc);
  for (int64_t r = 0; r < nr; ++r) {
    const auto* src = full.Row(r0 + r) + c0;
    std::copy(src, src + nc, tmp.Row(r));
  }
  *out = std::move(tmp);
}
template void ExtractMatrixRange<MatrixF>(const MatrixF&, const std::string&, MatrixF*);
template void ExtractMatrixRange<MatrixD>(const MatrixD&, const std::string&, MatrixD*);

}  // namespace internal

namespace {
// Reads the rest of the current line (consuming the '\n'); throws at end of stream.
std::string ReadLine(std::istream& is, const char* what) {
  std::string line;
  KQ_CHECK(static_cast<bool>(std::getline(is, line)), kFormat)
      << "expected " << what << " line, got end of file " << DescribePosition(is);
  return line;
}

// Kaldi text holders: skip spaces/tabs but not the newline that terminates the entry.
void SkipBlanksOnLine(std::istream& is) {
  int c;
  while ((c = is.peek()) != EOF && c != '\n' && std::isspace(c)) is.get();
}
}  // namespace

void Int32VectorHolder::Write(std::ostream& os, bool binary, const T& t) {
  if (binary) {
    KQ_CHECK(t.size() <= static_cast<size_t>(INT32_MAX), kInvalidArgument) << "vector too long";
    WriteBasicType<int32_t>(os, true, static_cast<int32_t>(t.size()));
    for (int32_t x : t) WriteBasicType<int32_t>(os, true, x);
  } else {
    for (int32_t x : t) WriteBasicType<int32_t>(os, false, x);
    os << '\n';
  }
}

void Int32VectorHolder::Read(std::istream& is, bool binary, T* t) {
  t->clear();
  if (binary) {
    int32_t n = ReadBasicType<int32_t>(is, true);
    KQ_CHECK(n >= 0, kFormat) << "negative int32 vector length " << n << " " << DescribePosition(is);
    // Each element takes 5 bytes on disk.
    CheckPayloadFits(is, static_cast<int64_t>(n) * 5, "int32 vector");
    t->reserve(static_cast<size_t>(std::min<int32_t>(n, 1 << 20)));
    for (int32_t i = 0; i < n; ++i) t->push_back(ReadBasicType<int32_t>(is, true));
    return;
  }
  std::istringstream line(ReadLine(is, "integer vector"));
  while (true) {
    line >> std::ws;
    if (line.eof()) break;
    t->push_back(ReadBasicType<int32_t>(line, false));
  }
}

void TokenVectorHolder::Write(std::ostream& os, bool /*binary*/, const T& t) {
  for (const std::string& w : t) {
    KQ_CHECK(IsValidKey(w), kInvalidArgument)
        << "cannot write '" << w << "' as a token (empty or contains whitespace)";
    os << w << ' ';
  }
  os << '\n';
}

void TokenVectorHolder::Read(std::istream& is, bool /*binary*/, T* t) {
  t->clear();
  std::istringstream line(ReadLine(is, "token"));
  std::string w;
  while (line >> w) t->push_back(w);
}

void TokenHolder::Write(std::ostream& os, bool /*binary*/, const T& t) {
  KQ_CHECK(IsValidKey(t), kInvalidArgument)
      << "cannot write '" << t << "' as a token (empty or contains whitespace)";
  os << t << '\n';
}

void TokenHolder::Read(std::istream& is, bool /*binary*/, T* t) {
  SkipBlanksOnLine(is);
  t->clear();
  int c;
  while ((c = is.peek()) != EOF && !std::isspace(c)) t->push_back(static_cast<char>(is.get()));
  KQ_CHECK(!t->empty(), kFormat) << "expected a token " << DescribePosition(is);
  SkipBlanksOnLine(is);
  KQ_CHECK(is.peek() == '\n', kFormat) << "expected end of line after token '" << *t << "' "
                                       << DescribePosition(is);
  is.get();
}

template <typename Scalar>
void BasicHolder<Scalar>::Write(std::ostream& os, bool binary, const T& t) {
  WriteBasicType<Scalar>(os, binary, t);
  if (!binary) os << '\n';
}

template <typename Scalar>
void BasicHolder<Scalar>::Read(std::istream& is, bool binary, T* t) {
  if (binary) {
    *t = ReadBasicType<Scalar>(is, true);
    return;
  }
  SkipBlanksOnLine(is);
  KQ_CHECK(is.peek() != '\n', kFormat) << "found end of line, expected a number "
                                       << DescribePosition(is);
  *t = ReadBasicType<Scalar>(is, false);
  SkipBlanksOnLine(is);
  KQ_CHECK(is.peek() == '\n', kFormat) << "expected end of line after a number "
                                       << DescribePosition(is);
  is.get();
}

template struct BasicHolder<float>;
template struct BasicHolder<double>;
template struct BasicHolder<int32_t>;

}  // namespace kaldiq::kaldi
