// The till transactions' text index (an FTS5 table, catalog migrations 9, 11 and 12) holds each
// transaction's text twice: as written (`body`), for searches over every till, and with every
// word qualified by its till (`till_words`: "7431xcoffee" for "coffee" at till "t1"), for a
// search at some tills. FTS5 cannot index a word and a till together otherwise, and
// intersecting a common word's postings with a till's costs a walk through both that grows
// with the store (140 ms at 10 M rows for a word the till never sold; bench/transactions).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "catalog/sqlite.h"

namespace vigil {

// FTS5's unicode61 tokenizer (the index's), from a connection's own FTS5 module, so that the
// index and its queries can never fold a word differently. Not thread-safe, like a connection.
class TextTokenizer {
 public:
  explicit TextTokenizer(sql::SqliteConnection& db);
  ~TextTokenizer();
  TextTokenizer(const TextTokenizer&) = delete;
  TextTokenizer& operator=(const TextTokenizer&) = delete;

  // The tokens of `text`: words folded to lower case, without diacritics, punctuation dropped.
  std::vector<std::string> tokens(std::string_view text);

 private:
  std::string where_;  // the catalog's path, for errors
  fts5_tokenizer kind_{};
  Fts5Tokenizer* tokenizer_ = nullptr;
};

// What a till's words start with in `till_words`: the hex of the id's bytes and an "x". Hex
// digits and "x" are one token whatever the id's characters ("t-1" is not "t 1"), and "x"
// ends it ("7431x" is never the start of another till's prefix).
std::string till_word_prefix(std::string_view till_id);

// The `till_words` value of a transaction of `till_id` whose searchable text is `body`, or
// whose text has these tokens.
std::string till_words(TextTokenizer& tokenizer, std::string_view till_id, std::string_view body);
std::string till_words(std::string_view till_id, const std::vector<std::string>& tokens);

// vigil_till_words(till_id, body) in SQL: till_words() for a migration or an INSERT ... SELECT.
void register_text_index_functions(sql::SqliteConnection& db);

}  // namespace vigil
