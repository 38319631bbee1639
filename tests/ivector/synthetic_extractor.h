// A small, random but valid online i-vector extractor directory (final.mat, global_cmvn.stats,
// online_cmvn.conf, splice.conf, final.dubm, final.ie, ivector_extractor.conf with absolute
// paths), and random features, for the tests that must run without ../shared.
#pragma once

#include <cmath>
#include <fstream>
#include <random>
#include <string>

#include "core/matrix.h"
#include "kaldi/basic_io.h"
#include "kaldi/cmvn.h"
#include "kaldi/ivector_model_io.h"
#include "kaldi/kaldi_stream.h"
#include "kaldi/matrix_io.h"
#include "kaldi/test_util.h"

namespace kaldiq::testing {

struct SyntheticDims {
  int base_dim = 5;   // MFCC-like input
  int left = 2, right = 1;
  int lda_dim = 4;    // UBM / extractor feature dimension
  int num_gauss = 6;
  int ivector_dim = 3;
  double prior_offset = 20.0;
};

inline MatrixF RandomFeatures(int64_t rows, int64_t cols, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> n(0.0f, 1.0f);
  MatrixF m(rows, cols);
  for (int64_t i = 0; i < m.size(); ++i) m.data()[i] = n(rng) + 0.5f * float(i % cols);
  return m;
}

// Writes the directory into dir and returns the path of ivector_extractor.conf. `extra` is
// appended to the config (one option per line).
inline std::string WriteSyntheticExtractor(const TempDir& dir, const SyntheticDims& d,
                                           uint32_t seed, const std::string& extra = "") {
  std::mt19937 rng(seed);
  std::normal_distribution<double> n(0.0, 1.0);
  std::uniform_real_distribution<double> u(0.5, 2.0);
  auto write = [&](const std::string& name, auto writer) {
    kaldi::Output out(dir.File(name), /*binary=*/true);
    writer(out.Stream());
    out.Commit();
  };
  const int splice = d.left + 1 + d.right;
  MatrixF lda(d.lda_dim, d.base_dim * splice + 1);  // affine, like get_pca_transform.sh
  for (int64_t i = 0; i < lda.size(); ++i) lda.data()[i] = static_cast<float>(0.3 * n(rng));
  write("final.mat", [&](std::ostream& os) { kaldi::WriteMatrix(os, true, lda); });

  MatrixD global;
  kaldi::AccCmvnStats(RandomFeatures(400, d.base_dim, seed + 1), nullptr, &global);
  write("global_cmvn.stats", [&](std::ostream& os) { kaldi::WriteMatrix(os, true, global); });

  std::ofstream(dir.File("online_cmvn.conf")) << "# configuration file for apply-cmvn-online\n"
                                                 "--cmn-window=50\n--global-frames=20\n";
  std::ofstream(dir.File("splice.conf")) << "--left-context=" << d.left << "\n--right-context="
                                         << d.right << "\n";

  kaldi::DiagGmmFile gmm;
  gmm.means_invvars.Resize(d.num_gauss, d.lda_dim);
  gmm.inv_vars.Resize(d.num_gauss, d.lda_dim);
  double wsum = 0;
  for (int g = 0; g < d.num_gauss; ++g) {
    double w = u(rng);
    gmm.weights.push_back(static_cast<float>(w));
    wsum += w;
    for (int k = 0; k < d.lda_dim; ++k) {
      double iv = u(rng);
      gmm.inv_vars(g, k) = static_cast<float>(iv);
      gmm.means_invvars(g, k) = static_cast<float>(0.7 * n(rng) * iv);
    }
  }
  for (float& w : gmm.weights) w = static_cast<float>(w / wsum);
  write("final.dubm", [&](std::ostream& os) { kaldi::WriteDiagGmm(os, true, gmm); });

  kaldi::IvectorExtractorFile ie;
  ie.prior_offset = d.prior_offset;
  for (int g = 0; g < d.num_gauss; ++g) {
    ie.w_vec.push_back(gmm.weights[g]);
    MatrixD m(d.lda_dim, d.ivector_dim);
    for (int k = 0; k < d.lda_dim; ++k) {
      // Column 0 carries the mean divided by the prior offset, as Kaldi initialises it.
      m(k, 0) = gmm.means_invvars(g, k) / gmm.inv_vars(g, k) / d.prior_offset;
      for (int i = 1; i < d.ivector_dim; ++i) m(k, i) = 0.3 * n(rng);
    }
    ie.M.push_back(m);
    // Sigma^-1 = B B' + D (symmetric positive definite).
    MatrixD b(d.lda_dim, d.lda_dim);
    for (int64_t i = 0; i < b.size(); ++i) b.data()[i] = 0.3 * n(rng);
    kaldi::PackedMatrixD s;
    s.dim = d.lda_dim;
    for (int i = 0; i < d.lda_dim; ++i) {
      for (int j = 0; j <= i; ++j) {
        double v = (i == j) ? u(rng) : 0.0;
        for (int k = 0; k < d.lda_dim; ++k) v += b(i, k) * b(j, k);
        s.data.push_back(v);
      }
    }
    ie.sigma_inv.push_back(s);
  }
  write("final.ie", [&](std::ostream& os) { kaldi::WriteIvectorExtractor(os, true, ie); });

  const std::string conf = dir.File("ivector_extractor.conf");
  std::ofstream(conf) << "--cmvn-config=" << dir.File("online_cmvn.conf") << "\n"
                      << "--ivector-period=4\n"
                      << "--splice-config=" << dir.File("splice.conf") << "\n"
                      << "--lda-matrix=" << dir.File("final.mat") << "\n"
                      << "--global-cmvn-stats=" << dir.File("global_cmvn.stats") << "\n"
                      << "--diag-ubm=" << dir.File("final.dubm") << "\n"
                      << "--ivector-extractor=" << dir.File("final.ie") << "\n"
                      << "--num-gselect=3\n--min-post=0.025\n--posterior-scale=0.1\n"
                      << "--max-remembered-frames=30\n--max-count=0\n"
                      << extra;
  return conf;
}

}  // namespace kaldiq::testing
