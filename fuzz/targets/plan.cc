// Quantization plans (the text file `kaldiq calibrate` writes and `kaldiq quantize` reads).
#include <sstream>

#include "fuzz/fuzz_target.h"
#include "quant/plan.h"

using namespace kaldiq;

KQ_FUZZ_TARGET(plan) {
  std::istringstream is(fuzz::AsString(data, size));
  quant::Plan plan = quant::ReadPlan(is, "plan.txt");
  (void)plan.Find("output.affine");
}
