#include "kaldi/wave_io.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <sstream>

#include "util/error.h"

namespace kaldiq::kaldi {

namespace {

constexpr uint32_t kBlockSize = 1 << 20;  // data are read in blocks of this many bytes

// Reads header fields, counting the bytes consumed since the start of the WAV object so that
// errors can name where they happened (streams from pipes have no usable tellg()).
class HeaderReader {
 public:
  explicit HeaderReader(std::istream& is) : is_(is) {}

  void ReadTag(char tag[4], const char* what) {
    is_.read(tag, 4);
    KQ_CHECK(is_.gcount() == 4, kFormat)
        << "WAV: expected " << what << ", got end of file " << Where();
    pos_ += 4;
  }
  uint32_t ReadU32() {
    unsigned char b[4];
    ReadBytes(b, 4, "a 32-bit header field");
    return swap_ ? (uint32_t(b[0]) << 24 | uint32_t(b[1]) << 16 | uint32_t(b[2]) << 8 | b[3])
                 : (uint32_t(b[3]) << 24 | uint32_t(b[2]) << 16 | uint32_t(b[1]) << 8 | b[0]);
  }
  uint16_t ReadU16() {
    unsigned char b[2];
    ReadBytes(b, 2, "a 16-bit header field");
    return swap_ ? uint16_t(b[0] << 8 | b[1]) : uint16_t(b[1] << 8 | b[0]);
  }
  // Skips n bytes by reading them (works on pipes); the input must hold them.
  void Skip(uint64_t n, const char* what) {
    uint64_t left = n;
    while (left > 0) {
      std::streamsize step = static_cast<std::streamsize>(std::min<uint64_t>(left, kBlockSize));
      is_.ignore(step);
      std::streamsize got = is_.gcount();
      pos_ += static_cast<uint64_t>(got);
      left -= static_cast<uint64_t>(got);
      KQ_CHECK(got == step, kFormat) << "WAV: " << what << " declares " << n
                                     << " bytes but the file ends after " << (n - left) << " "
                                     << Where();
    }
  }
  // RIFF pads odd-sized chunks to an even size with a zero byte. Kaldi does not skip it; a
  // chunk tag never starts with a zero byte, so skipping a zero here changes nothing for the
  // files Kaldi reads.
  void SkipPadByte(uint64_t chunk_size) {
    if (chunk_size % 2 == 1 && is_.peek() == 0) {
      is_.get();
      ++pos_;
    }
  }
  void set_swap(bool swap) { swap_ = swap; }
  bool swap() const { return swap_; }
  uint64_t pos() const { return pos_; }
  std::string Where() const { return "(at byte " + std::to_string(pos_) + " of the WAV data)"; }

 private:
  void ReadBytes(unsigned char* b, std::streamsize n, const char* what) {
    is_.read(reinterpret_cast<char*>(b), n);
    KQ_CHECK(is_.gcount() == n, kFormat) << "WAV: unexpected end of file reading " << what
                                         << " " << Where();
    pos_ += static_cast<uint64_t>(n);
  }

