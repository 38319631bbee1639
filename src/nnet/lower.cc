#include "nnet/lower.h"

#include <algorithm>
#include <functional>
#include <map>
#include <set>

#include "util/error.h"

namespace kaldiq::nnet {

namespace {

using kaldi::DescriptorType;
using kaldi::NodeType;

class Lowerer {
 public:
  // steal_weights: `nnet` is a temporary the caller gave up (LowerNnet(Nnet&&)); its weight
  // matrices and biases are moved into the ops instead of copied.
  Lowerer(const kaldi::Nnet& nnet, const std::string& model_name, LowerMode mode,
          bool steal_weights)
      : nnet_(nnet), model_name_(model_name), training_(mode == LowerMode::kTraining),
        steal_(steal_weights), uses_(nnet.components.size(), 0),
        op_of_node_(nnet.nodes.size(), -1), state_(nnet.nodes.size(), 0) {
    for (const kaldi::NnetNode& n : nnet.nodes)
      if (n.type == NodeType::kComponent && n.component_index >= 0 &&
          n.component_index < static_cast<int32_t>(uses_.size()))
        ++uses_[n.component_index];
  }

  Graph Run() {
    for (size_t i = 0; i < nnet_.nodes.size(); ++i) Visit(static_cast<int32_t>(i));
    graph_.output = graph_.Find("output");
    KQ_CHECK(graph_.output >= 0 && graph_.ops[graph_.output].type == OpType::kOutput, kFormat)
        << model_name_ << ": network has no output node named 'output'";
    return std::move(graph_);
  }

 private:
  int32_t NodeIndex(const std::string& name, int32_t index) const {
    int32_t i = index >= 0 ? index : nnet_.NodeIndex(name);
    KQ_CHECK(i >= 0 && i < static_cast<int32_t>(nnet_.nodes.size()), kFormat)
        << model_name_ << ": descriptor refers to unknown node '" << name << "'";
    return i;
  }

  void CollectDeps(const kaldi::Descriptor& d, std::vector<int32_t>* deps) const {
    if (d.type == DescriptorType::kNode) deps->push_back(NodeIndex(d.node_name, d.node_index));
    for (const kaldi::Descriptor& a : d.args) CollectDeps(a, deps);
  }

  // Depth-first: lowers the node's dependencies, then the node (topological order).
  void Visit(int32_t n) {
    if (state_[n] == 2) return;
    const kaldi::NnetNode& node = nnet_.nodes[n];
    KQ_CHECK(state_[n] != 1, kUnsupported)
        << model_name_ << ": node '" << node.name
        << "' is part of a recurrence; only feed-forward networks are supported";
    state_[n] = 1;
    std::vector<int32_t> deps;
    if (node.type == NodeType::kComponent || node.type == NodeType::kOutput)
      CollectDeps(node.input, &deps);
    if (node.type == NodeType::kDimRange)
      deps.push_back(NodeIndex(node.input_node_name, node.input_node_index));
    for (int32_t d : deps) Visit(d);
    try {
      LowerNode(n);
    } catch (const Error& e) {
      throw e.WithContext(model_name_ + ": node '" + node.name + "'");
    }
    state_[n] = 2;
  }

