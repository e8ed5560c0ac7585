// Card numbers (PANs) masked to their last four digits in text a till printed or sent, before it
// is stored or logged (issue 19, "Privacy"): vigil keeps what settles the merchant's disputes, not
// who paid. A card number is a run of 13 to 19 digits, written together or in groups separated by
// one space or one dash ("4111 1111 1111 1111", "4111-1111-1111-1111"), that passes the Luhn
// check (ISO/IEC 7812-1, annex B).
#pragma once

#include <string>
#include <string_view>

namespace vigil::transactions {

// `text` with every digit of each card number but its last four replaced by '*', separators kept
// ("VISA 4111 1111 1111 1111" -> "VISA **** **** **** 1111"). When the whole run is not a card
// number (a card number next to other figures, "Qty 2 4111 1111 1111 1111"), every Luhn-valid
// 13-19 digit window of it that starts and ends on its groups (anywhere in an ungrouped run) is
// masked: masking a number too many is better than leaving a card number in the catalog.
std::string mask_card_numbers(std::string_view text);

// True if `digits` (only '0'-'9') passes the Luhn check.
bool luhn_valid(std::string_view digits);

}  // namespace vigil::transactions
