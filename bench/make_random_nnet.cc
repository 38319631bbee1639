// kq_make_random_nnet: a random-weight Kaldi nnet3 model (.raw) of the shape a Kaldi config
// describes (the final.config that xconfig_to_configs.py writes), made with kaldiq's own nnet3
// writer, for benchmarks of network shapes whose trained weights are not at hand
// (../shared/fixtures/perf/tdnnf17-shape). Like Kaldi's nnet3-init: weights N(0, 1/fan-in),
// biases N(0, 1); a FixedAffineComponent (the LDA, whose matrix file is not there) becomes a
// random square matrix. Then, as the fixtures' random models were made, every BatchNorm gets
// statistics — here the real mean and variance of its input on the given features, layer by
// layer (count 1000), so activations stay normalised through any depth — and the output layer is
// scaled so that the outputs lie within ±20. Optionally writes one random i-vector per utterance.
//
// Usage: kq_make_random_nnet [--seed=N] [--ivectors-out=ark:iv.ark] <final.config>
//          <features-rspecifier> <nnet-out.raw>
// Component types: FixedAffine, NaturalGradientAffine / Affine, Tdnn, Linear, RectifiedLinear,
// LogSoftmax, BatchNorm, GeneralDropout, Dropout, NoOp; anything else is an error.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "kaldi/nnet3/model_io.h"
#include "kaldi/table.h"
#include "nnet/executor.h"
#include "nnet/lower.h"
#include "util/error.h"