  // Lowers a Kaldi descriptor into Append parts.
  std::vector<DescExpr> LowerDesc(const kaldi::Descriptor& d) {
    using K = DescExpr::Kind;
    auto single = [&](const kaldi::Descriptor& a) {
      std::vector<DescExpr> parts = LowerDesc(a);
      KQ_CHECK(parts.size() == 1, kUnsupported)
          << "Append() nested inside another descriptor is not supported";
      return parts[0];
    };
    auto wrap = [](K kind, DescExpr child) {
      DescExpr e;
      e.kind = kind;
      e.children.push_back(std::move(child));
      return e;
    };
    switch (d.type) {
      case DescriptorType::kNode: {
        DescExpr e;
        e.kind = K::kNode;
        e.node = op_of_node_[NodeIndex(d.node_name, d.node_index)];
        return {e};
      }
      case DescriptorType::kAppend: {
        std::vector<DescExpr> parts;
        for (const kaldi::Descriptor& a : d.args) {
          std::vector<DescExpr> p = LowerDesc(a);
          parts.insert(parts.end(), p.begin(), p.end());
        }
        return parts;
      }
      case DescriptorType::kOffset: {
        KQ_CHECK(d.x_offset == 0, kUnsupported) << "Offset() with an x offset is not supported";
        std::vector<DescExpr> parts = LowerDesc(d.args.at(0));
        for (DescExpr& p : parts) {
          DescExpr e = wrap(K::kOffset, std::move(p));
          e.value = d.t_offset;
          p = std::move(e);
        }
        return parts;
      }
      case DescriptorType::kRound: {
        DescExpr e = wrap(K::kRound, single(d.args.at(0)));
        e.value = d.t_modulus;
        KQ_CHECK(e.value > 0, kFormat) << "Round() modulus " << e.value;
        return {e};
      }
      case DescriptorType::kReplaceIndex: {
        KQ_CHECK(d.variable == 't', kUnsupported)
            << "ReplaceIndex() of the x index is not supported";
        DescExpr e = wrap(K::kReplaceT, single(d.args.at(0)));
        e.value = d.value;
        return {e};
      }
      case DescriptorType::kIfDefined:
        return {wrap(K::kIfDefined, single(d.args.at(0)))};
      case DescriptorType::kScale: {
        DescExpr e = wrap(K::kScale, single(d.args.at(0)));
        e.scale = d.scale;
        return {e};
      }
      case DescriptorType::kConst: {
        DescExpr e;
        e.kind = K::kConst;
        e.scale = d.const_value;
        e.dim = d.const_dim;
        return {e};
      }
      case DescriptorType::kSum:
      case DescriptorType::kFailover:
      case DescriptorType::kSwitch: {
        KQ_CHECK(!d.args.empty(), kFormat) << "descriptor without arguments";
        if (d.type == DescriptorType::kSwitch) {
          DescExpr e;
          e.kind = K::kSwitch;
          for (const kaldi::Descriptor& a : d.args) e.children.push_back(single(a));
          return {e};
        }
        // Sum / Failover are binary in Kaldi; longer lists are folded left to right.
        K kind = d.type == DescriptorType::kSum ? K::kSum : K::kFailover;
        DescExpr acc = single(d.args[0]);
        for (size_t i = 1; i < d.args.size(); ++i) {
          DescExpr e;
          e.kind = kind;
          e.children.push_back(std::move(acc));
          e.children.push_back(single(d.args[i]));
          acc = std::move(e);
        }
        return {acc};
      }
    }
    KQ_THROW(kUnsupported) << "unknown descriptor type";
  }

  int32_t AddOp(Op op) {
    op.input_dim = op.type == OpType::kInput ? 0 : DescriptorDim(graph_, op.input);
    graph_.ops.push_back(std::move(op));
    return static_cast<int32_t>(graph_.ops.size()) - 1;
  }

  static bool IsForwarding(const DescExpr& e) {
    using K = DescExpr::Kind;
    if (e.kind == K::kNode) return true;
    if (e.kind == K::kOffset || e.kind == K::kReplaceT || e.kind == K::kRound)
      return IsForwarding(e.children[0]);
    return false;
  }

  // Input parts of a component that reads its input at t + o for each o in `offsets`
  // (TdnnComponent, convolution). optional[k]: that offset may be missing (zero).
  Descriptor SpliceInput(const std::string& node_name, std::vector<DescExpr> parts,
                         const std::vector<int32_t>& offsets, const std::vector<bool>& optional) {
    Descriptor in;
    bool trivial = offsets.size() == 1 && offsets[0] == 0 && !optional[0];
    if (trivial) {
      in.parts = std::move(parts);
      return in;
    }
    DescExpr base;
    if (parts.size() == 1 && IsForwarding(parts[0])) {
      base = parts[0];
    } else {
      // Materialise the descriptor once, then read it at the offsets.
      Op copy;
      copy.name = node_name + ".input";
      copy.component = "descriptor of " + node_name;
      copy.type = OpType::kCopy;
      copy.input.parts = std::move(parts);
      int32_t dim = DescriptorDim(graph_, copy.input);
      copy.output_dim = dim;
      base.kind = DescExpr::Kind::kNode;
      base.node = AddOp(std::move(copy));
    }
    for (size_t k = 0; k < offsets.size(); ++k) {
      DescExpr e;
      e.kind = DescExpr::Kind::kOffset;
      e.value = offsets[k];
      e.children.push_back(base);
      if (optional[k]) {
        DescExpr opt;
        opt.kind = DescExpr::Kind::kIfDefined;
        opt.children.push_back(std::move(e));
        e = std::move(opt);
      }
      in.parts.push_back(std::move(e));
    }
    return in;
  }

