#include "train/chain/minibatch_network.h"

#include <algorithm>

#include "nnet/lower.h"
#include "util/error.h"

namespace kaldiq::train::chain {

MinibatchChainNetwork::MinibatchChainNetwork(const kaldi::Nnet& nnet,
                                             const std::string& model_name)
    : owned_(nnet::LowerNnet(nnet, model_name, {nnet::LowerMode::kTraining, false})),
      graph_(owned_),
      computer_(std::make_unique<nnet::MinibatchComputer>(graph_)) {}

MinibatchChainNetwork::MinibatchChainNetwork(const nnet::Graph& graph,
                                             const nnet::KernelFactory& kernels)
    : graph_(graph), computer_(std::make_unique<nnet::MinibatchComputer>(graph_, kernels)) {}

MinibatchChainNetwork::~MinibatchChainNetwork() = default;

int32_t MinibatchChainNetwork::InputDim(const std::string& name) const {
  const int32_t i = graph_.Find(name);
  if (i < 0 || std::find(graph_.inputs.begin(), graph_.inputs.end(), i) == graph_.inputs.end())
    return -1;
  return graph_.ops[i].output_dim;
}

int32_t MinibatchChainNetwork::OutputDim(const std::string& name) const {
  const int32_t i = graph_.Find(name);
  if (i < 0 || std::find(graph_.outputs.begin(), graph_.outputs.end(), i) == graph_.outputs.end())
    return -1;
  return graph_.ops[i].output_dim;
}

namespace {

// Input rows of one NnetIo checked to be sequence-major with the same consecutive times for
// every sequence; returns the first time.
int32_t CheckSequenceMajor(const kaldi::NnetIo& io, int32_t num_sequences) {
  const int64_t rows = static_cast<int64_t>(io.indexes.size());
  KQ_CHECK(rows > 0 && rows % num_sequences == 0, kInvalidArgument)
      << "input '" << io.name << "' has " << rows << " rows for " << num_sequences
      << " sequences";
  const int64_t T = rows / num_sequences;
  const int32_t first_t = io.indexes[0].t;
  for (int64_t r = 0; r < rows; ++r) {
    const kaldi::Index& i = io.indexes[r];
    KQ_CHECK(i.n == r / T && i.x == 0 && static_cast<int64_t>(i.t) == first_t + r % T,
             kUnsupported)
        << "input '" << io.name << "': row " << r << " is (" << i.n << ", " << i.t << ", " << i.x
        << "); the sequences must share consecutive times t = " << first_t << " .. "
        << first_t + T - 1 << " (sequence-major rows)";
  }
  return first_t;
}

}  // namespace

void MinibatchChainNetwork::Forward(const std::vector<kaldi::NnetIo>& inputs,
                                    const std::vector<kaldi::Index>& output_indexes,
                                    MatrixF* output, MatrixF* xent) {
  KQ_CHECK(!output_indexes.empty(), kInvalidArgument) << "no output indexes";
  // Output indexes: t-major, n fastest, the same times for every sequence.
  int32_t N = 0;
  while (N < static_cast<int32_t>(output_indexes.size()) &&
         output_indexes[N].t == output_indexes[0].t)
    ++N;
  KQ_CHECK(output_indexes.size() % N == 0, kUnsupported)
      << "output indexes are not t-major with the same times for every sequence";
  std::vector<int32_t> times;
  for (size_t r = 0; r < output_indexes.size(); ++r) {
    const kaldi::Index& i = output_indexes[r];
    if (r % N == 0) times.push_back(i.t);
    KQ_CHECK(i.n == static_cast<int32_t>(r % N) && i.t == times.back() && i.x == 0, kUnsupported)
        << "output index " << r << " is (" << i.n << ", " << i.t << ", " << i.x
        << "); expected t-major rows f * N + n with the same times for every sequence";
  }
  std::vector<MatrixF> feats(inputs.size());
  std::vector<nnet::MinibatchInput> mb_inputs;
  for (size_t k = 0; k < inputs.size(); ++k) {
    const int32_t op = graph_.Find(inputs[k].name);
    KQ_CHECK(op >= 0 && InputDim(inputs[k].name) >= 0, kInvalidArgument)
        << "Nnet example has input named '" << inputs[k].name
        << "', but no such input node is in the network.";
    const int32_t first_t = CheckSequenceMajor(inputs[k], N);
    inputs[k].features.GetMatrix(&feats[k]);
    mb_inputs.push_back({op, &feats[k], first_t});
  }
  std::vector<nnet::MinibatchOutput> mb_outputs{{graph_.Find("output"), times}};
  if (xent != nullptr) {
    KQ_CHECK(OutputDim("output-xent") > 0, kInvalidArgument)
        << "the model has no output 'output-xent'";
    mb_outputs.push_back({graph_.Find("output-xent"), times});
  }
  computer_->Forward(N, mb_inputs, mb_outputs, nnet::ForwardOptions());  // test mode
  *output = computer_->Output(0);
  if (xent != nullptr) *xent = computer_->Output(1);
}

}  // namespace kaldiq::train::chain
