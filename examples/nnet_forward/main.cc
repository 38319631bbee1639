// A program built against an installed kaldiq (find_package(kaldiq) or pkg-config): loads a Kaldi
// nnet3 model (final.mdl / .raw, or a kaldiq int8 model), prints its dimensions and context, and
// runs it, as nnet3-compute does with default options, on the first frames of a few utterances.
//   nnet_forward <model> <feats-rspecifier> [num-frames=20] [num-utterances=2]
//   nnet_forward final.mdl ark:feats.ark
// Models that need i-vectors are not handled here (see tools/kaldiq/cmd_forward.cc).
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "core/matrix.h"
#include "kaldi/table.h"
#include "nnet/executor.h"
#include "nnet/load_model.h"
#include "util/error.h"

int main(int argc, char** argv) {
  if (argc < 3 || argc > 5) {
    std::fprintf(stderr, "usage: %s <model> <feats-rspecifier> [num-frames=20] [num-utterances=2]\n",
                 argv[0]);
    return 2;
  }
  const int64_t max_frames = argc > 3 ? std::atol(argv[3]) : 20;
  const int max_utts = argc > 4 ? std::atoi(argv[4]) : 2;
  try {
    kaldiq::nnet::InferenceModel model = kaldiq::nnet::LoadModelForInference(argv[1]);
    const kaldiq::nnet::ExecutableNet& net = model.net;
    std::printf("format: %s\n", model.format.c_str());
    std::printf("input-dim: %d\n", net.graph.InputDim("input"));
    std::printf("ivector-dim: %d\n", net.graph.InputDim("ivector"));
    std::printf("output-dim: %d\n", net.graph.OutputDim());
    std::printf("left-context: %d\n", net.left_context);
    std::printf("right-context: %d\n", net.right_context);

    kaldiq::nnet::Executor executor(net, kaldiq::nnet::ComputeOptions());
    int n = 0;
    for (kaldiq::kaldi::SequentialMatrixReader reader(argv[2]); !reader.Done() && n < max_utts;
         reader.Next(), ++n) {
      const kaldiq::MatrixF& all = reader.Value();
      kaldiq::MatrixF feats(std::min(all.rows(), max_frames), all.cols());
      std::copy(all.data(), all.data() + feats.size(), feats.data());  // rows are contiguous
      const kaldiq::MatrixF out = executor.Compute(feats, nullptr, nullptr);
      const float* row0 = out.Row(0);
      std::printf("%s: %lld x %lld -> %lld x %lld, argmax of frame 0: %lld\n", reader.Key().c_str(),
                  static_cast<long long>(feats.rows()), static_cast<long long>(feats.cols()),
                  static_cast<long long>(out.rows()), static_cast<long long>(out.cols()),
                  static_cast<long long>(std::max_element(row0, row0 + out.cols()) - row0));
    }
  } catch (const kaldiq::Error& e) {
    std::fprintf(stderr, "nnet_forward: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
