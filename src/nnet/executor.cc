#include "nnet/executor.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "nnet/planner.h"
#include "util/error.h"

namespace kaldiq::nnet {

namespace {

std::vector<const LinearKernel*> RawKernels(const ExecutableNet& net) {
  std::vector<const LinearKernel*> out(net.graph.ops.size(), nullptr);
  for (size_t i = 0; i < net.kernels.size() && i < out.size(); ++i) out[i] = net.kernels[i].get();
  return out;
}

int32_t InputOp(const Graph& g, const char* name) {
  const int32_t i = g.Find(name);
  return i >= 0 && g.ops[i].type == OpType::kInput ? i : -1;
}

}  // namespace

ExecutableNet Prepare(Graph graph, KernelChoice kernels, const KernelFactory& factory,
                      bool release_weights) {
  ValidateGraph(graph, /*weights_optional=*/factory != nullptr);
  ExecutableNet net;
  net.graph = std::move(graph);
  net.graph.UpdateIndex();
  net.kernels.resize(net.graph.ops.size());
  for (size_t i = 0; i < net.graph.ops.size(); ++i) {
    Op& op = net.graph.ops[i];
    if (op.type != OpType::kAffine) continue;
    if (factory) net.kernels[i] = factory(static_cast<int32_t>(i), op);
    if (net.kernels[i]) {
      KQ_CHECK(net.kernels[i]->InputDim() == op.input_dim &&
                   net.kernels[i]->OutputDim() == op.output_dim,
               kFormat)
          << op.component << ": kernel is " << net.kernels[i]->InputDim() << " -> "
          << net.kernels[i]->OutputDim() << ", op is " << op.input_dim << " -> " << op.output_dim;
      continue;
    }
    KQ_CHECK(op.weight.rows() == op.output_dim && op.weight.cols() == op.input_dim, kFormat)
        << op.component << ": no weights";
    net.kernels[i] = kernels.f32 == "reference" ? MakeRefLinearKernel(op)
                                                : MakeF32LinearKernel(op, kernels.f32);
    if (release_weights) op.weight = MatrixF();
  }
  ComputeContext(net.graph, &net.left_context, &net.right_context);
  return net;
}

Executor::Executor(const ExecutableNet& net, const ComputeOptions& opts)
    : net_(net), opts_(opts), chunks_(net.graph, RawKernels(net), &net.u8_outputs) {
  KQ_CHECK(opts_.frame_subsampling_factor >= 1 && opts_.frames_per_chunk >= 1, kInvalidArgument)
      << "--frame-subsampling-factor and --frames-per-chunk must be > 0";
  KQ_CHECK(opts_.extra_left_context >= 0 && opts_.extra_right_context >= 0, kInvalidArgument)
      << "--extra-left-context and --extra-right-context must be >= 0";
  // Kaldi (NnetDecodableBase::CheckAndFixConfigs) rounds frames-per-chunk UP to a multiple of
  // the subsampling factor.
  int32_t f = opts_.frame_subsampling_factor;
  opts_.frames_per_chunk = f * ((opts_.frames_per_chunk + f - 1) / f);
  feature_input_ = InputOp(net_.graph, "input");
  ivector_input_ = InputOp(net_.graph, "ivector");
  if (opts_.use_priors) {
    KQ_CHECK(!net_.priors.empty(), kInvalidArgument)
        << "--use-priors given but the model has no priors (a raw nnet or an AM without priors)";
    KQ_CHECK(static_cast<int32_t>(net_.priors.size()) == net_.graph.OutputDim(), kFormat)
        << "the model has " << net_.priors.size() << " priors but " << net_.graph.OutputDim()
        << " outputs";
    for (float p : net_.priors) log_priors_.push_back(std::log(p));
  }
}

Executor::~Executor() = default;

const ChunkPlan& Executor::GetPlan(int32_t num_subsampled_frames, int32_t first_input_rel,
                                        int32_t last_input_rel) {
  std::vector<int32_t> key = {num_subsampled_frames, first_input_rel, last_input_rel};
  auto it = plans_.find(key);
  if (it != plans_.end()) return *it->second;
  auto plan = std::make_unique<ChunkPlan>();
  BuildChunkPlan(net_.graph, num_subsampled_frames, opts_.frame_subsampling_factor,
                 first_input_rel, last_input_rel, plan.get());
  const ChunkPlan& ref = *plan;
  plans_.emplace(std::move(key), std::move(plan));
  return ref;
}

MatrixF Executor::Compute(const UtteranceInput& input) {
  return Compute(input.feats, input.Ivector(), input.OnlineIvectors());
}

MatrixF Executor::Compute(const MatrixF& feats, const std::vector<float>* ivector,
                          const MatrixF* online_ivectors) {
  const Graph& g = net_.graph;
  const int32_t input_dim = g.InputDim("input");
  const int32_t ivector_dim = g.InputDim("ivector");
  KQ_CHECK(feats.rows() > 0, kInvalidArgument) << "zero-length utterance";
  KQ_CHECK(feats.cols() == input_dim, kInvalidArgument)
      << "the network expects 'input' features of dimension " << input_dim
      << " but the features have dimension " << feats.cols();
  for (int64_t i = 0; i < feats.size(); ++i) {
    if (!std::isfinite(feats.data()[i])) {
      KQ_THROW(kInvalidArgument) << "features contain " << feats.data()[i] << " at frame "
                                 << i / feats.cols() << ", column " << i % feats.cols();
    }
  }
  KQ_CHECK(!(ivector && online_ivectors), kInvalidArgument)
      << "both an utterance i-vector and online i-vectors were given";
  int32_t given_ivector_dim = ivector ? static_cast<int32_t>(ivector->size())
                              : online_ivectors ? static_cast<int32_t>(online_ivectors->cols())
                                                : 0;
  KQ_CHECK(given_ivector_dim == ivector_dim, kInvalidArgument)
      << "the network expects 'ivector' features of dimension " << ivector_dim
      << " but " << (given_ivector_dim == 0 ? "no i-vectors were" : "i-vectors of dimension ")
      << (given_ivector_dim == 0 ? std::string() : std::to_string(given_ivector_dim) + " were")
      << " given";
  if (online_ivectors) {
    KQ_CHECK(opts_.online_ivector_period > 0, kInvalidArgument)
        << "online i-vectors need --online-ivector-period > 0";
    KQ_CHECK(online_ivectors->rows() > 0, kInvalidArgument) << "empty online i-vector matrix";
  }
  auto check_finite = [](const float* v, int64_t n, const char* what) {
    for (int64_t i = 0; i < n; ++i)
      KQ_CHECK(std::isfinite(v[i]), kInvalidArgument) << what << " contain " << v[i];
  };
  if (ivector) check_finite(ivector->data(), ivector->size(), "the i-vector's values");
  if (online_ivectors)
    check_finite(online_ivectors->data(), online_ivectors->size(), "online i-vectors");

  const int32_t num_frames = static_cast<int32_t>(feats.rows());
  const int32_t f = opts_.frame_subsampling_factor;
  const int32_t num_sub = (num_frames + f - 1) / f;
  const int32_t sub_per_chunk = opts_.frames_per_chunk / f;
  MatrixF out(num_sub, g.OutputDim());
  for (int32_t start = 0; start < num_sub; start += sub_per_chunk) {
    int32_t n = std::min(sub_per_chunk, num_sub - start);
    int32_t last = start + n - 1;
    int32_t first_output_frame = start * f, last_output_frame = last * f;
    int32_t extra_left = opts_.extra_left_context, extra_right = opts_.extra_right_context;
    if (first_output_frame == 0 && opts_.extra_left_context_initial >= 0)
      extra_left = opts_.extra_left_context_initial;
    if (last == num_sub - 1 && opts_.extra_right_context_final >= 0)
      extra_right = opts_.extra_right_context_final;
    int32_t first_in_rel = -(net_.left_context + extra_left);
    int32_t last_in_rel = last_output_frame - first_output_frame + net_.right_context + extra_right;

    const float* chunk_ivector = nullptr;
    if (ivector) {
      chunk_ivector = ivector->data();
    } else if (online_ivectors) {
      // DecodableNnetSimple::GetCurrentIvector: the row current at the middle of the chunk.
      int32_t frame_to_search = first_output_frame + (last_output_frame - first_output_frame) / 2;
      int32_t row = frame_to_search / opts_.online_ivector_period;
      int32_t rows = static_cast<int32_t>(online_ivectors->rows());
      if (row >= rows) {
        int32_t margin = row - (rows - 1);
        KQ_CHECK(margin * opts_.online_ivector_period <= 50, kInvalidArgument)
            << "could not get an i-vector for frame " << frame_to_search
            << ", online i-vectors only available till frame " << rows
            << " * ivector-period=" << opts_.online_ivector_period
            << " (mismatched --online-ivector-period?)";
        row = rows - 1;
      }
      chunk_ivector = online_ivectors->Row(row);
    }
    const ChunkPlan& plan = GetPlan(n, first_in_rel, last_in_rel);
    // The plan's inputs: the features (edge-padded: times outside the utterance read its first /
    // last frame) and the chunk's i-vector (one row for any time).
    chunk_inputs_.assign(plan.inputs.size(), InputRows());
    for (size_t k = 0; k < plan.inputs.size(); ++k) {
      InputRows& rows = chunk_inputs_[k];
      rows.clamp = true;
      if (plan.inputs[k] == feature_input_) {
        rows.data = feats.data();
        rows.rows = feats.rows();
        rows.stride = feats.cols();
        rows.first_t = -first_output_frame;
      } else if (plan.inputs[k] == ivector_input_ && chunk_ivector) {
        rows.data = chunk_ivector;
        rows.rows = 1;
        rows.stride = ivector_dim;
      }
    }
    ForwardOptions fo;
    fo.keep_inputs = false;  // inference: no Backward
    chunks_.Forward(plan, 1, chunk_inputs_, fo);
    const int32_t o = g.output;
    const ConstRows y = chunks_.ValueAsFloat(o);
    for (int64_t r = 0; r < y.rows; ++r)
      std::memcpy(out.Row(start + r), y.Row(r), sizeof(float) * y.cols);
  }
  if (!log_priors_.empty()) {
    for (int64_t r = 0; r < out.rows(); ++r) {
      float* row = out.Row(r);
      for (int64_t c = 0; c < out.cols(); ++c) row[c] -= log_priors_[c];
    }
  }
  if (opts_.apply_exp) {
    for (int64_t i = 0; i < out.size(); ++i) out.data()[i] = std::exp(out.data()[i]);
  }
  return out;
}

}  // namespace kaldiq::nnet
