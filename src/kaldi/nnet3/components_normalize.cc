// Normalisation and test-time-identity components: BatchNorm, Normalize, Dropout,
// GeneralDropout, SpecAugmentTimeMask, NoOp.
#include <cmath>

#include "kaldi/nnet3/components_internal.h"
#include "util/error.h"

namespace kaldiq::kaldi {

void BatchNormTestScaleOffset(const BatchNormComponent& bn, std::vector<float>* scale,
                              std::vector<float>* offset, bool* valid) {
  const size_t n = bn.stats_mean.size();
  KQ_CHECK(bn.stats_var.size() == n, kFormat) << "BatchNorm: StatsMean/StatsVar size mismatch";
  scale->assign(n, 1.0f);
  offset->assign(n, 0.0f);
  if (valid) *valid = bn.count != 0.0;
  if (bn.count == 0.0) return;
  // Kaldi's Read() turns mean/var into double sums, ComputeDerived() then works in float:
  //   offset = float(sum) * float(-1/count); scale = float(sumsq) * float(1/count) - offset^2;
  //   scale = pow(max(scale, 0) + eps, -0.5) * target_rms; offset *= scale.
  const float neg_inv = static_cast<float>(-1.0 / bn.count);
  const float inv = static_cast<float>(1.0 / bn.count);
  for (size_t i = 0; i < n; ++i) {
    double mean = bn.stats_mean[i];
    double sumsq = (static_cast<double>(bn.stats_var[i]) + mean * mean) * bn.count;
    double sum = mean * bn.count;
    float o = static_cast<float>(sum) * neg_inv;
    float s = static_cast<float>(sumsq) * inv;
    s = -1.0f * o * o + s;
    if (s < 0.0f) s = 0.0f;
    s += bn.epsilon;
    s = std::pow(s, -0.5f);
    s *= bn.target_rms;
    (*scale)[i] = s;
    (*offset)[i] = o * s;
  }
}

namespace internal {

namespace {

void ReadBatchNorm(std::istream& is, bool binary, BatchNormComponent* c) {
  c->dim = ExpectInt(is, binary, "<Dim>");
  c->block_dim = ExpectInt(is, binary, "<BlockDim>");
  c->epsilon = ExpectFloat(is, binary, "<Epsilon>");
  c->target_rms = ExpectFloat(is, binary, "<TargetRms>");
  c->test_mode = ExpectBool(is, binary, "<TestMode>");
  ExpectToken(is, binary, "<Count>");
  c->count = ReadDouble(is, binary);
  ExpectToken(is, binary, "<StatsMean>");
  ReadVector(is, binary, &c->stats_mean);
  ExpectToken(is, binary, "<StatsVar>");
  ReadVector(is, binary, &c->stats_var);
  ExpectToken(is, binary, "</BatchNormComponent>");
  KQ_CHECK(c->dim > 0 && c->block_dim > 0 && c->dim % c->block_dim == 0 && c->epsilon > 0 &&
               c->target_rms > 0,
           kFormat)
      << "BatchNormComponent: invalid dim " << c->dim << ", block-dim " << c->block_dim
      << ", epsilon or target-rms";
  KQ_CHECK(c->stats_mean.size() == c->stats_var.size() &&
               (c->stats_mean.empty() || c->stats_mean.size() == size_t(c->block_dim)),
           kFormat)
      << "BatchNormComponent: stats size " << c->stats_mean.size() << " != block-dim "
      << c->block_dim;
}

void WriteBatchNorm(std::ostream& os, bool binary, const BatchNormComponent& c) {
  WriteToken(os, binary, "<BatchNormComponent>");
  WriteTokenInt(os, binary, "<Dim>", c.dim);
  WriteTokenInt(os, binary, "<BlockDim>", c.block_dim);
  WriteTokenFloat(os, binary, "<Epsilon>", c.epsilon);
  WriteTokenFloat(os, binary, "<TargetRms>", c.target_rms);
  WriteTokenBool(os, binary, "<TestMode>", c.test_mode);
  WriteToken(os, binary, "<Count>");
  WriteDouble(os, binary, c.count);
  WriteToken(os, binary, "<StatsMean>");
  WriteVector(os, binary, c.stats_mean);
  WriteToken(os, binary, "<StatsVar>");
  WriteVector(os, binary, c.stats_var);
  WriteToken(os, binary, "</BatchNormComponent>");
}

void ReadNormalize(std::istream& is, bool binary, NormalizeComponent* c) {
  std::string tok = ReadToken(is, binary);
  if (tok != "<Dim>" && tok != "<InputDim>") UnexpectedToken(is, "<InputDim>", tok);
  c->input_dim = ReadInt(is, binary);
  c->block_dim = c->input_dim;
  tok = ReadToken(is, binary);
  if (tok == "<BlockDim>") {
    c->block_dim = ReadInt(is, binary);
    tok = ReadToken(is, binary);
  }
  if (tok == "<TargetRms>") {
    c->target_rms = ReadFloat(is, binary);
    tok = ReadToken(is, binary);
  }
  c->add_log_stddev = false;
  if (tok == "<AddLogStddev>") {
    c->add_log_stddev = ReadBool(is, binary);
    tok = ReadToken(is, binary);
  }
  if (tok == "<ValueAvg>") {  // back-compatibility: statistics no longer used
    std::vector<double> tmp;
    ReadVector(is, binary, &tmp);
    ExpectToken(is, binary, "<DerivAvg>");
    ReadVector(is, binary, &tmp);
    ExpectToken(is, binary, "<Count>");
    ReadDouble(is, binary);
    tok = ReadToken(is, binary);
  }
  if (tok != "</NormalizeComponent>") UnexpectedToken(is, "</NormalizeComponent>", tok);
  KQ_CHECK(c->input_dim > 0 && c->block_dim > 0 && c->input_dim % c->block_dim == 0, kFormat)
      << "NormalizeComponent: bad input-dim/block-dim";
}

void WriteNormalize(std::ostream& os, bool binary, const NormalizeComponent& c) {
  WriteToken(os, binary, "<NormalizeComponent>");
  WriteTokenInt(os, binary, "<InputDim>", c.input_dim);
  if (c.block_dim != c.input_dim) WriteTokenInt(os, binary, "<BlockDim>", c.block_dim);
  WriteTokenFloat(os, binary, "<TargetRms>", c.target_rms);
  WriteTokenBool(os, binary, "<AddLogStddev>", c.add_log_stddev);
  WriteToken(os, binary, "</NormalizeComponent>");
}

void ReadDropout(std::istream& is, bool binary, DropoutComponent* c) {
  c->dim = ExpectInt(is, binary, "<Dim>");
  c->dropout_proportion = ExpectFloat(is, binary, "<DropoutProportion>");
  std::string tok = ReadToken(is, binary);
  if (tok == "<DropoutPerFrame>") {
    c->dropout_per_frame = ReadBool(is, binary);
    tok = ReadToken(is, binary);
  }
  if (tok == "<TestMode>") {
    c->test_mode = ReadBool(is, binary);
    tok = ReadToken(is, binary);
  }
  if (tok != "</DropoutComponent>") UnexpectedToken(is, "</DropoutComponent>", tok);
}

void WriteDropout(std::ostream& os, bool binary, const DropoutComponent& c) {
  WriteToken(os, binary, "<DropoutComponent>");
  WriteTokenInt(os, binary, "<Dim>", c.dim);
  WriteTokenFloat(os, binary, "<DropoutProportion>", c.dropout_proportion);
  WriteTokenBool(os, binary, "<DropoutPerFrame>", c.dropout_per_frame);
  WriteTokenBool(os, binary, "<TestMode>", c.test_mode);
  WriteToken(os, binary, "</DropoutComponent>");
}

void ReadGeneralDropout(std::istream& is, bool binary, GeneralDropoutComponent* c) {
  c->dim = ExpectInt(is, binary, "<Dim>");
  c->block_dim = ExpectInt(is, binary, "<BlockDim>");
  c->time_period = ExpectInt(is, binary, "<TimePeriod>");
  c->dropout_proportion = ExpectFloat(is, binary, "<DropoutProportion>");
  std::string tok = ReadToken(is, binary);
  if (tok == "<SpecAugmentMaxProportion>") {
    c->specaugment_max_proportion = ReadFloat(is, binary);
    tok = ReadToken(is, binary);
    if (tok == "<SpecAugmentMaxRegions>") {
      c->specaugment_max_regions = ReadInt(is, binary);
      tok = ReadToken(is, binary);
    }
  }
  if (tok == "<TestMode>") {
    c->test_mode = true;
    tok = ReadToken(is, binary);
  }
  if (tok == "<Continuous>") {
    c->continuous = true;
    tok = ReadToken(is, binary);
  }
  if (tok != "</GeneralDropoutComponent>") UnexpectedToken(is, "</GeneralDropoutComponent>", tok);
  KQ_CHECK(c->dim > 0 && c->block_dim > 0 && c->dim % c->block_dim == 0, kFormat)
      << "GeneralDropoutComponent: bad dim/block-dim";
}

void WriteGeneralDropout(std::ostream& os, bool binary, const GeneralDropoutComponent& c) {
  WriteToken(os, binary, "<GeneralDropoutComponent>");
  WriteTokenInt(os, binary, "<Dim>", c.dim);
  WriteTokenInt(os, binary, "<BlockDim>", c.block_dim);
  WriteTokenInt(os, binary, "<TimePeriod>", c.time_period);
  WriteTokenFloat(os, binary, "<DropoutProportion>", c.dropout_proportion);
  if (c.specaugment_max_proportion != 0.0f) {
    WriteTokenFloat(os, binary, "<SpecAugmentMaxProportion>", c.specaugment_max_proportion);
    if (c.specaugment_max_regions != 1)
      WriteTokenInt(os, binary, "<SpecAugmentMaxRegions>", c.specaugment_max_regions);
  }
  if (c.test_mode) WriteToken(os, binary, "<TestMode>");
  if (c.continuous) WriteToken(os, binary, "<Continuous>");
  WriteToken(os, binary, "</GeneralDropoutComponent>");
}

void ReadSpecAugment(std::istream& is, bool binary, SpecAugmentTimeMaskComponent* c) {
  c->dim = ExpectInt(is, binary, "<Dim>");
  c->zeroed_proportion = ExpectFloat(is, binary, "<ZeroedProportion>");
  c->time_mask_max_frames = ExpectInt(is, binary, "<TimeMaskMaxFrames>");
  std::string tok = ReadToken(is, binary);
  if (tok == "<TestMode>") {
    c->test_mode = true;
    tok = ReadToken(is, binary);
  }
  if (tok != "</SpecAugmentTimeMaskComponent>")
    UnexpectedToken(is, "</SpecAugmentTimeMaskComponent>", tok);
}

void WriteSpecAugment(std::ostream& os, bool binary, const SpecAugmentTimeMaskComponent& c) {
  WriteToken(os, binary, "<SpecAugmentTimeMaskComponent>");
  WriteTokenInt(os, binary, "<Dim>", c.dim);
  WriteTokenFloat(os, binary, "<ZeroedProportion>", c.zeroed_proportion);
  WriteTokenInt(os, binary, "<TimeMaskMaxFrames>", c.time_mask_max_frames);
  if (c.test_mode) WriteToken(os, binary, "<TestMode>");
  WriteToken(os, binary, "</SpecAugmentTimeMaskComponent>");
}

void ReadNoOp(std::istream& is, bool binary, NoOpComponent* c) {
  c->dim = ExpectInt(is, binary, "<Dim>");
  std::string tok = ReadToken(is, binary);
  KQ_CHECK(tok != "<ValueAvg>", kUnsupported)
      << "NoOpComponent in the pre-2017 NonlinearComponent format is not supported";
  c->backprop_scale = 1.0f;
  if (tok == "<BackpropScale>") {
    c->backprop_scale = ReadFloat(is, binary);
    tok = ReadToken(is, binary);
  }
  if (tok != "</NoOpComponent>") UnexpectedToken(is, "</NoOpComponent>", tok);
}

void WriteNoOp(std::ostream& os, bool binary, const NoOpComponent& c) {
  WriteToken(os, binary, "<NoOpComponent>");
  WriteTokenInt(os, binary, "<Dim>", c.dim);
  WriteTokenFloat(os, binary, "<BackpropScale>", c.backprop_scale);
  WriteToken(os, binary, "</NoOpComponent>");
}

template <typename T, typename F>
bool ReadInto(std::istream& is, bool binary, ComponentParams* p, F read) {
  T c;
  read(is, binary, &c);
  *p = std::move(c);
  return true;
}

}  // namespace

bool ReadNormalizeFamily(const std::string& type, std::istream& is, bool binary,
                         ComponentParams* p) {
  if (type == "BatchNormComponent") return ReadInto<BatchNormComponent>(is, binary, p, ReadBatchNorm);
  if (type == "NormalizeComponent") return ReadInto<NormalizeComponent>(is, binary, p, ReadNormalize);
  if (type == "DropoutComponent") return ReadInto<DropoutComponent>(is, binary, p, ReadDropout);
  if (type == "GeneralDropoutComponent")
    return ReadInto<GeneralDropoutComponent>(is, binary, p, ReadGeneralDropout);
  if (type == "SpecAugmentTimeMaskComponent")
    return ReadInto<SpecAugmentTimeMaskComponent>(is, binary, p, ReadSpecAugment);
  if (type == "NoOpComponent") return ReadInto<NoOpComponent>(is, binary, p, ReadNoOp);
  return false;
}

bool WriteNormalizeFamily(std::ostream& os, bool binary, const ComponentParams& p) {
  if (auto* c = std::get_if<BatchNormComponent>(&p)) {
    WriteBatchNorm(os, binary, *c);
  } else if (auto* c = std::get_if<NormalizeComponent>(&p)) {
    WriteNormalize(os, binary, *c);
  } else if (auto* c = std::get_if<DropoutComponent>(&p)) {
    WriteDropout(os, binary, *c);
  } else if (auto* c = std::get_if<GeneralDropoutComponent>(&p)) {
    WriteGeneralDropout(os, binary, *c);
  } else if (auto* c = std::get_if<SpecAugmentTimeMaskComponent>(&p)) {
    WriteSpecAugment(os, binary, *c);
  } else if (auto* c = std::get_if<NoOpComponent>(&p)) {
    WriteNoOp(os, binary, *c);
  } else {
    return false;
  }
  return true;
}

}  // namespace internal
}  // namespace kaldiq::kaldi
