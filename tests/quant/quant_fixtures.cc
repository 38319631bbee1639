#include "quant_fixtures.h"

#include "kaldi/nnet3/model_io.h"
#include "kaldi/table.h"
#include "quant/calibrate.h"

namespace kaldiq::quant::testing {

MatrixF QuantizedFixture::Run(const nnet::ExecutableNet& net, size_t u) const {
  nnet::Executor ex(net, opts);
  return ex.Compute(utts[u], nullptr, ivectors.empty() ? nullptr : &ivectors[u]);
}

namespace {

QuantizedFixture Quantize(const std::string& model_path, const std::string& feats,
                          const std::string& ivectors, nnet::ComputeOptions opts,
                          size_t num_calib, const std::string& preset = "best") {
  QuantizedFixture c;
  c.model_path = model_path;
  c.opts = opts;
  kaldi::KaldiModel km = kaldi::ReadKaldiModel(model_path);
  Scheme scheme = PresetScheme(preset);
  std::vector<std::string> folds;
  nnet::Graph graph = LowerForInt8(km.nnet, model_path, Int8Lowering::For(scheme), &folds);
  for (kaldi::SequentialMatrixReader r(feats); !r.Done(); r.Next()) c.utts.push_back(r.Value());
  if (!ivectors.empty()) {
    kaldi::RandomAccessMatrixReader iv(ivectors);
    for (kaldi::SequentialMatrixReader r(feats); !r.Done(); r.Next())
      c.ivectors.push_back(iv.Value(r.Key()));
  }
  Calibrator cal(graph, scheme, {});
  nnet::ExecutableNet ref = nnet::Prepare(graph);
  nnet::Executor ex(ref, opts);
  ex.SetObserver(cal.Hook());
  for (size_t u = 0; u < num_calib; ++u)
    ex.Compute(c.utts[u], nullptr, c.ivectors.empty() ? nullptr : &c.ivectors[u]);
  c.plan = cal.MakePlan(folds);
  c.model = BuildInt8Model(graph, c.plan, "plan");
  if (km.has_transition_model) {
    c.model.has_transition_model = true;
    c.model.trans_model = km.trans_model;
    c.model.priors = km.priors;
  }
  return c;
}

}  // namespace

QuantizedFixture TdnnSeed(const std::string& preset) {
  const std::string dir = std::string(KQ_TESTDATA_DIR) + "/tdnn-seed/";
  nnet::ComputeOptions opts;
  opts.frame_subsampling_factor = 3;
  opts.frames_per_chunk = 140;
  return Quantize(dir + "final.mdl", "ark:" + dir + "dev60/feats_cmvn5.ark", "", opts, 3, preset);
}

QuantizedFixture TdnnfSmallBest() {
  const std::string dir = std::string(KQ_TESTDATA_DIR) + "/tdnnf-small/";
  nnet::ComputeOptions opts;
  opts.frame_subsampling_factor = 3;
  opts.frames_per_chunk = 150;
  opts.online_ivector_period = 10;
  return Quantize(dir + "final.raw", "ark:" + dir + "feats2.ark",
                  "ark:" + dir + "online_ivectors5.ark", opts, 1);
}

}  // namespace kaldiq::quant::testing
