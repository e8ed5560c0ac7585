// `vigil export` (see export_command.h).
#include "app/export_command.h"

#include <pwd.h>
#include <unistd.h>

#include <iostream>

#include "catalog/accounts.h"
#include "core/clock.h"
#include "core/error.h"
#include "core/time_parse.h"
#include "integrity/key_store.h"
#include "record/evidence_export.h"
#include "serve/export.h"
#include "transactions/evidence.h"

namespace vigil {
namespace {

// The login name of whoever runs the command: the exporter named in the bundle and the audit.
std::string os_user() {
  if (const passwd* pw = ::getpwuid(::geteuid())) return pw->pw_name;
  return "uid " + std::to_string(::geteuid());
}

}  // namespace

int run_export(const Config& config, const ExportCommand& cmd) {
  std::optional<WallTime> times[2];
  const std::string* texts[2] = {&cmd.from, &cmd.to};
  for (int i = 0; i < 2; ++i) {
    times[i] = parse_iso8601(*texts[i]);
    if (!times[i]) {
      std::cerr << "vigil export: " << (i == 0 ? "--from" : "--to") << " \"" << *texts[i]
                << "\" is not an ISO 8601 time with a zone, e.g. 2026-12-04T21:00:00Z or "
                   "2026-12-04T22:00:00+01:00\n";
      return 2;
    }
  }
  const WallTime from = *times[0];
  const WallTime to = *times[1];
  if (to <= from) {
    std::cerr << "vigil export: --to (" << format_iso8601(to) << ") must be after --from ("
              << format_iso8601(from) << ")\n";
    return 2;
  }
  const CameraConfig* cam = config.find_camera(cmd.camera);
  if (!cam) {
    std::cerr << "vigil export: no camera " << cmd.camera << " in the configuration\n";
    return 2;
  }
  const std::string db = config.catalog_location();
  if (config.catalog_is_file() && !std::filesystem::exists(db)) {
    std::cerr << "vigil export: no catalog at " << db << ": nothing recorded yet\n";
    return 3;
  }
  try {
    Catalog catalog(db);
    AccountStore accounts(db);
    SystemClock clock;
    AuditEntry a;
    a.at = clock.wall_now();
    a.user_name = os_user();
    a.address = "cli";
    a.camera_id = cmd.camera;
    a.range_start = from;
    a.range_end = to;
    if (cmd.plain) {
      const auto pieces = export_pieces(catalog, config.data_dir, cmd.camera, from, to);
      if (pieces.empty()) {
        std::cerr << "vigil export: no footage of camera " << cmd.camera << " from "
                  << format_iso8601(from) << " to " << format_iso8601(to) << "\n";
        return 3;
      }
      const RemuxResult r = remux_to_mp4(pieces, cmd.out);
      a.action = "export";
      a.detail = "export to " + cmd.out + " of " + std::to_string(r.files) + " segment files";
      accounts.append_audit(a);
      std::cout << "wrote " << cmd.out << ": camera " << cmd.camera << ", "
                << static_cast<double>(r.duration.count()) / 90000.0 << " s from "
                << std::to_string(r.files) << " segment file(s)\n";
      if (!r.note.empty()) std::cout << "note: " << r.note << "\n";
      return 0;
    }
    EvidencePlan plan =
        plan_evidence_bundle(catalog, config.data_dir, cmd.camera, cam->name, from, to);
    // The transactions of the tills watching the camera, audited per till as the API does.
    transactions::TransactionStore till_store(db);
    auto read = transactions::evidence_transactions(till_store, config, cmd.camera, from, to);
    if (read) {
      for (const auto& t : read->tills) {
        AuditEntry r = a;
        r.action = "transactions_evidence";
        r.camera_id = t.cameras.front();
        r.detail = "till " + t.till_id + ": " + std::to_string(t.transactions.size()) +
                   " transaction(s) in the evidence bundle of camera " + cmd.camera;
        accounts.append_audit(r);
      }
    }
    a.action = "evidence_export";
    a.detail = evidence_audit_detail(plan, "to " + cmd.out) + (read ? "; " + read->note : "");
    a.id = accounts.append_audit(a);
    complete_evidence_input(plan, a, accounts.audit_link_of(a.id),
                            load_or_create_signing_key(config.data_dir));
    if (read) {
      plan.input.attachments.push_back(
          {transactions::kEvidenceTransactionsFile, "transactions", std::move(read->json)});
    }
    const BundleInput& in = plan.input;
    write_evidence_bundle(in, cmd.out);
    std::cout << "wrote " << cmd.out << ": evidence bundle of camera " << cmd.camera << ", "
              << plan.fragments << " fragment(s) in " << in.parts.size() << " part(s), "
              << format_iso8601(plan.footage_start) << " to " << format_iso8601(plan.footage_end)
              << "\n";
    if (!plan.note.empty()) std::cout << "note: " << plan.note << "\n";
    std::cout << "check it with: vigil verify " << cmd.out
              << " --key <the fingerprint vigil key show prints>\n";
    return 0;
  } catch (const Error& e) {
    std::cerr << "vigil export: " << e.what() << "\n";
    return 3;
  }
}

}  // namespace vigil
