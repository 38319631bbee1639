// --kernels=<names>: each name forces its kernel in every table that has it.
#include "kernels/kernel_selection.h"

#include <gtest/gtest.h>

#include "kernels/gemm_f32.h"
#include "kernels/gemm_s8.h"
#include "util/error.h"

namespace kaldiq::kernels {
namespace {

TEST(KernelSelection, NamesForceEveryTableThatHasThem) {
  EXPECT_EQ(KernelSelection::Parse(""), KernelSelection::kFast);
  EXPECT_EQ(KernelSelection::Parse("auto"), KernelSelection::kFast);
  EXPECT_EQ(KernelSelection::Parse("reference"), KernelSelection::kReference);
  KernelSelection s = KernelSelection::Parse("avx2-w8");
  EXPECT_EQ(s.int8, "avx2-w8");
  EXPECT_EQ(s.f32, "auto");
  s = KernelSelection::Parse("avx2-w7,openblas");
  EXPECT_EQ(s.int8, "avx2-w7");
  EXPECT_EQ(s.f32, "openblas");
  if (DnnlF32Available()) {
    s = KernelSelection::Parse("onednn");
    EXPECT_EQ(s.int8, "onednn");
    EXPECT_EQ(s.f32, "onednn");
  }
  EXPECT_EQ(KernelSelection::kFast.ToString(), "auto");
  EXPECT_EQ(KernelSelection::kReference.ToString(), "int8 reference, fp32 reference");
}

TEST(KernelSelection, RejectsUnknownAndConflictingNames) {
  EXPECT_THROW(KernelSelection::Parse("fastest"), Error);
  EXPECT_THROW(KernelSelection::Parse("avx2-w7,avx2-w8"), Error);
  EXPECT_THROW(KernelSelection::Parse("reference,openblas"), Error);
  try {
    KernelSelection::Parse("fastest");
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("avx2-w8"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace kaldiq::kernels
