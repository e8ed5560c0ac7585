// The transaction store (catalog migration 9: till_transaction, its line items and receipt
// lines, and an FTS5 index over their text; on PostgreSQL, arrays of the same tokens in GIN
// indexes). Written by the API, the provider webhook and the printer tap; read by the search
// API. (till, reference) is unique: posting a transaction again answers the stored row. A batch
// is stored in one database transaction, all or nothing. Thread-safe: its own connection to the
// catalog behind a mutex (like HoldStore). Construct it after a Catalog has migrated the catalog.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "catalog/sql.h"
#include "catalog/sqlite.h"
#include "catalog/text_index.h"
#include "core/time.h"
#include "transactions/transaction.h"

namespace vigil::transactions {

struct TransactionFilter {
  // Tills the caller may see (those with at least one camera the caller sees); nullopt = all.
  std::optional<std::vector<std::string>> tills;
  std::optional<WallTime> from;  // moment >= from
  std::optional<WallTime> to;    // moment < to
  std::optional<Kind> kind;
  std::optional<Method> method;
  std::optional<int64_t> amount_from;  // total_minor >= amount_from
  std::optional<int64_t> amount_to;    // total_minor <= amount_to
  // Words that must all appear in the line items, the receipt, the free text or the cashier
  // (FTS5, prefix of the last word allowed: "coff" finds "coffee"). "" = no text filter.
  std::string text;
  std::optional<int64_t> before_id;  // paging: the transactions after this one in find()'s order
  int limit = 100;
};

// One transaction of a batch as stored, and whether this call stored it (false: it was stored
// before under the same (till, reference)).
struct Stored {
  Transaction row;
  bool created = false;
};

// How many transactions and how much money, in minor units.
struct Tally {
  int64_t count = 0;
  int64_t total_minor = 0;  // sum of the totals (refunds are positive amounts too)
  bool operator==(const Tally&) const = default;
};

// One payment method's share of a summary: every transaction with it counts, its sales and
// refunds are summed apart (net = sales - refunds).
struct MethodTally {
  int64_t count = 0;
  int64_t sales_minor = 0;
  int64_t refunds_minor = 0;
  bool operator==(const MethodTally&) const = default;
};

// An exception raised for a till (an event of type "transaction" on its first camera).
struct RaisedException {
  int64_t event_id = 0;
  WallTime at;
  std::string reason;  // the event's close_reason: "till t1: refund of 60.00 above 50.00 (...)"
};

// A till's transactions with from <= moment < to (one local day for the summary API).
struct Summary {
  int64_t count = 0;
  int64_t net_minor = 0;  // sales minus refunds
  std::array<Tally, kKindCount> by_kind{};            // indexed by Kind
  std::array<MethodTally, kMethodCount> by_method{};  // indexed by Method
  MethodTally no_method;                              // transactions without a method
  std::vector<RaisedException> exceptions;            // oldest first
};

// A search's words as the text index has them.
struct SearchTerms {
  // Each word's tokens, as the index's tokenizer makes them ("T-Shirt" is "t", "shirt"); a word
  // without one ("-") is no condition.
  std::vector<std::vector<std::string>> words;
  // The index's words that the last word (one token) starts, when they are few: asked for as
  // exact words, which FTS5 reads newest first and stops at a page, where a prefix query first
  // merges every posting of every such word in the store (40-55 ms for a common word at 10 M
  // rows). Empty: the last token is asked for as a prefix.
  std::vector<std::string> completions;
};

class TransactionStore {
 public:
  // Opens the catalog at `location` (a file, or a postgresql:// URL: sql::open), already
  // migrated by Catalog. Throws Error if the schema is too old.
  explicit TransactionStore(const std::string& location);

