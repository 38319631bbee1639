#include "kaldi/kaldi_stream.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <ext/stdio_filebuf.h>
#include <fstream>

#include "kaldi/basic_io.h"
#include "kaldi/matrix_io.h"
#include "util/error.h"

namespace kaldiq::kaldi {

namespace {

using StdioBuf = __gnu_cxx::stdio_filebuf<char>;
constexpr size_t kBufSize = 1 << 16;

std::string Trim(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

std::string DescribeStatus(int status) {
  if (status == -1) return "could not be waited for";
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "was killed by signal " + std::to_string(WTERMSIG(status));
  return "ended with status " + std::to_string(status);
}

}  // namespace

bool SplitOffset(const std::string& rx, std::string* file, int64_t* offset) {
  size_t colon = rx.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 >= rx.size()) return false;
  for (size_t i = colon + 1; i < rx.size(); ++i) {
    if (!std::isdigit(static_cast<unsigned char>(rx[i]))) return false;
  }
  if (rx.size() - colon - 1 > 18) return false;
  if (file) *file = rx.substr(0, colon);
  if (offset) *offset = std::stoll(rx.substr(colon + 1));
  return true;
}

InputKind ClassifyRxfilename(const std::string& rx) {
  if (rx.empty() || rx == "-") return InputKind::kStandardInput;
  if (rx.front() == '|') return InputKind::kInvalid;  // an output pipe
  if (rx.back() == '|') return InputKind::kPipe;
  if (std::isspace(static_cast<unsigned char>(rx.front())) ||
      std::isspace(static_cast<unsigned char>(rx.back())))
    return InputKind::kInvalid;
  if (SplitOffset(rx, nullptr, nullptr)) return InputKind::kOffsetFile;
  return InputKind::kFile;
}

OutputKind ClassifyWxfilename(const std::string& wx) {
  if (wx.empty() || wx == "-") return OutputKind::kStandardOutput;
  if (wx.front() == '|') return OutputKind::kPipe;
  if (wx.back() == '|') return OutputKind::kInvalid;  // an input pipe
  if (std::isspace(static_cast<unsigned char>(wx.front())) ||
      std::isspace(static_cast<unsigned char>(wx.back())))
    return OutputKind::kInvalid;
  if (SplitOffset(wx, nullptr, nullptr)) return OutputKind::kInvalid;
  return OutputKind::kFile;
}

// ---------------------------------------------------------------------------------------------
// Input

Input::Input(const std::string& rxfilename, bool read_binary_header) {
  Open(rxfilename, read_binary_header);
}

Input::~Input() { Reset(); }

void Input::Reset() noexcept {
  file_.clear();
  stream_.reset();
  buf_.reset();
  if (pipe_ != nullptr) {
    pclose(pipe_);
    pipe_ = nullptr;
  }
  binary_ = false;
}

void Input::Open(const std::string& rxfilename, bool read_binary_header) {
  // Consecutive scp entries usually point into the same archive ("a.ark:12", "a.ark:3456"):
  // keep the file open and seek instead of reopening it.
  if (stream_ != nullptr && pipe_ == nullptr && !file_.empty() &&
      ClassifyRxfilename(rxfilename) == InputKind::kOffsetFile) {
    std::string file;
    int64_t offset = 0;
    SplitOffset(rxfilename, &file, &offset);
    if (file == file_) {
      stream_->clear();
      if (stream_->rdbuf()->pubseekpos(offset, std::ios::in) == std::streampos(offset)) {
        name_ = rxfilename;
        kind_ = InputKind::kOffsetFile;
        binary_ = false;
        if (read_binary_header) {
          try {
            binary_ = ReadBinaryMarker(*stream_);
          } catch (const Error& e) {
            throw e.WithContext(rxfilename);
          }
        }
        return;
      }
    }
  }
  Reset();
  name_ = rxfilename;
  kind_ = ClassifyRxfilename(rxfilename);
  switch (kind_) {
    case InputKind::kInvalid:
      KQ_THROW(kInvalidArgument) << "invalid input filename '" << rxfilename << "'";
    case InputKind::kStandardInput: {
      int fd = dup(0);
      KQ_CHECK(fd >= 0, kIo) << "cannot read standard input: " << std::strerror(errno);
      buf_ = std::make_unique<StdioBuf>(fd, std::ios::in | std::ios::binary, kBufSize);
      break;
    }
    case InputKind::kPipe: {
      std::string cmd = Trim(rxfilename.substr(0, rxfilename.size() - 1));
      std::fflush(nullptr);
      pipe_ = popen(cmd.c_str(), "r");
      KQ_CHECK(pipe_ != nullptr, kIo) << "cannot run input pipe '" << rxfilename
                                      << "': " << std::strerror(errno);
      buf_ = std::make_unique<StdioBuf>(pipe_, std::ios::in | std::ios::binary, kBufSize);
      break;
    }
    case InputKind::kFile:
    case InputKind::kOffsetFile: {
      std::string file = rxfilename;
      int64_t offset = 0;
      if (kind_ == InputKind::kOffsetFile) SplitOffset(rxfilename, &file, &offset);
      auto fb = std::make_unique<std::filebuf>();
      if (!fb->open(file, std::ios::in | std::ios::binary)) {
        KQ_THROW(kIo) << "cannot open '" << file << "' for reading: " << std::strerror(errno);
      }
      if (offset > 0) {
        std::streampos end = fb->pubseekoff(0, std::ios::end, std::ios::in);
        KQ_CHECK(end != std::streampos(-1) && offset <= static_cast<int64_t>(end), kIo)
            << "cannot seek to offset " << offset << " in '" << file << "' (file size "
            << static_cast<long long>(end) << ")";
        KQ_CHECK(fb->pubseekpos(offset, std::ios::in) == std::streampos(offset), kIo)
            << "cannot seek to offset " << offset << " in '" << file << "'";
      }
      buf_ = std::move(fb);
      file_ = file;
      break;
    }
  }
  stream_ = std::make_unique<std::istream>(buf_.get());
  if (read_binary_header) {
    try {
      binary_ = ReadBinaryMarker(*stream_);
    } catch (const Error& e) {
      throw e.WithContext(rxfilename);
    }
  }
}

std::istream& Input::Stream() {
  KQ_CHECK(stream_ != nullptr, kInternal) << "Input::Stream() on a closed input";
  return *stream_;
}

void Input::Close() {
  if (stream_ == nullptr) return;
  bool at_end = stream_->peek() == EOF;
  file_.clear();
  stream_.reset();
  buf_.reset();
  if (pipe_ != nullptr) {
    int status = pclose(pipe_);
    pipe_ = nullptr;
    KQ_CHECK(!at_end || status == 0, kIo)
        << "input pipe '" << name_ << "' " << DescribeStatus(status);
  }
}

// ---------------------------------------------------------------------------------------------
// Output

Output::Output(const std::string& wxfilename, bool binary, bool write_binary_header) {
  Open(wxfilename, binary, write_binary_header);
}

Output::~Output() { Abandon(); }

void Output::Abandon() noexcept {
  stream_.reset();
  buf_.reset();
  if (pipe_ != nullptr) {
    pclose(pipe_);
    pipe_ = nullptr;
  }
  if (!temp_name_.empty()) {
    std::remove(temp_name_.c_str());
    temp_name_.clear();
  }
}

void Output::Open(const std::string& wxfilename, bool binary, bool write_binary_header) {
  Abandon();
  name_ = wxfilename;
  kind_ = ClassifyWxfilename(wxfilename);
  switch (kind_) {
    case OutputKind::kInvalid:
      KQ_THROW(kInvalidArgument) << "invalid output filename '" << wxfilename << "'";
    case OutputKind::kStandardOutput: {
      std::fflush(stdout);
      int fd = dup(1);
      KQ_CHECK(fd >= 0, kIo) << "cannot write standard output: " << std::strerror(errno);
      buf_ = std::make_unique<StdioBuf>(fd, std::ios::out | std::ios::binary, kBufSize);
      break;
    }
    case OutputKind::kPipe: {
      std::string cmd = Trim(wxfilename.substr(1));
      std::fflush(nullptr);
      pipe_ = popen(cmd.c_str(), "w");
      KQ_CHECK(pipe_ != nullptr, kIo) << "cannot run output pipe '" << wxfilename
                                      << "': " << std::strerror(errno);
      buf_ = std::make_unique<StdioBuf>(pipe_, std::ios::out | std::ios::binary, kBufSize);
      break;
    }
    case OutputKind::kFile: {
      struct stat st;
      bool in_place = stat(wxfilename.c_str(), &st) == 0 && !S_ISREG(st.st_mode);
      std::string path = wxfilename;
      if (!in_place) {
        temp_name_ = wxfilename + ".kq-tmp." + std::to_string(getpid());
        path = temp_name_;
      }
      auto fb = std::make_unique<std::filebuf>();
      if (!fb->open(path, std::ios::out | std::ios::binary | std::ios::trunc)) {
        int err = errno;
        temp_name_.clear();
        KQ_THROW(kIo) << "cannot open '" << wxfilename << "' for writing: " << std::strerror(err);
      }
      buf_ = std::move(fb);
      break;
    }
  }
  stream_ = std::make_unique<std::ostream>(buf_.get());
  EnsureKaldiPrecision(*stream_);
  if (write_binary_header) WriteBinaryMarker(*stream_, binary);
}

std::ostream& Output::Stream() {
  KQ_CHECK(stream_ != nullptr, kInternal) << "Output::Stream() on a closed output";
  return *stream_;
}

void Output::Commit() {
  if (stream_ == nullptr) return;
  stream_->flush();
  bool ok = stream_->good();
  stream_.reset();
  if (auto* fb = dynamic_cast<std::filebuf*>(buf_.get())) {
    ok = fb->close() != nullptr && ok;
  }
  buf_.reset();  // closes the dup'ed descriptor of stdout / flushes the pipe buffer
  if (pipe_ != nullptr) {
    int status = pclose(pipe_);
    pipe_ = nullptr;
    if (!ok) Abandon();
    KQ_CHECK(ok, kIo) << "error writing to output pipe '" << name_ << "'";
    KQ_CHECK(status == 0, kIo) << "output pipe '" << name_ << "' " << DescribeStatus(status);
    return;
  }
  if (!ok) {
    Abandon();
    KQ_THROW(kIo) << "error writing '" << name_ << "' (disk full?)";
  }
  if (!temp_name_.empty()) {
    if (std::rename(temp_name_.c_str(), name_.c_str()) != 0) {
      int err = errno;
      Abandon();
      KQ_THROW(kIo) << "cannot rename temporary file onto '" << name_ << "': " << std::strerror(err);
    }
    temp_name_.clear();
  }
}

}  // namespace kaldiq::kaldi
