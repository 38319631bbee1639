#include "quant/int8_model.h"

#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "kaldi/nnet3/model_io.h"
#include "quant/calibrate.h"
#include "quant/int8_model_io.h"
#include "util/error.h"

namespace kaldiq::quant {

using nnet::Graph;
using nnet::Op;
using nnet::OpType;

Int8Model BuildInt8Model(Graph folded, const Plan& plan, const std::string& plan_path) {
  Graph graph = EqualizedGraph(std::move(folded), plan, plan_path);
  CheckPlanMatchesGraph(plan, graph, plan_path);
  Int8Model m;
  m.scheme_name = plan.scheme.name;
  m.fold_input_affine = plan.scheme.fold_input_affine;
  m.fold_scales_backward = plan.scheme.weight_per_channel;
  m.folds = plan.folds;
  m.equalize = plan.equalize;
  for (size_t i = 0; i < graph.ops.size(); ++i) {
    Op& op = graph.ops[i];
    if (op.type != OpType::kAffine) continue;
    const LayerPlan* l = plan.Find(op.name);
    if (l->keep_float) continue;
    QuantizedAffine q = QuantizeAffine(op, WeightQParams(*l, plan.scheme.weight), plan.scheme.weight,
                                       plan.scheme.act, plan.scheme.act_range, l->act, l->bias_delta);
    op.weight = MatrixF();
    op.bias.clear();
    m.layer_ops.push_back(static_cast<int32_t>(i));
    m.layers.push_back(std::move(q));
  }
  m.graph = std::move(graph);
  return m;
}

Graph DequantizedGraph(const Int8Model& model) {
  Graph g = model.graph;
  for (size_t i = 0; i < model.layers.size(); ++i) {
    Op& op = g.ops[model.layer_ops[i]];
    op.weight = DequantizedWeights(model.layers[i]);
    op.bias = model.layers[i].bias;
  }
  return g;
}

int64_t FileSize(const std::string& path) {
  std::ifstream f(path, std::ios::binary | std::ios::ate);
  if (!f.good()) return -1;
  return static_cast<int64_t>(f.tellg());
}

bool IsInt8ModelFile(const std::string& path) {
  if (path.empty() || path == "-" || path.back() == '|') return false;
  std::ifstream f(path, std::ios::binary);
  if (!f.good()) return false;
  char magic[sizeof(kInt8Magic)] = {};
  f.read(magic, sizeof(magic));
  return f.gcount() == static_cast<std::streamsize>(sizeof(magic)) &&
         std::memcmp(magic, kInt8Magic, sizeof(magic)) == 0;
}

void WriteInt8Model(const std::string& path, const Int8Model& model) {
  std::string bytes = SerializeInt8Model(model);
  std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary);
    KQ_CHECK(f.good(), kIo) << "cannot write int8 model '" << path << "'";
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    f.close();
    if (f.fail()) {
      std::remove(tmp.c_str());
      KQ_THROW(kIo) << "error writing int8 model '" << tmp << "'";
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    KQ_THROW(kIo) << "cannot rename '" << tmp << "' to '" << path << "'";
  }
}

Int8Model ReadInt8Model(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  KQ_CHECK(f.good(), kIo) << "cannot open int8 model '" << path << "'";
  std::ostringstream ss;
  ss << f.rdbuf();
  try {
    return DeserializeInt8Model(ss.str());
  } catch (const Error& e) {
    throw e.WithContext(path);
  }
}

nnet::ExecutableNet MakeInt8Executable(const Int8Model& model, kernels::Int8Backend backend) {
  // Prepare() validates the graph and builds fp32 kernels, so it gets the dequantized weights;
  // the int8 kernels then replace them and the float copies are released.
  nnet::ExecutableNet net = nnet::Prepare(DequantizedGraph(model));
  for (size_t i = 0; i < model.layers.size(); ++i) {
    int32_t idx = model.layer_ops[i];
    net.kernels[idx] = MakeInt8LinearKernel(model.layers[i], backend);
    net.graph.ops[idx].weight = MatrixF();
  }
  net.priors = model.priors;
  return net;
}

nnet::ExecutableNet LoadComparisonReference(const std::string& fp32_model,
                                            const std::string& int8_model) {
  if (!IsInt8ModelFile(int8_model)) return nnet::LoadModelForInference(fp32_model).net;
  Int8Model m = ReadInt8Model(int8_model);
  kaldi::KaldiModel km = kaldi::ReadKaldiModel(fp32_model);
  try {
    Graph g =
        LowerForInt8(km.nnet, fp32_model, m.fold_input_affine, m.fold_scales_backward, nullptr);
    ApplyEqualization(m.equalize, &g,
                      "int8 model '" + int8_model + "' was not made from this model");
    nnet::ExecutableNet net = nnet::Prepare(std::move(g));
    net.priors = km.priors;
    return net;
  } catch (const Error& e) {
    throw e.WithContext(fp32_model);
  }
}

void RegisterInt8ModelLoader() {
  static bool registered = false;
  if (registered) return;
  registered = true;
  nnet::RegisterModelLoader([](const std::string& path, const nnet::LoadOptions& options,
                               nnet::InferenceModel* out) {
    if (!IsInt8ModelFile(path)) return false;
    Int8Model m = ReadInt8Model(path);
    try {
      out->net = MakeInt8Executable(m, options.kernels == nnet::KernelChoice::kReference
                                           ? kernels::Int8Backend::kReference
                                           : kernels::Int8Backend::kAuto);
    } catch (const Error& e) {
      throw e.WithContext(path);
    }
    out->has_transition_model = m.has_transition_model;
    out->trans_model = std::move(m.trans_model);
    out->format = "kaldiq-int8 (scheme " + m.scheme_name + ")";
    return true;
  });
}

}  // namespace kaldiq::quant
