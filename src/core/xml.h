// A thin owner of libxml2 documents for answers from the network (ONVIF's SOAP, S3's XML):
// building requests through the tree API (never text pasted together, so a user name or a
// token with '<' in it stays data) and reading answers as untrusted input: a size limit, no
// network access, no DTD (SOAP 1.2 part 1 §5 forbids one, S3 never sends one, and refusing it
// rules out entity expansion), libxml2's depth limit, and lookups by local name, since cameras
// choose their own namespace prefixes.
// Documents are not shared between threads; libxml2 is initialised once (xml_init) before use.
#pragma once

#include <libxml/tree.h>

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vigil {

// Bigger answers are refused unread: a camera's GetProfiles is a few tens of kilobytes, an S3
// error or multipart answer a few hundred bytes.
inline constexpr std::size_t kMaxAnswerBytes = 1024 * 1024;
// Text taken from one element is cut at this length (names, URLs, scopes).
inline constexpr std::size_t kMaxText = 4096;

struct XmlDocFree {
  void operator()(xmlDoc* d) const { xmlFreeDoc(d); }
};
using XmlDoc = std::unique_ptr<xmlDoc, XmlDocFree>;

// Idempotent and thread-safe; every function here calls it.
void xml_init();

// Parses an answer; nullopt with `error` set when it is too big, not well-formed or has a DTD.
std::optional<XmlDoc> parse_xml(std::string_view bytes, std::string& error);

// Whether `n` is an element whose local name is `name` (false for null).
bool named(const xmlNode* n, std::string_view name);
// The first element child of `parent` whose local name is `name` (any namespace).
xmlNode* child(xmlNode* parent, std::string_view name);
// Every element child of `parent` named `name`.
std::vector<xmlNode*> children(xmlNode* parent, std::string_view name);
// Depth-first, the first element at or below `node` named `name`.
xmlNode* find(xmlNode* node, std::string_view name);
// Follows a path of local names from `node`: path({"Body", "X"}) is child(child(node, Body), X).
xmlNode* path(xmlNode* node, std::initializer_list<std::string_view> names);
// The text of an element with surrounding white space removed, at most kMaxText bytes; empty
// for a null node.
std::string text(xmlNode* node);
// An attribute's value (no namespace), bounded like text().
std::string attribute(xmlNode* node, const char* name);
// Splits on XML white space (XAddrs and Scopes are lists).
std::vector<std::string> split_list(std::string_view s);

// Building: a new element in namespace `ns` with optional text.
xmlNode* add(xmlNode* parent, xmlNs* ns, const char* name, const std::string& text = {});
// The document as UTF-8 bytes with an XML declaration.
std::string serialize(xmlDoc* doc);

}  // namespace vigil
