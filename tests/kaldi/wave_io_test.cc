// WAV reading and writing (kaldi/wave_io.h) against hand-built RIFF files: every rule of
// Kaldi's WaveInfo::Read / WaveData::Read, the corner cases a fuzzer would find, and wave
// archives / scp entries through the table layer.
#include "kaldi/wave_io.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "kaldi/table.h"
#include "kaldi/test_util.h"
#include "util/error.h"

namespace kaldiq::kaldi {
namespace {

using testing::TempDir;
using testing::WriteFileBytes;

// Little- or big-endian field writer for hand-built headers.
struct Bytes {
  bool big = false;
  std::string s;
  Bytes& U32(uint32_t v) {
    for (int i = 0; i < 4; ++i) s.push_back(char(big ? v >> (24 - 8 * i) : v >> (8 * i)));
    return *this;
  }
  Bytes& U16(uint16_t v) {
    for (int i = 0; i < 2; ++i) s.push_back(char(big ? v >> (8 - 8 * i) : v >> (8 * i)));
    return *this;
  }
  Bytes& Raw(const std::string& r) {
    s += r;
    return *this;
  }
};

struct WavSpec {
  bool rifx = false;
  int64_t riff_size = -1;  // -1: consistent with the content
  std::string before_fmt;  // chunks between "WAVE" and "fmt "
  uint16_t format = 1;
  uint16_t channels = 1;
  uint32_t rate = 16000;
  int64_t byte_rate = -1, block_align = -1;  // -1: consistent
  uint16_t bits = 16;
  std::string fmt_extra;    // appended to the 16 standard fmt bytes
  std::string before_data;  // chunks between "fmt " and "data"
  int64_t data_size = -1;   // -1: size of `samples`
  std::vector<int16_t> samples;  // interleaved
  std::string data_extra;   // raw bytes appended to the sample bytes (odd tails)
  std::string after;        // bytes after the data chunk
};

std::string Chunk(bool big, const std::string& tag, const std::string& payload, bool pad = true) {
  Bytes b;
  b.big = big;
  b.Raw(tag).U32(static_cast<uint32_t>(payload.size())).Raw(payload);
  if (pad && payload.size() % 2 == 1) b.Raw(std::string(1, '\0'));
  return b.s;
}

std::string Build(const WavSpec& w) {
  Bytes fmt;
  fmt.big = w.rifx;
  const uint32_t block = w.block_align >= 0 ? uint32_t(w.block_align) : w.channels * 2u;
  const uint32_t byte_rate = w.byte_rate >= 0 ? uint32_t(w.byte_rate) : w.rate * block;
  fmt.U16(w.format).U16(w.channels).U32(w.rate).U32(byte_rate).U16(uint16_t(block)).U16(w.bits);
  fmt.Raw(w.fmt_extra);
  Bytes data;
  data.big = w.rifx;
  for (int16_t v : w.samples) data.U16(static_cast<uint16_t>(v));
  data.Raw(w.data_extra);
  Bytes body;
  body.big = w.rifx;
  body.Raw("WAVE").Raw(w.before_fmt).Raw(Chunk(w.rifx, "fmt ", fmt.s)).Raw(w.before_data);
  body.Raw("data").U32(w.data_size >= 0 ? uint32_t(w.data_size) : uint32_t(data.s.size()));
  body.Raw(data.s);
  Bytes out;
  out.big = w.rifx;
  out.Raw(w.rifx ? "RIFX" : "RIFF");
  out.U32(w.riff_size >= 0 ? uint32_t(w.riff_size) : uint32_t(body.s.size()));
  out.Raw(body.s).Raw(w.after);
  return out.s;
}

WaveData Read(const std::string& bytes) {
  std::istringstream is(bytes);
  WaveData w;
  ReadWave(is, &w);
  return w;
}

// Expects a kaldiq::Error whose message contains `needle`.
void ExpectReadError(const std::string& bytes, const std::string& needle) {
  try {
    Read(bytes);
    ADD_FAILURE() << "no error; expected one containing '" << needle << "'";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

WavSpec Mono(std::vector<int16_t> s) {
  WavSpec w;
  w.samples = std::move(s);
  return w;
}

TEST(WaveIoTest, PcmMonoKeepsTheInt16ValuesUnnormalised) {
  WaveData w = Read(Build(Mono({0, 1, -1, 32767, -32768, 1234})));
  EXPECT_EQ(w.samp_freq, 16000.0f);
  ASSERT_EQ(w.NumChannels(), 1);
  ASSERT_EQ(w.NumSamples(), 6);
  const float want[] = {0, 1, -1, 32767, -32768, 1234};
  for (int i = 0; i < 6; ++i) EXPECT_EQ(w.data(0, i), want[i]) << i;
  EXPECT_TRUE(w.warnings.empty());
  EXPECT_FLOAT_EQ(w.Duration(), 6.0f / 16000);
}

TEST(WaveIoTest, StereoIsChannelsBySamples) {
  WavSpec s = Mono({1, -1, 2, -2, 3, -3});
  s.channels = 2;
  WaveData w = Read(Build(s));
  ASSERT_EQ(w.NumChannels(), 2);
  ASSERT_EQ(w.NumSamples(), 3);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(w.data(0, i), float(i + 1));
    EXPECT_EQ(w.data(1, i), -float(i + 1));
  }
}

TEST(WaveIoTest, RifxIsBigEndian) {
  WavSpec s = Mono({258, -2, 32767, -32768});
  s.rifx = true;
  s.rate = 8000;
  WaveData w = Read(Build(s));
  EXPECT_EQ(w.samp_freq, 8000.0f);
  ASSERT_EQ(w.NumSamples(), 4);
  EXPECT_EQ(w.data(0, 0), 258.0f);
  EXPECT_EQ(w.data(0, 1), -2.0f);
  EXPECT_EQ(w.data(0, 2), 32767.0f);
  EXPECT_EQ(w.data(0, 3), -32768.0f);
}

TEST(WaveIoTest, SkipsChunksBeforeFmtAndBeforeData) {
  WavSpec s = Mono({5, 6, 7});
  s.before_fmt = Chunk(false, "JUNK", std::string(28, 'j'));
  s.before_data = Chunk(false, "fact", std::string(4, '\0')) +
                  Chunk(false, "LIST", std::string(26, 'l'));
  WaveData w = Read(Build(s));
  ASSERT_EQ(w.NumSamples(), 3);
  EXPECT_EQ(w.data(0, 2), 7.0f);
  EXPECT_TRUE(w.warnings.empty());
}

TEST(WaveIoTest, OddSizedChunkWithPadByteIsSkippedCorrectly) {
  WavSpec s = Mono({9, 10});
  s.before_data = Chunk(false, "LIST", "abc", /*pad=*/true);  // 3 bytes + RIFF pad byte
  WaveData w = Read(Build(s));
  ASSERT_EQ(w.NumSamples(), 2);
  EXPECT_EQ(w.data(0, 0), 9.0f);
  // Without a pad byte (a non-conforming writer, which Kaldi reads): read the same.
  s.before_data = Chunk(false, "LIST", "abc", /*pad=*/false);
  w = Read(Build(s));
  ASSERT_EQ(w.NumSamples(), 2);
  EXPECT_EQ(w.data(0, 1), 10.0f);
}

TEST(WaveIoTest, FactChunkOfWrongSizeOnlyWarns) {
  WavSpec s = Mono({1, 2});
  s.before_data = Chunk(false, "fact", std::string(8, '\0'));
  WaveData w = Read(Build(s));
  EXPECT_EQ(w.NumSamples(), 2);
  ASSERT_EQ(w.warnings.size(), 1u);
  EXPECT_NE(w.warnings[0].find("fact chunk"), std::string::npos);
}

TEST(WaveIoTest, LongFmtChunkExtraBytesAreSkipped) {
  WavSpec s = Mono({3, 4});
  s.fmt_extra = std::string(2, '\0');  // cbSize = 0, as many writers add
  EXPECT_EQ(Read(Build(s)).NumSamples(), 2);
  s.fmt_extra = std::string(7, 'x');   // odd fmt size, padded
  EXPECT_EQ(Read(Build(s)).NumSamples(), 2);
}

std::string ExtensibleFmt(uint32_t guid1) {
  Bytes b;
  b.U16(22).U16(16).U32(0x4);  // cbSize, valid bits, channel mask
  b.U32(guid1).U32(0x00100000).U32(0xAA000080).U32(0x719B3800);
  return b.s;
}

TEST(WaveIoTest, WaveFormatExtensiblePcmIsRead) {
  WavSpec s = Mono({11, -11});
  s.format = 0xFFFE;
  s.fmt_extra = ExtensibleFmt(1);
  WaveData w = Read(Build(s));
  ASSERT_EQ(w.NumSamples(), 2);
  EXPECT_EQ(w.data(0, 1), -11.0f);
}

TEST(WaveIoTest, WaveFormatExtensibleFloatAndMalformedAreErrors) {
  WavSpec s = Mono({1, 2});
  s.format = 0xFFFE;
  s.fmt_extra = ExtensibleFmt(3);
  ExpectReadError(Build(s), "unsupported WAVE_FORMAT_EXTENSIBLE");
  s.fmt_extra = ExtensibleFmt(1).substr(0, 10);  // fmt chunk shorter than 40 bytes
  ExpectReadError(Build(s), "malformed WAVE_FORMAT_EXTENSIBLE");
}

TEST(WaveIoTest, NonPcmFormatsAreErrors) {
  for (uint16_t fmt : {3, 6, 7, 2}) {
    WavSpec s = Mono({1, 2});
    s.format = fmt;
    ExpectReadError(Build(s), "can read only PCM data, format id in file is: " +
                                  std::to_string(fmt));
  }
}

TEST(WaveIoTest, OnlySixteenBitPcm) {
  for (uint16_t bits : {8, 24, 32}) {
    WavSpec s = Mono({1, 2, 3, 4});
    s.bits = bits;
    s.block_align = bits / 8;
    s.byte_rate = 16000 * (bits / 8);
    ExpectReadError(Build(s), "unsupported bits_per_sample = " + std::to_string(bits));
  }
}

TEST(WaveIoTest, HeaderConsistencyChecks) {
  WavSpec s = Mono({1, 2});
  s.channels = 0;
  s.block_align = 0;
  s.byte_rate = 0;
  ExpectReadError(Build(s), "no channels");
  s = Mono({1, 2});
  s.byte_rate = 12345;
  ExpectReadError(Build(s), "unexpected byte rate");
  s = Mono({1, 2});
  s.block_align = 4;
  s.byte_rate = 32000;  // consistent with mono 16-bit, so only block_align is wrong
  ExpectReadError(Build(s), "unexpected block_align");
  s = Mono({1, 2});
  s.rate = 0;
  ExpectReadError(Build(s), "sample rate of 0 Hz");
}

TEST(WaveIoTest, NotAWaveFile) {
  ExpectReadError("hello world, this is text", "expected RIFF or RIFX");
  ExpectReadError("", "expected 'RIFF' or 'RIFX'");
  std::string b = Build(Mono({1}));
  b.replace(8, 4, "AVI ");
  ExpectReadError(b, "expected 'WAVE'");
}

TEST(WaveIoTest, StreamModeReadsToTheEnd) {
  for (uint32_t data_size : {0u, 0xFFFFFFFFu, 0x7FFFF000u}) {
    WavSpec s = Mono({1, 2, 3, 4, 5});
    s.data_size = data_size;
    WaveData w = Read(Build(s));
    EXPECT_EQ(w.NumSamples(), 5) << data_size;
    EXPECT_TRUE(w.warnings.empty()) << data_size;
  }
  WavSpec s = Mono({1, 2, 3});
  s.riff_size = 0;  // RIFF size 0 also means streaming
  s.after = std::string(4, '\x01');
  EXPECT_EQ(Read(Build(s)).NumSamples(), 5);  // the trailing bytes are read as samples
}

TEST(WaveIoTest, TruncatedDataWarnsAndUsesWhatWasRead) {
  WavSpec s = Mono({1, 2, 3});
  s.data_size = 100;
  WaveData w = Read(Build(s));
  EXPECT_EQ(w.NumSamples(), 3);
  bool truncated = false;
  for (const auto& m : w.warnings) truncated |= m.find("Truncated file?") != std::string::npos;
  EXPECT_TRUE(truncated);
}

TEST(WaveIoTest, ExactDataSizeLeavesTheRestUnread) {
  WavSpec s = Mono({1, 2});
  s.after = Chunk(false, "LIST", "xxxx");
  std::istringstream is(Build(s));
  WaveData w;
  ReadWave(is, &w);
  EXPECT_EQ(w.NumSamples(), 2);
  char tag[5] = {0};
  is.read(tag, 4);
  EXPECT_EQ(std::string(tag), "LIST");
}

TEST(WaveIoTest, ZeroDataBytesIsAnErrorPartialFrameIsDropped) {
  WavSpec s = Mono({});
  ExpectReadError(Build(s), "empty file (no data)");
  s = Mono({1, 2, 3});
  s.channels = 2;
  // 3 int16 values = 1.5 stereo frames: the half frame is dropped.
  EXPECT_EQ(Read(Build(s)).NumSamples(), 1);
  s = Mono({7});
  s.data_extra = std::string(1, '\x05');  // odd trailing byte
  EXPECT_EQ(Read(Build(s)).NumSamples(), 1);
}

TEST(WaveIoTest, RiffSizeMismatchWarns) {
  WavSpec s = Mono({1, 2});
  s.riff_size = 1000;
  WaveData w = Read(Build(s));
  EXPECT_EQ(w.NumSamples(), 2);
  ASSERT_EQ(w.warnings.size(), 1u);
  EXPECT_NE(w.warnings[0].find("bytes in RIFF chunk"), std::string::npos);
  s.riff_size = static_cast<int64_t>(Build(Mono({1, 2})).size()) - 8 + 1;  // off by one: silent
  EXPECT_TRUE(Read(Build(s)).warnings.empty());
}

TEST(WaveIoTest, HugeDeclaredSizesCostOnlyTheInput) {
  WavSpec s = Mono({1, 2});
  std::string junk = Chunk(false, "JUNK", "");
  junk.replace(4, 4, std::string("\xF0\xFF\xFF\x7F", 4));  // declares ~2 GB
  s.before_fmt = junk;
  ExpectReadError(Build(s), "chunk 'JUNK' declares");
}

// Every prefix of a valid file, and random single-byte corruptions, either read or throw
// kaldiq::Error: never crash, hang or throw anything else (ASan runs this too).
TEST(WaveIoTest, TruncationAndCorruptionNeverCrash) {
  WavSpec s = Mono({1, -2, 3, -4, 5, -6, 7, -8});
  s.before_data = Chunk(false, "LIST", "abcdef");
  const std::string good = Build(s);
  for (size_t n = 0; n < good.size(); ++n) {
    try {
      Read(good.substr(0, n));
    } catch (const Error&) {
    }
  }
  std::mt19937 rng(7);
  for (int trial = 0; trial < 3000; ++trial) {
    std::string b = good;
    int edits = 1 + static_cast<int>(rng() % 3);
    for (int e = 0; e < edits; ++e) b[rng() % b.size()] = static_cast<char>(rng() & 0xFF);
    try {
      WaveData w = Read(b);
      EXPECT_GE(w.NumChannels(), 1);
    } catch (const Error&) {
    }
  }
}

TEST(WaveIoTest, WriteThenReadRoundTripsAndClipsLikeKaldi) {
  WaveData w;
  w.samp_freq = 8000;
  w.data.Resize(2, 4);
  const float ch0[] = {0.9f, -0.9f, 40000.0f, -40000.0f};
  const float ch1[] = {123.7f, -123.7f, 32767.0f, -32768.0f};
  for (int i = 0; i < 4; ++i) {
    w.data(0, i) = ch0[i];
    w.data(1, i) = ch1[i];
  }
  std::ostringstream os;
  EXPECT_EQ(WriteWave(os, w), 2);  // the two out-of-range samples
  const std::string bytes = os.str();
  EXPECT_EQ(bytes.size(), 44u + 16u);
  EXPECT_EQ(bytes.substr(0, 4), "RIFF");
  WaveData r = Read(bytes);
  EXPECT_EQ(r.samp_freq, 8000.0f);
  ASSERT_EQ(r.NumChannels(), 2);
  const float want0[] = {0, 0, 32767, -32768};  // truncation toward zero, then clipping
  const float want1[] = {123, -123, 32767, -32768};
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(r.data(0, i), want0[i]);
    EXPECT_EQ(r.data(1, i), want1[i]);
  }
  EXPECT_TRUE(r.warnings.empty());
  WaveData empty;
  empty.samp_freq = 16000;
  EXPECT_THROW(WriteWave(os, empty), Error);
}

WaveData Tone(int n, float rate, int16_t base) {
  WaveData w;
  w.samp_freq = rate;
  w.data.Resize(1, n);
  for (int i = 0; i < n; ++i) w.data(0, i) = float(base + i);
  return w;
}

void ExpectSameWave(const WaveData& a, const WaveData& b) {
  ASSERT_EQ(a.NumChannels(), b.NumChannels());
  ASSERT_EQ(a.NumSamples(), b.NumSamples());
  EXPECT_EQ(a.samp_freq, b.samp_freq);
  for (int64_t i = 0; i < a.NumSamples(); ++i) ASSERT_EQ(a.data(0, i), b.data(0, i)) << i;
}

TEST(WaveIoTest, WaveArchivesAndScpOffsetsThroughTables) {
  TempDir dir;
  const std::string ark = dir.File("w.ark"), scp = dir.File("w.scp");
  WaveData a = Tone(101, 16000, 10), b = Tone(57, 8000, -30);  // odd sizes
  {
    TableWriter<WaveHolder> writer("ark,scp:" + ark + "," + scp);
    writer.Write("a", a);
    writer.Write("b", b);
    writer.Close();
  }
  // The archive is "key " + RIFF bytes, with no binary marker.
  const std::string bytes = testing::ReadFileBytes(ark);
  EXPECT_EQ(bytes.substr(0, 6), "a RIFF");
  {
    SequentialTableReader<WaveHolder> r("ark:" + ark);
    ASSERT_FALSE(r.Done());
    EXPECT_EQ(r.Key(), "a");
    ExpectSameWave(r.Value(), a);
    r.Next();
    ASSERT_FALSE(r.Done());
    EXPECT_EQ(r.Key(), "b");
    ExpectSameWave(r.Value(), b);
    r.Next();
    EXPECT_TRUE(r.Done());
  }
  {
    RandomAccessTableReader<WaveHolder> r("scp:" + scp);
    ExpectSameWave(r.Value("b"), b);
    ExpectSameWave(r.Value("a"), a);
    EXPECT_FALSE(r.HasKey("c"));
  }
  EXPECT_THROW(TableWriter<WaveHolder>("ark,t:" + dir.File("t.ark")).Write("a", a), Error);
}

TEST(WaveIoTest, WavScpWithFilesPipesAndNoRanges) {
  TempDir dir;
  WaveData a = Tone(33, 16000, 100);
  {
    std::ostringstream os;
    WriteWave(os, a);
    WriteFileBytes(dir.File("a.wav"), os.str());
  }
  WriteFileBytes(dir.File("wav.scp"), "u1 " + dir.File("a.wav") + "\nu2 cat " +
                                          dir.File("a.wav") + " |\n");
  SequentialTableReader<WaveHolder> r("scp:" + dir.File("wav.scp"));
  ASSERT_FALSE(r.Done());
  ExpectSameWave(r.Value(), a);
  r.Next();
  ASSERT_FALSE(r.Done());
  EXPECT_EQ(r.Key(), "u2");
  ExpectSameWave(r.Value(), a);
  r.Next();
  EXPECT_TRUE(r.Done());
  r.Close();

  WriteFileBytes(dir.File("range.scp"), "u1 " + dir.File("a.wav") + "[0:10]\n");
  EXPECT_THROW(SequentialTableReader<WaveHolder>("scp:" + dir.File("range.scp")), Error);
  WriteFileBytes(dir.File("bad.scp"), "u1 " + dir.File("missing.wav") + "\n");
  EXPECT_THROW(SequentialTableReader<WaveHolder>("scp:" + dir.File("bad.scp")), Error);
  // Permissive: the unreadable entry is skipped.
  SequentialTableReader<WaveHolder> p("scp,p:" + dir.File("bad.scp"));
  EXPECT_TRUE(p.Done());
}

}  // namespace
}  // namespace kaldiq::kaldi
