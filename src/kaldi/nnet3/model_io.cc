// <Nnet3> objects (config section + components), final.mdl (TransitionModel + AmNnetSimple)
// and .raw files, as Kaldi's Nnet::Read/Write and AmNnetSimple::Read/Write lay them out.
#include "kaldi/nnet3/model_io.h"

#include <cctype>
#include <cstdlib>
#include <map>
#include <sstream>

#include "kaldi/basic_io.h"
#include "kaldi/kaldi_stream.h"
#include "kaldi/matrix_io.h"
#include "util/error.h"

namespace kaldiq::kaldi {

namespace {

constexpr size_t kMaxConfigLine = 1 << 20;
constexpr int32_t kMaxComponents = 1 << 20;

bool IsKeyChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
}

// Splits "type k1=v1 k2=some value k3=v3" into type and key -> value. A key starts after a
// space and runs over [A-Za-z0-9_-] up to '='; descriptor values contain no '='.
void SplitConfigLine(const std::string& line, std::string* type,
                     std::map<std::string, std::string>* kv) {
  size_t i = 0;
  while (i < line.size() && std::isspace(static_cast<unsigned char>(line[i]))) ++i;
  size_t j = i;
  while (j < line.size() && !std::isspace(static_cast<unsigned char>(line[j]))) ++j;
  *type = line.substr(i, j - i);
  // Find key starts.
  std::vector<std::pair<size_t, size_t>> keys;  // (key start, '=' position)
  for (size_t p = j; p < line.size(); ++p) {
    if (!std::isspace(static_cast<unsigned char>(line[p]))) continue;
    size_t q = p + 1;
    while (q < line.size() && IsKeyChar(line[q])) ++q;
    if (q > p + 1 && q < line.size() && line[q] == '=') keys.emplace_back(p + 1, q);
  }
  KQ_CHECK(!keys.empty() || j >= line.size(), kFormat) << "cannot parse config line: " << QuoteBytes(line, 200);
  for (size_t k = 0; k < keys.size(); ++k) {
    size_t value_end = k + 1 < keys.size() ? keys[k + 1].first : line.size();
    std::string key = line.substr(keys[k].first, keys[k].second - keys[k].first);
    std::string value = line.substr(keys[k].second + 1, value_end - keys[k].second - 1);
    while (!value.empty() && std::isspace(static_cast<unsigned char>(value.back())))
      value.pop_back();
    KQ_CHECK(kv->emplace(key, value).second, kFormat)
        << "duplicate '" << QuoteBytes(key) << "=' in config line: " << QuoteBytes(line, 200);
  }
}

std::string Take(std::map<std::string, std::string>* kv, const std::string& key,
                 const std::string& line) {
  auto it = kv->find(key);
  KQ_CHECK(it != kv->end(), kFormat) << "missing '" << key << "=' in config line: " << QuoteBytes(line, 200);
  std::string v = it->second;
  kv->erase(it);
  return v;
}

int32_t TakeInt(std::map<std::string, std::string>* kv, const std::string& key,
                const std::string& line) {
  std::string v = Take(kv, key, line);
  char* end = nullptr;
  long x = std::strtol(v.c_str(), &end, 10);
  KQ_CHECK(!v.empty() && *end == '\0' && x >= 0 && x < (1L << 30), kFormat)
      << "bad integer '" << QuoteBytes(v) << "' for " << key << " in config line: " << QuoteBytes(line, 200);
  return static_cast<int32_t>(x);
}

NnetNode ParseConfigLine(const std::string& line) {
  std::string type;
  std::map<std::string, std::string> kv;
  SplitConfigLine(line, &type, &kv);
  NnetNode node;
  node.name = Take(&kv, "name", line);
  if (type == "input-node") {
    node.type = NodeType::kInput;
    node.dim = TakeInt(&kv, "dim", line);
  } else if (type == "component-node") {
    node.type = NodeType::kComponent;
    node.component_name = Take(&kv, "component", line);
    node.input = ParseDescriptor(Take(&kv, "input", line));
  } else if (type == "output-node") {
    node.type = NodeType::kOutput;
    node.input = ParseDescriptor(Take(&kv, "input", line));
    if (kv.count("objective")) node.objective = Take(&kv, "objective", line);
    KQ_CHECK(node.objective == "linear" || node.objective == "quadratic", kFormat)
        << "bad objective '" << QuoteBytes(node.objective) << "' in config line: " << QuoteBytes(line, 200);
  } else if (type == "dim-range-node") {
    node.type = NodeType::kDimRange;
    node.input_node_name = Take(&kv, "input-node", line);
    node.dim_offset = TakeInt(&kv, "dim-offset", line);
    node.dim = TakeInt(&kv, "dim", line);
  } else {
    KQ_THROW(kFormat) << "unknown config line type '" << QuoteBytes(type) << "' in: " << QuoteBytes(line, 200);
  }
  KQ_CHECK(kv.empty(), kFormat) << "unexpected '" << QuoteBytes(kv.begin()->first)
                                << "=' in config line: " << QuoteBytes(line, 200);
  return node;
}

std::string ConfigLine(const NnetNode& node) {
  std::ostringstream os;
  switch (node.type) {
    case NodeType::kInput:
      os << "input-node name=" << node.name << " dim=" << node.dim;
      break;
    case NodeType::kComponent:
      os << "component-node name=" << node.name << " component=" << node.component_name
         << " input=" << DescriptorToString(node.input);
      break;
    case NodeType::kOutput:
      os << "output-node name=" << node.name << " input=" << DescriptorToString(node.input)
         << " objective=" << node.objective;
      break;
    case NodeType::kDimRange:
      os << "dim-range-node name=" << node.name << " input-node=" << node.input_node_name
         << " dim-offset=" << node.dim_offset << " dim=" << node.dim;
      break;
  }
  return os.str();
}

// Reads the rest of the current line (must be blank).
void FinishLine(std::istream& is) {
  int c;
  while ((c = is.get()) != EOF && c != '\n') {
    KQ_CHECK(c == ' ' || c == '\r' || c == '\t', kFormat)
        << "unexpected character after <Nnet3> " << DescribePosition(is);
  }
}

// Everything after the "<Nnet3>" token.
void ReadNnetBody(std::istream& is, bool binary, Nnet* nnet) {
  *nnet = Nnet();
  FinishLine(is);
  std::string line;
  while (true) {
    line.clear();
    int c;
    while ((c = is.get()) != EOF && c != '\n') {
      line.push_back(static_cast<char>(c));
      KQ_CHECK(line.size() < kMaxConfigLine, kFormat)
          << "config line too long " << DescribePosition(is);
    }
    KQ_CHECK(c != EOF, kFormat) << "end of file inside the <Nnet3> config section";
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) break;
    nnet->nodes.push_back(ParseConfigLine(line));
  }
  ExpectToken(is, binary, "<NumComponents>");
  int32_t num = ReadBasicType<int32_t>(is, binary);
  KQ_CHECK(num >= 0 && num < kMaxComponents, kFormat) << "bad <NumComponents> " << num;
  nnet->components.reserve(std::min(num, 4096));
  for (int32_t i = 0; i < num; ++i) {
    ExpectToken(is, binary, "<ComponentName>");
    std::string name = ReadToken(is, binary);
    nnet->components.push_back(ReadComponent(is, binary, name));
  }
  ExpectToken(is, binary, "</Nnet3>");
  nnet->Check();
}

