// WAV audio exactly as Kaldi reads and writes it (Kaldi's feat/wave-reader.{h,cc}: WaveInfo,
// WaveData, WaveHolder), so that `scp:wav.scp` (files, "sox ... |" pipes, "f.ark:1234" offsets)
// and wave archives (`ark:wav.ark`, what extract-segments writes) work through kaldi/table.h.
//
// Reading (ReadWave), in Kaldi's order and with Kaldi's errors:
//   * "RIFF" (little-endian) or "RIFX" (big-endian: every header field and sample byte-swapped),
//     a 4-byte RIFF size, then "WAVE". Anything else is an error.
//   * Chunks before "fmt " are skipped (Apple's "JUNK").
//   * "fmt ": format 1 (PCM, chunk >= 16 bytes) or 0xFFFE (WAVE_FORMAT_EXTENSIBLE: cbSize >= 22,
//     chunk >= 40, sub-format GUID = PCM); valid-bits and channel mask are ignored, extra fmt
//     bytes skipped. Float, A-law, mu-law, EXTENSIBLE-float... are errors. Then: channels >= 1,
//     16 bits per sample exactly (8/24/32-bit PCM are errors), byte rate = rate * 2 * channels,
//     block align = 2 * channels. (kaldiq also rejects a sample rate of 0 Hz, which Kaldi reads.)
//   * Chunks between "fmt " and "data" are skipped ("fact" of size != 4 only warns; "LIST"...).
//   * Only the first "data" chunk is read. "Stream mode" (read to the end of the input) when the
//     RIFF size is 0 or 0xFFFFFFFF or the data size is 0, 0xFFFFFFFF or 0x7FFFF000 (SoX writing
//     to a pipe); otherwise exactly the declared data bytes are read (so the next archive entry
//     follows), and fewer bytes than declared only warn ("Truncated file?"). Zero data bytes is
//     an error. Sample frames = floor(bytes / block_align) (a trailing partial frame is dropped).
//   * RIFF size vs. what was parsed differing by more than 1 byte only warns.
//   * Difference from Kaldi (a superset): after an odd-sized chunk, a zero pad byte (RIFF's
//     word alignment) is skipped; Kaldi does not skip it and mis-parses such files. Chunk tags
//     never start with a zero byte, so files Kaldi reads are read identically.
// Declared sizes never drive an allocation: data are read in blocks of at most 1 MiB until the
// declared size or the end of the input, chunks are skipped by reading, so a corrupt header
// costs at most the size of the input. Errors are kaldiq::Error (kFormat) naming the byte offset.
// Warnings (Kaldi's KALDI_WARN lines) are returned in WaveData::warnings for the caller to print.
//
// Samples are the int16 values as floats, in [-32768, 32767]: Kaldi does not normalise them,
// and features, dither and energy floors assume this scale.
//
// Writing (WriteWave) = Kaldi's WaveData::Write: 16-bit PCM RIFF with a 16-byte fmt chunk, values
// truncated toward zero and clipped to int16.
#pragma once

#include <cstdint>
#include <istream>
#include <ostream>
#include <string>
#include <vector>

#include "core/matrix.h"

namespace kaldiq::kaldi {

struct WaveData {
  float samp_freq = 0;  // Hz
  MatrixF data;         // channels x samples (Kaldi's layout), int16 values as floats
  // Non-fatal findings while reading (truncated data, odd fact chunk, RIFF size mismatch), in
  // Kaldi's wording; cleared by ReadWave. Not written.
  std::vector<std::string> warnings;

  int64_t NumChannels() const { return data.rows(); }
  int64_t NumSamples() const { return data.cols(); }
  // Kaldi's WaveData::Duration() (float, seconds).
  float Duration() const { return static_cast<float>(NumSamples()) / samp_freq; }
};

// Reads one WAV object from the current position of `is` (a file, a pipe, or an archive entry
// after its key). Throws kaldiq::Error (kFormat) on anything Kaldi rejects.
void ReadWave(std::istream& is, WaveData* wave);

// Writes `wave` as Kaldi does. Returns the number of samples clipped to the int16 range (Kaldi
// warns "clipped N samples out of total M"). Throws kInvalidArgument for 0 channels, a sample
// rate that is not a positive integer below 2^31, or more than 2^31 bytes of data.
int64_t WriteWave(std::ostream& os, const WaveData& wave);

// Table holder (kaldi/table.h): wave objects carry no "\0B" marker (an archive entry is
// "key " + RIFF bytes; an scp offset points at the 'R'); text mode (ark,t:) is refused as in
// Kaldi; scp ranges "[a:b]" are not defined for waves (the table reports them unsupported).
struct WaveHolder {
  using T = WaveData;
  static constexpr bool kUsesBinaryMarker = false;
  static void Write(std::ostream& os, bool binary, const T& t);
  static void Read(std::istream& is, bool /*binary*/, T* t) { ReadWave(is, t); }
  static bool IsTextOnly() { return false; }
};

}  // namespace kaldiq::kaldi
