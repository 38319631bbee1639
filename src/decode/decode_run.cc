#include "decode/decode_run.h"

#include <cstdio>
#include <iostream>
#include <sstream>

#include "kaldi/holders.h"
#include "kaldi/lattice_io.h"
#include "kaldi/table.h"
#include "util/error.h"
#include "util/thread_pool.h"

namespace kaldiq::decode {

struct DecodeRun::Impl {
  kaldi::TableWriter<kaldi::CompactLatticeHolder> clat_writer;
  kaldi::TableWriter<kaldi::LatticeHolder> lat_writer;
  kaldi::TableWriter<kaldi::Int32VectorHolder> words_writer;
  kaldi::TableWriter<kaldi::Int32VectorHolder> ali_writer;
  bool words_open = false, ali_open = false;
  std::vector<std::unique_ptr<LatticeFasterDecoder>> const_decoders;
  std::vector<std::unique_ptr<LatticeFasterDecoderVector>> vector_decoders;
};

DecodeRun::DecodeRun(const DecodingGraph* graph, std::vector<int32_t> tid_to_pdf,
                     int32_t num_pdfs, const DecodeRunOptions& opts)
    : graph_(graph),
      tid_to_pdf_(std::move(tid_to_pdf)),
      num_pdfs_(num_pdfs),
      opts_(opts),
      impl_(new Impl),
      progress_(opts.program, 0, opts.quiet),
      start_(std::chrono::steady_clock::now()) {
  KQ_CHECK(opts_.num_threads >= 1, kInvalidArgument) << "--num-threads must be >= 1";
  KQ_CHECK(opts_.utterance.acoustic_scale > 0.0f, kInvalidArgument)
      << "--acoustic-scale must be > 0";
  opts_.decoder.Check();
  if (!opts_.word_symbol_table.empty()) {
    word_syms_.reset(fst::SymbolTable::ReadText(opts_.word_symbol_table));
    KQ_CHECK(word_syms_ != nullptr, kIo)
        << "could not read the word symbol table " << opts_.word_symbol_table;
  }
  for (int t = 0; t < opts_.num_threads; ++t) {
    if (graph_->const_fst) {
      impl_->const_decoders.emplace_back(
          new LatticeFasterDecoder(*graph_->const_fst, opts_.decoder));
    } else {
      impl_->vector_decoders.emplace_back(
          new LatticeFasterDecoderVector(*graph_->vector_fst, opts_.decoder));
    }
  }
  const int32_t max_ilabel = graph_->const_fst ? impl_->const_decoders[0]->MaxIlabel()
                                               : impl_->vector_decoders[0]->MaxIlabel();
  KQ_CHECK(max_ilabel < static_cast<int32_t>(tid_to_pdf_.size()), kInvalidArgument)
      << "the decoding graph uses transition id " << max_ilabel << " but the model has only "
      << static_cast<int64_t>(tid_to_pdf_.size()) - 1
      << " transition ids (graph and model do not match)";
}

DecodeRun::~DecodeRun() = default;

void DecodeRun::OpenOutputs(const std::string& lattice_wspec, const std::string& words_wspec,
                            const std::string& alignments_wspec) {
  if (opts_.utterance.determinize_lattice) {
    impl_->clat_writer.Open(lattice_wspec);
  } else {
    impl_->lat_writer.Open(lattice_wspec);
  }
  if (!words_wspec.empty()) {
    impl_->words_writer.Open(words_wspec);
    impl_->words_open = true;
  }
  if (!alignments_wspec.empty()) {
    impl_->ali_writer.Open(alignments_wspec);
    impl_->ali_open = true;
  }
}

void DecodeRun::DecodeOne(DecodeRunItem* item, const PrepareFn& prepare, int worker,
                          UtteranceResult* result, std::string* error) {
  if (!item->error.empty()) {
    *error = item->error;
    return;
  }
  try {
    if (prepare) prepare(item, worker);
    if (item->loglikes.rows() == 0) {
      *error = "Zero-length utterance: " + item->key;
      return;
    }
    DecodableMatrixScaledMapped decodable(item->loglikes, tid_to_pdf_, num_pdfs_,
                                          opts_.utterance.acoustic_scale);
    for (int64_t i = 0; i < item->loglikes.size(); ++i) {
      const float v = item->loglikes.data()[i];
      KQ_CHECK(v == v && v != std::numeric_limits<float>::infinity(), kInvalidArgument)
          << "log-likelihoods contain NaN or +inf (row " << i / item->loglikes.cols() << ")";
    }
    if (graph_->const_fst) {
      DecodeUtterance(impl_->const_decoders[worker].get(), &decodable, item->key,
                      opts_.decoder.lattice_beam, opts_.utterance, result);
    } else {
      DecodeUtterance(impl_->vector_decoders[worker].get(), &decodable, item->key,
                      opts_.decoder.lattice_beam, opts_.utterance, result);
    }
  } catch (const Error& e) {
    *error = "utterance " + item->key + ": " + e.what();
    *result = UtteranceResult();
  }
}

void DecodeRun::WriteResult(const std::string& key, UtteranceResult* result,
                            const std::string& error, int64_t num_frames) {
  Emit(key, result, error, num_frames);
  progress_.Add(1);
}

void DecodeRun::Emit(const std::string& key, UtteranceResult* r, const std::string& error,
                     int64_t num_frames) {
  const std::string& prog = opts_.program;
  if (!error.empty()) std::fprintf(stderr, "WARNING (%s) %s\n", prog.c_str(), error.c_str());
  for (const std::string& w : r->warnings)
    std::fprintf(stderr, "WARNING (%s) %s\n", prog.c_str(), w.c_str());
  if (r->partial) ++num_partial_;
  if (!r->ok) {
    ++num_failed_;
    return;
  }
  if (word_syms_ != nullptr) {
    std::ostringstream line;
    line << key << ' ';
    for (int32_t w : r->words) {
      const std::string s = word_syms_->Find(w);
      KQ_CHECK(!s.empty(), kInvalidArgument)
          << "word id " << w << " (utterance " << key << ") is not in the symbol table "
          << opts_.word_symbol_table;
      line << s << ' ';
    }
    std::fprintf(stderr, "%s\n", line.str().c_str());
  }
  if (!opts_.quiet) {
    std::ostringstream line;
    line << "Log-like per frame for utterance " << key << " is "
         << (r->likelihood / r->num_frames) << " over " << r->num_frames << " frames.";
    std::fprintf(stderr, "LOG (%s) %s\n", prog.c_str(), line.str().c_str());
  }
  if (impl_->words_open) impl_->words_writer.Write(key, r->words);
  if (impl_->ali_open) impl_->ali_writer.Write(key, r->alignment);
  if (opts_.utterance.determinize_lattice) {
    impl_->clat_writer.Write(key, r->clat);
  } else {
    impl_->lat_writer.Write(key, r->lat);
  }
  ++num_done_;
  total_like_ += r->likelihood;
  frame_count_ += num_frames;
}

void DecodeRun::ProcessBatch(std::vector<DecodeRunItem>* items, const PrepareFn& prepare) {
  const int64_t n = static_cast<int64_t>(items->size());
  std::vector<UtteranceResult> results(n);
  std::vector<std::string> errors(n);
  ParallelFor(n, opts_.num_threads, [&](int64_t i, int worker) {
    DecodeOne(&(*items)[i], prepare, worker, &results[i], &errors[i]);
  });
  for (int64_t i = 0; i < n; ++i) {
    Emit((*items)[i].key, &results[i], errors[i], (*items)[i].loglikes.rows());
    results[i] = UtteranceResult();  // free lattices early
    progress_.Add(1);
  }
}

int DecodeRun::Finish() {
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  if (opts_.utterance.determinize_lattice) {
    impl_->clat_writer.Close();
  } else {
    impl_->lat_writer.Close();
  }
  if (impl_->words_open) impl_->words_writer.Close();
  if (impl_->ali_open) impl_->ali_writer.Close();
  progress_.Finish();
  const char* prog = opts_.program.c_str();
  std::ostringstream l1, l2, l3, l4;
  l1 << "Time taken " << elapsed << "s: real-time factor assuming 100 frames/sec is "
     << (frame_count_ > 0 ? elapsed * 100.0 / frame_count_ : 0.0);
  l2 << "Done " << num_done_ << " utterances, failed for " << num_failed_;
  l3 << "Overall log-likelihood per frame is "
     << (frame_count_ > 0 ? total_like_ / frame_count_ : 0.0) << " over " << frame_count_
     << " frames.";
  std::fprintf(stderr, "LOG (%s) %s\nLOG (%s) %s\nLOG (%s) %s\n", prog, l1.str().c_str(), prog,
               l2.str().c_str(), prog, l3.str().c_str());
  if (num_partial_ > 0) {
    l4 << num_partial_ << " utterance(s) reached no final state; "
       << (opts_.utterance.allow_partial ? "partial output written (--allow-partial=true)"
                                         : "no output for them (--allow-partial=false)");
    std::fprintf(stderr, "LOG (%s) %s\n", prog, l4.str().c_str());
  }
  return num_done_ > 0 ? 0 : 1;
}

}  // namespace kaldiq::decode