  std::istream& is_;
  bool swap_ = false;
  uint64_t pos_ = 0;
};

// A chunk tag as text for messages (non-printable bytes escaped).
std::string TagText(const char tag[4]) {
  std::string s;
  for (int i = 0; i < 4; ++i) {
    unsigned char c = static_cast<unsigned char>(tag[i]);
    if (c >= 32 && c < 127) {
      s.push_back(static_cast<char>(c));
    } else {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", c);
      s += buf;
    }
  }
  return "'" + s + "'";
}

bool TagIs(const char tag[4], const char* name) { return std::memcmp(tag, name, 4) == 0; }

struct WaveHeader {
  uint32_t samp_freq = 0;
  uint16_t num_channels = 0;
  uint16_t block_align = 0;
  uint32_t data_bytes = 0;
  bool streamed = false;
};

WaveHeader ReadHeader(HeaderReader& r, std::vector<std::string>* warnings) {
  char tag[4];
  r.ReadTag(tag, "'RIFF' or 'RIFX' (a WAV file)");
  if (TagIs(tag, "RIFX")) {
    r.set_swap(true);
  } else {
    KQ_CHECK(TagIs(tag, "RIFF"), kFormat)
        << "WAV: expected RIFF or RIFX, got " << TagText(tag) << " (not a WAV file?)";
  }
  uint32_t riff_chunk_size = r.ReadU32();
  r.ReadTag(tag, "'WAVE'");
  KQ_CHECK(TagIs(tag, "WAVE"), kFormat) << "WAV: expected 'WAVE', got " << TagText(tag) << " "
                                        << r.Where();
  uint64_t riff_chunk_read = 4;  // "WAVE" is part of the RIFF chunk

  // Chunks before "fmt " (Apple's "JUNK") are skipped.
  r.ReadTag(tag, "a chunk name");
  riff_chunk_read += 4;
  while (!TagIs(tag, "fmt ")) {
    uint32_t size = r.ReadU32();
    r.Skip(size, ("chunk " + TagText(tag)).c_str());
    r.SkipPadByte(size);
    riff_chunk_read += 4 + uint64_t(size);
    r.ReadTag(tag, "a chunk name");
    riff_chunk_read += 4;
  }

  uint32_t fmt_size = r.ReadU32();
  uint16_t audio_format = r.ReadU16();
  uint16_t num_channels = r.ReadU16();
  uint32_t sample_rate = r.ReadU32();
  uint32_t byte_rate = r.ReadU32();
  uint16_t block_align = r.ReadU16();
  uint16_t bits_per_sample = r.ReadU16();
  uint32_t fmt_read = 16;
  if (audio_format == 1) {
    KQ_CHECK(fmt_size >= 16, kFormat)
        << "WAV: expect PCM format data to have fmt chunk of at least size 16, got " << fmt_size;
  } else if (audio_format == 0xFFFE) {  // WAVE_FORMAT_EXTENSIBLE
    uint16_t extra_size = r.ReadU16();
    KQ_CHECK(fmt_size >= 40 && extra_size >= 22, kFormat)
        << "WAV: malformed WAVE_FORMAT_EXTENSIBLE format data (fmt chunk " << fmt_size
        << " bytes, extension " << extra_size << " bytes)";
    r.ReadU16();  // valid bits per sample: unused for PCM
    r.ReadU32();  // channel mask: ignored
    uint32_t g1 = r.ReadU32(), g2 = r.ReadU32(), g3 = r.ReadU32(), g4 = r.ReadU32();
    fmt_read = 40;
    // Only KSDATAFORMAT_SUBTYPE_PCM, 00000001-0000-0010-8000-00aa00389b71.
    KQ_CHECK(g1 == 0x00000001 && g2 == 0x00100000 && g3 == 0xAA000080 && g4 == 0x719B3800,
             kFormat)
        << "WAV: unsupported WAVE_FORMAT_EXTENSIBLE format (sub-format "
        << (g1 == 3 ? "IEEE float" : g1 == 6 ? "A-law" : g1 == 7 ? "mu-law" : "not PCM")
        << "); only 16-bit PCM is read";
  } else {
    KQ_THROW(kFormat) << "WAV: can read only PCM data, format id in file is: " << audio_format
                      << (audio_format == 3   ? " (IEEE float)"
                          : audio_format == 6 ? " (A-law)"
                          : audio_format == 7 ? " (mu-law)"
                                              : "");
  }
  if (fmt_size > fmt_read) r.Skip(fmt_size - fmt_read, "the 'fmt ' chunk");
  r.SkipPadByte(fmt_size);

  KQ_CHECK(num_channels > 0, kFormat) << "WAV: no channels present";
  KQ_CHECK(bits_per_sample == 16, kFormat)
      << "WAV: unsupported bits_per_sample = " << bits_per_sample << " (only 16-bit PCM is read)";
  KQ_CHECK(sample_rate > 0, kFormat) << "WAV: sample rate of 0 Hz";
  KQ_CHECK(uint64_t(byte_rate) == uint64_t(sample_rate) * 2 * num_channels, kFormat)
      << "WAV: unexpected byte rate " << byte_rate << " vs. " << sample_rate << " * 2 * "
      << num_channels;
  KQ_CHECK(block_align == 2 * num_channels, kFormat)
      << "WAV: unexpected block_align: " << block_align << " vs. " << num_channels << " * 2";
  riff_chunk_read += 4 + uint64_t(fmt_size);

  // Chunks between "fmt " and "data" ("fact", "LIST", ...) are skipped.
  r.ReadTag(tag, "a chunk name ('data')");
  riff_chunk_read += 4;
  while (!TagIs(tag, "data")) {
    uint32_t size = r.ReadU32();
    if (size != 4 && TagIs(tag, "fact")) warnings->push_back("Expected fact chunk to be 4 bytes long.");
    r.Skip(size, ("chunk " + TagText(tag)).c_str());
    r.SkipPadByte(size);
    riff_chunk_read += 4 + uint64_t(size);
    r.ReadTag(tag, "a chunk name ('data')");
    riff_chunk_read += 4;
  }
  uint32_t data_size = r.ReadU32();
  riff_chunk_read += 4;

  WaveHeader h;
  h.samp_freq = sample_rate;
  h.num_channels = num_channels;
  h.block_align = block_align;
  h.data_bytes = data_size;
  h.streamed = riff_chunk_size == 0 || riff_chunk_size == 0xFFFFFFFFu || data_size == 0 ||
               data_size == 0xFFFFFFFFu || data_size == 0x7FFFF000u;  // SoX to a pipe
  if (!h.streamed) {
    int64_t diff = static_cast<int64_t>(riff_chunk_read) + static_cast<int64_t>(data_size) -
                   static_cast<int64_t>(riff_chunk_size);
    // Off by one is allowed silently (RIFF pads the data to an even size).
    if (diff > 1 || diff < -1) {
      std::ostringstream w;
      w << "Expected " << riff_chunk_size << " bytes in RIFF chunk, but after first data block "
        << "there will be " << riff_chunk_read << " + " << data_size
        << " bytes (we do not support reading multiple data chunks).";
      warnings->push_back(w.str());
    }
  }
  return h;
}

}  // namespace

void ReadWave(std::istream& is, WaveData* wave) {
  wave->warnings.clear();
  wave->data.Resize(0, 0);
  HeaderReader r(is);
  WaveHeader h = ReadHeader(r, &wave->warnings);
  wave->samp_freq = static_cast<float>(h.samp_freq);

  std::vector<char> buffer;
  uint64_t to_go = h.streamed ? std::numeric_limits<uint64_t>::max() : h.data_bytes;
  while (to_go > 0 && is.good()) {
    size_t block = static_cast<size_t>(std::min<uint64_t>(to_go, kBlockSize));
    size_t offset = buffer.size();
    buffer.resize(offset + block);
    is.read(buffer.data() + offset, static_cast<std::streamsize>(block));
    size_t got = static_cast<size_t>(is.gcount());
    buffer.resize(offset + got);
    to_go -= got;
    if (got < block) break;
  }
  KQ_CHECK(!is.bad(), kIo) << "WAV: read error in the data chunk " << r.Where();
  KQ_CHECK(!buffer.empty(), kFormat) << "WAV: empty file (no data)";
  if (!h.streamed && buffer.size() < h.data_bytes) {
    wave->warnings.push_back("Expected " + std::to_string(h.data_bytes) +
                             " bytes of wave data, but read only " +
                             std::to_string(buffer.size()) + " bytes. Truncated file?");
  }
  // The stream is left at the end of the data bytes read: an archive's next key follows.
  const int64_t channels = h.num_channels;
  const int64_t samples = static_cast<int64_t>(buffer.size() / h.block_align);
  wave->data.Resize(channels, samples);
  const unsigned char* p = reinterpret_cast<const unsigned char*>(buffer.data());
  const int hi = r.swap() ? 0 : 1;  // index of the high byte of each sample
  for (int64_t c = 0; c < channels; ++c) {
    float* out = wave->data.Row(c);
    const unsigned char* q = p + 2 * c;
    const int64_t step = 2 * channels;
    for (int64_t i = 0; i < samples; ++i, q += step)
      out[i] = static_cast<float>(static_cast<int16_t>(uint16_t(q[hi] << 8 | q[1 - hi])));
  }
}

namespace {
void PutU32(std::ostream& os, uint32_t v) {
  char b[4] = {char(v & 0xFF), char(v >> 8 & 0xFF), char(v >> 16 & 0xFF), char(v >> 24 & 0xFF)};
  os.write(b, 4);
}
void PutU16(std::ostream& os, uint16_t v) {
  char b[2] = {char(v & 0xFF), char(v >> 8 & 0xFF)};
  os.write(b, 2);
}
}  // namespace

int64_t WriteWave(std::ostream& os, const WaveData& wave) {
  const int64_t channels = wave.NumChannels(), samples = wave.NumSamples();
  KQ_CHECK(channels > 0, kInvalidArgument) << "attempting to write an empty WAVE file";
  KQ_CHECK(channels <= 32767, kInvalidArgument) << "cannot write " << channels << " channels";
  KQ_CHECK(wave.samp_freq > 0 && wave.samp_freq < 2147483648.0f, kInvalidArgument)
      << "cannot write a WAVE file with sample rate " << wave.samp_freq;
  const uint64_t data_bytes = uint64_t(channels) * uint64_t(samples) * 2;
  KQ_CHECK(data_bytes + 36 <= 0x7FFFFFFFu, kInvalidArgument)
      << "WAVE data too large for a RIFF file (" << data_bytes << " bytes)";
  const uint32_t rate = static_cast<uint32_t>(static_cast<int32_t>(wave.samp_freq));
  os.write("RIFF", 4);
  PutU32(os, static_cast<uint32_t>(36 + data_bytes));
  os.write("WAVEfmt ", 8);
  PutU32(os, 16);
  PutU16(os, 1);
  PutU16(os, static_cast<uint16_t>(channels));
  PutU32(os, rate);
  PutU32(os, rate * static_cast<uint32_t>(channels) * 2);
  PutU16(os, static_cast<uint16_t>(channels * 2));
  PutU16(os, 16);
  os.write("data", 4);
  PutU32(os, static_cast<uint32_t>(data_bytes));

  int64_t clipped = 0;
  std::vector<char> row(static_cast<size_t>(channels) * 2);
  for (int64_t i = 0; i < samples; ++i) {
    for (int64_t c = 0; c < channels; ++c) {
      // Kaldi: truncate toward zero, then clip to int16.
      double v = std::trunc(static_cast<double>(wave.data(c, i)));
      int16_t s;
      if (!(v >= -32768.0)) {  // also NaN
        s = -32768;
        ++clipped;
      } else if (v > 32767.0) {
        s = 32767;
        ++clipped;
      } else {
        s = static_cast<int16_t>(v);
      }
      uint16_t u = static_cast<uint16_t>(s);
      row[2 * c] = char(u & 0xFF);
      row[2 * c + 1] = char(u >> 8);
    }
    os.write(row.data(), static_cast<std::streamsize>(row.size()));
  }
  KQ_CHECK(os.good(), kIo) << "error writing wave data to stream";
  return clipped;
}

void WaveHolder::Write(std::ostream& os, bool binary, const T& t) {
  KQ_CHECK(binary, kInvalidArgument) << "wave data can only be written in binary mode (not ark,t:)";
  WriteWave(os, t);
}

}  // namespace kaldiq::kaldi
