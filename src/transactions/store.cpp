// The transaction store (store.h) on catalog migration 9.
#include "transactions/store.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <limits>

#include "core/error.h"
#include "transactions/card_mask.h"

namespace vigil::transactions {
namespace {

// The till_transaction tables with the text index keyed by moment (catalog.cpp's migration 11),
// its till-qualified words (12) and its word list (14).
constexpr int kMinSchema = 14;

// A search's last word is asked for as its completions (SearchTerms) when it has at most this
// many: an OR of 32 words is still read newest first, page by page.
constexpr size_t kMaxCompletions = 32;

// The text index's rowid of a transaction (catalog.cpp, migration 11): ordered like
// (moment, id), so a search walks it newest first.
int64_t fts_key(int64_t moment_ms, int64_t id) { return moment_ms * 1048576 + id % 1048576; }


const char* kColumns =
    "SELECT id, till_id, reference, till_time_ms, moment_ms, kind, method, total_minor, currency, "
    "cashier, text, source, created_ms FROM till_transaction ";

std::optional<Source> parse_source(const std::string& s) {
  if (s == "api") return Source::kApi;
  if (s == "webhook") return Source::kWebhook;
  if (s == "printer") return Source::kPrinter;
  return std::nullopt;
}

// What the FTS5 index holds for a transaction: every text a search may find it by.
std::string search_body(const Transaction& t) {
  std::string body = t.text;
  for (const LineItem& i : t.items) body += "\n" + i.text;
  for (const ReceiptLine& l : t.receipt) body += "\n" + l.text;
  if (!t.cashier.empty()) body += "\n" + t.cashier;
  return body;
}

Transaction masked(Transaction t) {
  t.reference = mask_card_numbers(t.reference);
  t.cashier = mask_card_numbers(t.cashier);
  t.text = mask_card_numbers(t.text);
  for (LineItem& i : t.items) i.text = mask_card_numbers(i.text);
  for (ReceiptLine& l : t.receipt) l.text = mask_card_numbers(l.text);
  return t;
}

}  // namespace

const char* source_name(Source s) {
  switch (s) {
    case Source::kApi: return "api";
    case Source::kWebhook: return "webhook";
    case Source::kPrinter: return "printer";
  }
  return "?";
}

std::vector<std::string> search_words(const std::string& text) {
  std::vector<std::string> words;
  std::string word;
  for (char c : text + " ") {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      if (!word.empty()) words.push_back(std::move(word));
      word.clear();
    } else {
      word += c;
    }
  }
  return words;
}

namespace {

// An FTS5 string: in double quotes, a double quote written twice.
std::string fts_string(const std::string& s) {
  std::string quoted = "\"";
  for (char c : s) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  return quoted + '"';
}

// The query of `terms` in `column`, every token preceded by `prefix` (a till's, or none).
std::string column_query(const SearchTerms& terms, const std::string& column,
                         const std::string& prefix) {
  size_t last = terms.words.size();  // the last word with a token: the one that may be a prefix
  for (size_t i = 0; i < terms.words.size(); ++i) {
    if (!terms.words[i].empty()) last = i;
  }
  if (last == terms.words.size()) return "";
  std::string q;
  for (size_t i = 0; i <= last; ++i) {
    const auto& tokens = terms.words[i];
    if (tokens.empty()) continue;
    std::string item;
    if (i == last && tokens.size() == 1 && !terms.completions.empty()) {
      for (const std::string& c : terms.completions) {
        item += (item.empty() ? "(" : " OR ") + fts_string(prefix + c);
      }
      item += ")";
    } else {
      std::string phrase;  // a word of several tokens ("t-shirt") stays a phrase
      for (const std::string& t : tokens) phrase += (phrase.empty() ? "" : " ") + prefix + t;
      item = fts_string(phrase) + (i == last ? "*" : "");
    }
    q += (q.empty() ? "" : " AND ") + item;
  }
  return "{" + column + "} : (" + q + ")";
}

}  // namespace

std::string fts_query(const SearchTerms& terms) {
  // Only the text column: the other holds till-qualified words, which "7431x" would find.
  return column_query(terms, "body", "");
}

