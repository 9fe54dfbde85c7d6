// attack: what a hostile workload tries, one mode per attack class. The tests run each mode under
// nucleus-run and nucleus-trace, at every trust level, and check both that the attack failed and
// that nothing on the host changed. Each mode prints one line "attack MODE: blocked: WHY" or
// "attack MODE: succeeded: WHAT" and exits 0 when blocked, 1 when it succeeded, 2 on a usage error.
//
//   attack MODE [ARG...]
//
// The modes are listed in `modes` below, each with what it tries and its arguments.
#include "sample_io.hpp"

#include <dirent.h>
#include <pthread.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <linux/openat2.h>
#include <sched.h>
#include <seccomp.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

extern char** environ;

namespace {

constexpr int exit_blocked = 0;
constexpr int exit_succeeded = 1;
constexpr int exit_usage = 2;

[[maybe_unused]] int blocked(std::string_view mode, const std::string& why) {
  samples::print_line("attack " + std::string(mode) + ": blocked: " + why);
  return exit_blocked;
}

int succeeded(std::string_view mode, const std::string& what) {
  samples::print_line("attack " + std::string(mode) + ": succeeded: " + what);
  return exit_succeeded;
}

[[maybe_unused]] std::string errno_text(int err) {
  const char* name = ::strerrorname_np(err);
  return std::string(name ? name : "?") + " (" + (::strerrordesc_np(err) ? ::strerrordesc_np(err) : "?") + ")";
}

[[maybe_unused]] int usage_error(std::string_view mode, const std::string& args) {
  std::string text = "usage: attack " + std::string(mode) + " " + args + "\n";
  (void)!::write(STDERR_FILENO, text.data(), text.size());
  return exit_usage;
}

// ---- terminal, host sockets, descriptors and environment, limits, /proc/sys ----

// TIOCSTI pushes bytes into a terminal's input queue as if typed: on the caller's terminal, the
// caller's shell would run them after nucleus exits. Tried on fd 0 and on /dev/tty.
int attack_tiocsti(std::string_view name, int argc, char** argv) {
  const std::string text = argc > 0 ? argv[0] : "echo nucleus-attack-injected\n";
  std::string report;
  bool any = false;
  auto inject = [&](int fd, const std::string& what) {
    int done = 0;
    int err = 0;
    for (char c : text) {
      if (::ioctl(fd, TIOCSTI, &c) != 0) {
        err = errno;
        break;
      }
      ++done;
    }
    any = any || done > 0;
    report += what + (done > 0 ? ": " + std::to_string(done) + " bytes injected" : ": " + errno_text(err)) + "; ";
  };
  struct stat st {};
  if (::fstat(0, &st) == 0 && S_ISCHR(st.st_mode))
    report += "fd 0 is terminal device " + std::to_string(st.st_rdev) + "; ";
  inject(0, "fd 0");
  int tty = ::open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
  if (tty < 0) {
    report += "/dev/tty: " + errno_text(errno);
  } else {
    inject(tty, "/dev/tty");
    ::close(tty);
  }
  // Injected into its own terminal is harmless; the tests look at the caller's terminal.
  return any ? succeeded(name, report) : blocked(name, report);
}

// Descriptors the workload did not open, and the caller's environment: fds above 2 are listed
// with what they point at and tried as directories (fchdir, openat); the environment is searched
// for SECRET (a value the test put in the caller's environment).
int attack_fds_env(std::string_view name, int argc, char** argv) {
  const std::string secret = argc > 0 ? argv[0] : "";
  std::string found;
  std::vector<int> fds;
  if (DIR* dir = ::opendir("/proc/self/fd")) {
    const int own = ::dirfd(dir);
    while (dirent* e = ::readdir(dir)) {
      int fd = std::atoi(e->d_name);
      if (e->d_name[0] >= '0' && e->d_name[0] <= '9' && fd > 2 && fd != own) fds.push_back(fd);
    }
    ::closedir(dir);
  }
  for (int fd : fds) {
    char target[512] = {};
    std::string path = "/proc/self/fd/" + std::to_string(fd);
    ssize_t n = ::readlink(path.c_str(), target, sizeof target - 1);
    found += "fd " + std::to_string(fd) + " -> " + (n > 0 ? std::string(target, static_cast<std::size_t>(n)) : "?");
    int sub = ::openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (sub >= 0) {
      found += " (openat works)";
      ::close(sub);
    }
    int cwd = ::open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (::fchdir(fd) == 0) {
      found += " (fchdir works)";
      if (cwd >= 0) (void)!::fchdir(cwd);
    }
    if (cwd >= 0) ::close(cwd);
    found += "; ";
  }
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view entry = *e;
    if (!secret.empty() && entry.find(secret) != std::string_view::npos)
      found += "environment: " + std::string(entry.substr(0, entry.find('='))) + " holds the secret; ";
  }
  std::string names;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e)
    names += " " + std::string(*e).substr(0, std::string(*e).find('='));
  samples::print_line("attack " + std::string(name) + ": environment:" + names);
  if (!found.empty()) return succeeded(name, found);
  return blocked(name, "no descriptor above 2, " +
                           std::string(secret.empty() ? "no secret given" : "the secret is not in the environment"));
}

