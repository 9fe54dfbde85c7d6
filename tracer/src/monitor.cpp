// The audit recorder, shared by trace and strict mode: a source plugged into the run loop that reads
// the audit records of the traced tree, attributes them, and ends the drain on a fence record.
#include "nucleus/tracer/monitor.hpp"
#include "nucleus/tracer/ebpf.hpp"
#include "nucleus/tracer/run_loop.hpp"

#include "audit_session.hpp"
#include "fork_events.hpp"
#include "lost_counter.hpp"

#include "nucleus/core/error.hpp"
#include "nucleus/core/io.hpp"
#include "nucleus/core/proc.hpp"
#include "nucleus/sandbox/spawn.hpp"

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstddef>
#include <iterator>
#include <thread>
#include <unordered_set>

namespace nucleus::tracer {
using core::parse_seccomp_record;
using core::ParseStatus;
using core::SeccompRecord;
namespace {

namespace asio = boost::asio;
using core::Error;
using core::ErrorKind;

constexpr int reader_nice = -15;

// A thread of our own makes one logged syscall after the workload has exited. The kernel queues
// audit records in order, so once its record arrives every record of the workload has too. The
// record carries our pid (audit logs the thread group), and the filter and no_new_privs stay on
// that thread, which ends at once: a thread, so that no copy of the whole monitor is forked on
// the way out. A plain pthread with a small stack that allocates nothing: a std::thread's state
// is freed on the new thread, whose first free() sets up a malloc arena (a 64 MiB mapping), and
// the default 8 MiB stack is given back with madvise at its end; together half a millisecond of
// every run's exit. Returns the pid the record will carry.
// Only the fence call is logged, not the thread's own way out.
void* make_fence_call(void*) {
  sock_filter log_getppid[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getppid, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_LOG),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  sock_fprog prog{static_cast<unsigned short>(std::size(log_getppid)), log_getppid};
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 &&
      ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_LOG, &prog) == 0) {
    ::syscall(SYS_getppid);
  }
  return nullptr;
}

pid_t send_fence_record() {
  pthread_attr_t attr;
  pthread_t thread;
  bool started = ::pthread_attr_init(&attr) == 0 && ::pthread_attr_setstacksize(&attr, 64 * 1024) == 0 &&
                 ::pthread_create(&thread, &attr, make_fence_call, nullptr) == 0;
  ::pthread_attr_destroy(&attr);
  if (started) ::pthread_join(thread, nullptr);
  else std::thread(make_fence_call, nullptr).join(); // no room for a small stack: the default one
  return ::getpid();
}

// The fallback attribution, where the workload has no audit session of its own: the process tree
// below the child. Followed through the kernel's fork events where they are available, which is
// exact (a process's fork is queued before it can make a call, so before any record of it);
// otherwise each process is placed by walking its parents in /proc when its first record is read,
// which cannot place one that has exited by then.
class ProcessTree {
public:
  explicit ProcessTree(pid_t root) { members_.insert(root); }

  void forked(pid_t parent, pid_t child) {
    if (members_.count(parent) != 0) members_.insert(child);
  }

  enum class Place { member, stranger, gone };
  // `forks_complete`: every fork since the root's was seen, so a process that is not a member by
  // now is none, even if it has exited.
  Place place(pid_t pid, bool forks_complete) {
    if (members_.count(pid) != 0) return Place::member;
    if (strangers_.count(pid) != 0) return Place::stranger;
    std::vector<pid_t> chain;
    pid_t current = pid;
    for (int depth = 0; depth < 64 && current > 1; ++depth) {
      chain.push_back(current);
      pid_t parent = parent_of(current);
      if (members_.count(parent) != 0) {
        members_.insert(chain.begin(), chain.end());
        return Place::member;
      }
      if (parent == 0 && !forks_complete) return Place::gone; // exited before it could be placed
      current = parent;
    }
    strangers_.insert(pid);
    return Place::stranger;
  }

private:
  static pid_t parent_of(pid_t pid) {
    auto stat = core::process_stat(pid);
    return stat ? stat->ppid : 0;
  }

  std::unordered_set<pid_t> members_;
  std::unordered_set<pid_t> strangers_;
};