std::string fts_query_at_tills(const SearchTerms& terms, const std::vector<std::string>& tills) {
  std::string q;
  for (const std::string& till : tills) {
    const std::string one = column_query(terms, "till_words", till_word_prefix(till));
    if (one.empty()) return "";
    q += (q.empty() ? "" : " OR ") + one;
  }
  return q;
}

namespace {

// Tokens as one text, for string_to_array(:x, ' ') on PostgreSQL: a token has no white space
// (white space is what FTS5's unicode61 splits at), so nothing needs quoting.
std::string token_list(const std::vector<std::string>& tokens) {
  std::string out;
  for (const std::string& t : tokens) out += (out.empty() ? "" : " ") + t;
  return out;
}

// The tokens qualified by a till, as in FTS5's till_words column (catalog/text_index.h).
std::vector<std::string> qualified(const std::string& till,
                                   const std::vector<std::string>& tokens) {
  const std::string prefix = till_word_prefix(till);
  std::vector<std::string> out;
  out.reserve(tokens.size());
  for (const std::string& t : tokens) out.push_back(prefix + t);
  return out;
}

}  // namespace

TransactionStore::TransactionStore(const std::string& location) : db_(sql::open(location)) {
  const int64_t version = db_->schema_version();
  if (version < kMinSchema) {
    throw Error(ErrorCode::kFailedPrecondition,
                db_->path() + ": catalog has no till_transaction table (schema version " +
                    std::to_string(version) + ")");
  }
  if (auto* sqlite = dynamic_cast<sql::SqliteConnection*>(db_.get())) {
    db_->exec("PRAGMA foreign_keys=ON");
    tokenizer_ = std::make_unique<TextTokenizer>(*sqlite);
  } else {
    tokenizer_db_ = std::make_unique<sql::SqliteConnection>(":memory:");
    tokenizer_ = std::make_unique<TextTokenizer>(*tokenizer_db_);
  }
}

Transaction TransactionStore::read_row(sql::Statement& st) {
  Transaction t;
  t.id = st.int64("id");
  t.till_id = st.text("till_id");
  t.reference = st.is_null("reference") ? "" : st.text("reference");
  if (!st.is_null("till_time_ms")) t.till_time = wall_from_ms(st.int64("till_time_ms"));
  t.moment = wall_from_ms(st.int64("moment_ms"));
  t.kind = parse_kind(st.text("kind")).value_or(Kind::kSale);
  if (!st.is_null("method")) t.method = parse_method(st.text("method"));
  if (!st.is_null("total_minor")) t.total_minor = st.int64("total_minor");
  t.currency = st.text("currency");
  t.cashier = st.text("cashier");
  t.text = st.text("text");
  t.source = parse_source(st.text("source")).value_or(Source::kApi);
  t.created = wall_from_ms(st.int64("created_ms"));
  return t;
}

void TransactionStore::load_items(Transaction& t) {
  auto st = db_->prepare(
      "SELECT text, quantity, unit_minor FROM till_transaction_item WHERE transaction_id = :id "
      "ORDER BY position");
  st.bind(":id", t.id);
  while (st.step()) {
    LineItem i;
    i.text = st.text("text");
    i.quantity = st.real("quantity");
    if (!st.is_null("unit_minor")) i.unit_minor = st.int64("unit_minor");
    t.items.push_back(std::move(i));
  }
}