  // Stores every transaction of `batch` or none (an exception rolls all back). Texts are masked
  // (mask.h) here again, whatever the caller did, so nothing unmasked reaches the catalog. A
  // transaction whose (till, reference) is stored already is not stored again: its stored row is
  // answered. `now` is the rows' creation time.
  std::vector<Stored> add(const std::vector<Transaction>& batch, WallTime now);
  std::optional<Transaction> get(int64_t id);
  // Newest first by (moment, id), with line items (not receipt lines: get() has them).
  std::vector<Transaction> find(const TransactionFilter& f);
  // The till's transactions with from <= moment < to, counted and summed by kind and method,
  // and the exceptions raised for it in that time: events of type "transaction" on
  // `event_camera` (the till's first camera; "" = none) whose reason names the till. On the
  // till's index and the events' (camera, start) index: a year-old store costs what a new one does.
  Summary summarize(const std::string& till, WallTime from, WallTime to,
                    const std::string& event_camera);
  // Refunds and voids of `till` with from < moment <= to (the burst rule). On the till's index.
  int count_refunds_and_voids(const std::string& till, WallTime from, WallTime to);
  // The till's transactions with from < moment <= to, oldest first, of `kind` (any when
  // nullopt); rows without line items. On the till's index (the delayed rules' sweep).
  std::vector<Transaction> between(const std::string& till, WallTime from, WallTime to,
                                   std::optional<Kind> kind = std::nullopt);
  // The till's transactions with from <= moment < to, oldest first, with line items and receipt
  // lines (an evidence bundle's transactions.json). On the till's index.
  std::vector<Transaction> in_range(const std::string& till, WallTime from, WallTime to);
  // The till's latest transaction of `kind` with moment <= at.
  std::optional<Transaction> latest(const std::string& till, Kind kind, WallTime at);
  // The start of the oldest footage (segments not being deleted) of any of `cameras`; nullopt
  // when none has footage. On the segments' (camera, start) index.
  std::optional<WallTime> oldest_footage(const std::vector<std::string>& cameras);
  // Retention: removes the till's transactions whose moment is before `cutoff` and for which
  // `keep(moment)` is false (footage under an evidence hold). Returns how many went.
  int delete_before(const std::string& till, WallTime cutoff,
                    const std::function<bool(WallTime)>& keep = {});

 private:
  Transaction read_row(sql::Statement& st);
  void load_items(Transaction& t);
  void load_receipt(Transaction& t);

  // The text branch of find() on each engine; `where` and `bind_filters` are the other filters.
  std::vector<Transaction> find_text_fts5(const TransactionFilter& f, const SearchTerms& terms,
                                          const std::string& where,
                                          const std::function<void(sql::Statement&)>& bind_filters,
                                          std::optional<std::pair<int64_t, int64_t>> before);
  std::vector<Transaction> find_text_arrays(
      const TransactionFilter& f, const SearchTerms& terms, const std::string& where,
      const std::function<void(sql::Statement&)>& bind_filters,
      std::optional<std::pair<int64_t, int64_t>> before);

  std::mutex mu_;
  std::unique_ptr<sql::Connection> db_;
  // Texts and searches are tokenized as the index has them: by FTS5's unicode61, from the
  // catalog's own connection, or on PostgreSQL from an in-memory SQLite database of the store's
  // (one folding of words for both engines, so a migrated catalog finds what it found before).
  std::unique_ptr<sql::SqliteConnection> tokenizer_db_;
  std::unique_ptr<TextTokenizer> tokenizer_;
};

// A receipt read by a printer tap, as a transaction of its till: the moment is the arrival of
// its first byte (a printer has no clock to trust), the text its lines. For the lead to connect
// to the printer tap's receipt callback. Returns the stored row.
Transaction store_printed_receipt(TransactionStore& store, const PrintedReceipt& receipt,
                                  WallTime now);

// The words of a search: `text` split at white space.
std::vector<std::string> search_words(const std::string& text);

// The FTS5 query for `terms` in the searchable text (`body`): every word required, each word's
// tokens a phrase (no FTS syntax can be injected: every token is quoted), the last one a prefix
// or one of its completions. "" when no word has a token.
std::string fts_query(const SearchTerms& terms);

// The same search at some tills, on the index's `till_words` (catalog/text_index.h).
std::string fts_query_at_tills(const SearchTerms& terms, const std::vector<std::string>& tills);

}  // namespace vigil::transactions
