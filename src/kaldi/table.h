// Kaldi tables (src/util/kaldi-table.h): keyed collections of objects read through rspecifiers
// and written through wspecifiers, with Kaldi's semantics.
//
//   SequentialTableReader<H>  reads every (key, value) in order from "ark:..." or "scp:...".
//   RandomAccessTableReader<H> looks values up by key (i-vectors, CMVN stats, utt2spk).
//       ark: reads forward on demand and keeps what it has read; with 's' (archive sorted) it
//       stops at the first larger key; with 'cs' (called in sorted order) it drops entries
//       below the requested key; with 'o' (each key asked once) it drops a value after use.
//       scp: indexes the script, loads the entry on demand.
//   TableWriter<H> writes "ark:", "ark,t:", "scp:" (to the files listed in a script) and
//       "ark,scp:a.ark,a.scp" (archive plus an index of "key a.ark:offset" lines).
//
// Options: see table_spec.h. 'p' (permissive): sequential scp skips unreadable entries,
// sequential ark stops at the first bad entry, random access reports a missing/unreadable key
// as absent instead of throwing.
//
// Errors are kaldiq::Error whose message names the specifier, the key and the byte offset of
// the entry (e.g. "rspecifier 'ark:feats.ark', key 'utt3' at byte offset 1234: truncated
// matrix ..."). A truncated archive is always an error (except in permissive mode).
// Writers: Close() commits (renames the temporary file into place). A writer destroyed
// without Close() commits too, unless it is destroyed by an exception unwinding, in which case
// nothing is left behind; call Close() explicitly to get commit errors as exceptions.
#pragma once

#include <exception>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "kaldi/basic_io.h"
#include "kaldi/holders.h"
#include "kaldi/kaldi_stream.h"
#include "kaldi/table_spec.h"
#include "util/error.h"

namespace kaldiq::kaldi {

namespace internal {

// Reads "key" + separator of the next archive entry. Returns false at a clean end of stream.
// Throws kFormat when the key is not followed by a space, tab or newline (Kaldi's rule).
bool ReadArchiveKey(std::istream& is, std::string* key);

// Reads the next non-empty line of a script; returns false at end. Throws kFormat for a line
// without key and filename (naming the line number).
bool ReadScriptEntry(std::istream& is, int64_t* line_number, ScriptEntry* entry);

// "rspecifier 'X', key 'K' at byte offset N" -- the context prefix of table errors.
std::string EntryContext(const char* what, const std::string& spec, const std::string& key,
                         int64_t offset);

int64_t TellOrMinusOne(std::istream& is);

template <class Holder>
void ReadObject(std::istream& is, typename Holder::T* value) {
  bool binary = HolderUsesBinaryMarker<Holder>::Reads() ? ReadBinaryMarker(is) : false;
  Holder::Read(is, binary, value);
}

template <class Holder>
void WriteObject(std::ostream& os, bool binary, const typename Holder::T& value) {
  if (binary && HolderUsesBinaryMarker<Holder>::Writes()) WriteBinaryMarker(os, true);
  Holder::Write(os, binary, value);
}

// Loads one scp entry ("rxfilename" possibly with a range) through `input` (kept open so
// consecutive offsets into one archive reuse the file).
template <class Holder>
void LoadScriptEntry(Input* input, const ScriptEntry& e, typename Holder::T* value) {
  input->Open(e.rxfilename, /*read_binary_header=*/false);
  if (e.range.empty()) {
    ReadObject<Holder>(input->Stream(), value);
    return;
  }
  if constexpr (HolderHasRange<Holder>::value) {
    typename Holder::T full;
    ReadObject<Holder>(input->Stream(), &full);
    Holder::ExtractRange(full, e.range, value);
  } else {
    KQ_THROW(kUnsupported) << "ranges [" << e.range << "] are not supported for this object type";
  }
}

}  // namespace internal

template <class Holder>
class SequentialTableReader {
 public:
  using T = typename Holder::T;
  SequentialTableReader() = default;
  explicit SequentialTableReader(const std::string& rspecifier) { Open(rspecifier); }

  void Open(const std::string& rspecifier) {
    Close();
    spec_ = rspecifier;
    std::string rx;
    type_ = ParseRspecifierOrThrow(rspecifier, &rx, &opts_);
    try {
      input_.Open(rx, /*read_binary_header=*/false);
    } catch (const Error& e) {
      throw e.WithContext("rspecifier '" + spec_ + "'");
    }
    open_ = true;
    Advance();
  }
  bool IsOpen() const { return open_; }
  bool Done() const { return done_; }
  const std::string& Key() const {
    KQ_CHECK(!done_, kInternal) << "Key() called at the end of " << spec_;
    return key_;
  }
  T& Value() {
    KQ_CHECK(!done_, kInternal) << "Value() called at the end of " << spec_;
    return value_;
  }
  void Next() {
    KQ_CHECK(open_ && !done_, kInternal) << "Next() called at the end of " << spec_;
    Advance();
  }
  // Closes the stream; for an input pipe read to its end, a failing command is an error.
  void Close() {
    if (!open_) return;
    open_ = false;
    done_ = true;
    object_input_.Close();
    try {
      input_.Close();
    } catch (const Error& e) {
      throw e.WithContext("rspecifier '" + spec_ + "'");
    }
  }