std::vector<Stored> TransactionStore::add(const std::vector<Transaction>& batch, WallTime now) {
  std::lock_guard lock(mu_);
  std::vector<Stored> out;
  sql::Transaction tx(*db_);
  // Prepared once for the batch: parsing and planning them for each of a batch's 100 rows was
  // a large part of a batch's time (bench/transactions).
  auto find_ref =
      db_->prepare(std::string(kColumns) + "WHERE till_id = :till AND reference = :ref");
  auto insert_row = db_->prepare(
      "INSERT INTO till_transaction (till_id, reference, till_time_ms, moment_ms, kind, method, "
      "total_minor, currency, cashier, text, source, created_ms) VALUES (:till, :ref, :till_time, "
      ":moment, :kind, :method, :total, :currency, :cashier, :text, :source, :created) "
      "RETURNING id");
  auto insert_item = db_->prepare(
      "INSERT INTO till_transaction_item (transaction_id, position, text, quantity, unit_minor) "
      "VALUES (:id, :pos, :text, :qty, :unit)");
  auto insert_line = db_->prepare(
      "INSERT INTO till_receipt_line (transaction_id, position, at_ms, text) "
      "VALUES (:id, :pos, :at, :text)");
  const bool fts5 = db_->engine() == sql::Engine::kSqlite;
  auto insert_text = db_->prepare(
      fts5 ? "INSERT INTO till_transaction_fts (rowid, body, till_words, tx) "
             "VALUES (:key, :body, :till_words, :id)"
           : "INSERT INTO till_transaction_text (tx, words, till_words) "
             "VALUES (:id, string_to_array(:words, ' '), string_to_array(:till_words, ' '))");
  auto insert_word =
      db_->prepare("INSERT INTO till_text_word (word) VALUES (:word) ON CONFLICT DO NOTHING");
  for (const Transaction& in : batch) {
    // Callers validate against the configuration first; this guards the store's own invariant
    // (and rolls the whole batch back, like any failure here).
    if (in.till_id.empty()) throw Error(ErrorCode::kInvalidArgument, "a transaction needs a till");
    Transaction t = masked(in);
    if (!t.reference.empty()) {
      find_ref.reset().bind(":till", t.till_id).bind(":ref", t.reference);
      if (find_ref.step()) {
        Transaction old = read_row(find_ref);
        find_ref.reset();  // no statement left running at the commit
        load_items(old);
        out.push_back({std::move(old), false});
        continue;
      }
    }
    t.created = now;
    insert_row.reset()
        .bind(":till", t.till_id)
        .bind(":moment", ms_since_epoch(t.moment))
        .bind(":kind", std::string(kind_name(t.kind)))
        .bind(":total", t.total_minor)
        .bind(":currency", t.currency)
        .bind(":cashier", t.cashier)
        .bind(":text", t.text)
        .bind(":source", std::string(source_name(t.source)))
        .bind(":created", ms_since_epoch(now));
    if (t.reference.empty()) {
      insert_row.bind_null(":ref");  // NULLs are distinct in a UNIQUE index: receipts without reference
    } else {
      insert_row.bind(":ref", t.reference);
    }
    if (t.till_time) {
      insert_row.bind(":till_time", ms_since_epoch(*t.till_time));
    } else {
      insert_row.bind_null(":till_time");
    }
    if (t.method) {
      insert_row.bind(":method", std::string(method_name(*t.method)));
    } else {
      insert_row.bind_null(":method");
    }
    t.id = sql::inserted_id(insert_row);
    for (size_t i = 0; i < t.items.size(); ++i) {
      insert_item.reset()
          .bind(":id", t.id)
          .bind(":pos", static_cast<int64_t>(i))
          .bind(":text", t.items[i].text)
          .bind_real(":qty", t.items[i].quantity)
          .bind(":unit", t.items[i].unit_minor)
          .run();
    }
    for (size_t i = 0; i < t.receipt.size(); ++i) {
      insert_line.reset()
          .bind(":id", t.id)
          .bind(":pos", static_cast<int64_t>(i))
          .bind(":at", ms_since_epoch(t.receipt[i].at))
          .bind(":text", t.receipt[i].text)
          .run();
    }
    const std::string body = search_body(t);
    const std::vector<std::string> tokens = tokenizer_->tokens(body);
    insert_text.reset().bind(":id", t.id);
    if (fts5) {
      insert_text.bind(":key", fts_key(ms_since_epoch(t.moment), t.id))
          .bind(":body", body)
          .bind(":till_words", till_words(t.till_id, tokens));
    } else {
      insert_text.bind(":words", token_list(tokens))
          .bind(":till_words", token_list(qualified(t.till_id, tokens)));
    }
    insert_text.run();
    for (const std::string& word : tokens) insert_word.reset().bind(":word", word).run();
    out.push_back({std::move(t), true});
  }
  tx.commit();
  return out;
}

std::optional<Transaction> TransactionStore::get(int64_t id) {
  std::lock_guard lock(mu_);
  auto st = db_->prepare(std::string(kColumns) + "WHERE id = :id");
  st.bind(":id", id);
  if (!st.step()) return std::nullopt;
  Transaction t = read_row(st);
  load_items(t);
  load_receipt(t);
  return t;
}

