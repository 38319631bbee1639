#include "quant/export.h"

#include <string>
#include <vector>

#include "util/error.h"

namespace kaldiq::quant {

using nnet::DescExpr;
using nnet::Op;
using nnet::OpType;

namespace {

class Exporter {
 public:
  explicit Exporter(const nnet::Graph& g) : g_(g), value_of_(g.ops.size()) {}

  kaldi::Nnet Run() {
    for (size_t i = 0; i < g_.ops.size(); ++i) AddOp(static_cast<int32_t>(i));
    return std::move(nnet_);
  }

 private:
  kaldi::Descriptor Expr(const DescExpr& e) {
    using K = DescExpr::Kind;
    using T = kaldi::DescriptorType;
    kaldi::Descriptor d;
    for (const DescExpr& c : e.children) d.args.push_back(Expr(c));
    switch (e.kind) {
      case K::kNode: {
        const std::string& name = value_of_.at(e.node);
        KQ_CHECK(!name.empty(), kInternal) << "export: op " << e.node << " has no Kaldi node";
        d.type = T::kNode;
        d.node_name = name;
        break;
      }
      case K::kOffset: d.type = T::kOffset; d.t_offset = e.value; break;
      case K::kReplaceT: d.type = T::kReplaceIndex; d.variable = 't'; d.value = e.value; break;
      case K::kRound: d.type = T::kRound; d.t_modulus = e.value; break;
      case K::kSwitch: d.type = T::kSwitch; break;
      case K::kScale: d.type = T::kScale; d.scale = e.scale; break;
      case K::kSum: d.type = T::kSum; break;
      case K::kConst: d.type = T::kConst; d.const_value = e.scale; d.const_dim = e.dim; break;
      case K::kIfDefined: d.type = T::kIfDefined; break;
      case K::kFailover: d.type = T::kFailover; break;
    }
    return d;
  }

  kaldi::Descriptor Input(const Op& op) {
    if (op.input.parts.size() == 1) return Expr(op.input.parts[0]);
    kaldi::Descriptor d;
    d.type = kaldi::DescriptorType::kAppend;
    for (const DescExpr& p : op.input.parts) d.args.push_back(Expr(p));
    return d;
  }

  // Adds component `c` and a component node reading `input`; returns the node name.
  std::string AddComponent(const std::string& name, kaldi::ComponentParams params,
                           kaldi::Descriptor input) {
    kaldi::Component c;
    c.name = name;
    c.params = std::move(params);
    nnet_.components.push_back(std::move(c));
    kaldi::NnetNode n;
    n.type = kaldi::NodeType::kComponent;
    n.name = name;
    n.component_name = name;
    n.input = std::move(input);
    nnet_.nodes.push_back(std::move(n));
    return name;
  }

  std::string Unique(const std::string& base) {
    std::string name = base;
    for (int k = 2; nnet_.NodeIndex(name) >= 0 || nnet_.ComponentIndex(name) >= 0; ++k)
      name = base + "-" + std::to_string(k);
    return name;
  }

  kaldi::NonlinearComponent Nonlinear(kaldi::NonlinearityType t, int32_t dim) {
    kaldi::NonlinearComponent c;
    c.nonlinearity = t;
    c.dim = dim;
    c.block_dim = dim;
    return c;
  }