namespace kaldiq {
namespace {

using Config = std::map<std::string, std::string>;

// "type key=value key=value ..." where a value runs to the next " key=" (descriptors have spaces).
std::string SplitLine(const std::string& line, Config* kv) {
  std::istringstream is(line);
  std::string type;
  is >> type;
  std::vector<std::pair<size_t, size_t>> keys;  // [key begin, '=' position)
  for (size_t p = type.size(); p < line.size(); ++p) {
    if (line[p] != ' ' && line[p] != '\t') continue;
    size_t q = p + 1;
    while (q < line.size() && (std::isalnum(static_cast<unsigned char>(line[q])) || line[q] == '-' ||
                               line[q] == '_' || line[q] == '.'))
      ++q;
    if (q > p + 1 && q < line.size() && line[q] == '=') keys.emplace_back(p + 1, q);
  }
  for (size_t k = 0; k < keys.size(); ++k) {
    size_t end = k + 1 < keys.size() ? keys[k + 1].first : line.size();
    std::string v = line.substr(keys[k].second + 1, end - keys[k].second - 1);
    while (!v.empty() && std::isspace(static_cast<unsigned char>(v.back()))) v.pop_back();
    (*kv)[line.substr(keys[k].first, keys[k].second - keys[k].first)] = v;
  }
  return type;
}

int32_t Int(const Config& kv, const std::string& key, int32_t def = -1) {
  auto it = kv.find(key);
  if (it == kv.end()) {
    KQ_CHECK(def >= 0, kFormat) << "missing " << key << "=";
    return def;
  }
  return std::stoi(it->second);
}

float Float(const Config& kv, const std::string& key, float def) {
  auto it = kv.find(key);
  return it == kv.end() ? def : std::stof(it->second);
}

MatrixF Gaussian(int32_t rows, int32_t cols, float stddev, std::mt19937* rng) {
  MatrixF m(rows, cols);
  std::normal_distribution<float> d(0.0f, stddev);
  for (int64_t i = 0; i < m.size(); ++i) m.data()[i] = d(*rng);
  return m;
}

std::vector<float> GaussianVec(int32_t n, float stddev, std::mt19937* rng) {
  std::vector<float> v(static_cast<size_t>(n));
  std::normal_distribution<float> d(0.0f, stddev);
  for (float& x : v) x = stddev > 0.0f ? d(*rng) : 0.0f;
  return v;
}

// A component from its config line; FixedAffine gets its dims later (input_dim = 0 here).
kaldi::Component MakeComponent(const std::string& name, const Config& kv, std::mt19937* rng) {
  kaldi::Component c;
  c.name = name;
  const std::string type = kv.at("type");
  if (type == "NaturalGradientAffineComponent" || type == "AffineComponent") {
    kaldi::AffineComponent a;
    a.natural_gradient = type == "NaturalGradientAffineComponent";
    const int32_t in = Int(kv, "input-dim"), out = Int(kv, "output-dim");
    a.linear_params = Gaussian(out, in, 1.0f / std::sqrt(float(in)), rng);
    a.bias_params = GaussianVec(out, 1.0f, rng);
    c.params = std::move(a);
  } else if (type == "TdnnComponent") {
    kaldi::TdnnComponent t;
    std::istringstream offs(kv.at("time-offsets"));
    for (std::string o; std::getline(offs, o, ',');) t.time_offsets.push_back(std::stoi(o));
    const int32_t in = Int(kv, "input-dim"), out = Int(kv, "output-dim");
    const int32_t k = in * static_cast<int32_t>(t.time_offsets.size());
    t.linear_params = Gaussian(out, k, 1.0f / std::sqrt(float(k)), rng);
    auto ub = kv.find("use-bias");
    if (ub == kv.end() || ub->second == "true") t.bias_params = GaussianVec(out, 1.0f, rng);
    c.params = std::move(t);
  } else if (type == "LinearComponent") {
    kaldi::LinearComponent l;
    const int32_t in = Int(kv, "input-dim"), out = Int(kv, "output-dim");
    l.params = Gaussian(out, in, 1.0f / std::sqrt(float(in)), rng);
    c.params = std::move(l);
  } else if (type == "FixedAffineComponent") {
    c.params = kaldi::FixedAffineComponent();
  } else if (type == "RectifiedLinearComponent" || type == "LogSoftmaxComponent") {
    kaldi::NonlinearComponent n;
    n.nonlinearity = type == "LogSoftmaxComponent" ? kaldi::NonlinearityType::kLogSoftmax
                                                   : kaldi::NonlinearityType::kRectifiedLinear;
    n.dim = n.block_dim = Int(kv, "dim");
    c.params = n;
  } else if (type == "BatchNormComponent") {
    kaldi::BatchNormComponent b;
    b.dim = b.block_dim = Int(kv, "dim");
    b.target_rms = Float(kv, "target-rms", 1.0f);
    b.count = 1000.0;  // statistics set by Calibrate()
    b.stats_mean.assign(static_cast<size_t>(b.dim), 0.0f);
    b.stats_var.assign(static_cast<size_t>(b.dim), 1.0f);
    c.params = b;
  } else if (type == "GeneralDropoutComponent") {
    kaldi::GeneralDropoutComponent g;
    g.dim = g.block_dim = Int(kv, "dim");
    g.dropout_proportion = Float(kv, "dropout-proportion", 0.5f);
    g.continuous = kv.count("continuous") && kv.at("continuous") == "true";
    c.params = g;
  } else if (type == "DropoutComponent") {
    kaldi::DropoutComponent d;
    d.dim = Int(kv, "dim");
    d.dropout_proportion = Float(kv, "dropout-proportion", 0.5f);
    c.params = d;
  } else if (type == "NoOpComponent") {
    kaldi::NoOpComponent n;
    n.dim = Int(kv, "dim");
    c.params = n;
  } else {
    KQ_THROW(kUnsupported) << "component '" << name << "': type " << type
                           << " is not supported by kq_make_random_nnet";
  }
  return c;
}

// Output dimension of a descriptor, given the dims of the nodes seen so far.
int32_t DescriptorDim(const kaldi::Descriptor& d, const std::map<std::string, int32_t>& dims) {
  using T = kaldi::DescriptorType;
  switch (d.type) {
    case T::kNode: {
      auto it = dims.find(d.node_name);
      KQ_CHECK(it != dims.end(), kFormat) << "node '" << d.node_name << "' used before defined";
      return it->second;
    }
    case T::kAppend: {
      int32_t s = 0;
      for (const auto& a : d.args) s += DescriptorDim(a, dims);
      return s;
    }
    case T::kConst: return d.const_dim;
    default: return DescriptorDim(d.args.at(0), dims);
  }
}

kaldi::Nnet BuildNnet(const std::string& config, std::mt19937* rng) {
  std::ifstream f(config);
  KQ_CHECK(f.good(), kIo) << "cannot read '" << config << "'";
  kaldi::Nnet nnet;
  std::map<std::string, int32_t> dims;
  std::string line;
  while (std::getline(f, line)) {
    if (line.find('#') != std::string::npos) line.resize(line.find('#'));
    Config kv;
    const std::string type = SplitLine(line, &kv);
    if (type.empty()) continue;
    const std::string name = kv.at("name");
    if (type == "component") {
      nnet.components.push_back(MakeComponent(name, kv, rng));
      continue;
    }
    kaldi::NnetNode node;
    node.name = name;
    if (type == "input-node") {
      node.type = kaldi::NodeType::kInput;
      node.dim = Int(kv, "dim");
      dims[name] = node.dim;
    } else if (type == "component-node" || type == "output-node") {
      node.input = kaldi::ParseDescriptor(kv.at("input"));
      const int32_t in = DescriptorDim(node.input, dims);
      if (type == "output-node") {
        node.type = kaldi::NodeType::kOutput;
        if (kv.count("objective")) node.objective = kv.at("objective");
      } else {
        node.type = kaldi::NodeType::kComponent;
        node.component_name = kv.at("component");
        const int32_t ci = nnet.ComponentIndex(node.component_name);
        KQ_CHECK(ci >= 0, kFormat) << "component '" << node.component_name << "' not defined";
        kaldi::Component& c = nnet.components[ci];
        if (auto* fa = c.As<kaldi::FixedAffineComponent>(); fa && fa->linear_params.rows() == 0) {
          fa->linear_params = Gaussian(in, in, 1.0f / std::sqrt(float(in)), rng);
          fa->bias_params = GaussianVec(in, 0.0f, rng);
        }
        dims[name] = c.OutputDim();
      }
    } else if (type == "dim-range-node") {
      node.type = kaldi::NodeType::kDimRange;
      node.input_node_name = kv.at("input-node");
      node.dim_offset = Int(kv, "dim-offset");
      node.dim = Int(kv, "dim");
      dims[name] = node.dim;
    } else {
      KQ_THROW(kFormat) << "unknown config line type '" << type << "'";
    }
    nnet.nodes.push_back(std::move(node));
  }
  nnet.Check();
  return nnet;
}

struct Utterance {
  MatrixF feats;
  std::vector<float> ivector;
};

nnet::ComputeOptions Options() {
  nnet::ComputeOptions o;
  o.frame_subsampling_factor = 3;
  o.frames_per_chunk = 150;
  return o;
}

// Sets every BatchNorm's statistics to the mean / variance of its input (in node order, so each
// sees the earlier ones normalised), then scales the output layer to ±20.
void Calibrate(const std::vector<Utterance>& utts, bool has_ivector, kaldi::Nnet* nnet) {
  nnet::LowerOptions raw;
  raw.optimize = false;  // keep the BatchNorm ops, named after their nodes
  for (const kaldi::NnetNode& node : nnet->nodes) {
    if (node.type != kaldi::NodeType::kComponent) continue;
    auto* bn = nnet->components[nnet->ComponentIndex(node.component_name)]
                   .As<kaldi::BatchNormComponent>();
    if (!bn) continue;
    nnet::ExecutableNet net = nnet::Prepare(nnet::LowerNnet(*nnet, "random", raw));
    nnet::Executor ex(net, Options());
    std::vector<double> sum(static_cast<size_t>(bn->dim), 0.0), sum2(sum.size(), 0.0);
    double rows = 0;
    ex.SetObserver([&](const nnet::Op& op, const nnet::ActivationView& in,
                       const nnet::ActivationView&) {
      if (op.name != node.name) return;
      for (int64_t r = 0; r < in.rows; ++r)
        for (int64_t c = 0; c < in.cols; ++c) {
          const double v = in.data[r * in.stride + c];
          sum[c % bn->dim] += v;
          sum2[c % bn->dim] += v * v;
        }
      rows += double(in.rows) * double(in.cols / bn->dim);
    });
    for (const Utterance& u : utts) ex.Compute(u.feats, has_ivector ? &u.ivector : nullptr, nullptr);
    if (rows == 0) continue;  // not on the path to "output" (the xent branch): left as is
    for (int32_t c = 0; c < bn->dim; ++c) {
      const double mean = sum[c] / rows;
      bn->stats_mean[c] = static_cast<float>(mean);
      bn->stats_var[c] = static_cast<float>(std::max(sum2[c] / rows - mean * mean, 1e-4));
    }
  }
  nnet::ExecutableNet net = nnet::Prepare(nnet::LowerNnet(*nnet, "random"));
  nnet::Executor ex(net, Options());
  float amax = 0.0f;
  for (const Utterance& u : utts) {
    MatrixF y = ex.Compute(u.feats, has_ivector ? &u.ivector : nullptr, nullptr);
    for (int64_t i = 0; i < y.size(); ++i) amax = std::max(amax, std::fabs(y.data()[i]));
  }
  const int32_t out = nnet->NodeIndex("output");
  KQ_CHECK(out >= 0 && nnet->nodes[out].input.type == kaldi::DescriptorType::kNode, kFormat)
      << "expected output-node 'output' reading one component node";
  const kaldi::NnetNode& src = nnet->nodes[nnet->NodeIndex(nnet->nodes[out].input.node_name)];
  kaldi::Component& c = nnet->components[nnet->ComponentIndex(src.component_name)];
  const float s = amax > 0.0f ? 20.0f / amax : 1.0f;
  auto scale = [s](MatrixF* w, std::vector<float>* b) {
    for (int64_t i = 0; i < w->size(); ++i) w->data()[i] *= s;
    for (float& x : *b) x *= s;
  };
  if (auto* a = c.As<kaldi::AffineComponent>()) {
    scale(&a->linear_params, &a->bias_params);
  } else if (auto* t = c.As<kaldi::TdnnComponent>()) {
    scale(&t->linear_params, &t->bias_params);
  } else {
    KQ_THROW(kUnsupported) << "output layer '" << c.name << "' is not affine";
  }
}

int Main(int argc, char** argv) {
  unsigned seed = 1;
  std::string ivectors_out;
  std::vector<std::string> pos;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--seed=", 0) == 0) {
      seed = static_cast<unsigned>(std::stoul(a.substr(7)));
    } else if (a.rfind("--ivectors-out=", 0) == 0) {
      ivectors_out = a.substr(15);
    } else {
      pos.push_back(a);
    }
  }
  KQ_CHECK(pos.size() == 3, kInvalidArgument)
      << "usage: kq_make_random_nnet [--seed=N] [--ivectors-out=wspec] <final.config> "
         "<features-rspecifier> <nnet-out.raw>";
  std::mt19937 rng(seed);
  kaldi::KaldiModel model;
  model.nnet = BuildNnet(pos[0], &rng);
  const int32_t iv_dim = model.nnet.InputDim("ivector");
  std::vector<Utterance> utts;
  std::vector<std::string> keys;
  std::normal_distribution<float> d;
  for (kaldi::SequentialMatrixReader r(pos[1]); !r.Done(); r.Next()) {
    Utterance u;
    u.feats = r.Value();
    for (int32_t i = 0; i < iv_dim; ++i) u.ivector.push_back(d(rng));
    keys.push_back(r.Key());
    utts.push_back(std::move(u));
  }
  KQ_CHECK(!utts.empty(), kInvalidArgument) << "no features in " << pos[1];
  Calibrate(utts, iv_dim > 0, &model.nnet);
  kaldi::WriteKaldiModel(pos[2], model, true);
  if (!ivectors_out.empty()) {
    kaldi::VectorWriter w(ivectors_out);
    for (size_t i = 0; i < utts.size(); ++i) w.Write(keys[i], utts[i].ivector);
  }
  std::fprintf(stderr, "kq_make_random_nnet: %lld parameters -> %s\n",
               static_cast<long long>(model.nnet.NumParameters()), pos[2].c_str());
  return 0;
}

}  // namespace
}  // namespace kaldiq

int main(int argc, char** argv) {
  try {
    return kaldiq::Main(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kq_make_random_nnet: error: %s\n", e.what());
    return 1;
  }
}