void TransactionStore::load_receipt(Transaction& t) {
  auto lines = db_->prepare(
      "SELECT at_ms, text FROM till_receipt_line WHERE transaction_id = :id ORDER BY position");
  lines.bind(":id", t.id);
  while (lines.step()) {
    t.receipt.push_back({wall_from_ms(lines.int64("at_ms")), lines.text("text")});
  }
}

std::vector<Transaction> TransactionStore::in_range(const std::string& till, WallTime from,
                                                    WallTime to) {
  std::lock_guard lock(mu_);
  auto st = db_->prepare(std::string(kColumns) +
                         "WHERE till_id = :till AND moment_ms >= :from AND moment_ms < :to "
                         "ORDER BY moment_ms, id");
  st.bind(":till", till).bind(":from", ms_since_epoch(from)).bind(":to", ms_since_epoch(to));
  std::vector<Transaction> out;
  while (st.step()) out.push_back(read_row(st));
  for (Transaction& t : out) {
    load_items(t);
    load_receipt(t);
  }
  return out;
}

std::vector<Transaction> TransactionStore::find(const TransactionFilter& f) {
  const bool fts5 = db_->engine() == sql::Engine::kSqlite;
  // Fixed clauses with named parameters: only which clauses appear depends on the filter.
  std::string where;
  if (f.tills) {
    where += fts5 ? " AND till_id IN (SELECT value FROM json_each(:tills))"
                  : " AND till_id IN (SELECT json_array_elements_text(CAST(:tills AS json)))";
  }
  if (f.from) where += " AND moment_ms >= :from";
  if (f.to) where += " AND moment_ms < :to";
  if (f.kind) where += " AND kind = :kind";
  if (f.method) where += " AND method = :method";
  if (f.amount_from) where += " AND total_minor >= :amount_from";
  if (f.amount_to) where += " AND total_minor <= :amount_to";
  const auto bind_filters = [&f](sql::Statement& st) {
    if (f.tills) st.bind(":tills", nlohmann::json(*f.tills).dump());
    if (f.from) st.bind(":from", ms_since_epoch(*f.from));
    if (f.to) st.bind(":to", ms_since_epoch(*f.to));
    if (f.kind) st.bind(":kind", std::string(kind_name(*f.kind)));
    if (f.method) st.bind(":method", std::string(method_name(*f.method)));
    if (f.amount_from) st.bind(":amount_from", *f.amount_from);
    if (f.amount_to) st.bind(":amount_to", *f.amount_to);
  };
  std::lock_guard lock(mu_);  // the connection and the tokenizer are the store's, one user at once
  SearchTerms terms;
  for (const std::string& w : search_words(f.text)) terms.words.push_back(tokenizer_->tokens(w));
  const auto last = std::find_if(terms.words.rbegin(), terms.words.rend(),
                                 [](const auto& tokens) { return !tokens.empty(); });
  bool last_starts_words = true;
  if (last != terms.words.rend() && last->size() == 1) {
    // The words the last one starts, from the index's word list, if there are few.
    const std::string& start = last->front();
    auto st = db_->prepare(
        "SELECT word FROM till_text_word WHERE word >= :start AND word < :past ORDER BY word "
        "LIMIT :n");
    // U+10FFFF, the last code point, sorts after every UTF-8 character (byte order, as both
    // engines compare these words): every word that starts with `start` sorts before it.
    st.bind(":start", start)
        .bind(":past", start + "\xf4\x8f\xbf\xbf")
        .bind(":n", int64_t{kMaxCompletions + 1});
    while (st.step()) terms.completions.push_back(st.text("word"));
    last_starts_words = !terms.completions.empty();
    if (terms.completions.size() > kMaxCompletions) terms.completions.clear();
  }
  std::optional<std::pair<int64_t, int64_t>> before;  // (moment_ms, id) of before_id
  if (f.before_id) {
    auto st = db_->prepare("SELECT moment_ms, id FROM till_transaction WHERE id = :id");
    st.bind(":id", *f.before_id);
    if (!st.step()) return {};
    before = {st.int64("moment_ms"), st.int64("id")};
  }
  std::vector<Transaction> out;
  if (last == terms.words.rend()) {
    std::string sql = std::string(kColumns) + "WHERE TRUE" + where;
    if (before) sql += " AND (moment_ms, id) < (:before_moment, :before_id)";
    sql += " ORDER BY moment_ms DESC, id DESC LIMIT :limit";
    auto st = db_->prepare(sql);
    bind_filters(st);
    if (before) st.bind(":before_moment", before->first).bind(":before_id", before->second);
    st.bind(":limit", int64_t{f.limit});
    while (st.step()) out.push_back(read_row(st));
  } else if (!last_starts_words) {
    return {};  // no word in the store starts with the last one
  } else if (fts5) {
    out = find_text_fts5(f, terms, where, bind_filters, before);
  } else {
    out = find_text_arrays(f, terms, where, bind_filters, before);
  }
  for (Transaction& t : out) load_items(t);
  return out;
}

