// gVisor monitoring packets as its remote sink frames them (8-byte header, protobuf body with the
// field numbers of pkg/sentry/seccheck/points), built field by field for the gVisor tests.
#pragma once

#include "nucleus/tracer/gvisor.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

namespace gv = nucleus::tracer::gvisor;

namespace nucleus_test_gvisor {

inline std::string varint(std::uint64_t v) {
  std::string out;
  do {
    auto b = static_cast<unsigned char>(v & 0x7f);
    v >>= 7;
    if (v != 0) b |= 0x80;
    out.push_back(static_cast<char>(b));
  } while (v != 0);
  return out;
}
inline std::string field(std::uint32_t n, std::uint64_t v) { return varint(n << 3) + varint(v); }
inline std::string field(std::uint32_t n, const std::string& bytes) {
  return varint((n << 3) | 2) + varint(bytes.size()) + bytes;
}
inline std::string context(int tid, int tgid, const std::string& comm = "app") {
  return field(1,
               field(2, static_cast<std::uint64_t>(tid)) + field(4, static_cast<std::uint64_t>(tgid)) + field(9, comm));
}
inline std::string packet(gv::MessageType type, const std::string& body, std::uint32_t dropped = 0) {
  std::string h(8, '\0');
  h[0] = 8;
  h[2] = static_cast<char>(static_cast<std::uint16_t>(type) & 0xff);
  h[4] = static_cast<char>(dropped & 0xff);
  h[5] = static_cast<char>((dropped >> 8) & 0xff);
  return h + body;
}
inline gv::Message decode(const std::string& p) {
  std::string error;
  auto m = gv::decode_packet(p, &error);
  EXPECT_TRUE(m) << error;
  return m.value_or(gv::Message{});
}
} // namespace nucleus_test_gvisor
