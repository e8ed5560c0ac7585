// The transactions an evidence bundle carries beside its footage: those of every till that lists
// the bundle's camera (`[[till]] cameras`), whose moment lies in the bundle's range, with their
// line items and receipt lines. They go into the bundle as one file, transactions.json
// (kEvidenceTransactionsFile), in the stable form docs/transactions.md specifies ("In evidence
// bundles"); the bundle's manifest names its SHA-256, so `vigil verify` checks it offline like
// the clips. Texts are as stored: card numbers were masked before storage, and no payer data
// exists to add.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/time.h"
#include "transactions/store.h"

namespace vigil::transactions {

inline constexpr const char* kEvidenceTransactionsFile = "transactions.json";
inline constexpr const char* kEvidenceTransactionsFormat = "vigil-transactions-1";

// One till's transactions in a bundle.
struct TillTransactions {
  std::string till_id;
  std::string till_name;
  std::vector<std::string> cameras;
  std::vector<Transaction> transactions;  // oldest first, with items and receipt lines
};

// The tills of `config` that list `camera`, in configuration order.
std::vector<const TillConfig*> tills_watching(const Config& config, const std::string& camera);

// What a bundle of `camera` over [from, to) carries: every till watching the camera with its
// transactions whose moment lies in [from, to), and transactions.json made of them.
struct EvidenceTransactions {
  std::vector<TillTransactions> tills;
  std::string json;  // the file's bytes
  std::string note;  // for the bundle's audit row: "with 3 transaction(s) of till t1 (...)"
};
// nullopt when no till lists the camera: the bundle then has no transactions.json at all.
std::optional<EvidenceTransactions> evidence_transactions(TransactionStore& store,
                                                          const Config& config,
                                                          const std::string& camera,
                                                          WallTime from, WallTime to);

// transactions.json: format, camera, range, and per till its transactions (the API's form with
// the receipt), pretty-printed with sorted keys so the same rows give the same bytes.
std::string evidence_transactions_json(const std::string& camera, WallTime from, WallTime to,
                                       const std::vector<TillTransactions>& tills);

}  // namespace vigil::transactions
