// Kaldi's lattice semirings as OpenFst weights, with Kaldi's exact semantics (Kaldi's
// src/fstext/lattice-weight.h), so that lattices read, written and compared here behave as in Kaldi:
//
// LatticeWeightTpl<F>: a pair of costs (graph cost = Value1, acoustic cost = Value2).
//   Plus  = the pair with the lower total cost; ties broken by the lower graph cost (Compare).
//   Times = componentwise sum.  Zero = (inf, inf), One = (0, 0).  Type() = "lattice4" (float).
//   Binary form = two raw floats; text form = "g,a" (inf printed as "Infinity").
// CompactLatticeWeightTpl<W, I>: a LatticeWeight plus a string of transition ids.
//   Plus  = Compare() order: weight first, then the shorter string, then lexicographic.
//   Times = weights multiplied, strings concatenated (Zero stays unique: empty string).
//   Type() = "compact" + W::Type() + sizeof(I), i.e. "compactlattice44".
//   Binary form = weight, int32 length, int32 ids; text form = "g,a,t1_t2_t3".
//
// These live in kaldiq::lat; OpenFst's algorithms find Plus/Times/Divide by argument-dependent
// lookup. Divide on impossible inputs throws kaldiq::Error (Kaldi aborts).
#pragma once

#include <fst/fst-decl.h>
#include <fst/fst.h>
#include <fst/vector-fst.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <istream>
#include <limits>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

namespace kaldiq::lat {

template <class FloatType>
class LatticeWeightTpl {
 public:
  using T = FloatType;
  using ReverseWeight = LatticeWeightTpl;

  LatticeWeightTpl() : value1_(0), value2_(0) {}
  LatticeWeightTpl(T graph, T acoustic) : value1_(graph), value2_(acoustic) {}

  T Value1() const { return value1_; }  // graph (LM + transition + pronunciation) cost
  T Value2() const { return value2_; }  // acoustic cost
  void SetValue1(T f) { value1_ = f; }
  void SetValue2(T f) { value2_ = f; }

  LatticeWeightTpl Reverse() const { return *this; }

  static const LatticeWeightTpl Zero() {
    return LatticeWeightTpl(std::numeric_limits<T>::infinity(), std::numeric_limits<T>::infinity());
  }
  static const LatticeWeightTpl One() { return LatticeWeightTpl(0, 0); }
  static const LatticeWeightTpl NoWeight() {
    return LatticeWeightTpl(std::numeric_limits<T>::quiet_NaN(),
                            std::numeric_limits<T>::quiet_NaN());
  }
  static const std::string& Type() {
    static const std::string type = sizeof(T) == 4 ? "lattice4" : "lattice8";
    return type;
  }

  // No NaN, no -inf, and +inf only as the unique Zero (both costs infinite).
  bool Member() const {
    const T inf = std::numeric_limits<T>::infinity();
    if (value1_ != value1_ || value2_ != value2_) return false;
    if (value1_ == -inf || value2_ == -inf) return false;
    if (value1_ == inf || value2_ == inf) return value1_ == inf && value2_ == inf;
    return true;
  }

  LatticeWeightTpl Quantize(float delta = fst::kDelta) const {
    const T inf = std::numeric_limits<T>::infinity();
    const T sum = value1_ + value2_;
    if (sum == -inf) return LatticeWeightTpl(-inf, -inf);
    if (sum == inf) return Zero();
    if (sum != sum) return LatticeWeightTpl(sum, sum);
    return LatticeWeightTpl(std::floor(value1_ / delta + 0.5F) * delta,
                            std::floor(value2_ / delta + 0.5F) * delta);
  }

  static constexpr uint64_t Properties() {
    return fst::kLeftSemiring | fst::kRightSemiring | fst::kCommutative | fst::kPath |
           fst::kIdempotent;
  }

  // OpenFst binary I/O: two raw native floats (Kaldi always stores them as T).
  std::istream& Read(std::istream& strm) {
    strm.read(reinterpret_cast<char*>(&value1_), sizeof(T));
    strm.read(reinterpret_cast<char*>(&value2_), sizeof(T));
    return strm;
  }
  std::ostream& Write(std::ostream& strm) const {
    strm.write(reinterpret_cast<const char*>(&value1_), sizeof(T));
    strm.write(reinterpret_cast<const char*>(&value2_), sizeof(T));
    return strm;
  }

