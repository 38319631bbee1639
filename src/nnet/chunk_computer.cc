#include "nnet/chunk_computer.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "kernels/quantize.h"
#include "util/error.h"

namespace kaldiq::nnet {

namespace {

template <typename T>
T* Ensure(std::vector<T>* buf, int64_t n) {
  if (buf->size() < static_cast<size_t>(n)) buf->resize(static_cast<size_t>(n));
  return buf->data();
}

int64_t RowsPerSequence(const ChunkPlan& plan, int32_t op) {
  return static_cast<int64_t>(plan.ops[op].times.size());
}

// True when op's input is rows of plan.alias_op for every sequence (a view, no gather): always
// for one sequence; for several only when the alias covers the source's whole block.
bool IsAliased(const ChunkPlan& plan, int32_t op, int32_t num_sequences) {
  const OpPlan& p = plan.ops[op];
  if (p.alias_op < 0) return false;
  return num_sequences == 1 ||
         (p.alias_row == 0 && RowsPerSequence(plan, p.alias_op) == RowsPerSequence(plan, op));
}

// The ops whose rows an op's input reads.
void Sources(const Op& op, std::vector<int32_t>* out) {
  out->clear();
  for (const DescExpr& p : op.input.parts) CollectOps(p, out);
}

uint64_t OpSeed(uint64_t seed, int32_t op) {
  return seed ^ (0x9E3779B97F4A7C15ull * static_cast<uint64_t>(op + 1));
}

}  // namespace

ChunkComputer::ChunkComputer(const Graph& graph, std::vector<const LinearKernel*> kernels,
                             const std::vector<std::optional<U8Output>>* u8_outputs)
    : graph_(graph), kernels_(std::move(kernels)), u8_outputs_(u8_outputs) {
  const size_t n = graph_.ops.size();
  KQ_CHECK(kernels_.size() == n, kInternal) << "one kernel slot per op expected";
  for (size_t i = 0; i < n; ++i) {
    KQ_CHECK(graph_.ops[i].type != OpType::kAffine || kernels_[i] != nullptr, kInternal)
        << "affine op '" << graph_.ops[i].name << "' has no kernel";
  }
  values_.resize(n);
  values_u8_.resize(n);
  prev_values_.resize(n);
  prev_values_u8_.resize(n);
  scratch_.resize(n);
  scratch_u8_.resize(n);
  memos_.resize(n);
  derivs_.resize(n);
  in_derivs_.resize(n);
}

ChunkComputer::~ChunkComputer() = default;

const float* ChunkComputer::AsFloat(const RowView& view, int64_t rows, int64_t cols,
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

ConstRows ChunkComputer::ValueAsFloat(int32_t op) {
  KQ_CHECK(plan_ != nullptr, kInternal) << "no forward has run";
  const int64_t rows = num_sequences_ * RowsPerSequence(*plan_, op);
  const int64_t cols = graph_.ops[op].output_dim;
  int64_t stride;
  const float* data = AsFloat(views_[op], rows, cols, &dequant_, &stride);
  return ConstRows{data, rows, cols, stride};
}

RowView ChunkComputer::Quantize(const RowView& in, int64_t first_row, int64_t rows, int32_t op,
                                const U8Output& out) {
  const int64_t cols = graph_.ops[op].output_dim;
  uint8_t* dst = Ensure(&values_u8_[op], (first_row + rows) * cols);
  kernels::QuantizeRowsU8(in.data + first_row * in.stride, rows, cols, in.stride, out.grid, 0,
                          dst + first_row * cols, cols);
  RowView both = in;
  both.q = dst;
  both.qstride = cols;
  both.grid = out.grid;
  return both;
}

void ChunkComputer::CarryRows(int32_t i) {
  const OpPlan& op_plan = plan_->ops[i];
  const Op& op = graph_.ops[i];
  const int64_t cols = op.output_dim;
  const int64_t carried = op_plan.num_carried;
  const int64_t total = static_cast<int64_t>(op_plan.times.size());
  KQ_CHECK(num_sequences_ == 1, kInternal) << "carried rows need a single sequence";
  KQ_CHECK(op.type == OpType::kInput || !(Traits(op.type).props & kView), kInternal)
      << "view op '" << op.name << "' cannot carry rows";
  KQ_CHECK(static_cast<int64_t>(op_plan.carry_rows.size()) == carried, kInternal)
      << "op '" << op.name << "': " << op_plan.carry_rows.size() << " carry rows for " << carried
      << " carried rows";
  const RowView& prev = prev_views_[i];
  KQ_CHECK(prev.has_float() || prev.has_u8(), kInternal)
      << "op '" << op.name << "' carries rows but the previous chunk did not compute it";
  for (int32_t r : op_plan.carry_rows)
    KQ_CHECK(r >= 0 && r < prev_rows_[i], kInternal)
        << "op '" << op.name << "': carry row " << r << " of " << prev_rows_[i];
  // The previous chunk's rows stay where they are (the vectors swap storage); this chunk's
  // buffer is the older one.
  values_[i].swap(prev_values_[i]);
  values_u8_[i].swap(prev_values_u8_[i]);
  if (prev.has_float()) {
    float* dst = Ensure(&values_[i], total * cols);
    for (int64_t r = 0; r < carried; ++r)
      std::memcpy(dst + r * cols, prev.data + op_plan.carry_rows[r] * prev.stride,
                  sizeof(float) * cols);
  }
  if (prev.has_u8()) {
    uint8_t* dst = Ensure(&values_u8_[i], total * cols);
    for (int64_t r = 0; r < carried; ++r)
      std::memcpy(dst + r * cols, prev.q + op_plan.carry_rows[r] * prev.qstride, cols);
  }
}

void ChunkComputer::FillInput(int32_t i, const std::vector<InputRows>& inputs) {
  const ChunkPlan& plan = *plan_;
  const Op& op = graph_.ops[i];
  const std::vector<int32_t>& times = plan.ops[i].times;
  const int64_t per_seq = static_cast<int64_t>(times.size());
  const int64_t carried = plan.ops[i].num_carried;
  const int32_t k = static_cast<int32_t>(
      std::find(plan.inputs.begin(), plan.inputs.end(), i) - plan.inputs.begin());
  KQ_CHECK(k < static_cast<int32_t>(plan.inputs.size()), kInternal)
      << "input op '" << op.name << "' is not an input of the plan";
  KQ_CHECK(inputs.size() >= plan.inputs.size() * static_cast<size_t>(num_sequences_),
           kInternal) << "rows for " << plan.inputs.size() << " inputs × " << num_sequences_
                      << " sequences expected, got " << inputs.size();
  float* dst = Ensure(&values_[i], num_sequences_ * per_seq * op.output_dim);
  for (int32_t n = 0; n < num_sequences_ && carried < per_seq; ++n) {
    const InputRows& src = inputs[static_cast<size_t>(k) * num_sequences_ + n];
    KQ_CHECK(src.data != nullptr && src.rows > 0, kInvalidArgument)
        << "no rows for input '" << op.name << "'";
    for (int64_t r = carried; r < per_seq; ++r) {
      int64_t row = static_cast<int64_t>(times[r]) - src.first_t;
      if (src.clamp) {
        row = std::clamp<int64_t>(row, 0, src.rows - 1);
      } else {
        KQ_CHECK(row >= 0 && row < src.rows, kInvalidArgument)
            << "input '" << op.name << "' of sequence " << n << " has no row for time "
            << times[r] << " (rows for times " << src.first_t << " .. "
            << src.first_t + src.rows - 1 << ")";
      }
      std::memcpy(dst + (n * per_seq + r) * op.output_dim, src.data + row * src.stride,
                  sizeof(float) * op.output_dim);
    }
  }
  views_[i] = RowView::Float(dst, op.output_dim);
}

void ChunkComputer::Forward(const ChunkPlan& plan, int32_t num_sequences,
                            const std::vector<InputRows>& inputs, const ForwardOptions& options) {
  KQ_CHECK(num_sequences >= 1, kInternal) << "no sequences";
  KQ_CHECK(plan.ops.size() == graph_.ops.size(), kInternal) << "plan of another graph";
  plan_ = &plan;
  num_sequences_ = num_sequences;
  options_ = options;
  const bool train = options.mode == ComputeMode::kTrain;
  std::vector<RowView>& views = views_;
  // The previous chunk's rows, for plans that carry some of them over (looped evaluation).
  prev_views_.swap(views_);
  prev_rows_.swap(rows_);
  views.assign(graph_.ops.size(), RowView());
  rows_.assign(graph_.ops.size(), 0);
  prev_views_.resize(graph_.ops.size());
  prev_rows_.resize(graph_.ops.size(), 0);
  input_views_.assign(graph_.ops.size(), RowView());
  for (int32_t i : plan.order) {
    const Op& op = graph_.ops[i];
    const OpPlan& op_plan = plan.ops[i];
    const OpTraits& traits = Traits(op.type);
    // Rows [0, carried) come from the previous chunk; rows [carried, carried + rows) are
    // computed here.
    const int64_t carried = op_plan.num_carried;
    const int64_t rows = num_sequences * op_plan.NumComputed();
    const int64_t total = carried + rows;
    rows_[i] = total;
    if (carried > 0) {
      KQ_CHECK(!train, kInternal) << "carried rows in train mode";
      CarryRows(i);
    }
    if (op.type == OpType::kInput) {
      FillInput(i, inputs);
      continue;
    }
    const LinearKernel* kernel = op.type == OpType::kAffine ? kernels_[i] : nullptr;
    const U8Grid* in_grid = kernel ? kernel->InputGrid() : nullptr;
    // The op's input rows: an alias of an earlier op's rows, or gathered into scratch — as u8
    // bytes when the op takes u8 on the grid its sources hold, else as float.
    const bool aliased = IsAliased(plan, i, num_sequences);
    // A view op's output is its input rows, so those live as long as its value.
    const bool share = !options.keep_inputs && !(traits.props & kView);
    RowView in;
    if (aliased) {
      in = views[op_plan.alias_op].Shifted(op_plan.alias_row, 0);
    } else if (in_grid && CanGatherU8(op_plan, views, *in_grid)) {
      uint8_t* dst = Ensure(share ? &shared_scratch_u8_ : &scratch_u8_[i], rows * op.input_dim);
      GatherU8(plan, i, num_sequences, views, dst, op.input_dim);
      in = RowView::U8(dst, op.input_dim, *in_grid);
    } else {
      float* dst = Ensure(share ? &shared_scratch_ : &scratch_[i], rows * op.input_dim);
      Gather(plan, i, num_sequences, views, dst, op.input_dim);
      in = RowView::Float(dst, op.input_dim);
    }
    input_views_[i] = in;
    const U8Output* u8_out =
        u8_outputs_ && i < static_cast<int32_t>(u8_outputs_->size()) && (*u8_outputs_)[i]
            ? &*(*u8_outputs_)[i]
            : nullptr;
    if (traits.props & kView) {
      views[i] = in.Shifted(0, traits.view_column ? traits.view_column(op) : 0);
      if (op.type == OpType::kOutput) continue;  // no observer for outputs
      if (op.type == OpType::kCopy && u8_out && !aliased && in.has_float() && !in.has_u8())
        views[i] = Quantize(in, 0, rows, i, *u8_out);
    } else if (kernel && ((in.has_u8() && in_grid && in.grid == *in_grid) || kernel->OutputGrid())) {
      // The integer pipeline: u8 rows in and/or out (quant's int8 layers).
      const bool x_u8 = in.has_u8() && in_grid && in.grid == *in_grid;
      const void* x = x_u8 ? static_cast<const void*>(in.q) : in.data;
      int64_t ldx = x_u8 ? in.qstride : in.stride;
      if (!x_u8 && !in.has_float()) x = AsFloat(in, rows, op.input_dim, &dequant_, &ldx);
      if (const U8Grid* out_grid = kernel->OutputGrid()) {
        uint8_t* y = Ensure(&values_u8_[i], total * op.output_dim);
        kernel->ForwardQuantized(x, x_u8, rows, ldx, y + carried * op.output_dim, op.output_dim);
        views[i] = RowView::U8(y, op.output_dim, *out_grid);
      } else {
        float* y = Ensure(&values_[i], total * op.output_dim);
        kernel->ForwardQuantized(x, x_u8, rows, ldx, y + carried * op.output_dim, op.output_dim);
        views[i] = RowView::Float(y, op.output_dim);
      }
    } else {
      int64_t ldx;
      const float* x = AsFloat(in, rows, op.input_dim, &dequant_, &ldx);
      float* y = Ensure(&values_[i], total * op.output_dim);
      ForwardArgs args;
      args.op = &op;
      args.mode = options.mode;
      args.in = ConstRows{x, rows, op.input_dim, ldx};
      args.out = Rows{y + carried * op.output_dim, rows, op.output_dim, op.output_dim};
      args.kernel = kernel;
      args.num_sequences = num_sequences;
      args.times = op_plan.times.data() + carried;
      if (train) {
        args.memo = &memos_[i];
        args.seed = OpSeed(options.seed, i);
        if (options.stats && (traits.props & kStoresStats)) {
          KQ_CHECK(options.stats->batchnorm.size() == graph_.ops.size(), kInternal)
              << "statistics of another graph";
          args.stats = &options.stats->batchnorm[i];
        }
      }
      traits.forward(args);
      views[i] = RowView::Float(y, op.output_dim);
      if (u8_out) views[i] = Quantize(views[i], carried, rows, i, *u8_out);
    }
    if (observer_) {
      // Observers see float values of the computed rows; u8 tensors are shown dequantized.
      int64_t ldx, ldy;
      const float* x = AsFloat(in, rows, op.input_dim, &observe_in_, &ldx);
      const float* y =
          AsFloat(views[i].Shifted(carried, 0), rows, op.output_dim, &observe_out_, &ldy);
      ActivationView vin{x, rows, op.input_dim, ldx, op_plan.times.data() + carried};
      ActivationView vout{y, rows, op.output_dim, ldy, op_plan.times.data() + carried};
      observer_(op, vin, vout);
    }
  }
}

void ChunkComputer::Backward(const std::vector<ConstRows>& output_derivs, Gradients* grads,
                             bool input_derivs) {
  KQ_CHECK(plan_ != nullptr, kInternal) << "Backward before Forward";
  KQ_CHECK(options_.keep_inputs, kInternal) << "Backward after a Forward without keep_inputs";
  const ChunkPlan& plan = *plan_;
  const int32_t num_ops = static_cast<int32_t>(graph_.ops.size());
  const int32_t N = num_sequences_;
  KQ_CHECK(output_derivs.size() == plan.outputs.size(), kInternal)
      << output_derivs.size() << " output derivatives for " << plan.outputs.size() << " outputs";
  KQ_CHECK(!grads || grads->ops.size() == graph_.ops.size(), kInternal)
      << "gradients of another graph";
  for (int32_t i : plan.order)
    KQ_CHECK(plan.ops[i].num_carried == 0, kInternal) << "Backward through carried rows";
  // wants[i]: the derivative of op i's output is of use (it reaches a trainable op, or an input
  // op whose derivative was asked for).
  std::vector<char> wants(num_ops, 0), passes(num_ops, 0);
  std::vector<int32_t> sources;
  for (int32_t i : plan.order) {
    const Op& op = graph_.ops[i];
    if (op.type == OpType::kInput) {
      wants[i] = input_derivs;
      continue;
    }
    Sources(op, &sources);
    for (int32_t s : sources) passes[i] |= wants[s];
    wants[i] = passes[i] || (op.trainable && grads);
  }
  deriv_views_.assign(num_ops, Rows());
  for (int32_t i : plan.order) {
    if (!wants[i]) continue;
    const int64_t rows = N * RowsPerSequence(plan, i), cols = graph_.ops[i].output_dim;
    float* d = Ensure(&derivs_[i], rows * cols);
    std::fill(d, d + rows * cols, 0.0f);
    deriv_views_[i] = Rows{d, rows, cols, cols};
  }
  std::vector<char> reached(num_ops, 0);
  for (size_t k = 0; k < plan.outputs.size(); ++k) {
    const ConstRows& g = output_derivs[k];
    const int32_t o = plan.outputs[k];
    if (!g.data || !wants[o]) continue;
    const Rows& d = deriv_views_[o];
    KQ_CHECK(g.rows == d.rows && g.cols == d.cols, kInvalidArgument)
        << "derivative of output '" << graph_.ops[o].name << "' is " << g.rows << "x" << g.cols
        << ", the output is " << d.rows << "x" << d.cols;
    for (int64_t r = 0; r < g.rows; ++r) std::memcpy(d.Row(r), g.Row(r), sizeof(float) * g.cols);
    reached[o] = 1;
  }
  for (auto it = plan.order.rbegin(); it != plan.order.rend(); ++it) {
    const int32_t i = *it;
    const Op& op = graph_.ops[i];
    if (op.type == OpType::kInput || !reached[i] || !wants[i]) continue;
    const bool own_grads = op.trainable && grads != nullptr;
    if (!passes[i] && !own_grads) continue;
    const OpTraits& traits = Traits(op.type);
    KQ_CHECK(traits.backward != nullptr, kUnsupported)
        << "op '" << op.name << "' (" << traits.name << ") has no backward";
    const OpPlan& op_plan = plan.ops[i];
    const int64_t rows = N * RowsPerSequence(plan, i);
    const bool aliased = IsAliased(plan, i, N);
    Rows in_deriv;
    if (passes[i]) {
      if (aliased) {
        const Rows& src = deriv_views_[op_plan.alias_op];
        in_deriv = Rows{src.data + op_plan.alias_row * src.stride, rows, op.input_dim, src.stride};
        reached[op_plan.alias_op] = 1;
      } else {
        float* d = Ensure(&in_derivs_[i], rows * op.input_dim);
        std::fill(d, d + rows * op.input_dim, 0.0f);
        in_deriv = Rows{d, rows, op.input_dim, op.input_dim};
      }
    }
    BackwardArgs args;
    args.op = &op;
    args.mode = options_.mode;
    const RowView& in = input_views_[i];
    const RowView& out = views_[i];
    if (traits.props & kBackwardNeedsInput) {
      KQ_CHECK(in.has_float(), kUnsupported) << "backward of '" << op.name << "' needs float input rows";
      args.in = ConstRows{in.data, rows, op.input_dim, in.stride};
    }
    if (BackwardNeedsOutput(op)) {
      KQ_CHECK(out.has_float(), kUnsupported) << "backward of '" << op.name << "' needs float output rows";
      args.out = ConstRows{out.data, rows, op.output_dim, out.stride};
    }
    args.out_deriv = deriv_views_[i];
    args.in_deriv = in_deriv;
    args.num_sequences = N;
    args.times = op_plan.times.data();
    args.memo = &memos_[i];
    args.kernel = op.type == OpType::kAffine ? kernels_[i] : nullptr;
    args.grads = own_grads ? &grads->ops[i] : nullptr;
    traits.backward(args);
    if (passes[i] && !aliased) {
      ScatterAdd(plan, i, N, in_deriv.data, in_deriv.stride, deriv_views_);
      Sources(op, &sources);
      for (int32_t s : sources) reached[s] = 1;
    }
  }
}

ConstRows ChunkComputer::Deriv(int32_t op) const {
  if (op < 0 || op >= static_cast<int32_t>(deriv_views_.size())) return ConstRows();
  return deriv_views_[op];
}

}  // namespace kaldiq::nnet
