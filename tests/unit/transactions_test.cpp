// The transactions stage (issue 19): card-number masking with its Luhn edge cases, the [[till]]
// configuration, the store (idempotent on (till, reference), all or nothing, search filters and
// FTS5 text search), the JSON schema's field errors, provider webhook mapping and signatures.
#include <gtest/gtest.h>

#include <atomic>
#include <regex>
#include <thread>

#include "catalog/catalog.h"
#include "catalog/event_store.h"
#include "catalog/sqlite.h"
#include "core/config.h"
#include "core/error.h"
#include "engine_test.h"
#include "test_support.h"
#include "transactions/card_mask.h"
#include "transactions/evidence.h"
#include "transactions/exception_rules.h"
#include "transactions/store.h"
#include "transactions/transaction_json.h"
#include "transactions/webhook.h"

namespace vigil::transactions {
namespace {

using nlohmann::json;

TEST(CardMaskInputs, LuhnCheck) {
  EXPECT_TRUE(luhn_valid("4111111111111111"));
  EXPECT_TRUE(luhn_valid("79927398713"));
  EXPECT_TRUE(luhn_valid("0"));
  EXPECT_FALSE(luhn_valid("4111111111111112"));
  EXPECT_FALSE(luhn_valid(""));
  EXPECT_FALSE(luhn_valid("41111111x1111111"));
}

TEST(CardMaskInputs, MasksCardNumbersToTheLastFour) {
  EXPECT_EQ(mask_card_numbers("4111111111111111"), "************1111");
  EXPECT_EQ(mask_card_numbers("Card 4111 1111 1111 1111 ok"), "Card **** **** **** 1111 ok");
  EXPECT_EQ(mask_card_numbers("VISA 4111-1111-1111-1111."), "VISA ****-****-****-1111.");
  // 13 digits (an old Visa) and 19 (some debit cards): the bounds are inclusive.
  EXPECT_EQ(mask_card_numbers("4222222222222"), "*********2222");
  EXPECT_EQ(mask_card_numbers("6011000990139424009"), "***************4009");
  ASSERT_TRUE(luhn_valid("6011000990139424009"));
  // UTF-8 around it stays whole.
  EXPECT_EQ(mask_card_numbers("Kärtchen:5555555555554444€"), "Kärtchen:************4444€");
}

TEST(CardMaskInputs, LeavesOtherNumbersAlone) {
  // Fails the Luhn check as a whole, but a 13-digit stretch inside it passes: that stretch is
  // masked (card_mask.h: masking a number too many is better than leaving a card number).
  ASSERT_TRUE(luhn_valid("1111111111112"));
  EXPECT_EQ(mask_card_numbers("4111111111111112"), "411*********1112");
  // Too short even though it passes (12 digits).
  ASSERT_TRUE(luhn_valid("411111111117"));
  EXPECT_EQ(mask_card_numbers("411111111117"), "411111111117");
  // Amounts, times, a phone number with a single separator each: no 13-digit run.
  EXPECT_EQ(mask_card_numbers("TOTAL 12.50 at 12:30, +49 30 1234567"),
            "TOTAL 12.50 at 12:30, +49 30 1234567");
  // Two spaces end a run: two short numbers are not joined into a card number.
  EXPECT_EQ(mask_card_numbers("41111111  11111111"), "41111111  11111111");
}

TEST(CardMaskInputs, FindsACardInsideALongerRunOfDigits) {
  // 17 digits, failing as a whole: "9" glued to a card. The card inside is found.
  ASSERT_FALSE(luhn_valid("94111111111111111"));
  EXPECT_EQ(mask_card_numbers("94111111111111111"), "9************1111");
  // A group of other figures before a card: the card's own groups are masked, not the figures.
  EXPECT_EQ(mask_card_numbers("9999 4111111111111111"), "9999 ************1111");
  // Two cards back to back, separated by a space: each keeps its own last four.
  EXPECT_EQ(mask_card_numbers("4111111111111111 5555555555554444"),
            "************1111 ************4444");
}

Config parse(const std::string& text) { return parse_config(text, "vigil.toml", "/etc/vigil"); }

const char* kCameras = R"(
data_dir = "/var/lib/vigil"
[[camera]]
id = "counter"
url = "rtsp://127.0.0.1/a"
[[camera]]
id = "door"
url = "rtsp://127.0.0.1/b"
)";

std::string config_error(const std::string& text) {
  try {
    parse(text);
  } catch (const Error& e) {
    return e.what();
  }
  return "(accepted)";
}

TEST(TillConfig, ReadsEverySetting) {
  const Config c = parse(std::string(kCameras) + R"(
[[till]]
id = "t1"
name = "Front till"
cameras = ["counter", "door"]
clock_offset_ms = -1500
printer_listen = "0.0.0.0:9101"
printer_forward = "192.0.2.20:9100"
printer_language = "star-prnt"
total_pattern = 'SUM\s+([0-9.,]+)'
webhook_secret = "s3cret"
[till.map]
amount = "/amount/value"
reference = "/id"
[till.rules]
refund_above = 5000
no_sale = true
open_from = "08:00"
open_to = "20:00"
burst_count = 3
burst_minutes = 10
[[till]]
id = "t2"
)");
  ASSERT_EQ(c.tills.size(), 2u);
  const TillConfig& t = c.tills[0];
  EXPECT_EQ(t.name, "Front till");
  EXPECT_EQ(t.cameras, (std::vector<std::string>{"counter", "door"}));
  EXPECT_EQ(t.clock_offset, std::chrono::milliseconds(-1500));
  EXPECT_EQ(t.printer_forward, "192.0.2.20:9100");
  EXPECT_EQ(t.printer_language, "star-prnt");
  EXPECT_EQ(c.find_till("t2")->printer_language, "esc-pos");
  EXPECT_EQ(t.total_pattern, R"(SUM\s+([0-9.,]+))");
  ASSERT_EQ(t.map.size(), 2u);
  EXPECT_EQ(t.webhook_secret, "s3cret");
  EXPECT_EQ(t.rules.refund_above_minor, 5000);
  EXPECT_TRUE(t.rules.no_sale);
  EXPECT_EQ(t.rules.open_from, std::chrono::minutes(8 * 60));
  EXPECT_EQ(t.rules.burst_count, 3);
  EXPECT_EQ(c.find_till("t2")->name, "t2");
  EXPECT_TRUE(c.find_till("t2")->cameras.empty());
  EXPECT_FALSE(c.find_till("t3"));
  // The default patterns read common receipts.
  std::smatch m;
  const std::string line = "TOTAL EUR 12,50";
  ASSERT_TRUE(std::regex_search(line, m, std::regex(c.tills[1].total_pattern)));
  EXPECT_EQ(m[1].str(), "12,50");
}

TEST(TillConfig, RefusesWrongSettingsNamingThem) {
  const std::string base = std::string(kCameras) + "[[till]]\nid = \"t1\"\n";
  EXPECT_NE(config_error(base + "cameras = [\"kitchen\"]").find("till[0].cameras[0] = \"kitchen\": names no [[camera]]"),
            std::string::npos);
  EXPECT_NE(config_error(base + "[[till]]\nid = \"t1\"").find("till[1].id = \"t1\": is used twice"),
            std::string::npos);
  EXPECT_NE(config_error(base + "total_pattern = 'TOTAL [0-9]+'").find("needs a group"),
            std::string::npos);
  EXPECT_NE(config_error(base + "void_pattern = '(VOID'").find("till[0].void_pattern"),
            std::string::npos);
  EXPECT_NE(config_error(base + "printer_listen = \"9101\"").find("till[0].printer_listen"),
            std::string::npos);
  EXPECT_NE(config_error(base + "printer_forward = \"10.0.0.1:9100\"").find("needs printer_listen"),
            std::string::npos);
  EXPECT_NE(config_error(base + "printer_language = \"escpos\"")
                .find("till[0].printer_language = \"escpos\": must be \"esc-pos\""),
            std::string::npos);
  EXPECT_NE(config_error(base + "[till.map]\ntotal = \"amount\"").find("till[0].map.total"),
            std::string::npos);
  EXPECT_NE(config_error(base + "[till.map]\npayer = \"/payer\"").find("till[0].map.payer: unknown setting"),
            std::string::npos);
  EXPECT_NE(config_error(base + "[till.rules]\nopen_from = \"08:00\"").find("till[0].rules.open_to"),
            std::string::npos);
  EXPECT_NE(config_error(base + "id2 = 1").find("till[0].id2: unknown setting"), std::string::npos);
  EXPECT_NE(config_error(std::string(kCameras) + "[[till]]\nid = \"T 1\"").find("till[0].id"),
            std::string::npos);
}

Transaction sale(const std::string& till, int64_t moment_s, int64_t total, const std::string& ref,
                 Method m = Method::kQr) {
  Transaction t;
  t.till_id = till;
  t.moment = wall_from_ms(moment_s * 1000);
  t.till_time = t.moment;
  t.kind = Kind::kSale;
  t.method = m;
  t.total_minor = total;
  t.currency = "EUR";
  t.reference = ref;
  return t;
}

// The store's tests run on both catalog engines (engine_test.h): FTS5 on SQLite, token arrays
// in GIN indexes on PostgreSQL.
class StoreTest : public test::EngineTest {
 protected:
  void SetUp() override {
    EngineTest::SetUp();
    catalog_ = std::make_unique<Catalog>(location());  // migrates
    store_ = std::make_unique<TransactionStore>(location());
  }

