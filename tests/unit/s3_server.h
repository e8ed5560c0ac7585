// s3rver (npm, tests/s3/server.js) for the archive tests: started on a free 127.0.0.1 port (or
// a given one, to come back where it was) and stopped by PID. server.js also verifies every
// request's Signature V4, payload hash and Content-MD5 as AWS does.
#pragma once

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

namespace vigil::archive {

// s3rver on 127.0.0.1: the port it chose is the first line it prints.
class S3Server {
 public:
  // `die_after_bytes` (0: never): the server exits abruptly once it has received more request
  // body bytes than that, in the middle of a request (server.js, S3_DIE_AFTER_BYTES).
  S3Server(const std::filesystem::path& dir, int port = 0, uint64_t die_after_bytes = 0) {
    start(dir, port, die_after_bytes);
  }
  ~S3Server() { stop(); }
  int port() const { return port_; }
  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  void start(const std::filesystem::path& dir, int port, uint64_t die_after_bytes = 0) {
    int out[2];
    ASSERT_EQ(::pipe(out), 0);
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(out[1], STDOUT_FILENO);
      ::close(out[0]);
      ::close(out[1]);
      const std::string p = std::to_string(port);
      if (die_after_bytes) ::setenv("S3_DIE_AFTER_BYTES", std::to_string(die_after_bytes).c_str(), 1);
      ::execlp("node", "node", VIGIL_S3_SERVER, dir.c_str(), "vigil", p.c_str(),
               static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::close(out[1]);
    FILE* f = ::fdopen(out[0], "r");
    char line[64] = {};
    const bool got = std::fgets(line, sizeof line, f) != nullptr;
    std::fclose(f);
    ASSERT_TRUE(got) << "s3rver did not start (npm ci in tests/s3?)";
    port_ = std::atoi(line);
    ASSERT_GT(port_, 0) << line;
  }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
};

inline std::string random_bytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

inline void write_file(const std::filesystem::path& p, const std::string& bytes) {
  std::ofstream(p, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

}  // namespace vigil::archive
