// Card number masking (card_mask.h): digit runs found in one pass, the Luhn check on each.
#include "transactions/card_mask.h"

#include <algorithm>
#include <vector>

namespace vigil::transactions {
namespace {

constexpr size_t kMinPan = 13;
constexpr size_t kMaxPan = 19;
constexpr size_t kKeptDigits = 4;

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// One pass over `out`; true if it masked a digit.
bool mask_once(std::string& out) {
  bool changed = false;
  size_t i = 0;
  while (i < out.size()) {
    if (!is_digit(out[i])) {
      ++i;
      continue;
    }
    // One run: digits joined by at most one separator between two digits, in groups.
    std::vector<size_t> at;  // positions of the run's digits in `out`
    std::vector<bool> group_start, group_end;
    std::string digits;
    size_t j = i;
    bool after_separator = true;
    while (j < out.size()) {
      if (is_digit(out[j])) {
        at.push_back(j);
        digits.push_back(out[j]);
        group_start.push_back(after_separator);
        group_end.push_back(j + 1 >= out.size() || !is_digit(out[j + 1]));
        after_separator = false;
        ++j;
      } else if ((out[j] == ' ' || out[j] == '-') && j + 1 < out.size() && is_digit(out[j + 1])) {
        after_separator = true;
        ++j;
      } else {
        break;
      }
    }
    i = j;
    if (digits.size() < kMinPan) continue;
    std::vector<bool> mask(digits.size(), false);
    const auto mask_window = [&](size_t start, size_t len) {
      for (size_t k = start; k + kKeptDigits < start + len; ++k) mask[k] = true;
    };
    if (digits.size() <= kMaxPan && luhn_valid(digits)) {
      mask_window(0, digits.size());
    } else {
      // A card number among other figures ("2 1 4111 1111 1111 1111"): windows that start and
      // end on group boundaries, or anywhere when the run has no groups.
      const bool grouped = std::count(group_start.begin(), group_start.end(), true) > 1;
      for (size_t start = 0; start + kMinPan <= digits.size(); ++start) {
        if (grouped && !group_start[start]) continue;
        for (size_t len = kMinPan; len <= kMaxPan && start + len <= digits.size(); ++len) {
          if (grouped && !group_end[start + len - 1]) continue;
          if (luhn_valid(std::string_view(digits).substr(start, len))) mask_window(start, len);
        }
      }
    }
    for (size_t k = 0; k < digits.size(); ++k)
      if (mask[k] && out[at[k]] != '*') out[at[k]] = '*', changed = true;
  }
  return changed;
}

}  // namespace

bool luhn_valid(std::string_view digits) {
  int sum = 0;
  bool twice = false;
  for (size_t i = digits.size(); i-- > 0;) {
    int d = digits[i] - '0';
    if (twice) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
    twice = !twice;
  }
  return !digits.empty() && sum % 10 == 0;
}

std::string mask_card_numbers(std::string_view text) {
  std::string out(text);
  // Until nothing changes: the digits a window leaves can form a new run that is a card number
  // on its own ("…**1234 5678 …"). Each pass masks at least one digit, so this ends.
  while (mask_once(out)) {
  }
  return out;
}

}  // namespace vigil::transactions
