// The eBPF recorder's behaviour records (see ebpf_behaviour.hpp): the calls the program reads, and
// their events decoded into the core's records on the run loop.
#if NUCLEUS_HAVE_EBPF

#include "ebpf_behaviour.hpp"

#include "nucleus/core/io.hpp"
#include "nucleus/core/syscalls.hpp"

#include <bpf/libbpf.h>

#include <fcntl.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cstring>
#include <sstream>
#include <string_view>

namespace nucleus::tracer::ebpf {
namespace {

using core::FileAccess;

static_assert(nucleus_bpf_behaviour_argv_max == core::exec_argv_max);
static_assert(nucleus_bpf_behaviour_arg_read == core::exec_arg_bytes_max + 2);

constexpr int none = -1;
constexpr int cwd = -1;      // the path is relative to the working directory
constexpr int verbatim = -2; // the path is kept as given (a symbolic link's content)
constexpr int at_fdcwd = -100;
constexpr int at_empty_path = 0x1000;

// A call the program reads: which arguments hold what (index, or none), and which directory each
// path is relative to (the index of its dirfd argument, cwd, or verbatim).
struct CallSpec {
  std::string_view name;
  int path_a = none, dir_a = cwd;
  int path_b = none, dir_b = cwd;
  int flags = none;                 // the argument whose AT_EMPTY_PATH makes an empty path name the dirfd's file
  int blob = none, blob_len = none; // blob without a length argument: open_how
  int msghdr = none;
  int argv = none;
};

// The kind the program copies into each event is the index in this table plus one. Path A is the
// record's path (a rename's or link's new name), path B its target (the old name, the file linked,
// a symbolic link's content).
constexpr std::array<CallSpec, 34> calls{{
    {.name = "execve", .path_a = 0, .argv = 1},
    {.name = "execveat", .path_a = 1, .dir_a = 0, .flags = 4, .argv = 2},
    {.name = "open", .path_a = 0},
    {.name = "openat", .path_a = 1, .dir_a = 0},
    {.name = "openat2", .path_a = 1, .dir_a = 0, .blob = 2},
    {.name = "creat", .path_a = 0},
    {.name = "rename", .path_a = 1, .path_b = 0},
    {.name = "renameat", .path_a = 3, .dir_a = 2, .path_b = 1, .dir_b = 0},
    {.name = "renameat2", .path_a = 3, .dir_a = 2, .path_b = 1, .dir_b = 0},
    {.name = "unlink", .path_a = 0},
    {.name = "unlinkat", .path_a = 1, .dir_a = 0},
    {.name = "rmdir", .path_a = 0},
    {.name = "mkdir", .path_a = 0},
    {.name = "mkdirat", .path_a = 1, .dir_a = 0},
    {.name = "chmod", .path_a = 0},
    {.name = "fchmodat", .path_a = 1, .dir_a = 0},
    {.name = "fchmodat2", .path_a = 1, .dir_a = 0, .flags = 3},
    {.name = "chown", .path_a = 0},
    {.name = "lchown", .path_a = 0},
    {.name = "chown32", .path_a = 0},
    {.name = "lchown32", .path_a = 0},
    {.name = "fchownat", .path_a = 1, .dir_a = 0, .flags = 4},
    {.name = "link", .path_a = 1, .path_b = 0},
    {.name = "linkat", .path_a = 3, .dir_a = 2, .path_b = 1, .dir_b = 0, .flags = 4},
    {.name = "symlink", .path_a = 1, .path_b = 0, .dir_b = verbatim},
    {.name = "symlinkat", .path_a = 2, .dir_a = 1, .path_b = 0, .dir_b = verbatim},
    {.name = "mknod", .path_a = 0},
    {.name = "mknodat", .path_a = 1, .dir_a = 0},
    {.name = "socket"},
    {.name = "connect", .blob = 1, .blob_len = 2},
    {.name = "bind", .blob = 1, .blob_len = 2},
    {.name = "sendto", .blob = 4, .blob_len = 5},
    {.name = "sendmsg", .msghdr = 1},
    {.name = "listen"},
}};

std::uint32_t pack(std::size_t kind, const CallSpec& c) {
  auto field = [](int arg, int shift) { return arg == none ? 0u : static_cast<std::uint32_t>(arg + 1) << shift; };
  auto dir = [](int d, int shift) {
    std::uint32_t v = d == cwd        ? 0u
                      : d == verbatim ? std::uint32_t{nucleus_bpf_spec_dir_verbatim}
                                      : static_cast<std::uint32_t>(d + 1);
    return v << shift;
  };
  return static_cast<std::uint32_t>(kind) | field(c.path_a, nucleus_bpf_spec_path_a) |
         field(c.path_b, nucleus_bpf_spec_path_b) | field(c.blob, nucleus_bpf_spec_blob) |
         field(c.blob_len, nucleus_bpf_spec_blob_len) | field(c.msghdr, nucleus_bpf_spec_msghdr) |
         field(c.argv, nucleus_bpf_spec_argv) | dir(c.dir_a, nucleus_bpf_spec_dir_a) |
         dir(c.dir_b, nucleus_bpf_spec_dir_b) | (c.name == "listen" ? std::uint32_t{nucleus_bpf_spec_wake} : 0u);
}
static_assert(calls.size() < 64, "the kind has 6 bits in the program's table");

// The outcome a return value says: the kernel's errors are -4095..-1.
core::Outcome outcome_of(const nucleus_bpf_behaviour_event& e, std::string_view name) {
  if ((e.flags & nucleus_bpf_behaviour_result) == 0) return core::Outcome::unknown;
  return core::outcome_of_call(name, e.ret < 0 && e.ret >= -4095 ? static_cast<int>(-e.ret) : 0);
}

// The string at `at` (NUL excluded) of `len` bytes with its NUL.
std::string string_at(std::span<const char> data, std::size_t at, std::size_t len) {
  if (len == 0 || at + len > data.size()) return {};
  return std::string(data.data() + at, ::strnlen(data.data() + at, len));
}

// `path` made absolute against the directory `dir` (an argument index, cwd or verbatim) of the
// calling task: the name the program gave it at the call (`base`), or else the one /proc gives now,
// while the caller still runs. An empty path names the dirfd's own file only with AT_EMPTY_PATH in
// the call's flags; otherwise it stays empty (the call fails with ENOENT).
std::string resolved(const nucleus_bpf_behaviour_event& e, const CallSpec& call, const std::string& path, int dir,
                     const std::string& base_named, BaseOf base_of) {
  if (dir == verbatim) return path;
  if (path.starts_with('/')) return core::resolve_path("", path); // no /proc read for the common case
  if (path.empty() && (call.flags == none || (e.args[call.flags] & at_empty_path) == 0 || dir == cwd)) return path;
  if (base_named.starts_with('/'))
    return path.empty() ? core::resolve_path("", base_named) : core::resolve_path(base_named, path);
  const int dirfd = dir == cwd ? at_fdcwd : static_cast<int>(static_cast<std::int32_t>(e.args[dir]));
  std::string base = base_of(e.tid, dirfd);
  if (path.empty()) return base.starts_with('/') ? core::resolve_path("", base) : path; // AT_EMPTY_PATH
  return core::resolve_path(base, path);
}

core::FileAccessSet access_of(std::string_view name, const nucleus_bpf_behaviour_event& e, std::span<const char> blob) {
  auto set = [](FileAccess a) { return static_cast<core::FileAccessSet>(a); };
  if (name == "open") return core::open_flags_access(e.args[1]);
  if (name == "openat") return core::open_flags_access(e.args[2]);
  if (name == "openat2") {
    std::uint64_t flags = 0; // struct open_how: flags, mode, resolve
    if (blob.size() >= sizeof flags) std::memcpy(&flags, blob.data(), sizeof flags);
    return core::open_flags_access(flags);
  }
  if (name == "creat") return core::open_flags_access(O_WRONLY | O_CREAT | O_TRUNC);
  if (name.starts_with("rename")) return set(FileAccess::rename);
  if (name.starts_with("unlink") || name == "rmdir") return set(FileAccess::remove);
  if (name.starts_with("mkdir")) return set(FileAccess::mkdir);
  if (name.starts_with("chmod") || name.starts_with("fchmodat")) return set(FileAccess::chmod);
  if (name.find("chown") != std::string_view::npos) return set(FileAccess::chown);
  if (name.starts_with("link")) return set(FileAccess::link);
  if (name.starts_with("symlink")) return set(FileAccess::symlink);
  if (name.starts_with("mknod")) return set(FileAccess::mknod);
  return 0;
}

// The mode a call asks for a file (core::TraceFile::mode): chmod's, or a created file's; -1 for none.
int mode_of(std::string_view name, const nucleus_bpf_behaviour_event& e, std::span<const char> blob) {
  auto creates = [](std::uint64_t flags) { return (flags & O_CREAT) != 0 || (flags & O_TMPFILE) == O_TMPFILE; };
  auto mode = [](std::uint64_t v) { return static_cast<int>(v & 07777); };
  if (name == "open") return creates(e.args[1]) ? mode(e.args[2]) : -1;
  if (name == "openat") return creates(e.args[2]) ? mode(e.args[3]) : -1;
  if (name == "openat2") {
    std::uint64_t how[2] = {0, 0}; // struct open_how: flags, mode
    if (blob.size() < sizeof how) return -1;
    std::memcpy(how, blob.data(), sizeof how);
    return creates(how[0]) ? mode(how[1]) : -1;
  }
  if (name == "creat" || name == "mkdir" || name == "chmod" || name == "mknod") return mode(e.args[1]);
  if (name == "mkdirat" || name == "fchmodat" || name == "fchmodat2" || name == "mknodat") return mode(e.args[2]);
  return -1;
}

void decode_net(const CallSpec& call, const nucleus_bpf_behaviour_event& e, std::span<const char> blob,
                const std::string& named_cwd, BaseOf base_of, DecodedEvent& out) {
  core::TraceNet net{std::to_string(e.slot), std::string(call.name), {}};
  net.result = outcome_of(e, call.name);
  if (call.name == "socket") {
    net.family = core::socket_family_name(static_cast<int>(e.args[0]));
    net.socktype = core::socket_type_name(static_cast<int>(e.args[1]));
  } else if (call.name == "listen") {
    net.family = "unknown"; // listen names a descriptor only; its address is the bind's
  } else {
    if (blob.empty()) {
      // sendto/sendmsg on a connected socket: its endpoint is the connect's record. An address the
      // program could not read is lost, unless the call failed on it (EFAULT).
      out.unread = (e.flags & nucleus_bpf_behaviour_unread_blob) != 0 && net.result != core::Outcome::failed;
      return;
    }
    auto bytes = std::span(reinterpret_cast<const std::uint8_t*>(blob.data()), blob.size());
    auto address = core::decode_sockaddr(bytes);
    if (!address) return; // too short for its family: refused by the kernel (EINVAL)
    net.family = address->family;
    net.address = address->address;
    net.port = address->port;
    // A Unix socket's relative path is relative to the caller's working directory.
    if (net.family == "unix" && !net.address.empty() && !net.address.starts_with('@'))
      net.address = resolved(e, call, net.address, cwd, named_cwd, base_of);
  }
  out.net = std::move(net);
}

// An address of /proc/net/tcp or tcp6 ("0100007F:1F90"): the kernel prints the address as its
// native 32-bit words, the port in host order.
std::optional<core::SocketAddress> proc_net_address(const std::string& text, bool v6) {
  const auto colon = text.find(':');
  if (colon != (v6 ? 32u : 8u)) return std::nullopt;
  std::array<std::uint32_t, 4> words{};
  for (std::size_t i = 0; i < (v6 ? 4u : 1u); ++i)
    words[i] = static_cast<std::uint32_t>(std::stoul(text.substr(i * 8, 8), nullptr, 16));
  std::array<char, INET6_ADDRSTRLEN> buf{};
  if (::inet_ntop(v6 ? AF_INET6 : AF_INET, words.data(), buf.data(), buf.size()) == nullptr) return std::nullopt;
  return core::SocketAddress{core::socket_family_name(v6 ? AF_INET6 : AF_INET), buf.data(),
                             static_cast<int>(std::stoul(text.substr(colon + 1), nullptr, 16))};
}

} // namespace

std::optional<core::SocketAddress> listening_address(std::uint32_t tid, int fd) {
  const std::string proc = "/proc/" + std::to_string(tid);
  std::array<char, 64> link{};
  ssize_t n = ::readlink((proc + "/fd/" + std::to_string(fd)).c_str(), link.data(), link.size() - 1);
  if (n <= 0) return std::nullopt;
  std::string_view target(link.data(), static_cast<std::size_t>(n));
  if (!target.starts_with("socket:[") || !target.ends_with("]")) return std::nullopt;
  const std::string inode(target.substr(8, target.size() - 9));
  // The tables of the caller's own network namespace: inode is the 10th field of tcp and tcp6,
  // the 7th of unix (then the path).
  for (const char* table : {"tcp", "tcp6", "unix"}) {
    std::string text;
    try {
      text = core::read_file(proc + "/net/" + table);
    } catch (const core::Error&) {
      continue;
    }
    std::istringstream lines(text);
    std::string line;
    std::getline(lines, line); // the column names
    const bool unix_table = std::string_view(table) == "unix";
    while (std::getline(lines, line)) {
      std::istringstream fields(line);
      std::vector<std::string> f;
      for (std::string field; fields >> field && f.size() < 10;) f.push_back(field);
      if (unix_table) {
        if (f.size() < 7 || f[6] != inode) continue;
        return core::SocketAddress{core::socket_family_name(AF_UNIX), f.size() > 7 ? f[7] : std::string(), -1};
      }
      if (f.size() < 10 || f[9] != inode) continue;
      try {
        return proc_net_address(f[1], std::string_view(table) == "tcp6");
      } catch (const std::exception&) {
        return std::nullopt;
      }
    }
  }
  return std::nullopt;
}

std::vector<std::uint32_t> behaviour_spec() {
  std::vector<std::uint32_t> spec(nucleus_bpf_arches * nucleus_bpf_nr_max, 0);
  const auto arches = program_arches();
  for (std::size_t kind = 1; kind <= calls.size(); ++kind) {
    const CallSpec& call = calls[kind - 1];
    for (std::size_t a = 0; a < arches.size(); ++a) {
      auto nr = core::syscall_number(arches[a], call.name);
      if (!nr || *nr < 0) continue; // not a call of this ABI (chown32 is i386's)
      int idx = a == 2 ? *nr & ~x32_syscall_bit : *nr;
      if (idx >= nucleus_bpf_nr_max) continue;
      spec[a * nucleus_bpf_nr_max + static_cast<std::size_t>(idx)] = pack(kind, call);
    }
  }
  return spec;
}

std::string proc_base_of(std::uint32_t tid, int dirfd) {
  const std::string link =
      "/proc/" + std::to_string(tid) + (dirfd == at_fdcwd ? "/cwd" : "/fd/" + std::to_string(dirfd));
  std::array<char, 4096> buf{};
  ssize_t n = ::readlink(link.c_str(), buf.data(), buf.size());
  if (n <= 0 || static_cast<std::size_t>(n) >= buf.size()) return {}; // gone, or not a directory's name
  return std::string(buf.data(), static_cast<std::size_t>(n));
}

DecodedEvent decode_behaviour(const nucleus_bpf_behaviour_event& e, std::span<const char> data, BaseOf base_of) {
  DecodedEvent out;
  if (e.kind == 0 || e.kind > calls.size()) return out;
  const CallSpec& call = calls[e.kind - 1];
  // path A, base A, path B, base B, the buffer, argv (see ebpf_skeleton.h)
  const std::size_t len_a = e.len_a, base_a = e.len_base_a, len_b = e.len_b, base_b = e.len_base_b;
  const std::size_t blob_len = e.blob_len;
  if (len_a + base_a + len_b + base_b + blob_len + e.argv_len > data.size()) return out;
  const std::string path_a = string_at(data, 0, len_a);
  const std::string named_a = call.path_a == none ? std::string() : string_at(data, len_a, base_a);
  const std::string path_b = string_at(data, len_a + base_a, len_b);
  const std::string named_b = string_at(data, len_a + base_a + len_b, base_b);
  std::size_t blob_at = len_a + base_a + len_b + base_b;
  std::string named_unix;
  if (call.path_a == none) { // then base A follows the buffer: a Unix socket's relative path's directory
    blob_at = 0;
    named_unix = string_at(data, blob_len, base_a);
  }
  const auto blob = data.subspan(blob_at, blob_len);
  const core::Outcome result = outcome_of(e, call.name);
  // A path the program could not read: the call named nothing it could reach when it failed
  // (EFAULT), and is lost when it did not.
  const bool unread_path = (call.path_a != none && (e.flags & nucleus_bpf_behaviour_unread_a) != 0) ||
                           (call.path_b != none && (e.flags & nucleus_bpf_behaviour_unread_b) != 0);
  if (unread_path) {
    out.unread = result != core::Outcome::failed;
    return out;
  }
  if (call.argv != none) {
    core::TraceExec exec{std::to_string(e.slot), resolved(e, call, path_a, call.dir_a, named_a, base_of), {}};
    std::size_t at = blob_at + blob_len;
    for (std::uint16_t i = 0; i < e.argc && at < data.size(); ++i) {
      std::size_t len = ::strnlen(data.data() + at, data.size() - at);
      exec.argv.emplace_back(data.data() + at, std::min(len, core::exec_arg_bytes_max));
      at += len + 1;
    }
    exec.argv_truncated = (e.flags & (nucleus_bpf_behaviour_argv_truncated | nucleus_bpf_behaviour_unread_argv)) != 0;
    exec.result = result;
    out.exec = std::move(exec);
    return out;
  }
  if (call.path_a == none) {
    decode_net(call, e, blob, named_unix, base_of, out);
    return out;
  }
  core::TraceFile file{std::to_string(e.slot), std::string(call.name),
                       resolved(e, call, path_a, call.dir_a, named_a, base_of), access_of(call.name, e, blob)};
  if (call.path_b != none) file.target = resolved(e, call, path_b, call.dir_b, named_b, base_of);
  file.mode = mode_of(call.name, e, blob);
  file.result = result;
  out.file = std::move(file);
  return out;
}

BehaviourReader::BehaviourReader(int fd, std::size_t cap, bool skip_start_execs)
    : cap_(cap == 0 ? core::BehaviourSet::default_cap : cap), set_(cap_), skip_start_execs_(skip_start_execs) {
  rb_ = ring_buffer__new(fd, on_event, this, nullptr);
  if (rb_ == nullptr) core::throw_errno(errno, "cannot read the eBPF recorder's behaviour records");
}

BehaviourReader::~BehaviourReader() {
  timer_.reset();
  ready_.reset();
  ring_buffer__free(rb_);
}

int BehaviourReader::on_event(void* context, void* data, std::size_t size) {
  auto* self = static_cast<BehaviourReader*>(context);
  // Called from libbpf's C code: nothing may be thrown through it.
  try {
    self->add(data, size);
  } catch (const std::exception&) {
    ++self->malformed_;
  }
  return 0;
}

void BehaviourReader::add(const void* data, std::size_t size) {
  nucleus_bpf_behaviour_event header{};
  if (size < sizeof header) {
    ++malformed_;
    return;
  }
  std::memcpy(&header, data, sizeof header);
  const std::size_t used = std::min<std::size_t>(header.used, size - sizeof header);
  DecodedEvent decoded =
      decode_behaviour(header, std::span(static_cast<const char*>(data) + sizeof header, used), proc_base_of);
  if (decoded.unread) ++unread_;
  if (decoded.exec && !(skip_start_execs_ && decoded.exec->exe == "0")) set_.add(std::move(*decoded.exec));
  if (decoded.file) set_.add(std::move(*decoded.file));
  if (decoded.net && decoded.net->syscall == "listen") {
    // listen names a descriptor: its address is the socket's, which /proc shows while it is open.
    if (auto address = listening_address(header.tid, static_cast<int>(static_cast<std::int32_t>(header.args[0])))) {
      decoded.net->family = address->family;
      decoded.net->address = address->address;
      decoded.net->port = address->port;
    }
  }
  if (decoded.net) set_.add(std::move(*decoded.net));
}

void BehaviourReader::start(boost::asio::io_context& io) {
  ready_.emplace(io, ::dup(ring_buffer__epoll_fd(rb_)));
  wait(io);
  timer_.emplace(io);
  tick();
}

// The program wakes the reader only when a record cannot wait (see behaviour.bpf.h); the rest is
// read every 20 ms.
void BehaviourReader::tick() {
  timer_->expires_after(std::chrono::milliseconds(20));
  timer_->async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    drain();
    tick();
  });
}

