// Masking of payment card numbers in any text a till, a printer or a payment provider sends,
// before it is stored or logged (docs/transactions.md, "Privacy"). Every input path of the
// transactions stage (HTTP, webhook, printer tap) passes its text through mask_card_numbers().
// Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace vigil::transactions {

// Whether `digits` (ASCII digits only) passes the Luhn check (ISO/IEC 7812-1 Annex B).
bool luhn_valid(std::string_view digits);

// `text` with every card number masked to its last four digits: any run of 13-19 digits that
// passes the Luhn check, also written in groups separated by single spaces or dashes
// ("4111 1111 1111 1111", "4111-1111-1111-1111"). Masked digits become '*', separators stay, so
// "4111 1111 1111 1111" reads "**** **** **** 1111". A run of 13-19 digits is judged whole; a
// longer run (a card glued to other digits) in which any 13-19 digit stretch passes is masked
// whole but its last four: masking a reference number by mistake costs little, missing a card
// number does not. Bytes other than ASCII digits are left alone (UTF-8 stays valid).
std::string mask_card_numbers(std::string_view text);

}  // namespace vigil::transactions
