// kq_fuzz_seeds <testdata-dir> <fuzz-seeds-dir> <out-dir>: writes small seed inputs for every
// fuzz target into <out-dir>/<target>/, cut from the vendored test data (a few rows of real
// feature, CMVN and i-vector archives in every matrix encoding, a real lattice in every lattice
// form, a 40-state piece of tdnn-seed's HCLG as const and vector FST) and from the small models
// in fuzz/seeds/ (nnet3 text models, transition models -- one cut from tdnn-seed's; an int8
// model and a plan are made from the tiny nnet there). Small seeds keep the fuzzer fast; the formats' every branch is still reachable.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <queue>
#include <sstream>
#include <string>

#include <fst/const-fst.h>
#include <fst/vector-fst.h>

#include "decode/graph_io.h"
#include "kaldi/chain_example.h"
#include "kaldi/compressed_matrix.h"
#include "kaldi/holders.h"
#include "kaldi/ivector_model_io.h"
#include "kaldi/lattice_io.h"
#include "kaldi/nnet3/model_io.h"
#include "kaldi/table.h"
#include "kaldi/wave_io.h"
#include "lat/lattice_ops.h"
#include "quant/calibrate.h"
#include "quant/int8_model.h"
#include "quant/int8_model_io.h"
#include "quant/plan.h"

namespace fs = std::filesystem;
using namespace kaldiq;
using namespace kaldiq::kaldi;