 private:
  void Advance() {
    if (type_ == RspecifierType::kArchive) {
      AdvanceArchive();
    } else {
      AdvanceScript();
    }
  }

  void AdvanceArchive() {
    std::istream& is = input_.Stream();
    int64_t offset = internal::TellOrMinusOne(is);
    try {
      if (!internal::ReadArchiveKey(is, &key_)) {
        done_ = true;
        return;
      }
      offset = internal::TellOrMinusOne(is);
      internal::ReadObject<Holder>(is, &value_);
      done_ = false;
    } catch (const Error& e) {
      done_ = true;
      if (opts_.permissive) return;  // Kaldi: a bad entry ends a permissive archive
      throw e.WithContext(internal::EntryContext("rspecifier", spec_, key_, offset));
    }
  }

  void AdvanceScript() {
    while (true) {
      ScriptEntry e;
      if (!internal::ReadScriptEntry(input_.Stream(), &line_, &e)) {
        done_ = true;
        return;
      }
      key_ = e.key;
      try {
        internal::LoadScriptEntry<Holder>(&object_input_, e, &value_);
        done_ = false;
        return;
      } catch (const Error& err) {
        if (opts_.permissive) continue;  // Kaldi: skip unreadable scp entries
        done_ = true;
        throw err.WithContext("rspecifier '" + spec_ + "', key '" + e.key + "' (" +
                              e.rxfilename + (e.range.empty() ? "" : "[" + e.range + "]") + ")");
      }
    }
  }

  std::string spec_;
  RspecifierType type_ = RspecifierType::kNone;
  RspecifierOptions opts_;
  Input input_;         // the archive, or the script file
  Input object_input_;  // scp: the file of the current entry
  bool open_ = false;
  bool done_ = true;
  int64_t line_ = 0;
  std::string key_;
  T value_{};
};

template <class Holder>
class RandomAccessTableReader {
 public:
  using T = typename Holder::T;
  RandomAccessTableReader() = default;
  explicit RandomAccessTableReader(const std::string& rspecifier) { Open(rspecifier); }

  void Open(const std::string& rspecifier) {
    Close();
    spec_ = rspecifier;
    std::string rx;
    type_ = ParseRspecifierOrThrow(rspecifier, &rx, &opts_);
    try {
      input_.Open(rx, /*read_binary_header=*/false);
      if (type_ == RspecifierType::kScript) {
        ScriptEntry e;
        int64_t line = 0;
        while (internal::ReadScriptEntry(input_.Stream(), &line, &e)) {
          KQ_CHECK(index_.emplace(e.key, entries_.size()).second, kFormat)
              << "duplicate key '" << e.key << "' in script (line " << line << ")";
          entries_.push_back(e);
        }
        input_.Close();
      }
    } catch (const Error& e) {
      throw e.WithContext("rspecifier '" + spec_ + "'");
    }
    open_ = true;
  }
  bool IsOpen() const { return open_; }

  bool HasKey(const std::string& key) { return Find(key, /*for_value=*/false) != nullptr; }

  // The value for key; throws kFormat "key 'x' not found in rspecifier ..." when absent. The
  // reference stays valid until the next call on this reader.
  const T& Value(const std::string& key) {
    const T* v = Find(key, /*for_value=*/true);
    KQ_CHECK(v != nullptr, kFormat) << "key '" << key << "' not found in rspecifier '" << spec_
                                    << "'";
    return *v;
  }

  void Close() {
    open_ = false;
    input_.Close();
    object_input_.Close();
    entries_.clear();
    index_.clear();
    cache_.clear();
    archive_done_ = false;
    last_archive_key_.clear();
    loaded_key_.clear();
    pending_erase_.clear();
  }

 private:
  const T* Find(const std::string& key, bool for_value) {
    KQ_CHECK(open_, kInternal) << "random-access reader used before Open()";
    if (!pending_erase_.empty()) {
      cache_.erase(pending_erase_);
      pending_erase_.clear();
    }
    return type_ == RspecifierType::kScript ? FindScript(key, for_value)
                                             : FindArchive(key, for_value);
  }

