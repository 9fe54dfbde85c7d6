// The protobuf wire format as gVisor's monitoring messages use it: a bounds-checked reader and a
// field loop. Private to the gVisor recorder (gvisor.cpp, gvisor_behaviour.cpp).
#pragma once

#include "nucleus/tracer/gvisor.hpp"

#include <cstdint>
#include <optional>
#include <set>
#include <utility>
#include <string>
#include <string_view>

namespace nucleus::tracer::gvisor {

// A protobuf wire reader over one buffer. Every read is bounds-checked; a failure sets `bad`.
class Reader {
public:
  explicit Reader(std::string_view data) : data_(data) {}
  bool done() const noexcept { return pos_ >= data_.size() || bad; }

  std::uint64_t varint() {
    std::uint64_t value = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= data_.size()) break;
      auto byte = static_cast<unsigned char>(data_[pos_++]);
      value |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
      if ((byte & 0x80) == 0) return value;
    }
    bad = true;
    return 0;
  }
  std::string_view bytes() {
    std::uint64_t len = varint();
    if (bad || len > data_.size() - pos_) {
      bad = true;
      return {};
    }
    auto out = data_.substr(pos_, static_cast<std::size_t>(len));
    pos_ += static_cast<std::size_t>(len);
    return out;
  }
  void skip(unsigned wire_type) {
    switch (wire_type) {
    case 0: varint(); break;
    case 1: advance(8); break;
    case 2: bytes(); break;
    case 5: advance(4); break;
    default: bad = true; // groups (3, 4) are not used by these messages
    }
  }
  bool bad = false;

private:
  void advance(std::size_t n) {
    if (n > data_.size() - pos_) bad = true;
    else pos_ += n;
  }
  std::string_view data_;
  std::size_t pos_ = 0;
};

// Calls `field(number, wire_type, reader)` for each field; the callback consumes or skips it.
template <class F>
bool for_each_field(std::string_view data, F&& field) {
  Reader r(data);
  while (!r.done()) {
    std::uint64_t key = r.varint();
    if (r.bad) break;
    auto number = static_cast<std::uint32_t>(key >> 3);
    auto wire_type = static_cast<unsigned>(key & 7);
    if (number == 0) {
      r.bad = true;
      break;
    }
    field(number, wire_type, r);
  }
  return !r.bad;
}

// A path field kept whole, or dropped when longer than any path gVisor copies (PATH_MAX): a cut
// path would name another file.
inline std::string bounded_path(std::string_view bytes) {
  return bytes.size() <= max_path_size ? std::string(bytes) : std::string();
}

// One field of a syscall point's message (`type` one of the syscall_* point types) into `p`;
// false when the field is malformed.
bool decode_point_field(MessageType type, std::uint32_t n, unsigned wt, Reader& r, PointFields& p);

// "comm X sendto(...) = ..." (a task log line's message after its "[pid:tid] " prefix): the
// native number of sendto, the inet or inet6 destination and the result; nullopt for anything
// else, a sendto without such an address included.
std::optional<std::pair<int, std::pair<core::SocketAddress, core::Outcome>>> parse_sendto_exit(std::string_view rest);

// The native numbers of the calls behaviour_points() covers.
std::set<int> numbers_with_behaviour_points();

} // namespace nucleus::tracer::gvisor