// A host daemon's Unix socket (docker.sock, a root-only 0700 directory under /run).
int attack_host_socket(std::string_view name, int argc, char** argv) {
  if (argc < 1) return usage_error(name, "PATH");
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return blocked(name, "socket: " + errno_text(errno));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, argv[0], sizeof addr.sun_path - 1);
  int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  int err = errno;
  ::close(fd);
  if (rc == 0) return succeeded(name, std::string("connected to ") + argv[0]);
  return blocked(name, std::string("connect ") + argv[0] + ": " + errno_text(err));
}

// Fork up to N processes that wait; report how many the kernel allowed, then end them all.
int attack_forkbomb(std::string_view name, int argc, char** argv) {
  const long wanted = argc > 0 ? std::atol(argv[0]) : 3000;
  if (wanted <= 0) return usage_error(name, "N (a positive number)");
  int gate[2];
  if (::pipe2(gate, O_CLOEXEC) != 0) return blocked(name, "pipe: " + errno_text(errno));
  std::vector<pid_t> children;
  int err = 0;
  for (long i = 0; i < wanted; ++i) {
    pid_t pid = ::fork();
    if (pid < 0) {
      err = errno;
      break;
    }
    if (pid == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
      ::close(gate[1]);
      char c;
      (void)!::read(gate[0], &c, 1); // returns at EOF: when the parent closes its end
      ::_exit(0);
    }
    children.push_back(pid);
  }
  ::close(gate[1]);
  for (pid_t pid : children) ::kill(pid, SIGKILL);
  for (pid_t pid : children) ::waitpid(pid, nullptr, 0);
  std::string what = "forked " + std::to_string(children.size()) + " of " + std::to_string(wanted);
  if (static_cast<long>(children.size()) < wanted) return blocked(name, what + ", then fork: " + errno_text(err));
  return succeeded(name, what);
}

// kernel.core_pattern is host-wide: whoever sets it runs a program as host root on the next crash.
// The attack writes VALUE, or without one the value it reads (a success seen without changing the
// host); a test gives a value of its own, so that the host's file shows whether the write landed.
int attack_core_pattern(std::string_view name, int argc, char** argv) {
  const char* path = "/proc/sys/kernel/core_pattern";
  char current[256] = {};
  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  ssize_t n = fd >= 0 ? ::read(fd, current, sizeof current - 1) : -1;
  if (fd >= 0) ::close(fd);
  if (n <= 0) return blocked(name, std::string("read ") + path + ": " + errno_text(errno));
  fd = ::open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return blocked(name, std::string("open ") + path + " for writing: " + errno_text(errno));
  if (argc > 0) n = static_cast<ssize_t>(std::strlen(std::strncpy(current, argv[0], sizeof current - 1)));
  ssize_t w = ::write(fd, current, static_cast<std::size_t>(n));
  int err = errno;
  ::close(fd);
  if (w == n)
    return succeeded(name, std::string(path) + " is writable (" +
                               (argc > 0 ? "set to " + std::string(current) : "its own value was written back") + ")");
  return blocked(name, std::string("write ") + path + ": " + errno_text(err));
}

