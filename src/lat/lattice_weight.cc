#include "lat/lattice_weight.h"

#include <fst/const-fst.h>
#include <fst/register.h>

#include <cerrno>
#include <mutex>

#include "util/error.h"

namespace kaldiq::lat {

bool ParseLatticeFloat(const std::string& s, double* f) {
  if (s == "Infinity" || s == "inf" || s == "+inf") {
    *f = std::numeric_limits<double>::infinity();
    return true;
  }
  if (s == "-Infinity" || s == "-inf") {
    *f = -std::numeric_limits<double>::infinity();
    return true;
  }
  if (s == "BadNumber" || s == "nan") {
    *f = std::numeric_limits<double>::quiet_NaN();
    return true;
  }
  if (s.empty()) return false;
  char* end = nullptr;
  errno = 0;
  *f = std::strtod(s.c_str(), &end);
  return end == s.c_str() + s.size();
}

void ThrowCompactDivideError(const char* what) {
  KQ_THROW(kInternal) << "CompactLatticeWeight::Divide: " << what;
}

void RegisterLatticeFstTypes() {
  static std::once_flag once;
  std::call_once(once, [] {
    static fst::FstRegisterer<fst::VectorFst<LatticeArc>> r1;
    static fst::FstRegisterer<fst::VectorFst<CompactLatticeArc>> r2;
    static fst::FstRegisterer<fst::ConstFst<LatticeArc>> r3;
    static fst::FstRegisterer<fst::ConstFst<CompactLatticeArc>> r4;
  });
}

}  // namespace kaldiq::lat
