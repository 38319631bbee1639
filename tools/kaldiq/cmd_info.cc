// kaldiq info = Kaldi's nnet3-am-info (for final.mdl) / nnet3-info (for .raw nnets): dims,
// context, modulus, priors, the config graph with dims, and one line per component with its
// type, dims and parameter count. Other registered model formats (the int8 file) get a summary
// of their lowered graph.
#include <algorithm>
#include <cstdio>
#include <numeric>
#include <sstream>
#include <string>

#include "cli.h"
#include "commands.h"
#include "kaldi/nnet3/context.h"
#include "kaldi/nnet3/model_io.h"
#include "nnet/load_model.h"
#include "util/error.h"

namespace kaldiq::cli {

namespace {

using kaldi::Component;
using kaldi::Nnet;
using kaldi::NodeType;

std::string ComponentInfo(const Component& c) {
  std::ostringstream os;
  os << c.TypeName() << ", input-dim=" << c.InputDim() << ", output-dim=" << c.OutputDim();
  if (auto* t = c.As<kaldi::TdnnComponent>()) {
    os << ", time-offsets=";
    for (size_t i = 0; i < t->time_offsets.size(); ++i)
      os << (i ? "," : "") << t->time_offsets[i];
    if (t->bias_params.empty()) os << ", bias=none";
  }
  if (auto* b = c.As<kaldi::BatchNormComponent>()) {
    os << ", block-dim=" << b->block_dim << ", epsilon=" << b->epsilon
       << ", target-rms=" << b->target_rms << ", count=" << b->count
       << ", test-mode=" << (b->test_mode ? "true" : "false");
  }
  if (auto* n = c.As<kaldi::NormalizeComponent>()) {
    os << ", target-rms=" << n->target_rms
       << ", add-log-stddev=" << (n->add_log_stddev ? "true" : "false");
  }
  if (auto* d = c.As<kaldi::DropoutComponent>())
    os << ", dropout-proportion=" << d->dropout_proportion;
  if (c.NumParameters() > 0) os << ", num-parameters=" << c.NumParameters();
  return os.str();
}

std::string NnetInfo(const Nnet& nnet) {
  std::ostringstream os;
  kaldi::NnetContext ctx = kaldi::ComputeContext(nnet);
  os << "left-context: " << ctx.left_context << "\n";
  os << "right-context: " << ctx.right_context << "\n";
  os << "num-parameters: " << nnet.NumParameters() << "\n";
  os << "modulus: " << ctx.modulus << "\n";
  for (size_t n = 0; n < nnet.nodes.size(); ++n) {
    const kaldi::NnetNode& node = nnet.nodes[n];
    switch (node.type) {
      case NodeType::kInput:
        os << "input-node name=" << node.name << " dim=" << node.dim;
        break;
      case NodeType::kComponent: {
        const Component& c = nnet.components[node.component_index];
        os << "component-node name=" << node.name << " component=" << node.component_name
           << " input=" << kaldi::DescriptorToString(node.input) << " input-dim=" << c.InputDim()
           << " output-dim=" << c.OutputDim();
        break;
      }
      case NodeType::kOutput:
        os << "output-node name=" << node.name << " input=" << kaldi::DescriptorToString(node.input)
           << " dim=" << nnet.NodeDim(static_cast<int32_t>(n)) << " objective=" << node.objective;
        break;
      case NodeType::kDimRange:
        os << "dim-range-node name=" << node.name << " input-node=" << node.input_node_name
           << " dim-offset=" << node.dim_offset << " dim=" << node.dim;
        break;
    }
    os << "\n";
  }
  for (const Component& c : nnet.components)
    os << "component name=" << c.name << " type=" << ComponentInfo(c) << "\n";
  return os.str();
}

std::string ModelInfo(const kaldi::KaldiModel& m) {
  std::ostringstream os;
  const Nnet& nnet = m.nnet;
  if (m.has_transition_model) {
    // nnet3-am-info layout.
    os << "input-dim: " << nnet.InputDim("input") << "\n";
    os << "ivector-dim: " << nnet.InputDim("ivector") << "\n";
    os << "num-pdfs: " << nnet.OutputDim("output") << "\n";
    os << "prior-dimension: " << m.priors.size() << "\n";
    if (!m.priors.empty()) {
      os << "prior-sum: " << std::accumulate(m.priors.begin(), m.priors.end(), 0.0) << "\n";
      os << "prior-min: " << *std::min_element(m.priors.begin(), m.priors.end()) << "\n";
      os << "prior-max: " << *std::max_element(m.priors.begin(), m.priors.end()) << "\n";
    }
    const kaldi::TransitionModel& tm = m.trans_model;
    os << "transition-model: num-phones=" << tm.NumPhones()
       << " num-transition-ids=" << tm.NumTransitionIds() << " num-pdfs=" << tm.NumPdfs()
       << "\n";
    os << "stored-left-context: " << m.left_context << "\n";
    os << "stored-right-context: " << m.right_context << "\n";
  } else {
    // nnet3-info layout (NnetInfo).
    kaldi::NnetContext ctx = kaldi::ComputeContext(nnet);
    os << "left-context: " << ctx.left_context << "\n";
    os << "right-context: " << ctx.right_context << "\n";
    os << "input-dim: " << nnet.InputDim("input") << "\n";
    os << "ivector-dim: " << nnet.InputDim("ivector") << "\n";
    os << "output-dim: " << nnet.OutputDim("output") << "\n";
  }
  os << "# Nnet info follows.\n";
  os << NnetInfo(nnet);
  return os.str();
}

// Models in other formats (the kaldiq int8 file, via the loaders registered in main.cc): a
// summary of the lowered graph.
std::string InferenceModelInfo(const nnet::InferenceModel& m) {
  std::ostringstream os;
  const nnet::Graph& g = m.net.graph;
  os << "format: " << m.format << "\n";
  os << "input-dim: " << g.InputDim("input") << "\n";
  os << "ivector-dim: " << g.InputDim("ivector") << "\n";
  os << "num-pdfs: " << g.OutputDim() << "\n";
  os << "prior-dimension: " << m.net.priors.size() << "\n";
  if (m.has_transition_model) {
    os << "transition-model: num-phones=" << m.trans_model.NumPhones()
       << " num-transition-ids=" << m.trans_model.NumTransitionIds()
       << " num-pdfs=" << m.trans_model.NumPdfs() << "\n";
  }
  os << "left-context: " << m.net.left_context << "\n";
  os << "right-context: " << m.net.right_context << "\n";
  // Affine weights (int8 layers keep theirs inside the kernel) plus biases and scales.
  int64_t params = 0;
  for (size_t i = 0; i < g.ops.size(); ++i) {
    const nnet::Op& op = g.ops[i];
    params += op.type == nnet::OpType::kAffine ? int64_t(op.input_dim) * op.output_dim : 0;
    params += int64_t(op.bias.size() + op.scale.size() + op.offset.size());
  }
  os << "num-parameters: " << params << "\n";
  for (size_t i = 0; i < g.ops.size(); ++i) {
    const nnet::Op& op = g.ops[i];
    os << "op name=" << op.name << " type=" << nnet::OpTypeName(op.type)
       << " input-dim=" << op.input_dim << " output-dim=" << op.output_dim;
    if (!op.component.empty()) os << " component=" << op.component;
    if (op.weight.size() > 0) os << " weight=" << op.weight.rows() << "x" << op.weight.cols();
    if (op.relu_after) os << " relu";
    if (i < m.net.kernels.size() && m.net.kernels[i])
      os << " kernel=\"" << m.net.kernels[i]->Describe() << "\"";
    os << "\n";
  }
  return os.str();
}

}  // namespace

int RunInfo(int argc, char** argv) {
  CLI::App app;
  std::string model;
  ConfigureApp(app,
               "Print information about a Kaldi nnet3 model, like nnet3-am-info (final.mdl) or "
               "nnet3-info (.raw): dims, left/right context, modulus, number of pdfs, priors, "
               "the network graph and every component with its parameter count.\n"
               "Usage: kaldiq info [options] <model-in>\n"
               "e.g.: kaldiq info exp/chain/tdnn/final.mdl");
  std::string kernels = "auto";
  AddKernelsOption(app, &kernels);
  app.add_option("model-in", model, "Kaldi model (final.mdl or .raw; '-' for stdin)")->required();
  return RunGuarded("info", app, argc, argv, [&]() -> int {
    std::string info;
    try {
      info = ModelInfo(kaldi::ReadKaldiModel(model));
    } catch (const Error& e) {
      // Not a Kaldi model: another registered format (int8) may know it; if none does, the
      // loader rethrows the Kaldi reader's error naming the file.
      if (std::string(e.what()).find("not a Kaldi nnet3 model") == std::string::npos) throw;
      nnet::LoadOptions load;
      load.kernels = ParseKernels(kernels);
      info = InferenceModelInfo(nnet::LoadModelForInference(model, load));
    }
    std::fwrite(info.data(), 1, info.size(), stdout);
    return 0;
  });
}

}  // namespace kaldiq::cli
