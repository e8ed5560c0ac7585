// Parsing wall time typed by people (`vigil export --from/--to`). Kept apart from core/time.h,
// which nearly every file includes, because only command lines need it.
#pragma once

#include <optional>
#include <string_view>

#include "core/time.h"

namespace vigil {

// Parses ISO 8601 with a zone: "2026-12-04T21:00:00Z", "2026-12-04T22:00:00+01:00",
// "2026-12-04T21:00:00.250Z" (a space may stand for the T; the offset may be +0100). nullopt
// for anything else, a time without a zone included: a local time would be ambiguous evidence.
std::optional<WallTime> parse_iso8601(std::string_view text);

}  // namespace vigil