  static std::vector<float> Tile(const std::vector<float>& v, int32_t dim) {
    KQ_CHECK(!v.empty() && dim % static_cast<int32_t>(v.size()) == 0, kFormat)
        << "dimension " << dim << " is not a multiple of the block size " << v.size();
    std::vector<float> out(dim);
    for (int32_t i = 0; i < dim; ++i) out[i] = v[i % v.size()];
    return out;
  }

  void LowerNode(int32_t n) {
    const kaldi::NnetNode& node = nnet_.nodes[n];
    Op op;
    op.name = node.name;
    switch (node.type) {
      case NodeType::kInput:
        op.type = OpType::kInput;
        op.component = "input-node";
        op.output_dim = node.dim;
        op_of_node_[n] = AddOp(std::move(op));
        return;
      case NodeType::kOutput:
        op.type = OpType::kOutput;
        op.component = "output-node";
        op.input.parts = LowerDesc(node.input);
        op.output_dim = DescriptorDim(graph_, op.input);
        op_of_node_[n] = AddOp(std::move(op));
        return;
      case NodeType::kDimRange: {
        op.type = OpType::kDimRange;
        op.component = "dim-range-node";
        DescExpr e;
        e.node = op_of_node_[NodeIndex(node.input_node_name, node.input_node_index)];
        op.input.parts.push_back(e);
        op.ints = {node.dim_offset};
        op.output_dim = node.dim;
        op_of_node_[n] = AddOp(std::move(op));
        return;
      }
      case NodeType::kComponent:
        break;
    }
    KQ_CHECK(node.component_index >= 0 &&
                 node.component_index < static_cast<int32_t>(nnet_.components.size()),
             kFormat) << "unknown component '" << node.component_name << "'";
    const kaldi::Component& c = nnet_.components[node.component_index];
    op.component = c.name + " (" + c.TypeName() + ")";
    op.component_index = node.component_index;
    std::vector<DescExpr> parts = LowerDesc(node.input);
    op.input.parts = parts;
    op.output_dim = c.OutputDim();
    try {
      LowerComponent(c, node, std::move(parts), &op);
    } catch (const Error& e) {
      throw e.WithContext("component '" + c.name + "' (" + c.TypeName() + ")");
    }
    op_of_node_[n] = AddOp(std::move(op));
  }

  // A component's parameters for an op: moved out when the Nnet is the caller's temporary
  // and only this node uses the component (the object is not const then, so the cast is
  // sound), else copied.
  template <typename T>
  T Take(const T& v, const kaldi::NnetNode& node) {
    if (!steal_ || uses_[node.component_index] != 1) return v;
    return std::move(const_cast<T&>(v));
  }

