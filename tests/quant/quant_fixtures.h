// Fixture models quantized with a preset scheme (`best` by default) for the quant tests: the vendored tdnn-seed
// (real Kaldi-trained TDNN) and tdnnf-small (TDNN-F with online i-vectors, random weights).
#pragma once

#include <string>
#include <vector>

#include "core/matrix.h"
#include "nnet/executor.h"
#include "quant/int8_model.h"
#include "quant/plan.h"

namespace kaldiq::quant::testing {

struct QuantizedFixture {
  std::string model_path;  // the Kaldi model it was made from
  Plan plan;
  Int8Model model;
  std::vector<MatrixF> utts;
  std::vector<MatrixF> ivectors;  // online i-vectors per utterance (tdnnf-small), else empty
  nnet::ComputeOptions opts;

  // Output of `net` on utterance u with the fixture's options and i-vectors.
  MatrixF Run(const nnet::ExecutableNet& net, size_t u) const;
};

// tdnn-seed, calibrated on the first 3 of its 5 vendored utterances (fpc 140, subsampling 3).
QuantizedFixture TdnnSeed(const std::string& preset = "best");
// tdnnf-small, calibrated on the first of its 2 vendored utterances (fpc 150, subsampling 3).
QuantizedFixture TdnnfSmallBest();

}  // namespace kaldiq::quant::testing
