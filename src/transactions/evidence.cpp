// transactions.json of an evidence bundle (see evidence.h and docs/transactions.md).
#include "transactions/evidence.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "transactions/transaction_json.h"

namespace vigil::transactions {

std::vector<const TillConfig*> tills_watching(const Config& config, const std::string& camera) {
  std::vector<const TillConfig*> out;
  for (const TillConfig& t : config.tills) {
    if (std::find(t.cameras.begin(), t.cameras.end(), camera) != t.cameras.end()) {
      out.push_back(&t);
    }
  }
  return out;
}

std::optional<EvidenceTransactions> evidence_transactions(TransactionStore& store,
                                                          const Config& config,
                                                          const std::string& camera,
                                                          WallTime from, WallTime to) {
  const std::vector<const TillConfig*> tills = tills_watching(config, camera);
  if (tills.empty()) return std::nullopt;
  EvidenceTransactions out;
  std::string counts;
  for (const TillConfig* t : tills) {
    out.tills.push_back({t->id, t->name, t->cameras, store.in_range(t->id, from, to)});
    counts += (counts.empty() ? "" : ", ") + std::to_string(out.tills.back().transactions.size()) +
              " transaction(s) of till " + t->id;
  }
  out.json = evidence_transactions_json(camera, from, to, out.tills);
  out.note = "with " + counts + " (" + kEvidenceTransactionsFile + ")";
  return out;
}

std::string evidence_transactions_json(const std::string& camera, WallTime from, WallTime to,
                                       const std::vector<TillTransactions>& tills) {
  nlohmann::json j;
  j["format"] = kEvidenceTransactionsFormat;
  j["camera"] = camera;
  j["range"] = {{"from", format_iso8601(from)},
                {"from_ms", ms_since_epoch(from)},
                {"to", format_iso8601(to)},
                {"to_ms", ms_since_epoch(to)}};
  j["tills"] = nlohmann::json::array();
  for (const TillTransactions& t : tills) {
    nlohmann::json list = nlohmann::json::array();
    for (const Transaction& tx : t.transactions) list.push_back(to_json(tx, true));
    j["tills"].push_back(
        {{"id", t.till_id}, {"name", t.till_name}, {"cameras", t.cameras}, {"transactions", list}});
  }
  return j.dump(2) + "\n";
}

}  // namespace vigil::transactions
