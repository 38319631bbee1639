// Component metadata (type names, dims, parameter counts), the component read/write dispatcher,
// and the Nnet graph helpers.
#include <numeric>
#include <unordered_map>
#include <unordered_set>

#include "kaldi/nnet3/components_internal.h"
#include "kaldi/nnet3/model_io.h"
#include "util/error.h"

namespace kaldiq::kaldi {

namespace internal {

void UnexpectedToken(std::istream& is, const std::string& expected, const std::string& got) {
  KQ_THROW(kFormat) << "expected " << expected << ", got '" << QuoteBytes(got) << "' " << DescribePosition(is);
}

void ReadUpdatableCommon(std::istream& is, bool binary, UpdatableCommon* c) {
  std::string tok = ReadToken(is, binary);
  if (tok == "<LearningRateFactor>") {
    c->learning_rate_factor = ReadFloat(is, binary);
    tok = ReadToken(is, binary);
  }
  if (tok == "<IsGradient>") {
    c->is_gradient = ReadBool(is, binary);
    tok = ReadToken(is, binary);
  }
  if (tok == "<MaxChange>") {
    c->max_change = ReadFloat(is, binary);
    tok = ReadToken(is, binary);
  }
  if (tok == "<L2Regularize>") {
    c->l2_regularize = ReadFloat(is, binary);
    tok = ReadToken(is, binary);
  }
  if (tok != "<LearningRate>") UnexpectedToken(is, "<LearningRate>", tok);
  c->learning_rate = ReadFloat(is, binary);
}

void WriteUpdatableCommon(std::ostream& os, bool binary, const std::string& type,
                          const UpdatableCommon& c) {
  WriteToken(os, binary, "<" + type + ">");
  if (c.learning_rate_factor != 1.0f)
    WriteTokenFloat(os, binary, "<LearningRateFactor>", c.learning_rate_factor);
  if (c.is_gradient) WriteTokenBool(os, binary, "<IsGradient>", true);
  if (c.max_change > 0.0f) WriteTokenFloat(os, binary, "<MaxChange>", c.max_change);
  if (c.l2_regularize > 0.0f) WriteTokenFloat(os, binary, "<L2Regularize>", c.l2_regularize);
  WriteTokenFloat(os, binary, "<LearningRate>", c.learning_rate);
}

}  // namespace internal

Component ReadComponent(std::istream& is, bool binary, const std::string& name) {
  Component c;
  c.name = name;
  std::string open = ReadToken(is, binary);
  if (open.size() < 3 || open.front() != '<' || open.back() != '>' || open[1] == '/')
    KQ_THROW(kFormat) << "component '" << QuoteBytes(name) << "': expected a component type token like "
                      << "<AffineComponent>, got '" << QuoteBytes(open) << "' " << DescribePosition(is);
  const std::string type = open.substr(1, open.size() - 2);
  try {
    if (!internal::ReadAffineFamily(type, is, binary, &c.params) &&
        !internal::ReadSimpleFamily(type, is, binary, &c.params) &&
        !internal::ReadNormalizeFamily(type, is, binary, &c.params)) {
      KQ_THROW(kUnsupported) << "unsupported component type " << open;
    }
  } catch (const Error& e) {
    throw e.WithContext("component '" + name + "' (" + type + ")");
  }
  return c;
}

void WriteComponent(std::ostream& os, bool binary, const Component& c) {
  if (!internal::WriteAffineFamily(os, binary, c.params) &&
      !internal::WriteSimpleFamily(os, binary, c.params) &&
      !internal::WriteNormalizeFamily(os, binary, c.params)) {
    KQ_THROW(kInternal) << "component '" << c.name << "': no writer";
  }
}

namespace {
template <class... Ts>
struct Overload : Ts... {
  using Ts::operator()...;
};
template <class... Ts>
Overload(Ts...) -> Overload<Ts...>;

int32_t Size(const std::vector<float>& v) { return static_cast<int32_t>(v.size()); }
}  // namespace

std::string Component::TypeName() const {
  return std::visit(
      Overload{
          [](const AffineComponent& c) -> std::string {
            return c.natural_gradient ? "NaturalGradientAffineComponent" : "AffineComponent";
          },
          [](const FixedAffineComponent&) -> std::string { return "FixedAffineComponent"; },
          [](const LinearComponent&) -> std::string { return "LinearComponent"; },
          [](const TdnnComponent&) -> std::string { return "TdnnComponent"; },
          [](const NonlinearComponent& c) -> std::string {
            switch (c.nonlinearity) {
              case NonlinearityType::kRectifiedLinear: return "RectifiedLinearComponent";
              case NonlinearityType::kSigmoid: return "SigmoidComponent";
              case NonlinearityType::kTanh: return "TanhComponent";
              case NonlinearityType::kSoftmax: return "SoftmaxComponent";
              case NonlinearityType::kLogSoftmax: return "LogSoftmaxComponent";
            }
            return "?";
          },
          [](const BatchNormComponent&) -> std::string { return "BatchNormComponent"; },
          [](const NormalizeComponent&) -> std::string { return "NormalizeComponent"; },
          [](const DropoutComponent&) -> std::string { return "DropoutComponent"; },
          [](const GeneralDropoutComponent&) -> std::string { return "GeneralDropoutComponent"; },
          [](const SpecAugmentTimeMaskComponent&) -> std::string {
            return "SpecAugmentTimeMaskComponent";
          },
          [](const NoOpComponent&) -> std::string { return "NoOpComponent"; },
          [](const ScaleAndOffsetComponent&) -> std::string { return "ScaleAndOffsetComponent"; },
          [](const PerElementScaleComponent& c) -> std::string {
            return c.natural_gradient ? "NaturalGradientPerElementScaleComponent"
                                      : "PerElementScaleComponent";
          },
          [](const PerElementOffsetComponent&) -> std::string {
            return "PerElementOffsetComponent";
          },
          [](const FixedScaleComponent&) -> std::string { return "FixedScaleComponent"; },
          [](const FixedBiasComponent&) -> std::string { return "FixedBiasComponent"; },
          [](const SumGroupComponent&) -> std::string { return "SumGroupComponent"; },
          [](const ElementwiseProductComponent&) -> std::string {
            return "ElementwiseProductComponent";
          },
          [](const PermuteComponent&) -> std::string { return "PermuteComponent"; },
          [](const TimeHeightConvolutionComponent&) -> std::string {
            return "TimeHeightConvolutionComponent";
          },
      },
      params);
}

int32_t Component::InputDim() const {
  return std::visit(
      Overload{
          [](const AffineComponent& c) { return int32_t(c.linear_params.cols()); },
          [](const FixedAffineComponent& c) { return int32_t(c.linear_params.cols()); },
          [](const LinearComponent& c) { return int32_t(c.params.cols()); },
          [](const TdnnComponent& c) {
            return c.time_offsets.empty()
                       ? 0
                       : int32_t(c.linear_params.cols() / int64_t(c.time_offsets.size()));
          },
          [](const NonlinearComponent& c) { return c.dim; },
          [](const BatchNormComponent& c) { return c.dim; },
          [](const NormalizeComponent& c) { return c.input_dim; },
          [](const DropoutComponent& c) { return c.dim; },
          [](const GeneralDropoutComponent& c) { return c.dim; },
          [](const SpecAugmentTimeMaskComponent& c) { return c.dim; },
          [](const NoOpComponent& c) { return c.dim; },
          [](const ScaleAndOffsetComponent& c) { return c.dim; },
          [](const PerElementScaleComponent& c) { return Size(c.params); },
          [](const PerElementOffsetComponent& c) { return c.dim; },
          [](const FixedScaleComponent& c) { return Size(c.scales); },
          [](const FixedBiasComponent& c) { return Size(c.bias); },
          [](const SumGroupComponent& c) {
            return std::accumulate(c.sizes.begin(), c.sizes.end(), int32_t(0));
          },
          [](const ElementwiseProductComponent& c) { return c.input_dim; },
          [](const PermuteComponent& c) { return int32_t(c.column_map.size()); },
          [](const TimeHeightConvolutionComponent& c) {
            return c.model.num_filters_in * c.model.height_in;
          },
      },
      params);
}

int32_t Component::OutputDim() const {
  return std::visit(
      Overload{
          [](const AffineComponent& c) { return int32_t(c.linear_params.rows()); },
          [](const FixedAffineComponent& c) { return int32_t(c.linear_params.rows()); },
          [](const LinearComponent& c) { return int32_t(c.params.rows()); },
          [](const TdnnComponent& c) { return int32_t(c.linear_params.rows()); },
          [](const NormalizeComponent& c) {
            return c.input_dim + (c.add_log_stddev ? c.input_dim / c.block_dim : 0);
          },
          [](const SumGroupComponent& c) { return int32_t(c.sizes.size()); },
          [](const ElementwiseProductComponent& c) { return c.output_dim; },
          [](const TimeHeightConvolutionComponent& c) {
            return c.model.num_filters_out * c.model.height_out;
          },
          [this](const auto&) { return InputDim(); },
      },
      params);
}

int64_t Component::NumParameters() const {
  return std::visit(
      Overload{
          [](const AffineComponent& c) {
            return c.linear_params.size() + int64_t(c.bias_params.size());
          },
          [](const LinearComponent& c) { return c.params.size(); },
          [](const TdnnComponent& c) {
            return c.linear_params.size() + int64_t(c.bias_params.size());
          },
          [](const TimeHeightConvolutionComponent& c) {
            return c.linear_params.size() + int64_t(c.bias_params.size());
          },
          [](const ScaleAndOffsetComponent& c) { return int64_t(2 * c.scales.size()); },
          [](const PerElementScaleComponent& c) { return int64_t(c.params.size()); },
          [](const PerElementOffsetComponent& c) { return int64_t(c.offsets.size()); },
          [](const auto&) { return int64_t(0); },
      },
      params);
}

// ------------------------------------------------------------------------------------------
// Nnet
// ------------------------------------------------------------------------------------------

int32_t Nnet::NodeIndex(const std::string& name) const {
  for (size_t i = 0; i < nodes.size(); ++i)
    if (nodes[i].name == name) return static_cast<int32_t>(i);
  return -1;
}

int32_t Nnet::ComponentIndex(const std::string& name) const {
  for (size_t i = 0; i < components.size(); ++i)
    if (components[i].name == name) return static_cast<int32_t>(i);
  return -1;
}

int32_t Nnet::NodeDim(int32_t n) const {
  KQ_CHECK(n >= 0 && static_cast<size_t>(n) < nodes.size(), kInvalidArgument)
      << "bad node index " << n;
  const NnetNode& node = nodes[n];
  switch (node.type) {
    case NodeType::kInput:
    case NodeType::kDimRange:
      return node.dim;
    case NodeType::kComponent: {
      int32_t c = node.component_index >= 0 ? node.component_index
                                            : ComponentIndex(node.component_name);
      KQ_CHECK(c >= 0 && static_cast<size_t>(c) < components.size(), kFormat)
          << "node '" << node.name << "': unknown component '" << node.component_name << "'";
      return components[c].OutputDim();
    }
    case NodeType::kOutput:
      return DescriptorDim(node.input);
  }
  return 0;
}

int32_t Nnet::DescriptorDim(const Descriptor& d) const {
  switch (d.type) {
    case DescriptorType::kNode: {
      int32_t n = d.node_index >= 0 ? d.node_index : NodeIndex(d.node_name);
      KQ_CHECK(n >= 0, kFormat) << "descriptor refers to unknown node '" << d.node_name << "'";
      return NodeDim(n);
    }
    case DescriptorType::kConst:
      return d.const_dim;
    case DescriptorType::kAppend: {
      int32_t sum = 0;
      for (const auto& a : d.args) sum += DescriptorDim(a);
      return sum;
    }
    case DescriptorType::kSum:
    case DescriptorType::kFailover:
    case DescriptorType::kSwitch: {
      int32_t dim = DescriptorDim(d.args.at(0));
      for (const auto& a : d.args)
        KQ_CHECK(DescriptorDim(a) == dim, kFormat)
            << "dimension mismatch inside " << DescriptorToString(d);
      return dim;
    }
    default:
      return DescriptorDim(d.args.at(0));
  }
}

int32_t Nnet::InputDim(const std::string& name) const {
  int32_t n = NodeIndex(name);
  return n >= 0 && nodes[n].type == NodeType::kInput ? nodes[n].dim : -1;
}

int32_t Nnet::OutputDim(const std::string& name) const {
  int32_t n = NodeIndex(name);
  return n >= 0 && nodes[n].type == NodeType::kOutput ? NodeDim(n) : -1;
}

int64_t Nnet::NumParameters() const {
  int64_t total = 0;
  for (const auto& c : components) total += c.NumParameters();
  return total;
}

namespace {
void Resolve(const Nnet& nnet, const std::string& owner, Descriptor* d) {
  if (d->type == DescriptorType::kNode) {
    d->node_index = nnet.NodeIndex(d->node_name);
    KQ_CHECK(d->node_index >= 0, kFormat)
        << "node '" << owner << "': input refers to unknown node '" << d->node_name << "'";
    KQ_CHECK(nnet.nodes[d->node_index].type != NodeType::kOutput, kFormat)
        << "node '" << owner << "': input refers to output node '" << d->node_name << "'";
  }
  for (auto& a : d->args) Resolve(nnet, owner, &a);
}
}  // namespace

void Nnet::Check() {
  std::unordered_set<std::string> names;
  for (const auto& n : nodes)
    KQ_CHECK(names.insert(n.name).second, kFormat) << "duplicate node name '" << n.name << "'";
  names.clear();
  for (const auto& c : components)
    KQ_CHECK(names.insert(c.name).second, kFormat)
        << "duplicate component name '" << c.name << "'";
  for (auto& node : nodes) {
    if (node.type == NodeType::kComponent) {
      node.component_index = ComponentIndex(node.component_name);
      KQ_CHECK(node.component_index >= 0, kFormat)
          << "node '" << node.name << "': unknown component '" << node.component_name << "'";
    }
    if (node.type == NodeType::kComponent || node.type == NodeType::kOutput)
      Resolve(*this, node.name, &node.input);
    if (node.type == NodeType::kDimRange) {
      node.input_node_index = NodeIndex(node.input_node_name);
      KQ_CHECK(node.input_node_index >= 0, kFormat)
          << "dim-range node '" << node.name << "': unknown input node '"
          << node.input_node_name << "'";
    }
    if (node.type == NodeType::kInput) {
      KQ_CHECK(node.dim > 0, kFormat) << "input node '" << node.name << "' has dim " << node.dim;
    }
  }
  for (const auto& node : nodes) {
    try {
      if (node.type == NodeType::kComponent) {
        const Component& c = components[node.component_index];
        int32_t in = DescriptorDim(node.input);
        KQ_CHECK(in == c.InputDim(), kFormat)
            << "input dim " << in << " does not match component '" << c.name << "' ("
            << c.TypeName() << ") input dim " << c.InputDim();
      } else if (node.type == NodeType::kDimRange) {
        int32_t in = NodeDim(node.input_node_index);
        KQ_CHECK(node.dim > 0 && node.dim_offset >= 0 && node.dim_offset + node.dim <= in,
                 kFormat)
            << "dim range [" << node.dim_offset << ", " << node.dim_offset + node.dim
            << ") outside input dim " << in;
      } else if (node.type == NodeType::kOutput) {
        DescriptorDim(node.input);
      }
    } catch (const Error& e) {
      throw e.WithContext("node '" + node.name + "'");
    }
  }
}

}  // namespace kaldiq::kaldi
