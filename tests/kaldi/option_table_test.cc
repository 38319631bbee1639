// Kaldi option tables for option files (util/parse-options.cc semantics).
#include "kaldi/option_table.h"

#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "util/error.h"

namespace kaldiq::kaldi {
namespace {

struct Opts {
  int32_t window = 600;
  float post = 0.025f;
  double d = 1.5;
  bool vars = false;
  std::string path;
  void Register(OptionTable* t) {
    t->Register("cmn-window", &window, "w");
    t->Register("min_post", &post, "p");  // registered with '_': normalised to '-'
    t->Register("dbl", &d, "d");
    t->Register("norm-vars", &vars, "v");
    t->Register("lda-matrix", &path, "s");
  }
};

std::string WriteTemp(const std::string& name, const std::string& text) {
  std::string path = ::testing::TempDir() + "/" + name;
  std::ofstream(path) << text;
  return path;
}

TEST(OptionTable, AppliesValuesWithKaldiSemantics) {
  Opts o;
  OptionTable t;
  o.Register(&t);
  t.Apply({"--cmn-window=300", "--Min_Post=0.5", "--dbl=-2e-3", "--norm-vars", "--lda-matrix=a b"});
  EXPECT_EQ(o.window, 300);
  EXPECT_FLOAT_EQ(o.post, 0.5f);
  EXPECT_DOUBLE_EQ(o.d, -2e-3);
  EXPECT_TRUE(o.vars);
  EXPECT_EQ(o.path, "a b");
  for (const char* v : {"false", "F", "0"}) {
    t.Apply({std::string("--norm-vars=") + v});
    EXPECT_FALSE(o.vars) << v;
  }
  for (const char* v : {"TRUE", "t", "1"}) {
    t.Apply({std::string("--norm-vars=") + v});
    EXPECT_TRUE(o.vars) << v;
  }
  t.Apply({"--cmn-window=1", "--cmn-window=2"});  // the last one wins
  EXPECT_EQ(o.window, 2);
}

TEST(OptionTable, RejectsUnknownEmptyAndBadValues) {
  Opts o;
  OptionTable t;
  o.Register(&t);
  EXPECT_THROW(t.Apply({"--no-such=1"}), Error);
  EXPECT_THROW(t.Apply({"--cmn-window="}), Error);
  EXPECT_THROW(t.Apply({"--cmn-window"}), Error);  // a bare flag only for booleans
  EXPECT_THROW(t.Apply({"--cmn-window=1.5"}), Error);
  EXPECT_THROW(t.Apply({"--cmn-window=99999999999"}), Error);
  EXPECT_THROW(t.Apply({"--min-post=abc"}), Error);
  EXPECT_THROW(t.Apply({"--norm-vars=yes"}), Error);
  EXPECT_THROW(t.Apply({"cmn-window=3"}), Error);
  EXPECT_EQ(o.window, 600);  // nothing was changed by the failures
}

TEST(OptionTable, ReadsConfigFilesAndNamesThemInErrors) {
  Opts o;
  OptionTable t;
  o.Register(&t);
  t.ReadConfigFile(WriteTemp("ok.conf", "# comment\n--cmn-window=100  # trailing\n\n--norm-vars\n"));
  EXPECT_EQ(o.window, 100);
  EXPECT_TRUE(o.vars);
  std::string bad = WriteTemp("bad.conf", "--cmn-window=100\n--left-context=3\n");
  try {
    t.ReadConfigFile(bad);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("bad.conf"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("left-context"), std::string::npos) << e.what();
  }
}

TEST(OptionTable, ValueStrings) {
  Opts o;
  OptionTable t;
  o.Register(&t);
  std::vector<std::string> got;
  for (const auto& e : t.entries()) got.push_back(e.name + "=" + OptionTable::ValueString(e));
  EXPECT_EQ(got, (std::vector<std::string>{"cmn-window=600", "min-post=0.025", "dbl=1.5",
                                           "norm-vars=false", "lda-matrix="}));
  EXPECT_EQ(NormalizeOptionName("Num_GSelect"), "num-gselect");
}

}  // namespace
}  // namespace kaldiq::kaldi
