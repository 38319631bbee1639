// Element-wise and small components: the NonlinearComponent family (RectifiedLinear, Sigmoid,
// Tanh, Softmax, LogSoftmax), FixedScale, FixedBias, PerElementScale (+NaturalGradient),
// PerElementOffset, ScaleAndOffset, SumGroup, ElementwiseProduct, Permute.
#include "kaldi/nnet3/components_internal.h"
#include "kaldi/nnet3/io_util.h"
#include "util/error.h"

namespace kaldiq::kaldi::internal {

namespace {

const struct {
  const char* type;
  NonlinearityType nl;
} kNonlinearities[] = {
    {"RectifiedLinearComponent", NonlinearityType::kRectifiedLinear},
    {"SigmoidComponent", NonlinearityType::kSigmoid},
    {"TanhComponent", NonlinearityType::kTanh},
    {"SoftmaxComponent", NonlinearityType::kSoftmax},
    {"LogSoftmaxComponent", NonlinearityType::kLogSoftmax},
};

std::string NonlinearTypeName(NonlinearityType nl) {
  for (const auto& n : kNonlinearities)
    if (n.nl == nl) return n.type;
  KQ_THROW(kInternal) << "bad nonlinearity type";
}

void ReadNonlinear(std::istream& is, bool binary, const std::string& type,
                   NonlinearComponent* c) {
  c->dim = ExpectInt(is, binary, "<Dim>");
  const std::string close = "</" + type + ">";
  std::string tok = ReadToken(is, binary);
  c->block_dim = c->dim;
  if (tok == "<BlockDim>") {
    c->block_dim = ReadInt(is, binary);
    tok = ReadToken(is, binary);
  }
  if (tok != "<ValueAvg>") UnexpectedToken(is, "<ValueAvg>", tok);
  ReadVector(is, binary, &c->value_avg);
  ExpectToken(is, binary, "<DerivAvg>");
  ReadVector(is, binary, &c->deriv_avg);
  ExpectToken(is, binary, "<Count>");
  c->count = ReadDouble(is, binary);
  tok = ReadToken(is, binary);
  if (tok == "<OderivRms>") {
    ReadVector(is, binary, &c->oderiv_rms);
    ExpectToken(is, binary, "<OderivCount>");
    c->oderiv_count = ReadDouble(is, binary);
    tok = ReadToken(is, binary);
  }
  if (tok == "<NumDimsSelfRepaired>") {
    c->num_dims_self_repaired = ReadDouble(is, binary);
    tok = ReadToken(is, binary);
  }
  if (tok == "<NumDimsProcessed>") {
    c->num_dims_processed = ReadDouble(is, binary);
    tok = ReadToken(is, binary);
  }
  if (tok == "<SelfRepairLowerThreshold>") {
    c->self_repair_lower_threshold = ReadFloat(is, binary);
    tok = ReadToken(is, binary);
  }
  if (tok == "<SelfRepairUpperThreshold>") {
    c->self_repair_upper_threshold = ReadFloat(is, binary);
    tok = ReadToken(is, binary);
  }
  if (tok == "<SelfRepairScale>") {
    c->self_repair_scale = ReadFloat(is, binary);
    tok = ReadToken(is, binary);
  }
  if (tok != close) UnexpectedToken(is, close, tok);
  KQ_CHECK(c->dim > 0 && c->block_dim > 0 && c->dim % c->block_dim == 0, kFormat)
      << type << ": bad dim " << c->dim << " / block-dim " << c->block_dim;
}

void WriteNonlinear(std::ostream& os, bool binary, const NonlinearComponent& c) {
  const std::string type = NonlinearTypeName(c.nonlinearity);
  WriteToken(os, binary, "<" + type + ">");
  WriteTokenInt(os, binary, "<Dim>", c.dim);
  if (c.block_dim != c.dim) WriteTokenInt(os, binary, "<BlockDim>", c.block_dim);
  WriteToken(os, binary, "<ValueAvg>");
  WriteVector(os, binary, c.value_avg);
  WriteToken(os, binary, "<DerivAvg>");
  WriteVector(os, binary, c.deriv_avg);
  WriteToken(os, binary, "<Count>");
  WriteDouble(os, binary, c.count);
  WriteToken(os, binary, "<OderivRms>");
  WriteVector(os, binary, c.oderiv_rms);
  WriteToken(os, binary, "<OderivCount>");
  WriteDouble(os, binary, c.oderiv_count);
  WriteToken(os, binary, "<NumDimsSelfRepaired>");
  WriteDouble(os, binary, c.num_dims_self_repaired);
  WriteToken(os, binary, "<NumDimsProcessed>");
  WriteDouble(os, binary, c.num_dims_processed);
  if (c.self_repair_lower_threshold != -1000.0f)
    WriteTokenFloat(os, binary, "<SelfRepairLowerThreshold>", c.self_repair_lower_threshold);
  if (c.self_repair_upper_threshold != -1000.0f)
    WriteTokenFloat(os, binary, "<SelfRepairUpperThreshold>", c.self_repair_upper_threshold);
  if (c.self_repair_scale != 0.0f)
    WriteTokenFloat(os, binary, "<SelfRepairScale>", c.self_repair_scale);
  WriteToken(os, binary, "</" + type + ">");
}

void ReadPerElementScale(std::istream& is, bool binary, bool ng, PerElementScaleComponent* c) {
  c->natural_gradient = ng;
  ReadUpdatableCommon(is, binary, &c->common);
  ExpectToken(is, binary, "<Params>");
  ReadVector(is, binary, &c->params);
  if (!ng) {
    std::string tok = ReadToken(is, binary);
    if (tok == "<IsGradient>") {
      c->common.is_gradient = ReadBool(is, binary);
      tok = ReadToken(is, binary);
    }
    if (tok != "</PerElementScaleComponent>")
      UnexpectedToken(is, "</PerElementScaleComponent>", tok);
    return;
  }
  c->common.is_gradient = ExpectBool(is, binary, "<IsGradient>");
  c->rank = ExpectInt(is, binary, "<Rank>");
  c->update_period = ExpectInt(is, binary, "<UpdatePeriod>");
  c->num_samples_history = ExpectFloat(is, binary, "<NumSamplesHistory>");
  c->alpha = ExpectFloat(is, binary, "<Alpha>");
  std::string tok = ReadToken(is, binary);
  if (tok == "<MaxChangePerMinibatch>") {
    ReadFloat(is, binary);
    tok = ReadToken(is, binary);
  }
  if (tok != "</NaturalGradientPerElementScaleComponent>")
    UnexpectedToken(is, "</NaturalGradientPerElementScaleComponent>", tok);
}

void WritePerElementScale(std::ostream& os, bool binary, const PerElementScaleComponent& c) {
  const std::string type = c.natural_gradient ? "NaturalGradientPerElementScaleComponent"
                                              : "PerElementScaleComponent";
  WriteUpdatableCommon(os, binary, type, c.common);
  WriteToken(os, binary, "<Params>");
  WriteVector(os, binary, c.params);
  if (c.natural_gradient) {
    WriteTokenBool(os, binary, "<IsGradient>", c.common.is_gradient);
    WriteTokenInt(os, binary, "<Rank>", c.rank);
    WriteTokenInt(os, binary, "<UpdatePeriod>", c.update_period);
    WriteTokenFloat(os, binary, "<NumSamplesHistory>", c.num_samples_history);
    WriteTokenFloat(os, binary, "<Alpha>", c.alpha);
  }
  WriteToken(os, binary, "</" + type + ">");
}

void ReadPerElementOffset(std::istream& is, bool binary, PerElementOffsetComponent* c) {
  ReadUpdatableCommon(is, binary, &c->common);
  ExpectToken(is, binary, "<Offsets>");
  ReadVector(is, binary, &c->offsets);
  std::string tok = ReadToken(is, binary);
  if (tok == "<IsGradient>") {
    c->common.is_gradient = ReadBool(is, binary);
    tok = ReadToken(is, binary);
  }
  c->dim = static_cast<int32_t>(c->offsets.size());
  c->use_natural_gradient = true;
  if (tok == "<Dim>") {
    c->dim = ReadInt(is, binary);
    c->use_natural_gradient = ExpectBool(is, binary, "<UseNaturalGradient>");
    tok = ReadToken(is, binary);
  }
  if (tok != "</PerElementOffsetComponent>")
    UnexpectedToken(is, "</PerElementOffsetComponent>", tok);
  KQ_CHECK(!c->offsets.empty() && c->dim % static_cast<int32_t>(c->offsets.size()) == 0, kFormat)
      << "PerElementOffsetComponent: dim " << c->dim << " not a multiple of "
      << c->offsets.size();
}

void WritePerElementOffset(std::ostream& os, bool binary, const PerElementOffsetComponent& c) {
  WriteUpdatableCommon(os, binary, "PerElementOffsetComponent", c.common);
  WriteToken(os, binary, "<Offsets>");
  WriteVector(os, binary, c.offsets);
  WriteTokenInt(os, binary, "<Dim>", c.dim);
  WriteTokenBool(os, binary, "<UseNaturalGradient>", c.use_natural_gradient);
  WriteToken(os, binary, "</PerElementOffsetComponent>");
}

void ReadScaleAndOffset(std::istream& is, bool binary, ScaleAndOffsetComponent* c) {
  ReadUpdatableCommon(is, binary, &c->common);
  c->dim = ExpectInt(is, binary, "<Dim>");
  ExpectToken(is, binary, "<Scales>");
  ReadVector(is, binary, &c->scales);
  ExpectToken(is, binary, "<Offsets>");
  ReadVector(is, binary, &c->offsets);
  c->use_natural_gradient = ExpectBool(is, binary, "<UseNaturalGradient>");
  c->rank = ExpectInt(is, binary, "<Rank>");
  ExpectToken(is, binary, "</ScaleAndOffsetComponent>");
  KQ_CHECK(!c->scales.empty() && c->scales.size() == c->offsets.size() &&
               c->dim % static_cast<int32_t>(c->scales.size()) == 0,
           kFormat)
      << "ScaleAndOffsetComponent: inconsistent dims";
}

void WriteScaleAndOffset(std::ostream& os, bool binary, const ScaleAndOffsetComponent& c) {
  WriteUpdatableCommon(os, binary, "ScaleAndOffsetComponent", c.common);
  WriteTokenInt(os, binary, "<Dim>", c.dim);
  WriteToken(os, binary, "<Scales>");
  WriteVector(os, binary, c.scales);
  WriteToken(os, binary, "<Offsets>");
  WriteVector(os, binary, c.offsets);
  WriteTokenBool(os, binary, "<UseNaturalGradient>", c.use_natural_gradient);
  WriteTokenInt(os, binary, "<Rank>", c.rank);
  WriteToken(os, binary, "</ScaleAndOffsetComponent>");
}

}  // namespace

bool ReadSimpleFamily(const std::string& type, std::istream& is, bool binary,
                      ComponentParams* p) {
  for (const auto& n : kNonlinearities) {
    if (type == n.type) {
      NonlinearComponent c;
      c.nonlinearity = n.nl;
      ReadNonlinear(is, binary, type, &c);
      *p = std::move(c);
      return true;
    }
  }
  if (type == "PerElementScaleComponent" || type == "NaturalGradientPerElementScaleComponent") {
    PerElementScaleComponent c;
    ReadPerElementScale(is, binary, type != "PerElementScaleComponent", &c);
    *p = std::move(c);
  } else if (type == "PerElementOffsetComponent") {
    PerElementOffsetComponent c;
    ReadPerElementOffset(is, binary, &c);
    *p = std::move(c);
  } else if (type == "ScaleAndOffsetComponent") {
    ScaleAndOffsetComponent c;
    ReadScaleAndOffset(is, binary, &c);
    *p = std::move(c);
  } else if (type == "FixedScaleComponent") {
    FixedScaleComponent c;
    ExpectToken(is, binary, "<Scales>");
    ReadVector(is, binary, &c.scales);
    ExpectToken(is, binary, "</FixedScaleComponent>");
    *p = std::move(c);
  } else if (type == "FixedBiasComponent") {
    FixedBiasComponent c;
    ExpectToken(is, binary, "<Bias>");
    ReadVector(is, binary, &c.bias);
    ExpectToken(is, binary, "</FixedBiasComponent>");
    *p = std::move(c);
  } else if (type == "SumGroupComponent") {
    SumGroupComponent c;
    ExpectToken(is, binary, "<Sizes>");
    c.sizes = ReadInt32Vector(is, binary);
    std::string tok = ReadToken(is, binary);
    if (tok != "</SumGroupComponent>" && tok != "<SumGroupComponent>")
      UnexpectedToken(is, "</SumGroupComponent>", tok);
    KQ_CHECK(!c.sizes.empty(), kFormat) << "SumGroupComponent with no groups";
    for (int32_t s : c.sizes) KQ_CHECK(s > 0, kFormat) << "SumGroupComponent: bad group size";
    *p = std::move(c);
  } else if (type == "ElementwiseProductComponent") {
    ElementwiseProductComponent c;
    c.input_dim = ExpectInt(is, binary, "<InputDim>");
    c.output_dim = ExpectInt(is, binary, "<OutputDim>");
    ExpectToken(is, binary, "</ElementwiseProductComponent>");
    KQ_CHECK(c.output_dim > 0 && c.input_dim > 0 && c.input_dim % c.output_dim == 0, kFormat)
        << "ElementwiseProductComponent: bad dims";
    *p = std::move(c);
  } else if (type == "PermuteComponent") {
    PermuteComponent c;
    ExpectToken(is, binary, "<ColumnMap>");
    c.column_map = ReadInt32Vector(is, binary);
    ExpectToken(is, binary, "</PermuteComponent>");
    std::vector<bool> seen(c.column_map.size(), false);
    for (int32_t x : c.column_map) {
      KQ_CHECK(x >= 0 && static_cast<size_t>(x) < seen.size() && !seen[x], kFormat)
          << "PermuteComponent: column map is not a permutation";
      seen[x] = true;
    }
    *p = std::move(c);
  } else {
    return false;
  }
  return true;
}

bool WriteSimpleFamily(std::ostream& os, bool binary, const ComponentParams& p) {
  if (auto* c = std::get_if<NonlinearComponent>(&p)) {
    WriteNonlinear(os, binary, *c);
  } else if (auto* c = std::get_if<PerElementScaleComponent>(&p)) {
    WritePerElementScale(os, binary, *c);
  } else if (auto* c = std::get_if<PerElementOffsetComponent>(&p)) {
    WritePerElementOffset(os, binary, *c);
  } else if (auto* c = std::get_if<ScaleAndOffsetComponent>(&p)) {
    WriteScaleAndOffset(os, binary, *c);
  } else if (auto* c = std::get_if<FixedScaleComponent>(&p)) {
    WriteToken(os, binary, "<FixedScaleComponent>");
    WriteToken(os, binary, "<Scales>");
    WriteVector(os, binary, c->scales);
    WriteToken(os, binary, "</FixedScaleComponent>");
  } else if (auto* c = std::get_if<FixedBiasComponent>(&p)) {
    WriteToken(os, binary, "<FixedBiasComponent>");
    WriteToken(os, binary, "<Bias>");
    WriteVector(os, binary, c->bias);
    WriteToken(os, binary, "</FixedBiasComponent>");
  } else if (auto* c = std::get_if<SumGroupComponent>(&p)) {
    WriteToken(os, binary, "<SumGroupComponent>");
    WriteToken(os, binary, "<Sizes>");
    WriteInt32Vector(os, binary, c->sizes);
    WriteToken(os, binary, "</SumGroupComponent>");
  } else if (auto* c = std::get_if<ElementwiseProductComponent>(&p)) {
    WriteToken(os, binary, "<ElementwiseProductComponent>");
    WriteTokenInt(os, binary, "<InputDim>", c->input_dim);
    WriteTokenInt(os, binary, "<OutputDim>", c->output_dim);
    WriteToken(os, binary, "</ElementwiseProductComponent>");
  } else if (auto* c = std::get_if<PermuteComponent>(&p)) {
    WriteToken(os, binary, "<PermuteComponent>");
    WriteToken(os, binary, "<ColumnMap>");
    WriteInt32Vector(os, binary, c->column_map);
    WriteToken(os, binary, "</PermuteComponent>");
  } else {
    return false;
  }
  return true;
}

}  // namespace kaldiq::kaldi::internal
