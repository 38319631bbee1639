#include "score/transcripts.h"

#include <fstream>
#include <set>

#include "kaldi/holders.h"
#include "kaldi/table.h"
#include "util/error.h"

namespace kaldiq::score {

Transcripts ReadTranscripts(const std::string& rspecifier, const TranscriptOptions& opts) {
  Transcripts out;
  if (opts.text) {
    kaldi::SequentialTokenVectorReader reader;
    reader.Open(rspecifier);
    for (; !reader.Done(); reader.Next()) out.emplace_back(reader.Key(), reader.Value());
    reader.Close();
    return out;
  }
  kaldi::SequentialInt32VectorReader reader;
  reader.Open(rspecifier);
  for (; !reader.Done(); reader.Next()) {
    const std::vector<int32_t>& ids = reader.Value();
    std::vector<std::string> words;
    words.reserve(ids.size());
    for (int32_t id : ids) {
      if (opts.symbols == nullptr) {
        words.push_back(std::to_string(id));
        continue;
      }
      std::string w = opts.symbols->Find(static_cast<int64_t>(id));
      KQ_CHECK(!w.empty(), kInvalidArgument)
          << opts.role << " " << rspecifier << ", utterance " << reader.Key() << ": word id " << id
          << " is not in the symbol table " << opts.symbols->Name();
      words.push_back(std::move(w));
    }
    out.emplace_back(reader.Key(), std::move(words));
  }
  reader.Close();
  return out;
}

TranscriptMap ToMap(const Transcripts& t, const std::string& rspecifier) {
  TranscriptMap m;
  for (const auto& [key, words] : t) {
    KQ_CHECK(m.emplace(key, words).second, kInvalidArgument)
        << rspecifier << ": duplicate key " << key;
  }
  return m;
}

std::map<std::string, std::string> ReadUtt2Spk(const std::string& rspecifier) {
  std::map<std::string, std::string> m;
  kaldi::SequentialTokenVectorReader reader;
  reader.Open(rspecifier);
  for (; !reader.Done(); reader.Next()) {
    const auto& v = reader.Value();
    KQ_CHECK(v.size() == 1, kFormat)
        << rspecifier << ", key " << reader.Key() << ": expected exactly one speaker id, got "
        << v.size() << " tokens";
    KQ_CHECK(m.emplace(reader.Key(), v[0]).second, kInvalidArgument)
        << rspecifier << ": duplicate key " << reader.Key();
  }
  reader.Close();
  return m;
}

std::unique_ptr<fst::SymbolTable> ReadSymbolTable(const std::string& path) {
  {
    std::ifstream probe(path);
    KQ_CHECK(probe.good(), kIo) << "cannot open symbol table " << path;
  }
  std::unique_ptr<fst::SymbolTable> table(fst::SymbolTable::ReadText(path));
  KQ_CHECK(table != nullptr, kFormat)
      << "cannot parse symbol table " << path << " (expected \"word id\" per line)";
  return table;
}

int64_t CountUnknownWords(const Transcripts& t, const fst::SymbolTable& symbols,
                          std::string* first_example) {
  int64_t n = 0;
  for (const auto& [key, words] : t) {
    for (const auto& w : words) {
      if (symbols.Find(w) == fst::kNoSymbol) {
        if (n == 0 && first_example != nullptr) *first_example = w + " (utterance " + key + ")";
        n++;
      }
    }
  }
  return n;
}

}  // namespace kaldiq::score
