// `kaldiq forward` end to end: identical output for 1 and 2 threads, per-utterance failures
// reported by name and skipped, nothing written when every utterance fails.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "kaldi/table.h"

namespace kaldiq {
namespace {

const std::string kData = KQ_TESTDATA_DIR;
const std::string kBinary = std::string(KQ_BINARY_DIR) + "/tools/kaldiq/kaldiq";

std::string ReadFile(const std::string& path) {
  std::ifstream is(path, std::ios::binary);
  std::stringstream ss;
  ss << is.rdbuf();
  return ss.str();
}

class ForwardCli : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/kq_forward_test_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::system(("rm -rf " + dir_).c_str()); }
  // Runs kaldiq with args; returns the exit code, stderr in *err.
  int Run(const std::string& args, std::string* err) {
    std::string log = dir_ + "/stderr.txt";
    int rc = std::system((kBinary + " " + args + " 2>" + log).c_str());
    *err = ReadFile(log);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  }
  std::string dir_;
};

TEST_F(ForwardCli, SameOutputForOneAndTwoThreads) {
  const std::string d = kData + "/tdnnf-small";
  std::string common = "forward --frame-subsampling-factor=3 --frames-per-chunk=33 "
                       "--extra-left-context=12 --online-ivectors=ark:" + d +
                       "/online_ivectors5.ark --online-ivector-period=10 " + d + "/final.raw ark:" +
                       d + "/feats2.ark ";
  std::string err;
  ASSERT_EQ(Run(common + "--num-threads=1 ark:" + dir_ + "/o1.ark", &err), 0) << err;
  ASSERT_EQ(Run(common + "--num-threads=2 ark:" + dir_ + "/o2.ark", &err), 0) << err;
  std::string a = ReadFile(dir_ + "/o1.ark"), b = ReadFile(dir_ + "/o2.ark");
  EXPECT_GT(a.size(), 1000u);
  EXPECT_EQ(a, b);
  // Utterance order = input order.
  kaldi::SequentialMatrixReader in("ark:" + d + "/feats2.ark"), out("ark:" + dir_ + "/o2.ark");
  for (; !in.Done(); in.Next(), out.Next()) {
    ASSERT_FALSE(out.Done());
    EXPECT_EQ(in.Key(), out.Key());
    EXPECT_EQ(out.Value().rows(), (in.Value().rows() + 2) / 3);
  }
}

TEST_F(ForwardCli, BadUtterancesAreReportedAndSkipped) {
  // Three utterances: good, NaN, wrong dimension.
  kaldi::SequentialMatrixReader feats("ark:" + kData + "/tdnn-seed/dev60/feats_cmvn5.ark");
  MatrixF good = feats.Value();
  MatrixF nan = good;
  nan(3, 7) = std::nanf("");
  MatrixF narrow(20, 13);
  {
    kaldi::MatrixWriter w("ark:" + dir_ + "/in.ark");
    w.Write("good-utt", good);
    w.Write("nan-utt", nan);
    w.Write("narrow-utt", narrow);
    w.Close();
  }
  std::string err;
  int rc = Run("forward --frame-subsampling-factor=3 " + kData + "/tdnn-seed/final.mdl ark:" +
                   dir_ + "/in.ark ark:" + dir_ + "/out.ark", &err);
  EXPECT_EQ(rc, 0) << err;
  EXPECT_NE(err.find("nan-utt"), std::string::npos) << err;
  EXPECT_NE(err.find("narrow-utt"), std::string::npos) << err;
  EXPECT_NE(err.find("failed for 2"), std::string::npos) << err;
  kaldi::SequentialMatrixReader out("ark:" + dir_ + "/out.ark");
  ASSERT_FALSE(out.Done());
  EXPECT_EQ(out.Key(), "good-utt");
  out.Next();
  EXPECT_TRUE(out.Done());

  // Nothing succeeds: exit 1, no output file.
  {
    kaldi::MatrixWriter w("ark:" + dir_ + "/bad.ark");
    w.Write("nan-utt", nan);
    w.Close();
  }
  rc = Run("forward " + kData + "/tdnn-seed/final.mdl ark:" + dir_ + "/bad.ark ark:" + dir_ +
               "/none.ark", &err);
  EXPECT_EQ(rc, 1) << err;
  EXPECT_FALSE(std::ifstream(dir_ + "/none.ark").good());
}

TEST_F(ForwardCli, MissingOnlineIvectorIsPerUtterance) {
  const std::string d = kData + "/tdnnf-small";
  kaldi::SequentialMatrixReader feats("ark:" + d + "/feats2.ark");
  {
    kaldi::MatrixWriter w("ark:" + dir_ + "/in.ark");
    w.Write(feats.Key(), feats.Value());
    w.Write("no-ivector-utt", feats.Value());
    w.Close();
  }
  std::string err;
  int rc = Run("forward --frame-subsampling-factor=3 --online-ivector-period=10 "
               "--online-ivectors=ark:" + d + "/online_ivectors5.ark " + d + "/final.raw ark:" +
               dir_ + "/in.ark ark,t:" + dir_ + "/out.txt", &err);
  EXPECT_EQ(rc, 0) << err;
  EXPECT_NE(err.find("no-ivector-utt"), std::string::npos) << err;
  EXPECT_NE(err.find("i-vector"), std::string::npos) << err;
}

TEST_F(ForwardCli, MissingModelFileIsAnError) {
  std::string err;
  EXPECT_EQ(Run("forward " + dir_ + "/nonexistent.mdl ark:" + kData +
                    "/tdnnf-small/feats2.ark ark:" + dir_ + "/o.ark", &err), 1);
  EXPECT_NE(err.find("nonexistent.mdl"), std::string::npos) << err;
}

}  // namespace
}  // namespace kaldiq