void ReadAmNnetTail(std::istream& is, bool binary, KaldiModel* m) {
  ExpectToken(is, binary, "<LeftContext>");
  m->left_context = ReadBasicType<int32_t>(is, binary);
  ExpectToken(is, binary, "<RightContext>");
  m->right_context = ReadBasicType<int32_t>(is, binary);
  ExpectToken(is, binary, "<Priors>");
  ReadVector(is, binary, &m->priors);
}

}  // namespace

void ReadNnet(std::istream& is, bool binary, Nnet* nnet) {
  ExpectToken(is, binary, "<Nnet3>");
  ReadNnetBody(is, binary, nnet);
}

void WriteNnet(std::ostream& os, bool binary, const Nnet& nnet) {
  if (!binary) EnsureKaldiPrecision(os);
  WriteToken(os, binary, "<Nnet3>");
  os << '\n';
  for (const auto& node : nnet.nodes) os << ConfigLine(node) << '\n';
  os << '\n';
  WriteToken(os, binary, "<NumComponents>");
  WriteBasicType<int32_t>(os, binary, static_cast<int32_t>(nnet.components.size()));
  if (!binary) os << '\n';
  for (const auto& c : nnet.components) {
    WriteToken(os, binary, "<ComponentName>");
    WriteToken(os, binary, c.name);
    WriteComponent(os, binary, c);
    if (!binary) os << '\n';
  }
  WriteToken(os, binary, "</Nnet3>");
}

KaldiModel ReadKaldiModel(const std::string& rxfilename) {
  try {
    Input input(rxfilename, /*read_binary_header=*/false);
    return ReadKaldiModel(input.Stream());
  } catch (const Error& e) {
    throw e.WithContext(rxfilename);
  }
}

KaldiModel ReadKaldiModel(std::istream& is) {
  KaldiModel model;
  {
    const bool binary = ReadBinaryMarker(is);
    std::string first = ReadToken(is, binary);
    if (first == "<TransitionModel>") {
      model.has_transition_model = true;
      model.trans_model.Read(is, binary, /*opening_token_read=*/true);
      ReadNnet(is, binary, &model.nnet);
      ReadAmNnetTail(is, binary, &model);
    } else if (first == "<Nnet3>") {
      ReadNnetBody(is, binary, &model.nnet);
    } else {
      KQ_THROW(kFormat) << "not a Kaldi nnet3 model: expected <TransitionModel> or <Nnet3>, got "
                        << QuoteBytes(first);
    }
  }
  return model;
}

void WriteKaldiModel(const std::string& wxfilename, const KaldiModel& model, bool binary) {
  try {
    Output output(wxfilename, binary);
    std::ostream& os = output.Stream();
    if (model.has_transition_model) model.trans_model.Write(os, binary);
    WriteNnet(os, binary, model.nnet);
    if (model.has_transition_model) {
      WriteToken(os, binary, "<LeftContext>");
      WriteBasicType<int32_t>(os, binary, model.left_context);
      WriteToken(os, binary, "<RightContext>");
      WriteBasicType<int32_t>(os, binary, model.right_context);
      WriteToken(os, binary, "<Priors>");
      WriteVector(os, binary, model.priors);
    }
    output.Commit();
  } catch (const Error& e) {
    throw e.WithContext(wxfilename);
  }
}

TransitionModel ReadTransitionModel(const std::string& rxfilename) {
  TransitionModel tm;
  try {
    Input input(rxfilename);
    tm.Read(input.Stream(), input.binary());
  } catch (const Error& e) {
    throw e.WithContext(rxfilename);
  }
  return tm;
}

void WriteTransitionModel(const std::string& wxfilename, const TransitionModel& tm,
                          bool binary) {
  try {
    Output output(wxfilename, binary);
    tm.Write(output.Stream(), binary);
    output.Commit();
  } catch (const Error& e) {
    throw e.WithContext(wxfilename);
  }
}

}  // namespace kaldiq::kaldi
