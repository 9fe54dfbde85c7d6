// threads: starts N threads (argument, default 4), each making a few system calls that the main
// thread does not make, then joins them and prints "threads: N done". It exists to check that a
// trace attributes every thread of a process and that a profile covers them all.
//
//   threads [N]        1 <= N <= 256
//
// Each thread makes, through syscall(2) so that the C library neither answers from user space
// (the vDSO serves clock_gettime) nor swaps in another call (it implements nanosleep with
// clock_nanosleep):
//   sched_yield, gettid, clock_gettime(CLOCK_MONOTONIC), nanosleep (50 microseconds).
// Starting and joining threads adds what the C library needs for them: clone3, mmap, mprotect,
// munmap, madvise, rt_sigaction, rt_sigprocmask, set_robust_list, rseq, futex and exit; the
// report is one write. Whether a join has to wait (futex) depends on timing, so the main thread
// makes one futex call (a wake no one waits for) on every run: a profile taken from any run then
// allows the waits of every other run.
#include "sample_io.hpp"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <ctime>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

using samples::print_line;

namespace {

constexpr int max_threads = 256;

// Returns true when every call succeeded.
bool thread_calls() {
  bool ok = ::syscall(SYS_sched_yield) == 0;
  ok = ::syscall(SYS_gettid) > 0 && ok;
  timespec now{};
  ok = ::syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &now) == 0 && ok;
  timespec pause{0, 50'000};
  ok = ::syscall(SYS_nanosleep, &pause, nullptr) == 0 && ok;
  return ok;
}

} // namespace

int main(int argc, char** argv) {
  int count = 4;
  if (argc > 2) {
    std::fputs("usage: threads [N]\n", stderr);
    return 2;
  }
  if (argc == 2) {
    std::string_view arg = argv[1];
    auto [end, ec] = std::from_chars(arg.data(), arg.data() + arg.size(), count);
    if (ec != std::errc() || end != arg.data() + arg.size() || count < 1 || count > max_threads) {
      std::fprintf(stderr, "threads: N must be an integer from 1 to %d\n", max_threads);
      return 2;
    }
  }

  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  threads.reserve(static_cast<std::size_t>(count));
  for (int i = 0; i < count; ++i)
    threads.emplace_back([&failures] {
      if (!thread_calls()) failures.fetch_add(1);
    });

  std::atomic<std::uint32_t> futex_word{0};
  ::syscall(SYS_futex, &futex_word, FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
  for (auto& thread : threads) thread.join();

  if (failures.load() != 0) {
    std::fprintf(stderr, "threads: %d thread(s) saw a failing system call\n", failures.load());
    return 1;
  }
  return print_line("threads: " + std::to_string(count) + " done") ? 0 : 1;
}