// ---- end of the terminal .. /proc/sys block ----

// ---- identity, set-id files, foreign ABIs, io_uring, nucleus's outputs (threat model rows 2, 3, 6, 7, 8)

// Reads /etc/shadow, lists /root, and connects to SOCKET_PATH, whose listener answers with the
// uid it saw (SO_PEERCRED) as "uid=N\n". Succeeded: shadow read, /root listed, or seen as uid 0.
int identity(std::string_view name, int argc, char** argv) {
  if (argc != 1) return usage_error(name, "SOCKET_PATH");
  std::string found;
  std::string why;
  int fd = ::open("/etc/shadow", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    char buf[64];
    ssize_t n = ::read(fd, buf, sizeof buf);
    ::close(fd);
    if (n > 0) found += "read /etc/shadow: " + std::string(buf, static_cast<std::size_t>(n)) + "; ";
  } else {
    why += "/etc/shadow: " + errno_text(errno) + "; ";
  }
  if (DIR* d = ::opendir("/root")) {
    int entries = 0;
    while (dirent* e = ::readdir(d))
      if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) ++entries;
    ::closedir(d);
    found += "listed /root (" + std::to_string(entries) + " entries); ";
  } else {
    why += "/root: " + errno_text(errno) + "; ";
  }
  int s = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, argv[0], sizeof addr.sun_path - 1);
  if (s >= 0 && ::connect(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    char buf[64] = {};
    ssize_t n = ::read(s, buf, sizeof buf - 1);
    std::string answer = n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
    while (!answer.empty() && answer.back() == '\n') answer.pop_back();
    if (answer == "uid=0") found += "the socket's listener saw uid 0; ";
    else why += "the socket's listener saw " + answer + "; ";
  } else {
    why += std::string(argv[0]) + ": " + errno_text(errno) + "; ";
  }
  if (s >= 0) ::close(s);
  if (!found.empty()) return succeeded(name, found + why);
  return blocked(name, why);
}

// Copies this binary into DIR and tries to make it set-uid/set-gid every way the kernel offers,
// and to create device nodes. Succeeded: a set-id file or a device node exists in DIR afterwards.
int setuid_files(std::string_view name, int argc, char** argv) {
  if (argc != 1) return usage_error(name, "DIR");
  const std::string dir = argv[0];
  const std::string copy = dir + "/suid-copy";
  std::string why;
  int in = ::open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  int out = ::open(copy.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
  if (in < 0 || out < 0) return blocked(name, "cannot copy the binary into " + dir + ": " + errno_text(errno));
  char buf[65536];
  for (ssize_t n; (n = ::read(in, buf, sizeof buf)) > 0;)
    if (::write(out, buf, static_cast<std::size_t>(n)) != n) break;
  ::close(in);
  auto note = [&](const char* what, int rc) {
    why += std::string(what) + ": " + (rc == 0 ? "ok" : errno_text(errno)) + "; ";
  };
  note("chmod 4755", ::chmod(copy.c_str(), 04755));
  note("chmod 2755", ::chmod(copy.c_str(), 02755));
  note("fchmod 6755", ::fchmod(out, 06755));
  note("fchmodat 4755", ::fchmodat(AT_FDCWD, copy.c_str(), 04755, 0));
  ::close(out);
  int created = ::open((dir + "/suid-new").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 04755);
  note("open(O_CREAT, 04755)", created < 0 ? -1 : 0);
  if (created >= 0) ::close(created);
  note("mknod S_IFREG|02755", ::mknod((dir + "/sgid-node").c_str(), S_IFREG | 02755, 0));
  // The C library reaches these through openat, mknodat and fchmodat: each legacy entry point, and
  // fchmodat2, is made directly, since the guard holds a rule of its own for each.
  auto raw = [](const char* call, auto... args) {
    long rc = ::syscall(::seccomp_syscall_resolve_name(call), args...);
    if (rc > 2) ::close(static_cast<int>(rc)); // a descriptor from creat or open
    return rc < 0 ? -1 : 0;
  };
  note("creat 04755", raw("creat", (dir + "/suid-creat").c_str(), 04755));
  note("open(2) O_CREAT 04755", raw("open", (dir + "/suid-open").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 04755));
  note("mknod(2) S_IFREG|04755", raw("mknod", (dir + "/suid-mknod").c_str(), S_IFREG | 04755, 0));
  note("fchmodat2 4755", raw("fchmodat2", AT_FDCWD, copy.c_str(), 04755, 0));
  note("mknod char 1:3", ::mknod((dir + "/null-dev").c_str(), S_IFCHR | 0666, makedev(1, 3)));
  note("mknod block 8:0", ::mknod((dir + "/disk-dev").c_str(), S_IFBLK | 0666, makedev(8, 0)));
  std::string found;
  for (const char* f : {"/suid-copy", "/suid-new", "/sgid-node", "/suid-creat", "/suid-open", "/suid-mknod",
                        "/null-dev", "/disk-dev"}) {
    struct stat st {};
    if (::lstat((dir + f).c_str(), &st) != 0) continue;
    if ((st.st_mode & (S_ISUID | S_ISGID)) != 0) found += dir + f + " is set-id; ";
    if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) found += dir + f + " is a device node; ";
  }
  if (!found.empty()) return succeeded(name, found + why);
  return blocked(name, why);
}