void BehaviourReader::wait(boost::asio::io_context& io) {
  ready_->async_wait(boost::asio::posix::stream_descriptor::wait_read,
                     [this, &io](const boost::system::error_code& ec) {
                       if (ec) return;
                       drain();
                       wait(io);
                     });
}

void BehaviourReader::drain() { ring_buffer__consume(rb_); }

void BehaviourReader::stop() {
  boost::system::error_code ec;
  if (ready_) ready_->cancel(ec);
  if (timer_) timer_->cancel();
}

core::BehaviourSet BehaviourReader::named(const SlotNames& names) const {
  auto exe_of = [&](const std::string& slot) {
    auto it = names.find(static_cast<std::uint32_t>(std::stoul(slot)));
    return it != names.end() ? it->second : std::string("?");
  };
  // Named: two slots may carry one name (a file replaced under the same path), so the records
  // are made distinct again; the cap applied already.
  core::BehaviourSet out(set_.size() + 1);
  for (auto r : set_.execs()) {
    r.exe = exe_of(r.exe);
    out.add(std::move(r));
  }
  for (auto r : set_.files()) {
    r.exe = exe_of(r.exe);
    out.add(std::move(r));
  }
  for (auto r : set_.nets()) {
    r.exe = exe_of(r.exe);
    out.add(std::move(r));
  }
  out.count_dropped(set_.dropped());
  return out;
}

void BehaviourReader::note_loss(LossReport& loss) const {
  auto note = [&](std::uint64_t n, const std::string& what) {
    if (n == 0) return;
    loss.lost += n;
    if (!loss.detail.empty()) loss.detail += "; ";
    loss.detail += std::to_string(n) + what;
  };
  // The cap reached is a loss, as under every recorder: the records past it are counted, not kept.
  note(set_.dropped(),
       " behaviour record(s) (files, programs, network endpoints) were dropped: the trace keeps at most " +
           std::to_string(cap_) + " distinct ones");
  note(unread_, " behaviour record(s) whose path or address could not be read from the workload's memory");
  note(malformed_, " behaviour event(s) that could not be read");
}

void BehaviourReader::collect(const SlotNames& names, EbpfTrace& out) {
  drain();
  const core::BehaviourSet records = named(names);
  out.behaviour = true;
  out.execs = records.execs();
  out.files = records.files();
  out.nets = records.nets();
  out.behaviour_dropped = records.dropped();
  note_loss(out.run.loss);
}

} // namespace nucleus::tracer::ebpf

#endif
