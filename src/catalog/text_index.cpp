#include "catalog/text_index.h"

#include <memory>

#include "core/error.h"

namespace vigil {
namespace {

fts5_api* fts5_of(sql::SqliteConnection& db) {
  // The documented way to reach FTS5's C API: SELECT fts5(?) with a pointer to fill in.
  fts5_api* api = nullptr;
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db.raw(), "SELECT fts5(?1)", -1, &st, nullptr) == SQLITE_OK) {
    sqlite3_bind_pointer(st, 1, static_cast<void*>(&api), "fts5_api_ptr", nullptr);
    sqlite3_step(st);
  }
  sqlite3_finalize(st);
  if (!api) throw Error(ErrorCode::kInternal, db.path() + ": SQLite has no FTS5");
  return api;
}

int collect(void* out, int /*flags*/, const char* token, int n, int /*start*/, int /*end*/) {
  static_cast<std::vector<std::string>*>(out)->emplace_back(token, static_cast<size_t>(n));
  return SQLITE_OK;
}

}  // namespace

TextTokenizer::TextTokenizer(sql::SqliteConnection& db) : where_(db.path()) {
  fts5_api* api = fts5_of(db);
  void* user = nullptr;
  if (api->xFindTokenizer(api, "unicode61", &user, &kind_) != SQLITE_OK) {
    throw Error(ErrorCode::kInternal, where_ + ": FTS5 has no unicode61 tokenizer");
  }
  if (kind_.xCreate(user, nullptr, 0, &tokenizer_) != SQLITE_OK) {
    throw Error(ErrorCode::kResourceExhausted, where_ + ": cannot create an FTS5 tokenizer");
  }
}

TextTokenizer::~TextTokenizer() { kind_.xDelete(tokenizer_); }

std::vector<std::string> TextTokenizer::tokens(std::string_view text) {
  std::vector<std::string> out;
  if (kind_.xTokenize(tokenizer_, &out, FTS5_TOKENIZE_DOCUMENT, text.data(),
                      static_cast<int>(text.size()), &collect) != SQLITE_OK) {
    throw Error(ErrorCode::kResourceExhausted, where_ + ": tokenize a transaction's text");
  }
  return out;
}

std::string till_word_prefix(std::string_view till_id) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : till_id) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out + "x";
}

std::string till_words(std::string_view till_id, const std::vector<std::string>& tokens) {
  const std::string prefix = till_word_prefix(till_id);
  std::string out;
  for (const std::string& token : tokens) {
    if (!out.empty()) out += ' ';
    out += prefix + token;
  }
  return out;
}

std::string till_words(TextTokenizer& tokenizer, std::string_view till_id, std::string_view body) {
  return till_words(till_id, tokenizer.tokens(body));
}

void register_text_index_functions(sql::SqliteConnection& db) {
  // The tokenizer lives as long as the function: SQLite destroys a connection's functions before
  // its modules (FTS5's among them) when it closes.
  auto tokenizer = std::make_unique<TextTokenizer>(db);
  const auto fn = [](sqlite3_context* ctx, int /*argc*/, sqlite3_value** argv) {
    auto* tok = static_cast<TextTokenizer*>(sqlite3_user_data(ctx));
    const auto text = [](sqlite3_value* v) {
      const auto* p = sqlite3_value_text(v);
      return p ? std::string_view(reinterpret_cast<const char*>(p),
                                  static_cast<size_t>(sqlite3_value_bytes(v)))
               : std::string_view();
    };
    try {
      const std::string out = till_words(*tok, text(argv[0]), text(argv[1]));
      sqlite3_result_text(ctx, out.data(), static_cast<int>(out.size()), SQLITE_TRANSIENT);
    } catch (const Error& e) {
      sqlite3_result_error(ctx, e.what(), -1);
    }
  };
  const auto destroy = [](void* p) { delete static_cast<TextTokenizer*>(p); };
  // On failure SQLite has already called `destroy`.
  if (sqlite3_create_function_v2(db.raw(), "vigil_till_words", 2,
                                 SQLITE_UTF8 | SQLITE_DETERMINISTIC, tokenizer.release(), fn,
                                 nullptr, nullptr, destroy) != SQLITE_OK) {
    throw Error(ErrorCode::kInternal, db.path() + ": register vigil_till_words");
  }
}

}  // namespace vigil
