// Weight-carrying components: Affine, NaturalGradientAffine, FixedAffine, Linear, Tdnn,
// TimeHeightConvolution. Token sequences follow Kaldi's Write() exactly; Read() also accepts the
// optional/back-compatibility tokens Kaldi's readers accept.
#include "kaldi/nnet3/components_internal.h"
#include "kaldi/nnet3/io_util.h"
#include "util/error.h"

namespace kaldiq::kaldi::internal {

namespace {

// Shape checks so that consumers can index weights without re-validating.
void CheckBias(const MatrixF& w, const std::vector<float>& b, bool may_be_empty) {
  KQ_CHECK((may_be_empty && b.empty()) || static_cast<int64_t>(b.size()) == w.rows(), kFormat)
      << "bias dim " << b.size() << " does not match " << w.rows() << " weight rows";
  KQ_CHECK(w.rows() > 0 && w.cols() > 0, kFormat) << "empty weight matrix";
}

void ReadAffine(std::istream& is, bool binary, bool natural_gradient, AffineComponent* c) {
  c->natural_gradient = natural_gradient;
  ReadUpdatableCommon(is, binary, &c->common);
  ExpectToken(is, binary, "<LinearParams>");
  ReadMatrix(is, binary, &c->linear_params);
  ExpectToken(is, binary, "<BiasParams>");
  ReadVector(is, binary, &c->bias_params);
  const std::string close =
      natural_gradient ? "</NaturalGradientAffineComponent>" : "</AffineComponent>";
  std::string tok = ReadToken(is, binary);
  if (!natural_gradient) {
    if (tok == "<IsGradient>") {
      c->common.is_gradient = ReadBool(is, binary);
      tok = ReadToken(is, binary);
    }
    if (tok == "<OrthonormalConstraint>") {
      c->orthonormal_constraint = ReadFloat(is, binary);
      tok = ReadToken(is, binary);
    }
    if (tok != close) UnexpectedToken(is, close, tok);
    CheckBias(c->linear_params, c->bias_params, false);
    return;
  }
  if (tok != "<RankIn>") UnexpectedToken(is, "<RankIn>", tok);
  c->rank_in = ReadInt(is, binary);
  c->rank_out = ExpectInt(is, binary, "<RankOut>");
  tok = ReadToken(is, binary);
  if (tok == "<OrthonormalConstraint>") {
    c->orthonormal_constraint = ReadFloat(is, binary);
    tok = ReadToken(is, binary);
  }
  if (tok != "<UpdatePeriod>") UnexpectedToken(is, "<UpdatePeriod>", tok);
  c->update_period = ReadInt(is, binary);
  c->num_samples_history = ExpectFloat(is, binary, "<NumSamplesHistory>");
  c->alpha = ExpectFloat(is, binary, "<Alpha>");
  tok = ReadToken(is, binary);
  if (tok == "<MaxChangePerSample>") {  // long-removed option, still accepted by Kaldi
    ReadFloat(is, binary);
    tok = ReadToken(is, binary);
  }
  if (tok == "<IsGradient>") {
    c->common.is_gradient = ReadBool(is, binary);
    tok = ReadToken(is, binary);
  }
  if (tok == "<UpdateCount>") {
    ReadDouble(is, binary);
    ExpectToken(is, binary, "<ActiveScalingCount>");
    ReadDouble(is, binary);
    ExpectToken(is, binary, "<MaxChangeScaleStats>");
    ReadDouble(is, binary);
    tok = ReadToken(is, binary);
  }
  if (tok != close) UnexpectedToken(is, close, tok);
  CheckBias(c->linear_params, c->bias_params, false);
}

void WriteAffine(std::ostream& os, bool binary, const AffineComponent& c) {
  const std::string type = c.natural_gradient ? "NaturalGradientAffineComponent" : "AffineComponent";
  WriteUpdatableCommon(os, binary, type, c.common);
  WriteToken(os, binary, "<LinearParams>");
  WriteMatrix(os, binary, c.linear_params);
  WriteToken(os, binary, "<BiasParams>");
  WriteVector(os, binary, c.bias_params);
  if (c.natural_gradient) {
    WriteTokenInt(os, binary, "<RankIn>", c.rank_in);
    WriteTokenInt(os, binary, "<RankOut>", c.rank_out);
    if (c.orthonormal_constraint != 0.0f)
      WriteTokenFloat(os, binary, "<OrthonormalConstraint>", c.orthonormal_constraint);
    WriteTokenInt(os, binary, "<UpdatePeriod>", c.update_period);
    WriteTokenFloat(os, binary, "<NumSamplesHistory>", c.num_samples_history);
    WriteTokenFloat(os, binary, "<Alpha>", c.alpha);
  } else if (c.orthonormal_constraint != 0.0f) {
    WriteTokenFloat(os, binary, "<OrthonormalConstraint>", c.orthonormal_constraint);
  }
  WriteToken(os, binary, "</" + type + ">");
}

void ReadFixedAffine(std::istream& is, bool binary, FixedAffineComponent* c) {
  ExpectToken(is, binary, "<LinearParams>");
  ReadMatrix(is, binary, &c->linear_params);
  ExpectToken(is, binary, "<BiasParams>");
  ReadVector(is, binary, &c->bias_params);
  ExpectToken(is, binary, "</FixedAffineComponent>");
  CheckBias(c->linear_params, c->bias_params, false);
}

void WriteFixedAffine(std::ostream& os, bool binary, const FixedAffineComponent& c) {
  WriteToken(os, binary, "<FixedAffineComponent>");
  WriteToken(os, binary, "<LinearParams>");
  WriteMatrix(os, binary, c.linear_params);
  WriteToken(os, binary, "<BiasParams>");
  WriteVector(os, binary, c.bias_params);
  WriteToken(os, binary, "</FixedAffineComponent>");
}

void ReadLinear(std::istream& is, bool binary, LinearComponent* c) {
  ReadUpdatableCommon(is, binary, &c->common);
  ExpectToken(is, binary, "<Params>");
  ReadMatrix(is, binary, &c->params);
  std::string tok = ReadToken(is, binary);
  if (tok == "<OrthonormalConstraint>") {
    c->orthonormal_constraint = ReadFloat(is, binary);
    tok = ReadToken(is, binary);
  }
  if (tok != "<UseNaturalGradient>") UnexpectedToken(is, "<UseNaturalGradient>", tok);
  c->use_natural_gradient = ReadBool(is, binary);
  ExpectToken(is, binary, "<RankInOut>");
  c->rank_in = ReadInt(is, binary);
  c->rank_out = ReadInt(is, binary);
  c->alpha = ExpectFloat(is, binary, "<Alpha>");
  c->num_samples_history = ExpectFloat(is, binary, "<NumSamplesHistory>");
  c->update_period = ExpectInt(is, binary, "<UpdatePeriod>");
  ExpectToken(is, binary, "</LinearComponent>");
  KQ_CHECK(c->params.rows() > 0 && c->params.cols() > 0, kFormat) << "empty weight matrix";
}

void WriteLinear(std::ostream& os, bool binary, const LinearComponent& c) {
  WriteUpdatableCommon(os, binary, "LinearComponent", c.common);
  WriteToken(os, binary, "<Params>");
  WriteMatrix(os, binary, c.params);
  if (c.orthonormal_constraint != 0.0f)
    WriteTokenFloat(os, binary, "<OrthonormalConstraint>", c.orthonormal_constraint);
  WriteTokenBool(os, binary, "<UseNaturalGradient>", c.use_natural_gradient);
  WriteToken(os, binary, "<RankInOut>");
  WriteInt(os, binary, c.rank_in);
  WriteInt(os, binary, c.rank_out);
  WriteTokenFloat(os, binary, "<Alpha>", c.alpha);
  WriteTokenFloat(os, binary, "<NumSamplesHistory>", c.num_samples_history);
  WriteTokenInt(os, binary, "<UpdatePeriod>", c.update_period);
  WriteToken(os, binary, "</LinearComponent>");
}

void ReadTdnn(std::istream& is, bool binary, TdnnComponent* c) {
  ReadUpdatableCommon(is, binary, &c->common);
  ExpectToken(is, binary, "<TimeOffsets>");
  c->time_offsets = ReadInt32Vector(is, binary);
  KQ_CHECK(!c->time_offsets.empty(), kFormat) << "TdnnComponent with no time offsets";
  for (size_t i = 1; i < c->time_offsets.size(); ++i)
    KQ_CHECK(c->time_offsets[i] > c->time_offsets[i - 1], kFormat)
        << "TdnnComponent time offsets must be strictly increasing";
  ExpectToken(is, binary, "<LinearParams>");
  ReadMatrix(is, binary, &c->linear_params);
  ExpectToken(is, binary, "<BiasParams>");
  ReadVector(is, binary, &c->bias_params);
  c->orthonormal_constraint = ExpectFloat(is, binary, "<OrthonormalConstraint>");
  c->use_natural_gradient = ExpectBool(is, binary, "<UseNaturalGradient>");
  c->num_samples_history = ExpectFloat(is, binary, "<NumSamplesHistory>");
  std::string tok = ReadToken(is, binary);
  if (tok == "<AlphaInOut>") {
    c->alpha_in = ReadFloat(is, binary);
    c->alpha_out = ReadFloat(is, binary);
  } else if (tok == "<Alpha>") {
    c->alpha_in = c->alpha_out = ReadFloat(is, binary);
  } else {
    UnexpectedToken(is, "<AlphaInOut>", tok);
  }
  ExpectToken(is, binary, "<RankInOut>");
  c->rank_in = ReadInt(is, binary);
  c->rank_out = ReadInt(is, binary);
  ExpectToken(is, binary, "</TdnnComponent>");
  CheckBias(c->linear_params, c->bias_params, true);
  KQ_CHECK(c->linear_params.cols() % static_cast<int64_t>(c->time_offsets.size()) == 0, kFormat)
      << "TdnnComponent: " << c->linear_params.cols() << " weight columns not a multiple of "
      << c->time_offsets.size() << " time offsets";
}

// The natural-gradient tail Kaldi's TdnnComponent and TimeHeightConvolutionComponent share:
// "<AlphaInOut> a_in a_out <RankInOut> r_in r_out".
void WriteAlphaRankInOut(std::ostream& os, bool binary, float alpha_in, float alpha_out,
                         int32_t rank_in, int32_t rank_out) {
  WriteToken(os, binary, "<AlphaInOut>");
  WriteFloat(os, binary, alpha_in);
  WriteFloat(os, binary, alpha_out);
  WriteToken(os, binary, "<RankInOut>");
  WriteInt(os, binary, rank_in);
  WriteInt(os, binary, rank_out);
}

void WriteTdnn(std::ostream& os, bool binary, const TdnnComponent& c) {
  WriteUpdatableCommon(os, binary, "TdnnComponent", c.common);
  WriteToken(os, binary, "<TimeOffsets>");
  WriteInt32Vector(os, binary, c.time_offsets);
  WriteToken(os, binary, "<LinearParams>");
  WriteMatrix(os, binary, c.linear_params);
  WriteToken(os, binary, "<BiasParams>");
  WriteVector(os, binary, c.bias_params);
  WriteTokenFloat(os, binary, "<OrthonormalConstraint>", c.orthonormal_constraint);
  WriteTokenBool(os, binary, "<UseNaturalGradient>", c.use_natural_gradient);
  WriteTokenFloat(os, binary, "<NumSamplesHistory>", c.num_samples_history);
  WriteAlphaRankInOut(os, binary, c.alpha_in, c.alpha_out, c.rank_in, c.rank_out);
  WriteToken(os, binary, "</TdnnComponent>");
}

void ReadConvModel(std::istream& is, bool binary, ConvolutionModel* m) {
  std::string tok = ReadToken(is, binary);
  if (tok == "<ConvolutionModel>") tok = ReadToken(is, binary);
  if (tok != "<NumFiltersIn>") UnexpectedToken(is, "<NumFiltersIn>", tok);
  m->num_filters_in = ReadInt(is, binary);
  m->num_filters_out = ExpectInt(is, binary, "<NumFiltersOut>");
  m->height_in = ExpectInt(is, binary, "<HeightIn>");
  m->height_out = ExpectInt(is, binary, "<HeightOut>");
  m->height_subsample_out = ExpectInt(is, binary, "<HeightSubsampleOut>");
  ExpectToken(is, binary, "<Offsets>");
  m->offsets = ReadInt32PairVector(is, binary);
  ExpectToken(is, binary, "<RequiredTimeOffsets>");
  m->required_time_offsets = ReadInt32Vector(is, binary);
  ExpectToken(is, binary, "</ConvolutionModel>");
  KQ_CHECK(m->num_filters_in > 0 && m->num_filters_out > 0 && m->height_in > 0 &&
               m->height_out > 0 && m->height_subsample_out > 0 && !m->offsets.empty(),
           kFormat)
      << "invalid ConvolutionModel";
}

void WriteConvModel(std::ostream& os, bool binary, const ConvolutionModel& m) {
  WriteToken(os, binary, "<ConvolutionModel>");
  WriteTokenInt(os, binary, "<NumFiltersIn>", m.num_filters_in);
  WriteTokenInt(os, binary, "<NumFiltersOut>", m.num_filters_out);
  WriteTokenInt(os, binary, "<HeightIn>", m.height_in);
  WriteTokenInt(os, binary, "<HeightOut>", m.height_out);
  WriteTokenInt(os, binary, "<HeightSubsampleOut>", m.height_subsample_out);
  WriteToken(os, binary, "<Offsets>");
  WriteInt32PairVector(os, binary, m.offsets);
  WriteToken(os, binary, "<RequiredTimeOffsets>");
  WriteInt32Vector(os, binary, m.required_time_offsets);
  WriteToken(os, binary, "</ConvolutionModel>");
}

void ReadConv(std::istream& is, bool binary, TimeHeightConvolutionComponent* c) {
  ReadUpdatableCommon(is, binary, &c->common);
  ExpectToken(is, binary, "<Model>");
  ReadConvModel(is, binary, &c->model);
  ExpectToken(is, binary, "<LinearParams>");
  ReadMatrix(is, binary, &c->linear_params);
  ExpectToken(is, binary, "<BiasParams>");
  ReadVector(is, binary, &c->bias_params);
  c->max_memory_mb = ExpectFloat(is, binary, "<MaxMemoryMb>");
  c->use_natural_gradient = ExpectBool(is, binary, "<UseNaturalGradient>");
  c->num_minibatches_history = ExpectFloat(is, binary, "<NumMinibatchesHistory>");
  ExpectToken(is, binary, "<AlphaInOut>");
  c->alpha_in = ReadFloat(is, binary);
  c->alpha_out = ReadFloat(is, binary);
  ExpectToken(is, binary, "<RankInOut>");
  c->rank_in = ReadInt(is, binary);
  c->rank_out = ReadInt(is, binary);
  ExpectToken(is, binary, "</TimeHeightConvolutionComponent>");
  CheckBias(c->linear_params, c->bias_params, false);
  const ConvolutionModel& m = c->model;
  KQ_CHECK(c->linear_params.rows() == m.num_filters_out &&
               c->linear_params.cols() ==
                   static_cast<int64_t>(m.offsets.size()) * m.num_filters_in,
           kFormat)
      << "TimeHeightConvolutionComponent: weights " << c->linear_params.rows() << " x "
      << c->linear_params.cols() << " do not match the convolution model";
  for (const auto& o : m.offsets)
    KQ_CHECK(o.second > -(1 << 20) && o.second < (1 << 20), kFormat) << "bad height offset";
}

void WriteConv(std::ostream& os, bool binary, const TimeHeightConvolutionComponent& c) {
  WriteUpdatableCommon(os, binary, "TimeHeightConvolutionComponent", c.common);
  WriteToken(os, binary, "<Model>");
  WriteConvModel(os, binary, c.model);
  WriteToken(os, binary, "<LinearParams>");
  WriteMatrix(os, binary, c.linear_params);
  WriteToken(os, binary, "<BiasParams>");
  WriteVector(os, binary, c.bias_params);
  WriteTokenFloat(os, binary, "<MaxMemoryMb>", c.max_memory_mb);
  WriteTokenBool(os, binary, "<UseNaturalGradient>", c.use_natural_gradient);
  WriteTokenFloat(os, binary, "<NumMinibatchesHistory>", c.num_minibatches_history);
  WriteAlphaRankInOut(os, binary, c.alpha_in, c.alpha_out, c.rank_in, c.rank_out);
  WriteToken(os, binary, "</TimeHeightConvolutionComponent>");
}

}  // namespace

bool ReadAffineFamily(const std::string& type, std::istream& is, bool binary,
                      ComponentParams* p) {
  if (type == "AffineComponent" || type == "NaturalGradientAffineComponent") {
    AffineComponent c;
    ReadAffine(is, binary, type != "AffineComponent", &c);
    *p = std::move(c);
  } else if (type == "FixedAffineComponent") {
    FixedAffineComponent c;
    ReadFixedAffine(is, binary, &c);
    *p = std::move(c);
  } else if (type == "LinearComponent") {
    LinearComponent c;
    ReadLinear(is, binary, &c);
    *p = std::move(c);
  } else if (type == "TdnnComponent") {
    TdnnComponent c;
    ReadTdnn(is, binary, &c);
    *p = std::move(c);
  } else if (type == "TimeHeightConvolutionComponent") {
    TimeHeightConvolutionComponent c;
    ReadConv(is, binary, &c);
    *p = std::move(c);
  } else {
    return false;
  }
  return true;
}

bool WriteAffineFamily(std::ostream& os, bool binary, const ComponentParams& p) {
  if (auto* c = std::get_if<AffineComponent>(&p)) {
    WriteAffine(os, binary, *c);
  } else if (auto* c = std::get_if<FixedAffineComponent>(&p)) {
    WriteFixedAffine(os, binary, *c);
  } else if (auto* c = std::get_if<LinearComponent>(&p)) {
    WriteLinear(os, binary, *c);
  } else if (auto* c = std::get_if<TdnnComponent>(&p)) {
    WriteTdnn(os, binary, *c);
  } else if (auto* c = std::get_if<TimeHeightConvolutionComponent>(&p)) {
    WriteConv(os, binary, *c);
  } else {
    return false;
  }
  return true;
}

}  // namespace kaldiq::kaldi::internal