// unshare(CLONE_NEWUSER) through the i386 (int $0x80) and x32 entry points, numbers from
// libseccomp. Succeeded: either returned 0.
sigjmp_buf int80_fault;
extern "C" void on_int80_fault(int) { siglongjmp(int80_fault, 1); }

int foreign_abi(std::string_view name, int argc, char**) {
  if (argc != 0) return usage_error(name, "");
  std::string found;
  std::string why;
  int i386_nr = ::seccomp_syscall_resolve_name_arch(SCMP_ARCH_X86, "unshare");
  int x32_nr = ::seccomp_syscall_resolve_name_arch(SCMP_ARCH_X32, "unshare");
  struct sigaction on_fault {};
  on_fault.sa_handler = on_int80_fault;
  sigemptyset(&on_fault.sa_mask);
  ::sigaction(SIGSEGV, &on_fault, nullptr);
  ::sigaction(SIGILL, &on_fault, nullptr);
  if (sigsetjmp(int80_fault, 1) == 0) {
    std::uint32_t eax = static_cast<std::uint32_t>(i386_nr);
    std::uint32_t flags = CLONE_NEWUSER;
    asm volatile("sub $128, %%rsp\n\tint $0x80\n\tadd $128, %%rsp"
                 : "+a"(eax)
                 : "b"(flags)
                 : "memory", "cc", "r8", "r9", "r10", "r11");
    auto ret = static_cast<std::int32_t>(eax);
    if (ret == 0) found += "i386 unshare(CLONE_NEWUSER) returned 0; ";
    else why += "i386 unshare: " + errno_text(-ret) + "; ";
  } else {
    why += "i386: int $0x80 faults here; ";
  }
  long ret = ::syscall(x32_nr, CLONE_NEWUSER);
  if (ret == 0) found += "x32 unshare(CLONE_NEWUSER) returned 0; ";
  else why += "x32 unshare: " + errno_text(errno) + "; ";
  if (!found.empty()) return succeeded(name, found + why);
  return blocked(name, why);
}