std::vector<Transaction> TransactionStore::find_text_fts5(
    const TransactionFilter& f, const SearchTerms& terms, const std::string& where,
    const std::function<void(sql::Statement&)>& bind_filters,
    std::optional<std::pair<int64_t, int64_t>> before) {
  std::string q = fts_query(terms);
  if (f.tills && !f.tills->empty()) q = fts_query_at_tills(terms, *f.tills);
  if (q.empty()) return {};
  // The index's matches newest first (its rowid is ordered like (moment, id)), each joined to
  // its row and kept if the other filters pass, up to a page. A page costs the matches read
  // until it is full, not every match in the store (a common word over a year is millions);
  // the time range narrows the walk inside the index.
  int64_t hi = std::numeric_limits<int64_t>::max();  // exclusive
  int64_t lo = std::numeric_limits<int64_t>::min();
  if (f.to) hi = fts_key(ms_since_epoch(*f.to), 0);
  if (before) hi = std::min(hi, fts_key(before->first, before->second));
  if (f.from) lo = fts_key(ms_since_epoch(*f.from), 0);
  std::string sql = std::string(kColumns) +
                    "JOIN till_transaction_fts f ON f.tx = till_transaction.id "
                    "WHERE till_transaction_fts MATCH :q AND f.rowid < :hi AND f.rowid >= :lo" +
                    where + " ORDER BY f.rowid DESC LIMIT :limit";
  auto st = db_->prepare(sql);
  bind_filters(st);
  st.bind(":q", q).bind(":hi", hi).bind(":lo", lo).bind(":limit", int64_t{f.limit});
  std::vector<Transaction> out;
  while (st.step()) out.push_back(read_row(st));
  return out;
}

