#include "serve/metrics.h"

#include <cmath>
#include <map>
#include <sstream>

namespace vigil {
namespace {

// Label values escape backslash, double quote and newline (exposition format).
std::string label(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

std::string number(double v) {
  if (std::isnan(v)) return "NaN";
  std::ostringstream s;
  s.precision(15);
  s << v;
  return s.str();
}

class Writer {
 public:
  void family(const std::string& name, const char* type, const char* help) {
    out_ << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n';
  }
  void sample(const std::string& name, const std::string& labels, double v) {
    out_ << name;
    if (!labels.empty()) out_ << '{' << labels << '}';
    out_ << ' ' << number(v) << '\n';
  }
  std::string str() const { return out_.str(); }

 private:
  std::ostringstream out_;
};

double num(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  if (it != j.end() && it->is_boolean()) return it->get<bool>() ? 1.0 : 0.0;
  return it != j.end() && it->is_number() ? it->get<double>() : 0.0;
}

}  // namespace

std::string prometheus_metrics(const nlohmann::json& status,
                               const std::vector<std::pair<std::string, LiveStats>>& live) {
  Writer w;
  const nlohmann::json cams = status.value("cameras", nlohmann::json::array());
  struct Gauge {
    const char* name;
    const char* key;
    const char* type;
    const char* help;
  };
  static const Gauge kCamera[] = {
      {"vigil_camera_fps", "fps", "gauge",
       "Video frames per second received over the last seconds."},
      {"vigil_camera_bitrate_bits_per_second", "bitrate_bps", "gauge",
       "Bits per second received over the last seconds."},
      {"vigil_camera_reconnects_total", "reconnects", "counter",
       "Successful connections after the first."},
      {"vigil_camera_connect_failures_total", "failures", "counter", "Failed connection attempts."},
      {"vigil_camera_bytes_written_total", "bytes_written", "counter",
       "Bytes of footage written since vigil started."},
      {"vigil_camera_segments_written_total", "segments_written", "counter",
       "Segment files closed since vigil started."},
      {"vigil_camera_packets_dropped_total", "packets_dropped", "counter",
       "Packets the recorder could not store."},
      {"vigil_camera_stored_bytes", "stored_bytes", "gauge", "Bytes of footage on disk."},
      {"vigil_camera_disk_error", "disk_error", "gauge",
       "1 while the camera's recording fails on the disk and is retried."},
      {"vigil_camera_stopped_by_holds", "stopped_by_holds", "gauge",
       "1 while the disk is full and retention may delete only footage under evidence holds."},
      {"vigil_camera_record_queue_overflows_total", "record_queue_overflows", "counter",
       "Times the recorder's writer fell so far behind the camera that packets were dropped."},
      {"vigil_camera_record_queue_dropped_total", "record_queue_dropped", "counter",
       "Packets dropped because the recorder's writer queue was full."},
      {"vigil_camera_record_queue_bytes", "record_queue_bytes", "gauge",
       "Bytes read from the camera and not yet written by the recorder."},
  };
  for (const auto& g : kCamera) {
    w.family(g.name, g.type, g.help);
    for (const auto& c : cams) {
      w.sample(g.name, "camera=\"" + label(c.value("id", "")) + "\"", num(c, g.key));
    }
  }
  // One series per state, 1 for the current one: the usual way to expose an enum.
  w.family("vigil_camera_state", "gauge", "1 for the camera's current ingest state.");
  for (const auto& c : cams) {
    const std::string state = c.value("state", "");
    for (const char* s : {"disabled", "connecting", "streaming", "offline"}) {
      w.sample("vigil_camera_state",
               "camera=\"" + label(c.value("id", "")) + "\",state=\"" + s + "\"",
               state == s ? 1 : 0);
    }
  }
  struct LiveGauge {
    const char* name;
    const char* type;
    const char* help;
    double (*get)(const LiveStats&);
  };
  static const LiveGauge kLive[] = {
      {"vigil_live_viewers", "gauge", "Live viewers watching now.",
       [](const LiveStats& s) { return static_cast<double>(s.viewers); }},
      {"vigil_live_viewers_total", "counter", "Live viewers since vigil started.",
       [](const LiveStats& s) { return static_cast<double>(s.viewers_total); }},
      {"vigil_live_skips_total", "counter",
       "Times a slow live viewer's queue overflowed and it skipped to the next keyframe.",
       [](const LiveStats& s) { return static_cast<double>(s.skips_total); }},
      {"vigil_live_drops_total", "counter", "Live viewers dropped for not reading.",
       [](const LiveStats& s) { return static_cast<double>(s.drops_total); }},
  };
  for (const auto& g : kLive) {
    w.family(g.name, g.type, g.help);
    for (const auto& [id, s] : live) w.sample(g.name, "camera=\"" + label(id) + "\"", g.get(s));
  }
  if (status.contains("disk_free_bytes")) {
    w.family("vigil_disk_free_bytes", "gauge", "Free bytes on the data directory's file system.");
    w.sample("vigil_disk_free_bytes", "", num(status, "disk_free_bytes"));
  }
  w.family("vigil_retention_held_full", "gauge",
           "1 when the disk is below min_free_space and only footage under holds is left.");
  w.sample("vigil_retention_held_full", "", status.contains("held_full") ? 1 : 0);
  if (status.contains("disk_total_bytes")) {
    w.family("vigil_disk_total_bytes", "gauge", "Size of the data directory's file system.");
    w.sample("vigil_disk_total_bytes", "", num(status, "disk_total_bytes"));
  }
  if (status.contains("notifications")) {
    const nlohmann::json& n = status["notifications"];
    w.family("vigil_notifications_retired_dropped_total", "counter",
             "Notices that replaced MQTT/webhook targets still held when they were stopped.");
    w.sample("vigil_notifications_retired_dropped_total", "", num(n, "retired_dropped"));
  }
  if (status.contains("tsa")) {
    // RFC 3161 timestamps of checkpoints (app/tsa_stamper.h).
    const nlohmann::json& t = status["tsa"];
    const std::string url = "url=\"" + label(t.value("url", "")) + "\"";
    w.family("vigil_tsa_tokens_total", "counter",
             "Checkpoints that got an RFC 3161 timestamp token since vigil started.");
    w.sample("vigil_tsa_tokens_total", url, num(t, "timestamped"));
    w.family("vigil_tsa_untimestamped_total", "counter",
             "Checkpoints kept without a timestamp token: the TSA did not grant one within "
             "tsa_retry_seconds.");
    w.sample("vigil_tsa_untimestamped_total", url, num(t, "untimestamped"));
    w.family("vigil_tsa_pending", "gauge", "Checkpoints waiting for a timestamp token.");
    w.sample("vigil_tsa_pending", url, num(t, "pending"));
    w.family("vigil_tsa_failed_requests_total", "counter",
             "Timestamp requests that got no usable token (TSA down, slow or wrong answer).");
    w.sample("vigil_tsa_failed_requests_total", url, num(t, "failed_requests"));
  }
  // Supervised components (core/supervision.h). Instances with the same labels (a notifier
  // being replaced while the old one finishes) are one series: summed failures, failed if any.
  std::map<std::string, std::pair<bool, double>> components;
  for (const auto& c : status.value("components", nlohmann::json::array())) {
    std::string labels = "component=\"" + label(c.value("component", "")) + "\"";
    for (const char* key : {"camera", "target"}) {
      const std::string v = c.value(key, "");
      if (!v.empty()) labels += std::string(",") + key + "=\"" + label(v) + "\"";
    }
    auto& [failed, failures] = components[labels];
    failed = failed || c.value("failed", false);
    failures += num(c, "failures");
  }
  if (!components.empty()) {
    w.family("vigil_component_failed", "gauge",
             "1 while a component (thread) waits to restart after a failure, or failed in the "
             "last minute.");
    for (const auto& [labels, v] : components) {
      w.sample("vigil_component_failed", labels, v.first ? 1 : 0);
    }
    w.family("vigil_component_failures_total", "counter",
             "Failures of a component (an exception that left its thread or its boundary), each "
             "followed by a restart.");
    for (const auto& [labels, v] : components) {
      w.sample("vigil_component_failures_total", labels, v.second);
    }
  }
  return w.str();
}

}  // namespace vigil
