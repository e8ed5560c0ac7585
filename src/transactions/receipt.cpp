// Names of transaction kinds and payment methods as the API and the catalog spell them.
#include "transactions/receipt.h"

#include <array>
#include <utility>

namespace vigil::transactions {
namespace {

constexpr std::array<std::pair<Kind, const char*>, 6> kKinds{{
    {Kind::kSale, "sale"},
    {Kind::kRefund, "refund"},
    {Kind::kVoid, "void"},
    {Kind::kNoSale, "no_sale"},
    {Kind::kDrawerOpen, "drawer_open"},
    {Kind::kDrawerClose, "drawer_close"},
}};
constexpr std::array<std::pair<Method, const char*>, 4> kMethods{{
    {Method::kQr, "qr"},
    {Method::kCard, "card"},
    {Method::kCash, "cash"},
    {Method::kOther, "other"},
}};

template <typename E, size_t N>
const char* name_of(const std::array<std::pair<E, const char*>, N>& table, E value) {
  for (const auto& [e, name] : table)
    if (e == value) return name;
  return "?";
}

template <typename E, size_t N>
std::optional<E> parse_of(const std::array<std::pair<E, const char*>, N>& table,
                          std::string_view name) {
  for (const auto& [e, n] : table)
    if (name == n) return e;
  return std::nullopt;
}

}  // namespace

const char* kind_name(Kind k) { return name_of(kKinds, k); }
std::optional<Kind> parse_kind(std::string_view name) { return parse_of(kKinds, name); }
const char* method_name(Method m) { return name_of(kMethods, m); }
std::optional<Method> parse_method(std::string_view name) { return parse_of(kMethods, name); }

}  // namespace vigil::transactions
