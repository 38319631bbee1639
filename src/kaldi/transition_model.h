// Kaldi's TransitionModel (src/hmm/transition-model.h): the HMM topology plus the
// (phone, hmm-state, forward-pdf, self-loop-pdf) tuples and transition log-probabilities that
// start every final.mdl (and make up 0.trans_mdl). Read/Write are byte-identical to Kaldi in
// binary and text mode, for both the chain ("<Tuples>", SelfLoopPdfClass) and the classic HMM
// ("<Triples>", PdfClass) forms.
//
// Index conventions (Kaldi's): transition-ids are 1-based (0 is epsilon in FSTs), range
// [1, NumTransitionIds()]; transition-states are 1-based; pdf-ids are 0-based; phones are
// 1-based. Decoders use pdf = TransitionIdToPdf(tid) to index the nnet output column.
#pragma once

#include <cstdint>
#include <istream>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

namespace kaldiq::kaldi {

// Kaldi's HmmTopology.
struct HmmTopology {
  static constexpr int32_t kNoPdf = -1;
  struct HmmState {
    int32_t forward_pdf_class = kNoPdf;
    int32_t self_loop_pdf_class = kNoPdf;
    std::vector<std::pair<int32_t, float>> transitions;  // (destination state, probability)
  };
  using TopologyEntry = std::vector<HmmState>;

  std::vector<int32_t> phones;      // sorted phones covered
  std::vector<int32_t> phone2idx;   // phone -> entry index (-1 if none); size max_phone+1
  std::vector<TopologyEntry> entries;

  // True if every state has forward_pdf_class == self_loop_pdf_class (the classic format).
  bool IsHmm() const;
  // Throws kaldiq::Error if phone is not covered.
  const TopologyEntry& TopologyForPhone(int32_t phone) const;

  void Read(std::istream& is, bool binary);
  void Write(std::ostream& os, bool binary) const;
};

class TransitionModel {
 public:
  struct Tuple {
    int32_t phone = 0, hmm_state = 0, forward_pdf = 0, self_loop_pdf = 0;
  };

  TransitionModel() = default;

  // Reads "<TransitionModel> ... </TransitionModel>" (binary marker already consumed).
  // Throws kaldiq::Error (kFormat) with the byte offset on malformed input.
  // opening_token_read: the caller already consumed "<TransitionModel>" (used when sniffing
  // whether a file is a final.mdl or a .raw).
  void Read(std::istream& is, bool binary, bool opening_token_read = false);
  void Write(std::ostream& os, bool binary) const;

  int32_t NumTransitionIds() const { return static_cast<int32_t>(id2state_.size()) - 1; }
  int32_t NumTransitionStates() const { return static_cast<int32_t>(tuples_.size()); }
  int32_t NumPdfs() const { return num_pdfs_; }
  int32_t NumPhones() const;  // largest phone id in the topology

  // All tid arguments must be in [1, NumTransitionIds()]; out-of-range ids throw kaldiq::Error
  // (kInvalidArgument). The *Fast variant does not check (for decoder inner loops).
  int32_t TransitionIdToPdf(int32_t tid) const;
  int32_t TransitionIdToPdfFast(int32_t tid) const { return id2pdf_id_[tid]; }
  int32_t TransitionIdToPhone(int32_t tid) const;
  int32_t TransitionIdToHmmState(int32_t tid) const;
  int32_t TransitionIdToTransitionState(int32_t tid) const;
  int32_t TransitionIdToTransitionIndex(int32_t tid) const;
  bool IsSelfLoop(int32_t tid) const;
  // True if the transition goes to the final (last, non-emitting) state of the phone's HMM.
  bool IsFinal(int32_t tid) const;
  // Natural log of the transition probability.
  float GetTransitionLogProb(int32_t tid) const;
  // Transition-id of (transition-state, transition-index).
  int32_t PairToTransitionId(int32_t trans_state, int32_t trans_index) const;

  const HmmTopology& GetTopo() const { return topo_; }
  const std::vector<Tuple>& tuples() const { return tuples_; }
  // log_probs()[tid], index 0 unused (Kaldi stores it too).
  const std::vector<float>& log_probs() const { return log_probs_; }

 private:
  void ComputeDerived();
  int32_t CheckTid(int32_t tid) const;

  HmmTopology topo_;
  std::vector<Tuple> tuples_;
  std::vector<float> log_probs_;
  std::vector<int32_t> state2id_, id2state_, id2pdf_id_;
  int32_t num_pdfs_ = 0;
};

}  // namespace kaldiq::kaldi
