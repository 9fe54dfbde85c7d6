// The audit record sources: netlink multicast (AUDIT_NLGRP_READLOG), /dev/kmsg, and text files.
#include "nucleus/tracer/source.hpp"

#include "lost_counter.hpp"

#include "nucleus/core/error.hpp"
#include "nucleus/core/fd.hpp"

#include <fcntl.h>
#include <linux/audit.h>
#include <linux/netlink.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <algorithm>
#include <cstring>
#include <memory>
#include <vector>

namespace nucleus::tracer {
namespace {

using core::Error;
using core::ErrorKind;
using core::UniqueFd;

// The netlink macros cast C-style; these say the same with checked lengths.
const nlmsghdr* first_message(const char* buf, std::size_t len) {
  if (len < sizeof(nlmsghdr)) return nullptr;
  const auto* h = reinterpret_cast<const nlmsghdr*>(buf);
  if (h->nlmsg_len < sizeof(nlmsghdr) || h->nlmsg_len > len) return nullptr;
  return h;
}

const nlmsghdr* next_message(const nlmsghdr* h, std::size_t& remaining) {
  std::size_t step = NLMSG_ALIGN(h->nlmsg_len);
  if (step >= remaining) return nullptr;
  remaining -= step;
  return first_message(reinterpret_cast<const char*>(h) + step, remaining);
}

std::string_view payload_of(const nlmsghdr* h) {
  return {reinterpret_cast<const char*>(h) + NLMSG_HDRLEN,
          h->nlmsg_len - std::min<std::size_t>(h->nlmsg_len, NLMSG_HDRLEN)};
}

// Large enough that a burst of records survives a scheduling hiccup of the reader.
// Memory is only taken as records queue up.
constexpr int receive_buffer_bytes = 256 << 20;

class NetlinkSource final : public EventSource {
public:
  NetlinkSource() {
    fd_.reset(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_AUDIT));
    if (!fd_) core::throw_errno("cannot open an audit netlink socket", "the kernel needs CONFIG_AUDIT");
    int size = receive_buffer_bytes;
    if (::setsockopt(fd_.get(), SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) != 0)
      ::setsockopt(fd_.get(), SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    sockaddr_nl addr{};
    addr.nl_family = AF_NETLINK;
    addr.nl_groups = 1u << (AUDIT_NLGRP_READLOG - 1);
    if (::bind(fd_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      int err = errno;
      throw Error(err == EPERM || err == EACCES ? ErrorKind::permission : ErrorKind::unsupported,
                  std::string("cannot join the audit log multicast group: ") + std::strerror(err),
                  "reading audit records needs CAP_AUDIT_READ (run as root) and a kernel with audit (3.16+)", err);
    }
  }

  std::string_view name() const noexcept override { return "audit-netlink"; }
  int fd() const noexcept override { return fd_.get(); }

  void drain(const RecordSink& sink) override {
    for (;;) {
      ssize_t n = ::recv(fd_.get(), buffer_.get(), buffer_bytes, MSG_DONTWAIT);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return;
        if (errno == ENOBUFS) { // the kernel dropped multicast records for us
          ++overflows_;
          continue;
        }
        core::throw_errno("cannot read from the audit netlink socket");
      }
      auto len = static_cast<std::size_t>(n);
      for (const auto* h = first_message(buffer_.get(), len); h != nullptr; h = next_message(h, len)) {
        std::string_view payload = payload_of(h);
        while (!payload.empty() && (payload.back() == '\0' || payload.back() == '\n')) payload.remove_suffix(1);
        sink(payload, h->nlmsg_type);
      }
    }
  }

  LossReport loss() const override {
    LossReport r;
    if (overflows_ != 0) {
      r.overflowed = true;
      r.detail = "the netlink receive buffer overflowed (ENOBUFS) " + std::to_string(overflows_) + " time(s)";
    }
    return r;
  }

private:
  static constexpr std::size_t buffer_bytes = 1 << 16;
  UniqueFd fd_;
  // Not zeroed: its pages are touched only as far as records fill it (most runs: one page).
  std::unique_ptr<char[]> buffer_ = std::make_unique_for_overwrite<char[]>(buffer_bytes);
  std::uint64_t overflows_ = 0;
};

// /dev/kmsg: one record per read, "prio,seq,usec,flags;text". Sequence gaps mean the ring buffer
// was overwritten; "kauditd_printk_skb: N callbacks suppressed" means printk's rate limit dropped
// N audit records.
class KmsgSource final : public EventSource {
public:
  KmsgSource() {
    fd_.reset(::open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC));
    if (!fd_)
      core::throw_errno("cannot open /dev/kmsg", "reading the kernel log needs root (or kernel.dmesg_restrict=0)");
    if (::lseek(fd_.get(), 0, SEEK_END) < 0) core::throw_errno("cannot seek /dev/kmsg");
    buffer_.resize(8192);
  }
  // Records in /dev/kmsg's format from another descriptor (one record per read), from its start.
  explicit KmsgSource(UniqueFd fd) : fd_(std::move(fd)) { buffer_.resize(8192); }

  std::string_view name() const noexcept override { return "kmsg"; }
  int fd() const noexcept override { return fd_.get(); }

