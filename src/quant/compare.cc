#include "quant/compare.h"

#include <cmath>
#include <limits>

#include "util/error.h"

namespace kaldiq::quant {

void SqnrAccumulator::Add(const float* ref, const float* test, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    double r = ref[i], d = double(ref[i]) - double(test[i]);
    signal += r * r;
    noise += d * d;
  }
}

double SqnrAccumulator::Db() const {
  if (noise == 0.0) return std::numeric_limits<double>::infinity();
  return 10.0 * std::log10(signal / noise);
}

namespace {
// Per op name: the output rows of every chunk, in order.
using Capture = std::map<std::string, std::vector<float>>;

nnet::ActivationObserver Capturer(Capture* cap) {
  return [cap](const nnet::Op& op, const nnet::ActivationView&, const nnet::ActivationView& out) {
    std::vector<float>& v = (*cap)[op.name];
    for (int64_t r = 0; r < out.rows; ++r)
      v.insert(v.end(), out.data + r * out.stride, out.data + r * out.stride + out.cols);
  };
}
}  // namespace

Comparer::Comparer(const nnet::ExecutableNet& reference, const nnet::ExecutableNet& test,
                   const nnet::ComputeOptions& opts)
    : ref_(std::make_unique<nnet::Executor>(reference, opts)),
      test_(std::make_unique<nnet::Executor>(test, opts)) {
  KQ_CHECK(reference.graph.OutputDim() == test.graph.OutputDim(), kInvalidArgument)
      << "the models have different output dimensions (" << reference.graph.OutputDim() << " vs "
      << test.graph.OutputDim() << ")";
  for (const nnet::Op& op : reference.graph.ops) {
    int32_t j = test.graph.Find(op.name);
    if (j < 0 || test.graph.ops[j].output_dim != op.output_dim) continue;
    if (op.type == nnet::OpType::kInput || op.type == nnet::OpType::kOutput) continue;
    if (op.type != nnet::OpType::kAffine && test.graph.ops[j].type != nnet::OpType::kAffine) continue;
    layer_order_.push_back(op.name);
  }
}

Comparer::~Comparer() = default;

MatrixF Comparer::Add(const MatrixF& feats, const std::vector<float>* ivector,
                      const MatrixF* online_ivectors) {
  Capture rc, tc;
  ref_->SetObserver(Capturer(&rc));
  test_->SetObserver(Capturer(&tc));
  MatrixF r = ref_->Compute(feats, ivector, online_ivectors);
  MatrixF t = test_->Compute(feats, ivector, online_ivectors);
  for (const std::string& name : layer_order_) {
    auto a = rc.find(name), b = tc.find(name);
    if (a == rc.end() || b == tc.end() || a->second.size() != b->second.size()) continue;
    layers_[name].Add(a->second.data(), b->second.data(), static_cast<int64_t>(a->second.size()));
  }
  AddOutputs(r, t);
  return t;
}

void Comparer::AddOutputs(const MatrixF& r, const MatrixF& t) {
  KQ_CHECK(r.rows() == t.rows() && r.cols() == t.cols(), kInvalidArgument)
      << "outputs differ in shape: " << r.rows() << "x" << r.cols() << " vs " << t.rows() << "x"
      << t.cols();
  output_.Add(r.data(), t.data(), r.size());
  for (int64_t i = 0; i < r.rows(); ++i) {
    const float* a = r.Row(i);
    const float* b = t.Row(i);
    int64_t ia = 0, ib = 0;
    for (int64_t j = 1; j < r.cols(); ++j) {
      if (a[j] > a[ia]) ia = j;
      if (b[j] > b[ib]) ib = j;
    }
    agree_ += ia == ib;
  }
  frames_ += r.rows();
}

std::vector<std::pair<std::string, double>> Comparer::LayerSqnrDb() const {
  std::vector<std::pair<std::string, double>> out;
  for (const std::string& name : layer_order_) {
    auto it = layers_.find(name);
    if (it != layers_.end()) out.emplace_back(name, it->second.Db());
  }
  return out;
}

void Comparer::Print(std::FILE* out, const std::string& prefix) const {
  for (const auto& [name, db] : LayerSqnrDb())
    std::fprintf(out, "%slayer %-28s SQNR %7.2f dB\n", prefix.c_str(), name.c_str(), db);
  std::fprintf(out, "%soutput (log-likelihood) SQNR %.2f dB; argmax agreement %.2f%% over %lld frames\n",
               prefix.c_str(), OutputSqnrDb(), 100.0 * ArgmaxAgreement(),
               static_cast<long long>(frames_));
}

}  // namespace kaldiq::quant