// The same x32 unshare(CLONE_NEWUSER), made by a second thread while the first waits for it. The
// action for an unlisted ABI must end the whole process: were only the calling thread killed, the
// first one would go on and print "succeeded". Without any filter the call returns (or fails) and
// the line says so.
int foreign_abi_thread(std::string_view name, int argc, char**) {
  if (argc != 0) return usage_error(name, "");
  static long ret = 1; // stays 1 when the call never returned
  static int err = 0;
  pthread_t thread{};
  auto call = [](void*) -> void* {
    ret = ::syscall(::seccomp_syscall_resolve_name_arch(SCMP_ARCH_X32, "unshare"), CLONE_NEWUSER);
    err = errno;
    return nullptr;
  };
  if (::pthread_create(&thread, nullptr, call, nullptr) != 0) return blocked(name, "pthread_create failed");
  ::pthread_join(thread, nullptr);
  if (ret == 1) return succeeded(name, "the calling thread was killed and the process went on");
  if (ret == 0) return succeeded(name, "x32 unshare(CLONE_NEWUSER) returned 0");
  return blocked(name, "x32 unshare: " + errno_text(err));
}

// A raw io_uring (no library): made, mapped, and one operation at a time submitted and waited for.
class Ring {
public:
  Ring() {
    fd_ = static_cast<int>(::syscall(__NR_io_uring_setup, 4, &params_));
    if (fd_ < 0) {
      error_ = "io_uring_setup: " + errno_text(errno);
      return;
    }
    std::size_t sq_size = params_.sq_off.array + params_.sq_entries * sizeof(std::uint32_t);
    std::size_t cq_size = params_.cq_off.cqes + params_.cq_entries * sizeof(io_uring_cqe);
    sq_ = static_cast<char*>(
        ::mmap(nullptr, sq_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd_, IORING_OFF_SQ_RING));
    cq_ = static_cast<char*>(
        ::mmap(nullptr, cq_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd_, IORING_OFF_CQ_RING));
    sqes_ = static_cast<io_uring_sqe*>(::mmap(nullptr, params_.sq_entries * sizeof(io_uring_sqe),
                                              PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd_, IORING_OFF_SQES));
    if (sq_ == MAP_FAILED || cq_ == MAP_FAILED || sqes_ == MAP_FAILED)
      error_ = "mmap of the rings: " + errno_text(errno);
  }
  // Empty when the ring works, else why not.
  const std::string& error() const { return error_; }
  // The operation's result: a descriptor or count, or -errno.
  int submit(const io_uring_sqe& op) {
    auto* tail = reinterpret_cast<std::atomic<std::uint32_t>*>(sq_ + params_.sq_off.tail);
    auto* mask = reinterpret_cast<std::uint32_t*>(sq_ + params_.sq_off.ring_mask);
    auto* array = reinterpret_cast<std::uint32_t*>(sq_ + params_.sq_off.array);
    std::uint32_t t = tail->load(std::memory_order_acquire);
    std::uint32_t slot = t & *mask;
    sqes_[slot] = op;
    array[slot] = slot;
    tail->store(t + 1, std::memory_order_release);
    if (::syscall(__NR_io_uring_enter, fd_, 1, 1, IORING_ENTER_GETEVENTS, nullptr, 0) < 0) return -errno;
    auto* head = reinterpret_cast<std::atomic<std::uint32_t>*>(cq_ + params_.cq_off.head);
    auto* cmask = reinterpret_cast<std::uint32_t*>(cq_ + params_.cq_off.ring_mask);
    auto* cqes = reinterpret_cast<io_uring_cqe*>(cq_ + params_.cq_off.cqes);
    std::uint32_t h = head->load(std::memory_order_acquire);
    int res = cqes[h & *cmask].res;
    head->store(h + 1, std::memory_order_release);
    return res;
  }

private:
  io_uring_params params_{};
  int fd_ = -1;
  char* sq_ = nullptr;
  char* cq_ = nullptr;
  io_uring_sqe* sqes_ = nullptr;
  std::string error_;
};

