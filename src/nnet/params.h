// Trained parameters, their gradients and the training statistics, kept outside the ops.
// The parameter values are the fp32 master weights of a training lowering's ops (Op::weight,
// Op::bias of ops with Op::trainable); a ParamRef names one of them together with the Kaldi
// component it belongs to (write_back.h puts it back there). Gradients and BatchNorm statistics
// are structures parallel to Graph::ops, filled by ChunkComputer::Backward / Forward.
#pragma once

#include <cstdint>
#include <vector>

#include "core/matrix.h"
#include "nnet/graph.h"

namespace kaldiq::nnet {

enum class ParamSlot {
  kWeight,  // Op::weight (Kaldi's linear_params; LinearComponent's params)
  kBias,    // Op::bias (Kaldi's bias_params)
};

struct ParamRef {
  int32_t op = -1;
  ParamSlot slot = ParamSlot::kWeight;
  int32_t component_index = -1;  // Op::component_index
};

// Every trained parameter of `graph` in graph order, weight before bias (a bias-less op such
// as a LinearComponent or a TDNN-F linear factor has only its weight).
std::vector<ParamRef> TrainableParams(const Graph& graph);
// The values of a parameter (row-major weight or bias) and their count.
float* ParamData(Graph* graph, const ParamRef& p);
const float* ParamData(const Graph& graph, const ParamRef& p);
int64_t ParamSize(const Graph& graph, const ParamRef& p);

// ∂objective/∂weight and ∂objective/∂bias of one op (plain derivatives, not learning-rate
// scaled); empty when the op is not trained.
struct OpGradients {
  MatrixF weight;
  std::vector<float> bias;
};

struct Gradients {
  std::vector<OpGradients> ops;  // parallel to Graph::ops

  // Zero gradients shaped for every trainable op of `graph`.
  static Gradients For(const Graph& graph);
  void SetZero();
  // The gradient of a parameter (same layout and size as ParamData).
  float* Data(const ParamRef& p);
  const float* Data(const ParamRef& p) const;
};

// Kaldi's BatchNormComponent statistics (count, stats_sum_, stats_sumsq_ in double, one entry
// per column of a block): a train-mode forward adds count += R, sum += R·mean, sumsq += R·E[x²]
// over its R rows, as Kaldi's StoreStats does.
struct BatchNormStats {
  double count = 0;
  std::vector<double> sum, sumsq;
};

struct Statistics {
  std::vector<BatchNormStats> batchnorm;  // parallel to Graph::ops; sized for kBatchNorm ops

  // Zero statistics for every kBatchNorm op (Kaldi's ZeroComponentStats).
  static Statistics For(const Graph& graph);
  // Multiplies every count and sum (Kaldi's --batchnorm-stats-scale; 0 zeroes them).
  void Scale(double factor);
};

}  // namespace kaldiq::nnet
