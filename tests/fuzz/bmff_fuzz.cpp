// libFuzzer target: a segment file as recovery and `vigil check` find it on disk, through
// scan_fragmented_mp4. The bytes are put in an in-memory file (memfd) so that the scan reads
// them with its own pread calls, as it reads a real file. A truncated or hostile file must be
// an answer with a `problem`, never a crash; what the scan reports must lie inside the file.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "record/bmff_scan.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const int fd = memfd_create("segment", MFD_CLOEXEC);
  if (fd < 0) __builtin_trap();  // not the input's fault: stop rather than fuzz nothing
  size_t written = 0;
  while (written < size) {
    const ssize_t n = write(fd, data + written, size - written);
    if (n <= 0) __builtin_trap();
    written += static_cast<size_t>(n);
  }
  const vigil::BmffScan s = vigil::scan_fragmented_mp4("/proc/self/fd/" + std::to_string(fd));
  close(fd);
  if (!s.readable || s.file_bytes != size || s.valid_bytes > size || s.init_bytes > size) {
    __builtin_trap();
  }
  uint64_t end = s.init_bytes;
  for (const vigil::ScannedFragment& f : s.fragments) {
    if (f.offset < end || f.offset > size || f.size > size - f.offset) __builtin_trap();
    end = f.offset + f.size;
  }
  (void)s.media_duration();
  return 0;
}
