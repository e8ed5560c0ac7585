// Card-number masking (mask.h).
#include "transactions/mask.h"

#include <vector>

namespace vigil::transactions {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

constexpr size_t kMinCard = 13;  // ISO/IEC 7812: primary account numbers are 13-19 digits here
constexpr size_t kMaxCard = 19;
constexpr size_t kKeep = 4;

}  // namespace

bool luhn_valid(std::string_view digits) {
  if (digits.empty()) return false;
  int sum = 0;
  bool twice = false;
  for (size_t i = digits.size(); i-- > 0;) {
    if (!is_digit(digits[i])) return false;
    int d = digits[i] - '0';
    if (twice) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    twice = !twice;
  }
  return sum % 10 == 0;
}

std::string mask_card_numbers(std::string_view text) {
  std::string out(text);
  size_t i = 0;
  while (i < out.size()) {
    if (!is_digit(out[i])) {
      ++i;
      continue;
    }
    // One run: digits, joined by single spaces or dashes between two digits.
    std::vector<size_t> pos;  // where each digit of the run is in `out`
    size_t j = i;
    while (j < out.size()) {
      if (is_digit(out[j])) {
        pos.push_back(j++);
      } else if ((out[j] == ' ' || out[j] == '-') && j + 1 < out.size() && is_digit(out[j + 1])) {
        ++j;
      } else {
        break;
      }
    }
    std::string digits;
    for (size_t p : pos) digits += out[p];
    if (digits.size() <= kMaxCard) {
      // A run of card length is masked when it passes as a whole: a 16-digit order number
      // that fails Luhn stays readable, whatever stretches inside it would pass.
      if (digits.size() >= kMinCard && luhn_valid(digits)) {
        for (size_t k = 0; k + kKeep < pos.size(); ++k) out[pos[k]] = '*';
      }
      i = j;
      continue;
    }
    // Longer runs (a card glued to other digits, two cards side by side): if any 13-19 digit
    // stretch passes, the whole run but its last four digits is masked. Masking stretch by
    // stretch would leave digits of a card visible where two candidate stretches overlap.
    bool card = false;
    for (size_t start = 0; !card && start + kMinCard <= digits.size(); ++start) {
      for (size_t len = kMinCard; len <= kMaxCard && start + len <= digits.size(); ++len) {
        if (luhn_valid(std::string_view(digits).substr(start, len))) {
          card = true;
          break;
        }
      }
    }
    if (card) {
      for (size_t k = 0; k + kKeep < pos.size(); ++k) out[pos[k]] = '*';
    }
    i = j;
  }
  return out;
}

}  // namespace vigil::transactions