  void AddOp(int32_t i) {
    const Op& op = g_.ops[i];
    switch (op.type) {
      case OpType::kInput: {
        kaldi::NnetNode n;
        n.type = kaldi::NodeType::kInput;
        n.name = op.name;
        n.dim = op.output_dim;
        nnet_.nodes.push_back(std::move(n));
        value_of_[i] = op.name;
        return;
      }
      case OpType::kOutput: {
        kaldi::NnetNode n;
        n.type = kaldi::NodeType::kOutput;
        n.name = op.name;
        n.input = Input(op);
        nnet_.nodes.push_back(std::move(n));
        value_of_[i] = op.name;
        return;
      }
      case OpType::kCopy:
        if (op.input.parts.size() == 1 && op.input.parts[0].kind == DescExpr::Kind::kNode) {
          value_of_[i] = value_of_[op.input.parts[0].node];
        } else {
          kaldi::NoOpComponent c;
          c.dim = op.output_dim;
          value_of_[i] = AddComponent(Unique(op.name), c, Input(op));
        }
        return;
      case OpType::kDimRange: {
        kaldi::NnetNode n;
        n.type = kaldi::NodeType::kDimRange;
        n.name = Unique(op.name);
        KQ_CHECK(op.input.parts.size() == 1 && op.input.parts[0].kind == DescExpr::Kind::kNode &&
                     !op.ints.empty(),
                 kUnsupported)
            << "export: dim-range op '" << op.name << "' on a non-node input";
        n.input_node_name = value_of_[op.input.parts[0].node];
        n.dim_offset = op.ints[0];
        n.dim = op.output_dim;
        nnet_.nodes.push_back(std::move(n));
        value_of_[i] = nnet_.nodes.back().name;
        return;
      }
      case OpType::kAffine: {
        kaldi::AffineComponent c;
        c.natural_gradient = true;
        c.linear_params = op.weight;
        c.bias_params = op.bias.empty() ? std::vector<float>(static_cast<size_t>(op.output_dim), 0.0f)
                                        : op.bias;
        std::string node = AddComponent(Unique(op.name), c, Input(op));
        if (op.relu_after) {
          kaldi::Descriptor in;
          in.node_name = node;
          node = AddComponent(Unique(op.name + ".relu"),
                              Nonlinear(kaldi::NonlinearityType::kRectifiedLinear, op.output_dim), in);
        }
        value_of_[i] = node;
        return;
      }
      case OpType::kScaleOffset: {
        kaldi::ScaleAndOffsetComponent c;
        c.dim = op.output_dim;
        c.scales = op.scale.empty() ? std::vector<float>(static_cast<size_t>(op.output_dim), 1.0f) : op.scale;
        c.offsets = op.offset.empty() ? std::vector<float>(static_cast<size_t>(op.output_dim), 0.0f) : op.offset;
        value_of_[i] = AddComponent(Unique(op.name), c, Input(op));
        return;
      }
      case OpType::kRelu:
      case OpType::kSigmoid:
      case OpType::kTanh:
      case OpType::kSoftmax:
      case OpType::kLogSoftmax: {
        kaldi::NonlinearityType t = op.type == OpType::kRelu      ? kaldi::NonlinearityType::kRectifiedLinear
                                    : op.type == OpType::kSigmoid ? kaldi::NonlinearityType::kSigmoid
                                    : op.type == OpType::kTanh    ? kaldi::NonlinearityType::kTanh
                                    : op.type == OpType::kSoftmax ? kaldi::NonlinearityType::kSoftmax
                                                                  : kaldi::NonlinearityType::kLogSoftmax;
        value_of_[i] = AddComponent(Unique(op.name), Nonlinear(t, op.output_dim), Input(op));
        return;
      }
      case OpType::kNormalize: {
        kaldi::NormalizeComponent c;
        c.input_dim = op.input_dim;
        c.block_dim = op.input_dim;
        c.target_rms = op.target_rms;
        c.add_log_stddev = op.add_log_stddev;
        value_of_[i] = AddComponent(Unique(op.name), c, Input(op));
        return;
      }
      case OpType::kElementwiseProduct: {
        kaldi::ElementwiseProductComponent c;
        c.input_dim = op.input_dim;
        c.output_dim = op.output_dim;
        value_of_[i] = AddComponent(Unique(op.name), c, Input(op));
        return;
      }
      case OpType::kSumGroup: {
        kaldi::SumGroupComponent c;
        c.sizes = op.ints;
        value_of_[i] = AddComponent(Unique(op.name), c, Input(op));
        return;
      }
      case OpType::kPermute: {
        kaldi::PermuteComponent c;
        c.column_map = op.ints;
        value_of_[i] = AddComponent(Unique(op.name), c, Input(op));
        return;
      }
      case OpType::kBatchNorm:  // training lowering only (inference lowers to kScaleOffset)
      case OpType::kDropout:
        KQ_THROW(kUnsupported) << "export: op '" << op.name << "' of the training lowering";
    }
  }

  const nnet::Graph& g_;
  std::vector<std::string> value_of_;  // Kaldi node holding op i's value
  kaldi::Nnet nnet_;
};

}  // namespace

kaldi::KaldiModel ExportGraph(const nnet::Graph& graph, bool has_transition_model,
                              const kaldi::TransitionModel& trans_model,
                              const std::vector<float>& priors) {
  kaldi::KaldiModel km;
  km.nnet = Exporter(graph).Run();
  km.has_transition_model = has_transition_model;
  km.trans_model = trans_model;
  km.priors = priors;
  nnet::ExecutableNet net = nnet::Prepare(graph);
  km.left_context = net.left_context;
  km.right_context = net.right_context;
  return km;
}

kaldi::KaldiModel ExportDequantized(const Int8Model& model) {
  return ExportGraph(DequantizedGraph(model), model.has_transition_model, model.trans_model,
                     model.priors);
}

}  // namespace kaldiq::quant
