#include "nnet/minibatch.h"

#include <cstring>

#include "util/error.h"

namespace kaldiq::nnet {

namespace {

std::vector<std::shared_ptr<const LinearKernel>> MakeKernels(const Graph& g,
                                                             const KernelFactory& factory) {
  std::vector<std::shared_ptr<const LinearKernel>> k(g.ops.size());
  for (size_t i = 0; i < g.ops.size(); ++i) {
    const Op& op = g.ops[i];
    if (op.type != OpType::kAffine) continue;
    if (factory) k[i] = factory(static_cast<int32_t>(i), op);
    if (!k[i]) k[i] = MakeWeightViewKernel(op);
  }
  return k;
}

std::vector<const LinearKernel*> Raw(const std::vector<std::shared_ptr<const LinearKernel>>& k) {
  std::vector<const LinearKernel*> out;
  for (const auto& p : k) out.push_back(p.get());
  return out;
}

}  // namespace

MinibatchComputer::MinibatchComputer(const Graph& graph, const KernelFactory& factory)
    : graph_(graph), kernels_(MakeKernels(graph, factory)), chunks_(graph, Raw(kernels_)) {
  ValidateGraph(graph, /*weights_optional=*/factory != nullptr);
}

MinibatchComputer::~MinibatchComputer() = default;

void MinibatchComputer::Forward(int32_t num_sequences, const std::vector<MinibatchInput>& inputs,
                                const std::vector<MinibatchOutput>& outputs,
                                const ForwardOptions& options) {
  KQ_CHECK(num_sequences >= 1, kInvalidArgument) << "minibatch without sequences";
  const int32_t num_ops = static_cast<int32_t>(graph_.ops.size());
  PlanRequest request;
  std::vector<int32_t> key;
  for (const MinibatchInput& in : inputs) {
    KQ_CHECK(in.op >= 0 && in.op < num_ops && graph_.ops[in.op].type == OpType::kInput &&
                 in.rows != nullptr, kInvalidArgument) << "minibatch input: not an input op";
    const Op& op = graph_.ops[in.op];
    KQ_CHECK(in.rows->cols() == op.output_dim, kInvalidArgument)
        << "input '" << op.name << "' has dimension " << in.rows->cols() << ", the network "
        << op.output_dim;
    KQ_CHECK(in.rows->rows() > 0 && in.rows->rows() % num_sequences == 0, kInvalidArgument)
        << "input '" << op.name << "': " << in.rows->rows() << " rows for " << num_sequences
        << " sequences";
    const int32_t per_seq = static_cast<int32_t>(in.rows->rows() / num_sequences);
    request.inputs.push_back({in.op, in.first_t, in.first_t + per_seq - 1});
    key.insert(key.end(), {in.op, in.first_t, per_seq});
  }
  for (const MinibatchOutput& out : outputs) {
    KQ_CHECK(out.op >= 0 && out.op < num_ops && graph_.ops[out.op].type == OpType::kOutput,
             kInvalidArgument) << "minibatch output: not an output op";
    KQ_CHECK(!out.times.empty(), kInvalidArgument) << "output without times";
    request.outputs.push_back({out.op, out.times});
    key.push_back(-1);
    key.push_back(out.op);
    key.insert(key.end(), out.times.begin(), out.times.end());
  }
  auto it = plans_.find(key);
  if (it == plans_.end()) {
    auto plan = std::make_unique<ChunkPlan>();
    BuildChunkPlan(graph_, request, plan.get());
    it = plans_.emplace(std::move(key), std::move(plan)).first;
  }
  plan_ = it->second.get();
  num_sequences_ = num_sequences;
  inputs_ = inputs;

  std::vector<InputRows> rows(inputs.size() * static_cast<size_t>(num_sequences));
  for (size_t k = 0; k < inputs.size(); ++k) {
    const MatrixF& m = *inputs[k].rows;
    const int64_t per_seq = m.rows() / num_sequences;
    for (int32_t n = 0; n < num_sequences; ++n) {
      InputRows& r = rows[k * num_sequences + n];
      r.data = m.Row(n * per_seq);
      r.rows = per_seq;
      r.stride = m.cols();
      r.first_t = inputs[k].first_t;
    }
  }
  chunks_.Forward(*plan_, num_sequences, rows, options);

  // n-major rows of the computer -> Kaldi's t-major rows.
  outputs_.resize(outputs.size());
  for (size_t k = 0; k < outputs.size(); ++k) {
    const ConstRows y = chunks_.ValueAsFloat(outputs[k].op);
    const int64_t frames = static_cast<int64_t>(outputs[k].times.size());
    MatrixF& out = outputs_[k];
    out.Resize(y.rows, y.cols);
    for (int32_t n = 0; n < num_sequences; ++n)
      for (int64_t f = 0; f < frames; ++f)
        std::memcpy(out.Row(f * num_sequences + n), y.Row(n * frames + f), sizeof(float) * y.cols);
  }
}

void MinibatchComputer::Backward(const std::vector<const MatrixF*>& output_derivs,
                                 Gradients* grads, bool input_derivs) {
  KQ_CHECK(plan_ != nullptr, kInternal) << "Backward before Forward";
  KQ_CHECK(output_derivs.size() == outputs_.size(), kInvalidArgument)
      << output_derivs.size() << " output derivatives for " << outputs_.size() << " outputs";
  const int32_t N = num_sequences_;
  derivs_.resize(output_derivs.size());
  std::vector<ConstRows> d(output_derivs.size());
  for (size_t k = 0; k < output_derivs.size(); ++k) {
    const MatrixF* g = output_derivs[k];
    if (!g) continue;
    const MatrixF& y = outputs_[k];
    KQ_CHECK(g->rows() == y.rows() && g->cols() == y.cols(), kInvalidArgument)
        << "derivative of output " << k << " is " << g->rows() << "x" << g->cols()
        << ", the output " << y.rows() << "x" << y.cols();
    const int64_t frames = y.rows() / N;
    MatrixF& m = derivs_[k];
    m.Resize(g->rows(), g->cols());
    for (int32_t n = 0; n < N; ++n)
      for (int64_t f = 0; f < frames; ++f)
        std::memcpy(m.Row(n * frames + f), g->Row(f * N + n), sizeof(float) * g->cols());
    d[k] = ConstRows{m.data(), m.rows(), m.cols(), m.cols()};
  }
  chunks_.Backward(d, grads, input_derivs);
}

MatrixF MinibatchComputer::InputDeriv(size_t k) const {
  const MinibatchInput& in = inputs_.at(k);
  MatrixF out(in.rows->rows(), in.rows->cols());
  const ConstRows d = chunks_.Deriv(in.op);
  if (!d.data) return out;
  const std::vector<int32_t>& times = plan_->ops[in.op].times;
  const int64_t per_seq = in.rows->rows() / num_sequences_;
  const int64_t T = static_cast<int64_t>(times.size());
  for (int32_t n = 0; n < num_sequences_; ++n)
    for (int64_t r = 0; r < T; ++r)
      std::memcpy(out.Row(n * per_seq + (times[r] - in.first_t)), d.Row(n * T + r),
                  sizeof(float) * d.cols);
  return out;
}

}  // namespace kaldiq::nnet
