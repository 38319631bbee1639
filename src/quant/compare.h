// Accuracy of a quantized network against its fp32 reference on real inputs: per-layer SQNR
// (every op both networks have, matched by name and dimension, compared on the same chunks and
// time indices), output (log-likelihood) SQNR, and frame-level argmax agreement.
#pragma once

#include <cstdint>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "core/matrix.h"
#include "nnet/executor.h"

namespace kaldiq::quant {

struct SqnrAccumulator {
  double signal = 0.0, noise = 0.0;
  void Add(const float* ref, const float* test, int64_t n);
  double Db() const;
};

class Comparer {
 public:
  Comparer(const nnet::ExecutableNet& reference, const nnet::ExecutableNet& test,
           const nnet::ComputeOptions& opts);
  ~Comparer();

  // Runs both networks on one utterance; returns the test network's output.
  MatrixF Add(const MatrixF& feats, const std::vector<float>* ivector,
              const MatrixF* online_ivectors);
  // Adds a pair of outputs computed elsewhere (output SQNR and argmax only).
  void AddOutputs(const MatrixF& reference, const MatrixF& test);

  int64_t frames() const { return frames_; }
  double ArgmaxAgreement() const { return frames_ ? double(agree_) / double(frames_) : 0.0; }
  double OutputSqnrDb() const { return output_.Db(); }
  // Layers in graph order with their SQNR.
  std::vector<std::pair<std::string, double>> LayerSqnrDb() const;

  // Prints the table ("layer  SQNR dB" lines, then output SQNR and argmax agreement).
  void Print(std::FILE* out, const std::string& prefix) const;

 private:
  std::unique_ptr<nnet::Executor> ref_, test_;
  std::vector<std::string> layer_order_;
  std::map<std::string, SqnrAccumulator> layers_;
  SqnrAccumulator output_;
  int64_t frames_ = 0, agree_ = 0;
};

}  // namespace kaldiq::quant
