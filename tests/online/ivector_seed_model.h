// A chain-style model with an i-vector input for the streaming i-vector tests: tdnn-seed
// (testdata/tdnn-seed/final.mdl: its transition model, so the fixture's HCLG decodes with it)
// with a 32-dim "ivector" input node (the fixture extractor's dimension) appended to the input
// of tdnn1.affine as ReplaceIndex(ivector, t, 0), the way Kaldi's recipes feed i-vectors. The
// new weight columns are random (N(0, scale^2), seeded), so the i-vectors change the output
// without destroying the trained model. Written with kaldiq's nnet3 writer.
#pragma once

#include <random>
#include <string>

#include "kaldi/nnet3/model_io.h"
#include "util/error.h"

namespace kaldiq::online::testing {

inline void WriteIvectorSeedModel(const std::string& path, int ivector_dim = 32,
                                  float scale = 0.02f) {
  kaldi::KaldiModel m = kaldi::ReadKaldiModel(KQ_TESTDATA_DIR "/tdnn-seed/final.mdl");
  kaldi::NnetNode in;
  in.type = kaldi::NodeType::kInput;
  in.name = "ivector";
  in.dim = ivector_dim;
  m.nnet.nodes.insert(m.nnet.nodes.begin(), in);
  const int32_t node = m.nnet.NodeIndex("tdnn1.affine");
  KQ_CHECK(node >= 0, kInternal) << "tdnn-seed has no tdnn1.affine";
  kaldi::NnetNode& n = m.nnet.nodes[node];
  n.input = kaldi::ParseDescriptor("Append(" + kaldi::DescriptorToString(n.input) +
                                   ", ReplaceIndex(ivector, t, 0))");
  auto* affine =
      m.nnet.components[m.nnet.ComponentIndex(n.component_name)].As<kaldi::AffineComponent>();
  KQ_CHECK(affine != nullptr, kInternal) << "tdnn1.affine is not affine";
  const MatrixF& w = affine->linear_params;
  MatrixF wider(w.rows(), w.cols() + ivector_dim);
  std::mt19937 rng(10);
  std::normal_distribution<float> nd(0.0f, scale);
  for (int64_t r = 0; r < w.rows(); ++r) {
    for (int64_t c = 0; c < w.cols(); ++c) wider(r, c) = w(r, c);
    for (int64_t c = 0; c < ivector_dim; ++c) wider(r, w.cols() + c) = nd(rng);
  }
  affine->linear_params = std::move(wider);
  m.nnet.Check();
  kaldi::WriteKaldiModel(path, m, /*binary=*/true);
}

}  // namespace kaldiq::online::testing
