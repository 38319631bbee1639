#include "kaldi/table.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "kaldi/kaldi_stream.h"
#include "test_util.h"
#include "util/error.h"

namespace kaldiq::kaldi {
namespace {

using kaldiq::testing::ReadFileBytes;
using kaldiq::testing::TempDir;
using kaldiq::testing::TestData;
using kaldiq::testing::WriteFileBytes;

const char* kFeats = "tdnn-seed/dev60/feats.ark";

template <class Holder>
void ExpectByteIdenticalRoundTrip(const std::string& rel, int expected_entries) {
  TempDir tmp;
  std::string in = TestData(rel), out = tmp.File("out.ark");
  int n = 0;
  {
    SequentialTableReader<Holder> reader("ark:" + in);
    TableWriter<Holder> writer("ark:" + out);
    for (; !reader.Done(); reader.Next(), ++n) writer.Write(reader.Key(), reader.Value());
    writer.Close();
  }
  EXPECT_EQ(n, expected_entries) << rel;
  EXPECT_TRUE(ReadFileBytes(in) == ReadFileBytes(out)) << rel << " not byte-identical";
}

TEST(Table, FixtureArchivesRoundTripByteIdentical) {
  ExpectByteIdenticalRoundTrip<MatrixHolder>(kFeats, 60);
  ExpectByteIdenticalRoundTrip<MatrixHolder>("tdnn-seed/dev60/cmvn.ark", 17);
  ExpectByteIdenticalRoundTrip<MatrixHolder>("tdnn-seed/dev60/loglikes5.ark", 5);
  ExpectByteIdenticalRoundTrip<MatrixHolder>("tdnn-seed/dev60/feats_cmvn5.ark", 5);
  ExpectByteIdenticalRoundTrip<MatrixHolder>("tdnnf-small/online_ivectors5.ark", 5);
}

TEST(Table, TextArchiveAndBackKeepsValues) {
  TempDir tmp;
  {
    SequentialMatrixReader reader(std::string("ark:") + TestData("tdnn-seed/dev60/loglikes5.ark"));
    MatrixWriter writer("ark,t:" + tmp.File("t.ark"));
    for (; !reader.Done(); reader.Next()) writer.Write(reader.Key(), reader.Value());
  }
  std::string text = ReadFileBytes(tmp.File("t.ark"));
  // Kaldi's text layout: "key  [\n  v v ... \n  ... ]\n".
  ASSERT_EQ(text.substr(0, 20), "en029-f1-de00020  [\n");
  SequentialMatrixReader a(std::string("ark:") + TestData("tdnn-seed/dev60/loglikes5.ark"));
  SequentialMatrixReader b("ark:" + tmp.File("t.ark"));
  int n = 0;
  double max_rel = 0;
  for (; !a.Done(); a.Next(), b.Next(), ++n) {
    ASSERT_FALSE(b.Done());
    ASSERT_EQ(a.Key(), b.Key());
    const MatrixF &x = a.Value(), &y = b.Value();
    ASSERT_EQ(x.rows(), y.rows());
    ASSERT_EQ(x.cols(), y.cols());
    for (int64_t i = 0; i < x.size(); ++i) {
      max_rel = std::max(max_rel, std::fabs(double(x.data()[i]) - y.data()[i]) /
                                      (std::fabs(double(x.data()[i])) + 1e-30));
    }
  }
  EXPECT_TRUE(b.Done());
  EXPECT_EQ(n, 5);
  EXPECT_LE(max_rel, 6e-7);  // 7 significant digits (as Kaldi prints) + float rounding
}

TEST(Table, ArkScpWritesKaldiIndexAndScpReadsBack) {
  TempDir tmp;
  std::string ark = tmp.File("a.ark"), scp = tmp.File("a.scp");
  {
    SequentialMatrixReader reader(std::string("ark:") + TestData(kFeats));
    MatrixWriter writer("ark,scp:" + ark + "," + scp);
    for (int i = 0; i < 4 && !reader.Done(); ++i, reader.Next())
      writer.Write(reader.Key(), reader.Value());
  }
  std::string index = ReadFileBytes(scp);
  // First entry: "<key> <ark>:<offset after 'key '>\n".
  EXPECT_EQ(index.substr(0, index.find('\n')), "en029-f1-de00020 " + ark + ":17");
  SequentialMatrixReader from_ark(std::string("ark:") + TestData(kFeats));
  SequentialMatrixReader from_scp("scp:" + scp);
  int n = 0;
  for (; !from_scp.Done(); from_scp.Next(), from_ark.Next(), ++n) {
    ASSERT_EQ(from_scp.Key(), from_ark.Key());
    ASSERT_EQ(from_scp.Value().size(), from_ark.Value().size());
    EXPECT_EQ(0, std::memcmp(from_scp.Value().data(), from_ark.Value().data(),
                             from_ark.Value().size() * sizeof(float)));
  }
  EXPECT_EQ(n, 4);
}

TEST(Table, ScpRangesSelectRowsAndColumns) {
  TempDir tmp;
  std::string ark = tmp.File("a.ark"), scp = tmp.File("a.scp");
  MatrixF full;
  std::string key;
  {
    SequentialMatrixReader reader(std::string("ark:") + TestData(kFeats));
    key = reader.Key();
    full = reader.Value();
    MatrixWriter writer("ark,scp:" + ark + "," + scp);
    writer.Write(key, full);
  }
  std::string line = ReadFileBytes(scp);
  std::string rx = line.substr(key.size() + 1, line.size() - key.size() - 2);
  WriteFileBytes(tmp.File("r.scp"), "rows " + rx + "[10:19]\nboth " + rx + "[0:99,2:5]\n" +
                                        "all " + rx + "[:,3:3]\n");
  RandomAccessMatrixReader reader("scp:" + tmp.File("r.scp"));
  const MatrixF& rows = reader.Value("rows");
  ASSERT_EQ(rows.rows(), 10);
  ASSERT_EQ(rows.cols(), full.cols());
  EXPECT_EQ(rows(0, 0), full(10, 0));
  EXPECT_EQ(rows(9, 39), full(19, 39));
  const MatrixF& both = reader.Value("both");
  ASSERT_EQ(both.rows(), 100);
  ASSERT_EQ(both.cols(), 4);
  EXPECT_EQ(both(99, 3), full(99, 5));
  EXPECT_EQ(both(0, 0), full(0, 2));
  const MatrixF& col = reader.Value("all");
  ASSERT_EQ(col.rows(), full.rows());
  ASSERT_EQ(col.cols(), 1);
  EXPECT_EQ(col(5, 0), full(5, 3));

  WriteFileBytes(tmp.File("bad.scp"), "x " + rx + "[5:2]\n");
  SequentialMatrixReader bad;
  EXPECT_THROW(bad.Open("scp:" + tmp.File("bad.scp")), Error);
}

TEST(Table, InputAndOutputPipes) {
  TempDir tmp;
  std::string in = TestData("tdnn-seed/dev60/loglikes5.ark");
  std::string out = tmp.File("piped.ark");
  {
    SequentialMatrixReader reader("ark:cat '" + in + "' |");
    MatrixWriter writer("ark:| cat > '" + out + "'");
    for (; !reader.Done(); reader.Next()) writer.Write(reader.Key(), reader.Value());
    reader.Close();
    writer.Close();
  }
  EXPECT_TRUE(ReadFileBytes(in) == ReadFileBytes(out));

  // A failing input command is an error at Close(), not a silently empty table.
  SequentialMatrixReader failing("ark:cat '" + tmp.File("missing.ark") + "' 2>/dev/null |");
  EXPECT_TRUE(failing.Done());
  EXPECT_THROW(failing.Close(), Error);
}

TEST(Table, RandomAccessArchiveSortedAndUnsorted) {
  std::string ark = TestData(kFeats);
  std::vector<std::string> keys;
  std::vector<int64_t> rows;
  for (SequentialMatrixReader r("ark:" + ark); !r.Done(); r.Next()) {
    keys.push_back(r.Key());
    rows.push_back(r.Value().rows());
  }
  ASSERT_EQ(keys.size(), 60u);
  for (const char* opts : {"ark:", "ark,s:", "ark,s,cs:", "ark,o:"}) {
    RandomAccessMatrixReader reader(std::string(opts) + ark);
    // Keys asked in sorted order (valid for every option combination), with absent keys
    // before the first, between two, and after the last.
    EXPECT_FALSE(reader.HasKey("a-no-such-utt")) << opts;
    for (size_t i = 0; i < keys.size(); i += 7) {
      ASSERT_TRUE(reader.HasKey(keys[i])) << opts << " " << keys[i];
      EXPECT_EQ(reader.Value(keys[i]).rows(), rows[i]) << opts;
      if (i == 28) {
        EXPECT_FALSE(reader.HasKey(keys[i] + "x")) << opts;
      }
    }
    EXPECT_FALSE(reader.HasKey("zz-no-such-utt")) << opts;
  }
  // Unsorted access in any order.
  RandomAccessMatrixReader reader("ark:" + ark);
  EXPECT_EQ(reader.Value(keys[59]).rows(), rows[59]);
  EXPECT_EQ(reader.Value(keys[0]).rows(), rows[0]);
  EXPECT_THROW(reader.Value("absent"), Error);
}

TEST(Table, RandomAccessScriptAndPermissive) {
  TempDir tmp;
  std::string ark = tmp.File("a.ark"), scp = tmp.File("a.scp");
  {
    SequentialMatrixReader reader(std::string("ark:") + TestData(kFeats));
    MatrixWriter writer("ark,scp:" + ark + "," + scp);
    for (int i = 0; i < 3; ++i, reader.Next()) writer.Write(reader.Key(), reader.Value());
  }
  std::string index = ReadFileBytes(scp);
  WriteFileBytes(tmp.File("b.scp"), index + "ghost " + tmp.File("nonexistent.ark") + ":0\n");
  RandomAccessMatrixReader strict("scp:" + tmp.File("b.scp"));
  EXPECT_TRUE(strict.HasKey("ghost"));  // listed (not loaded) without 'p'
  EXPECT_THROW(strict.Value("ghost"), Error);
  EXPECT_EQ(strict.Value("en029-f1-de00020").cols(), 40);

  RandomAccessMatrixReader permissive("scp,p:" + tmp.File("b.scp"));
  EXPECT_FALSE(permissive.HasKey("ghost"));
  EXPECT_TRUE(permissive.HasKey("en029-f1-de00020"));

  int n = 0;
  for (SequentialMatrixReader r("scp,p:" + tmp.File("b.scp")); !r.Done(); r.Next()) ++n;
  EXPECT_EQ(n, 3);
  SequentialMatrixReader s;
  try {
    s.Open("scp:" + tmp.File("b.scp"));
    while (!s.Done()) s.Next();
    FAIL() << "no error for the missing scp entry";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("key 'ghost'"), std::string::npos) << e.what();
  }
}

TEST(Table, Int32AndTokenVectorTextFormats) {
  TempDir tmp;
  {
    Int32VectorWriter w("ark,t:" + tmp.File("ali.txt"));
    w.Write("utt1", {1, 2, 3});
    w.Write("utt2", {});
    TokenVectorWriter t("ark:" + tmp.File("text"));  // text-only: binary flag ignored
    t.Write("utt1", {"HELLO", "WORLD"});
    Int32VectorWriter b("ark:" + tmp.File("ali.bin"));
    b.Write("u", {7, -1});
  }
  EXPECT_EQ(ReadFileBytes(tmp.File("ali.txt")), "utt1 1 2 3 \nutt2 \n");
  EXPECT_EQ(ReadFileBytes(tmp.File("text")), "utt1 HELLO WORLD \n");
  EXPECT_EQ(ReadFileBytes(tmp.File("ali.bin")),
            std::string("u \0B\4\2\0\0\0\4\7\0\0\0\4\xff\xff\xff\xff", 19));
  RandomAccessInt32VectorReader ali("ark:" + tmp.File("ali.txt"));
  EXPECT_EQ(ali.Value("utt1"), (std::vector<int32_t>{1, 2, 3}));
  EXPECT_TRUE(ali.Value("utt2").empty());
  SequentialInt32VectorReader bin("ark:" + tmp.File("ali.bin"));
  EXPECT_EQ(bin.Value(), (std::vector<int32_t>{7, -1}));
  // utt2spk-style tables read with the token holder; the fixture has 60 lines.
  int n = 0;
  for (SequentialTokenReader r(std::string("ark:") + TestData("tdnn-seed/dev60/utt2spk"));
       !r.Done(); r.Next(), ++n) {
    EXPECT_EQ(r.Key().rfind(r.Value(), 0), 0u) << "speaker is a prefix of the utterance id";
  }
  EXPECT_EQ(n, 60);
  SequentialTokenVectorReader text(std::string("ark:") + TestData("tdnn-seed/dev60/text"));
  EXPECT_FALSE(text.Value().empty());
}

TEST(Table, SpecifierParsing) {
  std::string a, s;
  RspecifierOptions ro;
  EXPECT_EQ(ClassifyRspecifier("ark,s,cs,p:-", &a, &ro), RspecifierType::kArchive);
  EXPECT_TRUE(ro.sorted && ro.called_sorted && ro.permissive && !ro.once);
  EXPECT_EQ(a, "-");
  EXPECT_EQ(ClassifyRspecifier("scp,o,bg:a b.scp", &a, &ro), RspecifierType::kScript);
  EXPECT_TRUE(ro.once && ro.background);
  EXPECT_EQ(ClassifyRspecifier("ark:gunzip -c x.gz |", &a, &ro), RspecifierType::kArchive);
  EXPECT_EQ(a, "gunzip -c x.gz |");
  EXPECT_EQ(ClassifyRspecifier("ark,x:a", &a, &ro), RspecifierType::kNone);
  EXPECT_EQ(ClassifyRspecifier("feats.ark", &a, &ro), RspecifierType::kNone);
  EXPECT_EQ(ClassifyRspecifier("ark,scp:a", &a, &ro), RspecifierType::kNone);
  WspecifierOptions wo;
  EXPECT_EQ(ClassifyWspecifier("ark,scp,t,f:a.ark,a.scp", &a, &s, &wo), WspecifierType::kBoth);
  EXPECT_EQ(a, "a.ark");
  EXPECT_EQ(s, "a.scp");
  EXPECT_TRUE(!wo.binary && wo.flush);
  EXPECT_EQ(ClassifyWspecifier("scp,ark:a,b", &a, &s, &wo), WspecifierType::kNone);
  EXPECT_EQ(ClassifyWspecifier("ark:| gzip -c > x.gz", &a, &s, &wo), WspecifierType::kArchive);
  EXPECT_EQ(a, "| gzip -c > x.gz");
  EXPECT_THROW(SequentialMatrixReader("feats.ark"), Error);
  EXPECT_THROW(MatrixWriter("out.ark"), Error);
}

// --- bad input ------------------------------------------------------------------------------

std::string ErrorOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(TableBadInput, TruncatedArchiveNamesKeyAndOffset) {
  TempDir tmp;
  std::string bytes = ReadFileBytes(TestData("tdnn-seed/dev60/loglikes5.ark"));
  WriteFileBytes(tmp.File("trunc.ark"), bytes.substr(0, bytes.size() / 2));
  std::string msg = ErrorOf([&] {
    for (SequentialMatrixReader r("ark:" + tmp.File("trunc.ark")); !r.Done(); r.Next()) {
    }
  });
  ASSERT_FALSE(msg.empty()) << "truncated archive read without error";
  EXPECT_NE(msg.find("rspecifier 'ark:"), std::string::npos) << msg;
  EXPECT_NE(msg.find("key 'en029-f1-de00"), std::string::npos) << msg;
  EXPECT_NE(msg.find("byte offset"), std::string::npos) << msg;
  // Through a pipe (unknown size) it is an error too.
  msg = ErrorOf([&] {
    for (SequentialMatrixReader r("ark:cat " + tmp.File("trunc.ark") + " |"); !r.Done(); r.Next()) {
    }
  });
  EXPECT_NE(msg.find("truncated"), std::string::npos) << msg;
  // Permissive: stops quietly at the bad entry.
  int n = 0;
  for (SequentialMatrixReader r("ark,p:" + tmp.File("trunc.ark")); !r.Done(); r.Next()) ++n;
  EXPECT_EQ(n, 2);
}

TEST(TableBadInput, WrongBinaryMarker) {
  TempDir tmp;
  std::string bytes = ReadFileBytes(TestData("tdnn-seed/dev60/loglikes5.ark"));
  bytes[18] = 'X';  // "\0B" -> "\0X" of the first entry
  WriteFileBytes(tmp.File("bad.ark"), bytes);
  std::string msg = ErrorOf([&] { SequentialMatrixReader r("ark:" + tmp.File("bad.ark")); });
  EXPECT_NE(msg.find("binary marker"), std::string::npos) << msg;
  EXPECT_NE(msg.find("en029-f1-de00020"), std::string::npos) << msg;
}

TEST(TableBadInput, HugeDeclaredSizeRefused) {
  TempDir tmp;
  std::string entry("utt \0BFM \4\x00\x00\x00\x7f\4\x00\x00\x00\x7f", 19);
  WriteFileBytes(tmp.File("huge.ark"), entry + std::string(64, '\0'));
  std::string msg = ErrorOf([&] { SequentialMatrixReader r("ark:" + tmp.File("huge.ark")); });
  EXPECT_NE(msg.find("2130706432 x 2130706432"), std::string::npos) << msg;
  msg = ErrorOf([&] { SequentialMatrixReader r("ark:cat " + tmp.File("huge.ark") + " |"); });
  EXPECT_FALSE(msg.empty());
}

TEST(TableBadInput, NonexistentFilesAndGarbage) {
  TempDir tmp;
  std::string msg = ErrorOf([&] { SequentialMatrixReader r("ark:" + tmp.File("nope.ark")); });
  EXPECT_NE(msg.find("nope.ark"), std::string::npos) << msg;
  msg = ErrorOf([&] { RandomAccessMatrixReader r("scp:" + tmp.File("nope.scp")); });
  EXPECT_NE(msg.find("nope.scp"), std::string::npos) << msg;
  msg = ErrorOf([&] { MatrixWriter w("ark:" + tmp.File("no/such/dir/x.ark")); });
  EXPECT_NE(msg.find("cannot open"), std::string::npos) << msg;
  WriteFileBytes(tmp.File("garbage.ark"), "this is not an archive\n");
  msg = ErrorOf([&] {
    for (SequentialMatrixReader r("ark:" + tmp.File("garbage.ark")); !r.Done(); r.Next()) {
    }
  });
  EXPECT_FALSE(msg.empty());
}

TEST(TableBadInput, WriterLeavesNothingOnError) {
  TempDir tmp;
  std::string out = tmp.File("out.ark");
  try {
    MatrixWriter w("ark:" + out);
    w.Write("a", MatrixF(2, 2));
    throw Error(Error::Code::kFormat, "simulated failure");
  } catch (const Error&) {
  }
  EXPECT_NE(access(out.c_str(), F_OK), 0) << "partial output left behind";
  EXPECT_EQ(std::system(("ls " + tmp.path() + " | grep -q kq-tmp").c_str()) == 0, false)
      << "temporary file left behind";
  {
    MatrixWriter w("ark:" + out);
    w.Write("a", MatrixF(2, 2));
  }  // normal destruction commits
  EXPECT_EQ(access(out.c_str(), F_OK), 0);
  EXPECT_THROW(MatrixWriter("ark:" + out).Write("bad key", MatrixF()), Error);
}

TEST(KaldiStream, DevNullIsWrittenInPlace) {
  // Kaldi scripts write "ark:/dev/null"; it must not be replaced by a renamed temporary.
  {
    MatrixWriter w("ark:/dev/null");
    w.Write("a", MatrixF(3, 3));
    w.Close();
  }
  struct stat st;
  ASSERT_EQ(stat("/dev/null", &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
}

TEST(KaldiStream, InputOffsetAndStdinKinds) {
  EXPECT_EQ(ClassifyRxfilename("-"), InputKind::kStandardInput);
  EXPECT_EQ(ClassifyRxfilename("a.ark:123"), InputKind::kOffsetFile);
  EXPECT_EQ(ClassifyRxfilename("gunzip -c a |"), InputKind::kPipe);
  EXPECT_EQ(ClassifyRxfilename("| cat"), InputKind::kInvalid);
  EXPECT_EQ(ClassifyWxfilename("| cat > x"), OutputKind::kPipe);
  EXPECT_EQ(ClassifyWxfilename("a.ark:12"), OutputKind::kInvalid);
  // "file:offset" opens at the object and reads its binary header.
  Input in(TestData(kFeats) + ":17");
  EXPECT_TRUE(in.binary());
  MatrixF m;
  ReadMatrix(in.Stream(), true, &m);
  EXPECT_EQ(m.cols(), 40);
  EXPECT_THROW(Input(TestData(kFeats) + ":99999999"), Error);
}

}  // namespace
}  // namespace kaldiq::kaldi
