// What Kaldi's egs tools do to chain examples (nnet3/nnet-chain-example.cc,
// nnet3/nnet-example-utils.cc, chain/chain-supervision.cc): --minibatch-size rules, grouping by
// structure, merging into minibatches, frame shifts and deriv-weight truncation.
//
// Merged layout (what the objective relies on): input rows are appended eg by eg (row block n
// = eg n), each eg's Index n becomes its position; output indexes are sorted by (t, x, n), so
// output row r = f * N + n; deriv weights are interleaved the same way; the supervision FSTs
// are concatenated fst_0 . fst_1 ... fst_{N-1} exactly as OpenFst's Concat + RmEpsilon +
// Connect and Kaldi's SortBreadthFirstSearch leave them, so merged egs are the bytes
// nnet3-chain-merge-egs writes.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "kaldi/chain_example.h"

namespace kaldiq::kaldi {

// Kaldi's --minibatch-size (ExampleMergingConfig): "rule[/rule...]" where a rule is
// "[eg-size=]set" and a set is a comma list of "a" or "a:b" ranges, e.g. "128,64", "1:64",
// "256=128/512=64,32". With several rules each must name its eg-size; an eg uses the rule whose
// eg-size is closest to its size (the largest Index count over its inputs and outputs).
class MinibatchSizeRules {
 public:
  // Throws kInvalidArgument with Kaldi's message for a malformed string.
  explicit MinibatchSizeRules(const std::string& spec);

  // Kaldi's MinibatchSize(): while input continues, the set's largest value once that many egs
  // are available (else 0); at the end, the largest value in the set that is <= num_available
  // (0 = discard the rest).
  int32_t MinibatchSize(int32_t eg_size, int32_t num_available, bool input_ended) const;
  const std::string& spec() const { return spec_; }

 private:
  struct Rule {
    int32_t eg_size = 0;
    std::vector<std::pair<int32_t, int32_t>> ranges;
    int32_t largest = 0;
  };
  std::string spec_;
  std::vector<Rule> rules_;
};

// train.py's halve_minibatch_size_str (iteration 0): every number halved, at least 1.
std::string HalveMinibatchSizeString(const std::string& spec);

// Kaldi's GetNnetChainExampleSize: the largest Index count over inputs and outputs.
int32_t ChainExampleSize(const NnetChainExample& eg);

// Kaldi's NnetChainExampleStructureCompare: same input names, feature sizes and indexes, same
// output names and indexes. Only egs with equal structure are merged together.
bool SameChainExampleStructure(const NnetChainExample& a, const NnetChainExample& b);

// Kaldi's MergeChainExamples. All egs must be unmerged (n == 0), share structure, feature dims,
// supervision weight, frames per sequence and label-dim; otherwise kInvalidArgument. Features
// become one float matrix (compressed with Kaldi's automatic method when `compress`).
NnetChainExample MergeChainExamples(const std::vector<NnetChainExample>& egs, bool compress);

// The two halves of MergeChainExamples for callers that keep the supervision FSTs apart: the
// merged inputs (by name, sorted; features as one float matrix, compressed when asked) and the
// merged, sorted indexes of output number `output`.
std::vector<NnetIo> MergeChainInputs(const std::vector<const NnetChainExample*>& egs,
                                     bool compress);
std::vector<Index> MergeChainOutputIndexes(const std::vector<const NnetChainExample*>& egs,
                                           size_t output);

// The concatenation fst_0 . fst_1 ... fst_{n-1} of time-ordered supervision FSTs as Kaldi's
// MergeSupervision leaves it (see the header comment). One FST is returned unchanged.
StdFst ConcatSupervisionFsts(const std::vector<const StdFst*>& fsts);

// Kaldi's ShiftChainExampleTimes as nnet3-chain-copy-egs --frame-shift calls it: every input
// except "ivector" gets t += shift; output t values move by the multiple of the frame
// subsampling factor closest to shift (factor * floor(0.5 + shift / factor)). Features and
// FSTs do not change.
void ShiftChainExampleTimes(int32_t shift, NnetChainExample* eg);

// Kaldi's TruncateDerivWeights: zero deriv weights for the first and last `truncate` frames of
// every sequence (creating all-ones weights first when there are none). Requires
// 2 * truncate < frames per sequence (kInvalidArgument).
void TruncateDerivWeights(int32_t truncate, NnetChainExample* eg);

// nnet3-chain-copy-egs --left-context / --right-context (ModifyChainExampleContext): keeps
// only the rows of input "input" within left/right frames of output "output" (-1 = keep all);
// compressed features of a shortened input become a float matrix, as in Kaldi. Requires an
// unmerged eg with "input" and "output" (kInvalidArgument). When the eg has less left context
// than asked, *warning is set (Kaldi warns); less right context is an error (as in Kaldi).
void ModifyChainExampleContext(int32_t left_context, int32_t right_context, NnetChainExample* eg,
                               std::string* warning);

// Kaldi's ChainExampleMerger (nnet3-chain-merge-egs): groups egs by structure and hands each
// full minibatch to `emit` as the list of unmerged egs in arrival order, with their keys
// (callers merge them with MergeChainExamples, or keep them apart). Finish() emits what the rules allow from the
// groups left, in the order the groups first appeared, and discards the rest.
class ChainExampleMerger {
 public:
  using EmitFn = std::function<void(std::vector<NnetChainExample>&& egs,
                                    std::vector<std::string>&& keys)>;
  ChainExampleMerger(MinibatchSizeRules rules, EmitFn emit);

  void Accept(NnetChainExample eg, std::string key = "");
  void Finish();

  // Kaldi's two summary LOG lines (ExampleMergingStats::PrintStats), after Finish().
  std::vector<std::string> StatsLines() const;
  int64_t NumMinibatches() const { return num_minibatches_; }
  int64_t NumDiscarded() const { return num_discarded_; }

 private:
  // What SameChainExampleStructure compares, without the data.
  struct Structure {
    struct Input {
      std::string name;
      int64_t rows, cols;
      std::vector<Index> indexes;
    };
    std::vector<Input> inputs;
    std::vector<std::pair<std::string, std::vector<Index>>> outputs;
  };
  struct Group {
    Structure structure;
    std::vector<NnetChainExample> egs;
    std::vector<std::string> keys;
    int32_t eg_size = 0;
  };
  static Structure StructureOf(const NnetChainExample& eg);
  static bool Matches(const Structure& st, const NnetChainExample& eg);
  struct Stats {
    std::map<int32_t, int64_t> minibatches;  // minibatch size -> count
    int64_t discarded = 0;
  };
  void Emit(Group* group, int32_t count);
  Stats& StatsFor(int32_t eg_size, size_t group_index);

  MinibatchSizeRules rules_;
  EmitFn emit_;
  std::vector<Group> groups_;  // by first appearance
  // (eg size, group index) -> stats, for the summary.
  std::map<std::pair<int32_t, size_t>, Stats> stats_;
  int64_t num_minibatches_ = 0, num_discarded_ = 0;
  bool finished_ = false;
};

}  // namespace kaldiq::kaldi
