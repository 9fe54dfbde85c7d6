// The eBPF recorder's behaviour records: which calls the program reads (the table it is loaded
// with), and the reader of its behaviour ring buffer on the run loop, which decodes each call with
// the core's vocabulary (behaviour.hpp), resolves its relative paths against the caller's working
// directory or directory descriptor while the caller still runs, and keeps the records distinct,
// counted and capped. Use: behaviour_spec() at load; a BehaviourReader started on the loop, drained
// after the workload has exited, and its records named by executable at the end (collect).
#pragma once

#if NUCLEUS_HAVE_EBPF

#include "nucleus/core/behaviour.hpp"

#include "ebpf_state.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

struct ring_buffer;

namespace nucleus::tracer::ebpf {

// The program's behaviour_spec table (nucleus_bpf_arches * nucleus_bpf_nr_max entries): per
// (ABI, syscall number, as libseccomp names them) the call's kind and the arguments to read.
std::vector<std::uint32_t> behaviour_spec();

// What one event says, before its executable is named: records whose exe is the program's slot
// number, decimal. Empty when the event is not a record (a sendto on a connected socket, a call
// that failed on an address it could not read either). `unread` says a record is missing because
// its path could not be read although the call went ahead.
struct DecodedEvent {
  std::optional<core::TraceExec> exec;
  std::optional<core::TraceFile> file;
  std::optional<core::TraceNet> net;
  bool unread = false;
};
// `base_of(tid, dirfd)`: the directory a relative path of that task and descriptor (AT_FDCWD: the
// working directory) names, "" when unknown. A parameter so that tests can decode without /proc.
using BaseOf = std::string (*)(std::uint32_t tid, int dirfd);
DecodedEvent decode_behaviour(const nucleus_bpf_behaviour_event& header, std::span<const char> data, BaseOf base_of);
// The /proc reading of BaseOf: /proc/TID/cwd or /proc/TID/fd/DIRFD.
std::string proc_base_of(std::uint32_t tid, int dirfd);
// The local address of the TCP or Unix socket `fd` of task `tid` (what a listen listens on), from
// its network namespace's /proc tables; nullopt when it is gone or not such a socket.
std::optional<core::SocketAddress> listening_address(std::uint32_t tid, int fd);

class BehaviourReader {
public:
  // `fd`: the program's behaviour ring buffer; `cap`: distinct records kept. `skip_start_execs`:
  // a command's trace, whose slot 0 is nucleus's own image until the command starts; its execs
  // (the command's start, a PATH search's attempts) are nucleus's, not the workload's, and gVisor
  // has no record of them either, so they are left out.
  BehaviourReader(int fd, std::size_t cap, bool skip_start_execs = false);
  ~BehaviourReader();
  BehaviourReader(const BehaviourReader&) = delete;
  BehaviourReader& operator=(const BehaviourReader&) = delete;

  // Reads whatever arrives, on `io`, until stop().
  void start(boost::asio::io_context& io);
  // Reads what is waiting now.
  void drain();
  void stop();
  // The records with their executables' names (the slots' names from the exec events), into
  // `out`; the events whose path could not be read, as loss.
  void collect(const SlotNames& names, EbpfTrace& out);
  // The records so far with their executables' names, the records past the cap counted as dropped.
  core::BehaviourSet named(const SlotNames& names) const;
  // What was lost of them (the cap, unreadable paths, unreadable events), into `loss`.
  void note_loss(LossReport& loss) const;

private:
  static int on_event(void* context, void* data, std::size_t size);
  void add(const void* data, std::size_t size);
  void wait(boost::asio::io_context& io);
  void tick();

  ring_buffer* rb_ = nullptr;
  std::optional<boost::asio::posix::stream_descriptor> ready_;
  std::optional<boost::asio::steady_timer> timer_;
  std::size_t cap_;
  core::BehaviourSet set_;
  std::uint64_t unread_ = 0;
  std::uint64_t malformed_ = 0;
  bool skip_start_execs_ = false;
};

} // namespace nucleus::tracer::ebpf

#endif