  size_t Hash() const {
    uint64_t a = 0, b = 0;
    static_assert(sizeof(T) <= sizeof(uint64_t));
    std::memcpy(&a, &value1_, sizeof(T));
    std::memcpy(&b, &value2_, sizeof(T));
    return static_cast<size_t>(a * 0x9E3779B97F4A7C15ULL + b);
  }

 private:
  T value1_;
  T value2_;
};

template <class F>
inline bool operator==(const LatticeWeightTpl<F>& w1, const LatticeWeightTpl<F>& w2) {
  return w1.Value1() == w2.Value1() && w1.Value2() == w2.Value2();
}
template <class F>
inline bool operator!=(const LatticeWeightTpl<F>& w1, const LatticeWeightTpl<F>& w2) {
  return !(w1 == w2);
}

// Kaldi's total order: 1 if w1 is better (lower total cost; ties: lower graph cost),
// -1 if worse, 0 if equal.
template <class F>
inline int Compare(const LatticeWeightTpl<F>& w1, const LatticeWeightTpl<F>& w2) {
  const F f1 = w1.Value1() + w1.Value2(), f2 = w2.Value1() + w2.Value2();
  if (f1 < f2) return 1;
  if (f1 > f2) return -1;
  if (w1.Value1() < w2.Value1()) return 1;
  if (w1.Value1() > w2.Value1()) return -1;
  return 0;
}

template <class F>
inline LatticeWeightTpl<F> Plus(const LatticeWeightTpl<F>& w1, const LatticeWeightTpl<F>& w2) {
  return Compare(w1, w2) >= 0 ? w1 : w2;
}

template <class F>
inline LatticeWeightTpl<F> Times(const LatticeWeightTpl<F>& w1, const LatticeWeightTpl<F>& w2) {
  return LatticeWeightTpl<F>(w1.Value1() + w2.Value1(), w1.Value2() + w2.Value2());
}

// Kaldi: a NaN or -inf result (dividing by Zero) gives Zero; so does a half-infinite result.
template <class F>
inline LatticeWeightTpl<F> Divide(const LatticeWeightTpl<F>& w1, const LatticeWeightTpl<F>& w2,
                                  fst::DivideType = fst::DIVIDE_ANY) {
  const F inf = std::numeric_limits<F>::infinity();
  const F a = w1.Value1() - w2.Value1(), b = w1.Value2() - w2.Value2();
  if (a != a || b != b || a == -inf || b == -inf) return LatticeWeightTpl<F>::Zero();
  if (a == inf || b == inf) return LatticeWeightTpl<F>::Zero();
  return LatticeWeightTpl<F>(a, b);
}

template <class F>
inline bool ApproxEqual(const LatticeWeightTpl<F>& w1, const LatticeWeightTpl<F>& w2,
                        float delta = fst::kDelta) {
  if (w1.Value1() == w2.Value1() && w1.Value2() == w2.Value2()) return true;  // also Zero
  return std::fabs(w1.Value1() - w2.Value1()) <= delta &&
         std::fabs(w1.Value2() - w2.Value2()) <= delta;
}

// Kaldi's text float: "Infinity", "-Infinity", "BadNumber" for the specials, else operator<<.
template <class F>
inline void WriteLatticeFloat(std::ostream& strm, F f) {
  if (f == std::numeric_limits<F>::infinity())
    strm << "Infinity";
  else if (f == -std::numeric_limits<F>::infinity())
    strm << "-Infinity";
  else if (f != f)
    strm << "BadNumber";
  else
    strm << f;
}
// Parses one text float as Kaldi does; returns false on garbage.
bool ParseLatticeFloat(const std::string& s, double* f);

template <class F>
inline std::ostream& operator<<(std::ostream& strm, const LatticeWeightTpl<F>& w) {
  WriteLatticeFloat(strm, w.Value1());
  strm << ',';
  WriteLatticeFloat(strm, w.Value2());
  return strm;
}
// Reads "g,a" (one whitespace-delimited token); sets failbit on a malformed token.
template <class F>
inline std::istream& operator>>(std::istream& strm, LatticeWeightTpl<F>& w) {
  std::string s;
  strm >> s;
  const size_t comma = s.find(',');
  double a = 0, b = 0;
  if (!strm || comma == std::string::npos || !ParseLatticeFloat(s.substr(0, comma), &a) ||
      !ParseLatticeFloat(s.substr(comma + 1), &b)) {
    strm.setstate(std::ios::failbit);
    return strm;
  }
  w = LatticeWeightTpl<F>(static_cast<F>(a), static_cast<F>(b));
  return strm;
}

// ---------------------------------------------------------------------------------------------
template <class WeightType, class IntType>
class CompactLatticeWeightTpl {
 public:
  using W = WeightType;
  using ReverseWeight = CompactLatticeWeightTpl;

