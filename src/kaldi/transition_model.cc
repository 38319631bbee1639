// Kaldi's HmmTopology and TransitionModel serialisation (src/hmm/hmm-topology.cc,
// transition-model.cc) and the transition-id index maps.
#include <limits>
#include "kaldi/transition_model.h"

#include <algorithm>
#include <cstdlib>

#include "kaldi/basic_io.h"
#include "kaldi/matrix_io.h"
#include "kaldi/nnet3/io_util.h"
#include "util/error.h"

namespace kaldiq::kaldi {

namespace {
constexpr int32_t kMaxStates = 1 << 16;
constexpr int32_t kMaxPhones = 1 << 24;

int32_t ParseInt(const std::string& s, std::istream& is) {
  char* end = nullptr;
  long v = std::strtol(s.c_str(), &end, 10);
  KQ_CHECK(!s.empty() && *end == '\0' && v >= 0 && v < kMaxPhones, kFormat)
      << "expected a phone id, got '" << QuoteBytes(s) << "' " << DescribePosition(is);
  return static_cast<int32_t>(v);
}
}  // namespace

bool HmmTopology::IsHmm() const {
  for (const auto& e : entries)
    for (const auto& s : e)
      if (s.forward_pdf_class != s.self_loop_pdf_class) return false;
  return true;
}

const HmmTopology::TopologyEntry& HmmTopology::TopologyForPhone(int32_t phone) const {
  KQ_CHECK(phone >= 0 && static_cast<size_t>(phone) < phone2idx.size() && phone2idx[phone] >= 0,
           kFormat)
      << "phone " << phone << " is not covered by the HMM topology";
  return entries[phone2idx[phone]];
}

void HmmTopology::Read(std::istream& is, bool binary) {
  *this = HmmTopology();
  ExpectToken(is, binary, "<Topology>");
  if (!binary) {
    std::string tok = ReadToken(is, binary);
    while (tok != "</Topology>") {
      KQ_CHECK(tok == "<TopologyEntry>", kFormat)
          << "expected <TopologyEntry> or </Topology>, got '" << QuoteBytes(tok) << "' " << DescribePosition(is);
      ExpectToken(is, binary, "<ForPhones>");
      std::vector<int32_t> entry_phones;
      while ((tok = ReadToken(is, binary)) != "</ForPhones>")
        entry_phones.push_back(ParseInt(tok, is));
      TopologyEntry entry;
      tok = ReadToken(is, binary);
      while (tok != "</TopologyEntry>") {
        KQ_CHECK(tok == "<State>", kFormat) << "expected <State>, got '" << QuoteBytes(tok) << "' "
                                            << DescribePosition(is);
        int32_t state = ReadBasicType<int32_t>(is, binary);
        KQ_CHECK(state == static_cast<int32_t>(entry.size()) && state < kMaxStates, kFormat)
            << "HMM states must be numbered 0, 1, ...; got " << state;
        entry.emplace_back();
        tok = ReadToken(is, binary);
        if (tok == "<PdfClass>" || tok == "<ForwardPdfClass>") {
          int32_t pdf_class = ReadBasicType<int32_t>(is, binary);
          entry.back().forward_pdf_class = entry.back().self_loop_pdf_class = pdf_class;
          tok = ReadToken(is, binary);
          if (tok == "<SelfLoopPdfClass>") {
            entry.back().self_loop_pdf_class = ReadBasicType<int32_t>(is, binary);
            tok = ReadToken(is, binary);
          }
        }
        while (tok == "<Transition>") {
          int32_t dst = ReadBasicType<int32_t>(is, binary);
          float prob = ReadBasicType<float>(is, binary);
          entry.back().transitions.emplace_back(dst, prob);
          tok = ReadToken(is, binary);
        }
        KQ_CHECK(tok == "</State>", kFormat) << "expected </State>, got '" << QuoteBytes(tok) << "' "
                                             << DescribePosition(is);
        tok = ReadToken(is, binary);
      }
      const int32_t index = static_cast<int32_t>(entries.size());
      entries.push_back(std::move(entry));
      for (int32_t p : entry_phones) {
        if (static_cast<size_t>(p) >= phone2idx.size()) phone2idx.resize(p + 1, -1);
        KQ_CHECK(phone2idx[p] == -1, kFormat) << "phone " << p << " appears in two topology entries";
        phone2idx[p] = index;
      }
      tok = ReadToken(is, binary);
    }
    for (size_t i = 0; i < phone2idx.size(); ++i)
      if (phone2idx[i] != -1) phones.push_back(static_cast<int32_t>(i));
    // The loop above consumed </Topology>.
  } else {
    phones = ReadInt32Vector(is, binary);
    phone2idx = ReadInt32Vector(is, binary);
    int32_t n = ReadBasicType<int32_t>(is, binary);
    bool is_hmm = true;
    if (n == -1) {
      is_hmm = false;
      n = ReadBasicType<int32_t>(is, binary);
    }
    KQ_CHECK(n >= 0 && n < kMaxPhones, kFormat) << "bad number of topology entries " << n;
    CheckPayloadFits(is, static_cast<int64_t>(n) * 5, "HMM topology");
    entries.resize(n);
    for (auto& entry : entries) {
      int32_t num_states = ReadBasicType<int32_t>(is, binary);
      KQ_CHECK(num_states >= 0 && num_states < kMaxStates, kFormat)
          << "bad number of HMM states " << num_states << " " << DescribePosition(is);
      entry.resize(num_states);
      for (auto& s : entry) {
        s.forward_pdf_class = ReadBasicType<int32_t>(is, binary);
        s.self_loop_pdf_class =
            is_hmm ? s.forward_pdf_class : ReadBasicType<int32_t>(is, binary);
        int32_t num_trans = ReadBasicType<int32_t>(is, binary);
        KQ_CHECK(num_trans >= 0 && num_trans < kMaxStates, kFormat)
            << "bad number of transitions " << num_trans << " " << DescribePosition(is);
        s.transitions.resize(num_trans);
        for (auto& t : s.transitions) {
          t.first = ReadBasicType<int32_t>(is, binary);
          t.second = ReadBasicType<float>(is, binary);
        }
      }
    }
    ExpectToken(is, binary, "</Topology>");
  }
  // Consistency, so that later index arithmetic cannot go out of bounds.
  for (size_t i = 0; i < phone2idx.size(); ++i)
    KQ_CHECK(phone2idx[i] >= -1 && phone2idx[i] < static_cast<int32_t>(entries.size()), kFormat)
        << "bad topology index for phone " << i;
  for (int32_t p : phones)
    KQ_CHECK(p >= 0 && static_cast<size_t>(p) < phone2idx.size() && phone2idx[p] >= 0, kFormat)
        << "phone " << p << " listed without a topology entry";
  for (const auto& entry : entries)
    for (const auto& s : entry)
      for (const auto& t : s.transitions)
        KQ_CHECK(t.first >= 0 && t.first < static_cast<int32_t>(entry.size()), kFormat)
            << "HMM transition to nonexistent state " << t.first;
}

void HmmTopology::Write(std::ostream& os, bool binary) const {
  const bool is_hmm = IsHmm();
  WriteToken(os, binary, "<Topology>");
  if (!binary) {
    os << '\n';
    for (size_t i = 0; i < entries.size(); ++i) {
      WriteToken(os, binary, "<TopologyEntry>");
      os << '\n';
      WriteToken(os, binary, "<ForPhones>");
      os << '\n';
      for (int32_t p : phones)
        if (phone2idx[p] == static_cast<int32_t>(i)) os << p << ' ';
      os << '\n';
      WriteToken(os, binary, "</ForPhones>");
      os << '\n';
      for (size_t j = 0; j < entries[i].size(); ++j) {
        const HmmState& s = entries[i][j];
        WriteToken(os, binary, "<State>");
        WriteBasicType<int32_t>(os, binary, static_cast<int32_t>(j));
        if (s.forward_pdf_class != kNoPdf) {
          if (is_hmm) {
            WriteToken(os, binary, "<PdfClass>");
            WriteBasicType<int32_t>(os, binary, s.forward_pdf_class);
          } else {
            WriteToken(os, binary, "<ForwardPdfClass>");
            WriteBasicType<int32_t>(os, binary, s.forward_pdf_class);
            WriteToken(os, binary, "<SelfLoopPdfClass>");
            WriteBasicType<int32_t>(os, binary, s.self_loop_pdf_class);
          }
        }
        for (const auto& t : s.transitions) {
          WriteToken(os, binary, "<Transition>");
          WriteBasicType<int32_t>(os, binary, t.first);
          WriteBasicType<float>(os, binary, t.second);
        }
        WriteToken(os, binary, "</State>");
        os << '\n';
      }
      WriteToken(os, binary, "</TopologyEntry>");
      os << '\n';
    }
  } else {
    WriteInt32Vector(os, binary, phones);
    WriteInt32Vector(os, binary, phone2idx);
    if (!is_hmm) WriteBasicType<int32_t>(os, binary, -1);
    WriteBasicType<int32_t>(os, binary, static_cast<int32_t>(entries.size()));
    for (const auto& entry : entries) {
      WriteBasicType<int32_t>(os, binary, static_cast<int32_t>(entry.size()));
      for (const auto& s : entry) {
        WriteBasicType<int32_t>(os, binary, s.forward_pdf_class);
        if (!is_hmm) WriteBasicType<int32_t>(os, binary, s.self_loop_pdf_class);
        WriteBasicType<int32_t>(os, binary, static_cast<int32_t>(s.transitions.size()));
        for (const auto& t : s.transitions) {
          WriteBasicType<int32_t>(os, binary, t.first);
          WriteBasicType<float>(os, binary, t.second);
        }
      }
    }
  }
  WriteToken(os, binary, "</Topology>");
  if (!binary) os << '\n';
}

void TransitionModel::Read(std::istream& is, bool binary, bool opening_token_read) {
  *this = TransitionModel();
  if (!opening_token_read) ExpectToken(is, binary, "<TransitionModel>");
  topo_.Read(is, binary);
  std::string tok = ReadToken(is, binary);
  KQ_CHECK(tok == "<Tuples>" || tok == "<Triples>", kFormat)
      << "expected <Tuples> or <Triples>, got '" << QuoteBytes(tok) << "' " << DescribePosition(is);
  const bool tuples = tok == "<Tuples>";
  int32_t n = ReadBasicType<int32_t>(is, binary);
  KQ_CHECK(n >= 0, kFormat) << "bad number of transition states " << n;
  CheckPayloadFits(is, static_cast<int64_t>(n) * (tuples ? 4 : 3) * (binary ? 5 : 2),
                   "transition-model tuples");
  tuples_.resize(n);
  for (auto& t : tuples_) {
    t.phone = ReadBasicType<int32_t>(is, binary);
    t.hmm_state = ReadBasicType<int32_t>(is, binary);
    t.forward_pdf = ReadBasicType<int32_t>(is, binary);
    t.self_loop_pdf = tuples ? ReadBasicType<int32_t>(is, binary) : t.forward_pdf;
  }
  ExpectToken(is, binary, tuples ? "</Tuples>" : "</Triples>");
  ComputeDerived();
  ExpectToken(is, binary, "<LogProbs>");
  ReadVector(is, binary, &log_probs_);
  ExpectToken(is, binary, "</LogProbs>");
  ExpectToken(is, binary, "</TransitionModel>");
  KQ_CHECK(log_probs_.size() == id2state_.size(), kFormat)
      << "transition model has " << log_probs_.size() << " log-probs for "
      << NumTransitionIds() << " transition-ids (+1 expected)";
}

void TransitionModel::Write(std::ostream& os, bool binary) const {
  if (!binary) EnsureKaldiPrecision(os);
  const bool is_hmm = topo_.IsHmm();
  WriteToken(os, binary, "<TransitionModel>");
  if (!binary) os << '\n';
  topo_.Write(os, binary);
  WriteToken(os, binary, is_hmm ? "<Triples>" : "<Tuples>");
  WriteBasicType<int32_t>(os, binary, static_cast<int32_t>(tuples_.size()));
  if (!binary) os << '\n';
  for (const auto& t : tuples_) {
    WriteBasicType<int32_t>(os, binary, t.phone);
    WriteBasicType<int32_t>(os, binary, t.hmm_state);
    WriteBasicType<int32_t>(os, binary, t.forward_pdf);
    if (!is_hmm) WriteBasicType<int32_t>(os, binary, t.self_loop_pdf);
    if (!binary) os << '\n';
  }
  WriteToken(os, binary, is_hmm ? "</Triples>" : "</Tuples>");
  if (!binary) os << '\n';
  WriteToken(os, binary, "<LogProbs>");
  if (!binary) os << '\n';
  WriteVector(os, binary, log_probs_);
  WriteToken(os, binary, "</LogProbs>");
  if (!binary) os << '\n';
  WriteToken(os, binary, "</TransitionModel>");
  if (!binary) os << '\n';
}

void TransitionModel::ComputeDerived() {
  const int32_t n = static_cast<int32_t>(tuples_.size());
  state2id_.assign(n + 2, 0);
  int32_t cur = 1;
  num_pdfs_ = 0;
  for (int32_t ts = 1; ts <= n + 1; ++ts) {
    state2id_[ts] = cur;
    if (ts <= n) {
      const Tuple& t = tuples_[ts - 1];
      // The upper bound keeps `pdf + 1` below from overflowing on a hostile file.
      KQ_CHECK(t.forward_pdf >= 0 && t.self_loop_pdf >= 0 &&
                   t.forward_pdf < std::numeric_limits<int32_t>::max() &&
                   t.self_loop_pdf < std::numeric_limits<int32_t>::max(),
               kFormat)
          << "pdf-id out of range in transition state " << ts;
      num_pdfs_ = std::max({num_pdfs_, t.forward_pdf + 1, t.self_loop_pdf + 1});
      const auto& entry = topo_.TopologyForPhone(t.phone);
      KQ_CHECK(t.hmm_state >= 0 && t.hmm_state < static_cast<int32_t>(entry.size()), kFormat)
          << "transition state " << ts << ": HMM state " << t.hmm_state << " out of range";
      const int64_t next = static_cast<int64_t>(cur) +
                           static_cast<int64_t>(entry[t.hmm_state].transitions.size());
      KQ_CHECK(next < std::numeric_limits<int32_t>::max(), kFormat)
          << "too many transition-ids (transition state " << ts << ")";
      cur = static_cast<int32_t>(next);
    }
  }
  id2state_.assign(cur, 0);
  id2pdf_id_.assign(cur, 0);
  for (int32_t ts = 1; ts <= n; ++ts) {
    for (int32_t tid = state2id_[ts]; tid < state2id_[ts + 1]; ++tid) {
      id2state_[tid] = ts;
      id2pdf_id_[tid] = IsSelfLoop(tid) ? tuples_[ts - 1].self_loop_pdf : tuples_[ts - 1].forward_pdf;
    }
  }
}

int32_t TransitionModel::CheckTid(int32_t tid) const {
  KQ_CHECK(tid >= 1 && tid <= NumTransitionIds(), kInvalidArgument)
      << "transition-id " << tid << " out of range [1, " << NumTransitionIds() << "]";
  return tid;
}

int32_t TransitionModel::NumPhones() const {
  return topo_.phones.empty() ? 0 : topo_.phones.back();
}

int32_t TransitionModel::TransitionIdToPdf(int32_t tid) const {
  return id2pdf_id_[CheckTid(tid)];
}

int32_t TransitionModel::TransitionIdToTransitionState(int32_t tid) const {
  return id2state_[CheckTid(tid)];
}

int32_t TransitionModel::TransitionIdToTransitionIndex(int32_t tid) const {
  return CheckTid(tid) - state2id_[id2state_[tid]];
}

int32_t TransitionModel::TransitionIdToPhone(int32_t tid) const {
  return tuples_[id2state_[CheckTid(tid)] - 1].phone;
}

int32_t TransitionModel::TransitionIdToHmmState(int32_t tid) const {
  return tuples_[id2state_[CheckTid(tid)] - 1].hmm_state;
}

bool TransitionModel::IsSelfLoop(int32_t tid) const {
  const int32_t ts = id2state_[CheckTid(tid)];
  const Tuple& t = tuples_[ts - 1];
  const auto& entry = topo_.TopologyForPhone(t.phone);
  const int32_t index = tid - state2id_[ts];
  return entry[t.hmm_state].transitions[index].first == t.hmm_state;
}

bool TransitionModel::IsFinal(int32_t tid) const {
  const int32_t ts = id2state_[CheckTid(tid)];
  const Tuple& t = tuples_[ts - 1];
  const auto& entry = topo_.TopologyForPhone(t.phone);
  const int32_t index = tid - state2id_[ts];
  return static_cast<size_t>(entry[t.hmm_state].transitions[index].first) + 1 == entry.size();
}

float TransitionModel::GetTransitionLogProb(int32_t tid) const {
  return log_probs_[CheckTid(tid)];
}

int32_t TransitionModel::PairToTransitionId(int32_t trans_state, int32_t trans_index) const {
  KQ_CHECK(trans_state >= 1 && trans_state <= NumTransitionStates(), kInvalidArgument)
      << "transition state " << trans_state << " out of range";
  const int32_t tid = state2id_[trans_state] + trans_index;
  KQ_CHECK(trans_index >= 0 && tid < state2id_[trans_state + 1], kInvalidArgument)
      << "transition index " << trans_index << " out of range";
  return tid;
}

}  // namespace kaldiq::kaldi
