// ONVIF messages (src/onvif/messages.h): requests built through libxml2 stay well-formed with any
// user input, the UsernameToken digest matches the ONVIF guide's example, and the answers of
// Hikvision- and Dahua-shaped cameras (tests/data/onvif) parse; hostile answers are refused.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "onvif/client.h"
#include "onvif/discovery.h"
#include "onvif/messages.h"
#include "core/xml.h"

namespace vigil::onvif {
namespace {

std::string answer(const std::string& name) {
  std::ifstream f(std::string(VIGIL_ONVIF_DATA_DIR) + "/" + name, std::ios::binary);
  EXPECT_TRUE(f) << name;
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

const std::string kProbeId = "uuid:0a6dc791-2be6-4991-9af1-454778a1917a";

TEST(OnvifMessages, PasswordDigestMatchesTheOnvifGuideExample) {
  // ONVIF Application Programmer's Guide §6.1.1.3: nonce LKqI6G/AikKCQrN0zqZFlg== (base64),
  // created 2010-09-16T07:50:45Z, password userpassword.
  const std::string nonce("\x2c\xaa\x88\xe8\x6f\xc0\x8a\x42\x82\x42\xb3\x74\xce\xa6\x45\x96", 16);
  EXPECT_EQ(password_digest(nonce, "2010-09-16T07:50:45Z", "userpassword"),
            "tuOSpGlFlIXsozq4HFNeeGeFLEI=");
}

TEST(OnvifMessages, RequestsCarryUserInputAsDataNotMarkup) {
  const std::string user = "ad</wsse:Username><x>min&amp;";
  RequestArgs args;
  args.profile = "Profile\"<1>";
  const std::string req = build_request(Operation::kGetStreamUri, args, {user, "secret"},
                                        {"0123456789abcdef", "2026-12-06T12:00:00Z"});
  std::string error;
  auto doc = parse_xml(req, error);
  ASSERT_TRUE(doc) << error;
  xmlNode* root = xmlDocGetRootElement(doc->get());
  EXPECT_EQ(text(find(root, "Username")), user);
  EXPECT_EQ(text(find(root, "ProfileToken")), "Profile\"<1>");
  EXPECT_EQ(text(find(root, "Created")), "2026-12-06T12:00:00Z");
  EXPECT_EQ(text(find(root, "Password")),
            password_digest("0123456789abcdef", "2026-12-06T12:00:00Z", "secret"));
  EXPECT_NE(attribute(find(root, "Password"), "Type").find("#PasswordDigest"), std::string::npos);
  EXPECT_EQ(text(find(root, "Protocol")), "RTSP");
  // Without credentials there is no Security header at all.
  const std::string anon = build_request(Operation::kGetSystemDateAndTime, {}, {}, {});
  EXPECT_EQ(anon.find("Security"), std::string::npos);
  EXPECT_NE(anon.find("GetSystemDateAndTime"), std::string::npos);
}

TEST(OnvifMessages, ProbeIsAWellFormedWsDiscoveryProbe) {
  std::string error;
  auto doc = parse_xml(build_probe(kProbeId), error);
  ASSERT_TRUE(doc) << error;
  xmlNode* root = xmlDocGetRootElement(doc->get());
  EXPECT_EQ(text(find(root, "MessageID")), kProbeId);
  EXPECT_EQ(text(find(root, "Types")), "dn:NetworkVideoTransmitter");
}

TEST(OnvifMessages, ParsesHikvisionAndDahuaProbeMatches) {
  std::string error;
  auto hik = parse_probe_matches(answer("hikvision_probe_matches.xml"), kProbeId, error);
  ASSERT_TRUE(hik) << error;
  ASSERT_EQ(hik->size(), 1u);
  const ProbeMatch& h = hik->front();
  EXPECT_EQ(h.endpoint, "urn:uuid:8e0f1c2a-1dd2-11b2-a105-C056E3A1B2C3");
  ASSERT_EQ(h.xaddrs.size(), 2u);  // IPv4 and IPv6 link-local
  EXPECT_EQ(h.xaddrs[0], "http://192.168.1.64/onvif/device_service");
  EXPECT_EQ(h.name, "HIKVISION DS-2CD2143G0-I");
  EXPECT_EQ(h.hardware, "DS-2CD2143G0-I");
  EXPECT_EQ(h.location, "city/hangzhou");

  auto dahua = parse_probe_matches(answer("dahua_probe_matches.xml"), kProbeId, error);
  ASSERT_TRUE(dahua) << error;
  EXPECT_EQ(dahua->front().name, "Dahua");
  EXPECT_EQ(dahua->front().hardware, "IPC-HDW2431T-AS-S2");

  // An answer to someone else's probe is not reported as ours.
  EXPECT_FALSE(parse_probe_matches(answer("dahua_probe_matches.xml"), "uuid:other", error));
  EXPECT_EQ(error, "an answer to another probe");
}

TEST(OnvifMessages, ParsesDeviceAnswers) {
  std::string error;
  Fault fault;
  auto info = parse_device_information(answer("hikvision_get_device_information.xml"), error, &fault);
  ASSERT_TRUE(info) << error;
  EXPECT_EQ(info->manufacturer, "HIKVISION");
  EXPECT_EQ(info->model, "DS-2CD2143G0-I");
  EXPECT_EQ(info->firmware, "V5.5.82 build 190909");

  auto t = parse_system_date_and_time(answer("dahua_get_system_date_and_time.xml"), error, &fault);
  ASSERT_TRUE(t) << error;
  EXPECT_EQ(xml_datetime(*t), "2026-12-06T03:04:05Z");  // UTC, not the local 11:04

  auto caps = parse_capabilities(answer("hikvision_get_capabilities.xml"), error, &fault);
  ASSERT_TRUE(caps) << error;
  EXPECT_EQ(caps->media, "http://192.168.1.64/onvif/Media");
  EXPECT_EQ(caps->ptz, "");  // a fixed camera

  auto services = parse_services(answer("dahua_get_services.xml"), error, &fault);
  ASSERT_TRUE(services) << error;
  EXPECT_EQ(services->media, "http://192.168.1.108/onvif/media_service");  // ver10, not media2
  EXPECT_EQ(services->ptz, "http://192.168.1.108/onvif/ptz_service");
}

TEST(OnvifMessages, ParsesProfilesAndStreamUri) {
  std::string error;
  Fault fault;
  auto profiles = parse_profiles(answer("dahua_get_profiles.xml"), error, &fault);
  ASSERT_TRUE(profiles) << error;
  ASSERT_EQ(profiles->size(), 2u);
  EXPECT_EQ((*profiles)[0].token, "MediaProfile00000");
  EXPECT_EQ((*profiles)[0].encoding, "H265");
  EXPECT_EQ((*profiles)[0].width, 2688);
  EXPECT_EQ((*profiles)[0].height, 1520);
  EXPECT_EQ((*profiles)[0].fps, 20.0);
  EXPECT_EQ((*profiles)[0].bitrate_kbps, 4096);
  EXPECT_EQ((*profiles)[1].encoding, "H264");
  EXPECT_EQ((*profiles)[1].width, 704);

  auto uri = parse_stream_uri(answer("dahua_get_stream_uri.xml"), error, &fault);
  ASSERT_TRUE(uri) << error;
  EXPECT_EQ(*uri,
            "rtsp://192.168.1.108:554/cam/realmonitor?channel=1&subtype=0&unicast=true&proto=Onvif");
}

TEST(OnvifMessages, AuthenticationFaultsReadAsUnauthorized) {
  for (const char* name : {"hikvision_fault_not_authorized.xml", "dahua_fault_failed_authentication.xml"}) {
    std::string error;
    Fault fault;
    EXPECT_FALSE(parse_profiles(answer(name), error, &fault)) << name;
    EXPECT_TRUE(fault.unauthorized()) << name << ": " << fault.subcode;
    EXPECT_NE(error.find("SOAP fault"), std::string::npos) << error;
  }
  Fault other{"env:Receiver", "ter:ActionNotSupported", "no"};
  EXPECT_FALSE(other.unauthorized());
}

TEST(OnvifMessages, HostileAnswersAreRefused) {
  std::string error;
  Fault fault;
  // Entity expansion ("billion laughs"): refused for its DTD before anything is expanded.
  const std::string laughs =
      "<?xml version=\"1.0\"?><!DOCTYPE e [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;"
      "&a;&a;&a;&a;\">]><e:Envelope xmlns:e=\"http://www.w3.org/2003/05/soap-envelope\"><e:Body>"
      "<GetStreamUriResponse><MediaUri><Uri>rtsp://x/&b;</Uri></MediaUri></GetStreamUriResponse>"
      "</e:Body></e:Envelope>";
  EXPECT_FALSE(parse_stream_uri(laughs, error, &fault));
  EXPECT_NE(error.find("document type"), std::string::npos) << error;
  // An external entity is never fetched (and the DTD refused as well).
  EXPECT_FALSE(parse_stream_uri(
      "<?xml version=\"1.0\"?><!DOCTYPE e [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><e>&x;</e>",
      error, &fault));
  EXPECT_FALSE(parse_stream_uri(std::string(kMaxAnswerBytes + 1, ' '), error, &fault));
  EXPECT_NE(error.find("over the limit"), std::string::npos);
  EXPECT_FALSE(parse_stream_uri("<a><b></a>", error, &fault));
  EXPECT_NE(error.find("not well-formed"), std::string::npos);
  EXPECT_FALSE(parse_profiles("<Envelope/>", error, &fault));
  EXPECT_FALSE(parse_profiles(answer("dahua_get_stream_uri.xml"), error, &fault));
  EXPECT_EQ(error, "the answer is not a GetProfilesResponse");
  // A stream URL with a quote would break out of wherever it is shown or stored.
  const std::string quoted =
      "<Envelope><Body><GetStreamUriResponse><MediaUri><Uri>rtsp://h/a\"b</Uri></MediaUri>"
      "</GetStreamUriResponse></Body></Envelope>";
  EXPECT_FALSE(parse_stream_uri(quoted, error, &fault));
  // Deep nesting: libxml2's depth limit, not a stack overflow.
  std::string deep = "<Envelope><Body>";
  for (int i = 0; i < 100'000; ++i) deep += "<a>";
  EXPECT_FALSE(parse_profiles(deep, error, &fault));
}

TEST(OnvifMessages, PtzRequestsNameTheProfileAndCarryVelocitiesAsAttributes) {
  RequestArgs args;
  args.profile = "Profile_1";
  args.velocity = {0.5, -0.25, 0};
  std::string error;
  auto move = parse_xml(build_request(Operation::kContinuousMove, args, {}, {}), error);
  ASSERT_TRUE(move) << error;
  xmlNode* root = xmlDocGetRootElement(move->get());
  xmlNode* req = find(root, "ContinuousMove");
  ASSERT_TRUE(req);
  EXPECT_STREQ(reinterpret_cast<const char*>(req->ns->href), "http://www.onvif.org/ver20/ptz/wsdl");
  EXPECT_EQ(text(child(req, "ProfileToken")), "Profile_1");
  xmlNode* pan_tilt = path(req, {"Velocity", "PanTilt"});
  EXPECT_STREQ(reinterpret_cast<const char*>(pan_tilt->ns->href), "http://www.onvif.org/ver10/schema");
  EXPECT_EQ(attribute(pan_tilt, "x"), "0.5");
  EXPECT_EQ(attribute(pan_tilt, "y"), "-0.25");
  EXPECT_EQ(attribute(path(req, {"Velocity", "Zoom"}), "x"), "0");

  args.preset = "2\"<x>";
  auto go = parse_xml(build_request(Operation::kGotoPreset, args, {}, {}), error);
  ASSERT_TRUE(go) << error;
  EXPECT_EQ(text(find(xmlDocGetRootElement(go->get()), "PresetToken")), "2\"<x>");
  auto stop = parse_xml(build_request(Operation::kStop, args, {}, {}), error);
  ASSERT_TRUE(stop) << error;
  xmlNode* s = find(xmlDocGetRootElement(stop->get()), "Stop");
  EXPECT_EQ(text(child(s, "PanTilt")), "true");
  EXPECT_EQ(text(child(s, "Zoom")), "true");
}

TEST(OnvifMessages, ParsesPtzAnswers) {
  std::string error;
  Fault fault;
  auto presets = parse_presets(answer("hikvision_get_presets.xml"), error, &fault);
  ASSERT_TRUE(presets) << error;
  // The one without a token cannot be gone to and is left out; a name is printable text.
  ASSERT_EQ(presets->size(), 3u);
  EXPECT_EQ((*presets)[0].token, "1");
  EXPECT_EQ((*presets)[0].name, "Door");
  EXPECT_EQ((*presets)[1].name, "Till area");
  EXPECT_EQ((*presets)[2].name, "");
  EXPECT_TRUE(parse_empty_response(answer("hikvision_continuous_move.xml"),
                                   Operation::kContinuousMove, error, &fault));
  EXPECT_TRUE(parse_empty_response(answer("dahua_stop.xml"), Operation::kStop, error, &fault));
  EXPECT_FALSE(parse_empty_response(answer("dahua_stop.xml"), Operation::kGotoPreset, error, &fault));
  EXPECT_EQ(error, "the answer is not a GotoPresetResponse");
  EXPECT_FALSE(parse_empty_response(answer("dahua_fault_goto_preset_no_token.xml"),
                                    Operation::kGotoPreset, error, &fault));
  EXPECT_FALSE(fault.unauthorized());
  EXPECT_NE(error.find("ter:NoToken"), std::string::npos) << error;
  EXPECT_FALSE(parse_presets(answer("hikvision_fault_not_authorized.xml"), error, &fault));
  EXPECT_TRUE(fault.unauthorized());
}

TEST(OnvifClient, ChoosesTheLargestAsMainAndTheSmallestOtherAsSub) {
  CameraReport r;
  auto profile = [](const char* uri, int w, int h) {
    VideoProfile p;
    p.width = w;
    p.height = h;
    p.stream_uri = uri;
    return p;
  };
  r.profiles = {profile("rtsp://h/1", 704, 576), profile("rtsp://h/0", 2688, 1520),
                profile("rtsp://h/2", 1280, 720)};
  choose_streams(r);
  EXPECT_EQ(r.main, 1u);
  EXPECT_EQ(r.sub, 0u);
  r.profiles.resize(1);
  r.profiles[0].stream_uri = "rtsp://h/1";
  choose_streams(r);
  EXPECT_EQ(r.main, 0u);
  EXPECT_FALSE(r.sub);
}

TEST(OnvifClient, PutsCredentialsIntoStreamUrlsEncoded) {
  EXPECT_EQ(with_credentials("rtsp://10.0.0.5:554/Streaming/101", {"admin", "p@ss/w:rd"}),
            "rtsp://admin:p%40ss%2Fw%3Ard@10.0.0.5:554/Streaming/101");
  EXPECT_EQ(with_credentials("rtsp://u:p@10.0.0.5/x", {"admin", "x"}), "rtsp://u:p@10.0.0.5/x");
  EXPECT_EQ(with_credentials("rtsp://10.0.0.5/x", {}), "rtsp://10.0.0.5/x");
}

TEST(OnvifClient, TakesCredentialsOutOfADeviceUrl) {
  auto [url, c] = split_credentials("http://admin:s3cr%3Cet@10.0.0.5:8000/onvif/device_service");
  EXPECT_EQ(url, "http://10.0.0.5:8000/onvif/device_service");
  EXPECT_EQ(c.user, "admin");
  EXPECT_EQ(c.password, "s3cr<et");
  auto [bare, none] = split_credentials("http://10.0.0.5/onvif/device_service");
  EXPECT_EQ(bare, "http://10.0.0.5/onvif/device_service");
  EXPECT_TRUE(none.empty());
  EXPECT_EQ(split_credentials("http://u@h/x").second.user, "u");
}

TEST(OnvifDiscovery, TargetsAndSubnets) {
  auto t = parse_target("192.168.1.64");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->port, kDiscoveryPort);
  t = parse_target("127.0.0.1:40000");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->port, 40000);
  EXPECT_FALSE(parse_target("camera.local"));
  EXPECT_FALSE(parse_target("10.0.0.1:0"));
  EXPECT_FALSE(parse_target("10.0.0.1:99999"));

  std::string error;
  auto hosts = subnet_targets("192.168.1.77/24", error);
  ASSERT_TRUE(hosts) << error;
  ASSERT_EQ(hosts->size(), 254u);
  EXPECT_EQ(hosts->front().host, "192.168.1.1");
  EXPECT_EQ(hosts->back().host, "192.168.1.254");
  hosts = subnet_targets("10.0.0.5/32", error);
  ASSERT_TRUE(hosts);
  EXPECT_EQ(hosts->size(), 1u);
  EXPECT_FALSE(subnet_targets("10.0.0.0/16", error));
  EXPECT_NE(error.find("at most 1024"), std::string::npos) << error;
  EXPECT_FALSE(subnet_targets("10.0.0.0", error));
  EXPECT_FALSE(subnet_targets("10.0.0.0/33", error));
  EXPECT_FALSE(subnet_targets("x/24", error));
}

}  // namespace
}  // namespace vigil::onvif