  CompactLatticeWeightTpl() {}
  CompactLatticeWeightTpl(const W& w, const std::vector<IntType>& s) : weight_(w), string_(s) {}
  CompactLatticeWeightTpl(const W& w, std::vector<IntType>&& s) : weight_(w), string_(std::move(s)) {}

  const W& Weight() const { return weight_; }
  const std::vector<IntType>& String() const { return string_; }
  void SetWeight(const W& w) { weight_ = w; }
  void SetString(const std::vector<IntType>& s) { string_ = s; }
  std::vector<IntType>* MutableString() { return &string_; }

  static const CompactLatticeWeightTpl Zero() { return CompactLatticeWeightTpl(W::Zero(), {}); }
  static const CompactLatticeWeightTpl One() { return CompactLatticeWeightTpl(W::One(), {}); }
  static const CompactLatticeWeightTpl NoWeight() {
    return CompactLatticeWeightTpl(W::NoWeight(), {});
  }
  static const std::string& Type() {
    static const std::string type = "compact" + W::Type() + std::to_string(sizeof(IntType));
    return type;
  }

  CompactLatticeWeightTpl Reverse() const {
    return CompactLatticeWeightTpl(weight_.Reverse(),
                                   std::vector<IntType>(string_.rbegin(), string_.rend()));
  }
  // Zero must be unique: a Zero weight carries an empty string.
  bool Member() const {
    if (!weight_.Member()) return false;
    return weight_ == W::Zero() ? string_.empty() : true;
  }
  CompactLatticeWeightTpl Quantize(float delta = fst::kDelta) const {
    return CompactLatticeWeightTpl(weight_.Quantize(delta), string_);
  }
  static constexpr uint64_t Properties() {
    return W::Properties() & (fst::kLeftSemiring | fst::kRightSemiring | fst::kPath |
                              fst::kIdempotent);
  }

  // OpenFst binary I/O: weight, int32 length, then the ids (raw native IntType).
  std::istream& Read(std::istream& strm);
  std::ostream& Write(std::ostream& strm) const {
    weight_.Write(strm);
    const int32_t n = static_cast<int32_t>(string_.size());
    strm.write(reinterpret_cast<const char*>(&n), sizeof(n));
    if (n > 0) strm.write(reinterpret_cast<const char*>(string_.data()), sizeof(IntType) * n);
    return strm;
  }
  size_t Hash() const {
    size_t h = weight_.Hash();
    for (IntType i : string_) h = h * 7853 + static_cast<size_t>(i);
    return h;
  }