  const T* FindScript(const std::string& key, bool for_value) {
    auto it = index_.find(key);
    if (it == index_.end()) return nullptr;
    if (!for_value && !opts_.permissive) return &dummy_;  // present in the script
    if (loaded_key_ == key) return &loaded_;
    const ScriptEntry& e = entries_[it->second];
    try {
      loaded_key_.clear();
      internal::LoadScriptEntry<Holder>(&object_input_, e, &loaded_);
      loaded_key_ = key;
      return &loaded_;
    } catch (const Error& err) {
      object_input_.Close();
      if (opts_.permissive) return nullptr;
      throw err.WithContext("rspecifier '" + spec_ + "', key '" + key + "' (" + e.rxfilename +
                            (e.range.empty() ? "" : "[" + e.range + "]") + ")");
    }
  }

  const T* FindArchive(const std::string& key, bool for_value) {
    const T* found = nullptr;
    auto it = cache_.find(key);
    if (it != cache_.end()) {
      found = &it->second;
    } else if (!(opts_.sorted && !last_archive_key_.empty() && last_archive_key_ >= key)) {
      found = ReadArchiveUntil(key);
    }
    if (opts_.called_sorted) {
      // Keys below the requested one will not be asked for again.
      cache_.erase(cache_.begin(), cache_.lower_bound(key));
    }
    if (found != nullptr && for_value && opts_.once) pending_erase_ = key;
    return found;
  }

  const T* ReadArchiveUntil(const std::string& key) {
    std::istream& is = input_.Stream();
    while (!archive_done_) {
      std::string k;
      int64_t offset = internal::TellOrMinusOne(is);
      try {
        if (!internal::ReadArchiveKey(is, &k)) {
          archive_done_ = true;
          break;
        }
        offset = internal::TellOrMinusOne(is);
        KQ_CHECK(!opts_.sorted || last_archive_key_.empty() || k > last_archive_key_, kFormat)
            << "archive is not sorted (option 's'): key '" << k << "' follows '"
            << last_archive_key_ << "'";
        T value{};
        internal::ReadObject<Holder>(is, &value);
        last_archive_key_ = k;
        auto res = cache_.emplace(k, std::move(value));
        if (k == key) return &res.first->second;
        if (opts_.sorted && k > key) return nullptr;
      } catch (const Error& e) {
        archive_done_ = true;
        if (opts_.permissive) return nullptr;
        throw e.WithContext(internal::EntryContext("rspecifier", spec_, k, offset));
      }
    }
    return nullptr;
  }

  std::string spec_;
  RspecifierType type_ = RspecifierType::kNone;
  RspecifierOptions opts_;
  bool open_ = false;
  Input input_;
  // archive
  bool archive_done_ = false;
  std::string last_archive_key_;
  std::map<std::string, T> cache_;
  std::string pending_erase_;
  // script
  std::vector<ScriptEntry> entries_;
  std::unordered_map<std::string, size_t> index_;
  Input object_input_;
  std::string loaded_key_;
  T loaded_{};
  T dummy_{};
};

template <class Holder>
class TableWriter {
 public:
  using T = typename Holder::T;
  TableWriter() = default;
  explicit TableWriter(const std::string& wspecifier) { Open(wspecifier); }
  ~TableWriter() {
    if (!open_) return;
    if (std::uncaught_exceptions() > 0) return;  // members' destructors remove temporaries
    try {
      Close();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "kaldiq: error closing wspecifier '%s': %s\n", spec_.c_str(), e.what());
    }
  }
  TableWriter(const TableWriter&) = delete;
  TableWriter& operator=(const TableWriter&) = delete;

  void Open(const std::string& wspecifier) {
    if (open_) Close();
    spec_ = wspecifier;
    type_ = ParseWspecifierOrThrow(wspecifier, &archive_wx_, &script_wx_, &opts_);
    try {
      if (type_ == WspecifierType::kScript) {
        Input in(script_wx_, false);
        ScriptEntry e;
        int64_t line = 0;
        while (internal::ReadScriptEntry(in.Stream(), &line, &e)) {
          script_map_[e.key] = e.rxfilename;
        }
        in.Close();
      } else {
        archive_.Open(archive_wx_, opts_.binary, /*write_binary_header=*/false);
        if (type_ == WspecifierType::kBoth) {
          KQ_CHECK(archive_.kind() == OutputKind::kFile, kInvalidArgument)
              << "ark,scp needs the archive to be a file (offsets are recorded), got '"
              << archive_wx_ << "'";
          script_.Open(script_wx_, false, false);
        }
      }
    } catch (const Error& e) {
      throw e.WithContext("wspecifier '" + spec_ + "'");
    }
    open_ = true;
  }
  bool IsOpen() const { return open_; }