  void LowerComponent(const kaldi::Component& c, const kaldi::NnetNode& node,
                      std::vector<DescExpr> parts, Op* op) {
    if (auto* a = c.As<kaldi::AffineComponent>()) {
      op->type = OpType::kAffine;
      op->weight = Take(a->linear_params, node);
      op->bias = Take(a->bias_params, node);
      op->trainable = training_;
    } else if (auto* a = c.As<kaldi::FixedAffineComponent>()) {
      op->type = OpType::kAffine;
      op->weight = Take(a->linear_params, node);
      op->bias = Take(a->bias_params, node);
    } else if (auto* a = c.As<kaldi::LinearComponent>()) {
      op->type = OpType::kAffine;
      op->weight = Take(a->params, node);
      op->trainable = training_;
    } else if (auto* a = c.As<kaldi::TdnnComponent>()) {
      op->type = OpType::kAffine;
      op->weight = Take(a->linear_params, node);
      op->bias = Take(a->bias_params, node);
      op->trainable = training_;
      op->input = SpliceInput(node.name, std::move(parts), a->time_offsets,
                              std::vector<bool>(a->time_offsets.size(), false));
    } else if (auto* a = c.As<kaldi::NonlinearComponent>()) {
      // block-dim only changes what Kaldi's self-repair (training) sees for the elementwise
      // nonlinearities; for the softmaxes it would split the normalisation into blocks.
      bool normalising = a->nonlinearity == kaldi::NonlinearityType::kSoftmax ||
                         a->nonlinearity == kaldi::NonlinearityType::kLogSoftmax;
      KQ_CHECK(!normalising || a->block_dim == 0 || a->block_dim == a->dim, kUnsupported)
          << "block-dim " << a->block_dim << " != dim " << a->dim
          << " is not supported for a softmax";
      switch (a->nonlinearity) {
        case kaldi::NonlinearityType::kRectifiedLinear: op->type = OpType::kRelu; break;
        case kaldi::NonlinearityType::kSigmoid: op->type = OpType::kSigmoid; break;
        case kaldi::NonlinearityType::kTanh: op->type = OpType::kTanh; break;
        case kaldi::NonlinearityType::kSoftmax: op->type = OpType::kSoftmax; break;
        case kaldi::NonlinearityType::kLogSoftmax: op->type = OpType::kLogSoftmax; break;
      }
    } else if (auto* a = c.As<kaldi::BatchNormComponent>()) {
      std::vector<float> scale, offset;
      bool valid = true;
      kaldi::BatchNormTestScaleOffset(*a, &scale, &offset, &valid);
      KQ_CHECK(valid || training_, kFormat)
          << "BatchNorm has no statistics (count 0); cannot run in test mode";
      op->type = training_ ? OpType::kBatchNorm : OpType::kScaleOffset;
      if (valid) {
        op->scale = Tile(scale, a->dim);
        op->offset = Tile(offset, a->dim);
      }
      if (training_) op->attrs = BatchNormAttrs{a->block_dim, a->epsilon, a->target_rms, valid};
    } else if (auto* a = c.As<kaldi::NormalizeComponent>()) {
      KQ_CHECK(a->block_dim == 0 || a->block_dim == a->input_dim, kUnsupported)
          << "block-dim " << a->block_dim << " != input-dim is not supported";
      op->type = OpType::kNormalize;
      op->target_rms = a->target_rms;
      op->add_log_stddev = a->add_log_stddev;
    } else if (auto* a = c.As<kaldi::DropoutComponent>()) {
      if (training_) {
        DropoutAttrs d;
        d.kind = DropoutAttrs::Kind::kDropout;
        d.proportion = a->dropout_proportion;
        d.per_frame = a->dropout_per_frame;
        op->type = OpType::kDropout;
        op->attrs = d;
      } else {
        // Kaldi's test-mode DropoutComponent (nnet3-compute sets test mode) scales by 1 - p.
        op->type = OpType::kScaleOffset;
        op->scale.assign(a->dim, 1.0f - a->dropout_proportion);
      }
    } else if (auto* a = c.As<kaldi::GeneralDropoutComponent>(); a && training_) {
      DropoutAttrs d;
      d.kind = DropoutAttrs::Kind::kGeneralDropout;
      d.proportion = a->dropout_proportion;
      d.block_dim = a->block_dim > 0 ? a->block_dim : a->dim;
      d.time_period = a->time_period;
      d.continuous = a->continuous;
      d.specaugment = a->specaugment_max_proportion != 0.0f;
      op->type = OpType::kDropout;
      op->attrs = d;
    } else if (c.As<kaldi::SpecAugmentTimeMaskComponent>() && training_) {
      DropoutAttrs d;
      d.kind = DropoutAttrs::Kind::kSpecAugmentTimeMask;
      op->type = OpType::kDropout;
      op->attrs = d;
    } else if (auto* a = c.As<kaldi::NoOpComponent>(); a && training_) {
      op->type = OpType::kCopy;
      op->attrs = CopyAttrs{a->backprop_scale};
    } else if (c.As<kaldi::GeneralDropoutComponent>() ||
               c.As<kaldi::SpecAugmentTimeMaskComponent>() || c.As<kaldi::NoOpComponent>()) {
      op->type = OpType::kCopy;  // identity in test mode
    } else if (auto* a = c.As<kaldi::ScaleAndOffsetComponent>()) {
      std::vector<float> s = a->scales;
      // Kaldi multiplies by EnsureNonzero(scales, 1e-4).
      for (float& v : s)
        if (std::abs(v) < 1e-4f) v = v >= 0 ? 1e-4f : -1e-4f;
      op->type = OpType::kScaleOffset;
      op->scale = Tile(s, a->dim);
      op->offset = Tile(a->offsets, a->dim);
    } else if (auto* a = c.As<kaldi::PerElementScaleComponent>()) {
      op->type = OpType::kScaleOffset;
      op->scale = a->params;
    } else if (auto* a = c.As<kaldi::PerElementOffsetComponent>()) {
      op->type = OpType::kScaleOffset;
      op->offset = Tile(a->offsets, a->dim);
    } else if (auto* a = c.As<kaldi::FixedScaleComponent>()) {
      op->type = OpType::kScaleOffset;
      op->scale = a->scales;
    } else if (auto* a = c.As<kaldi::FixedBiasComponent>()) {
      op->type = OpType::kScaleOffset;
      op->offset = a->bias;
    } else if (auto* a = c.As<kaldi::SumGroupComponent>()) {
      op->type = OpType::kSumGroup;
      op->ints = a->sizes;
    } else if (c.As<kaldi::ElementwiseProductComponent>()) {
      op->type = OpType::kElementwiseProduct;
    } else if (auto* a = c.As<kaldi::PermuteComponent>()) {
      op->type = OpType::kPermute;
      op->ints = a->column_map;
    } else if (auto* a = c.As<kaldi::TimeHeightConvolutionComponent>()) {
      LowerConvolution(*a, node, std::move(parts), op);
    } else {
      KQ_THROW(kUnsupported) << "component type not supported by the executor";
    }
  }

