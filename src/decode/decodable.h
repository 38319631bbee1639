// The acoustic-score interface the decoder pulls from (Kaldi's DecodableInterface), and the
// matrix-backed implementation used by `kaldiq decode` (Kaldi's DecodableMatrixScaledMapped).
//
// Index convention (Kaldi's): indices are transition ids, 1-based; index 0 is epsilon and is
// never asked for. LogLikelihood returns a log-likelihood (higher is better), already scaled by
// the acoustic scale.
#pragma once

#include <cstdint>
#include <vector>

#include "core/matrix.h"
#include "util/error.h"

namespace kaldiq::decode {

class Decodable {
 public:
  virtual ~Decodable() = default;
  // Scaled log-likelihood of `index` (a 1-based transition id) on 0-based `frame`.
  virtual float LogLikelihood(int32_t frame, int32_t index) = 0;
  // Number of frames whose likelihoods are available now.
  virtual int32_t NumFramesReady() const = 0;
  // True when `frame` is the utterance's last frame.
  virtual bool IsLastFrame(int32_t frame) const = 0;
  // Largest valid index (the number of transition ids).
  virtual int32_t NumIndices() const = 0;

  // Fast path for the decoder: fills out[1..NumIndices()] with LogLikelihood(frame, i)
  // (out[0] untouched). The default calls LogLikelihood per index.
  virtual void FillFrame(int32_t frame, float* out) {
    const int32_t n = NumIndices();
    for (int32_t i = 1; i <= n; ++i) out[i] = LogLikelihood(frame, i);
  }
};

// Log-likelihoods stored as a (frames x pdfs) matrix; transition id t reads column
// tid_to_pdf[t] (tid_to_pdf[0] is unused), scaled by `scale` (the acoustic scale).
// The matrix and map are borrowed and must outlive this object.
class DecodableMatrixScaledMapped : public Decodable {
 public:
  // Throws kaldiq::Error (kInvalidArgument) when the matrix has a different number of columns
  // from the number of pdfs, or a map entry is outside [0, num_pdfs).
  DecodableMatrixScaledMapped(const MatrixF& loglikes, const std::vector<int32_t>& tid_to_pdf,
                              int32_t num_pdfs, float scale)
      : loglikes_(loglikes), tid_to_pdf_(tid_to_pdf), scale_(scale) {
    KQ_CHECK(loglikes.cols() == num_pdfs, kInvalidArgument)
        << "log-likelihood matrix has " << loglikes.cols() << " columns but the model has "
        << num_pdfs << " pdfs";
    KQ_CHECK(!tid_to_pdf.empty(), kInvalidArgument) << "empty transition-id to pdf map";
    for (size_t t = 1; t < tid_to_pdf.size(); ++t) {
      KQ_CHECK(tid_to_pdf[t] >= 0 && tid_to_pdf[t] < num_pdfs, kInvalidArgument)
          << "transition id " << t << " maps to pdf " << tid_to_pdf[t] << " outside [0, "
          << num_pdfs << ")";
    }
  }

  float LogLikelihood(int32_t frame, int32_t index) override {
    return scale_ * loglikes_(frame, tid_to_pdf_[index]);
  }
  int32_t NumFramesReady() const override { return static_cast<int32_t>(loglikes_.rows()); }
  bool IsLastFrame(int32_t frame) const override { return frame == NumFramesReady() - 1; }
  int32_t NumIndices() const override { return static_cast<int32_t>(tid_to_pdf_.size()) - 1; }
  void FillFrame(int32_t frame, float* out) override {
    const float* row = loglikes_.Row(frame);
    const int32_t* map = tid_to_pdf_.data();
    const int32_t n = NumIndices();
    for (int32_t i = 1; i <= n; ++i) out[i] = scale_ * row[map[i]];
  }

 private:
  const MatrixF& loglikes_;
  const std::vector<int32_t>& tid_to_pdf_;
  float scale_;
};

}  // namespace kaldiq::decode
