// kaldiq: one executable, Kaldi-style subcommands. `kaldiq --help` lists them.
#include <cstdio>
#include <cstring>
#include <string>

#include "commands.h"
#include "quant/int8_model.h"

namespace kaldiq::cli {

const Command* Commands(int* count) {
  static const Command kCommands[] = {
      {"compute-mfcc-feats", RunComputeMfccFeats, "MFCC features from WAVs (like compute-mfcc-feats)"},
      {"compute-fbank-feats", RunComputeFbankFeats,
       "filterbank features from WAVs (like compute-fbank-feats)"},
      {"extract-segments", RunExtractSegments, "cut segments out of WAVs (like extract-segments)"},
      {"info", RunInfo, "show a model's structure (like nnet3-am-info)"},
      {"forward", RunForward, "compute network outputs (like nnet3-compute)"},
      {"copy-feats", RunCopyFeats, "copy/convert feature archives (like copy-feats)"},
      {"compute-cmvn-stats", RunComputeCmvnStats, "CMVN statistics (like compute-cmvn-stats)"},
      {"apply-cmvn", RunApplyCmvn, "apply CMVN (like apply-cmvn)"},
      {"apply-cmvn-online", RunApplyCmvnOnline, "online CMVN (like apply-cmvn-online)"},
      {"ivector-extract-online2", RunIvectorExtractOnline2,
       "online i-vectors (like ivector-extract-online2)"},
      {"calibrate", RunCalibrate, "collect activation statistics into a quantization plan"},
      {"quantize", RunQuantize, "write an int8 model from a model and a plan"},
      {"export", RunExport, "write a Kaldi final.mdl from an int8 model (--dequantized)"},
      {"decode", RunDecode, "decode log-likelihoods into lattices (like latgen-faster-mapped)"},
      {"recognize", RunRecognize, "features -> network -> lattices (like nnet3-latgen-faster)"},
      {"online2-wav-nnet3-latgen-faster", RunOnline2WavNnet3LatgenFaster,
       "WAVs -> streaming features, looped network, decoder -> lattices (like Kaldi's)"},
      {"stream", RunStream, "streaming recognition of a WAV: partial and final results (--json)"},
      {"wer", RunWer, "word error rate (like compute-wer)"},
      {"score", RunScore, "LM-weight x penalty sweep over lattices (like score_kaldi.sh)"},
      {"lattice-best-path", RunLatticeBestPath, "1-best from lattices (like lattice-best-path)"},
      {"chain-compute-prob", RunChainComputeProb,
       "LF-MMI objective of a model on chain egs (like nnet3-chain-compute-prob)"},
      {"nnet3-chain-compute-prob", RunChainComputeProb, "same as chain-compute-prob"},
      {"nnet3-chain-copy-egs", RunNnet3ChainCopyEgs,
       "copy chain egs: frame shift, subsets, outputs (like nnet3-chain-copy-egs)"},
      {"nnet3-chain-merge-egs", RunNnet3ChainMergeEgs,
       "merge chain egs into minibatches (like nnet3-chain-merge-egs)"},
      {"nnet3-chain-shuffle-egs", RunNnet3ChainShuffleEgs,
       "shuffle chain egs (like nnet3-chain-shuffle-egs)"},
      {"train", RunTrain, "LF-MMI fine-tuning of a chain model (like nnet3-chain-train + train.py)"},
      {"average", RunAverage, "average the parameters of models (like nnet3-average)"},
      {"nnet3-average", RunAverage, "same as average"},
  };
  *count = static_cast<int>(sizeof(kCommands) / sizeof(kCommands[0]));
  return kCommands;
}

}  // namespace kaldiq::cli

namespace {
void PrintUsage() {
  std::printf(
      "kaldiq: Kaldi acoustic models made small and fast (fp32 and int8), no Kaldi needed.\n\n"
      "Usage: kaldiq <command> [options] <args...>\n"
      "       kaldiq <command> --help\n\nCommands:\n");
  int n = 0;
  const auto* cmds = kaldiq::cli::Commands(&n);
  for (int i = 0; i < n; ++i) std::printf("  %-24s %s\n", cmds[i].name, cmds[i].summary);
}
}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
    PrintUsage();
    return argc < 2 ? 1 : 0;
  }
  // Every command that loads a model also accepts the kaldiq int8 format.
  kaldiq::quant::RegisterInt8ModelLoader();
  int n = 0;
  const auto* cmds = kaldiq::cli::Commands(&n);
  for (int i = 0; i < n; ++i) {
    if (std::string(argv[1]) == cmds[i].name) return cmds[i].run(argc - 1, argv + 1);
  }
  std::fprintf(stderr, "kaldiq: error: unknown command '%s' (see kaldiq --help)\n", argv[1]);
  return 1;
}