  // A TimeHeightConvolution becomes one affine op over the input spliced at the distinct time
  // offsets; its weight is the (block-sparse) matrix of the convolution, zeros included.
  void LowerConvolution(const kaldi::TimeHeightConvolutionComponent& a,
                        const kaldi::NnetNode& node, std::vector<DescExpr> parts, Op* op) {
    const kaldi::ConvolutionModel& m = a.model;
    std::vector<int32_t> times;
    for (const auto& o : m.offsets) times.push_back(o.first);
    std::sort(times.begin(), times.end());
    times.erase(std::unique(times.begin(), times.end()), times.end());
    std::vector<bool> optional;
    for (int32_t t : times) {
      optional.push_back(std::find(m.required_time_offsets.begin(), m.required_time_offsets.end(),
                                   t) == m.required_time_offsets.end());
    }
    const int32_t fin = m.num_filters_in, fout = m.num_filters_out;
    const int32_t in_block = m.height_in * fin;
    KQ_CHECK(a.linear_params.rows() == fout &&
                 a.linear_params.cols() == static_cast<int64_t>(m.offsets.size()) * fin,
             kFormat) << "convolution parameters have the wrong shape";
    op->type = OpType::kAffine;
    op->weight.Resize(static_cast<int64_t>(m.height_out) * fout,
                      static_cast<int64_t>(times.size()) * in_block);
    for (int32_t h = 0; h < m.height_out; ++h) {
      for (size_t k = 0; k < m.offsets.size(); ++k) {
        int32_t ti = static_cast<int32_t>(
            std::lower_bound(times.begin(), times.end(), m.offsets[k].first) - times.begin());
        int32_t hin = h * m.height_subsample_out + m.offsets[k].second;
        if (hin < 0 || hin >= m.height_in) continue;
        for (int32_t fo = 0; fo < fout; ++fo)
          for (int32_t fi = 0; fi < fin; ++fi)
            op->weight(h * fout + fo, ti * in_block + hin * fin + fi) +=
                a.linear_params(fo, static_cast<int64_t>(k) * fin + fi);
      }
    }
    if (!a.bias_params.empty()) op->bias = Tile(a.bias_params, m.height_out * fout);
    op->input = SpliceInput(node.name, std::move(parts), times, optional);
  }

  const kaldi::Nnet& nnet_;
  std::string model_name_;
  bool training_;
  bool steal_;
  std::vector<int32_t> uses_;  // nodes per component
  Graph graph_;
  std::vector<int32_t> op_of_node_;
  std::vector<int> state_;
};


Graph Lower(const kaldi::Nnet& nnet, const std::string& model_name, const LowerOptions& options,
            bool steal_weights) {
  Graph g = Lowerer(nnet, model_name, options.mode, steal_weights).Run();
  g.UpdateIndex();
  ValidateGraph(g);
  if (options.mode == LowerMode::kInference && options.optimize) OptimizeForInference(&g);
  return g;
}

}  // namespace

Graph LowerNnet(const kaldi::Nnet& nnet, const std::string& model_name,
                const LowerOptions& options) {
  return Lower(nnet, model_name, options, false);
}

Graph LowerNnet(kaldi::Nnet&& nnet, const std::string& model_name, const LowerOptions& options) {
  kaldi::Nnet owned = std::move(nnet);  // freed on return, whatever was not moved out
  return Lower(owned, model_name, options, true);
}

}  // namespace kaldiq::nnet