// Raw io_uring: open FILE, read it and create a socket with no openat, read or socket syscall.
// Succeeded: any of the three operations completed.
int io_uring_io(std::string_view name, int argc, char** argv) {
  if (argc != 1) return usage_error(name, "FILE");
  Ring ring;
  if (!ring.error().empty()) return blocked(name, ring.error());
  std::string found;
  std::string why;
  io_uring_sqe open_op{};
  open_op.opcode = IORING_OP_OPENAT;
  open_op.fd = AT_FDCWD;
  open_op.addr = reinterpret_cast<std::uint64_t>(argv[0]);
  open_op.open_flags = O_RDONLY | O_CLOEXEC;
  int file = ring.submit(open_op);
  if (file >= 0) {
    found += "opened " + std::string(argv[0]) + "; ";
    char buf[256] = {};
    io_uring_sqe read_op{};
    read_op.opcode = IORING_OP_READ;
    read_op.fd = file;
    read_op.addr = reinterpret_cast<std::uint64_t>(buf);
    read_op.len = sizeof buf - 1;
    int n = ring.submit(read_op);
    if (n > 0) found += "read " + std::to_string(n) + " bytes: " + std::string(buf, static_cast<std::size_t>(n)) + "; ";
    else why += "read: " + errno_text(-n) + "; ";
  } else {
    why += "openat: " + errno_text(-file) + "; ";
  }
  io_uring_sqe socket_op{};
  socket_op.opcode = IORING_OP_SOCKET;
  socket_op.fd = AF_INET;
  socket_op.off = SOCK_STREAM;
  int sock = ring.submit(socket_op);
  if (sock >= 0) found += "created a socket; ";
  else why += "socket: " + errno_text(-sock) + "; ";
  if (!found.empty()) return succeeded(name, found + why);
  return blocked(name, why);
}

// Set-id files made by io_uring, where chmod and open are refused: IORING_OP_OPENAT creates
// DIR/uring-setuid with mode 04755, IORING_OP_OPENAT2 DIR/uring-setgid with 06755. Succeeded: a
// file was created with a set-id bit.
int io_uring_setid(std::string_view name, int argc, char** argv) {
  if (argc != 1) return usage_error(name, "DIR");
  Ring ring;
  if (!ring.error().empty()) return blocked(name, ring.error());
  const std::string setuid_path = std::string(argv[0]) + "/uring-setuid";
  const std::string setgid_path = std::string(argv[0]) + "/uring-setgid";
  io_uring_sqe open_op{};
  open_op.opcode = IORING_OP_OPENAT;
  open_op.fd = AT_FDCWD;
  open_op.addr = reinterpret_cast<std::uint64_t>(setuid_path.c_str());
  open_op.open_flags = O_CREAT | O_WRONLY | O_CLOEXEC;
  open_op.len = 04755; // the mode
  open_how how{};
  how.flags = O_CREAT | O_WRONLY | O_CLOEXEC;
  how.mode = 06755;
  io_uring_sqe open2_op{};
  open2_op.opcode = IORING_OP_OPENAT2;
  open2_op.fd = AT_FDCWD;
  open2_op.addr = reinterpret_cast<std::uint64_t>(setgid_path.c_str());
  open2_op.off = reinterpret_cast<std::uint64_t>(&how);
  open2_op.len = sizeof how;
  std::string found;
  std::string why;
  for (const auto& [op, path] : {std::pair{open_op, setuid_path}, std::pair{open2_op, setgid_path}}) {
    int fd = ring.submit(op);
    struct stat st {};
    if (fd < 0) why += path + ": " + errno_text(-fd) + "; ";
    else if (::fstat(fd, &st) == 0 && (st.st_mode & (S_ISUID | S_ISGID)) != 0) found += path + " is set-id; ";
    else why += path + ": created without set-id bits; ";
  }
  if (!found.empty()) return succeeded(name, found + why);
  return blocked(name, why);
}