// The audit session this process is in (its children's, when they cannot start their own).
std::optional<std::uint32_t> own_audit_session() {
  try {
    return static_cast<std::uint32_t>(std::stoul(core::read_file("/proc/self/sessionid")));
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

// The audit records of the traced tree: the child starts its own audit session under a LOG filter,
// records are read as they arrive, and once it has exited the drain ends on our own fence record.
class AuditSource final : public RunSource {
public:
  explicit AuditSource(const MonitorOptions& options) : options_(options) {}

  void prepare(sandbox::SpawnSpec& spec, MonitorResult& result) override {
    std::string note;
    try {
      source_ = open_live_source(options_.source, &note);
      result.source = std::string(source_->name());
    } catch (const Error& e) {
      if (options_.require_source || (e.kind() != ErrorKind::permission && e.kind() != ErrorKind::unsupported)) throw;
      note = std::string("no audit record source: ") + e.what();
    }
    result.source_note = note;
    read_lost_ = options_.lost_counter ? options_.lost_counter : audit_lost_counter;
    // The counter is taken now, before the workload exists; its answer is read once the workload
    // is starting, so that the kernel's reply thread starts in parallel with the fork.
    if (source_ && !options_.lost_counter) lost_query_.emplace();
    spec.filter = options_.filter;
    spec.new_audit_session = source_ != nullptr;
    // Without a session of its own the workload is told apart by its process tree: the fork
    // events are subscribed to before it is forked, so that none of its forks is missed.
    if (source_ && detail::audit_session_unavailable()) {
      own_session_ = own_audit_session();
      std::string why;
      forks_ = detail::ForkEvents::open(why);
      if (!forks_) result.source_note += (result.source_note.empty() ? "" : "; ") + why;
    }
  }

  void started(asio::io_context& io, const sandbox::Child& child, MonitorResult& result) override {
    // The netlink group drops records when the reader falls behind, so the reader must win the CPU
    // from the workload it watches. Raised after the fork: the workload keeps its own priority.
    // Only root may raise it; otherwise this does nothing.
    if (source_) ::setpriority(PRIO_PROCESS, 0, reader_nice);
    if (source_) lost_before_ = lost_query_ ? lost_query_->get() : read_lost_();
    if (source_ && !lost_before_) {
      if (!result.source_note.empty()) result.source_note += "; ";
      result.source_note += "the kernel's audit lost counter cannot be read, so records dropped inside the kernel "
                            "would go unnoticed";
    }
    result.audit_session = child.audit_session();
    result.attribution = result.audit_session ? Attribution::audit_session : Attribution::process_tree;
    result_ = &result;
    tree_.emplace(child.pid());
    forked_ = [this](pid_t parent, pid_t child_pid) { tree_->forked(parent, child_pid); };
    if (result.audit_session) forks_.reset(); // it got one after all
    if (forks_) {
      forks_->drain(forked_); // the forks queued since prepare(), in order: the root's first
      forks_fd_.emplace(io, ::dup(forks_->fd()));
      wait_forks();
    }
    // Made once: drain() takes a RecordSink, and converting a lambda at every wake-up would build
    // (and allocate) a new std::function each time records arrive.
    sink_ = [this](std::string_view line, int type) { on_line(line, type); };
    fence_timer_.emplace(io);
    if (!source_) return;
    source_fd_.emplace(io, ::dup(source_->fd()));
    wait_source(io);
  }

  void child_exited(asio::io_context& io, MonitorResult&) override {
    if (!source_) {
      io.stop();
      return;
    }
    source_->drain(sink_);
    fence_deadline_ = std::chrono::steady_clock::now() + options_.fence_timeout;
    send_fence(io);
  }

  void finish(MonitorResult& result) override {
    if (!source_) return;
    result.loss = source_->loss();
    const auto lost_after = read_lost_();
    const std::uint32_t before = lost_before_.value_or(0);
    if (lost_before_ && lost_after && *lost_after > before) {
      std::uint32_t delta = *lost_after - before;
      result.loss.lost += delta;
      if (!result.loss.detail.empty()) result.loss.detail += "; ";
      result.loss.detail += "the kernel audit subsystem dropped " + std::to_string(delta) +
                            " record(s) (audit lost counter; raise the audit backlog limit)";
    } else if (lost_before_ && !lost_after) {
      result.loss.overflowed = true;
      if (!result.loss.detail.empty()) result.loss.detail += "; ";
      result.loss.detail +=
          "the kernel's audit lost counter could not be read at the end, so drops may have gone unnoticed";
    }
    if (unplaced_ > 0) {
      result.loss.lost += unplaced_;
      if (!result.loss.detail.empty()) result.loss.detail += "; ";
      result.loss.detail +=
          std::to_string(unplaced_) +
          " audit record(s) came from processes of nucleus's audit session that had exited before "
          "they could be placed in the workload's process tree, so some may be the workload's "
          "(the workload has no audit session of its own" +
          (forks_ ? ", and the kernel dropped fork events" : ", and the kernel's fork events were not available") + ")";
    }
    if (!result.fenced) {
      result.loss.overflowed = true;
      if (!result.loss.detail.empty()) result.loss.detail += "; ";
      result.loss.detail += "the end-of-trace fence record never arrived, so records may be missing";
    }
  }

private:
  // A Landlock access record waits for the SYSCALL record of its event (the same serial), which
  // says whose it is; a few wait at most, so other processes' records cannot pile up here.
  bool on_landlock_line(std::string_view line, std::optional<int> t) {
    if (!options_.on_landlock) return false;
    if (t && *t != core::audit_type_landlock_access && *t != core::audit_type_syscall) return false;
    if (core::parse_landlock_record(line, landlock_, t) == ParseStatus::ok) {
      if (pending_.size() >= 64) pending_.erase(pending_.begin());
      pending_.push_back(landlock_);
      return true;
    }
    if (pending_.empty() || core::parse_syscall_record(line, syscall_, t) != ParseStatus::ok) return false;
    const MonitorResult& result = *result_;
    bool ours = result.audit_session ? syscall_.ses == *result.audit_session : in_tree(syscall_.pid, syscall_.ses);
    for (auto it = pending_.begin(); it != pending_.end();) {
      if (it->serial != syscall_.serial) {
        ++it;
        continue;
      }
      if (ours) options_.on_landlock(*it, syscall_);
      it = pending_.erase(it);
    }
    return true;
  }

  void on_line(std::string_view line, int type) {
    MonitorResult& result = *result_;
    std::optional<int> t = type == type_unknown ? std::nullopt : std::optional<int>(type);
    if (on_landlock_line(line, t)) return;
    ParseStatus status = parse_seccomp_record(line, record_, t);
    if (status == ParseStatus::malformed) ++result.unparsed;
    if (status != ParseStatus::ok) return;
    ++result.records_seen;
    if (fence_pid_ != 0 && record_.pid == fence_pid_) {
      result.fenced = true;
      return;
    }
    bool ours = result.audit_session ? record_.ses == *result.audit_session : in_tree(record_.pid, record_.ses);
    if (!ours) return;
    ++result.records_attributed;
    if (options_.on_record) options_.on_record(record_);
  }

  // Process-tree attribution: the forks queued so far first, since the record's process may be
  // one of them.
  bool in_tree(pid_t pid, std::uint32_t ses) {
    if (own_session_ && ses != *own_session_) return false; // the tree shares ours
    if (forks_) forks_->drain(forked_);
    switch (tree_->place(pid, forks_ && forks_->overflows() == 0)) {
    case ProcessTree::Place::member: return true;
    case ProcessTree::Place::stranger: return false;
    case ProcessTree::Place::gone: ++unplaced_; return false;
    }
    return false;
  }

  void wait_forks() {
    forks_fd_->async_wait(asio::posix::stream_descriptor::wait_read, [this](const boost::system::error_code& ec) {
      if (ec) return;
      forks_->drain(forked_);
      wait_forks();
    });
  }

  void wait_source(asio::io_context& io) {
    source_fd_->async_wait(asio::posix::stream_descriptor::wait_read, [this, &io](const boost::system::error_code& ec) {
      if (ec) return;
      source_->drain(sink_);
      if (result_->fenced) io.stop();
      wait_source(io);
    });
  }

  void send_fence(asio::io_context& io) {
    fence_pid_ = send_fence_record();
    fence_timer_->expires_after(std::chrono::milliseconds(500));
    fence_timer_->async_wait([this, &io](const boost::system::error_code& ec) {
      if (ec || result_->fenced) return;
      if (std::chrono::steady_clock::now() >= fence_deadline_) {
        io.stop(); // the fence never came: reported as a possible loss in finish()
        return;
      }
      send_fence(io); // kmsg's rate limit may have eaten the fence: try again
    });
  }

  const MonitorOptions& options_;
  std::unique_ptr<EventSource> source_;
  std::function<std::optional<std::uint32_t>()> read_lost_;
  std::optional<LostCounterQuery> lost_query_;
  std::optional<std::uint32_t> lost_before_;
  MonitorResult* result_ = nullptr;
  std::optional<ProcessTree> tree_;
  std::optional<detail::ForkEvents> forks_;
  std::function<void(pid_t, pid_t)> forked_;
  std::optional<std::uint32_t> own_session_;
  std::uint64_t unplaced_ = 0; // records of our session's processes that had exited unplaced
  RecordSink sink_;
  SeccompRecord record_;
  core::LandlockRecord landlock_;
  core::SyscallRecord syscall_;
  std::vector<core::LandlockRecord> pending_;
  pid_t fence_pid_ = 0;
  std::chrono::steady_clock::time_point fence_deadline_;
  std::optional<asio::posix::stream_descriptor> source_fd_;
  std::optional<asio::posix::stream_descriptor> forks_fd_;
  std::optional<asio::steady_timer> fence_timer_;
};

} // namespace

MonitorResult run_monitored(const MonitorOptions& options) {
  if (options.gvisor) return run_gvisor_monitored(options);
  AuditSource source(options);
  if (options.behaviour) {
    // Only the behaviour records are wanted of the program: a baseline that allows everything
    // counts no syscall, and with io_uring "allowed" nothing is attached to count what the
    // guard refuses (the audit records show those).
    core::Policy allow_all;
    allow_all.default_action = core::Action::allow();
    auto recorder = EbpfRecorder::open(&allow_all, {}, true, EbpfContent{true});
    return recorder.run_beside(options, source);
  }
  return run_loop(options, source);
}

} // namespace nucleus::tracer