namespace {

std::string g_out;

void Put(const std::string& target, const std::string& name, const std::string& bytes) {
  fs::create_directories(g_out + "/" + target);
  std::ofstream f(g_out + "/" + target + "/" + name, std::ios::binary);
  f << bytes;
  KQ_CHECK(f.good(), kIo) << "cannot write seed " << target << "/" << name;
}

template <class Holder>
std::string Entry(const std::string& key, const typename Holder::T& v, bool binary) {
  std::ostringstream os;
  os << key << ' ';
  kaldi::internal::WriteObject<Holder>(os, binary, v);
  return os.str();
}

MatrixF Rows(const MatrixF& m, int64_t n) {
  n = std::min(n, m.rows());
  MatrixF out(n, m.cols());
  for (int64_t r = 0; r < n; ++r)
    for (int64_t c = 0; c < m.cols(); ++c) out(r, c) = m(r, c);
  return out;
}

void FeatSeeds(const std::string& td) {
  SequentialMatrixReader feats("ark:" + td + "/tdnn-seed/dev60/feats.ark");
  std::string bin, txt, cm, cm2, cm3;
  for (int i = 0; i < 2 && !feats.Done(); ++i, feats.Next()) {
    const MatrixF m = Rows(feats.Value(), 10);
    bin += Entry<MatrixHolder>(feats.Key(), Rows(m, 3), true);
    txt += Entry<MatrixHolder>(feats.Key(), Rows(m, 2), false);
    cm += Entry<CompressedMatrixHolder>(
        feats.Key(), CompressedMatrix::Compress(m, CompressionMethod::kSpeechFeature), true);
    cm2 += Entry<CompressedMatrixHolder>(
        feats.Key(), CompressedMatrix::Compress(Rows(m, 3), CompressionMethod::kTwoByteAuto), true);
    cm3 += Entry<CompressedMatrixHolder>(
        feats.Key(), CompressedMatrix::Compress(Rows(m, 3), CompressionMethod::kOneByteAuto), true);
  }
  Put("feats", "feats_fm.ark", bin);
  Put("feats", "feats_text.ark", txt);
  Put("feats", "feats_cm.ark", cm);
  Put("feats", "feats_cm2.ark", cm2);
  Put("feats", "feats_cm3.ark", cm3);
  SequentialDoubleMatrixReader cmvn("ark:" + td + "/tdnn-seed/dev60/cmvn.ark");
  Put("feats", "cmvn_dm.ark", Entry<DoubleMatrixHolder>(cmvn.Key(), cmvn.Value(), true));
  Put("feats", "cmvn_text.ark", Entry<DoubleMatrixHolder>(cmvn.Key(), cmvn.Value(), false));
  SequentialMatrixReader iv("ark:" + td + "/tdnnf-small/online_ivectors5.ark");
  Put("feats", "ivectors.ark", Entry<MatrixHolder>(iv.Key(), Rows(iv.Value(), 2), true));
  const std::vector<float> priors = {0.125f, 0.25f, 1e-6f, 0.5f, 0.124999f};
  const std::vector<double> dpriors(priors.begin(), priors.end());
  Put("feats", "vector_fv.ark", Entry<VectorHolder>("priors", priors, true));
  Put("feats", "vector_dv.ark", Entry<DoubleVectorHolder>("priors", dpriors, true));
  Put("feats", "vector_text.ark", Entry<VectorHolder>("priors", priors, false));
  const std::vector<int32_t> ali = {1, 2, 2, 3, 968};
  Put("feats", "ali.ark", Entry<Int32VectorHolder>("utt1", ali, true));
  Put("feats", "ali_text.ark", Entry<Int32VectorHolder>("utt1", ali, false));
}

void LatticeSeeds(const std::string& td) {
  const std::string spec = "ark:" + td + "/tdnn-seed/dev60/lat3.ark";
  // The smallest lattice of the archive.
  std::string key;
  lat::CompactLattice clat;
  for (SequentialTableReader<CompactLatticeHolder> r(spec); !r.Done(); r.Next()) {
    if (key.empty() || r.Value().NumStates() < clat.NumStates()) {
      key = r.Key();
      clat = r.Value();
    }
  }
  Put("lattice", "clat_bin.ark", Entry<CompactLatticeHolder>(key, clat, true));
  Put("lattice", "clat_text.ark", Entry<CompactLatticeHolder>(key, clat, false));
  lat::Lattice l;
  lat::ConvertLattice(clat, &l, true);
  Put("lattice", "lat_bin.ark", Entry<LatticeHolder>(key, l, true));
  Put("lattice", "lat_text.ark", Entry<LatticeHolder>(key, l, false));
}

void ModelSeeds(const std::string& seeds) {
  // tiny_chain: tdnn-seed's transition model cut to its first 3 phones; tiny_hmm: a classic
  // 3-state HMM (<Triples>).
  for (const char* name : {"tiny_chain", "tiny_hmm"}) {
    const TransitionModel t = ReadTransitionModel(seeds + "/trans_model/" + name + ".txt");
    for (bool binary : {true, false}) {
      std::ostringstream os;
      WriteBinaryMarker(os, binary);
      t.Write(os, binary);
      Put("trans_model", std::string(name) + (binary ? ".trans_mdl" : "_text.trans_mdl"), os.str());
    }
  }
  const TransitionModel tm = ReadTransitionModel(seeds + "/trans_model/tiny_chain.txt");
  for (const char* name : {"tiny", "all_components"}) {
    const KaldiModel raw = ReadKaldiModel(seeds + "/nnet3/" + name + ".txt");
    for (bool binary : {true, false}) {
      std::ostringstream os;
      WriteBinaryMarker(os, binary);
      WriteNnet(os, binary, raw.nnet);
      Put("nnet3", std::string(name) + (binary ? ".raw" : "_text.raw"), os.str());
    }
  }
  // A final.mdl: the cut transition model (its pdfs exceed the tiny nnet's outputs, which the
  // reader does not check) + the tiny nnet + priors.
  KaldiModel mdl = ReadKaldiModel(seeds + "/nnet3/tiny.txt");
  mdl.has_transition_model = true;
  mdl.trans_model = tm;
  mdl.priors = {0.25f, 0.75f};
  mdl.left_context = 2;
  mdl.right_context = 1;
  const std::string tmp = g_out + "/.tmp.mdl";
  for (bool binary : {true, false}) {
    WriteKaldiModel(tmp, mdl, binary);
    std::ifstream f(tmp, std::ios::binary);
    std::ostringstream os;
    os << f.rdbuf();
    Put("nnet3", binary ? "final.mdl" : "final_text.mdl", os.str());
  }
  fs::remove(tmp);
}

void FstSeeds(const std::string& td) {
  const decode::DecodingGraph g = decode::ReadDecodingGraph(td + "/tdnn-seed/graph-tiny/HCLG.fst");
  const fst::ConstFst<fst::StdArc>& big = *g.const_fst;
  // Breadth-first from the start state, keeping the first 40 states and the arcs among them.
  std::map<int, int> id;
  std::queue<int> q;
  fst::VectorFst<fst::StdArc> small;
  auto visit = [&](int s) {
    if (id.count(s) || id.size() >= 40) return;
    id[s] = small.AddState();
    q.push(s);
  };
  visit(big.Start());
  small.SetStart(0);
  while (!q.empty()) {
    const int s = q.front();
    q.pop();
    for (fst::ArcIterator<fst::ConstFst<fst::StdArc>> it(big, s); !it.Done(); it.Next()) visit(it.Value().nextstate);
  }
  for (const auto& [s, n] : id) {
    small.SetFinal(n, big.Final(s));
    for (fst::ArcIterator<fst::ConstFst<fst::StdArc>> it(big, s); !it.Done(); it.Next()) {
      fst::StdArc a = it.Value();
      if (!id.count(a.nextstate)) continue;
      a.nextstate = id[a.nextstate];
      small.AddArc(n, a);
    }
  }
  small.SetFinal(static_cast<int>(id.size()) - 1, fst::TropicalWeight::One());
  for (bool as_const : {true, false}) {
    for (bool align : {false, true}) {
      std::ostringstream os;
      fst::FstWriteOptions opts;
      opts.align = align;
      if (as_const) {
        fst::ConstFst<fst::StdArc>(small).Write(os, opts);
      } else {
        if (align) continue;  // vector FSTs are never aligned
        small.Write(os, opts);
      }
      Put("fst", std::string(as_const ? "hclg40_const" : "hclg40_vector") +
                     (align ? "_aligned" : "") + ".fst",
          os.str());
    }
  }
}

void QuantSeeds(const std::string& seeds) {
  const KaldiModel km = ReadKaldiModel(seeds + "/nnet3/tiny.txt");
  for (const char* preset : {"best", "recipe"}) {
    const quant::Scheme scheme = quant::PresetScheme(preset);
    std::vector<std::string> folds;
    const nnet::Graph g =
        quant::LowerForInt8(km.nnet, "tiny", quant::Int8Lowering::For(scheme), &folds);
    // A plan by hand (no calibration run): activations on [-1, 4], weights on their max.
    quant::Plan plan;
    plan.scheme = scheme;
    plan.folds = folds;
    const std::vector<std::string> inputs = quant::InputLayers(g);
    for (const nnet::Op& op : g.ops) {
      if (op.type != nnet::OpType::kAffine) continue;
      quant::LayerPlan l;
      l.name = op.name;
      l.input_dim = op.input_dim;
      l.output_dim = op.output_dim;
      l.keep_float = scheme.input_layer_float &&
                     std::find(inputs.begin(), inputs.end(), op.name) != inputs.end();
      if (!l.keep_float) {
        l.act_min = -1.0f;
        l.act_max = 4.0f;
        l.act = quant::ChooseQParams(l.act_min, l.act_max, scheme.act);
        for (int64_t r = 0; r < op.weight.rows(); ++r) {
          float mx = 1e-3f;
          for (int64_t c = 0; c < op.weight.cols(); ++c) mx = std::max(mx, std::fabs(op.weight(r, c)));
          l.weight_scales.push_back(mx / 127.0f);
        }
        l.bias_delta.assign(static_cast<size_t>(op.output_dim), 0.01f);
      }
      plan.layers.push_back(l);
    }
    const std::string plan_path = g_out + "/plan/" + preset + ".plan";
    fs::create_directories(g_out + "/plan");
    quant::WritePlan(plan_path, plan);
    quant::Int8Model m = quant::BuildInt8Model(g, plan, plan_path);
    m.priors = {0.25f, 0.75f};
    Put("int8_model", std::string(preset) + ".int8", quant::SerializeInt8Model(m));
    if (std::string(preset) == "best") {
      m.has_transition_model = true;
      m.trans_model = ReadTransitionModel(seeds + "/trans_model/tiny_chain.txt");
      Put("int8_model", "best_with_trans.int8", quant::SerializeInt8Model(m));
    }
  }
}

// Tiny WAVs: mono 16 kHz, stereo 8 kHz, as a bare file and as an archive entry.
void WavSeeds() {
  for (int channels : {1, 2}) {
    WaveData w;
    w.samp_freq = channels == 1 ? 16000.0f : 8000.0f;
    w.data = MatrixF(channels, 40);
    for (int c = 0; c < channels; ++c)
      for (int i = 0; i < 40; ++i) w.data(c, i) = static_cast<float>((i * 977 + c * 31) % 2001 - 1000);
    std::ostringstream os;
    WriteWave(os, w);
    const std::string name = channels == 1 ? "mono16k" : "stereo8k";
    Put("wav", name + ".wav", os.str());
    Put("wav", name + ".ark", "utt1 " + os.str());
  }
}

// A two-frame chain example: 7 input rows (t = -2..4), an i-vector, a 3-pdf supervision FST
// with deriv weights; plain and compressed features, binary and text.
void ChainEgsSeeds() {
  NnetChainExample eg;
  NnetIo in;
  in.name = "input";
  MatrixF f(7, 4);
  for (int r = 0; r < 7; ++r)
    for (int c = 0; c < 4; ++c) f(r, c) = 0.25f * static_cast<float>(r - c);
  for (int t = -2; t <= 4; ++t) in.indexes.push_back(Index{0, t, 0});
  in.features = GeneralMatrix(f);
  NnetIo iv;
  iv.name = "ivector";
  iv.indexes.push_back(Index{0, 0, 0});
  MatrixF ivm(1, 3);
  ivm(0, 0) = 1.0f;
  iv.features = GeneralMatrix(ivm);
  eg.inputs = {in, iv};
  NnetChainSupervision sup;
  sup.name = "output";
  sup.indexes = {Index{0, 0, 0}, Index{0, 3, 0}};
  sup.supervision.weight = 1.0f;
  sup.supervision.num_sequences = 1;
  sup.supervision.frames_per_sequence = 2;
  sup.supervision.label_dim = 3;
  StdFst& fst = sup.supervision.fst;
  const float inf = std::numeric_limits<float>::infinity();
  fst.start = 0;
  fst.AddState(inf);
  fst.AddArc(StdArc{1, 1, 0.0f, 1});
  fst.AddArc(StdArc{2, 2, 0.5f, 1});
  fst.AddState(inf);
  fst.AddArc(StdArc{3, 3, 0.0f, 2});
  fst.AddState(0.0f);
  fst.properties = ComputeFstProperties(fst);
  sup.deriv_weights = {1.0f, 0.5f};
  eg.outputs = {sup};
  for (bool compressed : {false, true}) {
    NnetChainExample e = eg;
    if (compressed) e.inputs[0].features.Compress();
    for (bool binary : {true, false}) {
      if (compressed && !binary) continue;
      Put("chain_egs", std::string(compressed ? "cm" : "fm") + (binary ? ".cegs" : "_text.cegs"),
          Entry<NnetChainExampleHolder>("eg1", e, binary));
    }
  }
}

// A 2-Gaussian, 3-dim UBM and i-vector extractor (2-dim i-vectors), binary and text.
void IvectorSeeds() {
  DiagGmmFile gmm;
  gmm.weights = {0.4f, 0.6f};
  gmm.gconsts = {-3.0f, -2.5f};
  gmm.means_invvars = MatrixF(2, 3);
  gmm.inv_vars = MatrixF(2, 3);
  for (int g = 0; g < 2; ++g)
    for (int d = 0; d < 3; ++d) {
      gmm.inv_vars(g, d) = 1.0f + 0.5f * static_cast<float>(g + d);
      gmm.means_invvars(g, d) = 0.1f * static_cast<float>(d - g) * gmm.inv_vars(g, d);
    }
  IvectorExtractorFile ie;
  ie.w_vec = {0.0, 0.0};
  for (int g = 0; g < 2; ++g) {
    MatrixD m(3, 2);
    for (int d = 0; d < 3; ++d) m(d, 0) = 0.1 * (d + g), m(d, 1) = 0.05 * (d - g);
    ie.M.push_back(m);
    PackedMatrixD s;
    s.dim = 3;
    s.data = {2.0, 0.1, 1.5, 0.0, 0.2, 1.0};
    ie.sigma_inv.push_back(s);
  }
  ie.prior_offset = 100.0;
  for (bool binary : {true, false}) {
    std::ostringstream g, e;
    WriteBinaryMarker(g, binary);
    WriteDiagGmm(g, binary, gmm);
    WriteBinaryMarker(e, binary);
    WriteIvectorExtractor(e, binary, ie);
    Put("ivector", binary ? "final.dubm" : "final_text.dubm", g.str());
    Put("ivector", binary ? "final.ie" : "final_text.ie", e.str());
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: kq_fuzz_seeds <testdata-dir> <fuzz-seeds-dir> <out-dir>\n");
    return 2;
  }
  try {
    g_out = argv[3];
    const std::string td = argv[1], seeds = argv[2];
    FeatSeeds(td);
    LatticeSeeds(td);
    ModelSeeds(seeds);
    FstSeeds(td);
    QuantSeeds(seeds);
    WavSeeds();
    ChainEgsSeeds();
    IvectorSeeds();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kq_fuzz_seeds: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
