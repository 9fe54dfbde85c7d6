// Where audit records come from: one small interface, three kinds. Live sources, best first: the
// audit netlink multicast group (lossless, beside a running auditd), /dev/kmsg (printk drops
// records under load: losses are detected and reported). Files: audit.log, dmesg, journalctl text.
// Use: auto src = open_live_source(SourceKind::automatic); poll src->fd(); src->drain(sink).
#pragma once

#include "nucleus/core/fd.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace nucleus::tracer {

enum class SourceKind { automatic, netlink, kmsg };

// A record as text, with the audit message type when the transport tells it (netlink).
using RecordSink = std::function<void(std::string_view line, int type)>;
inline constexpr int type_unknown = 0;

struct LossReport {
  std::uint64_t lost = 0;  // records known to be lost (a lower bound when `overflowed`)
  bool overflowed = false; // the transport dropped an unknown number of records
  std::string detail;      // what was seen: "netlink receive buffer overflowed (ENOBUFS) 2 times"
  bool any() const noexcept { return lost != 0 || overflowed; }
  // What a trace's summary says of it ("loss"): empty when nothing was lost.
  std::string summary() const {
    if (!any()) return {};
    return detail.empty() ? std::to_string(lost) + " record(s) lost" : detail;
  }
};

class EventSource {
public:
  virtual ~EventSource() = default;
  EventSource() = default;
  EventSource(const EventSource&) = delete;
  EventSource& operator=(const EventSource&) = delete;

  virtual std::string_view name() const noexcept = 0; // "audit-netlink", "kmsg", "file"
  virtual int fd() const noexcept = 0;                // readable when records are waiting
  // Reads what is available without blocking and hands each record to `sink`.
  virtual void drain(const RecordSink& sink) = 0;
  virtual LossReport loss() const = 0;
};

// Throws Error(permission / unsupported) with a hint when the source cannot be opened.
// `automatic` tries netlink, then kmsg; `chosen_because` says why when it fell back.
std::unique_ptr<EventSource> open_live_source(SourceKind kind, std::string* chosen_because = nullptr);

// The kmsg source reading /dev/kmsg-format records ("prio,seq,usec,flags;text", one per read) from
// `fd` instead of /dev/kmsg, with the same loss detection: replaying a saved kernel log, or tests.
std::unique_ptr<EventSource> kmsg_source_from(core::UniqueFd fd);

// The kernel audit subsystem's own counter of records it dropped (AUDIT_GET), if readable.
std::optional<std::uint32_t> audit_lost_counter();
// Whether the kernel's audit is enabled (auditd running, or audit=1 at boot): Landlock logs its
// denials only then, seccomp's always. nullopt when it cannot be asked (no permission).
std::optional<bool> audit_enabled();

} // namespace nucleus::tracer
