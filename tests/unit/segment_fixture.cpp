// Real segment files for the integrity tests (see segment_fixture.h).
#include "segment_fixture.h"

#include <fstream>
#include <string>

#include "record/segment_writer.h"
#include "test_support.h"

namespace vigil::test {

std::filesystem::path write_test_segment(const std::filesystem::path& file, size_t fragments) {
  const auto& clip = test_clip("libx264", 10, 10, 20);
  SegmentWriter w(file, *clip.info);
  for (size_t i = 0; i < fragments * 20; ++i) {
    PacketPtr p = make_packet();
    av_packet_ref(p.get(), clip.video[i % clip.video.size()].get());
    if (i > 0 && (p->flags & AV_PKT_FLAG_KEY)) w.flush_fragment();
    p->dts = p->pts = static_cast<int64_t>(i) * 9000;
    p->duration = 9000;
    w.write(p.get(), TrackKind::kVideo);
  }
  w.flush_fragment();
  w.finish();
  return file;
}

Sha256 sha256_of_range(const std::filesystem::path& file, uint64_t offset, uint64_t size) {
  std::ifstream in(file, std::ios::binary);
  in.seekg(static_cast<std::streamoff>(offset));
  std::string data(size, '\0');
  in.read(data.data(), static_cast<std::streamsize>(size));
  Sha256Hasher h;
  h.update(reinterpret_cast<const uint8_t*>(data.data()), data.size());
  return h.finish();
}

}  // namespace vigil::test
