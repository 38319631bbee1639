// The subcommand table. Each subcommand lives in its own cmd_<name>.cc and exposes
// `int Run<Name>(int argc, char** argv)` (argv[0] is the subcommand name), so the logic can be
// called from tests without main().
#pragma once

namespace kaldiq::cli {

using CommandFn = int (*)(int argc, char** argv);

struct Command {
  const char* name;
  CommandFn run;
  const char* summary;
};

int RunInfo(int argc, char** argv);
int RunForward(int argc, char** argv);
int RunCopyFeats(int argc, char** argv);
int RunComputeCmvnStats(int argc, char** argv);
int RunApplyCmvn(int argc, char** argv);
int RunApplyCmvnOnline(int argc, char** argv);
int RunIvectorExtractOnline2(int argc, char** argv);
int RunOnline2WavNnet3LatgenFaster(int argc, char** argv);
int RunStream(int argc, char** argv);
int RunCalibrate(int argc, char** argv);
int RunQuantize(int argc, char** argv);
int RunExport(int argc, char** argv);
int RunDecode(int argc, char** argv);
int RunRecognize(int argc, char** argv);
int RunWer(int argc, char** argv);
int RunScore(int argc, char** argv);
int RunLatticeBestPath(int argc, char** argv);
int RunComputeMfccFeats(int argc, char** argv);
int RunComputeFbankFeats(int argc, char** argv);
int RunExtractSegments(int argc, char** argv);
int RunChainComputeProb(int argc, char** argv);
int RunNnet3ChainCopyEgs(int argc, char** argv);
int RunNnet3ChainMergeEgs(int argc, char** argv);
int RunNnet3ChainShuffleEgs(int argc, char** argv);
int RunTrain(int argc, char** argv);
int RunAverage(int argc, char** argv);

// Returns the table, in the order `kaldiq --help` lists it.
const Command* Commands(int* count);

}  // namespace kaldiq::cli
