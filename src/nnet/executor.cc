#include "nnet/executor.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <set>
#include <string>
#include <unordered_map>

#include "kernels/quantize.h"
#include "nnet/ops.h"
#include "nnet/planner.h"
#include "util/error.h"

namespace kaldiq::nnet {

ExecutableNet Prepare(Graph graph, KernelChoice kernels, const KernelFactory& factory) {
  ValidateGraph(graph, /*weights_optional=*/factory != nullptr);
  ExecutableNet net;
  net.graph = std::move(graph);
  net.kernels.resize(net.graph.ops.size());
  for (size_t i = 0; i < net.graph.ops.size(); ++i) {
    const Op& op = net.graph.ops[i];
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
  }
  ComputeContext(net.graph, &net.left_context, &net.right_context);
  return net;
}

Executor::Executor(const ExecutableNet& net, const ComputeOptions& opts) : net_(net), opts_(opts) {
  KQ_CHECK(opts_.frame_subsampling_factor >= 1 && opts_.frames_per_chunk >= 1, kInvalidArgument)
      << "--frame-subsampling-factor and --frames-per-chunk must be > 0";
  KQ_CHECK(opts_.extra_left_context >= 0 && opts_.extra_right_context >= 0, kInvalidArgument)
      << "--extra-left-context and --extra-right-context must be >= 0";
  // Kaldi (NnetDecodableBase::CheckAndFixConfigs) rounds frames-per-chunk UP to a multiple of
  // the subsampling factor.
  int32_t f = opts_.frame_subsampling_factor;
  opts_.frames_per_chunk = f * ((opts_.frames_per_chunk + f - 1) / f);
  values_.resize(net_.graph.ops.size());
  values_u8_.resize(net_.graph.ops.size());
  scratch_.resize(net_.graph.ops.size());
  scratch_u8_.resize(net_.graph.ops.size());
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
    RunChunk(plan, feats, first_output_frame, chunk_ivector, &out, start);
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

namespace {

template <typename T>
T* Ensure(std::vector<T>* buf, int64_t n) {
  if (buf->size() < static_cast<size_t>(n)) buf->resize(static_cast<size_t>(n));
  return buf->data();
}

}  // namespace

const float* Executor::AsFloat(const RowView& view, int64_t rows, int64_t cols,
                               std::vector<float>* buf, int64_t* stride) {
  if (view.has_float()) {
    *stride = view.stride;
    return view.data;
  }
  float* dst = Ensure(buf, rows * cols);
  DequantizeRows(view, rows, cols, dst);
  *stride = cols;
  return dst;
}

RowView Executor::Quantize(const RowView& in, int64_t rows, int32_t op, const U8Output& out) {
  const int64_t cols = net_.graph.ops[op].output_dim;
  uint8_t* dst = Ensure(&values_u8_[op], rows * cols);
  kernels::QuantizeRowsU8(in.data, rows, cols, in.stride, out.grid, 0, dst, cols);
  RowView both = in;
  both.q = dst;
  both.qstride = cols;
  both.grid = out.grid;
  return both;
}

void Executor::RunChunk(const ChunkPlan& plan, const MatrixF& feats, int32_t t0, const float* ivector,
                        MatrixF* out, int32_t out_row) {
  const Graph& g = net_.graph;
  std::vector<RowView>& views = views_;
  views.assign(g.ops.size(), RowView());
  const int32_t num_frames = static_cast<int32_t>(feats.rows());
  for (int32_t i : plan.order) {
    const Op& op = g.ops[i];
    const OpPlan& op_plan = plan.ops[i];
    const int64_t rows = static_cast<int64_t>(op_plan.times.size());
    if (op.type == OpType::kInput) {
      float* dst = Ensure(&values_[i], rows * op.output_dim);
      for (int64_t r = 0; r < rows; ++r) {
        const float* src;
        if (op.name == "input") {
          int32_t t = t0 + op_plan.times[r];
          src = feats.Row(std::clamp(t, 0, num_frames - 1));
        } else {
          KQ_CHECK(ivector != nullptr, kInvalidArgument) << "no i-vector for input " << op.name;
          src = ivector;
        }
        std::memcpy(dst + r * op.output_dim, src, sizeof(float) * op.output_dim);
      }
      views[i] = RowView::Float(dst, op.output_dim);
      continue;
    }
    const LinearKernel* kernel = op.type == OpType::kAffine ? net_.kernels[i].get() : nullptr;
    const U8Grid* in_grid = kernel ? kernel->InputGrid() : nullptr;
    // The op's input rows: an alias of an earlier op's rows, or gathered into scratch — as u8
    // bytes when the op takes u8 on the grid its sources hold, else as float.
    RowView in;
    if (op_plan.alias_op >= 0) {
      in = views[op_plan.alias_op].Shifted(op_plan.alias_row, 0);
    } else if (in_grid && CanGatherU8(op_plan, views, *in_grid)) {
      uint8_t* dst = Ensure(&scratch_u8_[i], rows * op.input_dim);
      GatherU8(op_plan, views, rows, op.input_dim, dst);
      in = RowView::U8(dst, op.input_dim, *in_grid);
    } else {
      float* dst = Ensure(&scratch_[i], rows * op.input_dim);
      Gather(op_plan, views, rows, op.input_dim, dst);
      in = RowView::Float(dst, op.input_dim);
    }
    if (op.type == OpType::kOutput) {
      int64_t stride;
      const float* x = AsFloat(in, rows, op.output_dim, &dequant_, &stride);
      for (int64_t r = 0; r < rows; ++r)
        std::memcpy(out->Row(out_row + r), x + r * stride, sizeof(float) * op.output_dim);
      continue;
    }
    const U8Output* u8_out =
        i < static_cast<int32_t>(net_.u8_outputs.size()) && net_.u8_outputs[i]
            ? &*net_.u8_outputs[i]
            : nullptr;
    if (op.type == OpType::kCopy) {
      views[i] = in;
      if (u8_out && op_plan.alias_op < 0 && in.has_float() && !in.has_u8())
        views[i] = Quantize(in, rows, i, *u8_out);
    } else if (op.type == OpType::kDimRange) {
      views[i] = in.Shifted(0, op.ints[0]);
    } else if (kernel) {
      const bool x_u8 = in.has_u8() && in_grid && in.grid == *in_grid;
      const void* x = x_u8 ? static_cast<const void*>(in.q) : in.data;
      int64_t ldx = x_u8 ? in.qstride : in.stride;
      if (!x_u8 && !in.has_float()) x = AsFloat(in, rows, op.input_dim, &dequant_, &ldx);
      if (const U8Grid* out_grid = kernel->OutputGrid()) {
        uint8_t* y = Ensure(&values_u8_[i], rows * op.output_dim);
        kernel->ForwardQuantized(x, x_u8, rows, ldx, y, op.output_dim);
        views[i] = RowView::U8(y, op.output_dim, *out_grid);
      } else {
        float* y = Ensure(&values_[i], rows * op.output_dim);
        kernel->ForwardQuantized(x, x_u8, rows, ldx, y, op.output_dim);
        views[i] = RowView::Float(y, op.output_dim);
      }
    } else {
      int64_t ldx;
      const float* x = AsFloat(in, rows, op.input_dim, &dequant_, &ldx);
      float* y = Ensure(&values_[i], rows * op.output_dim);
      RunElementwiseOp(op, x, ldx, rows, y, op.output_dim);
      views[i] = RowView::Float(y, op.output_dim);
      if (u8_out) views[i] = Quantize(views[i], rows, i, *u8_out);
    }
    if (observer_) {
      // Observers see float values; u8 tensors are shown dequantized.
      int64_t ldx, ldy;
      const float* x = AsFloat(in, rows, op.input_dim, &observe_in_, &ldx);
      const float* y = AsFloat(views[i], rows, op.output_dim, &observe_out_, &ldy);
      ActivationView vin{x, rows, op.input_dim, ldx, op_plan.times.data()};
      ActivationView vout{y, rows, op.output_dim, ldy, op_plan.times.data()};
      observer_(op, vin, vout);
    }
  }
}

}  // namespace kaldiq::nnet
