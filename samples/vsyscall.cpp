// vsyscall: calls the legacy vsyscall page of x86_64 at its fixed addresses, as programs linked
// before the vDSO did: gettimeofday at 0xffffffffff600000, time at +0x400, getcpu at +0x800, each
// N times (argument, default 1). The kernel serves these without the syscall instruction: it
// emulates them when the call faults on the page (or runs the page's code where it is mapped),
// so they are a way into the kernel that a recorder watching the syscall entry alone never sees.
//
//   vsyscall [N]     1 <= N <= 1000000
//
// Prints "vsyscall: gettimeofday time getcpu N" and exits 0; exits 3 when the page is absent
// (vsyscall=none: no [vsyscall] line in /proc/self/maps), without calling it, since a call would
// die of SIGSEGV. System calls of its own besides the three: the read of /proc/self/maps (openat,
// read, close) and one write.
#include "sample_io.hpp"

#include <fcntl.h>
#include <sys/time.h>
#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <ctime>
#include <string>
#include <string_view>

using samples::print_line;

namespace {

constexpr unsigned long vsyscall_page = 0xffffffffff600000UL;
using gettimeofday_fn = long (*)(timeval*, void*);
using time_fn = long (*)(time_t*);
using getcpu_fn = long (*)(unsigned*, unsigned*, void*);

// Whether the process has the page: the kernel lists it as [vsyscall] unless booted vsyscall=none.
bool page_present() {
  int fd = ::open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  std::string maps;
  char buf[4096];
  ssize_t n = 0;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) maps.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  return maps.find("[vsyscall]") != std::string::npos;
}

} // namespace

int main(int argc, char** argv) {
  int count = 1;
  if (argc > 2) {
    std::fputs("usage: vsyscall [N]\n", stderr);
    return 2;
  }
  if (argc == 2) {
    std::string_view arg = argv[1];
    auto [end, ec] = std::from_chars(arg.data(), arg.data() + arg.size(), count);
    if (ec != std::errc() || end != arg.data() + arg.size() || count < 1 || count > 1000000) {
      std::fputs("vsyscall: N must be a number from 1 to 1000000\n", stderr);
      return 2;
    }
  }
  if (!page_present()) {
    std::fputs("vsyscall: this kernel has no vsyscall page (booted with vsyscall=none)\n", stderr);
    return 3;
  }
  // The page's fixed addresses, called as functions: the only way to reach them.
  auto gtod = reinterpret_cast<gettimeofday_fn>(vsyscall_page);
  auto tm = reinterpret_cast<time_fn>(vsyscall_page + 0x400);
  auto cpu = reinterpret_cast<getcpu_fn>(vsyscall_page + 0x800);
  for (int i = 0; i < count; ++i) {
    timeval tv{};
    time_t t = 0;
    unsigned c = 0;
    unsigned node = 0;
    if (gtod(&tv, nullptr) != 0 || tm(&t) <= 0 || cpu(&c, &node, nullptr) != 0) {
      std::fputs("vsyscall: a vsyscall failed\n", stderr);
      return 1;
    }
  }
  return print_line("vsyscall: gettimeofday time getcpu " + std::to_string(count)) ? 0 : 1;
}