std::vector<Transaction> TransactionStore::find_text_arrays(
    const TransactionFilter& f, const SearchTerms& terms, const std::string& where,
    const std::function<void(sql::Statement&)>& bind_filters,
    std::optional<std::pair<int64_t, int64_t>> before) {
  // PostgreSQL: every word's tokens must be in the row's array (a word of several tokens,
  // "t-shirt", asks for each of them, not for them side by side as FTS5's phrase does); the last
  // word one of its completions, or, when it starts too many words to list, any token that
  // starts with it (not indexed: read while walking the rows newest first, which a prefix that
  // common fills a page quickly). At tills, the till-qualified arrays, one condition per till.
  // The planner picks the GIN index for a rare word and the (moment, id) index for a common one.
  if (f.tills && f.tills->empty()) return {};
  const std::vector<std::string> tills = f.tills ? *f.tills : std::vector<std::string>{""};
  std::vector<std::string> values;  // bound as :a0, :a1, ...
  const auto param = [&values](std::string v) {
    values.push_back(std::move(v));
    return ":a" + std::to_string(values.size() - 1);
  };
  size_t last = 0;
  for (size_t i = 0; i < terms.words.size(); ++i) {
    if (!terms.words[i].empty()) last = i;
  }
  std::string text;
  for (const std::string& till : tills) {
    const std::string column = till.empty() ? "t.words" : "t.till_words";
    const std::string prefix = till.empty() ? "" : till_word_prefix(till);
    std::vector<std::string> all;
    std::string one;
    for (size_t i = 0; i < terms.words.size(); ++i) {
      const auto& tokens = terms.words[i];
      if (tokens.empty()) continue;
      if (i == last && tokens.size() == 1) {
        if (!terms.completions.empty()) {
          std::vector<std::string> c;
          for (const std::string& w : terms.completions) c.push_back(prefix + w);
          one += " AND " + column + " && string_to_array(" + param(token_list(c)) + ", ' ')";
        } else {
          // starts_with: byte-wise whatever the database's collation.
          one += " AND EXISTS (SELECT 1 FROM unnest(" + column + ") w WHERE starts_with(w, " +
                 param(prefix + tokens.front()) + "))";
        }
        continue;
      }
      for (const std::string& token : tokens) all.push_back(prefix + token);
    }
    if (!all.empty()) {
      one += " AND " + column + " @> string_to_array(" + param(token_list(all)) + ", ' ')";
    }
    text += (text.empty() ? "(" : " OR (") + one.substr(5) + ")";
  }
  std::string sql = std::string(kColumns) +
                    "JOIN till_transaction_text t ON t.tx = till_transaction.id WHERE (" + text +
                    ")" + where;
  if (before) sql += " AND (moment_ms, id) < (:before_moment, :before_id)";
  sql += " ORDER BY moment_ms DESC, id DESC LIMIT :limit";
  auto st = db_->prepare(sql);
  bind_filters(st);
  for (size_t i = 0; i < values.size(); ++i) {
    st.bind((":a" + std::to_string(i)).c_str(), values[i]);
  }
  if (before) st.bind(":before_moment", before->first).bind(":before_id", before->second);
  st.bind(":limit", int64_t{f.limit});
  std::vector<Transaction> out;
  while (st.step()) out.push_back(read_row(st));
  return out;
}

Summary TransactionStore::summarize(const std::string& till, WallTime from, WallTime to,
                                    const std::string& event_camera) {
  std::lock_guard lock(mu_);
  Summary out;
  // Grouped in SQL: one pass over the till's index range, whatever the size of the store.
  auto st = db_->prepare(
      "SELECT kind, method, count(*) AS n, coalesce(sum(total_minor), 0) AS total "
      "FROM till_transaction WHERE till_id = :till AND moment_ms >= :from AND moment_ms < :to "
      "GROUP BY kind, method");
  st.bind(":till", till).bind(":from", ms_since_epoch(from)).bind(":to", ms_since_epoch(to));
  while (st.step()) {
    const auto kind = parse_kind(st.text("kind"));
    if (!kind) continue;  // the store writes only known kinds
    const int64_t n = st.int64("n"), total = st.int64("total");
    out.count += n;
    Tally& k = out.by_kind[static_cast<size_t>(*kind)];
    k.count += n;
    k.total_minor += total;
    const auto method = st.is_null("method") ? std::nullopt : parse_method(st.text("method"));
    MethodTally& m = method ? out.by_method[static_cast<size_t>(*method)] : out.no_method;
    m.count += n;
    if (*kind == Kind::kSale) m.sales_minor += total;
    if (*kind == Kind::kRefund) m.refunds_minor += total;
  }
  out.net_minor = out.by_kind[static_cast<size_t>(Kind::kSale)].total_minor -
                  out.by_kind[static_cast<size_t>(Kind::kRefund)].total_minor;
  if (event_camera.empty()) return out;
  // ExceptionRules raises one event per camera of the till with the reason "till <id>: ...":
  // counting those on the first camera counts each exception once. substr, not LIKE: '_' is
  // allowed in till ids and is a LIKE wildcard.
  const std::string prefix = "till " + till + ": ";
  auto ev = db_->prepare(
      "SELECT id, start_ms, close_reason FROM event WHERE camera_id = :camera AND start_ms >= "
      ":from "
      "AND start_ms < :to AND type = 'transaction' "
      "AND substr(close_reason, 1, CAST(:n AS INTEGER)) = :prefix "
      "ORDER BY start_ms, id");
  ev.bind(":camera", event_camera)
      .bind(":from", ms_since_epoch(from))
      .bind(":to", ms_since_epoch(to))
      .bind(":n", static_cast<int64_t>(prefix.size()))
      .bind(":prefix", prefix);
  while (ev.step()) {
    out.exceptions.push_back(
        {ev.int64("id"), wall_from_ms(ev.int64("start_ms")), ev.text("close_reason")});
  }
  return out;
}

