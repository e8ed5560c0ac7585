// `vigil export`: an evidence bundle (or a plain MP4) of one camera's footage, made offline from
// the catalog and files of the data directory, as the API's export would make it (see
// record/evidence_export.h and serve/export.h). Works beside a running vigil serve (it only
// reads footage; its audit row goes through the audit chain like any other).
#pragma once

#include <string>

#include "core/config.h"

namespace vigil {

struct ExportCommand {
  std::string camera;
  std::string from;  // ISO 8601 with a zone, as typed
  std::string to;
  std::string out;
  bool plain = false;  // a remuxed MP4 instead of an evidence bundle
};

// Exit 0 when written; 2 for a bad argument (a time that is not ISO 8601 with a zone, an
// unknown camera, to before from); 3 when there is nothing to export or it failed.
int run_export(const Config& config, const ExportCommand& cmd);

}  // namespace vigil