// Replaces DIR by a symlink to TARGET (DIR renamed to DIR.swapped), or, where DIR cannot be
// renamed (a mount point), each directory in it. An output nucleus writes below DIR must not end
// up in TARGET. Succeeded: something was swapped (the test checks where nucleus's output went).
int symlink_swap(std::string_view name, int argc, char** argv) {
  if (argc != 2) return usage_error(name, "DIR TARGET");
  const std::string dir = argv[0];
  const std::string target = argv[1];
  auto swap = [&](const std::string& path) {
    return ::rename(path.c_str(), (path + ".swapped").c_str()) == 0 && ::symlink(target.c_str(), path.c_str()) == 0;
  };
  if (swap(dir)) return succeeded(name, dir + " is now a symlink to " + target);
  std::string why = "rename " + dir + ": " + errno_text(errno) + "; ";
  std::string done;
  if (DIR* d = ::opendir(dir.c_str())) {
    std::vector<std::string> subdirs;
    while (dirent* e = ::readdir(d))
      if (e->d_type == DT_DIR && std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0)
        subdirs.push_back(e->d_name);
    ::closedir(d);
    for (const auto& s : subdirs) {
      if (swap(dir + "/" + s)) done += dir + "/" + s + " ";
      else why += s + ": " + errno_text(errno) + "; ";
    }
  }
  if (!done.empty()) return succeeded(name, done + "now symlinks to " + target);
  return blocked(name, why);
}

// ---- end of identity, set-id files, foreign ABIs, io_uring, nucleus's outputs

struct Mode {
  std::string_view name;
  std::string_view usage;
  int (*run)(std::string_view name, int argc, char** argv); // argv[0] is the first ARG
};

// Modes, in the order of the attack classes of the threat model (README).
constexpr Mode modes[] = {
    {"none", "does nothing (a control run)",
     [](std::string_view name, int, char**) { return succeeded(name, "nothing"); }},
    // terminal, host sockets, descriptors and environment, limits, /proc/sys
    {"tiocsti", "[TEXT]: TIOCSTI TEXT into fd 0 and /dev/tty", attack_tiocsti},
    {"fds-env", "[SECRET]: list fds above 2, try them as directories, look for SECRET in the environment",
     attack_fds_env},
    {"host-socket", "PATH: connect to the Unix socket PATH", attack_host_socket},
    {"forkbomb", "[N]: fork up to N waiting children (default 3000), report how many, end them", attack_forkbomb},
    {"core-pattern", "[VALUE]: write VALUE (default: its own value) to /proc/sys/kernel/core_pattern",
     attack_core_pattern},
    // end of the terminal .. /proc/sys block
    // identity, set-id files, foreign ABIs, io_uring, nucleus's outputs
    {"identity", "SOCKET_PATH: read /etc/shadow, list /root, connect to SOCKET_PATH (its listener answers uid=N)",
     identity},
    {"setuid", "DIR: copy this binary into DIR, chmod it 4755/2755, create set-id files and device nodes",
     setuid_files},
    {"foreign-abi", "unshare(CLONE_NEWUSER) through int $0x80 (i386) and the x32 ABI", foreign_abi},
    {"foreign-abi-thread", "x32 unshare(CLONE_NEWUSER) from a second thread while the first waits", foreign_abi_thread},
    {"io-uring", "FILE: open and read FILE and create a socket through io_uring alone", io_uring_io},
    {"io-uring-setid", "DIR: create DIR/uring-setuid 04755 (IORING_OP_OPENAT) and DIR/uring-setgid 06755 (OPENAT2)",
     io_uring_setid},
    {"symlink-swap", "DIR TARGET: replace DIR (or each directory in it) by a symlink to TARGET", symlink_swap},
    // end of identity ... nucleus's outputs
};

} // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::string text = "usage: attack MODE [ARG...]\nmodes:\n";
    for (const auto& m : modes) text += "  " + std::string(m.name) + "  " + std::string(m.usage) + "\n";
    (void)!::write(STDERR_FILENO, text.data(), text.size());
    return exit_usage;
  }
  const std::string_view wanted = argv[1];
  for (const auto& m : modes)
    if (m.name == wanted) return m.run(m.name, argc - 2, argv + 2);
  std::string text = "attack: unknown mode " + std::string(wanted) + "\n";
  (void)!::write(STDERR_FILENO, text.data(), text.size());
  return exit_usage;
}