  void drain(const RecordSink& sink) override {
    for (;;) {
      ssize_t n = ::read(fd_.get(), buffer_.data(), buffer_.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN) return;
        if (errno == EPIPE) { // records were overwritten before we read them
          ++overruns_;
          continue;
        }
        core::throw_errno("cannot read /dev/kmsg");
      }
      std::string_view rec(buffer_.data(), static_cast<std::size_t>(n));
      auto semi = rec.find(';');
      if (semi == std::string_view::npos) continue;
      std::string_view prefix = rec.substr(0, semi);
      std::string_view text = rec.substr(semi + 1);
      if (auto nl = text.find('\n'); nl != std::string_view::npos) text = text.substr(0, nl);
      note_sequence(prefix);
      note_suppressed(text);
      sink(text, type_unknown);
    }
  }

  LossReport loss() const override {
    LossReport r;
    r.lost = gap_records_ + suppressed_;
    std::string detail;
    if (suppressed_ != 0)
      detail += "printk rate limiting suppressed " + std::to_string(suppressed_) + " audit record(s)";
    if (gap_records_ != 0) {
      if (!detail.empty()) detail += "; ";
      detail += std::to_string(gap_records_) + " kernel log record(s) were skipped (sequence gap)";
    }
    if (overruns_ != 0) {
      r.overflowed = true;
      if (!detail.empty()) detail += "; ";
      detail += "the kernel log buffer was overwritten " + std::to_string(overruns_) + " time(s)";
    }
    r.detail = detail;
    return r;
  }

private:
  void note_sequence(std::string_view prefix) {
    auto c1 = prefix.find(',');
    if (c1 == std::string_view::npos) return;
    auto rest = prefix.substr(c1 + 1);
    std::uint64_t seq = 0;
    auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), seq);
    if (ec != std::errc{}) return;
    (void)end;
    if (have_seq_ && seq > last_seq_ + 1) gap_records_ += seq - last_seq_ - 1;
    last_seq_ = seq;
    have_seq_ = true;
  }

  void note_suppressed(std::string_view text) {
    // printk_ratelimit() reports "<function>: N callbacks suppressed" for the audit printk path.
    constexpr std::string_view marker = "kauditd_printk_skb: ";
    if (!text.starts_with(marker)) return;
    auto rest = text.substr(marker.size());
    std::uint64_t n = 0;
    auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), n);
    if (ec == std::errc{} && std::string_view(end, static_cast<std::size_t>(rest.data() + rest.size() - end))
                                 .starts_with(" callbacks suppressed"))
      suppressed_ += n;
  }

  UniqueFd fd_;
  std::vector<char> buffer_;
  bool have_seq_ = false;
  std::uint64_t last_seq_ = 0;
  std::uint64_t gap_records_ = 0;
  std::uint64_t suppressed_ = 0;
  std::uint64_t overruns_ = 0;
};

} // namespace

std::unique_ptr<EventSource> open_live_source(SourceKind kind, std::string* chosen_because) {
  switch (kind) {
  case SourceKind::netlink: return std::make_unique<NetlinkSource>();
  case SourceKind::kmsg: return std::make_unique<KmsgSource>();
  case SourceKind::automatic: break;
  }
  try {
    return std::make_unique<NetlinkSource>();
  } catch (const Error& netlink_error) {
    auto kmsg = std::make_unique<KmsgSource>();
    if (chosen_because != nullptr)
      *chosen_because = std::string("the audit netlink group is not available (") + netlink_error.what() +
                        "); reading /dev/kmsg instead, where the kernel may drop records under load";
    return kmsg;
  }
}

std::unique_ptr<EventSource> kmsg_source_from(core::UniqueFd fd) { return std::make_unique<KmsgSource>(std::move(fd)); }

LostCounterQuery::LostCounterQuery() {
  UniqueFd fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_AUDIT));
  if (!fd) return;
  struct {
    nlmsghdr header;
  } request{};
  request.header.nlmsg_len = sizeof request;
  request.header.nlmsg_type = AUDIT_GET;
  request.header.nlmsg_flags = NLM_F_REQUEST;
  request.header.nlmsg_seq = 1;
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (::sendto(fd.get(), &request, sizeof request, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) < 0) return;
  fd_ = std::move(fd);
}

std::optional<std::uint32_t> LostCounterQuery::get() {
  if (!fd_) return std::nullopt;
  UniqueFd fd = std::move(fd_);
  pollfd pfd{fd.get(), POLLIN, 0};
  alignas(nlmsghdr) char buf[8192];
  for (int tries = 0; tries < 4; ++tries) {
    if (::poll(&pfd, 1, 1000) <= 0) return std::nullopt;
    ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
    if (n <= 0) return std::nullopt;
    auto len = static_cast<std::size_t>(n);
    for (const auto* h = first_message(buf, len); h != nullptr; h = next_message(h, len)) {
      std::string_view payload = payload_of(h);
      if (h->nlmsg_type == AUDIT_GET && payload.size() >= sizeof(audit_status)) {
        audit_status status{};
        std::memcpy(&status, payload.data(), sizeof status);
        enabled_ = status.enabled != 0;
        return status.lost;
      }
      if (h->nlmsg_type == NLMSG_ERROR && payload.size() >= sizeof(nlmsgerr)) {
        nlmsgerr err{};
        std::memcpy(&err, payload.data(), sizeof err);
        if (err.error != 0) return std::nullopt;
      }
    }
  }
  return std::nullopt;
}

std::optional<std::uint32_t> audit_lost_counter() { return LostCounterQuery().get(); }

std::optional<bool> audit_enabled() {
  LostCounterQuery query;
  query.get();
  return query.enabled();
}

} // namespace nucleus::tracer
