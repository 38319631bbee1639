// Kaldi's extended filenames (src/util/kaldi-io.h): where Kaldi tools accept a filename, these
// accept the same forms.
//
// rxfilename (input):  "-" or ""   standard input
//                      "cmd |"     output of a shell command (popen)
//                      "f.ark:123" file f.ark from byte offset 123 (scp entries)
//                      anything else: a file
// wxfilename (output): "-" or ""   standard output
//                      "| cmd"     input of a shell command
//                      anything else: a file. Files are written to a temporary name in the same
//                      directory and renamed on Commit(); an Output destroyed without Commit()
//                      removes the temporary, so an error never leaves a half-written file.
//                      Existing non-regular targets (/dev/null, FIFOs) are written in place.
#pragma once

#include <cstdio>
#include <istream>
#include <memory>
#include <ostream>
#include <streambuf>
#include <string>

namespace kaldiq::kaldi {

enum class InputKind { kStandardInput, kFile, kPipe, kOffsetFile, kInvalid };
enum class OutputKind { kStandardOutput, kFile, kPipe, kInvalid };

InputKind ClassifyRxfilename(const std::string& rxfilename);
OutputKind ClassifyWxfilename(const std::string& wxfilename);

// Splits "f.ark:123" into ("f.ark", 123); returns false when rxfilename has no offset.
bool SplitOffset(const std::string& rxfilename, std::string* file, int64_t* offset);

class Input {
 public:
  Input() = default;
  // Opens rxfilename; when read_binary_header, consumes Kaldi's "\0B" marker if present and
  // records binary() (Kaldi's Input(rxfilename, &binary)). Throws kaldiq::Error (kIo) naming
  // the rxfilename when it cannot be opened.
  explicit Input(const std::string& rxfilename, bool read_binary_header = true);
  ~Input();
  Input(const Input&) = delete;
  Input& operator=(const Input&) = delete;

  void Open(const std::string& rxfilename, bool read_binary_header = true);
  bool IsOpen() const { return stream_ != nullptr; }
  std::istream& Stream();
  bool binary() const { return binary_; }
  const std::string& name() const { return name_; }
  InputKind kind() const { return kind_; }
  // Closes; for a pipe that was read to its end, a nonzero exit status of the command is an
  // error (kIo). Closing a pipe early (not at end of stream) ignores the status, since the
  // writer may legitimately die of SIGPIPE.
  void Close();

 private:
  void Reset() noexcept;

  std::string name_;
  std::string file_;  // the open regular file (for reuse by the next "file:offset")
  InputKind kind_ = InputKind::kInvalid;
  bool binary_ = false;
  FILE* pipe_ = nullptr;
  std::unique_ptr<std::streambuf> buf_;
  std::unique_ptr<std::istream> stream_;
};

class Output {
 public:
  Output() = default;
  // Opens wxfilename; when write_binary_header and binary, writes Kaldi's "\0B" marker. Text
  // streams get precision 7 like Kaldi's InitKaldiOutputStream.
  Output(const std::string& wxfilename, bool binary, bool write_binary_header = true);
  ~Output();  // without Commit(): removes the temporary file (a pipe is closed).
  Output(const Output&) = delete;
  Output& operator=(const Output&) = delete;

  void Open(const std::string& wxfilename, bool binary, bool write_binary_header = true);
  bool IsOpen() const { return stream_ != nullptr; }
  std::ostream& Stream();
  const std::string& name() const { return name_; }
  OutputKind kind() const { return kind_; }
  // Flushes and finalises: renames the temporary file onto the target, or waits for the pipe
  // command and checks its exit status. Throws kIo on any failure (and removes the temporary).
  void Commit();

 private:
  void Abandon() noexcept;

  std::string name_;
  std::string temp_name_;  // non-empty while writing a regular file through a temporary
  OutputKind kind_ = OutputKind::kInvalid;
  FILE* pipe_ = nullptr;
  std::unique_ptr<std::streambuf> buf_;
  std::unique_ptr<std::ostream> stream_;
};

}  // namespace kaldiq::kaldi
