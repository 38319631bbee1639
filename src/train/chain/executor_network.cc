#include "train/chain/executor_network.h"

#include <algorithm>

#include "nnet/lower.h"
#include "util/error.h"

namespace kaldiq::train::chain {

ExecutorChainNetwork::ExecutorChainNetwork(const kaldi::Nnet& nnet, const std::string& model_name) {
  for (const kaldi::NnetNode& node : nnet.nodes) {
    if (node.type == kaldi::NodeType::kInput) input_dims_[node.name] = node.dim;
    if (node.type == kaldi::NodeType::kOutput) output_dims_[node.name] = nnet.OutputDim(node.name);
  }
  KQ_CHECK(output_dims_.count("output"), kInvalidArgument)
      << model_name << ": the model has no output node 'output'";
  output_net_ = std::make_unique<nnet::ExecutableNet>(
      nnet::Prepare(nnet::LowerNnet(nnet, model_name)));
  if (output_dims_.count("output-xent")) {
    // The same network with "output" reading output-xent's input.
    kaldi::Nnet xnet = nnet;
    const int32_t out = xnet.NodeIndex("output"), xent = xnet.NodeIndex("output-xent");
    xnet.nodes[out].input = xnet.nodes[xent].input;
    xnet.nodes.erase(xnet.nodes.begin() + xent);
    xnet.Check();
    xent_net_ = std::make_unique<nnet::ExecutableNet>(
        nnet::Prepare(nnet::LowerNnet(xnet, model_name + " (output-xent)")));
  }
}

ExecutorChainNetwork::~ExecutorChainNetwork() = default;

int32_t ExecutorChainNetwork::InputDim(const std::string& name) const {
  auto it = input_dims_.find(name);
  return it == input_dims_.end() ? -1 : it->second;
}

int32_t ExecutorChainNetwork::OutputDim(const std::string& name) const {
  auto it = output_dims_.find(name);
  return it == output_dims_.end() ? -1 : it->second;
}

nnet::Executor& ExecutorChainNetwork::ExecutorFor(bool xent, int32_t step) {
  std::unique_ptr<nnet::Executor>& ex = executors_[{xent, step}];
  if (!ex) {
    nnet::ComputeOptions opts;
    opts.frame_subsampling_factor = step;
    opts.frames_per_chunk = 1 << 20;  // one chunk per sequence (clipped to its length)
    ex = std::make_unique<nnet::Executor>(xent ? *xent_net_ : *output_net_, opts);
  }
  return *ex;
}

void ExecutorChainNetwork::Forward(const std::vector<kaldi::NnetIo>& inputs,
                                   const std::vector<kaldi::Index>& output_indexes,
                                   MatrixF* output, MatrixF* xent) {
  KQ_CHECK(xent == nullptr || xent_net_ != nullptr, kInvalidArgument)
      << "the model has no output 'output-xent'";
  const kaldi::NnetIo* input = nullptr;
  const kaldi::NnetIo* ivector = nullptr;
  for (const kaldi::NnetIo& io : inputs) {
    if (io.name == "input") {
      input = &io;
    } else if (io.name == "ivector") {
      ivector = &io;
    } else {
      KQ_THROW(kUnsupported) << "input '" << io.name << "' is not supported (only 'input' and "
                             << "'ivector')";
    }
  }
  KQ_CHECK(input != nullptr, kInvalidArgument) << "the eg has no input named 'input'";
  KQ_CHECK(!output_indexes.empty(), kInvalidArgument) << "no output indexes";
  int32_t num_seq = 0;
  for (const kaldi::Index& i : output_indexes) {
    KQ_CHECK(i.n >= 0 && i.x == 0, kInvalidArgument)
        << "unexpected output index (" << i.n << ", " << i.t << ", " << i.x << ")";
    num_seq = std::max(num_seq, i.n + 1);
  }
  MatrixF feats;
  input->features.GetMatrix(&feats);
  MatrixF ivector_feats;
  if (ivector != nullptr) ivector->features.GetMatrix(&ivector_feats);
  const int32_t out_dim = OutputDim("output");
  output->Resize(static_cast<int64_t>(output_indexes.size()), out_dim);
  if (xent != nullptr) xent->Resize(static_cast<int64_t>(output_indexes.size()), out_dim);
  for (int32_t n = 0; n < num_seq; ++n) {
    // This sequence's output times (and rows), and input rows.
    // Times in 64 bits: they come from the file and may be anywhere in int32.
    std::vector<std::pair<int64_t, int64_t>> outs;
    for (size_t r = 0; r < output_indexes.size(); ++r)
      if (output_indexes[r].n == n) outs.emplace_back(output_indexes[r].t, static_cast<int64_t>(r));
    KQ_CHECK(!outs.empty(), kInvalidArgument) << "sequence " << n << " has no outputs";
    std::sort(outs.begin(), outs.end());
    const int64_t step = outs.size() > 1 ? outs[1].first - outs[0].first : 1;
    for (size_t i = 1; i < outs.size(); ++i)
      KQ_CHECK(outs[i].first - outs[i - 1].first == step && step > 0, kUnsupported)
          << "sequence " << n << ": output times are not evenly spaced";
    KQ_CHECK(step > 0 && step <= 1000, kUnsupported)
        << "sequence " << n << ": output step " << step << " is not supported";
    std::vector<int64_t> rows;
    for (size_t r = 0; r < input->indexes.size(); ++r)
      if (input->indexes[r].n == n) rows.push_back(static_cast<int64_t>(r));
    KQ_CHECK(!rows.empty(), kInvalidArgument) << "sequence " << n << " has no input rows";
    for (size_t i = 1; i < rows.size(); ++i)
      KQ_CHECK(static_cast<int64_t>(input->indexes[rows[i]].t) ==
                   static_cast<int64_t>(input->indexes[rows[i - 1]].t) + 1,
               kUnsupported)
          << "sequence " << n << ": input times are not consecutive";
    const int64_t t_first = input->indexes[rows.front()].t, t_last = input->indexes[rows.back()].t;
    // First row a whole number of steps before the first output.
    const int64_t offset = ((outs.front().first - t_first) % step + step) % step;
    const int64_t t0 = t_first + offset;
    const nnet::ExecutableNet& net = *output_net_;
    const int64_t left = std::max(net.left_context, xent ? xent_net_->left_context : 0);
    const int64_t right = std::max(net.right_context, xent ? xent_net_->right_context : 0);
    KQ_CHECK(t0 <= outs.front().first - left && t_last >= outs.back().first + right,
             kInvalidArgument)
        << "sequence " << n << ": inputs at t = " << t_first << " .. " << t_last
        << " do not cover the model's context (" << left << " left, " << right
        << " right) of the outputs at t = " << outs.front().first << " .. " << outs.back().first;
    MatrixF utt(t_last - t0 + 1, feats.cols());
    for (int64_t r = 0; r < utt.rows(); ++r) {
      const float* src = feats.Row(rows[static_cast<size_t>(offset + r)]);
      std::copy(src, src + feats.cols(), utt.Row(r));
    }
    std::vector<float> iv;
    if (ivector != nullptr) {
      int64_t found = -1;
      for (size_t r = 0; r < ivector->indexes.size(); ++r) {
        if (ivector->indexes[r].n != n) continue;
        KQ_CHECK(found < 0, kUnsupported) << "sequence " << n << " has more than one i-vector";
        found = static_cast<int64_t>(r);
      }
      KQ_CHECK(found >= 0, kInvalidArgument) << "sequence " << n << " has no i-vector";
      iv.assign(ivector_feats.Row(found), ivector_feats.Row(found) + ivector_feats.cols());
    }
    for (int pass = 0; pass < (xent ? 2 : 1); ++pass) {
      const MatrixF y = ExecutorFor(pass == 1, static_cast<int32_t>(step))
                            .Compute(utt, ivector ? &iv : nullptr, nullptr);
      MatrixF* dest = pass == 1 ? xent : output;
      for (const auto& [t, r] : outs) {
        const int64_t k = (t - t0) / step;
        KQ_CHECK(k >= 0 && k < y.rows(), kInternal) << "output time " << t << " not computed";
        std::copy(y.Row(k), y.Row(k) + y.cols(), dest->Row(r));
      }
    }
  }
}

}  // namespace kaldiq::train::chain