  void Write(const std::string& key, const T& value) {
    KQ_CHECK(open_, kInternal) << "TableWriter::Write before Open()";
    KQ_CHECK(IsValidKey(key), kInvalidArgument)
        << "wspecifier '" << spec_ << "': invalid key '" << key << "' (empty or has whitespace)";
    try {
      if (type_ == WspecifierType::kScript) {
        WriteToScriptFile(key, value);
        return;
      }
      std::ostream& os = archive_.Stream();
      os << key << ' ';
      if (type_ == WspecifierType::kBoth) {
        int64_t offset = static_cast<int64_t>(os.tellp());
        KQ_CHECK(offset >= 0, kIo) << "cannot get the archive offset";
        script_.Stream() << key << ' ' << archive_wx_ << ':' << offset << '\n';
      }
      internal::WriteObject<Holder>(os, opts_.binary, value);
      if (opts_.flush) os.flush();
      KQ_CHECK(os.good(), kIo) << "write failed (disk full or closed pipe?)";
    } catch (const Error& e) {
      throw e.WithContext("wspecifier '" + spec_ + "', key '" + key + "'");
    }
  }

  void Flush() {
    if (archive_.IsOpen()) archive_.Stream().flush();
    if (script_.IsOpen()) script_.Stream().flush();
  }

  // Commits the output(s). Throws kIo when finishing them fails.
  void Close() {
    if (!open_) return;
    open_ = false;
    try {
      archive_.Commit();
      script_.Commit();
    } catch (const Error& e) {
      throw e.WithContext("wspecifier '" + spec_ + "'");
    }
  }

 private:
  void WriteToScriptFile(const std::string& key, const T& value) {
    auto it = script_map_.find(key);
    if (it == script_map_.end()) {
      KQ_CHECK(opts_.permissive, kInvalidArgument)
          << "key '" << key << "' is not in the script file " << script_wx_;
      return;
    }
    Output out(it->second, opts_.binary, /*write_binary_header=*/false);
    internal::WriteObject<Holder>(out.Stream(), opts_.binary, value);
    out.Commit();
  }

  std::string spec_, archive_wx_, script_wx_;
  WspecifierType type_ = WspecifierType::kNone;
  WspecifierOptions opts_;
  bool open_ = false;
  Output archive_;
  Output script_;
  std::unordered_map<std::string, std::string> script_map_;
};

using SequentialMatrixReader = SequentialTableReader<MatrixHolder>;
using RandomAccessMatrixReader = RandomAccessTableReader<MatrixHolder>;
using MatrixWriter = TableWriter<MatrixHolder>;
using SequentialDoubleMatrixReader = SequentialTableReader<DoubleMatrixHolder>;
using RandomAccessDoubleMatrixReader = RandomAccessTableReader<DoubleMatrixHolder>;
using DoubleMatrixWriter = TableWriter<DoubleMatrixHolder>;
using CompressedMatrixWriter = TableWriter<CompressedMatrixHolder>;
using SequentialVectorReader = SequentialTableReader<VectorHolder>;
using RandomAccessVectorReader = RandomAccessTableReader<VectorHolder>;
using VectorWriter = TableWriter<VectorHolder>;
using SequentialDoubleVectorReader = SequentialTableReader<DoubleVectorHolder>;
using RandomAccessDoubleVectorReader = RandomAccessTableReader<DoubleVectorHolder>;
using DoubleVectorWriter = TableWriter<DoubleVectorHolder>;
using SequentialInt32VectorReader = SequentialTableReader<Int32VectorHolder>;
using RandomAccessInt32VectorReader = RandomAccessTableReader<Int32VectorHolder>;
using Int32VectorWriter = TableWriter<Int32VectorHolder>;
using SequentialTokenVectorReader = SequentialTableReader<TokenVectorHolder>;
using RandomAccessTokenVectorReader = RandomAccessTableReader<TokenVectorHolder>;
using TokenVectorWriter = TableWriter<TokenVectorHolder>;
using SequentialTokenReader = SequentialTableReader<TokenHolder>;
using RandomAccessTokenReader = RandomAccessTableReader<TokenHolder>;
using TokenWriter = TableWriter<TokenHolder>;
using SequentialBaseFloatReader = SequentialTableReader<FloatHolder>;
using RandomAccessBaseFloatReader = RandomAccessTableReader<FloatHolder>;
using BaseFloatWriter = TableWriter<FloatHolder>;
using SequentialInt32Reader = SequentialTableReader<Int32Holder>;
using RandomAccessInt32Reader = RandomAccessTableReader<Int32Holder>;
using Int32Writer = TableWriter<Int32Holder>;

}  // namespace kaldiq::kaldi
