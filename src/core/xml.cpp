#include "core/xml.h"

#include <libxml/parser.h>

#include <mutex>

namespace vigil {

void xml_init() {
  static std::once_flag once;
  std::call_once(once, [] { xmlInitParser(); });
}

std::optional<XmlDoc> parse_xml(std::string_view bytes, std::string& error) {
  xml_init();
  if (bytes.size() > kMaxAnswerBytes) {
    error = "answer of " + std::to_string(bytes.size()) + " bytes is over the limit of " +
            std::to_string(kMaxAnswerBytes);
    return std::nullopt;
  }
  // NONET: never fetch anything an answer names; no NOENT/DTDLOAD: entities are not expanded
  // from anywhere; NOERROR/NOWARNING: libxml2 would print to stderr otherwise.
  const int options = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_NOCDATA;
  xmlDoc* raw = xmlReadMemory(bytes.data(), static_cast<int>(bytes.size()), "answer.xml", nullptr,
                              options);
  if (!raw) {
    const xmlError* e = xmlGetLastError();
    error = "not well-formed XML";
    if (e && e->message) {
      std::string m = e->message;
      while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
      error += " (" + m.substr(0, 200) + ", line " + std::to_string(e->line) + ")";
    }
    return std::nullopt;
  }
  XmlDoc doc(raw);
  if (doc->intSubset || doc->extSubset) {
    error = "an answer may not carry a document type declaration";
    return std::nullopt;
  }
  if (!xmlDocGetRootElement(doc.get())) {
    error = "no root element";
    return std::nullopt;
  }
  return doc;
}

bool named(const xmlNode* n, std::string_view name) {
  return n && n->type == XML_ELEMENT_NODE && n->name &&
         std::string_view(reinterpret_cast<const char*>(n->name)) == name;
}

xmlNode* child(xmlNode* parent, std::string_view name) {
  if (!parent) return nullptr;
  for (xmlNode* n = parent->children; n; n = n->next) {
    if (named(n, name)) return n;
  }
  return nullptr;
}

std::vector<xmlNode*> children(xmlNode* parent, std::string_view name) {
  std::vector<xmlNode*> out;
  if (!parent) return out;
  for (xmlNode* n = parent->children; n; n = n->next) {
    if (named(n, name)) out.push_back(n);
  }
  return out;
}

xmlNode* find(xmlNode* node, std::string_view name) {
  // Iterative: the depth is bounded by the parser, but a recursion here needs no bound at all.
  for (xmlNode* n = node; n;) {
    if (named(n, name)) return n;
    if (n->children && n->type == XML_ELEMENT_NODE) {
      n = n->children;
      continue;
    }
    while (n && n != node && !n->next) n = n->parent;
    if (!n || n == node) return nullptr;
    n = n->next;
  }
  return nullptr;
}

xmlNode* path(xmlNode* node, std::initializer_list<std::string_view> names) {
  for (auto name : names) node = child(node, name);
  return node;
}

namespace {
std::string trimmed(const xmlChar* s) {
  if (!s) return {};
  std::string_view v(reinterpret_cast<const char*>(s));
  const auto b = v.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return {};
  const auto e = v.find_last_not_of(" \t\r\n");
  v = v.substr(b, e - b + 1);
  return std::string(v.substr(0, kMaxText));
}
}  // namespace

std::string text(xmlNode* node) {
  if (!node) return {};
  xmlChar* s = xmlNodeGetContent(node);
  std::string out = trimmed(s);
  xmlFree(s);
  return out;
}

std::string attribute(xmlNode* node, const char* name) {
  if (!node) return {};
  xmlChar* s = xmlGetNoNsProp(node, reinterpret_cast<const xmlChar*>(name));
  std::string out = trimmed(s);
  xmlFree(s);
  return out;
}

std::vector<std::string> split_list(std::string_view s) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < s.size()) {
    const auto b = s.find_first_not_of(" \t\r\n", i);
    if (b == std::string_view::npos) break;
    auto e = s.find_first_of(" \t\r\n", b);
    if (e == std::string_view::npos) e = s.size();
    out.emplace_back(s.substr(b, e - b));
    i = e;
  }
  return out;
}

xmlNode* add(xmlNode* parent, xmlNs* ns, const char* name, const std::string& text) {
  // xmlNewTextChild escapes the text (unlike xmlNewChild, which would parse entity references).
  return xmlNewTextChild(parent, ns, reinterpret_cast<const xmlChar*>(name),
                         text.empty() ? nullptr : reinterpret_cast<const xmlChar*>(text.c_str()));
}

std::string serialize(xmlDoc* doc) {
  xmlChar* buf = nullptr;
  int size = 0;
  xmlDocDumpMemoryEnc(doc, &buf, &size, "UTF-8");
  std::string out(reinterpret_cast<const char*>(buf), static_cast<size_t>(size));
  xmlFree(buf);
  return out;
}

}  // namespace vigil