int TransactionStore::count_refunds_and_voids(const std::string& till, WallTime from,
                                              WallTime to) {
  std::lock_guard lock(mu_);
  auto st = db_->prepare(
      "SELECT count(*) AS n FROM till_transaction WHERE till_id = :till AND moment_ms > :from "
      "AND moment_ms <= :to AND kind IN ('refund', 'void')");
  st.bind(":till", till).bind(":from", ms_since_epoch(from)).bind(":to", ms_since_epoch(to));
  st.step();
  return static_cast<int>(st.int64("n"));
}

std::vector<Transaction> TransactionStore::between(const std::string& till, WallTime from,
                                                  WallTime to, std::optional<Kind> kind) {
  std::lock_guard lock(mu_);
  auto st = db_->prepare(std::string(kColumns) +
                         "WHERE till_id = :till AND moment_ms > :from AND moment_ms <= :to " +
                         (kind ? "AND kind = :kind " : "") + "ORDER BY moment_ms, id");
  st.bind(":till", till).bind(":from", ms_since_epoch(from)).bind(":to", ms_since_epoch(to));
  if (kind) st.bind(":kind", std::string(kind_name(*kind)));
  std::vector<Transaction> out;
  while (st.step()) out.push_back(read_row(st));
  return out;
}

std::optional<Transaction> TransactionStore::latest(const std::string& till, Kind kind, WallTime at) {
  std::lock_guard lock(mu_);
  auto st = db_->prepare(std::string(kColumns) +
                         "WHERE till_id = :till AND moment_ms <= :at AND kind = :kind "
                         "ORDER BY moment_ms DESC, id DESC LIMIT 1");
  st.bind(":till", till).bind(":at", ms_since_epoch(at)).bind(":kind", std::string(kind_name(kind)));
  if (!st.step()) return std::nullopt;
  return read_row(st);
}

std::optional<WallTime> TransactionStore::oldest_footage(const std::vector<std::string>& cameras) {
  std::lock_guard lock(mu_);
  std::optional<WallTime> oldest;
  for (const std::string& camera : cameras) {
    auto st = db_->prepare(
        "SELECT wall_start_ms FROM segment WHERE camera_id = :camera AND state != 'deleting' "
        "ORDER BY wall_start_ms LIMIT 1");
    st.bind(":camera", camera);
    if (!st.step()) continue;
    const WallTime t = wall_from_ms(st.int64("wall_start_ms"));
    if (!oldest || t < *oldest) oldest = t;
  }
  return oldest;
}

int TransactionStore::delete_before(const std::string& till, WallTime cutoff,
                                    const std::function<bool(WallTime)>& keep) {
  std::lock_guard lock(mu_);
  sql::Transaction tx(*db_);
  std::vector<int64_t> ids;
  {
    auto st = db_->prepare(
        "SELECT id, moment_ms FROM till_transaction WHERE till_id = :till AND moment_ms < :cutoff");
    st.bind(":till", till).bind(":cutoff", ms_since_epoch(cutoff));
    while (st.step()) {
      if (keep && keep(wall_from_ms(st.int64("moment_ms")))) continue;
      ids.push_back(st.int64("id"));
    }
  }
  // Items and receipt lines go by ON DELETE CASCADE, the FTS row by the trigger (migration 9).
  for (int64_t id : ids)
    db_->prepare("DELETE FROM till_transaction WHERE id = :id").bind(":id", id).run();
  tx.commit();
  return static_cast<int>(ids.size());
}

Transaction store_printed_receipt(TransactionStore& store, const PrintedReceipt& receipt,
                                  WallTime now) {
  Transaction t;
  t.till_id = receipt.till_id;
  t.moment = receipt.started;
  t.kind = receipt.kind;
  t.method = receipt.method;
  t.total_minor = receipt.total_minor;
  t.receipt = receipt.lines;
  t.source = Source::kPrinter;
  return store.add({t}, now).front().row;
}

}  // namespace vigil::transactions
