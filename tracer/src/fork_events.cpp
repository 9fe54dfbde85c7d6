// The process events connector: see fork_events.hpp.
#include "fork_events.hpp"

#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/netlink.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <optional>

namespace nucleus::tracer::detail {

namespace {

// Queue room for bursts of the host's forks between two drains (as root the limit is ours to set).
constexpr int receive_buffer_bytes = 4 << 20;

// The netlink framing, without the kernel header's macros (C casts): messages are 4-byte aligned.
constexpr std::size_t align4(std::size_t n) { return (n + 3) & ~std::size_t{3}; }
constexpr std::size_t header_bytes = align4(sizeof(nlmsghdr));

// Calls f(event) for each process event among the netlink messages in buf[0, n).
template <class F>
void for_each_event(const char* buf, std::size_t n, F&& f) {
  for (std::size_t at = 0; n - at >= sizeof(nlmsghdr);) {
    nlmsghdr h;
    std::memcpy(&h, buf + at, sizeof h);
    if (h.nlmsg_len < sizeof(nlmsghdr) || h.nlmsg_len > n - at) return;
    if (h.nlmsg_len >= header_bytes + sizeof(cn_msg) + sizeof(proc_event)) {
      cn_msg m;
      std::memcpy(&m, buf + at + header_bytes, sizeof m);
      if (m.id.idx == CN_IDX_PROC && m.len >= sizeof(proc_event)) {
        proc_event e;
        std::memcpy(&e, buf + at + header_bytes + sizeof(cn_msg), sizeof e);
        f(e);
      }
    }
    at += align4(h.nlmsg_len);
  }
}

// Sends PROC_CN_MCAST_LISTEN; the kernel answers on the group with an event whose `err` says
// whether it took it (it says nothing at all outside the initial namespaces).
int listen(int fd) {
  const std::uint32_t op = PROC_CN_MCAST_LISTEN;
  char buf[header_bytes + sizeof(cn_msg) + sizeof op] = {};
  nlmsghdr h{};
  h.nlmsg_len = sizeof buf;
  h.nlmsg_type = NLMSG_DONE;
  cn_msg m{};
  m.id.idx = CN_IDX_PROC;
  m.id.val = CN_VAL_PROC;
  m.len = sizeof op;
  std::memcpy(buf, &h, sizeof h);
  std::memcpy(buf + header_bytes, &m, sizeof m);
  std::memcpy(buf + header_bytes + sizeof m, &op, sizeof op);
  if (::send(fd, buf, sizeof buf, 0) < 0) return errno;
  pollfd p{fd, POLLIN, 0};
  for (;;) {
    if (::poll(&p, 1, 1000) != 1) return ETIMEDOUT;
    char reply[4096];
    ssize_t n = ::recv(fd, reply, sizeof reply, 0);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN || errno == ENOBUFS) continue;
      return errno;
    }
    std::optional<int> err;
    for_each_event(reply, static_cast<std::size_t>(n), [&](const proc_event& e) {
      if (e.what == proc_event::PROC_EVENT_NONE) err = static_cast<int>(e.event_data.ack.err);
    });
    if (err) return *err;
  }
}

} // namespace

std::optional<ForkEvents> ForkEvents::open(std::string& why) {
  core::UniqueFd fd(::socket(PF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_CONNECTOR));
  if (!fd) {
    why = std::string("cannot open the kernel's process events connector: ") + std::strerror(errno);
    return std::nullopt;
  }
  int size = receive_buffer_bytes;
  if (::setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) != 0)
    ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  sockaddr_nl addr{};
  addr.nl_family = AF_NETLINK;
  addr.nl_groups = CN_IDX_PROC;
  int err = ::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 ? listen(fd.get()) : errno;
  if (err != 0) {
    why = std::string("the kernel's process events are not available: ") + std::strerror(err) +
          " (they need CAP_NET_ADMIN in the initial namespaces and CONFIG_PROC_EVENTS)";
    return std::nullopt;
  }
  return ForkEvents(std::move(fd));
}

void ForkEvents::drain(const std::function<void(pid_t, pid_t)>& forked) {
  char buf[65536];
  for (;;) {
    ssize_t n = ::recv(fd_.get(), buf, sizeof buf, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == ENOBUFS) {
        ++overflows_;
        continue;
      }
      return; // EAGAIN: all read
    }
    for_each_event(buf, static_cast<std::size_t>(n), [&](const proc_event& e) {
      if (e.what == proc_event::PROC_EVENT_FORK)
        forked(static_cast<pid_t>(e.event_data.fork.parent_tgid), static_cast<pid_t>(e.event_data.fork.child_tgid));
    });
  }
}

} // namespace nucleus::tracer::detail
