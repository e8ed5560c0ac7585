#include "archive/s3_answer.h"

#include <libxml/tree.h>

#include "core/xml.h"

namespace vigil::archive {

namespace {
// The store's message is shown to an operator; a hostile store's essay is not.
constexpr size_t kMaxMessage = 512;

std::string describe(const S3ErrorBody& e) {
  return e.message.empty() ? e.code : e.code + ": " + e.message;
}

// An error body's code and message from a parsed document's root, when it is <Error>.
std::optional<S3ErrorBody> error_of(xmlNode* root) {
  if (!named(root, "Error")) return std::nullopt;
  S3ErrorBody e;
  e.code = text(child(root, "Code"));
  e.message = text(child(root, "Message")).substr(0, kMaxMessage);
  if (e.code.empty()) e.code = "Error";
  return e;
}
// The root element of an answer that is meant to be `expected`; null with `error` set when the
// answer is not XML, is an <Error> (its code and message) or has another root.
xmlNode* answer_root(const XmlDoc* doc, const char* expected, std::string& error) {
  if (!doc) return nullptr;
  xmlNode* root = xmlDocGetRootElement(doc->get());
  if (auto e = error_of(root)) {
    error = describe(*e);
    return nullptr;
  }
  if (!named(root, expected)) {
    error = "the store answered <" +
            std::string(reinterpret_cast<const char*>(root->name)).substr(0, 64) +
            "> where <" + expected + "> was expected";
    return nullptr;
  }
  return root;
}
}  // namespace

std::optional<S3ErrorBody> parse_s3_error(std::string_view bytes) {
  std::string error;
  auto doc = parse_xml(bytes, error);
  if (!doc) return std::nullopt;
  return error_of(xmlDocGetRootElement(doc->get()));
}

std::optional<std::string> parse_upload_id(std::string_view bytes, std::string& error) {
  const auto doc = parse_xml(bytes, error);
  xmlNode* root = answer_root(doc ? &*doc : nullptr, "InitiateMultipartUploadResult", error);
  if (!root) return std::nullopt;
  const std::string id = text(child(root, "UploadId"));
  if (id.empty() || id.size() > 1024) {
    error = "the store answered no usable UploadId";
    return std::nullopt;
  }
  for (const char c : id) {
    if (c < 0x21 || c > 0x7e) {
      error = "the store's UploadId has bytes outside printable ASCII";
      return std::nullopt;
    }
  }
  return id;
}

bool parse_complete_multipart(std::string_view bytes, std::string& error) {
  const auto doc = parse_xml(bytes, error);
  return answer_root(doc ? &*doc : nullptr, "CompleteMultipartUploadResult", error) != nullptr;
}

std::string complete_multipart_body(const std::vector<CompletedPart>& parts) {
  xml_init();
  XmlDoc doc(xmlNewDoc(BAD_CAST "1.0"));
  xmlNode* root = xmlNewNode(nullptr, BAD_CAST "CompleteMultipartUpload");
  xmlDocSetRootElement(doc.get(), root);
  xmlNs* ns = xmlNewNs(root, BAD_CAST "http://s3.amazonaws.com/doc/2006-03-01/", nullptr);
  xmlSetNs(root, ns);
  for (const CompletedPart& p : parts) {
    xmlNode* part = add(root, ns, "Part");
    add(part, ns, "PartNumber", std::to_string(p.number));
    add(part, ns, "ETag", p.etag);
  }
  return serialize(doc.get());
}

}  // namespace vigil::archive