 private:
  W weight_;
  std::vector<IntType> string_;
};

// Largest string length accepted when reading (guards allocation on corrupt input).
inline constexpr int32_t kMaxCompactLatticeStringLength = 1 << 24;

template <class W, class I>
std::istream& CompactLatticeWeightTpl<W, I>::Read(std::istream& strm) {
  weight_.Read(strm);
  if (strm.fail()) return strm;
  int32_t n = 0;
  strm.read(reinterpret_cast<char*>(&n), sizeof(n));
  if (strm.fail()) return strm;
  if (n < 0 || n > kMaxCompactLatticeStringLength) {
    strm.setstate(std::ios::failbit);
    return strm;
  }
  string_.resize(n);
  if (n > 0) strm.read(reinterpret_cast<char*>(string_.data()), sizeof(I) * n);
  if (strm.fail()) string_.clear();
  return strm;
}

template <class W, class I>
inline bool operator==(const CompactLatticeWeightTpl<W, I>& w1,
                       const CompactLatticeWeightTpl<W, I>& w2) {
  return w1.Weight() == w2.Weight() && w1.String() == w2.String();
}
template <class W, class I>
inline bool operator!=(const CompactLatticeWeightTpl<W, I>& w1,
                       const CompactLatticeWeightTpl<W, I>& w2) {
  return !(w1 == w2);
}
template <class W, class I>
inline bool ApproxEqual(const CompactLatticeWeightTpl<W, I>& w1,
                        const CompactLatticeWeightTpl<W, I>& w2, float delta = fst::kDelta) {
  return ApproxEqual(w1.Weight(), w2.Weight(), delta) && w1.String() == w2.String();
}

// Kaldi: compare weights; on a tie the SHORTER string is better (1); equal lengths: the
// lexicographically smaller string compares as -1 (worse) -- Kaldi's exact tie-breaking.
template <class W, class I>
inline int Compare(const CompactLatticeWeightTpl<W, I>& w1,
                   const CompactLatticeWeightTpl<W, I>& w2) {
  const int c = Compare(w1.Weight(), w2.Weight());
  if (c != 0) return c;
  const size_t l1 = w1.String().size(), l2 = w2.String().size();
  if (l1 > l2) return -1;
  if (l1 < l2) return 1;
  for (size_t i = 0; i < l1; ++i) {
    if (w1.String()[i] < w2.String()[i]) return -1;
    if (w1.String()[i] > w2.String()[i]) return 1;
  }
  return 0;
}

template <class W, class I>
inline CompactLatticeWeightTpl<W, I> Plus(const CompactLatticeWeightTpl<W, I>& w1,
                                          const CompactLatticeWeightTpl<W, I>& w2) {
  return Compare(w1, w2) >= 0 ? w1 : w2;
}

template <class W, class I>
inline CompactLatticeWeightTpl<W, I> Times(const CompactLatticeWeightTpl<W, I>& w1,
                                           const CompactLatticeWeightTpl<W, I>& w2) {
  const W w = Times(w1.Weight(), w2.Weight());
  if (w == W::Zero()) return CompactLatticeWeightTpl<W, I>::Zero();
  std::vector<I> s;
  s.reserve(w1.String().size() + w2.String().size());
  s.insert(s.end(), w1.String().begin(), w1.String().end());
  s.insert(s.end(), w2.String().begin(), w2.String().end());
  return CompactLatticeWeightTpl<W, I>(w, std::move(s));
}

// Left division removes w2's string as a prefix of w1's, right division as a suffix. Throws
// kaldiq::Error on 0/0, division by Zero, DIVIDE_ANY, or a string that is not a prefix/suffix.
[[noreturn]] void ThrowCompactDivideError(const char* what);

template <class W, class I>
inline CompactLatticeWeightTpl<W, I> Divide(const CompactLatticeWeightTpl<W, I>& w1,
                                            const CompactLatticeWeightTpl<W, I>& w2,
                                            fst::DivideType div = fst::DIVIDE_ANY) {
  if (w1.Weight() == W::Zero()) {
    if (w2.Weight() != W::Zero()) return CompactLatticeWeightTpl<W, I>::Zero();
    ThrowCompactDivideError("division 0/0");
  }
  if (w2.Weight() == W::Zero()) ThrowCompactDivideError("division by zero");
  const W w = Divide(w1.Weight(), w2.Weight());
  const std::vector<I>& v1 = w1.String();
  const std::vector<I>& v2 = w2.String();
  if (v2.size() > v1.size()) ThrowCompactDivideError("cannot divide, length mismatch");
  if (div == fst::DIVIDE_LEFT) {
    if (!std::equal(v2.begin(), v2.end(), v1.begin()))
      ThrowCompactDivideError("cannot divide, string is not a prefix");
    return CompactLatticeWeightTpl<W, I>(w, std::vector<I>(v1.begin() + v2.size(), v1.end()));
  }
  if (div == fst::DIVIDE_RIGHT) {
    if (!std::equal(v2.begin(), v2.end(), v1.end() - v2.size()))
      ThrowCompactDivideError("cannot divide, string is not a suffix");
    return CompactLatticeWeightTpl<W, I>(w, std::vector<I>(v1.begin(), v1.end() - v2.size()));
  }
  ThrowCompactDivideError("cannot divide with DIVIDE_ANY");
}

template <class W, class I>
inline std::ostream& operator<<(std::ostream& strm, const CompactLatticeWeightTpl<W, I>& w) {
  strm << w.Weight() << ',';
  for (size_t i = 0; i < w.String().size(); ++i) {
    if (i > 0) strm << '_';
    strm << w.String()[i];
  }
  return strm;
}
// Reads "g,a,t1_t2" (the string part may be empty); sets failbit when malformed.
template <class W, class I>
inline std::istream& operator>>(std::istream& strm, CompactLatticeWeightTpl<W, I>& w) {
  std::string s;
  strm >> s;
  const size_t pos = s.find_last_of(',');
  if (!strm || pos == std::string::npos) {
    strm.setstate(std::ios::failbit);
    return strm;
  }
  W weight;
  std::istringstream ws(s.substr(0, pos));
  ws >> weight;
  if (ws.fail()) {
    strm.setstate(std::ios::failbit);
    return strm;
  }
  std::vector<I> ids;
  const std::string rest = s.substr(pos + 1);
  const char* c = rest.c_str();
  while (*c != '\0') {
    if (*c == '_' && !ids.empty()) ++c;
    char* end = nullptr;
    const long v = std::strtol(c, &end, 10);
    if (end == c || static_cast<long>(static_cast<I>(v)) != v) {
      strm.setstate(std::ios::failbit);
      return strm;
    }
    ids.push_back(static_cast<I>(v));
    c = end;
  }
  w = CompactLatticeWeightTpl<W, I>(weight, std::move(ids));
  return strm;
}

// Kaldi's common divisor (used by determinization): the better weight and the longest common
// prefix of the strings.
template <class W, class I>
inline CompactLatticeWeightTpl<W, I> CompactLatticeCommonDivisor(
    const CompactLatticeWeightTpl<W, I>& w1, const CompactLatticeWeightTpl<W, I>& w2) {
  const auto& s1 = w1.String();
  const auto& s2 = w2.String();
  size_t n = 0;
  while (n < s1.size() && n < s2.size() && s1[n] == s2[n]) ++n;
  return CompactLatticeWeightTpl<W, I>(Plus(w1.Weight(), w2.Weight()),
                                       std::vector<I>(s1.begin(), s1.begin() + n));
}

// ---------------------------------------------------------------------------------------------
using LatticeWeight = LatticeWeightTpl<float>;
using CompactLatticeWeight = CompactLatticeWeightTpl<LatticeWeight, int32_t>;
using LatticeArc = fst::ArcTpl<LatticeWeight>;             // Type() "lattice4"
using CompactLatticeArc = fst::ArcTpl<CompactLatticeWeight>;  // Type() "compactlattice44"
using Lattice = fst::VectorFst<LatticeArc>;
using CompactLattice = fst::VectorFst<CompactLatticeArc>;

// Registers VectorFst and ConstFst over LatticeArc / CompactLatticeArc with OpenFst's FST
// registry so that the generic fst::Fst<Arc>::Read works on them. Idempotent, thread-safe.
void RegisterLatticeFstTypes();

// The scaling matrix of Kaldi's ScaleLattice: (graph, acoustic) -> (s00*g + s01*a,
// s10*g + s11*a); Zero stays Zero.
using LatticeScaleMatrix = std::vector<std::vector<double>>;
inline LatticeScaleMatrix LatticeScale(double lm_scale, double acoustic_scale) {
  return {{lm_scale, 0.0}, {0.0, acoustic_scale}};
}
inline LatticeWeight ScaleLatticeWeight(const LatticeWeight& w, const LatticeScaleMatrix& s) {
  if (w.Value1() == std::numeric_limits<float>::infinity()) return w;  // Zero stays Zero
  const double a = w.Value1(), b = w.Value2();
  return LatticeWeight(static_cast<float>(s[0][0] * a + s[0][1] * b),
                       static_cast<float>(s[1][0] * a + s[1][1] * b));
}

}  // namespace kaldiq::lat
