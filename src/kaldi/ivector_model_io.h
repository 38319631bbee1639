// The files of Kaldi's online i-vector extractor directory that are not plain matrices:
// final.dubm (DiagGmm, gmm/diag-gmm.cc) and final.ie (IvectorExtractor,
// ivector/ivector-extractor.cc), with Kaldi's packed symmetric matrices (matrix/packed-matrix.cc)
// inside. (final.mat and global_cmvn.stats are matrices: kaldi/matrix_io.h.)
//
// Formats, binary and text alike (tokens followed by one space):
//   DiagGmm:   <DiagGMM> [<GCONSTS> FV] <WEIGHTS> FV <MEANS_INVVARS> FM (G x D) <INV_VARS> FM (G x D)
//              </DiagGMM>; the legacy <DiagGMMBegin>/<DiagGMMEnd> are accepted. Kaldi ignores the
//              stored gconsts and recomputes them; they are kept here only to write back.
//   IvectorExtractor: <IvectorExtractor> <w> DM (G x I, or 0 x 0) <w_vec> DV (G, or empty)
//              <M> int32 G, then G matrices DM (D x I) <SigmaInv> G packed DP (D)
//              <IvectorOffset> double </IvectorExtractor>.
//   Packed:    binary "DP"/"FP" int32 n, then n(n+1)/2 raw values of the lower triangle row by
//              row ((0,0), (1,0), (1,1), (2,0), ...); text "[\n" rows "v v \n" ... "]\n".
// Readers take either stored precision. Every dimension is checked against the others and the
// bytes left in the stream before anything is allocated; errors are kaldiq::Error (kFormat) with
// the element and byte offset. Writers reproduce Kaldi's bytes (a binary round trip is identical).
#pragma once

#include <cstdint>
#include <istream>
#include <ostream>
#include <string>
#include <vector>

#include "core/matrix.h"

namespace kaldiq::kaldi {

// A symmetric matrix stored as its lower triangle, row by row (Kaldi's SpMatrix<double>).
struct PackedMatrixD {
  int32_t dim = 0;
  std::vector<double> data;  // dim * (dim + 1) / 2 values
};

// expected_dim >= 0: a packed matrix of another dimension is an error, raised before its data
// are read.
void ReadPackedMatrix(std::istream& is, bool binary, PackedMatrixD* m, int32_t expected_dim = -1);
void WritePackedMatrix(std::ostream& os, bool binary, const PackedMatrixD& m);

// Kaldi's DiagGmm as stored: weights (G), means times inverse variances and inverse variances
// (G x D), and the stored gconsts (G, or empty when the file has none).
struct DiagGmmFile {
  std::vector<float> gconsts;
  std::vector<float> weights;
  MatrixF means_invvars;
  MatrixF inv_vars;
  int32_t NumGauss() const { return static_cast<int32_t>(weights.size()); }
  int32_t Dim() const { return static_cast<int32_t>(inv_vars.cols()); }
};

void ReadDiagGmm(std::istream& is, bool binary, DiagGmmFile* gmm);
// Writes the stored gconsts when present (Kaldi writes the ones it computed; give them here).
void WriteDiagGmm(std::ostream& os, bool binary, const DiagGmmFile& gmm);

// Kaldi's IvectorExtractor as stored: M[g] (D x I) projects the i-vector to the mean of
// Gaussian g, sigma_inv[g] its inverse covariance; w (G x I) is empty unless the weights depend
// on the i-vector; prior_offset is the prior mean of i-vector dimension 0.
struct IvectorExtractorFile {
  MatrixD w;
  std::vector<double> w_vec;
  std::vector<MatrixD> M;
  std::vector<PackedMatrixD> sigma_inv;
  double prior_offset = 0;
  int32_t NumGauss() const { return static_cast<int32_t>(M.size()); }
  int32_t FeatDim() const { return M.empty() ? 0 : static_cast<int32_t>(M[0].rows()); }
  int32_t IvectorDim() const { return M.empty() ? 0 : static_cast<int32_t>(M[0].cols()); }
};

void ReadIvectorExtractor(std::istream& is, bool binary, IvectorExtractorFile* ie);
void WriteIvectorExtractor(std::ostream& os, bool binary, const IvectorExtractorFile& ie);

// Kaldi's ReadKaldiObject(rxfilename, &obj): opens the rxfilename (file, pipe, "-"), detects
// binary from the "\0B" marker and reads; errors carry the rxfilename.
DiagGmmFile ReadDiagGmmFile(const std::string& rxfilename);
IvectorExtractorFile ReadIvectorExtractorFile(const std::string& rxfilename);
// The same for a Kaldi matrix file (final.mat, global_cmvn.stats).
MatrixF ReadMatrixFileF(const std::string& rxfilename);
MatrixD ReadMatrixFileD(const std::string& rxfilename);

}  // namespace kaldiq::kaldi
