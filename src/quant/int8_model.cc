#include "quant/int8_model.h"

#include <algorithm>
#include <cstdio>
#include <functional>
#include <cstring>
#include <fstream>

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
  m.lowering = Int8Lowering::For(plan.scheme);
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
  std::ifstream f(path, std::ios::binary | std::ios::ate);
  KQ_CHECK(f.good(), kIo) << "cannot open int8 model '" << path << "'";
  // One read into a buffer of the file's size (the model can be tens of megabytes).
  std::string bytes(static_cast<size_t>(f.tellg()), '\0');
  f.seekg(0);
  f.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  KQ_CHECK(f.gcount() == static_cast<std::streamsize>(bytes.size()), kIo)
      << "cannot read int8 model '" << path << "'";
  try {
    return DeserializeInt8Model(bytes);
  } catch (const Error& e) {
    throw e.WithContext(path);
  }
}

namespace {

// For each op of model.graph, the index of its int8 layer in model.layers, or -1.
std::vector<int32_t> LayerOfOp(const Int8Model& model) {
  std::vector<int32_t> layer_of(model.graph.ops.size(), -1);
  for (size_t l = 0; l < model.layers.size(); ++l)
    layer_of[model.layer_ops[l]] = static_cast<int32_t>(l);
  return layer_of;
}

bool SameGrid(const QParams& a, const QParams& b) {
  return a.scale == b.scale && a.zero_point == b.zero_point && a.qmin == b.qmin &&
         a.qmax == b.qmax && a.wrap == b.wrap;
}

}  // namespace

std::vector<std::optional<QParams>> OutputGrids(const Int8Model& model) {
  const Graph& g = model.graph;
  const int32_t n = static_cast<int32_t>(g.ops.size());
  const std::vector<int32_t> layer_of = LayerOfOp(model);
  std::vector<std::vector<int32_t>> consumers(static_cast<size_t>(n));
  for (int32_t i = 0; i < n; ++i) {
    std::vector<int32_t> named;
    for (const nnet::DescExpr& p : g.ops[i].input.parts) nnet::CollectOps(p, &named);
    std::sort(named.begin(), named.end());
    named.erase(std::unique(named.begin(), named.end()), named.end());
    for (int32_t src : named) {
      // DeserializeInt8Model validates the graph (descriptors name earlier ops only).
      KQ_CHECK(src >= 0 && src < i, kInternal)
          << "int8 graph: op '" << g.ops[i].name << "' reads op " << src;
      consumers[src].push_back(i);
    }
  }
  auto selection = [&](const Op& op) {
    for (const nnet::DescExpr& p : op.input.parts)
      if (!nnet::IsRowSelection(p)) return false;
    return true;
  };
  // Copies / dim-ranges of one op through row selection: the planner aliases them, so they hold
  // whatever their source holds.
  auto is_alias = [&](const Op& op) {
    return (op.type == OpType::kCopy || op.type == OpType::kDimRange) &&
           op.input.parts.size() == 1 && nnet::IsRowSelection(op.input.parts[0]);
  };
  auto takes_u8 = [&](int32_t c) {
    int32_t l = layer_of[c];
    if (l < 0) return false;
    const QuantizedAffine& q = model.layers[l];
    return q.act_range == RangeMode::kStatic && !q.act_spec.is_signed && !q.act.wrap &&
           selection(g.ops[c]);
  };
  // Walks the consumers of `op` (through aliases). Int8 layers taking u8 must share one grid
  // (*grid). Other consumers are allowed only when `float_ok` and they are float ops other than
  // the output and fp32 affine layers (they dequantize while gathering). *u8_consumers counts
  // the int8 layers.
  std::function<bool(int32_t, bool, std::optional<QParams>*, int*)> walk =
      [&](int32_t op, bool float_ok, std::optional<QParams>* grid, int* u8_consumers) {
        for (int32_t c : consumers[op]) {
          const Op& cop = g.ops[c];
          if (is_alias(cop)) {
            if (!walk(c, float_ok, grid, u8_consumers)) return false;
            continue;
          }
          if (takes_u8(c)) {
            const QParams& p = model.layers[layer_of[c]].act;
            if (*grid && !SameGrid(**grid, p)) return false;
            *grid = p;
            ++*u8_consumers;
            continue;
          }
          if (!float_ok || cop.type == OpType::kOutput || cop.type == OpType::kAffine)
            return false;
        }
        return true;
      };
  std::vector<std::optional<QParams>> grids(static_cast<size_t>(n));
  for (int32_t i = 0; i < n; ++i) {
    const Op& op = g.ops[i];
    const int32_t l = layer_of[i];
    bool candidate, float_ok;
    if (l >= 0) {
      // An int8 layer: only when every consumer takes u8 (its float output would otherwise be
      // needed at full precision).
      candidate = model.layers[l].act_range == RangeMode::kStatic;
      float_ok = false;
    } else {
      // A float op feeding int8 layers (a TDNN-F bypass sum, a BatchNorm kept float): its
      // output is quantized once onto the layers' grid instead of once per spliced copy; float
      // consumers (the next bypass sum) then read the quantized values.
      candidate = op.type != OpType::kInput && op.type != OpType::kOutput &&
                  op.type != OpType::kAffine && !is_alias(op);
      float_ok = true;
    }
    if (!candidate) continue;
    std::optional<QParams> grid;
    int u8_consumers = 0;
    if (walk(i, float_ok, &grid, &u8_consumers) && u8_consumers > 0) grids[i] = grid;
  }
  return grids;
}

nnet::KernelFactory Int8LayerKernels(const Int8Model& model, const std::string& int8_backend,
                                     std::vector<std::optional<QParams>> grids) {
  std::vector<int32_t> layer_of = LayerOfOp(model);
  grids.resize(model.graph.ops.size());
  return [&model, int8_backend, layer_of = std::move(layer_of), grids = std::move(grids)](
             int32_t index, const Op&) -> std::shared_ptr<const nnet::LinearKernel> {
    const int32_t l = layer_of.at(static_cast<size_t>(index));
    if (l < 0) return nullptr;
    try {
      return MakeInt8LinearKernel(model.layers[l], int8_backend,
                                  grids[index] ? &*grids[index] : nullptr);
    } catch (const Error& e) {
      throw e.WithContext("layer '" + model.layers[l].name + "'");
    }
  };
}

nnet::ExecutableNet MakeInt8Executable(const Int8Model& model,
                                       const kernels::KernelSelection& kernels,
                                       bool integer_pipeline) {
  const std::vector<int32_t> layer_of = LayerOfOp(model);
  std::vector<std::optional<QParams>> grids(model.graph.ops.size());
  if (integer_pipeline) grids = OutputGrids(model);
  nnet::ExecutableNet net =
      nnet::Prepare(model.graph, kernels, Int8LayerKernels(model, kernels.int8, grids));
  net.u8_outputs.resize(model.graph.ops.size());
  for (size_t i = 0; i < grids.size(); ++i) {
    if (layer_of[i] >= 0 || !grids[i]) continue;
    net.u8_outputs[i] = nnet::U8Output{*grids[i]};
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
        LowerForInt8(km.nnet, fp32_model, m.lowering, nullptr);
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
      out->net = MakeInt8Executable(m, options.kernels);
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