  std::vector<int64_t> ids(const TransactionFilter& f) {
    std::vector<int64_t> out;
    for (const auto& t : store_->find(f)) out.push_back(t.id);
    return out;
  }

  std::unique_ptr<Catalog> catalog_;
  std::unique_ptr<TransactionStore> store_;
  const WallTime now_ = wall_from_ms(1'800'000'000'000);
};
VIGIL_ON_BOTH_ENGINES(StoreTest);

TEST_P(StoreTest, SameTillAndReferenceIsStoredOnce) {
  Transaction t = sale("t1", 100, 2000, "R-1");
  t.items = {{"Coffee", 2, 250}, {"Cake", 1, 1500}};
  const auto first = store_->add({t}, now_);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_TRUE(first[0].created);
  Transaction again = t;
  again.total_minor = 9999;  // a retry that differs: the stored row wins
  const auto second = store_->add({again}, now_ + std::chrono::seconds(5));
  EXPECT_FALSE(second[0].created);
  EXPECT_EQ(second[0].row.id, first[0].row.id);
  EXPECT_EQ(second[0].row.total_minor, 2000);
  EXPECT_EQ(second[0].row.items, t.items);
  // The same reference at another till is another transaction.
  EXPECT_TRUE(store_->add({sale("t2", 100, 2000, "R-1")}, now_)[0].created);
  // Without a reference (printer taps) every one is new.
  EXPECT_TRUE(store_->add({sale("t1", 100, 1, "")}, now_)[0].created);
  EXPECT_TRUE(store_->add({sale("t1", 100, 1, "")}, now_)[0].created);
  EXPECT_EQ(store_->find({}).size(), 4u);
  // A batch that names one reference twice stores it once.
  const auto dup = store_->add({sale("t3", 1, 1, "X"), sale("t3", 1, 1, "X")}, now_);
  EXPECT_TRUE(dup[0].created);
  EXPECT_FALSE(dup[1].created);
  EXPECT_EQ(dup[0].row.id, dup[1].row.id);
}

TEST_P(StoreTest, ABatchIsStoredWhollyOrNotAtAll) {
  Transaction bad = sale("", 100, 1, "R-3");  // no till: the store refuses it
  EXPECT_THROW(store_->add({sale("t1", 100, 1, "R-1"), sale("t1", 101, 1, "R-2"), bad}, now_),
               Error);
  EXPECT_TRUE(store_->find({}).empty());
  TransactionFilter text;
  text.text = "R";
  EXPECT_TRUE(store_->find(text).empty());
  // The same references go in afterwards: nothing of the failed batch was left behind.
  const auto ok = store_->add({sale("t1", 100, 1, "R-1"), sale("t1", 101, 1, "R-2")}, now_);
  EXPECT_TRUE(ok[0].created && ok[1].created);
}

TEST_P(StoreTest, MasksCardNumbersBeforeStoring) {
  Transaction t = sale("t1", 100, 1, "4111111111111111");
  t.text = "paid with 5555 5555 5555 4444";
  t.items = {{"gift card 6011000990139424", 1, 100}};
  t.receipt = {{wall_from_ms(100'000), "CARD 4111-1111-1111-1111"}};
  const auto row = store_->add({t}, now_)[0].row;
  const auto got = store_->get(row.id);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->reference, "************1111");
  EXPECT_EQ(got->text, "paid with **** **** **** 4444");
  EXPECT_EQ(got->items[0].text, "gift card ************9424");
  EXPECT_EQ(got->receipt[0].text, "CARD ****-****-****-1111");
  // Not findable by the full number through the text index either.
  TransactionFilter f;
  f.text = "5555555555554444";
  EXPECT_TRUE(store_->find(f).empty());
  f.text = "4444";
  EXPECT_EQ(store_->find(f).size(), 1u);
}

TEST_P(StoreTest, SearchFiltersAndPagesNewestFirst) {
  Transaction refund = sale("t1", 300, 5000, "A3", Method::kCard);
  refund.kind = Kind::kRefund;
  Transaction coffee = sale("t2", 200, 2000, "B1", Method::kQr);
  coffee.items = {{"Flat white coffee", 1, 2000}};
  Transaction cash = sale("t1", 100, 700, "A1", Method::kCash);
  cash.receipt = {{wall_from_ms(100'000), "BAGEL SESAME"}, {wall_from_ms(100'500), "TOTAL 7.00"}};
  const auto s = store_->add({cash, coffee, refund}, now_);
  const int64_t a1 = s[0].row.id, b1 = s[1].row.id, a3 = s[2].row.id;

  EXPECT_EQ(ids({}), (std::vector<int64_t>{a3, b1, a1}));
  TransactionFilter f;
  f.tills = std::vector<std::string>{"t1"};
  EXPECT_EQ(ids(f), (std::vector<int64_t>{a3, a1}));
  f.tills = std::vector<std::string>{};
  EXPECT_TRUE(ids(f).empty());  // rights that allow no till see nothing

  f = {};
  f.from = wall_from_ms(150'000);
  f.to = wall_from_ms(300'000);  // exclusive
  EXPECT_EQ(ids(f), (std::vector<int64_t>{b1}));
  f = {};
  f.kind = Kind::kRefund;
  EXPECT_EQ(ids(f), (std::vector<int64_t>{a3}));
  f = {};
  f.method = Method::kQr;
  EXPECT_EQ(ids(f), (std::vector<int64_t>{b1}));
  f = {};
  f.amount_from = 700;
  f.amount_to = 2000;  // both inclusive
  EXPECT_EQ(ids(f), (std::vector<int64_t>{b1, a1}));
  f = {};
  f.text = "coffee";
  EXPECT_EQ(ids(f), (std::vector<int64_t>{b1}));
  f.text = "flat COFF";  // words anywhere, any case, the last as a prefix
  EXPECT_EQ(ids(f), (std::vector<int64_t>{b1}));
  f.text = "sesame";  // receipt lines are searched too
  EXPECT_EQ(ids(f), (std::vector<int64_t>{a1}));
  f.text = "\"bagel OR";  // FTS syntax is taken as words, not as a query
  EXPECT_TRUE(ids(f).empty());
  // Text at a till: the till is part of the index's match, so another till's sale of the same
  // thing is not found, and neither is the till's own other sale.
  f = {};
  f.text = "coffee";
  f.tills = std::vector<std::string>{"t1"};
  EXPECT_TRUE(ids(f).empty());
  f.tills = std::vector<std::string>{"t1", "t2"};
  EXPECT_EQ(ids(f), (std::vector<int64_t>{b1}));
  f.text = "sesame";
  EXPECT_EQ(ids(f), (std::vector<int64_t>{a1}));
  // The index's till column is not text: a search for digits finds no till by its id's hex.
  f = {};
  f.text = "74";  // "t" is 0x74, "t1" is 7431: as a prefix it would find every row
  EXPECT_TRUE(ids(f).empty());
  f = {};
  f.limit = 2;
  EXPECT_EQ(ids(f), (std::vector<int64_t>{a3, b1}));
  f.before_id = b1;
  EXPECT_EQ(ids(f), (std::vector<int64_t>{a1}));
}

TEST_P(StoreTest, TextAtATillTellsTillsApartWhateverTheirIdsCharacters) {
  // "t-1" and "t_1" are the same two words to the tokenizer; the index keeps their ids whole.
  Transaction dash = sale("t-1", 100, 1, "D");
  dash.items = {{"croissant", 1, 1}};
  Transaction under = sale("t_1", 200, 1, "U");
  under.items = {{"croissant", 1, 1}};
  const auto s = store_->add({dash, under}, now_);
  TransactionFilter f;
  f.text = "croiss";
  f.tills = std::vector<std::string>{"t-1"};
  EXPECT_EQ(ids(f), (std::vector<int64_t>{s[0].row.id}));
  f.tills = std::vector<std::string>{"t_1"};
  EXPECT_EQ(ids(f), (std::vector<int64_t>{s[1].row.id}));
  f.tills = std::vector<std::string>{"t"};
  EXPECT_TRUE(ids(f).empty());
}

TEST_P(StoreTest, ALastWordFindsEveryWordItStartsFewOrMany) {
  Transaction one = sale("t1", 100, 1, "A");
  one.items = {{"Croissant", 1, 1}};
  Transaction two = sale("t2", 200, 1, "B");
  two.items = {{"Croissants x2", 1, 1}};
  Transaction other = sale("t1", 300, 1, "C");
  other.items = {{"Crêpe", 1, 1}};
  // More words starting with "w" than a search asks for one by one: "w" stays a prefix query.
  std::vector<Transaction> many;
  for (int i = 0; i < 40; ++i) {
    Transaction t = sale("t3", 400 + i, 1, "W" + std::to_string(i));
    t.items = {{"w" + std::to_string(i) + "x", 1, 1}};
    many.push_back(t);
  }
  const auto s = store_->add({one, two, other}, now_);
  store_->add(many, now_);
  TransactionFilter f;
  f.text = "CROISS";
  EXPECT_EQ(ids(f), (std::vector<int64_t>{s[1].row.id, s[0].row.id}));
  f.text = "cr";
  EXPECT_EQ(ids(f).size(), 3u);  // crepe without its accent, like the index
  f.tills = std::vector<std::string>{"t1"};
  EXPECT_EQ(ids(f), (std::vector<int64_t>{s[2].row.id, s[0].row.id}));
  f = {};
  f.text = "w";
  EXPECT_EQ(ids(f).size(), 40u);
  f.tills = std::vector<std::string>{"t3"};
  EXPECT_EQ(ids(f).size(), 40u);
  f = {};
  f.text = "croissant zzz";  // no word starts with "zzz": nothing, not everything
  EXPECT_TRUE(ids(f).empty());
}

TEST_P(StoreTest, SearchesWhileBatchesAreStoredFromOtherThreads) {
  // The HTTP handlers share one store: a text search (tokenizer, word list, index) while another
  // thread stores batches must neither fail nor see half a batch.
  std::atomic<bool> done{false};
  std::thread writer([&] {
    for (int b = 0; b < 40; ++b) {
      std::vector<Transaction> batch;
      for (int i = 0; i < 10; ++i) {
        Transaction t = sale("t1", 100 + b * 10 + i, 1, "R" + std::to_string(b * 10 + i));
        t.items = {{"coffee " + std::to_string(b), 1, 1}};
        batch.push_back(t);
      }
      store_->add(batch, now_);
    }
    done = true;
  });
  TransactionFilter f;
  f.text = "coff";
  f.tills = std::vector<std::string>{"t1"};
  f.limit = 1000;
  int searches = 0;
  while (!done || searches == 0) {
    EXPECT_EQ(ids(f).size() % 10, 0u);  // whole batches only
    ++searches;
  }
  writer.join();
  EXPECT_EQ(ids(f).size(), 400u);
}

// SQLite's own migrations of the text index (11 to 12-14).
TEST(SqliteStore, TheTextIndexOfAnOlderCatalogGainsItsTills) {
  test::TempDir dir_;
  const WallTime now_ = wall_from_ms(1'800'000'000'000);
  Transaction t = sale("t1", 100, 1, "A");
  t.items = {{"flat white", 1, 1}};
  Transaction other = sale("t2", 200, 1, "B");
  other.items = {{"flat white", 1, 1}};
  std::vector<Stored> s;
  {
    Catalog catalog(dir_.path() / "vigil.db");
    s = TransactionStore(dir_.path() / "vigil.db").add({t, other}, now_);
  }
  {
    // Back to migration 11's index (no till column), as a catalog of that version has it.
    sql::SqliteConnection raw((dir_.path() / "vigil.db").string());
    raw.exec(test::kUndoArchive);
    raw.exec(
        "DROP TRIGGER till_transaction_fts_delete; "
        "CREATE TABLE fts_copy AS SELECT rowid AS k, body, tx FROM till_transaction_fts; "
        "DROP TABLE till_transaction_fts; "
        "CREATE VIRTUAL TABLE till_transaction_fts USING fts5 (body, tx UNINDEXED, "
        "tokenize = 'unicode61'); "
        "INSERT INTO till_transaction_fts (rowid, body, tx) SELECT k, body, tx FROM fts_copy; "
        "DROP TABLE fts_copy; "
        "CREATE TRIGGER till_transaction_fts_delete AFTER DELETE ON till_transaction BEGIN "
        "DELETE FROM till_transaction_fts WHERE rowid = old.moment_ms * 1048576 + old.id % "
        "1048576; END; "
        "DROP TABLE till_text_word; DROP INDEX till_transaction_till; "
        "CREATE INDEX till_transaction_till ON till_transaction (till_id, moment_ms, id); "
        "PRAGMA user_version = 11");
  }
  EXPECT_THROW(TransactionStore{dir_.path() / "vigil.db"}, Error);  // needs migrations 12-14
  Catalog migrated(dir_.path() / "vigil.db");
  EXPECT_GE(migrated.schema_version(), 14);
  TransactionStore store(dir_.path() / "vigil.db");
  TransactionFilter f;
  f.text = "white";
  f.tills = std::vector<std::string>{"t2"};
  const auto found = store.find(f);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].id, s[1].row.id);
  f.tills.reset();
  EXPECT_EQ(store.find(f).size(), 2u);
  // The delete trigger came back with the index: retention's delete takes the index row too.
  EXPECT_EQ(store.delete_before("t2", wall_from_ms(500'000), [](WallTime) { return false; }), 1);
  EXPECT_EQ(store.find(f).size(), 1u);
}

TEST_P(StoreTest, RetentionDeletesOldTransactionsButKeepsHeldOnes) {
  Transaction old = sale("t1", 100, 1, "old");
  old.items = {{"unique-old-item", 1, 1}};
  const auto s = store_->add({old, sale("t1", 200, 1, "held"), sale("t1", 900, 1, "new"),
                              sale("t2", 100, 1, "other till")},
                             now_);
  const int gone = store_->delete_before("t1", wall_from_ms(500'000), [](WallTime at) {
    return at == wall_from_ms(200'000);  // under a hold
  });
  EXPECT_EQ(gone, 1);
  EXPECT_FALSE(store_->get(s[0].row.id));
  EXPECT_TRUE(store_->get(s[1].row.id));
  EXPECT_TRUE(store_->get(s[3].row.id));
  TransactionFilter f;
  f.text = "unique-old-item";
  EXPECT_TRUE(store_->find(f).empty());  // its index row went with it
}

TEST_P(StoreTest, OldestFootageOfATillsCameras) {
  EXPECT_FALSE(store_->oldest_footage({"counter", "door"}));
  NewSegment seg;
  seg.camera_id = "counter";
  seg.path = "recordings/counter/a.mp4";
  seg.wall_start = wall_from_ms(7'000);
  catalog_->begin_segment(seg);
  seg.camera_id = "door";
  seg.path = "recordings/door/a.mp4";
  seg.wall_start = wall_from_ms(5'000);
  const int64_t door = catalog_->begin_segment(seg);
  EXPECT_EQ(store_->oldest_footage({"counter", "door"}), wall_from_ms(5'000));
  catalog_->mark_deleting(door);  // going: no longer footage
  EXPECT_EQ(store_->oldest_footage({"counter", "door"}), wall_from_ms(7'000));
  EXPECT_FALSE(store_->oldest_footage({"yard"}));
}

TEST_P(StoreTest, APrintedReceiptIsStoredAtItsArrival) {
  PrintedReceipt r;
  r.till_id = "t1";
  r.started = wall_from_ms(5'000'000);
  r.ended = wall_from_ms(5'002'000);
  r.lines = {{wall_from_ms(5'000'000), "ESPRESSO 2.50"}, {wall_from_ms(5'001'000), "TOTAL 2.50"},
             {wall_from_ms(5'002'000), "CARD 4111111111111111"}};
  r.method = Method::kCard;
  r.total_minor = 250;
  const Transaction t = store_printed_receipt(*store_, r, now_);
  const auto got = store_->get(t.id);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->moment, r.started);
  EXPECT_FALSE(got->till_time);
  EXPECT_EQ(got->source, Source::kPrinter);
  EXPECT_EQ(got->total_minor, 250);
  ASSERT_EQ(got->receipt.size(), 3u);
  EXPECT_EQ(got->receipt[1].at, wall_from_ms(5'001'000));
  EXPECT_EQ(got->receipt[2].text, "CARD ************1111");
}

// An evidence bundle of camera "front" over [from, to) carries the transactions of every till
// that lists "front" whose moment lies in the range, with items and receipt lines; not those of
// a till on other cameras only, nor those before `from` or at `to`.
TEST_P(StoreTest, AnEvidenceBundleCarriesTheTransactionsOfTheCamerasTills) {
  Config config;
  TillConfig t1, t2, t3;
  t1.id = "t1";
  t1.name = "Front till";
  t1.cameras = {"front"};
  t2.id = "t2";
  t2.cameras = {"back", "front"};
  t3.id = "t3";
  t3.cameras = {"back"};
  config.tills = {t1, t2, t3};
  const WallTime from = wall_from_ms(1000 * 1000), to = wall_from_ms(2000 * 1000);

  Transaction in = sale("t1", 1500, 1250, "IN-1", Method::kCard);
  in.items = {{"coffee", 2, 300}, {"cake", 1, 650}};
  in.receipt = {{wall_from_ms(1'500'100), "COFFEE 2x3.00"}, {wall_from_ms(1'500'900), "CARD ****1111"}};
  store_->add(
      {in, sale("t1", 999, 1, "BEFORE"), sale("t1", 1000, 2, "AT-FROM"),
       sale("t1", 2000, 3, "AT-TO"), sale("t2", 1999, 4, "IN-2"), sale("t3", 1500, 5, "T3")},
      now_);

  const auto read = evidence_transactions(*store_, config, "front", from, to);
  ASSERT_TRUE(read);
  ASSERT_EQ(read->tills.size(), 2u);
  EXPECT_EQ(read->note, "with 2 transaction(s) of till t1, 1 transaction(s) of till t2 "
                        "(transactions.json)");
  const json j = json::parse(read->json);
  EXPECT_EQ(j["format"], "vigil-transactions-1");
  EXPECT_EQ(j["camera"], "front");
  EXPECT_EQ(j["range"]["from_ms"], 1'000'000);
  EXPECT_EQ(j["range"]["to_ms"], 2'000'000);
  ASSERT_EQ(j["tills"].size(), 2u);
  EXPECT_EQ(j["tills"][0]["id"], "t1");
  EXPECT_EQ(j["tills"][0]["name"], "Front till");
  EXPECT_EQ(j["tills"][1]["cameras"], json({"back", "front"}));
  std::vector<std::string> refs;
  for (const auto& till : j["tills"]) {
    for (const auto& t : till["transactions"]) refs.push_back(t["reference"]);
  }
  EXPECT_EQ(refs, (std::vector<std::string>{"AT-FROM", "IN-1", "IN-2"}));  // oldest first
  const json& first = j["tills"][0]["transactions"][1];
  EXPECT_EQ(first["total_minor"], 1250);
  EXPECT_EQ(first["method"], "card");
  ASSERT_EQ(first["items"].size(), 2u);
  EXPECT_EQ(first["items"][1]["text"], "cake");
  ASSERT_EQ(first["receipt"].size(), 2u);
  EXPECT_EQ(first["receipt"][1]["at_ms"], 1'500'900);
  EXPECT_EQ(first["receipt"][1]["text"], "CARD ****1111");
  // The same rows give the same bytes (the bundle's manifest names their hash).
  EXPECT_EQ(evidence_transactions(*store_, config, "front", from, to)->json, read->json);

  // A till with nothing in the range is still listed (the bundle says it had none).
  const auto quiet = evidence_transactions(*store_, config, "back", to, to + std::chrono::hours(1));
  ASSERT_TRUE(quiet);
  EXPECT_EQ(json::parse(quiet->json)["tills"].size(), 2u);
  EXPECT_EQ(json::parse(quiet->json)["tills"][0]["transactions"].size(), 0u);
  // No till watches the camera: nothing to carry.
  EXPECT_FALSE(evidence_transactions(*store_, config, "side", from, to));
}

TEST_P(StoreTest, SummarizesADayByKindAndMethodWithItsExceptions) {
  Transaction refund = sale("t1", 150, 500, "R", Method::kCash);
  refund.kind = Kind::kRefund;
  Transaction drawer = sale("t1", 160, 0, "D");
  drawer.kind = Kind::kDrawerOpen;
  drawer.method.reset();
  drawer.total_minor.reset();
  store_->add({sale("t1", 100, 2000, "A", Method::kQr), sale("t1", 110, 1500, "B", Method::kCash),
               sale("t1", 120, 700, "C", Method::kCash), refund, drawer,
               sale("t1", 200, 9999, "late"),  // after the day
               sale("t2", 120, 3000, "other till")},
              now_);
  EventStore events(location());
  auto raise = [&events](const std::string& camera, int64_t at_s, const std::string& type,
                         const std::string& reason) {
    EventRow e;
    e.camera_id = camera;
    e.type = type;
    e.start = e.end = e.peak_at = wall_from_ms(at_s * 1000);
    const int64_t id = events.insert(e);
    events.close(id, e.end, reason);
    return id;
  };
  const int64_t mine = raise("counter", 150, "transaction", "till t1: refund of 5.00 above 1.00 (transaction 4)");
  raise("door", 150, "transaction", "till t1: refund of 5.00 above 1.00 (transaction 4)");  // same, 2nd camera
  raise("counter", 151, "transaction", "till t1x: no sale: drawer opened (transaction 9)");  // another till
  raise("counter", 152, "motion", "ended");
  raise("counter", 250, "transaction", "till t1: late (transaction 6)");  // after the day

  const Summary s =
      store_->summarize("t1", wall_from_ms(100'000), wall_from_ms(200'000), "counter");
  EXPECT_EQ(s.count, 5);
  EXPECT_EQ(s.by_kind[static_cast<size_t>(Kind::kSale)], (Tally{3, 4200}));
  EXPECT_EQ(s.by_kind[static_cast<size_t>(Kind::kRefund)], (Tally{1, 500}));
  EXPECT_EQ(s.by_kind[static_cast<size_t>(Kind::kDrawerOpen)], (Tally{1, 0}));
  EXPECT_EQ(s.by_kind[static_cast<size_t>(Kind::kVoid)], (Tally{0, 0}));
  EXPECT_EQ(s.net_minor, 3700);
  EXPECT_EQ(s.by_method[static_cast<size_t>(Method::kQr)], (MethodTally{1, 2000, 0}));
  EXPECT_EQ(s.by_method[static_cast<size_t>(Method::kCash)], (MethodTally{3, 2200, 500}));
  EXPECT_EQ(s.by_method[static_cast<size_t>(Method::kCard)], (MethodTally{}));
  EXPECT_EQ(s.no_method, (MethodTally{1, 0, 0}));
  ASSERT_EQ(s.exceptions.size(), 1u);
  EXPECT_EQ(s.exceptions[0].event_id, mine);
  EXPECT_EQ(s.exceptions[0].at, wall_from_ms(150'000));
  // A till without cameras raises no events: none are looked for.
  EXPECT_TRUE(
      store_->summarize("t1", wall_from_ms(100'000), wall_from_ms(200'000), "").exceptions.empty());
  // An empty day is all zeros.
  const Summary none =
      store_->summarize("t1", wall_from_ms(300'000), wall_from_ms(400'000), "counter");
  EXPECT_EQ(none.count, 0);
  EXPECT_EQ(none.net_minor, 0);

  SummaryRow row{"t1", "Front, \"main\"", "1970-01-01", wall_from_ms(100'000), wall_from_ms(200'000), s};
  const json j = to_json(row);
  EXPECT_EQ(j["by_kind"]["sale"], (json{{"count", 3}, {"total_minor", 4200}}));
  EXPECT_EQ(j["by_method"]["cash"], (json{{"count", 3}, {"sales_minor", 2200}, {"refunds_minor", 500}}));
  EXPECT_EQ(j["by_method"]["none"]["count"], 1);
  EXPECT_EQ(j["exceptions"], 1);
  EXPECT_EQ(j["exception_events"][0]["event_id"], mine);
  // The CSV has as many columns in every line as in its header, and quotes what needs it.
  const std::string header = summary_csv_header(), line = to_csv(row);
  auto columns = [](const std::string& l) {
    int n = 1;
    bool quoted = false;
    for (char c : l) {
      if (c == '"') quoted = !quoted;
      if (c == ',' && !quoted) ++n;
    }
    return n;
  };
  EXPECT_EQ(columns(header), columns(line));
  EXPECT_EQ(line.rfind("t1,\"Front, \"\"main\"\"\",1970-01-01,100000,200000,5,3700,3,4200,1,500,", 0), 0u) << line;
  EXPECT_TRUE(line.ends_with(",1\r\n"));
  row.till_name = "=HYPERLINK(1)";  // not a formula in a spreadsheet
  EXPECT_NE(to_csv(row).find(",'=HYPERLINK(1),"), std::string::npos);
}

TEST(ExceptionRules, EachRuleOnItsOwn) {
  using std::chrono::minutes;
  TillRules r;
  r.refund_above_minor = 5000;
  r.void_above_minor = 1000;
  r.no_sale = true;
  r.open_from = minutes(8 * 60);
  r.open_to = minutes(20 * 60);
  r.burst_count = 2;
  Transaction t;
  t.kind = Kind::kRefund;
  t.total_minor = 5000;  // not above
  const minutes noon(12 * 60);
  EXPECT_TRUE(broken_rules(r, t, 1, noon).empty());
  t.total_minor = 6000;
  EXPECT_EQ(broken_rules(r, t, 1, noon), (std::vector<std::string>{"refund of 60.00 above 50.00"}));
  t.kind = Kind::kVoid;
  EXPECT_EQ(broken_rules(r, t, 1, noon), (std::vector<std::string>{"void of 60.00 above 10.00"}));
  t.kind = Kind::kNoSale;
  t.total_minor.reset();
  EXPECT_EQ(broken_rules(r, t, 0, noon), (std::vector<std::string>{"no sale: drawer opened"}));
  t.kind = Kind::kSale;
  EXPECT_TRUE(broken_rules(r, t, 0, minutes(8 * 60)).empty());  // opening minute is open
  EXPECT_EQ(broken_rules(r, t, 0, minutes(20 * 60)),
            (std::vector<std::string>{"sale outside opening hours"}));
  // Past midnight: open 18:00-02:00.
  r.open_from = minutes(18 * 60);
  r.open_to = minutes(2 * 60);
  EXPECT_TRUE(broken_rules(r, t, 0, minutes(60)).empty());
  EXPECT_EQ(broken_rules(r, t, 0, noon).size(), 1u);
  r.open_from.reset();
  r.open_to.reset();
  t.kind = Kind::kRefund;
  t.total_minor = 100;
  EXPECT_TRUE(broken_rules(r, t, 2, noon).empty());  // "more than 2"
  EXPECT_EQ(broken_rules(r, t, 3, noon),
            (std::vector<std::string>{"3 refunds and voids within 10 minutes"}));
  EXPECT_EQ(format_minor(-5), "-0.05");
}

TEST_P(StoreTest, RulesRaiseAnEventOnEveryCameraOfTheTill) {
  TillConfig till;
  till.id = "t1";
  till.cameras = {"counter", "door"};
  till.rules.burst_count = 1;
  till.rules.burst_window = std::chrono::minutes(5);
  std::vector<std::string> raised;
  ExceptionRules rules(
      *store_,
      [&raised](const std::string& cam, WallTime at, const std::string& why) {
        raised.push_back(cam + "@" + std::to_string(ms_since_epoch(at)) + ": " + why);
      },
      now_);
  const auto tz = TimeZone::fixed(std::chrono::seconds(0));
  Transaction r1 = sale("t1", 1000, 100, "r1");
  r1.kind = Kind::kRefund;
  Transaction r2 = sale("t1", 1200, 100, "r2");
  r2.kind = Kind::kVoid;
  Transaction late = sale("t1", 1000 + 600, 100, "r3");  // 10 minutes after the first
  late.kind = Kind::kRefund;
  const auto s = store_->add({r1, r2, late}, now_);
  EXPECT_TRUE(rules.judge(s[0].row, till, tz, now_).empty());
  EXPECT_EQ(rules.judge(s[1].row, till, tz, now_),
            (std::vector<std::string>{"2 refunds and voids within 5 minutes"}));
  ASSERT_EQ(raised.size(), 2u);
  EXPECT_EQ(raised[0], "counter@1200000: till t1: 2 refunds and voids within 5 minutes (transaction " +
                           std::to_string(s[1].row.id) + ")");
  EXPECT_EQ(raised[1].substr(0, 12), "door@1200000");
  // Ten minutes after the first refund and four after the void, the 5-minute window holds this
  // refund alone.
  EXPECT_TRUE(rules.judge(s[2].row, till, tz, now_).empty());
  EXPECT_EQ(raised.size(), 2u);
}

TEST(ExceptionRules, DrawerLeftOpen) {
  const WallTime open = wall_from_ms(1'000'000);
  const std::chrono::seconds limit(60);
  EXPECT_EQ(drawer_left_open(open, true, open + std::chrono::hours(1), limit), false);
  EXPECT_EQ(drawer_left_open(open, false, open + std::chrono::seconds(60), limit), std::nullopt);
  EXPECT_EQ(drawer_left_open(open, false, open + std::chrono::seconds(61), limit), true);
  EXPECT_TRUE(needs_customer(Kind::kRefund));
  EXPECT_FALSE(needs_customer(Kind::kDrawerClose));
}

TEST_P(StoreTest, ADrawerOpenTooLongIsRaisedOnceBySweepOrByItsClose) {
  TillConfig till;
  till.id = "t1";
  till.cameras = {"counter"};
  till.rules.drawer_open_limit = std::chrono::seconds(60);
  Config config;
  config.tills = {till};
  std::vector<std::string> raised;
  const WallTime start = wall_from_ms(1'000'000);
  ExceptionRules rules(
      *store_,
      [&raised](const std::string& cam, WallTime at, const std::string& why) {
        raised.push_back(cam + "@" + std::to_string(ms_since_epoch(at) / 1000) + ": " + why);
      },
      start);
  const auto tz = TimeZone::fixed(std::chrono::seconds(0));
  auto drawer = [](int64_t at_s, Kind k, const std::string& ref) {
    Transaction t = sale("t1", at_s, 0, ref);
    t.kind = k;
    return t;
  };
  // Opened at 1000 s and closed 30 s later: fine, whenever judged.
  auto a = store_->add(
      {drawer(1000, Kind::kDrawerOpen, "o1"), drawer(1030, Kind::kDrawerClose, "c1")}, start);
  EXPECT_TRUE(rules.judge(a[0].row, till, tz, start).empty());
  EXPECT_TRUE(rules.judge(a[1].row, till, tz, start).empty());
  EXPECT_TRUE(rules.sweep(config, wall_from_ms(1'100'000)).empty());
  // Opened at 1200 s, still open: not before 60 s have passed; then once, by the sweep; the close
  // that comes at last raises nothing more.
  auto b = store_->add({drawer(1200, Kind::kDrawerOpen, "o2")}, start);
  EXPECT_TRUE(rules.judge(b[0].row, till, tz, wall_from_ms(1'200'000)).empty());
  EXPECT_TRUE(rules.sweep(config, wall_from_ms(1'259'000)).empty());
  EXPECT_EQ(rules.sweep(config, wall_from_ms(1'261'000)),
            (std::vector<std::string>{"drawer open longer than 60 s"}));
  EXPECT_TRUE(rules.sweep(config, wall_from_ms(1'300'000)).empty());
  auto b2 = store_->add({drawer(1290, Kind::kDrawerClose, "c2")}, start);
  EXPECT_TRUE(rules.judge(b2[0].row, till, tz, wall_from_ms(1'300'000)).empty());
  ASSERT_EQ(raised.size(), 1u);
  EXPECT_EQ(raised[0], "counter@1200: till t1: drawer open longer than 60 s (transaction " +
                           std::to_string(b[0].row.id) + ")");
  // Posted late, open and close in one batch 90 s apart: raised as it is judged on arrival,
  // once, whatever judges it again (its close, the next sweep).
  auto c = store_->add(
      {drawer(1400, Kind::kDrawerOpen, "o3"), drawer(1490, Kind::kDrawerClose, "c3")}, start);
  EXPECT_EQ(rules.judge(c[0].row, till, tz, wall_from_ms(1'600'000)).size(), 1u);
  EXPECT_TRUE(rules.judge(c[1].row, till, tz, wall_from_ms(1'600'000)).empty());
  EXPECT_TRUE(rules.sweep(config, wall_from_ms(1'600'000)).empty());
  EXPECT_EQ(raised.size(), 2u);
}

TEST_P(StoreTest, ATransactionWithNobodyInTheCustomerZone) {
  TillConfig till;
  till.id = "t1";
  till.cameras = {"counter", "door"};
  till.rules.customer_zone = "customer";
  till.rules.customer_window = std::chrono::seconds(20);
  Config config;
  config.tills = {till};
  std::vector<std::string> raised;
  std::vector<std::string> asked;
  const WallTime start = wall_from_ms(1'000'000);
  // Motion in "customer" on the counter camera from 1000 s to 1010 s.
  ExceptionRules rules(
      *store_,
      [&raised](const std::string& cam, WallTime at, const std::string& why) {
        raised.push_back(cam + "@" + std::to_string(ms_since_epoch(at) / 1000) + ": " + why);
      },
      start,
      [&asked](const std::string& camera, const std::string& zone, WallTime from, WallTime to) {
        asked.push_back(camera + "/" + zone + " " + std::to_string(ms_since_epoch(from) / 1000) + "-" +
                        std::to_string(ms_since_epoch(to) / 1000));
        return camera == "counter" && zone == "customer" && from <= wall_from_ms(1'010'000) &&
               to >= wall_from_ms(1'000'000);
      });
  const auto tz = TimeZone::fixed(std::chrono::seconds(0));
  Transaction drawer = sale("t1", 1100, 0, "d");
  drawer.kind = Kind::kDrawerOpen;  // not a customer's transaction: never judged
  auto s =
      store_->add({sale("t1", 1025, 100, "seen"), sale("t1", 1100, 100, "nobody"), drawer}, start);
  // At arrival the windows have not passed: nothing is judged yet.
  for (const auto& x : s) EXPECT_TRUE(rules.judge(x.row, till, tz, wall_from_ms(1'026'000)).empty());
  EXPECT_TRUE(asked.empty());
  // 1025 s + 20 s + the settling time has passed at 1056 s: seen (motion until 1010 s, within 20 s).
  EXPECT_TRUE(rules.sweep(config, wall_from_ms(1'056'000)).empty());
  EXPECT_EQ(asked, (std::vector<std::string>{"counter/customer 1005-1045"}));
  EXPECT_TRUE(rules.sweep(config, wall_from_ms(1'129'000)).empty());
  EXPECT_EQ(rules.sweep(config, wall_from_ms(1'131'000)),
            (std::vector<std::string>{"sale with no motion in zone customer within 20 s"}));
  EXPECT_EQ(raised, (std::vector<std::string>{
                        "counter@1100: till t1: sale with no motion in zone customer within 20 s (transaction " +
                            std::to_string(s[1].row.id) + ")",
                        "door@1100: till t1: sale with no motion in zone customer within 20 s (transaction " +
                            std::to_string(s[1].row.id) + ")"}));
  // A refund posted long after its moment is judged when it arrives, once.
  Transaction refund = sale("t1", 1500, 100, "late");
  refund.kind = Kind::kRefund;
  auto r = store_->add({refund}, start);
  EXPECT_EQ(rules.judge(r[0].row, till, tz, wall_from_ms(2'000'000)).size(), 1u);
  EXPECT_TRUE(rules.sweep(config, wall_from_ms(2'000'000)).empty());
  EXPECT_EQ(raised.size(), 4u);
}

TEST(TillConfig, CustomerZoneMustBeAZoneOfTheCounterCamera) {
  const std::string cams = R"(
data_dir = "/var/lib/vigil"
[[camera]]
id = "counter"
url = "rtsp://127.0.0.1:9/c"
[camera.analysis]
enabled = true
[[camera.zone]]
name = "customer"
points = [[0, 0], [0.5, 0], [0.5, 1]]
[[camera]]
id = "door"
url = "rtsp://127.0.0.1:9/d"
)";
  auto load = [&cams](const std::string& rules, const std::string& cameras = "[\"counter\"]") {
    return parse(cams + "[[till]]\nid = \"t1\"\ncameras = " + cameras + "\n[till.rules]\n" + rules);
  };
  const Config ok = load("customer_zone = \"customer\"\ncustomer_seconds = 15\ndrawer_open_seconds = 90");
  EXPECT_EQ(ok.tills[0].rules.customer_zone, "customer");
  EXPECT_EQ(ok.tills[0].rules.customer_window, std::chrono::seconds(15));
  EXPECT_EQ(ok.tills[0].rules.drawer_open_limit, std::chrono::seconds(90));
  auto error = [&load](const std::string& rules, const std::string& cameras = "[\"counter\"]") {
    try {
      load(rules, cameras);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("(accepted)");
  };
  EXPECT_NE(error("customer_zone = \"till\"").find("till[0].rules.customer_zone"), std::string::npos);
  // The zone must be the first camera's, where the counter is.
  EXPECT_NE(error("customer_zone = \"customer\"", "[\"door\", \"counter\"]").find("names no zone"),
            std::string::npos);
  EXPECT_NE(error("customer_seconds = 5").find("needs customer_zone"), std::string::npos);
  EXPECT_NE(error("drawer_open_seconds = 0").find("drawer_open_seconds"), std::string::npos);
}

TEST(TransactionJson, ReadsTheSchemaAndNamesTheWrongField) {
  const json good = json::parse(R"({"till": "t1", "time": "2026-12-06T13:00:00.250+01:00",
      "kind": "sale", "method": "qr", "total_minor": 2000, "currency": "EUR",
      "items": [{"text": "Coffee 4111111111111111", "quantity": 2, "unit_minor": 1000}],
      "reference": "R-1", "cashier": "Anna", "text": "table 4"})");
  const Parsed p = parse_transaction(good, "");
  ASSERT_TRUE(p.value) << p.error;
  EXPECT_EQ(*p.value->till_time, *parse_iso8601("2026-12-06T12:00:00.250Z"));
  EXPECT_EQ(p.value->items[0].text, "Coffee ************1111");
  EXPECT_EQ(p.value->items[0].quantity, 2);

  auto error_of = [](const std::string& body, const std::string& where = "") {
    return parse_transaction(json::parse(body), where).error;
  };
  EXPECT_EQ(error_of(R"({"kind": "sale"})"), "till: required (a configured till id)");
  EXPECT_EQ(error_of(R"({"till": "t1", "kind": "sold"})", "transactions[2]."),
            "transactions[2].kind: required: sale, refund, void, no_sale, drawer_open or drawer_close");
  EXPECT_EQ(error_of(R"({"till": "t1", "kind": "sale", "total_minor": 1.5})"),
            "total_minor: must be a whole number");
  EXPECT_EQ(error_of(R"({"till": "t1", "kind": "sale", "method": "iou"})"),
            "method: must be qr, card, cash or other");
  EXPECT_EQ(error_of(R"({"till": "t1", "kind": "sale", "time": "yesterday"})"),
            "time: must be ISO 8601 with a zone, e.g. 2026-12-06T12:00:00Z");
  EXPECT_EQ(error_of(R"({"till": "t1", "kind": "sale", "items": [{"quantity": 1}]})"),
            "items[0].text: required");
  EXPECT_EQ(error_of(R"({"till": "t1", "kind": "sale", "payer_phone": "+4917012345"})"),
            "payer_phone: unknown field");
  EXPECT_EQ(error_of(R"({"till": "t1", "kind": "sale", "currency": "euro"})"),
            "currency: longer than 3 bytes");
  EXPECT_EQ(error_of(R"([1])"), "body: must be a JSON object");
}

TEST(TransactionJson, AmountsAndTimes) {
  EXPECT_EQ(parse_amount_minor("12.50"), 1250);
  EXPECT_EQ(parse_amount_minor("12,5"), 1250);
  EXPECT_EQ(parse_amount_minor("1,234.56"), 123456);
  EXPECT_EQ(parse_amount_minor("1.234,56"), 123456);
  EXPECT_EQ(parse_amount_minor("2000"), 200000);
  EXPECT_EQ(parse_amount_minor("-3.00"), -300);
  EXPECT_FALSE(parse_amount_minor("twelve"));
  EXPECT_FALSE(parse_amount_minor(""));
  EXPECT_EQ(parse_iso8601("1970-01-01T00:00:01Z"), wall_from_ms(1000));
  EXPECT_EQ(parse_iso8601("1970-01-01T01:00:01+0100"), wall_from_ms(1000));
  EXPECT_FALSE(parse_iso8601("1970-01-01T00:00:01"));  // no zone: ambiguous
  EXPECT_FALSE(parse_iso8601("1970-13-01T00:00:01Z"));
}

TEST(Webhook, MapsOnlyTheConfiguredFields) {
  TillConfig till;
  till.id = "t1";
  till.map = {{"amount", "/amount/value"}, {"currency", "/amount/currency"},
              {"reference", "/id"}, {"method", "/type"}, {"time", "/created"}};
  const json body = json::parse(R"({"id": "pay_123", "type": "qr", "created": 1800000000000,
      "amount": {"value": "20.00", "currency": "eur"},
      "payer": {"name": "Erika Mustermann", "phone": "+49 170 1234567", "account": "DE89370400440532013000"}})");
  const Parsed p = map_webhook(body, till);
  ASSERT_TRUE(p.value) << p.error;
  const Transaction& t = *p.value;
  EXPECT_EQ(t.total_minor, 2000);
  EXPECT_EQ(t.currency, "EUR");
  EXPECT_EQ(t.reference, "pay_123");
  EXPECT_EQ(t.method, Method::kQr);
  EXPECT_EQ(t.kind, Kind::kSale);
  EXPECT_EQ(t.till_time, wall_from_ms(1'800'000'000'000));
  EXPECT_EQ(t.source, Source::kWebhook);
  // Nothing of the payer reached the transaction.
  const std::string all = to_json(t, true).dump();
  EXPECT_EQ(all.find("Mustermann"), std::string::npos);
  EXPECT_EQ(all.find("1234567"), std::string::npos);
  EXPECT_EQ(all.find("DE89"), std::string::npos);

  // A float amount is rounded to the cent; a missing value names the field and its pointer.
  EXPECT_EQ(map_webhook(json::parse(R"({"id": "x", "type": "qr", "created": 1,
      "amount": {"value": 12.345, "currency": "EUR"}})"), till).value->total_minor, 1235);
  EXPECT_EQ(map_webhook(json::parse(R"({"id": "x"})"), till).error,
            "map.amount (/amount/value): no value in the body");
}

TEST(Webhook, ChecksTheSignature) {
  const std::string body = R"({"id":"pay_1"})";
  // RFC 4231 test case 2: HMAC-SHA256("Jefe", "what do ya want for nothing?").
  EXPECT_EQ(webhook_signature("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  const std::string sig = webhook_signature("secret", body);
  EXPECT_TRUE(webhook_signature_valid("secret", body, sig));
  EXPECT_TRUE(webhook_signature_valid("secret", body, "sha256=" + sig));
  std::string upper = sig;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_TRUE(webhook_signature_valid("secret", body, upper));
  EXPECT_FALSE(webhook_signature_valid("other", body, sig));
  EXPECT_FALSE(webhook_signature_valid("secret", body + " ", sig));
  EXPECT_FALSE(webhook_signature_valid("secret", body, sig.substr(0, 10)));
  EXPECT_FALSE(webhook_signature_valid("secret", body, ""));
}

TEST(FtsQuery, QuotesEveryToken) {
  EXPECT_EQ(fts_query({}), "");
  EXPECT_EQ(fts_query({{{}}, {}}), "");
  EXPECT_EQ(fts_query({{{"flat"}, {"coff"}}, {}}), "{body} : (\"flat\" AND \"coff\"*)");
  EXPECT_EQ(fts_query({{{"a\"b"}}, {}}), "{body} : (\"a\"\"b\"*)");
  // The last word's completions, when the index has few, instead of a prefix.
  EXPECT_EQ(fts_query({{{"flat"}, {"whi"}}, {"white", "whites"}}),
            "{body} : (\"flat\" AND (\"white\" OR \"whites\"))");
  // A word without a token is no condition; the prefix goes to the last word that has one.
  EXPECT_EQ(fts_query({{{"flat"}, {}}, {}}), "{body} : (\"flat\"*)");
}

TEST(FtsQuery, AtTillsEveryTokenIsQualifiedByTheTill) {
  EXPECT_EQ(fts_query_at_tills({{{"flat"}, {"white"}}, {}}, {"t1"}),
            "{till_words} : (\"7431xflat\" AND \"7431xwhite\"*)");
  EXPECT_EQ(fts_query_at_tills({{{"whi"}}, {"white"}}, {"t1"}),
            "{till_words} : ((\"7431xwhite\"))");
  // A word of several tokens stays a phrase (and a prefix, without completions).
  EXPECT_EQ(fts_query_at_tills({{{"t", "shirt"}}, {"x"}}, {"t1", "t-2"}),
            "{till_words} : (\"7431xt 7431xshirt\"*) OR {till_words} : (\"742d32xt 742d32xshirt\"*)");
  EXPECT_EQ(fts_query_at_tills({{{}}, {}}, {"t1"}), "");
  EXPECT_EQ(till_word_prefix("t_1"), "745f31x");
}

TEST(TextIndex, TokensAreTheIndexTokenizers) {
  test::TempDir dir;
  sql::SqliteConnection db((dir.path() / "t.db").string());
  TextTokenizer tok(db);
  EXPECT_EQ(tok.tokens("Flat-White CAFÉ, 2x"),
            (std::vector<std::string>{"flat", "white", "cafe", "2x"}));
  EXPECT_EQ(till_words(tok, "t1", "Crème brûlée"), "7431xcreme 7431xbrulee");
  EXPECT_TRUE(tok.tokens(" - ").empty());
  // The SQL function gives the same, for migrations and INSERT ... SELECT.
  register_text_index_functions(db);
  auto st = db.prepare("SELECT vigil_till_words('t-1', 'Two  flat whites') AS w");
  ASSERT_TRUE(st.step());
  EXPECT_EQ(st.text("w"), "742d31xtwo 742d31xflat 742d31xwhites");
}

}  // namespace
}  // namespace vigil::transactions
