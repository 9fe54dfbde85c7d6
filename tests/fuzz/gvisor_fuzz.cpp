// Fuzzes the gVisor readers: any bytes as a monitoring packet (then as a behaviour record and
// through a tracker that waits for behaviour points), as a handshake, as a debug log line (then
// through the tracker) and as `runsc --version` output. None may crash, read out of bounds, throw
// or hang; a decoded packet keeps the size limits.
#include "nucleus/tracer/gvisor.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace gv = nucleus::tracer::gvisor;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  gv::Tracker tracker("/bin/app", {0, 1, 2, 59, 231, 257}, true, 4);
  if (auto m = gv::decode_packet(bytes)) {
    if (m->binary_path.size() > gv::max_path_size || m->cwd.size() > gv::max_path_size ||
        m->point.pathname.size() > gv::max_path_size || m->point.fd_path.size() > gv::max_path_size ||
        m->point.address.size() > gv::max_address_size || m->point.argv.size() > nucleus::core::exec_argv_max)
      __builtin_trap();
    for (const auto& arg : m->point.argv)
      if (arg.size() > nucleus::core::exec_arg_bytes_max) __builtin_trap();
    (void)gv::behaviour_record(*m);
    tracker.on_message(*m);
    tracker.on_message(*m); // a second time: the same record counts on, the same raw call waits again
  }
  (void)gv::decode_handshake(bytes);
  if (auto e = gv::parse_debug_line(bytes)) {
    if (e->nr < 0 || e->pid < 0 || e->tid < 0) __builtin_trap();
    tracker.on_log(*e);
  }
  if (auto date = gv::runsc_release_date(bytes); date && (*date < 0 || *date > 99999999)) __builtin_trap();
  (void)gv::old_runsc_note(bytes);
  tracker.finish();
  for (const auto& c : tracker.take_calls())
    if (c.exe.empty()) __builtin_trap();                // every call is attributed, to "?" at worst
  if (tracker.behaviour().size() > 4) __builtin_trap(); // the cap holds
  (void)tracker.loss_detail();
  return 0;
}
