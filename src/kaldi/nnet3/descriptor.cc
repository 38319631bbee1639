// Kaldi's descriptor syntax (nnet-descriptor.cc): parsing and the WriteConfig text form.
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <sstream>

#include "kaldi/nnet3/io_util.h"
#include "kaldi/nnet3/nnet.h"
#include "util/error.h"

namespace kaldiq::kaldi {

namespace {

// Tokens: identifiers / numbers (anything but whitespace and "(),"), and the punctuation.
std::vector<std::string> Tokenize(const std::string& text) {
  std::vector<std::string> tokens;
  size_t i = 0;
  while (i < text.size()) {
    char c = text[i];
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
    } else if (c == '(' || c == ')' || c == ',') {
      tokens.emplace_back(1, c);
      ++i;
    } else {
      size_t j = i;
      while (j < text.size() && !std::isspace(static_cast<unsigned char>(text[j])) &&
             text[j] != '(' && text[j] != ')' && text[j] != ',')
        ++j;
      tokens.push_back(text.substr(i, j - i));
      i = j;
    }
  }
  return tokens;
}

class Parser {
 public:
  Parser(const std::string& text) : text_(text), tokens_(Tokenize(text)) {}

  Descriptor ParseAll() {
    Descriptor d = Parse();
    if (pos_ != tokens_.size()) Fail("unexpected '" + tokens_[pos_] + "' after descriptor");
    return d;
  }

 private:
  [[noreturn]] void Fail(const std::string& msg) const {
    KQ_THROW(kFormat) << "bad descriptor \"" << text_ << "\": " << msg;
  }
  const std::string& Next() {
    if (pos_ >= tokens_.size()) Fail("unexpected end");
    return tokens_[pos_++];
  }
  bool Peek(const char* t) const { return pos_ < tokens_.size() && tokens_[pos_] == t; }
  void Expect(const char* t) {
    const std::string& got = Next();
    if (got != t) Fail(std::string("expected '") + t + "', got '" + got + "'");
  }
  int32_t Int() {
    const std::string& s = Next();
    char* end = nullptr;
    errno = 0;
    long v = std::strtol(s.c_str(), &end, 10);
    if (s.empty() || *end != '\0' || errno != 0 || v < INT32_MIN || v > INT32_MAX)
      Fail("expected an integer, got '" + s + "'");
    return static_cast<int32_t>(v);
  }
  float Float() {
    const std::string& s = Next();
    char* end = nullptr;
    double v = std::strtod(s.c_str(), &end);
    if (s.empty() || *end != '\0') Fail("expected a number, got '" + s + "'");
    return static_cast<float>(v);
  }

  Descriptor Parse() {
    if (++depth_ > 1000) Fail("nested too deeply");
    const std::string name = Next();
    Descriptor d;
    static const struct { const char* word; DescriptorType type; } kWords[] = {
        {"Offset", DescriptorType::kOffset},       {"Round", DescriptorType::kRound},
        {"ReplaceIndex", DescriptorType::kReplaceIndex},
        {"IfDefined", DescriptorType::kIfDefined}, {"Failover", DescriptorType::kFailover},
        {"Switch", DescriptorType::kSwitch},       {"Append", DescriptorType::kAppend},
        {"Sum", DescriptorType::kSum},             {"Scale", DescriptorType::kScale},
        {"Const", DescriptorType::kConst}};
    bool keyword = false;
    for (const auto& w : kWords) {
      if (name == w.word && Peek("(")) {
        d.type = w.type;
        keyword = true;
      }
    }
    if (!keyword) {
      if (name == "(" || name == ")" || name == ",") Fail("unexpected '" + name + "'");
      d.type = DescriptorType::kNode;
      d.node_name = name;
      --depth_;
      return d;
    }
    Expect("(");
    switch (d.type) {
      case DescriptorType::kOffset:
        d.args.push_back(Parse());
        Expect(",");
        d.t_offset = Int();
        if (Peek(",")) {
          Next();
          d.x_offset = Int();
        }
        break;
      case DescriptorType::kRound:
        d.args.push_back(Parse());
        Expect(",");
        d.t_modulus = Int();
        if (d.t_modulus <= 0) Fail("Round() modulus must be positive");
        break;
      case DescriptorType::kReplaceIndex: {
        d.args.push_back(Parse());
        Expect(",");
        const std::string var = Next();
        if (var != "t" && var != "x") Fail("ReplaceIndex() variable must be t or x, got " + var);
        d.variable = var[0];
        Expect(",");
        d.value = Int();
        break;
      }
      case DescriptorType::kIfDefined:
        d.args.push_back(Parse());
        break;
      case DescriptorType::kScale:
        d.scale = Float();
        Expect(",");
        d.args.push_back(Parse());
        break;
      case DescriptorType::kConst:
        d.const_value = Float();
        Expect(",");
        d.const_dim = Int();
        if (d.const_dim <= 0) Fail("Const() dim must be positive");
        break;
      default:  // Failover, Switch, Append, Sum: a list of descriptors
        d.args.push_back(Parse());
        while (Peek(",")) {
          Next();
          d.args.push_back(Parse());
        }
        if (d.type == DescriptorType::kFailover && d.args.size() != 2)
          Fail("Failover() takes two arguments");
        if (d.type == DescriptorType::kSum && d.args.size() < 2) Fail("Sum() needs two arguments");
        break;
    }
    Expect(")");
    --depth_;
    return d;
  }

  std::string text_;
  std::vector<std::string> tokens_;
  size_t pos_ = 0;
  int depth_ = 0;
};

void Write(const Descriptor& d, std::ostream& os) {
  auto list = [&](const char* name) {
    os << name << '(';
    for (size_t i = 0; i < d.args.size(); ++i) {
      if (i) os << ", ";
      Write(d.args[i], os);
    }
    os << ')';
  };
  switch (d.type) {
    case DescriptorType::kNode:
      os << d.node_name;
      break;
    case DescriptorType::kOffset:
      os << "Offset(";
      Write(d.args.at(0), os);
      os << ", " << d.t_offset;
      if (d.x_offset != 0) os << ", " << d.x_offset;
      os << ')';
      break;
    case DescriptorType::kRound:
      os << "Round(";
      Write(d.args.at(0), os);
      os << ", " << d.t_modulus << ')';
      break;
    case DescriptorType::kReplaceIndex:
      os << "ReplaceIndex(";
      Write(d.args.at(0), os);
      os << ", " << d.variable << ", " << d.value << ')';
      break;
    case DescriptorType::kIfDefined:
      list("IfDefined");
      break;
    case DescriptorType::kFailover:
      list("Failover");
      break;
    case DescriptorType::kSwitch:
      list("Switch");
      break;
    case DescriptorType::kAppend:
      list("Append");
      break;
    case DescriptorType::kSum:
      list("Sum");
      break;
    case DescriptorType::kScale:
      os << "Scale(" << FormatConfigFloat(d.scale) << ", ";
      Write(d.args.at(0), os);
      os << ')';
      break;
    case DescriptorType::kConst:
      os << "Const(" << FormatConfigFloat(d.const_value) << ", " << d.const_dim << ')';
      break;
  }
}

}  // namespace

Descriptor ParseDescriptor(const std::string& text) { return Parser(text).ParseAll(); }

std::string DescriptorToString(const Descriptor& d) {
  std::ostringstream os;
  Write(d, os);
  return os.str();
}

}  // namespace kaldiq::kaldi
